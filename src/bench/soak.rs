//! `satupeta bench soak`: minutes of mixed load on a server process (point lookups and tiles as
//! the map asks, OGC API Features pages, Open311 report submissions), a new plan version published
//! every minute, and the database stopped and started in the middle. It prints what each kind of
//! request was answered, the unexpected answers (anything but success, and for requests that need
//! the database a 503 with `Retry-After`), how soon each publication was served, the server's
//! memory over time and what its `/metrics` showed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::load::BROWSER_HEADERS;
use super::process::Process;
use super::{BenchOptions, Prepared, prepare};
use crate::db::EmbeddedCluster;
use crate::ingest::{self, ImportOptions};

/// One kind of request of the mix: its wrk script and connections, and whether it needs the
/// database (then a 503 with `Retry-After` while the database is down is expected).
struct Kind {
    name: &'static str,
    connections: usize,
    needs_database: bool,
}

const KINDS: [Kind; 4] = [
    Kind {
        name: "lookups",
        connections: 6,
        needs_database: false,
    },
    Kind {
        name: "tiles",
        connections: 6,
        needs_database: false,
    },
    Kind {
        name: "features",
        connections: 2,
        needs_database: true,
    },
    Kind {
        name: "reports",
        connections: 2,
        needs_database: true,
    },
];

/// What one kind's wrk counted.
#[derive(Debug)]
struct Counted {
    requests: u64,
    ok: u64,
    unavailable: u64,
    unexpected: u64,
    socket_errors: u64,
    /// The rate and latencies.
    wrk: super::load::WrkResult,
}

/// Runs the soak for `minutes`; restarts the database in the middle when it is `cluster`.
pub async fn run_soak(
    options: &BenchOptions,
    minutes: u64,
    cluster: Option<&EmbeddedCluster>,
) -> anyhow::Result<()> {
    super::check_tools(&["wrk"])?;
    let prepared = prepare(options).await?;
    let result = soak(options, &prepared, minutes, cluster).await;
    prepared.finish().await?;
    result
}

async fn soak(
    options: &BenchOptions,
    prepared: &Prepared,
    minutes: u64,
    cluster: Option<&EmbeddedCluster>,
) -> anyhow::Result<()> {
    let (points, first) = super::write_points(prepared, options).await?;
    let key = crate::reports::apikeys::create(&prepared.pool, "soak").await?;
    let areas = crate::reports::areas::AreaIndex::load(&prepared.pool).await?;
    let scripts = write_scripts(options, &points, &areas, &key)?;
    // wrk asks from one address: the per-address report limit would measure itself.
    let server = Process::satupeta(
        &options.binary,
        &prepared.url,
        &["--report-rate", "100000000/1"],
    )?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let duration = Duration::from_secs(minutes * 60);
    println!(
        "soaking {} for {minutes} min: lookups, tiles, features, reports; a publication every minute; {}",
        server.url,
        if cluster.is_some() {
            "the database restarted in the middle"
        } else {
            "no database restart (the database is not this process's)"
        }
    );
    let runs: Vec<(usize, Child)> = KINDS
        .iter()
        .enumerate()
        .map(|(i, kind)| Ok((i, start_wrk(kind, &scripts[i], &server.url, duration)?)))
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    let mut memory = vec![(0u64, server.memory_mb().0)];
    let mut publications = Vec::new();
    let mut restart = None;
    let mut next_publication = Duration::from_secs(60);
    let mut version = version_at(&server.url, first).await.unwrap_or(1);
    while started.elapsed() < duration {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let at = started.elapsed();
        memory.push((at.as_secs(), server.memory_mb().0));
        if let Some(cluster) = cluster
            && restart.is_none()
            && at >= duration / 2
        {
            restart = Some(restart_database(cluster).await?);
        }
        if at >= next_publication && at + Duration::from_secs(30) < duration {
            next_publication += Duration::from_secs(60);
            match publish(prepared, &server.url, first, version).await {
                Ok((v, seconds)) => {
                    version = v;
                    publications.push(seconds);
                }
                Err(e) => println!("  publication at {} s failed: {e:#}", at.as_secs()),
            }
        }
    }
    let mut counted = Vec::new();
    for (i, child) in runs {
        counted.push((&KINDS[i], finish_wrk(child)?));
    }
    let metrics = scrape(&server.url);
    let peak = server.memory_mb().1;
    drop(server);
    print_report(&counted, &memory, peak, &publications, restart, &metrics);
    Ok(())
}

