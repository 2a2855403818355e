//! `satupeta bench`: measures this server against the peers named in the issue, in one run on one
//! machine, and prints the rates and the ratios.
//!
//! - Point lookups over HTTP with keep-alive (wrk, random points over the city's bounding box),
//!   against the same lookups asked directly of PostGIS (pgbench, prepared statements, the GiST
//!   index), on the large demo plan.
//! - The import of that plan (validated and published) against `ogr2ogr` copying the same file into
//!   PostGIS.
//! - Vector tiles of that plan against Martin on the same tables (see [`tiles`]).

mod tiles;

pub use tiles::run_tiles;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::db;
use crate::demo::{self, DemoOptions};
use crate::ingest::{self, ImportOptions};
use crate::rules;
use crate::web::{self, AppState};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Zoning polygons in the generated plan.
    pub polygons: usize,
    /// Where the plan file and scripts go.
    pub work_dir: PathBuf,
    /// URL of the project's database; the benchmark uses a scratch database on the same server.
    pub database_url: String,
    /// Concurrent connections for both load generators.
    pub connections: usize,
    /// Length of each load run.
    pub duration: Duration,
    /// The kelurahan boundaries.
    pub admin_boundaries: PathBuf,
    /// The rule tables.
    pub rules_dir: PathBuf,
}

/// The city's bounding box (lon, lat): the lookup points are drawn uniformly from it.
const CITY_BBOX: [f64; 4] = [116.729, -1.282, 117.023, -1.013];
const BENCH_DB: &str = "satupeta_bench";

/// The benchmark database with the large plan imported, and what the import measured.
pub(crate) struct Prepared {
    pool: sqlx::PgPool,
    url: String,
    admin_url: String,
    plan: PathBuf,
    features: usize,
    size_mb: f64,
    import_seconds: f64,
}

/// Generates the plan (once), creates a fresh benchmark database and imports the plan into it.
pub(crate) async fn prepare(options: &BenchOptions) -> anyhow::Result<Prepared> {
    std::fs::create_dir_all(&options.work_dir)?;
    let plan = options
        .work_dir
        .join(format!("demo-{}.gpkg", options.polygons));
    if !plan.exists() {
        println!(
            "generating the demo plan with {} polygons ...",
            options.polygons
        );
        let demo = DemoOptions {
            polygons: options.polygons,
            admin: options.admin_boundaries.clone(),
            out: plan.clone(),
        };
        let summary = tokio::task::spawn_blocking(move || demo::generate(&demo)).await??;
        println!("  {} polygons", summary.polygons);
    }
    let size_mb = std::fs::metadata(&plan)?.len() as f64 / 1e6;
    let admin_url = replace_database(&options.database_url, "postgres");
    let url = replace_database(&options.database_url, BENCH_DB);
    drop_database(&admin_url, BENCH_DB).await?;
    db::create_database_if_missing(&admin_url, BENCH_DB).await?;
    let pool = db::connect(&url).await?;
    db::migrate(&pool).await?;
    rules::store(&pool, &rules::load_dir(&options.rules_dir)?).await?;
    let started = Instant::now();
    let outcome = ingest::import(
        &pool,
        &ImportOptions {
            plan: Some("Bench".into()),
            ..ImportOptions::new(&plan)
        },
    )
    .await?;
    let import_seconds = started.elapsed().as_secs_f64();
    Ok(Prepared {
        pool,
        url,
        admin_url,
        plan,
        features: outcome.report.features_published,
        size_mb,
        import_seconds,
    })
}

impl Prepared {
    /// Drops the benchmark database.
    async fn finish(self) -> anyhow::Result<()> {
        self.pool.close().await;
        drop_database(&self.admin_url, BENCH_DB).await
    }
}

/// Serves the app on a free loopback port in this process; returns the address and the task.
async fn serve_app(
    app: axum::Router,
) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    Ok((
        address,
        tokio::spawn(async move { axum::serve(listener, app).await }),
    ))
}

