//! The benchmark's plan: the earlier generator, which cuts the city into a square street grid
//! (every grid cell a block and an L-shaped strip of road body, clipped to the kelurahan). Kept so
//! that `satupeta bench` measures the same kind of plan as the figures recorded before the demo
//! drew an organic city: its blocks are simple quadrilaterals, and at 100,000 polygons the organic
//! plan is a different workload (its coverage check alone takes minutes; see the README).
//!
//! Each block gets a sub-zone from where it lies: protection forest in the north, industry at
//! Kariangau and at the refinery, the airport at Sepinggan, commerce in the old centre and along the
//! coast road, housing whose density falls with distance from the centre.

use std::path::Path;

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, Intersects, LineString,
    MultiPolygon, Polygon, Rect,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::geometry::{IndexedBox, box_tree};
use rstar::{AABB, Envelope, RTree, RTreeObject};

use super::write::{Names, Zoned, write_geopackage};
use super::zoning::{Overlays, kecamatan_abbreviation};
use super::{DemoOptions, DemoSummary, Result};

/// A kelurahan in UTM 50S.
struct Kelurahan {
    name: String,
    kecamatan: String,
    shape: MultiPolygon<f64>,
    envelope: AABB<[f64; 2]>,
}

/// A boundary segment of a kelurahan, to find the grid cells a boundary crosses.
struct Edge(geo::Line<f64>);

impl RTreeObject for Edge {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.0.start.into(), self.0.end.into())
    }
}

/// Places of the city in WGS 84 (lon, lat) that shape the plan.
const CENTRE: (f64, f64) = (116.832, -1.272); // Klandasan, the old centre on the coast
const AIRPORT: (f64, f64) = (116.897, -1.266); // Sultan Aji Muhammad Sulaiman (Sepinggan)
const RESERVOIR: (f64, f64) = (116.951, -1.196); // Waduk Manggar
const LANDFILL: (f64, f64) = (116.963, -1.214); // TPA Manggar
const PORT: (f64, f64) = (116.808, -1.268); // Pelabuhan Semayang

