//! The reports' HTTP side under `/api/v1/reports`: filing one from the map (multipart with
//! photos, rate-limited per client address), the public list, one report with its public history
//! and photos, the open reports nearby, following one; for staff, status changes, the overdue
//! list and the exports; the reports as vector tiles; and the pages (the report form, a report's
//! public page, the staff's triage page). The Open311 endpoints are in [`super::open311`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_governor::GovernorLayer;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::PeerIpKeyExtractor;

use super::auth::{Caller, is_staff, staff_only};
use super::http::{ApiPath, ApiQuery};
use super::ogc::Acting;
use super::{ApiError, AppState};
use crate::limits::LIMITS;
use crate::reports::store::{self, Filter};
use crate::reports::tiles::Audience;
use crate::reports::{Contact, NewReport, ReportError, Source, StatusChange};

/// The report rate limiter's settings: per client address, no extra headers.
pub(super) type RateConfig =
    GovernorConfig<PeerIpKeyExtractor, governor::middleware::NoOpMiddleware>;

/// How often a client address may file reports: a burst, then one per period; and how many
/// report bodies it may send at once.
#[derive(Debug, Clone, Copy)]
pub struct ReportRate {
    /// Reports at once.
    pub burst: u32,
    /// Then one per this long.
    pub every: Duration,
    /// Report bodies one address sends at once at most.
    pub uploads: usize,
}

impl Default for ReportRate {
    fn default() -> Self {
        ReportRate {
            burst: LIMITS.report_burst,
            every: Duration::from_secs(LIMITS.report_every_s),
            uploads: UPLOADS_PER_ADDRESS,
        }
    }
}

impl ReportRate {
    /// Reads `BURST/SECONDS` (`10/30`: ten at once, then one every 30 s).
    pub fn parse(text: &str) -> Result<Self, String> {
        let wrong = || format!("\"{text}\" is not BURST/SECONDS, e.g. 10/30");
        let (burst, seconds) = text.split_once('/').ok_or_else(wrong)?;
        let burst: u32 = burst.trim().parse().map_err(|_| wrong())?;
        let seconds: f64 = seconds.trim().parse().map_err(|_| wrong())?;
        if burst == 0 || !(seconds > 0.0 && seconds <= 86_400.0) {
            return Err(wrong());
        }
        Ok(ReportRate {
            burst,
            every: Duration::from_secs_f64(seconds),
            ..ReportRate::default()
        })
    }

    /// The rate limiter's settings (per client address).
    pub(super) fn config(self) -> Arc<RateConfig> {
        Arc::new(
            GovernorConfigBuilder::default()
                .period(self.every)
                .burst_size(self.burst)
                .finish()
                .expect("a burst above zero and a period above zero"),
        )
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        use crate::reports::photos::PhotoError;
        match e {
            ReportError::Db(e) => e.into(),
            ReportError::Cpu(e) => e.into(),
            ReportError::Input(_) | ReportError::OutsideCity { .. } => {
                ApiError::unprocessable(e.to_string())
            }
            ReportError::UnknownService(_) => ApiError::bad_request(e.to_string()),
            ReportError::Photo {
                source: PhotoError::TooLarge { .. },
                ..
            } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
            ReportError::Photo { .. } => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string())
            }
            ReportError::Unknown(_) => ApiError::not_found(e.to_string()),
            ReportError::Illegal(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            ReportError::Holidays(_) => ApiError::internal(e),
        }
    }
}

