//! Parcel lookups: a parcel drawn or uploaded as GeoJSON, measured against the published plans in
//! PostGIS: its area, its part in each zone, the intensity limits of each part in square metres.
//!
//! The parcel is read and bounded here before the database sees it (coordinates, vertex count,
//! area; see [`crate::limits::LIMITS`]); validity and the parts are one SQL statement.

use geo::orient::{Direction, Orient};
use geo::{Coord, GeodesicArea, LineString, MultiPolygon, Polygon};
use geozero::{CoordDimensions, ToWkb};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::PgPool;

use std::collections::HashMap;

use super::index::{VersionInfo, load_versions, versions_in_force};
use super::point::{
    ActivityAnswer, PRECEDENCE, Regulations, activity_answer, check_coordinates, rule_sets_of,
};
use super::{Live, Result, Snapshot};
use crate::limits::LIMITS;
use crate::rules::{IntensityTier, ItbxClass};

/// Why a parcel cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum ParcelError {
    /// The body is not the JSON expected.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// The JSON is not a parcel request.
    #[error(
        "expected a GeoJSON Polygon or MultiPolygon, a Feature with one, or {{\"geometry\": <GeoJSON polygon>, \"activity\": \"KBLI\"}}: {0}"
    )]
    Shape(String),
    /// A ring is too short or not closed.
    #[error("ring {ring} of the parcel {problem}")]
    Ring {
        /// Which ring (1 is the first exterior ring).
        ring: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The parcel has no coordinates.
    #[error("the parcel has no coordinates")]
    Empty,
    /// More vertices than [`crate::limits::Limits::parcel_vertices`].
    #[error("the parcel has {count} vertices; at most {} are measured (simplify it first)", LIMITS.parcel_vertices)]
    TooManyVertices {
        /// Vertices sent.
        count: usize,
    },
    /// Wider than [`crate::limits::Limits::parcel_span_deg`] in longitude or latitude (a ring that
    /// crosses the antimeridian spans nearly 360°).
    #[error("the parcel spans {lon:.3}° of longitude and {lat:.3}° of latitude; a parcel spans at most {}° each way", LIMITS.parcel_span_deg)]
    TooWide {
        /// Degrees of longitude.
        lon: f64,
        /// Degrees of latitude.
        lat: f64,
    },
    /// Larger than [`crate::limits::Limits::parcel_area_ha`].
    #[error("the parcel covers {hectares:.0} ha; at most {} ha are measured at once", LIMITS.parcel_area_ha)]
    TooLarge {
        /// Its area.
        hectares: f64,
    },
    /// PostGIS found the polygon invalid.
    #[error("the parcel geometry is invalid: {0}")]
    Invalid(String),
    /// The polygon encloses no area.
    #[error("the parcel has no area")]
    NoArea,
}

/// A parcel to look up: its polygon in WGS 84, and optionally a KBLI code. Made only by
/// [`ParcelRequest::new`], which checks its size once: whatever holds one may measure it.
#[derive(Debug)]
pub struct ParcelRequest {
    geometry: MultiPolygon<f64>,
    activity: Option<String>,
}

/// The GeoJSON geometry of a parcel, as sent.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum GeoJsonPolygon {
    Polygon {
        coordinates: Vec<Vec<Vec<f64>>>,
    },
    MultiPolygon {
        coordinates: Vec<Vec<Vec<Vec<f64>>>>,
    },
}

impl ParcelRequest {
    /// A parcel within the size limits ([`check_size`]), its rings oriented as the geodesic area
    /// wants them (exteriors counter-clockwise: files such as Shapefiles store them clockwise).
    pub fn new(
        geometry: MultiPolygon<f64>,
        activity: Option<String>,
    ) -> std::result::Result<Self, ParcelError> {
        let geometry = geometry.orient(Direction::Default);
        check_size(&geometry)?;
        Ok(ParcelRequest { geometry, activity })
    }

