//! Applications for a certificate: who applies (identity, land title, contact), the parcel, the
//! intended building function and activity, and the draft computed when it came. The applicant
//! follows it by a private link whose key is shown once; staff read the queue, refuse with a
//! reason, or issue ([`super::issue`]).

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::draft::{self, Draft};
use super::{KrkError, Result};
use crate::accounts::Actor;
use crate::zoning::{Live, ParcelRequest, Snapshot};

/// The building functions of PP 16/2021 (fungsi bangunan gedung), and mixed use.
pub const FUNCTIONS: [&str; 6] = [
    "hunian",
    "keagamaan",
    "usaha",
    "sosial-budaya",
    "khusus",
    "campuran",
];

/// The kinds of land-title evidence.
pub const TITLE_KINDS: [&str; 6] = ["SHM", "SHGB", "SHP", "SHGU", "girik", "lainnya"];

/// Who applies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// Full name (or the company's).
    pub name: String,
    /// NIK (16 digits) or NIB of a company (13 digits).
    pub id_number: String,
    /// Address.
    pub address: String,
    /// Land-title kind, one of [`TITLE_KINDS`].
    pub title_kind: String,
    /// Land-title number.
    pub title_number: String,
    /// Telephone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// An application as sent (the parcel already read and checked).
#[derive(Debug)]
pub struct NewApplication {
    /// Who applies.
    pub applicant: Applicant,
    /// One of [`FUNCTIONS`].
    pub building_function: String,
    /// The parcel, and the KBLI code of the intended activity.
    pub parcel: ParcelRequest,
}

/// The JSON body of `POST /api/v1/krk/applications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    /// Who applies.
    pub applicant: Applicant,
    /// The intended building function.
    pub building_function: String,
    /// The KBLI code of the intended activity.
    #[serde(default)]
    pub activity: Option<String>,
    /// The parcel: a GeoJSON Polygon, MultiPolygon, or a Feature with one.
    pub parcel: serde_json::Value,
}

impl NewApplication {
    /// Reads and checks an application's JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        // The error names the field by its path (`applicant.name`), not only its last key.
        let body: ApplicationBody =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body))
                .map_err(|e| match e.path().to_string().as_str() {
                    "." => KrkError::Input(format!("the application is not valid: {}", e.inner())),
                    path => KrkError::Input(format!("{path}: {}", e.inner())),
                })?;
        let geometry = match body.parcel.get("type").and_then(|t| t.as_str()) {
            Some("Feature") => body.parcel.get("geometry").cloned().unwrap_or_default(),
            _ => body.parcel,
        };
        let polygons = ParcelRequest::polygons(geometry).map_err(parcel_error)?;
        Self::new(
            body.applicant,
            body.building_function,
            body.activity,
            polygons,
        )
    }

    /// Checks the fields of an application whose parcel is `polygons`.
    pub fn new(
        applicant: Applicant,
        building_function: String,
        activity: Option<String>,
        polygons: geo::MultiPolygon<f64>,
    ) -> Result<Self> {
        let applicant = normalized(applicant);
        check_applicant(&applicant)?;
        let building_function = building_function.trim().to_lowercase();
        if !FUNCTIONS.contains(&building_function.as_str()) {
            return Err(KrkError::Input(format!(
                "building_function \"{building_function}\" is not one of {}",
                FUNCTIONS.join(", ")
            )));
        }
        let activity = activity
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty());
        if let Some(code) = &activity
            && !(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(KrkError::Input(format!(
                "activity \"{code}\" is not a KBLI 2020 code (five digits)"
            )));
        }
        let parcel = ParcelRequest::new(polygons, activity).map_err(parcel_error)?;
        Ok(NewApplication {
            applicant,
            building_function,
            parcel,
        })
    }
}

/// The applicant's texts trimmed and in Unicode's composed form (NFC): "José" typed as `e` and a
/// combining accent (as some keyboards send it) is the same name, and prints.
fn normalized(applicant: Applicant) -> Applicant {
    use unicode_normalization::UnicodeNormalization;
    let nfc = |text: String| text.trim().nfc().collect::<String>();
    Applicant {
        name: nfc(applicant.name),
        id_number: applicant.id_number.trim().to_string(),
        address: nfc(applicant.address),
        title_kind: applicant.title_kind,
        title_number: nfc(applicant.title_number),
        phone: applicant.phone.map(nfc),
        email: applicant.email.map(nfc),
    }
}

