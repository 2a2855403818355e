//! Sub-zones and overlays of the demo plan: what a block becomes from where it lies (the land of
//! its kelurahan, the fixed places of the city), which road it fronts and whether it is the centre
//! of its neighbourhood. Forest, water, plantations and the airport are land without roads.

use geo::Coord;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::admin::Kelurahan;
use super::streets::RoadClass;

/// Sub-zone names, numeric codes and zones as the Permen 14 fields carry them.
pub struct SubzoneFields {
    pub code: &'static str,
    pub catalog: &'static str,
    pub name: &'static str,
    pub zone: &'static str,
    pub zone_name: &'static str,
    pub lindung: bool,
}

const SUBZONES: &[SubzoneFields] = &[
    SubzoneFields {
        code: "HL",
        catalog: "31020000",
        name: "Hutan Lindung",
        zone: "HL",
        zone_name: "Zona Hutan Lindung",
        lindung: true,
    },
    SubzoneFields {
        code: "BA",
        catalog: "31010000",
        name: "Badan Air",
        zone: "BA",
        zone_name: "Zona Badan Air",
        lindung: true,
    },
    SubzoneFields {
        code: "PS",
        catalog: "31030000",
        name: "Perlindungan Setempat",
        zone: "PS",
        zone_name: "Zona Perlindungan Setempat",
        lindung: true,
    },
    SubzoneFields {
        code: "EM",
        catalog: "31040000",
        name: "Ekosistem Mangrove",
        zone: "EM",
        zone_name: "Zona Ekosistem Mangrove",
        lindung: true,
    },
    SubzoneFields {
        code: "RTH-1",
        catalog: "31031100",
        name: "Rimba Kota",
        zone: "RTH",
        zone_name: "Zona Ruang Terbuka Hijau",
        lindung: true,
    },
    SubzoneFields {
        code: "RTH-2",
        catalog: "31031200",
        name: "Taman Kota",
        zone: "RTH",
        zone_name: "Zona Ruang Terbuka Hijau",
        lindung: true,
    },
    SubzoneFields {
        code: "RTH-3",
        catalog: "31031300",
        name: "Taman Kecamatan",
        zone: "RTH",
        zone_name: "Zona Ruang Terbuka Hijau",
        lindung: true,
    },
    SubzoneFields {
        code: "RTH-4",
        catalog: "31031400",
        name: "Taman Kelurahan",
        zone: "RTH",
        zone_name: "Zona Ruang Terbuka Hijau",
        lindung: true,
    },
    SubzoneFields {
        code: "RTH-5",
        catalog: "31031500",
        name: "Taman RW",
        zone: "RTH",
        zone_name: "Zona Ruang Terbuka Hijau",
        lindung: true,
    },
    SubzoneFields {
        code: "RTH-7",
        catalog: "31031700",
        name: "Pemakaman",
        zone: "RTH",
        zone_name: "Zona Ruang Terbuka Hijau",
        lindung: true,
    },
    SubzoneFields {
        code: "BJ",
        catalog: "32010000",
        name: "Badan Jalan",
        zone: "BJ",
        zone_name: "Zona Badan Jalan",
        lindung: false,
    },
    SubzoneFields {
        code: "HP",
        catalog: "32021000",
        name: "Hutan Produksi Tetap",
        zone: "HP",
        zone_name: "Zona Hutan Produksi",
        lindung: false,
    },
    SubzoneFields {
        code: "P-3",
        catalog: "32043000",
        name: "Perkebunan",
        zone: "P",
        zone_name: "Zona Pertanian",
        lindung: false,
    },
    SubzoneFields {
        code: "KPI",
        catalog: "32080000",
        name: "Kawasan Peruntukan Industri",
        zone: "KPI",
        zone_name: "Zona Kawasan Peruntukan Industri",
        lindung: false,
    },
    SubzoneFields {
        code: "W",
        catalog: "32090000",
        name: "Pariwisata",
        zone: "W",
        zone_name: "Zona Pariwisata",
        lindung: false,
    },
    SubzoneFields {
        code: "R-2",
        catalog: "32103200",
        name: "Perumahan Kepadatan Tinggi",
        zone: "R",
        zone_name: "Zona Perumahan",
        lindung: false,
    },
    SubzoneFields {
        code: "R-3",
        catalog: "32103300",
        name: "Perumahan Kepadatan Sedang",
        zone: "R",
        zone_name: "Zona Perumahan",
        lindung: false,
    },
    SubzoneFields {
        code: "R-4",
        catalog: "32103400",
        name: "Perumahan Kepadatan Rendah",
        zone: "R",
        zone_name: "Zona Perumahan",
        lindung: false,
    },
    SubzoneFields {
        code: "R-5",
        catalog: "32103500",
        name: "Perumahan Kepadatan Sangat Rendah",
        zone: "R",
        zone_name: "Zona Perumahan",
        lindung: false,
    },
    SubzoneFields {
        code: "SPU-1",
        catalog: "32104100",
        name: "SPU Skala Kota",
        zone: "SPU",
        zone_name: "Zona Sarana Pelayanan Umum",
        lindung: false,
    },
    SubzoneFields {
        code: "SPU-2",
        catalog: "32104200",
        name: "SPU Skala Kecamatan",
        zone: "SPU",
        zone_name: "Zona Sarana Pelayanan Umum",
        lindung: false,
    },
    SubzoneFields {
        code: "SPU-3",
        catalog: "32104300",
        name: "SPU Skala Kelurahan",
        zone: "SPU",
        zone_name: "Zona Sarana Pelayanan Umum",
        lindung: false,
    },
    SubzoneFields {
        code: "PL-1",
        catalog: "32106100",
        name: "Pergudangan",
        zone: "PL",
        zone_name: "Zona Peruntukan Lainnya",
        lindung: false,
    },
    SubzoneFields {
        code: "PL-4",
        catalog: "32106202",
        name: "Instalasi Pengolahan Air Limbah (IPAL)",
        zone: "PL",
        zone_name: "Zona Peruntukan Lainnya",
        lindung: false,
    },
    SubzoneFields {
        code: "PP",
        catalog: "32106300",
        name: "Pengelolaan Persampahan",
        zone: "PP",
        zone_name: "Zona Pengelolaan Persampahan",
        lindung: false,
    },
    SubzoneFields {
        code: "C-2",
        catalog: "32111200",
        name: "Campuran Intensitas Menengah/Sedang",
        zone: "C",
        zone_name: "Zona Campuran",
        lindung: false,
    },
    SubzoneFields {
        code: "K-1",
        catalog: "32112100",
        name: "Perdagangan dan Jasa Skala Kota",
        zone: "K",
        zone_name: "Zona Perdagangan dan Jasa",
        lindung: false,
    },
    SubzoneFields {
        code: "K-2",
        catalog: "32112200",
        name: "Perdagangan dan Jasa Skala WP",
        zone: "K",
        zone_name: "Zona Perdagangan dan Jasa",
        lindung: false,
    },
    SubzoneFields {
        code: "K-3",
        catalog: "32112300",
        name: "Perdagangan dan Jasa Skala SWP",
        zone: "K",
        zone_name: "Zona Perdagangan dan Jasa",
        lindung: false,
    },
    SubzoneFields {
        code: "KT",
        catalog: "32113000",
        name: "Perkantoran",
        zone: "KT",
        zone_name: "Zona Perkantoran",
        lindung: false,
    },
    SubzoneFields {
        code: "TR",
        catalog: "32120000",
        name: "Transportasi",
        zone: "TR",
        zone_name: "Zona Transportasi",
        lindung: false,
    },
    SubzoneFields {
        code: "HK",
        catalog: "32130000",
        name: "Pertahanan dan Keamanan",
        zone: "HK",
        zone_name: "Zona Pertahanan dan Keamanan",
        lindung: false,
    },
];

