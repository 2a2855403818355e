//! Blocks: the land between the arterials is cut into neighbourhoods by collectors, and each
//! neighbourhood into blocks by local streets.
//!
//! A piece larger than the block size of its place is cut across its long axis (off centre and a
//! few degrees off square, both seeded), each cut leaving a road body between the two sides,
//! until every piece is small enough. Block sizes follow the city: small in the old centre and
//! along the arterials, growing away from the centres, largest in forest and plantations, where
//! cuts leave no road. The sizes are scaled so that the plan has about the asked number of
//! polygons.

use geo::{Area, BoundingRect, Centroid, Coord, Polygon};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::admin::Admin;
use super::cut::{Cut, Frame, cut, is_convex};
use super::streets::{Nearness, RoadClass};
use super::zoning::{Land, Places};

/// Blocks in a neighbourhood (the land a ring of collectors encloses), on average.
const NEIGHBOURHOOD_BLOCKS: f64 = 14.0;
/// Polygons per block: the block, and a share of its neighbourhood's road network.
const POLYGONS_PER_BLOCK: f64 = 1.1;
/// Pieces stop between this share of their size and twice it: they end on average about this
/// much smaller than the size they stop under.
const FILL: f64 = 0.7;
/// The smallest block the sizes ask for (m²): about 35 by 45 m.
const MIN_BLOCK_M2: f64 = 1_500.0;
/// How much larger blocks of forest and plantation are than the least urban housing.
const GREEN_FACTOR: f64 = 1.5;
/// Cuts never go deeper than this (a guard; sizes stop them far earlier).
const MAX_DEPTH: usize = 48;

/// The block size of every place of the city.
pub struct Sizer<'a> {
    admin: &'a Admin,
    places: &'a Places,
    nearness: &'a Nearness,
    /// Block area (m²) where the weight is 1.
    scale: f64,
}

impl<'a> Sizer<'a> {
    /// Scales the block sizes so that the city holds about `polygons` polygons.
    pub fn new(
        admin: &'a Admin,
        places: &'a Places,
        nearness: &'a Nearness,
        polygons: f64,
    ) -> Self {
        let mut sizer = Self {
            admin,
            places,
            nearness,
            scale: 1.0,
        };
        let blocks = polygons.max(1.0) / POLYGONS_PER_BLOCK;
        sizer.scale = sizer.scale_for(blocks) / FILL;
        sizer
    }

    /// The scale at which the city holds `blocks` blocks, found by bisection over a sample of
    /// the city (a grid of 150 × 150 points), blocks never smaller than `MIN_BLOCK_M2`.
    fn scale_for(&self, blocks: f64) -> f64 {
        let samples = self.sample(150);
        let count = |scale: f64| -> f64 {
            samples
                .iter()
                .map(|(area, weight)| area / (scale * weight).max(MIN_BLOCK_M2))
                .sum()
        };
        let (mut low, mut high) = (1e-3_f64, 1e12_f64);
        for _ in 0..100 {
            let mid = (low * high).sqrt();
            if count(mid) > blocks {
                low = mid;
            } else {
                high = mid;
            }
        }
        low
    }

    /// The weights of points of the city on a grid of `steps` × `steps`, with the area each
    /// stands for.
    fn sample(&self, steps: usize) -> Vec<(f64, f64)> {
        use geo::Contains;
        let Some(rect) = self.admin.land.bounding_rect() else {
            return Vec::new();
        };
        let (dx, dy) = (rect.width() / steps as f64, rect.height() / steps as f64);
        let mut samples = Vec::new();
        for i in 0..steps {
            for j in 0..steps {
                let c = Coord {
                    x: rect.min().x + (i as f64 + 0.5) * dx,
                    y: rect.min().y + (j as f64 + 0.5) * dy,
                };
                if self.admin.land.contains(&c) {
                    samples.push((dx * dy, self.weight(c).0));
                }
            }
        }
        samples
    }

    /// The relative block size at `c` and the land there.
    fn weight(&self, c: Coord<f64>) -> (f64, Land) {
        let k = self.admin.kelurahan_near(c);
        let land = Land::at(&self.admin.kelurahan[k], c, self.places);
        let urbanity = self.urbanity(c);
        let weight = (0.05 + urbanity).powf(-1.5);
        let weight = if land.has_streets() {
            weight
        } else {
            weight.max(0.05_f64.powf(-1.5) * GREEN_FACTOR)
        };
        (weight, land)
    }

    /// The frame of every boolean operation.
    pub fn frame(&self) -> &Frame {
        &self.admin.frame
    }

    /// How urban `c` is (`Places::urbanity`).
    pub fn urbanity(&self, c: Coord<f64>) -> f64 {
        self.places.urbanity(c, self.nearness.distance(c))
    }

    /// The area (m²) under which a block at `c` stops being cut, and the land there.
    fn block_area(&self, c: Coord<f64>) -> (f64, Land) {
        let (weight, land) = self.weight(c);
        ((self.scale * weight).max(MIN_BLOCK_M2 / FILL), land)
    }
}

/// The two rounds of cutting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Collectors (16 to 20 m, 24 m across the largest pieces) cut neighbourhoods.
    Neighbourhoods,
    /// Local streets (8 to 10 m) cut blocks.
    Blocks,
}

/// A road body left by a cut.
pub struct Road {
    pub shape: Polygon<f64>,
    pub class: RoadClass,
    /// The road's width, metres.
    pub width: f64,
    /// The network it belongs to, written as one road body per kelurahan (an arterial's index;
    /// `COLLECTORS` for the collectors).
    pub network: usize,
}

