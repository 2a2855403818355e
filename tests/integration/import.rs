//! Importing plans: every format and CRS, reprojection accuracy, the validation report on broken
//! files, and atomic publication of versions.

use std::path::Path;

use satupeta::ingest::{self, ImportOptions, IngestError, ValidationReport};
use serde_json::json;
use sqlx::PgPool;

use super::fixtures::{self, STANDARD_CODES, cell_centre, cell_wkt, standard_plan_as};
use super::harness::{fresh_db, scratch_dir};

fn options(file: &Path, plan: &str) -> ImportOptions {
    ImportOptions {
        plan: Some(plan.into()),
        ..ImportOptions::new(file)
    }
}

/// Sub-zone code of the published feature of `plan` under a point, asked of PostGIS.
async fn subzone_at(pool: &PgPool, plan: &str, (lon, lat): (f64, f64)) -> Option<String> {
    sqlx::query_scalar(
        "SELECT f.subzone_code FROM zoning_feature f JOIN plan p ON p.published_version_id = f.version_id
         WHERE p.name = $1 AND ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326))",
    )
    .bind(plan)
    .bind(lon)
    .bind(lat)
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// Largest distance in metres between each imported cell and the cell as drawn in EPSG:4326.
async fn worst_shift_m(pool: &PgPool, plan: &str) -> f64 {
    let mut worst: f64 = 0.0;
    for ((col, row), _) in STANDARD_CODES {
        let cell = format!("{col}{row}");
        let d: f64 = sqlx::query_scalar(
            "SELECT ST_HausdorffDistance(ST_Transform(f.geom, 32750), ST_Transform(ST_GeomFromText($3, 4326), 32750))
             FROM zoning_feature f JOIN plan p ON p.published_version_id = f.version_id
             WHERE p.name = $1 AND (f.attributes->>'CELL' = $2 OR f.attributes->>'cell' = $2)",
        )
        .bind(plan)
        .bind(&cell)
        .bind(cell_wkt(col, row))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("cell {cell} of {plan}: {e}"));
        worst = worst.max(d);
    }
    worst
}

#[tokio::test]
async fn every_format_and_crs_imports_to_the_same_plan() {
    let dir = scratch_dir();
    let cases = [
        ("GPKG", "plan-utm50s.gpkg", 32750),
        ("ESRI Shapefile", "plan-tm3.shp", 23837),
        ("ESRI Shapefile", "plan-dgn95-utm.shp.zip", 23880),
        ("GeoJSON", "plan-wgs84.geojson", 4326),
        ("FlatGeobuf", "plan-srgi.fgb", 9490),
        ("KML", "plan.kml", 4326),
    ];
    for (driver, name, epsg) in cases {
        let db = fresh_db().await;
        let file = standard_plan_as(&dir, driver, name, epsg);
        let outcome = ingest::import(&db.pool, &options(&file, "Uji"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = &outcome.report;
        assert_eq!(report.features_read, 6, "{name}");
        assert_eq!(report.features_published, 6, "{name}");
        assert_eq!(report.source_crs, format!("EPSG:{epsg}"), "{name}");
        assert_eq!(outcome.version, Some(1), "{name}");
        for ((col, row), code) in STANDARD_CODES {
            let found = subzone_at(&db.pool, "Uji", cell_centre(col, row)).await;
            assert_eq!(found.as_deref(), Some(code), "{name}: cell {col},{row}");
        }
        let shift = worst_shift_m(&db.pool, "Uji").await;
        assert!(shift < 0.5, "{name}: imported cells are {shift} m off");
        // Every source attribute is kept as it came.
        let attributes: serde_json::Value = sqlx::query_scalar(
            "SELECT attributes FROM zoning_feature WHERE attributes->>'CELL' = '21' OR attributes->>'cell' = '21'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let attributes = attributes.as_object().unwrap();
        let kodsbl = attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("KODSBL"))
            .map(|(_, v)| v.clone());
        assert_eq!(kodsbl, Some(json!("KT.A.21")), "{name}: {attributes:?}");
    }
}

/// Northing (EPSG:32750) of latitude `lat` on the central meridian: the meridian arc of the WGS 84
/// ellipsoid (series to e⁶) times k0, plus the false northing, computed here independently of PROJ.
fn utm50s_northing_on_central_meridian(lat: f64) -> f64 {
    let a = 6_378_137.0_f64;
    let f = 1.0 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let (e4, e6) = (e2 * e2, e2 * e2 * e2);
    let phi = lat.to_radians();
    let m = a
        * ((1.0 - e2 / 4.0 - 3.0 * e4 / 64.0 - 5.0 * e6 / 256.0) * phi
            - (3.0 * e2 / 8.0 + 3.0 * e4 / 32.0 + 45.0 * e6 / 1024.0) * (2.0 * phi).sin()
            + (15.0 * e4 / 256.0 + 45.0 * e6 / 1024.0) * (4.0 * phi).sin()
            - (35.0 * e6 / 3072.0) * (6.0 * phi).sin());
    10_000_000.0 + 0.9996 * m
}

#[tokio::test]
async fn a_known_utm_point_lands_within_half_a_metre() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    // A square whose south-west corner is (117° E, 1.25° S), written directly in UTM 50S.
    let (x, y) = (500_000.0, utm50s_northing_on_central_meridian(-1.25));
    let wkt = format!(
        "POLYGON(({x} {y},{} {y},{} {},{x} {},{x} {y}))",
        x + 200.0,
        x + 200.0,
        y + 200.0,
        y + 200.0
    );
    let features = [(wkt, json!({"KODSZN": "32103300"}))];
    // The WKT is already in UTM: write it without reprojection and declare the CRS.
    let gpkg = dir.join("known-point.gpkg");
    write_projected(&gpkg, 32750, &features);
    ingest::import(&db.pool, &options(&gpkg, "Titik"))
        .await
        .unwrap();
    let distance: f64 = sqlx::query_scalar(
        "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(117.0, -1.25), 4326)::geography,
                            ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)::geography)
         FROM zoning_feature",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        distance < 0.5,
        "the corner landed {distance} m from 117° E, 1.25° S"
    );
}

