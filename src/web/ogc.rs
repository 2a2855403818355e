//! `/ogc`: OGC API Features over the catalog (thin handlers over [`crate::features`]). Who may
//! read or write a collection is decided by [`collection_access`], a middleware on every
//! collection route, which hands the handlers the collection; internal collections are never
//! cached by shared caches.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::auth::Caller;
use super::http::{LINKS_VARY, LinkBase, header_value};

/// `Vary` of the documents, whose links follow the request and whose format follows `Accept`
/// (HTML for a browser).
pub(super) const DOCUMENT_VARY: &str = "host, x-forwarded-proto, accept";
use super::{ApiError, AppState};
use crate::accounts::Actor;
use crate::catalog::{Collection, Visibility};
use crate::features::crs::{self, CRS84, Crs};
use crate::features::query::ItemsQuery;
use crate::features::{documents, edit, items};

/// The routes under `/ogc` (the records of the catalogue are in `records`).
pub fn routes(state: &AppState) -> Router<AppState> {
    let collection = Router::new()
        .route("/collections/{id}", get(collection))
        .route("/collections/{id}/queryables", get(queryables))
        .route("/collections/{id}/items", get(items_page).post(create_item))
        .route(
            "/collections/{id}/items/{fid}",
            get(item)
                .put(change_item)
                .patch(change_item)
                .delete(delete_item),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            collection_access,
        ));
    Router::new()
        .route("/", get(landing))
        .route("/conformance", get(conformance))
        .route("/api", get(openapi))
        .route("/collections", get(collections))
        .merge(collection)
}

/// Resolves the collection of the path and lets the request on only if the caller may read it
/// (and, for a write, change it): anonymous callers read public collections only; a dataset's
/// features are changed by its agency's publishers only.
async fn collection_access(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    Extension(Caller(caller)): Extension<Caller>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let unknown = || ApiError::not_found(format!("there is no collection \"{id}\""));
    let collection = state.catalog.get(id).ok_or_else(unknown)?;
    if !collection.readable_by(caller.as_ref()) {
        return Err(match (&collection.visibility, &caller) {
            (Visibility::Staff, Some(p)) => ApiError::forbidden(format!(
                "the collection {id} is for DPPR staff only; {} may not read it",
                p.name
            )),
            (Visibility::Staff, None) => ApiError::unauthorized(format!(
                "the collection {id} is for DPPR staff only: sign in, or send a bearer token"
            )),
            _ => ApiError::unauthorized(format!(
                "the collection {id} is internal until DPPR approves it: sign in, or send a bearer token"
            )),
        });
    }
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if writes && !collection.writable_by(caller.as_ref()) {
        return Err(match &caller {
            None => ApiError::unauthorized("sign in, or send a bearer token"),
            Some(p) => ApiError::forbidden(match &collection.agency {
                Some(agency) => format!(
                    "the collection {id} belongs to the agency {agency}: {} may not change it",
                    p.name
                ),
                None => format!("the collection {id} is read-only"),
            }),
        });
    }
    let internal = collection.visibility != Visibility::Public;
    request.extensions_mut().insert(collection);
    let mut response = next.run(request).await;
    if internal {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    Ok(response)
}

/// Whether the client asked for HTML (`f=html`, or a browser's `Accept` without `f`).
pub(super) fn wants_html(headers: &HeaderMap, f: Option<&str>) -> bool {
    match f {
        Some(f) => f == "html",
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/html")),
    }
}

fn format_of(pairs: &[(String, String)]) -> Result<Option<String>, ApiError> {
    let mut f = None;
    for (name, value) in pairs {
        match (name.as_str(), value.as_str()) {
            ("f", "json" | "html") => f = Some(value.clone()),
            ("f", other) => {
                return Err(ApiError::bad_request(format!(
                    "f: \"{other}\": json or html"
                )));
            }
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter \"{other}\""
                )));
            }
        }
    }
    Ok(f)
}

fn document(
    headers: &HeaderMap,
    f: Option<&str>,
    title: &str,
    doc: Value,
    kind: &'static str,
) -> Response {
    if wants_html(headers, f) {
        return html_page(title, &doc);
    }
    (
        [(header::CONTENT_TYPE, kind), (header::VARY, DOCUMENT_VARY)],
        doc.to_string(),
    )
        .into_response()
}