/// A decision's reason, trimmed: present, at most 1000 characters, and no control or
/// direction-changing characters (the reason is shown on public pages).
pub fn check_reason<'a>(reason: &'a str, what: &str) -> Result<&'a str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(KrkError::Input(format!(
            "{what} needs a reason (at most 1000 characters)"
        )));
    }
    let hidden = |c: char| {
        c.is_control() && !matches!(c, '\n' | '\t')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if let Some(c) = reason.chars().find(|&c| hidden(c)) {
        return Err(KrkError::Input(format!(
            "reason: contains an invisible or direction-changing character (U+{:04X})",
            c as u32
        )));
    }
    Ok(reason)
}

/// A parcel that cannot be measured, as an application's error naming the field.
fn parcel_error(e: crate::zoning::ParcelError) -> KrkError {
    KrkError::Input(format!("parcel: {e}"))
}

/// The errors of measuring an application's parcel, naming the field they are about.
fn measuring_error(e: KrkError) -> KrkError {
    use crate::zoning::ZoningError;
    match e {
        KrkError::Zoning(ZoningError::Parcel(p)) => parcel_error(p),
        KrkError::Zoning(ZoningError::UnknownKbli(code)) => {
            KrkError::Input(format!("activity: \"{code}\" is not a KBLI 2020 code"))
        }
        other => other,
    }
}

/// A text field: trimmed, present, at most `max` characters, no control characters.
fn text_field(name: &str, value: &str, max: usize) -> Result<()> {
    let value = value.trim();
    if value.is_empty() {
        return Err(KrkError::Input(format!("applicant.{name} is empty")));
    }
    if value.chars().count() > max {
        return Err(KrkError::Input(format!(
            "applicant.{name} is longer than {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(KrkError::Input(format!(
            "applicant.{name} contains control characters"
        )));
    }
    if let Some(c) = super::pdf::unprintable(value) {
        return Err(KrkError::Input(format!(
            "applicant.{name} contains \"{c}\" (U+{:04X}), which the certificate cannot print: \
             write it in Latin script",
            c as u32
        )));
    }
    Ok(())
}

fn check_applicant(a: &Applicant) -> Result<()> {
    text_field("name", &a.name, 120)?;
    text_field("address", &a.address, 300)?;
    text_field("title_number", &a.title_number, 60)?;
    let digits = a.id_number.trim();
    if !((digits.len() == 16 || digits.len() == 13) && digits.bytes().all(|b| b.is_ascii_digit())) {
        return Err(KrkError::Input(
            "applicant.id_number is a NIK (16 digits) or a company's NIB (13 digits)".into(),
        ));
    }
    if !TITLE_KINDS.contains(&a.title_kind.as_str()) {
        return Err(KrkError::Input(format!(
            "applicant.title_kind \"{}\" is not one of {}",
            a.title_kind,
            TITLE_KINDS.join(", ")
        )));
    }
    let phone = a.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let email = a.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if phone.is_none() && email.is_none() {
        return Err(KrkError::Input(
            "give a contact: applicant.phone or applicant.email".into(),
        ));
    }
    if let Some(p) = phone
        && !(p.len() <= 20 && p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
    {
        return Err(KrkError::Input(format!(
            "applicant.phone \"{p}\" is not a telephone number"
        )));
    }
    if let Some(e) = email
        && !(e.len() <= 200 && e.contains('@') && !e.contains(char::is_whitespace))
    {
        return Err(KrkError::Input(format!(
            "applicant.email \"{e}\" is not an email address"
        )));
    }
    Ok(())
}

/// A stored application.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Application {
    /// Its id (a UUID).
    pub id: String,
    /// `submitted`, `issued` or `refused`.
    pub status: String,
    /// Who applies.
    #[sqlx(json)]
    pub applicant: Applicant,
    /// The intended building function.
    pub building_function: String,
    /// The KBLI code of the intended activity.
    pub activity: Option<String>,
    /// The parcel (GeoJSON).
    #[sqlx(json)]
    pub parcel: serde_json::Value,
    /// Its area, m².
    pub parcel_area_m2: f64,
    /// The draft computed when it came.
    #[sqlx(json)]
    pub draft: Draft,
    /// When it came.
    pub submitted_at: String,
    /// When staff decided.
    pub decided_at: Option<String>,
    /// Why it was refused.
    pub refusal_reason: Option<String>,
    /// The certificate's number, once issued.
    pub number: Option<String>,
    /// Whether the certificate is revoked.
    pub revoked: Option<bool>,
}

