//! `satupeta bench reports`: the reports under load, with 100,000 stored reports on the large
//! plan.
//!
//! - **Submissions per second**, as the map's form sends them (multipart, browser headers): with
//!   one phone photo (2000 × 1500 JPEG, about half a megabyte: decoded, turned upright, scaled,
//!   re-encoded and thumbnailed on every request), and without a photo. Each request is a new
//!   report at a random point of the city, enriched with the plan at its point, routed to its
//!   kecamatan and stored with its first event in one transaction. No peer runs here: FixMyStreet
//!   (Perl, its own stack from GitHub) cannot be installed from the archives this machine reaches.
//! - **The public reports layer** (`/tiles/reports/{z}/{x}/{y}.mvt`) asked with a browser's headers
//!   over the city at zooms 14–16 (every report a pin) and 11–13 (pins counted in cells), against
//!   Martin (`--martin`) serving the same reports (the public ones, the same properties) from
//!   the same table. Below zoom 14 Martin sends every pin and satupeta counts them in cells: the
//!   rows of those zooms say how large each one's tiles are.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::load::{BROWSER_HEADERS, Client, WrkResult, write_script, wrk};
use super::{BenchOptions, CITY_BBOX, prepare};
use crate::reports::areas::AreaIndex;
use crate::tiles::TileCoord;
use crate::web::{self, AppState};

