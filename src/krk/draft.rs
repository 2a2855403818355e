//! The draft of a certificate: what the plan in force says about a parcel, computed as the parcel
//! lookup measures it ([`crate::zoning::lookup_parcel`]: the sub-zones crossed with their areas,
//! the intensity tier by the parcel's size, the limits in square metres, the activity's class),
//! and what borders it: the road bodies it fronts (their width, class and the setback they set),
//! the protection zones of rivers and coast along it, and the overlays that restrict it.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::Result;
use crate::zoning::{Live, ParcelAnswer, ParcelOptions, ParcelRequest, Snapshot, lookup_parcel};

/// How the setback from a road is set: the sub-zone's GSB, and at least half the road body's
/// width (the building line of the road reserve), whichever is larger.
pub const ROAD_SETBACK_RULE: &str = "GSB = the larger of the sub-zone's GSB and half the width of \
the road body the parcel fronts";

/// A road body counts as fronting a parcel within this distance, metres.
const FRONTING_M: f64 = 3.0;

/// A plan version the draft was computed from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VersionRef {
    /// Plan version id.
    pub version_id: i64,
    /// Plan name.
    pub plan: String,
    /// Version number within the plan.
    pub version: i32,
    /// The day it took effect.
    pub effective_from: String,
    /// The regulation that enacted it, when the version names one.
    pub regulation: Option<String>,
}

/// One sub-zone the parcel crosses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DraftPart {
    /// Zoning feature id.
    pub feature_id: i64,
    /// Plan version id.
    pub version_id: Option<i64>,
    /// Sub-zone code, e.g. `R-2`.
    pub subzone: String,
    /// Its name.
    pub name: String,
    /// Its legend colour (`#RRGGBB`).
    pub color: Option<String>,
    /// Area of the parcel in it, m².
    pub area_m2: f64,
    /// Share of the parcel, 0..1.
    pub share: f64,
    /// Whether the plan allows building here.
    pub buildable: bool,
    /// The intensity tier that applies (by the whole parcel's area), when regulated.
    pub intensity: Option<crate::rules::IntensityTier>,
    /// The limits of this part.
    pub limits: Option<crate::zoning::Limits>,
    /// The class of the activity asked about here (`I`, `T`, `B`, `TB`, `X`).
    pub activity_class: Option<String>,
    /// The conditions of that class here, with their texts (`T1: ...`).
    pub conditions: Vec<String>,
}

/// The activity asked about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DraftActivity {
    /// KBLI code.
    pub kbli: String,
    /// Its title.
    pub title: String,
    /// Its class on the whole parcel.
    pub class: Option<String>,
}

/// A road body the parcel fronts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoadFront {
    /// The road body's zoning feature id.
    pub feature_id: i64,
    /// Its width near the parcel, m (the diameter of the widest circle inside it there).
    pub width_m: f64,
    /// Its class by width.
    pub class: String,
    /// The length of the parcel's edge along it, m.
    pub frontage_m: f64,
    /// The setback it sets, m ([`ROAD_SETBACK_RULE`]).
    pub setback_m: f64,
}

/// A protection zone of a river, lake or the coast along the parcel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProtectionFront {
    /// The zone's feature id.
    pub feature_id: i64,
    /// Its sub-zone (`PS`, `BA`, ...).
    pub subzone: String,
    /// What it protects (the zone's setback overlay, e.g. `Sempadan Pantai`, else its name).
    pub what: String,
    /// The length of the parcel's edge along it, m.
    pub frontage_m: f64,
    /// The area of the parcel inside it, m² (no building there).
    pub inside_m2: f64,
}

/// An overlay of a zone the parcel lies in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Overlay {
    /// The plan's field, e.g. `KKOP_1`.
    pub field: String,
    /// Its value, e.g. `K01G Kawasan di Bawah Permukaan Horizontal Luar`.
    pub value: String,
}

/// The limits of a building on the whole parcel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DraftTotals {
    /// The limits on the buildable parts; none when no part is buildable.
    pub limits: Option<crate::zoning::Limits>,
    /// The front setback on the parcel: the largest of the parts' and the roads' setbacks.
    pub front_setback_m: Option<f64>,
    /// Area of the buildable parts, m².
    pub buildable_m2: f64,
    /// Area where the plan allows no building, m².
    pub not_buildable_m2: f64,
    /// Area no rule set regulates, m².
    pub unregulated_m2: f64,
    /// Area outside every plan in force, m².
    pub outside_plan_m2: f64,
}

/// What the plan in force says about a parcel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Draft {
    /// The day whose regulations answer.
    pub at: String,
    /// The parcel's area, m².
    pub area_m2: f64,
    /// Where it is.
    pub kelurahan: Option<String>,
    /// Its kecamatan.
    pub kecamatan: Option<String>,
    /// The plan versions it was computed from.
    pub versions: Vec<VersionRef>,
    /// The sub-zones crossed, largest first.
    pub parts: Vec<DraftPart>,
    /// The limits on the whole parcel.
    pub totals: DraftTotals,
    /// The activity asked about.
    pub activity: Option<DraftActivity>,
    /// The road bodies it fronts.
    pub roads: Vec<RoadFront>,
    /// The protection zones along it.
    pub protection: Vec<ProtectionFront>,
    /// The overlays that restrict it.
    pub overlays: Vec<Overlay>,
    /// What staff must look at before issuing (in Indonesian, as printed).
    pub findings: Vec<String>,
}