/// What an applicant gets back: the application and the key of its private link (shown once).
#[derive(Debug, Serialize)]
pub struct Submitted {
    /// The application.
    pub application: Application,
    /// The key of the private link.
    pub key: String,
}

/// The SHA-256 of an application key, as stored.
fn key_digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Stores an application with its draft computed from the versions in force.
pub async fn submit(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    new: &NewApplication,
    origin: &str,
) -> Result<Submitted> {
    let draft = draft::compute(pool, live, snapshot, &new.parcel)
        .await
        .map_err(measuring_error)?;
    if draft.parts.is_empty() {
        return Err(KrkError::Input(
            "parcel: it lies outside every plan in force: there is nothing to certify".into(),
        ));
    }
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let wkb = draft::parcel_wkb(&new.parcel)?;
    let id: String = sqlx::query_scalar(include_str!("sql/insert_application.sql"))
        .bind(key_digest(&key))
        .bind(sqlx::types::Json(&new.applicant))
        .bind(&new.building_function)
        .bind(new.parcel.activity())
        .bind(&wkb)
        .bind(draft.area_m2)
        .bind(sqlx::types::Json(&draft))
        .bind(origin)
        .fetch_one(pool)
        .await?;
    let application = read(pool, &id).await?;
    Ok(Submitted { application, key })
}

/// Whether `id` looks like a UUID (anything else is no application, not a database error).
pub(super) fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The application `id` (for staff).
pub async fn read(pool: &PgPool, id: &str) -> Result<Application> {
    read_one(pool, id, None).await
}

/// The application `id`, if `key` opens it (the applicant's private link).
pub async fn read_with_key(pool: &PgPool, id: &str, key: &str) -> Result<Application> {
    // Looked up by the key's digest: comparing digests leaks nothing of the key.
    read_one(pool, id, Some(key_digest(key))).await
}

/// The application `id`, opened by the key whose digest is `key` (any when `None`).
async fn read_one(pool: &PgPool, id: &str, key: Option<Vec<u8>>) -> Result<Application> {
    if !is_uuid(id) {
        return Err(KrkError::UnknownApplication(id.to_string()));
    }
    sqlx::query_as(include_str!("sql/applications.sql"))
        .bind(id)
        .bind(None::<&str>)
        .bind(1_i64)
        .bind(key)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| KrkError::UnknownApplication(id.to_string()))
}

/// Applications by status (`submitted`: the queue, oldest first; others newest first).
pub async fn list(pool: &PgPool, status: Option<&str>, limit: i64) -> Result<Vec<Application>> {
    Ok(sqlx::query_as(include_str!("sql/applications.sql"))
        .bind(None::<&str>)
        .bind(status)
        .bind(limit)
        .bind(None::<Vec<u8>>)
        .fetch_all(pool)
        .await?)
}

/// Refuses the application `id` with `reason`.
pub async fn refuse(pool: &PgPool, id: &str, reason: &str, actor: &Actor) -> Result<Application> {
    let reason = check_reason(reason, "a refusal")?;
    let current = read(pool, id).await?;
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE krk_application SET status = 'refused', refusal_reason = $2, decided_at = now(), \
         decided_by = $3 WHERE id = $1::uuid AND status = 'submitted'",
    )
    .bind(id)
    .bind(reason)
    .bind(actor.account_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(KrkError::Conflict(format!(
            "application {id} is {}: only a submitted application can be refused",
            current.status
        )));
    }
    crate::accounts::audit(
        &mut tx,
        actor,
        "krk.refuse",
        Some(id),
        serde_json::json!({ "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    read(pool, id).await
}