/// The routes that take a report's body (photos: larger than other bodies): the map's form and
/// Open311's `POST /requests`, rate-limited per client address, each body read in a slot of its
/// own at the least rate.
pub fn upload_routes(state: &AppState) -> Router<AppState> {
    let governor = GovernorLayer::new(state.report_rate.clone()).error_handler(|e| {
        let seconds = match &e {
            tower_governor::GovernorError::TooManyRequests { wait_time, .. } => *wait_time,
            _ => LIMITS.retry_after_s,
        };
        ApiError::too_many(
            format!(
                "too many reports from this address; the next is taken in {seconds} s (at most {} at once, then one every {} s)",
                LIMITS.report_burst, LIMITS.report_every_s
            ),
            seconds.max(1),
        )
        .into_response()
    });
    Router::new()
        .route("/api/v1/reports", post(submit))
        .route("/api/v1/reports/{id}/follow", post(follow))
        .route("/open311/v2/{file}", post(super::open311::post_request))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            report_body_slot,
        ))
        .route_layer(governor)
        .layer(axum::extract::DefaultBodyLimit::max(LIMITS.report_bytes))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// Report bodies one client address sends at once at most: the slots are shared, and one address
/// must not hold them all with slow uploads.
const UPLOADS_PER_ADDRESS: usize = 2;

/// The report bodies being received, by client address, and how many one address may send at once.
pub(super) struct Uploaders {
    at_once: usize,
    by_address: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// An address's place among the uploaders, given back when dropped.
struct Uploading<'a> {
    uploaders: &'a Uploaders,
    address: std::net::IpAddr,
}

impl Uploaders {
    pub(super) fn new(at_once: usize) -> Self {
        Uploaders {
            at_once: at_once.max(1),
            by_address: std::sync::Mutex::default(),
        }
    }

    fn enter(&self, address: std::net::IpAddr) -> Option<Uploading<'_>> {
        let mut map = self
            .by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = map.entry(address).or_insert(0);
        if *count >= self.at_once {
            return None;
        }
        *count += 1;
        Some(Uploading {
            uploaders: self,
            address,
        })
    }
}

impl Drop for Uploading<'_> {
    fn drop(&mut self) {
        let mut map = self
            .uploaders
            .by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Reads a report's body in one of the report slots (apart from the parcels' bodies), at most
/// [`ReportRate::uploads`] at once per client address.
async fn report_body_slot(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let address = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let _place = match address.map(|a| state.report_uploaders.enter(a)) {
        Some(None) => {
            return ApiError::too_many(
                format!(
                    "{} reports from this address are being received; send the next when they are done",
                    state.report_uploaders.at_once
                ),
                LIMITS.retry_after_s,
            )
            .into_response();
        }
        Some(Some(place)) => Some(place),
        None => None,
    };
    let slots = (&state.report_bodies, LIMITS.report_concurrency);
    super::zoning::read_in_slot(slots, LIMITS.report_bytes, request, next).await
}

/// The other routes under `/api/v1`.
pub fn routes(state: &AppState) -> Router<AppState> {
    let staff = Router::new()
        .route("/reports/{id}/status", post(change_status))
        .route("/reports/overdue", get(overdue))
        .route("/reports/export.geojson", get(export_geojson))
        .route("/reports/export.csv", get(export_csv))
        .route_layer(axum::middleware::from_fn(staff_only));
    let open = Router::new()
        .route("/reports", get(list))
        .route("/reports/nearby", get(nearby))
        .route("/reports/areas", get(areas))
        .route("/reports/{id}", get(read))
        .route("/reports/{id}/photos/{file}", get(photo));
    staff
        .merge(open)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// The report tiles: `/tiles/reports/{z}/{x}/{y}.mvt` (public pins) and
/// `/tiles/reports-staff/...` (staff).
pub fn tile_routes(state: &AppState) -> Router<AppState> {
    let staff = Router::new()
        .route("/tiles/reports-staff/{z}/{x}/{file}", get(staff_tile))
        .route_layer(axum::middleware::from_fn(staff_only));
    Router::new()
        .route("/tiles/reports/{z}/{x}/{file}", get(public_tile))
        .merge(staff)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::identify,
        ))
}

/// The pages: the report form, a report's public page, the staff's triage page.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/lapor",
            get(|| super::assets::html_page(include_str!("static/lapor.html"))),
        )
        .route(
            "/lapor/{id}",
            get(|| super::assets::html_page(include_str!("static/lapor-status.html"))),
        )
        .route(
            "/reports/staff",
            get(|| super::assets::html_page(include_str!("static/reports-staff.html"))),
        )
}

