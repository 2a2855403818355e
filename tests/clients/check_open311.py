"""Files and reads reports through the node's Open311 GeoReport v2 endpoint with the `georeport`
client library, in JSON and in XML, as a city's 311 application would.

Usage: check_open311.py BASE_URL API_KEY LON LAT

BASE_URL is the server (http://127.0.0.1:PORT; the endpoint is BASE_URL/open311/v2), API_KEY an
Open311 client key (`satupeta apikeys create NAME`), LON LAT a point in Balikpapan. georeport reads
(services, definitions, requests); it has no POST, so requests are posted form-urlencoded with
`requests`, as Open311 clients do. Exits 1 naming the first check that failed; prints one summary
line when all pass.
"""

import sys

import requests
import xmltodict
from georeport import GeoReport

JURISDICTION = "balikpapan.go.id"
SERVICE = "lebih-intensitas"
EMAIL = "pelapor.open311@example.id"
PHONE = "0812 5555 0311"
FIRST_NAME = "Rahasia"
CONTACT_KEYS = {"email", "phone", "first_name", "last_name", "device_id"}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def listify(value):
    """A list as xmltodict gives it: absent (empty element) is None, one item a dict."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_text(value):
    """A JSON scalar as the server's XML writes it (an absent value is an empty element)."""
    if value is None or value == "":
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def xml_services(services):
    """The XML service list with booleans as JSON has them."""
    return [
        {k: (v == "true" if k == "metadata" else v) for k, v in s.items()} for s in listify(services)
    ]


def definition_attributes(definition, fmt):
    """The attributes of a service definition, each with its values as a list, in JSON's types."""
    if fmt == "json":
        return definition["attributes"]
    attributes = []
    container = definition.get("attributes") or {}
    for a in listify(container.get("attribute")):
        a = dict(a)
        for flag in ("variable", "required"):
            check(a[flag] in ("true", "false"), f"xml: attribute {a.get('code')} {flag} is {a[flag]!r}")
            a[flag] = a[flag] == "true"
        a["order"] = int(a["order"])
        a["values"] = listify((a.get("values") or {}).get("value"))
        attributes.append(a)
    return attributes


