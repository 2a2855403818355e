//! `satupeta bench features`: the OGC API Features of satupeta against tipg 1.6 and pygeoapi
//! 0.24 serving the same PostGIS tables, asked as clients ask (wrk, a browser's headers).
//!
//! The benchmark database holds the grid plan of [`super::prepare`] (100,000 polygons, collection
//! `zoning`; the peers read the view `bench_zoning` of `zoning_feature`) and 100,000 random points over
//! Balikpapan shaped like an agency dataset and registered as the public dataset `fasilitas`
//! ([`tables.sql`](tables.sql), [`register.sql`](register.sql)). For each server and each of
//! the two collections it measures:
//! - pages of 100 at positions over the whole collection, as the server's own `next` links
//!   give them (its chain of pages of 1000 walked first, each link then asked with `limit=100`);
//! - pages of 1000, the same chain;
//! - bbox queries of about 1 km at random;
//! - a CQL2 text filter (`kategori = 'sekolah' AND kapasitas > 100` on the points, one sub-zone
//!   code on the plan), or property equality when a server takes no CQL2 (printed).
//!
//! Every server is one [`Target`]: satupeta is one more, not a special case.

mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::load::{BROWSER_HEADERS, WrkResult, write_script_with, wrk};
use super::process::{Process, http_status};
use super::{BenchOptions, CITY_BBOX, check_tools, num_cpus, prepare};

/// What to measure.
#[derive(Debug, Clone)]
pub struct FeaturesOptions {
    /// The work directory, the database, the load and the satupeta binary.
    pub bench: BenchOptions,
    /// Random points in the dataset `fasilitas`.
    pub points: usize,
    /// The servers to measure, in this order.
    pub servers: Vec<Server>,
}

/// A server measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// This server (`satupeta serve`), collections under `/ogc`.
    Satupeta,
    /// tipg 1.6 (FastAPI, asyncpg).
    Tipg,
    /// pygeoapi 0.24 (Flask, SQLAlchemy) under gunicorn.
    Pygeoapi,
}

impl Server {
    /// Every server.
    pub const ALL: [Server; 3] = [Server::Satupeta, Server::Tipg, Server::Pygeoapi];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Server::Satupeta => "satupeta",
            Server::Tipg => "tipg",
            Server::Pygeoapi => "pygeoapi",
        }
    }
}

impl std::str::FromStr for Server {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        Server::ALL
            .into_iter()
            .find(|server| server.name() == s)
            .with_context(|| format!("unknown server {s:?} (satupeta, tipg, pygeoapi)"))
    }
}

/// Random points over Balikpapan (lon, lat): the points' bounding box.
const POINTS_BBOX: [f64; 4] = [116.80, -1.30, 117.10, -1.05];
/// About 1 km in degrees at the equator.
const KM: f64 = 0.009;
/// Bbox queries drawn per collection.
const BOXES: usize = 500;

/// A collection measured: where each server serves it and the filter asked of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Points,
    Zoning,
}

impl Collection {
    fn label(self) -> &'static str {
        match self {
            Collection::Points => "points (fasilitas)",
            Collection::Zoning => "polygons (zoning)",
        }
    }
}

/// A running server and the paths of its collections' items.
struct Target {
    server: Server,
    process: Process,
    /// `(points items, zoning items)` paths.
    items: (String, String),
    /// Added to every query (pygeoapi: `f=json`).
    extra: &'static str,
}

impl Target {
    fn items(&self, collection: Collection) -> &str {
        match collection {
            Collection::Points => &self.items.0,
            Collection::Zoning => &self.items.1,
        }
    }

    /// `items?query` with the target's extra parameters.
    fn path(&self, collection: Collection, query: &str) -> String {
        let extra = if self.extra.is_empty() {
            String::new()
        } else {
            format!("&{}", self.extra)
        };
        format!("{}?{query}{extra}", self.items(collection))
    }
}

/// The measures of one collection on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Page100,
    Page1000,
    Bbox,
    Filter,
}

const MEASURES: [Measure; 4] = [
    Measure::Page100,
    Measure::Page1000,
    Measure::Bbox,
    Measure::Filter,
];

impl Measure {
    fn label(self) -> &'static str {
        match self {
            Measure::Page100 => "items?limit=100, pages along the `next` links",
            Measure::Page1000 => "items?limit=1000, pages along the `next` links",
            Measure::Bbox => "items?bbox (~1 km, random)&limit=1000",
            Measure::Filter => "items?filter (CQL2 text)&limit=100",
        }
    }
}

