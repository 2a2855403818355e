//! Coordinates as people type them: decimal degrees (`-1.2654, 116.8312`, in either order),
//! degrees-minutes-seconds with hemisphere letters in English or Indonesian (`1°15'55"S
//! 116°49'52"E`, `1°15'55" LS 116°49'52" BT`), and UTM (`50S 483000 9860000`; bare easting and
//! northing are read in zone 50S, Balikpapan's). The reading is written by hand: it is a few
//! patterns, which no crate reads together; the UTM conversion is PROJ's (in PostGIS).

/// Coordinates read from a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// WGS 84 degrees.
    Degrees {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
        /// How the text was read, in words.
        read_as: &'static str,
    },
    /// A UTM position on WGS 84.
    Utm {
        /// Zone number, 1..=60.
        zone: u8,
        /// Southern hemisphere.
        south: bool,
        /// Easting, metres.
        easting: f64,
        /// Northing, metres.
        northing: f64,
        /// Whether the zone was assumed (bare easting and northing).
        assumed: bool,
    },
}

impl Typed {
    /// The EPSG code of a UTM position (WGS 84 / UTM zone N or S).
    pub fn epsg(&self) -> Option<u32> {
        match self {
            Typed::Utm { zone, south, .. } => {
                Some(if *south { 32700 } else { 32600 } + u32::from(*zone))
            }
            Typed::Degrees { .. } => None,
        }
    }
}

/// Reads `text` as coordinates: `None` when it does not look like coordinates (a place name),
/// `Some(Err)` when it does but cannot be read (the message says why).
pub fn parse(text: &str) -> Option<Result<Typed, String>> {
    let text = text.trim();
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    let letters: String = text.chars().filter(|c| c.is_alphabetic()).collect();
    if !has_digit || letters.chars().count() > 8 {
        return None;
    }
    if let Some(utm) = utm(text) {
        return Some(utm);
    }
    if text
        .chars()
        .any(|c| matches!(c, '°' | '\'' | '"' | '′' | '″'))
        || letters.chars().any(|c| "NSEWUTBLnsewutbl".contains(c)) && !letters.is_empty()
    {
        return Some(dms(text));
    }
    let numbers = numbers(text)?;
    Some(decimal(&numbers))
}

/// The numbers of a text of numbers separated by commas, semicolons or spaces; `None` if anything
/// else is in it.
fn numbers(text: &str) -> Option<Vec<f64>> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// Two decimal numbers: the one beyond ±90 is the longitude; else latitude first, as map
/// applications copy them.
fn decimal(numbers: &[f64]) -> Result<Typed, String> {
    let [a, b] = numbers else {
        return Err(format!(
            "{} numbers: give a latitude and a longitude (e.g. -1.2654, 116.8312)",
            numbers.len()
        ));
    };
    let (lat, lon, read_as) = if a.abs() > 90.0 {
        (*b, *a, "decimal degrees, longitude first")
    } else {
        (*a, *b, "decimal degrees, latitude first")
    };
    check_degrees(lon, lat)?;
    Ok(Typed::Degrees { lon, lat, read_as })
}

fn check_degrees(lon: f64, lat: f64) -> Result<(), String> {
    if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) {
        Ok(())
    } else {
        Err(format!(
            "longitude {lon} and latitude {lat} are not degrees (longitude -180..180, latitude -90..90)"
        ))
    }
}

/// Degrees, minutes and seconds with hemisphere letters: N/S/E/W, or Indonesian U/S/T/B, LU/LS
/// (lintang utara/selatan), BT/BB (bujur timur/barat).
fn dms(text: &str) -> Result<Typed, String> {
    // A comma followed by a space separates the two positions; within a number it is a decimal comma.
    let upper = text.to_uppercase().replace(", ", " ").replace(';', " ");
    let mut parts: Vec<(Vec<f64>, char)> = Vec::new();
    let mut current = String::new();
    let mut chars = upper.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphabetic() {
            let mut word = c.to_string();
            while let Some(&next) = chars.peek() {
                if next.is_alphabetic() {
                    word.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            let hemisphere = match word.as_str() {
                "N" | "U" | "LU" => 'N',
                "S" | "LS" => 'S',
                "E" | "T" | "BT" => 'E',
                "W" | "B" | "BB" => 'W',
                other => {
                    return Err(format!(
                        "\"{other}\" is not a hemisphere (N, S, E, W; LU, LS, BT, BB)"
                    ));
                }
            };
            let values: Vec<f64> = current
                .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
                .filter(|s| !s.is_empty())
                .map(|s| s.replace(',', ".").parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    format!("\"{}\" is not degrees, minutes and seconds", current.trim())
                })?;
            parts.push((values, hemisphere));
            current.clear();
        } else {
            current.push(c);
        }
    }
    if !current.trim().is_empty() || parts.len() != 2 {
        return Err(
            "give two positions, each with its hemisphere, e.g. 1°15'55\"S 116°49'52\"E".into(),
        );
    }
    let mut lon = None;
    let mut lat = None;
    for (values, hemisphere) in parts {
        let value = sexagesimal(&values)?;
        match hemisphere {
            'N' => lat = Some(value),
            'S' => lat = Some(-value),
            'E' => lon = Some(value),
            _ => lon = Some(-value),
        }
    }
    let (Some(lon), Some(lat)) = (lon, lat) else {
        return Err("give one latitude (N or S) and one longitude (E or W)".into());
    };
    check_degrees(lon, lat)?;
    Ok(Typed::Degrees {
        lon,
        lat,
        read_as: "degrees, minutes and seconds",
    })
}

