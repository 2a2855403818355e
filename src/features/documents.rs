//! The documents of OGC API Features around the items: the landing page, the conformance
//! declaration, the collections, the queryables (JSON Schema) and the OpenAPI 3.0 definition.

use serde_json::{Value, json};

use super::crs::{CRS84, SUPPORTED};
use crate::catalog::{Collection, Kind};

/// The media type of the OpenAPI 3.0 document.
pub const OPENAPI_TYPE: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The conformance classes of Features (Parts 1 to 4) and CQL2 this server implements.
pub const FEATURES_CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
];

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

/// `/ogc`: the landing page.
pub fn landing(base: &str) -> Value {
    let ogc = format!("{base}/ogc");
    json!({
        "title": "Satu Peta Balikpapan",
        "description": "The node of Kota Balikpapan in the national geospatial network (JIGN): \
                        the zoning plan, the administrative boundaries and the datasets of the \
                        city's agencies, as OGC API Features and Records, and CSW 2.0.2 at /csw.",
        "links": [
            link(ogc.clone(), "self", "application/json", "This document"),
            link(format!("{ogc}?f=html"), "alternate", "text/html", "This document as HTML"),
            link(format!("{ogc}/api"), "service-desc", super::documents::OPENAPI_TYPE, "The API definition (OpenAPI 3.0)"),
            link(format!("{ogc}/conformance"), "conformance", "application/json", "Conformance classes"),
            link(format!("{ogc}/collections"), "data", "application/json", "The collections"),
            link(format!("{ogc}/collections/catalog"), "http://www.opengis.net/def/rel/ogc/1.0/catalog", "application/json", "The catalogue of datasets (OGC API Records)"),
            link(format!("{base}/csw?service=CSW&request=GetCapabilities"), "related", "application/xml", "CSW 2.0.2"),
        ]
    })
}

/// `/ogc/conformance`.
pub fn conformance(records: &[&str]) -> Value {
    let all: Vec<&str> = FEATURES_CONFORMANCE
        .iter()
        .chain(records)
        .copied()
        .collect();
    json!({ "conformsTo": all })
}

/// One collection's description.
pub fn collection(base: &str, c: &Collection) -> Value {
    let href = format!("{base}/ogc/collections/{}", c.id);
    let mut crs: Vec<&str> = SUPPORTED.iter().map(|c| c.uri).collect();
    crs.dedup();
    let mut doc = json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": crs,
        "storageCrs": CRS84.uri,
        "links": [
            link(href.clone(), "self", "application/json", "This collection"),
            link(format!("{href}?f=html"), "alternate", "text/html", "This collection as HTML"),
            link(format!("{href}/items"), "items", "application/geo+json", "The features"),
            link(format!("{href}/items?f=html"), "items", "text/html", "The features on a map"),
            link(format!("{href}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "What the features can be filtered by"),
            link(format!("{base}/ogc/collections/catalog/items/{}", c.id), "describedby", "application/geo+json", "The metadata record"),
        ]
    });
    if let Some([w, s, e, n]) = c.extent {
        doc["extent"] = json!({ "spatial": { "bbox": [[w, s, e, n]], "crs": CRS84.uri } });
    }
    if c.agency.is_some() {
        doc["writable"] = json!(true);
    }
    doc
}

/// `/ogc/collections`: the collections the caller may read.
pub fn collections(base: &str, list: &[std::sync::Arc<Collection>], catalog: Value) -> Value {
    let mut all: Vec<Value> = list.iter().map(|c| collection(base, c)).collect();
    all.push(catalog);
    json!({
        "links": [
            link(format!("{base}/ogc/collections"), "self", "application/json", "The collections"),
            link(format!("{base}/ogc/collections?f=html"), "alternate", "text/html", "The collections as HTML"),
        ],
        "crs": SUPPORTED.iter().map(|c| c.uri).collect::<Vec<_>>(),
        "collections": all,
    })
}

