//! `satupeta bench`: measures this server against the peers named in the issue, in one run on one
//! machine, as real clients ask, and prints the rates and the ratios.
//!
//! The server runs as a process of its own (`satupeta serve`) on the large demo plan:
//! - `/healthz`: the HTTP ceiling of this machine, for scale;
//! - point lookups (random points inside the plan) asked with a browser's headers
//!   ([`load::BROWSER_HEADERS`]: gzip, deflate, br, zstd, a cookie) and without `Accept-Encoding`,
//!   against the same points asked directly of PostGIS (pgbench, prepared, the GiST index); and
//!   with browser headers again with answers compressed whole per request (`--answer-compression
//!   dynamic`), the other way the issue asks to measure;
//! - warm tiles (200 tiles of zooms 12–16) against nginx serving the same tiles pre-compressed
//!   from disk (`gzip_static`), both asked with a browser's headers, in alternating rounds;
//! - the server's memory at rest, after the load and at its peak through a republication, and how
//!   long after a publication each kind of answer comes from the new version;
//! - the import of the plan (validated and published) against `ogr2ogr` copying the same file.
//!
//! `--martin` measures the tiles against Martin on the same tables instead (see [`tiles`]);
//! `bench features` measures OGC API Features against tipg and pygeoapi (see [`features`]);
//! `bench reports` measures report submissions and the public reports layer (see [`reports`]).

mod features;
mod fresh;
mod load;
mod peers;
mod process;
mod reports;
mod soak;
mod tiles;

pub use features::{FeaturesOptions, Server, run_features};
pub use load::BROWSER_HEADERS;
pub use reports::run_reports;
pub use soak::run_soak;
pub use tiles::run_tiles;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::db;
use crate::demo::{self, DemoOptions};
use crate::ingest::{self, ImportOptions};
use crate::rules;
use load::{Client, PostgisPoints, WrkResult, pgbench, write_script, wrk};
use process::Process;

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
    /// The `satupeta` binary to run as the server.
    pub binary: PathBuf,
}

/// How many points inside the plan the lookups ask about.
const POINTS: usize = 10_000;

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
        .join(format!("grid-{}.gpkg", options.polygons));
    if !plan.exists() {
        println!(
            "generating the benchmark plan (square grid) with {} polygons ...",
            options.polygons
        );
        let demo = DemoOptions {
            polygons: options.polygons,
            admin: options.admin_boundaries.clone(),
            out: plan.clone(),
        };
        let summary = tokio::task::spawn_blocking(move || demo::grid::generate(&demo)).await??;
        println!("  {} polygons", summary.polygons);
    }
    let size_mb = std::fs::metadata(&plan)?.len() as f64 / 1e6;
    let admin_url = replace_database(&options.database_url, "postgres");
    let url = replace_database(&options.database_url, BENCH_DB);
    drop_database(&admin_url, BENCH_DB).await?;
    db::create_database_if_missing(&admin_url, BENCH_DB).await?;
    let pool = db::connect(&url).await?;
    db::migrate(&pool).await?;
    let reference = rules::Reference::shipped()?;
    ingest::publish_rules(
        &pool,
        None,
        &rules::load_dir(&options.rules_dir, &reference)?,
        None,
    )
    .await?;
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

/// Checks that the load generators and peers are installed.
pub(crate) fn check_tools(tools: &[&str]) -> anyhow::Result<()> {
    for tool in tools {
        let found = Command::new(tool).arg("--version").output().is_ok()
            || Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
        if !found {
            bail!(
                "`{tool}` is not installed (make bench installs wrk, curl, nginx-light and gdal-bin)"
            );
        }
    }
    Ok(())
}

/// Random points over the city that fall inside the plan, as lookup URL paths in a file for wrk
/// and as the table `bench_point` for pgbench. Returns the file and the first point.
async fn write_points(
    prepared: &Prepared,
    options: &BenchOptions,
) -> anyhow::Result<(PathBuf, (f64, f64))> {
    use rand::{Rng, SeedableRng};
    let live = crate::zoning::Live::load(prepared.pool.clone()).await?;
    let snapshot = live.snapshot();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6471);
    let [x0, y0, x1, y1] = CITY_BBOX;
    let mut points = Vec::with_capacity(POINTS);
    while points.len() < POINTS {
        let (lon, lat) = (rng.gen_range(x0..x1), rng.gen_range(y0..y1));
        if !snapshot.index.at(lon, lat).is_empty() {
            points.push((lon, lat));
        }
    }
    let file = options.work_dir.join("points.txt");
    let lines: Vec<String> = points
        .iter()
        .map(|(lon, lat)| format!("/api/v1/zoning?lon={lon:.6}&lat={lat:.6}"))
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n")?;
    let (lons, lats): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    sqlx::query(
        "CREATE TABLE bench_point AS SELECT i::int, ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom
         FROM UNNEST($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)",
    )
    .bind(&lons)
    .bind(&lats)
    .execute(&prepared.pool)
    .await?;
    sqlx::query("ALTER TABLE bench_point ADD PRIMARY KEY (i)")
        .execute(&prepared.pool)
        .await?;
    Ok((file, points[0]))
}

