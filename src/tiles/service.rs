//! The tile layers, their TileJSON facts, and serving a tile from the cache, from a pre-seeded
//! archive, or by rendering it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use arc_swap::ArcSwap;
use rstar::AABB;
use serde::Serialize;
use sqlx::PgPool;

use super::cache::TileKey;
use super::changes::ChangedAreas;
use super::generalise::{GENERALISED_UP_TO, REACH_UNITS, measure_all, render_generalised};
use super::mercator::{tile_bounds, unproject};
use super::sources::{LoadedLayer, ZONING, registered_layers, zoning_layer};
use super::{Archive, TileOrigin, archive_path};
use super::{
    BUFFER, EXTENT, EncodedTile, MAX_ZOOM, MIN_ZOOM, Result, TileCache, TileCoord, TileFeature,
    TilesError, VectorLayer,
};
use crate::db::replicas::Reader;
use crate::zoning::{Live, Snapshot};

/// How many past changes a layer remembers to decide whether an older cached tile is still good
/// (each is at most the cells the layer covers: see [`ChangedAreas`]).
const REMEMBERED_CHANGES: usize = 32;

/// What TileJSON and the OGC tileset metadata say about a layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    /// Layer id (URL path segment and MVT layer name).
    pub id: String,
    /// What the layer holds.
    pub description: String,
    /// Version of the content: part of tile URLs, so that those URLs can be cached for ever. It
    /// names the change that last changed the layer's content.
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

/// A layer as currently served, with the changes it went through.
struct LayerState {
    /// The id as cache keys hold it.
    key: Arc<str>,
    layer: Arc<VectorLayer>,
    info: Arc<LayerInfo>,
    generation: u64,
    /// (generation that made the change, areas it touched in EPSG:3857)
    changes: Vec<(u64, Arc<ChangedAreas>)>,
}

impl LayerState {
    fn first(loaded: LoadedLayer, change_id: i64) -> Self {
        let info = layer_info(&loaded, change_id);
        LayerState {
            key: Arc::from(loaded.id.as_str()),
            layer: Arc::new(loaded.layer),
            info: Arc::new(info),
            generation: 1,
            changes: Vec::new(),
        }
    }

