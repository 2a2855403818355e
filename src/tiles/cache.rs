//! The memory cache of encoded tiles, compressed once (gzip and brotli) and bounded in bytes.
//!
//! Entries carry the generation of the layer they were rendered from. A layer reload records
//! which areas changed; an entry from an older generation is still served when none of the
//! changes since then touches its tile, and rendered again otherwise. So a publication evicts
//! exactly the tiles it affects, also those a concurrent request was still rendering.

use std::io::Write;
use std::sync::Arc;

use axum::http::HeaderValue;
use bytes::Bytes;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use super::TileCoord;

/// Where a tile's content came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileOrigin {
    /// Rendered from the layer in memory.
    Live,
    /// Read from a pre-seeded archive.
    Archive,
}

impl TileOrigin {
    /// The name shown in the `X-Tile-Source` header.
    pub fn as_str(self) -> &'static str {
        match self {
            TileOrigin::Live => "live",
            TileOrigin::Archive => "archive",
        }
    }
}

/// One tile, encoded, in every encoding served, with its strong ETag. The bytes are shared
/// (`Bytes`): answering from the cache copies nothing.
#[derive(Debug)]
pub struct EncodedTile {
    /// The MVT bytes, uncompressed (empty for a tile with no features).
    pub raw: Bytes,
    /// gzip-compressed.
    pub gzip: Bytes,
    /// brotli-compressed.
    pub brotli: Bytes,
    /// The strong ETag of each body: one per content coding, as RFC 9110 asks of strong
    /// validators; header values made once.
    pub etags: CodingTags,
    /// Generation of the layer it was rendered from.
    pub generation: u64,
    /// Where it came from.
    pub origin: TileOrigin,
}

/// The ETags of a tile's bodies: a digest of the tile, and the coding.
#[derive(Debug)]
pub struct CodingTags {
    /// Of the uncompressed body.
    pub raw: HeaderValue,
    /// Of the gzip body.
    pub gzip: HeaderValue,
    /// Of the brotli body.
    pub brotli: HeaderValue,
}

impl EncodedTile {
    /// Compresses `raw` and computes its ETags.
    pub fn new(raw: Vec<u8>, generation: u64, origin: TileOrigin) -> Self {
        let hash = hex::encode(&Sha256::digest(&raw)[..12]);
        let tag = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{hash}{suffix}\""))
                .unwrap_or(HeaderValue::from_static("\"\""))
        };
        let etags = CodingTags {
            raw: tag(""),
            gzip: tag("-gz"),
            brotli: tag("-br"),
        };
        if raw.is_empty() {
            return EncodedTile {
                raw: Bytes::new(),
                gzip: Bytes::new(),
                brotli: Bytes::new(),
                etags,
                generation,
                origin,
            };
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        let _ = gz.write_all(&raw);
        let gzip = gz.finish().unwrap_or_default();
        let mut brotli = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut brotli, 4096, 6, 22);
            let _ = writer.write_all(&raw);
        }
        EncodedTile {
            raw: Bytes::from(raw),
            gzip: Bytes::from(gzip),
            brotli: Bytes::from(brotli),
            etags,
            generation,
            origin,
        }
    }

    pub(crate) fn weight(&self) -> u32 {
        (self.raw.len() + self.gzip.len() + self.brotli.len() + 128) as u32
    }
}

/// Key of a cached tile.
pub type TileKey = (Arc<str>, TileCoord);

/// The tile cache.
pub struct TileCache {
    cache: Cache<TileKey, Arc<EncodedTile>>,
}

impl TileCache {
    /// A cache holding at most `max_bytes` of encoded tiles.
    pub fn new(max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &TileKey, tile: &Arc<EncodedTile>| tile.weight())
            .support_invalidation_closures()
            .build();
        TileCache { cache }
    }

    /// The cached tile, if any.
    pub fn get(&self, key: &TileKey) -> Option<Arc<EncodedTile>> {
        self.cache.get(key)
    }

    /// Stores a tile.
    pub fn insert(&self, key: TileKey, tile: Arc<EncodedTile>) {
        self.cache.insert(key, tile);
    }

    /// Evicts every tile of `layer` for which `affected` holds.
    pub fn evict(&self, layer: &str, affected: impl Fn(TileCoord) -> bool + Send + Sync + 'static) {
        let layer: Arc<str> = layer.into();
        let _ = self
            .cache
            .invalidate_entries_if(move |key, _| key.0 == layer && affected(key.1));
    }

    /// Bytes held (approximate; moka counts lazily).
    pub fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}
