//! OGC API – Records 1.0 (OGC 20-004r1) documents in the GeoJSON encoding: the `catalog`
//! collection, its items (a FeatureCollection of records with paging links) and one record per
//! dataset, linking to the data as OGC API – Features and to the ISO 19139 document.
//! Paths: `{base}/ogc/collections/catalog[/items[/{id}]]`; the data at `{base}/ogc/collections/{id}`.

use chrono::{DateTime, SecondsFormat};
use serde_json::{Value, json};

use super::search::{self, Format, RecordQuery, percent_encode};
use crate::catalog::MetadataRecord;
use crate::catalog::metadata::TOPIC_CATEGORIES;

/// The id of the records collection.
pub const CATALOG_ID: &str = "catalog";
/// GeoJSON.
pub const GEOJSON: &str = "application/geo+json";
/// JSON.
pub const JSON: &str = "application/json";
/// HTML.
pub const HTML: &str = "text/html";
/// ISO 19139 XML.
pub const ISO19139: &str = "application/vnd.iso.19139+xml";
/// The link relation of queryables.
pub const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";
/// The scheme of ISO topic categories, used for `themes`.
pub const TOPIC_SCHEME: &str =
    "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#MD_TopicCategoryCode";
/// What each record conforms to.
pub const RECORD_CORE: &str = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core";

const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-collection",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core-query-parameters",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/records-api",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/searchable-catalog",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
];

/// The Records conformance classes these documents meet, for `/conformance`. The caller adds
/// OGC API – Features core (required by records-api) and `.../conf/html` if it serves HTML.
pub fn conformance_classes() -> &'static [&'static str] {
    CONFORMANCE
}

/// `{base}/ogc/collections/catalog`.
pub fn catalog_url(base: &str) -> String {
    format!("{base}/ogc/collections/{CATALOG_ID}")
}

/// `{base}/ogc/collections/catalog/items/{id}`.
pub fn record_url(base: &str, id: &str) -> String {
    format!("{}/items/{}", catalog_url(base), percent_encode(id))
}

/// `{base}/ogc/collections/{id}`: the dataset as OGC API – Features.
pub fn data_url(base: &str, id: &str) -> String {
    format!("{base}/ogc/collections/{}", percent_encode(id))
}

fn link(href: String, rel: &str, media_type: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}

/// The records collection, with the extent of the records given.
pub fn catalog_collection(base: &str, records: &[MetadataRecord]) -> Value {
    let url = catalog_url(base);
    let mut collection = json!({
        "id": CATALOG_ID,
        "type": "Collection",
        "itemType": "record",
        "title": "Katalog Metadata Satu Peta Balikpapan",
        "description": "Metadata (SNI 8843-1:2019) of the datasets published by the agencies of \
                        Kota Balikpapan through this Simpul Jaringan node.",
        "language": { "code": "id" },
        "conformsTo": [RECORD_CORE],
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            link(url.clone(), "self", JSON, "This catalog"),
            link(format!("{url}?f=html"), "alternate", HTML, "This catalog as a web page"),
            link(format!("{url}/items"), "items", GEOJSON, "The records"),
            link(format!("{url}/items?f=html"), "items", HTML, "The records as a web page"),
            link(format!("{url}/queryables"), REL_QUERYABLES, "application/schema+json",
                 "What the records can be searched by"),
        ],
    });
    if let Some(extent) = extent(records) {
        collection["extent"] = extent;
    }
    collection
}

