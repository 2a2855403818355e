#!/usr/bin/env python3
"""Checks a satupeta node (or any OGC API Features server) with the clients people use.

OWSLib reads the OGC API Features endpoints (collections, one collection, every page of its items
by following `next` links, a bbox query, a CQL2 text filter), the OGC API Records catalogue (`q`)
and the CSW 2.0.2 endpoint (GetCapabilities, GetRecords with an AnyText `PropertyIsLike` and a
BBox, GetRecordById in Dublin Core and ISO 19139); openapi-spec-validator validates the OpenAPI
document the landing page links as `service-desc`.

    check_node.py http://127.0.0.1:8080/ogc fasilitas 100000 \
        --filter "kategori = 'sekolah' AND kapasitas > 100" --filter-count 8012

Every check runs; each prints `ok` or `FAIL` with what it saw. The exit status is 1 when any
check failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any, Callable

import requests
from openapi_spec_validator import validate as validate_openapi
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsLike
from owslib.ogcapi.features import Features
from owslib.ogcapi.records import Records

CRS84 = "urn:ogc:def:crs:OGC:1.3:CRS84"
ISO19139 = "http://www.isotc211.org/2005/gmd"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"


class CheckFailed(Exception):
    """A check saw something other than what the standard or the caller expects."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Node:
    """The server under test and what the caller told us about it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = args.base.rstrip("/")
        # Items are GeoJSON; the other resources JSON (a plain `application/json` gets tipg's
        # bare list of features).
        self.headers = {"Accept": "application/geo+json, application/json;q=0.9"}
        if args.token:
            self.headers["Authorization"] = f"Bearer {args.token}"
        self.failures: list[str] = []
        self.passed = 0
        self._features: Features | None = None
        self.all_ids: set[Any] = set()

    # -- running ----------------------------------------------------------------------------

    def check(self, name: str, body: Callable[[], str]) -> None:
        try:
            detail = body()
        except CheckFailed as err:
            self.failures.append(f"{name}: {err}")
            print(f"FAIL {name}: {err}", flush=True)
        except Exception as err:  # noqa: BLE001 - any client error is a failed check
            self.failures.append(f"{name}: {type(err).__name__}: {err}")
            print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
            if self.args.verbose:
                traceback.print_exc()
        else:
            self.passed += 1
            print(f"ok   {name}: {detail}", flush=True)

    @property
    def features(self) -> Features:
        if self._features is None:
            self._features = Features(self.base, headers=dict(self.headers), timeout=60)
        return self._features

    def get_json(self, url: str, params: dict | None = None) -> dict:
        response = requests.get(url, params=params, headers=self.headers, timeout=120)
        expect(response.ok, f"GET {response.url} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    # -- OGC API Features -------------------------------------------------------------------

    def landing(self) -> str:
        links = self.features.links
        rels = {link.get("rel") for link in links}
        for rel in ("service-desc", "conformance", "data"):
            expect(rel in rels, f"the landing page has no `{rel}` link (has {sorted(r for r in rels if r)})")
        return f"{len(links)} links"

    def collections(self) -> str:
        listed = self.features.collections()
        ids = [c.get("id") for c in listed.get("collections", [])]
        expect(self.args.collection in ids, f"`{self.args.collection}` is not among the collections {ids}")
        return f"{len(ids)} collections, `{self.args.collection}` among them"

    def collection(self) -> str:
        found = self.features.collection(self.args.collection)
        expect(found.get("id") == self.args.collection, f"the collection document has id {found.get('id')!r}")
        rels = {link.get("rel") for link in found.get("links", [])}
        expect("items" in rels, f"the collection has no `items` link (has {sorted(r for r in rels if r)})")
        bbox = found.get("extent", {}).get("spatial", {}).get("bbox")
        return f"title {found.get('title')!r}, extent {bbox[0] if bbox else None}"

    def walk(self, first: dict, what: str) -> tuple[list[dict], int]:
        """Every feature from `first` on, following `next` links; and how many pages."""
        page, features, pages = first, [], 1
        max_pages = self.args.count // max(self.args.page_limit, 1) + 10
        while True:
            expect(page.get("type") == "FeatureCollection", f"{what}: page {pages} is a {page.get('type')!r}")
            features.extend(page.get("features", []))
            nexts = [link for link in page.get("links", []) if link.get("rel") == "next"]
            if not nexts or not page.get("features"):
                return features, pages
            expect(pages < max_pages, f"{what}: still a `next` link after {pages} pages")
            json_links = [link for link in nexts if "json" in link.get("type", "application/geo+json")]
            page = self.get_json((json_links or nexts)[0]["href"])
            pages += 1

    def paging(self) -> str:
        first = self.features.collection_items(self.args.collection, limit=self.args.page_limit)
        features, pages = self.walk(first, "paging")
        ids = [f.get("id") for f in features]
        unique = set(ids)
        expect(None not in unique, "a feature has no id")
        expect(len(unique) == len(ids), f"{len(ids) - len(unique)} ids repeat across pages")
        expect(
            len(ids) == self.args.count,
            f"{len(ids)} features over {pages} pages, expected {self.args.count}",
        )
        matched = first.get("numberMatched")
        if matched is not None:
            expect(matched == self.args.count, f"numberMatched is {matched}, expected {self.args.count}")
        self.all_ids = unique
        return f"{len(ids)} unique features over {pages} pages of {self.args.page_limit} (numberMatched {matched})"

    def bbox_query(self) -> str:
        bbox = self.args.bbox or self.inner_bbox()
        first = self.features.collection_items(self.args.collection, bbox=bbox, limit=self.args.page_limit)
        features, pages = self.walk(first, "bbox")
        expect(features, f"no feature inside {bbox}")
        outside = [f.get("id") for f in features if not intersects(bounds(f.get("geometry")), bbox)]
        expect(not outside, f"{len(outside)} features lie outside {bbox}, e.g. {outside[:5]}")
        ids = {f.get("id") for f in features}
        expect(len(ids) == len(features), "ids repeat across the bbox pages")
        if self.all_ids:
            expect(ids <= self.all_ids, "the bbox answer holds ids the full listing did not")
            expect(len(ids) < len(self.all_ids) or self.args.count == len(ids), "the bbox selected nothing out")
        if self.args.bbox_count is not None:
            expect(len(ids) == self.args.bbox_count, f"{len(ids)} features, expected {self.args.bbox_count}")
        matched = first.get("numberMatched")
        if matched is not None:
            expect(matched == len(ids), f"numberMatched is {matched} but the pages held {len(ids)}")
        return f"{len(ids)} features inside {[round(v, 5) for v in bbox]} over {pages} pages"

    def inner_bbox(self) -> list[float]:
        """The middle quarter of the collection's extent (half its width and half its height)."""
        found = self.features.collection(self.args.collection)
        boxes = found.get("extent", {}).get("spatial", {}).get("bbox") or []
        expect(boxes, "the collection has no spatial extent to draw a bbox from: pass --bbox")
        x0, y0, x1, y1 = boxes[0][0], boxes[0][1], boxes[0][-2], boxes[0][-1]
        dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
        return [x0 + dx, y0 + dy, x1 - dx, y1 - dy]

    def cql2_filter(self) -> str:
        params = {"filter": self.args.filter, "filter-lang": "cql2-text", "limit": self.args.page_limit}
        first = self.features.collection_items(self.args.collection, **params)
        features, pages = self.walk(first, "filter")
        ids = {f.get("id") for f in features}
        expect(len(ids) == len(features), "ids repeat across the filtered pages")
        if self.all_ids:
            expect(ids <= self.all_ids, "the filtered answer holds ids the full listing did not")
        if self.args.filter_count is not None:
            expect(len(ids) == self.args.filter_count, f"{len(ids)} features, expected {self.args.filter_count}")
        else:
            expect(0 < len(ids) < self.args.count, f"{len(ids)} features: the filter selected all or nothing")
        return f"{len(ids)} features match {self.args.filter!r} over {pages} pages"

    def openapi(self) -> str:
        spec = self.features.api()
        try:
            validate_openapi(spec)
        except Exception as err:
            if "Unresolvable" in type(err).__name__ + str(err) and "http" in str(err):
                raise CheckFailed(
                    f"the document refers to a remote schema that could not be fetched ({err}); "
                    "a self-contained document validates offline"
                ) from err
            raise
        version = spec.get("openapi", "?")
        paths = spec.get("paths", {})
        expect(
            version.startswith(self.args.openapi_version),
            f"OpenAPI {version}, expected {self.args.openapi_version} (conformance class oas30)",
        )
        return f"OpenAPI {version}, {len(paths)} paths, valid"

    # -- OGC API Records ----------------------------------------------------------------------

    def records(self) -> str:
        catalogue = Records(self.base, headers=dict(self.headers), timeout=60)
        found = catalogue.collection_items(self.args.records_collection, q=self.args.query)
        expect(found.get("type") == "FeatureCollection", f"the records answer is a {found.get('type')!r}")
        records = found.get("features", [])
        expect(
            len(records) >= self.args.records_min,
            f"{len(records)} records for q={self.args.query!r}, expected at least {self.args.records_min}",
        )
        titles = [r.get("properties", {}).get("title") for r in records[:3]]
        expect(all(titles), f"a record has no properties.title: {titles}")
        return f"{len(records)} records for q={self.args.query!r}, e.g. {titles}"

    # -- CSW 2.0.2 ------------------------------------------------------------------------------

    def csw_url(self) -> str:
        if self.args.csw:
            return self.args.csw
        root = self.base[: -len("/ogc")] if self.base.endswith("/ogc") else self.base
        return f"{root}/csw"

    def catalogue(self) -> CatalogueServiceWeb:
        return CatalogueServiceWeb(self.csw_url(), headers=dict(self.headers), timeout=60)

    def csw_capabilities(self) -> str:
        csw = self.catalogue()
        expect(csw.identification.type == "CSW", f"service type {csw.identification.type!r}")
        names = [op.name for op in csw.operations]
        for op in ("GetCapabilities", "GetRecords", "GetRecordById"):
            expect(op in names, f"{op} is not among the operations {names}")
        return f"CSW {csw.version}, operations {names}"

    def csw_records(self) -> str:
        csw = self.catalogue()
        csw.getrecords2(
            constraints=[PropertyIsLike("csw:AnyText", f"%{self.args.query}%")], esn="full", maxrecords=50
        )
        expect(csw.records, f"GetRecords AnyText like %{self.args.query}% found nothing")
        self.csw_id = next(iter(csw.records))
        matched = csw.results.get("matches")
        bbox = self.args.bbox or self.inner_bbox()
        csw.getrecords2(constraints=[BBox(bbox, crs=CRS84)], esn="brief", maxrecords=50)
        expect(csw.records, f"GetRecords BBox {bbox} found nothing")
        return f"AnyText: {matched} matches, first {self.csw_id!r}; BBox: {csw.results.get('matches')} matches"

    def csw_by_id(self) -> str:
        csw = self.catalogue()
        record_id = getattr(self, "csw_id", None)
        expect(record_id is not None, "no record id from GetRecords to ask for")
        csw.getrecordbyid(id=[record_id])
        dc = csw.records.get(record_id)
        expect(dc is not None, f"GetRecordById (Dublin Core) returned {list(csw.records)}")
        expect(dc.title, "the Dublin Core record has no dc:title")
        csw.getrecordbyid(id=[record_id], outputschema=ISO19139)
        iso = csw.records.get(record_id)
        expect(iso is not None, f"GetRecordById (ISO 19139) returned {list(csw.records)}")
        expect(iso.identifier == record_id, f"gmd:fileIdentifier is {iso.identifier!r}")
        title = iso.identification[0].title if iso.identification else None
        expect(title, "the ISO record has no citation title")
        return f"{record_id!r}: DC title {dc.title!r}, ISO title {title!r}"


