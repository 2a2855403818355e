//! Point lookups: which sub-zone applies at a point, what may be built there and which activities
//! are permitted, by the regulation in force (today, on a given day, or of a given version).
//!
//! An answer has two parts. The head says what is particular to the zone found (its plan version,
//! block, kelurahan, overlays, source attributes, overlapping zones, the activity asked about); the
//! tail is the sub-zone's rules in the version's rule set (legend, intensity tiers, the ITBX
//! activities), the bulk of the answer and the same for every point of that sub-zone. The rule
//! book serialises each tail once; the HTTP layer also compresses it once (see `web::answers`).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;

use super::index::{FeatureBatch, FeatureRow, VersionInfo, load_versions, versions_in_force};
use super::{Live, PublishedFeature, Result, Snapshot, ZoningError};
use crate::rules::{Condition, ItbxClass, RuleBook};

/// How overlapping zones are ranked: the first rules the point, the others are listed.
pub const PRECEDENCE: &str = "the plan version in force published last first; within one version \
a protected zone (zona lindung) before a development zone (zona budi daya), then the smaller zone, \
then the lower feature id";

/// The rule of the activity asked about.
#[derive(Debug, Serialize, Clone)]
pub struct ActivityAnswer {
    /// The KBLI code asked about.
    pub kbli: String,
    /// Its title.
    pub kbli_title: String,
    /// The activity of the ITBX matrix that rules it (none when the rule set rules no activity by
    /// KBLI code).
    pub id: Option<String>,
    /// The activity's name.
    pub name: Option<String>,
    /// Its class here: I, T, B, TB or X; `null` when the rule set does not regulate the sub-zone
    /// or does not rule the code.
    pub class: Option<ItbxClass>,
    /// The class in words.
    pub class_label: &'static str,
    /// The conditions with their texts.
    pub conditions: Vec<Condition>,
    /// Why there is no class, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Another zone under the same point (overlapping zones, or plans that overlap).
#[derive(Debug, Serialize)]
pub struct OverlapInfo<'a> {
    /// Feature id.
    pub feature_id: i64,
    /// Its plan version.
    pub plan: Option<&'a VersionInfo>,
    /// Its sub-zone.
    pub subzone: &'a RawValue,
}

/// What is particular to the zone found at a point.
#[derive(Debug, Serialize)]
pub struct PointHead<'a> {
    /// The plan version that applies.
    pub plan: Option<&'a VersionInfo>,
    /// The zoning feature.
    pub feature_id: i64,
    /// Block code (KODBLK).
    pub block: Option<&'a str>,
    /// Sub-block code (KODSBL).
    pub subblock: Option<&'a str>,
    /// Kelurahan (WADMKD).
    pub kelurahan: Option<&'a str>,
    /// Kecamatan (WADMKC).
    pub kecamatan: Option<&'a str>,
    /// Overlays that apply (field name -> value).
    pub overlays: &'a RawValue,
    /// The source row as imported.
    pub attributes: &'a super::attributes::Attributes,
    /// Other zones under the same point, in precedence order.
    pub overlaps: Vec<OverlapInfo<'a>>,
    /// How the zone that applies was chosen among overlapping ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precedence: Option<&'static str>,
    /// The activity asked about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityAnswer>,
}

/// The answer to a point lookup: the head, and the rule book and sub-zone whose rules make the
/// tail.
#[derive(Debug)]
pub struct PointAnswer<'a> {
    /// What is particular to the zone found.
    pub head: PointHead<'a>,
    /// The rule book of the version that applies.
    pub book: &'a RuleBook,
    /// The sub-zone's letter code.
    pub subzone_code: &'a str,
    /// The ids of every feature under the point, the answering one first.
    pub feature_ids: Vec<i64>,
}

impl PointAnswer<'_> {
    /// The head as the start of a JSON object: `{"plan":...,"activity":...,` (the tail closes it).
    pub fn head_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(&self.head).expect("answers serialise");
        // The head always has fields, so it ends with `}`: continue the object instead.
        out.pop();
        out.push(b',');
        out
    }

    /// The tail: the sub-zone's rules in the version's rule set, and the closing brace.
    pub fn tail(&self) -> &[u8] {
        self.book.answer_tail(self.subzone_code)
    }

    /// The whole answer as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = self.head_json();
        out.extend_from_slice(self.tail());
        out
    }
}

/// Checks coordinates given in degrees.
pub(crate) fn check_coordinates(lon: f64, lat: f64) -> Result<()> {
    if !lon.is_finite()
        || !lat.is_finite()
        || !(-180.0..=180.0).contains(&lon)
        || !(-90.0..=90.0).contains(&lat)
    {
        return Err(ZoningError::Coordinates { lon, lat });
    }
    Ok(())
}