impl Draft {
    /// The plan version ids it was computed from.
    pub fn version_ids(&self) -> Vec<i64> {
        self.versions.iter().map(|v| v.version_id).collect()
    }
}

/// A row of `surroundings.sql`.
#[derive(sqlx::FromRow)]
struct Surrounding {
    kind: String,
    feature_id: i64,
    subzone: String,
    label: Option<String>,
    width_m: Option<f64>,
    frontage_m: f64,
    inside_m2: f64,
}

/// A row of `version_refs.sql`.
#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    plan: String,
    version: i32,
    effective_from: String,
    regulation: Option<String>,
    kelurahan: Option<String>,
    kecamatan: Option<String>,
}

/// The class of a road by the width of its body, m (the classes of the national RDTR tables).
pub fn road_class(width_m: f64) -> &'static str {
    match width_m {
        w if w >= 24.0 => "arteri",
        w if w >= 16.0 => "kolektor",
        w if w >= 8.0 => "lokal",
        _ => "lingkungan",
    }
}

/// Computes the draft for `request` from the versions in force today.
pub async fn compute(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    request: &ParcelRequest,
) -> Result<Draft> {
    compute_on(pool, live, snapshot, request, &Moment::default()).await
}

/// When a draft is computed: on `day` (today when `None`), counting only the versions published up
/// to `published_up_to` (all when `None`).
#[derive(Debug, Default, Clone)]
pub struct Moment {
    /// The day (`YYYY-MM-DD`).
    pub day: Option<String>,
    /// The newest version (by id) that counts.
    pub published_up_to: Option<i64>,
}

/// Computes the draft for `request` from the versions in force at `moment`.
pub async fn compute_on(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    request: &ParcelRequest,
    moment: &Moment,
) -> Result<Draft> {
    let options = ParcelOptions {
        at: moment.day.clone(),
        published_up_to: moment.published_up_to,
        ..ParcelOptions::default()
    };
    let answer = lookup_parcel(pool, live, snapshot, request, &options).await?;
    let parts = parts_of(&answer);
    let feature_ids: Vec<i64> = parts.iter().map(|p| p.feature_id).collect();
    let wkb = parcel_wkb(request)?;
    let rows: Vec<Surrounding> = sqlx::query_as(include_str!("sql/surroundings.sql"))
        .bind(&wkb)
        .bind(&feature_ids)
        .bind(FRONTING_M)
        .bind(&moment.day)
        .bind(moment.published_up_to)
        .fetch_all(pool)
        .await?;
    let version_ids: Vec<i64> = answer
        .parts
        .iter()
        .filter_map(|p| p.plan.as_ref().map(|v| v.version_id))
        .collect();
    let version_rows: Vec<VersionRow> = sqlx::query_as(include_str!("sql/version_refs.sql"))
        .bind(&version_ids)
        .bind(&feature_ids)
        .fetch_all(pool)
        .await?;
    Ok(assemble(answer, parts, rows, version_rows))
}

/// The parcel as WKB (EPSG:4326).
pub fn parcel_wkb(request: &ParcelRequest) -> Result<Vec<u8>> {
    use geozero::{CoordDimensions, ToWkb};
    geo::Geometry::MultiPolygon(request.geometry().clone())
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| super::KrkError::Input(format!("the parcel cannot be encoded: {e}")))
}

/// The sub-zone fields the lookup gives as JSON.
#[derive(Deserialize, Default)]
struct SubzoneJson {
    #[serde(default)]
    name: String,
    color: Option<String>,
}