/// A report form's fields and files, from `multipart/form-data` or
/// `application/x-www-form-urlencoded` (Open311 clients send either).
pub(super) struct ReportForm {
    /// Text fields in order.
    pub fields: Vec<(String, String)>,
    /// The photos (`media`, `photo` or any file part).
    pub files: Vec<bytes::Bytes>,
}

/// Fields a form has at most.
const FORM_FIELDS: usize = 60;
/// Bytes of a form without photos, and of one text field of a multipart form, at most.
const FORM_TEXT_BYTES: usize = 64 * 1024;

impl FromRequest<AppState> for ReportForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let bytes = axum::body::Bytes::from_request(request, state)
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
            // Counted and bounded before anything is parsed: a form carries no photo.
            if bytes.len() > FORM_TEXT_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "a form without photos has at most {} KiB; photos go as multipart/form-data",
                        FORM_TEXT_BYTES / 1024
                    ),
                ));
            }
            if bytes.iter().filter(|b| **b == b'&').count() >= FORM_FIELDS {
                return Err(too_many_fields());
            }
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| ApiError::bad_request(format!("the form cannot be read: {e}")))?;
            if fields.len() > FORM_FIELDS {
                return Err(too_many_fields());
            }
            return Ok(ReportForm {
                fields,
                files: Vec::new(),
            });
        }
        if !content_type.starts_with("multipart/form-data") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the report as multipart/form-data (with photos) or application/x-www-form-urlencoded",
            ));
        }
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let mut form = ReportForm {
            fields: Vec::new(),
            files: Vec::new(),
        };
        let broken = |e: axum::extract::multipart::MultipartError| {
            ApiError::bad_request(format!(
                "the multipart body cannot be read: {}",
                e.body_text()
            ))
        };
        while let Some(field) = multipart.next_field().await.map_err(broken)? {
            if form.fields.len() + form.files.len() >= FORM_FIELDS {
                return Err(too_many_fields());
            }
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_some() || matches!(name.as_str(), "media" | "photo") {
                let bytes = field.bytes().await.map_err(broken)?;
                // A file input left empty sends an empty part: nothing was chosen.
                if !bytes.is_empty() {
                    form.files.push(bytes);
                }
            } else {
                let bytes = field.bytes().await.map_err(broken)?;
                if bytes.len() > FORM_TEXT_BYTES {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "the field {name} has more than {} KiB",
                            FORM_TEXT_BYTES / 1024
                        ),
                    ));
                }
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::bad_request(format!("the field {name} is not UTF-8 text"))
                })?;
                form.fields.push((name, text));
            }
        }
        Ok(form)
    }
}

fn too_many_fields() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("a report form has at most {FORM_FIELDS} fields"),
    )
}

/// The fields of a report form, besides `attribute[...]` and the Open311 client's `api_key`.
const FIELDS: &[&str] = &[
    "service_code",
    "lat",
    "long",
    "description",
    "address_string",
    "address_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "device_id",
    "account_id",
    "media_url",
    "jurisdiction_id",
    "api_key",
];

/// The jurisdiction of this endpoint (Open311's `jurisdiction_id`, optional).
pub(super) const JURISDICTION: &str = "balikpapan.go.id";