/// Writes features whose WKT is already in `epsg` coordinates.
fn write_projected(path: &Path, epsg: u32, features: &[(String, serde_json::Value)]) {
    use gdal::spatial_ref::SpatialRef;
    use gdal::vector::{
        Feature, FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
    };
    let driver = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut dataset = driver.create_vector_only(path).unwrap();
    let srs = SpatialRef::from_epsg(epsg).unwrap();
    let layer = dataset
        .create_layer(LayerOptions {
            name: "zonasi",
            srs: Some(&srs),
            ty: OGRwkbGeometryType::wkbPolygon,
            options: None,
        })
        .unwrap();
    layer
        .create_defn_fields(&[("KODSZN", OGRFieldType::OFTString)])
        .unwrap();
    for (wkt, props) in features {
        let mut feature = Feature::new(layer.defn()).unwrap();
        feature
            .set_field(
                0,
                &FieldValue::StringValue(props["KODSZN"].as_str().unwrap().into()),
            )
            .unwrap();
        feature
            .set_geometry(Geometry::from_wkt(wkt).unwrap())
            .unwrap();
        feature.create(&layer).unwrap();
    }
}

/// Imports a valid version 1 of plan "Broken", then `file`; returns the second import's result
/// after checking that version 1 is still the only, published version.
async fn import_after_valid_version(
    file: &Path,
    source_crs: Option<&str>,
) -> Result<ValidationReport, IngestError> {
    let db = fresh_db().await;
    let good = standard_plan_as(&scratch_dir(), "GPKG", "good.gpkg", 4326);
    ingest::import(&db.pool, &options(&good, "Broken"))
        .await
        .unwrap();
    let mut second = options(file, "Broken");
    second.source_crs = source_crs.map(str::to_string);
    let result = ingest::import(&db.pool, &second).await.map(|o| o.report);
    if result.is_err() {
        let (versions, published): (i64, i32) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM plan_version), v.version FROM plan p JOIN plan_version v ON v.id = p.published_version_id",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(
            (versions, published),
            (1, 1),
            "a refused import must change nothing"
        );
        let features: i64 = sqlx::query_scalar("SELECT count(*) FROM zoning_feature")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(features, 6);
    }
    result
}

fn rejected(result: Result<ValidationReport, IngestError>) -> ValidationReport {
    match result {
        Err(IngestError::Rejected(report)) => *report,
        other => panic!("expected the validation to refuse the file, got {other:?}"),
    }
}