/// `ogr2ogr` copying the plan file into PostGIS: seconds.
fn ogr2ogr_copy(prepared: &Prepared) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut command = Command::new("ogr2ogr");
    command
        .args([
            "-f",
            "PostgreSQL",
            &ogr_connection(&prepared.url),
            prepared.plan.to_str().context("path")?,
        ])
        .args([
            "-nln",
            "ogr2ogr_copy",
            "-t_srs",
            "EPSG:4326",
            "-lco",
            "GEOMETRY_NAME=geom",
            "-overwrite",
        ]);
    let status = with_password(command, &prepared.url).status()?;
    if !status.success() {
        bail!("ogr2ogr failed");
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A wrk run of the paths in `list` as `client` asks.
fn wrk_paths(
    options: &BenchOptions,
    list: &std::path::Path,
    client: Client,
    base: &str,
) -> anyhow::Result<WrkResult> {
    let name = list.file_stem().and_then(|s| s.to_str()).unwrap_or("paths");
    let script = options.work_dir.join(format!(
        "{name}-{}.lua",
        if client == Client::Browser {
            "browser"
        } else {
            "plain"
        }
    ));
    write_script(&script, list, client)?;
    wrk(options, &script, base)
}

/// Warm tiles of satupeta and nginx in alternating rounds; the median rate of each.
struct TileRounds {
    ours: Vec<WrkResult>,
    nginx: Vec<WrkResult>,
}

const ROUNDS: usize = 3;

fn tiles_against_nginx(options: &BenchOptions, server: &Process) -> anyhow::Result<TileRounds> {
    let root = options.work_dir.join("static-tiles");
    let _ = std::fs::remove_dir_all(&root);
    let paths = peers::write_tiles(&server.url, &root)?;
    let list = options.work_dir.join("tiles.txt");
    std::fs::write(&list, paths.join("\n") + "\n")?;
    let nginx = peers::start_nginx(&options.work_dir, &root)?;
    // Warm both: every tile once.
    let _ = wrk_paths(
        &BenchOptions {
            duration: Duration::from_secs(2),
            ..options.clone()
        },
        &list,
        Client::Browser,
        &server.url,
    )?;
    let mut rounds = TileRounds {
        ours: Vec::new(),
        nginx: Vec::new(),
    };
    for _ in 0..ROUNDS {
        rounds
            .nginx
            .push(wrk_paths(options, &list, Client::Browser, &nginx.url)?);
        rounds
            .ours
            .push(wrk_paths(options, &list, Client::Browser, &server.url)?);
    }
    Ok(rounds)
}

fn median(results: &[WrkResult]) -> f64 {
    let mut rates: Vec<f64> = results.iter().map(|r| r.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Everything one run measured.
struct Measured {
    features: usize,
    size_mb: f64,
    import_s: f64,
    ogr_s: f64,
    health: WrkResult,
    browser: WrkResult,
    plain: WrkResult,
    dynamic: WrkResult,
    postgis: f64,
    postgis_random: f64,
    tiles: TileRounds,
    memory_rest: f64,
    memory_loaded: f64,
    memory_peak: f64,
    fresh: fresh::Freshness,
}

/// Runs the lookup, tile, memory, freshness and import benchmarks and prints the table.
pub async fn run(options: &BenchOptions) -> anyhow::Result<()> {
    check_tools(&["wrk", "curl", "ogr2ogr", process::nginx_binary()])?;
    let prepared = prepare(options).await?;
    // The benchmark database is dropped whether the measurements succeed or not.
    let measured = measure(options, &prepared).await;
    prepared.finish().await?;
    print_table(options, &measured?);
    Ok(())
}

async fn measure(options: &BenchOptions, prepared: &Prepared) -> anyhow::Result<Measured> {
    let ogr_s = ogr2ogr_copy(prepared)?;
    let (points, first) = write_points(prepared, options).await?;
    let server = Process::satupeta(&options.binary, &prepared.url, &[])?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let memory_rest = server.memory_mb().0;
    println!("measuring /healthz, point lookups and PostGIS ...");
    let health_list = options.work_dir.join("health.txt");
    std::fs::write(&health_list, "/healthz\n")?;
    let health = wrk_paths(options, &health_list, Client::Browser, &server.url)?;
    let browser = wrk_paths(options, &points, Client::Browser, &server.url)?;
    let plain = wrk_paths(options, &points, Client::Plain, &server.url)?;
    let postgis = pgbench(options, &prepared.url, PostgisPoints::Same(POINTS))?;
    let postgis_random = pgbench(options, &prepared.url, PostgisPoints::Random(CITY_BBOX))?;
    println!("measuring warm tiles against nginx ...");
    let tiles = tiles_against_nginx(options, &server)?;
    let memory_loaded = server.memory_mb().0;
    println!("publishing a new version while the server runs ...");
    let fresh = fresh::publish_and_wait(prepared, &server.url, first).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let memory_peak = server.memory_mb().1;
    drop(server);
    let dynamic_server = Process::satupeta(
        &options.binary,
        &prepared.url,
        &["--answer-compression", "dynamic"],
    )?;
    let dynamic = wrk_paths(options, &points, Client::Browser, &dynamic_server.url)?;
    drop(dynamic_server);
    Ok(Measured {
        features: prepared.features,
        size_mb: prepared.size_mb,
        import_s: prepared.import_seconds,
        ogr_s,
        health,
        browser,
        plain,
        dynamic,
        postgis,
        postgis_random,
        tiles,
        memory_rest,
        memory_loaded,
        memory_peak,
        fresh,
    })
}

fn print_table(options: &BenchOptions, m: &Measured) {
    let browser_headers: Vec<String> = BROWSER_HEADERS
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!();
    println!(
        "plan: {} zoning polygons, {:.1} MB GeoPackage (EPSG:32750); {POINTS} lookup points inside it",
        m.features, m.size_mb
    );
    println!(
        "machine: {} cores; wrk 1 thread, {} connections, {} s per run; pgbench {} connections",
        num_cpus(),
        options.connections,
        options.duration.as_secs(),
        options.connections
    );
    println!("browser headers: {}", browser_headers.join(" | "));
    println!();
    println!("| measure | satupeta | peer | ratio |");
    println!("|---|---|---|---|");
    let row = |label: &str, r: &WrkResult, peer: &str, ratio: String| {
        println!(
            "| {label} | {:.0}/s (p50 {}, p99 {}) | {peer} | {ratio} |",
            r.rate, r.p50, r.p99
        );
    };
    row(
        "/healthz, browser headers (HTTP ceiling)",
        &m.health,
        "",
        String::new(),
    );
    let versus = |r: &WrkResult| format!("{:.2}×", r.rate / m.postgis);
    let postgis = format!("{:.0}/s (PostGIS, pgbench)", m.postgis);
    row(
        "point lookups, browser headers (gzip composed)",
        &m.browser,
        &postgis,
        versus(&m.browser),
    );
    row(
        "point lookups, no Accept-Encoding",
        &m.plain,
        &postgis,
        versus(&m.plain),
    );
    row(
        "point lookups, browser headers, compressed per answer",
        &m.dynamic,
        &postgis,
        versus(&m.dynamic),
    );
    println!(
        "| (PostGIS, random points over the city's bounding box, about half outside the plan) | | {:.0}/s | {:.2}× (browser lookups) |",
        m.postgis_random,
        m.browser.rate / m.postgis_random
    );
    println!(
        "| point lookups, browser headers, share of the /healthz ceiling | {:.0}% | | |",
        100.0 * m.browser.rate / m.health.rate
    );
    let (ours, nginx) = (median(&m.tiles.ours), median(&m.tiles.nginx));
    println!(
        "| warm tiles z12–16, browser headers (median of {ROUNDS} rounds) | {ours:.0}/s | {nginx:.0}/s ({}, gzip_static) | {:.2}× |",
        peers::nginx_version(),
        ours / nginx
    );
    for (i, (a, b)) in m.tiles.ours.iter().zip(&m.tiles.nginx).enumerate() {
        println!(
            "|   round {} | {:.0}/s (p50 {}, p99 {}) | {:.0}/s (p50 {}, p99 {}) | {:.2}× |",
            i + 1,
            a.rate,
            a.p50,
            a.p99,
            b.rate,
            b.p50,
            b.p99,
            a.rate / b.rate
        );
    }
    println!(
        "| import, validated and published | {:.1} s | {:.1} s (ogr2ogr copy) | {:.2}× the time |",
        m.import_s,
        m.ogr_s,
        m.import_s / m.ogr_s
    );
    println!(
        "| server memory (RSS) at rest / after the load / peak through a republication | {:.0} / {:.0} / {:.0} MB | | budget 500 MB |",
        m.memory_rest, m.memory_loaded, m.memory_peak
    );
    let f = &m.fresh;
    println!(
        "| fresh after publishing version {} (point / parcel / plans / tiles) | {:.2} / {:.2} / {:.2} / {:.2} s | | |",
        f.version,
        f.point.as_secs_f64(),
        f.parcel.as_secs_f64(),
        f.plans.as_secs_f64(),
        f.tiles.as_secs_f64()
    );
    let errors = m.browser.errors + m.plain.errors + m.dynamic.errors + m.health.errors;
    if errors > 0 {
        println!("\n(the lookup runs counted {errors} answers other than 2xx/3xx)");
    }
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