/// The view Martin serves: the public reports with the public pins' properties, its geometry
/// typed (Martin publishes only geometry columns of a known SRID).
const MARTIN_VIEW: &str = "CREATE OR REPLACE VIEW report_pins AS
    SELECT id, service_code, status, to_char(requested_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD') AS day,
           ST_Transform(geom, 3857)::geometry(Point, 3857) AS geom
    FROM report WHERE status <> 'hidden'";

/// The index Martin's tile queries on the view use (its expression is the view's geometry), as
/// anyone serving the view with Martin would make it.
const MARTIN_INDEX: &str = "CREATE INDEX IF NOT EXISTS report_pins_geom ON report
    USING gist ((ST_Transform(geom, 3857)::geometry(Point, 3857)))";

/// Stores `n` reports at random points of the city's kelurahan, of every service and state,
/// received over the last 90 days.
const SEED: &str = include_str!("sql/seed_reports.sql");

/// Runs the reports benchmark: `reports` stored, Martin at `martin` if given.
pub async fn run_reports(
    options: &BenchOptions,
    reports: usize,
    martin: Option<&Path>,
) -> anyhow::Result<()> {
    super::check_tools(&["wrk", "curl"])?;
    let prepared = prepare(options).await?;
    println!("storing {reports} reports ...");
    let started = std::time::Instant::now();
    sqlx::query(SEED)
        .bind(reports as i32)
        .execute(&prepared.pool)
        .await
        .context("storing the reports")?;
    sqlx::query("ANALYZE report")
        .execute(&prepared.pool)
        .await?;
    println!("  in {:.1} s", started.elapsed().as_secs_f64());
    sqlx::query(MARTIN_VIEW).execute(&prepared.pool).await?;
    sqlx::query(MARTIN_INDEX).execute(&prepared.pool).await?;

    let server_options = web::Options {
        // wrk sends everything from one address: the per-address limits would measure themselves.
        report_rate: web::ReportRate {
            burst: 1_000_000,
            every: Duration::from_micros(1),
            uploads: 1_000,
        },
        ..web::Options::default()
    };
    let state = AppState::load(prepared.pool.clone(), &server_options).await?;
    let base = web::Server::with_state(state, &server_options)
        .spawn()
        .await?;

    let photo = options.work_dir.join("report-photo.jpg");
    std::fs::write(&photo, phone_photo()?)?;
    let points = options.work_dir.join("report-points.txt");
    let areas = AreaIndex::load(&prepared.pool).await?;
    std::fs::write(&points, random_points(&areas, 500))?;
    let with_photo = submit_script(options, "reports-post-photo.lua", &points, Some(&photo))?;
    let without = submit_script(options, "reports-post.lua", &points, None)?;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM report")
        .fetch_one(&prepared.pool)
        .await?;
    let photo_run = wrk(options, &with_photo, &base)?;
    let text_run = wrk(options, &without, &base)?;
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM report")
        .fetch_one(&prepared.pool)
        .await?;
    let photos: i64 = sqlx::query_scalar("SELECT count(*) FROM report_photo")
        .fetch_one(&prepared.pool)
        .await?;

    let (pins, cells) = tile_lists()?;
    let ours_path = |c: &TileCoord| format!("/tiles/reports/{}/{}/{}.mvt", c.z, c.x, c.y);
    let martin_path = |c: &TileCoord| format!("/report_pins/{}/{}/{}", c.z, c.x, c.y);
    let mut layer = Vec::new();
    let martin_binary = martin.map(Path::to_path_buf);
    let martin_server = match &martin_binary {
        Some(binary) => {
            let port = super::process::free_port()?;
            Some((
                super::tiles::start_martin(binary, &prepared.url, port, 512)?,
                format!("http://127.0.0.1:{port}"),
            ))
        }
        None => None,
    };
    for (label, list) in [("z14–z16 (pins)", &pins), ("z11–z13 (cells)", &cells)] {
        let ours_script = tile_script(
            options,
            &format!("reports-tiles-{}", list.len()),
            list,
            &ours_path,
        )?;
        let ours = wrk(options, &ours_script, &base)?;
        let ours_size = mean_size(&base, list, &ours_path)?;
        let theirs = match &martin_server {
            Some((_, martin_base)) => {
                let script = tile_script(
                    options,
                    &format!("reports-martin-{}", list.len()),
                    list,
                    &martin_path,
                )?;
                Some((
                    wrk(options, &script, martin_base)?,
                    mean_size(martin_base, list, &martin_path)?,
                ))
            }
            None => None,
        };
        layer.push((label, list.len(), ours, ours_size, theirs));
    }
    let martin_version = martin_binary
        .as_ref()
        .and_then(|b| Command::new(b).arg("--version").output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    drop(martin_server);
    let (features, size_mb) = (prepared.features, prepared.size_mb);
    prepared.finish().await?;

    println!();
    println!(
        "plan: {features} zoning polygons ({size_mb:.1} MB GeoPackage); {reports} reports stored before the runs; {} connections, {} s per run, browser headers",
        options.connections,
        options.duration.as_secs()
    );
    println!(
        "submissions stored during the runs: {} reports, {photos} photos (every answered request stored)",
        after - before
    );
    println!();
    println!("| submissions | req/s | p50 | p99 | errors |");
    println!("|---|---|---|---|---|");
    for (label, r) in [
        ("with a 2000 × 1500 photo (multipart)", &photo_run),
        ("without a photo (multipart)", &text_run),
    ] {
        println!(
            "| {label} | {:.1} | {} | {} | {} |",
            r.rate, r.p50, r.p99, r.errors
        );
    }
    println!();
    match &martin_version {
        Some(v) => println!("public reports layer against {v} (same table, same properties):"),
        None => println!("public reports layer (no --martin: no peer run):"),
    }
    println!();
    println!("| tiles | satupeta | mean tile | Martin | mean tile | ratio |");
    println!("|---|---|---|---|---|---|");
    for (label, n, ours, ours_size, theirs) in &layer {
        let (m_text, m_size, ratio) = match theirs {
            Some((m, size)) => (
                rate_text(m),
                format!("{:.1} KB", size / 1024.0),
                format!("{:.2}×", ours.rate / m.rate),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {label}, {n} tiles | {} | {:.1} KB | {m_text} | {m_size} | {ratio} |",
            rate_text(ours),
            ours_size / 1024.0
        );
    }
    Ok(())
}

fn rate_text(r: &WrkResult) -> String {
    format!(
        "{:.0} req/s, p50 {}, p99 {}{}",
        r.rate,
        r.p50,
        r.p99,
        if r.errors > 0 {
            format!(", {} errors", r.errors)
        } else {
            String::new()
        }
    )
}

/// A phone photo's stand-in: 2000 × 1500, smooth gradients with noise (JPEG of about 0.5 MB).
fn phone_photo() -> anyhow::Result<Vec<u8>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6471);
    let image = image::RgbImage::from_fn(2000, 1500, |x, y| {
        let n: i32 = rng.gen_range(-24..24);
        let c = |v: u32| (v as i32 + n).clamp(0, 255) as u8;
        image::Rgb([c(x * 255 / 2000), c(y * 255 / 1500), c((x + y) % 256)])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image).write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )?;
    Ok(out)
}

/// `n` random points of the city (inside a kelurahan, as the server's own index of the admin
/// areas says: a point outside would be a 422), one `lon lat` per line.
pub(super) fn random_points(areas: &AreaIndex, n: usize) -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(311);
    let [x0, y0, x1, y1] = CITY_BBOX;
    let mut out = String::new();
    let mut found = 0;
    while found < n {
        let lon = rng.gen_range(x0..x1);
        let lat = rng.gen_range(y0..y1);
        if areas.at(lon, lat).is_some() {
            out.push_str(&format!("{lon:.6} {lat:.6}\n"));
            found += 1;
        }
    }
    out
}

