//! The tile layers, their TileJSON facts, and serving a tile from the cache or by rendering it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use arc_swap::ArcSwap;
use geo::Geometry;
use geozero::ToGeo;
use geozero::mvt::TileValue;
use rstar::{AABB, RTree};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::cache::TileKey;
use super::layer::Key;
use super::mercator::{tile_bounds, unproject};
use super::{Archive, TileOrigin, archive_path, generalised_levels};
use super::{
    BUFFER, EXTENT, EncodedTile, MAX_ZOOM, MIN_ZOOM, Result, TileCache, TileCoord, TileFeature,
    TilesError, VectorLayer,
};
use crate::db::latest_change;
use crate::geometry::IndexedBox;

/// How many past changes a layer remembers to decide whether an older cached tile is still good.
const REMEMBERED_CHANGES: usize = 32;

/// What TileJSON and the OGC tileset metadata say about a layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    /// Layer id (URL path segment and MVT layer name).
    pub id: String,
    /// What the layer holds.
    pub description: String,
    /// Version of the content: part of tile URLs, so that those URLs can be cached for ever.
    pub version: String,
    /// `[west, south, east, north]` in WGS 84 degrees.
    pub bounds: Option<[f64; 4]>,
    /// Lowest zoom served.
    pub minzoom: u8,
    /// Highest zoom served.
    pub maxzoom: u8,
    /// Feature properties with their descriptions.
    pub fields: Vec<(String, String)>,
}

/// Properties of the zoning layer.
const ZONING_FIELDS: &[(&str, &str)] = &[
    ("code", "sub-zone letter code, e.g. R-3"),
    ("catalog_code", "Permen 14/2021 numeric sub-zone code"),
    ("name", "sub-zone name (NAMOBJ)"),
    ("color", "Permen 14 legend colour, #RRGGBB"),
    ("block", "block code (KODBLK)"),
    ("plan_version", "id of the plan version the zone belongs to"),
];

/// A layer as currently served, with the changes it went through.
struct LayerState {
    layer: Arc<VectorLayer>,
    /// Generalised versions for zooms 0..=GENERALISED_UP_TO (empty for layers drawn as they are).
    levels: Arc<Vec<VectorLayer>>,
    info: LayerInfo,
    generation: u64,
    /// (generation that made the change, areas it touched in EPSG:3857)
    changes: Vec<(u64, Arc<RTree<IndexedBox>>)>,
}

impl LayerState {
    /// Builds the state on a blocking thread: generalising a large plan takes seconds of CPU,
    /// which must not hold up the request-serving tasks.
    async fn build(
        id: &str,
        layer: VectorLayer,
        info: LayerInfo,
        generation: u64,
        changes: Vec<(u64, Arc<RTree<IndexedBox>>)>,
    ) -> Result<Self> {
        let id = id.to_string();
        tokio::task::spawn_blocking(move || LayerState::new(&id, layer, info, generation, changes))
            .await
            .map_err(|e| TilesError::Encode(e.to_string()))
    }

    fn new(
        id: &str,
        layer: VectorLayer,
        info: LayerInfo,
        generation: u64,
        changes: Vec<(u64, Arc<RTree<IndexedBox>>)>,
    ) -> Self {
        let levels = Arc::new(levels_of(id, &layer));
        LayerState {
            layer: Arc::new(layer),
            levels,
            info,
            generation,
            changes,
        }
    }

    /// Whether a tile rendered from generation `generation` may still be served.
    fn still_good(&self, generation: u64, coord: TileCoord) -> bool {
        if generation == self.generation {
            return true;
        }
        let remembered = self
            .changes
            .first()
            .is_some_and(|(g, _)| *g <= generation + 1);
        remembered
            && self
                .changes
                .iter()
                .filter(|(g, _)| *g > generation)
                .all(|(_, areas)| !touches(areas, coord))
    }
}

/// Whether any area in `areas` touches the tile (with its buffer).
fn touches(areas: &RTree<IndexedBox>, coord: TileCoord) -> bool {
    let [west, south, east, north] = tile_bounds(coord);
    let margin = (east - west) * f64::from(BUFFER) / f64::from(EXTENT);
    let envelope = AABB::from_corners(
        [west - margin, south - margin],
        [east + margin, north + margin],
    );
    areas
        .locate_in_envelope_intersecting(&envelope)
        .next()
        .is_some()
}

