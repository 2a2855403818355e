//! `/tiles` (XYZ tiles and TileJSON 3.0) and `/ogc/collections/{id}/tiles` (OGC API – Tiles).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::http::{ApiPath, ApiQuery, BaseUrl, Coding, negotiate, not_modified};
use super::{ApiError, AppState};
use crate::tiles::{LayerInfo, TileCoord};

const MVT: &str = "application/vnd.mapbox-vector-tile";
const WEB_MERCATOR_QUAD: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";

/// The tile metadata routes (TileJSON, OGC tilesets).
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/tiles/{file}", get(tilejson))
        .route("/ogc/collections/{id}/tiles", get(tilesets))
        .route("/ogc/collections/{id}/tiles/WebMercatorQuad", get(tileset))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layer_access,
        ))
        .route("/ogc/tileMatrixSets", get(tile_matrix_sets))
}

/// The tiles of an internal dataset (not yet approved) are for signed-in accounts only, and kept
/// by no shared cache. Public layers pass at once: no account is looked up for them (the map's
/// tiles are the busiest requests, and a signed-in browser sends its cookie with each).
async fn layer_access(
    State(state): State<AppState>,
    Path(params): Path<std::collections::HashMap<String, String>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    // `/tiles/{layer}/...`, `/ogc/collections/{id}/tiles...`, and TileJSON at `/tiles/{file}`.
    let id = params
        .get("layer")
        .or_else(|| params.get("id"))
        .or_else(|| params.get("file"))
        .map(|v| v.trim_end_matches(".json"))
        .unwrap_or_default();
    let internal = state
        .catalog
        .get(id)
        .is_some_and(|c| c.visibility == crate::catalog::Visibility::Internal);
    if !internal {
        return Ok(next.run(request).await);
    }
    let (caller, _) = super::auth::resolve(&state, request.headers()).await?;
    if caller.is_none() {
        return Err(ApiError::unauthorized(format!(
            "the layer {id} is internal until DPPR approves it: sign in, or send a bearer token"
        )));
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// The tile routes themselves: the busiest of the server, answered from memory with their own
/// headers and errors, so they skip the general middleware.
pub fn tile_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/tiles/{layer}/{z}/{x}/{file}",
            get(xyz_tile).fallback(super::method_not_allowed),
        )
        .route(
            "/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            get(ogc_tile).fallback(super::method_not_allowed),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layer_access,
        ))
}

/// `/tiles/{layer}/{z}/{x}/{y}.mvt`: the row comes with its extension (`.mvt` or `.pbf`).
#[derive(Deserialize)]
struct XyzPath {
    layer: String,
    z: u32,
    x: u32,
    file: TileRow,
}

/// A row number with a tile extension, as in `1234.mvt`.
struct TileRow(u32);

impl<'de> Deserialize<'de> for TileRow {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let row = text
            .strip_suffix(".mvt")
            .or_else(|| text.strip_suffix(".pbf"))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "tiles are at /tiles/{{layer}}/{{z}}/{{x}}/{{y}}.mvt, not …/{text}"
                ))
            })?;
        row.parse()
            .map(TileRow)
            .map_err(|_| serde::de::Error::custom(format!("row y \"{row}\" is not a whole number")))
    }
}

/// `/ogc/collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`.
#[derive(Deserialize)]
struct OgcPath {
    id: String,
    z: u32,
    y: u32,
    x: u32,
}

/// `?v=`: the layer version a tile URL was made for; `?at=YYYY-MM-DD` (zoning only): the zoning as
/// in force on that day.
#[derive(Deserialize)]
struct VersionQuery {
    v: Option<String>,
    at: Option<String>,
}

async fn tilejson(
    State(state): State<AppState>,
    Path(file): Path<String>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let id = file.strip_suffix(".json").ok_or_else(|| {
        ApiError::not_found(format!(
            "there is nothing at /tiles/{file}; TileJSON is at /tiles/{{layer}}.json"
        ))
    })?;
    let layer = state.tiles.layer(id)?;
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
    Ok((
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, super::http::LINKS_VARY),
        ],
        axum::Json(body),
    )
        .into_response())
}

fn vector_layer(layer: &LayerInfo) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = layer
        .fields
        .iter()
        .map(|(name, about)| (name.clone(), json!(about)))
        .collect();
    json!({ "id": layer.id, "description": layer.description, "minzoom": layer.minzoom, "maxzoom": layer.maxzoom, "fields": fields })
}

