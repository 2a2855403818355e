//! Verifying a certificate: by its number (what the QR code's link opens, with the signature it
//! carries), by an uploaded PDF (its SHA-256 against the stored one), or by a payload and signature
//! (checked against the published keys). A certificate is valid, revoked, or superseded when the
//! versions in force today change what applies to its parcel; a version that changes nothing
//! there does not supersede it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::applications;
use super::draft::{self, Draft, DraftPart};
use super::keys::Keys;
use super::{KrkError, Result};
use crate::zoning::{Live, Snapshot};

/// A certificate's standing.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In force: signed by the city, not revoked, the plan unchanged for its parcel.
    Valid,
    /// Revoked by DPPR.
    Revoked,
    /// A newer plan version changes what applies to its parcel.
    Superseded,
}

/// Why a certificate is revoked.
#[derive(Debug, Serialize)]
pub struct Revocation {
    /// When (ISO 8601, WITA).
    pub at: String,
    /// Why.
    pub reason: String,
}

/// What supersedes a certificate.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Supersession {
    /// The first day on which what applies to the parcel changed.
    pub since: String,
    /// The plan versions in force for the parcel that day.
    pub versions: Vec<draft::VersionRef>,
    /// What differs from the certificate: `sub-zones`, `intensity`, `activity`, `setbacks`,
    /// `overlays`.
    pub changes: Vec<String>,
}

/// The answer of a verification.
#[derive(Debug, Serialize)]
pub struct Verification {
    /// The certificate's number.
    pub number: String,
    /// Its standing.
    pub status: Status,
    /// Whether the stored content's signature verifies with the published key: the city issued
    /// this content.
    pub authentic: bool,
    /// Whether the signature presented (the QR code's) is the certificate's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented_signature_matches: Option<bool>,
    /// The day of issue.
    pub issued_on: String,
    /// Revocation, if revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// Supersession, if superseded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded: Option<Supersession>,
    /// The signed content; without the applicant and the parcel (`redacted`) unless the caller
    /// showed the certificate's signature (its QR code) or its PDF.
    pub payload: serde_json::Value,
    /// Whether the applicant's name, the parcel and the application's id were left out of
    /// `payload`.
    pub redacted: bool,
    /// The Ed25519 signature, base64url.
    pub signature: String,
    /// The key that signed it.
    pub key_id: String,
    /// SHA-256 of the issued PDF, hex.
    pub pdf_sha256: String,
}

/// A stored certificate, as verification reads it.
#[derive(sqlx::FromRow)]
struct Stored {
    number: String,
    application_id: String,
    payload: String,
    signature: Vec<u8>,
    key_id: String,
    pdf_sha256: Vec<u8>,
    superseded: Option<sqlx::types::Json<Supersession>>,
    revoked_at: Option<String>,
    revocation_reason: Option<String>,
}

/// A certificate's number as written in links: `0001/KRK/DPPR/XI/2026`.
fn is_number(text: &str) -> bool {
    text.len() <= 40 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '/')
}

/// Certificates found not superseded, by day and newest plan version: a verification computes the
/// parcel's drafts again only when a version was published or a day began since (a supersession
/// found is recorded with the certificate).
pub struct Supersessions(moka::sync::Cache<(String, String, i64), ()>);

impl Default for Supersessions {
    fn default() -> Self {
        Supersessions(moka::sync::Cache::builder().max_capacity(50_000).build())
    }
}

/// What a verification reads.
pub struct Verifier<'a> {
    /// The database.
    pub pool: &'a PgPool,
    /// The plans in force.
    pub live: &'a Live,
    /// Their snapshot.
    pub snapshot: &'a Snapshot,
    /// The published keys.
    pub keys: &'a Keys,
    /// Supersessions found before.
    pub supersessions: &'a Supersessions,
}