/// A wrk script that files a report per request at one of the points, with the photo if given.
fn submit_script(
    options: &BenchOptions,
    name: &str,
    points: &Path,
    photo: Option<&PathBuf>,
) -> anyhow::Result<PathBuf> {
    let headers: String = BROWSER_HEADERS
        .iter()
        .filter(|(k, _)| *k != "Accept")
        .map(|(k, v)| format!("wrk.headers[\"{k}\"] = \"{v}\"\n"))
        .collect();
    let photo_part = match photo {
        Some(p) => format!(
            "local f = io.open(\"{}\", \"rb\")\n\
             local jpeg = f:read(\"*a\")\n\
             f:close()\n\
             photo = \"--\" .. boundary .. \"\\r\\nContent-Disposition: form-data; name=\\\"media\\\"; filename=\\\"foto.jpg\\\"\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n\" .. jpeg .. \"\\r\\n\"\n",
            p.display()
        ),
        None => "photo = \"\"\n".into(),
    };
    let script = options.work_dir.join(name);
    std::fs::write(
        &script,
        format!(
            "boundary = \"satupetaBenchBoundary6471\"\n\
             local points = {{}}\n\
             for line in io.lines(\"{}\") do points[#points + 1] = line end\n\
             math.randomseed(6471)\n\
             {photo_part}\
             {headers}\
             wrk.headers[\"Accept\"] = \"application/json\"\n\
             wrk.headers[\"Content-Type\"] = \"multipart/form-data; boundary=\" .. boundary\n\
             local function field(name, value)\n\
               return \"--\" .. boundary .. \"\\r\\nContent-Disposition: form-data; name=\\\"\" .. name .. \"\\\"\\r\\n\\r\\n\" .. value .. \"\\r\\n\"\n\
             end\n\
             request = function()\n\
               local lon, lat = points[math.random(#points)]:match(\"(%S+) (%S+)\")\n\
               local body = field(\"service_code\", \"tanpa-pbg\") .. field(\"lat\", lat) .. field(\"long\", lon)\n\
                 .. field(\"description\", \"Bangunan ruko tiga lantai tanpa papan PBG\") .. field(\"email\", \"warga@example.id\")\n\
                 .. photo .. \"--\" .. boundary .. \"--\\r\\n\"\n\
               return wrk.format(\"POST\", \"/api/v1/reports\", nil, body)\n\
             end\n",
            points.display()
        ),
    )?;
    Ok(script)
}

/// The tiles asked for: every tile over the city at z14, 400 random ones at z15 and z16
/// (pins); every tile over the city at z11–z13 (cells).
fn tile_lists() -> anyhow::Result<(Vec<TileCoord>, Vec<TileCoord>)> {
    let over = super::tiles::over_city;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6471);
    let mut pins = over(14)?;
    for z in [15, 16] {
        let mut all = over(z)?;
        all.shuffle(&mut rng);
        pins.extend(all.into_iter().take(400));
    }
    let cells = (11..=13)
        .map(over)
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat();
    Ok((pins, cells))
}

fn tile_script(
    options: &BenchOptions,
    name: &str,
    tiles: &[TileCoord],
    path: &dyn Fn(&TileCoord) -> String,
) -> anyhow::Result<PathBuf> {
    let list = options.work_dir.join(format!("{name}.txt"));
    std::fs::write(
        &list,
        tiles.iter().map(path).collect::<Vec<_>>().join("\n") + "\n",
    )?;
    let script = options.work_dir.join(format!("{name}.lua"));
    write_script(&script, &list, Client::Browser)?;
    Ok(script)
}

/// The mean size of the tiles as sent to a browser (curl with its encodings, 100 of the list).
fn mean_size(
    base: &str,
    tiles: &[TileCoord],
    path: &dyn Fn(&TileCoord) -> String,
) -> anyhow::Result<f64> {
    let sample: Vec<&TileCoord> = tiles.iter().step_by((tiles.len() / 100).max(1)).collect();
    let mut total = 0u64;
    for tile in &sample {
        let output = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{size_download}"])
            .args(["-H", "Accept-Encoding: gzip, deflate, br, zstd"])
            .arg(format!("{base}{}", path(tile)))
            .output()
            .context("running curl")?;
        total += String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
    }
    Ok(total as f64 / sample.len().max(1) as f64)
}
