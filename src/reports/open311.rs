//! Open311 GeoReport v2's vocabulary: the services a report is filed under (the kinds of zoning
//! and building violation), their definitions with extra attributes, and the two formats every
//! answer comes in. JSON is the documents as they are; XML mirrors them (GeoReport v2 requires
//! XML): a list under its plural name holds each item under the singular (`services`/`service`,
//! `attributes`/`attribute`, `values`/`value`), and an absent value is an empty element.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::Serialize;
use serde_json::{Value, json};

/// An answer's format, from the path's extension (`/services.xml`, `/services.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/xml`.
    Xml,
}

impl Format {
    /// The format of a path's last segment (`services.json`), with the name before the
    /// extension; `None` without a known extension.
    pub fn of(segment: &str) -> Option<(&str, Format)> {
        let (name, extension) = segment.rsplit_once('.')?;
        match extension {
            "json" => Some((name, Format::Json)),
            "xml" => Some((name, Format::Xml)),
            _ => None,
        }
    }

    /// The `Content-Type` of an answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// A value an attribute may take from a list.
#[derive(Debug, Clone, Serialize)]
pub struct AttributeValue {
    /// What is sent.
    pub key: &'static str,
    /// What is shown.
    pub name: &'static str,
}

/// An extra field of a service.
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    /// Whether the client asks the reporter for it (`false`: informational only).
    pub variable: bool,
    /// Its code: sent as `attribute[code]`.
    pub code: &'static str,
    /// `string`, `number`, `datetime`, `text`, `singlevaluelist` or `multivaluelist`.
    pub datatype: &'static str,
    /// Whether a request needs it.
    pub required: bool,
    /// What the value looks like.
    pub datatype_description: &'static str,
    /// Its place in the form.
    pub order: u32,
    /// The question put to the reporter.
    pub description: &'static str,
    /// The choices of a list.
    pub values: &'static [AttributeValue],
}

/// A kind of report.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// Its code.
    pub service_code: &'static str,
    /// Its name.
    pub service_name: &'static str,
    /// What it covers.
    pub description: &'static str,
    /// Whether it has a definition with attributes.
    pub metadata: bool,
    /// `realtime`: a request is stored at once and gets its id.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Search words.
    pub keywords: &'static str,
    /// Its group.
    pub group: &'static str,
    /// Its extra attributes (the definition's).
    #[serde(skip)]
    pub attributes: &'static [Attribute],
}

const SETBACK_KINDS: &[AttributeValue] = &[
    AttributeValue {
        key: "sungai",
        name: "Sempadan sungai",
    },
    AttributeValue {
        key: "pantai",
        name: "Sempadan pantai",
    },
    AttributeValue {
        key: "jalan",
        name: "Garis sempadan jalan",
    },
    AttributeValue {
        key: "rth",
        name: "Ruang terbuka hijau",
    },
];