/// Runs the lookup and import benchmarks and prints the table.
pub async fn run(options: &BenchOptions) -> anyhow::Result<()> {
    for tool in ["wrk", "ogr2ogr"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("`{tool}` is not installed (apt-get install wrk gdal-bin)");
        }
    }
    let prepared = prepare(options).await?;
    let (features, size_mb, ours) = (prepared.features, prepared.size_mb, prepared.import_seconds);
    let (url, plan) = (prepared.url.clone(), prepared.plan.clone());
    let pool = prepared.pool.clone();
    let started = Instant::now();
    let status = with_password(Command::new("ogr2ogr"), &url)
        .args([
            "-f",
            "PostgreSQL",
            &ogr_connection(&url),
            plan.to_str().context("path")?,
        ])
        .args([
            "-nln",
            "ogr2ogr_copy",
            "-t_srs",
            "EPSG:4326",
            "-lco",
            "GEOMETRY_NAME=geom",
            "-overwrite",
        ])
        .status()?;
    let ogr = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("ogr2ogr failed");
    }

    // Point lookups: this server over HTTP against PostGIS over SQL.
    let app = web::router(AppState::load(pool.clone(), &web::Options::default()).await?);
    let (address, server) = serve_app(app).await?;
    let script = options.work_dir.join("lookup.lua");
    write_lookup_script(&script)?;
    let http = wrk(options, &script, &format!("http://{address}"))?;
    server.abort();
    let sql = pgbench(options, &url)?;
    drop(pool);
    prepared.finish().await?;

    println!();
    println!("plan: {features} zoning polygons, {size_mb:.1} MB GeoPackage (EPSG:32750)");
    println!(
        "machine: {} cores; {} connections, {} s per run",
        num_cpus(),
        options.connections,
        options.duration.as_secs()
    );
    println!();
    println!("| measure | satupeta | peer | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| point lookups/s (HTTP vs PostGIS SQL) | {:.0} | {:.0} (pgbench) | {:.2}× |",
        http.rate,
        sql,
        http.rate / sql
    );
    println!(
        "| lookup latency p50 / p99 (HTTP) | {} / {} | | |",
        http.p50, http.p99
    );
    println!(
        "| import, validated and published (s) | {ours:.1} | {ogr:.1} (ogr2ogr) | {:.2}× the time |",
        ours / ogr
    );
    Ok(())
}

/// Results of a wrk run.
pub(crate) struct WrkResult {
    rate: f64,
    p50: String,
    p99: String,
}

/// The wrk script of the lookup benchmark: random points over the city's bounding box.
fn write_lookup_script(script: &std::path::Path) -> anyhow::Result<()> {
    let [x0, y0, x1, y1] = CITY_BBOX;
    std::fs::write(
        script,
        format!(
            "math.randomseed(6471)\n\
             request = function()\n\
               local lon = {x0} + math.random() * {}\n\
               local lat = {y0} + math.random() * {}\n\
               return wrk.format(\"GET\", string.format(\"/api/v1/zoning?lon=%.6f&lat=%.6f\", lon, lat))\n\
             end\n",
            x1 - x0,
            y1 - y0
        ),
    )?;
    Ok(())
}

/// Runs wrk with `script` against `base_url` (keep-alive, `options.connections` connections).
fn wrk(
    options: &BenchOptions,
    script: &std::path::Path,
    base_url: &str,
) -> anyhow::Result<WrkResult> {
    let output = Command::new("wrk")
        .args([
            "-t",
            "1",
            "-c",
            &options.connections.to_string(),
            "-d",
            &format!("{}s", options.duration.as_secs()),
        ])
        .args([
            "--latency",
            "-s",
            script.to_str().context("path")?,
            base_url,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    if text.contains("Non-2xx") {
        tracing::debug!(
            "wrk counted non-2xx answers (404 outside the plan, 204 empty tiles): {text}"
        );
    }
    Ok(WrkResult {
        rate: field("Requests/sec:")
            .and_then(|r| r.parse().ok())
            .context("wrk printed no rate")?,
        p50: field("50%").unwrap_or_default(),
        p99: field("99%").unwrap_or_default(),
    })
}

fn pgbench(options: &BenchOptions, url: &str) -> anyhow::Result<f64> {
    let script = options.work_dir.join("lookup.sql");
    let [x0, y0, x1, y1] = CITY_BBOX;
    std::fs::write(
        &script,
        format!(
            "\\set lon {x0} + random(0, 1000000) * {:.12}\n\
             \\set lat {y0} + random(0, 1000000) * {:.12}\n\
             SELECT f.id, f.version_id, f.subzone_code, f.block, f.subblock, f.kelurahan, f.kecamatan, f.overlays, f.attributes\n\
             FROM published_zoning f WHERE ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326));\n",
            (x1 - x0) / 1e6,
            (y1 - y0) / 1e6
        ),
    )?;
    let program = db::find_bin_dir()?.join("pgbench");
    let output = with_password(Command::new(program), url)
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &options.connections.to_string(),
            "-j",
            "2",
        ])
        .args([
            "-T",
            &options.duration.as_secs().to_string(),
            "-f",
            script.to_str().context("path")?,
            &db::url::split_password(url).url,
        ])
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!(
            "pgbench failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|t| t.parse().ok())
        .context("pgbench printed no tps")
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `postgres://user@host:port/db` as GDAL's `PG:` connection string, without the password (see
/// [`with_password`]).
fn ogr_connection(url: &str) -> String {
    let url = db::url::split_password(url).url;
    let rest = url
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let (host_port, db) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    format!(
        "PG:host={host} port={port} user={user} dbname={}",
        db.split('?').next().unwrap_or(db)
    )
}

/// `command` with the password of `url`, if any, in `PGPASSWORD`: a command line is visible to
/// every local user.
fn with_password(mut command: Command, url: &str) -> Command {
    if let Some(password) = db::url::split_password(url).password {
        command.env("PGPASSWORD", password);
    }
    command
}

fn replace_database(url: &str, db: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => url.to_string(),
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
