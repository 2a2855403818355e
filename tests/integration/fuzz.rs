//! Broken files for the importer, generated here: a GeoPackage truncated at several offsets, files
//! whose content is not what their name says, empty files and archives, zip archives of many
//! entries or of a size they do not have, a Shapefile without its .dbf or .shx, GeoJSON nested
//! 10,000 deep, 50 MB of one string, a polygon of a million vertices, attributes that are not
//! UTF-8, a KML that expands entities ("billion laughs"), a FlatGeobuf with a corrupt header, a
//! directory, a path that does not exist. Each is imported by the binary as an operator would
//! (`satupeta import FILE --plan NAME`): it must exit non-zero with a message naming the problem,
//! end by itself (no signal) within a bounded time and memory, and publish nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use super::fixtures::{self, standard_plan_as};
use super::harness::{TestDb, fresh_db, scratch_dir};

/// Seconds an import of a broken file may take.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Resident memory an import of a broken file may reach.
const MEMORY_LIMIT_MB: i64 = 1024;

/// How an import process ended.
struct Run {
    /// Its exit code (`None` when a signal ended it).
    code: Option<i32>,
    /// The signal that ended it.
    signal: Option<i32>,
    /// What it printed (standard output, then standard error).
    text: String,
    /// Its peak resident memory, MB.
    peak_mb: i64,
    /// Its run time.
    took: Duration,
}