def keys_in(value):
    """Every key of every object in `value`, however deep."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys_in(v)


def texts_in(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from texts_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from texts_in(v)
    elif value is not None:
        yield str(value)


def no_contact(answer, where):
    leaked = CONTACT_KEYS & set(keys_in(answer))
    check(not leaked, f"{where}: contact fields {sorted(leaked)} in a public answer: {answer}")
    for text in texts_in(answer):
        check(
            EMAIL not in text and PHONE not in text and FIRST_NAME not in text,
            f"{where}: the reporter's contact detail is in a public answer: {text!r}",
        )


def post(root, fmt, fields):
    return requests.post(f"{root}/requests.{fmt}", data=fields, timeout=30)


def main(base, api_key, lon, lat):
    root = base.rstrip("/") + "/open311/v2"
    clients = {
        # One client as most are configured (no jurisdiction), one naming it: every read then
        # carries jurisdiction_id, which the endpoint must accept.
        "json": GeoReport(root, api_key=api_key, output_format="json"),
        "xml": GeoReport(root, jurisdiction=JURISDICTION, api_key=api_key, output_format="xml"),
    }

    # Services and a definition, in both formats, the same once XML's text is read as JSON's types.
    listed = {}
    for fmt, client in clients.items():
        services = client.get_service_list()
        if fmt == "xml":
            services = xml_services(services)
        check(isinstance(services, list), f"{fmt}: the service list is {type(services).__name__}")
        check(len(services) == 5, f"{fmt}: {len(services)} services, not 5: {services}")
        codes = [s["service_code"] for s in services]
        for code in ("tanpa-pbg", "sempadan-rth", SERVICE):
            check(code in codes, f"{fmt}: no service {code} among {codes}")
        for s in services:
            for field in ("service_code", "service_name", "description", "metadata", "type", "keywords", "group"):
                check(field in s, f"{fmt}: service {s.get('service_code')} has no {field}")
            check(s["type"] in ("realtime", "batch", "blackbox"), f"{fmt}: type {s['type']!r}")
            check(isinstance(s["metadata"], bool), f"{fmt}: metadata {s['metadata']!r} is not a boolean")
        listed[fmt] = services

        definition = client.get_service_definition("sempadan-rth")
        check(
            definition.get("service_code") == "sempadan-rth",
            f"{fmt}: the definition is of {definition.get('service_code')!r}",
        )
        attributes = definition_attributes(definition, fmt)
        check(attributes, f"{fmt}: sempadan-rth's definition has no attributes: {definition}")
        first = attributes[0]
        check(first["code"] == "jenis_sempadan", f"{fmt}: first attribute is {first['code']!r}")
        check(first["required"] is True, f"{fmt}: jenis_sempadan required is {first['required']!r}")
        check(first["datatype"] == "singlevaluelist", f"{fmt}: datatype {first['datatype']!r}")
        keys = [v["key"] for v in first["values"]]
        check("sungai" in keys and "rth" in keys, f"{fmt}: jenis_sempadan's values are {keys}")
        # A definition whose attribute has no list of values (a number).
        numeric = definition_attributes(client.get_service_definition(SERVICE), fmt)
        check(
            [(a["code"], a["datatype"], a["values"]) for a in numeric] == [("jumlah_lantai", "number", [])],
            f"{fmt}: {SERVICE}'s attributes are {numeric}",
        )
    check(
        [{k: as_text(v) for k, v in s.items()} for s in listed["json"]]
        == [{k: as_text(v) for k, v in s.items()} for s in listed["xml"]],
        f"the XML service list differs from the JSON one:\n{listed['json']}\n{listed['xml']}",
    )

    fields = {
        "service_code": SERVICE,
        "lat": str(lat),
        "long": str(lon),
        "description": "Rumah tujuh lantai di zona perumahan (georeport)",
        "attribute[jumlah_lantai]": "7",
        "email": EMAIL,
        "first_name": FIRST_NAME,
        "phone": PHONE,
    }

    # Without a key: GeoReport's error list, 403, in the format asked for.
    refused = post(root, "json", fields)
    check(refused.status_code == 403, f"POST without api_key: {refused.status_code} {refused.text}")
    errors = refused.json()
    check(
        isinstance(errors, list) and errors and set(errors[0]) == {"code", "description"},
        f"POST without api_key: not a GeoReport error list: {refused.text}",
    )
    check(errors[0]["code"] == 403, f"POST without api_key: error code {errors[0]['code']!r}")
    check("api_key" in errors[0]["description"], f"the 403 does not name api_key: {errors[0]}")
    refused = post(root, "xml", {**fields, "api_key": "sp311_made_up"})
    check(refused.status_code == 403, f"POST with a made-up key: {refused.status_code} {refused.text}")
    error = listify(xmltodict.parse(refused.content)["errors"]["error"])[0]
    check(error["code"] == "403" and error["description"], f"XML 403: {refused.text}")

    # With the key: the id and the token, in JSON and in XML.
    created = post(root, "json", {**fields, "api_key": api_key})
    check(created.status_code == 200, f"POST requests.json: {created.status_code} {created.text}")
    check(
        created.headers.get("content-type", "").startswith("application/json"),
        f"POST requests.json answered {created.headers.get('content-type')}",
    )
    answer = created.json()
    check(isinstance(answer, list) and len(answer) == 1, f"POST requests.json: {answer}")
    first_id, token = answer[0].get("service_request_id"), answer[0].get("token")
    check(isinstance(first_id, str) and first_id, f"POST requests.json: service_request_id {first_id!r}")
    check(isinstance(token, str) and token, f"POST requests.json: token {token!r}")
    no_contact(answer, "POST requests.json")

    created = post(root, "xml", {**fields, "api_key": api_key, "jurisdiction_id": JURISDICTION})
    check(created.status_code == 200, f"POST requests.xml: {created.status_code} {created.text}")
    check(
        created.headers.get("content-type", "").startswith("text/xml"),
        f"POST requests.xml answered {created.headers.get('content-type')}",
    )
    request = xmltodict.parse(created.content)["service_requests"]["request"]
    check(isinstance(request, dict), f"POST requests.xml: {created.text}")
    second_id = request.get("service_request_id")
    check(second_id and second_id != first_id, f"POST requests.xml: service_request_id {second_id!r}")
    check(request.get("token"), f"POST requests.xml: no token: {created.text}")
    ids = [first_id, second_id]

    # Each read back, in both formats: open, where it was filed, and nothing of the reporter.
    read = {}
    for fmt, client in clients.items():
        for id in ids:
            r = client.get_service_request(id)
            check(isinstance(r, dict), f"{fmt}: request {id} is {r!r}")
            check(r.get("service_request_id") == id, f"{fmt}: asked {id}, got {r.get('service_request_id')!r}")
            check(r.get("status") == "open", f"{fmt}: request {id} status {r.get('status')!r}")
            check(r.get("service_code") == SERVICE, f"{fmt}: request {id} service_code {r.get('service_code')!r}")
            check(r.get("description") == fields["description"], f"{fmt}: description {r.get('description')!r}")
            for name, expected in (("lat", lat), ("long", lon)):
                value = r.get(name)
                if fmt == "json":
                    check(isinstance(value, (int, float)), f"json: {name} {value!r} is not a number")
                check(
                    value is not None and abs(float(value) - expected) < 1e-6,
                    f"{fmt}: request {id} {name} {value!r}, filed at {expected}",
                )
            check(r.get("requested_datetime"), f"{fmt}: request {id} has no requested_datetime")
            no_contact(r, f"{fmt}: request {id}")
            read[fmt, id] = r
    for id in ids:
        j, x = read["json", id], read["xml", id]
        check(
            set(j) == set(x) and all(as_text(j[k]) == as_text(x[k]) for k in j),
            f"request {id}: the XML differs from the JSON:\n{j}\n{x}",
        )

    # Lists: the standard filters, and a list of ids (which overrides the others).
    for fmt, client in clients.items():
        found = listify(client.get_service_requests(status="open", service_code=SERVICE))
        got = [r["service_request_id"] for r in found]
        check(set(ids) <= set(got), f"{fmt}: open {SERVICE} requests {got} lack {ids}")
        no_contact(found, f"{fmt}: requests")
        by_id = listify(client.get_service_requests(service_request_id=",".join(ids)))
        got = sorted(r["service_request_id"] for r in by_id)
        check(got == sorted(ids), f"{fmt}: service_request_id={','.join(ids)} gave {got}")

    # The token of a request names its id.
    by_token = requests.get(f"{root}/tokens/{token}.json", timeout=30)
    check(by_token.status_code == 200, f"tokens/{token}.json: {by_token.status_code} {by_token.text}")
    answer = by_token.json()
    check(
        isinstance(answer, list) and answer and answer[0].get("service_request_id") == first_id,
        f"tokens/{token}.json: {answer}, not request {first_id}",
    )

    print(
        f"georeport: {len(listed['json'])} services and sempadan-rth's definition in json and xml; "
        f"requests {first_id} (json) and {second_id} (xml) filed with the key, refused without (403); "
        f"read back open at {lon}, {lat} in both formats with no contact detail; "
        f"found by status/service_code and by id list; token -> {first_id}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    try:
        main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    except Failure as e:
        sys.exit(f"check_open311.py: FAILED: {e}")
    except requests.HTTPError as e:
        sys.exit(f"check_open311.py: FAILED: {e.request.method} {e.request.url}: {e} {e.response.text}")
