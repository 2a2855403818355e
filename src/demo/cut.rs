//! Cutting a polygon with a straight road: the land on either side of the road and the road body
//! between them.
//!
//! A convex polygon is clipped by hand against the three slabs the road's two edges make (every
//! crossing point is computed from the same edge and the same level in each slab, so the three
//! parts share their vertices exactly); any other polygon goes through `geo`'s boolean operations
//! with one large quadrilateral per slab.

use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};

/// The extent every boolean operation of the generator shares. `geo` rounds each operation to a
/// grid fitted to its inputs' extent, so operations with different extents round a shared
/// boundary differently (hairline gaps and overlaps between neighbours); two tiny triangles at
/// the frame's corners, added to the second operand of every intersection and difference, give
/// all of them one extent and one grid.
pub struct Frame {
    rect: Polygon<f64>,
    anchors: [Polygon<f64>; 2],
}

impl Frame {
    /// A frame `margin` metres around `shape`.
    pub fn around(shape: &MultiPolygon<f64>, margin: f64) -> Self {
        let rect = shape.bounding_rect().map_or_else(
            || geo::Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 1.0, y: 1.0 }),
            |r| {
                geo::Rect::new(
                    r.min()
                        - Coord {
                            x: margin,
                            y: margin,
                        },
                    r.max()
                        + Coord {
                            x: margin,
                            y: margin,
                        },
                )
            },
        );
        let (min, max) = (rect.min(), rect.max());
        let triangle = |a: Coord<f64>, step: f64| {
            Polygon::new(
                LineString::from(vec![
                    a,
                    a + Coord { x: step, y: 0.0 },
                    a + Coord { x: 0.0, y: step },
                    a,
                ]),
                vec![],
            )
        };
        Self {
            rect: rect.to_polygon(),
            anchors: [triangle(min, 1.0), triangle(max, -1.0)],
        }
    }

    /// `parts` with the frame's anchors, as the second operand of an intersection or difference.
    pub fn anchored(&self, parts: &[Polygon<f64>]) -> MultiPolygon<f64> {
        let mut all = parts.to_vec();
        all.extend(self.anchors.iter().cloned());
        MultiPolygon(all)
    }
}

/// Parts smaller than this (m²) are slivers of the arithmetic, not land.
const SLIVER_M2: f64 = 0.05;

/// A straight road across a polygon: the line through `origin` along `direction` (unit vector),
/// with a road body `half_width` to each side (zero: a boundary without a road).
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    pub origin: Coord<f64>,
    pub direction: Coord<f64>,
    pub half_width: f64,
}

/// The parts of a cut polygon.
#[derive(Debug, Default)]
pub struct Parts {
    /// Land on the side the normal points away from.
    pub left: Vec<Polygon<f64>>,
    /// The road body (empty for a cut without a road).
    pub road: Vec<Polygon<f64>>,
    /// Land on the side the normal points to.
    pub right: Vec<Polygon<f64>>,
}

impl Cut {
    /// The unit normal: signed distances from the line are measured along it.
    fn normal(&self) -> Coord<f64> {
        Coord {
            x: -self.direction.y,
            y: self.direction.x,
        }
    }

    fn offset(&self, p: Coord<f64>) -> f64 {
        let n = self.normal();
        (p.x - self.origin.x) * n.x + (p.y - self.origin.y) * n.y
    }
}

/// Cuts `shape` (inside `frame`) with `cut`; `convex` says the shape is convex and has no holes.
pub fn cut(shape: &Polygon<f64>, convex: bool, cut: &Cut, frame: &Frame) -> Parts {
    let (lo, hi) = (-cut.half_width, cut.half_width);
    let slabs = [(f64::NEG_INFINITY, lo), (lo, hi), (hi, f64::INFINITY)];
    let mut parts: [Vec<Polygon<f64>>; 3] = Default::default();
    for (part, (from, to)) in parts.iter_mut().zip(slabs) {
        if from >= to {
            continue;
        }
        *part = if convex {
            clip_convex(shape, cut, from, to).into_iter().collect()
        } else {
            clip_general(shape, cut, from, to, frame)
        };
        part.retain(|p| p.unsigned_area() > SLIVER_M2);
    }
    let [left, road, right] = parts;
    Parts { left, road, right }
}

