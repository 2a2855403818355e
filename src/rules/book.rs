//! The rules held in memory for lookups, read from PostGIS.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgConnection;

use super::{Activity, Condition, IntensityTier, ItbxClass, Kbli, Result, Subzone, Zone};

/// An activity's rule in one sub-zone: its class and the texts of its conditions.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityRule {
    /// Activity id.
    pub id: String,
    /// Activity name.
    pub name: String,
    /// KBLI codes the activity covers.
    pub kbli: Vec<String>,
    /// Class code: I, T, B, TB or X.
    pub class: ItbxClass,
    /// The class in words.
    pub class_label: &'static str,
    /// Conditions with their texts.
    pub conditions: Vec<Condition>,
}

/// A sub-zone's rules serialised once, for answers that repeat them on every lookup.
#[derive(Debug)]
struct Fragments {
    subzone: Box<RawValue>,
    intensity: Box<RawValue>,
    activities: Box<RawValue>,
    /// `"subzone":…,"intensity":…,"activities":…}`: the end of every point answer in the sub-zone.
    tail: Box<[u8]>,
}

/// The tail of an answer whose sub-zone has no rules.
const EMPTY_TAIL: &[u8] = br#""subzone":null,"intensity":null,"activities":null}"#;

/// A snapshot of every rule table, indexed for lookups.
#[derive(Debug, Default)]
pub struct RuleBook {
    fragments: HashMap<String, Fragments>,
    zones: HashMap<String, Zone>,
    subzones: Vec<Subzone>,
    subzone_by_code: HashMap<String, usize>,
    subzone_by_catalog: HashMap<String, usize>,
    subzone_by_name: HashMap<String, usize>,
    tiers: HashMap<String, Vec<IntensityTier>>,
    activities: Vec<Activity>,
    activity_index: HashMap<String, usize>,
    kbli: Vec<Kbli>,
    kbli_index: HashMap<String, usize>,
    kbli_activity: HashMap<String, usize>,
    /// KBLI titles and activity names in lower case, for searches.
    kbli_lower: Vec<String>,
    activity_lower: Vec<String>,
    itbx: HashMap<(String, String), (ItbxClass, Vec<String>)>,
    conditions: HashMap<String, String>,
}

/// A KBLI search hit.
#[derive(Debug, Serialize)]
pub struct KbliHit<'a> {
    /// KBLI code.
    pub kbli: &'a str,
    /// KBLI title.
    pub title: &'a str,
    /// KBLI level.
    pub level: &'a str,
    /// The activity of the ITBX matrix that rules this code, if any.
    pub activity: Option<ActivityRef<'a>>,
}

/// A short reference to an activity.
#[derive(Debug, Serialize)]
pub struct ActivityRef<'a> {
    /// Activity id.
    pub id: &'a str,
    /// Activity name.
    pub name: &'a str,
}

