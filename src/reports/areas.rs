//! Where a report falls: an in-memory index of the city's kelurahan (with their kecamatan), read
//! once from `admin_area`. A report is routed to the kecamatan it falls in; a point in none of them
//! is outside the city and is refused.

use geo::{BoundingRect, Contains, Geometry, MultiPolygon, Point};
use geozero::ToGeo;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use sqlx::PgPool;

/// A kelurahan and the kecamatan it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// The kecamatan (the unit a report is routed to).
    pub kecamatan: String,
    /// The kelurahan.
    pub kelurahan: String,
}

struct Shape {
    area: Area,
    shape: MultiPolygon<f64>,
}

/// The kelurahan of the city, by bounding box.
pub struct AreaIndex {
    shapes: Vec<Shape>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

#[derive(sqlx::FromRow)]
struct AreaRow {
    nama: String,
    kecamatan: Option<String>,
    wkb: Vec<u8>,
}

impl AreaIndex {
    /// Reads the kelurahan from the database.
    pub async fn load(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let rows: Vec<AreaRow> = sqlx::query_as(include_str!("sql/areas.sql"))
            .fetch_all(pool)
            .await?;
        let areas = rows.into_iter().filter_map(|row| {
            let shape = match geozero::wkb::Wkb(row.wkb).to_geo().ok()? {
                Geometry::MultiPolygon(m) => m,
                Geometry::Polygon(p) => MultiPolygon(vec![p]),
                _ => return None,
            };
            let area = Area {
                kecamatan: row.kecamatan.unwrap_or_default(),
                kelurahan: row.nama,
            };
            Some((area, shape))
        });
        Ok(Self::new(areas))
    }

    /// An index of these areas.
    pub fn new(areas: impl IntoIterator<Item = (Area, MultiPolygon<f64>)>) -> Self {
        let shapes: Vec<Shape> = areas
            .into_iter()
            .map(|(area, shape)| Shape { area, shape })
            .collect();
        let boxes = shapes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let r = s.shape.bounding_rect()?;
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(GeomWithData::new(rect, i))
            })
            .collect();
        AreaIndex {
            shapes,
            boxes: RTree::bulk_load(boxes),
        }
    }

    /// The area a point (longitude, latitude) falls in; `None` outside the city.
    pub fn at(&self, lon: f64, lat: f64) -> Option<&Area> {
        let point = Point::new(lon, lat);
        self.boxes
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|hit| &self.shapes[hit.data])
            .find(|s| s.shape.contains(&point))
            .map(|s| &s.area)
    }

    /// The kecamatan, sorted (the staff's filter).
    pub fn kecamatan(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .shapes
            .iter()
            .map(|s| s.area.kecamatan.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Whether the index holds no area (the boundaries were never loaded).
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x: f64, y: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + 1.0, y: y), (x: x + 1.0, y: y + 1.0), (x: x, y: y + 1.0), (x: x, y: y)
        ]])
    }

    fn area(kecamatan: &str, kelurahan: &str) -> Area {
        Area {
            kecamatan: kecamatan.into(),
            kelurahan: kelurahan.into(),
        }
    }

    #[test]
    fn a_point_falls_in_its_kelurahan_and_outside_the_city_in_none() {
        let index = AreaIndex::new([
            (area("Utara", "Satu"), square(0.0, 0.0)),
            (area("Utara", "Dua"), square(1.0, 0.0)),
            (area("Selatan", "Tiga"), square(0.0, -1.0)),
        ]);
        assert_eq!(index.at(0.5, 0.5), Some(&area("Utara", "Satu")));
        assert_eq!(index.at(1.5, 0.5), Some(&area("Utara", "Dua")));
        assert_eq!(index.at(0.5, -0.5), Some(&area("Selatan", "Tiga")));
        assert_eq!(index.at(5.0, 5.0), None);
        assert_eq!(
            index.at(1.5, -0.5),
            None,
            "inside the boxes' hull, in no area"
        );
        assert_eq!(index.kecamatan(), vec!["Selatan", "Utara"]);
    }
}
