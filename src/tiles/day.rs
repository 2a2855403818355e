//! The zoning tiles of another day: the layer of the plan versions in force that day (with their
//! rules' legend), made from PostGIS on the first request and kept for a while. Layers are keyed by
//! the versions, not the day, so every day with the same versions shares one (asking for many days
//! makes no more layers than there are combinations of versions); two at most are held (each is as
//! large as today's), one is made at a time. A day whose versions are today's is answered by the
//! normal layer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{EncodedTile, TileOrigin};
use super::generalise::measure_all;
use super::service::render_layer;
use super::sources::zoning_layer;
use super::{Result, TileCoord, TilesError, VectorLayer};
use crate::zoning::{Live, versions_in_force};

/// Layers of other days kept at once.
const DAYS_KEPT: u64 = 2;
/// A day's layer is dropped when no tile of it was asked for this long.
const DAY_IDLE: Duration = Duration::from_secs(600);
/// Encoded tiles of other days kept, bytes.
const TILE_BYTES: u64 = 32 * 1024 * 1024;

/// (snapshot change, the versions in force, sorted): a layer is valid for one state of the database.
type DayKey = (i64, Vec<i64>);
/// How long a request waits for another day's layer being made before it is told to come back.
const BUILD_WAIT: Duration = Duration::from_secs(3);

/// The layers and tiles of other days.
pub struct DayTiles {
    /// `None`: the day's versions are today's.
    layers: moka::future::Cache<DayKey, Arc<VectorLayer>>,
    tiles: moka::future::Cache<(DayKey, TileCoord), Arc<EncodedTile>>,
    /// One layer made at a time.
    building: tokio::sync::Semaphore,
}

impl Default for DayTiles {
    fn default() -> Self {
        DayTiles {
            layers: moka::future::Cache::builder()
                .max_capacity(DAYS_KEPT)
                .time_to_idle(DAY_IDLE)
                .build(),
            tiles: moka::future::Cache::builder()
                .max_capacity(TILE_BYTES)
                .weigher(|_, tile: &Arc<EncodedTile>| tile.weight())
                .time_to_idle(DAY_IDLE)
                .build(),
            building: tokio::sync::Semaphore::new(1),
        }
    }
}

impl DayTiles {
    /// The zoning tile at `coord` as on `day` (YYYY-MM-DD), or `None` when that day's versions
    /// are today's.
    pub async fn tile(
        &self,
        live: &Live,
        day: &str,
        coord: TileCoord,
    ) -> Result<Option<Arc<EncodedTile>>> {
        let snapshot = live.snapshot();
        let in_force = versions_in_force(snapshot.index.versions(), day);
        if &in_force == snapshot.index.in_force() {
            return Ok(None);
        }
        let mut versions: Vec<i64> = in_force.values().copied().collect();
        versions.sort_unstable();
        let key: DayKey = (snapshot.change_id, versions);
        let layer = self.layer(live, day, in_force, &key).await?;
        let tile = self
            .tiles
            .try_get_with((key, coord), async move {
                crate::cpu::run(move || -> Result<EncodedTile> {
                    Ok(EncodedTile::new(
                        render_layer(&layer, coord)?,
                        0,
                        TileOrigin::Live,
                    ))
                })
                .await?
                .map(Arc::new)
            })
            .await
            .map_err(shared)?;
        Ok(Some(tile))
    }

    /// The layer of versions `in_force`, made once (concurrent requests for it wait for the one
    /// making it; another layer waits its turn, a few seconds at most).
    async fn layer(
        &self,
        live: &Live,
        day: &str,
        in_force: HashMap<i64, i64>,
        key: &DayKey,
    ) -> Result<Arc<VectorLayer>> {
        self.layers
            .try_get_with(key.clone(), async {
                let _turn = tokio::time::timeout(BUILD_WAIT, self.building.acquire())
                    .await
                    .map_err(|_| crate::cpu::CpuError::Busy)?
                    .map_err(|_| crate::cpu::CpuError::Busy)?;
                let snapshot = live.snapshot_of(day, in_force).await?;
                let layer = crate::cpu::background(move || {
                    let layer = zoning_layer(&snapshot, None).layer;
                    measure_all(&layer);
                    Arc::new(layer)
                })
                .await?;
                Ok::<_, TilesError>(layer)
            })
            .await
            .map_err(shared)
    }
}

/// An error shared by every request that waited for the same work, as its own.
fn shared(e: Arc<TilesError>) -> TilesError {
    Arc::try_unwrap(e).unwrap_or_else(|e| TilesError::Unavailable(e.to_string()))
}
