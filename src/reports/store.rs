//! Reports in the database: submitting one (checked, enriched, routed, stored with its photos and
//! first event in one transaction), reading them as the public and as staff see them, the open
//! reports nearby, following one, and moving one through the workflow (recorded, with mail to the
//! reporter and followers queued in the same transaction).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::PgPool;
use sqlx::types::Json;
use tokio::sync::Notify;

use super::apikeys::ApiClient;
use super::areas::AreaIndex;
use super::open311::{self, Service};
use super::photos::{self, Photo};
use super::tiles::ReportTiles;
use super::workflow::{self, Due, Status};
use super::{ReportError, Result, enrich, today};
use crate::accounts::Actor;
use crate::calendar::Holidays;
use crate::zoning::Snapshot;

/// Photos one report carries at most.
pub const MAX_PHOTOS: usize = 3;
/// Characters of a description at most (Open311's limit).
pub const DESCRIPTION_CHARS: usize = 4000;
/// Metres around a point in which open reports of the same service are shown before filing.
pub const NEARBY_METRES: f64 = 250.0;
/// Reports one list answer holds at most.
pub const PAGE_MAX: i64 = 1000;
/// Reports a list skips at most (deeper pages narrow their filters instead): an offset costs a
/// scan of every row it skips.
pub const OFFSET_MAX: i64 = 100_000;
/// Reports one export holds at most.
pub const EXPORT_MAX: i64 = 100_000;

/// What the reports need besides the database: the holidays, the admin areas, the tiles' cache,
/// and the mail sender's wake-up call.
pub struct Reports {
    /// Weekends aside, the days deadlines skip.
    pub holidays: Holidays,
    /// The kelurahan and kecamatan reports are routed to.
    pub areas: AreaIndex,
    /// The reports as vector tiles.
    pub tiles: ReportTiles,
    /// Rung when mail was queued.
    pub mail: Arc<Notify>,
    /// Reports whose photos are being processed at once (a decoded photo of 40 megapixels holds
    /// about 160 MB): the memory they take stays bounded whatever comes in.
    photo_slots: tokio::sync::Semaphore,
}

/// Reports whose photos are processed at once.
pub const PHOTO_CONCURRENCY: usize = 2;

impl Reports {
    /// Reads the admin areas; the holidays are the shipped table.
    pub async fn load(pool: &PgPool) -> Result<Self> {
        Ok(Reports {
            holidays: Holidays::shipped()?,
            areas: AreaIndex::load(pool).await?,
            tiles: ReportTiles::default(),
            mail: Arc::new(Notify::new()),
            photo_slots: tokio::sync::Semaphore::new(PHOTO_CONCURRENCY),
        })
    }
}

/// Where a report came from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The citizen map.
    Web,
    /// An Open311 client application.
    Open311(ApiClient),
}

/// Who reported, if they said (never shown to anyone; used to send them news).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Email address, for news of the report.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// The client's device id (Open311).
    pub device_id: Option<String>,
    /// The client's account id (Open311).
    pub account_id: Option<String>,
}

/// A report as sent, before it is checked.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The service (kind of violation).
    pub service_code: String,
    /// Longitude (WGS 84).
    pub lon: f64,
    /// Latitude (WGS 84).
    pub lat: f64,
    /// What the reporter saw.
    pub description: String,
    /// Where, in words.
    pub address: Option<String>,
    /// The service's extra attributes (`attribute[code]`).
    pub attributes: BTreeMap<String, String>,
    /// Who reported.
    pub contact: Contact,
    /// The photos as uploaded.
    pub photos: Vec<bytes::Bytes>,
    /// Where it came from.
    pub source: Source,
    /// The client's address.
    pub origin: String,
}

/// A report as taken.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    /// Its id (Open311's `service_request_id`).
    pub id: i64,
    /// Its token (Open311's `token`).
    pub token: String,
    /// By when it is to be verified.
    pub verify_by: String,
    /// Open311's `service_notice`.
    pub notice: String,
}