fn parts_of(answer: &ParcelAnswer) -> Vec<DraftPart> {
    answer
        .parts
        .iter()
        .map(|p| {
            let subzone: SubzoneJson = serde_json::from_str(p.subzone.get()).unwrap_or_default();
            DraftPart {
                feature_id: p.feature_id,
                version_id: p.plan.as_ref().map(|v| v.version_id),
                subzone: p.subzone_code.clone(),
                name: subzone.name,
                color: subzone.color,
                area_m2: p.area_m2,
                share: p.share,
                buildable: p.buildable,
                intensity: p.intensity.clone(),
                limits: p.limits,
                activity_class: p
                    .activity
                    .as_ref()
                    .and_then(|a| a.class.map(|c| c.as_str().to_string())),
                conditions: p
                    .activity
                    .as_ref()
                    .map(|a| {
                        a.conditions
                            .iter()
                            .map(|c| format!("{}: {}", c.code, c.text))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn assemble(
    answer: ParcelAnswer,
    parts: Vec<DraftPart>,
    rows: Vec<Surrounding>,
    version_rows: Vec<VersionRow>,
) -> Draft {
    let roads = roads_of(&rows, &parts);
    let protection = protection_of(&rows);
    let mut overlays: Vec<Overlay> = rows
        .iter()
        .filter(|r| r.kind == "overlay")
        .map(|r| Overlay {
            field: r.subzone.clone(),
            value: r.label.clone().unwrap_or_default(),
        })
        .collect();
    overlays.sort();
    overlays.dedup();
    let part_setback = answer.totals.buildable.and_then(|l| l.gsb_m);
    let road_setback = roads.iter().map(|r| r.setback_m).reduce(f64::max);
    let front_setback_m = match (part_setback, road_setback) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let activity = answer
        .parts
        .iter()
        .find_map(|p| p.activity.as_ref())
        .map(|a| DraftActivity {
            kbli: a.kbli.clone(),
            title: a.kbli_title.clone(),
            class: answer.activity_class.map(|c| c.as_str().to_string()),
        });
    let place = version_rows.first();
    let mut draft = Draft {
        at: answer.at.clone(),
        area_m2: answer.area_m2,
        kelurahan: place.and_then(|v| v.kelurahan.clone()),
        kecamatan: place.and_then(|v| v.kecamatan.clone()),
        versions: version_rows
            .iter()
            .map(|v| VersionRef {
                version_id: v.id,
                plan: v.plan.clone(),
                version: v.version,
                effective_from: v.effective_from.clone(),
                regulation: v.regulation.clone(),
            })
            .collect(),
        totals: DraftTotals {
            limits: answer.totals.buildable,
            front_setback_m,
            buildable_m2: answer.totals.buildable_m2,
            not_buildable_m2: answer.totals.not_buildable_m2,
            unregulated_m2: answer.totals.unregulated_m2,
            outside_plan_m2: answer.outside_plan.area_m2,
        },
        parts,
        activity,
        roads,
        protection,
        overlays,
        findings: Vec::new(),
    };
    draft.findings = findings(&draft);
    draft
}

fn roads_of(rows: &[Surrounding], parts: &[DraftPart]) -> Vec<RoadFront> {
    let zone_setback = parts
        .iter()
        .filter(|p| p.buildable)
        .filter_map(|p| p.limits.and_then(|l| l.gsb_m))
        .reduce(f64::max)
        .unwrap_or(0.0);
    rows.iter()
        .filter(|r| r.kind == "road")
        .map(|r| {
            let width_m = round_to(r.width_m.unwrap_or(0.0), 0.5);
            RoadFront {
                feature_id: r.feature_id,
                width_m,
                class: road_class(width_m).to_string(),
                frontage_m: round_to(r.frontage_m, 0.1),
                setback_m: zone_setback.max(width_m / 2.0),
            }
        })
        .collect()
}

fn protection_of(rows: &[Surrounding]) -> Vec<ProtectionFront> {
    rows.iter()
        .filter(|r| r.kind == "protection")
        .map(|r| ProtectionFront {
            feature_id: r.feature_id,
            subzone: r.subzone.clone(),
            what: r.label.clone().unwrap_or_else(|| r.subzone.clone()),
            frontage_m: round_to(r.frontage_m, 0.1),
            inside_m2: r.inside_m2,
        })
        .collect()
}

/// `value` rounded to a multiple of `step`.
fn round_to(value: f64, step: f64) -> f64 {
    (value / step).round() * step
}

/// What staff must look at: the activity prohibited, parts outside the plan or unregulated, no
/// buildable part, no fronting road, a parcel under the minimum lot size.
fn findings(draft: &Draft) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = &draft.activity {
        match a.class.as_deref() {
            Some("X") => out.push(format!(
                "Kegiatan KBLI {} ({}) tidak diizinkan (X) pada persil ini.",
                a.kbli, a.title
            )),
            None => out.push(format!(
                "Kegiatan KBLI {} tidak diatur oleh ketentuan yang berlaku pada persil ini.",
                a.kbli
            )),
            _ => {}
        }
    }
    if draft.totals.outside_plan_m2 >= 1.0 {
        out.push(format!(
            "{:.0} m² persil berada di luar RDTR yang berlaku.",
            draft.totals.outside_plan_m2
        ));
    }
    if draft.totals.unregulated_m2 >= 1.0 {
        out.push(format!(
            "{:.0} m² persil berada pada sub-zona tanpa ketentuan intensitas.",
            draft.totals.unregulated_m2
        ));
    }
    if draft.totals.limits.is_none() {
        out.push("Tidak ada bagian persil yang boleh dibangun.".into());
    }
    if draft.roads.is_empty() {
        out.push("Persil tidak berbatasan dengan badan jalan pada peta rencana.".into());
    }
    let min_lot = draft
        .parts
        .iter()
        .filter_map(|p| p.intensity.as_ref().and_then(|t| t.min_lot_m2))
        .reduce(f64::max);
    if let Some(min) = min_lot.filter(|m| draft.area_m2 < *m) {
        out.push(format!(
            "Luas persil {:.0} m² di bawah luas kaveling minimum {min:.0} m².",
            draft.area_m2
        ));
    }
    out
}
