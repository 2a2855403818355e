//! Plans are regulations: each version answers with its own rule set, versions take effect on a
//! date, what changed between versions, the import policies on flawed files, sub-zones without
//! rules, and parcel totals over the buildable parts.

use std::path::{Path, PathBuf};

use satupeta::ingest::{self, ImportOptions, IngestError, Prefer};
use satupeta::rules::{self, Reference, RuleSet};
use satupeta::zoning::{self, Live, ParcelOptions, ParcelRequest, VersionChoice};
use serde_json::{Value, json};

use super::api::serve;
use super::fixtures::{self, ORIGIN, SIZE, cell_centre, cell_wkt, standard_features};
use super::harness::{fresh_db, root, scratch_dir};

/// The shipped rule set.
fn shipped_rules() -> RuleSet {
    rules::load_dir(&root().join("data/rules"), &Reference::shipped().unwrap()).unwrap()
}

/// The shipped rule set with R-3 changed: restaurants prohibited, KDB 5 points lower.
fn stricter_r3() -> RuleSet {
    let mut rules = shipped_rules();
    for cell in &mut rules.itbx {
        if cell.subzone == "R-3" && cell.activity == "014" {
            cell.class = rules::ItbxClass::X;
            cell.conditions.clear();
        }
    }
    for tier in &mut rules.intensity {
        if tier.subzone == "R-3" {
            tier.kdb_max -= 5.0;
        }
    }
    rules
}

fn options(file: &Path, plan: &str) -> ImportOptions {
    ImportOptions {
        plan: Some(plan.into()),
        ..ImportOptions::new(file)
    }
}

fn write_plan(name: &str, features: &[(String, Value)]) -> PathBuf {
    let path = scratch_dir().join(name);
    fixtures::write_gpkg(&path, 4326, features);
    path
}

/// The JSON of a point answer from memory.
fn point(live: &Live, lon: f64, lat: f64, kbli: Option<&str>) -> Value {
    let snapshot = live.snapshot();
    let answer = zoning::lookup_point(&snapshot, lon, lat, kbli).unwrap();
    serde_json::from_slice(&answer.to_json()).unwrap()
}

/// The JSON of a point answer for a chosen version or day, from PostGIS.
async fn point_of(
    live: &Live,
    pool: &sqlx::PgPool,
    choice: VersionChoice,
    lon: f64,
    lat: f64,
) -> Value {
    let snapshot = live.snapshot();
    let found = zoning::VersionLookup::read(pool, live, &snapshot, choice, lon, lat)
        .await
        .unwrap();
    serde_json::from_slice(&found.answer(Some("56101")).unwrap().to_json()).unwrap()
}

fn first_kdb(answer: &Value) -> f64 {
    answer["intensity"][0]["kdb_max"].as_f64().unwrap()
}

