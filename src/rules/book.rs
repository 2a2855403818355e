//! A rule set held in memory for lookups: its sub-zones, tiers, activities and ITBX cells indexed,
//! and the JSON of each sub-zone's rules serialised once.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgConnection;

use super::{
    Activity, Condition, IntensityTier, ItbxClass, Kbli, Reference, Result, RuleSet, Subzone, Zone,
    read_rule_set,
};

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
    /// `"subzone":…,"rules":…,"intensity":…,"activities":…}`: the end of every point answer in
    /// the sub-zone.
    tail: Box<[u8]>,
}

/// The tail of an answer whose sub-zone neither the rule set nor the catalogue knows.
const UNKNOWN_TAIL: &[u8] =
    br#""subzone":null,"rules":{"regulated":false},"intensity":null,"activities":null}"#;

/// One rule set, indexed for lookups, with the shared reference data.
#[derive(Debug)]
pub struct RuleBook {
    id: i64,
    digest: String,
    rules: RuleSet,
    reference: Arc<Reference>,
    fragments: HashMap<String, Fragments>,
    subzone_by_code: HashMap<String, usize>,
    subzone_by_catalog: HashMap<String, usize>,
    subzone_by_name: HashMap<String, usize>,
    tiers: HashMap<String, Vec<IntensityTier>>,
    activity_index: HashMap<String, usize>,
    kbli_activity: HashMap<String, usize>,
    /// Activity names in lower case, for searches.
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
    /// Reads stored rule set `id`.
    pub async fn load(conn: &mut PgConnection, id: i64, reference: Arc<Reference>) -> Result<Self> {
        let (rules, digest) = read_rule_set(conn, id).await?;
        Ok(Self::new(id, digest, rules, reference))
    }

    /// Indexes a rule set (stored as `id` with `digest`, or not stored yet: id 0).
    pub fn new(id: i64, digest: String, rules: RuleSet, reference: Arc<Reference>) -> Self {
        let mut book = RuleBook {
            id,
            digest,
            reference,
            conditions: rules
                .conditions
                .iter()
                .map(|c| (c.code.clone(), c.text.clone()))
                .collect(),
            itbx: rules
                .itbx
                .iter()
                .map(|c| {
                    (
                        (c.subzone.clone(), c.activity.clone()),
                        (c.class, c.conditions.clone()),
                    )
                })
                .collect(),
            activity_lower: rules
                .activities
                .iter()
                .map(|a| a.name.to_lowercase())
                .collect(),
            fragments: HashMap::new(),
            subzone_by_code: HashMap::new(),
            subzone_by_catalog: HashMap::new(),
            subzone_by_name: HashMap::new(),
            tiers: HashMap::new(),
            activity_index: HashMap::new(),
            kbli_activity: HashMap::new(),
            rules,
        };
        for tier in &book.rules.intensity {
            book.tiers
                .entry(tier.subzone.clone())
                .or_default()
                .push(tier.clone());
        }
        for tiers in book.tiers.values_mut() {
            tiers.sort_by(|a, b| a.min_parcel_m2.total_cmp(&b.min_parcel_m2));
        }
        for (i, s) in book.rules.subzones.iter().enumerate() {
            book.subzone_by_code.insert(s.code.to_uppercase(), i);
            book.subzone_by_catalog.insert(s.catalog_code.clone(), i);
            book.subzone_by_name.insert(s.name.to_lowercase(), i);
        }
        for (i, a) in book.rules.activities.iter().enumerate() {
            book.activity_index.insert(a.id.clone(), i);
            for code in &a.kbli {
                book.kbli_activity.insert(code.clone(), i);
            }
        }
        let legend: Vec<Subzone> = book
            .rules
            .subzones
            .iter()
            .chain(book.reference.catalogue())
            .cloned()
            .collect();
        for subzone in legend {
            if !book.fragments.contains_key(&subzone.code) {
                let fragments = book.fragments_of(&subzone);
                book.fragments.insert(subzone.code.clone(), fragments);
            }
        }
        book
    }

    /// The stored rule set's id (0 when not stored).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The digest of the rule set's content.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The rule set as read.
    pub fn rule_set(&self) -> &RuleSet {
        &self.rules
    }

    /// The shared reference data.
    pub fn reference(&self) -> &Arc<Reference> {
        &self.reference
    }

    /// Whether the rule set regulates the sub-zone (has rules for it).
    pub fn regulates(&self, code: &str) -> bool {
        self.subzone_by_code.contains_key(&code.to_uppercase()) && self.tiers.contains_key(code)
    }