/// The network of the collectors.
pub const COLLECTORS: usize = usize::MAX;

/// A piece of land on its way to being cut.
struct Piece {
    shape: Polygon<f64>,
    convex: bool,
    depth: usize,
}

/// Cuts `land` until every piece is smaller than the size of its place at `stage`; returns the
/// pieces and the road bodies the cuts left.
pub fn subdivide(
    land: Vec<Polygon<f64>>,
    stage: Stage,
    sizer: &Sizer,
    rng: &mut ChaCha8Rng,
) -> (Vec<Polygon<f64>>, Vec<Road>) {
    let mut stack: Vec<Piece> = land
        .into_iter()
        .rev()
        .map(|shape| Piece {
            convex: is_convex(&shape),
            shape,
            depth: 0,
        })
        .collect();
    let (mut pieces, mut roads) = (Vec::new(), Vec::new());
    while let Some(piece) = stack.pop() {
        let Some(centre) = piece.shape.centroid().map(|p| p.0) else {
            continue;
        };
        let area = piece.shape.unsigned_area();
        let (block, land) = sizer.block_area(centre);
        let size = match stage {
            Stage::Neighbourhoods => block * NEIGHBOURHOOD_BLOCKS,
            Stage::Blocks => block,
        };
        let stop = size * rng.gen_range(0.7..1.4);
        if area < stop || piece.depth >= MAX_DEPTH {
            pieces.push(piece.shape);
            continue;
        }
        let (half_width, class) = road_of(stage, land, area / size, rng);
        let line = cut_line(&piece.shape, centre, half_width, rng);
        let parts = cut(&piece.shape, piece.convex, &line, sizer.frame());
        if parts.left.is_empty() || parts.right.is_empty() {
            pieces.push(piece.shape);
            continue;
        }
        for shape in parts.road {
            if is_strip(&shape, 2.0 * half_width) {
                roads.push(Road {
                    shape,
                    class,
                    width: 2.0 * half_width,
                    network: COLLECTORS,
                });
            } else {
                // A stub of road where the cut grazed a corner: land, not road.
                pieces.push(shape);
            }
        }
        for shape in parts.right.into_iter().chain(parts.left) {
            stack.push(Piece {
                convex: piece.convex || is_convex(&shape),
                shape,
                depth: piece.depth + 1,
            });
        }
    }
    (pieces, roads)
}

/// The half width and class of the road a cut leaves (no road through green land).
fn road_of(stage: Stage, land: Land, times_size: f64, rng: &mut ChaCha8Rng) -> (f64, RoadClass) {
    let width = match stage {
        _ if !land.has_streets() => 0.0,
        Stage::Neighbourhoods if times_size > 24.0 => 24.0,
        Stage::Neighbourhoods => rng.gen_range(16.0..20.0_f64).round(),
        Stage::Blocks => rng.gen_range(8.0..10.0_f64).round(),
    };
    let class = match stage {
        Stage::Neighbourhoods if width >= 24.0 => RoadClass::Arterial,
        Stage::Neighbourhoods => RoadClass::Collector,
        Stage::Blocks => RoadClass::Local,
    };
    (width / 2.0, class)
}

/// A cut across a shape where it is longest, square to its longest side (so that blocks stay
/// four-sided and face their streets): off centre by up to a sixth of its length, a degree or two
/// off square.
fn cut_line(
    shape: &Polygon<f64>,
    centre: Coord<f64>,
    half_width: f64,
    rng: &mut ChaCha8Rng,
) -> Cut {
    let side = longest_side(shape);
    let square = Coord {
        x: -side.y,
        y: side.x,
    };
    let (along_side, along_square) = (extent(shape, centre, side), extent(shape, centre, square));
    // Cut across the longer of the two directions.
    let (axis, (low, high), direction) =
        if along_side.1 - along_side.0 >= along_square.1 - along_square.0 {
            (side, along_side, square)
        } else {
            (square, along_square, side)
        };
    let along = (low + high) / 2.0 + (high - low) * rng.gen_range(-0.16..0.16);
    let (sin, cos) = rng.gen_range(-0.035..0.035_f64).sin_cos();
    Cut {
        origin: centre + axis * along,
        direction: Coord {
            x: direction.x * cos - direction.y * sin,
            y: direction.x * sin + direction.y * cos,
        },
        half_width,
    }
}

/// The unit direction of a shape's longest side.
fn longest_side(shape: &Polygon<f64>) -> Coord<f64> {
    let longest = shape
        .exterior()
        .lines()
        .map(|l| l.end - l.start)
        .max_by(|a, b| a.x.hypot(a.y).total_cmp(&b.x.hypot(b.y)))
        .unwrap_or(Coord { x: 1.0, y: 0.0 });
    longest / longest.x.hypot(longest.y).max(1e-9)
}

/// The lowest and highest offsets of a shape's vertices from `centre` along `axis`.
fn extent(shape: &Polygon<f64>, centre: Coord<f64>, axis: Coord<f64>) -> (f64, f64) {
    shape
        .exterior()
        .0
        .iter()
        .map(|p| (p.x - centre.x) * axis.x + (p.y - centre.y) * axis.y)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(s), hi.max(s))
        })
}

/// Whether a road body is a strip (at least three times as long as the road is wide), as a road
/// body must be to be drawn as one.
pub fn is_strip(shape: &Polygon<f64>, width: f64) -> bool {
    shape
        .bounding_rect()
        .is_some_and(|r| r.width().max(r.height()) >= 3.5 * width)
}
