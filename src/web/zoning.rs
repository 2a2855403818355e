//! `/api/v1`: zoning lookups, activities, the sub-zone legend and the plan catalogue.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::zoning::{
    ParcelRequest, list_versions, lookup_parcel, lookup_point, lookup_point_in_version,
};

/// The `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/zoning", get(point))
        .route("/zoning/parcel", post(parcel))
        .route("/activities", get(activities))
        .route("/subzones", get(subzones))
        .route("/plans", get(plans))
        .route("/plans/versions/{id}", get(plan_version))
}

/// Reads a required number from the query string.
fn number(query: &HashMap<String, String>, name: &str) -> Result<f64, ApiError> {
    let text = query.get(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "the query parameter `{name}` is required (decimal degrees)"
        ))
    })?;
    text.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{name}` is \"{text}\", not a number")))
}

/// A JSON body already serialised.
fn json_bytes(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn to_json(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    serde_json::to_vec(value)
        .map(json_bytes)
        .map_err(ApiError::from)
}

async fn point(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (lon, lat) = (number(&query, "lon")?, number(&query, "lat")?);
    let activity = query
        .get("activity")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    let snapshot = state.live.snapshot();
    match query.get("version") {
        None => to_json(&lookup_point(&snapshot, lon, lat, activity)?),
        Some(v) => {
            let version = v.parse().map_err(|_| {
                ApiError::bad_request(format!("`version` is \"{v}\", not a version id"))
            })?;
            let body =
                lookup_point_in_version(&state.pool, &snapshot.rules, version, lon, lat, activity)
                    .await?;
            Ok(json_bytes(body))
        }
    }
}

async fn parcel(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    // Accepts {"geometry": ..., "activity": ...}, a GeoJSON Feature, or a bare geometry.
    let request = match value.get("type").and_then(Value::as_str) {
        Some("Feature") => ParcelRequest {
            geometry: value.get("geometry").cloned().unwrap_or(Value::Null),
            activity: value
                .pointer("/properties/activity")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        Some(_) => ParcelRequest {
            geometry: value,
            activity: None,
        },
        None => serde_json::from_value(value).map_err(|e| {
            ApiError::bad_request(format!(
                "expected {{\"geometry\": <GeoJSON polygon>, \"activity\": \"KBLI\"}}: {e}"
            ))
        })?,
    };
    let snapshot = state.live.snapshot();
    to_json(&lookup_parcel(&state.pool, &snapshot, &request).await?)
}

async fn activities(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let q = query.get("q").map(|s| s.trim()).unwrap_or("");
    if q.is_empty() {
        return Err(ApiError::bad_request(
            "give `q`: words of an activity or KBLI title, or a KBLI code",
        ));
    }
    let limit = match query.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("`limit` is \"{l}\", not a count")))?
            .clamp(1, 500),
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
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("\"{id}\" is not a plan version id")))?;
    let mut versions = list_versions(&state.pool, Some(id)).await?;
    let version = versions
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("there is no plan version {id}")))?;
    to_json(&version)
}