/// The union of the records' boxes and the span of their dates.
fn extent(records: &[MetadataRecord]) -> Option<Value> {
    let boxes: Vec<[f64; 4]> = records.iter().filter_map(|r| r.extent).collect();
    let bbox = boxes.iter().copied().reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })?;
    let times = records.iter().flat_map(|r| {
        [
            search::instant(&r.metadata.reference_date),
            search::instant(&r.updated),
        ]
    });
    let (first, last) = times.flatten().fold((None, None), |(lo, hi), (a, b)| {
        (
            Some(lo.map_or(a, |lo: i64| lo.min(a))),
            Some(hi.map_or(b, |hi: i64| hi.max(b))),
        )
    });
    Some(json!({
        "spatial": { "bbox": [bbox], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84" },
        "temporal": {
            "interval": [[first.and_then(timestamp), last.and_then(timestamp)]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }))
}

fn timestamp(seconds: i64) -> Option<String> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// What the records can be searched by (`/queryables`), as JSON Schema.
pub fn queryables(base: &str) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{}/queryables", catalog_url(base)),
        "type": "object",
        "title": "Katalog Metadata Satu Peta Balikpapan",
        "properties": {
            "id": { "type": "string", "title": "Identifier" },
            "type": { "type": "string", "enum": [search::RECORD_TYPE] },
            "title": { "type": "string" },
            "description": { "type": "string" },
            "keywords": { "type": "array", "items": { "type": "string" } },
            "themes": { "type": "string", "enum": TOPIC_CATEGORIES },
            "geometry": { "format": "geometry-polygon" },
            "time": { "type": "string", "format": "date" },
        },
        "additionalProperties": false,
    })
}

/// A page of records as a FeatureCollection, with links to this page and its neighbours.
pub fn items(base: &str, query: &RecordQuery, page: &[&MetadataRecord], matched: usize) -> Value {
    let items_url = format!("{}/items", catalog_url(base));
    let page_link = |offset: usize, format: Format, rel: &str, title: &str| {
        let mut q = query.clone();
        q.format = Some(format);
        let media = if format == Format::Html {
            HTML
        } else {
            GEOJSON
        };
        link(
            format!("{items_url}?{}", q.to_query_string(offset)),
            rel,
            media,
            title,
        )
    };
    let mut links = vec![
        page_link(query.offset, Format::Json, "self", "This page"),
        page_link(
            query.offset,
            Format::Html,
            "alternate",
            "This page as a web page",
        ),
    ];
    if query.offset + page.len() < matched {
        links.push(page_link(
            query.offset + query.limit,
            Format::Json,
            "next",
            "Next page",
        ));
    }
    if query.offset > 0 {
        let prev = query.offset.saturating_sub(query.limit);
        links.push(page_link(prev, Format::Json, "prev", "Previous page"));
    }
    links.push(link(catalog_url(base), "collection", JSON, "The catalog"));
    json!({
        "type": "FeatureCollection",
        "features": page.iter().map(|r| record(base, r)).collect::<Vec<_>>(),
        "numberMatched": matched,
        "numberReturned": page.len(),
        "links": links,
    })
}

/// One record as a GeoJSON Feature.
pub fn record(base: &str, record: &MetadataRecord) -> Value {
    let m = &record.metadata;
    let time = search::instant(&m.reference_date).map(|_| json!({ "date": m.reference_date }));
    json!({
        "id": record.id,
        "type": "Feature",
        "conformsTo": [RECORD_CORE],
        "geometry": record.extent.map(|e| geometry(&e)),
        "time": time,
        "properties": properties(record),
        "links": record_links(base, record),
    })
}

fn properties(record: &MetadataRecord) -> Value {
    let m = &record.metadata;
    let language = json!({ "code": language_tag(m.language()) });
    let (license, rights) = license(&m.licence);
    let mut props = json!({
        "type": search::RECORD_TYPE,
        "title": m.title,
        "description": m.abstract_text,
        "keywords": m.keywords,
        "language": language,
        "resourceLanguages": [language],
        "contacts": [contact(record)],
        "license": license,
        "formats": [
            { "name": "GeoJSON", "mediaType": GEOJSON },
            { "name": "ISO 19139", "mediaType": ISO19139 },
        ],
        "updated": record.updated,
        "agency": record.agency,
        "crs": record.crs,
        "geometryType": record.geometry_type,
        "featureCount": record.features,
        "updateFrequency": m.update_frequency,
        "lineage": m.lineage,
    });
    if let Some(rights) = rights {
        props["rights"] = json!(rights);
    }
    if !m.topic_category.is_empty() {
        props["themes"] = json!([{
            "concepts": [{ "id": m.topic_category }],
            "scheme": TOPIC_SCHEME,
        }]);
    }
    props
}

