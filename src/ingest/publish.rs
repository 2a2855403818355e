//! Publishing: a new plan version, all or nothing. An import's version gets the staged rows as its
//! zoning; a rules load's version reuses the zoning rows of the plan's newest version with a new
//! rule set. Either becomes the plan's newest version and is in force from its effective date.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::{PgConnection, PgPool};

use super::validate::{Checked, unregulated_of};
use super::{ImportOptions, ImportOutcome, IngestError, Result, ValidationReport};
use crate::rules::{
    Reference, RuleBook, RuleSet, StoredRuleSet, make_city_rule_set, store_rule_set,
};

/// Where an imported version came from.
struct Origin<'a> {
    file: &'a str,
    sha256: &'a str,
    layer: &'a str,
    crs: &'a str,
}

/// Publishes checked, staged rows as a new version of `plan`: its rule set stored (or the stored
/// one it uses), derived sub-zones recorded in the catalogue, the rows published.
pub(super) async fn publish_import(
    tx: &mut PgConnection,
    plan: &str,
    options: &ImportOptions,
    sha256: &str,
    checked: Checked,
) -> Result<ImportOutcome> {
    let rule_set = match &checked.new_rules {
        Some(rules) => store_rule_set(tx, rules).await?,
        None => StoredRuleSet {
            id: checked.book.id(),
            digest: checked.book.digest().to_string(),
            reused: true,
        },
    };
    crate::rules::record_derived(tx, &checked.derived).await?;
    let file = options.file.display().to_string();
    let origin = Origin {
        file: &file,
        sha256,
        layer: &checked.layer,
        crs: &checked.crs,
    };
    let (version_id, version) = publish_staged(
        tx,
        plan,
        &origin,
        &checked,
        rule_set.id,
        options.effective.as_deref(),
    )
    .await?;
    if let Some(regulation) = &options.regulation {
        sqlx::query("UPDATE plan_version SET regulation = $2 WHERE id = $1")
            .bind(version_id)
            .bind(regulation)
            .execute(&mut *tx)
            .await?;
    }
    Ok(ImportOutcome {
        report: checked.report,
        version_id: Some(version_id),
        version: Some(version),
        rule_set: Some(rule_set),
        state: Some(version_state(tx, version_id).await?),
    })
}

/// Publishes the staged rows as a new version of `plan` with rule set `rule_set_id`.
async fn publish_staged(
    tx: &mut PgConnection,
    plan: &str,
    origin: &Origin<'_>,
    checked: &Checked,
    rule_set_id: i64,
    effective: Option<&str>,
) -> Result<(i64, i32)> {
    let report = &checked.report;
    let plan_id: i64 = sqlx::query_scalar(
        "INSERT INTO plan (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(plan)
    .fetch_one(&mut *tx)
    .await?;
    // The upsert above locks the plan's row until commit: concurrent imports of one plan queue.
    let (version_id, version): (i64, i32) = sqlx::query_as(include_str!("sql/insert_version.sql"))
        .bind(plan_id)
        .bind(origin.file)
        .bind(origin.sha256)
        .bind(origin.layer)
        .bind(origin.crs)
        .bind(report.features_published as i32)
        .bind(sqlx::types::Json(report))
        .bind(rule_set_id)
        .bind(sqlx::types::Json(&report.policies))
        .bind(effective)
        .bind(checked.rules_from)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(include_str!("sql/publish.sql"))
        .bind(version_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE plan_version SET area_m2 = (SELECT COALESCE(SUM(area_m2), 0) FROM zoning_feature WHERE version_id = $1)
         WHERE id = $1",
    )
    .bind(version_id)
    .execute(&mut *tx)
    .await?;
    finish(
        tx,
        plan_id,
        version_id,
        &format!("plan {plan} version {version}"),
    )
    .await?;
    Ok((version_id, version))
}

/// Makes `version_id` the plan's newest version and announces it.
async fn finish(tx: &mut PgConnection, plan_id: i64, version_id: i64, what: &str) -> Result<()> {
    sqlx::query("UPDATE plan SET published_version_id = $1 WHERE id = $2")
        .bind(version_id)
        .bind(plan_id)
        .execute(&mut *tx)
        .await?;
    crate::db::announce_change(tx, what).await?;
    Ok(())
}

/// A version's effective date, whether it is in force today, and what will replace it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionState {
    /// The day it takes (or took) effect.
    pub effective_from: String,
    /// Balikpapan's today.
    pub today: String,
    /// Whether it is in force today.
    pub in_force: bool,
    /// The first later day from which a version of the plan published earlier (with its own
    /// zoning and rules) supersedes it.
    pub superseded_from: Option<String>,
    /// For a version that follows the city's rules: the first later day on which the city's rules
    /// change (it gets a version for that day only when the city's rules are loaded again).
    pub city_rules_change: Option<String>,
}

async fn version_state(tx: &mut PgConnection, version_id: i64) -> Result<VersionState> {
    Ok(sqlx::query_as(include_str!("sql/version_state.sql"))
        .bind(version_id)
        .fetch_one(&mut *tx)
        .await?)
}

/// A version published by a rules load.
#[derive(Debug)]
pub struct RulesVersion {
    /// The plan.
    pub plan: String,
    /// The new version's id.
    pub version_id: i64,
    /// Its number within the plan.
    pub version: i32,
    /// Its effective date and whether it is in force today.
    pub state: VersionState,
    /// Sub-zones of the plan the rule set does not regulate.
    pub unregulated: Vec<String>,
}

