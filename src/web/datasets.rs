//! `/api/v1/datasets`: agencies publish their datasets (a multipart upload read through GDAL),
//! describe them (SNI 8843-1 metadata) and DPPR staff approve them. Who may do what is middleware
//! ([`publishers_only`], [`staff_only`], [`owner_only`]); the catalog functions check it again in
//! the transaction that writes.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde_json::json;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::accounts::{Principal, Role};
use crate::catalog::{Metadata, datasets, upload};

/// Bytes of an uploaded dataset at most.
pub const UPLOAD_BYTES: usize = 256 * 1024 * 1024;
/// How long an upload (reading, checking and publishing) may take.
pub const UPLOAD_TIME: Duration = Duration::from_secs(15 * 60);

/// The upload routes (their own body limit and time limit; see `web::router`).
pub fn upload_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/datasets", post(publish_new))
        .route("/api/v1/datasets/{id}/data", put(publish_next))
        .route_layer(axum::middleware::from_fn(publishers_only))
        .layer(DefaultBodyLimit::max(UPLOAD_BYTES))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(UPLOAD_BYTES))
        // Outside the limit, to name it in the limit's refusals.
        .layer(axum::middleware::from_fn(upload_limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            UPLOAD_TIME,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// The other dataset routes (under `/api/v1`).
pub fn routes(state: &AppState) -> Router<AppState> {
    let owner = Router::new()
        .route("/datasets/{id}/metadata", put(set_metadata))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            owner_only,
        ));
    let staff = Router::new()
        .route("/datasets/{id}/approve", post(approve))
        .route_layer(axum::middleware::from_fn(staff_only));
    let read = Router::new()
        .route("/datasets", get(list))
        .route("/datasets/{id}", get(detail));
    owner
        .merge(staff)
        .merge(read)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// Says the upload limit when the body limit refused an upload by its length (the general
/// answer to a 413 quotes the API's own, smaller, limit).
async fn upload_limit(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large().into_response();
    }
    response
}

/// The upload is over [`UPLOAD_BYTES`].
fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the upload is larger than the {} MiB limit",
            UPLOAD_BYTES >> 20
        ),
    )
}

fn principal(request: &Request) -> Option<&Principal> {
    request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.as_ref())
}

fn must_sign_in() -> ApiError {
    ApiError::unauthorized("sign in, or send a bearer token")
}

/// Lets in the publishers of an agency.
async fn publishers_only(request: Request, next: Next) -> Result<Response, ApiError> {
    match principal(&request) {
        None => Err(must_sign_in()),
        Some(p) if p.role == Role::Publisher => Ok(next.run(request).await),
        Some(p) => Err(ApiError::forbidden(format!(
            "the {} account {} publishes no agency's data: only publishers do",
            p.role.as_str(),
            p.name
        ))),
    }
}

/// Lets in DPPR staff and admins.
async fn staff_only(request: Request, next: Next) -> Result<Response, ApiError> {
    match principal(&request) {
        None => Err(must_sign_in()),
        Some(p) if p.role != Role::Publisher => Ok(next.run(request).await),
        Some(p) => Err(ApiError::forbidden(format!(
            "{} is a publisher: DPPR staff approve datasets",
            p.name
        ))),
    }
}

/// Lets in the publishers of the dataset's agency (the dataset as the catalog knows it).
async fn owner_only(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let Some(p) = principal(&request) else {
        return Err(must_sign_in());
    };
    let owner = state.catalog.get(id).and_then(|c| c.agency.clone());
    match owner {
        None => Err(ApiError::not_found(format!("there is no dataset \"{id}\""))),
        Some(agency) if p.role == Role::Publisher && p.agency.as_deref() == Some(&agency) => {
            Ok(next.run(request).await)
        }
        Some(agency) => Err(ApiError::forbidden(format!(
            "the dataset {id} belongs to the agency {agency}: {} may not change it",
            p.name
        ))),
    }
}

/// What an upload form holds.
struct Form {
    id: Option<String>,
    file: Option<(tempfile::TempDir, std::path::PathBuf, String)>,
    layer: Option<String>,
    crs: Option<String>,
    accept_defects: bool,
}