/// Degrees with optional minutes and seconds.
fn sexagesimal(values: &[f64]) -> Result<f64, String> {
    let (d, m, s) = match values {
        [d] => (*d, 0.0, 0.0),
        [d, m] => (*d, *m, 0.0),
        [d, m, s] => (*d, *m, *s),
        _ => {
            return Err(format!(
                "{} numbers in one position: give degrees, minutes, seconds",
                values.len()
            ));
        }
    };
    if m >= 60.0 || s >= 60.0 || (values.len() > 1 && d.fract() != 0.0) {
        return Err(format!(
            "{d}° {m}' {s}\" is not degrees, minutes and seconds"
        ));
    }
    Ok(d + m / 60.0 + s / 3600.0)
}

/// A UTM position: `50S 483000 9860000` (zone and hemisphere or latitude band), `UTM 50S ...`, or
/// bare easting and northing in the ranges UTM uses (read in zone 50S).
fn utm(text: &str) -> Option<Result<Typed, String>> {
    let upper = text
        .to_uppercase()
        .replace("UTM", " ")
        .replace("ZONE", " ")
        .replace("ZONA", " ");
    let tokens: Vec<&str> = upper
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    let (zone, south, assumed, rest) = match tokens.as_slice() {
        [zone, rest @ ..]
            if rest.len() == 2 && zone.ends_with(|c: char| c.is_ascii_alphabetic()) =>
        {
            let (number, letter) = zone.split_at(zone.len() - 1);
            let number = number.trim();
            let zone: u8 = number.parse().ok()?;
            // A letter N or S is a hemisphere; other letters are latitude bands (C..M south).
            let south = match letter {
                "S" => true,
                "N" => false,
                band if ("C".."N").contains(&band) && band != "I" => true,
                band if ("N".."Y").contains(&band) && band != "O" => false,
                _ => return Some(Err(format!("\"{zone}{letter}\" is not a UTM zone"))),
            };
            (zone, south, false, rest)
        }
        [zone, letter, rest @ ..] if rest.len() == 2 && letter.len() == 1 => {
            let zone: u8 = zone.parse().ok()?;
            (zone, *letter == "S", false, rest)
        }
        [_, _] => (50, true, true, &tokens[..]),
        _ => return None,
    };
    let numbers: Vec<f64> = rest
        .iter()
        .map(|s| s.parse::<f64>().ok())
        .collect::<Option<_>>()?;
    let [easting, northing] = numbers[..] else {
        return None;
    };
    let in_range =
        (100_000.0..=900_000.0).contains(&easting) && (0.0..=10_000_000.0).contains(&northing);
    if assumed && !in_range {
        return None;
    }
    if !(1..=60).contains(&zone) {
        return Some(Err(format!("UTM zone {zone} does not exist (1..60)")));
    }
    if !in_range {
        return Some(Err(format!(
            "easting {easting} and northing {northing} are not UTM metres (easting 100000..900000, northing 0..10000000)"
        )));
    }
    Some(Ok(Typed::Utm {
        zone,
        south,
        easting,
        northing,
        assumed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn degrees(text: &str) -> (f64, f64) {
        match parse(text).unwrap().unwrap() {
            Typed::Degrees { lon, lat, .. } => (lon, lat),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decimal_degrees_in_either_order() {
        assert_eq!(degrees("-1.2654, 116.8312"), (116.8312, -1.2654));
        assert_eq!(degrees("116.8312 -1.2654"), (116.8312, -1.2654));
        assert_eq!(degrees("-1.2654;116.8312"), (116.8312, -1.2654));
        assert!(parse("-1.2654, 216.8").unwrap().is_err());
        assert!(parse("1 2 3").unwrap().is_err());
    }

    #[test]
    fn degrees_minutes_seconds_in_english_and_indonesian() {
        let (lon, lat) = degrees("1°15'55.4\"S 116°49'52.3\"E");
        assert!((lat + (1.0 + 15.0 / 60.0 + 55.4 / 3600.0)).abs() < 1e-9);
        assert!((lon - (116.0 + 49.0 / 60.0 + 52.3 / 3600.0)).abs() < 1e-9);
        assert_eq!(degrees("1° 15' 55.4\" LS 116° 49' 52.3\" BT"), (lon, lat));
        assert_eq!(degrees("116 49 52.3 E, 1 15 55.4 S"), (lon, lat));
        assert!(parse("1°75'0\"S 116°0'0\"E").unwrap().is_err());
        assert!(parse("1°15'S 2°0'N").unwrap().is_err());
    }

    #[test]
    fn utm_with_a_zone_or_in_balikpapans_zone() {
        let expected = Typed::Utm {
            zone: 50,
            south: true,
            easting: 483_000.0,
            northing: 9_860_000.0,
            assumed: false,
        };
        assert_eq!(parse("50S 483000 9860000").unwrap().unwrap(), expected);
        assert_eq!(
            parse("UTM 50 S 483000, 9860000").unwrap().unwrap(),
            expected
        );
        assert_eq!(parse("50M 483000 9860000").unwrap().unwrap(), expected);
        assert!(matches!(
            parse("483000 9860000").unwrap().unwrap(),
            Typed::Utm {
                zone: 50,
                south: true,
                assumed: true,
                ..
            }
        ));
        assert_eq!(expected.epsg(), Some(32750));
        assert!(parse("61S 483000 9860000").unwrap().is_err());
    }

    #[test]
    fn names_are_not_coordinates() {
        assert!(parse("Klandasan Ilir").is_none());
        assert!(parse("Gunung Samarinda Baru").is_none());
        assert!(parse("RT 05 Gunung Bahagia").is_none());
    }
}