async fn xyz_tile(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<XyzPath>,
    ApiQuery(query): ApiQuery<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let coord = TileCoord::new(path.z, path.x, path.file.0)?;
    if let Some(response) = day_tile(&state, &path.layer, coord, &query, &headers).await? {
        return Ok(response);
    }
    tile_response(&state, &path.layer, coord, query.v.as_deref(), &headers).await
}

async fn ogc_tile(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<OgcPath>,
    ApiQuery(query): ApiQuery<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let coord = TileCoord::new(path.z, path.x, path.y)?;
    if let Some(response) = day_tile(&state, &path.id, coord, &query, &headers).await? {
        return Ok(response);
    }
    tile_response(&state, &path.id, coord, query.v.as_deref(), &headers).await
}

/// A zoning tile as on the day `?at=` names, when that day's versions are not today's (then the
/// normal tile answers). A day's zoning changes only with a publication: revalidated each minute.
async fn day_tile(
    state: &AppState,
    layer: &str,
    coord: TileCoord,
    query: &VersionQuery,
    headers: &HeaderMap,
) -> Result<Option<Response>, ApiError> {
    let Some(at) = query.at.as_deref() else {
        return Ok(None);
    };
    if layer != crate::tiles::ZONING {
        return Err(ApiError::bad_request(format!(
            "`at` chooses a day of the zoning layer only, not of \"{layer}\""
        )));
    }
    let day = crate::zoning::parse_day(at)?;
    let Some(tile) = state.day_tiles.tile(&state.live, &day, coord).await? else {
        return Ok(None);
    };
    Ok(Some(encoded_response(&tile, "public, max-age=60", headers)))
}

async fn tile_response(
    state: &AppState,
    layer: &str,
    coord: TileCoord,
    version: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (tile, info) = state.tiles.tile(layer, coord).await?;
    // A URL that names the current version never changes; any other must be checked again.
    let cache_control = if version == Some(info.version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=0, must-revalidate"
    };
    Ok(encoded_response(&tile, cache_control, headers))
}

/// The answer of an encoded tile: the coding the client takes, its ETag (304 when it matches),
/// 204 for an empty tile.
fn encoded_response(
    tile: &crate::tiles::EncodedTile,
    cache_control: &'static str,
    headers: &HeaderMap,
) -> Response {
    let coding = match tile.raw.is_empty() {
        true => Coding::Identity,
        false => negotiate(headers, &[Coding::Brotli, Coding::Gzip]),
    };
    let (body, etag) = match coding {
        Coding::Brotli => (tile.brotli.clone(), &tile.etags.brotli),
        Coding::Gzip => (tile.gzip.clone(), &tile.etags.gzip),
        Coding::Identity => (tile.raw.clone(), &tile.etags.raw),
    };
    let mut response = Response::new(axum::body::Body::empty());
    let out = response.headers_mut();
    out.insert(header::ETAG, etag.clone());
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(
        "x-tile-source",
        HeaderValue::from_static(tile.origin.as_str()),
    );
    if not_modified(headers, etag.to_str().unwrap_or_default()) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    if tile.raw.is_empty() {
        *response.status_mut() = StatusCode::NO_CONTENT;
        return response;
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    if coding != Coding::Identity {
        out.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.token()),
        );
    }
    *response.body_mut() = axum::body::Body::from(body);
    response
}

async fn tile_matrix_sets(BaseUrl(base): BaseUrl) -> impl IntoResponse {
    linked(json!({
        "tileMatrixSets": [{
            "id": "WebMercatorQuad",
            "title": "Google Maps Compatible for the World",
            "uri": WEB_MERCATOR_QUAD,
            "links": [{"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "href": WEB_MERCATOR_QUAD}],
        }],
        "links": [{"rel": "self", "type": "application/json", "href": format!("{base}/ogc/tileMatrixSets")}],
    }))
}

/// A JSON document whose links were built from the request: it varies with `Host`.
fn linked(body: serde_json::Value) -> Response {
    ([(header::VARY, super::http::LINKS_VARY)], axum::Json(body)).into_response()
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
                        .map(|(name, about)| (name.clone(), json!({"description": about})))
                        .collect::<serde_json::Map<_, _>>()}}],
        "boundingBox": layer.bounds.map(|[w, s, e, n]| json!({"lowerLeft": [w, s], "upperRight": [e, n],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"})),
    })
}

async fn tileset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let layer = state.tiles.layer(&id)?;
    Ok(linked(tileset_json(&base, &layer)))
}

async fn tilesets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let layer = state.tiles.layer(&id)?;
    Ok(linked(json!({
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
