//! Reading a vector file through GDAL: choosing the layer, its CRS, and turning each feature into a
//! staging row (attributes as JSON, geometry reprojected to EPSG:4326 as WKB).

use std::path::Path;

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{
    FieldValue, Geometry, LayerAccess, OGRwkbGeometryType, geometry_type_flatten,
    geometry_type_to_name,
};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use serde_json::{Map, Value};

use super::{Finding, IngestError, Result};

/// One feature as read, reprojected to EPSG:4326.
#[derive(Debug)]
pub struct SourceFeature {
    /// The feature id in the file (or its position when the format has none).
    pub fid: i64,
    /// Every attribute as it came, by its original field name.
    pub attributes: Map<String, Value>,
    /// The geometry in EPSG:4326, 2D, as WKB.
    pub wkb: Vec<u8>,
    /// A point of the feature's envelope centre (lon, lat), to say where a problem is.
    pub location: [f64; 2],
    /// The geometry in EPSG:4326, for the topology checks.
    pub shape: geo::MultiPolygon<f64>,
}

/// An opened source layer, ready to be read.
pub struct SourceLayer {
    dataset: Dataset,
    layer_index: usize,
    /// The layer's name.
    pub name: String,
    /// The source CRS, as `EPSG:N` where it is identified, or its name.
    pub crs: String,
    /// Number of features GDAL reports.
    pub feature_count: u64,
    transform: CoordTransform,
    /// Whether the features are a plan's zones, whose attributes are published (text must be
    /// UTF-8) and which every lookup and tile reads (at most [`MAX_VERTICES`] each): so for
    /// [`open`], not for a parcel's file.
    zones: bool,
}

/// Vertices of one zone at most: a polygon of more (a million, say) would weigh on every lookup
/// and tile of the plan; simplify it first.
pub const MAX_VERTICES: usize = 100_000;

/// The GDAL drivers that read the formats whose names a file may end in: a file named as one of
/// them must be of it (GDAL would otherwise read a GeoJSON named `.shp` as GeoJSON).
fn drivers_of(file: &Path) -> Option<&'static [&'static str]> {
    let extension = file.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "gpkg" => &["GPKG"],
        "shp" => &["ESRI Shapefile"],
        "geojson" | "json" => &["GeoJSON"],
        "fgb" => &["FlatGeobuf"],
        "kml" => &["KML", "LIBKML"],
        _ => return None,
    })
}

/// Opens `file` and picks its zoning layer (`layer`, or the only polygon layer): a file named as
/// one of the supported formats with that format's driver, any other with any of GDAL's vector
/// drivers (an operator's file).
pub fn open(file: &Path, layer: Option<&str>, source_crs: Option<&str>) -> Result<SourceLayer> {
    if let Some(extension) = file.extension().and_then(|e| e.to_str())
        && extension.eq_ignore_ascii_case("shp")
    {
        // Without its .dbf, GDAL reads a Shapefile's shapes with no attributes: every zone would
        // be refused for a missing code, when the file is what is missing.
        let dbf = ["dbf", "DBF"].map(|e| file.with_extension(e));
        if file.is_file() && !dbf.iter().any(|d| d.is_file()) {
            return Err(IngestError::Input(format!(
                "{} has no {} beside it: a Shapefile's attributes (the sub-zone codes among \
                 them) are in its .dbf",
                file.display(),
                dbf[0].file_name().unwrap_or_default().to_string_lossy()
            )));
        }
    }
    let mut source = open_with(file, layer, source_crs, drivers_of(file))?;
    source.zones = true;
    Ok(source)
}

