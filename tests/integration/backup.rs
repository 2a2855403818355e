//! `satupeta backup` and `satupeta restore` through the binary: every plan version and the rules
//! come back exactly as they were backed up, later changes are gone, running servers learn of
//! the restore, and a file that is not a whole satupeta backup is refused without a change.

use std::path::Path;

use satupeta::db::{self, url};
use satupeta::ingest::{self, ImportOptions};
use satupeta::zoning::Live;
use sqlx::PgPool;

use super::cli::{satupeta, text};
use super::fixtures::{self, standard_features, standard_plan_as};
use super::harness::{fresh_db, scratch_dir};

/// The rule sets and the reference data.
const RULE_TABLES: [&str; 10] = [
    "zone",
    "catalogue_subzone",
    "kbli",
    "rule_set",
    "rule_subzone",
    "rule_intensity",
    "rule_activity",
    "rule_condition",
    "rule_itbx",
    "reference_state",
];

/// A plan version: id, plan, number, stored feature count, features, digest of the geometries
/// and sub-zones, the report.
type VersionRow = (i64, String, i32, i32, i64, Option<String>, String);

/// What a restore must bring back: plans with their published version, every version, the rules.
#[derive(Debug, PartialEq)]
struct State {
    plans: Vec<(i64, String, Option<i64>)>,
    versions: Vec<VersionRow>,
    rules: Vec<(String, i64, Option<String>)>,
}

