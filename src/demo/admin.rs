//! The city and its kelurahan in UTM 50S, and the kelurahan as a partition of the city: the
//! boundaries file's kelurahan overlap a little, leave slivers between them and do not follow the
//! city outline exactly, so each kelurahan keeps the part of the city no kelurahan before it (by
//! name) has taken, and what none covers goes to the nearest.

use std::path::Path;

use gdal::Dataset;
use gdal::spatial_ref::CoordTransform;
use gdal::vector::LayerAccess;
use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, Intersects, Line,
    MultiPolygon, Point, Polygon,
};
use rstar::{AABB, RTree, RTreeObject};

use super::cut::Frame;
use super::{DemoError, Result};

/// How far the frame of the boolean operations reaches beyond the city, metres (the arterials
/// end outside it).
const FRAME_MARGIN_M: f64 = 5_000.0;
use crate::geometry::{IndexedBox, box_tree};

/// A kelurahan: its names and the part of the city it holds.
pub struct Kelurahan {
    pub name: String,
    pub kecamatan: String,
    pub shape: MultiPolygon<f64>,
    /// The shape with the frame's anchors (see `Frame`).
    anchored: MultiPolygon<f64>,
}

/// A boundary segment, indexed to find the pieces a boundary crosses.
pub struct Edge(pub Line<f64>);

impl RTreeObject for Edge {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.0.start.into(), self.0.end.into())
    }
}

/// The city's land and its kelurahan as a partition of it, with the indexes that place a piece.
pub struct Admin {
    /// The city's land (its outline).
    pub land: MultiPolygon<f64>,
    pub kelurahan: Vec<Kelurahan>,
    /// The extent of every boolean operation after this one.
    pub frame: Frame,
    boxes: RTree<IndexedBox>,
    edges: RTree<Edge>,
    outline: RTree<Edge>,
}

/// Where a piece of land lies among the kelurahan.
pub enum Placement {
    /// Wholly inside one kelurahan.
    Inside(usize),
    /// Across boundaries: clip it to each of these.
    Across(Vec<usize>),
    /// Outside every kelurahan.
    Outside,
}

impl Admin {
    /// Reads the boundaries file and makes the partition.
    pub fn read(path: &Path, to_utm: &CoordTransform) -> Result<Self> {
        let (city, mut kelurahan) = read_admin(path, to_utm)?;
        partition(&city, &mut kelurahan);
        let frame = Frame::around(&city, FRAME_MARGIN_M);
        for k in &mut kelurahan {
            k.anchored = frame.anchored(&k.shape.0);
        }
        let boxes = box_tree(kelurahan.iter().map(|k| &k.shape));
        let edges = RTree::bulk_load(kelurahan.iter().flat_map(|k| edges_of(&k.shape)).collect());
        let outline = RTree::bulk_load(edges_of(&city));
        Ok(Self {
            land: city,
            kelurahan,
            frame,
            boxes,
            edges,
            outline,
        })
    }

    /// Where a piece lies: inside one kelurahan when no boundary crosses its box.
    pub fn place(&self, shape: &Polygon<f64>) -> Placement {
        let Some(rect) = shape.bounding_rect() else {
            return Placement::Outside;
        };
        let envelope = AABB::from_corners(rect.min().into(), rect.max().into());
        let crossed = self
            .edges
            .locate_in_envelope_intersecting(&envelope)
            .any(|e| rect.intersects(&e.0));
        if crossed {
            let mut candidates: Vec<usize> = self
                .boxes
                .locate_in_envelope_intersecting(&envelope)
                .map(|b| b.index)
                .collect();
            candidates.sort_unstable();
            return Placement::Across(candidates);
        }
        let probe = shape.exterior().0[0];
        self.kelurahan_at(probe)
            .map_or(Placement::Outside, Placement::Inside)
    }

    /// The part of `shape` in kelurahan `k` (on the frame's grid, so that the parts of a piece in
    /// two kelurahan meet exactly).
    pub fn clip(&self, shape: &Polygon<f64>, k: usize) -> Vec<Polygon<f64>> {
        shape
            .intersection(&self.kelurahan[k].anchored)
            .0
            .into_iter()
            .filter(|p| p.unsigned_area() > 1.0)
            .collect()
    }