impl ReportForm {
    /// The report the form describes; an unknown or repeated field, a missing point or a
    /// `media_url` (photos are uploaded, never fetched) is named.
    pub(super) fn into_report(self, source: Source, origin: String) -> Result<NewReport, ApiError> {
        let mut single: BTreeMap<&str, String> = BTreeMap::new();
        let mut attributes = BTreeMap::new();
        for (name, value) in &self.fields {
            if let Some(code) = name
                .strip_prefix("attribute[")
                .and_then(|c| c.strip_suffix(']'))
            {
                attributes.insert(code.to_string(), value.clone());
                continue;
            }
            let Some(known) = FIELDS.iter().find(|f| **f == name) else {
                return Err(ApiError::bad_request(format!(
                    "the form has a field \"{}\" that reports do not take; they take {} and attribute[CODE]",
                    name.chars().take(60).collect::<String>(),
                    FIELDS.join(", ")
                )));
            };
            if single.insert(known, value.clone()).is_some() {
                return Err(ApiError::bad_request(format!(
                    "the field {name} is given twice"
                )));
            }
        }
        let mut take = |name: &str| single.remove(name).filter(|v| !v.trim().is_empty());
        if take("media_url").is_some() {
            return Err(ApiError::bad_request(
                "media_url is not taken: the server does not fetch photos from elsewhere; upload them as `media` parts of a multipart/form-data request",
            ));
        }
        if let Some(j) = take("jurisdiction_id")
            && j != JURISDICTION
        {
            return Err(ApiError::bad_request(format!(
                "jurisdiction_id \"{j}\" is not served here; this endpoint serves {JURISDICTION}"
            )));
        }
        let _ = take("api_key");
        let coordinate = |name: &str, value: Option<String>| -> Result<f64, ApiError> {
            let value = value.ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name} is required: a report is located by lat and long (WGS 84); address_string alone is not enough"
                ))
            })?;
            value.trim().parse::<f64>().map_err(|_| {
                ApiError::bad_request(format!("{name} \"{value}\" is not a number of degrees"))
            })
        };
        let lat = coordinate("lat", take("lat"))?;
        let lon = coordinate("long", take("long"))?;
        let service_code = take("service_code")
            .ok_or_else(|| ApiError::bad_request("service_code is required"))?;
        let _ = take("address_id");
        Ok(NewReport {
            service_code: service_code.trim().to_string(),
            lon,
            lat,
            description: take("description").unwrap_or_default(),
            address: take("address_string"),
            attributes,
            contact: Contact {
                email: take("email"),
                first_name: take("first_name"),
                last_name: take("last_name"),
                phone: take("phone"),
                device_id: take("device_id"),
                account_id: take("account_id"),
            },
            photos: self.files,
            source,
            origin,
        })
    }
}

/// `POST /api/v1/reports`: a report from the citizen map.
async fn submit(
    State(state): State<AppState>,
    Acting(actor): Acting,
    form: ReportForm,
) -> Result<Response, ApiError> {
    if form.fields.iter().any(|(name, _)| name == "api_key") {
        return Err(ApiError::bad_request(
            "api_key belongs to Open311 clients: POST /open311/v2/requests.json",
        ));
    }
    let new = form.into_report(Source::Web, actor.origin)?;
    let snapshot = state.live.snapshot();
    let submitted = store::submit(&state.pool, &state.reports, &snapshot, &new).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "id": submitted.id,
            "token": submitted.token,
            "verify_by": submitted.verify_by,
            "notice": submitted.notice,
            "status_url": format!("/lapor/{}", submitted.id),
        })),
    )
        .into_response())
}

/// The query of a list: filters, a page.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    bbox: Option<String>,
    service_code: Option<String>,
    status: Option<String>,
    kecamatan: Option<String>,
    overdue: Option<bool>,
    limit: Option<i64>,
    offset: Option<i64>,
}

impl ListQuery {
    fn filter(&self, staff: bool, default_limit: i64) -> Result<Filter, ApiError> {
        let list = |v: &Option<String>| {
            v.as_ref().map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
        };
        let statuses = list(&self.status);
        if let Some(bad) = statuses.iter().flatten().find(|s| {
            crate::reports::workflow::Status::parse(s).is_none() || (!staff && *s == "hidden")
        }) {
            return Err(ApiError::bad_request(format!(
                "status \"{bad}\" is not one of: submitted, verified, in_progress, resolved, rejected, duplicate{}",
                if staff { ", hidden" } else { "" }
            )));
        }
        if self.overdue.is_some() && !staff {
            return Err(ApiError::forbidden("overdue lists are for DPPR staff"));
        }
        let offset = self.offset.unwrap_or(0);
        if !(0..=store::OFFSET_MAX).contains(&offset) {
            return Err(ApiError::bad_request(format!(
                "offset is from 0 to {}; narrow the filters (bbox, status, kecamatan) to go further",
                store::OFFSET_MAX
            )));
        }
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=store::PAGE_MAX).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "limit is from 1 to {}",
                store::PAGE_MAX
            )));
        }
        Ok(Filter {
            service_codes: list(&self.service_code),
            statuses,
            kecamatan: self.kecamatan.clone(),
            overdue: self.overdue.unwrap_or(false),
            bbox: self.bbox.as_deref().map(parse_bbox).transpose()?,
            limit,
            offset,
            ..Filter::default()
        })
    }
}