/// Every tile layer, the tile cache, and the change the layers reflect.
pub struct TileService {
    pool: PgPool,
    layers: ArcSwap<HashMap<String, Arc<LayerState>>>,
    cache: TileCache,
    change_id: AtomicI64,
    /// Where pre-seeded archives are looked for.
    tiles_dir: Option<PathBuf>,
    archives: ArcSwap<HashMap<String, Arc<Archive>>>,
}

impl TileService {
    /// Loads every layer; the cache holds at most `cache_bytes` of encoded tiles; pre-seeded
    /// archives are read from `tiles_dir` while they are fresh.
    pub async fn load(pool: PgPool, cache_bytes: u64, tiles_dir: Option<PathBuf>) -> Result<Self> {
        let mut conn = pool.acquire().await?;
        let change_id = latest_change(&mut *conn).await?;
        let mut layers = HashMap::new();
        for loaded in load_layers(&mut conn).await? {
            let info = layer_info(&loaded, change_id);
            let id = loaded.id.clone();
            layers.insert(
                id.clone(),
                Arc::new(LayerState::build(&id, loaded.layer, info, 1, Vec::new()).await?),
            );
        }
        drop(conn);
        let service = TileService {
            pool,
            layers: ArcSwap::from_pointee(layers),
            cache: TileCache::new(cache_bytes),
            change_id: AtomicI64::new(change_id),
            tiles_dir,
            archives: ArcSwap::from_pointee(HashMap::new()),
        };
        service.open_archives().await;
        Ok(service)
    }

    /// Opens the archives in the tiles directory that match their layer's current version; an
    /// archive seeded from older data is left unused (tiles are then rendered live).
    async fn open_archives(&self) {
        let Some(dir) = &self.tiles_dir else { return };
        let mut archives = HashMap::new();
        for info in self.layers() {
            let path = archive_path(dir, &info.id);
            match Archive::open(&path).await {
                Ok(Some(archive))
                    if archive.info.version == info.version && archive.info.layer == info.id =>
                {
                    tracing::info!(layer = info.id, path = %path.display(), "serving from the pre-seeded archive");
                    archives.insert(info.id.clone(), Arc::new(archive));
                }
                Ok(Some(archive)) => tracing::info!(
                    layer = info.id,
                    "the archive {} was seeded from version {}, the layer is at {}: serving live tiles",
                    path.display(),
                    archive.info.version,
                    info.version
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!("{e}"),
            }
        }
        self.archives.store(Arc::new(archives));
    }

    /// Renders a tile from the layer as it is now, bypassing cache and archive (for seeding).
    pub async fn render(&self, id: &str, coord: TileCoord) -> Result<Vec<u8>> {
        let state = self.state(id, coord)?;
        tokio::task::spawn_blocking(move || render_state(&state, coord))
            .await
            .map_err(|e| TilesError::Encode(e.to_string()))?
    }

    fn state(&self, id: &str, coord: TileCoord) -> Result<Arc<LayerState>> {
        let state = self
            .layers
            .load()
            .get(id)
            .cloned()
            .ok_or_else(|| TilesError::UnknownLayer(id.to_string()))?;
        if coord.z < state.info.minzoom || coord.z > state.info.maxzoom {
            return Err(TilesError::OutOfRange(format!(
                "layer {id} has zooms {}..{}, not {}",
                state.info.minzoom, state.info.maxzoom, coord.z
            )));
        }
        Ok(state)
    }

    /// Reloads the layers if the database changed; evicts the cached tiles of what changed.
    /// Returns whether anything was reloaded.
    pub async fn refresh(&self) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        let change_id = latest_change(&mut *conn).await?;
        if change_id == self.change_id.load(Ordering::Acquire) {
            return Ok(false);
        }
        let fresh = load_layers(&mut conn).await?;
        drop(conn);
        let current = self.layers.load_full();
        let mut next = HashMap::new();
        for loaded in fresh {
            let id = loaded.id.clone();
            let info = layer_info(&loaded, change_id);
            let layer = loaded.layer;
            let state = match current.get(&id) {
                Some(old) => {
                    let changed = changed_areas(&old.layer, &layer);
                    if changed.size() == 0 {
                        old.clone()
                    } else {
                        let generation = old.generation + 1;
                        let changed = Arc::new(changed);
                        let areas = changed.clone();
                        self.cache.evict(&id, move |coord| touches(&areas, coord));
                        let mut changes = old.changes.clone();
                        changes.push((generation, changed));
                        if changes.len() > REMEMBERED_CHANGES {
                            changes.remove(0);
                        }
                        Arc::new(LayerState::build(&id, layer, info, generation, changes).await?)
                    }
                }
                None => Arc::new(LayerState::build(&id, layer, info, 1, Vec::new()).await?),
            };
            next.insert(id, state);
        }
        self.layers.store(Arc::new(next));
        self.change_id.store(change_id, Ordering::Release);
        self.open_archives().await;
        Ok(true)
    }

