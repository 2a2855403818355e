//! Validation of the staged rows: invalid geometries repaired (or rejected), the plan checked as a
//! coverage (overlaps, gaps), and the sub-zones the version's rule set does not regulate noted.

use std::collections::BTreeMap;

use super::{Finding, Result, ValidationReport};
use crate::rules::RuleBook;

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
pub(super) async fn repair(
    tx: &mut sqlx::PgConnection,
    report: &mut ValidationReport,
) -> Result<()> {
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
pub(super) async fn overlaps_after_repair(
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
pub(super) async fn unregulated(
    tx: &mut sqlx::PgConnection,
    book: &RuleBook,
) -> Result<Vec<Finding>> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT subzone_code, count(*) FROM import_staging WHERE NOT rejected GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(unregulated_of(book, counts.into_iter().collect()))
}

/// The sub-zones among `counts` (code -> features) that `book` does not regulate.
pub fn unregulated_of(book: &RuleBook, counts: BTreeMap<String, i64>) -> Vec<Finding> {
    counts
        .into_iter()
        .filter(|(code, _)| !book.regulates(code))
        .map(|(code, features)| {
            let name = book
                .legend(&code)
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

/// Summarises what `--code-map` did: one warning per mapping used.
pub(super) fn mapped_findings(mapped: &BTreeMap<(String, String, String), usize>) -> Vec<Finding> {
    mapped
        .iter()
        .map(|((field, from, to), n)| Finding {
            message: format!("{field} \"{from}\" read as \"{to}\" (--code-map) in {n} feature(s)"),
            ..Finding::default()
        })
        .collect()
}
