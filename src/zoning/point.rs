//! Point lookups: which sub-zone applies at a point, what may be built there and which activities
//! are permitted.
//!
//! An answer has two parts. The head says what is particular to the zone found (its plan version,
//! block, kelurahan, overlays, source attributes, overlapping zones, the activity asked about); the
//! tail is the sub-zone's rules (legend, intensity tiers, the ITBX activities), the bulk of the
//! answer and the same for every point of that sub-zone. The rule book serialises each tail once;
//! the HTTP layer also compresses it once (see `web::answers`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;

use super::index::{FeatureBatch, FeatureRow, VersionInfo, load_versions};
use super::{PublishedFeature, Result, Snapshot, ZoningError};
use crate::rules::{ItbxClass, RuleBook};

/// The rule of the activity asked about.
#[derive(Debug, Serialize)]
pub struct ActivityAnswer {
    /// The KBLI code asked about.
    pub kbli: String,
    /// Its title.
    pub kbli_title: String,
    /// The activity of the ITBX matrix that rules it.
    pub id: String,
    /// The activity's name.
    pub name: String,
    /// Its class here: I, T, B, TB or X.
    pub class: ItbxClass,
    /// The class in words.
    pub class_label: &'static str,
    /// The conditions with their texts.
    pub conditions: Vec<crate::rules::Condition>,
}

/// Another zone under the same point (overlapping zones, or plans that overlap).
#[derive(Debug, Serialize)]
pub struct OverlapInfo<'a> {
    /// Feature id.
    pub feature_id: i64,
    /// Its plan version.
    pub plan: Option<&'a VersionInfo>,
    /// Its sub-zone.
    pub subzone: &'a RawValue,
}

/// What is particular to the zone found at a point.
#[derive(Debug, Serialize)]
pub struct PointHead<'a> {
    /// The plan version that applies.
    pub plan: Option<&'a VersionInfo>,
    /// The zoning feature.
    pub feature_id: i64,
    /// Block code (KODBLK).
    pub block: Option<&'a str>,
    /// Sub-block code (KODSBL).
    pub subblock: Option<&'a str>,
    /// Kelurahan (WADMKD).
    pub kelurahan: Option<&'a str>,
    /// Kecamatan (WADMKC).
    pub kecamatan: Option<&'a str>,
    /// Overlays that apply (field name -> value).
    pub overlays: &'a RawValue,
    /// The source row as imported.
    pub attributes: &'a super::attributes::Attributes,
    /// Other zones under the same point.
    pub overlaps: Vec<OverlapInfo<'a>>,
    /// The activity asked about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityAnswer>,
}

/// The answer to a point lookup: the head, and the sub-zone whose rules make the tail.
#[derive(Debug, Serialize)]
pub struct PointAnswer<'a> {
    /// What is particular to the zone found.
    #[serde(flatten)]
    pub head: PointHead<'a>,
    /// The sub-zone: code, catalog code, name, zone, colour.
    pub subzone: &'a RawValue,
    /// Intensity tiers by parcel size.
    pub intensity: &'a RawValue,
    /// Activities grouped by ITBX class (I, T, B, TB, X), with condition texts.
    pub activities: &'a RawValue,
    /// The sub-zone's letter code.
    #[serde(skip)]
    pub subzone_code: &'a str,
    /// The ids of every feature under the point, the answering one first.
    #[serde(skip)]
    pub feature_ids: Vec<i64>,
}

impl PointAnswer<'_> {
    /// The head as the start of a JSON object: `{"plan":...,"activity":...,` (the tail closes it).
    pub fn head_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(&self.head).expect("answers serialise");
        // The head always has fields, so it ends with `}`: continue the object instead.
        out.pop();
        out.push(b',');
        out
    }

    /// The whole answer as JSON: the head, then the sub-zone's tail from `rules`.
    pub fn to_json(&self, rules: &RuleBook) -> Vec<u8> {
        let mut out = self.head_json();
        out.extend_from_slice(rules.answer_tail(self.subzone_code));
        out
    }
}

/// Checks coordinates given in degrees.
pub(crate) fn check_coordinates(lon: f64, lat: f64) -> Result<()> {
    if !lon.is_finite()
        || !lat.is_finite()
        || !(-180.0..=180.0).contains(&lon)
        || !(-90.0..=90.0).contains(&lat)
    {
        return Err(ZoningError::Coordinates { lon, lat });
    }
    Ok(())
}

