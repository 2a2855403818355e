//! Point and parcel lookups: which sub-zone applies, what may be built and which activities are
//! permitted.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgPool;

use super::index::{FeatureRow, VersionInfo, load_versions};
use super::{PublishedFeature, Result, Snapshot, ZoningError};
use crate::rules::{IntensityTier, ItbxClass, RuleBook};

/// The rule of the activity asked about.
#[derive(Debug, Serialize)]
pub struct ActivityAnswer {
    /// The KBLI code asked about.
    pub kbli: String,
    /// Its title.
    pub kbli_title: String,
    /// The activity of the ITBX matrix that rules it.
    pub id: String,
    /// The activity's name.
    pub name: String,
    /// Its class here: I, T, B, TB or X.
    pub class: ItbxClass,
    /// The class in words.
    pub class_label: &'static str,
    /// The conditions with their texts.
    pub conditions: Vec<crate::rules::Condition>,
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

/// The answer to a point lookup. It borrows from the snapshot (or the rows) it was answered from,
/// and the rules repeated on every answer are serialised once per sub-zone.
#[derive(Debug, Serialize)]
pub struct PointAnswer<'a> {
    /// Longitude asked.
    pub lon: f64,
    /// Latitude asked.
    pub lat: f64,
    /// The plan version that applies.
    pub plan: Option<&'a VersionInfo>,
    /// The zoning feature.
    pub feature_id: i64,
    /// The sub-zone: code, catalog code, name, zone, colour.
    pub subzone: &'a RawValue,
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
    /// Intensity tiers by parcel size.
    pub intensity: &'a RawValue,
    /// Activities grouped by ITBX class (I, T, B, TB, X), with condition texts.
    pub activities: &'a RawValue,
    /// The activity asked about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityAnswer>,
    /// The source row as imported.
    pub attributes: &'a RawValue,
    /// Other zones under the same point.
    pub overlaps: Vec<OverlapInfo<'a>>,
}

/// Checks coordinates given in degrees.
fn check_coordinates(lon: f64, lat: f64) -> Result<()> {
    if !lon.is_finite()
        || !lat.is_finite()
        || !(-180.0..=180.0).contains(&lon)
        || !(-90.0..=90.0).contains(&lat)
    {
        return Err(ZoningError::BadRequest(format!(
            "coordinates lon={lon}, lat={lat} are not WGS 84 degrees (lon -180..180, lat -90..90)"
        )));
    }
    Ok(())
}

/// Resolves a KBLI code to its activity rule in a sub-zone.
fn activity_answer(rules: &RuleBook, kbli: &str, subzone: &str) -> Result<ActivityAnswer> {
    let entry = rules
        .kbli(kbli)
        .ok_or_else(|| ZoningError::BadRequest(format!("\"{kbli}\" is not a KBLI 2020 code")))?;
    let activity = rules.activity_for_kbli(kbli).ok_or_else(|| {
        ZoningError::NotFound(format!(
            "KBLI {kbli} ({}) is not covered by the activity list",
            entry.title
        ))
    })?;
    let rule = rules.activity_rule(subzone, &activity.id).ok_or_else(|| {
        ZoningError::NotFound(format!(
            "the ITBX matrix has no cell for {} in {subzone}",
            activity.name
        ))
    })?;
    Ok(ActivityAnswer {
        kbli: entry.code.clone(),
        kbli_title: entry.title.clone(),
        id: rule.id,
        name: rule.name,
        class: rule.class,
        class_label: rule.class_label,
        conditions: rule.conditions,
    })
}

fn answer<'a>(
    rules: &'a RuleBook,
    versions: &'a HashMap<i64, VersionInfo>,
    lon: f64,
    lat: f64,
    hits: &[&'a PublishedFeature],
    kbli: Option<&str>,
) -> Result<PointAnswer<'a>> {
    let Some(feature) = hits.first() else {
        return Err(ZoningError::NotFound(format!(
            "no published plan covers lon={lon}, lat={lat}"
        )));
    };
    let activity = kbli
        .map(|k| activity_answer(rules, k, &feature.subzone))
        .transpose()?;
    Ok(PointAnswer {
        lon,
        lat,
        plan: versions.get(&feature.version_id),
        feature_id: feature.id,
        subzone: rules.subzone_json(&feature.subzone),
        block: feature.block.as_deref(),
        subblock: feature.subblock.as_deref(),
        kelurahan: feature.kelurahan.as_deref(),
        kecamatan: feature.kecamatan.as_deref(),
        overlays: &feature.overlays,
        intensity: rules.intensity_json(&feature.subzone),
        activities: rules.activities_json(&feature.subzone),
        activity,
        attributes: &feature.attributes,
        overlaps: hits[1..]
            .iter()
            .map(|f| OverlapInfo {
                feature_id: f.id,
                plan: versions.get(&f.version_id),
                subzone: rules.subzone_json(&f.subzone),
            })
            .collect(),
    })
}