/// Runs `satupeta import FILE --plan Broken` on `db`, killed after [`TIME_LIMIT`].
fn import(db: &TestDb, file: &Path) -> Run {
    let dir = scratch_dir();
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args(["import", file.to_str().unwrap(), "--plan", "Broken"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("run satupeta");
    let pid = child.id();
    let mut peak_kb = 0;
    let status = loop {
        // The child's own high-water mark, while it runs (its rusage would count this process's
        // memory too, which it shared until its exec).
        peak_kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
                line.split_whitespace().nth(1)?.parse::<i64>().ok()
            })
            .map_or(peak_kb, |kb| kb.max(peak_kb));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("importing {} took more than {TIME_LIMIT:?}", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Run {
        code: status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        text: format!("{}{}", read(&out), read(&err)),
        peak_mb: peak_kb / 1024,
        took: started.elapsed(),
    }
}

/// Everything an import could change, as one text.
async fn published(db: &TestDb) -> String {
    sqlx::query_scalar(
        "SELECT concat_ws(' / ',
            (SELECT string_agg(id || ':' || name || ':' || coalesce(published_version_id::text, '-'), ',' ORDER BY id) FROM plan),
            (SELECT string_agg(id || ':' || version, ',' ORDER BY id) FROM plan_version),
            (SELECT count(*) || ' features ' || coalesce(sum(id), 0) FROM zoning_feature),
            (SELECT count(*) || ' rule sets' FROM rule_set))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// A zip archive of `entries` (name, content), deflated; `declared` overrides each entry's
/// uncompressed size in its headers.
fn zip(entries: &[(String, Vec<u8>)], declared: Option<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in entries {
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(content).unwrap();
        let data = deflate.finish().unwrap();
        let crc = crc32fast::hash(content);
        let size = declared.unwrap_or(content.len() as u32);
        let offset = out.len() as u32;
        // Version, flags, method (8: deflate), time, date, CRC, sizes, name length, extra length.
        let fields = |header: &mut Vec<u8>| {
            header.extend_from_slice(&20u16.to_le_bytes());
            header.extend_from_slice(&0u16.to_le_bytes());
            header.extend_from_slice(&8u16.to_le_bytes());
            header.extend_from_slice(&[0, 0, 0x21, 0]);
            header.extend_from_slice(&crc.to_le_bytes());
            header.extend_from_slice(&(data.len() as u32).to_le_bytes());
            header.extend_from_slice(&size.to_le_bytes());
            header.extend_from_slice(&(name.len() as u16).to_le_bytes());
            header.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        fields(&mut central);
        // Comment length, disk, internal and external attributes, offset of the local header.
        central.extend_from_slice(&[0; 2 + 2 + 2 + 4]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let count = (entries.len() as u16).to_le_bytes();
    out.extend_from_slice(&count);
    out.extend_from_slice(&count);
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&[0; 2]);
    out
}

/// One broken input: a name, the file, and the words its refusal must say (any of them).
struct Case {
    name: String,
    file: PathBuf,
    words: &'static [&'static str],
}

/// Every broken input, written into `dir`.
fn cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &str, file: PathBuf, words: &'static [&'static str]| {
        cases.push(Case {
            name: name.into(),
            file,
            words,
        })
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let unreadable: &[&str] = &["cannot be read as vector data"];
    let misnamed: &[&str] = &["the format its name says"];

    // A GeoPackage truncated: in its header, in its first pages, half-way, one byte short.
    let gpkg = std::fs::read(standard_plan_as(dir, "GPKG", "whole.gpkg", 4326)).unwrap();
    for at in [
        1,
        100,
        4096,
        gpkg.len() / 4,
        gpkg.len() / 2,
        gpkg.len() * 3 / 4,
        gpkg.len() - 1,
    ] {
        let name = format!("truncated-{at}.gpkg");
        add(
            &format!("GeoPackage truncated at {at} of {} bytes", gpkg.len()),
            write(&name, &gpkg[..at]),
            &[
                "cannot be read",
                "truncated",
                "malformed",
                "reading the file",
            ],
        );
    }
    // Content that is not what the name says.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    add("a PNG named .gpkg", write("image.gpkg", png), misnamed);
    let geojson = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"KODSZN": "R-3"}, "geometry": {"type": "Polygon",
        "coordinates": [[[116.84, -1.26], [116.842, -1.26], [116.842, -1.258], [116.84, -1.26]]]}}]});
    add(
        "GeoJSON named .shp",
        write("plan.shp", geojson.to_string().as_bytes()),
        &["has no plan.dbf beside it"],
    );
    add("an empty .gpkg", write("empty.gpkg", b""), unreadable);
    add("an empty .geojson", write("empty.geojson", b""), unreadable);
    add("a zero-length .zip", write("empty.zip", b""), unreadable);
    // Archives: ten thousand entries; a size declared of 4 GB that is not there; a real deflate
    // bomb (256 MB of spaces in a GeoJSON, 256 KB in the archive).
    let many: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| (format!("part{i}.txt"), b"x".to_vec()))
        .collect();
    add(
        "a zip of 10,000 entries",
        write("many.zip", &zip(&many, None)),
        unreadable,
    );
    let shp = standard_plan_as(dir, "ESRI Shapefile", "zonasi.shp", 4326);
    let parts: Vec<(String, Vec<u8>)> = ["shp", "shx", "dbf", "prj"]
        .iter()
        .map(|e| {
            (
                format!("zonasi.{e}"),
                std::fs::read(shp.with_extension(e)).unwrap(),
            )
        })
        .collect();
    // (GDAL reads a whole entry whatever size it declares: an intact Shapefile declaring 4 GB
    // entries imports; this one's .shp ends half-way.)
    let mut cut = parts.clone();
    let shp_bytes = &mut cut[0].1;
    shp_bytes.truncate(shp_bytes.len() / 2);
    add(
        "a zipped Shapefile declaring 4 GB entries, cut short",
        write("declared.zip", &zip(&cut, Some(u32::MAX))),
        &[
            "features the layer \"zonasi\" declares could be read",
            "has no geometry",
        ],
    );
    let mut bomb = br#"{"type": "FeatureCollection", "features": ["#.to_vec();
    bomb.resize(256 << 20, b' ');
    add(
        "a zip bomb (256 MB of GeoJSON)",
        write("bomb.zip", &zip(&[("plan.geojson".into(), bomb)], None)),
        unreadable,
    );
    // A Shapefile without its .dbf, one without its .shx.
    for (missing, words) in [
        ("dbf", &["has no no-dbf.dbf beside it"]),
        ("shx", &["no-shx.shx"]),
    ] {
        let shp = standard_plan_as(dir, "ESRI Shapefile", &format!("no-{missing}.shp"), 4326);
        std::fs::remove_file(shp.with_extension(missing)).unwrap();
        add(&format!("a Shapefile without its .{missing}"), shp, words);
    }
    // GeoJSON nested 10,000 deep, in its coordinates and in its properties.
    let deep = format!(
        r#"{{"type": "FeatureCollection", "features": [{{"type": "Feature", "properties": {{}}, "geometry": {{"type": "Polygon", "coordinates": {}1{}}}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    add(
        "GeoJSON nested 10,000 deep",
        write("deep.geojson", deep.as_bytes()),
        unreadable,
    );
    let deep = format!(
        r#"{{"type": "Feature", "properties": {{"KODSZN": {}1{}}}, "geometry": null}}"#,
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    add(
        "GeoJSON properties nested 10,000 deep",
        write("deep-properties.geojson", deep.as_bytes()),
        unreadable,
    );
    // 50 MB of one string.
    let mut string = Vec::with_capacity(50 << 20);
    string.push(b'"');
    string.resize(50 << 20, b'a');
    string.push(b'"');
    add(
        "GeoJSON of 50 MB of one string",
        write("string.geojson", &string),
        unreadable,
    );
    // A polygon of a million vertices (a circle of 1 km about the grid).
    let n = 1_000_000;
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            [116.84 + 0.01 * a.cos(), -1.26 + 0.01 * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    let million = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"KODSZN": "R-3"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]});
    add(
        "a polygon of a million vertices",
        write("million.geojson", million.to_string().as_bytes()),
        &["1000001 vertices"],
    );
    // Attributes that are not UTF-8 (Latin-1 é in a GeoJSON; a .dbf whose .cpg says UTF-8).
    let mut latin1 = geojson.to_string().into_bytes();
    let at = latin1.windows(3).position(|w| w == b"R-3").unwrap();
    latin1.splice(at..at + 3, *b"R-3\", \"NAMOBJ\": \"Perumahan \xe9");
    add(
        "GeoJSON with Latin-1 attributes",
        write("latin1.geojson", &latin1),
        &["the field NAMOBJ is not UTF-8 text (bytes E9"],
    );
    let mut features = fixtures::standard_features();
    features[0].1["NAMOBJ"] = json!("Jalan Raya Sepinggan \u{e9}\u{e9}");
    let dbf = dir.join("latin1.shp");
    fixtures::write_layer(
        &dbf,
        "ESRI Shapefile",
        Some(4326),
        &features,
        gdal::vector::OGRwkbGeometryType::wkbPolygon,
    );
    // GDAL writes the .dbf in Latin-1 (é is E9) by default; its .cpg now says UTF-8.
    let table = std::fs::read(dbf.with_extension("dbf")).unwrap();
    assert!(table.windows(2).any(|w| w == b"\xe9\xe9"));
    std::fs::write(dbf.with_extension("cpg"), "UTF-8").unwrap();
    add(
        "a .dbf with Latin-1 text",
        dbf,
        &["the field NAMOBJ is not UTF-8 text (bytes E9E9"],
    );
    // Billion laughs.
    let mut kml = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE kml [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let previous = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        kml.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    kml.push_str(
        "]>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><Placemark><name>&lol9;</name>\
         <Polygon><outerBoundaryIs><LinearRing><coordinates>116.84,-1.26 116.842,-1.26 116.842,-1.258 116.84,-1.26\
         </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>\n",
    );
    add(
        "a KML that expands entities (billion laughs)",
        write("laughs.kml", kml.as_bytes()),
        &["cannot be read", "entity", "entities"],
    );
    // A FlatGeobuf with its header's bytes scrambled (after the magic).
    let fgb = std::fs::read(standard_plan_as(dir, "FlatGeobuf", "plan.fgb", 4326)).unwrap();
    for (name, corrupt) in [("zeroed", 0u8), ("set", 0xff)] {
        let mut bytes = fgb.clone();
        for b in &mut bytes[12..200.min(fgb.len())] {
            *b = if corrupt == 0 { 0 } else { *b ^ corrupt };
        }
        add(
            &format!("a FlatGeobuf with a {name} header"),
            write(&format!("corrupt-{name}.fgb"), &bytes),
            &["cannot be read", "reading the file", "no vector layer"],
        );
    }
    // ... and one whose header declares a billion features (it has 6).
    let mut bytes = fgb.clone();
    let at = bytes[8..]
        .windows(8)
        .position(|w| w == 6u64.to_le_bytes())
        .unwrap()
        + 8;
    bytes[at..at + 8].copy_from_slice(&1_000_000_000u64.to_le_bytes());
    add(
        "a FlatGeobuf declaring a billion features",
        write("billion.fgb", &bytes),
        &["0 of the 1000000000 features the layer \"zonasi\" declares could be read"],
    );
    // Not a file.
    let directory = dir.join("a-directory.gpkg");
    std::fs::create_dir_all(&directory).unwrap();
    add("a directory", directory, &["directory", "not a file"]);
    add(
        "a path that does not exist",
        dir.join("missing.gpkg"),
        &["no such file"],
    );
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_files_are_refused_by_name_in_bounded_time_and_publish_nothing() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let good = standard_plan_as(&dir, "GPKG", "good.gpkg", 4326);
    let first = import(&db, &good);
    assert_eq!(first.code, Some(0), "{}", first.text);
    let mut before = published(&db).await;
    let mut problems = Vec::new();
    let started = Instant::now();
    for case in cases(&dir) {
        let run = import(&db, &case.file);
        let message = run.text.trim().lines().last().unwrap_or("").to_string();
        println!(
            "{:<48} exit {:?} signal {:?} {:>5.1} s {:>5} MB  {}",
            case.name,
            run.code,
            run.signal,
            run.took.as_secs_f64(),
            run.peak_mb,
            message.chars().take(160).collect::<String>()
        );
        let lower = run.text.to_lowercase();
        let mut problem = |what: String| problems.push(format!("{}: {what}", case.name));
        if run.signal.is_some() || run.code == Some(0) || run.code.is_none() {
            problem(format!(
                "ended with {:?} / signal {:?}",
                run.code, run.signal
            ));
        }
        if lower.contains("panicked") {
            problem(format!("panicked: {}", run.text));
        }
        if !case.words.iter().any(|w| lower.contains(&w.to_lowercase())) {
            problem(format!("said none of {:?}: {}", case.words, run.text));
        }
        if run.peak_mb > MEMORY_LIMIT_MB {
            problem(format!("peaked at {} MB", run.peak_mb));
        }
        let now = published(&db).await;
        if now != before {
            problem(format!("changed the database: {before} -> {now}"));
            before = now;
        }
    }
    println!("{:.1} s in all", started.elapsed().as_secs_f64());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