    /// The parcel.
    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.geometry
    }

    /// The KBLI code whose rule to report.
    pub fn activity(&self) -> Option<&str> {
        self.activity.as_deref()
    }

    /// Reads a request body: `{"geometry": <GeoJSON>, "activity": "KBLI"}`, a GeoJSON Feature
    /// (`properties.activity`), or a bare Polygon or MultiPolygon.
    pub fn from_json(body: &[u8]) -> std::result::Result<Self, ParcelError> {
        let mut value: Value =
            serde_json::from_slice(body).map_err(|e| ParcelError::NotJson(e.to_string()))?;
        let take = |value: &mut Value, key: &str| {
            value
                .as_object_mut()
                .and_then(|o| o.remove(key))
                .unwrap_or(Value::Null)
        };
        let (geometry, activity) = match value.get("type").and_then(Value::as_str) {
            Some("Feature") => {
                let mut properties = take(&mut value, "properties");
                (
                    take(&mut value, "geometry"),
                    take(&mut properties, "activity"),
                )
            }
            Some(_) => (value, Value::Null),
            None => (take(&mut value, "geometry"), take(&mut value, "activity")),
        };
        let activity = match activity {
            Value::Null => None,
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            other => {
                return Err(ParcelError::Shape(format!(
                    "`activity` is {other}, not a KBLI code"
                )));
            }
        };
        Self::new(Self::polygons(geometry)?, activity)
    }

    /// A GeoJSON Polygon or MultiPolygon as checked polygons.
    pub fn polygons(geometry: Value) -> std::result::Result<MultiPolygon<f64>, ParcelError> {
        let parsed: GeoJsonPolygon =
            serde_json::from_value(geometry).map_err(|e| ParcelError::Shape(e.to_string()))?;
        let polygons = match parsed {
            GeoJsonPolygon::Polygon { coordinates } => vec![coordinates],
            GeoJsonPolygon::MultiPolygon { coordinates } => coordinates,
        };
        let count: usize = polygons.iter().flatten().map(Vec::len).sum();
        if count == 0 {
            return Err(ParcelError::Empty);
        }
        let mut ring_number = 0;
        let mut out = Vec::with_capacity(polygons.len());
        for rings in polygons {
            let mut lines = Vec::with_capacity(rings.len());
            for ring in rings {
                ring_number += 1;
                lines.push(ring_of(ring, ring_number)?);
            }
            let mut lines = lines.into_iter();
            let Some(exterior) = lines.next() else {
                return Err(ParcelError::Empty);
            };
            out.push(Polygon::new(exterior, lines.collect()));
        }
        // Rings may come in either order (RFC 7946 asks parsers to accept both): orient them as
        // the geodesic area wants them, exteriors counter-clockwise.
        Ok(MultiPolygon(out).orient(Direction::Default))
    }
}

/// A ring of positions, checked: numbers, within WGS 84 degrees, at least four, closed.
fn ring_of(
    positions: Vec<Vec<f64>>,
    ring: usize,
) -> std::result::Result<LineString<f64>, ParcelError> {
    let mut coords = Vec::with_capacity(positions.len());
    for position in positions {
        let (Some(&x), Some(&y)) = (position.first(), position.get(1)) else {
            return Err(ParcelError::Ring {
                ring,
                problem: "has a position with fewer than two numbers",
            });
        };
        check_coordinates(x, y).map_err(|_| {
            ParcelError::Shape(format!(
                "the position [{x}, {y}] is not WGS 84 degrees (lon -180..180, lat -90..90)"
            ))
        })?;
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(ParcelError::Ring {
            ring,
            problem: "has fewer than four positions",
        });
    }
    if coords.first() != coords.last() {
        return Err(ParcelError::Ring {
            ring,
            problem: "is not closed (its last position must repeat the first)",
        });
    }
    Ok(LineString(coords))
}

/// Building limits in square metres (and height) for an area under one intensity tier.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq)]
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
    /// Maximum height, metres, where the rule set sets one.
    pub max_height_m: Option<f64>,
    /// Maximum floors, where the rule set sets one.
    pub max_floors: Option<i32>,
    /// Minimum front setback, metres, where the rule set sets one.
    pub gsb_m: Option<f64>,
}