/// One row of the table: a measure of a collection, per server.
struct Row {
    collection: Collection,
    measure: Measure,
    results: Vec<(Server, WrkResult)>,
}

/// Prepares the database, starts the servers, measures and prints the table; the servers are
/// stopped and the database dropped whatever happens.
pub async fn run_features(options: &FeaturesOptions) -> anyhow::Result<()> {
    check_tools(&["wrk", "curl"])?;
    if options.servers.is_empty() {
        bail!("no server to measure");
    }
    let bench = &options.bench;
    let prepared = prepare(bench).await?;
    let measured = async {
        add_points(&prepared.pool, options.points).await?;
        let zoning_code = common_subzone(&prepared.pool).await?;
        let targets = start(options, &prepared.url)?;
        let rows = measure(bench, &targets, &zoning_code)?;
        Ok::<_, anyhow::Error>((rows, zoning_code))
    }
    .await;
    prepared.finish().await?;
    let (rows, zoning_code) = measured?;
    print_table(options, &rows, &zoning_code);
    Ok(())
}

/// The points' table, filled and registered as the public dataset `fasilitas`.
async fn add_points(pool: &sqlx::PgPool, points: usize) -> anyhow::Result<()> {
    println!("creating {points} random points (dataset fasilitas) ...");
    let script = include_str!("tables.sql").replace("{points}", &points.to_string());
    sqlx::raw_sql(&script).execute(pool).await?;
    let hash = crate::accounts::hash_password("bench-publisher-password")?;
    sqlx::query(include_str!("register.sql"))
        .bind(hash)
        .bind(i64::try_from(points)?)
        .execute(pool)
        .await
        .context("registering the dataset fasilitas")?;
    Ok(())
}

/// The sub-zone code most polygons of the plan have: the plan's filter.
async fn common_subzone(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT subzone_code FROM zoning_feature GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(pool)
    .await?)
}

/// Starts the servers asked for; a peer that fails to start stops the run with its log.
fn start(options: &FeaturesOptions, database_url: &str) -> anyhow::Result<Vec<Target>> {
    let cores = num_cpus();
    let peers = options.servers.iter().any(|s| *s != Server::Satupeta);
    let venv = if peers {
        Some(python::Venv::ensure(&options.bench.work_dir)?)
    } else {
        None
    };
    let mut targets = Vec::new();
    for &server in &options.servers {
        println!("starting {} ...", server.name());
        let target = match (server, &venv) {
            (Server::Satupeta, _) => Target {
                server,
                process: Process::satupeta(&options.bench.binary, database_url, &[])?,
                items: (
                    "/ogc/collections/fasilitas/items".into(),
                    "/ogc/collections/zoning/items".into(),
                ),
                extra: "",
            },
            (Server::Tipg, Some(venv)) => Target {
                server,
                process: venv.tipg(database_url, cores)?,
                items: (
                    "/collections/dataset_data.fasilitas__v1/items".into(),
                    "/collections/public.bench_zoning/items".into(),
                ),
                extra: "",
            },
            (Server::Pygeoapi, Some(venv)) => Target {
                server,
                // gunicorn's advice for sync workers: two per core, and one.
                process: venv.pygeoapi(database_url, 2 * cores + 1)?,
                items: (
                    "/collections/fasilitas/items".into(),
                    "/collections/zoning/items".into(),
                ),
                extra: "f=json",
            },
            _ => unreachable!("the venv exists when a peer is asked for"),
        };
        targets.push(target);
    }
    Ok(targets)
}

fn measure(
    options: &BenchOptions,
    targets: &[Target],
    zoning_code: &str,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for collection in [Collection::Points, Collection::Zoning] {
        for measure in MEASURES {
            rows.push(Row {
                collection,
                measure,
                results: Vec::new(),
            });
        }
        for target in targets {
            println!(
                "measuring {} on {} ...",
                collection.label(),
                target.server.name()
            );
            let lists = url_lists(options, target, collection, zoning_code)?;
            for (measure, list) in MEASURES.iter().zip(&lists) {
                let result = wrk_list(options, target, list)?;
                let row = rows
                    .iter_mut()
                    .find(|r| r.collection == collection && r.measure == *measure)
                    .context("row")?;
                row.results.push((target.server, result));
            }
        }
    }
    Ok(rows)
}