/// Generates the grid plan.
pub fn generate(options: &DemoOptions) -> Result<DemoSummary> {
    let mut to_utm_srs = SpatialRef::from_epsg(32750)?;
    to_utm_srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut wgs84 = SpatialRef::from_epsg(4326)?;
    wgs84.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let to_utm = CoordTransform::new(&wgs84, &to_utm_srs)?;
    let (city, kelurahan) = read_admin(&options.admin, &to_utm)?;
    let utm = |(lon, lat): (f64, f64)| -> Coord<f64> {
        let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
        to_utm
            .transform_coords(&mut x, &mut y, &mut z)
            .map(|_| Coord { x: x[0], y: y[0] })
            .unwrap_or(Coord { x: 0.0, y: 0.0 })
    };
    let places = Places {
        centre: utm(CENTRE),
        airport: utm(AIRPORT),
        reservoir: utm(RESERVOIR),
        landfill: utm(LANDFILL),
        port: utm(PORT),
    };

    let land_area = city.unsigned_area();
    // Every cell yields a block and a road body, except in forest and water where there is no road.
    let cell = (land_area / (options.polygons.max(50) as f64 / 1.3)).sqrt();
    let road = (cell * 0.08).clamp(6.0, 30.0);
    let envelope = kelurahan
        .iter()
        .fold(kelurahan[0].envelope, |a, k| a.merged(&k.envelope));
    let (min, max) = (envelope.lower(), envelope.upper());
    let index = box_tree(kelurahan.iter().map(|k| &k.shape));
    let edges = RTree::bulk_load(
        city.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.lines().map(Edge).collect::<Vec<_>>())
            .collect(),
    );

    let mut rng = ChaCha8Rng::seed_from_u64(6471);
    let mut zoned = Vec::new();
    let columns = ((max[0] - min[0]) / cell).ceil() as i64;
    let rows = ((max[1] - min[1]) / cell).ceil() as i64;
    for row in 0..rows {
        for col in 0..columns {
            let x0 = min[0] + col as f64 * cell;
            let y0 = min[1] + row as f64 * cell;
            let rect = Rect::new(
                Coord { x: x0, y: y0 },
                Coord {
                    x: x0 + cell,
                    y: y0 + cell,
                },
            );
            let Some((piece, whole)) = clip_to_city(&rect, &city, &edges) else {
                continue;
            };
            {
                let centre = Coord {
                    x: x0 + cell / 2.0,
                    y: y0 + cell / 2.0,
                };
                let k = kelurahan_at(centre, &kelurahan, &index);
                let coastal = !whole && is_coastal(&kelurahan[k], centre, &places);
                let subzone = choose_subzone(&kelurahan[k], centre, coastal, &places, &mut rng);
                let overlays = overlays_at(centre, subzone, coastal, &places, &mut rng);
                let block_row = row.div_euclid(6);
                let block_col = col.div_euclid(6);
                let block = format!(
                    "{}.{}-{:03}",
                    kecamatan_abbreviation(&kelurahan[k].kecamatan),
                    block_row,
                    block_col
                );
                let subblock = format!("{block}.{:02}", (row % 6) * 6 + (col % 6) + 1);
                let has_road = !matches!(subzone, "HL" | "HP" | "BA" | "EM" | "P-3" | "RTH-1");
                let (block_part, road_part) = if has_road {
                    split_road(&rect, &piece, road, whole)
                } else {
                    (piece, None)
                };
                if block_part.unsigned_area() > 1.0 {
                    zoned.push(Zoned {
                        subzone,
                        shape: block_part,
                        kelurahan: k,
                        block: block.clone(),
                        subblock: subblock.clone(),
                        overlays: overlays.clone(),
                    });
                }
                if let Some(road_part) = road_part.filter(|r| r.unsigned_area() > 1.0) {
                    zoned.push(Zoned {
                        subzone: "BJ",
                        shape: road_part,
                        kelurahan: k,
                        block,
                        subblock,
                        overlays: Overlays {
                            kkop: overlays.kkop,
                            ..Overlays::default()
                        },
                    });
                }
            }
        }
    }
    let names: Vec<Names> = kelurahan
        .iter()
        .map(|k| Names {
            kelurahan: &k.name,
            kecamatan: &k.kecamatan,
        })
        .collect();
    write_geopackage(&options.out, &zoned, &names, &to_utm_srs)?;
    Ok(DemoSummary {
        polygons: zoned.len(),
        block_m: cell,
    })
}

/// Points of the city in UTM 50S.
struct Places {
    centre: Coord<f64>,
    airport: Coord<f64>,
    reservoir: Coord<f64>,
    landfill: Coord<f64>,
    port: Coord<f64>,
}

fn distance(a: Coord<f64>, b: Coord<f64>) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// The part of a grid cell inside the city, and whether that is the whole cell.
fn clip_to_city(
    rect: &Rect<f64>,
    city: &MultiPolygon<f64>,
    edges: &RTree<Edge>,
) -> Option<(MultiPolygon<f64>, bool)> {
    let envelope = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
    let crossed = edges
        .locate_in_envelope_intersecting(&envelope)
        .any(|e| rect.intersects(&e.0));
    if !crossed {
        // No boundary crosses the cell: it lies wholly inside the city, or wholly outside.
        return city
            .contains(&rect.center())
            .then(|| (MultiPolygon(vec![rect.to_polygon()]), true));
    }
    let piece = rect.to_polygon().intersection(city);
    (piece.unsigned_area() >= 1.0).then_some((piece, false))
}

