//! `/api/v1`: zoning lookups, activities, the sub-zone legend, the plan catalogue and the limits.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::http::{ApiPath, ApiQuery, search_text};
use super::{ApiError, AppState};
use crate::limits::LIMITS;
use crate::zoning::{
    ParcelOptions, ParcelRequest, VersionChoice, VersionLookup, list_versions, lookup_parcel,
    lookup_point, parse_day,
};

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
        .route(
            "/parcels/convert",
            post(convert_parcel).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                body_slot,
            )),
        )
        .route("/activities", get(activities))
        .route("/activities/classes", get(activity_classes))
        .route("/subzones", get(subzones))
        .route("/plans", get(plans))
        .route("/plans/versions/{id}", get(plan_version))
        .route("/plans/{plan_id}/changes", get(plan_changes))
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

/// The query of a point lookup: `lon`, `lat`, and optionally `activity` (KBLI), and `version` (a
/// version id) or `at` (a day, YYYY-MM-DD).
pub struct PointQuery {
    lon: f64,
    lat: f64,
    activity: Option<String>,
    choice: Option<VersionChoice>,
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
        let at = query.get("at").map(|d| parse_day(d)).transpose()?;
        let choice = match (version, at) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request("give `version` or `at`, not both"));
            }
            (Some(v), None) => Some(VersionChoice::Version(v)),
            (None, Some(day)) => Some(VersionChoice::At(day)),
            (None, None) => None,
        };
        Ok(PointQuery {
            lon: degrees("lon")?,
            lat: degrees("lat")?,
            activity: query
                .get("activity")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            choice,
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
    match query.choice {
        Some(choice) if !choice.is_current(&snapshot) => {
            let found = VersionLookup::read(
                &state.pool,
                &state.live,
                &snapshot,
                choice,
                query.lon,
                query.lat,
            )
            .await?;
            let answer = found.answer(activity)?;
            Ok(state
                .answers
                .respond(&headers, &snapshot, &answer, activity))
        }
        _ => {
            let answer = lookup_point(&snapshot, query.lon, query.lat, activity)?;
            Ok(state
                .answers
                .respond(&headers, &snapshot, &answer, activity))
        }
    }
}

/// Takes one of the [`Limits::body_concurrency`](crate::limits::Limits) slots and reads the body
/// under it, so that the bodies being read at once are bounded, whatever the connections. The
/// body must keep up [`Limits::body_min_rate`](crate::limits::Limits), and the slot is free again
/// as soon as it has arrived: a slow sender holds one about a second.
pub(super) async fn body_slot(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let slots = (&state.bodies, LIMITS.body_concurrency);
    read_in_slot(slots, LIMITS.body_bytes, request, next).await
}

/// Reads the body of `request` under one of `slots` (`count` in all), at most `max` bytes at the
/// least rate, then runs the rest of the request with the body in memory.
pub(super) async fn read_in_slot(
    (slots, count): (&tokio::sync::Semaphore, usize),
    max: usize,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the {} limit",
                crate::limits::bytes_text(max)
            ),
        )
        .into_response();
    }
    let slot = tokio::time::timeout(LIMITS.queue_wait(), slots.acquire()).await;
    let Ok(Ok(permit)) = slot else {
        return ApiError::unavailable(format!(
            "{count} request bodies are being read; none finished within {} s",
            LIMITS.queue_wait_s
        ))
        .into_response();
    };
    let (parts, body) = request.into_parts();
    let bytes = match read_body(body, max).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    drop(permit);
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Reads a request body of at most [`Limits::body_bytes`](crate::limits::Limits) that arrives at
/// [`Limits::body_min_rate`](crate::limits::Limits) or faster after its first second (413 for a
/// larger one, 408 for a slower one).
async fn read_body(body: axum::body::Body, max: usize) -> Result<bytes::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let started = std::time::Instant::now();
    let mut body = body;
    let mut received = bytes::BytesMut::new();
    let too_slow = || {
        ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body arrives slower than {} KiB/s",
                LIMITS.body_min_rate / 1024
            ),
        )
    };
    loop {
        // The time the bytes received so far may have taken, at the slowest rate allowed.
        let allowed = std::time::Duration::from_secs(1)
            + std::time::Duration::from_secs_f64(
                received.len() as f64 / LIMITS.body_min_rate as f64,
            );
        let left = allowed.saturating_sub(started.elapsed());
        let frame = match tokio::time::timeout(left, body.frame()).await {
            Err(_) => return Err(too_slow()),
            Ok(None) => return Ok(received.freeze()),
            Ok(Some(Err(_))) => {
                return Err(ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than the {} limit",
                        crate::limits::bytes_text(max)
                    ),
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            received.extend_from_slice(&data);
            if received.len() > max {
                return Err(ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than the {} limit",
                        crate::limits::bytes_text(max)
                    ),
                ));
            }
        }
    }
}

