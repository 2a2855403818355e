//! The plan catalogue: every plan, its versions and their validation summaries.

use serde::Serialize;
use sqlx::PgPool;

use super::Result;
use crate::ingest::{Policies, ValidationReport};

/// A plan version as the catalogue lists it.
#[derive(Debug, Serialize)]
pub struct PlanVersion {
    /// Plan id.
    pub plan_id: i64,
    /// Plan name.
    pub plan: String,
    /// Version id (stable; older versions stay readable by it).
    pub version_id: i64,
    /// Version number within the plan.
    pub version: i32,
    /// Whether this is the plan's newest version.
    pub published: bool,
    /// When it was published.
    pub published_at: String,
    /// The day it took effect (YYYY-MM-DD).
    pub effective_from: String,
    /// The day the plan's next version took effect, if any.
    pub in_force_until: Option<String>,
    /// Whether it is in force today.
    pub in_force: bool,
    /// The version whose zoning rows it uses (itself, unless it changed only the rules).
    pub geometry_version_id: i64,
    /// Its rule set.
    pub rules: RuleSetInfo,
    /// The import policies it was published with (defects let through, on record).
    pub policies: Policies,
    /// Source file, layer and CRS.
    pub source: Source,
    /// Number of zoning features.
    pub feature_count: i32,
    /// Total area, m².
    pub area_m2: f64,
    /// Counts of the validation findings.
    pub validation: ValidationSummary,
    /// The whole validation report (only when one version is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ValidationReport>,
}

/// Which rule set a version uses.
#[derive(Debug, Serialize)]
pub struct RuleSetInfo {
    /// Rule set id.
    pub id: i64,
    /// SHA-256 of its content: equal digests regulate the same way.
    pub digest: Option<String>,
    /// Where it was read from.
    pub source: String,
}

/// Where a version came from.
#[derive(Debug, Serialize)]
pub struct Source {
    /// File path as given to the import.
    pub file: String,
    /// Layer name.
    pub layer: String,
    /// Source CRS.
    pub crs: String,
}

/// Counts of a validation report's findings.
#[derive(Debug, Serialize)]
pub struct ValidationSummary {
    /// Features read.
    pub features_read: usize,
    /// Warnings in all.
    pub warnings: usize,
    /// Geometries repaired.
    pub repaired: usize,
    /// Gaps above the tolerance.
    pub gaps: usize,
    /// Total gap area, m².
    pub gap_area_m2: f64,
    /// Overlaps above the tolerance (published only with `--allow-overlaps`).
    pub overlaps: usize,
    /// Total overlap area, m².
    pub overlap_area_m2: f64,
    /// Codes mapped by `--code-map`.
    pub mapped_codes: usize,
    /// Conflicting codes resolved by `--prefer`.
    pub resolved_conflicts: usize,
    /// Sub-zones derived from numeric codes the catalogue lacks.
    pub derived_subzones: usize,
    /// Sub-zones the rule set sets no rules for.
    pub unregulated_subzones: usize,
    /// The overlap and gap tolerance, m².
    pub tolerance_m2: f64,
}

/// A row of `plans.sql`.
#[derive(sqlx::FromRow)]
struct PlanRow {
    plan_id: i64,
    plan: String,
    published_version_id: Option<i64>,
    version_id: i64,
    version: i32,
    published_at: String,
    effective_from: String,
    in_force_until: Option<String>,
    in_force: bool,
    geometry_version_id: i64,
    rule_set_id: i64,
    rule_digest: Option<String>,
    rule_source: String,
    policies: sqlx::types::Json<Policies>,
    source_file: String,
    source_layer: String,
    source_crs: String,
    feature_count: i32,
    area_m2: f64,
    report: sqlx::types::Json<ValidationReport>,
}

impl PlanRow {
    /// The catalogue entry; the whole report only when `with_report`.
    fn into_version(self, with_report: bool) -> PlanVersion {
        let report = self.report.0;
        // (A float sum of nothing is -0.0: fold from 0.0.)
        let area = |findings: &[crate::ingest::Finding]| {
            findings
                .iter()
                .filter_map(|g| g.area_m2)
                .fold(0.0, |sum, a| sum + a)
        };
        PlanVersion {
            plan_id: self.plan_id,
            plan: self.plan,
            version_id: self.version_id,
            version: self.version,
            published: self.published_version_id == Some(self.version_id),
            published_at: self.published_at,
            effective_from: self.effective_from,
            in_force_until: self.in_force_until,
            in_force: self.in_force,
            geometry_version_id: self.geometry_version_id,
            rules: RuleSetInfo {
                id: self.rule_set_id,
                digest: self.rule_digest,
                source: self.rule_source,
            },
            policies: self.policies.0,
            source: Source {
                file: self.source_file,
                layer: self.source_layer,
                crs: self.source_crs,
            },
            feature_count: self.feature_count,
            area_m2: self.area_m2,
            validation: ValidationSummary {
                features_read: report.features_read,
                warnings: report.warning_count(),
                repaired: report.repaired.len(),
                gaps: report.gaps.len(),
                gap_area_m2: area(&report.gaps),
                overlaps: report.overlaps.len(),
                overlap_area_m2: area(&report.overlaps),
                mapped_codes: report.mapped_codes.len(),
                resolved_conflicts: report.resolved_conflicts.len(),
                derived_subzones: report.derived_subzones.len(),
                unregulated_subzones: report.unregulated_subzones.len(),
                tolerance_m2: report.tolerance_m2,
            },
            report: with_report.then_some(report),
        }
    }
}

/// Every plan version, newest first within each plan; or only `version_id`, with its full report.
pub async fn list_versions(pool: &PgPool, version_id: Option<i64>) -> Result<Vec<PlanVersion>> {
    let rows: Vec<PlanRow> = sqlx::query_as(include_str!("sql/plans.sql"))
        .bind(version_id)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|row| version_id.is_none_or(|id| row.version_id == id))
        .map(|row| row.into_version(version_id.is_some()))
        .collect())
}
