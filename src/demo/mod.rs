//! A deterministic generator of a realistic, synthetic Balikpapan RDTR inside the real kelurahan
//! boundaries, written as a GeoPackage in EPSG:32750 so that the normal import path (with
//! reprojection) loads it.
//!
//! The plan is drawn as a city grows along its roads, in steps:
//! 1. `admin`: the kelurahan as a partition of the city's land.
//! 2. `streets`: the arterials, Balikpapan's main roads drawn as smoothed curves, each a 30 m road
//!    body (sub-zone BJ).
//! 3. `blocks`: the land between them cut by collectors into neighbourhoods, which are placed in
//!    their kelurahan (clipped where a boundary crosses them) and cut by local streets into blocks;
//!    blocks are small at the centres and along the arterials and large in forest, where cuts
//!    leave no road. `cut` does the geometry of one cut.
//! 4. `zoning`: each block's sub-zone from its land (forest in the north, industry at Kariangau
//!    and the refinery, the airport at Sepinggan), the road it fronts (commerce along arterials
//!    and collectors), its place in its neighbourhood (services at the centre) and the urbanity of
//!    its place (housing density), with parks and public uses scattered; and its overlays.
//! 5. `write`: the GeoPackage.
//!
//! Every polygon lies in one kelurahan, none overlaps another, and the same options give the same
//! file: one seeded random stream, consumed in a fixed order.

mod admin;
mod blocks;
mod cut;
pub mod grid;
mod streets;
mod write;
mod zoning;

use std::collections::BTreeMap;
use std::path::PathBuf;

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geo::{Area, Centroid, Coord, MultiPolygon, Polygon, unary_union};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use admin::{Admin, Placement};
use blocks::{Road, Sizer, Stage};
use streets::{Frontages, Nearness, RoadClass};
use write::Zoned;
use zoning::{Land, Lot, Overlays, Places};

/// Errors of the demo generator.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// GDAL failed reading the boundaries or writing the GeoPackage.
    #[error("GDAL: {0}")]
    Gdal(#[from] gdal::errors::GdalError),
    /// The boundaries file is not as expected.
    #[error("{0}")]
    Input(String),
}

/// Result alias of the demo generator.
pub type Result<T> = std::result::Result<T, DemoError>;

/// The layer name of the generated plan.
pub const LAYER: &str = "pola_ruang_rdtr_balikpapan";

/// A neighbourhood of at least this many blocks and this area (m²) has services at its centre.
const HUB_BLOCKS: usize = 8;
const HUB_AREA_M2: f64 = 80_000.0;

/// The seed of the plan's random stream.
const SEED: u64 = 6471;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Roughly how many zoning polygons (blocks and road bodies) to write.
    pub polygons: usize,
    /// The kelurahan boundaries (`data/balikpapan_admin.geojson`).
    pub admin: PathBuf,
    /// The GeoPackage to write (replaced if it exists).
    pub out: PathBuf,
}

/// What was generated.
#[derive(Debug)]
pub struct DemoSummary {
    /// Polygons written.
    pub polygons: usize,
    /// Mean block size: the side of a square of the mean block area (road bodies aside), metres.
    pub block_m: f64,
}

/// The city before any block is drawn: its kelurahan, places and arterials.
struct Setting {
    admin: Admin,
    places: Places,
    /// The arterials' bodies, each with the index of its street.
    arterial_bodies: Vec<(usize, Polygon<f64>)>,
    /// The land the arterials leave.
    land: MultiPolygon<f64>,
    nearness: Nearness,
}

/// What zoning a neighbourhood needs to know of the city.
struct City<'a> {
    admin: &'a Admin,
    places: &'a Places,
    sizer: &'a Sizer<'a>,
    frontages: Frontages,
}

/// How far the polygon count may miss the asked one before the plan is drawn again.
const COUNT_TOLERANCE: f64 = 0.1;

/// Generates the demo plan.
pub fn generate(options: &DemoOptions) -> Result<DemoSummary> {
    let (srs, to_utm) = projection()?;
    let setting = Setting::new(options, &to_utm)?;
    let asked = options.polygons.max(50) as f64;
    let mut zoned = draw(&setting, asked);
    let ratio = zoned.len() as f64 / asked;
    if (ratio - 1.0).abs() > COUNT_TOLERANCE {
        // Roads take land and blocks have a smallest size, so the count drifts from the sizes'
        // promise as plans grow finer: ask again for as many more (or fewer) as were missing.
        zoned = draw(&setting, asked / ratio);
    }
    let names: Vec<write::Names> = setting
        .admin
        .kelurahan
        .iter()
        .map(|k| write::Names {
            kelurahan: &k.name,
            kecamatan: &k.kecamatan,
        })
        .collect();
    write::write_geopackage(&options.out, &zoned, &names, &srs)?;
    Ok(summary(&zoned))
}

