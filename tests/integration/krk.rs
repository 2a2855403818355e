//! City-plan certificates as applicants, DPPR staff and verifiers use them: an application's draft
//! (two sub-zones, the tier chosen by the whole parcel, the road's setback, a river's protection
//! zone, the overlays), issuing with gap-free numbers, the PDF read back by poppler and zbar, the
//! PAdES signature checked by `pdfsig`, tampering detected, supersession only by a version that
//! changes what applies to the parcel, and who may do what.

use std::path::{Path, PathBuf};

use reqwest::Method;
use satupeta::ingest::{self, ImportOptions};
use satupeta::krk::keys::{self, SignerIdentity};
use satupeta::web::Options;
use serde_json::{Value, json};

use super::fixtures::write_gpkg;
use super::harness::{TestDb, fresh_db, scratch_dir};
use super::node::{Client, people};

/// The fixture's south-west corner (lon, lat): a quiet corner of Balikpapan.
const ORIGIN: (f64, f64) = (116.900, -1.230);
/// Metres per degree of latitude and of longitude there (a local approximation, well within the
/// tolerances asserted).
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON: f64 = 111_293.0;
const PLAN: &str = "RDTR uji KRK";

pub(super) fn lon_lat(x: f64, y: f64) -> (f64, f64) {
    (ORIGIN.0 + x / M_PER_DEG_LON, ORIGIN.1 + y / M_PER_DEG_LAT)
}

/// A rectangle given in local metres, as WKT in EPSG:4326.
fn rect_wkt(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    let (a, b) = lon_lat(x0, y0);
    let (c, d) = lon_lat(x1, y1);
    format!("POLYGON(({a} {b},{c} {b},{c} {d},{a} {d},{a} {b}))")
}

