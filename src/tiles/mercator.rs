//! Web Mercator (EPSG:3857) and the WebMercatorQuad tile matrix.

use serde::Serialize;

use super::{MAX_ZOOM, MIN_ZOOM, Result, TilesError};

/// Half the width of the Web Mercator square, metres.
pub const HALF_WORLD: f64 = 20_037_508.342_789_244;
const EARTH_RADIUS: f64 = 6_378_137.0;

/// A tile of the WebMercatorQuad matrix (x to the east, y to the south, from the north-west).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TileCoord {
    /// Zoom level.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

impl TileCoord {
    /// A tile, checked against the served zoom range and the matrix size.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self> {
        if z < u32::from(MIN_ZOOM) || z > u32::from(MAX_ZOOM) {
            return Err(TilesError::OutOfRange(format!(
                "zoom {z} is outside {MIN_ZOOM}..{MAX_ZOOM}"
            )));
        }
        let size = 1u32 << z;
        if x >= size || y >= size {
            return Err(TilesError::OutOfRange(format!(
                "tile {z}/{x}/{y} is outside the {size}×{size} matrix of zoom {z}"
            )));
        }
        Ok(TileCoord { z: z as u8, x, y })
    }

    /// The tile of zoom `z` that contains a WGS 84 point.
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<Self> {
        let (x, y) = project(lon, lat);
        let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
        let column = ((x + HALF_WORLD) / size).floor().max(0.0) as u32;
        let row = ((HALF_WORLD - y) / size).floor().max(0.0) as u32;
        TileCoord::new(u32::from(z), column, row)
    }

    /// Side of this tile, metres.
    pub fn size(self) -> f64 {
        2.0 * HALF_WORLD / f64::from(1u32 << self.z)
    }
}

/// Bounds of a tile in EPSG:3857: `[west, south, east, north]`.
pub fn tile_bounds(tile: TileCoord) -> [f64; 4] {
    let size = tile.size();
    let west = -HALF_WORLD + f64::from(tile.x) * size;
    let north = HALF_WORLD - f64::from(tile.y) * size;
    [west, north - size, west + size, north]
}

/// Projects WGS 84 longitude and latitude (degrees) to Web Mercator metres.
pub fn project(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    (
        EARTH_RADIUS * lon.to_radians(),
        EARTH_RADIUS * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln(),
    )
}

/// Web Mercator metres back to WGS 84 longitude and latitude (degrees).
pub fn unproject(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / EARTH_RADIUS).to_degrees();
    let lat = (2.0 * (y / EARTH_RADIUS).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_world_and_projection_round_trips() {
        assert_eq!(
            tile_bounds(TileCoord::new(0, 0, 0).unwrap()),
            [-HALF_WORLD, -HALF_WORLD, HALF_WORLD, HALF_WORLD]
        );
        let [w, s, e, n] = tile_bounds(TileCoord::new(1, 1, 0).unwrap());
        assert_eq!((w, s, e, n), (0.0, 0.0, HALF_WORLD, HALF_WORLD));
        let (x, y) = project(116.8277, -1.2768);
        let (lon, lat) = unproject(x, y);
        assert!((lon - 116.8277).abs() < 1e-9 && (lat + 1.2768).abs() < 1e-9);
        assert_eq!(
            TileCoord::containing(116.8277, -1.2768, 14).unwrap(),
            TileCoord {
                z: 14,
                x: 13508,
                y: 8250
            }
        );
        assert!(TileCoord::new(19, 0, 0).is_err());
        assert!(TileCoord::new(2, 4, 0).is_err());
    }
}