def bounds(geometry: dict | None) -> list[float] | None:
    """The bounding box of a GeoJSON geometry, or None for a null geometry."""
    if not geometry:
        return None
    xs, ys = [], []

    def visit(coords: Any) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                visit(c)

    if geometry.get("type") == "GeometryCollection":
        for g in geometry.get("geometries", []):
            b = bounds(g)
            if b:
                xs.extend([b[0], b[2]])
                ys.extend([b[1], b[3]])
    else:
        visit(geometry.get("coordinates", []))
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


def intersects(box: list[float] | None, bbox: list[float]) -> bool:
    """Whether a feature's bounds touch the query box; features without geometry match (Part 1)."""
    if box is None:
        return True
    eps = 1e-9
    return box[0] <= bbox[2] + eps and box[2] >= bbox[0] - eps and box[1] <= bbox[3] + eps and box[3] >= bbox[1] - eps


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the OGC API landing page, e.g. http://127.0.0.1:8080/ogc")
    parser.add_argument("collection", help="the collection id, e.g. fasilitas")
    parser.add_argument("count", type=int, help="how many features the collection holds")
    parser.add_argument("--token", help="a bearer token sent with every request")
    parser.add_argument("--page-limit", type=int, default=1000, help="`limit` of each page (default 1000)")
    parser.add_argument("--bbox", type=float, nargs=4, metavar=("MINX", "MINY", "MAXX", "MAXY"),
                        help="CRS84 box for the bbox query (default: the middle of the collection's extent)")
    parser.add_argument("--bbox-count", type=int, help="features expected inside --bbox")
    parser.add_argument("--filter", default="kategori = 'sekolah' AND kapasitas > 100", help="a CQL2 text filter")
    parser.add_argument("--filter-count", type=int, help="features expected to match --filter")
    parser.add_argument("--query", default=None, help="the free-text word for Records `q` and CSW AnyText "
                                                      "(default: the collection id)")
    parser.add_argument("--records-collection", default="catalog")
    parser.add_argument("--records-min", type=int, default=1, help="records expected at least for --query")
    parser.add_argument("--csw", help="the CSW endpoint (default: BASE without /ogc, then /csw)")
    parser.add_argument("--skip-records", action="store_true", help="the node has no OGC API Records")
    parser.add_argument("--skip-csw", action="store_true", help="the node has no CSW")
    parser.add_argument("--skip-openapi", action="store_true", help="do not validate the OpenAPI document")
    parser.add_argument("--openapi-version", default="3.0", help="the OpenAPI version expected (default 3.0)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print tracebacks")
    args = parser.parse_args(argv)
    if args.query is None:
        args.query = args.collection
    return args


def main(argv: list[str]) -> int:
    args = arguments(argv)
    node = Node(args)
    print(f"checking {node.base}, collection {args.collection!r} ({args.count} features)", flush=True)
    node.check("landing page", node.landing)
    node.check("collections", node.collections)
    node.check("collection", node.collection)
    node.check("items, every page by `next` links", node.paging)
    node.check("items, bbox", node.bbox_query)
    node.check("items, CQL2 text filter", node.cql2_filter)
    if not args.skip_openapi:
        node.check("OpenAPI document (service-desc)", node.openapi)
    if not args.skip_records:
        node.check("OGC API Records, q", node.records)
    if not args.skip_csw:
        node.check("CSW GetCapabilities", node.csw_capabilities)
        node.check("CSW GetRecords (AnyText like, BBox)", node.csw_records)
        node.check("CSW GetRecordById (Dublin Core, ISO 19139)", node.csw_by_id)
    print(f"{node.passed} passed, {len(node.failures)} failed", flush=True)
    if node.failures:
        print("failures:\n  " + "\n  ".join(node.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