/// The part of a convex polygon whose offsets from the cut lie in `from..=to`.
fn clip_convex(shape: &Polygon<f64>, cut: &Cut, from: f64, to: f64) -> Option<Polygon<f64>> {
    let ring = &shape.exterior().0;
    let offsets: Vec<f64> = ring.iter().map(|p| cut.offset(*p)).collect();
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.len() + 4);
    for i in 0..ring.len().saturating_sub(1) {
        let (a, b, sa, sb) = (ring[i], ring[i + 1], offsets[i], offsets[i + 1]);
        if (from..=to).contains(&sa) {
            push_distinct(&mut out, a);
        }
        // The levels crossed strictly inside the edge, in the order the edge meets them.
        let mut levels = [from, to];
        if sa > sb {
            levels.reverse();
        }
        for level in levels {
            if level.is_finite() && sa.min(sb) < level && level < sa.max(sb) {
                push_distinct(&mut out, crossing(a, b, sa, sb, level));
            }
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    (out.len() >= 3).then(|| Polygon::new(LineString::from(out), vec![]))
}

/// Where the edge a-b (offsets sa, sb) crosses the level: the same inputs give the same point.
fn crossing(a: Coord<f64>, b: Coord<f64>, sa: f64, sb: f64, level: f64) -> Coord<f64> {
    let t = (level - sa) / (sb - sa);
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

fn push_distinct(out: &mut Vec<Coord<f64>>, p: Coord<f64>) {
    if out.last() != Some(&p) {
        out.push(p);
    }
}

/// The part of any polygon whose offsets lie in `from..=to`: its intersection with the slab
/// across the frame.
fn clip_general(
    shape: &Polygon<f64>,
    cut: &Cut,
    from: f64,
    to: f64,
    frame: &Frame,
) -> Vec<Polygon<f64>> {
    let Some(slab) = clip_convex(&frame.rect, cut, from, to) else {
        return Vec::new();
    };
    shape.intersection(&frame.anchored(&[slab])).0
}

/// Whether a polygon without holes is convex (its turns all go the same way).
pub fn is_convex(shape: &Polygon<f64>) -> bool {
    if !shape.interiors().is_empty() {
        return false;
    }
    let ring = &shape.exterior().0;
    let n = ring.len().saturating_sub(1);
    if n < 3 {
        return false;
    }
    let (mut positive, mut negative) = (false, false);
    for i in 0..n {
        let (a, b, c) = (ring[i], ring[(i + 1) % n], ring[(i + 2) % n]);
        let turn = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
        positive |= turn > 1e-9;
        negative |= turn < -1e-9;
    }
    !(positive && negative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Polygon<f64> {
        Polygon::new(
            LineString::from(vec![(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]),
            vec![],
        )
    }

    #[test]
    fn a_road_across_a_square_leaves_two_blocks_and_a_strip_that_tile_it() {
        let road = Cut {
            origin: Coord { x: 50.0, y: 0.0 },
            direction: Coord { x: 0.1, y: 1.0 } / 1.01_f64.sqrt(),
            half_width: 5.0,
        };
        let frame = Frame::around(&MultiPolygon(vec![square()]), 50.0);
        for convex in [true, false] {
            let parts = cut(&square(), convex, &road, &frame);
            let area = |ps: &[Polygon<f64>]| ps.iter().map(Area::unsigned_area).sum::<f64>();
            assert_eq!(
                (parts.left.len(), parts.road.len(), parts.right.len()),
                (1, 1, 1)
            );
            assert!((area(&parts.road) - 1000.0 * 1.01_f64.sqrt()).abs() < 1e-3);
            let total = area(&parts.left) + area(&parts.road) + area(&parts.right);
            assert!((total - 10_000.0).abs() < 1e-3, "{total}");
        }
        assert!(is_convex(&square()));
    }
}