/// The rule by which a parcel's totals are made from its parts.
pub const TOTALS_RULE: &str = "the totals are those of a building on the parcel's buildable parts \
(parts whose sub-zone allows building: KDB above 0): footprint, floor area, green area and basement \
add up over those parts; height and floors are the lowest, and the setback the largest, of those \
parts. Parts where the plan allows no building (KDB 0, such as road bodies, parks and water) and \
parts the rule set does not regulate add nothing and set no limit; their areas are reported.";

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

    /// The limits of two buildable parts of one parcel: areas add up; height and floors take the
    /// lower value, the setback the larger (a value the rule set leaves unset sets no limit).
    fn merge(self, other: Self) -> Self {
        fn stricter<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>, lower: bool) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(if (a < b) == lower { a } else { b }),
                (a, b) => a.or(b),
            }
        }
        Limits {
            max_footprint_m2: self.max_footprint_m2 + other.max_footprint_m2,
            max_floor_area_m2: self.max_floor_area_m2 + other.max_floor_area_m2,
            min_floor_area_m2: self.min_floor_area_m2 + other.min_floor_area_m2,
            min_green_m2: self.min_green_m2 + other.min_green_m2,
            max_basement_m2: self.max_basement_m2 + other.max_basement_m2,
            max_height_m: stricter(self.max_height_m, other.max_height_m, true),
            max_floors: stricter(self.max_floors, other.max_floors, true),
            gsb_m: stricter(self.gsb_m, other.gsb_m, false),
        }
    }
}

/// What a part of the parcel was in the version compared with.
#[derive(Debug, Serialize)]
pub struct BeforePiece {
    /// The zone of the earlier version.
    pub feature_id: i64,
    /// Its sub-zone then.
    pub subzone: Box<RawValue>,
    /// The area of the part that was in it, m².
    pub area_m2: f64,
    /// What differs between then and now: `subzone`, `intensity`, `activities` (none: unchanged).
    pub differs: Vec<&'static str>,
}

/// What changed for one part of the parcel since the version compared with.
#[derive(Debug, Serialize)]
pub struct PartChange {
    /// Whether nothing differs anywhere on the part.
    pub unchanged: bool,
    /// The pieces of the part by the zones of the earlier version.
    pub before: Vec<BeforePiece>,
    /// The area of the part no zone of the earlier version covered, m².
    pub not_covered_before_m2: f64,
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
    /// Whether the version's rule set regulates the sub-zone.
    pub regulated: bool,
    /// Block code.
    pub block: Option<String>,
    /// Area of this part that this zone rules, m² (geodesic, on the WGS 84 ellipsoid); where zones
    /// overlap, the area counts once, for the zone that rules it.
    pub area_m2: f64,
    /// The area of the zone inside the parcel, overlapped parts included, m².
    pub zone_area_m2: f64,
    /// Share of the parcel, 0..1 (of `area_m2`).
    pub share: f64,
    /// Whether the plan allows building here (the tier's KDB above 0).
    pub buildable: bool,
    /// The intensity tier that applies (chosen by the whole parcel's area).
    pub intensity: Option<IntensityTier>,
    /// The limits for this part.
    pub limits: Option<Limits>,
    /// The rule of the activity asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityAnswer>,
    /// What changed here since the version compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<PartChange>,
    /// The part's shape, for overlap and change measurements.
    #[serde(skip)]
    shape: MultiPolygon<f64>,
}

/// Where two zones overlap inside the parcel.
#[derive(Debug, Serialize)]
pub struct RegulationOverlap {
    /// The zone that rules the overlap.
    pub ruling_feature_id: i64,
    /// The zone overruled there.
    pub overruled_feature_id: i64,
    /// The overlap's area, m².
    pub area_m2: f64,
}

/// The part of a parcel no plan in force covers.
#[derive(Debug, Serialize)]
pub struct OutsidePart {
    /// Area, m².
    pub area_m2: f64,
    /// Share of the parcel, 0..1.
    pub share: f64,
}

/// The parcel's totals and what they leave out.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// The rule applied.
    pub rule: &'static str,
    /// The limits of a building on the buildable parts; absent when no part is buildable.
    pub buildable: Option<Limits>,
    /// Area of the buildable parts, m².
    pub buildable_m2: f64,
    /// Area of the parts where the plan allows no building, m².
    pub not_buildable_m2: f64,
    /// Area of the parts the rule set does not regulate, m².
    pub unregulated_m2: f64,
}

