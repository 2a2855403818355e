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

use super::index::{VersionInfo, load_versions};
use super::point::{ActivityAnswer, activity_answer, check_coordinates};
use super::{Result, Snapshot};
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
    /// A parcel within the size limits ([`check_size`]).
    pub fn new(
        geometry: MultiPolygon<f64>,
        activity: Option<String>,
    ) -> std::result::Result<Self, ParcelError> {
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
        if count > LIMITS.parcel_vertices {
            return Err(ParcelError::TooManyVertices { count });
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
}

/// Checks the parcel's size before the database measures it: its bounding box within
/// [`crate::limits::Limits::parcel_span_deg`] each way (PostGIS measures the parts in plane
/// degrees, so a ring across the antimeridian would cover the whole city's band), and its geodesic
/// area within [`crate::limits::Limits::parcel_area_ha`].
fn check_size(geometry: &MultiPolygon<f64>) -> std::result::Result<(), ParcelError> {
    use geo::BoundingRect;
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

/// Measures a parcel against the published plans in PostGIS (a plan published after `snapshot`
/// was taken included), with the rules of `snapshot`.
pub async fn lookup_parcel(
    pool: &PgPool,
    snapshot: &Snapshot,
    request: &ParcelRequest,
) -> Result<ParcelAnswer> {
    let wkb = geo::Geometry::MultiPolygon(request.geometry().clone())
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| ParcelError::Invalid(e.to_string()))?;
    let rows: Vec<ParcelRow> = sqlx::query_as(include_str!("sql/parcel_parts.sql"))
        .bind(wkb)
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
    if area <= 0.0 {
        return Err(ParcelError::NoArea.into());
    }
    // A version published after the snapshot was taken is read once from the database.
    let all_known = rows.iter().all(|r| {
        r.version_id
            .is_none_or(|v| snapshot.index.version(v).is_some())
    });
    let fresh_versions = match all_known {
        true => None,
        false => Some(load_versions(&mut *pool.acquire().await?).await?),
    };
    let versions = fresh_versions.as_ref().unwrap_or(snapshot.index.versions());
    let rules = &snapshot.rules;
    let mut parts = Vec::new();
    let mut outside = 0.0;
    let mut activity_class: Option<ItbxClass> = None;
    for row in rows {
        let (Some(id), Some(subzone)) = (row.id, row.subzone_code) else {
            if row.kind == "outside" {
                outside = row.area_m2;
            }
            continue;
        };
        let tier = rules.tier_for(&subzone, area).cloned();
        let limits = tier.as_ref().map(|t| Limits::of(t, row.area_m2));
        let activity = request
            .activity()
            .map(|k| activity_answer(rules, k, &subzone))
            .transpose()?;
        if let Some(a) = &activity {
            activity_class = Some(activity_class.map_or(a.class, |c| c.combine(a.class)));
        }
        parts.push(ParcelPart {
            feature_id: id,
            plan: row.version_id.and_then(|v| versions.get(&v)).cloned(),
            subzone: rules.subzone_json(&subzone).to_owned(),
            subzone_code: subzone,
            block: row.block,
            area_m2: row.area_m2,
            share: row.area_m2 / area,
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
