//! Reading an agency's upload through GDAL: GeoPackage, zipped Shapefile, GeoJSON, FlatGeobuf, or
//! CSV with longitude/latitude columns. Each feature becomes a row of typed columns (named for
//! PostgreSQL) and a geometry reprojected to EPSG:4326 as EWKB; what cannot be used is reported.

use std::path::Path;

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{
    FieldValue, LayerAccess, OGRFieldType, geometry_type_flatten, geometry_type_to_name,
};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use serde::Serialize;

use super::{CatalogError, Result};

/// The GDAL drivers an upload may be read with: GDAL would otherwise pick any driver by the
/// content, and some (VRT) read other files or fetch URLs.
const DRIVERS: &[&str] = &["GPKG", "ESRI Shapefile", "GeoJSON", "FlatGeobuf", "CSV"];

/// Longitude and latitude column names a CSV may use.
const LON_NAMES: &str = "lon,long,longitude,lng,x,bujur";
const LAT_NAMES: &str = "lat,latitude,y,lintang";

/// The PostgreSQL type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ColumnType {
    /// `text`.
    Text,
    /// `bigint`.
    Integer,
    /// `double precision`.
    Real,
    /// `date`.
    Date,
    /// `timestamptz`.
    Timestamp,
}

impl ColumnType {
    /// The SQL type name.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "bigint",
            ColumnType::Real => "double precision",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamptz",
        }
    }

    fn of(field: OGRFieldType::Type) -> Self {
        match field {
            OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => ColumnType::Integer,
            OGRFieldType::OFTReal => ColumnType::Real,
            OGRFieldType::OFTDate => ColumnType::Date,
            OGRFieldType::OFTDateTime => ColumnType::Timestamp,
            _ => ColumnType::Text,
        }
    }
}

/// A column of the dataset's table.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// The field's name in the file.
    pub source: String,
    /// The column's name (lower case letters, digits and `_`).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// A problem with one feature.
#[derive(Debug, Clone, Serialize)]
pub struct Defect {
    /// The feature's id in the file.
    pub fid: i64,
    /// What is wrong.
    pub problem: String,
}

/// What an opened file holds, known before its features are read.
#[derive(Debug, Clone)]
pub struct Header {
    /// The layer read.
    pub layer: String,
    /// The driver that reads it.
    pub format: String,
    /// The source CRS.
    pub crs: String,
    /// The columns.
    pub columns: Vec<Column>,
}

/// What reading every feature found.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Features read and sent.
    pub features: i64,
    /// Features left out (no geometry, off the Earth after reprojection): the first
    /// [`DEFECTS_LISTED`].
    pub defects: Vec<Defect>,
    /// How many were left out.
    pub defect_count: i64,
}

/// Defects listed by name at most (the rest are counted).
pub const DEFECTS_LISTED: usize = 100;

/// Bytes of COPY text sent at once.
const CHUNK_BYTES: usize = 1 << 20;

/// Features a dataset may have at most: a compressed upload (a zip) may unpack to far more than
/// the upload limit.
pub const MAX_FEATURES: i64 = 1_000_000;

/// Bytes of data (as COPY text, geometries in hex) a dataset may have at most.
pub const MAX_DATA_BYTES: u64 = 2 << 30;

