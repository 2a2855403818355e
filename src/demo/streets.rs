//! The street hierarchy of the demo city.
//!
//! The arterials are drawn, not generated: Balikpapan's main roads as waypoints (the coast road
//! Jl. Jend. Sudirman – Jl. Marsma R. Iswahyudi – Jl. Mulawarman, Jl. A. Yani – Jl. Soekarno-Hatta
//! north along the valley to Km 13 and beyond, the road to Kariangau, the bay road, an inland ring
//! and two valley roads), nudged by a seeded jitter and smoothed into curves, each a band 30 m
//! wide. Collectors and local streets are the cuts of `blocks`. Road bodies (sub-zone BJ) are kept
//! inside the band of one road each, so none is wider than its road.

use geo::{
    Area, BooleanOps, Closest, ClosestPoint, Coord, Distance, Euclidean, Line, LineString,
    MultiPolygon, Point, Polygon,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rstar::{AABB, RTree, RTreeObject};

use super::cut::Frame;

/// The class of a road, by its place in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoadClass {
    Local,
    Collector,
    Arterial,
}

/// Width of an arterial road body, metres.
pub const ARTERIAL_M: f64 = 30.0;

/// Balikpapan's arterials as (lon, lat) waypoints, in the order they claim their junctions: a
/// road that ends on another starts or ends on that road's line.
const ARTERIALS: [&[(f64, f64)]; 7] = [
    // Jl. Jend. Sudirman – Jl. Marsma R. Iswahyudi – Jl. Mulawarman: the coast road from the port
    // past the old centre and north of the airport, then north-east along the coast.
    &[
        (116.800, -1.2690),
        (116.812, -1.2720),
        (116.823, -1.2748),
        (116.840, -1.2755),
        (116.860, -1.2742),
        (116.878, -1.2700),
        (116.891, -1.2616),
        (116.920, -1.2445),
        (116.950, -1.2225),
        (116.975, -1.2040),
        (117.000, -1.1830),
        (117.012, -1.1600),
        (117.016, -1.1400),
        (117.020, -1.1250),
    ],
    // Jl. Jend. A. Yani – Jl. Soekarno-Hatta: north from the centre to Km 5, Km 13 and beyond.
    &[
        (116.836, -1.2752),
        (116.840, -1.2620),
        (116.845, -1.2480),
        (116.850, -1.2350),
        (116.855, -1.2180),
        (116.862, -1.2000),
        (116.872, -1.1750),
        (116.885, -1.1500),
        (116.896, -1.1200),
        (116.903, -1.0950),
        (116.905, -1.0700),
        (116.906, -1.0450),
    ],
    // The road to Kariangau: west from Km 5 to the port on the bay.
    &[
        (116.862, -1.2000),
        (116.845, -1.1965),
        (116.825, -1.1895),
        (116.808, -1.1800),
        (116.797, -1.1650),
        (116.790, -1.1480),
        (116.780, -1.1400),
    ],
    // Jl. Yos Sudarso – Jl. Letjend Suprapto: the bay road north from the port.
    &[
        (116.812, -1.2720),
        (116.815, -1.2550),
        (116.818, -1.2380),
        (116.820, -1.2200),
        (116.830, -1.2060),
        (116.845, -1.1965),
    ],
    // Jl. MT Haryono – Jl. Syarifuddin Yoes – Jl. Ruhui Rahayu: the inland ring to Manggar.
    &[
        (116.845, -1.2480),
        (116.860, -1.2440),
        (116.875, -1.2420),
        (116.890, -1.2350),
        (116.905, -1.2250),
        (116.925, -1.2160),
        (116.950, -1.2225),
    ],
    // The valley road north from Sepinggan to Jl. Soekarno-Hatta.
    &[
        (116.891, -1.2616),
        (116.895, -1.2450),
        (116.890, -1.2350),
        (116.888, -1.2100),
        (116.880, -1.1850),
        (116.872, -1.1750),
    ],
    // From Manggar past the reservoir to Jl. Soekarno-Hatta.
    &[
        (116.975, -1.2040),
        (116.962, -1.1850),
        (116.940, -1.1680),
        (116.912, -1.1560),
        (116.885, -1.1500),
    ],
];

/// A street centre line and its width.
pub struct Street {
    pub line: LineString<f64>,
    pub width: f64,
}

/// The arterials in UTM: the waypoints jittered (not their ends), an end at a junction moved onto
/// the centre line of the road it joins, then smoothed (the ends stay).
pub fn arterials(utm: impl Fn((f64, f64)) -> Coord<f64>, rng: &mut ChaCha8Rng) -> Vec<Street> {
    let mut streets: Vec<Street> = Vec::new();
    for waypoints in ARTERIALS {
        let mut points = jittered(waypoints, &utm, rng);
        let last = points.len() - 1;
        for end in [0, last] {
            points[end] = junction(points[end], &streets);
        }
        streets.push(Street {
            line: LineString::from(smooth(points, 4)),
            width: ARTERIAL_M,
        });
    }
    streets
}

/// The waypoints in UTM, each but the ends moved up to 60 m each way.
fn jittered(
    waypoints: &[(f64, f64)],
    utm: impl Fn((f64, f64)) -> Coord<f64>,
    rng: &mut ChaCha8Rng,
) -> Vec<Coord<f64>> {
    let last = waypoints.len() - 1;
    waypoints
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = utm(*p);
            if i == 0 || i == last {
                return at;
            }
            Coord {
                x: at.x + rng.gen_range(-60.0..60.0),
                y: at.y + rng.gen_range(-60.0..60.0),
            }
        })
        .collect()
}

