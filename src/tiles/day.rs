//! The zoning tiles of another day: the layer of the plan versions in force that day (with their
//! rules' legend), made from PostGIS on the first request for the day and kept for a while. A few
//! days' layers at most are held (each is as large as today's); their tiles are cached like
//! today's. A day whose versions are today's is answered by the normal layer.

use std::sync::Arc;
use std::time::Duration;

use super::cache::{EncodedTile, TileOrigin};
use super::generalise::measure_all;
use super::service::render_layer;
use super::sources::zoning_layer;
use super::{Result, TileCoord, TilesError, VectorLayer};
use crate::zoning::Live;

/// Layers of other days kept at once.
const DAYS_KEPT: u64 = 2;
/// A day's layer is dropped when no tile of it was asked for this long.
const DAY_IDLE: Duration = Duration::from_secs(600);
/// Encoded tiles of other days kept, bytes.
const TILE_BYTES: u64 = 32 * 1024 * 1024;

/// (snapshot change, day): a day's layer is valid for one state of the database.
type DayKey = (i64, String);

/// The layers and tiles of other days.
pub struct DayTiles {
    /// `None`: the day's versions are today's.
    layers: moka::future::Cache<DayKey, Option<Arc<VectorLayer>>>,
    tiles: moka::future::Cache<(DayKey, TileCoord), Arc<EncodedTile>>,
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
        let key: DayKey = (live.snapshot().change_id, day.to_string());
        let Some(layer) = self.layer(live, &key).await? else {
            return Ok(None);
        };
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

    /// The day's layer, made once (concurrent requests for it wait for the one making it).
    async fn layer(&self, live: &Live, key: &DayKey) -> Result<Option<Arc<VectorLayer>>> {
        self.layers
            .try_get_with(key.clone(), async {
                let Some(snapshot) = live.snapshot_on(&key.1).await? else {
                    return Ok(None);
                };
                let layer = crate::cpu::background(move || {
                    let layer = zoning_layer(&snapshot, None).layer;
                    measure_all(&layer);
                    Arc::new(layer)
                })
                .await?;
                Ok::<_, TilesError>(Some(layer))
            })
            .await
            .map_err(shared)
    }
}

/// An error shared by every request that waited for the same work, as its own.
fn shared(e: Arc<TilesError>) -> TilesError {
    Arc::try_unwrap(e).unwrap_or_else(|e| TilesError::Unavailable(e.to_string()))
}
