//! The test harness: one throwaway PostgreSQL + PostGIS cluster per test run (started like the
//! embedded default, but without durable commits), a template database with the schema and the
//! shipped rules, and a fresh database per test cloned from it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use satupeta::db::{self, ClusterOptions, EmbeddedCluster};
use sqlx::PgPool;

const TEMPLATE: &str = "satupeta_template";

struct Cluster {
    admin_url: String,
    url_prefix: String,
    dir: PathBuf,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The project's root directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // A runtime of its own: the first test's runtime may end before others use the cluster.
        std::thread::spawn(|| {
            let dir = tempfile::Builder::new()
                .prefix("satupeta-test-")
                .tempdir()
                .expect("temp dir")
                .keep();
            // Throwaway: commits need not survive a crash of the machine.
            let options = ClusterOptions { durable: false };
            let mut cluster = EmbeddedCluster::start_with(&dir.join("postgres"), options)
                .expect("start the test cluster");
            cluster
                .stop_when_process_exits(Some(&dir))
                .expect("cluster watchdog");
            let admin_url = cluster.url("postgres");
            let template_url = cluster.url(TEMPLATE);
            let url_prefix = template_url.trim_end_matches(TEMPLATE).to_string();
            std::mem::forget(cluster);
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                db::create_database_if_missing(&admin_url, TEMPLATE)
                    .await
                    .expect("template db");
                let pool = db::connect(&template_url).await.expect("connect template");
                db::migrate(&pool).await.expect("migrate");
                let reference = satupeta::rules::Reference::shipped().expect("reference data");
                let rules = satupeta::rules::load_dir(&root().join("data/rules"), &reference)
                    .expect("shipped rules");
                satupeta::ingest::publish_rules(&pool, None, &rules, None)
                    .await
                    .expect("store rules");
                pool.close().await;
            });
            Cluster {
                admin_url,
                url_prefix,
                dir,
            }
        })
        .join()
        .expect("cluster setup")
    })
}

/// A fresh database for one test, with the schema and the shipped rules loaded.
pub struct TestDb {
    /// Pool on the test's database.
    pub pool: PgPool,
    /// URL of the test's database (for child processes).
    pub url: String,
    name: String,
}

/// Creates a fresh database for the calling test.
pub async fn fresh_db() -> TestDb {
    let cluster = cluster();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.admin_url)
        .await
        .expect("admin");
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let url = format!("{}{name}", cluster.url_prefix);
    let pool = db::connect(&url).await.expect("connect test database");
    TestDb { pool, url, name }
}

impl Drop for TestDb {
    /// Drops the test's database when the test ends (passed or failed), so that a run's disk use
    /// stays that of the tests running at once, not of every test (CI machines' disks are small).
    /// On a thread of its own, not waited for: the next test need not wait for the drop.
    fn drop(&mut self) {
        let admin_url = cluster().admin_url.clone();
        let name = std::mem::take(&mut self.name);
        std::thread::spawn(move || {
            let dropped = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut admin =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                        .map(|_| ())
                });
            if let Err(e) = dropped {
                eprintln!("could not drop the test database {name}: {e}");
            }
        });
    }
}

/// A scratch directory for the calling test, inside the cluster's temporary directory.
pub fn scratch_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("files-")
        .tempdir_in(&cluster().dir)
        .expect("scratch")
        .keep()
}

/// The demo plan, generated once per run (deterministic) with about 600 polygons.
pub fn demo_plan() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| {
        let out = scratch_dir().join("demo.gpkg");
        let options = satupeta::demo::DemoOptions {
            polygons: 600,
            admin: root().join("data/balikpapan_admin.geojson"),
            out: out.clone(),
        };
        satupeta::demo::generate(&options).expect("generate the demo plan");
        out
    })
}

/// Runs `ogr2ogr` with `args` (tests use it to write the fixture in every format and CRS).
pub fn ogr2ogr(args: &[&str]) {
    let output = std::process::Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("run ogr2ogr (gdal-bin)");
    assert!(
        output.status.success(),
        "ogr2ogr {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The zoning rows (geometry version ids) of the plan versions in force today.
pub async fn in_force(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT geometry_version_id FROM versions_in_force(city_today())")
        .fetch_all(pool)
        .await
        .expect("versions in force")
}

/// An empty database (no schema) for the calling test.
pub async fn empty_db() -> TestDb {
    let cluster = cluster();
    let name = format!(
        "empty_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    db::create_database_if_missing(&cluster.admin_url, &name)
        .await
        .expect("create an empty database");
    let url = format!("{}{name}", cluster.url_prefix);
    let pool = db::connect(&url).await.expect("connect test database");
    TestDb { pool, url, name }
}
