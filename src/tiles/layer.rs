//! An in-memory vector layer in Web Mercator and its rendering into one MVT tile.

use geo::{
    BooleanOps, Contains, Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon, Rect,
};
use geozero::ToMvt;
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};
use rstar::{AABB, RTree};

use super::{BUFFER, EXTENT, Result, TileCoord, TilesError, tile_bounds};
use crate::geometry::{IndexedBox, box_tree};

/// A property name shared by every feature of a layer.
pub type Key = std::sync::Arc<str>;

/// Properties shared by the features of one class (a sub-zone's legend), held once.
pub type SharedProperties = std::sync::Arc<[(Key, TileValue)]>;

/// A feature of a layer: a stable integer id, its shape in EPSG:3857 and its properties.
#[derive(Debug)]
pub struct TileFeature {
    /// Feature id (MVT ids are unsigned integers).
    pub id: u64,
    /// Shape in EPSG:3857.
    pub shape: Geometry<f64>,
    /// The feature's class in a coverage layer (an index into [`VectorLayer::classes`]).
    pub class: Option<u32>,
    /// Properties of its class, written before its own.
    pub shared: Option<SharedProperties>,
    /// Its own properties.
    pub properties: Vec<(Key, TileValue)>,
    /// Width and pole of inaccessibility, measured when first needed (see `generalise`).
    pub(crate) facts: std::sync::OnceLock<super::generalise::ShapeFacts>,
}

impl TileFeature {
    /// A feature with its own properties only.
    pub fn new(id: u64, shape: Geometry<f64>, properties: Vec<(Key, TileValue)>) -> Self {
        TileFeature {
            id,
            shape,
            class: None,
            shared: None,
            properties,
            facts: std::sync::OnceLock::new(),
        }
    }

    /// Every property: the shared ones, then its own.
    pub fn all_properties(&self) -> impl Iterator<Item = &(Key, TileValue)> {
        self.shared
            .iter()
            .flat_map(|s| s.iter())
            .chain(self.properties.iter())
    }
}

/// A layer held in memory with an R-tree over its features' bounding boxes.
///
/// A coverage layer (a zoning plan: polygons that tile an area, each of a class) lists its
/// classes; its low zooms are drawn generalised (see `generalise`). The features are in priority
/// order: where they overlap, the earlier one is on top.
#[derive(Debug)]
pub struct VectorLayer {
    name: String,
    features: Vec<TileFeature>,
    tree: RTree<IndexedBox>,
    classes: Vec<SharedProperties>,
}

impl VectorLayer {
    /// Indexes `features` under the MVT layer name `name`.
    pub fn new(name: &str, features: Vec<TileFeature>) -> Self {
        Self::coverage(name, features, Vec::new())
    }

    /// A coverage layer: `features` in priority order, each of one of `classes`.
    pub fn coverage(
        name: &str,
        features: Vec<TileFeature>,
        classes: Vec<SharedProperties>,
    ) -> Self {
        let tree = box_tree(features.iter().map(|f| &f.shape));
        VectorLayer {
            name: name.to_string(),
            features,
            tree,
            classes,
        }
    }

    /// The classes of a coverage layer (empty for other layers).
    pub fn classes(&self) -> &[SharedProperties] {
        &self.classes
    }

    /// The features whose bounding box meets the envelope (EPSG:3857), with their bounding boxes,
    /// by position in [`VectorLayer::features`] (so in priority order).
    pub fn boxes_in(&self, envelope: &AABB<[f64; 2]>) -> Vec<IndexedBox> {
        let mut found: Vec<IndexedBox> = self
            .tree
            .locate_in_envelope_intersecting(envelope)
            .copied()
            .collect();
        found.sort_unstable_by_key(|b| b.index);
        found
    }

    /// The MVT layer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The features, in priority order (the first is on top where they overlap).
    pub fn features(&self) -> &[TileFeature] {
        &self.features
    }

    /// Bounding box of every feature, `[west, south, east, north]` in EPSG:3857.
    pub fn extent(&self) -> Option<[f64; 4]> {
        let envelope = self.tree.root().envelope();
        (self.tree.size() > 0).then(|| {
            [
                envelope.lower()[0],
                envelope.lower()[1],
                envelope.upper()[0],
                envelope.upper()[1],
            ]
        })
    }