async fn state(pool: &PgPool) -> State {
    let plans = sqlx::query_as("SELECT id, name, published_version_id FROM plan ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let versions = sqlx::query_as(
        "SELECT v.id, p.name, v.version, v.feature_count, count(f.id),
                md5(string_agg(ST_AsEWKB(f.geom)::text || f.subzone_code, ',' ORDER BY f.id)),
                v.report::text
         FROM plan_version v JOIN plan p ON p.id = v.plan_id
         LEFT JOIN zoning_feature f ON f.version_id = v.id
         GROUP BY v.id, p.name ORDER BY v.id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut rules = Vec::new();
    for table in RULE_TABLES {
        let (rows, digest): (i64, Option<String>) = sqlx::query_as(&format!(
            "SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM {table} t"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        rules.push((table.to_string(), rows, digest));
    }
    State {
        plans,
        versions,
        rules,
    }
}

async fn import(pool: &PgPool, file: &Path, plan: &str) {
    let options = ImportOptions {
        plan: Some(plan.into()),
        ..ImportOptions::new(file)
    };
    ingest::import(pool, &options).await.expect("import");
}

/// Imports a version of plan "Kota" with the first `n` features of the standard plan.
async fn import_first(pool: &PgPool, dir: &Path, n: usize) {
    let file = dir.join(format!("kota-{n}.gpkg"));
    fixtures::write_gpkg(&file, 32750, &standard_features()[..n]);
    import(pool, &file, "Kota").await;
}

#[tokio::test]
async fn a_restore_brings_back_every_plan_version_and_the_rules_as_they_were_backed_up() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let env = [("DATABASE_URL", db.url.as_str())];
    import_first(&db.pool, &dir, 6).await;
    import_first(&db.pool, &dir, 5).await;
    let backed_up = state(&db.pool).await;
    assert_eq!(backed_up.versions.len(), 2);

    let file = dir.join("satupeta.dump");
    let backup = satupeta(&["backup", file.to_str().unwrap()], &env);
    assert!(backup.status.success(), "{}", text(&backup));
    assert!(
        text(&backup).contains("backed up 1 plan(s), 2 plan version(s), 11 zoning feature(s)"),
        "{}",
        text(&backup)
    );
    assert!(
        !text(&backup).contains(&url::split_password(&db.url).password.unwrap()),
        "the password is printed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Later changes: a third version, another plan, rules edited by hand.
    import_first(&db.pool, &dir, 4).await;
    let other = standard_plan_as(&dir, "GPKG", "lain.gpkg", 4326);
    import(&db.pool, &other, "Lain").await;
    sqlx::query("DELETE FROM rule_itbx WHERE ctid = (SELECT min(ctid) FROM rule_itbx)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE rule_intensity SET kdb_max = kdb_max + 1 WHERE subzone_code = 'R-3'")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_ne!(state(&db.pool).await, backed_up);
    let live = Live::load(db.pool.clone()).await.unwrap();
    let newest_before = db::latest_change(&db.pool).await.unwrap();
    let newest_version: i64 = sqlx::query_scalar("SELECT max(id) FROM plan_version")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // A server's pool that has used PostGIS before the restore (the restore recreates it).
    let server_pool = db::connect_server(&db.url).await.unwrap();
    let (lon, lat) = super::fixtures::cell_centre(0, 0);
    assert!(
        !satupeta::zoning::features_at(
            &server_pool,
            lon,
            lat,
            &super::harness::in_force(&server_pool).await
        )
        .await
        .unwrap()
        .is_empty()
    );

    let restore = satupeta(&["restore", file.to_str().unwrap()], &env);
    assert!(restore.status.success(), "{}", text(&restore));
    assert!(
        text(&restore).contains("restored 1 plan(s), 2 plan version(s), 11 zoning feature(s)"),
        "{}",
        text(&restore)
    );
    assert_eq!(state(&db.pool).await, backed_up);
    let plans: Vec<String> = sqlx::query_scalar("SELECT name FROM plan")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(plans, ["Kota"]);

    // Running servers see a newer change and reload the restored plans.
    let newest_after = db::latest_change(&db.pool).await.unwrap();
    assert!(
        newest_after > newest_before,
        "{newest_after} <= {newest_before}"
    );
    let what: String = sqlx::query_scalar("SELECT what FROM change_log ORDER BY id DESC LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(what, "restore");
    assert!(live.refresh().await.unwrap(), "the server did not reload");
    assert_eq!(live.snapshot().index.len(), 5);

    // The server's pool still measures with PostGIS: its old sessions were replaced.
    assert!(
        !satupeta::zoning::features_at(
            &server_pool,
            lon,
            lat,
            &super::harness::in_force(&server_pool).await
        )
        .await
        .unwrap()
        .is_empty()
    );

    // The restored database takes new versions where the backup left off, under ids never used
    // before: a server that held version ids of the discarded versions cannot mistake the new one.
    import_first(&db.pool, &dir, 3).await;
    let numbers: Vec<(i64, i32)> =
        sqlx::query_as("SELECT id, version FROM plan_version ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        numbers.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        numbers[2].0 > newest_version,
        "{numbers:?} reuses an id at or below {newest_version}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_whole_satupeta_backup_is_refused_and_changes_nothing() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let env = [("DATABASE_URL", db.url.as_str())];
    import_first(&db.pool, &dir, 6).await;
    let file = dir.join("satupeta.dump");
    let backup = satupeta(&["backup", file.to_str().unwrap()], &env);
    assert!(backup.status.success(), "{}", text(&backup));
    import_first(&db.pool, &dir, 5).await;
    let before = state(&db.pool).await;
    let newest = db::latest_change(&db.pool).await.unwrap();

    let garbage = dir.join("garbage.dump");
    std::fs::write(&garbage, b"PGDMP? no: just some bytes\n".repeat(100)).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let truncated = dir.join("truncated.dump");
    std::fs::write(&truncated, &bytes[..bytes.len() * 9 / 10]).unwrap();
    let other = dir.join("kbli-only.dump");
    pg_dump_table(&db.url, "kbli", &other);
    let missing = dir.join("missing.dump");

    for (bad, expected) in [
        (&garbage, "is not a satupeta backup"),
        (&truncated, "is damaged, the database was not changed"),
        (
            &other,
            "is not a satupeta backup: it has no table change_log, plan",
        ),
        (&missing, "No such file"),
    ] {
        let restore = satupeta(&["restore", bad.to_str().unwrap()], &env);
        assert!(!restore.status.success(), "{}", text(&restore));
        assert!(text(&restore).contains(expected), "{}", text(&restore));
        assert_eq!(state(&db.pool).await, before, "{}", bad.display());
        assert_eq!(db::latest_change(&db.pool).await.unwrap(), newest);
    }
}

/// Writes a custom-format dump of one table: a PostgreSQL archive that is not a satupeta backup.
fn pg_dump_table(database_url: &str, table: &str, out: &Path) {
    let target = url::split_password(database_url);
    let output = std::process::Command::new(db::find_bin_dir().unwrap().join("pg_dump"))
        .args(["--format=custom", "--table", table, "--file"])
        .arg(out)
        .arg("--dbname")
        .arg(&target.url)
        .env("PGPASSWORD", target.password.unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
