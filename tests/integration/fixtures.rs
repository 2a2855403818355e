//! Small plan files written for the tests: a 3 × 2 grid of square zones near the old centre of
//! Balikpapan, with both forms of sub-zone code, written with GDAL in any CRS and format.

use std::path::{Path, PathBuf};

use gdal::DriverManager;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{
    Feature, FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use serde_json::{Value, json};

use super::harness::ogr2ogr;

/// South-west corner of the grid (lon, lat) and the side of a cell in degrees (about 222 m).
pub const ORIGIN: (f64, f64) = (116.840, -1.260);
/// Cell side in degrees.
pub const SIZE: f64 = 0.002;

/// The expected sub-zone letter code of each cell of the standard plan, by (col, row).
pub const STANDARD_CODES: [((usize, usize), &str); 6] = [
    ((0, 0), "R-3"),
    ((1, 0), "K-1"),
    ((2, 0), "K-2"),
    ((0, 1), "RTH-2"),
    ((1, 1), "RTH-7"),
    ((2, 1), "SPU-3"),
];

/// The WKT of a grid cell's square in EPSG:4326.
pub fn cell_wkt(col: usize, row: usize) -> String {
    let (x0, y0) = (ORIGIN.0 + col as f64 * SIZE, ORIGIN.1 + row as f64 * SIZE);
    let (x1, y1) = (x0 + SIZE, y0 + SIZE);
    format!("POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
}

/// The centre (lon, lat) of a grid cell.
pub fn cell_centre(col: usize, row: usize) -> (f64, f64) {
    (
        ORIGIN.0 + (col as f64 + 0.5) * SIZE,
        ORIGIN.1 + (row as f64 + 0.5) * SIZE,
    )
}

/// The standard plan's features: (WKT in EPSG:4326, attributes). The sub-zone is coded in the
/// forms real data uses: numeric KODSZN (also as a float), letter KODSZN, KODSZNTEXT.
pub fn standard_features() -> Vec<(String, Value)> {
    let base = |cell: &str, extra: Value| {
        let mut props = json!({
            "CELL": cell,
            "KODBLK": "KT.A",
            "KODSBL": format!("KT.A.{cell}"),
            "WADMKC": "Balikpapan Kota",
            "WADMKD": "Klandasan Ilir",
            "KKOP_1": "K01G Kawasan di Bawah Permukaan Horizontal Luar",
            "KRB_03": "Tidak Ada",
        });
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        props
    };
    vec![
        (
            cell_wkt(0, 0),
            base(
                "00",
                json!({"KODSZN": "32103300", "NAMOBJ": "Perumahan Kepadatan Sedang"}),
            ),
        ),
        (
            cell_wkt(1, 0),
            base(
                "10",
                json!({"KODSZN": "K-1", "NAMOBJ": "Perdagangan dan Jasa Skala Kota"}),
            ),
        ),
        (
            cell_wkt(2, 0),
            base(
                "20",
                json!({"KODSZN": 32112200.0, "NAMOBJ": "Perdagangan dan Jasa Skala WP"}),
            ),
        ),
        (cell_wkt(0, 1), base("01", json!({"KODSZN": "RTH-2"}))),
        (
            cell_wkt(1, 1),
            base("11", json!({"KODSZN": "31031700", "NAMOBJ": "Pemakaman"})),
        ),
        (
            cell_wkt(2, 1),
            base(
                "21",
                json!({"KODSZN": "SPU-3", "KODSZNTEXT": "SPU-3", "KSMPDN": "Sempadan Sungai"}),
            ),
        ),
    ]
}

/// Writes features (WKT in EPSG:4326) to a GeoPackage layer `zonasi` in CRS `epsg`.
pub fn write_gpkg(path: &Path, epsg: u32, features: &[(String, Value)]) {
    write_layer(
        path,
        "GPKG",
        Some(epsg),
        features,
        OGRwkbGeometryType::wkbUnknown,
    );
}

/// Writes features with any GDAL driver; `epsg` `None` writes no CRS.
pub fn write_layer(
    path: &Path,
    driver: &str,
    epsg: Option<u32>,
    features: &[(String, Value)],
    ty: u32,
) {
    let driver = DriverManager::get_driver_by_name(driver).unwrap();
    let mut dataset = driver.create_vector_only(path).unwrap();
    let mut wgs84 = SpatialRef::from_epsg(4326).unwrap();
    wgs84.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let target = epsg.map(|code| {
        let mut srs = SpatialRef::from_epsg(code).unwrap();
        srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        srs
    });
    let layer = dataset
        .create_layer(LayerOptions {
            name: "zonasi",
            srs: target.as_ref(),
            ty,
            options: None,
        })
        .unwrap();
    let mut names: Vec<(String, OGRFieldType::Type)> = Vec::new();
    for (_, props) in features {
        for (k, v) in props.as_object().unwrap() {
            if !names.iter().any(|(n, _)| n == k) {
                let ty = if v.is_f64() {
                    OGRFieldType::OFTReal
                } else {
                    OGRFieldType::OFTString
                };
                names.push((k.clone(), ty));
            }
        }
    }
    let fields: Vec<(&str, OGRFieldType::Type)> =
        names.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    layer.create_defn_fields(&fields).unwrap();
    let transform = target
        .as_ref()
        .map(|t| CoordTransform::new(&wgs84, t).unwrap());
    for (wkt, props) in features {
        let mut feature = Feature::new(layer.defn()).unwrap();
        for (i, (name, _)) in names.iter().enumerate() {
            match props.get(name) {
                Some(Value::String(s)) => feature
                    .set_field(i, &FieldValue::StringValue(s.clone()))
                    .unwrap(),
                Some(Value::Number(n)) => feature
                    .set_field(i, &FieldValue::RealValue(n.as_f64().unwrap()))
                    .unwrap(),
                _ => {}
            }
        }
        let mut geometry = Geometry::from_wkt(wkt).unwrap();
        if let Some(t) = &transform {
            geometry.transform_inplace(t).unwrap();
        }
        feature.set_geometry(geometry).unwrap();
        feature.create(&layer).unwrap();
    }
    dataset.flush_cache().unwrap();
}

/// Writes the standard plan in `format` (an ogr2ogr driver) and CRS; returns the file.
pub fn standard_plan_as(dir: &Path, driver: &str, file_name: &str, epsg: u32) -> PathBuf {
    let source = dir.join("standard-4326.gpkg");
    if !source.exists() {
        write_gpkg(&source, 4326, &standard_features());
    }
    let out = dir.join(file_name);
    let srs = format!("EPSG:{epsg}");
    ogr2ogr(&[
        "-f",
        driver,
        out.to_str().unwrap(),
        source.to_str().unwrap(),
        "-t_srs",
        &srs,
        "-nln",
        "zonasi",
    ]);
    out
}

/// A plan of 1.3 km blocks between road bodies of two widths: a road about 330 m wide (wider than a pixel
/// at zooms 10 and 12, narrower at zoom 8) and one about 22 m wide (narrower than a pixel at every
/// generalised zoom), crossing; roads are long strips, blocks alternate four sub-zones. The zones
/// tile the plan exactly.
pub fn road_grid_features() -> Vec<(String, Value)> {
    const BLOCK: f64 = 0.012;
    const WIDE: f64 = 0.003;
    const THIN: f64 = 0.0002;
    let (x0, y0) = (116.90, -1.20);
    // Bands across each axis: (width, is it a road?)
    let bands = [
        (BLOCK, false),
        (WIDE, true),
        (BLOCK, false),
        (THIN, true),
        (BLOCK, false),
    ];
    let edges: Vec<f64> = bands
        .iter()
        .scan(0.0, |at, (w, _)| {
            let start = *at;
            *at += w;
            Some(start)
        })
        .collect();
    let total: f64 = bands.iter().map(|(w, _)| w).sum();
    let rect = |x: f64, y: f64, w: f64, h: f64| {
        let (a, b, c, d) = (x0 + x, y0 + y, x0 + x + w, y0 + y + h);
        format!("POLYGON(({a} {b},{c} {b},{c} {d},{a} {d},{a} {b}))")
    };
    let codes = ["R-3", "K-1", "RTH-2", "SPU-3"];
    let mut features = Vec::new();
    let mut block = 0;
    for (i, (w, road_column)) in bands.iter().enumerate() {
        if *road_column {
            // A vertical road across the whole plan.
            features.push((
                rect(edges[i], 0.0, *w, total),
                json!({"KODSZN": "BJ", "NAME": format!("road x{i}")}),
            ));
            continue;
        }
        for (j, (h, road_row)) in bands.iter().enumerate() {
            if *road_row {
                features.push((
                    rect(edges[i], edges[j], *w, *h),
                    json!({"KODSZN": "BJ", "NAME": format!("road y{j} at x{i}")}),
                ));
            } else {
                features.push((
                    rect(edges[i], edges[j], *w, *h),
                    json!({"KODSZN": codes[block % 4]}),
                ));
                block += 1;
            }
        }
    }
    features
}