    /// The state after `loaded` replaced this one's content; `None` when nothing changed.
    fn next(&self, loaded: LoadedLayer, change_id: i64) -> Option<(Self, Arc<ChangedAreas>)> {
        let changed = changed_areas(&self.layer, &loaded.layer);
        if changed.is_empty() && self.info.description == loaded.description {
            return None;
        }
        let generation = self.generation + 1;
        tracing::debug!(
            layer = %self.key,
            generation,
            areas = changed.len(),
            "tile layer changed"
        );
        let changed = Arc::new(changed);
        let mut changes = self.changes.clone();
        changes.push((generation, changed.clone()));
        if changes.len() > REMEMBERED_CHANGES {
            changes.remove(0);
        }
        let info = layer_info(&loaded, change_id);
        Some((
            LayerState {
                key: self.key.clone(),
                layer: Arc::new(loaded.layer),
                info: Arc::new(info),
                generation,
                changes,
            },
            changed,
        ))
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

/// Whether any area in `areas` touches the tile, with its buffer and (for generalised tiles) the
/// cells the generalisation reads around it.
fn touches(areas: &ChangedAreas, coord: TileCoord) -> bool {
    let [west, south, east, north] = tile_bounds(coord);
    let margin = (east - west) * f64::from(BUFFER.max(REACH_UNITS)) / f64::from(EXTENT);
    let envelope = AABB::from_corners(
        [west - margin, south - margin],
        [east + margin, north + margin],
    );
    areas.touch(&envelope)
}

/// Every tile layer, the tile cache, and the changes the layers reflect.
pub struct TileService {
    /// Where the registered tables are read (a read replica, or the primary).
    reader: Reader,
    layers: ArcSwap<HashMap<String, Arc<LayerState>>>,
    cache: TileCache,
    /// The change (of the zoning snapshot, the newest of the database when it was read) the
    /// layers reflect.
    change_id: AtomicI64,
    /// Serialises refreshes.
    refreshing: tokio::sync::Mutex<()>,
    /// Where pre-seeded archives are looked for.
    tiles_dir: Option<PathBuf>,
    archives: ArcSwap<HashMap<String, Arc<Archive>>>,
}

impl TileService {
    /// Loads every layer: the zoning layer from `snapshot`, the registered tables from PostGIS.
    /// The cache holds at most `cache_bytes` of encoded tiles; pre-seeded archives are read from
    /// `tiles_dir` while they are fresh.
    pub async fn load(
        reader: Reader,
        snapshot: Arc<Snapshot>,
        cache_bytes: u64,
        tiles_dir: Option<PathBuf>,
    ) -> Result<Self> {
        let change_id = snapshot.change_id;
        let zoning = build_zoning(snapshot, None).await?;
        let mut layers = HashMap::new();
        layers.insert(
            ZONING.to_string(),
            Arc::new(LayerState::first(zoning, change_id)),
        );
        for loaded in read_tables(&reader, None).await? {
            let id = loaded.id.clone();
            layers.insert(id, Arc::new(LayerState::first(loaded, change_id)));
        }
        measure_in_background(&layers);
        let service = TileService {
            reader,
            layers: ArcSwap::from_pointee(layers),
            cache: TileCache::new(cache_bytes),
            change_id: AtomicI64::new(change_id),
            refreshing: tokio::sync::Mutex::new(()),
            tiles_dir,
            archives: ArcSwap::from_pointee(HashMap::new()),
        };
        service.open_archives().await;
        Ok(service)
    }

    /// Like [`TileService::load`], reading the zoning snapshot itself (for seeding and tests).
    pub async fn open(pool: PgPool, cache_bytes: u64, tiles_dir: Option<PathBuf>) -> Result<Self> {
        let live = Live::load(pool.clone())
            .await
            .map_err(|e| TilesError::Encode(format!("reading the zoning snapshot: {e}")))?;
        let snapshot = live.snapshot();
        Self::load(Reader::primary(pool), snapshot, cache_bytes, tiles_dir).await
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
        crate::cpu::run(move || render_state(&state, coord)).await?
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

    /// Brings the layers up to date with `snapshot`: the zoning layer from it, the registered
    /// tables from the database, when the snapshot holds a change the layers do not. Evicts the
    /// cached tiles of what changed; returns whether anything did.
    pub async fn refresh(&self, snapshot: Arc<Snapshot>) -> Result<bool> {
        let _one_at_a_time = self.refreshing.lock().await;
        let change = snapshot.change_id;
        if change == self.change_id.load(Ordering::Acquire) {
            return Ok(false);
        }
        let previous = self.layers.load().get(ZONING).map(|s| s.layer.clone());
        let zoning = build_zoning(snapshot, previous).await?;
        let tables = read_tables(&self.reader, None).await?;
        let changed = self.apply(zoning, tables, change);
        self.change_id.store(change, Ordering::Release);
        if changed {
            self.open_archives().await;
        }
        Ok(changed)
    }

    /// Reads the layers `ids` again (datasets published, approved or edited: their topics
    /// changed, not the zoning snapshot); every other layer stays as it is, and a layer no longer
    /// registered is dropped.
    pub async fn refresh_tables(&self, ids: &[String]) -> Result<bool> {
        let _one_at_a_time = self.refreshing.lock().await;
        let read = read_tables(&self.reader, Some(ids)).await?;
        let change = self.change_id.load(Ordering::Acquire);
        let current = self.layers.load_full();
        let mut next: HashMap<String, Arc<LayerState>> = current
            .iter()
            .filter(|(id, _)| !ids.contains(id))
            .map(|(id, state)| (id.clone(), state.clone()))
            .collect();
        let mut changed = false;
        for loaded in read {
            let id = loaded.id.clone();
            let (state, new) = self.next_state(current.get(&id), loaded, change);
            changed |= new;
            next.insert(id, state);
        }
        changed |= next.len() != current.len();
        self.layers.store(Arc::new(next));
        if changed {
            self.open_archives().await;
        }
        Ok(changed)
    }

    /// The state of a layer read again: the old one when its content is the same; else the new one,
    /// with the cached tiles of what changed evicted. Says whether it changed.
    fn next_state(
        &self,
        old: Option<&Arc<LayerState>>,
        loaded: LoadedLayer,
        change: i64,
    ) -> (Arc<LayerState>, bool) {
        match old {
            Some(old) => match old.next(loaded, change) {
                Some((state, areas)) => {
                    self.cache
                        .evict(&old.key, move |coord| touches(&areas, coord));
                    (Arc::new(state), true)
                }
                None => (old.clone(), false),
            },
            None => {
                // A layer id registered again starts at generation 1 anew: tiles cached under
                // that id before (of the layer it was) must not pass for its first generation.
                self.cache.evict(&loaded.id, |_| true);
                (Arc::new(LayerState::first(loaded, change)), true)
            }
        }
    }

    /// Swaps in the new layer states (a table no longer registered is dropped); evicts the cached
    /// tiles of what changed.
    fn apply(&self, zoning: LoadedLayer, tables: Vec<LoadedLayer>, change: i64) -> bool {
        let current = self.layers.load_full();
        let mut next: HashMap<String, Arc<LayerState>> = HashMap::new();
        let mut changed = tables.len() + 1 != current.len();
        let mut zoning_changed = false;
        for loaded in std::iter::once(zoning).chain(tables) {
            let id = loaded.id.clone();
            let (state, new) = self.next_state(current.get(&id), loaded, change);
            zoning_changed |= new && id == ZONING;
            changed |= new;
            next.insert(id, state);
        }
        if zoning_changed {
            measure_in_background(&next);
        }
        self.layers.store(Arc::new(next));
        changed
    }

    /// The layers served, by id.
    pub fn layers(&self) -> Vec<Arc<LayerInfo>> {
        let mut infos: Vec<Arc<LayerInfo>> = self
            .layers
            .load()
            .values()
            .map(|s| s.info.clone())
            .collect();
        infos.sort_by(|a, b| a.id.cmp(&b.id));
        infos
    }

    /// One layer's facts.
    pub fn layer(&self, id: &str) -> Result<Arc<LayerInfo>> {
        self.layers
            .load()
            .get(id)
            .map(|s| s.info.clone())
            .ok_or_else(|| TilesError::UnknownLayer(id.to_string()))
    }

    /// A tile of a layer, with the layer's facts at the time: from the cache when it is still
    /// good, from a fresh archive, or rendered. A tile with no features has an empty `raw`.
    pub async fn tile(
        &self,
        id: &str,
        coord: TileCoord,
    ) -> Result<(Arc<EncodedTile>, Arc<LayerInfo>)> {
        let state = self.state(id, coord)?;
        let key: TileKey = (state.key.clone(), coord);
        if let Some(tile) = self.cache.get(&key)
            && state.still_good(tile.generation, coord)
        {
            metrics::counter!(crate::observe::TILE_REQUESTS, "result" => "hit").increment(1);
            return Ok((tile, state.info.clone()));
        }
        let generation = state.generation;
        let info = state.info.clone();
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
            None => {
                crate::cpu::run(move || -> Result<EncodedTile> {
                    Ok(EncodedTile::new(
                        render_state(&state, coord)?,
                        generation,
                        TileOrigin::Live,
                    ))
                })
                .await??
            }
        };
        let result = match tile.origin {
            TileOrigin::Archive => "archive",
            TileOrigin::Live => "render",
        };
        metrics::counter!(crate::observe::TILE_REQUESTS, "result" => result).increment(1);
        let tile = Arc::new(tile);
        self.cache.insert(key, tile.clone());
        Ok((tile, info))
    }

    /// Bytes of encoded tiles the cache holds.
    pub fn cached_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }
}

/// Builds the zoning layer of a snapshot on a blocking thread (projecting and indexing a large
/// plan takes a moment of CPU).
async fn build_zoning(
    snapshot: Arc<Snapshot>,
    previous: Option<Arc<VectorLayer>>,
) -> Result<LoadedLayer> {
    Ok(crate::cpu::background(move || zoning_layer(&snapshot, previous.as_deref())).await?)
}

/// Measures the zones of the zoning layer on a blocking thread (zones already measured, kept
/// across reloads, are skipped at once).
fn measure_in_background(layers: &HashMap<String, Arc<LayerState>>) {
    if let Some(zoning) = layers.get(ZONING) {
        let layer = zoning.layer.clone();
        tokio::spawn(crate::cpu::background(move || measure_all(&layer)));
    }
}

/// Renders a tile: generalised at low zooms for a coverage layer, else every feature.
fn render_state(state: &LayerState, coord: TileCoord) -> Result<Vec<u8>> {
    render_layer(&state.layer, coord)
}

/// Renders a tile of `layer` (empty when nothing falls in it).
pub(super) fn render_layer(layer: &VectorLayer, coord: TileCoord) -> Result<Vec<u8>> {
    let rendered = if coord.z <= GENERALISED_UP_TO && !layer.classes().is_empty() {
        render_generalised(layer, coord)?
    } else {
        layer.render(coord)?
    };
    Ok(rendered.unwrap_or_default())
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
        version: loaded
            .version
            .clone()
            .unwrap_or_else(|| format!("c{change_id}")),
        bounds,
        minzoom: MIN_ZOOM,
        maxzoom: MAX_ZOOM,
        fields: loaded.fields.clone(),
    }
}

