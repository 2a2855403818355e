//! Writing the demo plan: one GeoPackage layer in EPSG:32750 with the Permen 14 fields.

use std::path::Path;

use gdal::DriverManager;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, FieldValue, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal,
};
use geo::{Area, LineString, MultiPolygon, Polygon};

use super::zoning::{Overlays, kecamatan_abbreviation, subzone_fields};
use super::{DemoError, LAYER, Result};

/// A polygon of the plan with its sub-zone and place.
pub struct Zoned {
    pub subzone: &'static str,
    pub shape: MultiPolygon<f64>,
    pub kelurahan: usize,
    pub block: String,
    pub subblock: String,
    pub overlays: Overlays,
}

/// The names a polygon takes from its kelurahan.
pub struct Names<'a> {
    pub kelurahan: &'a str,
    pub kecamatan: &'a str,
}

/// The Permen 14 fields the demo layer carries, in order.
const FIELDS: [(&str, OGRFieldType::Type); 28] = [
    ("NAMOBJ", OGRFieldType::OFTString),
    ("JNSRPR", OGRFieldType::OFTString),
    ("KODZON", OGRFieldType::OFTString),
    ("NAMZON", OGRFieldType::OFTString),
    ("KODSZN", OGRFieldType::OFTString),
    ("NAMSZN", OGRFieldType::OFTString),
    ("KODSZNTEXT", OGRFieldType::OFTString),
    ("KODEWP", OGRFieldType::OFTString),
    ("KODSWP", OGRFieldType::OFTString),
    ("KODBLK", OGRFieldType::OFTString),
    ("KODSBL", OGRFieldType::OFTString),
    ("WADMPR", OGRFieldType::OFTString),
    ("WADMKK", OGRFieldType::OFTString),
    ("WADMKC", OGRFieldType::OFTString),
    ("WADMKD", OGRFieldType::OFTString),
    ("KKOP_1", OGRFieldType::OFTString),
    ("LP2B_2", OGRFieldType::OFTString),
    ("KRB_03", OGRFieldType::OFTString),
    ("TOD_04", OGRFieldType::OFTString),
    ("TEB_05", OGRFieldType::OFTString),
    ("CAGBUD", OGRFieldType::OFTString),
    ("KSMPDN", OGRFieldType::OFTString),
    ("HANKAM", OGRFieldType::OFTString),
    ("KKARST", OGRFieldType::OFTString),
    ("RESAIR", OGRFieldType::OFTString),
    ("TPZ_00", OGRFieldType::OFTString),
    ("REMARK", OGRFieldType::OFTString),
    ("LUASHA", OGRFieldType::OFTReal),
];

/// Writes the plan to `out` (replaced if it exists).
pub fn write_geopackage(
    out: &Path,
    zoned: &[Zoned],
    kelurahan: &[Names],
    srs: &SpatialRef,
) -> Result<()> {
    replace(out)?;
    let driver = DriverManager::get_driver_by_name("GPKG")?;
    let mut dataset = driver.create_vector_only(out)?;
    let mut txn = dataset.start_transaction()?;
    let layer = txn.create_layer(LayerOptions {
        name: LAYER,
        srs: Some(srs),
        ty: OGRwkbGeometryType::wkbMultiPolygon,
        options: None,
    })?;
    layer.create_defn_fields(&FIELDS)?;
    let defn = layer.defn();
    for z in zoned {
        let mut feature = Feature::new(defn)?;
        for (i, value) in field_values(z, &kelurahan[z.kelurahan]).iter().enumerate() {
            feature.set_field(i, value)?;
        }
        feature.set_geometry(valid_multipolygon(&densified(&z.shape))?)?;
        feature.create(&layer)?;
    }
    txn.commit()?;
    Ok(())
}

/// Removes an old file at `out` and makes its folder.
fn replace(out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_file(out)
            .map_err(|e| DemoError::Input(format!("cannot replace {}: {e}", out.display())))?;
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| DemoError::Input(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// The values of `FIELDS` for a polygon of kelurahan `k`.
fn field_values(z: &Zoned, k: &Names) -> [FieldValue; 28] {
    let none = "Tidak Ada";
    let s = subzone_fields(z.subzone);
    let abbreviation = kecamatan_abbreviation(k.kecamatan);
    [
        text(s.name),
        text(if s.lindung {
            "Zona Lindung"
        } else {
            "Zona Budi Daya"
        }),
        text(s.zone),
        text(s.zone_name),
        text(s.catalog),
        text(s.name),
        text(s.code),
        text(&format!(
            "WP {}",
            k.kecamatan.trim_start_matches("Balikpapan ")
        )),
        text(&format!("SWP {abbreviation}")),
        text(&z.block),
        text(&z.subblock),
        text("Kalimantan Timur"),
        text("Kota Balikpapan"),
        text(k.kecamatan),
        text(k.kelurahan),
        text(z.overlays.kkop.unwrap_or(none)),
        text(z.overlays.lp2b.unwrap_or(none)),
        text(z.overlays.krb.unwrap_or(none)),
        text(z.overlays.tod.unwrap_or(none)),
        text(none),
        text(z.overlays.cagbud.unwrap_or(none)),
        text(z.overlays.ksmpdn.unwrap_or(none)),
        text(if z.subzone == "HK" {
            "Kawasan Pertahanan"
        } else {
            none
        }),
        text(none),
        text(none),
        text(if z.overlays.tod.is_some() {
            "Bonus Zoning"
        } else {
            none
        }),
        text("Data demo sintetis, bukan RDTR resmi Kota Balikpapan"),
        FieldValue::RealValue((z.shape.unsigned_area() / 10_000.0 * 10_000.0).round() / 10_000.0),
    ]
}

fn text(value: &str) -> FieldValue {
    FieldValue::StringValue(value.to_string())
}

/// Longest edge written, metres.
const MAX_EDGE_M: f64 = 100.0;

/// The shape with no edge longer than `MAX_EDGE_M`. A boundary that is one long edge in a block and
/// several (at its neighbours' corners) in the block beside it is the same line in UTM but not
/// once reprojected, where a long edge becomes a chord of a curve: short edges keep the two within
/// micrometres.
fn densified(shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let ring = |ring: &LineString<f64>| {
        let mut points = Vec::with_capacity(ring.0.len());
        for line in ring.lines() {
            let steps = (line.dx().hypot(line.dy()) / MAX_EDGE_M).ceil().max(1.0);
            for i in 0..steps as usize {
                let t = i as f64 / steps;
                points.push(line.start + (line.end - line.start) * t);
            }
        }
        points.extend(ring.0.last().copied());
        LineString::from(points)
    };
    MultiPolygon(
        shape
            .iter()
            .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
            .collect(),
    )
}

/// The shape as a valid GDAL MultiPolygon: clipping can leave a ring touching itself, which
/// a zero-width buffer (GEOS) resolves.
fn valid_multipolygon(shape: &MultiPolygon<f64>) -> Result<gdal::vector::Geometry> {
    let mut geometry = shape.to_gdal()?;
    if !geometry.is_valid() {
        geometry = geometry.buffer(0.0, 8)?;
    }
    if gdal::vector::geometry_type_flatten(geometry.geometry_type())
        == OGRwkbGeometryType::wkbPolygon
    {
        let mut multi = gdal::vector::Geometry::empty(OGRwkbGeometryType::wkbMultiPolygon)?;
        multi.add_geometry(geometry)?;
        geometry = multi;
    }
    Ok(geometry)
}