/// `w,s,e,n` in degrees.
fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad_request(format!("bbox \"{text}\" is not four numbers")))?;
    match numbers[..] {
        [w, s, e, n] if numbers.iter().all(|v| v.is_finite()) && w <= e && s <= n => {
            Ok([w, s, e, n])
        }
        _ => Err(ApiError::bad_request(format!(
            "bbox \"{text}\" is not west,south,east,north with west ≤ east and south ≤ north"
        ))),
    }
}

fn caller_is_staff(caller: &Option<Extension<Caller>>) -> bool {
    is_staff(caller.as_ref().map(|Extension(c)| c))
}

/// What a report answer shows: staff see everything but the contact; the public the public view.
fn shown(report: store::StaffReport, staff: bool) -> Value {
    if staff {
        json!(report)
    } else {
        json!(report.public)
    }
}

/// `GET /api/v1/reports`: reports, newest first (public pins; staff see more).
async fn list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let staff = caller_is_staff(&caller);
    let filter = query.filter(staff, 100)?;
    let reports = store::list(&state.pool, &filter, staff).await?;
    let next = (reports.len() as i64 == filter.limit).then_some(filter.offset + filter.limit);
    let body = json!({
        "reports": reports.into_iter().map(|r| shown(r, staff)).collect::<Vec<_>>(),
        "next_offset": next,
    });
    Ok(private_if(staff, Json(body).into_response()))
}

/// Staff answers are not to be kept by shared caches.
fn private_if(staff: bool, mut response: Response) -> Response {
    if staff {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}

/// `GET /api/v1/reports/overdue`: reports past their due day, the oldest due first (staff).
async fn overdue(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let mut filter = query.filter(true, store::PAGE_MAX)?;
    filter.overdue = true;
    let mut reports = store::list(&state.pool, &filter, true).await?;
    reports.sort_by(|a, b| a.public.due_on.cmp(&b.public.due_on));
    Ok(private_if(
        true,
        Json(json!({ "reports": reports })).into_response(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NearbyQuery {
    lon: f64,
    lat: f64,
    service_code: String,
}

/// `GET /api/v1/reports/nearby?lon&lat&service_code`: open reports of the service within 250 m.
async fn nearby(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<NearbyQuery>,
) -> Result<Response, ApiError> {
    let reports = store::nearby(&state.pool, q.lon, q.lat, &q.service_code).await?;
    Ok(Json(json!({ "within_m": store::NEARBY_METRES, "reports": reports })).into_response())
}

/// `GET /api/v1/reports/areas`: the kecamatan reports are routed to (the staff's filter).
async fn areas(State(state): State<AppState>) -> Response {
    Json(json!({ "kecamatan": state.reports.areas.kecamatan() })).into_response()
}

/// A report's id from the path.
fn report_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("there is no report {text}")))
}

/// `GET /api/v1/reports/{id}`: a report with its history and photo links.
async fn read(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let staff = caller_is_staff(&caller);
    let id = report_id(&id)?;
    let report = store::read(&state.pool, id, staff).await?;
    let events = store::events(&state.pool, id, staff).await?;
    let photos: Vec<Value> = (1..=report.public.photos)
        .map(|n| {
            json!({
                "url": format!("/api/v1/reports/{id}/photos/{n}.jpg"),
                "thumbnail": format!("/api/v1/reports/{id}/photos/{n}-thumb.jpg"),
            })
        })
        .collect();
    let next = staff
        .then(|| crate::reports::workflow::Status::parse(&report.public.status))
        .flatten()
        .map(|s| s.next().iter().map(|n| n.as_str()).collect::<Vec<_>>());
    let mut body = shown(report, staff);
    body["events"] = json!(events);
    body["photo_urls"] = json!(photos);
    if let Some(next) = next {
        body["next"] = json!(next);
    }
    Ok(private_if(staff, Json(body).into_response()))
}

/// `GET /api/v1/reports/{id}/photos/{n}.jpg` (or `{n}-thumb.jpg`): a photo, as kept.
async fn photo(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiPath((id, file)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let staff = caller_is_staff(&caller);
    let id = report_id(&id)?;
    let unknown = || ApiError::not_found(format!("report {id} has no photo {file}"));
    let stem = file.strip_suffix(".jpg").ok_or_else(unknown)?;
    let (n, thumbnail) = match stem.strip_suffix("-thumb") {
        Some(n) => (n, true),
        None => (stem, false),
    };
    let n: i16 = n.parse().ok().filter(|n| *n >= 1).ok_or_else(unknown)?;
    let (jpeg, digest) = store::photo(&state.pool, id, n, thumbnail, staff).await?;
    let etag = format!("\"{}{}\"", &digest[..16], if thumbnail { "t" } else { "" });
    // Short: a report hidden or rejected takes its photos off the public view within a minute.
    let cache = if staff {
        "private, max-age=60"
    } else {
        "public, max-age=60"
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ETAG, super::http::header_value(&etag)),
        ],
        jpeg,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowBody {
    email: String,
}

/// `POST /api/v1/reports/{id}/follow` `{"email"}`: follow an open report instead of filing the same.
async fn follow(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id = report_id(&id)?;
    let FollowBody { email } = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("the body is not {{\"email\": \"...\"}}: {e}"))
    })?;
    let followers = store::follow(&state.pool, id, &email).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "id": id, "followers": followers })),
    )
        .into_response())
}

