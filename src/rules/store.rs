//! Storing rule sets: once, content-addressed (a rule set equal to a stored one is not stored
//! again), never changed afterwards; and reading them back.

use serde::Serialize;
use sqlx::PgConnection;

use super::{Condition, IntensityTier, ItbxCell, ItbxClass, Result, RuleSet, RulesError, Subzone};

/// A stored rule set.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredRuleSet {
    /// Its id.
    pub id: i64,
    /// SHA-256 of its content (`rule_set_digest` in SQL).
    pub digest: String,
    /// Whether an equal rule set was stored before (and is used instead).
    pub reused: bool,
}

/// Stores `rules` inside the caller's transaction, or finds the stored rule set with the same
/// content.
pub async fn store_rule_set(tx: &mut PgConnection, rules: &RuleSet) -> Result<StoredRuleSet> {
    // One writer at a time, so that two equal rule sets cannot both be new.
    sqlx::query("LOCK TABLE rule_set IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO rule_set (source, notes) VALUES ($1, $2) RETURNING id")
            .bind(&rules.source)
            .bind(sqlx::types::Json(&rules.notes))
            .fetch_one(&mut *tx)
            .await?;
    insert_rows(tx, id, rules).await?;
    let digest: String = sqlx::query_scalar("SELECT rule_set_digest($1)")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM rule_set WHERE digest = $1")
        .bind(&digest)
        .fetch_optional(&mut *tx)
        .await?;
    let stored = match existing {
        Some(existing) => {
            sqlx::query("DELETE FROM rule_set WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            StoredRuleSet {
                id: existing,
                digest,
                reused: true,
            }
        }
        None => {
            sqlx::query("UPDATE rule_set SET digest = $2 WHERE id = $1")
                .bind(id)
                .bind(&digest)
                .execute(&mut *tx)
                .await?;
            StoredRuleSet {
                id,
                digest,
                reused: false,
            }
        }
    };
    Ok(stored)
}

/// Makes rule set `id` the city's from day `effective`: plans that follow the city's rules take it
/// from then on. Without a day: from today, or, for the city's first rule set, from always (a
/// city's first rules also regulate the plans it publishes for earlier days). Returns the day.
pub async fn make_city_rule_set(
    tx: &mut PgConnection,
    id: i64,
    effective: Option<&str>,
) -> Result<String> {
    Ok(sqlx::query_scalar(
        "INSERT INTO city_rule_set (rule_set_id, effective_from)
         VALUES ($1, COALESCE($2::date, CASE WHEN EXISTS (SELECT 1 FROM city_rule_set)
                                             THEN city_today() ELSE DATE '1900-01-01' END))
         RETURNING effective_from::text",
    )
    .bind(id)
    .bind(effective)
    .fetch_one(&mut *tx)
    .await?)
}

/// The city's rule set in force on `day` (default today): the one `satupeta rules load DIR`
/// (without `--plan`) made the city's with the latest effective date on or before it.
pub async fn city_rule_set(conn: &mut PgConnection, day: Option<&str>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT rule_set_id FROM city_rule_set WHERE effective_from <= COALESCE($1::date, city_today())
         ORDER BY effective_from DESC, id DESC LIMIT 1",
    )
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?)
}