    /// The layers served, by id.
    pub fn layers(&self) -> Vec<LayerInfo> {
        let mut infos: Vec<LayerInfo> = self
            .layers
            .load()
            .values()
            .map(|s| s.info.clone())
            .collect();
        infos.sort_by(|a, b| a.id.cmp(&b.id));
        infos
    }

    /// One layer's facts.
    pub fn layer(&self, id: &str) -> Result<LayerInfo> {
        self.layers
            .load()
            .get(id)
            .map(|s| s.info.clone())
            .ok_or_else(|| TilesError::UnknownLayer(id.to_string()))
    }

    /// A tile of a layer: from the cache when it is still good, rendered otherwise. A tile with no
    /// features has an empty `raw`.
    pub async fn tile(&self, id: &str, coord: TileCoord) -> Result<Arc<EncodedTile>> {
        let state = self.state(id, coord)?;
        let key: TileKey = (Arc::from(id), coord);
        if let Some(tile) = self.cache.get(&key)
            && state.still_good(tile.generation, coord)
        {
            return Ok(tile);
        }
        let generation = state.generation;
        let archive = self
            .archives
            .load()
            .get(id)
            .filter(|a| a.covers(coord))
            .cloned();
        let tile = match archive {
            Some(archive) => {
                EncodedTile::new(archive.tile(coord).await?, generation, TileOrigin::Archive)
            }
            None => tokio::task::spawn_blocking(move || -> Result<EncodedTile> {
                Ok(EncodedTile::new(
                    render_state(&state, coord)?,
                    generation,
                    TileOrigin::Live,
                ))
            })
            .await
            .map_err(|e| TilesError::Encode(e.to_string()))??,
        };
        let tile = Arc::new(tile);
        self.cache.insert(key, tile.clone());
        Ok(tile)
    }

    /// Bytes of encoded tiles the cache holds.
    pub fn cached_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }
}

/// Renders a tile from the generalised level of its zoom, or from the full layer.
fn render_state(state: &LayerState, coord: TileCoord) -> Result<Vec<u8>> {
    let layer = state
        .levels
        .get(usize::from(coord.z))
        .unwrap_or(&state.layer);
    Ok(layer.render(coord)?.unwrap_or_default())
}

/// The generalised levels of a layer: the zoning plan is generalised as a coverage of sub-zones,
/// with road bodies given to their neighbours; other layers are drawn as they are.
fn levels_of(id: &str, layer: &VectorLayer) -> Vec<VectorLayer> {
    if id == "zoning" {
        generalised_levels(layer, "code", &["BJ"])
    } else {
        Vec::new()
    }
}

fn layer_info(loaded: &LoadedLayer, change_id: i64) -> LayerInfo {
    let bounds = loaded.layer.extent().map(|[w, s, e, n]| {
        let (west, south) = unproject(w, s);
        let (east, north) = unproject(e, n);
        [west, south, east, north]
    });
    LayerInfo {
        id: loaded.id.clone(),
        description: loaded.description.clone(),
        version: format!("c{change_id}"),
        bounds,
        minzoom: MIN_ZOOM,
        maxzoom: MAX_ZOOM,
        fields: loaded.fields.clone(),
    }
}

/// Bounding boxes of the features that differ between two versions of a layer (added, removed,
/// or with other properties or shape).
fn changed_areas(old: &VectorLayer, new: &VectorLayer) -> RTree<IndexedBox> {
    fn by_id(layer: &VectorLayer) -> HashMap<u64, &TileFeature> {
        layer.features().iter().map(|f| (f.id, f)).collect()
    }
    let (before, after) = (by_id(old), by_id(new));
    let differs = |a: &TileFeature, b: Option<&&TileFeature>| {
        b.is_none_or(|b| a.properties != b.properties || a.shape != b.shape)
    };
    let boxes = before
        .values()
        .filter(|f| differs(f, after.get(&f.id)))
        .chain(after.values().filter(|f| differs(f, before.get(&f.id))))
        .filter_map(|f| {
            use geo::BoundingRect;
            let rect = f.shape.bounding_rect()?;
            Some(IndexedBox {
                index: 0,
                envelope: AABB::from_corners(rect.min().into(), rect.max().into()),
            })
        })
        .collect();
    RTree::bulk_load(boxes)
}