/// `POST /api/v1/reports/{id}/status` `{"status", "note", "public", "duplicate_of"}` (staff).
async fn change_status(
    State(state): State<AppState>,
    Acting(actor): Acting,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id = report_id(&id)?;
    let change: StatusChange = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not {{\"status\": \"verified\", \"note\": \"...\"}}: {e}"
        ))
    })?;
    let link = state.signed_base();
    let report =
        store::change_status(&state.pool, &state.reports, id, &change, &actor, &link).await?;
    let events = store::events(&state.pool, id, true).await?;
    let mut body = json!(report);
    body["events"] = json!(events);
    Ok(private_if(true, Json(body).into_response()))
}

/// The staff's reports for an export (every match, up to [`store::EXPORT_MAX`]).
async fn export_rows(
    state: &AppState,
    query: &ListQuery,
) -> Result<Vec<store::StaffReport>, ApiError> {
    let filter = query.filter(true, store::PAGE_MAX)?;
    Ok(store::export(&state.pool, &filter).await?)
}

/// One report's columns in an export (never a contact detail).
fn export_properties(r: &store::StaffReport) -> Value {
    let plan = r.plan.as_ref().map(|p| &p.0);
    json!({
        "id": r.public.id,
        "service_code": r.public.service_code,
        "status": r.public.status,
        "status_notes": r.public.status_notes,
        "description": r.public.description,
        "address": r.public.address,
        "kecamatan": r.public.kecamatan,
        "kelurahan": r.public.kelurahan,
        "requested_at": r.public.requested_at,
        "updated_at": r.public.updated_at,
        "due_kind": r.public.due_kind,
        "due_on": r.public.due_on,
        "overdue": r.public.overdue,
        "subzone": plan.and_then(|p| p["subzone"]["code"].as_str()),
        "plan": plan.map(crate::reports::enrich::summary),
        "followers": r.public.followers,
        "photos": r.public.photos,
        "source": r.source,
    })
}