/// The point of an earlier street's centre line nearest `end`, if one passes within 200 m.
fn junction(end: Coord<f64>, earlier: &[Street]) -> Coord<f64> {
    earlier
        .iter()
        .filter_map(|s| match s.line.closest_point(&Point::from(end)) {
            Closest::Intersection(p) | Closest::SinglePoint(p) => Some(p.0),
            Closest::Indeterminate => None,
        })
        .map(|p| (Euclidean.distance(&Point::from(p), &Point::from(end)), p))
        .filter(|(d, _)| *d < 200.0)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(end, |(_, p)| p)
}

/// Chaikin's corner cutting, `rounds` times, keeping both ends.
fn smooth(mut points: Vec<Coord<f64>>, rounds: usize) -> Vec<Coord<f64>> {
    for _ in 0..rounds {
        let mut next = Vec::with_capacity(points.len() * 2);
        next.push(points[0]);
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            next.push(a * 0.75 + b * 0.25);
            next.push(a * 0.25 + b * 0.75);
        }
        next.push(points[points.len() - 1]);
        points = next;
    }
    points
}

/// The band a street's body fills: its centre line offset by half its width to each side, the
/// corners mitred so the width holds through the curves.
pub fn band(street: &Street) -> Polygon<f64> {
    let points = &street.line.0;
    let half = street.width / 2.0;
    let unit = |v: Coord<f64>| v / (v.x.hypot(v.y)).max(1e-9);
    let normals: Vec<Coord<f64>> = (0..points.len())
        .map(|i| {
            let before = unit(points[i] - points[i.saturating_sub(1)]);
            let after = unit(points[(i + 1).min(points.len() - 1)] - points[i]);
            let tangent = unit(before + after);
            let normal = Coord {
                x: -tangent.y,
                y: tangent.x,
            };
            // Mitre: the offset grows as the road turns so the body keeps its width (a little
            // narrower at a sharp turn, never wider).
            let cos = (normal.x * -after.y + normal.y * after.x).abs().max(0.9);
            normal * (half / cos)
        })
        .collect();
    let left = points.iter().zip(&normals).map(|(p, n)| *p + *n);
    let right = points.iter().zip(&normals).rev().map(|(p, n)| *p - *n);
    let mut ring: Vec<Coord<f64>> = left.chain(right).collect();
    ring.push(ring[0]);
    Polygon::new(LineString::from(ring), vec![])
}

/// The arterials' road bodies inside the city, each within its own band (a road keeps the
/// junctions of the roads before it), and the land they leave.
pub fn arterial_bodies(
    streets: &[Street],
    city: &MultiPolygon<f64>,
    frame: &Frame,
) -> (Vec<(usize, Polygon<f64>)>, MultiPolygon<f64>) {
    let mut taken = MultiPolygon::<f64>(vec![]);
    let mut bodies = Vec::new();
    let city_anchored = frame.anchored(&city.0);
    for (i, street) in streets.iter().enumerate() {
        let band = MultiPolygon(vec![band(street)]);
        let own = band
            .intersection(&city_anchored)
            .difference(&frame.anchored(&taken.0));
        taken = taken.union(&band);
        bodies.extend(
            own.0
                .into_iter()
                .filter(|p| p.unsigned_area() > 1.0)
                .map(|p| (i, p)),
        );
    }
    (bodies, city.difference(&frame.anchored(&taken.0)))
}

/// A segment of a road body's outline, with the class of its road.
struct Frontage {
    line: Line<f64>,
    class: RoadClass,
}

impl RTreeObject for Frontage {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.line.start.into(), self.line.end.into())
    }
}

/// The outlines of the arterial and collector road bodies, to tell which road a block fronts.
pub struct Frontages(RTree<Frontage>);

impl Frontages {
    pub fn new<'a>(bodies: impl Iterator<Item = (&'a Polygon<f64>, RoadClass)>) -> Self {
        let segments = bodies
            .flat_map(|(body, class)| {
                body.exterior()
                    .lines()
                    .map(move |line| Frontage { line, class })
            })
            .collect();
        Self(RTree::bulk_load(segments))
    }

    /// The widest class of road whose body touches the block (a vertex within half a metre).
    pub fn of(&self, block: &Polygon<f64>) -> Option<RoadClass> {
        block
            .exterior()
            .0
            .iter()
            .filter_map(|v| {
                let envelope = AABB::from_corners([v.x - 0.5, v.y - 0.5], [v.x + 0.5, v.y + 0.5]);
                self.0
                    .locate_in_envelope_intersecting(&envelope)
                    .filter(|f| Euclidean.distance(&f.line, &Point::from(*v)) < 0.5)
                    .map(|f| f.class)
                    .max()
            })
            .max()
    }
}

/// The arterials' centre lines, to measure how far a place is from the nearest one.
pub struct Nearness(RTree<Line<f64>>);

impl Nearness {
    pub fn new(streets: &[Street]) -> Self {
        Self(RTree::bulk_load(
            streets.iter().flat_map(|s| s.line.lines()).collect(),
        ))
    }

    /// Metres from `c` to the nearest arterial centre line.
    pub fn distance(&self, c: Coord<f64>) -> f64 {
        self.0
            .nearest_neighbor(&Point::from(c))
            .map_or(f64::INFINITY, |line| {
                Euclidean.distance(line, &Point::from(c))
            })
    }
}