fn decode(id: i64, wkb: Vec<u8>) -> Result<Geometry<f64>> {
    geozero::wkb::Wkb(wkb)
        .to_geo()
        .map_err(|e| TilesError::Encode(format!("stored geometry of feature {id}: {e}")))
}

/// A layer read from PostGIS, with what TileJSON says of it.
struct LoadedLayer {
    id: String,
    description: String,
    fields: Vec<(String, String)>,
    layer: VectorLayer,
}

/// Quotes a (possibly schema-qualified) SQL identifier.
fn quote(identifier: &str) -> String {
    identifier
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// Reads every layer from PostGIS: the zoning plan, and every table in the `tile_layer` registry.
async fn load_layers(conn: &mut PgConnection) -> Result<Vec<LoadedLayer>> {
    use sqlx::Row;
    type ZoningRow = (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        i64,
        Vec<u8>,
    );
    let rows: Vec<ZoningRow> = sqlx::query_as(include_str!("sql/zoning_layer.sql"))
        .fetch_all(&mut *conn)
        .await?;
    let keys: Vec<Key> = [
        "code",
        "catalog_code",
        "name",
        "color",
        "block",
        "plan_version",
    ]
    .map(Key::from)
    .into();
    let mut zoning = Vec::with_capacity(rows.len());
    for (id, code, catalog_code, name, color, block, version, wkb) in rows {
        let mut properties = vec![
            (keys[0].clone(), TileValue::Str(code)),
            (keys[1].clone(), TileValue::Str(catalog_code)),
            (keys[2].clone(), TileValue::Str(name)),
            (keys[3].clone(), TileValue::Str(color)),
        ];
        properties.extend(block.map(|b| (keys[4].clone(), TileValue::Str(b))));
        properties.push((keys[5].clone(), TileValue::Uint(version as u64)));
        zoning.push(TileFeature {
            id: id as u64,
            shape: decode(id, wkb)?,
            properties,
        });
    }
    let mut layers = vec![LoadedLayer {
        id: "zoning".into(),
        description: "Zoning plan (RDTR pola ruang): sub-zones of every published plan".into(),
        fields: ZONING_FIELDS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        layer: VectorLayer::new("zoning", zoning),
    }];

    type Registered = (String, String, String, String, String, Vec<String>);
    let registered: Vec<Registered> = sqlx::query_as(
        "SELECT id, description, table_name, id_column, geometry_column, properties FROM tile_layer ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (id, description, table, id_column, geometry_column, properties) in registered {
        let columns: String = properties
            .iter()
            .map(|p| format!(", {}::text", quote(p)))
            .collect();
        let sql = format!(
            "SELECT {id_col}::bigint, ST_AsBinary({geom}){columns} FROM {table} WHERE {geom} IS NOT NULL ORDER BY 1",
            id_col = quote(&id_column),
            geom = quote(&geometry_column),
            table = quote(&table),
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| TilesError::Encode(format!("tile layer {id} ({table}): {e}")))?;
        let keys: Vec<Key> = properties.iter().map(|p| Key::from(p.as_str())).collect();
        let mut features = Vec::with_capacity(rows.len());
        for row in rows {
            let feature_id: i64 = row.try_get(0)?;
            let shape = decode(feature_id, row.try_get(1)?)?;
            let values = keys
                .iter()
                .enumerate()
                .filter_map(|(i, key)| {
                    let value: Option<String> = row.try_get(i + 2).ok()?;
                    value.map(|v| (key.clone(), TileValue::Str(v)))
                })
                .collect();
            features.push(TileFeature {
                id: feature_id as u64,
                shape,
                properties: values,
            });
        }
        layers.push(LoadedLayer {
            fields: properties
                .iter()
                .map(|p| (p.clone(), String::new()))
                .collect(),
            layer: VectorLayer::new(&id, features),
            id,
            description,
        });
    }
    Ok(layers)
}
