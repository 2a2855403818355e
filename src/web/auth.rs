//! Who is asking, and what they may read: a bearer token (scripts) or a session cookie (the web
//! pages) is resolved to its account before any handler (the [`Caller`] extension), and the access
//! rules of a route group are middleware ([`signed_in`], [`admin_only`]), never checks inside
//! handlers. A write signed in by cookie must come from this site's own pages (`Sec-Fetch-Site` or
//! `Origin`): another site cannot make a signed-in browser write (CSRF).

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};

use super::http::ApiQuery;
use super::{ApiError, AppState};
use crate::accounts::{self, Principal, Role};

/// The account a request speaks for, if any.
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

/// The routes of the accounts: who am I, and the audit log (admins).
pub fn routes(state: &AppState) -> Router<AppState> {
    let me = Router::new()
        .route("/me", get(me))
        .route_layer(axum::middleware::from_fn(signed_in));
    let audit = Router::new()
        .route("/audit", get(audit))
        .route_layer(axum::middleware::from_fn(admin_only));
    let session = Router::new().route("/session", axum::routing::post(sign_in).delete(sign_out));
    me.merge(audit)
        .merge(session)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identify,
        ))
}

/// The session cookie's name.
const COOKIE: &str = "satupeta_session";

/// The session secret of the request's cookie, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Whether the request comes from this site's own pages: the browser says so (`Sec-Fetch-Site:
/// same-origin`), or its `Origin` names the host it was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("same-origin") {
        return true;
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// The bearer token of `Authorization`, if the header is there; a header of another form is an
/// error (a client that meant to sign in should hear that it did not).
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header is not `Bearer TOKEN`",
        )),
    }
}

/// Resolves the bearer token to its account (401 for a token that is unknown, revoked or whose
/// account is disabled); a request without one goes on as anonymous.
pub(super) async fn identify(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (caller, by_cookie) = resolve(&state, request.headers()).await?;
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if by_cookie && caller.is_some() && writes && !same_origin(request.headers()) {
        return Err(ApiError::forbidden(
            "a write signed in by cookie must come from this site's own pages (its Origin)",
        ));
    }
    request.extensions_mut().insert(Caller(caller));
    Ok(next.run(request).await)
}

/// The account of a request's bearer token or session cookie, and whether it came by cookie.
pub(super) async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Option<Principal>, bool), ApiError> {
    let token = bearer(headers)?;
    let by_cookie = token.is_none();
    let caller = match token {
        Some(token) => Some(
            accounts::authenticate(&state.pool, token)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "the bearer token is not valid: unknown, revoked, or its account disabled",
                    )
                })?,
        ),
        None => match session_cookie(headers) {
            // An ended or expired session is no one: the request goes on as anonymous.
            Some(secret) => accounts::session_principal(&state.pool, secret).await?,
            None => None,
        },
    };
    Ok((caller, by_cookie))
}

fn caller(request: &Request) -> Option<&Principal> {
    request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.as_ref())
}

/// Lets in any signed-in account.
async fn signed_in(request: Request, next: Next) -> Result<Response, ApiError> {
    if caller(&request).is_none() {
        return Err(ApiError::unauthorized("sign in, or send a bearer token"));
    }
    Ok(next.run(request).await)
}

/// Lets in admins only.
async fn admin_only(request: Request, next: Next) -> Result<Response, ApiError> {
    match caller(&request) {
        None => Err(ApiError::unauthorized("sign in, or send a bearer token")),
        Some(p) if p.role == Role::Admin => Ok(next.run(request).await),
        Some(p) => Err(ApiError::forbidden(format!(
            "the {} account {} may not read this: admins only",
            p.role.as_str(),
            p.name
        ))),
    }
}

/// What is only for the caller is kept by no cache.
fn private(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "private, no-store")], body).into_response()
}

/// `GET /api/v1/me`: the account the request speaks for.
async fn me(Extension(Caller(caller)): Extension<Caller>) -> Response {
    private(Json(caller))
}

/// `?limit=`: how many lines of the audit log (1 to 1,000; 100 by default).
#[derive(serde::Deserialize)]
struct AuditQuery {
    limit: Option<String>,
}

/// `GET /api/v1/audit`: the newest lines of the audit log.
async fn audit(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit is \"{text}\": a number from 1 to 1000"))
            })?,
    };
    let entries = accounts::audit_log(&state.pool, limit).await?;
    Ok(private(Json(serde_json::json!({ "entries": entries }))))
}

