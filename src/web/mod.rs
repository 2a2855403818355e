//! The HTTP layer: the server wired once (state, change watcher, router, connection loop) for
//! `satupeta serve`, the benchmark and the tests; thin handlers per resource; one error policy.

mod answers;
mod assets;
mod auth;
mod datasets;
mod edge;
mod error;
mod health;
pub mod http;
mod krk;
mod observe;
mod ogc;
mod open311;
mod places;
mod records;
mod reports;
mod server;
mod tiles;
mod zoning;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderValue, Method, header};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use answers::AnswerCompression;
pub use error::ApiError;
pub use http::LinkBase;
pub use reports::ReportRate;

use crate::limits::LIMITS;
use crate::tiles::TileService;
use crate::zoning::Live;

/// Bytes of encoded tiles the memory cache holds at most by default.
pub const TILE_CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// Which origins browsers may call the public read API from (CORS).
#[derive(Debug, Clone, Default)]
pub enum Cors {
    /// Any origin (the default: the read API is public).
    #[default]
    Any,
    /// Only these origins.
    Origins(Vec<HeaderValue>),
    /// No cross-origin calls.
    None,
}

impl Cors {
    /// Reads `*`, `none`, or a comma-separated list of origins (`https://a.example,https://b`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "*" => Ok(Cors::Any),
            "none" | "" => Ok(Cors::None),
            list => list
                .split(',')
                .map(|origin| {
                    let origin = origin.trim().trim_end_matches('/');
                    let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                        && http::is_plain_host(origin.split_once("://").map_or("", |(_, h)| h));
                    ok.then(|| HeaderValue::from_str(origin).ok())
                        .flatten()
                        .ok_or_else(|| {
                            format!("\"{origin}\" is not an origin like https://peta.example.go.id")
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Cors::Origins),
        }
    }

    fn layer(&self) -> Option<CorsLayer> {
        let layer = CorsLayer::new()
            .allow_methods([Method::GET, Method::HEAD, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::IF_NONE_MATCH])
            .expose_headers([header::ETAG, header::RETRY_AFTER])
            .max_age(Duration::from_secs(3600));
        match self {
            // The same answer for every origin: nothing for caches to tell apart.
            Cors::Any => Some(layer.allow_origin(AllowOrigin::any()).vary([])),
            Cors::Origins(list) => Some(layer.allow_origin(AllowOrigin::list(list.clone()))),
            Cors::None => None,
        }
    }
}

/// How the server runs: links, CORS, caches, tile archives.
#[derive(Debug, Clone)]
pub struct Options {
    /// The public base URL links are built from (`--public-url`), without a trailing slash.
    pub public_url: Option<String>,
    /// Origins allowed to call the public read API.
    pub cors: Cors,
    /// Where pre-seeded tile archives are.
    pub tiles_dir: Option<PathBuf>,
    /// Bytes of encoded tiles the cache holds (0: no cache).
    pub tile_cache_bytes: u64,
    /// How point answers are compressed.
    pub answers: AnswerCompression,
    /// How often the server checks for changes it was not notified of.
    pub poll: Duration,
    /// Where the certificates' signing keys are (`satupeta keys init` makes them).
    pub keys_dir: Option<PathBuf>,
    /// Where report mail goes (none: it waits in the outbox).
    pub mail: Option<crate::reports::mail::MailSettings>,
    /// How often one client address may file reports.
    pub report_rate: ReportRate,
    /// Read replicas of the database.
    pub replicas: Replicas,
    /// The bearer token `/metrics` asks for (none: answered to this machine only).
    pub metrics_token: Option<String>,
}

/// The URLs of the database's read replicas (`DATABASE_READ_URL`): shown without passwords.
#[derive(Clone, Default)]
pub struct Replicas(pub Vec<String>);

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|u| crate::db::url::redact(u)))
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            public_url: None,
            cors: Cors::Any,
            tiles_dir: None,
            tile_cache_bytes: TILE_CACHE_BYTES,
            answers: AnswerCompression::Composed,
            poll: Duration::from_secs(2),
            keys_dir: None,
            mail: None,
            report_rate: ReportRate::default(),
            replicas: Replicas::default(),
            metrics_token: None,
        }
    }
}

