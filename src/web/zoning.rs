//! `/api/v1`: zoning lookups, activities, the sub-zone legend, the plan catalogue and the limits.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::http::ApiPath;
use super::{ApiError, AppState};
use crate::limits::LIMITS;
use crate::zoning::{ParcelRequest, VersionLookup, list_versions, lookup_parcel, lookup_point};

/// The `/api/v1` routes.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/zoning/parcel",
            post(parcel).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                body_slot,
            )),
        )
        .route("/activities", get(activities))
        .route("/subzones", get(subzones))
        .route("/plans", get(plans))
        .route("/plans/versions/{id}", get(plan_version))
        .route("/limits", get(limits))
}

/// The point lookup: the busiest API route, answered from memory with its own headers and
/// errors, so it skips the general middleware (see `web::router`).
pub fn point_routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/zoning",
        get(point).fallback(super::method_not_allowed),
    )
}

/// The query of a point lookup: `lon`, `lat`, and optionally `activity` (KBLI) and `version`.
pub struct PointQuery {
    lon: f64,
    lat: f64,
    activity: Option<String>,
    version: Option<i64>,
}

impl<S: Send + Sync> FromRequestParts<S> for PointQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let degrees = |name: &str| -> Result<f64, ApiError> {
            let text = query.get(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "the query parameter `{name}` is required (decimal degrees)"
                ))
            })?;
            text.trim()
                .parse()
                .map_err(|_| ApiError::bad_request(format!("`{name}` is \"{text}\", not a number")))
        };
        let version = query
            .get("version")
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    ApiError::bad_request(format!("`version` is \"{v}\", not a version id"))
                })
            })
            .transpose()?;
        Ok(PointQuery {
            lon: degrees("lon")?,
            lat: degrees("lat")?,
            activity: query
                .get("activity")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            version,
        })
    }
}

async fn point(
    State(state): State<AppState>,
    query: PointQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = state.live.snapshot();
    let activity = query.activity.as_deref();
    match query.version {
        None => {
            let answer = lookup_point(&snapshot, query.lon, query.lat, activity)?;
            Ok(state
                .answers
                .respond(&headers, &snapshot, &answer, activity))
        }
        Some(version) => {
            let found = VersionLookup::read(&state.pool, version, query.lon, query.lat).await?;
            let answer = found.answer(&snapshot.rules, activity)?;
            Ok(state
                .answers
                .respond(&headers, &snapshot, &answer, activity))
        }
    }
}

/// Takes one of the [`Limits::body_concurrency`](crate::limits::Limits) slots before the body is
/// read, so that the bodies held in memory at once are bounded, whatever the connections.
async fn body_slot(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let slot = tokio::time::timeout(LIMITS.queue_wait(), state.bodies.acquire()).await;
    match slot {
        Ok(Ok(_permit)) => next.run(request).await,
        _ => ApiError::unavailable(format!(
            "{} request bodies are being read; none finished within {} s",
            LIMITS.body_concurrency, LIMITS.queue_wait_s
        ))
        .into_response(),
    }
}

async fn parcel(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request = ParcelRequest::from_json(&body)?;
    let _slot = tokio::time::timeout(LIMITS.queue_wait(), state.parcels.acquire())
        .await
        .map_err(|_| {
            ApiError::unavailable(format!(
                "{} parcels are being measured; none finished within {} s",
                LIMITS.parcel_concurrency, LIMITS.queue_wait_s
            ))
        })?
        .map_err(ApiError::internal)?;
    let snapshot = state.live.snapshot();
    let answer = lookup_parcel(&state.pool, &snapshot, &request).await?;
    Ok(Json(answer).into_response())
}

/// The query of an activity search.
#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<String>,
}

async fn activities(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let q = query.q.trim();
    if q.is_empty() {
        return Err(ApiError::bad_request(
            "give `q`: words of an activity or KBLI title, or a KBLI code",
        ));
    }
    let chars = q.chars().count();
    if chars > LIMITS.search_chars {
        return Err(ApiError::unprocessable(format!(
            "`q` has {chars} characters; searches take at most {}",
            LIMITS.search_chars
        )));
    }
    let words = q.split_whitespace().count();
    if words > LIMITS.search_words {
        return Err(ApiError::unprocessable(format!(
            "`q` has {words} words; searches take at most {}",
            LIMITS.search_words
        )));
    }
    let limit = match query.limit {
        Some(l) => l
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("`limit` is \"{l}\", not a count")))?
            .clamp(1, LIMITS.search_hits),
        None => 50,
    };
    let snapshot = state.live.snapshot();
    let rules = &snapshot.rules;
    Ok(Json(json!({
        "query": q,
        "kbli": rules.search(q, limit),
        "activities": rules.activities_named(q),
    })))
}

async fn subzones(State(state): State<AppState>) -> Json<Value> {
    let snapshot = state.live.snapshot();
    let rules = &snapshot.rules;
    let legend: Vec<Value> = rules
        .subzones()
        .iter()
        .map(|s| {
            let zone = rules.zone(&s.zone);
            json!({
                "code": s.code,
                "catalog_code": s.catalog_code,
                "name": s.name,
                "zone": s.zone,
                "zone_name": zone.map(|z| z.name.as_str()),
                "kind": zone.map(|z| z.kind.as_str()),
                "color": s.color,
                "code_source": s.code_source,
            })
        })
        .collect();
    Json(json!({ "subzones": legend }))
}

async fn plans(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let versions = list_versions(&state.pool, None).await?;
    Ok(Json(json!({ "versions": versions })))
}

async fn plan_version(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("\"{id}\" is not a plan version id")))?;
    let mut versions = list_versions(&state.pool, Some(id)).await?;
    let version = versions
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("there is no plan version {id}")))?;
    Ok(Json(version).into_response())
}

async fn limits() -> Json<crate::limits::Limits> {
    Json(LIMITS)
}
