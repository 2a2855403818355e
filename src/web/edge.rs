//! Middleware at the edge of the application: the size guards that run before routing (414, 431),
//! and the finishing touches on every answer (problem+json bodies for errors made outside the
//! handlers, `Cache-Control`, security headers).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::limits::{LIMITS, bytes_text};

/// Content-Security-Policy of the HTML pages: everything from this server; MapLibre draws on
/// canvases, runs workers from blob: URLs and inline style attributes; no framing.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; worker-src 'self' blob:; child-src blob:; connect-src 'self'; \
     font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Refuses requests whose target or header lines exceed the limits, before routing, with
/// problem+json (hyper's own, larger, limit answers a bare 431 and closes the connection). A plain
/// tower layer, not `from_fn`: it runs on every request, the busiest included.
#[derive(Clone, Copy, Default)]
pub struct GuardLayer;

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner }
    }
}

/// The service of [`GuardLayer`].
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Guard<S>
where
    S: tower::Service<axum::http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        futures::future::Either<std::future::Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        match refusal(request.uri(), request.headers()) {
            Some(error) => {
                futures::future::Either::Left(std::future::ready(Ok(error.into_response())))
            }
            None => futures::future::Either::Right(self.inner.call(request)),
        }
    }
}

/// The error for a request target or header lines beyond the limits.
fn refusal(uri: &axum::http::Uri, headers: &HeaderMap) -> Option<ApiError> {
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > LIMITS.uri_bytes {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the request target has {target} bytes; at most {} are read",
                bytes_text(LIMITS.uri_bytes)
            ),
        ));
    }
    // Each line as sent: name, ": ", value, CRLF.
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (headers.len() > LIMITS.header_count || bytes > LIMITS.header_bytes)
        .then(|| too_many_headers(headers.len(), bytes))
}

fn too_many_headers(fields: usize, bytes: usize) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        format!(
            "the request has {fields} header fields in {bytes} bytes; at most {} fields in {} are read",
            LIMITS.header_count,
            bytes_text(LIMITS.header_bytes)
        ),
    )
}

/// Gives error answers made outside the handlers (unknown routes, rejected extractors, oversized
/// bodies, timeouts) a problem+json body that keeps their reason and every other header (CORS
/// included); sets `Cache-Control` where a handler did not; adds the security headers.
pub async fn finish(request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let mut response = if is_error(&response) && !is_problem(response.headers()) {
        problem_of(response, uri.path()).await
    } else {
        response
    };
    let status = response.status();
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        let policy = if status.is_client_error() || status.is_server_error() {
            "no-store"
        } else {
            "no-cache"
        };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

fn is_error(response: &Response) -> bool {
    response.status().is_client_error() || response.status().is_server_error()
}

/// Whether the answer already says what is wrong in its own document: problem+json, a JSON
/// document of its own (`/readyz` when the database is down, Open311's errors), or an XML
/// exception report (CSW, Open311).
fn is_problem(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/problem+json")
            || v.starts_with(b"application/json")
            || v.starts_with(b"application/xml")
            || v.starts_with(b"text/xml")
    })
}

/// The problem+json form of an error answer, with its reason as the detail and its headers kept.
async fn problem_of(response: Response, path: &str) -> Response {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    // An encoded body is not text a person can read: keep only plain reasons.
    let encoded = parts.headers.contains_key(header::CONTENT_ENCODING);
    let reason = match encoded {
        true => String::new(),
        false => axum::body::to_bytes(body, 16 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default(),
    };
    let detail = match status {
        // Whoever refused the body, the limit is ours.
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the request body is larger than the {} limit",
            LIMITS.body_size_text()
        ),
        _ if !reason.is_empty() => reason,
        StatusCode::NOT_FOUND => format!("there is nothing at {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not take this method"),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => format!(
            "the request took longer than the {} s limit",
            LIMITS.request_s
        ),
        other => other.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut problem = ApiError::new(status, detail).into_response();
    for name in parts.headers.keys() {
        if !problem.headers().contains_key(name) && name != header::CONTENT_ENCODING {
            for value in parts.headers.get_all(name) {
                problem.headers_mut().append(name.clone(), value.clone());
            }
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE
        && !problem.headers().contains_key(header::RETRY_AFTER)
    {
        problem
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(LIMITS.retry_after_s));
    }
    problem
}

/// The paths of the public read API, where browsers of other origins may call (CORS).
const PUBLIC_PATHS: &[&str] = &["/api/v1/", "/tiles/", "/ogc/", "/data/"];

/// CORS (tower-http's) on the public read API only, outside every other layer, so that errors made
/// before routing (413, 414, 431) carry the CORS headers too.
#[derive(Clone)]
pub struct PublicCorsLayer {
    /// The CORS policy; `None` answers no cross-origin call.
    pub cors: Option<tower_http::cors::CorsLayer>,
}

impl<S> tower::Layer<S> for PublicCorsLayer {
    type Service = PublicCors<S>;
    fn layer(&self, inner: S) -> PublicCors<S> {
        PublicCors {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service of [`PublicCorsLayer`].
#[derive(Clone)]
pub struct PublicCors<S> {
    inner: S,
    cors: Option<tower_http::cors::CorsLayer>,
}

impl<S> tower::Service<Request> for PublicCors<S>
where
    S: tower::Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures::future::Either<tower_http::cors::ResponseFuture<S::Future>, S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let path = request.uri().path();
        let public = PUBLIC_PATHS.iter().any(|p| path.starts_with(p));
        match (&self.cors, public) {
            (Some(cors), true) => {
                // The ready service serves this request; a clone waits for the next.
                let waiting = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, waiting);
                let mut service = tower::Layer::layer(cors, ready);
                futures::future::Either::Left(tower::Service::call(&mut service, request))
            }
            _ => futures::future::Either::Right(self.inner.call(request)),
        }
    }
}