/// The answer to a parcel lookup.
#[derive(Debug, Serialize)]
pub struct ParcelAnswer {
    /// The day whose regulations answer (YYYY-MM-DD).
    pub at: String,
    /// The parcel's area, m² (geodesic, on the WGS 84 ellipsoid).
    pub area_m2: f64,
    /// The parcel's parts, one per zone that rules some of it, largest first.
    pub parts: Vec<ParcelPart>,
    /// The parcel's totals (see [`TOTALS_RULE`]).
    pub totals: Totals,
    /// The class of the activity asked about on the whole parcel: the classes of the regulated
    /// parts combined (prohibited anywhere is prohibited; T and B make TB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_class: Option<ItbxClass>,
    /// Where zones overlap inside the parcel (each area counted once, for the ruling zone).
    pub overlaps: Vec<RegulationOverlap>,
    /// How overlapping zones are ranked, when some overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precedence: Option<&'static str>,
    /// The version compared with (`compare_to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<VersionInfo>,
    /// The part outside every plan in force.
    pub outside_plan: OutsidePart,
}

/// A row of `parcel_parts.sql`: the parcel itself (its validity and area), a part inside a zone,
/// or the part outside every zone.
#[derive(sqlx::FromRow)]
struct ParcelRow {
    kind: String,
    reason: Option<String>,
    id: Option<i64>,
    subzone_code: Option<String>,
    block: Option<String>,
    version_id: Option<i64>,
    area_m2: f64,
    wkb: Option<Vec<u8>>,
}

/// Checks the parcel's size before the database measures it: its vertices within
/// [`crate::limits::Limits::parcel_vertices`], its bounding box within
/// [`crate::limits::Limits::parcel_span_deg`] each way (PostGIS measures the parts in plane
/// degrees, so a ring across the antimeridian would cover the whole city's band), and its geodesic
/// area within [`crate::limits::Limits::parcel_area_ha`].
fn check_size(geometry: &MultiPolygon<f64>) -> std::result::Result<(), ParcelError> {
    use geo::{BoundingRect, CoordsIter};
    // Counted here, where every parcel passes, drawn or read from an uploaded file.
    let count = geometry.coords_count();
    if count > LIMITS.parcel_vertices {
        return Err(ParcelError::TooManyVertices { count });
    }
    let Some(rect) = geometry.bounding_rect() else {
        return Err(ParcelError::Empty);
    };
    if rect.width() > LIMITS.parcel_span_deg || rect.height() > LIMITS.parcel_span_deg {
        return Err(ParcelError::TooWide {
            lon: rect.width(),
            lat: rect.height(),
        });
    }
    let hectares = geometry.geodesic_area_unsigned() / 10_000.0;
    if hectares > LIMITS.parcel_area_ha {
        return Err(ParcelError::TooLarge { hectares });
    }
    Ok(())
}

/// Which regulation a parcel is measured against, and which version to compare with.
#[derive(Debug, Default, Clone)]
pub struct ParcelOptions {
    /// The day whose versions in force answer (default: today).
    pub at: Option<String>,
    /// A version of a plan to compare with: each part says what changed since.
    pub compare_to: Option<i64>,
    /// Only the versions published up to this one (by id) count: what was in force on `at` as it
    /// stood when that version was published (a certificate's supersession is judged version by
    /// version).
    pub published_up_to: Option<i64>,
}

/// A zone's piece of the parcel as PostGIS measured it.
struct Piece {
    id: i64,
    subzone: String,
    block: Option<String>,
    geometry_version: i64,
    area_m2: f64,
    shape: MultiPolygon<f64>,
}