/// A report as the public sees it (no contact, no plan; hidden reports are not shown at all).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicReport {
    /// Its id.
    pub id: i64,
    /// Its service.
    pub service_code: String,
    /// What was reported.
    pub description: String,
    /// Where, in words.
    pub address: Option<String>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Its state.
    pub status: String,
    /// The last public note.
    pub status_notes: Option<String>,
    /// The kecamatan it was routed to.
    pub kecamatan: String,
    /// The kelurahan it falls in.
    pub kelurahan: String,
    /// When it came (Balikpapan time).
    pub requested_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// What is due: `verification` or `answer`.
    pub due_kind: Option<String>,
    /// By when (the end of that working day).
    pub due_on: Option<String>,
    /// Whether the due day has passed.
    pub overdue: Option<bool>,
    /// Photos the caller may see.
    pub photos: i16,
    /// People following it.
    pub followers: i32,
    /// The report it duplicates.
    pub duplicate_of: Option<i64>,
}

/// A report as staff see it: the public view, the plan at the point when it came, the extra
/// attributes, where it came from and whether the reporter can be told of changes (never the
/// contact itself).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StaffReport {
    /// The public view.
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub public: PublicReport,
    /// The plan at the point when the report came.
    pub plan: Option<Json<Value>>,
    /// The service's extra attributes.
    pub attributes: Option<Json<Value>>,
    /// `web` or `open311:<application>`.
    pub source: Option<String>,
    /// Whether the reporter left an email.
    pub contactable: Option<bool>,
}

/// A report's transition as shown.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Event {
    /// When.
    pub at: String,
    /// From which state.
    pub from_status: Option<String>,
    /// To which.
    pub status: String,
    /// The note (public ones only, except for staff).
    pub note: Option<String>,
    /// Whether the note is public.
    pub public: bool,
    /// Who made it (staff only).
    pub actor: Option<String>,
}

/// An open report near a point.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Nearby {
    /// Its id.
    pub id: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Its state.
    pub status: String,
    /// What was reported.
    pub description: String,
    /// When.
    pub requested_at: String,
    /// People following it.
    pub followers: i32,
    /// Metres from the point asked about.
    pub distance_m: f64,
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// These reports only (Open311: overrides the rest).
    pub ids: Option<Vec<i64>>,
    /// These services only.
    pub service_codes: Option<Vec<String>>,
    /// Received at or after (RFC 3339).
    pub from: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Received at or before.
    pub until: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// In these states.
    pub statuses: Option<Vec<String>>,
    /// Routed to this kecamatan.
    pub kecamatan: Option<String>,
    /// Past their due day only.
    pub overdue: bool,
    /// Within [west, south, east, north].
    pub bbox: Option<[f64; 4]>,
    /// At most this many.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

/// A staff member's transition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The new state.
    pub status: Status,
    /// Why, or what was done.
    pub note: Option<String>,
    /// Whether the note is public (shown with the report, sent to the reporter); default yes.
    #[serde(default = "yes")]
    pub public: bool,
    /// The report this one duplicates (for `duplicate`).
    pub duplicate_of: Option<i64>,
}

fn yes() -> bool {
    true
}

#[derive(sqlx::FromRow)]
struct Locked {
    status: String,
    received: NaiveDate,
    verified_on: Option<NaiveDate>,
}

/// A text field, trimmed: refused when longer than `max` characters or holding control
/// characters (other than line breaks in a description).
fn text(name: &str, value: &str, max: usize, lines: bool) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ReportError::Input(format!(
            "{name} has {} characters; at most {max} are taken",
            value.chars().count()
        )));
    }
    if let Some(c) = value.chars().find(|c| !super::text_char(*c, lines)) {
        return Err(ReportError::Input(format!(
            "{name} contains the character U+{:04X}, which is not text",
            c as u32
        )));
    }
    Ok(value.to_string())
}

