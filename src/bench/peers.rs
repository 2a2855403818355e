//! The static peer of the tile benchmark: nginx (Debian) serving the same tiles from disk,
//! pre-compressed (`gzip_static`), the physical limit of serving warm tiles on this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::CITY_BBOX;
use super::process::{Process, free_port};
use crate::tiles::TileCoord;

/// How many tiles the comparison asks for, and from which zooms.
const TILES: usize = 200;
const ZOOMS: std::ops::RangeInclusive<u8> = 12..=16;

/// `TILES` tiles with content at zooms 12–16 over the city, in a fixed random order, as URL paths
/// fetched from satupeta (uncompressed) and written under `root` beside a gzip copy.
pub fn write_tiles(base: &str, root: &Path) -> anyhow::Result<Vec<String>> {
    let [w, s, e, n] = CITY_BBOX;
    let mut all = Vec::new();
    for z in ZOOMS {
        let (a, b) = (
            TileCoord::containing(w, n, z)?,
            TileCoord::containing(e, s, z)?,
        );
        for x in a.x..=b.x {
            for y in a.y..=b.y {
                all.push(TileCoord::new(u32::from(z), x, y)?);
            }
        }
    }
    all.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(6471));
    let mut paths = Vec::with_capacity(TILES);
    for coord in all {
        if paths.len() == TILES {
            break;
        }
        let path = format!("/tiles/zoning/{}/{}/{}.mvt", coord.z, coord.x, coord.y);
        let file = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().context("tile path")?)?;
        let output = Command::new("curl")
            .args([
                "-s",
                "-o",
                file.to_str().context("path")?,
                "-w",
                "%{http_code}",
            ])
            .arg(format!("{base}{path}"))
            .output()
            .context("running curl")?;
        if String::from_utf8_lossy(&output.stdout) != "200" {
            let _ = std::fs::remove_file(&file);
            continue;
        }
        gzip_beside(&file)?;
        paths.push(path);
    }
    if paths.len() < TILES {
        bail!("only {} tiles with content at zooms 12–16", paths.len());
    }
    Ok(paths)
}

/// Writes `file.gz` beside `file` (gzip level 6, nginx's and gzip's default).
fn gzip_beside(file: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let raw = std::fs::read(file)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(&raw)?;
    let mut gz = file.as_os_str().to_owned();
    gz.push(".gz");
    std::fs::write(PathBuf::from(gz), encoder.finish()?)?;
    Ok(())
}

/// Starts nginx serving `root` with `gzip_static` on a free port; its files stay in `dir`.
pub fn start_nginx(dir: &Path, root: &Path) -> anyhow::Result<Process> {
    let port = free_port()?;
    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp)?;
    // Workers of a root-started nginx switch users; let them read the tiles as root does.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root root;\n"
    } else {
        ""
    };
    let config = format!(
        "{user}worker_processes auto;\ndaemon off;\npid {dir}/nginx.pid;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  sendfile on; tcp_nopush on; tcp_nodelay on;\n  \
         keepalive_requests 1000000; keepalive_timeout 75s;\n  \
         client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fastcgi;\n  \
         uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;\n  \
         types {{ application/vnd.mapbox-vector-tile mvt; }}\n  \
         server {{ listen 127.0.0.1:{port}; root {root}; gzip_static on; add_header Vary Accept-Encoding; }}\n}}\n",
        dir = dir.display(),
        temp = temp.display(),
        root = root.display(),
    );
    let file = dir.join("nginx.conf");
    std::fs::write(&file, config)?;
    Process::nginx(&file, &format!("http://127.0.0.1:{port}"))
}

/// nginx's version line.
pub fn nginx_version() -> String {
    Command::new(super::process::nginx_binary())
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_else(|_| "nginx".into())
}
