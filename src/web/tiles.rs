//! `/tiles` (XYZ tiles and TileJSON 3.0) and `/ogc/collections/{id}/tiles` (OGC API – Tiles).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{ApiError, AppState};
use crate::tiles::{LayerInfo, TileCoord, TilesError};

const MVT: &str = "application/vnd.mapbox-vector-tile";
const WEB_MERCATOR_QUAD: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";

/// The tile routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tiles/{file}", get(tilejson))
        .route("/tiles/{layer}/{z}/{x}/{file}", get(xyz_tile))
        .route("/ogc/tileMatrixSets", get(tile_matrix_sets))
        .route("/ogc/collections/{id}/tiles", get(tilesets))
        .route("/ogc/collections/{id}/tiles/WebMercatorQuad", get(tileset))
        .route(
            "/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            get(ogc_tile),
        )
}

impl From<TilesError> for ApiError {
    fn from(e: TilesError) -> Self {
        match e {
            TilesError::OutOfRange(m) => ApiError::not_found(m),
            TilesError::UnknownLayer(_) => ApiError::not_found(e.to_string()),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

/// The server's own base URL as the client reached it.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn tilejson(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = file.strip_suffix(".json").ok_or_else(|| {
        ApiError::not_found(format!(
            "there is nothing at /tiles/{file}; TileJSON is at /tiles/{{layer}}.json"
        ))
    })?;
    let layer = state.tiles.layer(id)?;
    let base = base_url(&headers);
    let body = json!({
        "tilejson": "3.0.0",
        "name": layer.id,
        "description": layer.description,
        "version": "1.0.0",
        "attribution": "Batas administrasi: wilayah_boundaries, cahya dsn (MIT). Zonasi: data demo sintetis.",
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt?v={}", layer.id, layer.version)],
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "bounds": layer.bounds.unwrap_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78]),
        "vector_layers": [vector_layer(&layer)],
    });
    Ok(([(header::CACHE_CONTROL, "no-cache")], axum::Json(body)).into_response())
}

fn vector_layer(layer: &LayerInfo) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = layer
        .fields
        .iter()
        .map(|(name, about)| (name.to_string(), json!(about)))
        .collect();
    json!({ "id": layer.id, "description": layer.description, "minzoom": layer.minzoom, "maxzoom": layer.maxzoom, "fields": fields })
}

fn number(text: &str, what: &str) -> Result<u32, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} \"{text}\" is not a whole number")))
}

async fn xyz_tile(
    State(state): State<AppState>,
    Path((layer, z, x, file)): Path<(String, String, String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let y = file
        .strip_suffix(".mvt")
        .or_else(|| file.strip_suffix(".pbf"))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "tiles are at /tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt, not {file}"
            ))
        })?;
    let coord = TileCoord::new(
        number(&z, "zoom")?,
        number(&x, "column x")?,
        number(y, "row y")?,
    )?;
    tile_response(
        &state,
        &layer,
        coord,
        query.get("v").map(String::as_str),
        &headers,
    )
    .await
}

async fn ogc_tile(
    State(state): State<AppState>,
    Path((id, z, y, x)): Path<(String, String, String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let coord = TileCoord::new(
        number(&z, "tileMatrix")?,
        number(&x, "tileCol")?,
        number(&y, "tileRow")?,
    )?;
    tile_response(
        &state,
        &id,
        coord,
        query.get("v").map(String::as_str),
        &headers,
    )
    .await
}

/// Whether `Accept-Encoding` accepts `encoding` (by name or `*`, and not with `q=0`).
fn accepted(headers: &HeaderMap, encoding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.trim().split(';');
            let name = parts.next().unwrap_or("").trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case(encoding) || name == "*") && quality > 0.0
        })
}