/// Resolves a KBLI code to its activity rule in a sub-zone.
pub(crate) fn activity_answer(
    rules: &RuleBook,
    kbli: &str,
    subzone: &str,
) -> Result<ActivityAnswer> {
    let entry = rules
        .kbli(kbli)
        .ok_or_else(|| ZoningError::UnknownKbli(kbli.to_string()))?;
    let unanswered = |id: Option<&str>, name: Option<&str>, message: String| ActivityAnswer {
        kbli: entry.code.clone(),
        kbli_title: entry.title.clone(),
        id: id.map(str::to_string),
        name: name.map(str::to_string),
        class: None,
        class_label: "Tidak diatur oleh rencana ini (not regulated by this plan)",
        conditions: Vec::new(),
        message: Some(message),
    };
    let Some(activity) = rules.activity_for_kbli(kbli) else {
        return Ok(unanswered(
            None,
            None,
            format!(
                "this plan version's rule set rules no activity by KBLI code: KBLI {} ({}) cannot be matched; its activities are listed by name",
                entry.code, entry.title
            ),
        ));
    };
    if !rules.regulates(subzone) {
        return Ok(unanswered(
            Some(&activity.id),
            Some(&activity.name),
            format!("this plan version's rule set sets no rules for sub-zone {subzone}"),
        ));
    }
    let rule =
        rules
            .activity_rule(subzone, &activity.id)
            .ok_or_else(|| ZoningError::NoItbxCell {
                activity: activity.name.clone(),
                subzone: subzone.to_string(),
            })?;
    Ok(ActivityAnswer {
        kbli: entry.code.clone(),
        kbli_title: entry.title.clone(),
        id: Some(rule.id),
        name: Some(rule.name),
        class: Some(rule.class),
        class_label: rule.class_label,
        conditions: rule.conditions,
        message: None,
    })
}

/// What answers are made from: the plan versions, which version uses which zoning rows, and the
/// rule books of those versions.
pub struct Regulations<'a> {
    /// Every plan version, by id.
    pub versions: &'a HashMap<i64, VersionInfo>,
    /// Geometry version -> the version that applies.
    pub version_of: &'a HashMap<i64, i64>,
    /// Rule books by rule set id.
    pub books: &'a HashMap<i64, Arc<RuleBook>>,
}

impl<'a> Regulations<'a> {
    /// The version that applies to a feature.
    pub fn version(&self, feature: &PublishedFeature) -> Option<&'a VersionInfo> {
        let id = self.version_of.get(&feature.version_id)?;
        self.versions.get(id)
    }

    /// The rule book that applies to a feature.
    pub fn book(&self, feature: &PublishedFeature) -> Option<&'a RuleBook> {
        let version = self.version(feature)?;
        self.books.get(&version.rule_set_id).map(|b| &**b)
    }

    /// Whether the feature's sub-zone is in a protected zone (zona lindung).
    fn protected(&self, feature: &PublishedFeature) -> bool {
        self.book(feature)
            .and_then(|b| {
                let legend = b.legend(&feature.subzone)?;
                b.zone(&legend.zone)
            })
            .is_some_and(|z| z.kind == "lindung")
    }

    /// Orders features under one point by [`PRECEDENCE`].
    pub fn rank(&self, hits: &mut [&PublishedFeature]) {
        if hits.len() < 2 {
            return;
        }
        use geo::Area;
        hits.sort_by_cached_key(|f| {
            let version = self.version_of.get(&f.version_id).copied().unwrap_or(0);
            let area = f.geometry.unsigned_area();
            (
                std::cmp::Reverse(version),
                !self.protected(f),
                ordered(area),
                f.id,
            )
        });
    }
}

/// An order on areas (never NaN here: they are finite polygon areas).
fn ordered(area: f64) -> i64 {
    (area * 1e12) as i64
}

fn answer<'a>(
    regulations: &Regulations<'a>,
    (lon, lat): (f64, f64),
    mut hits: Vec<&'a PublishedFeature>,
    kbli: Option<&str>,
) -> Result<PointAnswer<'a>> {
    regulations.rank(&mut hits);
    let Some(feature) = hits.first().copied() else {
        return Err(ZoningError::NotCovered { lon, lat });
    };
    let book = regulations
        .book(feature)
        .ok_or_else(|| ZoningError::Background(format!("no rules for feature {}", feature.id)))?;
    let activity = kbli
        .map(|k| activity_answer(book, k, &feature.subzone))
        .transpose()?;
    let overlaps: Vec<OverlapInfo<'a>> = hits[1..]
        .iter()
        .map(|f| OverlapInfo {
            feature_id: f.id,
            plan: regulations.version(f),
            subzone: regulations
                .book(f)
                .map_or(RawValue::NULL, |b| b.subzone_json(&f.subzone)),
        })
        .collect();
    Ok(PointAnswer {
        head: PointHead {
            plan: regulations.version(feature),
            feature_id: feature.id,
            block: feature.block.as_deref(),
            subblock: feature.subblock.as_deref(),
            kelurahan: feature.kelurahan.as_deref(),
            kecamatan: feature.kecamatan.as_deref(),
            overlays: &feature.overlays,
            attributes: &feature.attributes,
            precedence: (!overlaps.is_empty()).then_some(PRECEDENCE),
            overlaps,
            activity,
        },
        book,
        subzone_code: &feature.subzone,
        feature_ids: hits.iter().map(|f| f.id).collect(),
    })
}

