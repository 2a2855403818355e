//! Point and parcel lookups: the in-memory index against PostGIS, the content of an answer,
//! overlapping plans, superseded versions and the parcel arithmetic.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use satupeta::ingest::{self, ImportOptions};
use satupeta::zoning::{self, Live, ParcelRequest, ZoningError};
use serde_json::json;

use super::fixtures::{self, cell_centre, standard_plan_as};
use super::harness::{demo_plan, fresh_db, root, scratch_dir};

async fn import(pool: &sqlx::PgPool, file: &std::path::Path, plan: &str) -> ingest::ImportOutcome {
    ingest::import(
        pool,
        &ImportOptions {
            plan: Some(plan.into()),
            ..ImportOptions::new(file)
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_index_answers_exactly_as_postgis_st_intersects() {
    let db = fresh_db().await;
    import(&db.pool, demo_plan(), "Demo").await;
    let live = Live::load(db.pool.clone()).await.unwrap();
    let snapshot = live.snapshot();
    assert!(
        snapshot.index.len() > 400,
        "demo plan has {} features",
        snapshot.index.len()
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut points: Vec<(f64, f64)> = (0..3000)
        .map(|_| (rng.gen_range(116.72..117.03), rng.gen_range(-1.29..-1.00)))
        .collect();
    // Vertices of stored polygons: points on shared boundaries, where both must list every zone.
    let vertices: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT geom FROM zoning_feature ORDER BY id LIMIT 200) f,
         LATERAL ST_DumpPoints(f.geom) p WHERE (p.path)[3] = 2",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    points.extend(vertices);
    let (mut inside, mut shared) = (0, 0);
    for (lon, lat) in points {
        let from_index: Vec<i64> = snapshot.index.at(lon, lat).iter().map(|f| f.id).collect();
        let from_postgis: Vec<i64> = zoning::features_at(
            &db.pool,
            lon,
            lat,
            &super::harness::in_force(&db.pool).await,
        )
        .await
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
        assert_eq!(from_index, from_postgis, "at {lon}, {lat}");
        inside += usize::from(!from_index.is_empty());
        shared += usize::from(from_index.len() > 1);
    }
    assert!(inside > 1000, "only {inside} points fell inside the plan");
    assert!(
        shared > 100,
        "only {shared} points were on shared boundaries"
    );
}

/// A fresh database with the standard plan (written in CRS `epsg`) published as "Pusat", and the
/// live snapshot of it.
async fn standard_plan_live(epsg: u32) -> (super::harness::TestDb, Live) {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", epsg);
    import(&db.pool, &file, "Pusat").await;
    let live = Live::load(db.pool.clone()).await.unwrap();
    (db, live)
}

/// The sub-zone codes of a parcel's parts, sorted.
fn sorted_codes(answer: &zoning::ParcelAnswer) -> Vec<&str> {
    let mut codes: Vec<&str> = answer
        .parts
        .iter()
        .map(|p| p.subzone_code.as_str())
        .collect();
    codes.sort();
    codes
}

/// The ITBX cell of an activity in a sub-zone, read straight from data/rules/itbx.csv.
fn itbx_cell(activity: &str, subzone: &str) -> String {
    let mut reader = csv::Reader::from_path(root().join("data/rules/itbx.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = header.iter().position(|h| h == subzone).unwrap();
    let record = reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[0] == activity)
        .unwrap();
    record[column].to_string()
}

/// Intensity rows of a sub-zone, read straight from data/rules/intensity.csv.
fn intensity_rows(subzone: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(root().join("data/rules/intensity.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[0] == subzone)
        .map(|r| {
            header
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_point_answer_carries_subzone_rules_activities_and_attributes() {
    let (_db, live) = standard_plan_live(32750).await;
    let snapshot = live.snapshot();
    let (lon, lat) = cell_centre(0, 0);
    let answer = zoning::lookup_point(&snapshot, lon, lat, Some("56101")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&answer.to_json()).unwrap();
    assert_eq!(json["subzone"]["code"], "R-3");
    assert_eq!(json["subzone"]["catalog_code"], "32103300");
    assert_eq!(json["subzone"]["zone"]["code"], "R");
    assert_eq!(json["subzone"]["color"], "#FFF005");
    assert_eq!(json["plan"]["plan"], "Pusat");
    assert_eq!(json["block"], "KT.A");
    assert_eq!(json["subblock"], "KT.A.00");
    assert_eq!(json["kelurahan"], "Klandasan Ilir");
    assert_eq!(json["kecamatan"], "Balikpapan Kota");
    assert_eq!(
        json["overlays"],
        json!({"KKOP_1": "K01G Kawasan di Bawah Permukaan Horizontal Luar"})
    );
    assert_eq!(json["attributes"]["CELL"], "00");
    assert_eq!(json["overlaps"], json!([]));
    // Intensity: every tier of R-3, as in intensity.csv.
    let rows = intensity_rows("R-3");
    let tiers = json["intensity"].as_array().unwrap();
    assert_eq!(tiers.len(), rows.len());
    for (tier, row) in tiers.iter().zip(&rows) {
        assert_eq!(
            tier["kdb_max"].as_f64().unwrap(),
            row["kdb_max"].parse::<f64>().unwrap()
        );
        assert_eq!(
            tier["klb_max"].as_f64().unwrap(),
            row["klb_max"].parse::<f64>().unwrap()
        );
    }
    // The restaurant (KBLI 56101 -> activity 014 in activities.csv) as the matrix says.
    let cell = itbx_cell("014", "R-3");
    let expected_class = class_of_cell(&cell);
    assert_eq!(json["activity"]["class"], expected_class);
    assert_eq!(json["activity"]["kbli_title"], "Restoran");
    assert_eq!(json["activity"]["id"], "014");
    // Every activity is listed once, under its class, with its condition texts.
    let groups = json["activities"].as_object().unwrap();
    let listed: usize = groups
        .values()
        .map(|g| g["activities"].as_array().unwrap().len())
        .sum();
    let activities = csv::Reader::from_path(root().join("data/rules/activities.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(listed, activities);
    let restaurant = groups[expected_class]["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "014")
        .unwrap();
    let conditions = restaurant["conditions"].as_array().unwrap();
    if cell.contains('+') || cell.len() > 2 || cell.chars().any(|c| c.is_ascii_digit()) {
        assert!(
            !conditions.is_empty()
                && conditions
                    .iter()
                    .all(|c| !c["text"].as_str().unwrap().is_empty())
        );
    }
}

#[tokio::test]
async fn lookups_refuse_bad_input_and_say_when_no_plan_covers_a_point() {
    let (_db, live) = standard_plan_live(4326).await;
    let snapshot = live.snapshot();
    let outside = zoning::lookup_point(&snapshot, 116.5, -1.5, None).unwrap_err();
    assert!(
        matches!(&outside, ZoningError::NotCovered { .. })
            && outside.to_string().contains("no published plan covers"),
        "{outside}"
    );
    let bad = zoning::lookup_point(&snapshot, 200.0, -1.5, None).unwrap_err();
    assert!(
        matches!(&bad, ZoningError::Coordinates { .. }) && bad.to_string().contains("lon=200"),
        "{bad}"
    );
    let (lon, lat) = cell_centre(1, 0);
    let unknown = zoning::lookup_point(&snapshot, lon, lat, Some("99999")).unwrap_err();
    assert!(
        matches!(&unknown, ZoningError::UnknownKbli(_))
            && unknown.to_string().contains("not a KBLI 2020 code"),
        "{unknown}"
    );
}

#[tokio::test]
async fn overlapping_plans_are_listed_and_old_versions_answer_by_id() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let file = standard_plan_as(&dir, "GPKG", "plan.gpkg", 4326);
    let first = import(&db.pool, &file, "WP Kota").await;
    import(&db.pool, &file, "WP Selatan").await;
    let mut features = fixtures::standard_features();
    features[1].1["KODSZN"] = json!("KT");
    features[1].1["NAMOBJ"] = json!("Perkantoran");
    let changed = dir.join("changed.gpkg");
    fixtures::write_gpkg(&changed, 4326, &features);
    import(&db.pool, &changed, "WP Kota").await;

    let live = Live::load(db.pool.clone()).await.unwrap();
    let snapshot = live.snapshot();
    let (lon, lat) = cell_centre(1, 0);
    let answer: serde_json::Value = serde_json::from_slice(
        &zoning::lookup_point(&snapshot, lon, lat, None)
            .unwrap()
            .to_json(),
    )
    .unwrap();
    let mut seen = vec![(
        answer["plan"]["plan"].clone(),
        answer["subzone"]["code"].clone(),
    )];
    for other in answer["overlaps"].as_array().unwrap() {
        seen.push((
            other["plan"]["plan"].clone(),
            other["subzone"]["code"].clone(),
        ));
    }
    seen.sort_by_key(|(p, _)| p.to_string());
    assert_eq!(
        seen,
        vec![
            (json!("WP Kota"), json!("KT")),
            (json!("WP Selatan"), json!("K-1"))
        ]
    );

    let choice = zoning::VersionChoice::Version(first.version_id.unwrap());
    let found = zoning::VersionLookup::read(&db.pool, &live, &snapshot, choice, lon, lat)
        .await
        .unwrap();
    let old = found.answer(None).unwrap().to_json();
    let old: serde_json::Value = serde_json::from_slice(&old).unwrap();
    assert_eq!(old["subzone"]["code"], "K-1");
    assert_eq!(old["plan"]["version"], 1);
    let versions = zoning::list_versions(&db.pool, None).await.unwrap();
    let kota: Vec<(i32, bool)> = versions
        .iter()
        .filter(|v| v.plan == "WP Kota")
        .map(|v| (v.version, v.published))
        .collect();
    assert_eq!(kota, vec![(2, true), (1, false)]);
}

/// The class an ITBX cell of itbx.csv means (I, X, or condition codes joined by +).
fn class_of_cell(cell: &str) -> &'static str {
    match cell {
        "I" => "I",
        "X" => "X",
        "T" => "T",
        "B" => "B",
        "TB" => "TB",
        codes => {
            let t = codes.split('+').any(|c| c.starts_with('T'));
            let b = codes.split('+').any(|c| c.starts_with('B'));
            match (t, b) {
                (true, true) => "TB",
                (true, false) => "T",
                _ => "B",
            }
        }
    }
}

#[tokio::test]
async fn a_parcel_is_measured_in_square_metres_per_zone() {
    let (db, live) = standard_plan_live(4326).await;
    let snapshot = live.snapshot();
    // 40% in cell (0,0), 40% in cell (1,0) (K-1), 20% in a strip south of the plan. The
    // parcel (about 920 m²) and its parts (about 370 m²) fall in different intensity tiers.
    let (x_mid, y0) = (fixtures::ORIGIN.0 + fixtures::SIZE, fixtures::ORIGIN.1);
    let (w, h) = (0.00015, 0.0002);
    let ring = json!([[
        [x_mid - w, y0 - h / 4.0],
        [x_mid + w, y0 - h / 4.0],
        [x_mid + w, y0 + h],
        [x_mid - w, y0 + h],
        [x_mid - w, y0 - h / 4.0]
    ]]);
    let geojson = json!({"type": "Polygon", "coordinates": ring});
    let request = ParcelRequest::new(
        ParcelRequest::polygons(geojson.clone()).unwrap(),
        Some("56101".into()),
    )
    .unwrap();
    let answer = zoning::lookup_parcel(&db.pool, &live, &snapshot, &request, &Default::default())
        .await
        .unwrap();

    // The area in metres: the same polygon measured in UTM 50S agrees to within the projection's
    // scale error (k0 = 0.9996 on the central meridian).
    let utm_area: f64 = sqlx::query_scalar(
        "SELECT ST_Area(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), 32750))",
    )
    .bind(geojson.to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        (answer.area_m2 / utm_area - 1.0).abs() < 0.002,
        "{} m² vs {utm_area} m² in UTM",
        answer.area_m2
    );
    assert!(
        (answer.area_m2 - 33.39 * 27.64).abs() / answer.area_m2 < 0.01,
        "{} m²",
        answer.area_m2
    );

    assert_eq!(answer.parts.len(), 2);
    let sum: f64 =
        answer.parts.iter().map(|p| p.area_m2).sum::<f64>() + answer.outside_plan.area_m2;
    assert!(
        (sum / answer.area_m2 - 1.0).abs() < 1e-6,
        "parts add up to {sum} of {}",
        answer.area_m2
    );
    assert!(
        (answer.outside_plan.share - 0.2).abs() < 0.001,
        "outside share {}",
        answer.outside_plan.share
    );
    let mut footprint = 0.0;
    let mut classes = Vec::new();
    for part in &answer.parts {
        assert!(
            (part.share - 0.4).abs() < 0.001,
            "{} share {}",
            part.subzone_code,
            part.share
        );
        // The tier for the whole parcel's area, from intensity.csv; not the part's own.
        let rows = intensity_rows(&part.subzone_code);
        let in_tier = |area: f64| {
            rows.iter()
                .position(|r| {
                    let min: f64 = r["min_parcel_m2"].parse().unwrap();
                    let max: f64 = r["max_parcel_m2"].parse().unwrap_or(f64::INFINITY);
                    area >= min && area < max
                })
                .unwrap()
        };
        assert_ne!(
            in_tier(answer.area_m2),
            in_tier(part.area_m2),
            "the test needs distinct tiers"
        );
        let row = &rows[in_tier(answer.area_m2)];
        let limits = part.limits.unwrap();
        let value = |name: &str| row[name].parse::<f64>().unwrap();
        assert!((limits.max_footprint_m2 - value("kdb_max") / 100.0 * part.area_m2).abs() < 1e-6);
        assert!((limits.max_floor_area_m2 - value("klb_max") * part.area_m2).abs() < 1e-6);
        assert!((limits.min_floor_area_m2 - value("klb_min") * part.area_m2).abs() < 1e-6);
        assert!((limits.min_green_m2 - value("kdh_min") / 100.0 * part.area_m2).abs() < 1e-6);
        assert!((limits.max_basement_m2 - value("ktb_max") / 100.0 * part.area_m2).abs() < 1e-6);
        assert_eq!(limits.max_height_m, Some(value("max_height_m")));
        assert_eq!(limits.max_floors.map(f64::from), Some(value("max_floors")));
        footprint += limits.max_footprint_m2;
        let expected = class_of_cell(&itbx_cell("014", &part.subzone_code));
        let json = serde_json::to_value(part.activity.as_ref().unwrap()).unwrap();
        assert_eq!(
            json["class"], expected,
            "restaurant in {}",
            part.subzone_code
        );
        classes.push(expected);
    }
    let totals = answer.totals.buildable.unwrap();
    assert!((totals.max_footprint_m2 - footprint).abs() < 1e-6);
    let heights: Vec<f64> = answer
        .parts
        .iter()
        .filter_map(|p| p.limits.unwrap().max_height_m)
        .collect();
    assert_eq!(
        totals.max_height_m,
        Some(heights.iter().cloned().fold(f64::INFINITY, f64::min))
    );
    // The whole parcel: X anywhere is X; T and B together are TB; otherwise the stricter class.
    let combined = if classes.contains(&"X") {
        "X"
    } else if classes.contains(&"TB") || (classes.contains(&"T") && classes.contains(&"B")) {
        "TB"
    } else if classes.contains(&"B") {
        "B"
    } else if classes.contains(&"T") {
        "T"
    } else {
        "I"
    };
    assert_eq!(
        serde_json::to_value(answer.activity_class).unwrap(),
        combined
    );
    let codes = sorted_codes(&answer);
    assert_eq!(codes, ["K-1", "R-3"]);
}

#[tokio::test]
async fn parcels_outside_the_plan_multipart_or_malformed_get_a_clear_answer() {
    let (db, live) = standard_plan_live(4326).await;
    let snapshot = live.snapshot();
    let square =
        |x: f64, y: f64, s: f64| json!([[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]);

    // Wholly outside: no parts, no limits, all of it outside the plan.
    let outside = ParcelRequest::new(
        ParcelRequest::polygons(
            json!({"type": "Polygon", "coordinates": square(116.9, -1.2, 0.001)}),
        )
        .unwrap(),
        None,
    )
    .unwrap();
    let answer = zoning::lookup_parcel(&db.pool, &live, &snapshot, &outside, &Default::default())
        .await
        .unwrap();
    assert!(answer.parts.is_empty() && answer.totals.buildable.is_none());
    assert!((answer.outside_plan.share - 1.0).abs() < 1e-9 && answer.area_m2 > 12_000.0);

    // A plan published there after the snapshot was taken is measured, with its plan version.
    let later = scratch_dir().join("later.gpkg");
    let zone = (
        "POLYGON((116.89 -1.21,116.91 -1.21,116.91 -1.19,116.89 -1.19,116.89 -1.21))".to_string(),
        json!({"KODSZN": "R-4"}),
    );
    fixtures::write_gpkg(&later, 4326, &[zone]);
    import(&db.pool, &later, "Baru").await;
    let answer = zoning::lookup_parcel(&db.pool, &live, &snapshot, &outside, &Default::default())
        .await
        .unwrap();
    assert_eq!(answer.parts.len(), 1);
    assert_eq!(answer.parts[0].subzone_code, "R-4");
    assert_eq!(
        answer.parts[0].plan.as_ref().map(|p| p.plan.as_str()),
        Some("Baru")
    );
    assert!(answer.outside_plan.area_m2 < 1e-6);

    // Two squares in two zones, as a MultiPolygon.
    let (a, b) = (cell_centre(0, 1), cell_centre(2, 1));
    let multi = json!({"type": "MultiPolygon", "coordinates": [square(a.0, a.1, 0.0002), square(b.0, b.1, 0.0002)]});
    let answer = zoning::lookup_parcel(
        &db.pool,
        &live,
        &snapshot,
        &ParcelRequest::new(ParcelRequest::polygons(multi).unwrap(), None).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let codes = sorted_codes(&answer);
    assert_eq!(codes, ["RTH-2", "SPU-3"]);
    assert!(answer.parts.iter().all(|p| (p.share - 0.5).abs() < 0.001));

    for (geometry, words) in [
        (
            json!({"type": "Point", "coordinates": [116.84, -1.26]}),
            "Polygon or MultiPolygon",
        ),
        (
            json!({"type": "Polygon", "coordinates": []}),
            "no coordinates",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[116.84, -1.26], [116.841, -1.259], [116.841, -1.26], [116.84, -1.259], [116.84, -1.26]]]}),
            "invalid",
        ),
        (
            json!({"type": "Polygon", "coordinates": square(216.0, -1.2, 0.001)}),
            "not WGS 84 degrees",
        ),
        (
            json!({"type": "Polygon", "coordinates": "nope"}),
            "expected a GeoJSON Polygon",
        ),
    ] {
        // Bad shapes are refused as they are read; an invalid polygon by PostGIS.
        let request = ParcelRequest::polygons(geometry)
            .and_then(|geometry| ParcelRequest::new(geometry, None));
        let error = match request {
            Err(e) => ZoningError::from(e),
            Ok(request) => {
                zoning::lookup_parcel(&db.pool, &live, &snapshot, &request, &Default::default())
                    .await
                    .unwrap_err()
            }
        };
        assert!(
            matches!(&error, ZoningError::Parcel(_)) && error.to_string().contains(words),
            "{words}: {error}"
        );
    }
}