/// The query of a parcel lookup: optionally `at` (a day, YYYY-MM-DD) and `compare_to` (a version
/// id to compare with).
#[derive(serde::Deserialize)]
struct ParcelQuery {
    at: Option<String>,
    compare_to: Option<String>,
}

impl ParcelQuery {
    fn options(self) -> Result<ParcelOptions, ApiError> {
        Ok(ParcelOptions {
            at: self.at.as_deref().map(parse_day).transpose()?,
            compare_to: self
                .compare_to
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        ApiError::bad_request(format!("`compare_to` is \"{v}\", not a version id"))
                    })
                })
                .transpose()?,
            published_up_to: None,
        })
    }
}

async fn parcel(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ParcelQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let options = query.options()?;
    let request = ParcelRequest::from_json(&body)?;
    let _slot = heavy_slot(&state).await?;
    let snapshot = state.live.snapshot();
    let answer = lookup_parcel(state.reader(), &state.live, &snapshot, &request, &options).await?;
    Ok(Json(answer).into_response())
}

/// One of the [`Limits::parcel_concurrency`](crate::limits::Limits) slots for work PostGIS does
/// per request (parcels, changes between versions), waited for at most the queue wait.
pub(super) async fn heavy_slot(
    state: &AppState,
) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    tokio::time::timeout(LIMITS.queue_wait(), state.parcels.acquire())
        .await
        .map_err(|_| {
            ApiError::unavailable(format!(
                "{} parcels or plan changes are being measured; none finished within {} s",
                LIMITS.parcel_concurrency, LIMITS.queue_wait_s
            ))
        })?
        .map_err(ApiError::internal)
}

/// The query of a parcel file conversion: `name`, the file's name (its extension says the format).
#[derive(serde::Deserialize)]
struct ConvertQuery {
    #[serde(default)]
    name: String,
}

/// A parcel uploaded as a file (the body; GeoJSON, KML, zipped Shapefile, GeoPackage, FlatGeobuf)
/// read through GDAL into a GeoJSON Feature in WGS 84, checked against the parcel limits, for the
/// map to draw and send to the parcel lookup.
async fn convert_parcel(
    ApiQuery(query): ApiQuery<ConvertQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "send the parcel file as the request body",
        ));
    }
    let name = query.name.trim().to_string();
    let read = crate::cpu::run(move || crate::ingest::read_parcel_file(&body, &name)).await?;
    let shape =
        read.map_err(|e| ApiError::unprocessable(format!("the parcel file cannot be used: {e}")))?;
    let request = ParcelRequest::new(shape, None)?;
    let polygons: Vec<Value> = request
        .geometry()
        .iter()
        .map(|polygon| {
            let ring = |r: &geo::LineString<f64>| -> Vec<[f64; 2]> {
                r.coords().map(|c| [c.x, c.y]).collect()
            };
            let mut rings = vec![ring(polygon.exterior())];
            rings.extend(polygon.interiors().iter().map(ring));
            json!(rings)
        })
        .collect();
    use geo::GeodesicArea;
    Ok(Json(json!({
        "type": "Feature",
        "geometry": { "type": "MultiPolygon", "coordinates": polygons },
        "properties": {
            "polygons": polygons.len(),
            "area_m2": request.geometry().geodesic_area_unsigned(),
        },
    }))
    .into_response())
}

/// The query of an activity search: `q`, and optionally `limit` and `version` (whose rule set to
/// search; by default the city's rule set in force).
#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<String>,
    version: Option<String>,
}

async fn activities(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let q = search_text(
        &query.q,
        "words of an activity or KBLI title, or a KBLI code",
    )?;
    let limit = match query.limit {
        Some(l) => l
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("`limit` is \"{l}\", not a count")))?
            .clamp(1, LIMITS.search_hits),
        None => 50,
    };
    let snapshot = state.live.snapshot();
    let rules = match query.version {
        Some(v) => {
            let id: i64 = v.trim().parse().map_err(|_| {
                ApiError::bad_request(format!("`version` is \"{v}\", not a version id"))
            })?;
            // The snapshot knows every version (in force or not): no catalogue query per search.
            let rule_set = snapshot
                .index
                .version(id)
                .map(|v| v.rule_set_id)
                .ok_or_else(|| ApiError::not_found(format!("there is no plan version {id}")))?;
            state.live.book(&snapshot, rule_set).await?
        }
        None => snapshot
            .default_book
            .clone()
            .ok_or_else(|| ApiError::not_found("no rules are loaded (satupeta rules load DIR)"))?,
    };
    Ok(Json(json!({
        "query": q,
        "rule_set": { "id": rules.id(), "digest": rules.digest() },
        "kbli": rules.search(q, limit),
        "activities": rules.activities_named(q),
    })))
}

/// The query of an activity's classes: `kbli`, a KBLI 2020 code.
#[derive(serde::Deserialize)]
struct ClassesQuery {
    #[serde(default)]
    kbli: String,
}

