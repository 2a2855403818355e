//! The map page in a real browser: Debian's Chromium, driven by `tests/browser/smoke.mjs`
//! (playwright-core), loads the page of a server over the demo plan, sees the zoning drawn and
//! asks for the sub-zone under a click. The script says what it checks.
//!
//! The plan has two versions: a coarser one in force from 2020 and the demo in force from 2024
//! (today's), so that the day selector and "what changed here" have something to show.

use std::path::Path;
use std::time::{Duration, Instant};

use satupeta::ingest::{self, ImportOptions};
use satupeta::web::{Options, Server};

use super::harness::{TestDb, demo_plan, fresh_db, root, scratch_dir};

const CHROMIUM: &str = "/usr/bin/chromium";

/// What the smoke test needs on the machine, with how to install what is missing.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("Node.js 20 or newer (`node` and `npm` on the PATH)".to_string());
    }
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!(
            "Chromium at {CHROMIUM} (apt-get install --no-install-recommends chromium)"
        ));
    }
    if !root()
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        missing.push(
            "playwright-core in tests/browser/node_modules \
             (npm ci --prefix tests/browser, or `make test`, which runs it)"
                .to_string(),
        );
    }
    missing
}

/// Fails the calling test, saying what to install, when the browser tools are missing.
fn require_browser_tools() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser tests need:\n  {}",
        missing.join("\n  ")
    );
}

#[tokio::test]
async fn the_map_page_draws_the_zoning_and_answers_a_click() {
    require_browser_tools();

    let db = fresh_db().await;
    let earlier = scratch_dir().join("earlier.gpkg");
    satupeta::demo::generate(&satupeta::demo::DemoOptions {
        polygons: 250,
        admin: root().join("data/balikpapan_admin.geojson"),
        out: earlier.clone(),
    })
    .expect("generate the earlier plan");
    for (file, effective) in [
        (earlier.as_path(), "2020-01-01"),
        (demo_plan(), "2024-01-01"),
    ] {
        ingest::import(
            &db.pool,
            &ImportOptions {
                plan: Some("Demo".into()),
                effective: Some(effective.into()),
                ..ImportOptions::new(file)
            },
        )
        .await
        .unwrap();
    }
    let base = Server::start(&db.url, &Options::default())
        .await
        .unwrap()
        .spawn()
        .await
        .unwrap();

    let started = Instant::now();
    // The script keeps its own 100 s limit; this one only guards against a hung browser.
    let report = run_script("smoke.mjs", &[&base], &[], 150).await;
    eprintln!(
        "browser smoke test passed in {:.1} s:\n{report}",
        started.elapsed().as_secs_f64()
    );
}

/// Runs `tests/browser/{script}` with `args` and `env` under node; panics with its output when it
/// fails or outlives `seconds`.
async fn run_script(script: &str, args: &[&str], env: &[(&str, &str)], seconds: u64) -> String {
    let run = tokio::process::Command::new("node")
        .arg(root().join("tests/browser").join(script))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(seconds), run)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {seconds} s"))
        .expect("run node");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{report}",
        output.status
    );
    report
}

#[tokio::test]
async fn an_agency_publishes_from_the_web_page_and_staff_approve_it() {
    use satupeta::accounts::{self, Actor, NewAccount, Role};
    require_browser_tools();
    let db = fresh_db().await;
    let operator = Actor {
        account_id: None,
        name: "test".into(),
        origin: "cli:test".into(),
    };
    let password = "kata sandi yang panjang";
    accounts::add_agency(&db.pool, "dinkes", "Dinas Kesehatan", &operator)
        .await
        .unwrap();
    for (name, role, agency) in [
        ("budi", Role::Publisher, Some("dinkes")),
        ("staf", Role::Staff, None),
    ] {
        let account = NewAccount {
            name,
            role,
            agency,
            password,
        };
        accounts::add_account(&db.pool, &account, &operator)
            .await
            .unwrap();
    }
    let file = scratch_dir().join("posyandu.geojson");
    std::fs::write(&file, super::node::health_centres(8)).unwrap();
    let base = Server::start(&db.url, &Options::default())
        .await
        .unwrap()
        .spawn()
        .await
        .unwrap();
    let report = run_script(
        "publish.mjs",
        &[&base, file.to_str().unwrap()],
        &[("PUBLISH_PASSWORD", password)],
        120,
    )
    .await;
    eprintln!("{report}");
}