/// Measures the parcel against zoning rows `geometry` (geometry version ids).
async fn measure(pool: &PgPool, wkb: &[u8], geometry: &[i64]) -> Result<(Vec<Piece>, f64, f64)> {
    let rows: Vec<ParcelRow> = sqlx::query_as(include_str!("sql/parcel_parts.sql"))
        .bind(wkb)
        .bind(geometry)
        .fetch_all(pool)
        .await?;
    let parcel = rows
        .iter()
        .find(|r| r.kind == "parcel")
        .ok_or(ParcelError::Empty)?;
    if let Some(reason) = &parcel.reason {
        return Err(ParcelError::Invalid(reason.clone()).into());
    }
    let area = parcel.area_m2;
    let mut outside = 0.0;
    let mut pieces = Vec::new();
    for row in rows {
        match (
            row.kind.as_str(),
            row.id,
            row.subzone_code,
            row.version_id,
            row.wkb,
        ) {
            ("outside", ..) => outside = row.area_m2,
            ("part", Some(id), Some(subzone), Some(geometry_version), Some(wkb)) => {
                pieces.push(Piece {
                    id,
                    subzone,
                    block: row.block,
                    geometry_version,
                    area_m2: row.area_m2,
                    shape: decode_polygons(id, wkb)?,
                })
            }
            _ => {}
        }
    }
    Ok((pieces, area, outside))
}

fn decode_polygons(id: i64, wkb: Vec<u8>) -> Result<MultiPolygon<f64>> {
    use geozero::ToGeo;
    match geozero::wkb::Wkb(wkb).to_geo() {
        Ok(geo::Geometry::MultiPolygon(m)) => Ok(m),
        Ok(geo::Geometry::Polygon(p)) => Ok(MultiPolygon(vec![p])),
        _ => Err(super::ZoningError::StoredFeature(id)),
    }
}

/// Measures a parcel against the plan versions in force today (or on `options.at`), with their
/// rule sets; a version published after `snapshot` was taken is included.
pub async fn lookup_parcel(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    request: &ParcelRequest,
    options: &ParcelOptions,
) -> Result<ParcelAnswer> {
    let wkb = geo::Geometry::MultiPolygon(request.geometry().clone())
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| ParcelError::Invalid(e.to_string()))?;
    // The versions are read again: the parcel is measured in PostGIS, which may hold a version
    // published since the snapshot.
    let mut versions = load_versions(&mut *pool.acquire().await?).await?;
    if let Some(last) = options.published_up_to {
        versions.retain(|id, _| *id <= last);
    }
    let day = options.at.clone().unwrap_or_else(|| snapshot.today.clone());
    let version_of = match &options.at {
        Some(day) => versions_in_force(&versions, day),
        None => versions
            .values()
            .filter(|v| v.in_force)
            .map(|v| (v.geometry_version_id, v.version_id))
            .collect(),
    };
    if let (Some(day), true) = (&options.at, version_of.is_empty()) {
        return Err(super::ZoningError::NoVersionInForce(day.clone()));
    }
    let geometry: Vec<i64> = version_of.keys().copied().collect();
    let (pieces, area, outside) = measure(pool, &wkb, &geometry).await?;
    if area <= 0.0 {
        return Err(ParcelError::NoArea.into());
    }
    let rule_sets = rule_sets_of(&versions, &version_of);
    let books = live.books(snapshot, rule_sets).await?;
    let regulations = Regulations {
        versions: &versions,
        version_of: &version_of,
        books: &books,
    };
    let (pieces, overlaps) = count_once(pieces, &regulations);
    let mut parts = Vec::with_capacity(pieces.len());
    for (piece, counted) in pieces {
        let version = version_of
            .get(&piece.geometry_version)
            .and_then(|v| versions.get(v));
        let book = version
            .and_then(|v| books.get(&v.rule_set_id))
            .ok_or(super::ZoningError::UnknownVersion(piece.geometry_version))?;
        let tier = book.tier_for(&piece.subzone, area).cloned();
        let limits = tier.as_ref().map(|t| Limits::of(t, counted.area_m2));
        let activity = request
            .activity()
            .map(|k| activity_answer(book, k, &piece.subzone))
            .transpose()?;
        parts.push(ParcelPart {
            feature_id: piece.id,
            plan: version.cloned(),
            subzone: book.subzone_json(&piece.subzone).to_owned(),
            regulated: book.regulates(&piece.subzone),
            buildable: tier.as_ref().is_some_and(|t| t.kdb_max > 0.0),
            subzone_code: piece.subzone,
            block: piece.block,
            area_m2: counted.area_m2,
            zone_area_m2: piece.area_m2,
            share: counted.area_m2 / area,
            intensity: tier,
            limits,
            activity,
            changes: None,
            shape: counted.shape,
        });
    }
    // A zone that other zones overrule all over the parcel rules none of it (see `overlaps`).
    parts.retain(|p| p.area_m2 > 0.0);
    // The parts that rule some of the parcel decide the class of the activity on it.
    let activity_class = parts
        .iter()
        .filter_map(|p| p.activity.as_ref().and_then(|a| a.class))
        .reduce(ItbxClass::combine);
    parts.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2));
    let compared_to = match options.compare_to {
        Some(id) => Some(compare(pool, live, snapshot, &versions, id, &wkb, &mut parts).await?),
        None => None,
    };
    Ok(ParcelAnswer {
        at: day,
        area_m2: area,
        totals: totals(&parts),
        activity_class,
        precedence: (!overlaps.is_empty()).then_some(PRECEDENCE),
        overlaps,
        parts,
        compared_to,
        outside_plan: OutsidePart {
            area_m2: outside,
            share: outside / area,
        },
    })
}

