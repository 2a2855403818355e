//! Vector tiles (Mapbox Vector Tile 2.1) of the zoning plan and every published layer.
//!
//! Each layer is held in memory in Web Mercator with an R-tree, rendered per tile in Rust (clipped
//! to the tile plus a buffer, quantised to the 4096 grid, features smaller than a pixel dropped;
//! the zoning plan generalised at low zooms), and cached encoded and compressed (gzip and brotli)
//! in a memory cache bounded in bytes. The zoning layer is made from the live zoning snapshot, the
//! same features the point lookups answer from; the registered tables are read from PostGIS. A
//! change of the data (a plan published, rules loaded, by this or another process) rebuilds the
//! layers it concerns and evicts exactly the cached tiles that touch what changed.

mod archive;
mod cache;
mod changes;
mod day;
mod generalise;
mod layer;
mod mercator;
mod service;
mod sources;

pub use archive::{Archive, ArchiveInfo, SeedSummary, archive_path, seed};
pub use cache::{CodingTags, EncodedTile, TileCache, TileOrigin};
pub use day::DayTiles;
pub use generalise::{GENERALISED_UP_TO, REACH_UNITS, ShapeFacts, shape_facts};
pub use layer::{TileFeature, VectorLayer};
pub use mercator::{TileCoord, project, tile_bounds, unproject};
pub use service::{LayerInfo, TileService};
pub use sources::{ZONING, ZONING_FIELDS};

/// Errors of the tiles capability.
#[derive(Debug, thiserror::Error)]
pub enum TilesError {
    /// The tile is outside the layer's zoom range or the tile matrix.
    #[error("{0}")]
    OutOfRange(String),
    /// There is no such layer.
    #[error("there is no tile layer \"{0}\"")]
    UnknownLayer(String),
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// A tile archive could not be read or written.
    #[error("tile archive: {0}")]
    Archive(String),
    /// A geometry could not be encoded.
    #[error("encoding a tile: {0}")]
    Encode(String),
    /// No rendering slot came free, or rendering failed.
    #[error(transparent)]
    Cpu(#[from] crate::cpu::CpuError),
    /// The zoning of another day could not be read.
    #[error(transparent)]
    Zoning(#[from] crate::zoning::ZoningError),
    /// Work another request was doing for this one failed (the database, most likely).
    #[error("{0}")]
    Unavailable(String),
}

/// Result alias of the tiles capability.
pub type Result<T> = std::result::Result<T, TilesError>;

/// Zoom levels served.
pub const MIN_ZOOM: u8 = 0;
/// Zoom levels served.
pub const MAX_ZOOM: u8 = 18;
/// Tile extent in tile coordinates.
pub const EXTENT: u32 = 4096;
/// The largest tile served, uncompressed: the generalised zooms and the sub-pixel rule keep every
/// tile of a 100,000-zone plan below it (measured: at most about 320 KB, at zoom 13).
pub const MAX_TILE_BYTES: usize = 512 * 1024;
/// Buffer around each tile, in tile coordinates, so that strokes do not end at tile edges.
pub const BUFFER: u32 = 64;