fn input_error(result: Result<ValidationReport, IngestError>) -> String {
    match result {
        Err(IngestError::Input(message)) => message,
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_self_intersecting_ring_is_repaired_and_reported() {
    let dir = scratch_dir();
    let (x0, y0, s) = (fixtures::ORIGIN.0, fixtures::ORIGIN.1, fixtures::SIZE);
    let bowtie = format!(
        "POLYGON(({x0} {y0},{} {},{} {y0},{x0} {},{x0} {y0}))",
        x0 + s,
        y0 + s,
        x0 + s,
        y0 + s
    );
    let file = dir.join("bowtie.gpkg");
    fixtures::write_gpkg(&file, 4326, &[(bowtie, json!({"KODSZN": "R-3"}))]);
    let report = import_after_valid_version(&file, None)
        .await
        .expect("a repairable ring is published");
    assert_eq!(report.repaired.len(), 1, "{report}");
    assert!(
        report.repaired[0].message.contains("Self-intersection"),
        "{report}"
    );
    let [x, y] = report.repaired[0].location.expect("where");
    assert!(
        (x - (x0 + s / 2.0)).abs() < 1e-6 && (y - (y0 + s / 2.0)).abs() < 1e-6,
        "crossing at {x},{y}"
    );
    assert_eq!(report.features_published, 1);
}

#[tokio::test]
async fn a_ring_with_no_area_is_rejected_and_nothing_published() {
    let dir = scratch_dir();
    let (x0, y0, s) = (fixtures::ORIGIN.0, fixtures::ORIGIN.1, fixtures::SIZE);
    let flat = format!(
        "POLYGON(({x0} {y0},{} {y0},{} {y0},{x0} {y0}))",
        x0 + s,
        x0 + 2.0 * s
    );
    let mut features = fixtures::standard_features();
    features.push((flat, json!({"KODSZN": "R-3", "CELL": "flat"})));
    let file = dir.join("flat.gpkg");
    fixtures::write_gpkg(&file, 4326, &features);
    let report = rejected(import_after_valid_version(&file, None).await);
    assert_eq!(report.rejected.len(), 1, "{report}");
    assert!(report.rejected[0].message.contains("no area"), "{report}");
}

#[tokio::test]
async fn overlapping_zones_are_refused_with_the_overlap_area() {
    let dir = scratch_dir();
    let mut features = fixtures::standard_features();
    // A zone covering the east half of cell (0,0) and the west half of cell (1,0).
    let (x0, y0, s) = (
        fixtures::ORIGIN.0 + fixtures::SIZE / 2.0,
        fixtures::ORIGIN.1,
        fixtures::SIZE,
    );
    let wkt = format!(
        "POLYGON(({x0} {y0},{} {y0},{} {},{x0} {},{x0} {y0}))",
        x0 + s,
        x0 + s,
        y0 + s,
        y0 + s
    );
    features.push((wkt, json!({"KODSZN": "KT", "CELL": "extra"})));
    // Measured on the shapes as read, and again on repaired shapes when another feature needed a
    // repair (a self-intersecting ring in its own cell, north of the grid).
    let (bx, by) = (fixtures::ORIGIN.0, fixtures::ORIGIN.1 + 3.0 * s);
    let bowtie = format!(
        "POLYGON(({bx} {by},{} {},{} {by},{bx} {},{bx} {by}))",
        bx + s,
        by + s,
        bx + s,
        by + s
    );
    let mut with_repair = features.clone();
    with_repair.push((bowtie, json!({"KODSZN": "R-4", "CELL": "bowtie"})));
    for (name, features) in [
        ("overlap.gpkg", features),
        ("overlap-repaired.gpkg", with_repair),
    ] {
        let file = dir.join(name);
        fixtures::write_gpkg(&file, 4326, &features);
        let report = rejected(import_after_valid_version(&file, None).await);
        assert_eq!(report.overlaps.len(), 2, "{name}: {report}");
        let cell_area: f64 = 222.6 * 221.1; // one cell, m² (about 0.002° on each side at 1.26° S)
        for overlap in &report.overlaps {
            let area = overlap.area_m2.unwrap();
            assert!(
                (area / (cell_area / 2.0) - 1.0).abs() < 0.02,
                "{name}: overlap of {area} m²"
            );
            let [x, _] = overlap.location.unwrap();
            assert!(x > x0 && x < x0 + s, "{name}: overlap located at {x}");
        }
    }
}

#[tokio::test]
async fn unknown_and_conflicting_codes_are_refused() {
    let dir = scratch_dir();
    let mut features = fixtures::standard_features();
    features[0].1["KODSZN"] = json!("99999999");
    // The real-data conflict: the numeric code of SPU Skala Kelurahan named as SPU Skala RW.
    features[1].1["KODSZN"] = json!("32104300");
    features[1].1["NAMOBJ"] = json!("SPU Skala RW");
    let file = dir.join("codes.gpkg");
    fixtures::write_gpkg(&file, 4326, &features);
    let report = rejected(import_after_valid_version(&file, None).await);
    assert_eq!(report.unknown_codes.len(), 1, "{report}");
    assert!(
        report.unknown_codes[0].message.contains("99999999"),
        "{report}"
    );
    assert_eq!(report.conflicting_codes.len(), 1, "{report}");
    assert!(
        report.conflicting_codes[0].message.contains("SPU-3")
            && report.conflicting_codes[0].message.contains("SPU-4")
    );
}

#[tokio::test]
async fn unusable_files_get_a_clear_error_and_nothing_is_published() {
    let dir = scratch_dir();
    // An empty layer.
    let empty = dir.join("empty.gpkg");
    fixtures::write_gpkg(&empty, 4326, &[]);
    assert!(
        input_error(import_after_valid_version(&empty, None).await).contains("has no features")
    );
    // A layer of lines.
    let lines = dir.join("lines.gpkg");
    let line = (
        format!(
            "LINESTRING({} {}, 116.85 -1.25)",
            fixtures::ORIGIN.0,
            fixtures::ORIGIN.1
        ),
        json!({"KODSZN": "BJ"}),
    );
    fixtures::write_layer(
        &lines,
        "GPKG",
        Some(4326),
        &[line],
        gdal::vector::OGRwkbGeometryType::wkbLineString,
    );
    let message = input_error(import_after_valid_version(&lines, None).await);
    assert!(
        message.contains("Line String") && message.contains("polygons"),
        "{message}"
    );
    // A corrupt file.
    let corrupt = dir.join("corrupt.gpkg");
    std::fs::write(&corrupt, b"SQLite format 3\0 this is not really a database").unwrap();
    assert!(
        input_error(import_after_valid_version(&corrupt, None).await).contains("cannot be read")
    );
    // An unknown CRS.
    let good = standard_plan_as(&dir, "GPKG", "plan.gpkg", 4326);
    let message = input_error(import_after_valid_version(&good, Some("EPSG:999999")).await);
    assert!(
        message.contains("unknown coordinate reference system \"EPSG:999999\""),
        "{message}"
    );
    // A shapefile without its .prj.
    let shp = standard_plan_as(&dir, "ESRI Shapefile", "noprj.shp", 32750);
    std::fs::remove_file(shp.with_extension("prj")).unwrap();
    let message = input_error(import_after_valid_version(&shp, None).await);
    assert!(message.contains("--source-crs"), "{message}");
    // ...which imports once the CRS is given.
    let report = import_after_valid_version(&shp, Some("EPSG:32750"))
        .await
        .expect("with --source-crs");
    assert_eq!(report.features_published, 6);
}

#[tokio::test]
async fn gaps_are_reported_and_a_dry_run_publishes_nothing() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let mut features = fixtures::standard_features();
    // Without cell (1,1) and with a third row of cells, cell (1,1) is a hole surrounded by zones.
    features.remove(4);
    for (col, row) in [(0, 2), (1, 2), (2, 2)] {
        features.push((
            cell_wkt(col, row),
            json!({"KODSZN": "R-4", "CELL": format!("{col}{row}")}),
        ));
    }
    let file = dir.join("gap.gpkg");
    fixtures::write_gpkg(&file, 4326, &features);
    let mut dry = options(&file, "Celah");
    dry.dry_run = true;
    let outcome = ingest::import(&db.pool, &dry).await.unwrap();
    assert_eq!(outcome.version_id, None);
    assert_eq!(outcome.report.gaps.len(), 1, "{}", outcome.report);
    let gap = outcome.report.gaps[0].area_m2.unwrap();
    assert!(
        (gap / (222.6 * 221.1) - 1.0).abs() < 0.02,
        "gap of {gap} m²"
    );
    let plans: i64 = sqlx::query_scalar("SELECT count(*) FROM plan")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(plans, 0, "a dry run publishes nothing");
    // A real import publishes it, gap and all, and stores the report with the version.
    let outcome = ingest::import(&db.pool, &options(&file, "Celah"))
        .await
        .unwrap();
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT report FROM plan_version WHERE id = $1")
            .bind(outcome.version_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored["gaps"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_version_replaces_the_published_one_and_the_old_stays_readable() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let v1 = standard_plan_as(&dir, "GPKG", "v1.gpkg", 4326);
    let first = ingest::import(&db.pool, &options(&v1, "Versi"))
        .await
        .unwrap();
    let mut features = fixtures::standard_features();
    features[0].1["KODSZN"] = json!("R-2");
    features[0].1["NAMOBJ"] = json!("Perumahan Kepadatan Tinggi");
    let v2 = dir.join("v2.gpkg");
    fixtures::write_gpkg(&v2, 4326, &features);
    let second = ingest::import(&db.pool, &options(&v2, "Versi"))
        .await
        .unwrap();
    assert_eq!((first.version, second.version), (Some(1), Some(2)));
    assert_eq!(
        subzone_at(&db.pool, "Versi", cell_centre(0, 0))
            .await
            .as_deref(),
        Some("R-2")
    );
    let old: String = sqlx::query_scalar(
        "SELECT subzone_code FROM zoning_feature WHERE version_id = $1 AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326))",
    )
    .bind(first.version_id)
    .bind(cell_centre(0, 0).0)
    .bind(cell_centre(0, 0).1)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(old, "R-3");
    assert!(ingest::is_published(&db.pool, "Versi", &v2).await.unwrap());
    assert!(!ingest::is_published(&db.pool, "Versi", &v1).await.unwrap());
}

#[tokio::test]
async fn field_names_are_read_in_any_case_and_attributes_kept_as_they_came() {
    let db = fresh_db().await;
    let file = scratch_dir().join("lowercase.geojson");
    let square = |x: f64| json!({"type": "Polygon", "coordinates": [[[x, -1.26], [x + 0.002, -1.26], [x + 0.002, -1.258], [x, -1.258], [x, -1.26]]]});
    let awkward = "Jl. \"Sudirman\"\tNo. 1\nC:\\arsip\\ ✓";
    let collection = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(116.840),
         "properties": {"kodszn": "32103400", "wadmkd": "Damai", "kodblk": "B-1", "krb_03": "Rawan Banjir", "REMARK": awkward, "LUASHA": 4.93}},
        {"type": "Feature", "geometry": square(116.842), "properties": {"KodSzn": "rth-5"}},
        {"type": "Feature", "geometry": square(116.844), "properties": {"NamObj": "pemakaman", "KRB_03": "Tidak Ada"}}
    ]});
    std::fs::write(&file, collection.to_string()).unwrap();
    ingest::import(&db.pool, &options(&file, "Huruf"))
        .await
        .unwrap();
    assert_eq!(
        subzone_at(&db.pool, "Huruf", (116.841, -1.259))
            .await
            .as_deref(),
        Some("R-4")
    );
    assert_eq!(
        subzone_at(&db.pool, "Huruf", (116.843, -1.259))
            .await
            .as_deref(),
        Some("RTH-5")
    );
    assert_eq!(
        subzone_at(&db.pool, "Huruf", (116.845, -1.259))
            .await
            .as_deref(),
        Some("RTH-7")
    );
    let (kelurahan, block, overlays, attributes): (String, String, serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT kelurahan, block, overlays, attributes FROM zoning_feature WHERE subzone_code = 'R-4'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((kelurahan.as_str(), block.as_str()), ("Damai", "B-1"));
    assert_eq!(overlays, json!({"KRB_03": "Rawan Banjir"}));
    assert_eq!(attributes["REMARK"], awkward, "{attributes}");
    assert_eq!(attributes["LUASHA"], 4.93);
    assert_eq!(attributes["kodszn"], "32103400");
    let none: serde_json::Value =
        sqlx::query_scalar("SELECT overlays FROM zoning_feature WHERE subzone_code = 'RTH-7'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(none, json!({}), "\"Tidak Ada\" means no overlay");
}

#[tokio::test]
async fn the_benchmark_grid_plan_imports_strictly_and_is_the_same_every_time() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let write = |name: &str| {
        let out = dir.join(name);
        satupeta::demo::grid::generate(&satupeta::demo::DemoOptions {
            polygons: 400,
            admin: super::harness::root().join("data/balikpapan_admin.geojson"),
            out: out.clone(),
        })
        .expect("generate the grid plan");
        out
    };
    let (first, second) = (write("grid-a.gpkg"), write("grid-b.gpkg"));
    let report = ingest::import(&db.pool, &options(&first, "Grid"))
        .await
        .unwrap()
        .report;
    assert!(report.features_published > 300, "{report:?}");
    assert!(
        report.overlaps.is_empty() && report.gaps.is_empty(),
        "{report:?}"
    );
    // Deterministic: a second run writes the same features.
    let features = |path: &Path| {
        let out = std::process::Command::new("ogrinfo")
            .args(["-q", "-al", path.to_str().unwrap()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.contains(".gpkg"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let written = features(&first);
    assert!(written.len() > 1000, "{}", written.len());
    assert_eq!(written, features(&second));
}
