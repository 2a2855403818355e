//! Load generators as real clients ask: wrk with a browser's headers (or without compression),
//! pgbench for PostGIS.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::BenchOptions;

/// The headers a browser (Chromium 131 on Linux) sends with a `fetch` from the map page: every
/// compression it takes, a cookie, its user agent and language.
pub const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("Accept", "application/json, */*"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        "Cookie",
        "satupeta_lang=id; _pk_id.1.2f3a=5c1d0a7b9e2f4c61.1764070000.",
    ),
    ("Referer", "https://peta.balikpapan.go.id/"),
    ("Sec-Fetch-Mode", "cors"),
];

/// Results of a wrk run.
#[derive(Debug, Clone)]
pub struct WrkResult {
    /// Requests per second.
    pub rate: f64,
    /// Median latency as wrk prints it.
    pub p50: String,
    /// 99th percentile latency.
    pub p99: String,
    /// Answers other than 2xx and 3xx.
    pub errors: u64,
}

/// Which headers a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// [`BROWSER_HEADERS`].
    Browser,
    /// No `Accept-Encoding` (as plain wrk or curl ask).
    Plain,
}

/// A wrk script that asks for the lines of `paths` (path and query), in random order.
pub fn write_script(script: &Path, paths: &Path, client: Client) -> anyhow::Result<()> {
    let headers: &[(&str, &str)] = match client {
        Client::Browser => BROWSER_HEADERS,
        Client::Plain => &[],
    };
    write_script_with(script, paths, headers)
}

/// Like [`write_script`], with these request headers.
pub fn write_script_with(
    script: &Path,
    paths: &Path,
    headers: &[(&str, &str)],
) -> anyhow::Result<()> {
    let headers: String = headers
        .iter()
        .map(|(k, v)| format!("wrk.headers[\"{k}\"] = \"{v}\"\n"))
        .collect();
    std::fs::write(
        script,
        format!(
            "local paths = {{}}\n\
             for line in io.lines(\"{}\") do paths[#paths + 1] = line end\n\
             math.randomseed(6471)\n\
             {headers}\
             request = function()\n\
               return wrk.format(\"GET\", paths[math.random(#paths)])\n\
             end\n",
            paths.display()
        ),
    )?;
    Ok(())
}

/// Runs wrk (one thread, `options.connections` keep-alive connections) with `script` against
/// `base_url`.
pub fn wrk(options: &BenchOptions, script: &Path, base_url: &str) -> anyhow::Result<WrkResult> {
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
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&text)
}

/// The field `nth` (by whitespace) of the line of wrk's report that starts with `prefix`.
fn wrk_field(text: &str, prefix: &str, nth: usize) -> Option<String> {
    text.lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .and_then(|l| l.split_whitespace().nth(nth))
        .map(str::to_string)
}

/// Requests that got no answer (connect, read, write errors and timeouts:
/// `Socket errors: connect 0, read 0, write 0, timeout 12`).
pub(super) fn socket_errors(text: &str) -> u64 {
    text.lines()
        .find(|l| l.trim_start().starts_with("Socket errors:"))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// What wrk's report (`--latency`) says.
pub(super) fn parse_wrk(text: &str) -> anyhow::Result<WrkResult> {
    let field = |prefix: &str, nth: usize| wrk_field(text, prefix, nth);
    Ok(WrkResult {
        rate: field("Requests/sec:", 1)
            .and_then(|r| r.parse().ok())
            .context("wrk printed no rate")?,
        p50: field("50%", 1).unwrap_or_default(),
        p99: field("99%", 1).unwrap_or_default(),
        // Answers other than 2xx/3xx, and requests that got none.
        errors: field("Non-2xx", 4)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            + socket_errors(text),
    })
}

/// The points PostGIS is asked about.
#[derive(Debug, Clone, Copy)]
pub enum PostgisPoints {
    /// The same points inside the plan that satupeta is asked about (table `bench_point`).
    Same(usize),
    /// Random points over the city's bounding box, about half outside the plan (the earlier
    /// benchmark's way).
    Random([f64; 4]),
}

/// Runs point lookups against PostGIS with pgbench (prepared statements, the GiST index);
/// returns transactions per second.
pub fn pgbench(options: &BenchOptions, url: &str, points: PostgisPoints) -> anyhow::Result<f64> {
    const COLUMNS: &str = "f.id, f.version_id, f.subzone_code, f.block, f.subblock, f.kelurahan, f.kecamatan, f.overlays, f.attributes";
    let (name, text) = match points {
        PostgisPoints::Same(n) => (
            "lookup-same.sql",
            format!(
                "\\set i random(1, {n})\n\
                 SELECT {COLUMNS} FROM published_zoning f, bench_point p WHERE p.i = :i AND ST_Intersects(f.geom, p.geom);\n"
            ),
        ),
        PostgisPoints::Random([x0, y0, x1, y1]) => (
            "lookup-random.sql",
            format!(
                "\\set lon {x0} + random(0, 1000000) * {:.12}\n\
                 \\set lat {y0} + random(0, 1000000) * {:.12}\n\
                 SELECT {COLUMNS} FROM published_zoning f WHERE ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326));\n",
                (x1 - x0) / 1e6,
                (y1 - y0) / 1e6
            ),
        ),
    };
    let script = options.work_dir.join(name);
    std::fs::write(&script, text)?;
    let program = crate::db::find_bin_dir()?.join("pgbench");
    let mut command = Command::new(program);
    command
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
            &crate::db::url::split_password(url).url,
        ]);
    let output = super::with_password(command, url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read_with_its_failures() {
        let report = "Running 10s test @ http://127.0.0.1:1\n  Latency Distribution\n     50%  436.00us\n     99%    3.59ms\n  65587 requests in 10.00s\n  Non-2xx or 3xx responses: 12\n  Socket errors: connect 0, read 2, write 0, timeout 3\nRequests/sec:  10930.25\nCOUNTED 65570 5 12\n";
        let result = parse_wrk(report).unwrap();
        assert_eq!(
            (result.p50.as_str(), result.p99.as_str()),
            ("436.00us", "3.59ms")
        );
        assert!((result.rate - 10930.25).abs() < 1e-9);
        assert_eq!((socket_errors(report), result.errors), (5, 17));
        assert!(parse_wrk("wrk: connection refused").is_err());
    }
}
