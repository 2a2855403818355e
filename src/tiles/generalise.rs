//! Coverage-aware generalisation of a zoning layer at low zooms, rendered tile by tile.
//!
//! At zoom z the plan is resampled on the grid of screen pixels (256 cells per tile side, aligned
//! on the world's pixel grid): each cell takes the class of the zone under its centre, the zone
//! that comes first in priority where zones overlap. What a zone becomes is decided by its shape,
//! not its code:
//! - a zone at least a pixel wide (the diameter of the largest circle inside it) stays, and keeps
//!   a cell at its pole of inaccessibility even when no cell centre falls inside it;
//! - a strip narrower than a pixel (at least three times as long as it is wide: a road body, a
//!   river, a green belt) gives its cells to its neighbours: each such cell takes the most common
//!   class of its four neighbours, repeated for a few rounds;
//! - a compact zone narrower than a pixel is sampled like the rest: it keeps the cells whose
//!   centres it holds (often none) and otherwise vanishes into its neighbours.
//!
//! The cells of each class are then traced into polygons along the cell edges, so the zones of a
//! tile share every edge exactly, leave no gap and do not overlap, and a tile holds one feature per
//! class. Cells around the tile are computed too (the tile buffer and as many cells as the filling
//! reaches), so that neighbouring tiles agree exactly along their edges.
//!
//! No crate resamples a polygon coverage and traces a label grid into shared-edge polygons, so
//! both are written here; the pole of inaccessibility is the `polylabel` crate's.

use geo::{
    BoundingRect, Coord, Distance, Euclidean, Geometry, Intersects, LineString, MultiPolygon,
    Point, Polygon,
};
use rstar::AABB;

use super::layer::{LayerEncoder, TileFeature, VectorLayer};
use super::{BUFFER, EXTENT, Result, TileCoord, tile_bounds};

/// Highest zoom drawn generalised; above it tiles show every zone.
pub const GENERALISED_UP_TO: u8 = 12;

/// Rounds in which strip cells are handed to their neighbours.
const FILL_ROUNDS: usize = 8;
/// Cells per tile side: one per screen pixel.
const CELLS: usize = 256;
/// Tile units per cell.
const UNIT: i64 = (EXTENT as usize / CELLS) as i64;
/// Cells of the tile buffer on each side.
const BUFFER_CELLS: usize = BUFFER as usize / UNIT as usize;
/// Cells computed around the tile: the buffer, and the reach of the filling beyond it.
const MARGIN: usize = BUFFER_CELLS + FILL_ROUNDS;

/// How far (tile units) beyond a tile's edge a change can alter a generalised tile: its buffer and
/// the reach of the filling.
pub const REACH_UNITS: u32 = (MARGIN as i64 * UNIT) as u32;

/// A cell no zone covers.
const EMPTY: u32 = u32::MAX;
/// A cell of a strip, to be given to its neighbours.
const STRIP: u32 = u32::MAX - 1;
/// A cell not yet sampled.
const UNSET: u32 = u32::MAX - 2;

/// How wide a shape is: the diameter of the largest circle inside it, and that circle's centre
/// (the pole of inaccessibility), in the layer's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapeFacts {
    /// Diameter of the largest inscribed circle.
    pub width: f64,
    /// Its centre.
    pub pole: Coord<f64>,
}

/// The width and pole of a polygonal shape (the widest of its parts); zero for other shapes.
pub fn shape_facts(shape: &Geometry<f64>) -> ShapeFacts {
    let parts: Vec<&Polygon<f64>> = match shape {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(m) => m.iter().collect(),
        _ => Vec::new(),
    };
    let mut best = ShapeFacts {
        width: 0.0,
        pole: Coord { x: 0.0, y: 0.0 },
    };
    for part in parts {
        let Some(rect) = part.bounding_rect() else {
            continue;
        };
        // Precise to a two-hundredth of the part's size and at least to half a metre: far finer
        // than the pixels it is compared with (38 m at zoom 12).
        let tolerance = (rect.width().max(rect.height()) / 200.0).clamp(1e-6, 0.5);
        let Ok(pole) = polylabel::polylabel(part, &tolerance) else {
            continue;
        };
        let radius = std::iter::once(part.exterior())
            .chain(part.interiors())
            .map(|ring| Euclidean.distance(&pole, ring))
            .fold(f64::INFINITY, f64::min);
        if radius.is_finite() && 2.0 * radius > best.width {
            best = ShapeFacts {
                width: 2.0 * radius,
                pole: pole.0,
            };
        }
    }
    best
}

