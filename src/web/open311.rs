//! Open311 GeoReport v2 at `/open311/v2/`: `discovery`, `services`, `services/{code}`,
//! `requests` (GET with the standard filters and the common `page`/`page_size` extension; POST
//! with an API key), `requests/{id}` and `tokens/{token}`, each in JSON or XML by the path's
//! extension. Errors are GeoReport's own list of `{code, description}` in the same format.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Duration as Days, FixedOffset};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::http::{ApiPath, ApiQuery, BaseUrl};
use super::ogc::Acting;
use super::reports::ReportForm;
use super::{ApiError, AppState};
use crate::reports::open311::{self, Format};
use crate::reports::store::{self, Filter};
use crate::reports::{Source, apikeys, wita};

/// The read routes (the POST is among the report uploads: [`post_request`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(document))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

/// Gives the errors made outside the Open311 handlers (the rate limit, the body limits and slots,
/// the request line's limits, an unknown method) GeoReport's form in the path's format, keeping
/// their status and headers (`Retry-After`, CORS).
pub async fn georeport_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    // Errors already in GeoReport's form are JSON or XML; anything else is converted.
    let georeport = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/xml")
        });
    let error = response.status().is_client_error() || response.status().is_server_error();
    if !path.starts_with("/open311/") || !error || georeport {
        return response;
    }
    let format = path
        .rsplit('/')
        .next()
        .and_then(Format::of)
        .map_or(Format::Json, |(_, f)| f);
    let (mut parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, 64 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["detail"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            parts
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_string()
        });
    let body = open311::render(
        &open311::errors_document(parts.status.as_u16(), &detail),
        format,
        "errors",
    );
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// An Open311 answer or error, in the path's format.
struct Answer {
    format: Format,
    status: StatusCode,
    root: &'static str,
    document: Value,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let body = open311::render(&self.document, self.format, self.root);
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.format.content_type()),
            )],
            body,
        )
            .into_response()
    }
}

/// An error in GeoReport's form (with the `Retry-After` of a 503 or 429 kept).
fn error(format: Format, e: ApiError) -> Response {
    let status = e.status();
    let mut response = Answer {
        format,
        status,
        root: "errors",
        document: open311::errors_document(status.as_u16(), e.detail()),
    }
    .into_response();
    if matches!(
        status,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
    ) {
        let retry = e
            .into_response()
            .headers()
            .get(header::RETRY_AFTER)
            .cloned();
        if let Some(retry) = retry {
            response.headers_mut().insert(header::RETRY_AFTER, retry);
        }
    }
    response
}

/// The name and format of a path's last segment; JSON errors when it has no known extension.
fn split(file: &str) -> Result<(&str, Format), ApiError> {
    Format::of(file).ok_or_else(|| {
        ApiError::not_found(format!(
            "{file} names no format: add .json or .xml, e.g. services.json"
        ))
    })
}

fn ok(format: Format, root: &'static str, document: Value) -> Response {
    Answer {
        format,
        status: StatusCode::OK,
        root,
        document,
    }
    .into_response()
}

/// The filters of `GET /requests`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
    jurisdiction_id: Option<String>,
    /// Some clients send their key with every call; reads need none.
    #[serde(rename = "api_key")]
    _api_key: Option<String>,
    page: Option<i64>,
    page_size: Option<i64>,
}

/// The parameters every other read takes: the jurisdiction (this one, or none) and a client's
/// key, which reads need not and which is ignored.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    jurisdiction_id: Option<String>,
    #[serde(rename = "api_key")]
    _api_key: Option<String>,
}

/// Refuses a jurisdiction other than this endpoint's.
fn check_jurisdiction(jurisdiction: Option<&str>) -> Result<(), ApiError> {
    match jurisdiction {
        Some(j) if j != super::reports::JURISDICTION => Err(ApiError::bad_request(format!(
            "jurisdiction_id \"{j}\" is not served here; this endpoint serves {}",
            super::reports::JURISDICTION
        ))),
        _ => Ok(()),
    }
}

/// The longest span of `start_date` to `end_date`, and the default span before now.
const SPAN_DAYS: i64 = 90;
/// Requests a page holds by default.
const PAGE_SIZE: i64 = 200;