/// The agency as the point of contact.
fn contact(record: &MetadataRecord) -> Value {
    let c = &record.metadata.contact;
    let mut contact = json!({
        "organization": record.agency_name,
        "roles": ["pointOfContact"],
    });
    if let Some(name) = c.individual.as_deref().filter(|n| !n.trim().is_empty()) {
        contact["name"] = json!(name);
    }
    if !c.email.is_empty() {
        contact["emails"] = json!([{ "value": c.email }]);
    }
    if let Some(phone) = c.phone.as_deref().and_then(international_phone) {
        contact["phones"] = json!([{ "value": phone }]);
    }
    contact
}

fn record_links(base: &str, record: &MetadataRecord) -> Vec<Value> {
    let url = record_url(base, &record.id);
    let data = data_url(base, &record.id);
    vec![
        link(url.clone(), "self", GEOJSON, "This record"),
        link(
            format!("{url}?f=html"),
            "alternate",
            HTML,
            "This record as a web page",
        ),
        link(
            format!("{url}?f=iso19139"),
            "alternate",
            ISO19139,
            "This record as ISO 19139",
        ),
        link(catalog_url(base), "collection", JSON, "The catalog"),
        link(
            data.clone(),
            "item",
            JSON,
            "The data (OGC API – Features collection)",
        ),
        link(
            format!("{data}/items"),
            "items",
            GEOJSON,
            "The data's features",
        ),
    ]
}

/// The extent as a polygon (a point when it has no area).
fn geometry(e: &[f64; 4]) -> Value {
    let [w, s, east, n] = *e;
    if w == east && s == n {
        return json!({ "type": "Point", "coordinates": [w, s] });
    }
    json!({
        "type": "Polygon",
        "coordinates": [[[w, s], [east, s], [east, n], [w, n], [w, s]]],
    })
}

/// An SPDX id as it is; anything else is `other`, with the text as rights.
fn license(text: &str) -> (&str, Option<&str>) {
    let spdx_like = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'));
    if spdx_like {
        (text, None)
    } else {
        ("other", Some(text).filter(|t| !t.is_empty()))
    }
}

/// An RFC 5646 tag for the ISO 639-2 codes in use.
pub(crate) fn language_tag(code: &str) -> &str {
    match code {
        "ind" => "id",
        "eng" => "en",
        other => other,
    }
}