/// The Permen 14 fields of a sub-zone code (the first entry for an unknown code).
pub fn subzone_fields(code: &str) -> &'static SubzoneFields {
    SUBZONES
        .iter()
        .find(|s| s.code == code)
        .unwrap_or(&SUBZONES[0])
}

/// Places of the city in WGS 84 (lon, lat) that shape the plan.
const CENTRE: (f64, f64) = (116.832, -1.272); // Klandasan, the old centre on the coast
const AIRPORT: (f64, f64) = (116.897, -1.266); // Sultan Aji Muhammad Sulaiman (Sepinggan)
const RESERVOIR: (f64, f64) = (116.951, -1.196); // Waduk Manggar
const LANDFILL: (f64, f64) = (116.963, -1.214); // TPA Manggar
const PORT: (f64, f64) = (116.808, -1.268); // Pelabuhan Semayang
const ESTATE: (f64, f64) = (116.795, -1.160); // Kawasan Industri Kariangau, on the bay

/// Centres of the city with their pull (1 for the old centre) and reach (m): density and the mix
/// of housing fall away from them.
const CENTRES: [((f64, f64), f64, f64); 6] = [
    (CENTRE, 1.0, 3_500.0),
    ((116.885, -1.255), 0.6, 2_500.0), // Sepinggan and Balikpapan Baru
    ((116.850, -1.240), 0.7, 2_500.0), // Muara Rapak, Gunung Samarinda
    ((116.862, -1.200), 0.45, 2_000.0), // Km 5, Batu Ampar
    ((116.962, -1.222), 0.4, 2_000.0), // Manggar
    ((116.885, -1.140), 0.25, 1_800.0), // Km 13, Karang Joang
];

