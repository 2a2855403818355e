//! The server as a careful attacker and real clients meet it: every limit a clear 4xx while the
//! server keeps answering everyone else, slow and silent connections closed, the database going
//! away and coming back, error bodies under compression, links that forged headers cannot
//! change, caching headers, CORS from configuration, and answers that follow a publication made
//! by another process.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use satupeta::ingest::{self, ImportOptions};
use satupeta::limits::LIMITS;
use satupeta::tiles::TileCoord;
use satupeta::web::{Cors, Options, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::api::{import_elsewhere, serve, serve_with};
use super::fixtures::{self, cell_centre, standard_plan_as};
use super::harness::{TestDb, demo_plan, fresh_db, scratch_dir};
use super::tiles::{strings, tile_url};

/// An answer as the client received it: status, headers (lower-case names, repeated ones joined)
/// and the body decoded from its `Content-Encoding`.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let mut headers: HashMap<String, String> = HashMap::new();
    for (k, v) in response.headers() {
        headers
            .entry(k.as_str().to_string())
            .and_modify(|e| e.push_str(&format!(", {}", v.to_str().unwrap_or(""))))
            .or_insert_with(|| v.to_str().unwrap_or("").to_string());
    }
    let raw = response.bytes().await.unwrap().to_vec();
    let body = match headers.get("content-encoding").map(String::as_str) {
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .expect("a valid gzip body");
            out
        }
        Some("br") => {
            let mut out = Vec::new();
            brotli::BrotliDecompress(&mut raw.as_slice(), &mut out).expect("a valid brotli body");
            out
        }
        _ => raw,
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = client().get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    send(request).await
}

const BROWSER: (&str, &str) = ("accept-encoding", "gzip, deflate, br, zstd");

async fn import(db: &TestDb, file: &std::path::Path, plan: &str) -> i32 {
    ingest::import(
        &db.pool,
        &ImportOptions {
            plan: Some(plan.into()),
            ..ImportOptions::new(file)
        },
    )
    .await
    .unwrap()
    .version
    .unwrap()
}

fn assert_problem(answer: &Answer, status: u16, words: &str) {
    assert_eq!(
        answer.status,
        status,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), "application/problem+json");
    let detail = answer.json()["detail"].as_str().unwrap_or("").to_string();
    assert!(detail.contains(words), "{detail:?} should say {words:?}");
}

/// A ring of `n` vertices around (lon, lat), `radius` degrees wide.
fn circle(lon: f64, lat: f64, radius: f64, n: usize) -> Value {
    let mut ring: Vec<Value> = (0..n - 1)
        .map(|i| {
            let a = i as f64 / (n - 1) as f64 * std::f64::consts::TAU;
            json!([lon + radius * a.cos(), lat + radius * a.sin()])
        })
        .collect();
    ring.push(ring[0].clone());
    json!({"type": "Polygon", "coordinates": [ring]})
}

