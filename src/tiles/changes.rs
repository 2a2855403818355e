//! The areas a change of a layer touched, as a layer remembers them to decide whether a cached
//! tile of an older generation may still be served.
//!
//! The changed features' boxes are snapped outward to a grid of zoom-16 tiles (about 600 m), and
//! each cell is kept once. A republication of a whole plan changes every zone; kept box by box,
//! one generation of the 20,000-zone plan held 40,000 boxes (about 2.7 MB), and a layer remembers
//! many generations. Kept as cells, it holds the cells the city covers (about 1,500) whatever
//! the number of zones. A tile near a change may be rendered again when it need not be; one
//! touching a change never escapes.

use std::collections::HashSet;

use rstar::{AABB, RTree};

use super::mercator::HALF_WORLD;
use crate::geometry::IndexedBox;

/// The zoom whose tiles are the cells of the grid.
const CELL_ZOOM: i32 = 16;

/// A box over more cells than this (columns × rows) is kept as one snapped box instead of cell
/// by cell, so that a huge box costs one entry.
const MOST_CELLS: i64 = 16;

/// The areas one change touched, in EPSG:3857 metres, snapped outward to the cell grid.
#[derive(Debug)]
pub struct ChangedAreas {
    tree: RTree<IndexedBox>,
}

impl ChangedAreas {
    /// The areas of the boxes `boxes` (EPSG:3857), snapped outward to the grid. A box with a
    /// coordinate that is not finite stands for the whole world.
    pub fn snapped(boxes: impl IntoIterator<Item = AABB<[f64; 2]>>) -> Self {
        let mut cells = HashSet::new();
        let mut spans = HashSet::new();
        for envelope in boxes {
            let Some(span) = CellSpan::covering(&envelope) else {
                spans.insert(CellSpan::WORLD);
                continue;
            };
            if span.cells() <= MOST_CELLS {
                cells.extend(span.each_cell());
            } else {
                spans.insert(span);
            }
        }
        let entries = cells
            .into_iter()
            .map(|(x, y)| CellSpan {
                x0: x,
                y0: y,
                x1: x,
                y1: y,
            })
            .chain(spans)
            .map(|span| IndexedBox {
                index: 0,
                envelope: span.envelope(),
            })
            .collect();
        ChangedAreas {
            tree: RTree::bulk_load(entries),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// How many snapped areas are kept.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether any area touches `envelope`.
    pub fn touch(&self, envelope: &AABB<[f64; 2]>) -> bool {
        self.tree
            .locate_in_envelope_intersecting(envelope)
            .next()
            .is_some()
    }
}

/// A rectangle of grid cells, first and last column and row (inclusive), columns from the west
/// and rows from the south.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CellSpan {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

impl CellSpan {
    /// Every cell of the world.
    const WORLD: CellSpan = CellSpan {
        x0: 0,
        y0: 0,
        x1: (1 << CELL_ZOOM) - 1,
        y1: (1 << CELL_ZOOM) - 1,
    };

    fn size() -> f64 {
        2.0 * HALF_WORLD / f64::from(1u32 << CELL_ZOOM)
    }

    /// The cells `envelope` touches (clamped to the world); `None` for a coordinate that is not
    /// finite.
    fn covering(envelope: &AABB<[f64; 2]>) -> Option<CellSpan> {
        let ([west, south], [east, north]) = (envelope.lower(), envelope.upper());
        if ![west, south, east, north].iter().all(|v| v.is_finite()) {
            return None;
        }
        let last = (1i64 << CELL_ZOOM) - 1;
        let cell = |v: f64| (((v + HALF_WORLD) / Self::size()).floor() as i64).clamp(0, last);
        Some(CellSpan {
            x0: cell(west),
            y0: cell(south),
            x1: cell(east),
            y1: cell(north),
        })
    }

    fn cells(&self) -> i64 {
        (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)
    }

    fn each_cell(self) -> impl Iterator<Item = (i64, i64)> {
        (self.x0..=self.x1).flat_map(move |x| (self.y0..=self.y1).map(move |y| (x, y)))
    }

    /// The span's rectangle in EPSG:3857 metres.
    fn envelope(&self) -> AABB<[f64; 2]> {
        let at = |cell: i64| cell as f64 * Self::size() - HALF_WORLD;
        AABB::from_corners(
            [at(self.x0), at(self.y0)],
            [at(self.x1 + 1), at(self.y1 + 1)],
        )
    }
}

#[cfg(test)]
mod tests {
    use rstar::Envelope;

    use super::*;

    fn square(x: f64, y: f64, side: f64) -> AABB<[f64; 2]> {
        AABB::from_corners([x, y], [x + side, y + side])
    }

    /// Balikpapan, roughly, in EPSG:3857.
    const CITY: [f64; 2] = [12_440_000.0, -140_000.0];

    #[test]
    fn every_changed_box_is_still_touched() {
        let boxes: Vec<_> = (0..500)
            .map(|i| {
                let (i, j) = (f64::from(i % 25), f64::from(i / 25));
                square(CITY[0] + i * 173.0, CITY[1] + j * 211.0, 40.0 + i * 3.0)
            })
            .chain([square(CITY[0] - 9_000.0, CITY[1], 7_500.0)])
            .collect();
        let areas = ChangedAreas::snapped(boxes.clone());
        for b in &boxes {
            assert!(areas.touch(b), "{b:?} is no longer covered");
            let [x, y] = b.center();
            assert!(areas.touch(&AABB::from_point([x, y])), "centre of {b:?}");
        }
    }

    #[test]
    fn an_area_far_from_every_change_is_not_touched() {
        let areas = ChangedAreas::snapped([square(CITY[0], CITY[1], 100.0)]);
        assert!(!areas.touch(&square(CITY[0] + 5_000.0, CITY[1], 100.0)));
        assert!(!areas.touch(&square(CITY[0], CITY[1] - 5_000.0, 100.0)));
        assert!(areas.touch(&square(CITY[0] + 50.0, CITY[1] + 50.0, 1.0)));
    }

    #[test]
    fn a_whole_plan_change_keeps_about_the_cells_the_city_covers() {
        // 40,000 blocks of 150 m, the two sides of a republication of a 20,000-zone plan, over
        // 30 km × 30 km.
        let side = 30_000.0;
        let boxes = (0..40_000).map(|i| {
            let (i, j) = (f64::from(i % 200), f64::from(i / 200));
            square(CITY[0] + i * 150.0, CITY[1] + (j % 200.0) * 150.0, 140.0)
        });
        let areas = ChangedAreas::snapped(boxes);
        let cells_per_side = (side / CellSpan::size()).ceil() as usize + 1;
        assert!(
            areas.len() <= cells_per_side * cells_per_side,
            "{} areas kept",
            areas.len()
        );
        assert!(areas.len() >= 40 * 40, "{} areas kept", areas.len());
    }

    #[test]
    fn a_huge_box_is_one_area_and_a_broken_one_is_the_world() {
        let areas = ChangedAreas::snapped([square(-1e7, -1e7, 2e7)]);
        assert_eq!(areas.len(), 1);
        assert!(areas.touch(&square(0.0, 0.0, 1.0)));
        let broken = ChangedAreas::snapped([AABB::from_point([f64::NAN, 0.0])]);
        assert_eq!(broken.len(), 1);
        assert!(broken.touch(&square(CITY[0], CITY[1], 1.0)));
        assert!(broken.touch(&square(-HALF_WORLD, HALF_WORLD - 1.0, 0.5)));
        assert!(ChangedAreas::snapped([]).is_empty());
    }
}
