//! The HTTP API as a client sees it, including a plan published by another process.

use std::time::{Duration, Instant};

use satupeta::ingest::{self, ImportOptions};
use satupeta::web::{Options, Server};
use serde_json::{Value, json};

use super::fixtures::{cell_centre, standard_plan_as};
use super::harness::{TestDb, fresh_db, scratch_dir};

/// Serves the API on a free port of the test's database; returns its base URL. The fallback poll
/// is a minute long, so that changes reach the server within a test only by LISTEN/NOTIFY.
pub async fn serve(db: &TestDb) -> String {
    serve_with(db, Options::default()).await
}

/// Like [`serve`], with `options` (the poll is always a minute long).
pub async fn serve_with(db: &TestDb, options: Options) -> String {
    let options = Options {
        poll: Duration::from_secs(60),
        ..options
    };
    Server::start(&db.url, &options)
        .await
        .unwrap()
        .spawn()
        .await
        .unwrap()
}

/// Publishes `file` as a version of `plan` from another process (`satupeta import`); returns
/// what it printed.
pub async fn import_elsewhere(db: &TestDb, file: &std::path::Path, plan: &str) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args(["import", file.to_str().unwrap(), "--plan", plan])
        .env("DATABASE_URL", &db.url)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn get(url: &str) -> (u16, String, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    (
        status,
        content_type,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test]
async fn the_api_answers_lookups_and_explains_bad_requests() {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    ingest::import(
        &db.pool,
        &ImportOptions {
            plan: Some("Pusat".into()),
            ..ImportOptions::new(&file)
        },
    )
    .await
    .unwrap();
    let base = serve(&db).await;

    let (lon, lat) = cell_centre(2, 1);
    let (status, _, body) = get(&format!(
        "{base}/api/v1/zoning?lon={lon}&lat={lat}&activity=47111"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subzone"]["code"], "SPU-3");
    assert_eq!(body["overlays"]["KSMPDN"], "Sempadan Sungai");
    assert_eq!(body["activity"]["kbli"], "47111");

    for (query, status, words) in [
        ("lon=abc&lat=-1.26", 400, "`lon` is \"abc\", not a number"),
        ("lat=-1.26", 400, "`lon` is required"),
        ("lon=116.84&lat=-95", 400, "not WGS 84 degrees"),
        ("lon=116.5&lat=-1.5", 404, "no published plan covers"),
        (
            "lon=116.841&lat=-1.259&activity=abc",
            400,
            "not a KBLI 2020 code",
        ),
        (
            "lon=116.841&lat=-1.259&version=999",
            404,
            "no plan version 999",
        ),
    ] {
        let (got, content_type, body) = get(&format!("{base}/api/v1/zoning?{query}")).await;
        assert_eq!(got, status, "{query}: {body}");
        assert_eq!(content_type, "application/problem+json", "{query}");
        assert!(
            body["detail"].as_str().unwrap().contains(words),
            "{query}: {body}"
        );
        assert_eq!(body["status"], status);
    }

    let (status, _, body) = get(&format!("{base}/api/v1/activities?q=restoran")).await;
    assert_eq!(status, 200);
    assert!(
        body["kbli"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kbli"] == "56101" && h["activity"]["id"] == "014")
    );
    let (status, _, _) = get(&format!("{base}/api/v1/activities")).await;
    assert_eq!(status, 400);
    let (_, _, body) = get(&format!("{base}/api/v1/subzones")).await;
    assert!(
        body["subzones"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["code"] == "RTH-7" && s["catalog_code"] == "31031700")
    );
    let (_, _, body) = get(&format!("{base}/api/v1/plans")).await;
    let version = &body["versions"][0];
    assert_eq!(
        (
            version["plan"].clone(),
            version["feature_count"].clone(),
            version["published"].clone()
        ),
        (json!("Pusat"), json!(6), json!(true))
    );
    let (status, _, body) = get(&format!(
        "{base}/api/v1/plans/versions/{}",
        version["version_id"]
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["report"]["features_read"], 6);
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    for (path, status, words) in [
        (
            "/api/v1/nothing-here",
            404,
            "there is nothing at /api/v1/nothing-here",
        ),
        (
            "/api/v1/plans/versions/abc",
            400,
            "\"abc\" is not a plan version id",
        ),
        (
            "/api/v1/plans/versions/999",
            404,
            "there is no plan version 999",
        ),
    ] {
        let (got, content_type, body) = get(&format!("{base}{path}")).await;
        assert_eq!(
            (got, content_type.as_str()),
            (status, "application/problem+json"),
            "{path}: {body}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains(words),
            "{path}: {body}"
        );
    }
    let (status, _, ready) = get(&format!("{base}/readyz")).await;
    assert_eq!((status, ready["features"].clone()), (200, json!(6)));
    assert_eq!(ready["tile_layers"], 2, "zoning and admin: {ready}");
    assert!(ready["tile_cache_bytes"].is_u64());

    let client = reqwest::Client::new();
    let parcel = json!({"type": "Feature", "properties": {"activity": "56101"}, "geometry": {"type": "Polygon",
        "coordinates": [[[116.8405, -1.2595], [116.8415, -1.2595], [116.8415, -1.2585], [116.8405, -1.2585], [116.8405, -1.2595]]]}});
    let response = client
        .post(format!("{base}/api/v1/zoning/parcel"))
        .json(&parcel)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["parts"][0]["subzone"]["code"], "R-3");
    assert!(body["area_m2"].as_f64().unwrap() > 12_000.0);
    let response = client
        .post(format!("{base}/api/v1/zoning/parcel"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_plan_published_by_another_process_is_served_within_seconds() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let (lon, lat) = cell_centre(0, 0);
    let url = format!("{base}/api/v1/zoning?lon={lon}&lat={lat}");
    assert_eq!(get(&url).await.0, 404);

    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 32750);
    let printed = import_elsewhere(&db, &file, "Dari proses lain").await;
    assert!(printed.contains("published version 1"), "{printed}");
    let published = Instant::now();
    loop {
        let (status, _, body) = get(&url).await;
        if status == 200 {
            assert_eq!(body["plan"]["plan"], "Dari proses lain");
            break;
        }
        assert!(
            published.elapsed() < Duration::from_secs(10),
            "the server did not learn of the new plan"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A refused import from the command line exits non-zero and says why.
    let corrupt = scratch_dir().join("rusak.geojson");
    std::fs::write(
        &corrupt,
        "{\"type\": \"FeatureCollection\", \"features\": [",
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args(["import", corrupt.to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be read as vector data"));
}

#[tokio::test]
async fn the_place_search_finds_kelurahan_by_name_and_reads_typed_coordinates() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let search = |q: &str| {
        let url = format!("{base}/api/v1/places");
        let q = q.to_string();
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .query(&[("q", q)])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            (status, kind, response.json::<Value>().await.unwrap())
        }
    };
    let (status, _, found) = search("klandasan").await;
    assert_eq!(status, 200);
    let places = found["places"].as_array().unwrap();
    let ilir = places
        .iter()
        .find(|p| p["name"] == "Klandasan Ilir")
        .unwrap();
    assert_eq!(ilir["level"], "kelurahan");
    assert_eq!(ilir["kecamatan"], "Balikpapan Kota");
    let bbox: Vec<f64> = serde_json::from_value(ilir["bbox"].clone()).unwrap();
    let (lon, lat) = (ilir["lon"].as_f64().unwrap(), ilir["lat"].as_f64().unwrap());
    assert!(bbox[0] <= lon && lon <= bbox[2] && bbox[1] <= lat && lat <= bbox[3]);
    // The whole name first: the kecamatan before kelurahan that merely contain its words.
    let (_, _, kota) = search("Balikpapan Kota").await;
    assert_eq!(kota["places"][0]["name"], "Balikpapan Kota");
    assert_eq!(kota["places"][0]["level"], "kecamatan");

    // Typed coordinates, in three forms, land on the same point.
    let (_, _, decimal) = search("-1.265389, 116.831194").await;
    assert_eq!(decimal["places"], json!([]));
    let point = &decimal["coordinates"];
    assert_eq!(
        (point["lon"].as_f64(), point["lat"].as_f64()),
        (Some(116.831194), Some(-1.265389))
    );
    assert_eq!(point["in_city"], true);
    let (_, _, dms) = search("1°15'55.4\" LS 116°49'52.3\" BT").await;
    assert!(
        (dms["coordinates"]["lat"].as_f64().unwrap() + 1.265389).abs() < 1e-6,
        "{dms}"
    );
    assert!((dms["coordinates"]["lon"].as_f64().unwrap() - 116.831194).abs() < 1e-6);
    let (easting, northing): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(116.831194, -1.265389), 4326), 32750) AS g",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    for text in [
        format!("50S {easting:.2} {northing:.2}"),
        format!("{easting:.2} {northing:.2}"),
    ] {
        let (status, _, utm) = search(&text).await;
        assert_eq!(status, 200, "{utm}");
        let c = &utm["coordinates"];
        assert!(
            (c["lon"].as_f64().unwrap() - 116.831194).abs() < 1e-6,
            "{utm}"
        );
        assert!(
            (c["lat"].as_f64().unwrap() + 1.265389).abs() < 1e-6,
            "{utm}"
        );
        assert!(
            c["read_as"]
                .as_str()
                .unwrap()
                .starts_with("UTM zone 50S (EPSG:32750)")
        );
    }
    // Far away is read, and said to be outside the city.
    let (_, _, far) = search("-6.2, 106.8").await;
    assert_eq!(far["coordinates"]["in_city"], false);

    // Text that looks like coordinates but is not: a clear 422; nothing asked: 400.
    let (status, kind, bad) = search("1°75'0\"S 116°0'0\"E").await;
    assert_eq!((status, kind.as_str()), (422, "application/problem+json"));
    assert!(
        bad["detail"]
            .as_str()
            .unwrap()
            .contains("not degrees, minutes and seconds")
    );
    let (status, _, _) = search(" ").await;
    assert_eq!(status, 400);
    let (status, _, _) = search(&"x".repeat(500)).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn an_activitys_classes_by_sub_zone_are_those_of_the_rule_set_in_force() {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    ingest::import(
        &db.pool,
        &ImportOptions {
            plan: Some("Kelas".into()),
            ..ImportOptions::new(&file)
        },
    )
    .await
    .unwrap();
    let base = serve(&db).await;
    let body: Value = reqwest::get(format!("{base}/api/v1/activities/classes?kbli=56101"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["title"], "Restoran");
    // Each class is the one the point lookup gives in that sub-zone.
    for ((col, row), code) in super::fixtures::STANDARD_CODES {
        let (lon, lat) = cell_centre(col, row);
        let point: Value = reqwest::get(format!(
            "{base}/api/v1/zoning?lon={lon}&lat={lat}&activity=56101"
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(body["classes"][code], point["activity"]["class"], "{code}");
    }
    for bad in ["", "99999", "123456"] {
        let response = reqwest::get(format!("{base}/api/v1/activities/classes?kbli={bad}"))
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn a_parcel_uploaded_as_kml_or_a_zipped_shapefile_reads_as_the_same_polygon() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let dir = scratch_dir();
    let (lon, lat) = cell_centre(0, 0);
    let d = 0.0003;
    let ring = json!([[
        [lon - d, lat - d],
        [lon + d, lat - d],
        [lon + d, lat + d],
        [lon - d, lat + d],
        [lon - d, lat - d]
    ]]);
    let geojson = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nama": "Persil 1"}, "geometry": {"type": "Polygon", "coordinates": ring}}
    ]});
    let source = dir.join("parcel.geojson");
    std::fs::write(&source, geojson.to_string()).unwrap();
    let kml = dir.join("parcel.kml");
    super::harness::ogr2ogr(&["-f", "KML", kml.to_str().unwrap(), source.to_str().unwrap()]);
    let zipped = dir.join("parcel.shp.zip");
    super::harness::ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:32750",
        zipped.to_str().unwrap(),
        source.to_str().unwrap(),
    ]);
    let client = reqwest::Client::new();
    let convert = |name: &str, bytes: Vec<u8>| {
        let request = client
            .post(format!("{base}/api/v1/parcels/convert"))
            .query(&[("name", name)])
            .body(bytes);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let expected: f64 = sqlx::query_scalar("SELECT ST_Area(ST_GeomFromGeoJSON($1)::geography)")
        .bind(json!({"type": "Polygon", "coordinates": ring}).to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    for (name, path) in [
        ("parcel.geojson", &source),
        ("parcel.kml", &kml),
        ("parcel.shp.zip", &zipped),
    ] {
        let (status, feature) = convert(name, std::fs::read(path).unwrap()).await;
        assert_eq!(status, 200, "{name}: {feature}");
        let area = feature["properties"]["area_m2"].as_f64().unwrap();
        // The Shapefile went through UTM 50S and back.
        assert!(
            (area / expected - 1.0).abs() < 1e-4,
            "{name}: {area} m² vs {expected} m²"
        );
        // The converted geometry is what the parcel lookup takes.
        let parcel = client
            .post(format!("{base}/api/v1/zoning/parcel"))
            .body(feature["geometry"].to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(parcel.status(), 200, "{name}");
    }
    // Not a parcel file, not a polygon, nothing sent: clear errors.
    let (status, body) = convert("parcel.txt", b"hello".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    let point = json!({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [lon, lat]}});
    let (status, body) = convert("point.geojson", point.to_string().into_bytes()).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = convert("parcel.kml", Vec::new()).await;
    assert_eq!(status, 400);
    let (status, body) = convert("parcel.kml", b"<kml>broken".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    // A file that names other files (an OGR VRT reading a CSV on the server, or a URL) is not
    // read, whatever name it comes under, and the refusal names no path of the server.
    let secret = dir.join("secret.csv");
    std::fs::write(
        &secret,
        format!(
            "WKT,name\n\"POLYGON(({lon} {lat},{} {lat},{} {},{lon} {lat}))\",secret\n",
            lon + 0.001,
            lon + 0.001,
            lat + 0.001
        ),
    )
    .unwrap();
    for source in [
        secret.display().to_string(),
        "/vsicurl/http://127.0.0.1:9/x.csv".into(),
    ] {
        let vrt = format!(
            "<OGRVRTDataSource><OGRVRTLayer name=\"s\"><SrcDataSource>{source}</SrcDataSource>\
             <GeometryType>wkbPolygon</GeometryType><LayerSRS>EPSG:4326</LayerSRS>\
             <GeometryField encoding=\"WKT\" field=\"WKT\"/></OGRVRTLayer></OGRVRTDataSource>"
        );
        for name in ["x.geojson", "x.kml", "x.gpkg"] {
            let (status, body) = convert(name, vrt.clone().into_bytes()).await;
            assert_eq!(status, 422, "{name}: {body}");
            let detail = body["detail"].as_str().unwrap();
            assert!(
                !detail.contains("/tmp")
                    && !detail.contains("satupeta-parcel")
                    && !detail.contains("GDAL"),
                "{detail}"
            );
        }
    }
    // An uploaded parcel meets the same limits as a drawn one: vertices counted after reading.
    let many: Vec<[f64; 2]> = (0..=6000)
        .map(|i| {
            let a = f64::from(i % 6000) / 6000.0 * std::f64::consts::TAU;
            [lon + 0.001 * a.cos(), lat + 0.001 * a.sin()]
        })
        .collect();
    let big = json!({"type": "Polygon", "coordinates": [many]});
    let (status, body) = convert("big.geojson", big.to_string().into_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("6001 vertices"),
        "{body}"
    );
}