/// A page for people: the document's title, its links, and (for features) a small map drawn by
/// `/static/js/ogc.js` from the JSON version of the same URL.
pub(super) fn html_page(title: &str, doc: &Value) -> Response {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let links: String = doc["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            Some((
                l["href"].as_str()?,
                l["title"].as_str().unwrap_or(""),
                l["rel"].as_str()?,
            ))
        })
        .map(|(href, t, rel)| {
            format!(
                "<li><a href=\"{}\">{}</a> ({})</li>",
                escape(href),
                escape(t),
                escape(rel)
            )
        })
        .collect();
    let collections: String = doc["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["id"].as_str()?, c["title"].as_str().unwrap_or(""))))
        .map(|(id, t)| {
            format!(
                "<li><a href=\"/ogc/collections/{0}?f=html\">{1}</a> <code>{0}</code></li>",
                escape(id),
                escape(t)
            )
        })
        .collect();
    let description = doc["description"].as_str().unwrap_or("");
    let features = doc.get("type").and_then(Value::as_str) == Some("FeatureCollection")
        || doc.get("type").and_then(Value::as_str) == Some("Feature");
    let map = if features {
        "<div id=\"ogc-map\" class=\"ogc-map\"></div><table id=\"ogc-features\"></table>\
         <script src=\"/static/vendor/maplibre-gl.js\"></script><script src=\"/static/js/ogc.js\"></script>"
    } else {
        ""
    };
    let body = format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
         <link rel=\"stylesheet\" href=\"/static/vendor/maplibre-gl.css\"><link rel=\"stylesheet\" href=\"/static/app.css\">\
         </head><body class=\"ogc\"><main><h1>{t}</h1><p>{d}</p>{map}<ul>{collections}</ul><h2>Links</h2><ul>{links}</ul></main></body></html>",
        t = escape(title),
        d = escape(description),
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::VARY, DOCUMENT_VARY),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn landing(
    State(links): State<Arc<LinkBase>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let f = format_of(&pairs)?;
    let base = links.for_request(&headers);
    Ok(document(
        &headers,
        f.as_deref(),
        "Satu Peta Balikpapan",
        documents::landing(&base),
        "application/json",
    ))
}

async fn conformance(
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let f = format_of(&pairs)?;
    let doc = documents::conformance(crate::records::ogc::conformance_classes());
    Ok(document(
        &headers,
        f.as_deref(),
        "Conformance",
        doc,
        "application/json",
    ))
}

async fn openapi(
    State(links): State<Arc<LinkBase>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    format_of(&pairs)?;
    let base = links.for_request(&headers);
    Ok((
        [
            (header::CONTENT_TYPE, documents::OPENAPI_TYPE),
            (header::VARY, LINKS_VARY),
        ],
        documents::openapi(&base).to_string(),
    )
        .into_response())
}

async fn collections(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let f = format_of(&pairs)?;
    let base = links.for_request(&headers);
    let list = state.catalog.readable(caller.as_ref());
    let records = super::records::readable_records(&state, &Caller(caller.clone()));
    let doc = documents::collections(
        &base,
        &list,
        crate::records::ogc::catalog_collection(&base, &records),
    );
    let mut response = document(
        &headers,
        f.as_deref(),
        "Collections",
        doc,
        "application/json",
    );
    if caller.is_some() {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    Ok(response)
}

async fn collection(
    State(links): State<Arc<LinkBase>>,
    Extension(c): Extension<Arc<Collection>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let f = format_of(&pairs)?;
    let base = links.for_request(&headers);
    Ok(document(
        &headers,
        f.as_deref(),
        &c.title,
        documents::collection(&base, &c),
        "application/json",
    ))
}

async fn queryables(
    State(links): State<Arc<LinkBase>>,
    Extension(c): Extension<Arc<Collection>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let f = format_of(&pairs)?;
    let base = links.for_request(&headers);
    Ok(document(
        &headers,
        f.as_deref(),
        &c.title,
        documents::queryables(&base, &c),
        "application/schema+json",
    ))
}

fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(&super::http::percent_encode(k));
        s.push('=');
        s.push_str(&super::http::percent_encode(v));
    }
    s
}

async fn items_page(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(c): Extension<Arc<Collection>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let query = ItemsQuery::parse(&pairs, &c)?;
    let base = links.for_request(&headers);
    let href = format!("{base}/ogc/collections/{}/items", c.id);
    if wants_html(&headers, query.format.as_deref()) {
        let doc = json!({ "type": "FeatureCollection", "description": c.description, "links": [
            { "href": format!("{href}?f=json"), "rel": "alternate", "type": "application/geo+json", "title": "GeoJSON" },
            { "href": format!("{base}/ogc/collections/{}?f=html", c.id), "rel": "collection", "title": c.title }
        ]});
        return Ok(html_page(&c.title, &doc));
    }
    let page = items::page(state.reader(), &c, &query).await?;
    let self_href = format!("{href}{}", query_string(&query.passed));
    let mut link_list = vec![
        json!({ "href": self_href, "rel": "self", "type": "application/geo+json", "title": "This page" }),
        json!({ "href": format!("{base}/ogc/collections/{}", c.id), "rel": "collection", "type": "application/json", "title": c.title }),
    ];
    if let Some(after) = page.next_after {
        let mut next = query.passed.clone();
        next.push(("after".into(), after.to_string()));
        link_list.push(
            json!({ "href": format!("{href}{}", query_string(&next)), "rel": "next",
                               "type": "application/geo+json", "title": "The next page" }),
        );
    }
    let matched = page
        .matched
        .map(|m| format!(",\"numberMatched\":{m}"))
        .unwrap_or_default();
    let body = format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[{}],\"numberReturned\":{}{matched},\"timeStamp\":\"{}\",\"links\":{}}}",
        page.features,
        page.returned,
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        Value::Array(link_list)
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            ),
            (
                header::HeaderName::from_static("content-crs"),
                header_value(&format!("<{}>", query.crs.uri)),
            ),
            (header::VARY, HeaderValue::from_static(DOCUMENT_VARY)),
        ],
        body,
    )
        .into_response())
}