/// Points of the city in UTM 50S.
pub struct Places {
    pub centre: Coord<f64>,
    pub airport: Coord<f64>,
    pub reservoir: Coord<f64>,
    pub landfill: Coord<f64>,
    pub port: Coord<f64>,
    pub estate: Coord<f64>,
    centres: Vec<(Coord<f64>, f64, f64)>,
}

impl Places {
    /// The places, projected with `utm`.
    pub fn new(utm: impl Fn((f64, f64)) -> Coord<f64>) -> Self {
        Self {
            centre: utm(CENTRE),
            airport: utm(AIRPORT),
            reservoir: utm(RESERVOIR),
            landfill: utm(LANDFILL),
            port: utm(PORT),
            estate: utm(ESTATE),
            centres: CENTRES
                .iter()
                .map(|(at, pull, reach)| (utm(*at), *pull, *reach))
                .collect(),
        }
    }

    /// How urban a point is, 0 to about 1: the strongest pull of a centre, plus a ribbon along
    /// the arterials (`to_arterial`, metres).
    pub fn urbanity(&self, c: Coord<f64>, to_arterial: f64) -> f64 {
        let pull = self
            .centres
            .iter()
            .map(|(at, pull, reach)| pull * (-distance(c, *at) / reach).exp())
            .fold(0.0, f64::max);
        pull + 0.25 * (-to_arterial / 700.0).exp()
    }
}

pub fn distance(a: Coord<f64>, b: Coord<f64>) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// What the land of a place is, before any block is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Land {
    Airport,
    Port,
    Reservoir,
    Landfill,
    /// The refinery on the bay west of the old town.
    Refinery,
    /// The Kariangau industrial estate.
    Industry,
    /// Forest, plantation or city forest: sub-zones drawn by cumulative share.
    Green(&'static [(f64, &'static str)]),
    /// The town: housing, commerce, services, parks.
    Town,
}

impl Land {
    /// Whether streets are drawn through this land (not in forest, water or the airfield).
    pub fn has_streets(self) -> bool {
        !matches!(self, Land::Airport | Land::Reservoir | Land::Green(_))
    }

    /// What the land at `c` (in kelurahan `k`) is.
    pub fn at(k: &Kelurahan, c: Coord<f64>, p: &Places) -> Land {
        let north = c.y - p.centre.y; // metres north of the old centre
        if (c.x - p.airport.x).abs() < 1_800.0 && (c.y - p.airport.y).abs() < 700.0 {
            return Land::Airport;
        }
        if distance(c, p.port) < 500.0 {
            return Land::Port;
        }
        if distance(c, p.reservoir) < 900.0 {
            return Land::Reservoir;
        }
        if distance(c, p.landfill) < 500.0 {
            return Land::Landfill;
        }
        if matches!(
            k.name.as_str(),
            "Prapatan" | "Baru Ilir" | "Baru Tengah" | "Marga Sari"
        ) && c.x < p.centre.x - 1_300.0
        {
            return Land::Refinery;
        }
        match k.name.as_str() {
            "Kariangau" if north > 13_000.0 => Land::Green(&[(1.0, "HL")]),
            "Kariangau" if distance(c, p.estate) < 3_500.0 => Land::Industry,
            "Kariangau" => Land::Green(&[(0.6, "HP"), (1.0, "HL")]),
            "Karang Joang" if north > 14_000.0 => Land::Green(&[(1.0, "HL")]),
            "Karang Joang" if north > 9_000.0 => Land::Green(&[(0.5, "HP"), (1.0, "RTH-1")]),
            "Teritip" | "Lamaru" if north > 8_000.0 => Land::Green(&[(0.7, "P-3"), (1.0, "HP")]),
            _ => Land::Town,
        }
    }
}