fn optional(name: &str, value: Option<&String>, max: usize) -> Result<Option<String>> {
    value
        .map(|v| text(name, v, max, false))
        .transpose()
        .map(|v| v.filter(|v| !v.is_empty()))
}

/// Checks that a point is on the Earth (WGS 84 degrees).
fn check_point(lon: f64, lat: f64) -> Result<()> {
    if lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
    {
        return Ok(());
    }
    Err(ReportError::Input(format!(
        "lat {lat} and long {lon} are not a point on the Earth (WGS 84 degrees)"
    )))
}

/// Checks an email address's shape (one `@`, a dot in the domain, no spaces).
fn check_email(email: &str) -> Result<()> {
    // ASCII only: a mail server without SMTPUTF8 takes no other address.
    let ok = email.len() <= 254
        && email.is_ascii()
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | '[' | ']'))
        // The address the mailer will be given: what it cannot send to is refused now.
        && email.parse::<lettre::Address>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(ReportError::Input(format!(
            "email \"{email}\" is not an email address"
        )))
    }
}

impl Contact {
    /// The contact with its fields checked and trimmed (empty ones dropped).
    fn checked(&self) -> Result<Contact> {
        let contact = Contact {
            email: optional("email", self.email.as_ref(), 254)?,
            first_name: optional("first_name", self.first_name.as_ref(), 100)?,
            last_name: optional("last_name", self.last_name.as_ref(), 100)?,
            phone: optional("phone", self.phone.as_ref(), 30)?,
            device_id: optional("device_id", self.device_id.as_ref(), 200)?,
            account_id: optional("account_id", self.account_id.as_ref(), 200)?,
        };
        if let Some(email) = &contact.email {
            check_email(email)?;
        }
        if let Some(phone) = &contact.phone
            && !phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
        {
            return Err(ReportError::Input(format!(
                "phone \"{phone}\" is not a telephone number"
            )));
        }
        Ok(contact)
    }

    fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
            && self.phone.is_none()
            && self.device_id.is_none()
            && self.account_id.is_none()
    }
}

/// A report's fields, checked.
struct Checked {
    service: &'static Service,
    description: String,
    address: Option<String>,
    attributes: Map<String, Value>,
    contact: Contact,
}

impl NewReport {
    /// Checks every field; the first wrong one is named.
    fn check(&self) -> Result<Checked> {
        let service = open311::service(&self.service_code)
            .ok_or_else(|| ReportError::UnknownService(self.service_code.clone()))?;
        check_point(self.lon, self.lat)?;
        let description = text("description", &self.description, DESCRIPTION_CHARS, true)?;
        if description.is_empty() {
            return Err(ReportError::Input(
                "description is empty: say what you saw".into(),
            ));
        }
        if self.photos.len() > MAX_PHOTOS {
            return Err(ReportError::Input(format!(
                "{} photos were sent; a report carries at most {MAX_PHOTOS}",
                self.photos.len()
            )));
        }
        let attributes =
            open311::check_attributes(service, &self.attributes).map_err(ReportError::Input)?;
        Ok(Checked {
            service,
            description,
            address: optional("address_string", self.address.as_ref(), 300)?,
            attributes,
            contact: self.contact.checked()?,
        })
    }
}

/// Processes the photos on the CPU slots, one at a time (each is bounded in bytes and pixels), in
/// one of the photo slots.
async fn process_photos(
    slots: &tokio::sync::Semaphore,
    photos: &[bytes::Bytes],
) -> Result<Vec<Photo>> {
    if photos.is_empty() {
        return Ok(Vec::new());
    }
    let _slot = tokio::time::timeout(crate::limits::LIMITS.queue_wait(), slots.acquire())
        .await
        .map_err(|_| crate::cpu::CpuError::Busy)?
        .map_err(|_| crate::cpu::CpuError::Busy)?;
    let mut out = Vec::with_capacity(photos.len());
    for (i, bytes) in photos.iter().enumerate() {
        let bytes = bytes.clone();
        let photo = crate::cpu::run(move || photos::process(&bytes))
            .await?
            .map_err(|source| ReportError::Photo { n: i + 1, source })?;
        out.push(photo);
    }
    Ok(out)
}

