//! Issuing a certificate: the draft computed again from the versions in force, the next number of
//! the year, the content as canonical JSON (RFC 8785) signed with Ed25519, the PDF drawn and
//! signed (PAdES), all stored in one transaction: a number is used exactly when a certificate is
//! stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use super::applications::{self, Application};
use super::draft::{self, Draft};
use super::keys::Keys;
use super::pades::DocumentSigner;
use super::{KrkError, Result, pades, pdf};
use crate::accounts::Actor;
use crate::zoning::{Live, ParcelRequest, Snapshot};

/// The agency that issues, as numbers and letters name it.
pub const AGENCY: &str = "DPPR";

/// What issuing needs besides the database: the keys, and the base URL of the verification links.
pub struct Issuer<'a> {
    /// The signing keys.
    pub keys: &'a Keys,
    /// The server's public base URL (`https://peta.balikpapan.go.id`).
    pub base_url: &'a str,
}

/// An issued certificate, as the issuing API answers.
#[derive(Debug, Serialize)]
pub struct Issued {
    /// Its number, e.g. `0001/KRK/DPPR/XI/2026`.
    pub number: String,
    /// The application.
    pub application_id: String,
    /// Where staff and the applicant fetch the PDF.
    pub pdf_url: String,
    /// Where anyone verifies it.
    pub verification_url: String,
    /// What the QR code holds: the verification URL with the signature.
    pub qr: String,
    /// SHA-256 of the PDF, hex.
    pub pdf_sha256: String,
    /// The PDF's size, bytes.
    pub pdf_bytes: usize,
    /// The key that signed it.
    pub key_id: String,
    /// What the certificate says differently from the draft the applicant saw (the plan changed
    /// since the application: `sub-zones`, `intensity`, ...); the application now shows the
    /// certificate's.
    pub changed_since_submission: Vec<&'static str>,
}

/// The month in Roman numerals, as letter numbers carry it.
pub fn roman_month(month: u32) -> &'static str {
    const ROMAN: [&str; 12] = [
        "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
    ];
    ROMAN[(month.clamp(1, 12) - 1) as usize]
}

/// A day (`YYYY-MM-DD`) in Indonesian words: `26 November 2026`.
pub fn day_in_words(day: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let mut parts = day.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return day.to_string();
    };
    let month = m.parse::<usize>().ok().filter(|m| (1..=12).contains(m));
    match (month, d.parse::<u32>()) {
        (Some(m), Ok(d)) => format!("{d} {} {y}", MONTHS[m - 1]),
        _ => day.to_string(),
    }
}

/// The number `seq` of `year`, issued in `month`.
pub fn format_number(seq: i32, month: u32, year: i32) -> String {
    format!("{seq:04}/KRK/{AGENCY}/{}/{year}", roman_month(month))
}

/// A certificate's number, taken.
#[derive(sqlx::FromRow)]
struct Numbered {
    /// The day of issue in Balikpapan (`YYYY-MM-DD`).
    day: String,
    /// Its year.
    year: i32,
    /// Its month.
    month: i32,
    /// The number within the year.
    seq: i32,
}

impl Numbered {
    fn number(&self) -> String {
        format_number(self.seq, self.month as u32, self.year)
    }
}

/// The day of issue and the next number of its year, taken in `tx`: the counter's row stays
/// locked until the transaction ends, and rolls back with it.
async fn next_number(tx: &mut PgConnection) -> Result<Numbered> {
    Ok(sqlx::query_as(include_str!("sql/next_number.sql"))
        .fetch_one(&mut *tx)
        .await?)
}

/// The parcel of a stored application, as a request to measure again.
pub fn parcel_of(application: &Application) -> Result<ParcelRequest> {
    let polygons = ParcelRequest::polygons(application.parcel.clone())?;
    Ok(ParcelRequest::new(polygons, application.activity.clone())?)
}