    fn fragments_of(&self, subzone: &Subzone) -> Fragments {
        let zone = self.reference.zone(&subzone.zone);
        let raw = |value: serde_json::Value| {
            RawValue::from_string(value.to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
        };
        let subzone_json = raw(serde_json::json!({
                "code": subzone.code,
                "catalog_code": subzone.catalog_code,
                "name": subzone.name,
                "zone": { "code": subzone.zone, "name": zone.map(|z| &z.name), "kind": zone.map(|z| &z.kind) },
                "color": subzone.color,
        }));
        let regulated = self.regulates(&subzone.code);
        let (intensity, activities, rules) = if regulated {
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
            (
                raw(serde_json::json!(self.tiers(&subzone.code))),
                raw(serde_json::Value::Object(groups)),
                serde_json::json!({"set": self.id, "digest": self.digest, "regulated": true}),
            )
        } else {
            (
                RawValue::NULL.to_owned(),
                RawValue::NULL.to_owned(),
                serde_json::json!({
                    "set": self.id,
                    "digest": self.digest,
                    "regulated": false,
                    "message": format!(
                        "this plan version's rule set sets no rules for sub-zone {} ({}): neither its building intensity nor its activities are regulated by it; ask DPPR",
                        subzone.code, subzone.name
                    ),
                }),
            )
        };
        let tail = format!(
            "\"subzone\":{},\"rules\":{},\"intensity\":{},\"activities\":{}}}",
            subzone_json.get(),
            rules,
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

    /// The end of a point answer in the sub-zone: its legend, whether and by which rule set it is
    /// regulated, its intensity tiers and activities, and the brace that closes the answer (see
    /// `zoning::PointAnswer`).
    pub fn answer_tail(&self, code: &str) -> &[u8] {
        self.fragments.get(code).map_or(UNKNOWN_TAIL, |f| &f.tail)
    }

    /// The sub-zone as answers show it: code, catalog code, name, zone and colour (JSON).
    pub fn subzone_json(&self, code: &str) -> &RawValue {
        self.fragments
            .get(code)
            .map_or(RawValue::NULL, |f| &f.subzone)
    }

    /// The sub-zone's intensity tiers (JSON array; null when not regulated).
    pub fn intensity_json(&self, code: &str) -> &RawValue {
        self.fragments
            .get(code)
            .map_or(RawValue::NULL, |f| &f.intensity)
    }

    /// Every activity's rule in the sub-zone, grouped by class, with condition texts (JSON
    /// object; null when not regulated).
    pub fn activities_json(&self, code: &str) -> &RawValue {
        self.fragments
            .get(code)
            .map_or(RawValue::NULL, |f| &f.activities)
    }

    /// The sub-zones the rule set regulates, ordered by numeric code.
    pub fn subzones(&self) -> &[Subzone] {
        &self.rules.subzones
    }

    /// The legend entry of a sub-zone code: the rule set's, else the catalogue's.
    pub fn legend(&self, code: &str) -> Option<&Subzone> {
        self.subzone_by_code
            .get(&code.to_uppercase())
            .map(|i| &self.rules.subzones[*i])
            .or_else(|| self.reference.by_code(code))
    }

    /// A zone by code.
    pub fn zone(&self, code: &str) -> Option<&Zone> {
        self.reference.zone(code)
    }

    /// A sub-zone by letter code (any case, with or without the dash: `r3`, `R-3`): the rule set's,
    /// else the national catalogue's.
    pub fn subzone(&self, code: &str) -> Option<&Subzone> {
        let upper = code.trim().to_uppercase();
        let find = |c: &str| self.legend(c);
        find(&upper).or_else(|| {
            // Real data writes R3 as well as R-3: insert the dash before the first digit.
            let split = upper.find(|c: char| c.is_ascii_digit())?;
            let (letters, digits) = upper.split_at(split);
            (!letters.ends_with('-') && !letters.is_empty())
                .then(|| find(&format!("{letters}-{digits}")))?
        })
    }

    /// A sub-zone by its 8-digit Permen 14 code (the float form `32103300.0` real data has too).
    pub fn subzone_by_catalog(&self, code: &str) -> Option<&Subzone> {
        let code = code.trim();
        let code = code.strip_suffix(".0").unwrap_or(code);
        self.subzone_by_catalog
            .get(code)
            .map(|i| &self.rules.subzones[*i])
            .or_else(|| self.reference.by_catalog(code))
    }

    /// A sub-zone by its NAMOBJ name (any case).
    pub fn subzone_by_name(&self, name: &str) -> Option<&Subzone> {
        self.subzone_by_name
            .get(&name.trim().to_lowercase())
            .map(|i| &self.rules.subzones[*i])
            .or_else(|| self.reference.by_name(name))
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
        self.reference.kbli(code)
    }

    /// The activity that rules a KBLI code: the one listing the code or its nearest ancestor.
    pub fn activity_for_kbli(&self, code: &str) -> Option<&Activity> {
        let mut current = self.kbli(code)?;
        loop {
            if let Some(i) = self.kbli_activity.get(&current.code) {
                return Some(&self.rules.activities[*i]);
            }
            current = self.kbli(current.parent.as_deref()?)?;
        }
    }

    /// An activity's rule in a sub-zone.
    pub fn activity_rule(&self, subzone: &str, activity_id: &str) -> Option<ActivityRule> {
        let activity = &self.rules.activities[*self.activity_index.get(activity_id)?];
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
        for activity in &self.rules.activities {
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
            .reference
            .kbli_titles()
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
        self.rules
            .activities
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