/// The services of the city's node: the violations of the spatial plan people report.
pub const SERVICES: [Service; 5] = [
    Service {
        service_code: "tanpa-pbg",
        service_name: "Bangunan tanpa izin (PBG)",
        description: "Bangunan yang sedang atau sudah dibangun tanpa Persetujuan Bangunan Gedung.",
        metadata: true,
        kind: "realtime",
        keywords: "bangunan, izin, PBG, IMB",
        group: "Pelanggaran bangunan",
        attributes: &[Attribute {
            variable: true,
            code: "tahap",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: "",
            order: 1,
            description: "Tahap pembangunan",
            values: &[
                AttributeValue {
                    key: "sedang",
                    name: "Sedang dibangun",
                },
                AttributeValue {
                    key: "selesai",
                    name: "Sudah selesai",
                },
            ],
        }],
    },
    Service {
        service_code: "lebih-intensitas",
        service_name: "Bangunan melebihi batas intensitas",
        description: "Bangunan lebih tinggi, lebih banyak lantai atau menutup lahan lebih luas \
                      dari yang diizinkan (KDB, KLB, ketinggian).",
        metadata: true,
        kind: "realtime",
        keywords: "KDB, KLB, ketinggian, lantai",
        group: "Pelanggaran bangunan",
        attributes: &[Attribute {
            variable: true,
            code: "jumlah_lantai",
            datatype: "number",
            required: false,
            datatype_description: "Jumlah lantai yang terlihat, 1 sampai 100",
            order: 1,
            description: "Berapa lantai bangunan itu?",
            values: &[],
        }],
    },
    Service {
        service_code: "kegiatan-tidak-sesuai",
        service_name: "Kegiatan tidak sesuai zonasi",
        description: "Usaha atau kegiatan yang tidak diizinkan di sub-zona tempatnya, \
                      misalnya bengkel di zona perumahan.",
        metadata: true,
        kind: "realtime",
        keywords: "zonasi, usaha, kegiatan, KBLI",
        group: "Pelanggaran pemanfaatan ruang",
        attributes: &[
            Attribute {
                variable: true,
                code: "kbli",
                datatype: "string",
                required: false,
                datatype_description: "Kode KBLI 2020, lima angka, bila diketahui",
                order: 1,
                description: "Kegiatan apa yang dilakukan di sana?",
                values: &[],
            },
            Attribute {
                variable: true,
                code: "nama_usaha",
                datatype: "string",
                required: false,
                datatype_description: "Paling banyak 200 karakter",
                order: 2,
                description: "Nama usaha, bila ada",
                values: &[],
            },
        ],
    },
    Service {
        service_code: "sempadan-rth",
        service_name: "Bangunan di sempadan atau ruang terbuka hijau",
        description: "Bangunan di sempadan sungai, pantai atau jalan, atau di ruang terbuka hijau.",
        metadata: true,
        kind: "realtime",
        keywords: "sempadan, sungai, pantai, RTH, taman",
        group: "Pelanggaran pemanfaatan ruang",
        attributes: &[Attribute {
            variable: true,
            code: "jenis_sempadan",
            datatype: "singlevaluelist",
            required: true,
            datatype_description: "",
            order: 1,
            description: "Di mana bangunan itu berada?",
            values: SETBACK_KINDS,
        }],
    },
    Service {
        service_code: "lainnya",
        service_name: "Pelanggaran tata ruang lainnya",
        description: "Pelanggaran rencana tata ruang yang tidak termasuk jenis lain.",
        metadata: false,
        kind: "realtime",
        keywords: "tata ruang, lainnya",
        group: "Pelanggaran pemanfaatan ruang",
        attributes: &[],
    },
];

/// The service with `code`.
pub fn service(code: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.service_code == code)
}

