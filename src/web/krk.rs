//! The certificates' HTTP side: applications (anyone; the applicant then reads theirs with its
//! key), the staff's queue and decisions (staff only), the PDFs, the public keys, and
//! verification by number, by uploaded PDF, or by payload and signature.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::auth::{Caller, is_staff, staff_only};
use super::http::{ApiPath, ApiQuery};
use super::ogc::Acting;
use super::{ApiError, AppState};
use crate::krk::{self, KrkError, NewApplication};
use crate::limits::LIMITS;

/// The header that carries an application's key.
const KEY_HEADER: &str = "x-application-key";

/// The `/api/v1/krk` routes.
pub fn routes(state: &AppState) -> Router<AppState> {
    let staff = Router::new()
        .route("/krk/applications", get(list))
        .route("/krk/applications/{id}/issue", post(issue))
        .route("/krk/applications/{id}/refuse", post(refuse))
        .route("/krk/applications/{id}/revoke", post(revoke))
        .route_layer(axum::middleware::from_fn(staff_only));
    let open = Router::new()
        .route(
            "/krk/applications",
            post(submit).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                super::zoning::body_slot,
            )),
        )
        .route("/krk/applications/{id}", get(read))
        .route("/krk/applications/{id}/certificate.pdf", get(pdf))
        .route("/krk/keys", get(public_keys));
    staff
        .merge(open)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// The pages and the verification routes (outside `/api/v1`).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/krk",
            get(|| super::assets::html_page(include_str!("static/krk.html"))),
        )
        .route(
            "/krk/status/{id}",
            get(|| super::assets::html_page(include_str!("static/krk-status.html"))),
        )
        .route(
            "/krk/staff",
            get(|| super::assets::html_page(include_str!("static/krk-staff.html"))),
        )
        .route("/verify", get(verify_page).post(verify_upload))
        .route("/verify/{*number}", get(verify_number))
}

impl From<KrkError> for ApiError {
    fn from(e: KrkError) -> Self {
        match e {
            KrkError::Db(e) => e.into(),
            KrkError::Zoning(e) => e.into(),
            KrkError::Input(_) => ApiError::unprocessable(e.to_string()),
            KrkError::UnknownApplication(_)
            | KrkError::UnknownCertificate(_)
            | KrkError::NotIssued(_) => ApiError::not_found(e.to_string()),
            KrkError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            KrkError::Accounts(e) => e.into(),
            KrkError::Cpu(e) => e.into(),
            KrkError::Keys(_) => {
                tracing::error!("certificate keys: {e}");
                ApiError::unavailable(
                    "certificates cannot be signed: the signing keys are not set up on this server",
                )
            }
            KrkError::Pdf(_) | KrkError::Pades(_) => {
                tracing::error!("certificate document: {e}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the certificate could not be made",
                )
            }
        }
    }
}

/// The signing keys, read from their directory (again after a rotation: each issue reads them).
fn keys(state: &AppState, fresh: bool) -> Result<Arc<krk::keys::Keys>, ApiError> {
    state.krk_keys(fresh).map_err(|e| KrkError::Keys(e).into())
}

/// Counts an application from `origin`; 429 once the address has sent its hour's share.
fn count_submission(state: &AppState, origin: &str) -> Result<(), ApiError> {
    let sent = state.krk_submissions.get(origin).unwrap_or(0);
    if sent >= LIMITS.krk_applications_per_hour {
        return Err(ApiError::too_many(
            format!(
                "{} applications came from this address within the hour; try again later",
                LIMITS.krk_applications_per_hour
            ),
            3600,
        ));
    }
    state.krk_submissions.insert(origin.to_string(), sent + 1);
    Ok(())
}