impl Setting {
    fn new(options: &DemoOptions, to_utm: &CoordTransform) -> Result<Self> {
        let utm = |lon_lat: (f64, f64)| project(to_utm, lon_lat);
        let admin = Admin::read(&options.admin, to_utm)?;
        let places = Places::new(utm);
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let arterials = streets::arterials(utm, &mut rng);
        let (arterial_bodies, land) =
            streets::arterial_bodies(&arterials, &admin.land, &admin.frame);
        Ok(Self {
            admin,
            places,
            arterial_bodies,
            land,
            nearness: Nearness::new(&arterials),
        })
    }
}

/// Draws the plan with about `polygons` polygons: collectors, then for each neighbourhood in each
/// kelurahan its blocks and local streets, then the main roads' bodies.
fn draw(setting: &Setting, polygons: f64) -> Vec<Zoned> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let admin = &setting.admin;
    let sizer = Sizer::new(admin, &setting.places, &setting.nearness, polygons);
    let (neighbourhoods, collectors) = blocks::subdivide(
        setting.land.0.clone(),
        Stage::Neighbourhoods,
        &sizer,
        &mut rng,
    );
    let main_roads: Vec<Road> = setting
        .arterial_bodies
        .iter()
        .map(|(street, shape)| Road {
            shape: shape.clone(),
            class: RoadClass::Arterial,
            width: streets::ARTERIAL_M,
            network: *street,
        })
        .chain(collectors)
        .collect();
    let city = City {
        admin,
        places: &setting.places,
        sizer: &sizer,
        frontages: Frontages::new(main_roads.iter().map(|r| (&r.shape, r.class))),
    };
    let mut codes = Codes::new(admin);
    let mut zoned = Vec::new();
    for neighbourhood in neighbourhoods {
        for (k, part) in place(admin, neighbourhood) {
            zoned.extend(zone_neighbourhood(&city, k, part, &mut codes, &mut rng));
        }
    }
    zoned.extend(zone_main_roads(&city, main_roads, &mut codes, &mut rng));
    zoned
}

/// The main roads' bodies: one feature per road (each arterial, the collectors) and kelurahan; a
/// stub that a kelurahan boundary cut off is zoned as land (a road body is a strip).
fn zone_main_roads(
    city: &City,
    roads: Vec<Road>,
    codes: &mut Codes,
    rng: &mut ChaCha8Rng,
) -> Vec<Zoned> {
    let mut zoned = Vec::new();
    let mut networks: BTreeMap<(usize, usize), Vec<Polygon<f64>>> = BTreeMap::new();
    for road in roads {
        for (k, part) in place(city.admin, road.shape) {
            if blocks::is_strip(&part, road.width) {
                networks.entry((k, road.network)).or_default().push(part);
            } else {
                let (block, subblock) = codes.next_main_road(k);
                zoned.push(Zoned {
                    block,
                    subblock,
                    ..zone_block(city, k, part, false, rng)
                });
            }
        }
    }
    for ((k, _), parts) in networks {
        let (block, subblock) = codes.next_main_road(k);
        zoned.push(road_body(city, k, parts, block, subblock));
    }
    zoned
}

/// UTM 50S and the transformation into it from WGS 84 (lon, lat order).
fn projection() -> Result<(SpatialRef, CoordTransform)> {
    let mut utm = SpatialRef::from_epsg(32750)?;
    utm.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut wgs84 = SpatialRef::from_epsg(4326)?;
    wgs84.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let to_utm = CoordTransform::new(&wgs84, &utm)?;
    Ok((utm, to_utm))
}

fn project(to_utm: &CoordTransform, (lon, lat): (f64, f64)) -> Coord<f64> {
    let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
    to_utm
        .transform_coords(&mut x, &mut y, &mut z)
        .map(|_| Coord { x: x[0], y: y[0] })
        .unwrap_or(Coord { x: 0.0, y: 0.0 })
}

/// The parts of a piece in each kelurahan it lies in.
fn place(admin: &Admin, shape: Polygon<f64>) -> Vec<(usize, Polygon<f64>)> {
    match admin.place(&shape) {
        Placement::Inside(k) => vec![(k, shape)],
        Placement::Outside => Vec::new(),
        Placement::Across(candidates) => candidates
            .into_iter()
            .flat_map(|k| admin.clip(&shape, k).into_iter().map(move |p| (k, p)))
            .collect(),
    }
}

/// Block codes: per kelurahan, `KEC.n-bbb` (n: the kelurahan's number in its kecamatan, bbb: the
/// neighbourhood, 000 for the main roads) and sub-blocks `KEC.n-bbb.ss`.
struct Codes {
    prefixes: Vec<String>,
    neighbourhoods: Vec<u32>,
    main_roads: Vec<u32>,
}

impl Codes {
    fn new(admin: &Admin) -> Self {
        let prefixes = admin
            .kelurahan
            .iter()
            .map(|k| {
                let number = admin
                    .kelurahan
                    .iter()
                    .filter(|o| o.kecamatan == k.kecamatan && o.name <= k.name)
                    .count();
                format!("{}.{number}", zoning::kecamatan_abbreviation(&k.kecamatan))
            })
            .collect();
        let n = admin.kelurahan.len();
        Self {
            prefixes,
            neighbourhoods: vec![0; n],
            main_roads: vec![0; n],
        }
    }