impl RuleBook {
    /// Reads every rule table from the database.
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        let zones: Vec<(String, String, String)> =
            sqlx::query_as("SELECT code, name, kind FROM zone")
                .fetch_all(&mut *conn)
                .await?;
        let subzones: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT code, catalog_code, name, zone_code, color, code_source FROM subzone ORDER BY catalog_code",
        )
        .fetch_all(&mut *conn)
        .await?;
        type TierRow = (
            String,
            f64,
            Option<f64>,
            f64,
            f64,
            f64,
            f64,
            f64,
            f64,
            i32,
            f64,
            Option<f64>,
        );
        let tiers: Vec<TierRow> = sqlx::query_as(
            "SELECT subzone_code, min_parcel_m2::float8, max_parcel_m2::float8, kdb_max::float8, klb_min::float8,
                    klb_max::float8, kdh_min::float8, ktb_max::float8, max_height_m::float8, max_floors,
                    gsb_m::float8, min_lot_m2::float8
             FROM intensity ORDER BY subzone_code, min_parcel_m2",
        )
        .fetch_all(&mut *conn)
        .await?;
        let activities: Vec<(String, String, Vec<String>)> = sqlx::query_as(
            "SELECT a.id, a.name, COALESCE(array_agg(k.kbli_code ORDER BY k.kbli_code)
                    FILTER (WHERE k.kbli_code IS NOT NULL), '{}')
             FROM activity a LEFT JOIN activity_kbli k ON k.activity_id = a.id GROUP BY a.id ORDER BY a.id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let kbli: Vec<(String, String, String, Option<String>, String)> =
            sqlx::query_as("SELECT code, title, level, parent, category FROM kbli ORDER BY code")
                .fetch_all(&mut *conn)
                .await?;
        let itbx: Vec<(String, String, String, Vec<String>)> =
            sqlx::query_as("SELECT activity_id, subzone_code, class, conditions FROM itbx")
                .fetch_all(&mut *conn)
                .await?;
        let conditions: Vec<(String, String)> = sqlx::query_as("SELECT code, text FROM condition")
            .fetch_all(&mut *conn)
            .await?;

        let mut book = RuleBook {
            zones: zones
                .into_iter()
                .map(|(code, name, kind)| (code.clone(), Zone { code, name, kind }))
                .collect(),
            subzones: subzones
                .into_iter()
                .map(
                    |(code, catalog_code, name, zone, color, code_source)| Subzone {
                        code,
                        catalog_code,
                        name,
                        zone,
                        color,
                        code_source,
                    },
                )
                .collect(),
            activities: activities
                .into_iter()
                .map(|(id, name, kbli)| Activity { id, name, kbli })
                .collect(),
            kbli: kbli
                .into_iter()
                .map(|(code, title, level, parent, category)| Kbli {
                    code,
                    title,
                    description: String::new(),
                    level,
                    parent,
                    category,
                })
                .collect(),
            conditions: conditions.into_iter().collect(),
            itbx: itbx
                .into_iter()
                .filter_map(|(a, s, c, k)| Some(((s, a), (ItbxClass::parse(&c)?, k))))
                .collect(),
            ..RuleBook::default()
        };
        for (code, min, max, kdb, klb_min, klb_max, kdh, ktb, height, floors, gsb, min_lot) in tiers
        {
            book.tiers
                .entry(code.clone())
                .or_default()
                .push(IntensityTier {
                    subzone: code,
                    min_parcel_m2: min,
                    max_parcel_m2: max,
                    kdb_max: kdb,
                    klb_min,
                    klb_max,
                    kdh_min: kdh,
                    ktb_max: ktb,
                    max_height_m: height,
                    max_floors: floors,
                    gsb_m: gsb,
                    min_lot_m2: min_lot,
                });
        }
        for (i, s) in book.subzones.iter().enumerate() {
            book.subzone_by_code.insert(s.code.to_uppercase(), i);
            book.subzone_by_catalog.insert(s.catalog_code.clone(), i);
            book.subzone_by_name.insert(s.name.to_lowercase(), i);
        }
        for (i, a) in book.activities.iter().enumerate() {
            book.activity_index.insert(a.id.clone(), i);
            for code in &a.kbli {
                book.kbli_activity.insert(code.clone(), i);
            }
        }
        book.kbli_lower = book.kbli.iter().map(|k| k.title.to_lowercase()).collect();
        book.activity_lower = book
            .activities
            .iter()
            .map(|a| a.name.to_lowercase())
            .collect();
        book.kbli_index = book
            .kbli
            .iter()
            .enumerate()
            .map(|(i, k)| (k.code.clone(), i))
            .collect();
        book.fragments = book
            .subzones
            .iter()
            .map(|s| (s.code.clone(), book.fragments_of(s)))
            .collect();
        Ok(book)
    }

    fn fragments_of(&self, subzone: &Subzone) -> Fragments {
        let zone = self.zones.get(&subzone.zone);
        let raw = |value: serde_json::Value| {
            RawValue::from_string(value.to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
        };
        let groups: serde_json::Map<String, serde_json::Value> = self
            .activity_rules(&subzone.code)
            .into_iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(class, activities)| {
                (
                    class.as_str().to_string(),
                    serde_json::json!({ "label": class.label(), "activities": activities }),
                )
            })
            .collect();
        let subzone_json = raw(serde_json::json!({
                "code": subzone.code,
                "catalog_code": subzone.catalog_code,
                "name": subzone.name,
                "zone": { "code": subzone.zone, "name": zone.map(|z| &z.name), "kind": zone.map(|z| &z.kind) },
                "color": subzone.color,
        }));
        let intensity = raw(serde_json::json!(self.tiers(&subzone.code)));
        let activities = raw(serde_json::Value::Object(groups));
        let tail = format!(
            "\"subzone\":{},\"intensity\":{},\"activities\":{}}}",
            subzone_json.get(),
            intensity.get(),
            activities.get()
        );
        Fragments {
            subzone: subzone_json,
            intensity,
            activities,
            tail: tail.into_bytes().into_boxed_slice(),
        }
    }

    /// The end of a point answer in the sub-zone: its legend, intensity tiers and activities, and
    /// the brace that closes the answer (see `zoning::PointAnswer`).
    pub fn answer_tail(&self, code: &str) -> &[u8] {
        self.fragments.get(code).map_or(EMPTY_TAIL, |f| &f.tail)
    }

    /// The sub-zone as answers show it: code, catalog code, name, zone and colour (JSON).
    pub fn subzone_json(&self, code: &str) -> &RawValue {
        self.fragments
            .get(code)
            .map_or(RawValue::NULL, |f| &f.subzone)
    }

    /// The sub-zone's intensity tiers (JSON array).
    pub fn intensity_json(&self, code: &str) -> &RawValue {
        self.fragments
            .get(code)
            .map_or(RawValue::NULL, |f| &f.intensity)
    }

    /// Every activity's rule in the sub-zone, grouped by class, with condition texts (JSON object).
    pub fn activities_json(&self, code: &str) -> &RawValue {
        self.fragments
            .get(code)
            .map_or(RawValue::NULL, |f| &f.activities)
    }

    /// The sub-zone catalogue, ordered by numeric code.
    pub fn subzones(&self) -> &[Subzone] {
        &self.subzones
    }

    /// A zone by code.
    pub fn zone(&self, code: &str) -> Option<&Zone> {
        self.zones.get(code)
    }

    /// A sub-zone by letter code (any case, with or without the dash: `r3`, `R-3`).
    pub fn subzone(&self, code: &str) -> Option<&Subzone> {
        let upper = code.trim().to_uppercase();
        let index = self.subzone_by_code.get(&upper).or_else(|| {
            // Real data writes R3 as well as R-3: insert the dash before the first digit.
            let split = upper.find(|c: char| c.is_ascii_digit())?;
            let (letters, digits) = upper.split_at(split);
            (!letters.ends_with('-'))
                .then(|| self.subzone_by_code.get(&format!("{letters}-{digits}")))?
        })?;
        Some(&self.subzones[*index])
    }

    /// A sub-zone by its 8-digit Permen 14 code; accepts the float form `32103300.0` real data has.
    pub fn subzone_by_catalog(&self, code: &str) -> Option<&Subzone> {
        let code = code.trim();
        let code = code.strip_suffix(".0").unwrap_or(code);
        self.subzone_by_catalog
            .get(code)
            .map(|i| &self.subzones[*i])
    }

    /// A sub-zone by its NAMOBJ name (any case).
    pub fn subzone_by_name(&self, name: &str) -> Option<&Subzone> {
        self.subzone_by_name
            .get(&name.trim().to_lowercase())
            .map(|i| &self.subzones[*i])
    }

    /// The intensity tiers of a sub-zone, by increasing parcel size.
    pub fn tiers(&self, subzone: &str) -> &[IntensityTier] {
        self.tiers.get(subzone).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The intensity tier of a sub-zone that applies to a parcel of `area_m2`.
    pub fn tier_for(&self, subzone: &str, area_m2: f64) -> Option<&IntensityTier> {
        self.tiers(subzone).iter().find(|t| t.covers(area_m2))
    }

    /// A KBLI entry by code.
    pub fn kbli(&self, code: &str) -> Option<&Kbli> {
        self.kbli_index.get(code.trim()).map(|i| &self.kbli[*i])
    }

    /// The activity that rules a KBLI code: the one listing the code or its nearest ancestor.
    pub fn activity_for_kbli(&self, code: &str) -> Option<&Activity> {
        let mut current = self.kbli(code)?;
        loop {
            if let Some(i) = self.kbli_activity.get(&current.code) {
                return Some(&self.activities[*i]);
            }
            current = self.kbli(current.parent.as_deref()?)?;
        }
    }

    /// An activity's rule in a sub-zone.
    pub fn activity_rule(&self, subzone: &str, activity_id: &str) -> Option<ActivityRule> {
        let activity = &self.activities[*self.activity_index.get(activity_id)?];
        let (class, codes) = self
            .itbx
            .get(&(subzone.to_string(), activity_id.to_string()))?;
        Some(ActivityRule {
            id: activity.id.clone(),
            name: activity.name.clone(),
            kbli: activity.kbli.clone(),
            class: *class,
            class_label: class.label(),
            conditions: codes
                .iter()
                .map(|c| Condition {
                    code: c.clone(),
                    text: self.conditions.get(c).cloned().unwrap_or_default(),
                })
                .collect(),
        })
    }

    /// Every activity's rule in a sub-zone, grouped by class (I, T, B, TB, X).
    pub fn activity_rules(&self, subzone: &str) -> Vec<(ItbxClass, Vec<ActivityRule>)> {
        let mut groups: Vec<(ItbxClass, Vec<ActivityRule>)> = [
            ItbxClass::I,
            ItbxClass::T,
            ItbxClass::B,
            ItbxClass::TB,
            ItbxClass::X,
        ]
        .map(|c| (c, Vec::new()))
        .into();
        for activity in &self.activities {
            if let Some(rule) = self.activity_rule(subzone, &activity.id)
                && let Some(group) = groups.iter_mut().find(|(c, _)| *c == rule.class)
            {
                group.1.push(rule);
            }
        }
        groups
    }

    /// Searches the whole KBLI list and the activity names for `query` (code prefix or words in the
    /// title, any case); at most `limit` hits, the most specific codes first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<KbliHit<'_>> {
        let query = query.trim().to_lowercase();
        let is_code = !query.is_empty() && query.chars().all(|c| c.is_ascii_digit());
        let words: Vec<&str> = query.split_whitespace().collect();
        let named: Vec<&Activity> = self.activities_matching(&words);
        let mut hits: Vec<&Kbli> = self
            .kbli
            .iter()
            .zip(&self.kbli_lower)
            .filter(|(k, title)| {
                if is_code {
                    k.code.starts_with(&query)
                } else {
                    has_every_word(title, &words) || named.iter().any(|a| a.kbli.contains(&k.code))
                }
            })
            .map(|(k, _)| k)
            .collect();
        hits.sort_by(|a, b| b.code.len().cmp(&a.code.len()).then(a.code.cmp(&b.code)));
        hits.truncate(limit);
        hits.into_iter()
            .map(|k| KbliHit {
                kbli: &k.code,
                title: &k.title,
                level: &k.level,
                activity: self.activity_for_kbli(&k.code).map(|a| ActivityRef {
                    id: &a.id,
                    name: &a.name,
                }),
            })
            .collect()
    }

    /// Activities whose name contains every word of `query` (for activities without a KBLI code,
    /// such as housing).
    pub fn activities_named(&self, query: &str) -> Vec<&Activity> {
        let query = query.to_lowercase();
        self.activities_matching(&query.split_whitespace().collect::<Vec<_>>())
    }

    fn activities_matching(&self, words: &[&str]) -> Vec<&Activity> {
        self.activities
            .iter()
            .zip(&self.activity_lower)
            .filter(|(_, name)| has_every_word(name, words))
            .map(|(a, _)| a)
            .collect()
    }
}

/// Whether lower-case `text` contains every one of the lower-case `words` (no words match nothing).
fn has_every_word(text: &str, words: &[&str]) -> bool {
    !words.is_empty() && words.iter().all(|w| text.contains(w))
}