/// What is known of a block when its sub-zone is chosen.
pub struct Lot<'a> {
    pub kelurahan: &'a Kelurahan,
    pub centre: Coord<f64>,
    pub land: Land,
    /// On the sea coast.
    pub coastal: bool,
    /// The widest road it fronts, arterials and collectors only.
    pub frontage: Option<RoadClass>,
    /// The block nearest the centre of its neighbourhood: its services.
    pub hub: bool,
    /// How urban its place is (`Places::urbanity`).
    pub urbanity: f64,
}

/// The sub-zone of a block.
pub fn choose_subzone(lot: &Lot, p: &Places, rng: &mut ChaCha8Rng) -> &'static str {
    let roll: f64 = rng.r#gen();
    match lot.land {
        Land::Airport | Land::Port => return "TR",
        Land::Reservoir => return "BA",
        Land::Landfill => return "PP",
        _ => {}
    }
    if lot.coastal {
        return coastal_subzone(lot, p, roll);
    }
    match lot.land {
        Land::Refinery => "KPI",
        Land::Industry if roll < 0.12 => "PL-1",
        Land::Industry => "KPI",
        Land::Green(shares) => shares
            .iter()
            .find(|(share, _)| roll < *share)
            .map_or("HP", |(_, code)| code),
        _ => town_subzone(lot, p, roll),
    }
}

fn coastal_subzone(lot: &Lot, p: &Places, roll: f64) -> &'static str {
    match lot.kelurahan.name.as_str() {
        "Kariangau" => "EM",
        _ if distance(lot.centre, p.centre) < 1_500.0 => "K-1",
        _ if roll < 0.5 => "PS",
        _ if lot.kelurahan.kecamatan == "Balikpapan Timur" => "W",
        _ => "K-2",
    }
}

/// A block of the town: services at the centre of its neighbourhood, commerce along the main
/// roads, parks and public uses scattered, housing whose density follows the urbanity.
fn town_subzone(lot: &Lot, p: &Places, roll: f64) -> &'static str {
    let from_centre = distance(lot.centre, p.centre);
    if lot.hub {
        return match from_centre {
            d if d < 2_500.0 => "SPU-1",
            _ if roll < 0.35 => "SPU-2",
            _ => "SPU-3",
        };
    }
    if from_centre < 1_200.0 {
        return old_centre(lot.frontage, roll);
    }
    match lot.frontage {
        Some(RoadClass::Arterial) => return arterial_frontage(from_centre, lot.urbanity, roll),
        Some(RoadClass::Collector) if roll < 0.3 => {
            return if lot.urbanity > 0.4 { "C-2" } else { "K-3" };
        }
        _ => {}
    }
    scattered(from_centre, roll).unwrap_or_else(|| housing(from_centre, lot.urbanity, roll))
}

/// The old centre: the city's shops and offices on its main roads, a mix behind them.
fn old_centre(frontage: Option<RoadClass>, roll: f64) -> &'static str {
    match frontage {
        Some(RoadClass::Arterial) => "K-1",
        Some(RoadClass::Collector) if roll < 0.3 => "KT",
        Some(RoadClass::Collector) if roll < 0.6 => "K-1",
        Some(RoadClass::Collector) => "K-2",
        _ if roll < 0.25 => "K-2",
        _ if roll < 0.5 => "C-2",
        _ if roll < 0.6 => "KT",
        _ => "R-2",
    }
}

fn arterial_frontage(from_centre: f64, urbanity: f64, roll: f64) -> &'static str {
    match from_centre {
        d if d < 2_500.0 => {
            if roll < 0.3 {
                "KT"
            } else {
                "K-1"
            }
        }
        _ if urbanity > 0.35 && roll < 0.6 => "K-2",
        _ if urbanity > 0.35 => "C-2",
        _ if roll < 0.7 => "K-3",
        _ => "C-2",
    }
}

