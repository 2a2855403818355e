//! `/api/v1/places`: the place search of the map (kelurahan and kecamatan by name, typed
//! coordinates).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::http::{ApiQuery, search_text};
use super::{ApiError, AppState};
use crate::places::{PlacesError, position, search};

/// The `/api/v1/places` route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/places", get(places))
}

/// The query of a place search: `q`, a name or coordinates.
#[derive(serde::Deserialize)]
struct PlacesQuery {
    #[serde(default)]
    q: String,
}

/// Places named like `q`, and `q` read as coordinates when it is coordinates.
async fn places(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PlacesQuery>,
) -> Result<Json<Value>, ApiError> {
    let q = search_text(
        &query.q,
        "a kelurahan or kecamatan name, or coordinates (decimal degrees, degrees-minutes-seconds, UTM 50S)",
    )?;
    let coordinates = position(&state.pool, q).await?;
    let found = match coordinates {
        Some(_) => Vec::new(),
        None => search(&state.pool, q, 20).await?,
    };
    let places: Vec<Value> = found
        .iter()
        .map(|p| {
            json!({
                "name": p.name, "level": p.level, "kecamatan": p.kecamatan,
                "lon": p.lon, "lat": p.lat, "bbox": p.bbox(),
            })
        })
        .collect();
    Ok(Json(
        json!({ "query": q, "coordinates": coordinates, "places": places }),
    ))
}

impl From<PlacesError> for ApiError {
    fn from(e: PlacesError) -> Self {
        match e {
            PlacesError::Coordinates(_) => ApiError::unprocessable(e.to_string()),
            PlacesError::Sql(e) => e.into(),
        }
    }
}