/// A server over the demo plan with certificate keys and a staff account (`staf`), and a 24 m
/// square plot inside its largest housing zone (GeoJSON).
async fn krk_demo() -> (TestDb, String, String) {
    let db = fresh_db().await;
    let options = ImportOptions {
        plan: Some("RDTR Kota Balikpapan (demo)".into()),
        regulation: Some("Peraturan Wali Kota Balikpapan (demo)".into()),
        ..ImportOptions::new(demo_plan())
    };
    ingest::import(&db.pool, &options)
        .await
        .expect("import the demo");
    super::node::people(&db).await;
    let keys_dir = scratch_dir().join("keys");
    satupeta::krk::keys::init(&keys_dir, &super::krk::signer()).unwrap();
    let options = Options {
        keys_dir: Some(keys_dir),
        ..Options::default()
    };
    let base = super::api::serve_with(&db, options).await;
    let parcel: String = sqlx::query_scalar(
        "SELECT ST_AsGeoJSON(ST_Transform(ST_Expand(ST_Transform(ST_PointOnSurface(geom), 32750), 12), 4326), 7) \
         FROM zoning_feature WHERE subzone_code = 'R-3' ORDER BY area_m2 DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    (db, base, parcel)
}

/// Where the browser tests keep their screenshots.
fn screenshots() -> std::path::PathBuf {
    let out = root().join("target/browser");
    std::fs::create_dir_all(&out).unwrap();
    out
}

#[tokio::test]
async fn staff_issue_a_certificate_from_the_web_page_and_it_verifies() {
    require_browser_tools();
    let (_db, base, parcel) = krk_demo().await;
    let application = serde_json::json!({
        "applicant": {
            "name": "Budi Santoso",
            "id_number": "6471011203800004",
            "address": "Jl. MT Haryono No. 10, Balikpapan",
            "title_kind": "SHM",
            "title_number": "4321",
            "email": "budi@example.id",
        },
        "building_function": "hunian",
        "parcel": serde_json::from_str::<serde_json::Value>(&parcel).unwrap(),
    });
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/krk/applications"))
        .json(&application)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
    let out = screenshots();
    let started = Instant::now();
    let report = run_script(
        "krk.mjs",
        &[&base, "staf", super::node::PASSWORD, out.to_str().unwrap()],
        &[],
        120,
    )
    .await;
    eprintln!(
        "issued from the page in {:.1} s:\n{report}",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn an_applicant_applies_on_the_page_and_follows_it_by_the_private_link() {
    require_browser_tools();
    let (_db, base, parcel) = krk_demo().await;
    let file = scratch_dir().join("persil.geojson");
    std::fs::write(&file, &parcel).unwrap();
    let out = screenshots();
    let report = run_script(
        "krk-apply.mjs",
        &[&base, file.to_str().unwrap(), out.to_str().unwrap()],
        &[],
        120,
    )
    .await;
    eprintln!("{report}");
}

#[tokio::test]
async fn a_citizen_reports_from_the_map_and_staff_verify_it_on_the_triage_page() {
    require_browser_tools();
    let (db, base, _) = krk_demo().await;
    // A point inside a housing zone of the demo plan (its lookup answers R-3).
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM zoning_feature \
         WHERE subzone_code = 'R-3' ORDER BY area_m2 DESC LIMIT 1) s",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let photo = scratch_dir().join("foto-bengkel.png");
    image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    })
    .save(&photo)
    .unwrap();
    let out = screenshots();
    let report = run_script(
        "reports.mjs",
        &[
            &base,
            &format!("{lon:.6}"),
            &format!("{lat:.6}"),
            photo.to_str().unwrap(),
            "staf",
            super::node::PASSWORD,
            out.to_str().unwrap(),
        ],
        &[],
        150,
    )
    .await;
    eprintln!("{report}");
    let (status, notes): (String, Option<String>) =
        sqlx::query_as("SELECT status, status_notes FROM report ORDER BY id DESC LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "verified");
    assert!(notes.unwrap().contains("bengkel"));
}