/// Overlaps inside a parcel of this many m² or less are not reported (the import's default
/// tolerance): zones that share a boundary leave slivers there.
const REPORTED_OVERLAP_M2: f64 = 1.0;

/// The share of `whole`'s area that `part` covers, by planar area in degrees: the geodesic area of
/// the slivers overlay leaves can read as the whole globe (see `ingest::coverage`), and PostGIS has
/// measured `whole` already; over a parcel the ratio is exact to far below a square metre.
fn share_of(part: &MultiPolygon<f64>, whole: &MultiPolygon<f64>) -> f64 {
    use geo::Area;
    let whole = whole.unsigned_area();
    if whole > 0.0 {
        (part.unsigned_area() / whole).min(1.0)
    } else {
        0.0
    }
}

/// What a piece counts for once overlaps are taken out: its area and shape.
struct Counted {
    area_m2: f64,
    shape: MultiPolygon<f64>,
}

/// Gives every piece of area to one zone: pieces in [`PRECEDENCE`] order, each without what the
/// zones before it already rule. Returns the pieces with what they count for, and the overlaps.
fn count_once(
    mut pieces: Vec<Piece>,
    regulations: &Regulations<'_>,
) -> (Vec<(Piece, Counted)>, Vec<RegulationOverlap>) {
    use geo::{BooleanOps, BoundingRect, Intersects};
    let protected = |p: &Piece| {
        let version = regulations
            .version_of
            .get(&p.geometry_version)
            .and_then(|v| regulations.versions.get(v));
        version
            .and_then(|v| regulations.books.get(&v.rule_set_id))
            .and_then(|b| b.zone(&b.legend(&p.subzone)?.zone))
            .is_some_and(|z| z.kind == "lindung")
    };
    pieces.sort_by(|a, b| {
        let key = |p: &Piece| {
            (
                std::cmp::Reverse(regulations.version_of.get(&p.geometry_version).copied()),
                !protected(p),
            )
        };
        key(a)
            .cmp(&key(b))
            .then(a.area_m2.total_cmp(&b.area_m2))
            .then(a.id.cmp(&b.id))
    });
    let mut out: Vec<(Piece, Counted)> = Vec::with_capacity(pieces.len());
    let mut overlaps = Vec::new();
    for piece in pieces {
        let rect = piece.shape.bounding_rect();
        let mut remaining = piece.shape.clone();
        let mut cut = false;
        for (earlier, counted) in &out {
            let touches = match (rect, counted.shape.bounding_rect()) {
                (Some(a), Some(b)) => a.intersects(&b),
                _ => false,
            };
            if !touches {
                continue;
            }
            let common = piece.shape.intersection(&earlier.shape);
            let common_m2 = share_of(&common, &piece.shape) * piece.area_m2;
            if common_m2 > 0.0 {
                remaining = remaining.difference(&earlier.shape);
                cut = true;
            }
            // Zones that only share a boundary leave slivers: reported from the import's default
            // overlap tolerance on.
            if common_m2 > REPORTED_OVERLAP_M2 {
                overlaps.push(RegulationOverlap {
                    ruling_feature_id: earlier.id,
                    overruled_feature_id: piece.id,
                    area_m2: common_m2,
                });
            }
        }
        let area_m2 = if cut {
            share_of(&remaining, &piece.shape) * piece.area_m2
        } else {
            piece.area_m2
        };
        out.push((
            piece,
            Counted {
                area_m2,
                shape: remaining,
            },
        ));
    }
    (out, overlaps)
}