/// `POST /api/v1/krk/applications`: anyone applies; the answer carries the private link's key.
async fn submit(
    State(state): State<AppState>,
    Acting(actor): Acting,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let new = NewApplication::from_json(&body)?;
    count_submission(&state, &actor.origin)?;
    let _slot = super::zoning::heavy_slot(&state).await?;
    let snapshot = state.live.snapshot();
    let submitted =
        krk::applications::submit(&state.pool, &state.live, &snapshot, &new, &actor.origin).await?;
    let status_url = format!(
        "/krk/status/{}#key={}",
        submitted.application.id, submitted.key
    );
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "application": submitted.application,
            "key": submitted.key,
            "status_url": status_url,
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

/// An application opened by its applicant (its key, in `X-Application-Key` or `?key=`) or by DPPR
/// staff; the path's `{id}` names it.
struct Opened(krk::Application);

impl axum::extract::FromRequestParts<AppState> for Opened {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let ApiPath(id) = ApiPath::<String>::from_request_parts(parts, state).await?;
        let ApiQuery(query) = ApiQuery::<KeyQuery>::from_request_parts(parts, state).await?;
        let caller = parts.extensions.get::<Caller>();
        if is_staff(caller) {
            return Ok(Opened(krk::applications::read(&state.pool, &id).await?));
        }
        let key = parts
            .headers
            .get(KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .or(query.key.as_deref());
        let Some(key) = key else {
            let detail =
                "an application is read with its key (the private link's) or by DPPR staff";
            return Err(match caller.and_then(|c| c.0.as_ref()) {
                Some(_) => ApiError::forbidden(detail),
                None => ApiError::unauthorized(detail),
            });
        };
        let application = krk::applications::read_with_key(&state.pool, &id, key).await?;
        Ok(Opened(application))
    }
}

/// `GET /api/v1/krk/applications/{id}`.
async fn read(Opened(application): Opened) -> Response {
    (
        [(header::CACHE_CONTROL, "private, no-store")],
        Json(application),
    )
        .into_response()
}

/// `GET /api/v1/krk/applications/{id}/certificate.pdf`.
async fn pdf(
    State(state): State<AppState>,
    Opened(application): Opened,
) -> Result<Response, ApiError> {
    let stored = krk::issue::pdf_of(&state.pool, &application.id).await?;
    let file = format!("KRK-{}.pdf", stored.number.replace('/', "-"));
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{file}\""),
            ),
        ],
        stored.pdf,
    )
        .into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/krk/applications`: the queue (staff).
async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    if let Some(s) = query.status.as_deref()
        && !["submitted", "issued", "refused"].contains(&s)
    {
        return Err(ApiError::bad_request(format!(
            "status \"{s}\": submitted, issued or refused"
        )));
    }
    let limit = query.limit.unwrap_or(200).clamp(1, 1000);
    let applications = krk::applications::list(&state.pool, query.status.as_deref(), limit).await?;
    Ok((
        [(header::CACHE_CONTROL, "private, no-store")],
        Json(json!({ "applications": applications })),
    )
        .into_response())
}

/// `POST /api/v1/krk/applications/{id}/issue` (staff).
async fn issue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Acting(actor): Acting,
) -> Result<Response, ApiError> {
    let base = state.signed_base();
    let keys = keys(&state, true)?;
    let snapshot = state.live.snapshot();
    // Only the measuring takes a heavy-work slot: numbering queues on the year's counter, and a
    // slot held while waiting there would turn a burst of issues into 503s.
    let prepared = {
        let _slot = super::zoning::heavy_slot(&state).await?;
        krk::issue::prepare(&state.pool, &state.live, &snapshot, &id).await?
    };
    let issuer = krk::Issuer {
        keys: &keys,
        base_url: &base,
    };
    let issued = krk::issue::finish(&state.pool, &issuer, prepared, &actor).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

fn reason_of(body: &[u8]) -> Result<String, ApiError> {
    serde_json::from_slice::<Reason>(body)
        .map(|r| r.reason)
        .map_err(|e| ApiError::bad_request(format!("expected {{\"reason\": \"...\"}}: {e}")))
}

/// `POST /api/v1/krk/applications/{id}/refuse` (staff).
async fn refuse(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Acting(actor): Acting,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reason = reason_of(&body)?;
    let application = krk::applications::refuse(&state.pool, &id, &reason, &actor).await?;
    Ok(Json(application).into_response())
}

/// `POST /api/v1/krk/applications/{id}/revoke` (staff).
async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Acting(actor): Acting,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reason = reason_of(&body)?;
    let number = krk::issue::revoke(&state.pool, &id, &reason, &actor).await?;
    Ok(Json(json!({ "number": number, "status": "revoked" })).into_response())
}

/// `GET /api/v1/krk/keys`: the public keys (JWKS), old generations included.
async fn public_keys(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = keys(&state, false)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        keys.jwks().to_string(),
    )
        .into_response())
}

/// A verification over the server's state.
fn verifier<'a>(
    state: &'a AppState,
    snapshot: &'a crate::zoning::Snapshot,
    keys: &'a krk::keys::Keys,
) -> krk::verify::Verifier<'a> {
    krk::verify::Verifier {
        pool: &state.pool,
        live: &state.live,
        snapshot,
        keys,
        supersessions: &state.krk_supersessions,
    }
}

/// Whether `keys` hold the key `kid`.
fn knows(keys: &krk::keys::Keys, kid: &str) -> bool {
    keys.generations().iter().any(|g| g.kid().as_str() == kid)
}

/// Whether the client asked for JSON rather than the page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.starts_with("text/html"))
}

async fn verify_page() -> Response {
    super::assets::html_page(include_str!("static/verify.html")).await
}

#[derive(Deserialize)]
struct SignatureQuery {
    /// The signature a QR code carries.
    s: Option<String>,
    /// `json` for the verification whatever the `Accept`.
    f: Option<String>,
}

/// `GET /verify/{number}`: the page, or to `Accept: application/json` the verification.
async fn verify_number(
    State(state): State<AppState>,
    Path(number): Path<String>,
    ApiQuery(query): ApiQuery<SignatureQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if query.f.as_deref() != Some("json") && !wants_json(&headers) {
        let mut response = verify_page().await;
        response
            .headers_mut()
            .insert(header::VARY, header::HeaderValue::from_static("Accept"));
        return Ok(response);
    }
    let _slot = super::zoning::heavy_slot(&state).await?;
    let snapshot = state.live.snapshot();
    let mut keys = keys(&state, false)?;
    let mut verification = verifier(&state, &snapshot, &keys)
        .by_number(&number, query.s.as_deref())
        .await?;
    // Signed by a key this server has not read yet (rotated elsewhere): read them again.
    if !verification.authentic && !knows(&keys, &verification.key_id) {
        keys = self::keys(&state, true)?;
        verification = verifier(&state, &snapshot, &keys)
            .by_number(&number, query.s.as_deref())
            .await?;
    }
    Ok((
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "Accept"),
        ],
        Json(verification),
    )
        .into_response())
}

/// `POST /verify`: an uploaded PDF (multipart field `file`, or the body as `application/pdf`), or
/// a payload with its signature (`{"payload", "signature", "key_id"}`).
async fn verify_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let keys = keys(&state, false)?;
    if content_type.starts_with("application/json") {
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|_| ApiError::bad_request("the body could not be read"))?;
        return verify_payload(&keys, &body);
    }
    let pdf = if content_type.starts_with("multipart/form-data") {
        use axum::extract::FromRequest;
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the form could not be read: {e}")))?;
        file_field(&mut multipart).await?
    } else if content_type.starts_with("application/pdf") {
        axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|_| ApiError::bad_request("the body could not be read"))?
            .to_vec()
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the PDF as multipart/form-data (field \"file\") or application/pdf, or a \
             payload as application/json",
        ));
    };
    if !pdf.starts_with(b"%PDF-") {
        return Err(ApiError::unprocessable("the file is not a PDF"));
    }
    let _slot = super::zoning::heavy_slot(&state).await?;
    let snapshot = state.live.snapshot();
    let found = verifier(&state, &snapshot, &keys).by_pdf(&pdf).await?;
    Ok(Json(match found {
        Some(verification) => json!({ "authentic": true, "verification": verification }),
        None => json!({
            "authentic": false,
            "reason": "this file is not a certificate the city issued, or it was changed after issue",
        }),
    })
    .into_response())
}

async fn file_field(multipart: &mut Multipart) -> Result<Vec<u8>, ApiError> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("the form could not be read: {e}")))?
    {
        if field.name() == Some("file") {
            return Ok(field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(format!("the file could not be read: {e}")))?
                .to_vec());
        }
    }
    Err(ApiError::bad_request("the form has no field \"file\""))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedPayload {
    payload: serde_json::Value,
    signature: String,
    key_id: String,
}

fn verify_payload(keys: &krk::keys::Keys, body: &[u8]) -> Result<Response, ApiError> {
    let signed: SignedPayload = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"payload\": {{...}}, \"signature\": \"...\", \"key_id\": \"...\"}}: {e}"
        ))
    })?;
    let authentic =
        krk::verify::check_payload(keys, &signed.payload, &signed.key_id, &signed.signature)?;
    Ok(Json(if authentic {
        json!({ "authentic": true, "key_id": signed.key_id })
    } else {
        json!({
            "authentic": false,
            "reason": "the signature does not sign this content with that key: the content was changed, or it was not signed by the city",
        })
    })
    .into_response())
}