/// Failed sign-ins to one account name within [`FAILURE_WINDOW`] before it is refused for a while.
const NAME_FAILURES: u32 = 5;
/// Failed sign-ins from one client address within [`FAILURE_WINDOW`] before it is refused.
const ADDRESS_FAILURES: u32 = 20;
/// How long a failure counts.
const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Failed sign-ins, by `name:NAME` and `ip:ADDRESS` (in memory: each server counts its own).
pub struct Failures(moka::sync::Cache<String, u32>);

impl Default for Failures {
    fn default() -> Self {
        Failures(
            moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(FAILURE_WINDOW)
                .build(),
        )
    }
}

impl Failures {
    /// The key of an account name: only names an account can have (64 bytes at most), so that a
    /// client sending huge names cannot fill the memory; any longer name is wrong anyway.
    fn name_key(name: &str) -> Option<String> {
        (name.len() <= 64).then(|| format!("name:{name}"))
    }

    /// Refuses (429) while the name or the address has failed too often.
    fn check(&self, name: &str, address: &str) -> Result<(), ApiError> {
        let over = |key: Option<String>, limit: u32| {
            key.and_then(|k| self.0.get(&k)).is_some_and(|n| n >= limit)
        };
        if over(Self::name_key(name), NAME_FAILURES)
            || over(Some(format!("ip:{address}")), ADDRESS_FAILURES)
        {
            return Err(ApiError::too_many(
                format!(
                    "too many failed sign-ins; try again in {} minutes",
                    FAILURE_WINDOW.as_secs() / 60
                ),
                FAILURE_WINDOW.as_secs(),
            ));
        }
        Ok(())
    }

    fn failed(&self, name: &str, address: &str) {
        for key in [Self::name_key(name), Some(format!("ip:{address}"))]
            .into_iter()
            .flatten()
        {
            let n = self.0.get(&key).unwrap_or(0);
            self.0.insert(key, n + 1);
        }
    }

    fn succeeded(&self, name: &str) {
        if let Some(key) = Self::name_key(name) {
            self.0.invalidate(&key);
        }
    }
}

/// `POST /api/v1/session` body.
#[derive(serde::Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

/// The session cookie: only for this site, never to scripts, only over HTTPS (browsers treat
/// `localhost` as secure), for the session's hours.
fn cookie(secret: &str, max_age_s: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_s}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("satupeta_session=; Max-Age=0"))
}

/// `POST /api/v1/session` (`{"name", "password"}`): signs in; the session lives in a cookie.
async fn sign_in(
    State(state): State<AppState>,
    connection: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if headers.contains_key(header::ORIGIN) && !same_origin(&headers) {
        return Err(ApiError::forbidden(
            "signing in is for this site's own pages (its Origin)",
        ));
    }
    let credentials: Credentials = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not {{\"name\": ..., \"password\": ...}}: {e}"
        ))
    })?;
    let origin = connection.map_or_else(|| "unknown".to_string(), |c| c.0.0.ip().to_string());
    state.sign_in_failures.check(&credentials.name, &origin)?;
    let Some(who) =
        accounts::sign_in(&state.pool, &credentials.name, &credentials.password).await?
    else {
        state.sign_in_failures.failed(&credentials.name, &origin);
        return Err(ApiError::unauthorized("the name or the password is wrong"));
    };
    state.sign_in_failures.succeeded(&credentials.name);
    let secret = accounts::start_session(&state.pool, &who, &origin).await?;
    let mut response = private(Json(&who));
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&secret, accounts::SESSION_HOURS * 3600),
    );
    Ok(response)
}

/// `DELETE /api/v1/session`: signs out (the session ends; the cookie is cleared).
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = session_cookie(&headers) {
        accounts::end_session(&state.pool, secret).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0));
    Ok(response)
}

/// Whether the caller is DPPR staff (or an admin).
pub(super) fn is_staff(caller: Option<&Caller>) -> bool {
    caller
        .and_then(|c| c.0.as_ref())
        .is_some_and(|p| matches!(p.role, Role::Staff | Role::Admin))
}

/// Lets in DPPR staff and admins (certificates, reports).
pub(super) async fn staff_only(request: Request, next: Next) -> Result<Response, ApiError> {
    let caller = request.extensions().get::<Caller>();
    match caller.and_then(|c| c.0.as_ref()) {
        None => Err(ApiError::unauthorized("sign in, or send a bearer token")),
        Some(_) if is_staff(caller) => Ok(next.run(request).await),
        Some(p) => Err(ApiError::forbidden(format!(
            "{} is a publisher: only DPPR staff may do this",
            p.name
        ))),
    }
}