/// Opens `file` (named `name` by the client, for messages) with its `layer` (or the only one),
/// sends what it holds on `header`, then every feature as lines of PostgreSQL's COPY text format
/// (fid, the columns, the EWKB geometry) on `rows`, a chunk at a time: the upload is never held
/// in memory whole. A CSV is read with its longitude/latitude columns, in WGS 84. Stops when the
/// receiver is gone (the publication failed or the client left).
pub fn stream(
    file: &Path,
    name: &str,
    layer: Option<&str>,
    source_crs: Option<&str>,
    header: tokio::sync::oneshot::Sender<Header>,
    rows: tokio::sync::mpsc::Sender<Vec<u8>>,
) -> Result<Summary> {
    let lower = name.to_ascii_lowercase();
    let path = if lower.ends_with(".zip") {
        format!("/vsizip/{}", file.display())
    } else {
        file.display().to_string()
    };
    let csv_options = [
        "X_POSSIBLE_NAMES=lon,long,longitude,lng,x,bujur",
        "Y_POSSIBLE_NAMES=lat,latitude,y,lintang",
        "KEEP_GEOM_COLUMNS=NO",
        "AUTODETECT_TYPE=YES",
    ];
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        allowed_drivers: Some(DRIVERS),
        open_options: lower.ends_with(".csv").then_some(&csv_options[..]),
        ..Default::default()
    };
    let dataset = Dataset::open_ex(&path, options).map_err(|_| {
        CatalogError::Upload(format!(
            "{name} cannot be read as vector data: send a GeoPackage, a zipped Shapefile, GeoJSON, \
             FlatGeobuf, or CSV with columns {LON_NAMES} and {LAT_NAMES}"
        ))
    })?;
    let format = dataset.driver().short_name();
    let index = pick_layer(&dataset, name, layer)?;
    let mut source_layer = dataset.layer(index).map_err(gdal_error)?;
    let layer_name = source_layer.name();
    let (transform, crs) = transform_of(&source_layer, &format, source_crs, &layer_name)?;
    let columns = columns_of(&source_layer);
    let count = columns.len();
    let opened = Header {
        layer: layer_name,
        format,
        crs,
        columns,
    };
    header.send(opened).map_err(|_| interrupted())?;
    let mut summary = Summary::default();
    let mut sent: u64 = 0;
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
    for (position, feature) in source_layer.features().enumerate() {
        let fid = feature.fid().map_or(position as i64 + 1, |f| f as i64);
        match geometry_of(&feature, &transform) {
            Ok(ewkb) => {
                copy_line(&mut chunk, fid, count, &feature, &ewkb)?;
                summary.features += 1;
            }
            Err(problem) => {
                summary.defect_count += 1;
                if summary.defects.len() < DEFECTS_LISTED {
                    summary.defects.push(Defect { fid, problem });
                }
            }
        }
        // Every feature counts, with or without a geometry: a small zip may hold millions of rows.
        if summary.features + summary.defect_count > MAX_FEATURES {
            return Err(CatalogError::Upload(format!(
                "{name} has more than {MAX_FEATURES} features, the most a dataset may have: split it"
            )));
        }
        if chunk.len() >= CHUNK_BYTES {
            sent += chunk.len() as u64;
            if sent > MAX_DATA_BYTES {
                return Err(CatalogError::Upload(format!(
                    "{name} holds more than {} GiB of data, the most a dataset may have: split it",
                    MAX_DATA_BYTES >> 30
                )));
            }
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 4096));
            rows.blocking_send(full).map_err(|_| interrupted())?;
        }
    }
    if !chunk.is_empty() {
        rows.blocking_send(chunk).map_err(|_| interrupted())?;
    }
    Ok(summary)
}

fn interrupted() -> CatalogError {
    CatalogError::Upload("the publication stopped before the file was read".into())
}

fn gdal_error(e: gdal::errors::GdalError) -> CatalogError {
    CatalogError::Upload(format!("reading the file: {e}"))
}

fn pick_layer(dataset: &Dataset, name: &str, wanted: Option<&str>) -> Result<usize> {
    let names: Vec<String> = dataset.layers().map(|l| l.name()).collect();
    match (wanted, names.len()) {
        (Some(w), _) => names.iter().position(|n| n == w).ok_or_else(|| {
            CatalogError::Upload(format!(
                "{name} has no layer \"{w}\"; its layers: {}",
                names.join(", ")
            ))
        }),
        (None, 1) => Ok(0),
        (None, 0) => Err(CatalogError::Upload(format!("{name} has no vector layer"))),
        (None, _) => Err(CatalogError::Upload(format!(
            "{name} has several layers; choose one with the `layer` field: {}",
            names.join(", ")
        ))),
    }
}