#[tokio::test]
async fn every_limit_is_a_clear_4xx_and_the_server_keeps_answering() {
    let db = fresh_db().await;
    import(&db, demo_plan(), "Demo").await;
    let base = serve(&db).await;
    let parcel_url = format!("{base}/api/v1/zoning/parcel");
    let post = |body: String| send(client().post(&parcel_url).body(body));

    // Parcels: too many vertices (413), too large an area (422), too large a body (413).
    let many = circle(116.85, -1.2, 0.005, LIMITS.parcel_vertices + 1);
    assert_problem(
        &post(many.to_string()).await,
        413,
        &format!(
            "{} vertices; at most {}",
            LIMITS.parcel_vertices + 1,
            LIMITS.parcel_vertices
        ),
    );
    let huge = circle(116.87, -1.15, 0.2, 64);
    assert_problem(
        &post(huge.to_string()).await,
        422,
        &format!("at most {} ha", LIMITS.parcel_area_ha),
    );
    let padded =
        json!({"geometry": circle(116.85, -1.2, 0.001, 16), "note": "x".repeat(LIMITS.body_bytes)});
    assert_problem(
        &post(padded.to_string()).await,
        413,
        &format!("larger than the {} limit", LIMITS.body_size_text()),
    );
    assert_problem(
        &post("{\"type\": \"Polygon\"".into()).await,
        400,
        "not JSON",
    );
    // Rings in either order are the same parcel (RFC 7946); a ring across the antimeridian is not
    // a parcel of this city.
    let clockwise = json!({"type": "Polygon", "coordinates": [[[116.86, -1.24], [116.86, -1.239], [116.861, -1.239], [116.861, -1.24], [116.86, -1.24]]]});
    let answer = post(clockwise.to_string()).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let hectares = answer.json()["area_m2"].as_f64().unwrap() / 10_000.0;
    assert!((hectares - 1.23).abs() < 0.02, "{hectares} ha");
    let band = json!({"type": "Polygon", "coordinates": [[[-179.9999, -1.30], [-179.9999, -1.05], [179.9999, -1.05], [179.9999, -1.30], [-179.9999, -1.30]]]});
    assert_problem(&post(band.to_string()).await, 422, "spans");

    // Searches: too long and too many words (422); a URL too long (414); headers too large (431).
    let search = |q: String| get_owned(format!("{base}/api/v1/activities?q={q}"));
    assert_problem(
        &search("a".repeat(LIMITS.search_chars + 1)).await,
        422,
        &format!("at most {}", LIMITS.search_chars),
    );
    let words = vec!["toko"; LIMITS.search_words + 1].join("%20");
    assert_problem(&search(words).await, 422, "words");
    let long = format!(
        "{base}/api/v1/zoning?lon=116.8&lat=-1.2&pad={}",
        "x".repeat(LIMITS.uri_bytes)
    );
    assert_problem(&get(&long, &[BROWSER]).await, 414, "request target");
    let cookie = "c".repeat(LIMITS.header_bytes + 100);
    assert_problem(
        &get(&format!("{base}/healthz"), &[("cookie", &cookie)]).await,
        431,
        "header fields",
    );
    // Errors made before routing carry CORS headers on the public API too.
    let origin = ("origin", "https://peta.example.go.id");
    let answer = get(
        &format!("{base}/api/v1/subzones"),
        &[origin, ("cookie", &cookie)],
    )
    .await;
    assert_eq!(
        (answer.status, answer.header("access-control-allow-origin")),
        (431, "*")
    );
    let long_tile = format!(
        "{base}/tiles/zoning/1/0/0.mvt?v={}",
        "x".repeat(LIMITS.uri_bytes)
    );
    let answer = get(&long_tile, &[origin]).await;
    assert_eq!(
        (answer.status, answer.header("access-control-allow-origin")),
        (414, "*")
    );
    let big = send(
        client()
            .post(&parcel_url)
            .header("origin", origin.1)
            .body(vec![b' '; LIMITS.body_bytes + 1]),
    )
    .await;
    assert_eq!(
        (big.status, big.header("access-control-allow-origin")),
        (413, "*")
    );
    assert_problem(
        &send(client().post(format!("{base}/healthz"))).await,
        405,
        "does not take POST",
    );

    // Heavy requests at the limits, all at once: parcels at the vertex limit across the city,
    // long searches, cold low-zoom tiles. /healthz and /readyz answer while they run, and each
    // heavy request ends with an answer (200, or 503 with Retry-After), not a hung connection.
    let done = Arc::new(AtomicUsize::new(0));
    let mut heavy = Vec::new();
    for i in 0..16 {
        let body = circle(
            116.80 + 0.01 * f64::from(i % 4),
            -1.22 + 0.01 * f64::from(i / 4),
            0.02,
            LIMITS.parcel_vertices,
        )
        .to_string();
        let (url, done) = (parcel_url.clone(), done.clone());
        heavy.push(tokio::spawn(async move {
            let answer = send(client().post(&url).body(body)).await;
            done.fetch_add(1, Ordering::SeqCst);
            answer
        }));
    }
    for _ in 0..6 {
        let q = ["perdagangan"; LIMITS.search_words].join("%20");
        let (url, done) = (format!("{base}/api/v1/activities?q={q}"), done.clone());
        heavy.push(tokio::spawn(async move {
            let answer = get_owned(url).await;
            done.fetch_add(1, Ordering::SeqCst);
            answer
        }));
    }
    for z in [10u8, 11, 12] {
        let coord = TileCoord::containing(116.85, -1.2, z).unwrap();
        let (url, done) = (
            format!(
                "{base}/tiles/zoning/{}/{}/{}.mvt",
                coord.z, coord.x, coord.y
            ),
            done.clone(),
        );
        heavy.push(tokio::spawn(async move {
            let answer = get_owned(url).await;
            done.fetch_add(1, Ordering::SeqCst);
            answer
        }));
    }
    let total = heavy.len();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let asked = Instant::now();
    let health = get(&format!("{base}/healthz"), &[]).await;
    let health_took = asked.elapsed();
    let finished_by_health = done.load(Ordering::SeqCst);
    let ready = get(&format!("{base}/readyz"), &[]).await;
    assert_eq!(health.status, 200);
    assert_eq!(
        (ready.status, ready.json()["database"].clone()),
        (200, json!(true))
    );
    assert!(
        finished_by_health < total,
        "/healthz answered only after every heavy request had finished ({health_took:?})"
    );
    for task in heavy {
        let answer = task.await.unwrap();
        match answer.status {
            200 => {}
            503 => assert!(!answer.header("retry-after").is_empty()),
            other => panic!(
                "a heavy request got {other}: {}",
                String::from_utf8_lossy(&answer.body)
            ),
        }
    }
    // The limits are published, with the numbers the messages use.
    let limits = get(&format!("{base}/api/v1/limits"), &[]).await.json();
    assert_eq!(limits["parcel_vertices"], LIMITS.parcel_vertices);
    assert_eq!(limits["statement_s"], LIMITS.statement_s);
}