/// `?crs=` (and `f`) of a single item.
fn item_crs(pairs: &[(String, String)]) -> Result<(Crs, Option<String>), ApiError> {
    let mut crs = CRS84;
    let mut f = None;
    for (name, value) in pairs {
        match name.as_str() {
            "crs" => crs = crs::parse("crs", value)?,
            "f" => f = format_of(&[(name.clone(), value.clone())])?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter \"{other}\""
                )));
            }
        }
    }
    Ok((crs, f))
}

fn feature_id(params: &HashMap<String, String>) -> Result<i64, ApiError> {
    let text = params.get("fid").map(String::as_str).unwrap_or_default();
    text.parse().map_err(|_| {
        ApiError::not_found(format!(
            "there is no feature \"{text}\": feature ids are whole numbers"
        ))
    })
}

async fn item(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(c): Extension<Arc<Collection>>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (crs, f) = item_crs(&pairs)?;
    let id = feature_id(&params)?;
    let base = links.for_request(&headers);
    let (text, etag) = items::item(state.reader(), &c, id, crs)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no feature {id} in {}", c.id)))?;
    let href = format!("{base}/ogc/collections/{}/items/{id}", c.id);
    if wants_html(&headers, f.as_deref()) {
        let doc = json!({ "type": "Feature", "description": "", "links": [
            { "href": format!("{href}?f=json"), "rel": "alternate", "title": "GeoJSON" },
            { "href": format!("{base}/ogc/collections/{}?f=html", c.id), "rel": "collection", "title": c.title } ]});
        return Ok(html_page(&format!("{} — {id}", c.title), &doc));
    }
    let links = json!([
        { "href": href, "rel": "self", "type": "application/geo+json", "title": "This feature" },
        { "href": format!("{base}/ogc/collections/{}", c.id), "rel": "collection", "type": "application/json", "title": c.title }
    ]);
    let body = format!(
        "{},\"links\":{links}}}",
        text.strip_suffix('}').unwrap_or(&text)
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, header_value(&etag))],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            ),
            (header::ETAG, header_value(&etag)),
            (
                header::HeaderName::from_static("content-crs"),
                header_value(&format!("<{}>", crs.uri)),
            ),
            (header::VARY, HeaderValue::from_static(DOCUMENT_VARY)),
        ],
        body,
    )
        .into_response())
}

/// Who makes a write, for the audit log: the request's account and address.
pub(super) struct Acting(pub Actor);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller(None));
        let connection = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .cloned()
            .map(Extension);
        Ok(Acting(actor(&caller, connection)))
    }
}

/// The account of a write (the access middleware let only a signed-in publisher through).
pub(super) fn actor(
    caller: &Caller,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
) -> Actor {
    let p = caller.0.as_ref();
    Actor {
        account_id: p.map(|p| p.account_id),
        name: p.map_or_else(|| "anonymous".into(), |p| p.name.clone()),
        origin: connection.map_or_else(
            || "unknown".into(),
            |Extension(ConnectInfo(a))| a.ip().to_string(),
        ),
    }
}

/// The CRS of a body (`Content-Crs`, CRS84 by default).
fn content_crs(headers: &HeaderMap) -> Result<Crs, ApiError> {
    match headers.get("content-crs").and_then(|v| v.to_str().ok()) {
        None => Ok(CRS84),
        Some(text) => Ok(crs::parse(
            "Content-Crs",
            text.trim().trim_start_matches('<').trim_end_matches('>'),
        )?),
    }
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))
}

async fn create_item(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(c): Extension<Arc<Collection>>,
    Acting(actor): Acting,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value = json_body(&body)?;
    let edit = edit::Edit::read(&value, &c, content_crs(&headers)?, false)?;
    let id = edit::create(&state.pool, &actor, &edit).await?;
    let base = links.for_request(&headers);
    let location = format!("{base}/ogc/collections/{}/items/{id}", c.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, header_value(&location))],
    )
        .into_response())
}

/// `PUT` replaces a feature, `PATCH` updates it (a JSON merge patch).
async fn change_item(
    State(state): State<AppState>,
    Extension(c): Extension<Arc<Collection>>,
    Acting(actor): Acting,
    method: axum::http::Method,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let partial = method == axum::http::Method::PATCH;
    let id = feature_id(&params)?;
    let value = json_body(&body)?;
    let edit = edit::Edit::read(&value, &c, content_crs(&headers)?, partial)?;
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    edit::change(&state.pool, &actor, &edit, id, if_match, partial).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_item(
    State(state): State<AppState>,
    Extension(c): Extension<Arc<Collection>>,
    Acting(actor): Acting,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = feature_id(&params)?;
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    edit::delete(&state.pool, &actor, &c, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