fn transform_of(
    layer: &gdal::vector::Layer,
    format: &str,
    source_crs: Option<&str>,
    name: &str,
) -> Result<(CoordTransform, String)> {
    let mut source = match (source_crs, layer.spatial_ref()) {
        (Some(definition), _) => SpatialRef::from_definition(definition).map_err(|_| {
            CatalogError::Upload(format!(
                "unknown coordinate reference system \"{definition}\" (expected e.g. EPSG:32750)"
            ))
        })?,
        (None, Some(srs)) => srs,
        // Longitude and latitude columns are WGS 84 by their names.
        (None, None) if format == "CSV" => SpatialRef::from_epsg(4326).map_err(gdal_error)?,
        (None, None) => {
            return Err(CatalogError::Upload(format!(
                "layer \"{name}\" declares no coordinate reference system; give it with the `crs` field (e.g. EPSG:32750)"
            )));
        }
    };
    source.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let crs = match (source.auth_name(), source.auth_code()) {
        (Some(n), Ok(c)) => format!("{n}:{c}"),
        _ => source.name().unwrap_or_else(|| "unnamed CRS".into()),
    };
    let mut target = SpatialRef::from_epsg(4326).map_err(gdal_error)?;
    target.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let transform = CoordTransform::new(&source, &target).map_err(|e| {
        CatalogError::Upload(format!("cannot reproject from {crs} to WGS 84 ({e})"))
    })?;
    Ok((transform, crs))
}

/// The file's fields as columns with PostgreSQL names: lower case, other characters as `_`,
/// made unique, never `fid` or `geom`.
fn columns_of(layer: &gdal::vector::Layer) -> Vec<Column> {
    let mut taken: Vec<String> = vec!["fid".into(), "geom".into(), "geom_3857".into()];
    layer
        .defn()
        .fields()
        .map(|field| {
            let source = field.name();
            let base = column_name(&source);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            taken.push(name.clone());
            Column {
                source,
                name,
                kind: ColumnType::of(field.field_type()),
            }
        })
        .collect()
}

/// A field name as a column name: `Nama Sekolah` becomes `nama_sekolah`.
pub fn column_name(field: &str) -> String {
    let mut name: String = field
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'f');
    }
    name
}

/// The feature's geometry in EPSG:4326, 2D, as hex EWKB with SRID 4326; or why it cannot be used.
fn geometry_of(
    feature: &gdal::vector::Feature,
    transform: &CoordTransform,
) -> std::result::Result<String, String> {
    // SAFETY: the handle is the live feature's; GDAL returns null for a feature without geometry.
    let none = unsafe { gdal_sys::OGR_F_GetGeometryRef(feature.c_feature()) }.is_null();
    let Some(geometry) = feature.geometry().filter(|g| !none && !g.is_empty()) else {
        return Err("has no geometry".into());
    };
    let mut geometry = geometry.clone();
    geometry.flatten_to_2d();
    geometry
        .transform_inplace(transform)
        .map_err(|e| format!("cannot be reprojected to WGS 84 ({e})"))?;
    let e = geometry.envelope();
    if !(e.MinX >= -180.0 && e.MaxX <= 180.0 && e.MinY >= -90.0 && e.MaxY <= 90.0) {
        return Err(format!(
            "lies at {:.3}, {:.3} after reprojection, which is not a place on Earth: is the CRS right?",
            e.MinX, e.MinY
        ));
    }
    let kind = geometry_type_flatten(geometry.geometry_type());
    let wkb = geometry.wkb().map_err(|e| {
        format!(
            "{} cannot be written as WKB ({e})",
            geometry_type_to_name(kind)
        )
    })?;
    Ok(hex::encode(with_srid(&wkb, 4326)))
}