/// A W3C date and time; one without a zone, or a bare day (its start), is Balikpapan time.
fn parse_date(name: &str, text: &str) -> Result<DateTime<FixedOffset>, ApiError> {
    let text = text.trim();
    let local = |naive: chrono::NaiveDateTime| naive.and_local_timezone(wita()).single();
    DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .and_then(local)
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(local)
        })
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} \"{text}\" is not a W3C date and time, like 2026-11-01T00:00:00+08:00"
            ))
        })
}

impl RequestsQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        check_jurisdiction(self.jurisdiction_id.as_deref())?;
        let page_size = self.page_size.unwrap_or(PAGE_SIZE);
        if !(1..=store::PAGE_MAX).contains(&page_size) {
            return Err(ApiError::bad_request(format!(
                "page_size is from 1 to {}",
                store::PAGE_MAX
            )));
        }
        let page = self.page.unwrap_or(1);
        if page < 1 {
            return Err(ApiError::bad_request("page counts from 1"));
        }
        let offset = (page - 1).saturating_mul(page_size);
        if offset > store::OFFSET_MAX {
            return Err(ApiError::bad_request(format!(
                "page {page} of {page_size} starts past the {}th request; narrow the dates or the services",
                store::OFFSET_MAX
            )));
        }
        let paging = Filter {
            limit: page_size,
            offset,
            ..Filter::default()
        };
        // A list of ids overrides every other filter (GeoReport v2).
        if let Some(ids) = &self.service_request_id {
            let ids: Vec<i64> = ids
                .split(',')
                .map(|id| {
                    id.trim().parse::<i64>().map_err(|_| {
                        ApiError::bad_request(format!(
                            "service_request_id \"{id}\" is not a request id"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            if ids.len() > 100 {
                return Err(ApiError::bad_request(
                    "at most 100 service_request_id at once",
                ));
            }
            return Ok(Filter {
                ids: Some(ids),
                ..paging
            });
        }
        let now = chrono::Utc::now().with_timezone(&wita());
        let start = self
            .start_date
            .as_deref()
            .map(|t| parse_date("start_date", t))
            .transpose()?;
        let end = self
            .end_date
            .as_deref()
            .map(|t| parse_date("end_date", t))
            .transpose()?;
        let span = Days::days(SPAN_DAYS);
        let (from, until) = match (start, end) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, s + span),
            (None, Some(e)) => (e - span, e),
            (None, None) => (now - span, now),
        };
        if until < from {
            return Err(ApiError::bad_request("end_date is before start_date"));
        }
        if until - from > span {
            return Err(ApiError::bad_request(format!(
                "start_date to end_date spans more than {SPAN_DAYS} days"
            )));
        }
        let statuses = match self.status.as_deref() {
            None => None,
            Some(list) => {
                let mut out = Vec::new();
                for s in list.split(',').map(str::trim) {
                    match s {
                        "open" => out.extend(["submitted", "verified", "in_progress"]),
                        "closed" => out.extend(["resolved", "rejected", "duplicate"]),
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "status \"{other}\" is not open or closed"
                            )));
                        }
                    }
                }
                Some(out.into_iter().map(String::from).collect())
            }
        };
        Ok(Filter {
            service_codes: self
                .service_code
                .as_ref()
                .map(|c| c.split(',').map(|s| s.trim().to_string()).collect()),
            from: Some(from),
            until: Some(until),
            statuses,
            ..paging
        })
    }
}

/// `GET /discovery.{fmt}`, `/services.{fmt}`, `/requests.{fmt}`.
async fn document(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    ApiPath(file): ApiPath<String>,
    query: Result<ApiQuery<RequestsQuery>, ApiError>,
) -> Response {
    let (name, format) = match split(&file) {
        Ok(split) => split,
        Err(e) => return error(Format::Json, e),
    };
    let answer = async {
        let ApiQuery(query) = query?;
        match name {
            "discovery" | "services" => check_jurisdiction(query.jurisdiction_id.as_deref())?,
            _ => {}
        }
        match name {
            "discovery" => Ok(ok(format, "discovery", open311::discovery_document(&base))),
            "services" => Ok(ok(format, "services", open311::services_document())),
            "requests" => {
                let filter = query.filter()?;
                let reports = store::list(&state.pool, &filter, false).await?;
                let list: Vec<Value> = reports
                    .iter()
                    .map(|r| open311::request_document(&r.public, &base))
                    .collect();
                Ok(ok(format, "service_requests", Value::Array(list)))
            }
            other => Err(ApiError::not_found(format!(
                "there is no Open311 document {other}; there are discovery, services and requests"
            ))),
        }
    };
    answer.await.unwrap_or_else(|e| error(format, e))
}

