//! Coverage-aware generalisation of a zoning layer for low zooms.
//!
//! At zoom z the plan is resampled on a grid of one screen pixel (1/256 of a tile): each cell takes
//! the sub-zone under its centre. Road bodies, thinner than a pixel at these zooms, give their
//! cells to the neighbouring zones; cells outside the plan stay empty. Each sub-zone's cells are
//! then merged into one multipolygon. Built from one grid, the polygons share every edge exactly
//! and tile the plan without gaps or overlaps, zones smaller than a pixel vanish into their
//! neighbours, and no tile holds more than one feature per sub-zone.
//! (No crate generalises a polygon coverage this way; the resampling is written here, the merging
//! is geo's overlay.)

use std::collections::HashMap;

use geo::{Coord, Intersects, MultiPolygon, Point, Rect, unary_union};
use geozero::mvt::TileValue;

use super::mercator::HALF_WORLD;
use super::{TileFeature, VectorLayer};

/// Highest zoom drawn from the generalised layers; above it tiles show every zone.
pub const GENERALISED_UP_TO: u8 = 12;

/// How many rounds road cells are handed to their neighbours.
const FILL_ROUNDS: usize = 8;

/// The generalised layers for zooms 0..=GENERALISED_UP_TO. `class_of` names a feature's class
/// (features of one class are merged); features whose class is in `gap_classes` are given to their
/// neighbours.
pub fn generalised_levels(
    detail: &VectorLayer,
    class_key: &str,
    gap_classes: &[&str],
) -> Vec<VectorLayer> {
    (0..=GENERALISED_UP_TO)
        .map(|z| generalise(detail, class_key, gap_classes, z))
        .collect()
}

fn class_of<'a>(feature: &'a TileFeature, key: &str) -> Option<&'a str> {
    feature
        .properties
        .iter()
        .find(|(k, _)| &**k == key)
        .and_then(|(_, v)| match v {
            TileValue::Str(s) => Some(s.as_str()),
            _ => None,
        })
}

fn generalise(detail: &VectorLayer, class_key: &str, gap_classes: &[&str], z: u8) -> VectorLayer {
    let Some([west, south, east, north]) = detail.extent() else {
        return VectorLayer::new(detail.name(), Vec::new());
    };
    let cell = 2.0 * HALF_WORLD / f64::from(1u32 << z) / 256.0;
    // Align the grid on the world's pixel grid, so that cells fall on the same lines in every tile.
    let column0 = ((west + HALF_WORLD) / cell).floor() as i64;
    let row0 = ((south + HALF_WORLD) / cell).floor() as i64;
    let columns = (((east + HALF_WORLD) / cell).ceil() as i64 - column0).max(1) as usize;
    let rows = (((north + HALF_WORLD) / cell).ceil() as i64 - row0).max(1) as usize;

    // Classes, and the first feature of each (its properties describe the class).
    let mut classes: Vec<&str> = Vec::new();
    let mut exemplar: HashMap<&str, &TileFeature> = HashMap::new();
    for feature in detail.features() {
        if let Some(class) = class_of(feature, class_key)
            && !exemplar.contains_key(class)
        {
            exemplar.insert(class, feature);
            classes.push(class);
        }
    }
    const EMPTY: u16 = u16::MAX;
    const GAP: u16 = u16::MAX - 1;
    let mut grid = vec![EMPTY; columns * rows];
    for row in 0..rows {
        for column in 0..columns {
            let x = -HALF_WORLD + (column0 + column as i64) as f64 * cell + cell / 2.0;
            let y = -HALF_WORLD + (row0 + row as i64) as f64 * cell + cell / 2.0;
            let point = Point::new(x, y);
            let hit = detail
                .features_at(x, y)
                .find(|f| f.shape.intersects(&point));
            grid[row * columns + column] = match hit.and_then(|f| class_of(f, class_key)) {
                Some(class) if gap_classes.contains(&class) => GAP,
                Some(class) => classes
                    .iter()
                    .position(|c| *c == class)
                    .map_or(EMPTY, |i| i as u16),
                None => EMPTY,
            };
        }
    }
    fill_gaps(&mut grid, columns, rows, GAP, EMPTY);

    // Merge each class's cells, row runs first.
    let mut runs: Vec<Vec<geo::Polygon<f64>>> = vec![Vec::new(); classes.len()];
    for row in 0..rows {
        let mut column = 0;
        while column < columns {
            let label = grid[row * columns + column];
            let start = column;
            while column < columns && grid[row * columns + column] == label {
                column += 1;
            }
            if (label as usize) < classes.len() {
                let x0 = -HALF_WORLD + (column0 + start as i64) as f64 * cell;
                let x1 = -HALF_WORLD + (column0 + column as i64) as f64 * cell;
                let y0 = -HALF_WORLD + (row0 + row as i64) as f64 * cell;
                let rect = Rect::new(
                    Coord { x: x0, y: y0 },
                    Coord {
                        x: x1,
                        y: y0 + cell,
                    },
                );
                runs[label as usize].push(rect.to_polygon());
            }
        }
    }
    let features = runs
        .into_iter()
        .enumerate()
        .filter(|(_, cells)| !cells.is_empty())
        .map(|(i, cells)| {
            let shape: MultiPolygon<f64> = unary_union(cells.iter());
            let exemplar = exemplar[classes[i]];
            TileFeature {
                id: i as u64 + 1,
                shape: geo::Geometry::MultiPolygon(shape),
                properties: class_properties(exemplar),
            }
        })
        .collect();
    VectorLayer::new(detail.name(), features)
}

/// The properties a merged class keeps: those all its features share (the legend's), not the
/// per-feature ones (block, plan version).
fn class_properties(exemplar: &TileFeature) -> Vec<(super::layer::Key, TileValue)> {
    exemplar
        .properties
        .iter()
        .filter(|(k, _)| matches!(&**k, "code" | "catalog_code" | "name" | "color"))
        .cloned()
        .collect()
}

/// Gives gap cells the most common label among their four neighbours, for a few rounds; gap
/// cells still unclaimed stay empty.
fn fill_gaps(grid: &mut [u16], columns: usize, rows: usize, gap: u16, empty: u16) {
    for _ in 0..FILL_ROUNDS {
        let mut changed = false;
        let before = grid.to_vec();
        for row in 0..rows {
            for column in 0..columns {
                if before[row * columns + column] != gap {
                    continue;
                }
                let mut counts: Vec<(u16, usize)> = Vec::with_capacity(4);
                let neighbours = [
                    (column > 0).then(|| before[row * columns + column - 1]),
                    (column + 1 < columns).then(|| before[row * columns + column + 1]),
                    (row > 0).then(|| before[(row - 1) * columns + column]),
                    (row + 1 < rows).then(|| before[(row + 1) * columns + column]),
                ];
                for label in neighbours
                    .into_iter()
                    .flatten()
                    .filter(|l| *l != gap && *l != empty)
                {
                    match counts.iter_mut().find(|(l, _)| *l == label) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((label, 1)),
                    }
                }
                // Most neighbours wins; ties go to the lower label, so the result is deterministic.
                if let Some((label, _)) = counts
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                {
                    grid[row * columns + column] = label;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for cell in grid.iter_mut().filter(|c| **c == gap) {
        *cell = empty;
    }
}
