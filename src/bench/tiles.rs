//! `satupeta bench tiles`: vector tiles of the large plan from this server against Martin serving
//! the same PostGIS tables, over the same tile list, cold (no cache) and warm, with wrk.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::load::{Client, WrkResult, write_script, wrk};
use super::process::free_port;
use super::{BenchOptions, CITY_BBOX, prepare};
use crate::tiles::TileCoord;
use crate::web::{self, AppState};

/// The view Martin serves: the published zoning with the same properties our tiles carry.
const MARTIN_VIEW: &str = "CREATE OR REPLACE VIEW zoning_tiles AS
    SELECT f.id, s.code, s.catalog_code, s.name, s.color, f.block, f.geom_3857
    FROM published_zoning f JOIN subzone s ON s.code = f.subzone_code";

/// Every tile of zoom `z` over the city's bounding box.
pub(super) fn over_city(z: u8) -> anyhow::Result<Vec<TileCoord>> {
    let [w, s, e, n] = CITY_BBOX;
    let (a, b) = (
        TileCoord::containing(w, n, z)?,
        TileCoord::containing(e, s, z)?,
    );
    let mut tiles = Vec::new();
    for x in a.x..=b.x {
        for y in a.y..=b.y {
            tiles.push(TileCoord::new(u32::from(z), x, y)?);
        }
    }
    Ok(tiles)
}

/// The tiles requested: every tile over the city at z0–z14, and 400 random ones at z15 and z16.
fn tile_list() -> anyhow::Result<(Vec<TileCoord>, Vec<TileCoord>)> {
    let low: Vec<TileCoord> = (0..=10)
        .map(over_city)
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6471);
    let mut mix: Vec<TileCoord> = (11..=14)
        .map(over_city)
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat();
    for z in [15, 16] {
        let mut all = over_city(z)?;
        all.shuffle(&mut rng);
        mix.extend(all.into_iter().take(400));
    }
    Ok((low, mix))
}

/// The largest tile of each zoom 0–16: (uncompressed bytes, path).
type ZoomSizes = Vec<(u64, String)>;

/// The largest tile of each zoom (uncompressed bytes, and the path), fetching every tile of the
/// list once with curl; this also fills the server's cache.
fn survey(
    base: &str,
    tiles: &[TileCoord],
    path: &dyn Fn(&TileCoord) -> String,
) -> anyhow::Result<Vec<(u64, String)>> {
    let mut largest = vec![(0u64, String::new()); 17];
    for coord in tiles {
        let url = path(coord);
        let output = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{size_download}"])
            .arg(format!("{base}{url}"))
            .output()
            .context("running curl")?;
        let size: u64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        let slot = &mut largest[usize::from(coord.z)];
        if size > slot.0 {
            *slot = (size, url);
        }
    }
    Ok(largest)
}

/// The largest gzipped tile of `paths` and how long it took, fetched one by one with curl.
fn largest(base: &str, paths: &[String]) -> anyhow::Result<(u64, f64, String)> {
    let mut best = (0, 0.0, String::new());
    for path in paths {
        let output = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-H",
                "Accept-Encoding: gzip",
                "-w",
                "%{size_download} %{time_total}",
            ])
            .arg(format!("{base}{path}"))
            .output()
            .context("running curl")?;
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        let mut parts = text.split_whitespace();
        let size: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let seconds: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
        if size > best.0 {
            best = (size, seconds, path.clone());
        }
    }
    Ok(best)
}

pub(super) struct Martin(Child);

