//! The catalogue of the node: OGC API Records at `/ogc/collections/catalog` (ISO 19139 per record
//! with `?f=iso19139`) and CSW 2.0.2 at `/csw`, for harvesters (GeoNetwork, the national
//! geoportal). Thin handlers over [`crate::records`]; a caller reads the records of the
//! collections it may read (anonymous callers: the public ones).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use super::auth::Caller;
use super::http::LinkBase;
use super::ogc::DOCUMENT_VARY;
use super::{ApiError, AppState};
use crate::catalog::MetadataRecord;
use crate::records::{self, RecordQuery, RecordsError};

/// Bytes of a CSW request body at most.
const CSW_BODY_BYTES: usize = 64 * 1024;

/// `/ogc/collections/catalog...` (nested under `/ogc`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/collections/catalog", get(catalog))
        .route("/collections/catalog/queryables", get(queryables))
        .route("/collections/catalog/items", get(items))
        .route("/collections/catalog/items/{id}", get(record))
}

/// `/csw`.
pub fn csw_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/csw", get(csw_get).post(csw_post))
        .layer(axum::extract::DefaultBodyLimit::max(CSW_BODY_BYTES))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// The records `caller` may read: of every collection with data.
pub fn readable_records(state: &AppState, caller: &Caller) -> Vec<MetadataRecord> {
    state
        .catalog
        .readable(caller.0.as_ref())
        .iter()
        .filter(|c| c.source.is_some())
        .map(|c| c.record.clone())
        .collect()
}

/// Signed-in callers may see internal records: no shared cache keeps them.
fn cache_for(caller: &Caller, mut response: Response) -> Response {
    let value = if caller.0.is_some() {
        "private, no-store"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

fn json(kind: &'static str, doc: serde_json::Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::VARY, HeaderValue::from_static(DOCUMENT_VARY)),
        ],
        doc.to_string(),
    )
        .into_response()
}

impl From<RecordsError> for ApiError {
    fn from(e: RecordsError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

fn no_parameters(pairs: &[(String, String)]) -> Result<(), ApiError> {
    match pairs.iter().find(|(k, v)| k != "f" || v != "json") {
        Some((k, _)) if k == "f" => Err(ApiError::bad_request("f: json only")),
        Some((k, _)) => Err(ApiError::bad_request(format!(
            "unknown query parameter \"{k}\""
        ))),
        None => Ok(()),
    }
}

async fn catalog(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    no_parameters(&pairs)?;
    let base = links.for_request(&headers);
    let all = readable_records(&state, &caller);
    let doc = records::ogc::catalog_collection(&base, &all);
    Ok(cache_for(&caller, json("application/json", doc)))
}

async fn queryables(
    State(links): State<Arc<LinkBase>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    no_parameters(&pairs)?;
    let base = links.for_request(&headers);
    Ok(json(
        "application/schema+json",
        records::ogc::queryables(&base),
    ))
}

async fn items(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let query = RecordQuery::parse(&pairs)?;
    let base = links.for_request(&headers);
    let all = readable_records(&state, &caller);
    let (page, matched) = query.apply(&all);
    let doc = records::ogc::items(&base, &query, &page, matched);
    let format = query.format.map(|f| f.as_str());
    if super::ogc::wants_html(&headers, format) {
        return Ok(cache_for(
            &caller,
            super::ogc::html_page("Katalog data", &doc),
        ));
    }
    Ok(cache_for(&caller, json("application/geo+json", doc)))
}

async fn record(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (mut iso, mut html) = (false, false);
    for (k, v) in &pairs {
        match (k.as_str(), v.as_str()) {
            ("f", "iso19139" | "xml") => iso = true,
            ("f", "json") => iso = false,
            ("f", "html") => html = true,
            ("f", other) => {
                return Err(ApiError::bad_request(format!(
                    "f: \"{other}\": json, html or iso19139"
                )));
            }
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter \"{other}\""
                )));
            }
        }
    }
    let base = links.for_request(&headers);
    // The one collection, not a copy of every record.
    let collection = state
        .catalog
        .get(&id)
        .filter(|c| c.source.is_some() && c.readable_by(caller.0.as_ref()))
        .ok_or_else(|| ApiError::not_found(format!("there is no record \"{id}\" you may read")))?;
    let found = &collection.record;
    // A browser asks for HTML by its Accept header when `f` is not given.
    let html = html || (pairs.is_empty() && super::ogc::wants_html(&headers, None));
    let response = if html {
        let doc = records::ogc::record(&base, found);
        super::ogc::html_page(&found.metadata.title, &doc)
    } else if iso {
        (
            [(
                header::CONTENT_TYPE,
                "application/vnd.iso.19139+xml; charset=utf-8",
            )],
            records::iso19139::document(&base, found),
        )
            .into_response()
    } else {
        json("application/geo+json", records::ogc::record(&base, found))
    };
    Ok(cache_for(&caller, response))
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The answer to a CSW request, made on a CPU slot: a constraint is matched against every
/// record's text, work that must not hold up a request thread.
async fn csw_answer(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    links: &LinkBase,
    request: records::Result<records::CswRequest>,
) -> Response {
    let base = links.for_request(headers);
    let all = readable_records(state, caller);
    let answer = match request {
        Ok(r) => match crate::cpu::run(move || records::respond(&r, &all, &base)).await {
            Ok(answer) => answer,
            Err(busy) => return ApiError::from(busy).into_response(),
        },
        Err(e) => Err(e),
    };
    let response = match answer {
        Ok(body) => xml(StatusCode::OK, body),
        Err(e) => xml(StatusCode::BAD_REQUEST, records::exception_report(&e)),
    };
    cache_for(caller, response)
}

async fn csw_get(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    csw_answer(
        &state,
        &caller,
        &headers,
        &links,
        records::request_from_kvp(&pairs),
    )
    .await
}

async fn csw_post(
    State(state): State<AppState>,
    State(links): State<Arc<LinkBase>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    csw_answer(
        &state,
        &caller,
        &headers,
        &links,
        records::request_from_xml(&body),
    )
    .await
}
