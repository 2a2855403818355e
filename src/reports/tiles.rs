//! The reports as vector tiles, made by PostGIS (`ST_AsMVT`) per tile and kept a few seconds in
//! memory: public pins (no personal data, hidden reports left out) and the staff's layer. A report
//! taken or changed on this server drops the cached tiles at once; other servers' changes show
//! when their tiles expire ([`TTL`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sqlx::PgPool;

use super::today;

/// How long a tile is kept.
pub const TTL: Duration = Duration::from_secs(10);

/// Who a tile is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anyone: pins without personal data.
    Public,
    /// DPPR staff: hidden reports, kecamatan and overdue too.
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    audience: Audience,
    z: u8,
    x: u32,
    y: u32,
    generation: u64,
}

/// A tile as made, and gzipped when that makes it smaller (browsers take gzip).
#[derive(Debug, Clone)]
pub struct ReportTile {
    /// The tile.
    pub raw: Bytes,
    /// The tile gzipped, when larger than a packet.
    pub gzip: Option<Bytes>,
}

impl ReportTile {
    fn new(raw: Vec<u8>) -> Self {
        use std::io::Write;
        let gzip = (raw.len() > 1024).then(|| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = encoder.write_all(&raw);
            Bytes::from(encoder.finish().unwrap_or_default())
        });
        ReportTile {
            raw: Bytes::from(raw),
            gzip: gzip.filter(|g| !g.is_empty()),
        }
    }

    fn bytes(&self) -> u32 {
        (self.raw.len() + self.gzip.as_ref().map_or(0, Bytes::len)).max(64) as u32
    }
}

/// The cache of report tiles.
pub struct ReportTiles {
    cache: moka::future::Cache<Key, ReportTile>,
    generation: AtomicU64,
}

impl Default for ReportTiles {
    fn default() -> Self {
        ReportTiles {
            cache: moka::future::Cache::builder()
                .max_capacity(32 * 1024 * 1024)
                .weigher(|_, tile: &ReportTile| tile.bytes())
                .time_to_live(TTL)
                .build(),
            generation: AtomicU64::new(0),
        }
    }
}

impl ReportTiles {
    /// Forgets every cached tile (a report was taken or changed here).
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The tile `z/x/y` for `audience` (empty where there are no reports).
    pub async fn tile(
        &self,
        pool: &PgPool,
        audience: Audience,
        z: u8,
        x: u32,
        y: u32,
    ) -> Result<ReportTile, sqlx::Error> {
        let key = Key {
            audience,
            z,
            x,
            y,
            generation: self.generation.load(Ordering::Relaxed),
        };
        self.cache
            .try_get_with(key, async move {
                let tile: Option<Vec<u8>> = sqlx::query_scalar(include_str!("sql/tile.sql"))
                    .bind(i32::from(z))
                    .bind(x as i32)
                    .bind(y as i32)
                    .bind(audience == Audience::Staff)
                    .bind(today())
                    .fetch_one(pool)
                    .await?;
                Ok::<_, sqlx::Error>(ReportTile::new(tile.unwrap_or_default()))
            })
            .await
            .map_err(|e| match std::sync::Arc::try_unwrap(e) {
                Ok(e) => e,
                Err(shared) => sqlx::Error::Protocol(shared.to_string()),
            })
    }
}