/// Answers a point lookup from the in-memory index of the versions in force today.
pub fn lookup_point<'a>(
    snapshot: &'a Snapshot,
    lon: f64,
    lat: f64,
    kbli: Option<&str>,
) -> Result<PointAnswer<'a>> {
    check_coordinates(lon, lat)?;
    let hits = snapshot.index.at(lon, lat);
    let regulations = Regulations {
        versions: snapshot.index.versions(),
        version_of: snapshot.index.in_force(),
        books: &snapshot.books,
    };
    answer(&regulations, (lon, lat), hits, kbli)
}

/// Which regulation a lookup asks for besides today's.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionChoice {
    /// One plan version (in force or not).
    Version(i64),
    /// The versions in force on a day (YYYY-MM-DD).
    At(String),
}

impl VersionChoice {
    /// Geometry version -> version, for `versions`.
    pub fn resolve(&self, versions: &HashMap<i64, VersionInfo>) -> Result<HashMap<i64, i64>> {
        match self {
            VersionChoice::Version(id) => {
                let version = versions.get(id).ok_or(ZoningError::UnknownVersion(*id))?;
                Ok(HashMap::from([(version.geometry_version_id, *id)]))
            }
            VersionChoice::At(day) => Ok(versions_in_force(versions, day)),
        }
    }

    /// Whether the choice means exactly what the snapshot holds (answered from memory).
    pub fn is_current(&self, snapshot: &Snapshot) -> bool {
        matches!(self, VersionChoice::At(_))
            && self.resolve(snapshot.index.versions()).ok().as_ref()
                == Some(snapshot.index.in_force())
    }
}

/// The rule sets of the versions in `version_of` (geometry version -> version).
pub(crate) fn rule_sets_of(
    versions: &HashMap<i64, VersionInfo>,
    version_of: &HashMap<i64, i64>,
) -> Vec<i64> {
    version_of
        .values()
        .filter_map(|v| versions.get(v))
        .map(|v| v.rule_set_id)
        .collect()
}

/// Parses a day given as `YYYY-MM-DD` (a real calendar day) into its canonical form.
pub fn parse_day(text: &str) -> Result<String> {
    crate::calendar::parse_day(text).map_err(|e| ZoningError::BadDay(e.0))
}

/// The features of a chosen regulation (a version, or the versions in force on a day) under a
/// point, read from PostGIS, with the versions and rule books they need; [`VersionLookup::answer`]
/// makes the answer.
pub struct VersionLookup {
    versions: HashMap<i64, VersionInfo>,
    version_of: HashMap<i64, i64>,
    books: HashMap<i64, Arc<RuleBook>>,
    features: Vec<PublishedFeature>,
    point: (f64, f64),
    choice: VersionChoice,
}

impl VersionLookup {
    /// Reads what the chosen regulation has under the point.
    pub async fn read(
        pool: &PgPool,
        live: &Live,
        snapshot: &Snapshot,
        choice: VersionChoice,
        lon: f64,
        lat: f64,
    ) -> Result<Self> {
        check_coordinates(lon, lat)?;
        let versions = load_versions(&mut *pool.acquire().await?).await?;
        let version_of = choice.resolve(&versions)?;
        let geometry: Vec<i64> = version_of.keys().copied().collect();
        let features = features_at(pool, lon, lat, &geometry).await?;
        let rule_sets = rule_sets_of(&versions, &version_of);
        let books = live.books(snapshot, rule_sets).await?;
        Ok(VersionLookup {
            versions,
            version_of,
            books,
            features,
            point: (lon, lat),
            choice,
        })
    }

    /// The answer.
    pub fn answer(&self, kbli: Option<&str>) -> Result<PointAnswer<'_>> {
        let regulations = Regulations {
            versions: &self.versions,
            version_of: &self.version_of,
            books: &self.books,
        };
        let hits: Vec<&PublishedFeature> = self.features.iter().collect();
        match answer(&regulations, self.point, hits, kbli) {
            Err(ZoningError::NotCovered { lon, lat }) => match &self.choice {
                VersionChoice::At(day) => Err(ZoningError::NothingInForce {
                    lon,
                    lat,
                    day: day.clone(),
                }),
                VersionChoice::Version(_) => Err(ZoningError::NotCovered { lon, lat }),
            },
            other => other,
        }
    }
}

/// The features of zoning rows `geometry` (geometry version ids) under a point, asked of PostGIS
/// (`ST_Intersects` with the GiST index).
pub async fn features_at(
    pool: &PgPool,
    lon: f64,
    lat: f64,
    geometry: &[i64],
) -> Result<Vec<PublishedFeature>> {
    let rows: Vec<FeatureRow> = sqlx::query_as(include_str!("sql/features_at_point.sql"))
        .bind(lon)
        .bind(lat)
        .bind(geometry)
        .fetch_all(pool)
        .await?;
    let mut batch = FeatureBatch::default();
    for row in rows {
        batch.add(row)?;
    }
    Ok(batch.finish())
}