/// How many times longer than wide a zone narrower than a pixel must be to count as a strip.
const STRIP_ASPECT: f64 = 3.0;

/// What a zone becomes at a cell size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// At least a cell wide: it stays.
    Wide,
    /// Narrower than a cell and elongated: its cells go to its neighbours.
    Strip,
    /// Narrower than a cell and compact: sampled.
    Small,
}

fn role(feature: &TileFeature, envelope: &AABB<[f64; 2]>, cell: f64) -> Role {
    let (lower, upper) = (envelope.lower(), envelope.upper());
    let extent = (upper[0] - lower[0]).max(upper[1] - lower[1]);
    if extent < cell / 2.0 {
        // Far smaller than a pixel: no need to measure it.
        return Role::Small;
    }
    let width = facts(feature).width;
    if width >= cell {
        Role::Wide
    } else if extent >= STRIP_ASPECT * width {
        Role::Strip
    } else {
        Role::Small
    }
}

/// Measures every zone of a coverage layer that a generalised tile may ask about, so that the
/// first low-zoom tiles after a publication need not (run in the background after a reload).
pub fn measure_all(layer: &VectorLayer) {
    for feature in layer.features().iter().filter(|f| f.class.is_some()) {
        facts(feature);
    }
}

fn facts(feature: &TileFeature) -> ShapeFacts {
    *feature.facts.get_or_init(|| shape_facts(&feature.shape))
}

/// The grid of cells around one tile.
struct Window {
    /// West edge of the first column.
    west: f64,
    /// North edge of the first row.
    north: f64,
    cell: f64,
    /// Cells per side.
    size: usize,
    labels: Vec<u32>,
}

impl Window {
    fn around(coord: TileCoord) -> Self {
        let [west, _, east, north] = tile_bounds(coord);
        let cell = (east - west) / CELLS as f64;
        let size = CELLS + 2 * MARGIN;
        Window {
            west: west - MARGIN as f64 * cell,
            north: north + MARGIN as f64 * cell,
            cell,
            size,
            labels: vec![UNSET; size * size],
        }
    }

    fn envelope(&self) -> AABB<[f64; 2]> {
        let side = self.size as f64 * self.cell;
        AABB::from_corners(
            [self.west, self.north - side],
            [self.west + side, self.north],
        )
    }

    /// The cells whose centres lie within `[lower, upper]`: column and row ranges.
    fn cells_within(
        &self,
        lower: [f64; 2],
        upper: [f64; 2],
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let index = |v: f64| v.clamp(0.0, self.size as f64) as usize;
        let columns = index(((lower[0] - self.west) / self.cell - 0.5).ceil())
            ..index(((upper[0] - self.west) / self.cell - 0.5).floor() + 1.0);
        let rows = index(((self.north - upper[1]) / self.cell - 0.5).ceil())
            ..index(((self.north - lower[1]) / self.cell - 0.5).floor() + 1.0);
        (columns, rows)
    }

    fn centre(&self, column: usize, row: usize) -> Point<f64> {
        Point::new(
            self.west + (column as f64 + 0.5) * self.cell,
            self.north - (row as f64 + 0.5) * self.cell,
        )
    }

    /// Gives `label` to every unset cell whose centre lies in `shape`.
    fn sample(&mut self, shape: &Geometry<f64>, envelope: &AABB<[f64; 2]>, label: u32) {
        let (columns, rows) = self.cells_within(envelope.lower(), envelope.upper());
        for row in rows {
            for column in columns.clone() {
                let at = row * self.size + column;
                if self.labels[at] == UNSET && shape.intersects(&self.centre(column, row)) {
                    self.labels[at] = label;
                }
            }
        }
    }

    /// The cell holding a point, if it is in the window.
    fn cell_of(&self, point: Coord<f64>) -> Option<usize> {
        let column = ((point.x - self.west) / self.cell).floor();
        let row = ((self.north - point.y) / self.cell).floor();
        let inside =
            (0.0..self.size as f64).contains(&column) && (0.0..self.size as f64).contains(&row);
        inside.then(|| row as usize * self.size + column as usize)
    }
}