/// The signed content of a certificate.
pub fn payload(
    number: &str,
    day: &str,
    application: &Application,
    draft: &Draft,
    signer: &super::keys::SignerIdentity,
    key_id: &str,
    verification_url: &str,
) -> serde_json::Value {
    json!({
        "type": "KRK",
        "number": number,
        "issued_on": day,
        "issuer": {
            "agency": "Dinas Pertanahan dan Penataan Ruang Kota Balikpapan",
            "signatory": signer.name,
            "nip": signer.nip,
            "position": signer.position,
        },
        "key_id": key_id,
        "application": application.id,
        "applicant": {
            "name": application.applicant.name,
            "land_title": format!("{} {}", application.applicant.title_kind, application.applicant.title_number),
        },
        "building_function": application.building_function,
        "parcel": application.parcel,
        "draft": draft,
        "verification_url": verification_url,
    })
}

/// What an issue measures before it takes a number: the application, its draft computed again
/// from the versions in force, and the map.
pub struct Prepared {
    application: Application,
    draft: Draft,
    map: super::pdf::MapView,
}

/// Measures the parcel of the submitted application `id` again (the heavy part of issuing: the
/// caller may bound how many run at once).
pub async fn prepare(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    id: &str,
) -> Result<Prepared> {
    let application = applications::read(pool, id).await?;
    if application.status != "submitted" {
        return Err(not_submitted(&application));
    }
    let request = parcel_of(&application)?;
    let draft = draft::compute(pool, live, snapshot, &request).await?;
    if draft.parts.is_empty() {
        return Err(KrkError::Conflict(
            "no plan in force covers the parcel any more: refuse the application".into(),
        ));
    }
    let map = super::map::map_of(pool, &request).await?;
    Ok(Prepared {
        application,
        draft,
        map,
    })
}

/// Takes the number, signs and stores the certificate of a prepared application.
pub async fn finish(
    pool: &PgPool,
    issuer: &Issuer<'_>,
    prepared: Prepared,
    actor: &Actor,
) -> Result<Issued> {
    let Prepared {
        application,
        draft,
        map,
    } = prepared;
    let changed_since_submission = super::verify::differences(&application.draft, &draft);
    let mut tx = pool.begin().await?;
    lock_submitted(&mut tx, &application, &draft, actor).await?;
    let numbered = next_number(&mut tx).await?;
    let (number, day) = (numbered.number(), numbered.day.as_str());
    let signer = issuer.keys.signer_identity();
    let key_id = issuer.keys.current().kid().to_string();
    let verification_url = format!("{}/verify/{number}", issuer.base_url);
    let content = payload(
        &number,
        day,
        &application,
        &draft,
        signer,
        &key_id,
        &verification_url,
    );
    let canonical = serde_json_canonicalizer::to_vec(&content)
        .map_err(|e| KrkError::Input(format!("the certificate cannot be serialised: {e}")))?;
    let (signed_by, signature) = issuer.keys.sign_payload(&canonical);
    let key_id = signed_by.to_string();
    let qr = format!("{verification_url}?s={}", URL_SAFE_NO_PAD.encode(signature));
    let document = super::layout::certificate(super::layout::Content {
        number: &number,
        day,
        application: &application,
        draft: &draft,
        signer,
        map,
        qr: &qr,
        verification_url: &verification_url,
        key_id: &key_id,
    })?;
    let info = pades::SignatureInfo {
        name: signer.name.clone(),
        reason: format!("Keterangan Rencana Kota {number}"),
        location: "Balikpapan".into(),
        signing_time: chrono::Utc::now(),
    };
    let pdf = signed_pdf(document, issuer.keys.pades_signer()?, info).await?;
    let digest = Sha256::digest(&pdf).to_vec();
    sqlx::query(include_str!("sql/insert_certificate.sql"))
        .bind(&number)
        .bind(numbered.year)
        .bind(numbered.seq)
        .bind(&application.id)
        .bind(String::from_utf8_lossy(&canonical).into_owned())
        .bind(signature.as_slice())
        .bind(&key_id)
        .bind(draft.version_ids())
        .bind(&pdf)
        .bind(&digest)
        .bind(actor.account_id)
        .execute(&mut *tx)
        .await?;
    crate::accounts::audit(
        &mut tx,
        actor,
        "krk.issue",
        Some(&application.id),
        json!({ "number": number, "pdf_sha256": hex::encode(&digest) }),
    )
    .await?;
    tx.commit().await?;
    Ok(Issued {
        pdf_url: format!(
            "{}/api/v1/krk/applications/{}/certificate.pdf",
            issuer.base_url, application.id
        ),
        application_id: application.id,
        number,
        verification_url,
        qr,
        pdf_sha256: hex::encode(&digest),
        pdf_bytes: pdf.len(),
        key_id,
        changed_since_submission,
    })
}