/// The registered tables (those of `ids`, or all) as tile layers, read by `reader`.
async fn read_tables(reader: &Reader, ids: Option<&[String]>) -> Result<Vec<LoadedLayer>> {
    reader
        .read(|pool| {
            Box::pin(async move {
                let mut conn = pool.acquire().await?;
                registered_layers(&mut conn, ids).await
            })
        })
        .await
}

/// Bounding boxes of the features that differ between two versions of a layer (added, removed,
/// or with other properties or shape).
fn changed_areas(old: &VectorLayer, new: &VectorLayer) -> ChangedAreas {
    fn by_id(layer: &VectorLayer) -> HashMap<u64, &TileFeature> {
        layer.features().iter().map(|f| (f.id, f)).collect()
    }
    let (before, after) = (by_id(old), by_id(new));
    let differs = |a: &TileFeature, b: Option<&&TileFeature>| {
        b.is_none_or(|b| {
            !a.all_properties().eq(b.all_properties()) || a.shape != b.shape || a.class != b.class
        })
    };
    let boxes = before
        .values()
        .filter(|f| differs(f, after.get(&f.id)))
        .chain(after.values().filter(|f| differs(f, before.get(&f.id))))
        .filter_map(|f| {
            use geo::BoundingRect;
            let rect = f.shape.bounding_rect()?;
            Some(AABB::from_corners(rect.min().into(), rect.max().into()))
        });
    ChangedAreas::snapped(boxes)
}
