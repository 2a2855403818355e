//! The certificate's map: the parcel and the zones around it, in metres (UTM zone 50S), read from
//! PostGIS, with the frame's corners in degrees.

use geo::{Geometry, MultiPolygon};
use geozero::ToGeo;
use sqlx::PgPool;

use super::pdf::{Corners, Frame, MapView, MapZone};
use super::{KrkError, Result};
use crate::zoning::ParcelRequest;

/// A row of `map.sql`.
#[derive(sqlx::FromRow)]
struct MapRow {
    kind: String,
    subzone: Option<String>,
    name: Option<String>,
    color: Option<String>,
    wkb: Option<Vec<u8>>,
    x0: Option<f64>,
    y0: Option<f64>,
    x1: Option<f64>,
    y1: Option<f64>,
    lon0: Option<f64>,
    lat0: Option<f64>,
    lon1: Option<f64>,
    lat1: Option<f64>,
}

/// Polygons as rings of points.
type Rings = Vec<Vec<Vec<(f64, f64)>>>;

/// The map of `parcel` among the plans in force.
pub async fn map_of(pool: &PgPool, parcel: &ParcelRequest) -> Result<MapView> {
    let wkb = super::draft::parcel_wkb(parcel)?;
    let rows: Vec<MapRow> = sqlx::query_as(include_str!("sql/map.sql"))
        .bind(&wkb)
        .fetch_all(pool)
        .await?;
    let mut view = MapView {
        frame: Frame {
            min_x: 0.0,
            min_y: 0.0,
            max_x: 1.0,
            max_y: 1.0,
        },
        zones: Vec::new(),
        parcel: Vec::new(),
        corners: Corners {
            top_left: String::new(),
            top_right: String::new(),
            bottom_left: String::new(),
            bottom_right: String::new(),
        },
        crs_note: "UTM zona 50S (EPSG:32750)".into(),
    };
    for row in rows {
        match row.kind.as_str() {
            "frame" => frame_of(&row, &mut view),
            "parcel" => view.parcel = rings(row.wkb)?,
            _ => add_zone(&mut view.zones, row)?,
        }
    }
    Ok(view)
}

/// Adds a zone's shape to its sub-zone's entry: one entry (and one legend line) per sub-zone.
fn add_zone(zones: &mut Vec<MapZone>, row: MapRow) -> Result<()> {
    let code = row.subzone.unwrap_or_default();
    let polygons = rings(row.wkb)?;
    match zones.iter_mut().find(|z| z.code == code) {
        Some(zone) => zone.polygons.extend(polygons),
        None => zones.push(MapZone {
            code,
            name: row.name.unwrap_or_default(),
            color: parse_color(row.color.as_deref()),
            polygons,
        }),
    }
    Ok(())
}

fn frame_of(row: &MapRow, view: &mut MapView) {
    let v = |x: Option<f64>| x.unwrap_or_default();
    view.frame = Frame {
        min_x: v(row.x0),
        min_y: v(row.y0),
        max_x: v(row.x1),
        max_y: v(row.y1),
    };
    let (lon0, lat0, lon1, lat1) = (v(row.lon0), v(row.lat0), v(row.lon1), v(row.lat1));
    view.corners = Corners {
        top_left: lon_lat(lon0, lat1),
        top_right: lon_lat(lon1, lat1),
        bottom_left: lon_lat(lon0, lat0),
        bottom_right: lon_lat(lon1, lat0),
    };
}

/// Degrees, minutes and seconds to a tenth: `116°51'02.3" BT`.
pub fn dms(value: f64, positive: &str, negative: &str) -> String {
    let hemisphere = if value < 0.0 { negative } else { positive };
    let tenths = (value.abs() * 36_000.0).round() as u64;
    let (degrees, rest) = (tenths / 36_000, tenths % 36_000);
    let (minutes, seconds) = (rest / 600, rest % 600);
    format!(
        "{degrees}°{minutes:02}'{:02}.{}\" {hemisphere}",
        seconds / 10,
        seconds % 10
    )
}

fn lon_lat(lon: f64, lat: f64) -> String {
    format!("{}, {}", dms(lat, "LU", "LS"), dms(lon, "BT", "BB"))
}

/// `#RRGGBB` as RGB; grey when absent or malformed.
fn parse_color(text: Option<&str>) -> [u8; 3] {
    let grey = [200, 200, 200];
    let Some(hex) = text
        .and_then(|t| t.strip_prefix('#'))
        .filter(|h| h.len() == 6)
    else {
        return grey;
    };
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    match (byte(0), byte(2), byte(4)) {
        (Some(r), Some(g), Some(b)) => [r, g, b],
        _ => grey,
    }
}

fn rings(wkb: Option<Vec<u8>>) -> Result<Rings> {
    let Some(wkb) = wkb else {
        return Ok(Vec::new());
    };
    let shape = geozero::wkb::Wkb(wkb)
        .to_geo()
        .map_err(|e| KrkError::Input(format!("a map shape cannot be read: {e}")))?;
    let polygons = match shape {
        Geometry::MultiPolygon(m) => m,
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        _ => MultiPolygon(Vec::new()),
    };
    Ok(polygons
        .0
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|ring| ring.coords().map(|c| (c.x, c.y)).collect())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_written_in_degrees_minutes_and_seconds() {
        assert_eq!(dms(116.8506389, "BT", "BB"), "116°51'02.3\" BT");
        assert_eq!(dms(-1.2654, "LU", "LS"), "1°15'55.4\" LS");
        assert_eq!(parse_color(Some("#97DBF2")), [0x97, 0xDB, 0xF2]);
        assert_eq!(parse_color(Some("red")), [200, 200, 200]);
    }
}