impl Verifier<'_> {
    /// Verifies the certificate `number`; `presented` is the signature a QR code carried
    /// (base64url). Without the right one, the applicant and the parcel are left out.
    pub async fn by_number(&self, number: &str, presented: Option<&str>) -> Result<Verification> {
        if !is_number(number) {
            return Err(KrkError::UnknownCertificate(number.to_string()));
        }
        let stored: Stored = sqlx::query_as(include_str!("sql/certificate.sql"))
            .bind(number)
            .bind(None::<Vec<u8>>)
            .fetch_optional(self.pool)
            .await?
            .ok_or_else(|| KrkError::UnknownCertificate(number.to_string()))?;
        let presented = presented.map(|p| {
            URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .is_ok_and(|sig| sig == stored.signature)
        });
        let full = presented == Some(true);
        self.answer(stored, presented, full).await
    }

    /// Verifies an uploaded PDF: the certificate whose stored SHA-256 it has, or `None` when it
    /// is not a PDF the city issued (or it was changed since).
    pub async fn by_pdf(&self, pdf: &[u8]) -> Result<Option<Verification>> {
        let digest = Sha256::digest(pdf).to_vec();
        let stored: Option<Stored> = sqlx::query_as(include_str!("sql/certificate.sql"))
            .bind(None::<String>)
            .bind(digest)
            .fetch_optional(self.pool)
            .await?;
        match stored {
            Some(stored) => Ok(Some(self.answer(stored, None, true).await?)),
            None => Ok(None),
        }
    }

    async fn answer(
        &self,
        stored: Stored,
        presented: Option<bool>,
        full: bool,
    ) -> Result<Verification> {
        let authentic = <[u8; 64]>::try_from(stored.signature.as_slice()).is_ok_and(|sig| {
            self.keys
                .verify_payload(&stored.key_id, stored.payload.as_bytes(), &sig)
        });
        let mut payload: serde_json::Value = serde_json::from_str(&stored.payload)
            .map_err(|e| KrkError::Input(format!("a stored certificate is not JSON: {e}")))?;
        let issued_on = payload["issued_on"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (status, revocation, superseded) =
            match (stored.revoked_at.clone(), stored.revocation_reason.clone()) {
                (Some(at), Some(reason)) => {
                    (Status::Revoked, Some(Revocation { at, reason }), None)
                }
                _ => match self.supersession(&stored, &payload).await? {
                    Some(s) => (Status::Superseded, None, Some(s)),
                    None => (Status::Valid, None, None),
                },
            };
        if !full && let Some(content) = payload.as_object_mut() {
            content.remove("applicant");
            content.remove("parcel");
            content.remove("application");
        }
        Ok(Verification {
            number: stored.number,
            status,
            authentic,
            presented_signature_matches: presented,
            issued_on,
            revocation,
            superseded,
            payload,
            redacted: !full,
            signature: URL_SAFE_NO_PAD.encode(&stored.signature),
            key_id: stored.key_id,
            pdf_sha256: hex::encode(&stored.pdf_sha256),
        })
    }

    /// What supersedes the certificate, if anything: the first version since its issue with which
    /// what was in force changed what applies to its parcel (compared on what applies, not on ids),
    /// each version judged as things stood when it came, whether or not anyone verified then.
    /// Found once, it is recorded: the certificate stays superseded, even when a later version
    /// brings the old rules back.
    async fn supersession(
        &self,
        stored: &Stored,
        payload: &serde_json::Value,
    ) -> Result<Option<Supersession>> {
        if let Some(found) = &stored.superseded {
            return Ok(Some(found.0.clone()));
        }
        let (number, application_id) = (stored.number.as_str(), stored.application_id.as_str());
        let (today, newest): (String, i64) = sqlx::query_as(
            "SELECT city_today()::text, COALESCE((SELECT max(id) FROM plan_version), 0)",
        )
        .fetch_one(self.pool)
        .await?;
        let key = (number.to_string(), today, newest);
        if self.supersessions.0.contains_key(&key) {
            return Ok(None);
        }
        let moments: Vec<(String, i64)> = sqlx::query_as(include_str!("sql/changes_since.sql"))
            .bind(number)
            .fetch_all(self.pool)
            .await?;
        let mut found = None;
        if !moments.is_empty() {
            let certified: Draft = serde_json::from_value(payload["draft"].clone())
                .map_err(|e| KrkError::Input(format!("a stored certificate has no draft: {e}")))?;
            let application = applications::read(self.pool, application_id).await?;
            let request = super::issue::parcel_of(&application)?;
            for (day, published_up_to) in moments {
                let moment = draft::Moment {
                    day: Some(day.clone()),
                    published_up_to: Some(published_up_to),
                };
                let then =
                    draft::compute_on(self.pool, self.live, self.snapshot, &request, &moment)
                        .await?;
                let changes = differences(&certified, &then);
                if !changes.is_empty() {
                    found = Some(Supersession {
                        since: day,
                        versions: then.versions,
                        changes: changes.into_iter().map(str::to_string).collect(),
                    });
                    break;
                }
            }
        }
        match &found {
            // Recorded: superseded once, superseded for good.
            Some(supersession) => {
                sqlx::query(
                    "UPDATE krk_certificate SET superseded = $2 WHERE number = $1 AND superseded IS NULL",
                )
                .bind(number)
                .bind(sqlx::types::Json(supersession))
                .execute(self.pool)
                .await?;
            }
            None => self.supersessions.0.insert(key, ()),
        }
        Ok(found)
    }
}

