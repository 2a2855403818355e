//! Who is asking, and what they may read: a bearer token is resolved to its account before any
//! handler (the [`Caller`] extension), and the access rules of a route group are middleware
//! ([`signed_in`], [`admin_only`]), never checks inside handlers.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
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
    me.merge(audit)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identify,
        ))
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
async fn identify(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = match bearer(request.headers())? {
        None => None,
        Some(token) => Some(
            accounts::authenticate(&state.pool, token)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "the bearer token is not valid: unknown, revoked, or its account disabled",
                    )
                })?,
        ),
    };
    request.extensions_mut().insert(Caller(caller));
    Ok(next.run(request).await)
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
