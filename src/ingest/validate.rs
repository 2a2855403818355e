//! Validation of the staged rows: invalid geometries repaired (or rejected), the plan checked as a
//! coverage (overlaps, gaps), and the sub-zones the version's rule set does not regulate noted.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fields::DerivedUse;
use super::stage::Staged;
use super::version_rules::{self, Source, VersionRules};
use super::{Finding, ImportOptions, IngestError, Result, ValidationReport, coverage};
use crate::rules::{RuleBook, RuleSet, Subzone};

/// The staged rows, checked: the report, and what publishing them needs.
pub(super) struct Checked {
    /// The validation report.
    pub report: ValidationReport,
    /// The rule book of the new version.
    pub book: Arc<RuleBook>,
    /// Its rule set when not stored yet (`--rules DIR`, `--rules-from-attributes`).
    pub new_rules: Option<RuleSet>,
    /// Sub-zones derived from numeric codes the catalogue lacks.
    pub derived: Vec<Subzone>,
    /// How the version gets its rules (`plan_version.rules_from`).
    pub rules_from: &'static str,
    /// The layer read.
    pub layer: String,
    /// Its CRS.
    pub crs: String,
}

/// Checks the staged rows: repairs, coverage (overlaps, gaps), the codes' findings, the file's own
/// rules when it carries them, and the sub-zones the version's rules do not regulate.
pub(super) async fn check(
    tx: &mut sqlx::PgConnection,
    options: &ImportOptions,
    staged: Staged,
    rules: VersionRules,
) -> Result<Checked> {
    let tolerance_m2 = options.tolerance_m2;
    let shapes = staged.shapes;
    let topology = tokio::task::spawn_blocking(move || coverage::check(&shapes, tolerance_m2));
    let mut report = ValidationReport {
        file: options.file.display().to_string(),
        layer: staged.layer.clone(),
        source_crs: staged.crs.clone(),
        features_read: staged.features_read,
        tolerance_m2,
        rejected: staged.rejected,
        unknown_codes: staged.unknown,
        conflicting_codes: staged.conflicts,
        resolved_conflicts: staged.resolved,
        mapped_codes: mapped_findings(&staged.mapped),
        derived_subzones: derived_findings(&staged.derived),
        policies: options.policies(),
        ..ValidationReport::default()
    };
    repair(tx, &mut report).await?;
    let coverage = topology
        .await
        .map_err(|e| IngestError::Input(format!("the topology check failed: {e}")))?;
    report.gaps = coverage.gaps;
    report.overlaps = if report.repaired.is_empty() {
        coverage.overlaps
    } else {
        // The shapes as read were invalid somewhere: measure overlaps on the repaired geometries.
        overlaps_after_repair(tx, tolerance_m2).await?
    };
    let derived: Vec<Subzone> = staged
        .derived
        .into_values()
        .filter(|d| !d.earlier)
        .map(|d| d.subzone)
        .collect();
    let (book, new_rules) = match rules.source {
        Source::FromAttributes => {
            let own =
                version_rules::file_rules(tx, &staged.kept, &rules.book, &derived, options).await?;
            report.rules_read = own.notes.clone();
            let book = RuleBook::new(0, String::new(), own.clone(), rules.reference);
            (Arc::new(book), Some(own))
        }
        Source::New(given) => (rules.book, Some(given)),
        Source::Stored => (rules.book, None),
    };
    report.unregulated_subzones = unregulated(tx, &book, &derived).await?;
    let published: i64 =
        sqlx::query_scalar("SELECT count(*) FROM import_staging WHERE NOT rejected")
            .fetch_one(&mut *tx)
            .await?;
    report.features_published = published as usize;
    Ok(Checked {
        report,
        book,
        new_rules,
        rules_from: rules.rules_from,
        derived,
        layer: staged.layer,
        crs: staged.crs,
    })
}

/// A row of `repair.sql`.
#[derive(sqlx::FromRow)]
struct RepairRow {
    fid: i64,
    reason: String,
    x: Option<f64>,
    y: Option<f64>,
    emptied: bool,
}

/// A row of `overlaps.sql`.
#[derive(sqlx::FromRow)]
struct OverlapRow {
    a: i64,
    b: i64,
    area: f64,
    x: f64,
    y: f64,
}