/// `/ogc/collections/{id}/queryables`: the properties a filter may name, as JSON Schema.
pub fn queryables(base: &str, c: &Collection) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "geometry".into(),
        json!({ "format": "geometry-any", "title": "The feature's geometry",
                "x-ogc-role": "primary-geometry" }),
    );
    for p in c.properties.iter().filter(|p| p.kind != Kind::Other) {
        let mut schema = json!({ "type": p.kind.json_type(), "title": p.name });
        match p.kind {
            Kind::Date => schema["format"] = json!("date"),
            Kind::Timestamp => schema["format"] = json!("date-time"),
            _ => {}
        }
        properties.insert(p.name.clone(), schema);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/ogc/collections/{}/queryables", c.id),
        "type": "object",
        "title": c.title,
        "properties": properties,
        "additionalProperties": false,
    })
}

fn parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": schema, "style": "form", "explode": false })
}

fn problem() -> Value {
    json!({ "description": "A problem (RFC 9457)",
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/problem" } } } })
}

/// `/ogc/api`: the OpenAPI 3.0 definition of the node. Every operation may be refused with 400
/// (a query parameter it does not know, or a value it cannot take, such as an unknown `crs`) and
/// with 414 (a request target longer than [`crate::limits::Limits::uri_bytes`], before any
/// handler).
pub fn openapi(base: &str) -> Value {
    let mut doc = operations(base);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for (_, op) in operation.iter_mut() {
                for status in ["400", "414"] {
                    op["responses"][status] = problem();
                }
            }
        }
    }
    doc
}