/// The file extensions an upload may have.
const EXTENSIONS: [&str; 6] = ["gpkg", "zip", "geojson", "json", "fgb", "csv"];

async fn read_form(mut multipart: Multipart) -> Result<Form, ApiError> {
    let mut form = Form {
        id: None,
        file: None,
        layer: None,
        crs: None,
        accept_defects: false,
    };
    let bad = |e: axum::extract::multipart::MultipartError| match e.status() {
        // A body over the limit (sent without its length) is refused as such.
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::bad_request(format!("the upload cannot be read: {e}")),
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let client_name = field.file_name().unwrap_or("upload").to_string();
            let extension = client_name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            if !EXTENSIONS.contains(&extension.as_str()) {
                return Err(ApiError::unprocessable(format!(
                    "\"{client_name}\": send a .gpkg, a zipped Shapefile (.zip), .geojson, .fgb or .csv"
                )));
            }
            let dir = tempfile::tempdir().map_err(ApiError::internal)?;
            // The file keeps its name (GDAL names a GeoJSON or CSV layer after it), made safe.
            let stem: String = client_name
                .rsplit_once('.')
                .map_or("upload", |(stem, _)| stem)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(60)
                .collect();
            let path = dir.path().join(format!("{stem}.{extension}"));
            let mut out = std::fs::File::create(&path).map_err(ApiError::internal)?;
            let mut received = 0usize;
            loop {
                let chunk = match field.chunk().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    // A body cut at the limit (sent without its length) reads as a broken form.
                    Err(_) if received + (1 << 20) >= UPLOAD_BYTES => return Err(too_large()),
                    Err(e) => return Err(bad(e)),
                };
                received += chunk.len();
                out.write_all(&chunk).map_err(ApiError::internal)?;
            }
            form.file = Some((dir, path, client_name));
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "id" => form.id = Some(text.trim().to_string()),
            "layer" => form.layer = Some(text).filter(|t| !t.is_empty()),
            "crs" => form.crs = Some(text).filter(|t| !t.is_empty()),
            "accept_defects" => {
                form.accept_defects = matches!(text.trim(), "true" | "1" | "yes" | "on")
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field \"{other}\""
                )));
            }
        }
    }
    Ok(form)
}

/// One of the upload slots, taken before a file is received: uploads beyond them wait at most the
/// queue wait, then get a 503, instead of all filling the disk at once.
async fn upload_slot(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    match tokio::time::timeout(crate::limits::LIMITS.queue_wait(), state.uploads.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(ApiError::unavailable("the server is shutting down")),
        Err(_) => Err(ApiError::unavailable(format!(
            "other uploads are being published; none finished within {} s",
            crate::limits::LIMITS.queue_wait_s
        ))),
    }
}

/// Refuses `principal` the dataset `id` of another agency.
fn check_owner(state: &AppState, principal: &Principal, id: &str) -> Result<(), ApiError> {
    match state.catalog.get(id).and_then(|c| c.agency.clone()) {
        Some(owner) if principal.agency.as_deref() != Some(owner.as_str()) => {
            Err(ApiError::forbidden(format!(
                "the dataset {id} belongs to another agency ({owner}): {} may not change it",
                principal.name
            )))
        }
        _ => Ok(()),
    }
}

async fn publish_new(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let _slot = upload_slot(&state).await?;
    let form = read_form(multipart).await?;
    let id = form
        .id
        .clone()
        .ok_or_else(|| ApiError::bad_request("the form has no `id` field"))?;
    publish(state.clone(), caller, connection, id, form).await
}

async fn publish_next(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    // Another agency's dataset is refused before its file is received.
    if let Some(principal) = caller.0.as_ref() {
        check_owner(&state, principal, &id)?;
    }
    let _slot = upload_slot(&state).await?;
    let form = read_form(multipart).await?;
    if form.id.as_ref().is_some_and(|f| *f != id) {
        return Err(ApiError::bad_request(
            "the form's `id` is not the dataset of the URL",
        ));
    }
    publish(state.clone(), caller, connection, id, form).await
}

