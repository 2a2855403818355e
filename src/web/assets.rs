//! The map page and its static files, compiled into the binary.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// (path under /static/, content type, bytes)
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/app.js"),
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

/// `GET /`: the map page.
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("static/index.html"),
    )
        .into_response()
}

/// `GET /static/{*path}`: the page's scripts, styles and the vendored MapLibre GL JS.
pub async fn file(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => super::ApiError::not_found(format!("no static file {path}")).into_response(),
    }
}

/// `GET /data/balikpapan_admin.geojson`: the administrative boundaries the map draws.
pub async fn admin_boundaries() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::reference::ADMIN_GEOJSON,
    )
        .into_response()
}
