//! What the server is doing, for its operators: metrics in the Prometheus text format (recorded
//! through the `metrics` facade and rendered by `metrics-exporter-prometheus`), logs as text or
//! JSON lines, and how long the operations that change what is served took (kept in the database,
//! since imports and seeding run in other processes).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

/// Requests answered, by route, method and status.
pub const HTTP_REQUESTS: &str = "satupeta_http_requests_total";
/// How long requests took to answer (to the response head), by route and method.
pub const HTTP_DURATION: &str = "satupeta_http_request_duration_seconds";
/// Requests being answered.
pub const HTTP_IN_FLIGHT: &str = "satupeta_http_requests_in_flight";
/// Tiles asked for, by how they were answered (`hit`: the memory cache; `archive`: a seeded
/// archive; `render`: rendered from memory).
pub const TILE_REQUESTS: &str = "satupeta_tile_requests_total";
/// Bytes of encoded tiles the memory cache holds.
pub const TILE_CACHE_BYTES: &str = "satupeta_tile_cache_bytes";
/// The newest database change the zoning snapshot includes.
pub const SNAPSHOT_CHANGE: &str = "satupeta_snapshot_change";
/// Zoning features in the snapshot.
pub const SNAPSHOT_FEATURES: &str = "satupeta_snapshot_features";
/// Plan versions in force in the snapshot.
pub const SNAPSHOT_VERSIONS: &str = "satupeta_snapshot_versions_in_force";
/// How long loading a snapshot took.
pub const SNAPSHOT_LOAD: &str = "satupeta_snapshot_load_seconds";
/// Snapshots not taken because the database (a replica) was behind the one served.
pub const SNAPSHOT_BEHIND: &str = "satupeta_snapshot_replica_behind_total";
/// Connections of a database pool, by pool (`primary`, `replica`) and state (`idle`, `busy`).
pub const DB_CONNECTIONS: &str = "satupeta_db_connections";
/// Whether the database answered the last scrape's question (1) or not (0).
pub const DB_UP: &str = "satupeta_db_up";
/// Whether each read replica answered its last probe (1) or not (0), by its place in
/// `DATABASE_READ_URL`.
pub const DB_REPLICA_UP: &str = "satupeta_db_replica_up";
/// Changes a read replica is behind the primary, at its last probe.
pub const DB_REPLICA_BEHIND: &str = "satupeta_db_replica_behind_changes";
/// Resident memory of the process.
pub const RESIDENT_BYTES: &str = "process_resident_memory_bytes";

/// Buckets of request latencies: 100 µs to 30 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0, 30.0,
];

/// Buckets of snapshot loads: 10 ms to 5 min.
const LOAD_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's metrics recorder, installed on first use (a server installs it when it starts,
/// so that nothing recorded before the first scrape is lost).
pub fn metrics() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows nothing");
        }
        handle
    })
}

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &LATENCY_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(SNAPSHOT_LOAD.into()), &LOAD_BUCKETS))
        // Route labels are the router's templates (`/ogc/collections/{collection_id}/items`), not
        // the paths asked for: the label sets stay few.
        .expect("the buckets are not empty")
}

/// Folds the recorded histogram samples into their buckets every few seconds. The recorder keeps
/// each sample until then: without this, a server nobody scrapes would grow by every request.
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    let handle = metrics().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// A value the scrape reads from the database, with its labels.
#[derive(Debug, sqlx::FromRow)]
struct StateRow {
    metric: String,
    labels: sqlx::types::Json<std::collections::BTreeMap<String, String>>,
    value: f64,
}

/// Sets the gauges kept in the database (reports and certificates by state, the mail outbox, the
/// operations of each kind) from one query; `false` when the database did not answer.
pub async fn read_database_gauges(pool: &PgPool, wait: Duration) -> bool {
    let query = sqlx::query_as::<_, StateRow>(include_str!("sql/states.sql")).fetch_all(pool);
    let rows = match tokio::time::timeout(wait, query).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            tracing::debug!("metrics from the database: {e}");
            return false;
        }
        Err(_) => return false,
    };
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        let labels: Vec<(String, String)> = row.labels.0.into_iter().collect();
        metrics::gauge!(row.metric.clone(), &labels).set(row.value);
        seen.insert((row.metric, labels));
    }
    // A state with no row any more (the last submitted report verified) reads 0, not its last
    // count.
    let mut previous = DATABASE_SERIES.lock().unwrap_or_else(|e| e.into_inner());
    for (metric, labels) in previous.difference(&seen) {
        metrics::gauge!(metric.clone(), labels).set(0.0);
    }
    previous.extend(seen);
    true
}

/// A series: a metric's name and labels.
type Series = (String, Vec<(String, String)>);

/// Every series [`read_database_gauges`] has set, so that one whose rows are gone is set to 0.
static DATABASE_SERIES: std::sync::Mutex<std::collections::BTreeSet<Series>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Sets the gauges of a pool's connections.
pub fn pool_gauges(name: &'static str, pool: &PgPool) {
    let idle = pool.num_idle() as f64;
    let size = f64::from(pool.size());
    metrics::gauge!(DB_CONNECTIONS, "pool" => name, "state" => "idle").set(idle);
    metrics::gauge!(DB_CONNECTIONS, "pool" => name, "state" => "busy").set((size - idle).max(0.0));
}

/// Sets the resident memory gauge (from `/proc/self/statm`).
pub fn memory_gauge() {
    if let Some(bytes) = resident_bytes() {
        metrics::gauge!(RESIDENT_BYTES).set(bytes as f64);
    }
}

/// Resident memory of this process, in bytes (Linux).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// What kind of operation [`record_operation`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A plan import.
    Import,
    /// Rule tables loaded.
    Rules,
    /// An agency's dataset published.
    Dataset,
    /// A tile archive seeded.
    Seed,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Import => "import",
            Operation::Rules => "rules",
            Operation::Dataset => "dataset",
            Operation::Seed => "seed",
        }
    }
}

/// Records that an operation on `subject` started at `started` ended now, succeeded or not.
/// Best effort: a database that cannot take the record is logged, not an error of the operation.
pub async fn record_operation(
    pool: &PgPool,
    kind: Operation,
    subject: &str,
    started: Instant,
    succeeded: bool,
) {
    let seconds = started.elapsed().as_secs_f64();
    let recorded = sqlx::query(
        "INSERT INTO operation_log (kind, subject, started_at, seconds, succeeded)
         VALUES ($1, $2, now() - make_interval(secs => $3), $3, $4)",
    )
    .bind(kind.as_str())
    .bind(subject)
    .bind(seconds)
    .bind(succeeded)
    .execute(pool)
    .await;
    if let Err(e) = recorded {
        tracing::warn!("recording the {} of {subject}: {e}", kind.as_str());
    }
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the request's span (its id, method and route).
    Json,
}

/// Sets up logging: `RUST_LOG` filters (default: the project's information and warnings, other
/// crates' warnings).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // sqlx's URL parser logs the values of parameters it ignores (`sslpassword=...`).
        .unwrap_or_else(|_| {
            "satupeta=info,tower_http=warn,sqlx=warn,sqlx_postgres::options=error".into()
        });
    // Colours only for a person at a terminal: not in a file, a pipe or the journal.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