    /// The code of the next neighbourhood block of kelurahan `k`.
    fn next_block(&mut self, k: usize) -> String {
        self.neighbourhoods[k] += 1;
        format!("{}-{:03}", self.prefixes[k], self.neighbourhoods[k])
    }

    /// The block and sub-block codes of the next main road body of kelurahan `k`.
    fn next_main_road(&mut self, k: usize) -> (String, String) {
        self.main_roads[k] += 1;
        let block = format!("{}-000", self.prefixes[k]);
        let subblock = format!("{block}.{:02}", self.main_roads[k]);
        (block, subblock)
    }
}

/// Cuts a neighbourhood (inside kelurahan `k`) into blocks and zones them; its local streets
/// follow its blocks as road bodies.
fn zone_neighbourhood(
    city: &City,
    k: usize,
    shape: Polygon<f64>,
    codes: &mut Codes,
    rng: &mut ChaCha8Rng,
) -> Vec<Zoned> {
    let (centre, area) = (centre_of(&shape), shape.unsigned_area());
    let (blocks, locals) = blocks::subdivide(vec![shape], Stage::Blocks, city.sizer, rng);
    let hub = (blocks.len() >= HUB_BLOCKS && area >= HUB_AREA_M2)
        .then(|| nearest(&blocks, centre))
        .flatten();
    let block = codes.next_block(k);
    let mut zoned = Vec::with_capacity(blocks.len() + locals.len());
    for (i, shape) in blocks.into_iter().enumerate() {
        zoned.push(zone_block(city, k, shape, hub == Some(i), rng));
    }
    if !locals.is_empty() {
        // The local streets of a neighbourhood are one road body, as its network.
        let parts = locals.into_iter().map(|r| r.shape).collect();
        zoned.push(road_body(city, k, parts, String::new(), String::new()));
    }
    for (i, z) in zoned.iter_mut().enumerate() {
        z.block.clone_from(&block);
        z.subblock = format!("{block}.{:02}", i + 1);
    }
    zoned
}

/// A block in kelurahan `k` with its sub-zone and overlays (its codes are given by its caller).
fn zone_block(
    city: &City,
    k: usize,
    shape: Polygon<f64>,
    hub: bool,
    rng: &mut ChaCha8Rng,
) -> Zoned {
    let centre = centre_of(&shape);
    let lot = Lot {
        kelurahan: &city.admin.kelurahan[k],
        centre,
        land: Land::at(&city.admin.kelurahan[k], centre, city.places),
        coastal: is_coastal(city, k, &shape, centre),
        frontage: city.frontages.of(&shape),
        hub,
        urbanity: city.sizer.urbanity(centre),
    };
    let subzone = zoning::choose_subzone(&lot, city.places, rng);
    let overlays = zoning::overlays_at(centre, subzone, lot.coastal, city.places, rng);
    Zoned {
        subzone,
        shape: MultiPolygon(vec![shape]),
        kelurahan: k,
        block: String::new(),
        subblock: String::new(),
        overlays,
    }
}

/// A road body (the parts of one road network): sub-zone BJ, with the airport's safety zone as its
/// only overlay.
fn road_body(
    city: &City,
    k: usize,
    parts: Vec<Polygon<f64>>,
    block: String,
    subblock: String,
) -> Zoned {
    let overlays = Overlays {
        kkop: parts
            .first()
            .and_then(|p| zoning::kkop(centre_of(p), city.places)),
        ..Overlays::default()
    };
    Zoned {
        subzone: "BJ",
        shape: unary_union(&parts),
        kelurahan: k,
        block,
        subblock,
        overlays,
    }
}

/// Whether a block lies on the sea coast: on the outline of the city's land, where that outline
/// is the sea.
fn is_coastal(city: &City, k: usize, shape: &Polygon<f64>, centre: Coord<f64>) -> bool {
    let on_outline = shape
        .exterior()
        .0
        .iter()
        .any(|v| city.admin.on_outline(*v, 1.0));
    on_outline && zoning::is_coastal(&city.admin.kelurahan[k], centre, city.places)
}

fn centre_of(shape: &Polygon<f64>) -> Coord<f64> {
    shape
        .centroid()
        .map_or_else(|| shape.exterior().0[0], |p| p.0)
}

/// The index of the block whose centre is nearest `to`.
fn nearest(blocks: &[Polygon<f64>], to: Coord<f64>) -> Option<usize> {
    blocks
        .iter()
        .map(|b| zoning::distance(centre_of(b), to))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

fn summary(zoned: &[Zoned]) -> DemoSummary {
    let blocks: Vec<f64> = zoned
        .iter()
        .filter(|z| z.subzone != "BJ")
        .map(|z| z.shape.unsigned_area())
        .collect();
    let mean = blocks.iter().sum::<f64>() / blocks.len().max(1) as f64;
    DemoSummary {
        polygons: zoned.len(),
        block_m: mean.sqrt(),
    }
}
