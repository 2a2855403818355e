//! Property tests of the parcel a user sends (`ParcelRequest::from_json`): any bytes, any JSON,
//! GeoJSON of the wrong depth, strings and huge numbers for coordinates, rings not closed or too
//! short, too many vertices, too wide or too large: never a panic, every refusal a
//! [`ParcelError`] whose message says what is wrong; and valid polygons come out as they went in.
//! Self-intersections are PostGIS's to find: `tests/integration/properties.rs` sends them.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::parcel::{ParcelError, ParcelRequest};
use crate::limits::LIMITS;

/// A refusal's message: present, and short enough to read (not the request sent back).
fn check_message(error: &ParcelError) -> Result<(), TestCaseError> {
    let message = error.to_string();
    prop_assert!(!message.trim().is_empty(), "{:?}", error);
    prop_assert!(
        message.chars().count() < 1000,
        "a message of {} characters: {:?}",
        message.chars().count(),
        error
    );
    Ok(())
}

/// Reads `body`; a refusal must have a message.
fn read(body: &[u8]) -> Result<Result<ParcelRequest, ParcelError>, TestCaseError> {
    let result = ParcelRequest::from_json(body);
    if let Err(e) = &result {
        check_message(e)?;
    }
    Ok(result)
}

/// JSON of any shape, with the words of GeoJSON in its keys and strings.
fn json_value() -> BoxedStrategy<Value> {
    let word = prop::sample::select(vec![
        "type",
        "coordinates",
        "geometry",
        "properties",
        "activity",
        "Polygon",
        "MultiPolygon",
        "Feature",
        "FeatureCollection",
        "Point",
    ])
    .prop_map(str::to_string);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        (116.0f64..117.5).prop_map(|n| json!(n)),
        word.clone().prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(8, 128, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(word.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A coordinate as a client might send it: good degrees, out of range, huge, or not a number.
fn coordinate(good: std::ops::Range<f64>) -> BoxedStrategy<Value> {
    prop_oneof![
        8 => good.prop_map(|v| json!(v)),
        1 => prop::sample::select(vec![1e300, -1e308, 181.0, -90.5, 1e-320, f64::MAX])
            .prop_map(|v| json!(v)),
        1 => prop::sample::select(vec!["NaN", "Infinity", "1e400", "", "116.8"])
            .prop_map(|s| json!(s)),
        1 => Just(Value::Null),
    ]
    .boxed()
}

/// `value` wrapped in `depth` arrays.
fn nest(value: Value, depth: usize) -> Value {
    (0..depth).fold(value, |v, _| json!([v]))
}

/// How a parcel is sent: bare, as a Feature, or wrapped with an activity.
fn wrap(geometry: Value, how: u8, activity: &str) -> Value {
    match how % 3 {
        0 => geometry,
        1 => json!({"type": "Feature", "properties": {"activity": activity}, "geometry": geometry}),
        _ => json!({"geometry": geometry, "activity": activity}),
    }
}

/// A star-shaped ring around `centre` (`radii` at increasing angles: a simple ring), closed,
/// counter-clockwise (or clockwise when `clockwise`).
fn star(centre: (f64, f64), radii: &[f64], clockwise: bool) -> Vec<[f64; 2]> {
    let n = radii.len();
    let mut ring: Vec<[f64; 2]> = radii
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let angle = std::f64::consts::TAU * i as f64 / n as f64;
            [centre.0 + r * angle.cos(), centre.1 + r * angle.sin()]
        })
        .collect();
    if clockwise {
        ring.reverse();
    }
    ring.push(ring[0]);
    ring
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any bytes: read or refused with a message, never a panic.
    #[test]
    fn any_bytes_are_read_or_refused(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = read(&body)?;
    }

    /// Any JSON, with GeoJSON's vocabulary: read or refused with a message.
    #[test]
    fn any_json_is_read_or_refused(value in json_value(), how in any::<u8>()) {
        let _ = read(wrap(value, how, "56101").to_string().as_bytes())?;
    }

    /// Positions nested at the wrong depth, or holding what is not a number, are refused as a
    /// shape; good numbers outside WGS 84 degrees are refused by their position.
    #[test]
    fn coordinates_of_the_wrong_depth_or_kind_are_refused(
        x in coordinate(116.8..116.9),
        y in coordinate(-1.3..-1.2),
        depth in 0usize..7,
        multi in any::<bool>(),
        how in any::<u8>(),
    ) {
        let (kind, right) = if multi { ("MultiPolygon", 3) } else { ("Polygon", 2) };
        let position = json!([x, y]);
        let ring = json!([position, [116.85, -1.25], [116.851, -1.25], position]);
        let geometry = json!({"type": kind, "coordinates": nest(ring, depth)});
        let result = read(wrap(geometry, how, "").to_string().as_bytes())?;
        let degrees = |v: &Value| v.as_f64();
        let good = match (degrees(&x), degrees(&y)) {
            (Some(x), Some(y)) => Some((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)),
            _ => None,
        };
        match (depth == right - 1, good) {
            (true, Some(true)) => prop_assert!(
                result.is_ok() || matches!(result, Err(ParcelError::NoArea | ParcelError::TooWide { .. } | ParcelError::TooLarge { .. })),
                "{:?}", result
            ),
            (true, Some(false)) => match result {
                Err(ParcelError::Shape(m)) => prop_assert!(m.contains("not WGS 84 degrees"), "{}", m),
                other => prop_assert!(false, "{:?}", other),
            },
            _ => prop_assert!(matches!(result, Err(ParcelError::Shape(_) | ParcelError::NotJson(_))), "{:?}", result),
        }
    }

    /// A ring that is not closed, or has fewer than four positions, is refused by its number.
    #[test]
    fn open_and_short_rings_are_refused_by_their_number(
        radii in prop::collection::vec(0.0001f64..0.001, 3..30),
        holes in 0usize..3,
        broken in 0usize..3,
        short in any::<bool>(),
    ) {
        let exterior = star((116.85, -1.25), &radii, false);
        let mut rings: Vec<Vec<[f64; 2]>> = vec![exterior];
        for _ in 0..holes {
            rings.push(star((116.85, -1.25), &[0.00002, 0.00002, 0.00002, 0.00002], true));
        }
        let broken = broken.min(rings.len() - 1);
        if short {
            rings[broken].truncate(3);
        } else {
            rings[broken].pop();
            rings[broken].push([116.9, -1.2]);
        }
        let geometry = json!({"type": "Polygon", "coordinates": rings});
        match read(geometry.to_string().as_bytes())? {
            Err(ParcelError::Ring { ring, problem }) => {
                prop_assert_eq!(ring, broken + 1);
                prop_assert!(problem.contains(if short { "fewer than four" } else { "not closed" }), "{}", problem);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Valid polygons (with holes, in one or several parts, sent in any of the three forms) come
    /// out as they went in, and the activity trimmed.
    #[test]
    fn valid_polygons_round_trip(
        parts in prop::collection::vec((prop::collection::vec(0.0002f64..0.005, 3..200), any::<bool>()), 1..4),
        multi in any::<bool>(),
        how in any::<u8>(),
        activity in "[ \t]{0,2}[0-9]{0,5}[ \t]{0,2}",
    ) {
        let parts = if multi { parts } else { parts[..1].to_vec() };
        let polygons: Vec<Vec<Vec<[f64; 2]>>> = parts
            .iter()
            .enumerate()
            .map(|(i, (radii, hole))| {
                let centre = (116.8 + 0.02 * i as f64, -1.25);
                let mut rings = vec![star(centre, radii, false)];
                if *hole {
                    let r = radii.iter().copied().fold(f64::MAX, f64::min) * 0.4;
                    rings.push(star(centre, &[r; 6], true));
                }
                rings
            })
            .collect();
        let geometry = if multi {
            json!({"type": "MultiPolygon", "coordinates": polygons})
        } else {
            json!({"type": "Polygon", "coordinates": polygons[0]})
        };
        let request = read(wrap(geometry, how, &activity).to_string().as_bytes())?
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Vec<Vec<Vec<[f64; 2]>>> = request
            .geometry()
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect())
                    .collect()
            })
            .collect();
        prop_assert_eq!(back, polygons);
        let sent = (how % 3 != 0).then(|| activity.trim()).filter(|a| !a.is_empty());
        prop_assert_eq!(request.activity(), sent);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Parcels beyond the limits are refused by the limit: vertices, span, area.
    #[test]
    fn parcels_beyond_the_limits_are_refused_by_the_limit(extra in 1usize..200, radius in 0.26f64..2.0, side in 0.029f64..0.25) {
        let many = star((116.85, -1.25), &vec![0.001; LIMITS.parcel_vertices + extra], false);
        let geometry = json!({"type": "Polygon", "coordinates": [many]});
        match read(geometry.to_string().as_bytes())? {
            Err(ParcelError::TooManyVertices { count }) => prop_assert_eq!(count, LIMITS.parcel_vertices + extra + 1),
            other => prop_assert!(false, "{:?}", other),
        }
        let wide = star((116.85, -1.25), &[radius; 8], false);
        let geometry = json!({"type": "Polygon", "coordinates": [wide]});
        let result = read(geometry.to_string().as_bytes())?;
        prop_assert!(matches!(result, Err(ParcelError::TooWide { .. })), "{:?}", result);
        // A square of `side` degrees: 0.029° is about 3.2 km, above 1,000 ha.
        let (x, y) = (116.8, -1.25);
        let square = json!([[[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]]);
        let result = read(json!({"type": "Polygon", "coordinates": square}).to_string().as_bytes())?;
        let hectares = (side * 111_000.0).powi(2) / 10_000.0;
        if hectares > LIMITS.parcel_area_ha * 1.05 {
            prop_assert!(matches!(result, Err(ParcelError::TooLarge { .. })), "{:?}", result);
        } else if hectares < LIMITS.parcel_area_ha * 0.95 {
            prop_assert!(result.is_ok(), "{:?}", result);
        }
    }
}
