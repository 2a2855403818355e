//! The server run like a city service: through a database restart under mixed load (and under
//! certificate issuing and dataset publishing, whole or absent), scaled out on
//! a streaming replica with two server processes, shut down gracefully, observed (`/metrics`,
//! request ids, JSON logs) and configured from a file. Each test that stops a database runs a
//! cluster of its own, not the shared one.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use satupeta::db::{self, ClusterOptions, EmbeddedCluster};
use satupeta::ingest::{self, ImportOptions};
use satupeta::limits::LIMITS;
use satupeta::web::{Options, ReportRate, Server};
use serde_json::Value;

use super::cli::{satupeta, text};
use super::fixtures::{cell_centre, standard_plan_as};
use super::harness::{root, scratch_dir};

/// A cluster of the test's own with the schema, the shipped rules and the standard plan
/// published; the cluster and the URL of its database.
async fn own_cluster(name: &str) -> (EmbeddedCluster, String) {
    let dir = scratch_dir().join(name);
    let options = ClusterOptions { durable: false };
    let cluster = tokio::task::spawn_blocking(move || {
        EmbeddedCluster::start_with(&dir.join("postgres"), options)
    })
    .await
    .unwrap()
    .expect("start a cluster");
    db::create_database_if_missing(&cluster.url("postgres"), "satupeta")
        .await
        .unwrap();
    let url = cluster.url("satupeta");
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let reference = satupeta::rules::Reference::shipped().unwrap();
    let rules = satupeta::rules::load_dir(&root().join("data/rules"), &reference).unwrap();
    ingest::publish_rules(&pool, None, &rules, None)
        .await
        .unwrap();
    publish_version(&pool).await;
    let staff = satupeta::accounts::NewAccount {
        name: "petugas",
        role: satupeta::accounts::Role::Staff,
        agency: None,
        password: "kata sandi yang panjang",
    };
    let operator = satupeta::accounts::Actor::command_line();
    satupeta::accounts::add_account(&pool, &staff, &operator)
        .await
        .unwrap();
    pool.close().await;
    (cluster, url)
}

/// A server in this process over the database at `url`; its base URL.
async fn serve_on(url: &str, options: &Options) -> String {
    Server::start(url, options)
        .await
        .unwrap()
        .spawn()
        .await
        .unwrap()
}

/// Publishes the standard plan again (the next version of plan "Kota").
async fn publish_version(pool: &sqlx::PgPool) -> i32 {
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    ingest::import(
        pool,
        &ImportOptions {
            plan: Some("Kota".into()),
            ..ImportOptions::new(&file)
        },
    )
    .await
    .expect("import")
    .version
    .unwrap()
}

/// The status, `Retry-After` and body of a request.
async fn ask(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    match request.timeout(Duration::from_secs(30)).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body = response.json().await.unwrap_or(Value::Null);
            (status, retry, body)
        }
        Err(e) => panic!("no answer: {e}"),
    }
}

/// The plan version a point lookup answers with.
async fn version_at(base: &str) -> Option<i64> {
    let (lon, lat) = cell_centre(0, 0);
    let url = format!("{base}/api/v1/zoning?lon={lon}&lat={lat}");
    let (status, _, body) = ask(reqwest::Client::new().get(url)).await;
    (status == 200)
        .then(|| body["plan"]["version"].as_i64())
        .flatten()
}