/// What a rules load did.
#[derive(Debug)]
pub struct RulesOutcome {
    /// The stored rule set.
    pub rule_set: StoredRuleSet,
    /// The versions published.
    pub versions: Vec<RulesVersion>,
    /// Plans whose version in force already uses this rule set (no version published).
    pub unchanged: Vec<String>,
    /// For the city's rule set, the day from which it is the city's (`1900-01-01`: always).
    pub city_from: Option<String>,
}

/// A row of `versions_on_day.sql`.
#[derive(sqlx::FromRow)]
struct InForce {
    plan_id: i64,
    plan: String,
    version_id: i64,
    rule_set_id: i64,
    rules_from: String,
    geometry_version_id: i64,
    report: sqlx::types::Json<ValidationReport>,
}

/// Stores `rules` and publishes, for plan `plan`, a new version with these rules on the zoning of
/// the plan's version in force on `effective` (default today), effective from that day. Without a
/// plan, the rule set becomes the city's from that day: plans imported later without rules of
/// their own take it, and every plan that follows the city's rules (not rules of its own, given
/// with `--plan`, `--rules` or its file's attributes) gets a new version with it. A plan whose
/// version in force already uses an equal rule set gets no new version unless a day is given.
pub async fn publish_rules(
    pool: &PgPool,
    plan: Option<&str>,
    rules: &RuleSet,
    effective: Option<&str>,
) -> Result<RulesOutcome> {
    let reference = Arc::new(Reference::load(&mut *pool.acquire().await?).await?);
    let mut tx = pool.begin().await?;
    let stored = store_rule_set(&mut tx, rules).await?;
    let city_from = match plan {
        None => Some(make_city_rule_set(&mut tx, stored.id, effective).await?),
        Some(_) => None,
    };
    let book = RuleBook::new(stored.id, stored.digest.clone(), rules.clone(), reference);
    let targets: Vec<InForce> = sqlx::query_as(include_str!("sql/versions_on_day.sql"))
        .bind(plan)
        .bind(effective)
        .fetch_all(&mut *tx)
        .await?;
    if let Some(name) = plan
        && targets.is_empty()
    {
        return Err(missing_plan(&mut tx, name, effective).await);
    }
    let mut outcome = RulesOutcome {
        city_from,
        rule_set: stored.clone(),
        versions: Vec::new(),
        unchanged: Vec::new(),
    };
    let rules_from = if plan.is_some() { "plan" } else { "city" };
    for current in targets {
        // Rules given for a plan that equal the city's it follows still make them its own.
        if current.rule_set_id == stored.id
            && current.rules_from == rules_from
            && effective.is_none()
        {
            outcome.unchanged.push(current.plan);
            continue;
        }
        let published =
            publish_rules_version(&mut tx, &book, rules, current, effective, rules_from).await?;
        outcome.versions.push(published);
    }
    if outcome.versions.is_empty() {
        crate::db::announce_change(&mut tx, "rules").await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Why plan `name` has no version to put new rules on.
async fn missing_plan(tx: &mut PgConnection, name: &str, effective: Option<&str>) -> IngestError {
    let exists: std::result::Result<bool, sqlx::Error> =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM plan WHERE name = $1)")
            .bind(name)
            .fetch_one(&mut *tx)
            .await;
    match exists {
        Ok(true) => IngestError::Input(format!(
            "no version of plan \"{name}\" is in force on {}: its zoning takes effect later; give a later --effective day, or import its zoning effective on or before that day",
            effective.unwrap_or("today")
        )),
        Ok(false) => IngestError::Input(format!(
            "there is no plan \"{name}\": publish its zoning first (satupeta import FILE --plan \"{name}\" --rules DIR)"
        )),
        Err(e) => e.into(),
    }
}

/// A new version of `current`'s plan: rule set `book` on its zoning rows.
async fn publish_rules_version(
    tx: &mut PgConnection,
    book: &RuleBook,
    rules: &RuleSet,
    current: InForce,
    effective: Option<&str>,
    rules_from: &str,
) -> Result<RulesVersion> {
    let counts: BTreeMap<String, i64> = sqlx::query_as(
        "SELECT subzone_code, count(*) FROM zoning_feature WHERE version_id = $1 GROUP BY 1",
    )
    .bind(current.geometry_version_id)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut report = current.report.0;
    report.unregulated_subzones = unregulated_of(book, counts, &[]);
    report.rules_read = rules.notes.clone();
    report.policies.rules_from_attributes = false;
    let (version_id, version): (i64, i32) =
        sqlx::query_as(include_str!("sql/insert_rules_version.sql"))
            .bind(current.version_id)
            .bind(book.id())
            .bind(sqlx::types::Json(&report))
            .bind(effective)
            .bind(sqlx::types::Json(&report.policies))
            .bind(rules_from)
            .fetch_one(&mut *tx)
            .await?;
    finish(
        tx,
        current.plan_id,
        version_id,
        &format!("plan {} version {version} (rules)", current.plan),
    )
    .await?;
    Ok(RulesVersion {
        plan: current.plan,
        version_id,
        version,
        state: version_state(tx, version_id).await?,
        unregulated: report
            .unregulated_subzones
            .iter()
            .map(|f| f.message.clone())
            .collect(),
    })
}
