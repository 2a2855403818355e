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

type PlanRow = (
    i64,
    String,
    Option<i64>,
    i64,
    i32,
    String,
    String,
    String,
    String,
    i32,
    f64,
    sqlx::types::Json<ValidationReport>,
);

/// Every plan version, newest first within each plan; or only `version_id`, with its full report.
pub async fn list_versions(pool: &PgPool, version_id: Option<i64>) -> Result<Vec<PlanVersion>> {
    let rows: Vec<PlanRow> = sqlx::query_as(include_str!("sql/plans.sql"))
        .bind(version_id)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                plan_id,
                plan,
                published_id,
                id,
                version,
                at,
                file,
                layer,
                crs,
                count,
                area,
                report,
            )| {
                let report = report.0;
                PlanVersion {
                    plan_id,
                    plan,
                    version_id: id,
                    version,
                    published: published_id == Some(id),
                    published_at: at,
                    source: Source { file, layer, crs },
                    feature_count: count,
                    area_m2: area,
                    validation: ValidationSummary {
                        features_read: report.features_read,
                        repaired: report.repaired.len(),
                        gaps: report.gaps.len(),
                        gap_area_m2: report.gaps.iter().filter_map(|g| g.area_m2).sum(),
                        tolerance_m2: report.tolerance_m2,
                    },
                    report: version_id.map(|_| report),
                }
            },
        )
        .collect())
}