    /// The kelurahan holding a point, if any.
    pub fn kelurahan_at(&self, point: Coord<f64>) -> Option<usize> {
        self.boxes
            .locate_in_envelope_intersecting(&AABB::from_point(point.into()))
            .map(|b| b.index)
            .filter(|k| self.kelurahan[*k].shape.contains(&point))
            .min()
    }

    /// The kelurahan holding a point, or the nearest by box (for decisions, not for clipping).
    pub fn kelurahan_near(&self, point: Coord<f64>) -> usize {
        self.kelurahan_at(point).unwrap_or_else(|| {
            self.boxes
                .iter()
                .map(|b| (b.envelope.distance_2(&[point.x, point.y]), b.index))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map_or(0, |(_, k)| k)
        })
    }

    /// Whether a point lies on the city's outline (within `tolerance` metres): the coast, or the
    /// inland border.
    pub fn on_outline(&self, point: Coord<f64>, tolerance: f64) -> bool {
        let envelope = AABB::from_corners(
            [point.x - tolerance, point.y - tolerance],
            [point.x + tolerance, point.y + tolerance],
        );
        self.outline
            .locate_in_envelope_intersecting(&envelope)
            .any(|e| Euclidean.distance(&e.0, &Point::from(point)) <= tolerance)
    }
}

fn edges_of(shape: &MultiPolygon<f64>) -> Vec<Edge> {
    shape
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| ring.lines().map(Edge).collect::<Vec<_>>())
        .collect()
}

/// Makes the kelurahan a partition of the city, in name order: each keeps what no kelurahan
/// before it took, and the city's land that no kelurahan covers (slivers between them, strips
/// along the coast) goes to the nearest one.
fn partition(city: &MultiPolygon<f64>, kelurahan: &mut [Kelurahan]) {
    let mut taken = MultiPolygon::<f64>(vec![]);
    for k in kelurahan.iter_mut() {
        let own = k.shape.intersection(city).difference(&taken);
        taken = taken.union(&k.shape);
        k.shape = without_slivers(own);
    }
    for left in city.difference(&taken) {
        if left.unsigned_area() <= 1.0 {
            continue;
        }
        let nearest = (0..kelurahan.len()).min_by(|a, b| {
            let da = Euclidean.distance(&left, &kelurahan[*a].shape);
            let db = Euclidean.distance(&left, &kelurahan[*b].shape);
            da.total_cmp(&db)
        });
        if let Some(k) = nearest {
            kelurahan[k].shape = without_slivers(kelurahan[k].shape.union(&left));
        }
    }
}

fn without_slivers(shape: MultiPolygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon(
        shape
            .0
            .into_iter()
            .filter(|p| p.unsigned_area() > 1.0)
            .collect(),
    )
}

/// Reads the city outline and its kelurahan, in UTM 50S, sorted by name.
pub(super) fn read_admin(
    path: &Path,
    to_utm: &CoordTransform,
) -> Result<(MultiPolygon<f64>, Vec<Kelurahan>)> {
    let dataset = Dataset::open(path)?;
    let mut layer = dataset.layer(0)?;
    let mut out = Vec::new();
    let mut city = None;
    for feature in layer.features() {
        let text = |name: &str| -> Option<String> {
            let i = feature.field_index(name).ok()?;
            feature.field_as_string(i).ok().flatten()
        };
        let level = text("tingkat");
        let Some(geometry) = feature.geometry() else {
            continue;
        };
        let shape = match geometry.transform(to_utm)?.to_geo()? {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => continue,
        };
        match level.as_deref() {
            Some("kota") => city = Some(shape),
            Some("kelurahan") => out.push(Kelurahan {
                name: text("nama").unwrap_or_default(),
                kecamatan: text("kecamatan").unwrap_or_default(),
                shape,
                anchored: MultiPolygon(vec![]),
            }),
            _ => {}
        }
    }
    let Some(city) = city.filter(|_| !out.is_empty()) else {
        return Err(DemoError::Input(format!(
            "{} must hold the city (tingkat = kota) and its kelurahan (tingkat = kelurahan)",
            path.display()
        )));
    };
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((city, out))
}
