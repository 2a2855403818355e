//! Pre-seeded tile archives (PMTiles v3): writing one from a layer, and reading tiles from it
//! while it is as fresh as the layer.

use std::path::{Path, PathBuf};

use pmtiles::{AsyncPmTilesReader, MmapBackend, NoCache, PmTilesWriter, TileType};
use serde::{Deserialize, Serialize};

use super::mercator::project;
use super::{Result, TileCoord, TileService, TilesError};

/// What the archive's metadata records, to know whether it still matches the layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveInfo {
    /// The layer id.
    pub layer: String,
    /// The layer version it was seeded from.
    pub version: String,
    /// Zoom range seeded.
    pub minzoom: u8,
    /// Zoom range seeded.
    pub maxzoom: u8,
    /// Area seeded, `[west, south, east, north]` in degrees.
    pub bbox: [f64; 4],
}

/// An archive open for reading.
pub struct Archive {
    reader: AsyncPmTilesReader<MmapBackend, NoCache>,
    /// What it holds.
    pub info: ArchiveInfo,
}

impl Archive {
    /// Opens an archive written by [`seed`]; `None` if there is none at `path`.
    pub async fn open(path: &Path) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let reader = AsyncPmTilesReader::new_with_path(path)
            .await
            .map_err(archive_error(path))?;
        let metadata = reader.get_metadata().await.map_err(archive_error(path))?;
        let info: ArchiveInfo = serde_json::from_str(&metadata).map_err(|e| {
            TilesError::Archive(format!(
                "{}: metadata is not satupeta's: {e}",
                path.display()
            ))
        })?;
        Ok(Some(Archive { reader, info }))
    }

    /// Whether the archive covers the tile (its zoom range and area).
    pub fn covers(&self, coord: TileCoord) -> bool {
        if coord.z < self.info.minzoom || coord.z > self.info.maxzoom {
            return false;
        }
        let [w, s, e, n] = self.info.bbox;
        let (Ok(a), Ok(b)) = (
            TileCoord::containing(w, n, coord.z),
            TileCoord::containing(e, s, coord.z),
        ) else {
            return false;
        };
        (a.x..=b.x).contains(&coord.x) && (a.y..=b.y).contains(&coord.y)
    }

    /// The tile's MVT bytes, uncompressed; empty when the archive holds no tile there.
    pub async fn tile(&self, coord: TileCoord) -> Result<Vec<u8>> {
        let id = pmtiles::TileCoord::new(coord.z, coord.x, coord.y)
            .map_err(|e| TilesError::Archive(e.to_string()))?;
        let data = self
            .reader
            .get_tile_decompressed(id)
            .await
            .map_err(|e| TilesError::Archive(e.to_string()))?;
        Ok(data.map(|b| b.to_vec()).unwrap_or_default())
    }
}

fn archive_error(path: &Path) -> impl Fn(pmtiles::PmtError) -> TilesError + '_ {
    move |e| TilesError::Archive(format!("{}: {e}", path.display()))
}

/// Where a layer's archive lives in a tiles directory.
pub fn archive_path(dir: &Path, layer: &str) -> PathBuf {
    dir.join(format!("{layer}.pmtiles"))
}

/// What seeding wrote.
#[derive(Debug)]
pub struct SeedSummary {
    /// Tiles visited.
    pub tiles: u64,
    /// Tiles with features, written.
    pub written: u64,
    /// Bytes of the archive.
    pub bytes: u64,
}

/// Renders every tile of `layer` in the zoom range over `bbox` (default: the layer's bounds) and
/// writes them to a PMTiles archive at `out`, replacing it atomically.
pub async fn seed(
    service: &TileService,
    layer: &str,
    zooms: (u8, u8),
    bbox: Option<[f64; 4]>,
    out: &Path,
    progress: bool,
) -> Result<SeedSummary> {
    let info = service.layer(layer)?;
    let (minzoom, maxzoom) = zooms;
    if minzoom > maxzoom || maxzoom > info.maxzoom {
        return Err(TilesError::OutOfRange(format!(
            "zooms {minzoom}..{maxzoom} are not within {}..{}",
            info.minzoom, info.maxzoom
        )));
    }
    let bbox = bbox
        .or(info.bounds)
        .ok_or_else(|| TilesError::OutOfRange(format!("layer {layer} is empty")))?;
    let [w, s, e, n] = bbox;
    if !(w < e && s < n && project(w, s).0.is_finite()) {
        return Err(TilesError::OutOfRange(format!(
            "bbox {w},{s},{e},{n} is not west,south,east,north"
        )));
    }
    let ranges: Vec<(u8, TileCoord, TileCoord)> = (minzoom..=maxzoom)
        .map(|z| {
            Ok((
                z,
                TileCoord::containing(w, n, z)?,
                TileCoord::containing(e, s, z)?,
            ))
        })
        .collect::<Result<_>>()?;
    let total: u64 = ranges
        .iter()
        .map(|(_, a, b)| u64::from(b.x - a.x + 1) * u64::from(b.y - a.y + 1))
        .sum();
    let bar = if progress {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "seeding {msg} [{bar:40}] {pos}/{len} tiles ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(layer.to_string());

    let metadata = ArchiveInfo {
        layer: layer.to_string(),
        version: info.version.clone(),
        minzoom,
        maxzoom,
        bbox,
    };
    let temporary = out.with_extension("pmtiles.part");
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| TilesError::Archive(format!("{}: {e}", parent.display())))?;
    }
    let file = std::fs::File::create(&temporary)
        .map_err(|e| TilesError::Archive(format!("{}: {e}", temporary.display())))?;
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(minzoom)
        .max_zoom(maxzoom)
        .bounds(w, s, e, n)
        .metadata(serde_json::to_string(&metadata).unwrap_or_default())
        .create(std::io::BufWriter::new(file))
        .map_err(|e| TilesError::Archive(e.to_string()))?;
    let mut written = 0;
    for (z, a, b) in ranges {
        for x in a.x..=b.x {
            for y in a.y..=b.y {
                let coord = TileCoord::new(u32::from(z), x, y)?;
                let raw = service.render(layer, coord).await?;
                if !raw.is_empty() {
                    let id = pmtiles::TileCoord::new(z, x, y)
                        .map_err(|e| TilesError::Archive(e.to_string()))?;
                    writer
                        .add_tile(id, &raw)
                        .map_err(|e| TilesError::Archive(e.to_string()))?;
                    written += 1;
                }
                bar.inc(1);
            }
        }
    }
    writer
        .finalize()
        .map_err(|e| TilesError::Archive(e.to_string()))?;
    std::fs::rename(&temporary, out)
        .map_err(|e| TilesError::Archive(format!("{}: {e}", out.display())))?;
    bar.finish_and_clear();
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(SeedSummary {
        tiles: total,
        written,
        bytes,
    })
}