/// Checks a request's extra attributes against the service's definition: each is one of its
/// codes, required ones are there, list values are among the choices, numbers are numbers
/// (1 to 100 floors), a KBLI code has five digits, texts have at most 200 characters. Returns them
/// as JSON (numbers as numbers); the message names the first that is wrong.
pub fn check_attributes(
    service: &Service,
    given: &std::collections::BTreeMap<String, String>,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut out = serde_json::Map::new();
    for (code, value) in given {
        let Some(attribute) = service.attributes.iter().find(|a| a.code == code) else {
            let known: Vec<&str> = service.attributes.iter().map(|a| a.code).collect();
            return Err(format!(
                "attribute[{code}] is not an attribute of {}; it has: {}",
                service.service_code,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        out.insert(code.clone(), attribute_value(attribute, value)?);
    }
    if let Some(missing) = service
        .attributes
        .iter()
        .find(|a| a.required && !out.contains_key(a.code))
    {
        return Err(format!(
            "attribute[{}] is required for {}: {}",
            missing.code, service.service_code, missing.description
        ));
    }
    Ok(out)
}

fn attribute_value(attribute: &Attribute, value: &str) -> Result<Value, String> {
    let code = attribute.code;
    match attribute.datatype {
        "singlevaluelist" => {
            if attribute.values.iter().any(|v| v.key == value) {
                Ok(json!(value))
            } else {
                let keys: Vec<&str> = attribute.values.iter().map(|v| v.key).collect();
                Err(format!(
                    "attribute[{code}] is \"{value}\"; it takes one of: {}",
                    keys.join(", ")
                ))
            }
        }
        "number" => match value.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(json!(n)),
            _ => Err(format!(
                "attribute[{code}] is \"{value}\"; it takes a whole number from 1 to 100"
            )),
        },
        _ if code == "kbli" => {
            if value.len() == 5 && value.bytes().all(|b| b.is_ascii_digit()) {
                Ok(json!(value))
            } else {
                Err(format!(
                    "attribute[kbli] is \"{value}\"; a KBLI 2020 code has five digits"
                ))
            }
        }
        _ => {
            if value.chars().count() > 200 || value.chars().any(|c| !super::text_char(c, false)) {
                Err(format!(
                    "attribute[{code}] takes at most 200 characters of text on one line"
                ))
            } else {
                Ok(json!(value))
            }
        }
    }
}

/// The list of services (`GET /services`).
pub fn services_document() -> Value {
    serde_json::to_value(SERVICES).unwrap_or_default()
}

/// A service's definition (`GET /services/{code}`).
pub fn definition_document(service: &Service) -> Value {
    json!({
        "service_code": service.service_code,
        "attributes": service.attributes,
    })
}

/// A request as GeoReport v2 shows it (`GET /requests`): the public view only, its state mapped
/// to `open`/`closed` with the finer state in `status_notes` when there is no note; the first photo
/// as `media_url` once the report is verified; the due day as `expected_datetime`.
pub fn request_document(report: &crate::reports::PublicReport, base: &str) -> Value {
    let status = super::workflow::Status::parse(&report.status);
    let service = service(&report.service_code);
    let notes = report
        .status_notes
        .clone()
        .or_else(|| status.map(|s| format!("{} ({})", super::store::status_label(s), s.as_str())));
    json!({
        "service_request_id": report.id.to_string(),
        "status": status.and_then(|s| s.open311()).unwrap_or("closed"),
        "status_notes": notes,
        "service_name": service.map(|s| s.service_name),
        "service_code": report.service_code,
        "description": report.description,
        "agency_responsible": format!(
            "DPPR Kota Balikpapan (Kecamatan {})",
            report.kecamatan
        ),
        "service_notice": Value::Null,
        "requested_datetime": report.requested_at,
        "updated_datetime": report.updated_at,
        "expected_datetime": report.due_on.as_ref().map(|d| format!("{d}T23:59:59+08:00")),
        "address": report.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": report.lat,
        "long": report.lon,
        "media_url": (report.photos > 0)
            .then(|| format!("{base}/api/v1/reports/{}/photos/1.jpg", report.id)),
    })
}

/// The discovery document (`GET /discovery`).
pub fn discovery_document(base: &str) -> Value {
    json!({
        "changeset": "2026-11-26T00:00:00+08:00",
        "contact": "DPPR Kota Balikpapan, dppr@balikpapan.go.id",
        "key_service": "Client applications ask DPPR for an API key (satupeta apikeys create NAME).",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{base}/open311/v2"),
            "changeset": "2026-11-26T00:00:00+08:00",
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    })
}

/// GeoReport v2's errors: a list of `{code, description}`.
pub fn errors_document(code: u16, description: &str) -> Value {
    json!([{ "code": code, "description": description }])
}

/// The singular of a list's name, for the name of its items in XML.
fn item_name(list: &str) -> &str {
    match list {
        "services" => "service",
        "attributes" => "attribute",
        "values" => "value",
        "service_requests" => "request",
        "errors" => "error",
        "discovery" => "endpoint",
        "endpoints" => "endpoint",
        "formats" => "format",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// `document` in `format`, XML under the root element `root`.
pub fn render(document: &Value, format: Format, root: &str) -> String {
    match format {
        Format::Json => document.to_string(),
        Format::Xml => {
            let mut w = Writer::new(Vec::new());
            // Writing into a Vec cannot fail.
            let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
            element(&mut w, root, document);
            String::from_utf8_lossy(&w.into_inner()).into_owned()
        }
    }
}

/// Writes `value` as the element `name`: objects as their fields, lists as their items, the rest
/// as text (an absent value as an empty element).
fn element(w: &mut Writer<Vec<u8>>, name: &str, value: &Value) {
    let text = match value {
        Value::Null => {
            let _ = w.write_event(Event::Empty(BytesStart::new(name)));
            return;
        }
        Value::Object(fields) => {
            let _ = w.write_event(Event::Start(BytesStart::new(name)));
            for (key, field) in fields {
                element(w, key, field);
            }
            let _ = w.write_event(Event::End(BytesEnd::new(name)));
            return;
        }
        Value::Array(items) => {
            let _ = w.write_event(Event::Start(BytesStart::new(name)));
            for item in items {
                element(w, item_name(name), item);
            }
            let _ = w.write_event(Event::End(BytesEnd::new(name)));
            return;
        }
        // Characters XML 1.0 cannot carry (input refuses them; older rows may hold them) become
        // U+FFFD: one report must not make the list unreadable.
        Value::String(s) => s
            .chars()
            .map(|c| if super::xml_char(c) { c } else { '\u{FFFD}' })
            .collect(),
        other => other.to_string(),
    };
    let _ = w.write_event(Event::Start(BytesStart::new(name)));
    let _ = w.write_event(Event::Text(BytesText::new(&text)));
    let _ = w.write_event(Event::End(BytesEnd::new(name)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn attributes_are_checked_against_the_definition_and_typed() {
        let floors = service("lebih-intensitas").unwrap();
        let ok = check_attributes(floors, &given(&[("jumlah_lantai", " 7 ")])).unwrap();
        assert_eq!(ok["jumlah_lantai"], json!(7));
        for bad in ["0", "101", "tujuh", "7.5"] {
            let e = check_attributes(floors, &given(&[("jumlah_lantai", bad)])).unwrap_err();
            assert!(e.contains("1 to 100"), "{bad}: {e}");
        }
        let e = check_attributes(floors, &given(&[("kbli", "45201")])).unwrap_err();
        assert!(
            e.contains("jumlah_lantai"),
            "the attributes it has are named: {e}"
        );

        let setback = service("sempadan-rth").unwrap();
        let e = check_attributes(setback, &given(&[])).unwrap_err();
        assert!(
            e.contains("jenis_sempadan") && e.contains("required"),
            "{e}"
        );
        let e = check_attributes(setback, &given(&[("jenis_sempadan", "laut")])).unwrap_err();
        assert!(e.contains("sungai, pantai, jalan, rth"), "{e}");
        // An empty value is no value: a required attribute left empty is still missing.
        assert!(check_attributes(setback, &given(&[("jenis_sempadan", " ")])).is_err());

        let activity = service("kegiatan-tidak-sesuai").unwrap();
        assert!(check_attributes(activity, &given(&[("kbli", "4520")])).is_err());
        assert!(check_attributes(activity, &given(&[("nama_usaha", "a\nb")])).is_err());
        let long = "x".repeat(201);
        assert!(check_attributes(activity, &given(&[("nama_usaha", &long)])).is_err());
        let ok = check_attributes(
            activity,
            &given(&[("kbli", "45201"), ("nama_usaha", "Bengkel Jaya")]),
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert!(
            check_attributes(service("lainnya").unwrap(), &given(&[("x", "1")]))
                .unwrap_err()
                .contains("none")
        );
    }

    #[test]
    fn a_request_reads_as_georeport_says_without_personal_data() {
        let report = crate::reports::PublicReport {
            id: 12,
            service_code: "tanpa-pbg".into(),
            description: "Ruko".into(),
            address: None,
            lon: 116.85,
            lat: -1.25,
            status: "in_progress".into(),
            status_notes: None,
            kecamatan: "Balikpapan Kota".into(),
            kelurahan: "Klandasan Ilir".into(),
            requested_at: "2026-11-20T09:00:00+08:00".into(),
            updated_at: "2026-11-21T10:00:00+08:00".into(),
            due_kind: Some("answer".into()),
            due_on: Some("2026-11-30".into()),
            overdue: Some(false),
            photos: 2,
            followers: 3,
            duplicate_of: None,
        };
        let doc = request_document(&report, "https://peta.example");
        assert_eq!(doc["service_request_id"], "12");
        assert_eq!(doc["status"], "open");
        assert_eq!(doc["status_notes"], "Sedang ditindaklanjuti (in_progress)");
        assert_eq!(doc["service_name"], "Bangunan tanpa izin (PBG)");
        assert_eq!(doc["expected_datetime"], "2026-11-30T23:59:59+08:00");
        assert_eq!(
            doc["media_url"],
            "https://peta.example/api/v1/reports/12/photos/1.jpg"
        );
        assert_eq!(doc["long"], 116.85);
        let fields: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for field in [
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "address_id",
            "zipcode",
            "lat",
            "long",
            "media_url",
        ] {
            assert!(fields.contains(&field), "{field}");
        }
        assert_eq!(
            fields.len(),
            17,
            "nothing but GeoReport's fields: {fields:?}"
        );
        let xml = render(&json!([doc]), Format::Xml, "service_requests");
        assert!(
            xml.contains("<service_requests><request><service_request_id>12</service_request_id>"),
            "{xml}"
        );
        assert!(
            xml.contains("<zipcode/>") || xml.contains("<zipcode></zipcode>"),
            "{xml}"
        );
    }

    #[test]
    fn the_services_carry_the_fields_georeport_names() {
        let list = services_document();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 5);
        for s in list {
            for field in [
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group",
            ] {
                assert!(s.get(field).is_some(), "{field} in {s}");
            }
            let service = service(s["service_code"].as_str().unwrap()).unwrap();
            assert_eq!(s["metadata"], !service.attributes.is_empty());
        }
        let definition = definition_document(service("sempadan-rth").unwrap());
        let attribute = &definition["attributes"][0];
        assert_eq!(attribute["code"], "jenis_sempadan");
        assert_eq!(attribute["datatype"], "singlevaluelist");
        assert_eq!(attribute["required"], true);
        assert_eq!(attribute["values"][0]["key"], "sungai");
        assert!(service("nope").is_none());
    }

    #[test]
    fn xml_mirrors_json_with_items_named_and_text_escaped() {
        let xml = render(&services_document(), Format::Xml, "services");
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service>"));
        assert!(xml.contains("<service_code>tanpa-pbg</service_code>"));
        assert!(xml.contains("<metadata>true</metadata>"));
        assert!(xml.contains("<type>realtime</type>"));
        assert_eq!(xml.matches("<service>").count(), 5);
        let definition = render(
            &definition_document(service("sempadan-rth").unwrap()),
            Format::Xml,
            "service_definition",
        );
        assert!(
            definition
                .contains("<values><value><key>sungai</key><name>Sempadan sungai</name></value>")
        );
        let errors = render(
            &errors_document(400, "service_code <b>&</b> missing"),
            Format::Xml,
            "errors",
        );
        assert!(errors.ends_with(
            "<errors><error><code>400</code><description>service_code &lt;b&gt;&amp;&lt;/b&gt; missing</description></error></errors>"
        ));
        let absent = render(&json!({"expected_datetime": null}), Format::Xml, "request");
        assert!(absent.ends_with("<request><expected_datetime/></request>"));
        assert_eq!(
            render(&errors_document(404, "x"), Format::Json, "errors"),
            r#"[{"code":404,"description":"x"}]"#
        );
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(
            Format::of("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(
            Format::of("tanpa-pbg.xml"),
            Some(("tanpa-pbg", Format::Xml))
        );
        assert_eq!(Format::of("services"), None);
        assert_eq!(Format::of("services.csv"), None);
        assert_eq!(Format::Xml.content_type(), "text/xml; charset=utf-8");
    }
}
