//! The `satupeta` binary as an operator runs it: the embedded database shared by two processes,
//! imports refused by validation, re-imports skipped with `--if-changed`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use satupeta::ingest::{self, ImportOptions};
use satupeta::zoning::Live;
use serde_json::json;

use super::fixtures::{self, cell_centre, standard_plan_as};
use super::harness::{fresh_db, root, scratch_dir};

/// Runs the binary from the project's root, with no `DATABASE_URL` unless `env` gives one.
pub fn satupeta(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satupeta"));
    command
        .args(args)
        .current_dir(root())
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run satupeta")
}

/// What a run printed, standard output then standard error.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_embedded_database_serves_and_is_shared_by_a_second_process() {
    let data_dir = scratch_dir().join("var");
    let data = data_dir.to_str().unwrap();
    let plan = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 32750);

    // The server starts the private cluster (initdb, pg_ctl, PostGIS, migrations).
    let mut server = Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir", data])
        .current_dir(root())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("serving on ")
        .expect("the server prints its address")
        .to_string();

    // Other processes on the same data directory attach to the running cluster.
    let rules = satupeta(&["rules", "load", "data/rules", "--data-dir", data], &[]);
    assert!(rules.status.success(), "{}", text(&rules));
    let import = satupeta(
        &[
            "import",
            plan.to_str().unwrap(),
            "--plan",
            "Tertanam",
            "--data-dir",
            data,
        ],
        &[],
    );
    assert!(import.status.success(), "{}", text(&import));

    let (lon, lat) = cell_centre(0, 0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let answer: serde_json::Value = loop {
        let response = runtime
            .block_on(reqwest::get(format!(
                "{base}/api/v1/zoning?lon={lon}&lat={lat}"
            )))
            .unwrap();
        if response.status() == 200 {
            break runtime.block_on(response.json()).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not learn of the import"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        (
            answer["plan"]["plan"].clone(),
            answer["subzone"]["code"].clone()
        ),
        (json!("Tertanam"), json!("R-3"))
    );

    // Stopping the server stops the cluster it started.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    assert!(server.wait().unwrap().success());
    assert!(
        !data_dir.join("postgres/postmaster.pid").exists(),
        "the cluster is still running"
    );
}

#[tokio::test]
async fn a_refused_import_exits_non_zero_with_the_report_and_if_changed_skips_a_republication() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let env = [("DATABASE_URL", db.url.as_str())];
    let mut features = fixtures::standard_features();
    features[0].1["KODSZN"] = json!("R-9");
    let bad = dir.join("kode-salah.gpkg");
    fixtures::write_gpkg(&bad, 4326, &features);
    let output = satupeta(&["import", bad.to_str().unwrap(), "--plan", "Uji"], &env);
    assert!(!output.status.success());
    let printed = text(&output);
    assert!(
        printed.contains("unknown codes (error): 1") && printed.contains("KODSZN \"R-9\""),
        "{printed}"
    );
    assert!(printed.contains("the plan was not published"), "{printed}");

    let good = standard_plan_as(&dir, "GPKG", "plan.gpkg", 4326);
    let import_if_changed = || {
        satupeta(
            &[
                "import",
                good.to_str().unwrap(),
                "--plan",
                "Uji",
                "--if-changed",
            ],
            &env,
        )
    };
    let first = import_if_changed();
    assert!(
        text(&first).contains("published version 1"),
        "{}",
        text(&first)
    );
    let again = import_if_changed();
    assert!(
        again.status.success() && text(&again).contains("already published"),
        "{}",
        text(&again)
    );
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM plan_version")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(versions, 1);
    let without_plan = satupeta(&["import", good.to_str().unwrap(), "--if-changed"], &env);
    assert!(
        !without_plan.status.success() && text(&without_plan).contains("--plan"),
        "{}",
        text(&without_plan)
    );
}

#[tokio::test]
async fn a_snapshot_refresh_picks_up_a_publication_it_was_not_told_of() {
    let db = fresh_db().await;
    let live = Live::load(db.pool.clone()).await.unwrap();
    assert!(!live.refresh().await.unwrap(), "nothing changed yet");
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    ingest::import(
        &db.pool,
        &ImportOptions {
            plan: Some("Baru".into()),
            ..ImportOptions::new(&file)
        },
    )
    .await
    .unwrap();
    assert_eq!(live.snapshot().index.len(), 0);
    assert!(live.refresh().await.unwrap());
    assert_eq!(live.snapshot().index.len(), 6);
    assert!(!live.refresh().await.unwrap());
}

#[tokio::test]
async fn the_demo_generator_and_the_tile_seeder_run_from_the_command_line() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let plan = dir.join("demo.gpkg");
    let env = [("DATABASE_URL", db.url.as_str())];
    let generated = satupeta(
        &[
            "demo",
            "generate",
            "--blocks",
            "300",
            plan.to_str().unwrap(),
        ],
        &env,
    );
    assert!(generated.status.success(), "{}", text(&generated));
    assert!(
        text(&generated).contains("zoning polygons"),
        "{}",
        text(&generated)
    );
    let imported = satupeta(&["import", plan.to_str().unwrap(), "--plan", "Demo"], &env);
    assert!(imported.status.success(), "{}", text(&imported));
    let published: i64 = sqlx::query_scalar("SELECT count(*) FROM zoning_feature")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        (200..=600).contains(&published),
        "{published} polygons for --blocks 300"
    );

    let tiles_dir = dir.join("tiles");
    let seeded = satupeta(
        &[
            "tiles",
            "seed",
            "--layer",
            "zoning",
            "--maxzoom",
            "11",
            "--tiles-dir",
            tiles_dir.to_str().unwrap(),
        ],
        &env,
    );
    assert!(seeded.status.success(), "{}", text(&seeded));
    assert!(tiles_dir.join("zoning.pmtiles").exists());
    let bad = satupeta(
        &[
            "tiles",
            "seed",
            "--layer",
            "jalan",
            "--tiles-dir",
            tiles_dir.to_str().unwrap(),
        ],
        &env,
    );
    assert!(
        !bad.status.success() && text(&bad).contains("there is no tile layer \"jalan\""),
        "{}",
        text(&bad)
    );
}