async fn tile_response(
    state: &AppState,
    layer: &str,
    coord: TileCoord,
    version: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let info = state.tiles.layer(layer)?;
    let tile = state.tiles.tile(layer, coord).await?;
    // A URL that names the current version never changes; any other must be checked again.
    let cache_control = if version == Some(info.version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=0, must-revalidate"
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::ETAG,
        HeaderValue::from_str(&tile.etag).expect("hex etag"),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response_headers.insert(
        "x-tile-source",
        HeaderValue::from_static(tile.origin.as_str()),
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == tile.etag || tag.trim() == "*")
        });
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    if tile.raw.is_empty() {
        return Ok((StatusCode::NO_CONTENT, response_headers).into_response());
    }
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    let body = if accepted(headers, "br") {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        tile.brotli.clone()
    } else if accepted(headers, "gzip") {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        tile.gzip.clone()
    } else {
        tile.raw.clone()
    };
    Ok((StatusCode::OK, response_headers, body).into_response())
}

async fn tile_matrix_sets(headers: HeaderMap) -> axum::Json<serde_json::Value> {
    let base = base_url(&headers);
    axum::Json(json!({
        "tileMatrixSets": [{
            "id": "WebMercatorQuad",
            "title": "Google Maps Compatible for the World",
            "uri": WEB_MERCATOR_QUAD,
            "links": [{"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "href": WEB_MERCATOR_QUAD}],
        }],
        "links": [{"rel": "self", "type": "application/json", "href": format!("{base}/ogc/tileMatrixSets")}],
    }))
}

fn tileset_json(base: &str, layer: &LayerInfo) -> serde_json::Value {
    json!({
        "title": layer.description,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": WEB_MERCATOR_QUAD,
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/ogc/collections/{}/tiles/WebMercatorQuad", layer.id)},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "href": WEB_MERCATOR_QUAD},
            {"rel": "item", "type": MVT, "templated": true,
             "href": format!("{base}/ogc/collections/{}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?v={}", layer.id, layer.version)},
        ],
        "tileMatrixSetLimits": (layer.minzoom..=layer.maxzoom).map(|z| json!({"tileMatrix": z.to_string(),
            "minTileRow": 0, "maxTileRow": (1u32 << z) - 1, "minTileCol": 0, "maxTileCol": (1u32 << z) - 1})).collect::<Vec<_>>(),
        "layers": [{"id": layer.id, "dataType": "vector", "geometryDimension": 2,
                    "minTileMatrix": layer.minzoom.to_string(), "maxTileMatrix": layer.maxzoom.to_string(),
                    "propertiesSchema": {"type": "object", "properties": layer.fields.iter()
                        .map(|(name, about)| (name.to_string(), json!({"description": about})))
                        .collect::<serde_json::Map<_, _>>()}}],
        "boundingBox": layer.bounds.map(|[w, s, e, n]| json!({"lowerLeft": [w, s], "upperRight": [e, n],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"})),
    })
}

async fn tileset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let layer = state.tiles.layer(&id)?;
    Ok(axum::Json(tileset_json(&base_url(&headers), &layer)))
}

async fn tilesets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let layer = state.tiles.layer(&id)?;
    let base = base_url(&headers);
    Ok(axum::Json(json!({
        "tilesets": [{
            "title": layer.description,
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": WEB_MERCATOR_QUAD,
            "links": [{"rel": "self", "type": "application/json",
                       "href": format!("{base}/ogc/collections/{id}/tiles/WebMercatorQuad")}],
        }],
        "links": [{"rel": "self", "type": "application/json", "href": format!("{base}/ogc/collections/{id}/tiles")}],
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        map
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        assert!(accepted(&headers("gzip, deflate, br"), "br"));
        assert!(accepted(&headers("GZIP"), "gzip"));
        assert!(!accepted(&headers("gzip, br;q=0"), "br"));
        assert!(!accepted(&headers("br;q=0.0, gzip;q=0.5"), "br"));
        assert!(accepted(&headers("br;q=0.5"), "br"));
        assert!(accepted(&headers("*"), "gzip"));
        assert!(!accepted(&HeaderMap::new(), "gzip"));
    }
}
