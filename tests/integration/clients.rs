//! Real clients read the node: GDAL's OGR (`OAPIF` driver of gdal-bin), QGIS (its OAPIF provider,
//! Debian's python3-qgis) and OWSLib (Features, Records, CSW) with the OpenAPI document validated
//! by openapi-spec-validator, and the georeport library files and reads Open311 reports, through
//! the scripts in `tests/clients` (`make test` installs them).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::harness::{fresh_db, root};
use super::node::{Client, complete_metadata, people, public_dataset};

/// `n` points in Balikpapan of five kinds, the same every run; and how many are schools.
fn facilities(n: usize) -> (String, usize) {
    let kinds = ["sekolah", "puskesmas", "pasar", "masjid", "kantor"];
    let features: Vec<Value> = (0..n)
        .map(|i| {
            let (a, b) = ((i * 7919) % 1000, (i * 104_729) % 1000);
            json!({ "type": "Feature",
                    "properties": { "nama": format!("Fasilitas {i}"), "kategori": kinds[i % 5], "kapasitas": (i * 37) % 500 },
                    "geometry": { "type": "Point", "coordinates": [116.80 + 0.0003 * a as f64, -1.30 + 0.00025 * b as f64] } })
        })
        .collect();
    let schools = (0..n).filter(|i| i % 5 == 0).count();
    (
        json!({ "type": "FeatureCollection", "features": features }).to_string(),
        schools,
    )
}

async fn run(program: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} cannot run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{text}"
    );
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_qgis_and_owslib_read_features_records_and_csw_of_the_node() {
    let python: PathBuf = root().join("tests/clients/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test` installs the clients (tests/clients/requirements.txt)",
        python.display()
    );
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let (data, schools) = facilities(1234);
    let mut metadata = complete_metadata();
    metadata["title"] = json!("Fasilitas umum Kota Balikpapan");
    public_dataset(&client, &p, "fasilitas", data, &metadata).await;

    let ogc = format!("{}/ogc", client.base);
    let filter = "kategori = 'sekolah'";
    let schools = schools.to_string();
    let owslib = run(
        python.to_str().unwrap(),
        &[
            "tests/clients/check_node.py",
            &ogc,
            "fasilitas",
            "1234",
            "--filter",
            filter,
            "--filter-count",
            &schools,
        ],
    )
    .await;
    println!("{owslib}");
    let ogr = run(
        "bash",
        &[
            "tests/clients/check_ogr.sh",
            &ogc,
            "fasilitas",
            "1234",
            filter,
            &schools,
        ],
    )
    .await;
    println!("{ogr}");
    let qgis = run(
        "/usr/bin/python3",
        &[
            "-u",
            "tests/clients/check_qgis.py",
            &ogc,
            "fasilitas",
            "1234",
            filter,
            &schools,
        ],
    )
    .await;
    println!("{qgis}");
    // The administrative boundaries, polygons, read whole by GDAL.
    let admin: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_area")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    run(
        "bash",
        &[
            "tests/clients/check_ogr.sh",
            &ogc,
            "admin",
            &admin.to_string(),
        ],
    )
    .await;
}

/// A city's 311 application on the georeport library (tests/clients/check_open311.py) relies on
/// GeoReport v2 as written, in JSON and in XML: the five services and a definition's required
/// attribute, a request posted with its API key answered with an id and a token (403 without
/// the key), read back open where it was filed with no contact detail of the reporter, found by
/// the standard filters and by a list of ids, and its token naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn georeport_files_and_reads_open311_requests_in_json_and_xml() {
    let python: PathBuf = root().join("tests/clients/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test` installs the clients (tests/clients/requirements.txt)",
        python.display()
    );
    let db = fresh_db().await;
    super::krk::publish_first(&db).await;
    let key = satupeta::reports::apikeys::create(&db.pool, "georeport")
        .await
        .unwrap();
    let base = super::api::serve_with(&db, satupeta::web::Options::default()).await;
    // In the plan's R-2 housing zone.
    let (lon, lat) = super::krk::lon_lat(50.0, 60.0);
    let georeport = run(
        python.to_str().unwrap(),
        &[
            "tests/clients/check_open311.py",
            &base,
            &key,
            &lon.to_string(),
            &lat.to_string(),
        ],
    )
    .await;
    println!("{georeport}");
}

/// Schemathesis (tests/clients/requirements.txt) generates requests from the node's OpenAPI
/// document, `/ogc/api`, for every GET operation, valid and invalid, with a fixed seed: no answer
/// is a server error, and every answer's status, content type and body are those the document
/// gives for the operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_the_node_answering_as_its_openapi_document_says() {
    let st: PathBuf = root().join("tests/clients/.venv/bin/st");
    assert!(
        st.exists(),
        "{} is missing: `make test` installs the clients (tests/clients/requirements.txt)",
        st.display()
    );
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let (data, _) = facilities(50);
    public_dataset(&client, &p, "fasilitas", data, &complete_metadata()).await;
    let started = std::time::Instant::now();
    let report = super::harness::scratch_dir().join("schemathesis.json");
    let config = root().join("tests/clients/schemathesis.toml");
    let output = run(
        st.to_str().unwrap(),
        &[
            "--config-file",
            config.to_str().unwrap(),
            "run",
            &format!("{}/ogc/api", client.base),
            "--include-method",
            "GET",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "300",
            "--seed",
            "20260101",
            "--workers",
            "2",
            "--request-timeout",
            "10",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            report.to_str().unwrap(),
        ],
    )
    .await;
    println!("{output}");
    // Its first finding: a bbox in metres far off the Earth was a 500 (PROJ's error, XX000).
    let far = client
        .get(
            "/ogc/collections/fasilitas/items?bbox=-1e241,-6e16,7e87,-6e16&bbox-crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FEPSG%2F0%2F32750",
            None,
        )
        .await;
    assert_eq!(far.status, 400, "{}", far.body);
    assert!(
        far.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("bbox: cannot be transformed")
    );
    println!("schemathesis ran {:.1} s", started.elapsed().as_secs_f64());
}