/// `GET /api/v1/reports/export.geojson` (staff).
async fn export_geojson(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let rows = export_rows(&state, &query).await?;
    let features: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "type": "Feature",
                "id": r.public.id,
                "geometry": { "type": "Point", "coordinates": [r.public.lon, r.public.lat] },
                "properties": export_properties(r),
            })
        })
        .collect();
    let body = json!({ "type": "FeatureCollection", "features": features });
    Ok(private_if(
        true,
        (
            [
                (header::CONTENT_TYPE, "application/geo+json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"laporan.geojson\"",
                ),
            ],
            body.to_string(),
        )
            .into_response(),
    ))
}

/// `GET /api/v1/reports/export.csv` (staff): one row per report, longitude and latitude last.
async fn export_csv(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let rows = export_rows(&state, &query).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let columns = [
        "id",
        "service_code",
        "status",
        "status_notes",
        "description",
        "address",
        "kecamatan",
        "kelurahan",
        "requested_at",
        "updated_at",
        "due_kind",
        "due_on",
        "overdue",
        "subzone",
        "plan",
        "followers",
        "photos",
        "source",
    ];
    let mut header_row: Vec<&str> = columns.to_vec();
    header_row.extend(["lon", "lat"]);
    writer
        .write_record(&header_row)
        .map_err(ApiError::internal)?;
    for r in &rows {
        let properties = export_properties(r);
        let mut record: Vec<String> = columns
            .iter()
            .map(|c| match &properties[*c] {
                Value::Null => String::new(),
                Value::String(s) => csv_safe(s),
                other => other.to_string(),
            })
            .collect();
        record.push(r.public.lon.to_string());
        record.push(r.public.lat.to_string());
        writer.write_record(&record).map_err(ApiError::internal)?;
    }
    let body = writer.into_inner().map_err(ApiError::internal)?;
    Ok(private_if(
        true,
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"laporan.csv\"",
                ),
            ],
            body,
        )
            .into_response(),
    ))
}

/// A text cell a spreadsheet will not run as a formula (a citizen's description is not trusted).
fn csv_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[derive(Deserialize)]
struct TilePath {
    z: u8,
    x: u32,
    file: String,
}

async fn public_tile(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiPath(path): ApiPath<TilePath>,
) -> Result<Response, ApiError> {
    report_tile(&state, Audience::Public, path, &headers).await
}

async fn staff_tile(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiPath(path): ApiPath<TilePath>,
) -> Result<Response, ApiError> {
    report_tile(&state, Audience::Staff, path, &headers).await
}

/// A report tile, `{y}.mvt`; gzipped (once, in the cache) for clients that take gzip.
async fn report_tile(
    state: &AppState,
    audience: Audience,
    path: TilePath,
    headers: &axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let y: u32 = path
        .file
        .strip_suffix(".mvt")
        .or_else(|| path.file.strip_suffix(".pbf"))
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| ApiError::not_found(format!("{} is not a tile, like 7.mvt", path.file)))?;
    let coord = crate::tiles::TileCoord::new(u32::from(path.z), path.x, y)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let tile = state
        .reports
        .tiles
        .tile(&state.pool, audience, coord.z, coord.x, coord.y)
        .await?;
    let cache = match audience {
        Audience::Public => "public, max-age=10",
        Audience::Staff => "private, no-store",
    };
    let gzip = tile
        .gzip
        .filter(|_| super::http::weight(headers, super::http::Coding::Gzip) > 0.0);
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ],
        gzip.clone().unwrap_or(tile.raw),
    )
        .into_response();
    if gzip.is_some() {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_reads_burst_and_seconds() {
        let rate = ReportRate::parse("10/30").unwrap();
        assert_eq!((rate.burst, rate.every), (10, Duration::from_secs(30)));
        assert_eq!(ReportRate::parse("1000/0.001").unwrap().burst, 1000);
        for bad in ["", "10", "0/30", "10/0", "ten/30", "10/-1"] {
            assert!(ReportRate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spreadsheet_formulas_in_a_description_are_kept_as_text() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("Bengkel"), "Bengkel");
    }
}