/// Takes a report: checks it, finds its area and the plan at its point, processes its photos,
/// then stores it with its contact, photos and first event in one transaction.
pub async fn submit(
    pool: &PgPool,
    reports: &Reports,
    snapshot: &Snapshot,
    new: &NewReport,
) -> Result<Submitted> {
    let checked = new.check()?;
    let area = reports
        .areas
        .at(new.lon, new.lat)
        .ok_or(ReportError::OutsideCity {
            lon: new.lon,
            lat: new.lat,
        })?
        .clone();
    let kbli = checked.attributes.get("kbli").and_then(Value::as_str);
    let plan = enrich::plan_at(snapshot, new.lon, new.lat, kbli);
    let photos = process_photos(&reports.photo_slots, &new.photos).await?;
    let received = today();
    let verify_by = reports
        .holidays
        .add_working_days(received, workflow::VERIFY_WITHIN);
    warn_if_unknown(&verify_by);
    let token = crate::accounts::new_secret("");
    let (source, api_key_id) = match &new.source {
        Source::Web => ("web".to_string(), None),
        Source::Open311(client) => (format!("open311:{}", client.name), Some(client.id)),
    };
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(include_str!("sql/insert.sql"))
        .bind(&token)
        .bind(checked.service.service_code)
        .bind(&checked.description)
        .bind(Json(&checked.attributes))
        .bind(&checked.address)
        .bind(new.lon)
        .bind(new.lat)
        .bind(&area.kecamatan)
        .bind(&area.kelurahan)
        .bind(Json(&plan))
        .bind(verify_by.day)
        .bind(photos.len() as i16)
        .bind(&source)
        .bind(api_key_id)
        .bind(&new.origin)
        .fetch_one(&mut *tx)
        .await?;
    store_contact(&mut tx, id, &checked.contact).await?;
    store_photos(&mut tx, id, &photos).await?;
    sqlx::query(include_str!("sql/event.sql"))
        .bind(id)
        .bind(None::<&str>)
        .bind(Status::Submitted.as_str())
        .bind(None::<&str>)
        .bind(true)
        .bind(None::<i64>)
        .bind(&source)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    reports.tiles.changed();
    Ok(Submitted {
        id,
        token,
        verify_by: verify_by.day.to_string(),
        notice: format!(
            "Laporan diterima dan diteruskan ke Kecamatan {}. DPPR memverifikasinya paling lambat {}.",
            area.kecamatan, verify_by.day
        ),
    })
}

async fn store_contact(
    tx: &mut sqlx::PgConnection,
    id: i64,
    contact: &Contact,
) -> Result<(), sqlx::Error> {
    if contact.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO report_contact (report_id, email, first_name, last_name, phone, device_id, account_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&contact.email)
    .bind(&contact.first_name)
    .bind(&contact.last_name)
    .bind(&contact.phone)
    .bind(&contact.device_id)
    .bind(&contact.account_id)
    .execute(tx)
    .await?;
    Ok(())
}