/// State shared by every handler (cloned per request: one reference count).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    /// Database pool of the requests (statement timeout, short acquire timeout).
    pub pool: PgPool,
    /// The read replicas (none: reads go to `pool`).
    replicas: Arc<crate::db::replicas::ReadReplicas>,
    /// A pool of its own for `/readyz` and `/metrics`, so they never wait behind user requests.
    health: PgPool,
    /// The live snapshot of published plans and rules.
    pub live: Arc<Live>,
    /// Vector tiles of every layer.
    pub tiles: Arc<TileService>,
    /// Every published collection (zoning, admin, the agencies' datasets).
    pub catalog: Arc<crate::catalog::Catalog>,
    /// Dataset uploads being read and published at once.
    uploads: Semaphore,
    /// The zoning tiles of other days (`?at=`).
    pub day_tiles: crate::tiles::DayTiles,
    /// Failed sign-ins by account name and by client address, forgotten after a while.
    sign_in_failures: auth::Failures,
    answers: answers::Answers,
    /// Parcel computations running in the database at once.
    parcels: Semaphore,
    /// Request bodies being read at once.
    bodies: Semaphore,
    links: arc_swap::ArcSwap<LinkBase>,
    cors: Cors,
    /// The administrative boundaries as GeoJSON, made once per snapshot (every page load asks).
    admin: tokio::sync::Mutex<Option<(i64, bytes::Bytes)>>,
    /// Where the certificates' signing keys are.
    keys_dir: Option<PathBuf>,
    /// The keys as last read.
    keys: arc_swap::ArcSwapOption<(std::time::Instant, Arc<crate::krk::keys::Keys>)>,
    /// Certificate applications by client address in the last hour.
    pub(crate) krk_submissions: moka::sync::Cache<String, u32>,
    /// Certificates found superseded (or not), by day and newest plan version.
    pub(crate) krk_supersessions: crate::krk::verify::Supersessions,
    /// The reports' areas, holidays, tiles and mail bell.
    pub reports: Arc<crate::reports::Reports>,
    /// Report bodies (with photos) being read at once.
    report_bodies: Semaphore,
    /// Report bodies being read, by client address.
    report_uploaders: reports::Uploaders,
    /// Reports by client address (the rate limiter).
    report_rate: Arc<reports::RateConfig>,
    /// The bearer token of `/metrics`.
    metrics_token: Option<String>,
    /// When the database's gauges were last read.
    database_gauges: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl FromRef<AppState> for Arc<LinkBase> {
    fn from_ref(state: &AppState) -> Self {
        state.links.load_full()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be reached.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// The zoning snapshot could not be read.
    #[error("reading the published plans: {0}")]
    Zoning(#[from] crate::zoning::ZoningError),
    /// The catalog could not be read.
    #[error("reading the catalog: {0}")]
    Catalog(#[from] crate::catalog::CatalogError),
    /// The tile layers could not be read.
    #[error("reading the tile layers: {0}")]
    Tiles(#[from] crate::tiles::TilesError),
    /// The reports' admin areas or holidays could not be read.
    #[error("reading the reports' areas: {0}")]
    Reports(#[from] crate::reports::ReportError),
}

impl AppState {
    /// Connects to `database_url` (and its read replicas) with the server's limits and loads the
    /// snapshot and the tiles.
    pub async fn connect(database_url: &str, options: &Options) -> Result<Self, StartError> {
        let pool = crate::db::connect_server(database_url).await?;
        let replicas = crate::db::replicas::ReadReplicas::connect(&options.replicas.0)?;
        Self::load_with_replicas(pool, replicas, options).await
    }

    /// Loads the snapshot and the tiles over `pool`.
    pub async fn load(pool: PgPool, options: &Options) -> Result<Self, StartError> {
        Self::load_with_replicas(pool, Default::default(), options).await
    }

    /// Loads the snapshot, the catalog and the tiles from the first read replica that answers (or
    /// the primary `pool`); writes go to `pool`.
    async fn load_with_replicas(
        pool: PgPool,
        replicas: crate::db::replicas::ReadReplicas,
        options: &Options,
    ) -> Result<Self, StartError> {
        crate::observe::metrics();
        replicas.probe(&pool).await;
        let replicas = Arc::new(replicas);
        // What is held in memory is read from the first replica that may be read, and from the
        // primary when none may be or that replica fails.
        let loader = crate::db::replicas::Reader::new(replicas.clone(), pool.clone());
        let live = Arc::new(Live::load_from(loader.clone()).await?);
        let tiles = TileService::load(
            loader.clone(),
            live.snapshot(),
            options.tile_cache_bytes,
            options.tiles_dir.clone(),
        )
        .await?;
        let catalog = crate::catalog::Catalog::load(loader).await?;
        let reports = crate::reports::Reports::load(&pool).await?;
        let health = crate::db::health_pool(&pool);
        // The readiness probe's connection, opened now rather than on the first probe.
        tokio::spawn({
            let health = health.clone();
            async move {
                let _ = sqlx::query("SELECT 1").execute(&health).await;
            }
        });
        Ok(AppState(Arc::new(Shared {
            health,
            pool,
            replicas,
            metrics_token: options.metrics_token.clone(),
            database_gauges: tokio::sync::Mutex::new(None),
            live,
            tiles: Arc::new(tiles),
            day_tiles: crate::tiles::DayTiles::default(),
            catalog: Arc::new(catalog),
            uploads: Semaphore::new(2),
            sign_in_failures: auth::Failures::default(),
            answers: answers::Answers::new(options.answers),
            parcels: Semaphore::new(LIMITS.parcel_concurrency),
            bodies: Semaphore::new(LIMITS.body_concurrency),
            admin: tokio::sync::Mutex::new(None),
            keys_dir: options.keys_dir.clone(),
            keys: arc_swap::ArcSwapOption::empty(),
            krk_supersessions: crate::krk::verify::Supersessions::default(),
            krk_submissions: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
            links: arc_swap::ArcSwap::from_pointee(LinkBase {
                public_url: options
                    .public_url
                    .as_ref()
                    .map(|u| u.trim_end_matches('/').to_string()),
                fallback: "http://127.0.0.1:8080".into(),
            }),
            cors: options.cors.clone(),
            reports: Arc::new(reports),
            report_bodies: Semaphore::new(LIMITS.report_concurrency),
            report_uploaders: reports::Uploaders::new(options.report_rate.uploads),
            report_rate: options.report_rate.config(),
        })))
    }

    /// The pool a read that may lag the primary by a moment goes to: the read replicas in turn,
    /// or the primary when there are none.
    pub fn reader(&self) -> &PgPool {
        self.replicas.pick().unwrap_or(&self.pool)
    }

    /// The base of the links a certificate signs (its verification URL): `--public-url`, else
    /// the address the server listens on; never a request's headers, which a client could forge.
    pub fn signed_base(&self) -> String {
        let links = self.links.load();
        links
            .public_url
            .clone()
            .unwrap_or_else(|| links.fallback.clone())
    }

    /// The certificates' signing keys: read from their directory the first time, again when
    /// `fresh` (issuing, and a verification whose key is not among them), and every half minute.
    pub fn krk_keys(
        &self,
        fresh: bool,
    ) -> Result<Arc<crate::krk::keys::Keys>, crate::krk::keys::KeyError> {
        // Read again at least every half minute: a rotation by `satupeta keys init` (here or on
        // another server) reaches every server without a restart.
        if let Some(cached) = self.keys.load_full()
            && !fresh
            && cached.0.elapsed() < Duration::from_secs(30)
        {
            return Ok(cached.1.clone());
        }
        let dir = self
            .keys_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("var/keys"));
        let keys = Arc::new(crate::krk::keys::Keys::load(&dir)?);
        self.keys
            .store(Some(Arc::new((std::time::Instant::now(), keys.clone()))));
        Ok(keys)
    }

    /// Forgets, every minute, the client addresses the report rate limiter no longer holds back.
    fn sweep_rate_limits(&self) -> tokio::task::JoinHandle<()> {
        let limiter = self.report_rate.limiter().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.retain_recent();
            }
        })
    }

    /// Brings the snapshot, then the tiles, up to date with the database.
    pub async fn refresh(&self) {
        if let Err(e) = self.live.refresh().await {
            tracing::warn!("reloading the zoning snapshot failed: {e}");
        }
        if let Err(e) = self.tiles.refresh(self.live.snapshot()).await {
            tracing::warn!("reloading the tile layers failed: {e}");
        }
        self.refresh_catalog().await;
    }

    /// Brings the catalog up to date; the tiles of the datasets that changed are read again in
    /// the background (those layers only: neither the zoning nor the other tables).
    pub async fn refresh_catalog(&self) {
        match self.catalog.refresh().await {
            Ok(changed) if !changed.is_empty() => {
                let tiles = self.tiles.clone();
                tokio::spawn(async move {
                    if let Err(e) = tiles.refresh_tables(&changed).await {
                        tracing::warn!("reloading the tile layers failed: {e}");
                    }
                });
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("reloading the catalog failed: {e}"),
        }
    }

    /// Watches the database for changes (LISTEN/NOTIFY, polling every `poll` as a fallback) and
    /// refreshes; runs until the returned task is aborted.
    pub fn watch(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(crate::db::watch_changes(
            self.pool.clone(),
            poll,
            move || {
                let state = state.clone();
                async move { state.refresh().await }
            },
        ))
    }
}

/// The whole HTTP application.
///
/// Most routes pass the general middleware (outermost first): tracing, compression of dynamic
/// answers, [`edge::finish`] (problem+json, `Cache-Control`, security headers), the body limit,
/// the API's request timeout. The busiest routes, answered from memory with their own headers,
/// errors and compression (tiles, point lookups, `/healthz`), pass only tracing, CORS and
/// `nosniff`. Every request first passes CORS (on the public paths, [`edge::PublicCorsLayer`])
/// and [`edge::GuardLayer`] (414, 431).
pub fn router(state: AppState) -> Router {
    let cors = edge::PublicCorsLayer {
        cors: state.cors.layer(),
    };
    let public = Router::new()
        .nest(
            "/api/v1",
            zoning::routes(&state)
                .merge(places::routes())
                .merge(auth::routes(&state))
                .merge(datasets::routes(&state))
                .merge(krk::routes(&state))
                .merge(reports::routes(&state))
                .fallback(not_found)
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    LIMITS.request_timeout(),
                )),
        )
        .merge(tiles::routes(&state))
        .merge(reports::tile_routes(&state))
        .merge(open311::routes().layer(axum::middleware::from_fn(open311::georeport_errors)))
        .nest(
            "/ogc",
            ogc::routes(&state)
                .merge(records::routes())
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    auth::identify,
                ))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    LIMITS.request_timeout(),
                )),
        )
        // Clients (OWSLib) ask for the landing page with a trailing slash.
        .route("/ogc/", axum::routing::get(ogc::landing))
        .merge(records::csw_routes(&state))
        .route(
            "/data/balikpapan_admin.geojson",
            axum::routing::get(assets::admin_boundaries),
        );
    let lean = tiles::tile_routes(&state)
        .merge(zoning::point_routes())
        .merge(health::lean_routes())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    let compression = CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(
            SizeAbove::new(1024)
                .and(NotForContentType::const_new(
                    "application/vnd.mapbox-vector-tile",
                ))
                .and(NotForContentType::IMAGES),
        );
    let uploads = datasets::upload_routes(&state)
        .merge(
            reports::upload_routes(&state)
                .layer(axum::middleware::from_fn(open311::georeport_errors)),
        )
        .layer(axum::middleware::from_fn(edge::finish))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    Router::new()
        .route("/", axum::routing::get(assets::index))
        .route("/publish", axum::routing::get(assets::publish))
        .merge(krk::page_routes())
        .merge(reports::page_routes())
        .route("/static/{*path}", axum::routing::get(assets::file))
        .merge(health::routes())
        .merge(observe::routes())
        .merge(public)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(LIMITS.body_bytes))
        .layer(RequestBodyLimitLayer::new(LIMITS.body_bytes))
        .layer(axum::middleware::from_fn(edge::finish))
        .layer(compression)
        .merge(lean)
        .merge(uploads)
        .layer(edge::GuardLayer)
        .layer(cors)
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state)
}