/// Renders a generalised tile of a coverage layer; `None` when the tile is empty.
pub fn render_generalised(layer: &VectorLayer, coord: TileCoord) -> Result<Option<Vec<u8>>> {
    let mut window = Window::around(coord);
    let features = layer.features();
    let mut narrow_wide = Vec::new();
    for candidate in layer.boxes_in(&window.envelope()) {
        let feature = &features[candidate.index];
        let Some(class) = feature.class else { continue };
        let role = role(feature, &candidate.envelope, window.cell);
        let label = if role == Role::Strip { STRIP } else { class };
        window.sample(&feature.shape, &candidate.envelope, label);
        if role == Role::Wide && facts(feature).width < 2.0 * window.cell {
            narrow_wide.push(candidate.index);
        }
    }
    keep_poles(&mut window, layer, &narrow_wide);
    for label in &mut window.labels {
        if *label == UNSET {
            *label = EMPTY;
        }
    }
    fill_strips(&mut window.labels, window.size);
    let (crop, side) = crop_to_tile(&window);
    let mut encoder = LayerEncoder::default();
    for (class, polygons) in polygonise(&crop, side) {
        let Some(properties) = layer.classes().get(class as usize) else {
            continue;
        };
        let shape = Geometry::MultiPolygon(MultiPolygon(polygons));
        encoder.add(&shape, Some(u64::from(class) + 1), properties.iter())?;
    }
    Ok(encoder.finish(layer.name()))
}

/// A zone at least a pixel wide (but narrower than two, the only ones that may miss every cell
/// centre) keeps the cell of its pole, unless a zone before it in priority covers the pole. The
/// rule reads only the zone and the layer, never the window, so every tile whose window holds
/// that cell gives it the same class.
fn keep_poles(window: &mut Window, layer: &VectorLayer, wide: &[usize]) {
    let features = layer.features();
    // Lowest priority first, so that where two poles share a cell the zone before wins.
    for &position in wide.iter().rev() {
        let feature = &features[position];
        let (Some(class), pole) = (feature.class, facts(feature).pole) else {
            continue;
        };
        let Some(at) = window.cell_of(pole) else {
            continue;
        };
        if window.labels[at] == class {
            continue;
        }
        let point = Point(pole);
        let covered_before = layer
            .boxes_in(&AABB::from_point([pole.x, pole.y]))
            .into_iter()
            .take_while(|b| b.index < position)
            .any(|b| features[b.index].shape.intersects(&point));
        if !covered_before {
            window.labels[at] = class;
        }
    }
}