/// The URL lists of the four measures of `collection` on `target`, written to files.
fn url_lists(
    options: &BenchOptions,
    target: &Target,
    collection: Collection,
    zoning_code: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let base = &target.process.url;
    let name = |measure: &str| {
        options.work_dir.join(format!(
            "features-{}-{}-{measure}.txt",
            target.server.name(),
            match collection {
                Collection::Points => "points",
                Collection::Zoning => "zoning",
            }
        ))
    };
    // Pages of 1000 along the next links, then the same positions with limit=100.
    let pages = walk(base, &target.path(collection, "limit=1000"))?;
    let page100: Vec<String> = pages
        .iter()
        .filter(|p| p.contains("limit=1000"))
        .map(|p| p.replacen("limit=1000", "limit=100", 1))
        .collect();
    if page100.len() < pages.len() {
        bail!(
            "{}: {} of its `next` links carry no `limit=1000` to ask with limit=100",
            target.server.name(),
            pages.len() - page100.len()
        );
    }
    let bbox = match collection {
        Collection::Points => POINTS_BBOX,
        Collection::Zoning => CITY_BBOX,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6471);
    let boxes: Vec<String> = (0..BOXES)
        .map(|_| {
            let x = rng.gen_range(bbox[0]..bbox[2] - KM);
            let y = rng.gen_range(bbox[1]..bbox[3] - KM);
            target.path(
                collection,
                &format!("bbox={x:.6},{y:.6},{:.6},{:.6}&limit=1000", x + KM, y + KM),
            )
        })
        .collect();
    let filter = filter_path(target, collection, zoning_code)?;
    let mut files = Vec::new();
    for (measure, paths) in [
        ("page100", page100),
        ("page1000", pages),
        ("bbox", boxes),
        ("filter", vec![filter]),
    ] {
        let file = name(measure);
        std::fs::write(&file, paths.join("\n") + "\n")?;
        files.push(file);
    }
    Ok(files)
}

/// The filter's path on `target`: CQL2 text if the server answers it with features, else
/// property equality (printed).
fn filter_path(
    target: &Target,
    collection: Collection,
    zoning_code: &str,
) -> anyhow::Result<String> {
    let (cql, equality) = match collection {
        Collection::Points => (
            "kategori = 'sekolah' AND kapasitas > 100".to_string(),
            "kategori=sekolah".to_string(),
        ),
        Collection::Zoning => (
            format!("subzone_code = '{zoning_code}'"),
            format!("subzone_code={}", encode(zoning_code)),
        ),
    };
    let cql_path = target.path(
        collection,
        &format!("filter-lang=cql2-text&filter={}&limit=100", encode(&cql)),
    );
    let url = format!("{}{cql_path}", target.process.url);
    if returned(&url)? > 0 {
        return Ok(cql_path);
    }
    let equality_path = target.path(collection, &format!("{equality}&limit=100"));
    let url = format!("{}{equality_path}", target.process.url);
    if returned(&url)? > 0 {
        println!(
            "  {} takes no CQL2 text filter on {}: property equality {equality} instead",
            target.server.name(),
            collection.label()
        );
        return Ok(equality_path);
    }
    bail!(
        "{} returned no feature for the filter {cql:?} nor for {equality}",
        target.server.name()
    )
}

/// How many features a GET of `url` returns (0 for an error answer).
fn returned(url: &str) -> anyhow::Result<usize> {
    if http_status(url) != Some(200) {
        return Ok(0);
    }
    let page = get_json(url)?;
    Ok(page["features"].as_array().map_or(0, Vec::len))
}

/// The path and query of every page from `first` on, following the `next` links.
fn walk(base: &str, first: &str) -> anyhow::Result<Vec<String>> {
    const MAX_PAGES: usize = 10_000;
    let mut pages = vec![first.to_string()];
    while pages.len() < MAX_PAGES {
        let url = format!("{base}{}", pages[pages.len() - 1]);
        let page = get_json(&url)?;
        let features = page["features"]
            .as_array()
            .with_context(|| format!("{url} returned no features array"))?;
        let next = page["links"].as_array().and_then(|links| {
            let nexts: Vec<&Value> = links.iter().filter(|l| l["rel"] == "next").collect();
            nexts
                .iter()
                .find(|l| l["type"].as_str().is_some_and(|t| t.contains("json")))
                .or(nexts.first())
                .and_then(|l| l["href"].as_str())
                .map(str::to_string)
        });
        match next {
            Some(href) if !features.is_empty() => pages.push(path_of(&href)),
            _ => {
                // The last page (empty or without `next`) is not one a client reads again.
                if features.is_empty() && pages.len() > 1 {
                    pages.pop();
                }
                return Ok(pages);
            }
        }
    }
    bail!("still a `next` link after {MAX_PAGES} pages from {first}")
}

