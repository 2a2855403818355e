//! Every request observed: a request id (the client's `X-Request-Id` when it is a plain token,
//! else a new one) in the request's log span, in the `X-Request-Id` answer header and in every
//! problem+json body; its latency and status counted per route; and `/metrics` for Prometheus.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;

use super::{ApiError, AppState};
use crate::observe;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

tokio::task_local! {
    /// The id of the request being answered (read by [`ApiError`]'s problem+json body).
    static CURRENT: HeaderValue;
}

/// The id of the request this task answers, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT
        .try_with(|id| id.to_str().ok().map(str::to_string))
        .ok()
        .flatten()
}

/// How long a scrape waits for the database's gauges.
const DATABASE_GAUGES_WAIT: Duration = Duration::from_secs(1);

/// Counts, times and logs a request under its id (a middleware layered on every route, so that
/// the route's template is known).
pub async fn observe(request: Request, next: Next) -> Response {
    let id = request_id(request.headers());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(none)", MatchedPath::as_str)
        .to_string();
    let method = method_label(request.method());
    let span =
        tracing::info_span!("request", request_id = %id.to_str().unwrap_or(""), %method, %route);
    let started = Instant::now();
    let in_flight = metrics::gauge!(observe::HTTP_IN_FLIGHT);
    in_flight.increment(1.0);
    let mut response = CURRENT
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    in_flight.decrement(1.0);
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status();
    metrics::counter!(observe::HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status.as_str().to_string()).increment(1);
    metrics::histogram!(observe::HTTP_DURATION, "route" => route, "method" => method)
        .record(seconds);
    span.in_scope(|| {
        // A 503 says "come back soon" (the database restarting, a queue full): its cause is
        // logged where it is found; a line per refused request would flood the log.
        if status.is_server_error() && status != axum::http::StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(
                status = status.as_u16(),
                seconds,
                "answered with a server error"
            );
        } else if seconds >= 1.0 {
            tracing::info!(status = status.as_u16(), seconds, "slow answer");
        } else {
            tracing::debug!(status = status.as_u16(), seconds, "answered");
        }
    });
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The method as a label: the standard ones by name, any other (a client can send any token) as
/// `other`, so that made-up methods cannot multiply the label sets.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The client's request id when it is 1 to 64 letters, digits, `-`, `_` or `.` (a proxy's id, so
/// that its logs and ours can be joined), else a new random one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            (1..=64).contains(&b.len())
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&format!("{:016x}", rand::random::<u64>()))
                .expect("hex digits are a header value")
        })
}

/// `/metrics`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_text))
}

/// The metrics in the Prometheus text format. Asked with the bearer token of `--metrics-token`,
/// or, without one configured, only from this machine and not through a proxy.
async fn metrics_text(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    allowed(state.metrics_token.as_deref(), peer, &headers)?;
    state.observe_now().await;
    let body = observe::metrics().render();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// Whether a scrape may read the metrics.
fn allowed(token: Option<&str>, peer: SocketAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (token, bearer) {
        (Some(token), Some(given)) if constant_time_eq(token.as_bytes(), given.as_bytes()) => {
            Ok(())
        }
        (Some(_), _) => Err(ApiError::unauthorized(
            "the metrics need the bearer token set with --metrics-token",
        )),
        (None, _) => {
            // Any header a proxy adds: a local proxy would otherwise pass the world's scrapes.
            let proxied = [
                "x-forwarded-for",
                "forwarded",
                "x-real-ip",
                "via",
                "x-forwarded-host",
            ]
            .iter()
            .any(|h| headers.contains_key(*h));
            if peer.ip().is_loopback() && !proxied {
                Ok(())
            } else {
                Err(ApiError::forbidden(
                    "the metrics are answered to this machine only; set --metrics-token to scrape them from elsewhere",
                ))
            }
        }
    }
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl AppState {
    /// Sets the gauges read at scrape time: the pools, the snapshot, the tile cache, memory, and
    /// (at most every few seconds) the database's.
    pub(crate) async fn observe_now(&self) {
        observe::pool_gauges("primary", &self.pool);
        if let Some(read) = self.replicas.pools().next() {
            observe::pool_gauges("replica", read);
        }
        for (i, up) in self.replicas.states().into_iter().enumerate() {
            metrics::gauge!(observe::DB_REPLICA_UP, "replica" => i.to_string()).set(if up {
                1.0
            } else {
                0.0
            });
        }
        observe::memory_gauge();
        metrics::gauge!(observe::TILE_CACHE_BYTES).set(self.tiles.cached_bytes() as f64);
        let mut last = self.database_gauges.lock().await;
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
            let up = observe::read_database_gauges(&self.health, DATABASE_GAUGES_WAIT).await;
            metrics::gauge!(observe::DB_UP).set(if up { 1.0 } else { 0.0 });
            *last = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_client_id_is_kept_and_anything_else_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("proxy-42.a_b"));
        assert_eq!(request_id(&headers), "proxy-42.a_b");
        for forged in ["a b", "<script>", "x\u{7f}", ""] {
            if let Ok(v) = HeaderValue::from_str(forged) {
                headers.insert(REQUEST_ID, v);
                let id = request_id(&headers);
                assert_ne!(id, forged);
                assert_eq!(id.len(), 16, "{id:?}");
            }
        }
        headers.insert(REQUEST_ID, HeaderValue::from_str(&"a".repeat(65)).unwrap());
        assert_eq!(request_id(&headers).len(), 16);
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let made_up = axum::http::Method::from_bytes(b"XWOLBLOMTFC").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        assert_eq!(method_label(&axum::http::Method::TRACE), "other");
    }

    #[test]
    fn metrics_need_the_token_or_a_direct_local_scrape() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        let none = HeaderMap::new();
        assert!(allowed(None, local, &none).is_ok());
        assert_eq!(allowed(None, remote, &none).unwrap_err().status(), 403);
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.9"));
        assert_eq!(allowed(None, local, &proxied).unwrap_err().status(), 403);
        let mut real_ip = HeaderMap::new();
        real_ip.insert("x-real-ip", HeaderValue::from_static("1.2.3.4"));
        assert_eq!(allowed(None, local, &real_ip).unwrap_err().status(), 403);
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(allowed(Some("s3cret"), remote, &bearer).is_ok());
        assert_eq!(
            allowed(Some("s3cret"), local, &none).unwrap_err().status(),
            401
        );
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3creT"),
        );
        assert_eq!(
            allowed(Some("s3cret"), remote, &bearer)
                .unwrap_err()
                .status(),
            401
        );
    }
}
