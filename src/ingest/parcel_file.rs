//! A parcel uploaded as a file (GeoJSON, KML, a zipped Shapefile, GeoPackage or FlatGeobuf): read
//! through the same GDAL reader as plans, reprojected to WGS 84, its polygons collected.

use std::io::Write;

use geo::MultiPolygon;

use super::{IngestError, Result, read};

/// File kinds a parcel may come as, by extension.
const KINDS: [&str; 6] = ["geojson", "json", "kml", "zip", "gpkg", "fgb"];

/// The GDAL drivers an uploaded parcel is read with: no other (VRT, for one, reads the server's
/// files and fetches URLs named in it).
const DRIVERS: [&str; 5] = ["GeoJSON", "KML", "ESRI Shapefile", "GPKG", "FlatGeobuf"];

/// What a parcel file is, for the messages that refuse one.
const WHAT: &str = "a parcel file is GeoJSON (.geojson, .json), KML (.kml), a zipped Shapefile (.zip), \
GeoPackage (.gpkg) or FlatGeobuf (.fgb)";

/// At most this many polygons make one parcel.
const MAX_FEATURES: usize = 50;

/// Reads the polygons of a parcel file named `name` (its extension says the format) with content
/// `bytes`, in EPSG:4326.
pub fn read_parcel_file(bytes: &[u8], name: &str) -> Result<MultiPolygon<f64>> {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .filter(|e| KINDS.contains(&e.as_str()))
        .ok_or_else(|| IngestError::Input(format!("\"{name}\": {WHAT}")))?;
    // GDAL reads files: the upload is written to a private temporary directory, removed after.
    let dir = tempfile::Builder::new()
        .prefix("satupeta-parcel-")
        .tempdir()
        .map_err(|e| IngestError::Input(format!("cannot store the upload: {e}")))?;
    let path = dir.path().join(format!("parcel.{extension}"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| IngestError::Input(format!("cannot store the upload: {e}")))?;
    // The reader's messages name the temporary file and GDAL's internals: not for the uploader.
    let source = read::open_with(&path, None, None, Some(&DRIVERS)).map_err(|_| {
        IngestError::Input(format!(
            "\"{name}\" cannot be read as a parcel with one polygon layer: {WHAT}"
        ))
    })?;
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