async fn get_owned(url: String) -> Answer {
    get(&url, &[BROWSER]).await
}

#[tokio::test]
async fn the_server_pool_ends_every_statement_within_its_limit() {
    let db = fresh_db().await;
    let pool = satupeta::db::connect_server(&db.url).await.unwrap();
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, format!("{}s", LIMITS.statement_s));
    let error = sqlx::query("SELECT pg_sleep($1)")
        .bind(LIMITS.statement_s as f64 + 5.0)
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        error.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("57014"),
        "the statement was cancelled: {error}"
    );
}

#[tokio::test]
async fn slow_and_silent_connections_are_closed() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let address = base.trim_start_matches("http://").to_string();
    let limit = Duration::from_secs(LIMITS.header_read_s);
    // A client that sends one header line every second never finishes its request.
    let slow = {
        let address = address.clone();
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
            for i in 0..(3 * LIMITS.header_read_s) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if stream
                    .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return i;
                }
                let mut byte = [0u8; 1];
                let closed = matches!(
                    tokio::time::timeout(Duration::from_millis(10), stream.read(&mut byte)).await,
                    Ok(Ok(0) | Err(_))
                );
                if closed {
                    return i;
                }
            }
            u64::MAX
        })
    };
    // A client that connects and sends nothing.
    let silent = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(limit * 3, stream.read(&mut buffer)).await;
        (read.map(|r| r.unwrap_or(0)), started.elapsed())
    });
    let lines = slow.await.unwrap();
    assert!(
        lines < 3 * LIMITS.header_read_s,
        "a connection trickling header lines was kept open"
    );
    let (read, _) = silent.await.unwrap();
    assert!(
        matches!(read, Ok(0)),
        "a silent connection was kept open: {read:?}"
    );
    // Everyone else is still served.
    assert_eq!(get(&format!("{base}/healthz"), &[]).await.status, 200);
}

#[tokio::test]
async fn slow_body_senders_hold_the_body_slots_no_longer_than_the_limit() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let address = base.trim_start_matches("http://").to_string();
    // More slow senders than there are body slots, each promising a large parcel and sending a
    // byte every half second.
    let mut slow = Vec::new();
    for _ in 0..(LIMITS.body_concurrency + 4) {
        let address = address.clone();
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            let head = "POST /api/v1/zoning/parcel HTTP/1.1\r\nHost: x\r\n\
                        Content-Type: application/json\r\nContent-Length: 400000\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            for _ in 0..60 {
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
                let mut buffer = [0u8; 512];
                match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer))
                    .await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => {
                        answer.extend_from_slice(&buffer[..n]);
                        break;
                    }
                    Err(_) => {}
                }
            }
            (
                String::from_utf8_lossy(&answer).to_string(),
                started.elapsed(),
            )
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A parcel sent meanwhile is answered (not 503): the slow ones lose their slots in time.
    let parcel = json!({"type": "Polygon", "coordinates": [[[116.85, -1.2], [116.851, -1.2], [116.851, -1.201], [116.85, -1.2]]]});
    let started = Instant::now();
    let answer = send(
        client()
            .post(format!("{base}/api/v1/zoning/parcel"))
            .json(&parcel),
    )
    .await;
    assert_ne!(
        answer.status,
        503,
        "a parcel waited behind slow senders ({:?})",
        started.elapsed()
    );
    for task in slow {
        let (answer, took) = task.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 503"),
            "a slow sender was answered {answer:?} after {took:?}"
        );
        assert!(
            took < Duration::from_secs(LIMITS.queue_wait_s + 5),
            "{took:?}"
        );
    }
}