/// The wrk script of each kind, in the order of [`KINDS`].
fn write_scripts(
    options: &BenchOptions,
    points: &Path,
    areas: &crate::reports::areas::AreaIndex,
    key: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let tiles = options.work_dir.join("soak-tiles.txt");
    let mut tile_paths = Vec::new();
    for z in 13..=15 {
        for c in super::tiles::over_city(z)?.into_iter().step_by(7) {
            tile_paths.push(format!("/tiles/zoning/{}/{}/{}.mvt", c.z, c.x, c.y));
        }
    }
    std::fs::write(&tiles, tile_paths.join("\n") + "\n")?;
    let features = options.work_dir.join("soak-features.txt");
    let pages: Vec<String> = (0..200)
        .map(|i| {
            let (x, y) = (
                116.80 + 0.001 * f64::from(i % 20),
                -1.27 + 0.001 * f64::from(i / 20),
            );
            format!(
                "/ogc/collections/zoning/items?limit=50&bbox={x:.3},{y:.3},{:.3},{:.3}",
                x + 0.01,
                y + 0.01
            )
        })
        .collect();
    std::fs::write(&features, pages.join("\n") + "\n")?;
    // Reports are filed inside the city's kelurahan (the grid plan also covers the bay).
    let report_points = options.work_dir.join("soak-report-points.txt");
    std::fs::write(&report_points, super::reports::random_points(areas, 500))?;
    let get = |name: &str, list: &Path| -> anyhow::Result<PathBuf> {
        let script = options.work_dir.join(name);
        std::fs::write(&script, get_script(list))?;
        Ok(script)
    };
    let post = options.work_dir.join("soak-reports.lua");
    std::fs::write(&post, report_script(&report_points, key))?;
    Ok(vec![
        get("soak-lookups.lua", points)?,
        get("soak-tiles.lua", &tiles)?,
        get("soak-features.lua", &features)?,
        post,
    ])
}

/// The browser's headers, and the counting every script shares: answers by class, and whether
/// a 503 said when to come back.
fn common_lua() -> String {
    let headers: String = BROWSER_HEADERS
        .iter()
        .map(|(k, v)| format!("wrk.headers[\"{k}\"] = \"{v}\"\n"))
        .collect();
    format!(
        "{headers}\
         local threads = {{}}\n\
         setup = function(thread) table.insert(threads, thread) end\n\
         ok, unavailable, unexpected = 0, 0, 0\n\
         response = function(status, headers, body)\n\
           if status < 300 then ok = ok + 1\n\
           elseif status == 503 and (headers[\"Retry-After\"] or headers[\"retry-after\"]) then unavailable = unavailable + 1\n\
           else unexpected = unexpected + 1 end\n\
         end\n\
         done = function(summary, latency, requests)\n\
           local o, u, x = 0, 0, 0\n\
           for _, t in ipairs(threads) do o = o + t:get(\"ok\"); u = u + t:get(\"unavailable\"); x = x + t:get(\"unexpected\") end\n\
           io.write(string.format(\"COUNTED %d %d %d\\n\", o, u, x))\n\
         end\n"
    )
}

fn get_script(list: &Path) -> String {
    format!(
        "local paths = {{}}\n\
         for line in io.lines(\"{}\") do paths[#paths + 1] = line end\n\
         math.randomseed(6471)\n\
         {}\
         request = function() return wrk.format(\"GET\", paths[math.random(#paths)]) end\n",
        list.display(),
        common_lua()
    )
}

/// Open311 submissions (form-urlencoded, as GeoReport clients send them) at random city points.
fn report_script(points: &Path, key: &str) -> String {
    format!(
        "local points = {{}}\n\
         for line in io.lines(\"{}\") do points[#points + 1] = line end\n\
         math.randomseed(6471)\n\
         {}\
         wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n\
         request = function()\n\
           local lon, lat = points[math.random(#points)]:match(\"(%S+) (%S+)\")\n\
           local body = \"api_key={key}&service_code=tanpa-pbg&lat=\" .. lat .. \"&long=\" .. lon ..\n\
             \"&description=Bangunan+tanpa+papan+PBG+%28uji+ketahanan%29\"\n\
           return wrk.format(\"POST\", \"/open311/v2/requests.json\", nil, body)\n\
         end\n",
        points.display(),
        common_lua()
    )
}

