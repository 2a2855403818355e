//! `/healthz` (the process answers) and `/readyz` (the database answers, what is loaded). Neither
//! waits behind user requests: `/healthz` touches nothing, `/readyz` asks the database over a pool
//! of its own with a one-second limit.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

/// How long `/readyz` waits for the database.
const READY_WAIT: Duration = Duration::from_secs(1);

/// `/readyz`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/readyz", get(ready))
}

/// `/healthz`, outside the general middleware: the cheapest answer of the server.
pub fn lean_routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz).fallback(super::method_not_allowed))
}

async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], "ok")
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.health);
    let database = matches!(tokio::time::timeout(READY_WAIT, probe).await, Ok(Ok(1)));
    let snapshot = state.live.snapshot();
    let body = serde_json::json!({
        "database": database,
        "features": snapshot.index.len(),
        "rule_sets": snapshot.books.len(),
        "today": snapshot.today,
        "change": snapshot.change_id,
        "tile_layers": state.tiles.layers().len(),
        "tile_cache_bytes": state.tiles.cached_bytes(),
        // Reads fall back to the primary while a replica does not answer: the node stays ready.
        "replicas": state.replicas.states(),
    });
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
}