/// `GET /services/{code}.{fmt}`.
async fn service_definition(
    ApiPath(file): ApiPath<String>,
    query: Result<ApiQuery<ReadQuery>, ApiError>,
) -> Response {
    let (code, format) = match split(&file) {
        Ok(split) => split,
        Err(e) => return error(Format::Json, e),
    };
    if let Err(e) = query.and_then(|ApiQuery(q)| check_jurisdiction(q.jurisdiction_id.as_deref())) {
        return error(format, e);
    }
    match open311::service(code) {
        Some(service) => ok(
            format,
            "service_definition",
            open311::definition_document(service),
        ),
        None => error(
            format,
            ApiError::not_found(format!("there is no service \"{code}\"")),
        ),
    }
}

/// `GET /requests/{id}.{fmt}`.
async fn one_request(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    ApiPath(file): ApiPath<String>,
    query: Result<ApiQuery<ReadQuery>, ApiError>,
) -> Response {
    let (id, format) = match split(&file) {
        Ok(split) => split,
        Err(e) => return error(Format::Json, e),
    };
    let answer = async {
        let ApiQuery(query) = query?;
        check_jurisdiction(query.jurisdiction_id.as_deref())?;
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::not_found(format!("there is no request {id}")))?;
        let report = store::read(&state.pool, id, false).await?;
        Ok::<_, ApiError>(ok(
            format,
            "service_requests",
            json!([open311::request_document(&report.public, &base)]),
        ))
    };
    answer.await.unwrap_or_else(|e| error(format, e))
}

/// `GET /tokens/{token}.{fmt}`.
async fn token(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    query: Result<ApiQuery<ReadQuery>, ApiError>,
) -> Response {
    let (token, format) = match split(&file) {
        Ok(split) => split,
        Err(e) => return error(Format::Json, e),
    };
    if let Err(e) = query.and_then(|ApiQuery(q)| check_jurisdiction(q.jurisdiction_id.as_deref())) {
        return error(format, e);
    }
    match store::by_token(&state.pool, token).await {
        Ok(id) => ok(
            format,
            "service_requests",
            json!([{ "service_request_id": id.to_string(), "token": token }]),
        ),
        Err(e) => error(format, e.into()),
    }
}

/// `POST /requests.{fmt}`: a report from an Open311 client, with its API key.
pub(super) async fn post_request(
    State(state): State<AppState>,
    Acting(actor): Acting,
    _caller: Option<Extension<Caller>>,
    ApiPath(file): ApiPath<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    form: Result<ReportForm, ApiError>,
) -> Response {
    let (name, format) = match split(&file) {
        Ok(split) => split,
        Err(e) => return error(Format::Json, e),
    };
    let answer = async {
        if name != "requests" {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{name} does not take POST; requests does"),
            ));
        }
        let form = form?;
        // The key in the form, as GeoReport says, or in the query, as some clients send it.
        let in_query = query
            .as_deref()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "api_key"));
        let key = form
            .fields
            .iter()
            .find(|(k, _)| k == "api_key")
            .cloned()
            .or(in_query)
            .map(|(_, v)| v.trim().to_string())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::forbidden(
                    "api_key is required to post requests; DPPR issues keys to client applications",
                )
            })?;
        let client = apikeys::client(&state.pool, &key)
            .await?
            .ok_or_else(|| ApiError::forbidden("the api_key is not valid (unknown or revoked)"))?;
        let new = form.into_report(Source::Open311(client), actor.origin)?;
        let snapshot = state.live.snapshot();
        let submitted = store::submit(&state.pool, &state.reports, &snapshot, &new).await?;
        Ok(ok(
            format,
            "service_requests",
            json!([{
                "service_request_id": submitted.id.to_string(),
                "token": submitted.token,
                "service_notice": submitted.notice,
                "account_id": Value::Null,
            }]),
        ))
    };
    let mut response = answer.await.unwrap_or_else(|e| error(format, e));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