/// Repairs invalid geometries in the staging table (GEOS MakeValid), reporting each repair, and
/// rejects features with nothing polygonal left.
async fn repair(tx: &mut sqlx::PgConnection, report: &mut ValidationReport) -> Result<()> {
    let repairs: Vec<RepairRow> = sqlx::query_as(include_str!("sql/repair.sql"))
        .fetch_all(&mut *tx)
        .await?;
    for RepairRow {
        fid,
        reason,
        x,
        y,
        emptied,
    } in repairs
    {
        let location = x.zip(y).map(|(x, y)| [x, y]);
        if emptied {
            report.rejected.push(Finding {
                fid: Some(fid),
                message: format!("invalid geometry ({reason}) with no area left after repair"),
                location,
                ..Finding::default()
            });
        } else {
            report.repaired.push(Finding {
                fid: Some(fid),
                message: reason,
                location,
                ..Finding::default()
            });
        }
    }
    sqlx::query("UPDATE import_staging SET rejected = true WHERE ST_IsEmpty(geom)")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Overlaps between repaired geometries, measured by PostGIS.
async fn overlaps_after_repair(
    tx: &mut sqlx::PgConnection,
    tolerance_m2: f64,
) -> Result<Vec<Finding>> {
    sqlx::query("CREATE INDEX ON import_staging USING gist (geom)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("ANALYZE import_staging")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<OverlapRow> = sqlx::query_as(include_str!("sql/overlaps.sql"))
        .bind(tolerance_m2)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|OverlapRow { a, b, area, x, y }| Finding {
            fid: Some(a),
            other_fid: Some(b),
            message: format!("features {a} and {b} overlap by {area:.1} m²"),
            area_m2: Some(area),
            location: Some([x, y]),
        })
        .collect())
}

/// The sub-zones of the staged rows that `book` does not regulate, with their feature counts.
async fn unregulated(
    tx: &mut sqlx::PgConnection,
    book: &RuleBook,
    derived: &[Subzone],
) -> Result<Vec<Finding>> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT subzone_code, count(*) FROM import_staging WHERE NOT rejected GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(unregulated_of(book, counts.into_iter().collect(), derived))
}

/// The sub-zones among `counts` (code -> features) that `book` does not regulate (named from the
/// rule set, the catalogue or `derived`).
pub fn unregulated_of(
    book: &RuleBook,
    counts: BTreeMap<String, i64>,
    derived: &[Subzone],
) -> Vec<Finding> {
    counts
        .into_iter()
        .filter(|(code, _)| !book.regulates(code))
        .map(|(code, features)| {
            let name = book
                .legend(&code)
                .or_else(|| derived.iter().find(|s| s.code == code))
                .map_or_else(String::new, |s| format!(" ({})", s.name));
            Finding {
                message: format!(
                    "the rule set sets no rules for sub-zone {code}{name}, used by {features} feature(s): lookups there say so"
                ),
                ..Finding::default()
            }
        })
        .collect()
}

/// One warning per sub-zone derived from a numeric code the catalogue lacks.
fn derived_findings(derived: &BTreeMap<String, DerivedUse>) -> Vec<Finding> {
    derived
        .values()
        .map(|d| {
            let s = &d.subzone;
            let origin = if d.earlier {
                "as an earlier file named it"
            } else {
                "from this file"
            };
            let mut message = format!(
                "numeric code {} is not in the national catalogue: published as a sub-zone of zone {} named \"{}\" ({origin}) in {} feature(s)",
                s.catalog_code, s.zone, s.name, d.features
            );
            if !d.other_names.is_empty() {
                let names: Vec<String> = d.other_names.iter().map(|n| format!("\"{n}\"")).collect();
                message.push_str(&format!(
                    "; this file also names it {}: lookups use \"{}\" (the file's own names stay in the attributes)",
                    names.join(", "),
                    s.name
                ));
            }
            Finding {
                message,
                ..Finding::default()
            }
        })
        .collect()
}

/// Summarises what `--code-map` did: one warning per mapping used.
fn mapped_findings(mapped: &BTreeMap<(String, String, String), usize>) -> Vec<Finding> {
    mapped
        .iter()
        .map(|((field, from, to), n)| Finding {
            message: format!("{field} \"{from}\" read as \"{to}\" (--code-map) in {n} feature(s)"),
            ..Finding::default()
        })
        .collect()
}