/// Like [`open`], with only the GDAL drivers `drivers` (a file from anyone: GDAL would otherwise
/// pick a driver by the content, and some (VRT, and through it /vsicurl/) read other files or
/// fetch URLs).
pub fn open_with(
    file: &Path,
    layer: Option<&str>,
    source_crs: Option<&str>,
    drivers: Option<&[&str]>,
) -> Result<SourceLayer> {
    if !file.exists() {
        return Err(IngestError::Input(format!(
            "{}: no such file",
            file.display()
        )));
    }
    let is_zip = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let path = if is_zip {
        format!(
            "/vsizip/{}",
            file.canonicalize()
                .map_err(|e| IngestError::Input(e.to_string()))?
                .display()
        )
    } else {
        file.display().to_string()
    };
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        allowed_drivers: drivers,
        ..Default::default()
    };
    let dataset = Dataset::open_ex(&path, options).map_err(|e| {
        let named = match drivers {
            Some(d) if !is_zip => format!(" in the format its name says ({})", d.join(" or ")),
            _ => String::new(),
        };
        IngestError::Input(format!(
            "{} cannot be read as vector data{named} ({e}); supported are GeoPackage, Shapefile (.shp or .zip), \
             GeoJSON, FlatGeobuf and KML",
            file.display()
        ))
    })?;
    let layers: Vec<(usize, String, u32)> = dataset
        .layers()
        .enumerate()
        .map(|(i, l)| (i, l.name(), geometry_type_flatten(l.defn().geometry_type())))
        .collect();
    if layers.is_empty() {
        return Err(IngestError::Input(format!(
            "{} has no vector layer",
            file.display()
        )));
    }
    let names = || {
        layers
            .iter()
            .map(|l| l.1.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (layer_index, name, geometry_type) = match layer {
        Some(wanted) => layers
            .iter()
            .find(|l| l.1 == wanted)
            .cloned()
            .ok_or_else(|| {
                IngestError::Input(format!(
                    "{} has no layer \"{wanted}\"; its layers: {}",
                    file.display(),
                    names()
                ))
            })?,
        None => {
            let polygonal: Vec<_> = layers
                .iter()
                .filter(|l| is_polygonal_or_unknown(l.2))
                .collect();
            match polygonal.as_slice() {
                [only] => (*only).clone(),
                [] if layers.len() == 1 => layers[0].clone(),
                [] => {
                    return Err(IngestError::Input(format!(
                        "{} has no polygon layer; its layers: {}",
                        file.display(),
                        names()
                    )));
                }
                _ => {
                    return Err(IngestError::Input(format!(
                        "{} has several layers; choose one with --layer: {}",
                        file.display(),
                        names()
                    )));
                }
            }
        }
    };
    if !is_polygonal_or_unknown(geometry_type) {
        return Err(IngestError::Input(format!(
            "layer \"{name}\" holds {} geometries; a zoning plan needs polygons",
            geometry_type_to_name(geometry_type)
        )));
    }
    let (feature_count, layer_srs) = {
        let layer = dataset.layer(layer_index)?;
        (layer.feature_count(), layer.spatial_ref())
    };
    if feature_count == 0 {
        return Err(IngestError::Input(format!(
            "layer \"{name}\" has no features"
        )));
    }
    let mut source = match source_crs {
        Some(definition) => SpatialRef::from_definition(definition).map_err(|_| {
            IngestError::Input(format!("unknown coordinate reference system \"{definition}\" (expected e.g. EPSG:32750)"))
        })?,
        None => layer_srs.ok_or_else(|| {
            IngestError::Input(format!(
                "layer \"{name}\" declares no coordinate reference system; give it with --source-crs EPSG:N"
            ))
        })?,
    };
    source.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let crs = describe_crs(&source);
    let mut target = SpatialRef::from_epsg(4326)?;
    target.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let transform = CoordTransform::new(&source, &target)
        .map_err(|e| IngestError::Input(format!("cannot reproject from {crs} to WGS 84 ({e})")))?;
    Ok(SourceLayer {
        dataset,
        layer_index,
        name,
        crs,
        feature_count,
        transform,
        zones: false,
    })
}

impl SourceLayer {
    /// Reads every feature in file order, calling `row` for each usable one; features that cannot
    /// be used are returned as findings.
    pub fn read(&self, mut row: impl FnMut(SourceFeature) -> Result<()>) -> Result<Vec<Finding>> {
        let mut layer = self.dataset.layer(self.layer_index)?;
        let names: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
        let mut rejected = Vec::new();
        for (position, feature) in layer.features().enumerate() {
            let fid = feature
                .fid()
                .map(|f| f as i64)
                .unwrap_or(position as i64 + 1);
            let mut attributes = Map::new();
            for (index, name) in names.iter().enumerate() {
                // A field the feature does not have (GeoJSON features may differ) is left out;
                // the gdal crate would read it as an empty string.
                // SAFETY: the handle is the live feature's, and `index` is below its field count.
                let set =
                    unsafe { gdal_sys::OGR_F_IsFieldSet(feature.c_feature(), index as i32) } != 0;
                if set {
                    if self.zones
                        && let Some(bytes) = not_utf8(&feature, index)
                    {
                        // The gdal crate would replace each byte with U+FFFD: a zone's name
                        // published wrong, silently.
                        return Err(IngestError::Input(format!(
                            "feature {fid}: the field {name} is not UTF-8 text ({bytes}): the file's \
                             text is in another encoding; save it as UTF-8 (for a Shapefile, a .cpg \
                             beside the .shp names the .dbf's encoding, e.g. ISO-8859-1)"
                        )));
                    }
                    let value = feature.field(index)?;
                    attributes.insert(name.clone(), value.map(field_json).unwrap_or(Value::Null));
                }
            }
            let reject = |message: String| Finding {
                fid: Some(fid),
                message,
                ..Finding::default()
            };
            let Some(geometry) = feature.geometry().filter(|g| !g.is_empty()) else {
                rejected.push(reject("has no geometry".into()));
                continue;
            };
            let kind = geometry_type_flatten(geometry.geometry_type());
            if kind != OGRwkbGeometryType::wkbPolygon && kind != OGRwkbGeometryType::wkbMultiPolygon
            {
                rejected.push(reject(format!(
                    "is a {}, not a polygon",
                    geometry_type_to_name(kind)
                )));
                continue;
            }
            let mut geometry: Geometry = geometry.clone();
            geometry.flatten_to_2d();
            if let Err(e) = geometry.transform_inplace(&self.transform) {
                rejected.push(reject(format!("cannot be reprojected to WGS 84 ({e})")));
                continue;
            }
            let envelope = geometry.envelope();
            let location = [
                (envelope.MinX + envelope.MaxX) / 2.0,
                (envelope.MinY + envelope.MaxY) / 2.0,
            ];
            let on_earth = envelope.MinX >= -180.0
                && envelope.MaxX <= 180.0
                && envelope.MinY >= -90.0
                && envelope.MaxY <= 90.0;
            if !on_earth || !location.iter().all(|c| c.is_finite()) {
                // A wrong CRS puts every feature off the globe: stop at the first one.
                return Err(IngestError::Input(format!(
                    "feature {fid} lies at {:.3}, {:.3} after reprojection from {}, which is not a place on Earth: \
                     is the CRS right? Give the file's CRS with --source-crs EPSG:N",
                    location[0], location[1], self.crs
                )));
            }
            let shape = match geometry.to_geo()? {
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                _ => geo::MultiPolygon(vec![]),
            };
            let vertices = geo::CoordsIter::coords_count(&shape);
            if self.zones && vertices > MAX_VERTICES {
                rejected.push(reject(format!(
                    "has {vertices} vertices; a zone has at most {MAX_VERTICES} (simplify it)"
                )));
                continue;
            }
            row(SourceFeature {
                fid,
                attributes,
                wkb: geometry.wkb()?,
                location,
                shape,
            })?;
        }
        Ok(rejected)
    }
}

/// The bytes of a text field that are not UTF-8 (as hex, the first few), if any.
fn not_utf8(feature: &gdal::vector::Feature<'_>, index: usize) -> Option<String> {
    // SAFETY: the handle is the live feature's, `index` is below its field count, and the string
    // GDAL returns stays valid until the feature's next call, before which it is copied.
    let bytes = unsafe {
        let handle = feature.c_feature();
        let field = gdal_sys::OGR_F_GetFieldDefnRef(handle, index as i32);
        if field.is_null() || gdal_sys::OGR_Fld_GetType(field) != gdal_sys::OGRFieldType::OFTString
        {
            return None;
        }
        let text = gdal_sys::OGR_F_GetFieldAsString(handle, index as i32);
        if text.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr(text).to_bytes().to_vec()
    };
    let error = std::str::from_utf8(&bytes).err()?;
    let start = error.valid_up_to();
    let bad = &bytes[start..(start + 4).min(bytes.len())];
    Some(format!(
        "bytes {} after \"{}\"",
        hex::encode_upper(bad),
        String::from_utf8_lossy(&bytes[..start])
    ))
}

fn is_polygonal_or_unknown(kind: u32) -> bool {
    matches!(
        kind,
        OGRwkbGeometryType::wkbPolygon
            | OGRwkbGeometryType::wkbMultiPolygon
            | OGRwkbGeometryType::wkbUnknown
            | OGRwkbGeometryType::wkbGeometryCollection
    )
}

/// `EPSG:N` when GDAL can identify the CRS, its name otherwise.
fn describe_crs(srs: &SpatialRef) -> String {
    let mut identified = srs.clone();
    if let (Some(name), Ok(code)) = (srs.auth_name(), srs.auth_code()) {
        return format!("{name}:{code}");
    }
    if identified.auto_identify_epsg().is_ok()
        && let (Some(name), Ok(code)) = (identified.auth_name(), identified.auth_code())
    {
        return format!("{name}:{code}");
    }
    srs.name().unwrap_or_else(|| "unnamed CRS".into())
}

fn field_json(value: FieldValue) -> Value {
    match value {
        FieldValue::IntegerValue(v) => v.into(),
        FieldValue::Integer64Value(v) => v.into(),
        FieldValue::RealValue(v) => serde_json::Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        FieldValue::StringValue(v) => v.into(),
        FieldValue::IntegerListValue(v) => v.into(),
        FieldValue::Integer64ListValue(v) => v.into(),
        FieldValue::RealListValue(v) => v
            .into_iter()
            .filter_map(serde_json::Number::from_f64)
            .collect(),
        FieldValue::StringListValue(v) => v.into(),
        FieldValue::DateValue(v) => v.to_string().into(),
        FieldValue::DateTimeValue(v) => v.to_string().into(),
    }
}