async fn insert_rows(tx: &mut PgConnection, id: i64, rules: &RuleSet) -> Result<()> {
    let subzones = &rules.subzones;
    let column =
        |f: fn(&Subzone) -> &String| subzones.iter().map(|s| f(s).clone()).collect::<Vec<_>>();
    sqlx::query(include_str!("sql/insert_subzones.sql"))
        .bind(id)
        .bind(column(|s| &s.code))
        .bind(column(|s| &s.catalog_code))
        .bind(column(|s| &s.name))
        .bind(column(|s| &s.zone))
        .bind(column(|s| &s.color))
        .bind(column(|s| &s.code_source))
        .execute(&mut *tx)
        .await?;
    let tiers = &rules.intensity;
    let number = |f: fn(&IntensityTier) -> f64| tiers.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&IntensityTier) -> Option<f64>| tiers.iter().map(f).collect::<Vec<_>>();
    sqlx::query(include_str!("sql/insert_intensity.sql"))
        .bind(id)
        .bind(tiers.iter().map(|t| t.subzone.clone()).collect::<Vec<_>>())
        .bind(number(|t| t.min_parcel_m2))
        .bind(optional(|t| t.max_parcel_m2))
        .bind(number(|t| t.kdb_max))
        .bind(number(|t| t.klb_min))
        .bind(number(|t| t.klb_max))
        .bind(number(|t| t.kdh_min))
        .bind(number(|t| t.ktb_max))
        .bind(optional(|t| t.max_height_m))
        .bind(tiers.iter().map(|t| t.max_floors).collect::<Vec<_>>())
        .bind(optional(|t| t.gsb_m))
        .bind(optional(|t| t.min_lot_m2))
        .execute(&mut *tx)
        .await?;
    let activities = &rules.activities;
    sqlx::query(include_str!("sql/insert_activities.sql"))
        .bind(id)
        .bind(activities.iter().map(|a| a.id.clone()).collect::<Vec<_>>())
        .bind(
            activities
                .iter()
                .map(|a| a.name.clone())
                .collect::<Vec<_>>(),
        )
        // KBLI lists travel as space-joined text: UNNEST cannot unpack a text[][] into rows.
        .bind(
            activities
                .iter()
                .map(|a| a.kbli.join(" "))
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    let conditions = &rules.conditions;
    sqlx::query(include_str!("sql/insert_conditions.sql"))
        .bind(id)
        .bind(
            conditions
                .iter()
                .map(|c| c.code.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            conditions
                .iter()
                .map(|c| c.text.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    let cells = &rules.itbx;
    sqlx::query(include_str!("sql/insert_itbx.sql"))
        .bind(id)
        .bind(cells.iter().map(|c| c.activity.clone()).collect::<Vec<_>>())
        .bind(cells.iter().map(|c| c.subzone.clone()).collect::<Vec<_>>())
        .bind(
            cells
                .iter()
                .map(|c| c.class.as_str().to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            cells
                .iter()
                .map(|c| c.conditions.join(","))
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A row of `read_activities.sql`.
#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: String,
    name: String,
    kbli: Vec<String>,
}

/// A row of `read_itbx.sql`.
#[derive(sqlx::FromRow)]
struct ItbxRow {
    activity_id: String,
    subzone_code: String,
    class: String,
    conditions: Vec<String>,
}

/// Reads stored rule set `id`, with its digest.
pub async fn read_rule_set(conn: &mut PgConnection, id: i64) -> Result<(RuleSet, String)> {
    let head: Option<(String, String, sqlx::types::Json<Vec<String>>)> =
        sqlx::query_as("SELECT COALESCE(digest, ''), source, notes FROM rule_set WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((digest, source, notes)) = head else {
        return Err(RulesError::UnknownRuleSet(id));
    };
    let subzones: Vec<Subzone> = sqlx::query_as(include_str!("sql/read_subzones.sql"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let intensity: Vec<IntensityTier> = sqlx::query_as(include_str!("sql/read_intensity.sql"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let activities: Vec<ActivityRow> = sqlx::query_as(include_str!("sql/read_activities.sql"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let conditions: Vec<Condition> = sqlx::query_as(
        "SELECT code, text FROM rule_condition WHERE rule_set_id = $1 ORDER BY code",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let itbx: Vec<ItbxRow> = sqlx::query_as(include_str!("sql/read_itbx.sql"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let rules = RuleSet {
        subzones,
        intensity,
        activities: activities
            .into_iter()
            .map(|a| super::Activity {
                id: a.id,
                name: a.name,
                kbli: a.kbli,
            })
            .collect(),
        conditions,
        itbx: itbx
            .into_iter()
            .filter_map(|c| {
                Some(ItbxCell {
                    class: ItbxClass::parse(&c.class)?,
                    activity: c.activity_id,
                    subzone: c.subzone_code,
                    conditions: c.conditions,
                })
            })
            .collect(),
        source,
        notes: notes.0,
    };
    Ok((rules, digest))
}
