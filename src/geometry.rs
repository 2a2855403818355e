//! Geometry helpers shared by the capabilities.

use geo::{BoundingRect, Rect};
use rstar::{AABB, RTree, RTreeObject};

/// An R-tree entry: the bounding box of the item at `index` of a list the tree was built over.
#[derive(Debug, Clone, Copy)]
pub struct IndexedBox {
    /// Position of the item in its list.
    pub index: usize,
    /// Its bounding box, `[x, y]` corners.
    pub envelope: AABB<[f64; 2]>,
}

impl RTreeObject for IndexedBox {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// An R-tree over the bounding boxes of `shapes` (empty shapes are left out).
pub fn box_tree<'a, G>(shapes: impl Iterator<Item = &'a G>) -> RTree<IndexedBox>
where
    G: BoundingRect<f64, Output = Option<Rect<f64>>> + 'a,
{
    let entries = shapes
        .enumerate()
        .filter_map(|(index, shape)| {
            let rect = shape.bounding_rect()?;
            Some(IndexedBox {
                index,
                envelope: AABB::from_corners(rect.min().into(), rect.max().into()),
            })
        })
        .collect();
    RTree::bulk_load(entries)
}