fn start_wrk(kind: &Kind, script: &Path, url: &str, duration: Duration) -> anyhow::Result<Child> {
    Command::new("wrk")
        .args(["-t", "1", "-c", &kind.connections.to_string()])
        .args([
            "-d",
            &format!("{}s", duration.as_secs()),
            "--timeout",
            "10s",
        ])
        .args(["--latency", "-s", script.to_str().context("path")?, url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running wrk")
}

fn finish_wrk(child: Child) -> anyhow::Result<Counted> {
    let output = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    // The script's own line: answers that succeeded, 503s with Retry-After, the rest.
    let counts: Vec<u64> = text
        .lines()
        .find_map(|l| l.strip_prefix("COUNTED "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(counts.len() == 3, "wrk printed no counts: {text}");
    Ok(Counted {
        requests: counts.iter().sum(),
        ok: counts[0],
        unavailable: counts[1],
        unexpected: counts[2],
        socket_errors: super::load::socket_errors(&text),
        wrk: super::load::parse_wrk(&text)?,
    })
}

/// Stops the database, waits 5 s, starts it again; the seconds it was down.
async fn restart_database(cluster: &EmbeddedCluster) -> anyhow::Result<f64> {
    println!("  stopping the database ...");
    let started = Instant::now();
    tokio::task::block_in_place(|| cluster.stop())?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    tokio::task::block_in_place(|| cluster.start_again())?;
    let down = started.elapsed().as_secs_f64();
    println!("  the database is back after {down:.1} s");
    Ok(down)
}

/// Publishes the plan again; its version and the seconds until the server served it.
async fn publish(
    prepared: &Prepared,
    url: &str,
    point: (f64, f64),
    current: i64,
) -> anyhow::Result<(i64, f64)> {
    let options = ImportOptions {
        plan: Some("Bench".into()),
        ..ImportOptions::new(&prepared.plan)
    };
    let outcome = ingest::import(&prepared.pool, &options).await?;
    let version = i64::from(outcome.version.context("no version")?);
    let published = Instant::now();
    while version_at(url, point).await != Some(version) {
        anyhow::ensure!(
            published.elapsed() < Duration::from_secs(60),
            "version {version} (after {current}) was not served within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((version, published.elapsed().as_secs_f64()))
}

/// The plan version the server answers a point lookup with (curl: the library has no client).
async fn version_at(url: &str, (lon, lat): (f64, f64)) -> Option<i64> {
    let target = format!("{url}/api/v1/zoning?lon={lon:.6}&lat={lat:.6}");
    let output = tokio::process::Command::new("curl")
        .args(["-sf", "--max-time", "5", &target])
        .output()
        .await
        .ok()?;
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    body["plan"]["version"].as_i64()
}

/// The server's `/metrics`.
fn scrape(url: &str) -> String {
    Command::new("curl")
        .args(["-sf", "--max-time", "10", &format!("{url}/metrics")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

fn print_report(
    counted: &[(&Kind, Counted)],
    memory: &[(u64, f64)],
    peak: f64,
    publications: &[f64],
    restart: Option<f64>,
    metrics: &str,
) {
    println!();
    println!(
        "| requests | connections | answered | rate | p50 | p99 | 503 + Retry-After | unexpected |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut unexpected = 0;
    for (kind, c) in counted {
        // A 503 is expected only of what needs the database.
        let bad = c.unexpected
            + c.socket_errors
            + if kind.needs_database {
                0
            } else {
                c.unavailable
            };
        unexpected += bad;
        println!(
            "| {} | {} | {} ({} ok) | {:.0}/s | {} | {} | {} | {} |",
            kind.name,
            kind.connections,
            c.requests,
            c.ok,
            c.wrk.rate,
            c.wrk.p50,
            c.wrk.p99,
            c.unavailable,
            bad
        );
    }
    println!();
    println!("unexpected answers: {unexpected}");
    if let Some(down) = restart {
        println!("database restart: down {down:.1} s");
    }
    let fresh: Vec<String> = publications.iter().map(|s| format!("{s:.1} s")).collect();
    println!("publications served after: {}", fresh.join(", "));
    let after_warmup: Vec<f64> = memory
        .iter()
        .filter(|(t, _)| *t >= 60)
        .map(|(_, m)| *m)
        .collect();
    let (low, high) = after_warmup
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), m| (l.min(*m), h.max(*m)));
    let by_minute: Vec<String> = memory
        .iter()
        .filter(|(t, _)| t % 60 < 5)
        .map(|(t, m)| format!("{}:{m:.0}", t / 60))
        .collect();
    println!("resident memory (MB) by minute: {}", by_minute.join(" "));
    if !after_warmup.is_empty() {
        println!(
            "after the first minute: {low:.0}–{high:.0} MB (first {:.0}, last {:.0}); peak {peak:.0} MB",
            after_warmup[0],
            after_warmup[after_warmup.len() - 1]
        );
    }
    println!();
    println!("/metrics at the end (selected):");
    for line in metrics.lines().filter(|l| {
        !l.starts_with('#')
            && (l.starts_with("satupeta_tile_requests_total")
                || l.starts_with("satupeta_tile_cache_bytes")
                || l.starts_with("satupeta_snapshot_")
                || l.starts_with("satupeta_db_")
                || l.starts_with("satupeta_reports")
                || l.starts_with("satupeta_operation_")
                || l.starts_with("process_resident")
                || (l.starts_with("satupeta_http_requests_total") && !l.contains("status=\"200\"")))
    }) {
        println!("  {line}");
    }
}
