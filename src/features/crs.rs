//! The coordinate reference systems features are served in (OGC API Features Part 2): CRS84 (the
//! default), EPSG:4326 (latitude first), Web Mercator, UTM 50S, and the two TM-3 zones of
//! Balikpapan (DGN95 / Indonesia TM-3 50.1 and 50.2).

use super::{FeaturesError, Result};

/// A CRS a client may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crs {
    /// Its URI.
    pub uri: &'static str,
    /// Its PostGIS SRID.
    pub srid: i32,
    /// Whether its first axis is the latitude (EPSG:4326): coordinates are flipped.
    pub lat_first: bool,
    /// Decimal digits of its coordinates (1 cm).
    pub digits: i32,
}

/// The default: longitude, latitude on WGS 84.
pub const CRS84: Crs = Crs {
    uri: "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    srid: 4326,
    lat_first: false,
    digits: 7,
};

/// Every CRS served, the default first.
pub const SUPPORTED: [Crs; 6] = [
    CRS84,
    Crs {
        uri: "http://www.opengis.net/def/crs/EPSG/0/4326",
        srid: 4326,
        lat_first: true,
        digits: 7,
    },
    Crs {
        uri: "http://www.opengis.net/def/crs/EPSG/0/3857",
        srid: 3857,
        lat_first: false,
        digits: 2,
    },
    Crs {
        uri: "http://www.opengis.net/def/crs/EPSG/0/32750",
        srid: 32750,
        lat_first: false,
        digits: 2,
    },
    Crs {
        uri: "http://www.opengis.net/def/crs/EPSG/0/23837",
        srid: 23837,
        lat_first: false,
        digits: 2,
    },
    Crs {
        uri: "http://www.opengis.net/def/crs/EPSG/0/23838",
        srid: 23838,
        lat_first: false,
        digits: 2,
    },
];

/// The CRS named by `text`: its URI, or `[EPSG:N]` / `EPSG:N` (a safe CURIE).
pub fn parse(parameter: &'static str, text: &str) -> Result<Crs> {
    let wanted = text.trim().trim_start_matches('[').trim_end_matches(']');
    let wanted = match wanted.strip_prefix("EPSG:") {
        Some(code) => format!("http://www.opengis.net/def/crs/EPSG/0/{code}"),
        None if wanted.eq_ignore_ascii_case("OGC:CRS84") => CRS84.uri.to_string(),
        None => wanted.replace("https://", "http://"),
    };
    SUPPORTED
        .iter()
        .find(|c| c.uri == wanted)
        .copied()
        .ok_or_else(|| FeaturesError::Parameter {
            name: parameter,
            problem: format!(
                "\"{text}\" is not a CRS this server offers: {}",
                SUPPORTED.map(|c| c.uri).join(", ")
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_are_read_in_their_forms() {
        assert_eq!(parse("crs", CRS84.uri).unwrap(), CRS84);
        assert_eq!(parse("crs", "[EPSG:32750]").unwrap().srid, 32750);
        assert!(parse("crs", "EPSG:4326").unwrap().lat_first);
        assert!(parse("crs", "http://www.opengis.net/def/crs/EPSG/0/2000").is_err());
    }
}
