//! What changed between two versions of a plan: the areas whose sub-zone or whose sub-zone's rules
//! differ, as a GeoJSON FeatureCollection (before, after, what differs, area).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;

use super::index::{VersionInfo, load_versions};
use super::{Live, Result, Snapshot, ZoningError};
use crate::rules::RuleBook;

/// Pieces of this many m² or less are left out (slivers of redrawn boundaries).
const SLIVER_M2: f64 = 1.0;
/// At most this many pieces are returned, largest first.
const MAX_PIECES: i64 = 5_000;

/// A row of `plan_changes.sql`.
#[derive(sqlx::FromRow)]
struct PieceRow {
    before_id: Option<i64>,
    before_code: Option<String>,
    after_id: Option<i64>,
    after_code: Option<String>,
    area_m2: f64,
    geometry: String,
}

/// One side of a change.
#[derive(Serialize)]
struct Side<'a> {
    feature_id: i64,
    subzone: &'a RawValue,
}

/// The properties of a changed area.
#[derive(Serialize)]
struct ChangeProperties<'a> {
    before: Option<Side<'a>>,
    after: Option<Side<'a>>,
    differs: Vec<&'static str>,
    area_m2: f64,
}

/// A changed area as a GeoJSON Feature.
#[derive(Serialize)]
struct ChangeFeature<'a> {
    r#type: &'static str,
    geometry: Box<RawValue>,
    properties: ChangeProperties<'a>,
}

/// The changes between two versions, as GeoJSON.
#[derive(Serialize)]
struct Changes<'a> {
    r#type: &'static str,
    plan_id: i64,
    from: &'a VersionInfo,
    to: &'a VersionInfo,
    /// Sub-zones whose rules differ between the two rule sets, with what differs.
    rule_changes: Vec<(String, Vec<&'static str>)>,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    /// Whether more pieces changed than were returned.
    truncated: bool,
    /// Pieces of this area or less are left out, m².
    sliver_m2: f64,
    features: Vec<ChangeFeature<'a>>,
}

/// An envelope as EWKT in WGS 84, for PostGIS.
fn envelope_wkt([w, s, e, n]: [f64; 4]) -> String {
    format!("SRID=4326;POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))")
}

/// What differs between a sub-zone's rules in two rule books.
fn rule_differences(before: &RuleBook, after: &RuleBook, code: &str) -> Vec<&'static str> {
    let mut differs = Vec::new();
    if before.subzone_json(code).get() != after.subzone_json(code).get() {
        differs.push("legend");
    }
    if before.intensity_json(code).get() != after.intensity_json(code).get() {
        differs.push("intensity");
    }
    if before.activities_json(code).get() != after.activities_json(code).get() {
        differs.push("activities");
    }
    differs
}

/// Which changes to list: the plan, its two versions, and optionally the area asked about.
pub struct ChangesQuery {
    /// The plan.
    pub plan_id: i64,
    /// The version before.
    pub from: i64,
    /// The version after.
    pub to: i64,
    /// Only the zones reaching into this envelope (west, south, east, north in WGS 84).
    pub bbox: Option<[f64; 4]>,
}

/// The areas of the plan whose sub-zone or rules differ between the two versions, as a GeoJSON
/// FeatureCollection (JSON text).
pub async fn plan_changes(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    query: &ChangesQuery,
) -> Result<Vec<u8>> {
    let &ChangesQuery {
        plan_id, from, to, ..
    } = query;
    let versions = load_versions(&mut *pool.acquire().await?).await?;
    let version = |id: i64| -> Result<&VersionInfo> {
        let v = versions.get(&id).ok_or(ZoningError::UnknownVersion(id))?;
        if v.plan_id != plan_id {
            return Err(ZoningError::NotOfPlan {
                version: id,
                plan: plan_id,
            });
        }
        Ok(v)
    };
    let (before, after) = (version(from)?, version(to)?);
    let book_before = live.book(snapshot, before.rule_set_id).await?;
    let book_after = live.book(snapshot, after.rule_set_id).await?;
    let codes: BTreeSet<String> = sqlx::query_scalar(
        "SELECT DISTINCT subzone_code FROM zoning_feature WHERE version_id = ANY($1)",
    )
    .bind([before.geometry_version_id, after.geometry_version_id])
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let rule_changes: Vec<(String, Vec<&'static str>)> = codes
        .into_iter()
        .map(|code| {
            let differs = rule_differences(&book_before, &book_after, &code);
            (code, differs)
        })
        .filter(|(_, differs)| !differs.is_empty())
        .collect();
    let changed: Vec<&String> = rule_changes.iter().map(|(c, _)| c).collect();
    let sql = if before.geometry_version_id == after.geometry_version_id {
        include_str!("sql/rule_changes.sql")
    } else {
        include_str!("sql/plan_changes.sql")
    };
    let rows: Vec<PieceRow> = sqlx::query_as(sql)
        .bind(before.geometry_version_id)
        .bind(after.geometry_version_id)
        .bind(&changed)
        .bind(SLIVER_M2)
        .bind(MAX_PIECES + 1)
        .bind(query.bbox.map(envelope_wkt))
        .fetch_all(pool)
        .await?;
    let truncated = rows.len() as i64 > MAX_PIECES;
    let by_code: HashMap<&str, &Vec<&'static str>> =
        rule_changes.iter().map(|(c, d)| (c.as_str(), d)).collect();
    let mut features = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(MAX_PIECES as usize) {
        let mut differs = Vec::new();
        match (&row.before_code, &row.after_code) {
            (Some(b), Some(a)) if a != b => differs.push("subzone"),
            (Some(code), Some(_)) => {
                differs.extend(by_code.get(code.as_str()).map_or(&[][..], |d| &d[..]))
            }
            (Some(_), None) => differs.push("removed from the plan"),
            (None, Some(_)) => differs.push("added to the plan"),
            (None, None) => {}
        }
        let side = |id: Option<i64>, code: &Option<String>, book| {
            Some(Side {
                feature_id: id?,
                subzone: RuleBook::subzone_json(book, code.as_deref()?),
            })
        };
        features.push(ChangeFeature {
            r#type: "Feature",
            geometry: RawValue::from_string(row.geometry)
                .map_err(|e| ZoningError::Background(e.to_string()))?,
            properties: ChangeProperties {
                before: side(row.before_id, &row.before_code, &book_before),
                after: side(row.after_id, &row.after_code, &book_after),
                differs,
                area_m2: row.area_m2,
            },
        });
    }
    let answer = Changes {
        r#type: "FeatureCollection",
        plan_id,
        from: before,
        to: after,
        rule_changes,
        number_returned: features.len(),
        truncated,
        sliver_m2: SLIVER_M2,
        features,
    };
    serde_json::to_vec(&answer).map_err(|e| ZoningError::Background(e.to_string()))
}
