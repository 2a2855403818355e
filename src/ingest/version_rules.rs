//! The rules of a new version: given (`--rules DIR`), the file's own (`--rules-from-attributes`,
//! read once the rows are staged), or else the plan's current rules (a new plan: the city's); and
//! the rule book the file's codes are resolved against.

use std::sync::Arc;

use sqlx::PgConnection;

use super::stage::KeptRow;
use super::{ImportOptions, IngestError, Result};
use crate::rules::attributes::{AttributeFeature, rules_from_attributes};
use crate::rules::{Reference, RuleBook, RuleSet, Subzone};

/// Where a new version's rules come from.
pub(super) enum Source {
    /// A rule set not stored yet (from `--rules DIR`).
    New(RuleSet),
    /// A stored rule set (the plan's current one, or the city's).
    Stored,
    /// The file's own, read after staging (`--rules-from-attributes`).
    FromAttributes,
}

/// The rules chosen for a new version.
pub(super) struct VersionRules {
    /// Where they come from.
    pub source: Source,
    /// How the version gets them (`plan_version.rules_from`): `city`, `plan`, `given` or `file`.
    pub rules_from: &'static str,
    /// The rule book codes are resolved against (for `--rules-from-attributes`, the national
    /// catalogue only).
    pub book: Arc<RuleBook>,
    /// The reference data.
    pub reference: Arc<Reference>,
}

/// A row of `rules_in_force.sql`.
#[derive(sqlx::FromRow)]
struct InForce {
    rule_set_id: i64,
    rules_from: String,
}

/// Chooses the rules of a new version of `plan` effective on `options.effective` (default today):
/// given, the file's own, or those of the plan's version in force that day: the city's rule set
/// in force that day when that version follows the city, its own rule set otherwise. A new plan
/// (or one with no version in force that day) follows the city.
pub(super) async fn choose(
    conn: &mut PgConnection,
    options: &ImportOptions,
    plan: &str,
) -> Result<VersionRules> {
    let reference = Arc::new(Reference::load(&mut *conn).await?);
    let unstored =
        |rules: RuleSet| Arc::new(RuleBook::new(0, String::new(), rules, reference.clone()));
    if let Some(rules) = &options.rules {
        return Ok(VersionRules {
            book: unstored(rules.clone()),
            source: Source::New(rules.clone()),
            rules_from: "given",
            reference,
        });
    }
    if options.rules_from_attributes {
        // Codes resolve against the national catalogue; the rules come from the file.
        return Ok(VersionRules {
            book: unstored(RuleSet::default()),
            source: Source::FromAttributes,
            rules_from: "file",
            reference,
        });
    }
    let day = options.effective.as_deref();
    let current: Option<InForce> = sqlx::query_as(include_str!("sql/rules_in_force.sql"))
        .bind(plan)
        .bind(day)
        .fetch_optional(&mut *conn)
        .await?;
    let (id, rules_from) = match current {
        Some(own) if own.rules_from != "city" => {
            (own.rule_set_id, rules_from_label(&own.rules_from))
        }
        _ => {
            let city = crate::rules::city_rule_set(conn, day).await?.ok_or_else(|| {
                IngestError::Input(format!(
                    "no rules to publish the plan with: the city has no rule set in force on {} (satupeta rules load data/rules), and the plan has none of its own; give --rules DIR or --rules-from-attributes",
                    day.unwrap_or("today")
                ))
            })?;
            (city, "city")
        }
    };
    let book = Arc::new(RuleBook::load(conn, id, reference.clone()).await?);
    Ok(VersionRules {
        source: Source::Stored,
        rules_from,
        book,
        reference,
    })
}

/// The stored label of how a version got its rules.
fn rules_from_label(label: &str) -> &'static str {
    match label {
        "plan" => "plan",
        "given" => "given",
        "file" => "file",
        _ => "city",
    }
}

/// The rule set a file carries in its attributes; features whose sub-zone carries several rule
/// variants are moved to the variant's code in the staging table.
pub(super) async fn file_rules(
    tx: &mut PgConnection,
    kept: &[KeptRow],
    book: &RuleBook,
    derived: &[Subzone],
    options: &ImportOptions,
) -> Result<RuleSet> {
    let legend = |code: &str| {
        book.legend(code)
            .or_else(|| derived.iter().find(|s| s.code == code))
    };
    let features: Vec<AttributeFeature<'_>> = kept
        .iter()
        .filter_map(|row| {
            Some(AttributeFeature {
                fid: row.fid,
                subzone: legend(&row.code)?,
                attributes: &row.attributes,
            })
        })
        .collect();
    let read = rules_from_attributes(&features, &options.file.display().to_string()).map_err(
        |errors| {
            IngestError::Input(format!(
                "--rules-from-attributes: the file's rules cannot be read ({} error(s)):\n  {}",
                errors.len(),
                errors.join("\n  ")
            ))
        },
    )?;
    if !read.reassigned.is_empty() {
        let (fids, codes): (Vec<i64>, Vec<String>) = read.reassigned.iter().cloned().unzip();
        sqlx::query(
            "UPDATE import_staging s SET subzone_code = u.code
             FROM UNNEST($1::bigint[], $2::text[]) AS u(fid, code) WHERE s.fid = u.fid",
        )
        .bind(fids)
        .bind(codes)
        .execute(&mut *tx)
        .await?;
    }
    let mut rules = read.rules;
    rules.notes = read.notes;
    Ok(rules)
}