/// Gives strip cells the most common class among their four neighbours, for a few rounds; strip
/// cells still unclaimed become empty.
fn fill_strips(grid: &mut [u32], size: usize) {
    for _ in 0..FILL_ROUNDS {
        let before = grid.to_vec();
        let mut changed = false;
        for row in 0..size {
            for column in 0..size {
                if before[row * size + column] != STRIP {
                    continue;
                }
                let neighbours = [
                    (column > 0).then(|| before[row * size + column - 1]),
                    (column + 1 < size).then(|| before[row * size + column + 1]),
                    (row > 0).then(|| before[(row - 1) * size + column]),
                    (row + 1 < size).then(|| before[(row + 1) * size + column]),
                ];
                let mut counts: Vec<(u32, usize)> = Vec::with_capacity(4);
                for label in neighbours.into_iter().flatten().filter(|l| *l < UNSET) {
                    match counts.iter_mut().find(|(l, _)| *l == label) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((label, 1)),
                    }
                }
                // Most neighbours wins; ties go to the lower class, so the result is deterministic.
                if let Some((label, _)) = counts
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                {
                    grid[row * size + column] = label;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for cell in grid.iter_mut().filter(|c| **c == STRIP) {
        *cell = EMPTY;
    }
}

/// The cells of the tile and its buffer.
fn crop_to_tile(window: &Window) -> (Vec<u32>, usize) {
    let side = CELLS + 2 * BUFFER_CELLS;
    let first = MARGIN - BUFFER_CELLS;
    let mut crop = Vec::with_capacity(side * side);
    for row in first..first + side {
        let start = row * window.size + first;
        crop.extend_from_slice(&window.labels[start..start + side]);
    }
    (crop, side)
}

/// Directions along cell edges, clockwise on screen (y down).
const STEPS: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// Traces the cells of each class into polygons in tile units: one polygon per 4-connected group
/// of cells, its outer ring clockwise on screen (positive area, as MVT wants exteriors) and its
/// holes counter-clockwise. Neighbouring classes share their edges exactly.
fn polygonise(grid: &[u32], side: usize) -> Vec<(u32, Vec<Polygon<f64>>)> {
    let (components, classes) = components(grid, side);
    let vertices = side + 1;
    // For each lattice vertex, the component whose boundary edge leaves it in each direction
    // (0 for none), with the interior on the right of the edge.
    let mut out = vec![[0u32; 4]; vertices * vertices];
    for row in 0..side {
        for column in 0..side {
            let component = components[row * side + column];
            if component == 0 {
                continue;
            }
            let other = |dc: i64, dr: i64| -> bool {
                let (c, r) = (column as i64 + dc, row as i64 + dr);
                if c < 0 || r < 0 || c >= side as i64 || r >= side as i64 {
                    return true;
                }
                components[r as usize * side + c as usize] != component
            };
            let v = |c: usize, r: usize| r * vertices + c;
            if other(0, -1) {
                out[v(column, row)][0] = component;
            }
            if other(1, 0) {
                out[v(column + 1, row)][1] = component;
            }
            if other(0, 1) {
                out[v(column + 1, row + 1)][2] = component;
            }
            if other(-1, 0) {
                out[v(column, row + 1)][3] = component;
            }
        }
    }
    let mut rings: Vec<Vec<(u32, LineString<f64>)>> = vec![Vec::new(); classes.len() + 1];
    for start in 0..out.len() {
        for direction in 0..4 {
            let component = out[start][direction];
            if component != 0 {
                let ring = trace(&mut out, vertices, start, direction, component);
                rings[component as usize].push((component, ring));
            }
        }
    }
    let mut by_class: Vec<(u32, Vec<Polygon<f64>>)> = Vec::new();
    for (component, component_rings) in rings.into_iter().enumerate().skip(1) {
        let class = classes[component - 1];
        let (mut outer, mut holes) = (Vec::new(), Vec::new());
        for (_, ring) in component_rings {
            if signed_area(&ring) > 0.0 {
                outer.push(ring);
            } else {
                holes.push(ring);
            }
        }
        let polygons = assemble(outer, holes);
        match by_class.iter_mut().find(|(c, _)| *c == class) {
            Some((_, list)) => list.extend(polygons),
            None => by_class.push((class, polygons)),
        }
    }
    by_class.sort_by_key(|(class, _)| *class);
    by_class
}

/// Labels 4-connected groups of cells of one class: a component number per cell (0 for empty
/// cells) and each component's class.
fn components(grid: &[u32], side: usize) -> (Vec<u32>, Vec<u32>) {
    let mut component = vec![0u32; grid.len()];
    let mut classes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..grid.len() {
        let class = grid[start];
        if class >= UNSET || component[start] != 0 {
            continue;
        }
        classes.push(class);
        let id = classes.len() as u32;
        component[start] = id;
        stack.push(start);
        while let Some(at) = stack.pop() {
            let (row, column) = (at / side, at % side);
            let neighbours = [
                (column > 0).then(|| at - 1),
                (column + 1 < side).then(|| at + 1),
                (row > 0).then(|| at - side),
                (row + 1 < side).then(|| at + side),
            ];
            for next in neighbours.into_iter().flatten() {
                if grid[next] == class && component[next] == 0 {
                    component[next] = id;
                    stack.push(next);
                }
            }
        }
    }
    (component, classes)
}

/// Follows boundary edges of `component` from `start` going `direction` until the ring closes,
/// clearing the edges it uses; the ring keeps only its corners, in tile units. Where two edges of
/// the component leave one vertex (cells touching diagonally) it turns left, so the ring keeps to
/// one side and an outer ring and a hole that touch at a point stay two rings.
fn trace(
    out: &mut [[u32; 4]],
    vertices: usize,
    start: usize,
    direction: usize,
    component: u32,
) -> LineString<f64> {
    let to_tile = |vertex: usize| {
        let (column, row) = ((vertex % vertices) as i64, (vertex / vertices) as i64);
        Coord {
            x: ((column - BUFFER_CELLS as i64) * UNIT) as f64,
            y: ((row - BUFFER_CELLS as i64) * UNIT) as f64,
        }
    };
    let mut corners = vec![to_tile(start)];
    let (mut at, mut heading) = (start, direction);
    loop {
        out[at][heading] = 0;
        let (dc, dr) = STEPS[heading];
        let column = (at % vertices) as i64 + dc;
        let row = (at / vertices) as i64 + dr;
        at = row as usize * vertices + column as usize;
        let next = [(heading + 3) % 4, heading, (heading + 1) % 4]
            .into_iter()
            .find(|d| out[at][*d] == component);
        match next {
            Some(d) => {
                if d != heading {
                    corners.push(to_tile(at));
                }
                heading = d;
            }
            None => break,
        }
    }
    // The walk ends where it began; close the ring on the first corner.
    let first = corners[0];
    if corners.last() != Some(&first) {
        corners.push(first);
    }
    LineString(corners)
}

/// Twice the signed area of a closed ring in tile coordinates (y down): positive when clockwise
/// on screen.
fn signed_area(ring: &LineString<f64>) -> f64 {
    ring.0
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

/// Polygons from outer rings and holes of one component (normally one outer ring); a hole goes to
/// the smallest outer ring that contains it.
fn assemble(outer: Vec<LineString<f64>>, holes: Vec<LineString<f64>>) -> Vec<Polygon<f64>> {
    if outer.len() == 1 {
        let exterior = outer.into_iter().next().expect("one ring");
        return vec![Polygon::new(exterior, holes)];
    }
    let shells: Vec<Polygon<f64>> = outer
        .into_iter()
        .map(|ring| Polygon::new(ring, Vec::new()))
        .collect();
    let mut assigned: Vec<Vec<LineString<f64>>> = vec![Vec::new(); shells.len()];
    for hole in holes {
        let probe = Point(hole.0[0]);
        let owner = shells
            .iter()
            .enumerate()
            .filter(|(_, shell)| shell.intersects(&probe))
            .min_by(|a, b| signed_area(a.1.exterior()).total_cmp(&signed_area(b.1.exterior())))
            .map(|(i, _)| i);
        if let Some(i) = owner {
            assigned[i].push(hole);
        }
    }
    shells
        .into_iter()
        .zip(assigned)
        .map(|(shell, holes)| Polygon::new(shell.into_inner().0, holes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn a_label_grid_is_traced_into_polygons_that_share_their_edges() {
        // 0 0 1
        // 0 1 1      class 0 is an L, class 1 its complement, a 2 sits in a hole of class 3.
        // 3 3 3
        // 3 2 3
        // 3 3 3
        let grid = vec![0, 0, 1, 0, 1, 1, 3, 3, 3, 3, 2, 3, 3, 3, 3];
        let polygons = polygonise(&grid, 3);
        let _ = polygons; // the grid is 3 wide and 5 tall: use a square grid below
        let square = vec![
            0, 0, 1, 1, //
            0, 1, 1, 1, //
            3, 3, 3, 3, //
            3, 2, 2, 3, //
        ];
        let traced = polygonise(&square, 4);
        let classes: Vec<u32> = traced.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, vec![0, 1, 2, 3]);
        use geo::Area;
        let area = |class: u32| -> f64 {
            traced
                .iter()
                .find(|(c, _)| *c == class)
                .map(|(_, p)| p.iter().map(|p| p.unsigned_area()).sum::<f64>())
                .unwrap()
                / (UNIT * UNIT) as f64
        };
        assert_eq!((area(0), area(1), area(2), area(3)), (3.0, 5.0, 2.0, 6.0));
        // Exteriors are clockwise on screen (positive), holes counter-clockwise.
        for (_, polygons) in &traced {
            for polygon in polygons {
                assert!(signed_area(polygon.exterior()) > 0.0);
                assert!(polygon.interiors().iter().all(|h| signed_area(h) < 0.0));
            }
        }
    }

    #[test]
    fn a_hole_touching_its_shell_at_a_corner_stays_a_hole() {
        // Class 1 surrounds an empty cell that touches the outside at one corner (diagonally).
        let e = EMPTY;
        let grid = vec![
            1, 1, 1, e, //
            1, e, 1, e, //
            1, 1, e, e, //
            e, e, e, e, //
        ];
        let traced = polygonise(&grid, 4);
        assert_eq!(traced.len(), 1);
        let polygons = &traced[0].1;
        assert_eq!(polygons.len(), 1, "{polygons:?}");
        assert_eq!(polygons[0].interiors().len(), 1, "{polygons:?}");
        use geo::Validation;
        assert!(polygons[0].is_valid(), "{polygons:?}");
    }

    #[test]
    fn strips_go_to_their_neighbours_and_wide_zones_stay() {
        let mut grid = vec![0, STRIP, 1, 0, STRIP, 1, 0, STRIP, 1];
        fill_strips(&mut grid, 3);
        assert!(grid.iter().all(|l| *l == 0 || *l == 1), "{grid:?}");
        let wide = Geometry::Polygon(
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 4.0), (x: 0.0, y: 4.0)],
        );
        let facts = shape_facts(&wide);
        assert!((facts.width - 4.0).abs() < 0.01, "{facts:?}");
        assert!((facts.pole.y - 2.0).abs() < 0.01);
    }
}