/// The PDF drawn and signed on a CPU thread (drawing, the QR code and the ECDSA signature are
/// CPU work; the request's thread stays free).
async fn signed_pdf(
    document: pdf::CertificatePdf,
    signer: impl DocumentSigner + 'static,
    info: pades::SignatureInfo,
) -> Result<Vec<u8>> {
    crate::cpu::run(move || {
        signer
            .sign_document(pdf::render(&document)?, &info)
            .map_err(KrkError::from)
    })
    .await?
}

fn not_submitted(application: &Application) -> KrkError {
    KrkError::Conflict(format!(
        "application {} is {}: only a submitted application can be issued",
        application.id, application.status
    ))
}

/// Marks the application issued in `tx` with the draft the certificate states, unless another
/// request decided it first.
async fn lock_submitted(
    tx: &mut PgConnection,
    application: &Application,
    draft: &Draft,
    actor: &Actor,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE krk_application SET status = 'issued', decided_at = now(), decided_by = $2, \
         draft = $3 WHERE id = $1::uuid AND status = 'submitted'",
    )
    .bind(&application.id)
    .bind(actor.account_id)
    .bind(sqlx::types::Json(draft))
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(KrkError::Conflict(format!(
            "application {} was decided meanwhile",
            application.id
        )));
    }
    Ok(())
}

/// A certificate's PDF, as stored.
#[derive(sqlx::FromRow)]
pub struct StoredPdf {
    /// The certificate's number.
    pub number: String,
    /// The PDF.
    pub pdf: Vec<u8>,
}

/// The stored PDF of the application's certificate.
pub async fn pdf_of(pool: &PgPool, application_id: &str) -> Result<StoredPdf> {
    if !applications::is_uuid(application_id) {
        return Err(KrkError::UnknownApplication(application_id.to_string()));
    }
    sqlx::query_as("SELECT number, pdf FROM krk_certificate WHERE application_id = $1::uuid")
        .bind(application_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| KrkError::NotIssued(application_id.to_string()))
}

/// Revokes the certificate of application `id` with `reason`.
pub async fn revoke(pool: &PgPool, id: &str, reason: &str, actor: &Actor) -> Result<String> {
    let reason = applications::check_reason(reason, "a revocation")?;
    if !applications::is_uuid(id) {
        return Err(KrkError::UnknownApplication(id.to_string()));
    }
    let mut tx = pool.begin().await?;
    let number: Option<String> = sqlx::query_scalar(
        "UPDATE krk_certificate SET revoked_at = now(), revoked_by = $2, revocation_reason = $3 \
         WHERE application_id = $1::uuid AND revoked_at IS NULL RETURNING number",
    )
    .bind(id)
    .bind(actor.account_id)
    .bind(reason)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(number) = number else {
        let exists: Option<bool> = sqlx::query_scalar(
            "SELECT revoked_at IS NOT NULL FROM krk_certificate WHERE application_id = $1::uuid",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(match exists {
            Some(_) => KrkError::Conflict(format!(
                "the certificate of application {id} is already revoked"
            )),
            None => KrkError::NotIssued(id.to_string()),
        });
    };
    crate::accounts::audit(
        &mut tx,
        actor,
        "krk.revoke",
        Some(id),
        json!({ "number": number, "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}