/// Answers a point lookup from the in-memory index of published plans.
pub fn lookup_point<'a>(
    snapshot: &'a Snapshot,
    lon: f64,
    lat: f64,
    kbli: Option<&str>,
) -> Result<PointAnswer<'a>> {
    check_coordinates(lon, lat)?;
    let hits = snapshot.index.at(lon, lat);
    answer(
        &snapshot.rules,
        snapshot.index.versions(),
        lon,
        lat,
        &hits,
        kbli,
    )
}

/// Answers a point lookup in one plan version (published or superseded), from PostGIS, and
/// serialises the answer as JSON.
pub async fn lookup_point_in_version(
    pool: &PgPool,
    rules: &RuleBook,
    version_id: i64,
    lon: f64,
    lat: f64,
    kbli: Option<&str>,
) -> Result<Vec<u8>> {
    check_coordinates(lon, lat)?;
    let versions = load_versions(&mut *pool.acquire().await?).await?;
    if !versions.contains_key(&version_id) {
        return Err(ZoningError::NotFound(format!(
            "there is no plan version {version_id}"
        )));
    }
    let features = features_at(pool, lon, lat, Some(version_id)).await?;
    let hits: Vec<&PublishedFeature> = features.iter().collect();
    let answer = answer(rules, &versions, lon, lat, &hits, kbli)?;
    Ok(serde_json::to_vec(&answer).expect("answers serialise"))
}

/// The features under a point, asked of PostGIS (`ST_Intersects` with the GiST index): of one
/// version, or of every published version when `version_id` is `None`.
pub async fn features_at(
    pool: &PgPool,
    lon: f64,
    lat: f64,
    version_id: Option<i64>,
) -> Result<Vec<PublishedFeature>> {
    let rows: Vec<FeatureRow> = sqlx::query_as(include_str!("sql/features_at_point.sql"))
        .bind(lon)
        .bind(lat)
        .bind(version_id)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(PublishedFeature::from_row).collect()
}

/// A parcel to look up: a GeoJSON Polygon or MultiPolygon in WGS 84, and optionally a KBLI code.
#[derive(Debug, Deserialize)]
pub struct ParcelRequest {
    /// The parcel geometry (GeoJSON).
    pub geometry: serde_json::Value,
    /// A KBLI code whose rule to report.
    #[serde(default)]
    pub activity: Option<String>,
}

/// Building limits in square metres (and height) for an area under one intensity tier.
#[derive(Debug, Serialize, Clone, Copy)]
pub struct Limits {
    /// KDB × area.
    pub max_footprint_m2: f64,
    /// KLB max × area.
    pub max_floor_area_m2: f64,
    /// KLB min × area.
    pub min_floor_area_m2: f64,
    /// KDH × area.
    pub min_green_m2: f64,
    /// KTB × area.
    pub max_basement_m2: f64,
    /// Maximum height, metres.
    pub max_height_m: f64,
    /// Maximum floors.
    pub max_floors: i32,
    /// Minimum front setback, metres.
    pub gsb_m: f64,
}

impl Limits {
    fn of(tier: &IntensityTier, area: f64) -> Self {
        Limits {
            max_footprint_m2: tier.kdb_max / 100.0 * area,
            max_floor_area_m2: tier.klb_max * area,
            min_floor_area_m2: tier.klb_min * area,
            min_green_m2: tier.kdh_min / 100.0 * area,
            max_basement_m2: tier.ktb_max / 100.0 * area,
            max_height_m: tier.max_height_m,
            max_floors: tier.max_floors,
            gsb_m: tier.gsb_m,
        }
    }

    /// The limits of two parts of one parcel: areas add up; height, floors and setback take the
    /// stricter value.
    fn merge(self, other: Self) -> Self {
        Limits {
            max_footprint_m2: self.max_footprint_m2 + other.max_footprint_m2,
            max_floor_area_m2: self.max_floor_area_m2 + other.max_floor_area_m2,
            min_floor_area_m2: self.min_floor_area_m2 + other.min_floor_area_m2,
            min_green_m2: self.min_green_m2 + other.min_green_m2,
            max_basement_m2: self.max_basement_m2 + other.max_basement_m2,
            max_height_m: self.max_height_m.min(other.max_height_m),
            max_floors: self.max_floors.min(other.max_floors),
            gsb_m: self.gsb_m.max(other.gsb_m),
        }
    }
}

/// One part of a parcel: the piece inside one zone.
#[derive(Debug, Serialize)]
pub struct ParcelPart {
    /// Zoning feature id.
    pub feature_id: i64,
    /// Its plan version.
    pub plan: Option<VersionInfo>,
    /// Sub-zone letter code.
    #[serde(skip)]
    pub subzone_code: String,
    /// The sub-zone: code, catalog code, name, zone, colour.
    pub subzone: Box<RawValue>,
    /// Block code.
    pub block: Option<String>,
    /// Area of this part, m² (geodesic, on the WGS 84 ellipsoid).
    pub area_m2: f64,
    /// Share of the parcel, 0..1.
    pub share: f64,
    /// The intensity tier that applies (chosen by the whole parcel's area).
    pub intensity: Option<IntensityTier>,
    /// The limits for this part.
    pub limits: Option<Limits>,
    /// The rule of the activity asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityAnswer>,
}