async fn store_photos(
    tx: &mut sqlx::PgConnection,
    id: i64,
    photos: &[Photo],
) -> Result<(), sqlx::Error> {
    use sha2::Digest;
    for (i, photo) in photos.iter().enumerate() {
        sqlx::query(
            "INSERT INTO report_photo (report_id, n, jpeg, width, height, thumbnail, sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(i as i16 + 1)
        .bind(&photo.jpeg)
        .bind(photo.width as i32)
        .bind(photo.height as i32)
        .bind(&photo.thumbnail)
        .bind(sha2::Sha256::digest(&photo.jpeg).to_vec())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Reports matching `filter`, as the public (`staff` false) or staff see them.
pub async fn list(pool: &PgPool, filter: &Filter, staff: bool) -> Result<Vec<StaffReport>> {
    rows(pool, filter, staff, filter.limit.clamp(1, PAGE_MAX), false).await
}

/// Reports matching `filter` for a staff export, at most [`EXPORT_MAX`] in one query, each with
/// only what an export prints of the plan at its point.
pub async fn export(pool: &PgPool, filter: &Filter) -> Result<Vec<StaffReport>> {
    let all = Filter {
        offset: 0,
        ..filter.clone()
    };
    rows(pool, &all, true, EXPORT_MAX, true).await
}

async fn rows(
    pool: &PgPool,
    filter: &Filter,
    staff: bool,
    limit: i64,
    export: bool,
) -> Result<Vec<StaffReport>> {
    let rows = sqlx::query_as(include_str!("sql/list.sql"))
        .bind(&filter.ids)
        .bind(&filter.service_codes)
        .bind(filter.from)
        .bind(filter.until)
        .bind(&filter.statuses)
        .bind(&filter.kecamatan)
        .bind(filter.overdue)
        .bind(today())
        .bind(staff)
        .bind(filter.bbox.map(|b| b.to_vec()))
        .bind(limit)
        .bind(filter.offset.max(0))
        .bind(export)
        .fetch_all(pool)
        .await?;
    Ok(rows)
}

/// One report, as the public or staff see it.
pub async fn read(pool: &PgPool, id: i64, staff: bool) -> Result<StaffReport> {
    let filter = Filter {
        ids: Some(vec![id]),
        limit: 1,
        ..Filter::default()
    };
    list(pool, &filter, staff)
        .await?
        .pop()
        .ok_or_else(|| ReportError::Unknown(id.to_string()))
}

/// A report's transitions (public notes only, unless for staff).
pub async fn events(pool: &PgPool, id: i64, staff: bool) -> Result<Vec<Event>> {
    Ok(sqlx::query_as(include_str!("sql/events.sql"))
        .bind(id)
        .bind(staff)
        .fetch_all(pool)
        .await?)
}

/// The id of the report with `token` (Open311's `GET /tokens/{token}`), if it is not hidden.
pub async fn by_token(pool: &PgPool, token: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM report WHERE token = $1 AND status <> 'hidden'")
        .bind(token)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ReportError::Unknown(format!("with token {token}")))
}

/// Open reports of `service_code` within [`NEARBY_METRES`] of a point, nearest first.
pub async fn nearby(pool: &PgPool, lon: f64, lat: f64, service_code: &str) -> Result<Vec<Nearby>> {
    check_point(lon, lat)?;
    if open311::service(service_code).is_none() {
        return Err(ReportError::UnknownService(service_code.to_string()));
    }
    Ok(sqlx::query_as(include_str!("sql/nearby.sql"))
        .bind(lon)
        .bind(lat)
        .bind(service_code)
        .bind(NEARBY_METRES)
        .fetch_all(pool)
        .await?)
}

/// Someone follows an open report (and is sent its news); returns how many follow it.
pub async fn follow(pool: &PgPool, id: i64, email: &str) -> Result<i32> {
    let email = text("email", email, 254, false)?;
    check_email(&email)?;
    sqlx::query_scalar(include_str!("sql/follow.sql"))
        .bind(id)
        .bind(email.to_lowercase())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ReportError::Unknown(format!("{id} open to following")))
}

/// A photo (or its thumbnail) with its digest, if the caller may see it.
pub async fn photo(
    pool: &PgPool,
    id: i64,
    n: i16,
    thumbnail: bool,
    staff: bool,
) -> Result<(Vec<u8>, String)> {
    sqlx::query_as(include_str!("sql/photo.sql"))
        .bind(id)
        .bind(n)
        .bind(thumbnail)
        .bind(staff)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ReportError::Unknown(format!("{id} with a photo {n}")))
}