/// A TCP proxy in front of the test cluster that can be cut, as a network or a database outage.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, list) = (up.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                list.lock().unwrap().push(task);
            }
        });
        Proxy {
            port,
            up,
            connections,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn while_the_database_is_unreachable_database_bound_requests_fail_fast_with_retry_after() {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    import(&db, &file, "Pusat").await;
    // The server reaches the database through the proxy.
    let (head, tail) = db.url.split_once('@').unwrap();
    let (host_port, database) = tail.split_once('/').unwrap();
    let proxy = Proxy::start(host_port.to_string()).await;
    let url = format!("{head}@127.0.0.1:{}/{database}", proxy.port);
    let options = Options {
        poll: Duration::from_secs(60),
        ..Options::default()
    };
    let base = Server::start(&url, &options)
        .await
        .unwrap()
        .spawn()
        .await
        .unwrap();
    assert_eq!(get(&format!("{base}/api/v1/plans"), &[]).await.status, 200);

    proxy.cut();
    let started = Instant::now();
    let plans = get(&format!("{base}/api/v1/plans"), &[BROWSER]).await;
    assert!(
        started.elapsed() < LIMITS.request_timeout(),
        "the request waited {:?}",
        started.elapsed()
    );
    assert_problem(&plans, 503, "database");
    assert_eq!(
        plans.header("retry-after"),
        LIMITS.retry_after_s.to_string()
    );
    let ready = get(&format!("{base}/readyz"), &[]).await;
    assert_eq!(
        (ready.status, ready.json()["database"].clone()),
        (503, json!(false))
    );
    // What is answered from memory still is.
    let (lon, lat) = cell_centre(0, 0);
    let point = get(
        &format!("{base}/api/v1/zoning?lon={lon}&lat={lat}"),
        &[BROWSER],
    )
    .await;
    assert_eq!(point.status, 200);
    assert_eq!(point.json()["subzone"]["code"], "R-3");
    assert_eq!(get(&format!("{base}/healthz"), &[]).await.status, 200);

    proxy.restore();
    let started = Instant::now();
    while get(&format!("{base}/api/v1/plans"), &[]).await.status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn errors_stay_readable_and_keep_their_headers_under_compression() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let origin = ("origin", "https://peta.example.go.id");
    for (path, status, words) in [
        ("/api/v1/plans/versions/%FF", 400, "Invalid UTF-8"),
        (
            "/api/v1/plans/versions/999999",
            404,
            "no plan version 999999",
        ),
        (
            "/api/v1/nothing/here",
            404,
            "there is nothing at /api/v1/nothing/here",
        ),
        ("/api/v1/zoning?lon=abc&lat=1", 400, "not a number"),
        ("/tiles/zoning/3/99/0.mvt", 404, "outside"),
        ("/tiles/zoning/3/abc/0.mvt", 400, "abc"),
    ] {
        let answer = get(&format!("{base}{path}"), &[BROWSER, origin]).await;
        assert_problem(&answer, status, words);
        assert_eq!(answer.header("access-control-allow-origin"), "*", "{path}");
        assert_eq!(answer.header("cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn links_are_built_from_the_public_url_or_a_plain_host_only() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let address = base.trim_start_matches("http://");
    let tile_url = |answer: Answer| answer.json()["tiles"][0].as_str().unwrap().to_string();
    let tilejson = format!("{base}/tiles/zoning.json");
    let plain = get(
        &tilejson,
        &[
            ("host", "peta.balikpapan.go.id"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert_eq!(plain.header("cache-control"), "no-cache");
    assert!(tile_url(plain).starts_with("https://peta.balikpapan.go.id/tiles/zoning/"));
    for forged in ["javascript:alert(1)//", "evil.example/x?y=", "a b"] {
        let answer = get(
            &tilejson,
            &[("host", forged), ("x-forwarded-proto", "javascript")],
        )
        .await;
        let url = tile_url(answer);
        assert!(
            url.starts_with(&format!("http://{address}/tiles/")),
            "{forged}: {url}"
        );
    }
    let configured = serve_with(
        &db,
        Options {
            public_url: Some("https://satupeta.example.go.id/peta/".into()),
            ..Options::default()
        },
    )
    .await;
    let answer = get(
        &format!("{configured}/ogc/collections/zoning/tiles/WebMercatorQuad"),
        &[("host", "other.example")],
    )
    .await;
    let links = answer.json()["links"].to_string();
    assert!(
        links.contains("https://satupeta.example.go.id/peta/ogc/collections/zoning"),
        "{links}"
    );
    assert!(!links.contains("other.example"));
}

#[tokio::test]
async fn answers_carry_cache_validators_and_the_pages_their_security_headers() {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    import(&db, &file, "Pusat").await;
    let base = serve(&db).await;
    let (lon, lat) = cell_centre(0, 0);
    let url = format!("{base}/api/v1/zoning?lon={lon}&lat={lat}&activity=56101");
    // The gzip answer composed from its parts is the identity answer, byte for byte.
    let browser = get(&url, &[BROWSER]).await;
    let plain = get(&url, &[]).await;
    assert_eq!(browser.header("content-encoding"), "gzip");
    assert_eq!(plain.header("content-encoding"), "");
    assert_eq!(browser.body, plain.body);
    assert_eq!(browser.json()["activity"]["kbli"], "56101");
    // A client that weighs brotli above gzip gets brotli, compressed per answer.
    let brotli = get(&url, &[("accept-encoding", "gzip;q=0.5, br")]).await;
    assert_eq!(brotli.header("content-encoding"), "br");
    assert_eq!(brotli.body, plain.body);
    // Answers compressed whole per request (the benchmark's other way) are the same answers.
    let dynamic = serve_with(
        &db,
        Options {
            answers: satupeta::web::AnswerCompression::Dynamic,
            ..Options::default()
        },
    )
    .await;
    let dynamic_url = url.replace(&base, &dynamic);
    let per_answer = get(&dynamic_url, &[BROWSER]).await;
    assert_eq!(per_answer.header("content-encoding"), "br");
    assert_eq!(per_answer.body, plain.body);
    assert_eq!(browser.header("cache-control"), "no-cache");
    assert!(browser.header("vary").contains("accept-encoding"));
    // Weak entity tags are compared weakly.
    let etag = browser.header("etag").to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    let again = get(&url, &[("if-none-match", etag.trim_start_matches("W/"))]).await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    // JSON answers say how to cache them.
    for path in [
        "/api/v1/plans",
        "/api/v1/subzones",
        "/api/v1/limits",
        "/readyz",
        "/tiles/zoning.json",
    ] {
        let answer = get(&format!("{base}{path}"), &[BROWSER]).await;
        assert!(!answer.header("cache-control").is_empty(), "{path}");
        assert_eq!(answer.header("x-content-type-options"), "nosniff", "{path}");
    }
    // A tile: br refused with q=0 is not sent; weak tags match the strong one.
    let coord = TileCoord::containing(lon, lat, 15).unwrap();
    let tile_url = format!(
        "{base}/tiles/zoning/{}/{}/{}.mvt",
        coord.z, coord.x, coord.y
    );
    let gzip_only = ("accept-encoding", "br;q=0, gzip");
    let tile = get(&tile_url, &[gzip_only]).await;
    assert_eq!(tile.header("content-encoding"), "gzip");
    let weak = format!("W/{}", tile.header("etag"));
    assert_eq!(
        get(&tile_url, &[gzip_only, ("if-none-match", &weak)])
            .await
            .status,
        304
    );
    // Static files are revalidated by their strong ETag.
    let script = get(&format!("{base}/static/js/main.js"), &[]).await;
    assert_eq!(script.header("cache-control"), "no-cache");
    let tag = script.header("etag").to_string();
    assert_eq!(
        get(
            &format!("{base}/static/js/main.js"),
            &[("if-none-match", &tag)]
        )
        .await
        .status,
        304
    );
    // The map page.
    let page = get(&format!("{base}/"), &[]).await;
    let policy = page.header("content-security-policy");
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'self'"),
        "{policy}"
    );
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(
        page.header("referrer-policy"),
        "strict-origin-when-cross-origin"
    );
}

#[tokio::test]
async fn cors_follows_the_configuration() {
    let db = fresh_db().await;
    let any = serve(&db).await;
    let listed = serve_with(
        &db,
        Options {
            cors: Cors::parse("https://peta.balikpapan.go.id").unwrap(),
            ..Options::default()
        },
    )
    .await;
    let ask = |base: &str, origin: &'static str| {
        let url = format!("{base}/api/v1/subzones");
        async move { get(&url, &[("origin", origin)]).await }
    };
    assert_eq!(
        ask(&any, "https://anyone.example")
            .await
            .header("access-control-allow-origin"),
        "*"
    );
    assert_eq!(
        ask(&listed, "https://peta.balikpapan.go.id")
            .await
            .header("access-control-allow-origin"),
        "https://peta.balikpapan.go.id"
    );
    assert_eq!(
        ask(&listed, "https://evil.example")
            .await
            .header("access-control-allow-origin"),
        ""
    );
    assert!(Cors::parse("javascript:alert(1)").is_err());
}

#[tokio::test]
async fn a_publication_by_another_process_reaches_every_kind_of_answer() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let file = standard_plan_as(&dir, "GPKG", "plan.gpkg", 4326);
    import(&db, &file, "Ubin").await;
    let base = serve(&db).await;
    let (lon, lat) = cell_centre(0, 0);
    let point_url = format!("{base}/api/v1/zoning?lon={lon}&lat={lat}");
    assert_eq!(
        get(&point_url, &[BROWSER]).await.json()["subzone"]["code"],
        "R-3"
    );

    // Version 2 changes cell (0,0) to KT; another process publishes it.
    let mut features = fixtures::standard_features();
    features[0].1["KODSZN"] = json!("KT");
    features[0].1["NAMOBJ"] = json!("Perkantoran");
    let changed = dir.join("changed.gpkg");
    fixtures::write_gpkg(&changed, 4326, &features);
    import_elsewhere(&db, &changed, "Ubin").await;
    let published = Instant::now();
    let d = 0.0002;
    let parcel = json!({"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]]});
    loop {
        let point = get(&point_url, &[BROWSER]).await.json();
        let parcel = send(
            client()
                .post(format!("{base}/api/v1/zoning/parcel"))
                .json(&parcel),
        )
        .await
        .json();
        let plans = get(&format!("{base}/api/v1/plans"), &[]).await.json();
        let tilejson = get(&format!("{base}/tiles/zoning.json"), &[]).await.json();
        let template = tilejson["tiles"][0].as_str().unwrap().to_string();
        let coord = TileCoord::containing(lon, lat, 16).unwrap();
        let tile = get(&tile_url(&template, coord), &[BROWSER]).await;
        let codes = tile_codes(&tile.body);
        let fresh = point["subzone"]["code"] == "KT"
            && point["plan"]["version"] == 2
            && parcel["parts"][0]["subzone"]["code"] == "KT"
            && plans["versions"][0]["published"] == true
            && plans["versions"][0]["version"] == 2
            && codes.contains(&"KT".to_string());
        if fresh {
            // One tile never mixes versions: the old code of that cell is gone from it.
            assert!(!codes.contains(&"R-3".to_string()), "{codes:?}");
            break;
        }
        assert!(
            published.elapsed() < Duration::from_secs(10),
            "not every answer came from version 2: point {} parcel {} tile {codes:?}",
            point["subzone"]["code"],
            parcel["parts"][0]["subzone"]["code"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `code` values of a tile's features (none when the body is not a tile).
fn tile_codes(body: &[u8]) -> Vec<String> {
    use geozero::mvt::{Message, Tile};
    Tile::decode(body)
        .map(|tile| {
            tile.layers
                .iter()
                .flat_map(|l| strings(l, "code"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn one_client_cannot_take_every_connection() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    let address = base.trim_start_matches("http://").to_string();
    let extra = 10;
    let mut held = Vec::new();
    for _ in 0..LIMITS.connections_per_client + extra {
        held.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    // The connections beyond the client's share are closed at once; the others stay open.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut closed_at = Vec::new();
    for (i, stream) in held.iter_mut().enumerate() {
        let mut byte = [0u8; 1];
        match stream.try_read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            _ => closed_at.push(i),
        }
    }
    let closed = closed_at.len();
    assert_eq!(closed, extra, "{closed} connections closed: {closed_at:?}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(&format!("{base}/healthz"), &[]).await.status, 200);
}