/// The totals by [`TOTALS_RULE`].
fn totals(parts: &[ParcelPart]) -> Totals {
    let sum = |keep: &dyn Fn(&ParcelPart) -> bool| {
        parts
            .iter()
            .filter(|p| keep(p))
            // (A float sum of nothing is -0.0: fold from 0.0.)
            .fold(0.0, |sum, p| sum + p.area_m2)
    };
    Totals {
        rule: TOTALS_RULE,
        buildable: parts
            .iter()
            .filter(|p| p.buildable)
            .filter_map(|p| p.limits)
            .reduce(Limits::merge),
        buildable_m2: sum(&|p| p.buildable),
        not_buildable_m2: sum(&|p| p.regulated && !p.buildable),
        unregulated_m2: sum(&|p| !p.regulated),
    }
}

/// Says for each part what changed since version `compare_to`, and returns that version.
async fn compare(
    pool: &PgPool,
    live: &Live,
    snapshot: &Snapshot,
    versions: &HashMap<i64, VersionInfo>,
    compare_to: i64,
    wkb: &[u8],
    parts: &mut [ParcelPart],
) -> Result<VersionInfo> {
    use geo::BooleanOps;
    let then = versions
        .get(&compare_to)
        .ok_or(super::ZoningError::UnknownVersion(compare_to))?;
    let book_then = live.book(snapshot, then.rule_set_id).await?;
    if !parts
        .iter()
        .any(|p| p.plan.as_ref().is_some_and(|v| v.plan_id == then.plan_id))
    {
        return Err(super::ZoningError::NotOnParcel {
            version: compare_to,
            plan: then.plan.clone(),
        });
    }
    let (pieces, _, _) = measure(pool, wkb, &[then.geometry_version_id]).await?;
    // Only the parts of the same plan compare with its earlier version.
    for part in parts.iter_mut() {
        let book_now = match part.plan.as_ref() {
            Some(v) if v.plan_id == then.plan_id => live.book(snapshot, v.rule_set_id).await?,
            _ => continue,
        };
        let mut before = Vec::new();
        let mut covered = 0.0;
        for piece in &pieces {
            let common = part.shape.intersection(&piece.shape);
            let area_m2 = share_of(&common, &part.shape) * part.area_m2;
            // Slivers along shared boundaries are not pieces.
            if area_m2 <= REPORTED_OVERLAP_M2 {
                continue;
            }
            covered += area_m2;
            let mut differs = Vec::new();
            if piece.subzone != part.subzone_code {
                differs.push("subzone");
            }
            if book_then.intensity_json(&piece.subzone).get()
                != book_now.intensity_json(&part.subzone_code).get()
            {
                differs.push("intensity");
            }
            if book_then.activities_json(&piece.subzone).get()
                != book_now.activities_json(&part.subzone_code).get()
            {
                differs.push("activities");
            }
            before.push(BeforePiece {
                feature_id: piece.id,
                subzone: book_then.subzone_json(&piece.subzone).to_owned(),
                area_m2,
                differs,
            });
        }
        let not_covered_before_m2 = (part.area_m2 - covered).max(0.0);
        part.changes = Some(PartChange {
            unchanged: before.iter().all(|b| b.differs.is_empty())
                && not_covered_before_m2 <= REPORTED_OVERLAP_M2,
            before,
            not_covered_before_m2,
        });
    }
    Ok(then.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, s: f64) -> Value {
        serde_json::json!([[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]])
    }

    #[test]
    fn a_parcel_request_takes_every_shape_clients_send() {
        let polygon =
            serde_json::json!({"type": "Polygon", "coordinates": square(116.8, -1.2, 0.001)});
        let feature = serde_json::json!({"type": "Feature", "properties": {"activity": "56101"}, "geometry": polygon});
        let wrapped = serde_json::json!({"geometry": polygon, "activity": "56101"});
        for body in [&feature, &wrapped] {
            let request = ParcelRequest::from_json(body.to_string().as_bytes()).unwrap();
            assert_eq!(request.activity(), Some("56101"));
            assert_eq!(request.geometry().0.len(), 1);
        }
        let bare = ParcelRequest::from_json(polygon.to_string().as_bytes()).unwrap();
        assert!(bare.activity().is_none());
        // Heights in the third place of a position are accepted and ignored.
        let with_z = serde_json::json!({"type": "Polygon", "coordinates": [[[116.8, -1.2, 12.0], [116.801, -1.2, 12.0], [116.801, -1.199, 12.0], [116.8, -1.2, 12.0]]]});
        assert!(ParcelRequest::from_json(with_z.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn rings_in_either_order_measure_the_same_parcel() {
        let counter = serde_json::json!({"type": "Polygon", "coordinates": [[[116.86, -1.24], [116.861, -1.24], [116.861, -1.239], [116.86, -1.239], [116.86, -1.24]]]});
        let clockwise = serde_json::json!({"type": "Polygon", "coordinates": [[[116.86, -1.24], [116.86, -1.239], [116.861, -1.239], [116.861, -1.24], [116.86, -1.24]]]});
        let area = |v: &Value| {
            let request = ParcelRequest::from_json(v.to_string().as_bytes()).unwrap();
            request.geometry().geodesic_area_unsigned()
        };
        let (a, b) = (area(&counter), area(&clockwise));
        assert!(
            (a - b).abs() < 1e-6 && (a - 12_300.0).abs() < 200.0,
            "{a} {b}"
        );
    }

    #[test]
    fn bad_parcels_are_named_before_the_database_sees_them() {
        let check =
            |body: Value| ParcelRequest::from_json(body.to_string().as_bytes()).unwrap_err();
        assert!(matches!(
            check(serde_json::json!({"type": "Point", "coordinates": [116.8, -1.2]})),
            ParcelError::Shape(_)
        ));
        assert!(matches!(
            check(
                serde_json::json!({"type": "Polygon", "coordinates": [[[116.8, -1.2], [116.9, -1.2], [116.9, -1.1], [116.8, -1.1]]]})
            ),
            ParcelError::Ring { ring: 1, .. }
        ));
        assert!(matches!(
            check(serde_json::json!({"type": "Polygon", "coordinates": square(216.0, -1.2, 0.1)})),
            ParcelError::Shape(m) if m.contains("not WGS 84")
        ));
        assert!(matches!(
            check(serde_json::json!({"type": "Polygon", "coordinates": []})),
            ParcelError::Empty
        ));
        let many: Vec<Value> = (0..=LIMITS.parcel_vertices)
            .map(|i| {
                let a = i as f64 / LIMITS.parcel_vertices as f64 * std::f64::consts::TAU;
                serde_json::json!([116.8 + 0.01 * a.cos(), -1.2 + 0.01 * a.sin()])
            })
            .collect();
        assert!(matches!(
            check(serde_json::json!({"type": "Polygon", "coordinates": [many]})),
            ParcelError::TooManyVertices { count } if count == LIMITS.parcel_vertices + 1
        ));
        let city =
            check(serde_json::json!({"type": "Polygon", "coordinates": square(116.7, -1.3, 0.3)}));
        assert!(matches!(city, ParcelError::TooLarge { hectares } if hectares > 100_000.0));
        // Across the antimeridian the ring spans the whole world's width in plane degrees.
        let band = check(
            serde_json::json!({"type": "Polygon", "coordinates": [[[-179.9999, -1.3], [-179.9999, -1.05], [179.9999, -1.05], [179.9999, -1.3], [-179.9999, -1.3]]]}),
        );
        assert!(matches!(band, ParcelError::TooWide { lon, .. } if lon > 359.0));
        assert!(matches!(
            ParcelRequest::from_json(b"{not json"),
            Err(ParcelError::NotJson(_))
        ));
    }
}