/// The same rectangle as a GeoJSON polygon.
fn rect_geojson(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    let (a, b) = lon_lat(x0, y0);
    let (c, d) = lon_lat(x1, y1);
    json!({"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]})
}

/// The plan: housing (R-2) west and commerce (`east`, K-1 at first) east of x = 100 m, between a
/// 16 m road body along the south and a river's protection strip (PS) on the east; a park far to
/// the east (`park`) that later versions change.
fn plan(east: &str, park: &str) -> Vec<(String, Value)> {
    let props = |code: &str, extra: Value| {
        let mut p = json!({
            "KODSZN": code,
            "WADMKC": "Balikpapan Utara",
            "WADMKD": "Batu Ampar",
            "KKOP_1": "K01G Kawasan di Bawah Permukaan Horizontal Luar",
            "KRB_03": "Tidak Ada",
        });
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    vec![
        (rect_wkt(0.0, 16.0, 100.0, 116.0), props("R-2", json!({}))),
        (rect_wkt(100.0, 16.0, 200.0, 116.0), props(east, json!({}))),
        (rect_wkt(0.0, 0.0, 200.0, 16.0), props("BJ", json!({}))),
        (
            rect_wkt(200.0, 0.0, 230.0, 116.0),
            props("PS", json!({"KSMPDN": "Sempadan Sungai"})),
        ),
        (rect_wkt(400.0, 0.0, 500.0, 116.0), props(park, json!({}))),
    ]
}

/// Publishes a version of the plan with `east` and `park`.
pub(super) async fn publish(db: &TestDb, east: &str, park: &str, regulation: &str) {
    let file = scratch_dir().join("krk-plan.gpkg");
    write_gpkg(&file, 4326, &plan(east, park));
    let options = ImportOptions {
        plan: Some(PLAN.into()),
        regulation: Some(regulation.into()),
        ..ImportOptions::new(&file)
    };
    ingest::import(&db.pool, &options)
        .await
        .expect("publish the plan");
}

/// Publishes the plan's first version (K-1 east of the housing, a park far east), as most tests
/// of certificates and reports start.
pub(super) async fn publish_first(db: &TestDb) {
    publish(
        db,
        "K-1",
        "RTH-2",
        "Peraturan Wali Kota Balikpapan Nomor 7 Tahun 2026",
    )
    .await;
}

pub(super) fn signer() -> SignerIdentity {
    SignerIdentity {
        name: "Ir. Siti Rahmawati, M.T.".into(),
        nip: "197805122005012003".into(),
        position: "Kepala Bidang Tata Ruang".into(),
        on_behalf: "a.n. Kepala Dinas Pertanahan dan Penataan Ruang".into(),
    }
}

/// A server over the test's database, with signing keys made for it; its base URL.
async fn serve(db: &TestDb) -> (String, PathBuf) {
    let keys_dir = scratch_dir().join("keys");
    keys::init(&keys_dir, &signer()).expect("make the signing keys");
    (serve_keys(db, &keys_dir).await, keys_dir)
}

/// A server over the test's database whose signing keys are in `keys_dir` (made or not).
async fn serve_keys(db: &TestDb, keys_dir: &Path) -> String {
    let options = Options {
        keys_dir: Some(keys_dir.to_path_buf()),
        ..Options::default()
    };
    super::api::serve_with(db, options).await
}

pub(super) fn application(parcel: Value, activity: &str) -> Value {
    json!({
        "applicant": {
            "name": "Budi Santoso",
            "id_number": "6471011203800004",
            "address": "Jl. Soekarno-Hatta Km 5, Balikpapan",
            "title_kind": "SHM",
            "title_number": "1234/Batu Ampar",
            "phone": "0812 5555 1234",
        },
        "building_function": "campuran",
        "activity": activity,
        "parcel": parcel,
    })
}

async fn apply(client: &Client, parcel: Value) -> (String, String, Value) {
    let answer = client
        .json(
            Method::POST,
            "/api/v1/krk/applications",
            None,
            &application(parcel, "47111"),
            &[],
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let id = answer.body["application"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = answer.body["key"].as_str().unwrap().to_string();
    (id, key, answer.body["application"]["draft"].clone())
}

fn part<'a>(draft: &'a Value, subzone: &str) -> &'a Value {
    draft["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["subzone"] == subzone)
        .unwrap_or_else(|| panic!("no part in {subzone}: {draft}"))
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[tokio::test]
async fn a_draft_measures_two_sub_zones_under_the_tier_of_the_whole_parcel() {
    let db = fresh_db().await;
    publish_first(&db).await;
    let (base, _) = serve(&db).await;
    let client = Client::new(&base);

    // 20 m × 15 m across the boundary: 150 m² in each sub-zone, 300 m² in all. Each part's own
    // area is under 200 m², but the tier is the whole parcel's: 200 to 400 m².
    let (_, _, draft) = apply(&client, rect_geojson(90.0, 16.0, 110.0, 31.0)).await;
    let area = draft["area_m2"].as_f64().unwrap();
    assert!(close(area, 300.0, 3.0), "area {area}");
    let (r2, k1) = (part(&draft, "R-2"), part(&draft, "K-1"));
    let (a_r2, a_k1) = (
        r2["area_m2"].as_f64().unwrap(),
        k1["area_m2"].as_f64().unwrap(),
    );
    assert!(
        close(a_r2, 150.0, 2.0) && close(a_k1, 150.0, 2.0),
        "{a_r2} {a_k1}"
    );
    for p in [r2, k1] {
        assert_eq!(p["intensity"]["min_parcel_m2"], 200.0, "{p}");
        assert_eq!(p["intensity"]["max_parcel_m2"], 400.0, "{p}");
    }
    // R-2 200–400: KDB 65 %, KLB 2.0, KDH 20 %, KTB 45 %, 16 m, 4 floors, GSB 4 m.
    // K-1 200–400: KDB 80 %, KLB 4.0, KDH 10 %, KTB 65 %, 24 m, 6 floors, GSB 5 m.
    let limits = &draft["totals"]["limits"];
    let expect = |field: &str, value: f64| {
        let got = limits[field].as_f64().unwrap();
        assert!(close(got, value, 1e-6), "{field}: {got}, expected {value}");
    };
    expect("max_footprint_m2", 0.65 * a_r2 + 0.80 * a_k1);
    expect("max_floor_area_m2", 2.0 * a_r2 + 4.0 * a_k1);
    expect("min_green_m2", 0.20 * a_r2 + 0.10 * a_k1);
    expect("max_basement_m2", 0.45 * a_r2 + 0.65 * a_k1);
    expect("max_height_m", 16.0);
    assert_eq!(limits["max_floors"], 4);
    // The road body is 16 m wide: half of it (8 m) is more than either sub-zone's GSB.
    let road = &draft["roads"][0];
    assert!(
        close(road["width_m"].as_f64().unwrap(), 16.0, 0.5),
        "{road}"
    );
    assert_eq!(road["class"], "kolektor");
    assert!(
        close(road["frontage_m"].as_f64().unwrap(), 20.0, 0.5),
        "{road}"
    );
    assert!(close(
        draft["totals"]["front_setback_m"].as_f64().unwrap(),
        8.0,
        0.25
    ));
    assert_eq!(draft["protection"], json!([]));
    assert_eq!(
        draft["overlays"],
        json!([{"field": "KKOP_1", "value": "K01G Kawasan di Bawah Permukaan Horizontal Luar"}])
    );
    assert_eq!(
        draft["versions"][0]["regulation"],
        "Peraturan Wali Kota Balikpapan Nomor 7 Tahun 2026"
    );
    assert_eq!(draft["kelurahan"], "Batu Ampar");

    // 30 m × 20 m: 600 m², the 400–1000 tier; 500 m² in R-2 and 100 m² in K-1.
    let (_, _, draft) = apply(&client, rect_geojson(75.0, 16.0, 105.0, 36.0)).await;
    for p in [part(&draft, "R-2"), part(&draft, "K-1")] {
        assert_eq!(p["intensity"]["min_parcel_m2"], 400.0, "{p}");
    }
    let (a_r2, a_k1) = (
        part(&draft, "R-2")["area_m2"].as_f64().unwrap(),
        part(&draft, "K-1")["area_m2"].as_f64().unwrap(),
    );
    assert!(close(a_r2, 500.0, 5.0) && close(a_k1, 100.0, 2.0));
    let footprint = draft["totals"]["limits"]["max_footprint_m2"]
        .as_f64()
        .unwrap();
    assert!(close(footprint, 0.60 * a_r2 + 0.75 * a_k1, 1e-6));

    // Along the river: 5 m of the parcel lie in its protection zone, which allows no building
    // there beyond the zone's own limits and is named.
    let (_, _, draft) = apply(&client, rect_geojson(185.0, 16.0, 205.0, 31.0)).await;
    let river = &draft["protection"][0];
    assert_eq!(river["what"], "Sempadan Sungai", "{draft}");
    assert!(
        close(river["inside_m2"].as_f64().unwrap(), 75.0, 2.0),
        "{river}"
    );
    assert!(
        close(river["frontage_m"].as_f64().unwrap(), 15.0, 1.0),
        "{river}"
    );

    // A parcel inside a zone, away from every road, is flagged for staff.
    let (_, _, draft) = apply(&client, rect_geojson(20.0, 60.0, 40.0, 80.0)).await;
    assert_eq!(draft["roads"], json!([]));
    assert!(
        draft["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("badan jalan")),
        "{draft}"
    );
}

#[tokio::test]
async fn bad_applications_are_refused_with_the_field_named_and_nothing_stored() {
    let db = fresh_db().await;
    publish(&db, "K-1", "RTH-2", "Perwali 7/2026").await;
    let (base, _) = serve(&db).await;
    let client = Client::new(&base);
    let good = application(rect_geojson(90.0, 16.0, 110.0, 31.0), "47111");
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut a = good.clone();
                a["applicant"]["id_number"] = json!("12345");
                a
            },
            "id_number",
        ),
        (
            {
                let mut a = good.clone();
                a["building_function"] = json!("pabrik");
                a
            },
            "building_function",
        ),
        (
            {
                let mut a = good.clone();
                a["activity"] = json!("4711");
                a
            },
            "KBLI",
        ),
        (
            {
                let mut a = good.clone();
                a["applicant"]["phone"] = Value::Null;
                a
            },
            "contact",
        ),
        (
            {
                let mut a = good.clone();
                a["parcel"] = rect_geojson(5000.0, 5000.0, 5020.0, 5020.0);
                a
            },
            "outside every plan",
        ),
        (
            {
                let mut a = good.clone();
                a["parcel"] = json!({"type": "Point", "coordinates": [116.9, -1.23]});
                a
            },
            "Polygon",
        ),
        (
            {
                let mut a = good.clone();
                a["extra"] = json!(1);
                a
            },
            "extra",
        ),
        (
            {
                let mut a = good.clone();
                a["applicant"]["name"] = json!("Budi 王");
                a
            },
            "applicant.name",
        ),
    ];
    for (body, named) in cases {
        let answer = client
            .json(Method::POST, "/api/v1/krk/applications", None, &body, &[])
            .await;
        assert!(
            answer.status == 422 || answer.status == 400,
            "{named}: {} {}",
            answer.status,
            answer.body
        );
        assert_eq!(answer.header("content-type"), "application/problem+json");
        assert!(
            answer.body["detail"].as_str().unwrap().contains(named),
            "{named}: {}",
            answer.body
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM krk_application")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // A name typed as letters and combining accents is the same name, composed, and prints.
    let mut decomposed = good.clone();
    decomposed["applicant"]["name"] = json!("Jose\u{301} N\u{303}un\u{303}ez");
    let answer = client
        .json(
            Method::POST,
            "/api/v1/krk/applications",
            None,
            &decomposed,
            &[],
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        answer.body["application"]["applicant"]["name"],
        "Jos\u{e9} \u{d1}u\u{f1}ez"
    );
}

/// Runs a command; its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (poppler-utils, zbar-tools): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What `pdfsig` says of a PDF (it exits 0 even when the digest does not match).
fn pdfsig(path: &Path) -> String {
    let output = std::process::Command::new("pdfsig")
        .arg(path)
        .output()
        .expect("run pdfsig (poppler-utils)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What pyHanko (tests/clients/check_pades.py, in the clients' virtual environment that `make
/// test` makes) says of a PDF's signature, trusting `certificate`.
fn pyhanko(pdf: &Path, certificate: &Path) -> Value {
    let root = super::harness::root();
    let python = root.join("tests/clients/.venv/bin/python");
    assert!(
        python.exists(),
        "pyHanko runs in {} (make test installs it)",
        python.display()
    );
    let output = std::process::Command::new(python)
        .arg(root.join("tests/clients/check_pades.py"))
        .arg(pdf)
        .arg(certificate)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "check_pades.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn verify_pdf(client: &Client, pdf: Vec<u8>) -> Value {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf)
            .file_name("krk.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let answer = client
        .send(
            reqwest::Client::new()
                .post(client.url("/verify"))
                .multipart(form),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn an_issued_certificate_reads_scans_verifies_and_detects_tampering() {
    let db = fresh_db().await;
    publish_first(&db).await;
    let (base, keys_dir) = serve(&db).await;
    let client = Client::new(&base);
    let staff = people(&db).await.staff;
    let (id, key, _) = apply(&client, rect_geojson(90.0, 16.0, 110.0, 31.0)).await;

    let started = std::time::Instant::now();
    // A forged Host and X-Forwarded-Proto do not reach the signed verification URL.
    let issued = client
        .json(
            Method::POST,
            &format!("/api/v1/krk/applications/{id}/issue"),
            Some(&staff),
            &json!({}),
            &[("host", "evil.example"), ("x-forwarded-proto", "https")],
        )
        .await;
    let took = started.elapsed();
    assert_eq!(issued.status, 201, "{}", issued.body);
    let number = issued.body["number"].as_str().unwrap().to_string();
    let (roman, year) = {
        let today = chrono::Utc::now() + chrono::Duration::hours(8);
        use chrono::Datelike;
        (
            satupeta::krk::issue::roman_month(today.month()),
            today.year(),
        )
    };
    assert_eq!(number, format!("0001/KRK/DPPR/{roman}/{year}"));
    eprintln!(
        "issued {number} in {} ms, {} bytes",
        took.as_millis(),
        issued.body["pdf_bytes"]
    );

    // The applicant reads it by the private link's key and downloads the PDF.
    let status = client
        .send(
            reqwest::Client::new()
                .get(client.url(&format!("/api/v1/krk/applications/{id}")))
                .header("x-application-key", &key),
        )
        .await;
    assert_eq!(status.body["status"], "issued");
    assert_eq!(status.body["number"], number.as_str());
    let pdf = reqwest::get(client.url(&format!(
        "/api/v1/krk/applications/{id}/certificate.pdf?key={key}"
    )))
    .await
    .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap().to_vec();
    let dir = scratch_dir();
    let file = dir.join("krk.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let keep = super::harness::root().join("target/krk");
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::write(keep.join("certificate.pdf"), &pdf).unwrap();

    // Its text, as pdftotext reads it.
    let text = run("pdftotext", &["-layout", file.to_str().unwrap(), "-"]);
    for expected in [
        number.as_str(),
        "KETERANGAN RENCANA KOTA",
        "Budi Santoso",
        "Peraturan Wali Kota Balikpapan Nomor 7 Tahun 2026",
        "bukan merupakan izin",
        "Ir. Siti Rahmawati, M.T.",
        "197805122005012003",
        "R-2",
        "K-1",
        "sempadan",
    ] {
        assert!(
            text.contains(expected),
            "the PDF's text lacks {expected:?}:\n{text}"
        );
    }

    // Its QR code, scanned from the page as an image, opens the verification with the signature.
    run(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-f",
            "1",
            "-l",
            "9",
            file.to_str().unwrap(),
            dir.join("page").to_str().unwrap(),
        ],
    );
    let pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    let scanned: Vec<String> = pages
        .iter()
        .filter_map(|p| {
            let out = std::process::Command::new("zbarimg")
                .args(["--raw", "-q", p.to_str().unwrap()])
                .output()
                .expect("run zbarimg (zbar-tools)");
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .collect();
    assert_eq!(scanned.len(), 1, "one QR code in {pages:?}: {scanned:?}");
    let qr = &scanned[0];
    assert_eq!(qr, issued.body["qr"].as_str().unwrap());
    assert!(
        qr.starts_with(&format!("{base}/verify/{number}?s=")),
        "{qr}"
    );
    let verified = client
        .send(
            reqwest::Client::new()
                .get(qr)
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["status"], "valid");
    assert_eq!(verified.body["authentic"], true);
    assert_eq!(verified.body["presented_signature_matches"], true);
    // A browser opening the same link gets the page.
    let page = reqwest::Client::new()
        .get(qr)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // The embedded PAdES signature, as poppler checks it.
    let said = pdfsig(&file);
    assert!(said.contains("Signature is Valid."), "{said}");
    assert!(said.contains("ETSI.CAdES.detached"), "{said}");
    assert!(said.contains("Ir. Siti Rahmawati"), "{said}");

    // The PDF as issued is recognised; one flipped byte is not, and pdfsig sees it too.
    let answer = verify_pdf(&client, pdf.clone()).await;
    assert_eq!(answer["authentic"], true, "{answer}");
    assert_eq!(answer["verification"]["number"], number.as_str());
    // A byte inside the signed ranges (half way through the first).
    let text = String::from_utf8_lossy(&pdf);
    let range = text
        .split("/ByteRange")
        .nth(1)
        .and_then(|r| {
            r.trim_start()
                .trim_start_matches('[')
                .split_whitespace()
                .nth(1)
        })
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a /ByteRange");
    let mut tampered = pdf.clone();
    tampered[range / 2] ^= 0x01;
    let answer = verify_pdf(&client, tampered.clone()).await;
    assert_eq!(answer["authentic"], false, "{answer}");
    let tampered_file = dir.join("tampered.pdf");
    std::fs::write(&tampered_file, &tampered).unwrap();
    assert!(!pdfsig(&tampered_file).contains("Signature is Valid."));

    // pyHanko, trusting the city's signing certificate, finds the signature intact, valid and
    // covering the whole file; and the flipped byte.
    let current = std::fs::read_to_string(keys_dir.join("current")).unwrap();
    let certificate = keys_dir.join(current.trim()).join("certificate.pem");
    let said = pyhanko(&file, &certificate);
    assert_eq!(said["intact"], true, "{said}");
    assert_eq!(said["valid"], true, "{said}");
    assert_eq!(said["trusted"], true, "{said}");
    assert_eq!(said["coverage"], "ENTIRE_FILE", "{said}");
    assert_eq!(said["sub_filter"], "/ETSI.CAdES.detached", "{said}");
    let said = pyhanko(&tampered_file, &certificate);
    assert_eq!(said["intact"], false, "{said}");

    // The signed content verifies against the published keys; an edited one does not.
    let payload = verified.body["payload"].clone();
    let signature = verified.body["signature"].as_str().unwrap();
    let key_id = verified.body["key_id"].as_str().unwrap();
    let check =
        |payload: Value| json!({"payload": payload, "signature": signature, "key_id": key_id});
    let answer = client
        .json(Method::POST, "/verify", None, &check(payload.clone()), &[])
        .await;
    assert_eq!(answer.body["authentic"], true, "{}", answer.body);
    let mut edited = payload.clone();
    edited["draft"]["totals"]["limits"]["max_floor_area_m2"] = json!(9999.0);
    let answer = client
        .json(Method::POST, "/verify", None, &check(edited), &[])
        .await;
    assert_eq!(answer.body["authentic"], false, "{}", answer.body);
    // A forged signature in a link is not the certificate's (the certificate itself is); and
    // without the QR code's signature the applicant and the parcel are not shown.
    let forged = format!("{base}/verify/{number}?s=AAAA");
    let answer = client
        .send(
            reqwest::Client::new()
                .get(&forged)
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(answer.body["authentic"], true);
    assert_eq!(answer.body["presented_signature_matches"], false);
    assert_eq!(answer.body["redacted"], true);
    assert!(
        answer.body["payload"].get("applicant").is_none(),
        "{}",
        answer.body
    );
    assert!(answer.body["payload"].get("parcel").is_none());
    assert_eq!(verified.body["redacted"], false);
    assert_eq!(
        verified.body["payload"]["applicant"]["name"],
        "Budi Santoso"
    );
    let keys = client.get("/api/v1/krk/keys", None).await;
    assert!(
        keys.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == key_id && k["crv"] == "Ed25519"),
        "{}",
        keys.body
    );
    // An unknown number is a 404; so is one that is not a number.
    for path in ["/verify/9999/KRK/DPPR/XI/2026", "/verify/%27%20OR%201=1"] {
        let answer = client
            .send(
                reqwest::Client::new()
                    .get(client.url(path))
                    .header("accept", "application/json"),
            )
            .await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_certificate_is_superseded_only_by_a_version_that_changes_its_parcel_and_revoked_by_staff()
 {
    let db = fresh_db().await;
    publish(&db, "K-1", "RTH-2", "Perwali 7/2026").await;
    let (base, _) = serve(&db).await;
    let client = Client::new(&base);
    let staff = people(&db).await.staff;
    let mut numbers = Vec::new();
    for parcel in [
        rect_geojson(90.0, 16.0, 110.0, 31.0),
        rect_geojson(20.0, 16.0, 40.0, 31.0),
    ] {
        let (id, _, _) = apply(&client, parcel).await;
        let issued = client
            .json(
                Method::POST,
                &format!("/api/v1/krk/applications/{id}/issue"),
                Some(&staff),
                &json!({}),
                &[],
            )
            .await;
        assert_eq!(issued.status, 201, "{}", issued.body);
        numbers.push((id, issued.body["number"].as_str().unwrap().to_string()));
    }
    let status = |number: String| {
        let client = &client;
        async move {
            client
                .send(
                    reqwest::Client::new()
                        .get(client.url(&format!("/verify/{number}")))
                        .header("accept", "application/json"),
                )
                .await
                .body
        }
    };
    // A new version that changes only the park far away supersedes nothing.
    publish(&db, "K-1", "K-2", "Perwali 8/2026").await;
    for (_, number) in &numbers {
        let answer = status(number.clone()).await;
        assert_eq!(answer["status"], "valid", "{answer}");
    }
    // An application made before the next version is issued with that version's rules, and its
    // applicant then sees the certificate's, not the draft they were shown.
    let (late, _, draft) = apply(&client, rect_geojson(150.0, 16.0, 170.0, 31.0)).await;
    assert_eq!(draft["parts"][0]["subzone"], "K-1");
    // One that turns the commercial zone into K-2 supersedes the certificate of the parcel across
    // it, and only that one.
    publish(&db, "K-2", "K-2", "Perwali 9/2026").await;
    let issued = client
        .json(
            Method::POST,
            &format!("/api/v1/krk/applications/{late}/issue"),
            Some(&staff),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert!(
        issued.body["changed_since_submission"]
            .as_array()
            .unwrap()
            .contains(&json!("sub-zones")),
        "{}",
        issued.body
    );
    let read = client
        .get(&format!("/api/v1/krk/applications/{late}"), Some(&staff))
        .await;
    assert_eq!(
        read.body["draft"]["parts"][0]["subzone"], "K-2",
        "{}",
        read.body
    );
    let answer = status(numbers[1].1.clone()).await;
    assert_eq!(answer["status"], "valid", "{answer}");
    // A version that brings K-1 back, published before anyone looked at the first certificate:
    // it was superseded all the same (each version is judged as things stood when it came), and
    // stays so.
    publish(&db, "K-1", "K-2", "Perwali 10/2026").await;
    for _ in 0..2 {
        let answer = status(numbers[0].1.clone()).await;
        assert_eq!(answer["status"], "superseded", "{answer}");
        let changes = answer["superseded"]["changes"].as_array().unwrap();
        assert!(changes.contains(&json!("sub-zones")), "{answer}");
        assert_eq!(
            answer["superseded"]["versions"][0]["regulation"],
            "Perwali 9/2026"
        );
        assert_eq!(answer["authentic"], true);
    }
    let answer = status(numbers[1].1.clone()).await;
    assert_eq!(answer["status"], "valid", "{answer}");

    // Revoked by staff with a reason, recorded in the audit log.
    let revoke = |id: &str, token: Option<&str>| {
        let path = format!("/api/v1/krk/applications/{id}/revoke");
        let client = &client;
        let token = token.map(str::to_string);
        async move {
            client
                .json(
                    Method::POST,
                    &path,
                    token.as_deref(),
                    &json!({"reason": "Data kepemilikan tanah keliru"}),
                    &[],
                )
                .await
        }
    };
    let answer = revoke(&numbers[1].0, Some(&staff)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = status(numbers[1].1.clone()).await;
    assert_eq!(answer["status"], "revoked");
    assert_eq!(
        answer["revocation"]["reason"],
        "Data kepemilikan tanah keliru"
    );
    assert_eq!(revoke(&numbers[1].0, Some(&staff)).await.status, 409);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'krk.revoke'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn concurrent_issuing_numbers_without_gaps_and_only_staff_decide() {
    let db = fresh_db().await;
    publish(&db, "K-1", "RTH-2", "Perwali 7/2026").await;
    let (base, _) = serve(&db).await;
    let client = Client::new(&base);
    let people = people(&db).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let x = 10.0 + 22.0 * i as f64;
        let (id, _, _) = apply(&client, rect_geojson(x, 16.0, x + 20.0, 31.0)).await;
        ids.push(id);
    }

    // Who may: anonymous callers sign in first; publishers are refused; an applicant's key opens
    // only their own application.
    let (first, second) = (&ids[0], &ids[1]);
    for (path, body) in [
        ("/api/v1/krk/applications".to_string(), None),
        (
            format!("/api/v1/krk/applications/{first}/issue"),
            Some(json!({})),
        ),
        (
            format!("/api/v1/krk/applications/{first}/refuse"),
            Some(json!({"reason": "x"})),
        ),
        (
            format!("/api/v1/krk/applications/{first}/revoke"),
            Some(json!({"reason": "x"})),
        ),
    ] {
        for (token, expected) in [(None, 401), (Some(people.dinkes.as_str()), 403)] {
            let answer = match &body {
                Some(b) => client.json(Method::POST, &path, token, b, &[]).await,
                None => client.get(&path, token).await,
            };
            assert_eq!(answer.status, expected, "{path} {token:?}: {}", answer.body);
        }
    }
    let read = client
        .get(&format!("/api/v1/krk/applications/{first}"), None)
        .await;
    assert_eq!(read.status, 401);
    let wrong_key = client
        .send(
            reqwest::Client::new()
                .get(client.url(&format!("/api/v1/krk/applications/{second}")))
                .header("x-application-key", "0".repeat(48)),
        )
        .await;
    assert_eq!(wrong_key.status, 404);
    let queue = client
        .get(
            "/api/v1/krk/applications?status=submitted",
            Some(&people.staff),
        )
        .await;
    assert_eq!(queue.body["applications"].as_array().unwrap().len(), 8);
    assert_eq!(
        client
            .get("/api/v1/krk/applications", Some(&people.admin))
            .await
            .status,
        200
    );

    // Staff refuse one with a reason; it cannot be issued afterwards.
    let refused = client
        .json(
            Method::POST,
            &format!("/api/v1/krk/applications/{}/refuse", ids[7]),
            Some(&people.staff),
            &json!({"reason": "Persil tumpang tindih dengan permohonan lain"}),
            &[],
        )
        .await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert_eq!(refused.body["status"], "refused");

    // Every application issued at once, one of them twice, the refused one too.
    let mut attempts: Vec<String> = ids.clone();
    attempts.push(ids[0].clone());
    let issues = attempts.iter().map(|id| {
        let client = &client;
        let token = people.staff.clone();
        let path = format!("/api/v1/krk/applications/{id}/issue");
        async move {
            client
                .json(Method::POST, &path, Some(&token), &json!({}), &[])
                .await
        }
    });
    let answers = futures::future::join_all(issues).await;
    let mut numbers: Vec<String> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| a.body["number"].as_str().unwrap().to_string())
        .collect();
    let conflicts = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!((numbers.len(), conflicts), (7, 2), "{answers:?}");
    numbers.sort();
    let seqs: Vec<u32> = numbers.iter().map(|n| n[..4].parse().unwrap()).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>(), "{numbers:?}");
    let counter: i32 = sqlx::query_scalar("SELECT last FROM krk_counter")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(counter, 7);
}

#[tokio::test]
async fn keys_are_made_and_rotated_at_the_command_line_and_old_certificates_still_verify() {
    let db = fresh_db().await;
    publish(&db, "K-1", "RTH-2", "Perwali 7/2026").await;
    let keys_dir = scratch_dir().join("keys");
    let base = serve_keys(&db, &keys_dir).await;
    let client = Client::new(&base);
    let staff = people(&db).await.staff;
    let issue = |id: String| {
        let client = &client;
        let staff = staff.clone();
        async move {
            client
                .json(
                    Method::POST,
                    &format!("/api/v1/krk/applications/{id}/issue"),
                    Some(&staff),
                    &json!({}),
                    &[],
                )
                .await
        }
    };
    // Without keys nothing is signed: a 503 that says so, and the application stays in the queue.
    let (first, _, _) = apply(&client, rect_geojson(90.0, 16.0, 110.0, 31.0)).await;
    let answer = issue(first.clone()).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(answer.body["detail"].as_str().unwrap().contains("keys"));
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_satupeta"))
            .args(args)
            .env("SATUPETA_KEYS_DIR", &keys_dir)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, said) = cli(&["keys", "list"]);
    assert!(!ok && said.contains("keys init"), "{said}");
    let init = [
        "keys",
        "init",
        "--name",
        "Ir. Siti Rahmawati, M.T.",
        "--nip",
        "197805122005012003",
    ];
    let (ok, said) = cli(&init);
    assert!(ok, "{said}");
    let answer = issue(first.clone()).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let old_kid = answer.body["key_id"].as_str().unwrap().to_string();
    let old_number = answer.body["number"].as_str().unwrap().to_string();

    // Rotated while the server runs: the next certificate is signed with the new key, the old one
    // still verifies, and both keys are published.
    let (ok, said) = cli(&init);
    assert!(ok, "{said}");
    let (_, listed) = cli(&["keys", "list"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let (second, _, _) = apply(&client, rect_geojson(20.0, 16.0, 40.0, 31.0)).await;
    let answer = issue(second).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let new_kid = answer.body["key_id"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert!(listed.contains(&format!("{new_kid} (current)")), "{listed}");
    for number in [&old_number, answer.body["number"].as_str().unwrap()] {
        let verified = client
            .send(reqwest::Client::new().get(client.url(&format!("/verify/{number}?f=json"))))
            .await;
        assert_eq!(verified.body["authentic"], true, "{}", verified.body);
    }
    let jwks = client.get("/api/v1/krk/keys", None).await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
}