/// A telephone number as `+62…`, the only form the Records schema allows; `None` if unusable.
pub(crate) fn international_phone(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let national = if text.trim_start().starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("62{rest}")
    } else {
        digits
    };
    let ok = (4..=15).contains(&national.len()) && !national.starts_with('0');
    ok.then(|| format!("+{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::search::tests::record as sample;

    const BASE: &str = "https://peta.balikpapan.go.id";

    fn hrefs(doc: &Value, rel: &str) -> Vec<String> {
        doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["rel"] == rel)
            .map(|l| l["href"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_record_is_a_geojson_feature_with_records_properties() {
        let doc = record(BASE, &sample("puskesmas", "Puskesmas <&>\"'"));
        assert_eq!(doc["type"], "Feature");
        assert_eq!(doc["id"], "puskesmas");
        assert_eq!(doc["geometry"]["type"], "Polygon");
        assert_eq!(doc["geometry"]["coordinates"][0][2], json!([117.0, -1.1]));
        assert_eq!(doc["time"], json!({ "date": "2025-06-01" }));
        let p = &doc["properties"];
        assert_eq!(p["type"], "dataset");
        assert_eq!(p["title"], "Puskesmas <&>\"'");
        assert_eq!(p["themes"][0]["concepts"][0]["id"], "health");
        assert_eq!(p["themes"][0]["scheme"], TOPIC_SCHEME);
        assert_eq!(p["language"]["code"], "id");
        assert_eq!(p["license"], "CC-BY-4.0");
        assert!(p.get("rights").is_none());
        let c = &p["contacts"][0];
        assert_eq!(c["organization"], "Dinas Kesehatan");
        assert_eq!(c["emails"][0]["value"], "dinkes@balikpapan.go.id");
        assert_eq!(c["phones"][0]["value"], "+62542123456");
        assert_eq!(c["roles"], json!(["pointOfContact"]));
        assert_eq!(p["featureCount"], 42);
        assert_eq!(
            hrefs(&doc, "self"),
            [format!("{BASE}/ogc/collections/catalog/items/puskesmas")]
        );
        assert_eq!(
            hrefs(&doc, "collection").len(),
            1,
            "exactly one collection link"
        );
        assert_eq!(
            hrefs(&doc, "items"),
            [format!("{BASE}/ogc/collections/puskesmas/items")]
        );
        let links = doc["links"].as_array().unwrap();
        assert!(
            links.iter().all(|l| l["type"].is_string()),
            "all links typed"
        );
        assert!(
            links
                .iter()
                .any(|l| l["type"] == ISO19139
                    && l["href"].as_str().unwrap().ends_with("?f=iso19139"))
        );
    }

    #[test]
    fn missing_extent_and_odd_licence() {
        let mut r = sample("a", "A");
        r.extent = None;
        r.metadata.reference_date = "soon".into();
        r.metadata.licence = "Hak cipta Pemkot Balikpapan".into();
        let doc = record(BASE, &r);
        assert!(doc["geometry"].is_null());
        assert!(doc["time"].is_null());
        assert_eq!(doc["properties"]["license"], "other");
        assert_eq!(doc["properties"]["rights"], "Hak cipta Pemkot Balikpapan");
    }

    #[test]
    fn items_page_with_next_and_prev() {
        let records: Vec<_> = (0..25).map(|i| sample(&format!("r{i}"), "T")).collect();
        let query = RecordQuery {
            limit: 10,
            offset: 10,
            q: vec!["t".into()],
            ..RecordQuery::default()
        };
        let (page, matched) = query.apply(&records);
        let doc = items(BASE, &query, &page, matched);
        assert_eq!(doc["type"], "FeatureCollection");
        assert_eq!(doc["numberMatched"], 25);
        assert_eq!(doc["numberReturned"], 10);
        assert_eq!(doc["features"][0]["id"], "r10");
        let next = hrefs(&doc, "next");
        assert_eq!(next.len(), 1);
        assert!(
            next[0].contains("offset=20") && next[0].contains("q=t"),
            "{}",
            next[0]
        );
        assert!(hrefs(&doc, "prev")[0].contains("offset=0"));
        assert!(hrefs(&doc, "self")[0].contains("offset=10"));

        let last = RecordQuery {
            offset: 20,
            ..query
        };
        let (page, matched) = last.apply(&records);
        let doc = items(BASE, &last, &page, matched);
        assert_eq!(doc["numberReturned"], 5);
        assert!(hrefs(&doc, "next").is_empty());
    }

    #[test]
    fn the_catalog_collection() {
        let mut a = sample("a", "A");
        a.extent = Some([116.0, -2.0, 116.5, -1.5]);
        let doc = catalog_collection(BASE, &[a, sample("b", "B")]);
        assert_eq!(doc["type"], "Collection");
        assert_eq!(doc["itemType"], "record");
        assert_eq!(
            doc["extent"]["spatial"]["bbox"][0],
            json!([116.0, -2.0, 117.0, -1.1])
        );
        assert_eq!(
            doc["extent"]["temporal"]["interval"][0],
            json!(["2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"])
        );
        assert_eq!(
            hrefs(&doc, "items")[0],
            format!("{BASE}/ogc/collections/catalog/items")
        );
        assert_eq!(hrefs(&doc, REL_QUERYABLES).len(), 1);
        assert!(catalog_collection(BASE, &[]).get("extent").is_none());
        assert!(
            conformance_classes()
                .iter()
                .any(|c| c.ends_with("/conf/record-core"))
        );
    }

    #[test]
    fn phones_become_international_or_nothing() {
        assert_eq!(
            international_phone("(0542) 873-901").as_deref(),
            Some("+62542873901")
        );
        assert_eq!(
            international_phone("+62 811 540 000").as_deref(),
            Some("+62811540000")
        );
        assert_eq!(international_phone("ext. 12"), None);
    }
}
