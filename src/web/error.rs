//! Every capability's errors mapped to HTTP in one place, as RFC 9457 `application/problem+json`.
//!
//! One rule for 5xx: the detail is logged and the client gets a generic message, except where the
//! client can act on it (503 with `Retry-After`: the database or the server is busy).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::limits::LIMITS;
use crate::tiles::TilesError;
use crate::zoning::{ParcelError, ZoningError};

/// An error answered as problem+json.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    /// Seconds for `Retry-After` (503 only).
    retry_after: Option<u64>,
    /// Whether to ask for credentials (`WWW-Authenticate`, 401 only).
    challenge: bool,
}

impl ApiError {
    /// An error with any status and a detail a person can read.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
            challenge: false,
        }
    }

    /// A 401 asking for a bearer token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError {
            challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, detail)
        }
    }

    /// A 429 with `Retry-After`: too many attempts; `seconds` until the next is heard.
    pub fn too_many(detail: impl Into<String>, seconds: u64) -> Self {
        ApiError {
            retry_after: Some(seconds),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }

    /// A 403: known, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// A 400 with `detail`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// A 404 with `detail`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// A 422 with `detail`: the request is well formed but asks for more than the limits allow.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// A 503 with `Retry-After`: the client may try again shortly.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(LIMITS.retry_after_s),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }

    /// A 500: the detail is logged, the client reads a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("{detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed; the error is logged",
        )
    }

    /// What is wrong, as the client reads it.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The answer to a database error: 503 with `Retry-After` when the database is unreachable,
/// restarting, out of connections or too slow; 500 otherwise.
fn database(e: sqlx::Error) -> ApiError {
    use sqlx::Error;
    match &e {
        Error::PoolTimedOut => ApiError::unavailable(format!(
            "the database gave no connection within {} s (busy or unreachable)",
            LIMITS.db_acquire_s
        )),
        Error::Io(_) | Error::Tls(_) | Error::PoolClosed | Error::WorkerCrashed => {
            tracing::warn!("database unreachable: {e}");
            ApiError::unavailable("the database is unreachable")
        }
        Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.as_ref() {
                // Asked again, the same request would take as long: no `Retry-After`.
                "57014" => ApiError {
                    retry_after: None,
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "the database took longer than the {} s limit for this request; ask \
                             for less (a smaller bbox, fewer versions, a narrower filter)",
                            LIMITS.statement_s
                        ),
                    )
                },
                "57P01" | "57P02" | "57P03" | "53300" | "53400" => {
                    tracing::warn!("database unavailable: {e}");
                    ApiError::unavailable("the database is restarting or has no connection left")
                }
                c if c.starts_with("08") => {
                    tracing::warn!("database connection failed: {e}");
                    ApiError::unavailable("the database is unreachable")
                }
                _ => ApiError::internal(e),
            }
        }
        _ => ApiError::internal(e),
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        database(e)
    }
}

impl From<ParcelError> for ApiError {
    fn from(e: ParcelError) -> Self {
        match e {
            ParcelError::TooManyVertices { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            ParcelError::NotJson(_) | ParcelError::Shape(_) => ApiError::bad_request(e.to_string()),
            ParcelError::TooLarge { .. }
            | ParcelError::TooWide { .. }
            | ParcelError::Ring { .. }
            | ParcelError::Empty
            | ParcelError::Invalid(_)
            | ParcelError::NoArea => ApiError::unprocessable(e.to_string()),
        }
    }
}

impl From<ZoningError> for ApiError {
    fn from(e: ZoningError) -> Self {
        match e {
            ZoningError::Coordinates { .. }
            | ZoningError::UnknownKbli(_)
            | ZoningError::BadDay(_) => ApiError::bad_request(e.to_string()),
            ZoningError::NotCovered { .. }
            | ZoningError::NothingInForce { .. }
            | ZoningError::NoVersionInForce(_)
            | ZoningError::NotOfPlan { .. }
            | ZoningError::NoItbxCell { .. }
            | ZoningError::UnknownVersion(_) => ApiError::not_found(e.to_string()),
            ZoningError::NotOnParcel { .. } => ApiError::unprocessable(e.to_string()),
            ZoningError::Parcel(p) => p.into(),
            ZoningError::Sql(e) => database(e),
            ZoningError::Rules(crate::rules::RulesError::Sql(e)) => database(e),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        match e {
            AccountError::Sql(e) => database(e),
            AccountError::Invalid(_) | AccountError::UnknownAgency(_) | AccountError::Exists(_) => {
                ApiError::bad_request(e.to_string())
            }
            AccountError::UnknownAccount(_) | AccountError::UnknownToken(_) => {
                ApiError::not_found(e.to_string())
            }
            AccountError::Hash(_) => ApiError::internal(e),
        }
    }
}

impl From<TilesError> for ApiError {
    fn from(e: TilesError) -> Self {
        match e {
            TilesError::OutOfRange(_) | TilesError::UnknownLayer(_) => {
                ApiError::not_found(e.to_string())
            }
            TilesError::Cpu(e) => e.into(),
            TilesError::Sql(e) => database(e),
            TilesError::Zoning(e) => e.into(),
            TilesError::Unavailable(detail) => ApiError::unavailable(detail),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::cpu::CpuError> for ApiError {
    fn from(e: crate::cpu::CpuError) -> Self {
        match e {
            crate::cpu::CpuError::Busy => ApiError::unavailable(e.to_string()),
            crate::cpu::CpuError::Failed(_) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        // The id the logs know the request by (RFC 9457 extension member).
        if let Some(id) = super::observe::current_request_id() {
            body["request_id"] = id.into();
        }
        let mut response = (
            self.status,
            [
                (header::CONTENT_TYPE, "application/problem+json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body.to_string(),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"satupeta\""),
            );
        }
        response
    }
}

impl From<crate::features::FeaturesError> for ApiError {
    fn from(e: crate::features::FeaturesError) -> Self {
        use crate::features::FeaturesError;
        match e {
            FeaturesError::Db(e) => database(e),
            FeaturesError::Accounts(e) => e.into(),
            FeaturesError::Parameter { .. }
            | FeaturesError::UnknownParameter(_)
            | FeaturesError::Unsupported(_)
            | FeaturesError::InvalidFeature(_) => ApiError::bad_request(e.to_string()),
            FeaturesError::NotFound(_) => ApiError::not_found(e.to_string()),
            FeaturesError::Changed(_) => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, e.to_string())
            }
        }
    }
}

impl From<crate::catalog::CatalogError> for ApiError {
    fn from(e: crate::catalog::CatalogError) -> Self {
        use crate::catalog::CatalogError;
        match e {
            CatalogError::Db(e) => database(e),
            CatalogError::Accounts(e) => e.into(),
            CatalogError::UnknownDataset(_) => ApiError::not_found(e.to_string()),
            CatalogError::Invalid(_) | CatalogError::Upload(_) => {
                ApiError::unprocessable(e.to_string())
            }
            CatalogError::Forbidden(_) => ApiError::forbidden(e.to_string()),
            CatalogError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        }
    }
}