/// The path and query of a link (absolute or not).
fn path_of(href: &str) -> String {
    match href.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map_or_else(|| "/".to_string(), |i| rest[i..].to_string()),
        None => href.to_string(),
    }
}

fn get_json(url: &str) -> anyhow::Result<Value> {
    let output = Command::new("curl")
        .args(["-s", "-f", "--compressed", "-m", "120"])
        .args([
            "-H",
            "Accept: application/geo+json, application/json;q=0.9",
            url,
        ])
        .output()
        .context("running curl")?;
    if !output.status.success() {
        bail!("GET {url} failed (curl exit {})", output.status);
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("GET {url}: not JSON"))
}

/// Percent-encoding of a query value (everything but RFC 3986's unreserved characters).
fn encode(value: &str) -> String {
    crate::web::http::percent_encode(value)
}

/// wrk over the paths of `list` with a browser's headers, asking GeoJSON (a plain
/// `application/json` gets tipg's bare list of features).
fn wrk_list(options: &BenchOptions, target: &Target, list: &Path) -> anyhow::Result<WrkResult> {
    let script = list.with_extension("lua");
    let headers: Vec<(&str, &str)> = BROWSER_HEADERS
        .iter()
        .map(|&(k, v)| match k {
            "Accept" => (k, "application/geo+json, application/json;q=0.9, */*;q=0.8"),
            _ => (k, v),
        })
        .collect();
    write_script_with(&script, list, &headers)?;
    let result = wrk(options, &script, &target.process.url)?;
    if result.errors > 0 {
        println!(
            "  {}: {} answers other than 2xx/3xx for {}",
            target.server.name(),
            result.errors,
            list.display()
        );
    }
    Ok(result)
}

fn print_table(options: &FeaturesOptions, rows: &[Row], zoning_code: &str) {
    let bench = &options.bench;
    println!();
    println!(
        "data: {} random points (dataset fasilitas); the grid plan, {} polygons (zoning); filters \
         `kategori = 'sekolah' AND kapasitas > 100` and `subzone_code = '{zoning_code}'`",
        options.points, bench.polygons
    );
    println!(
        "machine: {} cores; wrk 1 thread, {} connections, {} s per run, a browser's headers (Accept-Encoding: gzip, deflate, br, zstd)",
        num_cpus(),
        bench.connections,
        bench.duration.as_secs()
    );
    let names: Vec<&str> = options.servers.iter().map(|s| s.name()).collect();
    let ours = options.servers.contains(&Server::Satupeta);
    let peers: Vec<Server> = options
        .servers
        .iter()
        .copied()
        .filter(|s| *s != Server::Satupeta)
        .collect();
    let mut header = format!("| collection | measure | {} |", names.join(" | "));
    if ours {
        for peer in &peers {
            header.push_str(&format!(" satupeta/{} |", peer.name()));
        }
    }
    println!();
    println!("{header}");
    println!("{}", "|---".repeat(header.matches('|').count() - 1) + "|");
    for row in rows {
        let rate = |server: Server| {
            row.results
                .iter()
                .find(|(s, _)| *s == server)
                .map(|(_, r)| r)
        };
        let mut line = format!("| {} | {} |", row.collection.label(), row.measure.label());
        for &server in &options.servers {
            match rate(server) {
                Some(r) => line.push_str(&format!(
                    " {:.0}/s (p50 {}, p99 {}) |",
                    r.rate, r.p50, r.p99
                )),
                None => line.push_str(" |"),
            }
        }
        if ours {
            for &peer in &peers {
                match (rate(Server::Satupeta), rate(peer)) {
                    (Some(a), Some(b)) => line.push_str(&format!(" {:.2}× |", a.rate / b.rate)),
                    _ => line.push_str(" |"),
                }
            }
        }
        println!("{line}");
    }
}