/// The kelurahan containing a point, or the nearest one (the city outline and the kelurahan
/// boundaries do not match exactly).
fn kelurahan_at(point: Coord<f64>, kelurahan: &[Kelurahan], index: &RTree<IndexedBox>) -> usize {
    let candidates = index.locate_in_envelope_intersecting(&AABB::from_point([point.x, point.y]));
    if let Some(k) = candidates
        .map(|e| e.index)
        .filter(|k| kelurahan[*k].shape.contains(&point))
        .min()
    {
        return k;
    }
    let point = geo::Point::from(point);
    (0..kelurahan.len())
        .min_by(|a, b| {
            let da = Euclidean.distance(&kelurahan[*a].shape, &point);
            let db = Euclidean.distance(&kelurahan[*b].shape, &point);
            da.total_cmp(&db)
        })
        .unwrap_or(0)
}

/// Splits a cell's piece into the block and the L-shaped road body on the cell's west and south.
fn split_road(
    rect: &Rect<f64>,
    piece: &MultiPolygon<f64>,
    road: f64,
    whole: bool,
) -> (MultiPolygon<f64>, Option<MultiPolygon<f64>>) {
    let (min, max) = (rect.min(), rect.max());
    let inner = Rect::new(
        Coord {
            x: min.x + road,
            y: min.y + road,
        },
        max,
    )
    .to_polygon();
    let l_shape = Polygon::new(
        LineString::from(vec![
            (min.x, min.y),
            (max.x, min.y),
            (max.x, min.y + road),
            (min.x + road, min.y + road),
            (min.x + road, max.y),
            (min.x, max.y),
            (min.x, min.y),
        ]),
        vec![],
    );
    if whole {
        (MultiPolygon(vec![inner]), Some(MultiPolygon(vec![l_shape])))
    } else {
        (
            piece.intersection(&inner),
            Some(piece.intersection(&l_shape)),
        )
    }
}

/// Whether a clipped cell lies on the sea coast (south and east of the city, or the bay in the west)
/// rather than on an inland kelurahan boundary.
fn is_coastal(kelurahan: &Kelurahan, centre: Coord<f64>, places: &Places) -> bool {
    let south_coast = centre.y < places.centre.y + 2_500.0;
    let east_coast = kelurahan.kecamatan == "Balikpapan Timur"
        && centre.x > places.airport.x + 4_000.0
        && centre.y < places.reservoir.y;
    let bay = kelurahan.name == "Kariangau" && centre.x < places.port.x - 3_000.0;
    south_coast || east_coast || bay
}

