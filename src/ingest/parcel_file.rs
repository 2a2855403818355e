//! A parcel uploaded as a file (GeoJSON, KML, a zipped Shapefile, GeoPackage or FlatGeobuf): read
//! through the same GDAL reader as plans, reprojected to WGS 84, its polygons collected.

use std::io::Write;

use geo::MultiPolygon;

use super::{IngestError, Result, read};

/// File kinds a parcel may come as, by extension.
const KINDS: [&str; 6] = ["geojson", "json", "kml", "zip", "gpkg", "fgb"];

/// At most this many polygons make one parcel.
const MAX_FEATURES: usize = 50;

/// Reads the polygons of a parcel file named `name` (its extension says the format) with content
/// `bytes`, in EPSG:4326.
pub fn read_parcel_file(bytes: &[u8], name: &str) -> Result<MultiPolygon<f64>> {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .filter(|e| KINDS.contains(&e.as_str()))
        .ok_or_else(|| {
            IngestError::Input(format!(
                "\"{name}\": a parcel file is GeoJSON (.geojson, .json), KML (.kml), a zipped Shapefile (.zip), GeoPackage (.gpkg) or FlatGeobuf (.fgb)"
            ))
        })?;
    // GDAL reads files: the upload is written to a private temporary directory, removed after.
    let dir = tempfile::Builder::new()
        .prefix("satupeta-parcel-")
        .tempdir()
        .map_err(|e| IngestError::Input(format!("cannot store the upload: {e}")))?;
    let path = dir.path().join(format!("parcel.{extension}"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| IngestError::Input(format!("cannot store the upload: {e}")))?;
    let source = read::open(&path, None, None)?;
    let mut polygons = Vec::new();
    let mut count = 0usize;
    let rejected = source.read(|feature| {
        count += 1;
        if count > MAX_FEATURES {
            return Err(IngestError::Input(format!(
                "the file has more than {MAX_FEATURES} polygons; a parcel is at most {MAX_FEATURES}"
            )));
        }
        polygons.extend(feature.shape.0);
        Ok(())
    })?;
    if let Some(first) = rejected.first() {
        return Err(IngestError::Input(format!(
            "the file has a feature that is not a polygon: {}",
            first.message
        )));
    }
    if polygons.is_empty() {
        return Err(IngestError::Input("the file has no polygon".into()));
    }
    Ok(MultiPolygon(polygons))
}