async fn publish(
    state: AppState,
    caller: Caller,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    id: String,
    form: Form,
) -> Result<Response, ApiError> {
    let principal = caller.0.clone().ok_or_else(must_sign_in)?;
    // Another agency's dataset is refused before its file is read (the transaction checks again).
    check_owner(&state, &principal, &id)?;
    let (_dir, path, name) = form
        .file
        .ok_or_else(|| ApiError::bad_request("the form has no `file` field"))?;
    let (header_tx, header) = tokio::sync::oneshot::channel();
    let (rows_tx, rows) = tokio::sync::mpsc::channel(4);
    let (layer, crs, file_name) = (form.layer, form.crs, name.clone());
    let reader = tokio::task::spawn_blocking(move || {
        upload::stream(
            &path,
            &file_name,
            layer.as_deref(),
            crs.as_deref(),
            header_tx,
            rows_tx,
        )
    });
    let upload = datasets::Upload {
        file: name,
        header,
        rows,
        reader,
    };
    let options = datasets::PublishOptions {
        accept_defects: form.accept_defects,
    };
    let actor = super::ogc::actor(&caller, connection);
    let started = std::time::Instant::now();
    let published = datasets::publish(&state.pool, &principal, &actor, &id, upload, &options).await;
    let kind = crate::observe::Operation::Dataset;
    crate::observe::record_operation(&state.pool, kind, &id, started, published.is_ok()).await;
    let published = published?;
    state.refresh_catalog().await;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "private, no-store")],
        Json(published),
    )
        .into_response())
}

async fn set_metadata(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let metadata: Metadata = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the metadata is not valid: {e}")))?;
    let principal = caller.0.clone().ok_or_else(must_sign_in)?;
    let actor = super::ogc::actor(&caller, connection);
    let saved = datasets::set_metadata(&state.pool, &principal, &actor, &id, &metadata).await?;
    state.refresh_catalog().await;
    Ok(([(header::CACHE_CONTROL, "private, no-store")], Json(saved)).into_response())
}

async fn approve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let principal = caller.0.clone().ok_or_else(must_sign_in)?;
    let actor = super::ogc::actor(&caller, connection);
    datasets::approve(&state.pool, &principal, &actor, &id).await?;
    state.refresh_catalog().await;
    Ok((
        [(header::CACHE_CONTROL, "private, no-store")],
        Json(json!({ "dataset": id, "visibility": "public" })),
    )
        .into_response())
}

fn summary(c: &crate::catalog::Collection) -> serde_json::Value {
    json!({
        "id": c.id,
        "title": c.title,
        "agency": c.agency,
        "visibility": match c.visibility { crate::catalog::Visibility::Public => "public", crate::catalog::Visibility::Internal => "internal", crate::catalog::Visibility::Staff => "staff" },
        "version": c.version,
        "features": c.features,
        "geometry_type": c.geometry_type,
        "extent": c.extent,
        "metadata": c.record.metadata,
        "gaps": c.record.metadata.gaps(),
    })
}

async fn list(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
) -> Response {
    let all: Vec<_> = state
        .catalog
        .readable(caller.as_ref())
        .iter()
        .filter(|c| c.agency.is_some())
        .map(|c| summary(c))
        .collect();
    let cache = if caller.is_some() {
        "private, no-store"
    } else {
        "no-cache"
    };
    (
        [(header::CACHE_CONTROL, cache)],
        Json(json!({ "datasets": all })),
    )
        .into_response()
}

async fn detail(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = state
        .catalog
        .get(&id)
        .filter(|c| c.agency.is_some() && c.readable_by(caller.as_ref()))
        .ok_or_else(|| ApiError::not_found(format!("there is no dataset \"{id}\" you may read")))?;
    let mut doc = summary(&c);
    doc["versions"] = json!(datasets::versions(&state.pool, &id).await?);
    let cache = if caller.is_some() {
        "private, no-store"
    } else {
        "no-cache"
    };
    Ok(([(header::CACHE_CONTROL, cache)], Json(doc)).into_response())
}