fn choose_subzone(
    k: &Kelurahan,
    c: Coord<f64>,
    coastal: bool,
    p: &Places,
    rng: &mut ChaCha8Rng,
) -> &'static str {
    let from_centre = distance(c, p.centre);
    let north = c.y - p.centre.y; // metres north of the old centre
    let roll: f64 = rng.r#gen();
    // Fixed places first.
    if (c.x - p.airport.x).abs() < 1_800.0 && (c.y - p.airport.y).abs() < 700.0 {
        return "TR";
    }
    if distance(c, p.port) < 500.0 {
        return "TR";
    }
    if distance(c, p.reservoir) < 900.0 {
        return "BA";
    }
    if distance(c, p.landfill) < 500.0 {
        return "PP";
    }
    if coastal {
        return match k.name.as_str() {
            "Kariangau" => "EM",
            _ if from_centre < 1_500.0 => "K-1",
            _ if roll < 0.5 => "PS",
            _ if k.kecamatan == "Balikpapan Timur" => "W",
            _ => "K-2",
        };
    }
    // The refinery on the bay west of the old town.
    if matches!(
        k.name.as_str(),
        "Prapatan" | "Baru Ilir" | "Baru Tengah" | "Marga Sari"
    ) && c.x < p.centre.x - 1_300.0
    {
        return "KPI";
    }
    match k.name.as_str() {
        "Kariangau" => {
            return if north > 13_000.0 {
                "HL"
            } else if c.x < p.port.x - 2_000.0 && north < 10_000.0 {
                if roll < 0.12 { "PL-1" } else { "KPI" }
            } else if roll < 0.6 {
                "HP"
            } else {
                "HL"
            };
        }
        "Karang Joang" if north > 14_000.0 => return "HL",
        "Karang Joang" if north > 9_000.0 => return if roll < 0.5 { "HP" } else { "RTH-1" },
        "Teritip" | "Lamaru" if north > 8_000.0 => return if roll < 0.7 { "P-3" } else { "HP" },
        _ => {}
    }
    // Scattered public uses in the urban area.
    let scattered = [
        (
            0.015,
            if from_centre < 4_000.0 {
                "RTH-2"
            } else {
                "RTH-3"
            },
        ),
        (0.02, "RTH-4"),
        (0.025, "RTH-5"),
        (0.015, "RTH-7"),
        (
            0.01,
            if from_centre < 5_000.0 {
                "SPU-1"
            } else {
                "SPU-2"
            },
        ),
        (0.03, "SPU-3"),
        (0.005, "HK"),
        (0.004, "PL-4"),
    ];
    let mut threshold = 0.0;
    for (share, code) in scattered {
        threshold += share;
        if roll < threshold {
            return code;
        }
    }
    match from_centre {
        d if d < 1_200.0 => "K-1",
        d if d < 2_000.0 => {
            if roll < 0.5 {
                "KT"
            } else {
                "K-2"
            }
        }
        d if d < 3_500.0 => {
            if roll < 0.35 {
                "C-2"
            } else if roll < 0.5 {
                "K-3"
            } else {
                "R-2"
            }
        }
        d if d < 6_500.0 => {
            if roll < 0.15 {
                "K-3"
            } else {
                "R-3"
            }
        }
        d if d < 11_000.0 => {
            if roll < 0.1 {
                "K-3"
            } else {
                "R-4"
            }
        }
        _ => "R-5",
    }
}

fn overlays_at(
    c: Coord<f64>,
    subzone: &str,
    coastal: bool,
    p: &Places,
    rng: &mut ChaCha8Rng,
) -> Overlays {
    let to_airport = distance(c, p.airport);
    let along_runway = (c.y - p.airport.y).abs() < 1_000.0;
    let kkop = match to_airport {
        d if d < 4_000.0 && along_runway => {
            Some("K01B Kawasan Ancangan Pendaratan dan Lepas Landas")
        }
        d if d < 4_000.0 => Some("K01D Kawasan di Bawah Permukaan Transisi"),
        d if d < 6_000.0 => Some("K01F Kawasan di Bawah Permukaan Kerucut"),
        d if d < 15_000.0 => Some("K01G Kawasan di Bawah Permukaan Horizontal Luar"),
        _ => None,
    };
    let low_lying = c.y < p.centre.y + 1_800.0;
    Overlays {
        kkop,
        krb: (low_lying && rng.r#gen::<f64>() < 0.25).then_some("Kawasan Rawan Banjir"),
        ksmpdn: coastal.then_some("Sempadan Pantai"),
        tod: (distance(c, p.centre) < 800.0).then_some("Kawasan TOD Klandasan"),
        cagbud: (subzone == "KPI" && distance(c, p.centre) < 3_000.0 && rng.r#gen::<f64>() < 0.05)
            .then_some("Cagar Budaya Kilang"),
        lp2b: None,
    }
}

/// The city outline and its kelurahan in UTM 50S, as the demo reads them, with their envelopes.
fn read_admin(path: &Path, to_utm: &CoordTransform) -> Result<(MultiPolygon<f64>, Vec<Kelurahan>)> {
    let (city, read) = super::admin::read_admin(path, to_utm)?;
    let kelurahan = read
        .into_iter()
        .filter_map(|k| {
            let rect = k.shape.bounding_rect()?;
            Some(Kelurahan {
                name: k.name,
                kecamatan: k.kecamatan,
                envelope: AABB::from_corners(
                    [rect.min().x, rect.min().y],
                    [rect.max().x, rect.max().y],
                ),
                shape: k.shape,
            })
        })
        .collect();
    Ok((city, kelurahan))
}