/// An activity's ITBX class in every sub-zone of the map (the zones in force), for shading the map
/// by where it is allowed: `classes` maps sub-zone codes to I, T, B, TB, X, or null where the rule
/// set regulates the sub-zone not, or rules no activity by KBLI code.
async fn activity_classes(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ClassesQuery>,
) -> Result<Json<Value>, ApiError> {
    let kbli = query.kbli.trim();
    if kbli.is_empty() || kbli.len() > 5 {
        return Err(ApiError::bad_request(
            "give `kbli`: a KBLI 2020 code (a category letter or 2 to 5 digits)",
        ));
    }
    let snapshot = state.live.snapshot();
    let mut books: Vec<_> = snapshot.books.values().collect();
    books.sort_by_key(|b| b.id());
    let mut classes = serde_json::Map::new();
    let mut title = None;
    for entry in &snapshot.legend {
        // The first rule set (by id) that regulates the sub-zone answers for it.
        let book = books
            .iter()
            .find(|b| b.regulates(&entry.code))
            .or(books.first());
        let Some(book) = book else { continue };
        let answer = crate::zoning::activity_answer(book, kbli, &entry.code)?;
        title.get_or_insert(answer.kbli_title.clone());
        classes.insert(entry.code.clone(), json!(answer.class));
    }
    Ok(Json(json!({
        "kbli": kbli,
        "title": title,
        "classes": classes,
    })))
}

/// The query of the legend: `catalogue=true` lists the whole national catalogue.
#[derive(serde::Deserialize)]
struct LegendQuery {
    #[serde(default)]
    catalogue: bool,
}

/// The legend of the zones in force (their rule sets' sub-zones, and the sub-zones they use
/// without rules), or the national catalogue.
async fn subzones(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LegendQuery>,
) -> Json<Value> {
    let snapshot = state.live.snapshot();
    let reference = &snapshot.reference;
    let entries: &[crate::rules::Subzone] = if query.catalogue {
        reference.catalogue()
    } else {
        &snapshot.legend
    };
    let legend: Vec<Value> = entries
        .iter()
        .map(|s| {
            let zone = reference.zone(&s.zone);
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
    let versions = list_versions(state.reader(), None).await?;
    Ok(Json(json!({ "versions": versions })))
}

async fn plan_version(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("\"{id}\" is not a plan version id")))?;
    let mut versions = list_versions(state.reader(), Some(id)).await?;
    let version = versions
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("there is no plan version {id}")))?;
    let snapshot = state.live.snapshot();
    let book = state.live.book(&snapshot, version.rules.id).await?;
    let mut body = serde_json::to_value(&version).map_err(ApiError::internal)?;
    body["rule_set"] = serde_json::to_value(book.rule_set()).map_err(ApiError::internal)?;
    Ok(Json(body).into_response())
}

/// The query of a plan's changes: two version ids of the plan, and optionally `bbox=w,s,e,n`.
#[derive(serde::Deserialize)]
struct ChangesQuery {
    from: Option<String>,
    to: Option<String>,
    bbox: Option<String>,
}

/// `w,s,e,n` in degrees, west below east and south below north, inside the world.
fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(format!(
            "bbox \"{text}\" {why}; give west,south,east,north in degrees"
        ))
    };
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("is not four numbers"))?;
    let [w, s, e, n] = values[..] else {
        return Err(bad("is not four numbers"));
    };
    if !values.iter().all(|v| v.is_finite())
        || w.abs() > 180.0
        || e.abs() > 180.0
        || s.abs() > 90.0
        || n.abs() > 90.0
    {
        return Err(bad("is outside the world"));
    }
    if w >= e || s >= n {
        return Err(bad("is empty (west must be below east, south below north)"));
    }
    Ok([w, s, e, n])
}

async fn plan_changes(
    State(state): State<AppState>,
    ApiPath(plan_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<Response, ApiError> {
    let plan_id: i64 = plan_id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("\"{plan_id}\" is not a plan id")))?;
    let version = |name: &str, value: Option<String>| -> Result<i64, ApiError> {
        let value = value.ok_or_else(|| {
            ApiError::bad_request(format!(
                "the query parameter `{name}` is required (a version id)"
            ))
        })?;
        value.trim().parse().map_err(|_| {
            ApiError::bad_request(format!("`{name}` is \"{value}\", not a version id"))
        })
    };
    let (from, to) = (version("from", query.from)?, version("to", query.to)?);
    let bbox = query.bbox.as_deref().map(parse_bbox).transpose()?;
    // An overlay of two plans in PostGIS: it shares the parcels' slots.
    let _slot = heavy_slot(&state).await?;
    let snapshot = state.live.snapshot();
    let changes = crate::zoning::ChangesQuery {
        plan_id,
        from,
        to,
        bbox,
    };
    let body =
        crate::zoning::plan_changes(state.reader(), &state.live, &snapshot, &changes).await?;
    // Two versions never change: their differences may be kept (an hour, for the legend's names).
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/geo+json"),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response())
}

async fn limits() -> Json<crate::limits::Limits> {
    Json(LIMITS)
}