/// Resolves a KBLI code to its activity rule in a sub-zone.
pub(crate) fn activity_answer(
    rules: &RuleBook,
    kbli: &str,
    subzone: &str,
) -> Result<ActivityAnswer> {
    let entry = rules
        .kbli(kbli)
        .ok_or_else(|| ZoningError::UnknownKbli(kbli.to_string()))?;
    let activity = rules
        .activity_for_kbli(kbli)
        .ok_or_else(|| ZoningError::KbliNotRuled {
            code: entry.code.clone(),
            title: entry.title.clone(),
        })?;
    let rule =
        rules
            .activity_rule(subzone, &activity.id)
            .ok_or_else(|| ZoningError::NoItbxCell {
                activity: activity.name.clone(),
                subzone: subzone.to_string(),
            })?;
    Ok(ActivityAnswer {
        kbli: entry.code.clone(),
        kbli_title: entry.title.clone(),
        id: rule.id,
        name: rule.name,
        class: rule.class,
        class_label: rule.class_label,
        conditions: rule.conditions,
    })
}

fn answer<'a>(
    rules: &'a RuleBook,
    versions: &'a HashMap<i64, VersionInfo>,
    (lon, lat): (f64, f64),
    hits: &[&'a PublishedFeature],
    kbli: Option<&str>,
) -> Result<PointAnswer<'a>> {
    let Some(feature) = hits.first() else {
        return Err(ZoningError::NotCovered { lon, lat });
    };
    let activity = kbli
        .map(|k| activity_answer(rules, k, &feature.subzone))
        .transpose()?;
    Ok(PointAnswer {
        head: PointHead {
            plan: versions.get(&feature.version_id),
            feature_id: feature.id,
            block: feature.block.as_deref(),
            subblock: feature.subblock.as_deref(),
            kelurahan: feature.kelurahan.as_deref(),
            kecamatan: feature.kecamatan.as_deref(),
            overlays: &feature.overlays,
            attributes: &feature.attributes,
            overlaps: hits[1..]
                .iter()
                .map(|f| OverlapInfo {
                    feature_id: f.id,
                    plan: versions.get(&f.version_id),
                    subzone: rules.subzone_json(&f.subzone),
                })
                .collect(),
            activity,
        },
        subzone: rules.subzone_json(&feature.subzone),
        intensity: rules.intensity_json(&feature.subzone),
        activities: rules.activities_json(&feature.subzone),
        subzone_code: &feature.subzone,
        feature_ids: hits.iter().map(|f| f.id).collect(),
    })
}

/// Answers a point lookup from the in-memory index of published plans.
pub fn lookup_point<'a>(
    snapshot: &'a Snapshot,
    lon: f64,
    lat: f64,
    kbli: Option<&str>,
) -> Result<PointAnswer<'a>> {
    check_coordinates(lon, lat)?;
    let hits = snapshot.index.at(lon, lat);
    answer(
        &snapshot.rules,
        snapshot.index.versions(),
        (lon, lat),
        &hits,
        kbli,
    )
}

/// The features of one plan version (published or superseded) under a point, read from PostGIS,
/// with the versions they name; [`VersionLookup::answer`] makes the answer.
pub struct VersionLookup {
    versions: HashMap<i64, VersionInfo>,
    features: Vec<PublishedFeature>,
    point: (f64, f64),
}

impl VersionLookup {
    /// Reads what version `version_id` has under the point.
    pub async fn read(pool: &PgPool, version_id: i64, lon: f64, lat: f64) -> Result<Self> {
        check_coordinates(lon, lat)?;
        let versions = load_versions(&mut *pool.acquire().await?).await?;
        if !versions.contains_key(&version_id) {
            return Err(ZoningError::UnknownVersion(version_id));
        }
        let features = features_at(pool, lon, lat, Some(version_id)).await?;
        Ok(VersionLookup {
            versions,
            features,
            point: (lon, lat),
        })
    }

    /// The answer, with the rules of `rules`.
    pub fn answer<'a>(
        &'a self,
        rules: &'a RuleBook,
        kbli: Option<&str>,
    ) -> Result<PointAnswer<'a>> {
        let hits: Vec<&PublishedFeature> = self.features.iter().collect();
        answer(rules, &self.versions, self.point, &hits, kbli)
    }
}

/// The features under a point, asked of PostGIS (`ST_Intersects` with the GiST index): of one
/// version, or of every published version when `version_id` is `None`.
pub async fn features_at(
    pool: &PgPool,
    lon: f64,
    lat: f64,
    version_id: Option<i64>,
) -> Result<Vec<PublishedFeature>> {
    let rows: Vec<FeatureRow> = sqlx::query_as(include_str!("sql/features_at_point.sql"))
        .bind(lon)
        .bind(lat)
        .bind(version_id)
        .fetch_all(pool)
        .await?;
    let mut batch = FeatureBatch::default();
    for row in rows {
        batch.add(row)?;
    }
    Ok(batch.finish())
}