/// WKB with its SRID (EWKB), as PostGIS reads it. Written by hand: it is four bytes and a flag.
fn with_srid(wkb: &[u8], srid: u32) -> Vec<u8> {
    const SRID_FLAG: u32 = 0x2000_0000;
    let little = wkb.first() == Some(&1);
    let kind = |b: [u8; 4]| {
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let bytes = |v: u32| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let mut out = Vec::with_capacity(wkb.len() + 4);
    out.push(wkb[0]);
    out.extend_from_slice(&bytes(kind([wkb[1], wkb[2], wkb[3], wkb[4]]) | SRID_FLAG));
    out.extend_from_slice(&bytes(srid));
    out.extend_from_slice(&wkb[5..]);
    out
}

/// Appends the feature as one COPY text line.
fn copy_line(
    out: &mut Vec<u8>,
    fid: i64,
    columns: usize,
    feature: &gdal::vector::Feature,
    ewkb: &str,
) -> Result<()> {
    out.extend_from_slice(fid.to_string().as_bytes());
    for index in 0..columns {
        out.push(b'\t');
        // SAFETY: the handle is the live feature's and `index` is below its field count.
        let set = unsafe { gdal_sys::OGR_F_IsFieldSet(feature.c_feature(), index as i32) } != 0;
        let value = if set {
            feature.field(index).map_err(gdal_error)?
        } else {
            None
        };
        match value.and_then(copy_text) {
            Some(text) => escape_copy(&text, out),
            None => out.extend_from_slice(b"\\N"),
        }
    }
    out.push(b'\t');
    out.extend_from_slice(ewkb.as_bytes());
    out.push(b'\n');
    Ok(())
}

/// A field value as text PostgreSQL parses into the column's type.
fn copy_text(value: FieldValue) -> Option<String> {
    Some(match value {
        FieldValue::IntegerValue(v) => v.to_string(),
        FieldValue::Integer64Value(v) => v.to_string(),
        FieldValue::RealValue(v) if v.is_finite() => v.to_string(),
        FieldValue::RealValue(_) => return None,
        FieldValue::StringValue(v) => v,
        FieldValue::DateValue(v) => v.to_string(),
        FieldValue::DateTimeValue(v) => v.to_rfc3339(),
        // Lists (GeoPackage and GeoJSON arrays) as JSON arrays, as a reader would write them.
        FieldValue::IntegerListValue(v) => serde_json::to_string(&v).ok()?,
        FieldValue::Integer64ListValue(v) => serde_json::to_string(&v).ok()?,
        FieldValue::RealListValue(v) => serde_json::to_string(&v).ok()?,
        FieldValue::StringListValue(v) => serde_json::to_string(&v).ok()?,
    })
}

/// Escapes `text` for COPY's text format.
fn escape_copy(text: &str, out: &mut Vec<u8>) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => {}
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_column_names() {
        assert_eq!(column_name("Nama Sekolah"), "nama_sekolah");
        assert_eq!(column_name("2020_jumlah"), "f2020_jumlah");
        assert_eq!(column_name("\"; DROP TABLE x; --"), "___drop_table_x____");
    }

    #[test]
    fn ewkb_carries_the_srid() {
        // POINT(1 2), little-endian
        let mut wkb = vec![1u8, 1, 0, 0, 0];
        wkb.extend_from_slice(&1f64.to_le_bytes());
        wkb.extend_from_slice(&2f64.to_le_bytes());
        let ewkb = with_srid(&wkb, 4326);
        assert_eq!(&ewkb[..9], &[1, 1, 0, 0, 0x20, 0xE6, 0x10, 0, 0]);
        assert_eq!(ewkb.len(), wkb.len() + 4);
    }

    #[test]
    fn a_large_file_is_sent_in_chunks_of_copy_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("titik.geojson");
        let features: Vec<String> = (0..30_000)
            .map(|i| {
                format!(
                    r#"{{"type":"Feature","properties":{{"Nama Titik":"titik {i}\tdua"}},"geometry":{{"type":"Point","coordinates":[116.8,-1.2]}}}}"#
                )
            })
            .collect();
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        );
        std::fs::write(&file, text).unwrap();
        let (header_tx, header_rx) = tokio::sync::oneshot::channel();
        let (rows_tx, mut rows_rx) = tokio::sync::mpsc::channel(1);
        let reader = std::thread::spawn(move || {
            stream(&file, "titik.geojson", None, None, header_tx, rows_tx)
        });
        let header = header_rx.blocking_recv().unwrap();
        assert_eq!(header.columns[0].name, "nama_titik");
        let (mut chunks, mut lines) = (0, 0);
        while let Some(chunk) = rows_rx.blocking_recv() {
            assert!(chunk.len() < CHUNK_BYTES + 4096);
            assert_eq!(chunk.last(), Some(&b'\n'), "a chunk ends with a whole line");
            chunks += 1;
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        let summary = reader.join().unwrap().unwrap();
        assert_eq!((summary.features, lines), (30_000, 30_000));
        assert!(chunks > 1, "{chunks} chunk(s)");
    }

    #[test]
    fn copy_text_is_escaped() {
        let mut out = Vec::new();
        escape_copy("a\tb\\c\nd", &mut out);
        assert_eq!(out, b"a\\tb\\\\c\\nd");
    }
}