/// The OpenAPI 3.0 definition, each operation with the answers of its handler.
fn operations(base: &str) -> Value {
    let collection_id = json!({ "name": "collectionId", "in": "path", "required": true, "schema": { "type": "string" } });
    let feature_id = json!({ "name": "featureId", "in": "path", "required": true, "schema": { "type": "integer" } });
    let crs_list: Vec<&str> = SUPPORTED.iter().map(|c| c.uri).collect();
    let geojson = |schema: &str| json!({ "application/geo+json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } });
    // The documents and the items are HTML too, for `f=html` (or a browser's Accept).
    let html = json!({ "schema": { "type": "string" } });
    let json_doc =
        json!({ "application/json": { "schema": { "type": "object" } }, "text/html": html });
    let ok = |content: Value| json!({ "description": "OK", "content": content });
    let item_params = json!([
        collection_id.clone(),
        feature_id.clone(),
        parameter(
            "crs",
            "CRS of the answer",
            json!({"type": "string", "enum": crs_list})
        )
    ]);
    let if_match = json!({ "name": "If-Match", "in": "header", "required": false, "schema": { "type": "string" } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Satu Peta Balikpapan — OGC API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API Features (Parts 1–4) and Records of the Balikpapan node.",
            "license": { "name": "CC-BY-4.0 (data); MIT (software)" }
        },
        "servers": [ { "url": format!("{base}/ogc") } ],
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "problem": { "type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "integer"}, "detail": {"type": "string"} } },
                "featureCollection": { "type": "object", "required": ["type", "features"], "properties": {
                    "type": { "type": "string", "enum": ["FeatureCollection"] },
                    "features": { "type": "array", "items": { "$ref": "#/components/schemas/feature" } },
                    "numberReturned": { "type": "integer", "minimum": 0 },
                    "numberMatched": { "type": "integer", "minimum": 0 },
                    "timeStamp": { "type": "string", "format": "date-time" },
                    "links": { "type": "array", "items": { "type": "object" } } } },
                "feature": { "type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": { "type": "string", "enum": ["Feature"] },
                    "id": { "oneOf": [ { "type": "string" }, { "type": "integer" } ] },
                    "geometry": { "type": "object", "nullable": true },
                    "properties": { "type": "object", "nullable": true } } }
            }
        },
        "paths": {
            "/": { "get": { "summary": "Landing page", "operationId": "landing", "responses": { "200": ok(json_doc.clone()) } } },
            "/conformance": { "get": { "summary": "Conformance classes", "operationId": "conformance", "responses": { "200": ok(json_doc.clone()) } } },
            "/api": { "get": { "summary": "This document", "operationId": "api", "responses": { "200": ok(json!({ OPENAPI_TYPE: { "schema": { "type": "object" } } })) } } },
            "/collections": { "get": { "summary": "The collections", "operationId": "collections", "responses": { "200": ok(json_doc.clone()) } } },
            "/collections/{collectionId}": { "get": { "summary": "A collection", "operationId": "collection",
                "parameters": [collection_id.clone()],
                "responses": { "200": ok(json_doc.clone()), "404": problem() } } },
            "/collections/{collectionId}/queryables": { "get": { "summary": "What the features can be filtered by", "operationId": "queryables",
                "parameters": [collection_id.clone()],
                "responses": { "200": ok(json!({ "application/schema+json": { "schema": { "type": "object" } } })), "404": problem() } } },
            "/collections/{collectionId}/items": {
                "get": { "summary": "The features", "operationId": "items",
                    "parameters": [
                        collection_id.clone(),
                        parameter("limit", "Features in a page", json!({"type": "integer", "minimum": 1, "maximum": super::query::MAX_LIMIT, "default": super::query::DEFAULT_LIMIT})),
                        parameter("bbox", "west,south,east,north (in bbox-crs)", json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}})),
                        parameter("bbox-crs", "CRS of bbox", json!({"type": "string", "enum": crs_list})),
                        parameter("crs", "CRS of the answer", json!({"type": "string", "enum": crs_list})),
                        parameter("datetime", "An instant or an interval (RFC 3339)", json!({"type": "string"})),
                        parameter("filter", "A CQL2 filter", json!({"type": "string"})),
                        parameter("filter-lang", "The filter's language", json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"})),
                        parameter("filter-crs", "CRS of the filter's geometries", json!({"type": "string", "enum": crs_list})),
                        parameter("after", "The id after which the page starts (from a next link)", json!({"type": "integer"})),
                        parameter("f", "Format", json!({"type": "string", "enum": ["json", "html"]})),
                    ],
                    "responses": { "200": { "description": "A page of features", "content": {
                        "application/geo+json": geojson("featureCollection")["application/geo+json"], "text/html": html } },
                        "400": problem(), "404": problem() } },
                "post": { "summary": "Adds a feature (the owning agency)", "operationId": "createItem",
                    "security": [ { "bearer": [] } ],
                    "parameters": [collection_id.clone()],
                    "requestBody": { "required": true, "content": geojson("feature") },
                    "responses": { "201": { "description": "Created" }, "400": problem(), "401": problem(), "403": problem() } } },
            "/collections/{collectionId}/items/{featureId}": {
                "get": { "summary": "A feature", "operationId": "item", "parameters": item_params,
                    "responses": { "200": { "description": "The feature", "content": geojson("feature") }, "404": problem() } },
                "put": { "summary": "Replaces a feature (the owning agency)", "operationId": "replaceItem",
                    "security": [ { "bearer": [] } ],
                    "parameters": [collection_id.clone(), feature_id.clone(), if_match.clone()],
                    "requestBody": { "required": true, "content": geojson("feature") },
                    "responses": { "204": { "description": "Replaced" }, "400": problem(), "403": problem(), "412": problem() } },
                "patch": { "summary": "Updates a feature (the owning agency)", "operationId": "updateItem",
                    "security": [ { "bearer": [] } ],
                    "parameters": [collection_id.clone(), feature_id.clone(), if_match.clone()],
                    "requestBody": { "required": true, "content": { "application/merge-patch+json": { "schema": { "type": "object" } } } },
                    "responses": { "204": { "description": "Updated" }, "400": problem(), "403": problem(), "412": problem() } },
                "delete": { "summary": "Deletes a feature (the owning agency)", "operationId": "deleteItem",
                    "security": [ { "bearer": [] } ],
                    "parameters": [collection_id, feature_id, if_match],
                    "responses": { "204": { "description": "Deleted" }, "403": problem(), "404": problem(), "412": problem() } } },
        }
    })
}