/// Parks, cemeteries and public uses scattered among the housing.
fn scattered(from_centre: f64, roll: f64) -> Option<&'static str> {
    let shares = [
        (
            0.02,
            if from_centre < 4_000.0 {
                "RTH-2"
            } else {
                "RTH-3"
            },
        ),
        (0.025, "RTH-4"),
        (0.03, "RTH-5"),
        (0.015, "RTH-7"),
        (0.01, "SPU-3"),
        (0.006, "HK"),
        (0.004, "PL-4"),
    ];
    let mut threshold = 0.0;
    shares.into_iter().find_map(|(share, code)| {
        threshold += share;
        (roll < threshold).then_some(code)
    })
}

fn housing(from_centre: f64, urbanity: f64, roll: f64) -> &'static str {
    match urbanity {
        _ if from_centre < 3_000.0 => {
            if roll < 0.3 {
                "C-2"
            } else {
                "R-2"
            }
        }
        u if u > 0.45 => "R-2",
        u if u > 0.2 => "R-3",
        u if u > 0.08 => "R-4",
        _ => "R-5",
    }
}

/// Overlay values of a block (Permen 14 fields); `None` is written as "Tidak Ada" as real data does.
#[derive(Default, Clone)]
pub struct Overlays {
    pub kkop: Option<&'static str>,
    pub krb: Option<&'static str>,
    pub ksmpdn: Option<&'static str>,
    pub tod: Option<&'static str>,
    pub cagbud: Option<&'static str>,
    pub lp2b: Option<&'static str>,
}

/// The overlays of a block at `c`.
pub fn overlays_at(
    c: Coord<f64>,
    subzone: &str,
    coastal: bool,
    p: &Places,
    rng: &mut ChaCha8Rng,
) -> Overlays {
    let low_lying = c.y < p.centre.y + 1_800.0;
    Overlays {
        kkop: kkop(c, p),
        krb: (low_lying && rng.r#gen::<f64>() < 0.25).then_some("Kawasan Rawan Banjir"),
        ksmpdn: coastal.then_some("Sempadan Pantai"),
        tod: (distance(c, p.centre) < 800.0).then_some("Kawasan TOD Klandasan"),
        cagbud: (subzone == "KPI" && distance(c, p.centre) < 3_000.0 && rng.r#gen::<f64>() < 0.05)
            .then_some("Cagar Budaya Kilang"),
        lp2b: None,
    }
}

/// The airport's safety zone (KKOP) at `c`; road bodies carry it too.
pub fn kkop(c: Coord<f64>, p: &Places) -> Option<&'static str> {
    let to_airport = distance(c, p.airport);
    let along_runway = (c.y - p.airport.y).abs() < 1_000.0;
    match to_airport {
        d if d < 4_000.0 && along_runway => {
            Some("K01B Kawasan Ancangan Pendaratan dan Lepas Landas")
        }
        d if d < 4_000.0 => Some("K01D Kawasan di Bawah Permukaan Transisi"),
        d if d < 6_000.0 => Some("K01F Kawasan di Bawah Permukaan Kerucut"),
        d if d < 15_000.0 => Some("K01G Kawasan di Bawah Permukaan Horizontal Luar"),
        _ => None,
    }
}

/// Whether a block on the city outline lies on the sea coast (south and east of the city, or the
/// bay in the west) rather than on the inland border.
pub fn is_coastal(kelurahan: &Kelurahan, centre: Coord<f64>, places: &Places) -> bool {
    let south_coast = centre.y < places.centre.y + 2_500.0;
    let east_coast = kelurahan.kecamatan == "Balikpapan Timur"
        && centre.x > places.airport.x + 4_000.0
        && centre.y < places.reservoir.y;
    let bay = kelurahan.name == "Kariangau" && centre.x < places.port.x - 3_000.0;
    south_coast || east_coast || bay
}

/// The two-letter code of a kecamatan (SWP and block codes).
pub fn kecamatan_abbreviation(kecamatan: &str) -> &'static str {
    match kecamatan {
        "Balikpapan Timur" => "TM",
        "Balikpapan Barat" => "BR",
        "Balikpapan Utara" => "UT",
        "Balikpapan Tengah" => "TG",
        "Balikpapan Selatan" => "SL",
        _ => "KT",
    }
}
