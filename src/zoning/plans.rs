//! The plan catalogue: every plan, its versions and their validation summaries.

use serde::Serialize;
use sqlx::PgPool;

use super::Result;
use crate::ingest::ValidationReport;

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
    /// Whether this is the plan's published version.
    pub published: bool,
    /// When it was imported.
    pub published_at: String,
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
    /// Geometries repaired.
    pub repaired: usize,
    /// Gaps above the tolerance.
    pub gaps: usize,
    /// Total gap area, m².
    pub gap_area_m2: f64,
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
        PlanVersion {
            plan_id: self.plan_id,
            plan: self.plan,
            version_id: self.version_id,
            version: self.version,
            published: self.published_version_id == Some(self.version_id),
            published_at: self.published_at,
            source: Source {
                file: self.source_file,
                layer: self.source_layer,
                crs: self.source_crs,
            },
            feature_count: self.feature_count,
            area_m2: self.area_m2,
            validation: ValidationSummary {
                features_read: report.features_read,
                repaired: report.repaired.len(),
                gaps: report.gaps.len(),
                gap_area_m2: report.gaps.iter().filter_map(|g| g.area_m2).sum(),
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
        .map(|row| row.into_version(version_id.is_some()))
        .collect())
}