    /// Renders one tile: the features that touch it (plus the buffer), clipped, quantised to the
    /// 4096 grid; lines and polygons whose bounding box is smaller than a pixel (1/256 of the tile)
    /// on both sides are left out. `None` when nothing is left.
    pub fn render(&self, coord: TileCoord) -> Result<Option<Vec<u8>>> {
        let [west, south, east, north] = tile_bounds(coord);
        let size = east - west;
        let margin = size * f64::from(BUFFER) / f64::from(EXTENT);
        let search = AABB::from_corners(
            [west - margin, south - margin],
            [east + margin, north + margin],
        );
        let clip = Rect::new(
            Coord {
                x: west - margin,
                y: south - margin,
            },
            Coord {
                x: east + margin,
                y: north + margin,
            },
        )
        .to_polygon();
        let pixel = size / 256.0;
        let scale = f64::from(EXTENT) / size;

        let mut hits: Vec<&IndexedBox> =
            self.tree.locate_in_envelope_intersecting(&search).collect();
        // Later features are drawn over earlier ones: the first in priority goes last.
        hits.sort_unstable_by_key(|e| std::cmp::Reverse(e.index));
        let mut encoder = LayerEncoder::default();
        for hit in hits {
            let (lower, upper) = (hit.envelope.lower(), hit.envelope.upper());
            let feature = &self.features[hit.index];
            let is_point = matches!(feature.shape, Geometry::Point(_) | Geometry::MultiPoint(_));
            if !is_point && upper[0] - lower[0] < pixel && upper[1] - lower[1] < pixel {
                continue;
            }
            let inside = lower[0] >= west - margin
                && upper[0] <= east + margin
                && lower[1] >= south - margin
                && upper[1] <= north + margin;
            let Some(quantised) =
                clip_and_quantise(&feature.shape, inside, &clip, west, north, scale)
            else {
                continue;
            };
            encoder.add(&quantised, Some(feature.id), feature.all_properties())?;
        }
        Ok(encoder.finish(&self.name))
    }
}

/// Builds one MVT layer from geometries already in tile coordinates.
#[derive(Default)]
pub(crate) struct LayerEncoder {
    tags: TagsBuilder,
    features: Vec<tile::Feature>,
}

impl LayerEncoder {
    /// Adds a feature.
    pub(crate) fn add<'a>(
        &mut self,
        geometry: &Geometry<f64>,
        id: Option<u64>,
        properties: impl Iterator<Item = &'a (Key, TileValue)>,
    ) -> Result<()> {
        let mut encoded = geometry
            .to_mvt_unscaled()
            .map_err(|e| TilesError::Encode(e.to_string()))?;
        encoded.id = id;
        for (key, value) in properties {
            let (k, v) = self.tags.insert_ref(key, value.clone());
            encoded.tags.extend([k, v]);
        }
        self.features.push(encoded);
        Ok(())
    }

    /// The encoded tile with this one layer; `None` when no feature was added.
    pub(crate) fn finish(self, name: &str) -> Option<Vec<u8>> {
        if self.features.is_empty() {
            return None;
        }
        let (keys, values) = self.tags.into_tags();
        let layer = tile::Layer {
            version: 2,
            name: name.to_string(),
            features: self.features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        };
        Some(
            Tile {
                layers: vec![layer],
            }
            .encode_to_vec(),
        )
    }
}

/// Clips a shape to the buffered tile (unless it lies `inside` it) and quantises it; `None` when
/// nothing is left. Polygons, lines and points are served.
fn clip_and_quantise(
    shape: &Geometry<f64>,
    inside: bool,
    clip: &Polygon<f64>,
    west: f64,
    north: f64,
    scale: f64,
) -> Option<Geometry<f64>> {
    let to_tile = |c: &Coord<f64>| Coord {
        x: ((c.x - west) * scale).round(),
        y: ((north - c.y) * scale).round(),
    };
    let lines = |lines: MultiLineString<f64>| -> Option<Geometry<f64>> {
        let kept: Vec<LineString<f64>> = lines
            .into_iter()
            .filter_map(|line| {
                let mut points: Vec<Coord<f64>> = Vec::with_capacity(line.0.len());
                for p in line.0.iter().map(to_tile) {
                    if points.last() != Some(&p) {
                        points.push(p);
                    }
                }
                (points.len() >= 2).then_some(LineString(points))
            })
            .collect();
        (!kept.is_empty()).then_some(Geometry::MultiLineString(MultiLineString(kept)))
    };
    match shape {
        Geometry::Polygon(p) => polygons(
            shape_or_clip(&MultiPolygon(vec![p.clone()]), inside, clip),
            west,
            north,
            scale,
        ),
        Geometry::MultiPolygon(m) => polygons(shape_or_clip(m, inside, clip), west, north, scale),
        Geometry::LineString(l) => lines(if inside {
            MultiLineString(vec![l.clone()])
        } else {
            clip.clip(&MultiLineString(vec![l.clone()]), false)
        }),
        Geometry::MultiLineString(m) => lines(if inside {
            m.clone()
        } else {
            clip.clip(m, false)
        }),
        Geometry::Point(p) => clip
            .contains(p)
            .then(|| Geometry::Point(Point(to_tile(&p.0)))),
        Geometry::MultiPoint(m) => {
            let points: Vec<Point<f64>> = m
                .iter()
                .filter(|p| clip.contains(*p))
                .map(|p| Point(to_tile(&p.0)))
                .collect();
            (!points.is_empty()).then_some(Geometry::MultiPoint(MultiPoint(points)))
        }
        _ => None,
    }
}

