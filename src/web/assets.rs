//! The map page and its static files, compiled into the binary.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The page's ES modules under `static/js/` (served as they are: no build step).
macro_rules! modules {
    ($($name:literal),* $(,)?) => {
        &[$((
            concat!("js/", $name),
            "text/javascript; charset=utf-8",
            include_bytes!(concat!("static/js/", $name)),
        )),*]
    };
}

const MODULES: &[(&str, &str, &[u8])] = modules![
    "activity.js",
    "api.js",
    "classes.js",
    "draw.js",
    "format.js",
    "i18n.js",
    "legend.js",
    "lookup.js",
    "main.js",
    "map.js",
    "panel.js",
    "places.js",
    "print.js",
    "regulation.js",
    "render-parcel.js",
    "render-point.js",
    "render.js",
    "state.js",
    "upload.js",
    "url-state.js",
];

/// (path under /static/, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    // A worker script (not a module, not preloaded): see its own comment.
    (
        "js/gl-warmup.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/gl-warmup.js"),
    ),
    // The publishing page's module (not the map's: not preloaded there).
    (
        "js/publish.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/publish.js"),
    ),
    // The certificate pages' modules (not the map's: not preloaded there).
    (
        "js/krk-apply.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/krk-apply.js"),
    ),
    // The certificate pages' modules (not the map's: not preloaded there).
    (
        "js/krk-status.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/krk-status.js"),
    ),
    // The certificate pages' modules (not the map's: not preloaded there).
    (
        "js/krk-staff.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/krk-staff.js"),
    ),
    // The certificate pages' modules (not the map's: not preloaded there).
    (
        "js/verify.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/verify.js"),
    ),
    // The staff pages' session (KRK and reports).
    (
        "js/staff-session.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/staff-session.js"),
    ),
    // The report pages' modules (not the map's: not preloaded there).
    (
        "js/lapor.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/lapor.js"),
    ),
    // The report pages' modules (not the map's: not preloaded there).
    (
        "js/lapor-status.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/lapor-status.js"),
    ),
    // The report pages' modules (not the map's: not preloaded there).
    (
        "js/reports-common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/reports-common.js"),
    ),
    // The report pages' modules (not the map's: not preloaded there).
    (
        "js/reports-staff.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/reports-staff.js"),
    ),
    // The OGC API pages' map and table (a classic script, after MapLibre's).
    (
        "js/ogc.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/js/ogc.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("static/app.css"),
    ),
    (
        "vendor/maplibre-gl.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/vendor/maplibre-gl.js"),
    ),
    (
        "vendor/maplibre-gl.css",
        "text/css; charset=utf-8",
        include_bytes!("static/vendor/maplibre-gl.css"),
    ),
    (
        "vendor/LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("static/vendor/LICENSE.txt"),
    ),
];

/// Every static file: the modules, then the others.
fn assets() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static [u8])> {
    MODULES.iter().chain(FILES.iter())
}

/// The map page, with a `modulepreload` link for each module: the browser fetches them all at
/// once instead of one import level after another.
fn page() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let links: String = MODULES
            .iter()
            .map(|(name, _, _)| format!("<link rel=\"modulepreload\" href=\"/static/{name}\">\n  "))
            .collect();
        include_str!("static/index.html").replace("<!-- MODULES -->", links.trim_end())
    })
}

/// `GET /`: the map page.
pub async fn index() -> Response {
    html_page(page()).await
}

/// `GET /publish`: the page where agencies publish datasets and DPPR staff approve them.
pub async fn publish() -> Response {
    html_page(include_str!("static/publish.html")).await
}

/// `GET /static/{*path}`: the page's scripts, styles and the vendored MapLibre GL JS. The URLs do
/// not change when the files do, so browsers revalidate them (`no-cache` with a strong ETag): a
/// deployment is seen at once, and an unchanged file costs a 304.
pub async fn file(Path(path): Path<String>, request: HeaderMap) -> Response {
    let Some((position, &(_, content_type, bytes))) =
        assets().enumerate().find(|(_, (name, _, _))| *name == path)
    else {
        return super::ApiError::not_found(format!("no static file {path}")).into_response();
    };
    let etag = &entity_tags()[position];
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::ETAG, etag.as_str()),
    ];
    if super::http::not_modified(&request, etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, bytes).into_response()
}

/// The strong ETag of each asset: a digest of its bytes, computed once.
fn entity_tags() -> &'static [String] {
    static TAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TAGS.get_or_init(|| {
        use sha2::Digest;
        assets()
            .map(|(_, _, bytes)| format!("\"{}\"", hex::encode(&sha2::Sha256::digest(bytes)[..12])))
            .collect()
    })
}

/// `GET /data/balikpapan_admin.geojson`: the administrative boundaries the map draws, as stored
/// (the kecamatan and city outlines drawn from their kelurahan).
pub async fn admin_boundaries(
    axum::extract::State(state): axum::extract::State<super::AppState>,
) -> Result<Response, super::ApiError> {
    // Made once per snapshot: a restore or a migration that changes the boundaries announces a
    // change, and the snapshot's id moves on.
    let change = state.live.snapshot().change_id;
    let mut cached = state.admin.lock().await;
    let body = match cached.as_ref() {
        Some((id, body)) if *id == change => body.clone(),
        _ => {
            let body = bytes::Bytes::from(crate::reference::admin_geojson(&state.pool).await?);
            *cached = Some((change, body.clone()));
            body
        }
    };
    drop(cached);
    Ok((
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response())
}

/// A page of the application as it is compiled in (`no-cache`: revalidated, so a new release
/// shows at once).
pub(super) async fn html_page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}