/// Waits until `base` answers point lookups with `version`.
async fn wait_for_version(base: &str, version: i64, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if version_at(base).await == Some(version) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{base} did not serve version {version} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A report form from the map at the standard plan's first cell.
fn report_form(description: &str) -> reqwest::multipart::Form {
    let (lon, lat) = cell_centre(1, 1);
    reqwest::multipart::Form::new()
        .text("service_code", "kegiatan-tidak-sesuai")
        .text("lat", lat.to_string())
        .text("long", lon.to_string())
        .text("description", description.to_string())
        .text("attribute[kbli]", "45201")
}

/// A small JPEG photo part.
fn photo() -> reqwest::multipart::Part {
    let image = image::RgbImage::from_fn(160, 120, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    reqwest::multipart::Part::bytes(jpeg)
        .file_name("foto.jpg")
        .mime_str("image/jpeg")
        .unwrap()
}

/// What the mixed load saw: answers by kind and status.
#[derive(Default)]
struct Tally {
    answers: std::sync::Mutex<std::collections::BTreeMap<(String, u16), usize>>,
    unexpected: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn count(&self, kind: &str, status: u16) {
        *self
            .answers
            .lock()
            .unwrap()
            .entry((kind.to_string(), status))
            .or_default() += 1;
    }
}

/// Clients asking for every kind of answer until `stop`: lookups and tiles (from memory), features,
/// versions, reports and sign-ins (from the database). A 503 must carry `Retry-After` and come
/// within the database wait; anything else but 200/201/401 is unexpected.
fn mixed_load(
    base: &str,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let kinds = [
        "lookup", "tile", "features", "versions", "report", "sign-in",
    ];
    kinds
        .iter()
        .map(|kind| {
            let (base, stop, tally, kind) = (base.to_string(), stop.clone(), tally.clone(), *kind);
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let n = AtomicUsize::new(0);
                while !stop.load(Ordering::SeqCst) {
                    let i = n.fetch_add(1, Ordering::SeqCst);
                    let (lon, lat) = cell_centre(i % 3, i % 2);
                    let request = match kind {
                        "lookup" => client.get(format!("{base}/api/v1/zoning?lon={lon}&lat={lat}")),
                        "tile" => client.get(format!("{base}/tiles/zoning/15/27019/16498.mvt")),
                        "features" => client.get(format!(
                            "{base}/ogc/collections/admin/items?limit={}",
                            1 + i % 5
                        )),
                        "versions" => client.get(format!("{base}/api/v1/plans")),
                        "report" => {
                            let form = report_form(&format!("Bengkel mobil ke-{i} di perumahan"));
                            let form = if i.is_multiple_of(3) {
                                form.part("media", photo())
                            } else {
                                form
                            };
                            client
                                .post(format!("{base}/api/v1/reports"))
                                .multipart(form)
                        }
                        _ => client
                            .post(format!("{base}/api/v1/session"))
                            .body(r#"{"name":"petugas","password":"kata sandi yang panjang"}"#),
                    };
                    let started = Instant::now();
                    let (status, retry, body) = ask(request).await;
                    let took = started.elapsed();
                    tally.count(kind, status);
                    let limit = Duration::from_secs(LIMITS.db_acquire_s + 3);
                    let fine = match status {
                        200 | 201 | 401 => true,
                        503 => retry.is_some() && took < limit && body["detail"].is_string(),
                        _ => false,
                    };
                    if !fine {
                        tally.unexpected.lock().unwrap().push(format!(
                            "{kind}: {status} after {took:?} (Retry-After {retry:?}): {body}"
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_a_database_restart_memory_answers_the_rest_is_503_and_the_server_catches_up() {
    let (cluster, url) = own_cluster("restart").await;
    let cluster = Arc::new(cluster);
    let options = Options {
        poll: Duration::from_secs(1),
        report_rate: ReportRate {
            burst: 100_000,
            uploads: 100,
            ..ReportRate::default()
        },
        ..Options::default()
    };
    let base = serve_on(&url, &options).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let load = mixed_load(&base, stop.clone(), tally.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The database stops under the load; memory keeps answering.
    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.stop()
    })
    .await
    .unwrap()
    .expect("stop the database");
    let down = tally_snapshot(&tally);
    tokio::time::sleep(Duration::from_secs(LIMITS.db_acquire_s + 4)).await;
    let during = since(&tally_snapshot(&tally), &down);
    for kind in ["lookup", "tile"] {
        assert!(
            during.get(&(kind.into(), 200)).copied().unwrap_or(0) > 10,
            "{kind} while down: {during:?}"
        );
    }
    for kind in ["features", "versions", "report", "sign-in"] {
        assert!(
            during.get(&(kind.into(), 503)).copied().unwrap_or(0) > 0,
            "{kind} while down: {during:?}"
        );
    }
    let (status, _, ready) = ask(reqwest::Client::new().get(format!("{base}/readyz"))).await;
    assert_eq!(
        (status, ready["database"].clone()),
        (503, Value::Bool(false))
    );

    // It comes back; a version published while no server was told is served within seconds.
    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.start_again()
    })
    .await
    .unwrap()
    .expect("start the database again");
    let pool = db::connect(&url).await.unwrap();
    let version = publish_version(&pool).await;
    let took = wait_for_version(&base, i64::from(version), Duration::from_secs(15)).await;
    eprintln!("caught up with version {version} {took:?} after the restart");
    let started = Instant::now();
    loop {
        let (status, _, _) =
            ask(reqwest::Client::new().get(format!("{base}/ogc/collections/admin/items?limit=1")))
                .await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "features did not come back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let unexpected = tally.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    let all = tally_snapshot(&tally);
    assert!(
        all.get(&("report".into(), 201)).copied().unwrap_or(0) > 0,
        "{all:?}"
    );

    // Nothing half-written: every stored report has its first event, and the database's count
    // is what the server answered 201 to (a write cut by the restart answered 503 and left none).
    let (reports, with_event): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM report_event e WHERE e.report_id = r.id))
         FROM report r",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(reports, with_event);
    let photos_missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM report r
         WHERE r.photos <> (SELECT count(*) FROM report_photo p WHERE p.report_id = r.id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(photos_missing, 0, "a report is stored without its photos");
    let with_photos: i64 = sqlx::query_scalar("SELECT count(*) FROM report WHERE photos > 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(with_photos > 0);
    let created = all.get(&("report".into(), 201)).copied().unwrap_or(0) as i64;
    assert!(
        reports >= created && reports <= created + 2,
        "{reports} stored, {created} answered 201"
    );
    eprintln!("answers through the restart: {all:?}");
}

/// What a write kept asking through a restart got: the successes, and the 503s (each with
/// `Retry-After`, asked again).
#[derive(Debug, Default)]
struct Writes {
    done: usize,
    refused: usize,
    unexpected: Vec<String>,
}

/// Asks `request()` until it succeeds (`success`), counting the 503s (asked again after 200 ms);
/// anything else is unexpected and ends the asking.
async fn until_done<F, Fut>(writes: &std::sync::Mutex<Writes>, success: u16, request: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = super::node::Answer>,
{
    loop {
        let answer = request().await;
        {
            let mut writes = writes.lock().unwrap();
            match answer.status {
                status if status == success => {
                    writes.done += 1;
                    return;
                }
                503 if answer.headers.contains_key("retry-after") => writes.refused += 1,
                status => {
                    writes.unexpected.push(format!("{status}: {}", answer.body));
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn certificates_and_datasets_written_through_a_database_restart_are_whole_or_absent() {
    use super::node::Client;
    use reqwest::Method;
    use satupeta::accounts::{self, Actor, NewAccount, Role};

    let (cluster, url) = own_cluster("restart-writes").await;
    let cluster = Arc::new(cluster);
    let pool = db::connect(&url).await.unwrap();
    let operator = Actor::command_line();
    accounts::add_agency(&pool, "dinkes", "Dinas Kesehatan", &operator)
        .await
        .unwrap();
    let publisher = NewAccount {
        name: "budi",
        role: Role::Publisher,
        agency: Some("dinkes"),
        password: "kata sandi yang panjang",
    };
    accounts::add_account(&pool, &publisher, &operator)
        .await
        .unwrap();
    let token = |name: &'static str| {
        let (pool, operator) = (pool.clone(), operator.clone());
        async move {
            accounts::create_token(&pool, name, "", &operator)
                .await
                .unwrap()
                .secret
        }
    };
    let (staff, dinkes) = (token("petugas").await, token("budi").await);
    pool.close().await;
    let keys_dir = scratch_dir().join("restart-writes/keys");
    satupeta::krk::keys::init(&keys_dir, &super::krk::signer()).expect("make the signing keys");
    let options = Options {
        poll: Duration::from_secs(1),
        keys_dir: Some(keys_dir),
        ..Options::default()
    };
    let base = serve_on(&url, &options).await;
    let client = Arc::new(Client::new(&base));

    // Applications waiting for a certificate, and a dataset to publish again and again.
    let mut applications = Vec::new();
    for i in 0..30 {
        let (lon, lat) = cell_centre(i % 3, (i / 3) % 2);
        let d = 0.00002 * (1 + i / 6) as f64;
        let parcel = serde_json::json!({"type": "Polygon", "coordinates": [[
            [lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]
        ]]});
        let body = super::krk::application(parcel, "47111");
        let answer = client
            .json(Method::POST, "/api/v1/krk/applications", None, &body, &[])
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        applications.push(
            answer.body["application"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let first = client
        .upload(
            "/api/v1/datasets",
            Some(&dinkes),
            "puskesmas",
            "puskesmas.geojson",
            super::node::health_centres(5),
            false,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);

    // Staff issue the certificates one after another, and the agency publishes its dataset
    // again, while the database stops and starts.
    let certificates = Arc::new(std::sync::Mutex::new(Writes::default()));
    let datasets = Arc::new(std::sync::Mutex::new(Writes::default()));
    let issuing = tokio::spawn({
        let (client, certificates) = (client.clone(), certificates.clone());
        async move {
            for id in applications {
                let path = format!("/api/v1/krk/applications/{id}/issue");
                let empty = serde_json::json!({});
                until_done(&certificates, 201, || {
                    client.json(Method::POST, &path, Some(&staff), &empty, &[])
                })
                .await;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let publishing = tokio::spawn({
        let (client, datasets, stop) = (client.clone(), datasets.clone(), stop.clone());
        async move {
            let mut n = 6;
            while !stop.load(Ordering::SeqCst) {
                until_done(&datasets, 201, || {
                    client.upload(
                        "/api/v1/datasets/puskesmas/data",
                        Some(&dinkes),
                        "puskesmas",
                        "puskesmas.geojson",
                        super::node::health_centres(n),
                        true,
                    )
                })
                .await;
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || -> anyhow::Result<()> {
            cluster.stop()?;
            std::thread::sleep(Duration::from_secs(LIMITS.db_acquire_s + 2));
            cluster.start_again()?;
            Ok(())
        }
    })
    .await
    .unwrap()
    .expect("restart the database");
    issuing.await.unwrap();
    stop.store(true, Ordering::SeqCst);
    publishing.await.unwrap();

    let certificates = std::mem::take(&mut *certificates.lock().unwrap());
    let datasets = std::mem::take(&mut *datasets.lock().unwrap());
    eprintln!("through the restart: certificates {certificates:?}, datasets {datasets:?}");
    assert!(certificates.unexpected.is_empty(), "{certificates:?}");
    assert!(datasets.unexpected.is_empty(), "{datasets:?}");
    assert!(
        certificates.refused > 0 && datasets.refused > 0,
        "the restart was not met: {certificates:?} {datasets:?}"
    );

    // Every application issued once, numbered without a gap, each certificate with its PDF.
    let pool = db::connect(&url).await.unwrap();
    let seqs: Vec<i32> = sqlx::query_scalar("SELECT seq FROM krk_certificate ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(seqs, (1..=30).collect::<Vec<i32>>());
    assert_eq!(certificates.done, 30);
    let (issued, counter, without_pdf): (i64, i32, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM krk_application WHERE status = 'issued'),
                (SELECT last FROM krk_counter),
                (SELECT count(*) FROM krk_certificate WHERE length(pdf) = 0 OR signature IS NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((issued, counter, without_pdf), (30, 30, 0));

    // Every version answered 201 is whole (its table holds its features) and is the only kind
    // there is: no table of a version that was not recorded, and the newest is current.
    let versions: Vec<(i32, String, i64)> = sqlx::query_as(
        "SELECT version, table_name, features FROM dataset_version
         WHERE dataset_id = 'puskesmas' ORDER BY version",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(versions.len(), 1 + datasets.done, "{versions:?}");
    for (version, table, features) in &versions {
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM dataset_data.\"{table}\""))
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(rows, *features, "version {version}");
    }
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'dataset_data'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        tables as usize,
        versions.len(),
        "a table left by a cut publication"
    );
    let current: i32 =
        sqlx::query_scalar("SELECT current_version FROM dataset WHERE id = 'puskesmas'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(current, versions.last().unwrap().0);
}

fn tally_snapshot(tally: &Tally) -> std::collections::BTreeMap<(String, u16), usize> {
    tally.answers.lock().unwrap().clone()
}

fn since(
    now: &std::collections::BTreeMap<(String, u16), usize>,
    before: &std::collections::BTreeMap<(String, u16), usize>,
) -> std::collections::BTreeMap<(String, u16), usize> {
    now.iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// A server process that is killed if the test ends (or fails) without stopping it.
struct Served(Child);

impl std::ops::Deref for Served {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A `satupeta serve` process; its base URL.
fn spawn_server(args: &[&str], env: &[(&str, &str)]) -> (Served, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satupeta"));
    command
        .args(args)
        .current_dir(root())
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_READ_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("run satupeta serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = match line.trim().strip_prefix("serving on ") {
        Some(base) => base.to_string(),
        None => {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the server did not start: {line}{err}")
        }
    };
    (Served(child), base)
}

/// The zoning tiles' URL template in TileJSON (it names the content's version).
async fn tiles_version(base: &str) -> String {
    let (status, _, tilejson) =
        ask(reqwest::Client::new().get(format!("{base}/tiles/zoning.json"))).await;
    assert_eq!(status, 200, "{tilejson}");
    tilejson["tiles"][0].as_str().unwrap().to_string()
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_read_a_streaming_replica_and_serve_a_publication_within_seconds() {
    let (primary, url) = own_cluster("primary").await;
    let replica_dir = scratch_dir().join("replica/postgres");
    primary.make_replica(&replica_dir).expect("pg_basebackup");
    let options = ClusterOptions { durable: false };
    let replica =
        tokio::task::spawn_blocking(move || EmbeddedCluster::start_with(&replica_dir, options))
            .await
            .unwrap()
            .expect("start the replica");
    let replica = Arc::new(replica);
    let replica_url = replica.url("satupeta");
    let replica_pool = db::connect(&replica_url).await.unwrap();
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&replica_pool)
        .await
        .unwrap();
    assert!(in_recovery, "the replica is a standby");

    let env = [
        ("DATABASE_URL", url.as_str()),
        ("DATABASE_READ_URL", replica_url.as_str()),
    ];
    let (mut one, base_one) = spawn_server(&["serve", "--bind", "127.0.0.1:0"], &env);
    let (mut two, base_two) = spawn_server(&["serve", "--bind", "127.0.0.1:0"], &env);
    for base in [&base_one, &base_two] {
        assert_eq!(version_at(base).await, Some(1));
    }
    // Both read from the replica: their connections are there.
    let readers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE application_name IN ($1, $2)",
    )
    .bind(format!("satupeta-{}", one.id()))
    .bind(format!("satupeta-{}", two.id()))
    .fetch_one(&replica_pool)
    .await
    .unwrap();
    assert_eq!(readers, 2, "both servers read the replica");

    // Replay paused: a publication on the primary is not served from the replica's past, and
    // no server goes back to an older snapshot.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica_pool)
        .await
        .unwrap();
    let pool = db::connect(&url).await.unwrap();
    let version = i64::from(publish_version(&pool).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    for base in [&base_one, &base_two] {
        assert_eq!(
            version_at(base).await,
            Some(1),
            "{base} served what the replica has not"
        );
    }
    // Behind for longer than the lag limit, the replica is left: both serve the new version from
    // the primary, and say the replica may not be read.
    for base in [&base_one, &base_two] {
        let took = wait_for_version(base, version, Duration::from_secs(20)).await;
        eprintln!("{base} served version {version} {took:?} later, from the primary");
        let (_, _, ready) = ask(reqwest::Client::new().get(format!("{base}/readyz"))).await;
        assert_eq!(ready["replicas"], serde_json::json!([false]), "{ready}");
    }
    // Replay resumed: the replica is read again within seconds.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica_pool)
        .await
        .unwrap();
    for base in [&base_one, &base_two] {
        let started = Instant::now();
        loop {
            let (_, _, ready) = ask(reqwest::Client::new().get(format!("{base}/readyz"))).await;
            if ready["replicas"] == serde_json::json!([true]) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{ready}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // The replica stops: the servers stay ready, read from the primary, and say so.
    replica_pool.close().await;
    tokio::task::spawn_blocking({
        let replica = replica.clone();
        move || replica.stop()
    })
    .await
    .unwrap()
    .expect("stop the replica");
    tokio::time::sleep(Duration::from_secs(4)).await;
    for base in [&base_one, &base_two] {
        let (status, _, ready) = ask(reqwest::Client::new().get(format!("{base}/readyz"))).await;
        let replicas = ready["replicas"].clone();
        assert_eq!(
            (status, replicas),
            (200, serde_json::json!([false])),
            "{ready}"
        );
        let plans = reqwest::Client::new().get(format!("{base}/api/v1/plans"));
        let (status, _, body) = ask(plans).await;
        assert_eq!(status, 200, "reads do not fall back to the primary: {body}");
    }
    let tiles_before = [
        tiles_version(&base_one).await,
        tiles_version(&base_two).await,
    ];
    let version = i64::from(publish_version(&pool).await);
    for (base, before) in [&base_one, &base_two].into_iter().zip(tiles_before) {
        wait_for_version(base, version, Duration::from_secs(10)).await;
        // The tiles follow too (their layers are read from the primary now).
        let started = Instant::now();
        while tiles_version(base).await == before {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{base} still serves the zoning tiles of {before}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // A write goes to the primary (the replica refuses writes): a report is filed.
    let (status, _, body) = ask(reqwest::Client::new()
        .post(format!("{base_one}/api/v1/reports"))
        .multipart(report_form("Bengkel di perumahan, lewat server satu")))
    .await;
    assert_eq!(status, 201, "{body}");
    for child in [&mut one, &mut two] {
        assert!(terminate(child).success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_then_stops_the_embedded_cluster() {
    let data_dir = scratch_dir().join("graceful");
    let data = data_dir.to_str().unwrap().to_string();
    let (mut server, base) = spawn_server(
        &["serve", "--bind", "127.0.0.1:0", "--data-dir", &data],
        &[],
    );
    let address = base.trim_start_matches("http://").to_string();

    // A parcel request whose body arrives slowly: in flight when SIGTERM comes.
    let (lon, lat) = cell_centre(0, 0);
    let body = format!(
        r#"{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]]]}}"#,
        a = lon - 0.0001,
        b = lat - 0.0001,
        c = lon + 0.0001,
        d = lat + 0.0001
    );
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /api/v1/zoning/parcel HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    // (Its body must arrive within a second at 32 KiB/s, or the answer is 408.)
    std::thread::sleep(Duration::from_millis(100));
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(400));
    // New connections are refused while the request in flight is still answered.
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "the server still accepts connections after SIGTERM"
    );
    stream.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = stream.read_to_string(&mut answer);
    let status_line = answer.lines().next().unwrap_or_default().to_string();
    assert!(
        status_line.starts_with("HTTP/1.1 404") || status_line.starts_with("HTTP/1.1 200"),
        "the request in flight was answered {status_line:?}"
    );
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        !data_dir.join("postgres/postmaster.pid").exists(),
        "the embedded cluster still runs"
    );
}

#[test]
fn a_taken_port_or_an_unusable_data_directory_is_refused_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let data_dir = scratch_dir().join("unused");
    let output = satupeta(
        &[
            "serve",
            "--bind",
            &port,
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(
        text(&output).contains(&format!("cannot listen on {port}")),
        "{}",
        text(&output)
    );
    assert!(
        !data_dir.join("postgres").exists(),
        "a database was started for nothing"
    );

    let file = scratch_dir().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let output = satupeta(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    let said = text(&output);
    assert!(
        said.contains(file.to_str().unwrap()) && said.contains("error"),
        "{said}"
    );
}

/// The lines of a metric family in a Prometheus text exposition, without comments.
/// `/metrics` as this machine reads it.
async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let answer = client.get(format!("{base}/metrics")).send().await.unwrap();
    answer.text().await.unwrap()
}

fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_request_ids_and_json_logs_show_what_the_server_does() {
    let db = super::harness::fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    let imported = satupeta(
        &["import", file.to_str().unwrap(), "--plan", "Kota"],
        &[("DATABASE_URL", &db.url)],
    );
    assert!(imported.status.success(), "{}", text(&imported));
    let log = scratch_dir().join("server.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_satupeta"));
    command
        .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
        .current_dir(root())
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "satupeta=debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut server = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().strip_prefix("serving on ").unwrap().to_string();
    let client = reqwest::Client::new();

    // A request id: made by the server, or the client's (a proxy's) when it is a plain token; in
    // the answer's header and in a problem's body.
    let (lon, lat) = cell_centre(0, 0);
    let point = client
        .get(format!("{base}/api/v1/zoning?lon={lon}&lat={lat}"))
        .send()
        .await
        .unwrap();
    let made = point.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(made.len(), 16, "{made}");
    let missing = client
        .get(format!("{base}/api/v1/tidak-ada"))
        .header("x-request-id", "proxy-4242")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.headers()["x-request-id"], "proxy-4242");
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["request_id"], "proxy-4242", "{problem}");
    let forged = client
        .get(format!("{base}/api/v1/tidak-ada"))
        .header("x-request-id", "a\"}, \"admin\": true")
        .send()
        .await
        .unwrap();
    let id = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 16, "a forged id is replaced: {id}");
    let tile = client
        .get(format!("{base}/tiles/zoning/15/27019/16498.mvt"))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), 200);
    let filed = client
        .post(format!("{base}/api/v1/reports"))
        .multipart(report_form("Bengkel mobil di perumahan, untuk metrik"))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);

    // The metrics, to this machine; not through a proxy.
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let metrics = metrics.text().await.unwrap();
    let expect = |name: &str, words: &[&str]| {
        let lines = samples(&metrics, name);
        assert!(
            lines.iter().any(|l| words.iter().all(|w| l.contains(w))),
            "no {name} with {words:?} in:\n{}",
            lines.join("\n")
        );
    };
    expect(
        "satupeta_http_requests_total",
        &[
            "route=\"/api/v1/zoning\"",
            "status=\"200\"",
            "method=\"GET\"",
        ],
    );
    expect(
        "satupeta_http_requests_total",
        &["route=\"(none)\"", "status=\"404\""],
    );
    expect(
        "satupeta_http_request_duration_seconds_bucket",
        &["route=\"/tiles/{layer}/{z}/{x}/{file}\""],
    );
    expect("satupeta_tile_requests_total", &["result=\"render\""]);
    expect("satupeta_snapshot_change", &[]);
    expect("satupeta_snapshot_features", &[]);
    expect("satupeta_snapshot_load_seconds_count", &[]);
    expect(
        "satupeta_db_connections",
        &["pool=\"primary\"", "state=\"idle\""],
    );
    expect("satupeta_db_up", &[" 1"]);
    expect("satupeta_reports", &["status=\"submitted\"", " 1"]);
    expect(
        "satupeta_operation_runs",
        &["kind=\"import\"", "outcome=\"ok\"", " 1"],
    );
    expect("satupeta_operation_last_seconds", &["kind=\"import\""]);
    expect("process_resident_memory_bytes", &[]);
    // A state that empties reads 0 (the database's gauges are read at most every 5 s).
    sqlx::query("UPDATE report SET status = 'verified'")
        .execute(&db.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let again = scrape(&client, &base).await;
    let reports = samples(&again, "satupeta_reports").join("\n");
    assert!(
        reports.contains("status=\"submitted\"} 0") && reports.contains("status=\"verified\"} 1"),
        "{reports}"
    );
    // Made-up methods share one label.
    for method in ["XWOLBLOMTFC", "QQQQ"] {
        let made_up = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        client
            .request(made_up, format!("{base}/healthz"))
            .send()
            .await
            .unwrap();
    }
    let again = scrape(&client, &base).await;
    assert!(!again.contains("XWOLBLOMTFC"));
    assert!(again.contains("method=\"other\""));
    let proxied = client
        .get(format!("{base}/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 403);

    assert!(terminate(&mut server).success());
    // Every log line is one JSON object; a request's lines carry its id, method and route.
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = logged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["span"]["request_id"] == "proxy-4242"
            && l["span"]["route"] == "(none)"
            && l["status"] == 404),
        "no log line of the request proxy-4242 in:\n{logged}"
    );
}

#[test]
fn a_configuration_file_is_read_checked_and_documented() {
    let dir = scratch_dir().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let data = dir.join("data");
    let good = write(
        "good.toml",
        &format!(
            "data-dir = \"{}\"\nlog-format = \"json\"\n[serve]\nbind = \"127.0.0.1:0\"\ntile-cache-mb = 64\n",
            data.display()
        ),
    );
    let check = satupeta(&["--config", &good, "config", "check"], &[]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("ok"), "{}", text(&check));
    // The environment wins over the file, and is what is checked.
    let check = satupeta(
        &["--config", &good, "config", "check"],
        &[("SATUPETA_DATA_DIR", "/proc/nope")],
    );
    assert!(!check.status.success());
    assert!(text(&check).contains("/proc/nope"), "{}", text(&check));

    for (name, body, words) in [
        (
            "unknown.toml",
            "[serve]\nbnid = \"127.0.0.1:1\"\n",
            "unknown setting `[serve] bnid`",
        ),
        (
            "global.toml",
            "bind = \"127.0.0.1:1\"\n",
            "unknown setting `bind`",
        ),
        (
            "value.toml",
            "[serve]\nbind = \"localhost\"\n",
            "invalid value 'localhost' for '--bind",
        ),
        (
            "type.toml",
            "[serve]\ntile-cache-mb = true\n",
            "tile-cache-mb",
        ),
        ("toml.toml", "[serve\n", "not TOML"),
        (
            "section.toml",
            "[import]\nplan = 1\n[nothing]\n",
            "[nothing] is not a command",
        ),
    ] {
        let path = write(name, body);
        let check = satupeta(&["--config", &path, "config", "check"], &[]);
        assert!(!check.status.success(), "{name} passed");
        assert!(text(&check).contains(words), "{name}: {}", text(&check));
    }
    let check = satupeta(&["config", "check"], &[]);
    assert!(text(&check).contains("--config FILE"), "{}", text(&check));

    // The file configures the server: it serves on the file's address, logging JSON.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let served = write(
        "serve.toml",
        &format!(
            "data-dir = \"{}\"\n[serve]\nbind = \"127.0.0.1:{port}\"\n",
            data.display()
        ),
    );
    let (mut server, base) = spawn_server(&["--config", &served, "serve"], &[]);
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    assert!(terminate(&mut server).success());

    // The packaged file documents every option (the example, with the package's data directory).
    let example = satupeta(
        &["config", "example", "--set-data-dir", "/var/lib/satupeta"],
        &[],
    );
    let shipped = std::fs::read_to_string(root().join("packaging/satupeta.toml")).unwrap();
    assert_eq!(
        shipped,
        String::from_utf8_lossy(&example.stdout),
        "packaging/satupeta.toml is not `satupeta config example --set-data-dir /var/lib/satupeta`"
    );
    for key in [
        "data-dir",
        "database-url",
        "database-read-url",
        "log-format",
        "bind",
        "metrics-token",
        "smtp-url",
        "report-rate",
    ] {
        assert!(
            shipped.contains(&format!("{key} = ")),
            "{key} is not documented"
        );
    }
    for env in [
        "DATABASE_URL",
        "DATABASE_READ_URL",
        "SATUPETA_METRICS_TOKEN",
        "SATUPETA_LOG_FORMAT",
    ] {
        assert!(shipped.contains(env), "{env} is not documented");
    }
}

#[test]
fn sigterm_while_the_database_starts_stops_it_once_started() {
    let data_dir = scratch_dir().join("early");
    let mut server = Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ])
        .current_dir(root())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = data_dir.join("postgres/postmaster.pid");
    let started = Instant::now();
    while !pid_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the cluster did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!pid_file.exists(), "the embedded cluster was left running");
}

#[tokio::test]
async fn a_statement_over_its_time_limit_is_a_503_without_retry_after() {
    use axum::response::IntoResponse;
    let db = super::harness::fresh_db().await;
    // PostgreSQL's own cancellation (57014), as the server's statement_timeout raises it.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL statement_timeout = '50ms'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let cancelled = sqlx::query("SELECT pg_sleep(2)")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    let response = satupeta::web::ApiError::from(cancelled).into_response();
    assert_eq!(response.status(), 503);
    assert!(
        response.headers().get("retry-after").is_none(),
        "asked again it would take as long"
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("ask for less"), "{detail}");
}
