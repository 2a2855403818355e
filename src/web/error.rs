//! Every capability's errors mapped to HTTP in one place, as RFC 9457 `application/problem+json`.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::zoning::ZoningError;

/// An error answered as problem+json.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    /// A 400 with `detail`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            detail: detail.into(),
        }
    }

    /// A 404 with `detail`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            detail: detail.into(),
        }
    }

    /// An error with any status.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
        }
    }

    fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("{detail}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: "the server failed; the error is logged".into(),
        }
    }
}

impl From<ZoningError> for ApiError {
    fn from(e: ZoningError) -> Self {
        match e {
            ZoningError::BadRequest(m) => ApiError::bad_request(m),
            ZoningError::NotFound(m) => ApiError::not_found(m),
            other => ApiError::internal(other),
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// Middleware: gives every error answer a problem+json body, also those made outside the handlers
/// (unknown routes, rejected path parameters, oversized bodies, timeouts), keeping their reason.
pub async fn problem_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let reason = String::from_utf8_lossy(&body).trim().to_string();
    let detail = match status {
        _ if !reason.is_empty() => reason,
        StatusCode::NOT_FOUND => format!("there is nothing at {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not take this method"),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the 4 MiB limit".into(),
        StatusCode::SERVICE_UNAVAILABLE => "the request took longer than the 30 s limit".into(),
        other => other.canonical_reason().unwrap_or("error").to_string(),
    };
    ApiError::new(status, detail).into_response()
}