/// Whether `signature` (base64url) by key `key_id` signs `payload` in its canonical form: how a
/// holder checks a content against the published keys without trusting the server's answer.
pub fn check_payload(
    keys: &Keys,
    payload: &serde_json::Value,
    key_id: &str,
    signature: &str,
) -> Result<bool> {
    let canonical = serde_json_canonicalizer::to_vec(payload)
        .map_err(|e| KrkError::Input(format!("the payload cannot be canonicalised: {e}")))?;
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) else {
        return Ok(false);
    };
    let Ok(signature) = <[u8; 64]>::try_from(signature.as_slice()) else {
        return Ok(false);
    };
    Ok(keys.verify_payload(key_id, &canonical, &signature))
}

/// Whether two drafts agree on one kind of rule.
type SameRule = fn(&Draft, &Draft) -> bool;

/// What applies to the parcel that differs between two drafts (areas to the square metre,
/// setbacks to the decimetre): `sub-zones`, `intensity`, `activity`, `setbacks`, `overlays`.
pub fn differences(then: &Draft, now: &Draft) -> Vec<&'static str> {
    let checks: [(&'static str, SameRule); 5] = [
        ("sub-zones", |a, b| {
            per_subzone(a, |p| p.area_m2.round()) == per_subzone(b, |p| p.area_m2.round())
        }),
        ("intensity", |a, b| {
            per_subzone(a, |p| p.intensity.clone()) == per_subzone(b, |p| p.intensity.clone())
        }),
        ("activity", |a, b| {
            let rule = |p: &DraftPart| (p.activity_class.clone(), p.conditions.clone());
            per_subzone(a, rule) == per_subzone(b, rule)
                && a.activity.as_ref().map(|x| &x.class) == b.activity.as_ref().map(|x| &x.class)
        }),
        ("setbacks", |a, b| {
            let front = |d: &Draft| d.totals.front_setback_m.map(|s| (s * 10.0).round());
            let inside = |p: &draft::ProtectionFront| (p.subzone.clone(), p.inside_m2.round());
            front(a) == front(b)
                && a.protection
                    .iter()
                    .map(inside)
                    .eq(b.protection.iter().map(inside))
        }),
        ("overlays", |a, b| a.overlays == b.overlays),
    ];
    checks
        .into_iter()
        .filter(|(_, same)| !same(then, now))
        .map(|(what, _)| what)
        .collect()
}

/// `value` of each part, by sub-zone (parts of one sub-zone in the draft's order, largest first).
fn per_subzone<T>(draft: &Draft, value: impl Fn(&DraftPart) -> T) -> Vec<(&str, T)> {
    let mut values: Vec<(&str, T)> = draft
        .parts
        .iter()
        .map(|p| (p.subzone.as_str(), value(p)))
        .collect();
    values.sort_by(|a, b| a.0.cmp(b.0));
    values
}