/// The part of a parcel no published plan covers.
#[derive(Debug, Serialize)]
pub struct OutsidePart {
    /// Area, m².
    pub area_m2: f64,
    /// Share of the parcel, 0..1.
    pub share: f64,
}

/// The answer to a parcel lookup.
#[derive(Debug, Serialize)]
pub struct ParcelAnswer {
    /// The parcel's area, m² (geodesic, on the WGS 84 ellipsoid).
    pub area_m2: f64,
    /// The parcel's parts, one per zone it falls in, largest first.
    pub parts: Vec<ParcelPart>,
    /// The limits summed over the parts; height, floors and setback are the most restrictive
    /// part's. Absent when no part is in a zone with intensity rules.
    pub totals: Option<Limits>,
    /// The class of the activity asked about on the whole parcel: the parts' classes combined
    /// (prohibited anywhere is prohibited; T and B make TB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_class: Option<ItbxClass>,
    /// The part outside every published plan.
    pub outside_plan: OutsidePart,
}

/// Measures a parcel against the published plans in PostGIS.
pub async fn lookup_parcel(
    pool: &PgPool,
    snapshot: &Snapshot,
    request: &ParcelRequest,
) -> Result<ParcelAnswer> {
    let kind = request
        .geometry
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("");
    if kind != "Polygon" && kind != "MultiPolygon" {
        return Err(ZoningError::BadRequest(format!(
            "the parcel must be a GeoJSON Polygon or MultiPolygon, not {}",
            if kind.is_empty() {
                "an object without a type".to_string()
            } else {
                format!("a {kind}")
            }
        )));
    }
    let geojson = request.geometry.to_string();
    type Check = (
        bool,
        Option<bool>,
        Option<String>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        f64,
    );
    let check: Check = sqlx::query_as(
        "WITH p AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g)
         SELECT ST_IsEmpty(g), ST_IsValid(g), ST_IsValidReason(g), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g),
                CASE WHEN ST_IsValid(g) AND NOT ST_IsEmpty(g) THEN ST_Area(g::geography) ELSE 0 END FROM p",
    )
    .bind(&geojson)
    .fetch_one(pool)
    .await
    .map_err(|e| match e.as_database_error() {
        Some(db) => {
            ZoningError::BadRequest(format!("the parcel is not valid GeoJSON: {}", db.message()))
        }
        None => e.into(),
    })?;
    let (empty, valid, reason, xmin, ymin, xmax, ymax, area) = check;
    if empty {
        return Err(ZoningError::BadRequest(
            "the parcel has no coordinates".into(),
        ));
    }
    let nan = f64::NAN;
    check_coordinates(xmin.unwrap_or(nan), ymin.unwrap_or(nan))?;
    check_coordinates(xmax.unwrap_or(nan), ymax.unwrap_or(nan))?;
    if valid != Some(true) {
        return Err(ZoningError::BadRequest(format!(
            "the parcel geometry is invalid: {}",
            reason.unwrap_or_else(|| "unreadable".into())
        )));
    }
    if area <= 0.0 {
        return Err(ZoningError::BadRequest("the parcel has no area".into()));
    }
    type PartRow = (
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
        f64,
    );
    let rows: Vec<PartRow> = sqlx::query_as(include_str!("sql/parcel_parts.sql"))
        .bind(&geojson)
        .fetch_all(pool)
        .await?;
    // A version published after the snapshot was taken is read once from the database.
    let all_known = rows
        .iter()
        .all(|r| r.3.is_none_or(|v| snapshot.index.version(v).is_some()));
    let fresh_versions = match all_known {
        true => None,
        false => Some(load_versions(&mut *pool.acquire().await?).await?),
    };
    let versions = fresh_versions.as_ref().unwrap_or(snapshot.index.versions());
    let rules = &snapshot.rules;
    let mut parts = Vec::new();
    let mut outside = 0.0;
    let mut activity_class: Option<ItbxClass> = None;
    for (id, subzone, block, version_id, part_area) in rows {
        let (Some(id), Some(subzone)) = (id, subzone) else {
            outside = part_area;
            continue;
        };
        let version = version_id.and_then(|v| versions.get(&v)).cloned();
        let tier = rules.tier_for(&subzone, area).cloned();
        let limits = tier.as_ref().map(|t| Limits::of(t, part_area));
        let activity = request
            .activity
            .as_deref()
            .map(|k| activity_answer(rules, k, &subzone))
            .transpose()?;
        if let Some(a) = &activity {
            activity_class = Some(activity_class.map_or(a.class, |c| c.combine(a.class)));
        }
        parts.push(ParcelPart {
            feature_id: id,
            plan: version,
            subzone: rules.subzone_json(&subzone).to_owned(),
            subzone_code: subzone,
            block,
            area_m2: part_area,
            share: part_area / area,
            intensity: tier,
            limits,
            activity,
        });
    }
    let totals = parts.iter().filter_map(|p| p.limits).reduce(Limits::merge);
    parts.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2));
    Ok(ParcelAnswer {
        area_m2: area,
        parts,
        totals,
        activity_class,
        outside_plan: OutsidePart {
            area_m2: outside,
            share: outside / area,
        },
    })
}