fn shape_or_clip(
    shape: &MultiPolygon<f64>,
    inside: bool,
    clip: &Polygon<f64>,
) -> MultiPolygon<f64> {
    if inside {
        shape.clone()
    } else {
        shape.intersection(clip)
    }
}

fn polygons(shape: MultiPolygon<f64>, west: f64, north: f64, scale: f64) -> Option<Geometry<f64>> {
    quantise(&shape, west, north, scale).map(Geometry::MultiPolygon)
}

/// Moves a shape into tile coordinates (origin at the tile's north-west corner, y down), rounds to
/// whole units, drops repeated points and rings with no area left, and orients rings as MVT 2.1
/// wants them (exterior rings of positive area in tile coordinates, holes negative).
/// Rounding is the same for every feature, so edges that neighbours share stay shared.
fn quantise(
    shape: &MultiPolygon<f64>,
    west: f64,
    north: f64,
    scale: f64,
) -> Option<MultiPolygon<f64>> {
    let ring = |line: &LineString<f64>, exterior: bool| -> Option<LineString<f64>> {
        let mut points: Vec<Coord<f64>> = Vec::with_capacity(line.0.len());
        for c in &line.0 {
            let p = Coord {
                x: ((c.x - west) * scale).round(),
                y: ((north - c.y) * scale).round(),
            };
            if points.last() != Some(&p) {
                points.push(p);
            }
        }
        if points.len() > 1 && points.first() == points.last() {
            points.pop();
        }
        if points.len() < 3 {
            return None;
        }
        let area: f64 = points
            .iter()
            .zip(points.iter().cycle().skip(1))
            .map(|(a, b)| a.x * b.y - b.x * a.y)
            .sum();
        if area == 0.0 {
            return None;
        }
        if (area > 0.0) != exterior {
            points.reverse();
        }
        points.push(points[0]);
        Some(LineString(points))
    };
    let polygons: Vec<Polygon<f64>> = shape
        .iter()
        .filter_map(|p| {
            let exterior = ring(p.exterior(), true)?;
            let holes = p
                .interiors()
                .iter()
                .filter_map(|h| ring(h, false))
                .collect();
            Some(Polygon::new(exterior, holes))
        })
        .collect();
    (!polygons.is_empty()).then_some(MultiPolygon(polygons))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::mercator::project;
    use geo::polygon;

    fn square(lon: f64, lat: f64, side: f64) -> Geometry<f64> {
        let (x0, y0) = project(lon, lat);
        let (x1, y1) = project(lon + side, lat + side);
        Geometry::MultiPolygon(MultiPolygon(vec![
            polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
        ]))
    }

    #[test]
    fn a_tile_holds_the_features_that_touch_it_and_drops_subpixel_ones() {
        let features = vec![
            TileFeature::new(
                7,
                square(116.83, -1.27, 0.01),
                vec![("code".into(), TileValue::Str("R-3".into()))],
            ),
            TileFeature::new(8, square(116.85, -1.27, 0.000_01), vec![]),
        ];
        let layer = VectorLayer::new("zoning", features);
        let z14 = TileCoord::new(14, 13509, 8249).unwrap();
        let tile = Tile::decode(layer.render(z14).unwrap().unwrap().as_slice()).unwrap();
        assert_eq!(tile.layers[0].name, "zoning");
        assert_eq!(tile.layers[0].features.len(), 1);
        assert_eq!(tile.layers[0].features[0].id, Some(7));
        assert_eq!(tile.layers[0].keys, vec!["code".to_string()]);
        assert!(
            layer
                .render(TileCoord::new(14, 0, 0).unwrap())
                .unwrap()
                .is_none()
        );
    }
}