/// The answer to a method a route does not take (for the routes outside the general middleware,
/// which would otherwise answer a bare 405).
pub(crate) async fn method_not_allowed(
    method: Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

async fn not_found(axum::extract::OriginalUri(uri): axum::extract::OriginalUri) -> ApiError {
    ApiError::not_found(format!("there is nothing at {}", uri.path()))
}

/// A server made of its state and its change watcher.
pub struct Server {
    /// The state handlers share.
    pub state: AppState,
    watcher: tokio::task::JoinHandle<()>,
    /// The report mail sender and the rate limiter's sweeper.
    helpers: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Connects, loads and starts watching for changes.
    pub async fn start(database_url: &str, options: &Options) -> Result<Self, StartError> {
        let state = AppState::connect(database_url, options).await?;
        Ok(Self::with_state(state, options))
    }

    /// A server over state already loaded.
    pub fn with_state(state: AppState, options: &Options) -> Self {
        let watcher = state.watch(options.poll);
        let mut helpers = vec![state.sweep_rate_limits(), crate::observe::spawn_upkeep()];
        if !state.replicas.is_empty() {
            let primary = state.pool.clone();
            helpers.push(
                state
                    .replicas
                    .clone()
                    .watch(primary, Duration::from_secs(2)),
            );
        }
        match options.mail.as_ref().map(crate::reports::mail::Mailer::new) {
            Some(Ok(mailer)) => helpers.push(crate::reports::mail::spawn(
                state.pool.clone(),
                mailer,
                state.reports.mail.clone(),
            )),
            Some(Err(e)) => tracing::error!("report mail is not sent: {e}"),
            None => tracing::info!(
                "no SMTP server is set (--smtp-url): report mail waits in the outbox"
            ),
        }
        Server {
            state,
            watcher,
            helpers,
        }
    }

    /// Serves on `listener` until `shutdown` completes; links fall back to the listening address.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let fallback = format!("http://{}", listener.local_addr()?);
        self.state.links.rcu(|links| LinkBase {
            fallback: fallback.clone(),
            ..LinkBase::clone(links)
        });
        let result = server::serve(listener, router(self.state.clone()), shutdown).await;
        self.watcher.abort();
        for helper in &self.helpers {
            helper.abort();
        }
        result
    }

    /// Serves on a free loopback port in the background; returns the base URL (for the benchmark
    /// and the tests).
    pub async fn spawn(self) -> std::io::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(self.serve(listener, std::future::pending()));
        Ok(url)
    }
}
