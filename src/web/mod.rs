//! The HTTP layer: the router, thin handlers per resource, error mapping and the map page.

mod assets;
mod error;
mod tiles;
mod zoning;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::tiles::TileService;
use crate::zoning::Live;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub pool: PgPool,
    /// The live snapshot of published plans and rules.
    pub live: Arc<Live>,
    /// Vector tiles of every layer.
    pub tiles: Arc<TileService>,
}

/// Bytes of encoded tiles the memory cache holds at most.
pub const TILE_CACHE_BYTES: u64 = 256 * 1024 * 1024;

impl AppState {
    /// Loads the zoning snapshot and the tile layers (with the archives pre-seeded in `tiles_dir`).
    pub async fn load(pool: PgPool, tiles_dir: Option<std::path::PathBuf>) -> Result<Self, String> {
        Self::load_with_cache(pool, tiles_dir, TILE_CACHE_BYTES).await
    }

    /// Like [`AppState::load`], with a tile cache of `cache_bytes` (0: no cache).
    pub async fn load_with_cache(
        pool: PgPool,
        tiles_dir: Option<std::path::PathBuf>,
        cache_bytes: u64,
    ) -> Result<Self, String> {
        let live = Live::load(pool.clone()).await.map_err(|e| e.to_string())?;
        let tiles = TileService::load(pool.clone(), cache_bytes, tiles_dir)
            .await
            .map_err(|e| e.to_string())?;
        Ok(AppState {
            pool,
            live: Arc::new(live),
            tiles: Arc::new(tiles),
        })
    }

    /// Brings the snapshot and the tiles up to date with the database (see `db::watch_changes`).
    pub async fn refresh(&self) {
        if let Err(e) = self.live.refresh().await {
            tracing::warn!("reloading the zoning snapshot failed: {e}");
        }
        if let Err(e) = self.tiles.refresh().await {
            tracing::warn!("reloading the tile layers failed: {e}");
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/static/{*path}", get(assets::file))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/data/balikpapan_admin.geojson",
            get(assets::admin_boundaries),
        )
        .nest("/api/v1", zoning::routes())
        .merge(tiles::routes())
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(CompressionLayer::new())
        .layer(CorsLayer::permissive())
        .layer(RequestBodyLimitLayer::new(4 * 1024 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(error::problem_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let db = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await;
    let snapshot = state.live.snapshot();
    let body = serde_json::json!({
        "database": db.is_ok(),
        "features": snapshot.index.len(),
        "subzones": snapshot.rules.subzones().len(),
        "change": snapshot.change_id,
        "tile_layers": state.tiles.layers().len(),
        "tile_cache_bytes": state.tiles.cached_bytes(),
    });
    let status = if db.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}