/// The Indonesian name of a state (mail and pages).
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Submitted => "Diterima",
        Status::Verified => "Diverifikasi",
        Status::InProgress => "Sedang ditindaklanjuti",
        Status::Resolved => "Selesai ditindaklanjuti",
        Status::Rejected => "Ditolak",
        Status::Duplicate => "Duplikat",
        Status::Hidden => "Disembunyikan",
    }
}

/// The deadline's day; when the holiday table does not reach it, a warning says so (the day counts
/// weekends only: add the year's table to `data/holidays/`).
fn warn_if_unknown(deadline: &crate::calendar::Deadline) -> NaiveDate {
    if !deadline.holidays_known {
        tracing::warn!(
            "the holidays of {} are not in data/holidays: the due day {} skips weekends only",
            deadline.day.format("%Y"),
            deadline.day
        );
    }
    deadline.day
}

/// Moves a report to its next state, as staff: the workflow must allow it; `rejected` needs a
/// note and `duplicate` the report it repeats. The transition is recorded, the due day is set
/// again, and (unless the report is hidden) its news is queued for the reporter and followers, all
/// in one transaction. `link` is the public base URL for the mail.
pub async fn change_status(
    pool: &PgPool,
    reports: &Reports,
    id: i64,
    change: &StatusChange,
    actor: &Actor,
    link: &str,
) -> Result<StaffReport> {
    let note = change
        .note
        .as_ref()
        .map(|n| text("note", n, 2000, true))
        .transpose()?
        .filter(|n| !n.is_empty());
    if matches!(change.status, Status::Rejected | Status::Duplicate) && note.is_none() {
        return Err(ReportError::Input(format!(
            "a report becomes {} only with a note that says why (and who is responsible)",
            change.status.as_str()
        )));
    }
    let duplicate_of = match change.status {
        Status::Duplicate => Some(change.duplicate_of.filter(|d| *d != id).ok_or_else(|| {
            ReportError::Input("duplicate_of names the other report this one repeats".into())
        })?),
        _ => None,
    };
    let mut tx = pool.begin().await?;
    let locked: Locked = sqlx::query_as(include_str!("sql/lock.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ReportError::Unknown(id.to_string()))?;
    if let Some(other) = duplicate_of {
        // The report it repeats stands: not hidden, not rejected, not itself a duplicate (two
        // reports must not close each other as duplicates).
        let stands: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM report WHERE id = $1
                            AND status IN ('submitted', 'verified', 'in_progress', 'resolved'))",
        )
        .bind(other)
        .fetch_one(&mut *tx)
        .await?;
        if !stands {
            return Err(ReportError::Input(format!(
                "duplicate_of: report {other} does not stand (there is none, or it is hidden, rejected or itself a duplicate)"
            )));
        }
    }
    let from = Status::parse(&locked.status)
        .ok_or_else(|| ReportError::Input(format!("unknown stored state {}", locked.status)))?;
    let to = from.to(change.status)?;
    let verified_on = match to {
        Status::Verified => Some(today()),
        _ => locked.verified_on,
    };
    let due = workflow::due(&reports.holidays, to, locked.received, verified_on);
    let (due_kind, due_on) = match due {
        Some(Due::Verification(d)) => (Some("verification"), Some(warn_if_unknown(&d))),
        Some(Due::Answer(d)) => (Some("answer"), Some(warn_if_unknown(&d))),
        None => (None, None),
    };
    // Moderation is not news: the note of a hiding, or of a return from it, stays with staff.
    let moderation = to == Status::Hidden || from == Status::Hidden;
    let public = change.public && !moderation;
    let public_note = note.as_ref().filter(|_| public);
    sqlx::query(include_str!("sql/transition.sql"))
        .bind(id)
        .bind(to.as_str())
        .bind(public_note)
        .bind(verified_on)
        .bind(due_kind)
        .bind(due_on)
        .bind(duplicate_of)
        .execute(&mut *tx)
        .await?;
    sqlx::query(include_str!("sql/event.sql"))
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(&note)
        .bind(public)
        .bind(actor.account_id)
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
    if !moderation {
        let queued = super::mail::queue_news(&mut tx, id, to, public_note, link).await?;
        if queued > 0 {
            reports.mail.notify_one();
        }
    }
    tx.commit().await?;
    reports.tiles.changed();
    read(pool, id, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(service: &str, description: &str) -> NewReport {
        NewReport {
            service_code: service.into(),
            lon: 116.85,
            lat: -1.25,
            description: description.into(),
            address: None,
            attributes: BTreeMap::new(),
            contact: Contact::default(),
            photos: Vec::new(),
            source: Source::Web,
            origin: "127.0.0.1".into(),
        }
    }

    fn refused(new: &NewReport) -> String {
        match new.check() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{new:?} was taken"),
        }
    }

    #[test]
    fn a_report_is_checked_field_by_field_and_the_first_wrong_one_named() {
        assert!(
            report("tanpa-pbg", "Ruko tanpa PBG\nsejak Mei")
                .check()
                .is_ok()
        );
        assert!(refused(&report("parkir", "x")).contains("no service \"parkir\""));
        assert!(refused(&report("tanpa-pbg", " \n ")).contains("description is empty"));
        assert!(refused(&report("tanpa-pbg", &"a".repeat(4001))).contains("at most 4000"));
        assert!(refused(&report("tanpa-pbg", "a\u{0}b")).contains("U+0000"));
        assert!(refused(&report("tanpa-pbg", "a\u{FFFE}b")).contains("U+FFFE"));
        assert!(refused(&report("tanpa-pbg", "a\u{FDD0}b")).contains("U+FDD0"));
        assert!(refused(&report("tanpa-pbg", "a\u{FFFD}b")).contains("U+FFFD"));
        for (lon, lat) in [
            (f64::NAN, 0.0),
            (181.0, 0.0),
            (0.0, -91.0),
            (f64::INFINITY, 1.0),
        ] {
            let mut r = report("tanpa-pbg", "x");
            (r.lon, r.lat) = (lon, lat);
            assert!(
                refused(&r).contains("not a point on the Earth"),
                "{lon} {lat}"
            );
        }
        let mut photos = report("tanpa-pbg", "x");
        photos.photos = vec![bytes::Bytes::from_static(b"x"); 4];
        assert!(refused(&photos).contains("at most 3"));
        let mut attribute = report("sempadan-rth", "x");
        assert!(refused(&attribute).contains("jenis_sempadan"));
        attribute
            .attributes
            .insert("jenis_sempadan".into(), "sungai".into());
        assert!(attribute.check().is_ok());
    }

    #[test]
    fn a_contact_is_trimmed_and_checked_and_an_empty_one_is_none() {
        let blank = Contact {
            email: Some("  ".into()),
            ..Contact::default()
        };
        assert!(blank.checked().unwrap().is_empty());
        let good = Contact {
            email: Some(" warga@example.id ".into()),
            phone: Some("+62 812-5555 (0)".into()),
            ..Contact::default()
        };
        let checked = good.checked().unwrap();
        assert_eq!(checked.email.as_deref(), Some("warga@example.id"));
        for email in [
            "warga",
            "a@b",
            "a@@b.id",
            "@b.id",
            "a b@c.id",
            "<a@b.id>",
            "a@.id",
            "a,b@b.id",
            "a@[127.0.0.1].id",
            "ä@b.id",
            "a@bü.id",
        ] {
            let c = Contact {
                email: Some(email.into()),
                ..Contact::default()
            };
            assert!(c.checked().is_err(), "{email}");
        }
        let phone = Contact {
            phone: Some("0812; DROP".into()),
            ..Contact::default()
        };
        assert!(
            phone
                .checked()
                .unwrap_err()
                .to_string()
                .contains("telephone")
        );
    }
}