impl Drop for Martin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Martin on the benchmark database; `cache_mb` 0 disables its tile cache.
pub(super) fn start_martin(
    binary: &Path,
    url: &str,
    port: u16,
    cache_mb: u32,
) -> anyhow::Result<Martin> {
    // The URL (with its password) goes in the environment, not on the command line.
    let child = Command::new(binary)
        .args([
            "--listen-addresses",
            &format!("127.0.0.1:{port}"),
            "--cache-size",
            &cache_mb.to_string(),
        ])
        .env("DATABASE_URL", url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let martin = Martin(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(martin);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("Martin did not start listening on port {port}")
}

fn row(label: &str, ours: &WrkResult, martin: &WrkResult) -> String {
    format!(
        "| {label} | {:.0} req/s, p50 {}, p99 {} | {:.0} req/s, p50 {}, p99 {} | {:.2}× |",
        ours.rate,
        ours.p50,
        ours.p99,
        martin.rate,
        martin.p50,
        martin.p99,
        ours.rate / martin.rate
    )
}

/// Runs the tile benchmark against the Martin binary at `martin` and prints the table.
pub async fn run_tiles(options: &BenchOptions, martin: &PathBuf) -> anyhow::Result<()> {
    for tool in ["wrk", "curl"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("`{tool}` is not installed (apt-get install wrk curl)");
        }
    }
    let version = Command::new(martin).arg("--version").output().with_context(|| {
        format!("{} does not run: install Martin with `cargo install martin@1.14.0 --locked --no-default-features --features postgres`", martin.display())
    })?;
    let martin_version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let prepared = prepare(options).await?;
    sqlx::query(MARTIN_VIEW).execute(&prepared.pool).await?;
    let (low, mix) = tile_list()?;
    let ours_path = |c: &TileCoord| format!("/tiles/zoning/{}/{}/{}.mvt", c.z, c.x, c.y);
    let martin_path = |c: &TileCoord| format!("/zoning_tiles/{}/{}/{}", c.z, c.x, c.y);
    let all: Vec<TileCoord> = low.iter().chain(mix.iter()).copied().collect();
    let write_list = |name: &str, path: &dyn Fn(&TileCoord) -> String| -> anyhow::Result<PathBuf> {
        let file = options.work_dir.join(name);
        std::fs::write(
            &file,
            all.iter().map(path).collect::<Vec<_>>().join("\n") + "\n",
        )?;
        let script = options.work_dir.join(format!("{name}.lua"));
        write_script(&script, &file, Client::Browser)?;
        Ok(script)
    };
    let ours_script = write_list("tiles-satupeta.txt", &ours_path)?;
    let martin_script = write_list("tiles-martin.txt", &martin_path)?;

    let mut results = Vec::new();
    let mut sizes: Option<(ZoomSizes, ZoomSizes)> = None;
    for (label, cache_bytes, martin_cache_mb) in [
        ("cold (no cache)", 0u64, 0u32),
        ("warm", web::TILE_CACHE_BYTES, 512),
    ] {
        let server_options = web::Options {
            tile_cache_bytes: cache_bytes,
            ..web::Options::default()
        };
        let state = AppState::load(prepared.pool.clone(), &server_options).await?;
        let ours_base = web::Server::with_state(state, &server_options)
            .spawn()
            .await?;
        let port = free_port()?;
        let martin_server = start_martin(martin, &prepared.url, port, martin_cache_mb)?;
        let martin_base = format!("http://127.0.0.1:{port}");
        if cache_bytes > 0 {
            // Warm both caches: every tile of the list once, measuring the largest of each zoom.
            sizes = Some((
                survey(&ours_base, &all, &ours_path)?,
                survey(&martin_base, &all, &martin_path)?,
            ));
        }
        let ours = wrk(options, &ours_script, &ours_base)?;
        let theirs = wrk(options, &martin_script, &martin_base)?;
        let low_ours = largest(&ours_base, &low.iter().map(ours_path).collect::<Vec<_>>())?;
        let low_martin = largest(
            &martin_base,
            &low.iter().map(martin_path).collect::<Vec<_>>(),
        )?;
        drop(martin_server);
        results.push((label, ours, theirs, low_ours, low_martin));
    }
    let (features, size_mb) = (prepared.features, prepared.size_mb);
    prepared.finish().await?;

    println!();
    println!(
        "plan: {features} zoning polygons ({size_mb:.1} MB GeoPackage); peer: {martin_version}"
    );
    println!(
        "tiles: {} (every tile over the city at z0–z14, 400 random at z15 and z16); {} connections, {} s per run, browser headers",
        all.len(),
        options.connections,
        options.duration.as_secs()
    );
    println!();
    println!("| run | satupeta | Martin | ratio |");
    println!("|---|---|---|---|");
    for (label, ours, theirs, _, _) in &results {
        println!("{}", row(label, ours, theirs));
    }
    for (label, _, _, (size, seconds, path), (m_size, m_seconds, m_path)) in &results {
        println!(
            "| largest z0–z10 tile, {label} | {:.0} KB gzip in {:.3} s ({path}) | {:.0} KB gzip in {:.3} s ({m_path}) | |",
            *size as f64 / 1024.0,
            seconds,
            *m_size as f64 / 1024.0,
            m_seconds
        );
    }
    if let Some((ours, theirs)) = sizes {
        println!();
        println!(
            "| zoom | largest satupeta tile (uncompressed) | largest Martin tile (uncompressed) |"
        );
        println!("|---|---|---|");
        for z in 0..=16 {
            let (a, b) = (&ours[z], &theirs[z]);
            println!(
                "| {z} | {:.1} KB | {:.1} KB |",
                a.0 as f64 / 1024.0,
                b.0 as f64 / 1024.0
            );
        }
        let over: Vec<&(u64, String)> = ours
            .iter()
            .filter(|(size, _)| *size as usize > crate::tiles::MAX_TILE_BYTES)
            .collect();
        println!();
        match over.as_slice() {
            [] => println!(
                "no satupeta tile is over the {} KB bound",
                crate::tiles::MAX_TILE_BYTES / 1024
            ),
            tiles => println!(
                "tiles over the {} KB bound: {tiles:?}",
                crate::tiles::MAX_TILE_BYTES / 1024
            ),
        }
    }
    Ok(())
}