#[tokio::test]
async fn a_version_answers_with_its_own_rules_after_newer_rules_and_a_restart() {
    let db = fresh_db().await;
    let file = write_plan("plan.gpkg", &standard_features());
    let first = ingest::import(&db.pool, &options(&file, "Pusat"))
        .await
        .unwrap();
    let (lon, lat) = cell_centre(0, 0);
    let live = Live::load(db.pool.clone()).await.unwrap();
    let before = point(&live, lon, lat, Some("56101"));
    assert_eq!(before["subzone"]["code"], "R-3");
    assert_ne!(before["activity"]["class"], "X");
    assert_eq!(before["rules"]["regulated"], true);

    let outcome = ingest::publish_rules(&db.pool, Some("Pusat"), &stricter_r3(), None)
        .await
        .unwrap();
    let second = outcome.versions[0].version_id;
    assert_ne!(
        outcome.rule_set.digest,
        before["rules"]["digest"].as_str().unwrap()
    );
    // A new process (a restart) reads both versions from the database.
    let live = Live::load(db.pool.clone()).await.unwrap();
    let now = point(&live, lon, lat, Some("56101"));
    assert_eq!(now["plan"]["version_id"], second);
    assert_eq!(now["activity"]["class"], "X");
    assert_eq!(first_kdb(&now), first_kdb(&before) - 5.0);
    assert_eq!(now["rules"]["digest"], outcome.rule_set.digest.as_str());
    // The first version still answers with the rules it was published with.
    let old = point_of(
        &live,
        &db.pool,
        VersionChoice::Version(first.version_id.unwrap()),
        lon,
        lat,
    )
    .await;
    assert_eq!(old["plan"]["version"], 1);
    assert_eq!(old["activity"]["class"], before["activity"]["class"]);
    assert_eq!(first_kdb(&old), first_kdb(&before));
    assert_eq!(old["rules"]["digest"], before["rules"]["digest"]);

    // The catalogue shows each version's rule set and its digest; the two share their zoning.
    let base = serve(&db).await;
    for (id, digest) in [
        (first.version_id.unwrap(), before["rules"]["digest"].clone()),
        (second, json!(outcome.rule_set.digest)),
    ] {
        let body: Value = reqwest::get(format!("{base}/api/v1/plans/versions/{id}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["rules"]["digest"], digest);
        assert_eq!(body["geometry_version_id"], first.version_id.unwrap());
        let subzones = body["rule_set"]["subzones"].as_array().unwrap();
        assert!(subzones.iter().any(|s| s["code"] == "R-3"), "{body}");
        assert!(!body["rule_set"]["itbx"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn at_answers_with_what_was_in_force_that_day() {
    let db = fresh_db().await;
    let file = write_plan("plan.gpkg", &standard_features());
    let first = ingest::import(
        &db.pool,
        &ImportOptions {
            effective: Some("2024-01-01".into()),
            ..options(&file, "Pusat")
        },
    )
    .await
    .unwrap();
    let stricter =
        ingest::publish_rules(&db.pool, Some("Pusat"), &stricter_r3(), Some("2025-06-01"))
            .await
            .unwrap();
    // A version published in advance, in force only from 2030.
    let future = ingest::publish_rules(
        &db.pool,
        Some("Pusat"),
        &shipped_rules(),
        Some("2030-01-01"),
    )
    .await
    .unwrap();
    let (lon, lat) = cell_centre(0, 0);
    let live = Live::load(db.pool.clone()).await.unwrap();
    let day = |d: &str| VersionChoice::At(d.into());
    let eve = point_of(&live, &db.pool, day("2025-05-31"), lon, lat).await;
    let day_of = point_of(&live, &db.pool, day("2025-06-01"), lon, lat).await;
    assert_eq!(eve["plan"]["version_id"], first.version_id.unwrap());
    assert_eq!(eve["plan"]["in_force_until"], "2025-06-01");
    assert_eq!(
        day_of["plan"]["version_id"],
        stricter.versions[0].version_id
    );
    assert_eq!(day_of["plan"]["effective_from"], "2025-06-01");
    assert_eq!(day_of["activity"]["class"], "X");
    assert_ne!(eve["activity"]["class"], "X");
    // Today (2026 or later, before 2030) the stricter version is in force, from memory.
    let today = point(&live, lon, lat, None);
    assert_eq!(today["plan"]["version_id"], stricter.versions[0].version_id);
    let later = point_of(&live, &db.pool, day("2030-01-01"), lon, lat).await;
    assert_eq!(later["plan"]["version_id"], future.versions[0].version_id);
    assert_ne!(later["activity"]["class"], "X");

    // Over HTTP: the same, a day before any version, and a day that is not one.
    let base = serve(&db).await;
    let get = |query: String| {
        let base = base.clone();
        async move {
            let response = reqwest::get(format!("{base}/api/v1/zoning?lon={lon}&lat={lat}{query}"))
                .await
                .unwrap();
            let status = response.status().as_u16();
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            (status, kind, response.json::<Value>().await.unwrap())
        }
    };
    let (status, _, body) = get("&at=2025-05-31".into()).await;
    assert_eq!((status, body["plan"]["version"].clone()), (200, json!(1)));
    let (status, kind, body) = get("&at=2023-12-31".into()).await;
    assert_eq!((status, kind.as_str()), (404, "application/problem+json"));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no plan version in force on 2023-12-31")
    );
    let (status, _, body) = get("&at=2025-02-30".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("YYYY-MM-DD"));

    // A parcel on both sides of the date.
    let parcel = ParcelRequest::new(
        ParcelRequest::polygons(
            json!({"type": "Polygon", "coordinates": square(lon, lat, 0.0002)}),
        )
        .unwrap(),
        None,
    )
    .unwrap();
    let snapshot = live.snapshot();
    let mut kdb = Vec::new();
    for d in ["2025-05-31", "2025-06-01"] {
        let answer = zoning::lookup_parcel(
            &db.pool,
            &live,
            &snapshot,
            &parcel,
            &ParcelOptions {
                at: Some(d.into()),
                compare_to: None,
                published_up_to: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(answer.at, d);
        kdb.push(answer.parts[0].intensity.as_ref().unwrap().kdb_max);
    }
    assert_eq!(kdb[1], kdb[0] - 5.0);
}

/// A closed square ring of side `side` degrees centred on (lon, lat), as GeoJSON coordinates.
fn square(lon: f64, lat: f64, side: f64) -> Value {
    let h = side / 2.0;
    json!([[
        [lon - h, lat - h],
        [lon + h, lat - h],
        [lon + h, lat + h],
        [lon - h, lat + h],
        [lon - h, lat - h]
    ]])
}

#[tokio::test]
async fn the_changes_between_versions_name_what_differs_where() {
    let db = fresh_db().await;
    let first = ingest::import(
        &db.pool,
        &options(&write_plan("v1.gpkg", &standard_features()), "Pusat"),
    )
    .await
    .unwrap();
    // Version 2 redraws cell (1,0) from K-1 to offices (KT).
    let mut features_v2 = standard_features();
    features_v2[1].1["KODSZN"] = json!("32113000");
    features_v2[1].1["NAMOBJ"] = json!("Perkantoran");
    let second = ingest::import(
        &db.pool,
        &options(&write_plan("v2.gpkg", &features_v2), "Pusat"),
    )
    .await
    .unwrap();
    // Version 3 changes only R-3's rules.
    let third = ingest::publish_rules(&db.pool, Some("Pusat"), &stricter_r3(), None)
        .await
        .unwrap();
    let plan_id: i64 = sqlx::query_scalar("SELECT id FROM plan WHERE name = 'Pusat'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let base = serve(&db).await;
    let changes = |from: i64, to: i64| {
        let base = base.clone();
        async move {
            let response = reqwest::get(format!(
                "{base}/api/v1/plans/{plan_id}/changes?from={from}&to={to}"
            ))
            .await
            .unwrap();
            assert_eq!(response.headers()["content-type"], "application/geo+json");
            response.json::<Value>().await.unwrap()
        }
    };
    let cell_m2 = 222.4 * 221.1;
    let redrawn = changes(first.version_id.unwrap(), second.version_id.unwrap()).await;
    let features = redrawn["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "{redrawn}");
    let change = &features[0]["properties"];
    assert_eq!(change["before"]["subzone"]["code"], "K-1");
    assert_eq!(change["after"]["subzone"]["code"], "KT");
    assert_eq!(change["differs"], json!(["subzone"]));
    let area = change["area_m2"].as_f64().unwrap();
    assert!((area / cell_m2 - 1.0).abs() < 0.01, "{area}");
    assert!(matches!(
        features[0]["geometry"]["type"].as_str(),
        Some("Polygon" | "MultiPolygon")
    ));

    // Asked for an area (the map's view): the change reaching into it, none far from it; a
    // malformed area is refused.
    let corner = &features[0]["geometry"]["coordinates"];
    let corner = if features[0]["geometry"]["type"] == "Polygon" {
        &corner[0][0]
    } else {
        &corner[0][0][0]
    };
    let (lon, lat) = (corner[0].as_f64().unwrap(), corner[1].as_f64().unwrap());
    let (from, to) = (first.version_id.unwrap(), second.version_id.unwrap());
    let within = |bbox: String| {
        let base = base.clone();
        async move {
            reqwest::get(format!(
                "{base}/api/v1/plans/{plan_id}/changes?from={from}&to={to}&bbox={bbox}"
            ))
            .await
            .unwrap()
        }
    };
    let near = within(format!(
        "{},{},{},{}",
        lon - 1e-4,
        lat - 1e-4,
        lon + 1e-4,
        lat + 1e-4
    ))
    .await;
    let near: Value = near.json().await.unwrap();
    assert_eq!(near["features"].as_array().unwrap().len(), 1, "{near}");
    let far: Value = within("100,10,100.1,10.1".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(far["features"], json!([]), "{far}");
    for bad in ["1,2,3", "a,b,c,d", "10,0,5,1", "0,0,200,1", "NaN,0,1,1"] {
        let response = within(bad.into()).await;
        assert_eq!(response.status(), 400, "bbox={bad}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("bbox"),
            "{problem}"
        );
    }

    let rules_only = changes(second.version_id.unwrap(), third.versions[0].version_id).await;
    let features = rules_only["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "{rules_only}");
    let change = &features[0]["properties"];
    assert_eq!(change["after"]["subzone"]["code"], "R-3");
    assert_eq!(change["differs"], json!(["intensity", "activities"]));
    assert_eq!(
        rules_only["rule_changes"],
        json!([["R-3", ["intensity", "activities"]]])
    );

    // Version 4 redraws cell (2,1) as its western half: the eastern half left the plan.
    let mut redrawn_features = features_v2.clone();
    let (x0, y0) = (ORIGIN.0 + 2.0 * SIZE, ORIGIN.1 + SIZE);
    let (x1, y1) = (x0 + SIZE / 2.0, y0 + SIZE);
    redrawn_features[5].0 = format!("POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))");
    let fourth = ingest::import(
        &db.pool,
        &options(&write_plan("v4.gpkg", &redrawn_features), "Pusat"),
    )
    .await
    .unwrap();
    let shrunk = changes(third.versions[0].version_id, fourth.version_id.unwrap()).await;
    let features = shrunk["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "{shrunk}");
    let change = &features[0]["properties"];
    assert_eq!(change["before"]["subzone"]["code"], "SPU-3");
    assert_eq!(change["after"], Value::Null);
    assert_eq!(change["differs"], json!(["removed from the plan"]));
    let area = change["area_m2"].as_f64().unwrap();
    assert!((area / (cell_m2 / 2.0) - 1.0).abs() < 0.01, "{area}");

    // A parcel across cells (0,0) and (1,0) compared with version 1: the KT part changed its
    // sub-zone; the R-3 part changed its rules (version 3).
    let (x, y) = (ORIGIN.0 + SIZE, ORIGIN.1 + SIZE / 2.0);
    let body = json!({"type": "Polygon", "coordinates": square(x, y, 0.0004)});
    let client = reqwest::Client::new();
    let answer: Value = client
        .post(format!(
            "{base}/api/v1/zoning/parcel?compare_to={}",
            first.version_id.unwrap()
        ))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["compared_to"]["version"], 1, "{answer}");
    // (Plan "Lain" covers the same cells: only the parts of "Pusat" compare with its version.)
    let parts: Vec<&Value> = answer["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["plan"]["plan"] == "Pusat")
        .collect();
    assert_eq!(parts.len(), 2, "{answer}");
    for part in parts {
        let before = &part["changes"]["before"][0];
        match part["subzone"]["code"].as_str().unwrap() {
            "KT" => {
                assert_eq!(before["subzone"]["code"], "K-1");
                assert_eq!(before["differs"][0], "subzone");
            }
            "R-3" => assert_eq!(before["differs"], json!(["intensity", "activities"])),
            other => panic!("unexpected part {other}"),
        }
        assert_eq!(part["changes"]["unchanged"], false);
    }
    // Nothing changed between a version and itself; a version of another plan is named.
    let same = changes(second.version_id.unwrap(), second.version_id.unwrap()).await;
    assert_eq!(same["features"], json!([]));
    let other = ingest::import(
        &db.pool,
        &options(&write_plan("lain.gpkg", &standard_features()), "Lain"),
    )
    .await
    .unwrap();
    let response = reqwest::get(format!(
        "{base}/api/v1/plans/{plan_id}/changes?from={}&to={}",
        first.version_id.unwrap(),
        other.version_id.unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
}

/// A plan of three cells in a row: housing, commerce and a road body.
fn housing_commerce_road() -> Vec<(String, Value)> {
    vec![
        (cell_wkt(0, 0), json!({"KODSZN": "R-3"})),
        (cell_wkt(1, 0), json!({"KODSZN": "K-1"})),
        (
            cell_wkt(2, 0),
            json!({"KODSZN": "32010000", "NAMOBJ": "Badan Jalan"}),
        ),
    ]
}

#[tokio::test]
async fn parcel_totals_are_those_of_a_building_on_its_buildable_parts() {
    let db = fresh_db().await;
    ingest::import(
        &db.pool,
        &options(&write_plan("row.gpkg", &housing_commerce_road()), "Baris"),
    )
    .await
    .unwrap();
    let live = Live::load(db.pool.clone()).await.unwrap();
    let snapshot = live.snapshot();
    // A strip across all three cells.
    let (y, h) = (ORIGIN.1 + SIZE / 2.0, 0.0001);
    let (x0, x1) = (ORIGIN.0 + SIZE * 0.8, ORIGIN.0 + SIZE * 2.2);
    let ring = json!([[
        [x0, y - h],
        [x1, y - h],
        [x1, y + h],
        [x0, y + h],
        [x0, y - h]
    ]]);
    let request = ParcelRequest::new(
        ParcelRequest::polygons(json!({"type": "Polygon", "coordinates": ring})).unwrap(),
        None,
    )
    .unwrap();
    let answer = zoning::lookup_parcel(&db.pool, &live, &snapshot, &request, &Default::default())
        .await
        .unwrap();
    assert_eq!(answer.parts.len(), 3);
    let part = |code: &str| {
        answer
            .parts
            .iter()
            .find(|p| p.subzone_code == code)
            .unwrap()
    };
    let (r3, k1, road) = (part("R-3"), part("K-1"), part("BJ"));
    assert!(r3.buildable && k1.buildable && !road.buildable);
    let totals = answer.totals.buildable.unwrap();
    let (r, k) = (r3.limits.unwrap(), k1.limits.unwrap());
    // The road body (KDB 0, height 0) sets no limit: the height is the lower of housing and
    // commerce, not 0; the areas add up over the buildable parts only.
    assert!(totals.max_height_m.unwrap() > 0.0);
    assert_eq!(
        totals.max_height_m,
        Some(r.max_height_m.unwrap().min(k.max_height_m.unwrap()))
    );
    assert_eq!(
        totals.max_floors,
        Some(r.max_floors.unwrap().min(k.max_floors.unwrap()))
    );
    assert_eq!(totals.gsb_m, Some(r.gsb_m.unwrap().max(k.gsb_m.unwrap())));
    assert!((totals.max_footprint_m2 - (r.max_footprint_m2 + k.max_footprint_m2)).abs() < 1e-6);
    assert!((totals.max_floor_area_m2 - (r.max_floor_area_m2 + k.max_floor_area_m2)).abs() < 1e-6);
    assert!((answer.totals.buildable_m2 - (r3.area_m2 + k1.area_m2)).abs() < 1e-6);
    assert!((answer.totals.not_buildable_m2 - road.area_m2).abs() < 1e-6);
    assert_eq!(answer.totals.unregulated_m2, 0.0);
    assert!(answer.totals.rule.contains("KDB above 0"));
}

#[tokio::test]
async fn each_import_policy_publishes_its_flawed_file_with_the_defects_on_record() {
    let db = fresh_db().await;
    let dir = scratch_dir();

    // A local code the catalogue lacks: refused by default, mapped with --code-map.
    let mut local = standard_features();
    local[1].1["KODSZN"] = json!("PDG-KOTA");
    local[1].1.as_object_mut().unwrap().remove("NAMOBJ");
    let file = write_plan("local.gpkg", &local);
    let refused = ingest::import(&db.pool, &options(&file, "Lokal"))
        .await
        .unwrap_err();
    let IngestError::Rejected(report) = refused else {
        panic!("{refused}")
    };
    assert_eq!(report.unknown_codes.len(), 1);
    let map = dir.join("codes.csv");
    std::fs::write(&map, "from,to\nPDG-KOTA,K-1\n").unwrap();
    let mapped = ingest::import(
        &db.pool,
        &ImportOptions {
            code_map: Some(map.clone()),
            ..options(&file, "Lokal")
        },
    )
    .await
    .unwrap();
    assert_eq!(mapped.report.mapped_codes.len(), 1);
    assert!(
        mapped.report.mapped_codes[0]
            .message
            .contains("\"PDG-KOTA\" read as \"K-1\"")
    );
    assert_eq!(
        mapped.report.policies.code_map.as_deref(),
        Some(map.to_str().unwrap())
    );
    // A map to a code nobody knows is refused before reading.
    std::fs::write(&map, "from,to\nPDG-KOTA,K-99\n").unwrap();
    let bad_map = ingest::import(
        &db.pool,
        &ImportOptions {
            code_map: Some(map.clone()),
            ..options(&file, "Lokal")
        },
    )
    .await
    .unwrap_err();
    assert!(bad_map.to_string().contains("K-99"), "{bad_map}");

    // Numeric and letter codes that disagree: refused, then resolved by --prefer.
    let mut conflicting = standard_features();
    conflicting[0].1["KODSZNTEXT"] = json!("K-1");
    let file = write_plan("conflict.gpkg", &conflicting);
    let refused = ingest::import(&db.pool, &options(&file, "Konflik"))
        .await
        .unwrap_err();
    assert!(matches!(refused, IngestError::Rejected(r) if r.conflicting_codes.len() == 1));
    for (prefer, expected) in [(Prefer::Numeric, "R-3"), (Prefer::Letter, "K-1")] {
        let outcome = ingest::import(
            &db.pool,
            &ImportOptions {
                prefer: Some(prefer),
                ..options(&file, "Konflik")
            },
        )
        .await
        .unwrap();
        assert_eq!(outcome.report.resolved_conflicts.len(), 1);
        assert!(
            outcome.report.resolved_conflicts[0]
                .message
                .contains(&format!("chose {expected}"))
        );
        let code: String = sqlx::query_scalar(
            "SELECT subzone_code FROM zoning_feature WHERE version_id = $1 AND source_fid = 1",
        )
        .bind(outcome.version_id.unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(code, expected);
    }

    // A numeric code the catalogue lacks under a known zone (3213xxxx: defence): published as a
    // sub-zone of that zone with a warning, and its lookup says the plan sets no rules for it.
    let mut derived = standard_features();
    derived[5].1 = json!({"KODSZN": "32131000", "NAMOBJ": "Pangkalan Militer"});
    let outcome = ingest::import(
        &db.pool,
        &options(&write_plan("derived.gpkg", &derived), "Turunan"),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.report.derived_subzones.len(),
        1,
        "{}",
        outcome.report
    );
    assert!(
        outcome.report.derived_subzones[0]
            .message
            .contains("zone HK")
    );
    assert_eq!(outcome.report.unregulated_subzones.len(), 1);
    let live = Live::load(db.pool.clone()).await.unwrap();
    let (lon, lat) = cell_centre(2, 1);
    let snapshot = live.snapshot();
    let answer = zoning::lookup_point(&snapshot, lon, lat, Some("56101")).unwrap();
    let answer: Value = serde_json::from_slice(&answer.to_json()).unwrap();
    assert_eq!(answer["subzone"]["code"], "32131000");
    assert_eq!(answer["subzone"]["name"], "Pangkalan Militer");
    assert_eq!(answer["subzone"]["zone"]["code"], "HK");
    assert_eq!(answer["rules"]["regulated"], false);
    assert!(
        answer["rules"]["message"]
            .as_str()
            .unwrap()
            .contains("sets no rules for sub-zone 32131000")
    );
    assert_eq!(answer["intensity"], Value::Null);
    assert_eq!(answer["activities"], Value::Null);
    assert_eq!(answer["activity"]["class"], Value::Null);
    // A second file names the same code otherwise: it publishes, and the report says which name
    // lookups use.
    derived[5].1 = json!({"KODSZN": "32131000", "NAMOBJ": "Markas Kodim"});
    let second = ingest::import(
        &db.pool,
        &options(&write_plan("derived2.gpkg", &derived), "Turunan Lain"),
    )
    .await
    .unwrap();
    let message = &second.report.derived_subzones[0].message;
    assert!(
        message.contains("as an earlier file named it") && message.contains("\"Markas Kodim\""),
        "{message}"
    );
    // Digits that name no single zone are still refused.
    derived[5].1 = json!({"KODSZN": "32119000", "NAMOBJ": "Entah"});
    let refused = ingest::import(
        &db.pool,
        &options(&write_plan("nozone.gpkg", &derived), "Turunan"),
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, IngestError::Rejected(r) if r.unknown_codes.len() == 1));

    // The catalogue of plans shows the policies and the warnings of each version.
    let base = serve(&db).await;
    let plans: Value = reqwest::get(format!("{base}/api/v1/plans"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let version = |plan: &str| {
        plans["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["plan"] == plan)
            .unwrap()
            .clone()
    };
    assert_eq!(version("Lokal")["validation"]["mapped_codes"], 1);
    assert!(version("Lokal")["policies"]["code_map"].is_string());
    assert_eq!(version("Konflik")["policies"]["prefer"], "letter");
    assert_eq!(version("Turunan")["validation"]["derived_subzones"], 1);
    // The map's legend names the derived sub-zone the plan uses; the catalogue records it.
    for query in ["", "?catalogue=true"] {
        let legend: Value = reqwest::get(format!("{base}/api/v1/subzones{query}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = legend["subzones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == "32131000")
            .unwrap_or_else(|| panic!("{query}: {legend}"))
            .clone();
        assert_eq!(entry["name"], "Pangkalan Militer");
        assert_eq!(entry["zone"], "HK");
    }
    assert_eq!(version("Turunan")["validation"]["unregulated_subzones"], 1);
}

/// A zone drawn over two cells of the standard grid, overlapping both halfway.
fn overlapping_plan() -> Vec<(String, Value)> {
    let mut features = standard_features();
    let (x0, y0) = (ORIGIN.0 + SIZE / 2.0, ORIGIN.1);
    let (x1, y1) = (x0 + SIZE, y0 + SIZE);
    features.push((
        format!("POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"),
        json!({"KODSZN": "RTH-2", "NAMOBJ": "Taman Kota"}),
    ));
    features
}

#[tokio::test]
async fn overlapping_zones_publish_by_a_stated_precedence_and_count_once() {
    let db = fresh_db().await;
    let file = write_plan("overlap.gpkg", &overlapping_plan());
    let refused = ingest::import(&db.pool, &options(&file, "Tumpang"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, IngestError::Rejected(ref r) if r.overlaps.len() == 2),
        "{refused}"
    );
    let outcome = ingest::import(
        &db.pool,
        &ImportOptions {
            allow_overlaps: true,
            ..options(&file, "Tumpang")
        },
    )
    .await
    .unwrap();
    assert_eq!(outcome.report.overlaps.len(), 2);
    assert_eq!(outcome.report.error_count(), 0);
    assert!(outcome.report.policies.allow_overlaps);

    let live = Live::load(db.pool.clone()).await.unwrap();
    // In the overlap of the park (protected) with housing, the park rules; housing is listed.
    let (lon, lat) = (ORIGIN.0 + SIZE * 0.75, ORIGIN.1 + SIZE / 2.0);
    let answer = point(&live, lon, lat, None);
    assert_eq!(answer["subzone"]["code"], "RTH-2");
    assert_eq!(answer["overlaps"][0]["subzone"]["code"], "R-3");
    assert!(
        answer["precedence"]
            .as_str()
            .unwrap()
            .contains("zona lindung")
    );
    // Outside the overlap, housing answers alone.
    let alone = point(&live, ORIGIN.0 + SIZE * 0.25, lat, None);
    assert_eq!(alone["subzone"]["code"], "R-3");
    assert!(alone.get("precedence").is_none());

    // A parcel over the overlap: every square metre counted once, the overlap said.
    let request = ParcelRequest::new(
        ParcelRequest::polygons(
            json!({"type": "Polygon", "coordinates": square(ORIGIN.0 + SIZE * 0.5, lat, 0.0004)}),
        )
        .unwrap(),
        None,
    )
    .unwrap();
    let snapshot = live.snapshot();
    let parcel = zoning::lookup_parcel(&db.pool, &live, &snapshot, &request, &Default::default())
        .await
        .unwrap();
    let counted: f64 =
        parcel.parts.iter().map(|p| p.area_m2).sum::<f64>() + parcel.outside_plan.area_m2;
    assert!(
        (counted / parcel.area_m2 - 1.0).abs() < 1e-6,
        "{counted} of {}",
        parcel.area_m2
    );
    assert_eq!(parcel.overlaps.len(), 1);
    let overlap = &parcel.overlaps[0];
    let park = parcel
        .parts
        .iter()
        .find(|p| p.subzone_code == "RTH-2")
        .unwrap();
    let housing = parcel
        .parts
        .iter()
        .find(|p| p.subzone_code == "R-3")
        .unwrap();
    assert_eq!(overlap.ruling_feature_id, park.feature_id);
    assert_eq!(overlap.overruled_feature_id, housing.feature_id);
    assert!((housing.zone_area_m2 - housing.area_m2 - overlap.area_m2).abs() < 0.01);
    assert!(parcel.precedence.is_some());
    // A parcel inside the overlap: only the park rules it, and only its class counts.
    let inside = ParcelRequest::new(
        ParcelRequest::polygons(
            json!({"type": "Polygon", "coordinates": square(lon, lat, 0.0002)}),
        )
        .unwrap(),
        Some("56101".into()),
    )
    .unwrap();
    let parcel = zoning::lookup_parcel(&db.pool, &live, &snapshot, &inside, &Default::default())
        .await
        .unwrap();
    assert_eq!(parcel.parts.len(), 1);
    assert_eq!(parcel.parts[0].subzone_code, "RTH-2");
    assert_eq!(
        parcel.activity_class,
        parcel.parts[0].activity.as_ref().unwrap().class
    );
    assert_eq!(parcel.overlaps.len(), 1);
}

#[tokio::test]
async fn a_plan_on_real_kelurahan_boundaries_publishes_with_its_overlaps_and_every_zone_is_drawn() {
    // Kelurahan polygons of the shipped boundaries overlap one another, as boundary data does.
    let admin: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("data/balikpapan_admin.geojson")).unwrap(),
    )
    .unwrap();
    let codes = ["R-2", "R-3", "K-1", "RTH-2", "SPU-1", "C-2"];
    let features: Vec<Value> = admin["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["tingkat"] == "kelurahan")
        .enumerate()
        .map(|(i, f)| {
            json!({"type": "Feature", "geometry": f["geometry"], "properties": {
                "KODSZN": codes[i % codes.len()],
                "WADMKD": f["properties"]["nama"],
            }})
        })
        .collect();
    let count = features.len();
    let file = scratch_dir().join("kelurahan.geojson");
    std::fs::write(
        &file,
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    let db = fresh_db().await;
    let refused = ingest::import(&db.pool, &options(&file, "Kelurahan"))
        .await
        .unwrap_err();
    let IngestError::Rejected(report) = refused else {
        panic!("{refused}")
    };
    assert!(report.overlaps.len() > 10, "{}", report.overlaps.len());
    let outcome = ingest::import(
        &db.pool,
        &ImportOptions {
            allow_overlaps: true,
            ..options(&file, "Kelurahan")
        },
    )
    .await
    .unwrap();
    assert_eq!(outcome.report.features_published, count);

    // Every zone is drawn in the tiles: the tile at its interior point holds it.
    let base = serve(&db).await;
    let tilejson: Value = reqwest::get(format!("{base}/tiles/zoning.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let template = tilejson["tiles"][0].as_str().unwrap().to_string();
    let inside: Vec<(i64, f64, f64)> = sqlx::query_as(
        "SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) AS p FROM zoning_feature) f",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(inside.len(), count);
    use geozero::mvt::Message;
    for (id, lon, lat) in inside {
        let coord = satupeta::tiles::TileCoord::containing(lon, lat, 13).unwrap();
        let url = super::tiles::tile_url(&template, coord);
        let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        let tile = geozero::mvt::Tile::decode(&bytes[..]).unwrap();
        let ids: Vec<u64> = tile
            .layers
            .iter()
            .flat_map(|l| l.features.iter().filter_map(|f| f.id))
            .collect();
        assert!(
            ids.contains(&(id as u64)),
            "zone {id} is not drawn at {url}"
        );
    }
}

#[tokio::test]
async fn a_file_that_carries_its_own_rules_publishes_them_as_its_rule_set() {
    let db = fresh_db().await;
    let features = vec![
        (
            cell_wkt(0, 0),
            json!({"KODSZN": "R-2", "KDB": "60", "KLB": "1,8", "KDH": "20", "KTB": "0",
                   "KTGBGN": "Kolektor Primer: 15 m, Lokal Primer: 12 m",
                   "IZN": "Rumah Tunggal, Warung", "TBT": "Toko", "BST": "Bengkel (jam operasional 07-22)"}),
        ),
        (
            cell_wkt(1, 0),
            json!({"KODSZN": "K-1", "KDB": "Luas LP kurang dari 400 m2: 80; Luas LP lebih dari 400 m2: Alternatif 1: 70, Alternatif 2: 60",
                   "KLB": "4", "KDH": "10", "KTB": "50", "IZN": "Toko, Warung, Bengkel"}),
        ),
    ];
    let file = write_plan("own-rules.gpkg", &features);
    let outcome = ingest::import(
        &db.pool,
        &ImportOptions {
            rules_from_attributes: true,
            ..options(&file, "Sendiri")
        },
    )
    .await
    .unwrap();
    assert!(!outcome.report.rules_read.is_empty(), "{}", outcome.report);
    assert!(outcome.report.policies.rules_from_attributes);
    assert!(outcome.report.unregulated_subzones.is_empty());
    let live = Live::load(db.pool.clone()).await.unwrap();
    let (lon, lat) = cell_centre(0, 0);
    let housing = point(&live, lon, lat, None);
    assert_eq!(housing["intensity"][0]["kdb_max"], 60.0);
    assert_eq!(housing["intensity"][0]["klb_max"], 1.8);
    assert_eq!(housing["intensity"][0]["max_height_m"], 12.0);
    let names = |class: &str| -> Vec<String> {
        housing["activities"][class]["activities"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names("I"), vec!["Rumah Tunggal", "Warung"]);
    assert_eq!(names("T"), vec!["Toko"]);
    assert_eq!(names("B"), vec!["Bengkel"]);
    assert!(
        housing["activities"]["B"]["activities"][0]["conditions"][0]["text"]
            .as_str()
            .unwrap()
            .contains("07-22")
    );
    let (lon, lat) = cell_centre(1, 0);
    let commerce = point(&live, lon, lat, None);
    let tiers = commerce["intensity"].as_array().unwrap();
    assert_eq!(tiers.len(), 2);
    assert_eq!(
        (tiers[0]["kdb_max"].clone(), tiers[1]["kdb_max"].clone()),
        (json!(80.0), json!(70.0))
    );
    assert_eq!(commerce["intensity"][0]["max_height_m"], Value::Null);
    // Its activities are named, not coded: a KBLI question is answered with why it has no class.
    let asked = point(&live, lon, lat, Some("56101"));
    assert_eq!(asked["activity"]["class"], Value::Null);
    assert!(
        asked["activity"]["message"]
            .as_str()
            .unwrap()
            .contains("rules no activity by KBLI code")
    );
    // The version's rule set is the file's, not the city's.
    assert_ne!(
        commerce["rules"]["set"],
        json!(
            rules::city_rule_set(&mut db.pool.acquire().await.unwrap(), None)
                .await
                .unwrap()
        )
    );
    // The activity search answers from a chosen version's rule set: the file's activities; without
    // one, from the city's rule set once a plan in force follows it.
    ingest::import(
        &db.pool,
        &options(&write_plan("kota.gpkg", &standard_features()), "Kota"),
    )
    .await
    .unwrap();
    let base = serve(&db).await;
    let search = |query: String| {
        let base = base.clone();
        async move {
            let response = reqwest::get(format!("{base}/api/v1/activities?{query}"))
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let version = outcome.version_id.unwrap();
    let (status, own) = search(format!("q=toko&version={version}")).await;
    assert_eq!(status, 200, "{own}");
    let names: Vec<&str> = own["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Toko"]);
    assert_eq!(own["rule_set"]["id"], outcome.rule_set.as_ref().unwrap().id);
    let (_, city) = search("q=toko".into()).await;
    let names: Vec<&str> = city["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Toko") && !names.is_empty(), "{names:?}");
    let (status, _) = search("q=toko&version=999999".into()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_database_with_one_global_rule_set_migrates_to_versions_that_keep_those_rules() {
    let db = super::harness::empty_db().await;
    let mut before = sqlx::migrate!("./migrations");
    before.migrations = std::borrow::Cow::Owned(
        before
            .migrations
            .iter()
            .filter(|m| m.version <= 4)
            .cloned()
            .collect(),
    );
    before.run(&db.pool).await.unwrap();
    // The shipped rules as the schema before regulations held them: one global set of tables.
    let rules = shipped_rules();
    let reference = Reference::shipped().unwrap();
    let zones: std::collections::BTreeSet<&str> =
        rules.subzones.iter().map(|s| s.zone.as_str()).collect();
    for zone in zones {
        let zone = reference.zone(zone).unwrap();
        sqlx::query("INSERT INTO zone (code, name, kind) VALUES ($1, $2, $3)")
            .bind(&zone.code)
            .bind(&zone.name)
            .bind(&zone.kind)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    for s in &rules.subzones {
        sqlx::query("INSERT INTO subzone (code, catalog_code, name, zone_code, color, code_source) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&s.code).bind(&s.catalog_code).bind(&s.name).bind(&s.zone).bind(&s.color).bind(&s.code_source)
            .execute(&db.pool).await.unwrap();
    }
    for t in &rules.intensity {
        sqlx::query(
            "INSERT INTO intensity VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&t.subzone)
        .bind(t.min_parcel_m2)
        .bind(t.max_parcel_m2)
        .bind(t.kdb_max)
        .bind(t.klb_min)
        .bind(t.klb_max)
        .bind(t.kdh_min)
        .bind(t.ktb_max)
        .bind(t.max_height_m)
        .bind(t.max_floors)
        .bind(t.gsb_m)
        .bind(t.min_lot_m2)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    for a in &rules.activities {
        sqlx::query("INSERT INTO activity (id, name) VALUES ($1, $2)")
            .bind(&a.id)
            .bind(&a.name)
            .execute(&db.pool)
            .await
            .unwrap();
        // Linked in reverse order: the digest must not depend on it.
        for code in a.kbli.iter().rev() {
            let k = reference.kbli(code).unwrap();
            sqlx::query("INSERT INTO kbli (code, title, level, category) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(&k.code).bind(&k.title).bind(&k.level).bind(&k.category)
                .execute(&db.pool).await.unwrap();
            sqlx::query("INSERT INTO activity_kbli VALUES ($1, $2)")
                .bind(&a.id)
                .bind(code)
                .execute(&db.pool)
                .await
                .unwrap();
        }
    }
    for c in &rules.conditions {
        sqlx::query("INSERT INTO condition VALUES ($1, $2)")
            .bind(&c.code)
            .bind(&c.text)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    for c in &rules.itbx {
        sqlx::query("INSERT INTO itbx VALUES ($1, $2, $3, $4)")
            .bind(&c.activity)
            .bind(&c.subzone)
            .bind(c.class.as_str())
            .bind(&c.conditions)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO plan (name) VALUES ('Lama')")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO plan_version (plan_id, version, source_file, source_sha256, source_layer, source_crs,
                                   feature_count, area_m2, report, published_at)
         VALUES (1, 1, 'lama.gpkg', 'x', 'zonasi', 'EPSG:4326', 1, 1, '{}', '2025-03-01T02:00:00Z')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO zoning_feature (version_id, source_fid, subzone_code, attributes, area_m2, geom, geom_3857)
         SELECT 1, 1, 'R-3', '{}', 1, g, ST_Transform(g, 3857)
         FROM ST_Multi(ST_GeomFromText($1, 4326)) AS g",
    )
    .bind(cell_wkt(0, 0))
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE plan SET published_version_id = 1")
        .execute(&db.pool)
        .await
        .unwrap();

    satupeta::db::migrate(&db.pool).await.unwrap();
    let (set, effective, geometry): (i64, String, i64) = sqlx::query_as(
        "SELECT rule_set_id, effective_from::text, geometry_version_id FROM plan_version WHERE id = 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // Effective from the day it was published, Balikpapan time (10:00 WITA on 1 March 2025).
    assert_eq!((set, effective.as_str(), geometry), (1, "2025-03-01", 1));
    // The same tables loaded again are the same rule set: no new version, nothing stored twice.
    let again = ingest::publish_rules(&db.pool, None, &rules, None)
        .await
        .unwrap();
    assert_eq!((again.rule_set.id, again.rule_set.reused), (1, true));
    assert_eq!(again.unchanged, vec!["Lama".to_string()]);
    let live = Live::load(db.pool.clone()).await.unwrap();
    let (lon, lat) = cell_centre(0, 0);
    let answer = point(&live, lon, lat, Some("56101"));
    assert_eq!(answer["rules"]["set"], 1);
    assert_eq!(answer["subzone"]["code"], "R-3");
    assert!(answer["activity"]["class"].is_string());
}

#[tokio::test]
async fn the_citys_rules_reach_the_plans_that_use_them_and_leave_a_plan_with_its_own() {
    let db = fresh_db().await;
    let city = write_plan("city.gpkg", &standard_features());
    ingest::import(&db.pool, &options(&city, "Kota"))
        .await
        .unwrap();
    let own = ingest::import(
        &db.pool,
        &ImportOptions {
            rules: Some(stricter_r3()),
            ..options(&city, "Sendiri")
        },
    )
    .await
    .unwrap();
    // The city's new rules: a new version of "Kota" only.
    let mut newer = shipped_rules();
    newer.conditions[0].text.push_str(" (diubah)");
    let outcome = ingest::publish_rules(&db.pool, None, &newer, None)
        .await
        .unwrap();
    let plans: Vec<&str> = outcome.versions.iter().map(|v| v.plan.as_str()).collect();
    assert_eq!(plans, vec!["Kota"]);
    let own_now: i64 = sqlx::query_scalar(
        "SELECT v.rule_set_id FROM plan_version v JOIN plan p ON p.id = v.plan_id
         WHERE p.name = 'Sendiri' ORDER BY v.version DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(own_now, own.rule_set.unwrap().id);
    // A plan imported later without rules takes the city's newest.
    let later = ingest::import(&db.pool, &options(&city, "Baru"))
        .await
        .unwrap();
    assert_eq!(later.rule_set.unwrap().id, outcome.rule_set.id);
}

#[tokio::test]
async fn new_versions_build_on_the_version_in_force_on_their_day() {
    let db = fresh_db().await;
    let today = ingest::import(
        &db.pool,
        &options(&write_plan("now.gpkg", &standard_features()), "Hari"),
    )
    .await
    .unwrap();
    // Zoning published in advance for 2031 redraws cell (1,0) as offices.
    let mut later = standard_features();
    later[1].1["KODSZN"] = json!("32113000");
    later[1].1.as_object_mut().unwrap().remove("NAMOBJ");
    let planned = ingest::import(
        &db.pool,
        &ImportOptions {
            effective: Some("2031-01-01".into()),
            ..options(&write_plan("2031.gpkg", &later), "Hari")
        },
    )
    .await
    .unwrap();
    assert!(!planned.state.as_ref().unwrap().in_force);
    assert!(today.state.as_ref().unwrap().in_force);
    // New rules today go on today's zoning, not on the zoning of 2031.
    let rules = ingest::publish_rules(&db.pool, Some("Hari"), &stricter_r3(), None)
        .await
        .unwrap();
    assert!(rules.versions[0].state.in_force);
    // The version published earlier for 2031 supersedes it then, with its own rules: said.
    assert_eq!(
        rules.versions[0].state.superseded_from.as_deref(),
        Some("2031-01-01")
    );
    let geometry: i64 =
        sqlx::query_scalar("SELECT geometry_version_id FROM plan_version WHERE id = $1")
            .bind(rules.versions[0].version_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(geometry, today.version_id.unwrap());
    let live = Live::load(db.pool.clone()).await.unwrap();
    let (lon, lat) = cell_centre(1, 0);
    assert_eq!(point(&live, lon, lat, None)["subzone"]["code"], "K-1");
    // Rules for a day before any zoning are refused, naming the plan and the day.
    let early = ingest::publish_rules(&db.pool, Some("Hari"), &stricter_r3(), Some("2000-01-01"))
        .await
        .unwrap_err();
    assert!(
        early
            .to_string()
            .contains("no version of plan \"Hari\" is in force on 2000-01-01"),
        "{early}"
    );

    // A plan given its own rules with --plan keeps them when the city's rules change, even when
    // they are equal to the city's.
    let city = write_plan("city.gpkg", &standard_features());
    ingest::import(&db.pool, &options(&city, "Milik"))
        .await
        .unwrap();
    let own = ingest::publish_rules(&db.pool, Some("Milik"), &shipped_rules(), None)
        .await
        .unwrap();
    assert_eq!(
        own.versions.len(),
        1,
        "equal rules given for the plan become its own"
    );
    let mut newer = shipped_rules();
    newer.conditions[0].text.push_str(" (diubah)");
    let outcome = ingest::publish_rules(&db.pool, None, &newer, None)
        .await
        .unwrap();
    let plans: Vec<&str> = outcome.versions.iter().map(|v| v.plan.as_str()).collect();
    assert!(
        !plans.contains(&"Milik") && !plans.contains(&"Hari"),
        "{plans:?}"
    );
    // City rules from 2030 on do not reach a plan imported today.
    let mut future = shipped_rules();
    future.conditions[1].text.push_str(" (2030)");
    let future_set = ingest::publish_rules(&db.pool, None, &future, Some("2030-01-01"))
        .await
        .unwrap()
        .rule_set;
    let fresh = ingest::import(&db.pool, &options(&city, "Baru"))
        .await
        .unwrap();
    assert_eq!(fresh.rule_set.unwrap().id, outcome.rule_set.id);
    assert_ne!(outcome.rule_set.id, future_set.id);
    // It follows the city, whose rules change in 2030: said.
    assert_eq!(
        fresh.state.unwrap().city_rules_change.as_deref(),
        Some("2030-01-01")
    );
}

#[tokio::test]
async fn parcels_over_the_demo_plan_count_each_square_metre_once_and_compare_cleanly() {
    let db = fresh_db().await;
    let first = ingest::import(&db.pool, &options(super::harness::demo_plan(), "Demo"))
        .await
        .unwrap();
    let live = Live::load(db.pool.clone()).await.unwrap();
    let snapshot = live.snapshot();
    // Parcels (octagons, as a buffer draws them) centred on zone boundaries: where zones meet,
    // overlay leaves slivers; none may count, and comparing with the same version changes nothing.
    let corners: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT geom FROM zoning_feature ORDER BY id LIMIT 40) f,
         LATERAL ST_DumpPoints(f.geom) p WHERE (p.path)[3] = 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (lon, lat) in corners {
        let ring: Vec<[f64; 2]> = (0..=8)
            .map(|i| {
                let a = f64::from(i % 8) * std::f64::consts::TAU / 8.0;
                [lon + 0.0004 * a.cos(), lat + 0.0004 * a.sin()]
            })
            .collect();
        let request = ParcelRequest::new(
            ParcelRequest::polygons(json!({"type": "Polygon", "coordinates": [ring]})).unwrap(),
            None,
        )
        .unwrap();
        let answer = zoning::lookup_parcel(
            &db.pool,
            &live,
            &snapshot,
            &request,
            &ParcelOptions {
                at: None,
                compare_to: first.version_id,
                published_up_to: None,
            },
        )
        .await
        .unwrap();
        assert!(
            answer.overlaps.is_empty(),
            "at {lon}, {lat}: {:?}",
            answer.overlaps
        );
        let counted: f64 =
            answer.parts.iter().map(|p| p.area_m2).sum::<f64>() + answer.outside_plan.area_m2;
        assert!(
            (counted / answer.area_m2 - 1.0).abs() < 1e-6,
            "at {lon}, {lat}"
        );
        for part in &answer.parts {
            let changes = part.changes.as_ref().unwrap();
            assert!(changes.unchanged, "at {lon}, {lat}: {changes:?}");
            assert!(
                changes
                    .before
                    .iter()
                    .all(|b| b.area_m2 <= part.area_m2 + 0.01)
            );
        }
    }
    // A version of a plan that rules none of the parcel cannot be compared with; a day before any
    // version has no regulation.
    let elsewhere = ingest::import(
        &db.pool,
        &options(&write_plan("far.gpkg", &standard_features()), "Jauh"),
    )
    .await
    .unwrap();
    let (lon, lat) = (116.95, -1.15);
    let request = ParcelRequest::new(
        ParcelRequest::polygons(
            json!({"type": "Polygon", "coordinates": square(lon, lat, 0.0004)}),
        )
        .unwrap(),
        None,
    )
    .unwrap();
    let snapshot = Live::load(db.pool.clone()).await.unwrap().snapshot();
    let refused = zoning::lookup_parcel(
        &db.pool,
        &live,
        &snapshot,
        &request,
        &ParcelOptions {
            at: None,
            compare_to: elsewhere.version_id,
            published_up_to: None,
        },
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("rules no part of this parcel"),
        "{refused}"
    );
    let before = zoning::lookup_parcel(
        &db.pool,
        &live,
        &snapshot,
        &request,
        &ParcelOptions {
            at: Some("2000-01-01".into()),
            compare_to: None,
            published_up_to: None,
        },
    )
    .await
    .unwrap_err();
    assert!(
        before
            .to_string()
            .contains("no plan version was in force on 2000-01-01"),
        "{before}"
    );
}
