//! Property tests of the import's field mapping ([`super::fields`]): attribute names in any case
//! and values of any kind (whitespace, unicode, numbers as text and as floats, empty, null) never
//! make it panic; the mapping is deterministic and does not depend on the order of the fields;
//! and the documented aliases (KODSZN and KODSZNTEXT with the letter or the 8-digit code, also as
//! a float; KODSBL and KODEWP with the letter code; NAMSZN and NAMOBJ with the name in any case;
//! the "no overlay" values) map as documented.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::fields::{CodeMap, Fields, OVERLAY_FIELDS, Resolver, SubzoneMatch};
use crate::rules::{Reference, RuleBook, Subzone};

/// The shipped rule set over the shipped catalogue.
fn book() -> &'static RuleBook {
    static BOOK: OnceLock<RuleBook> = OnceLock::new();
    BOOK.get_or_init(|| {
        let reference = Reference::shipped().expect("the shipped reference");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/rules");
        let rules = crate::rules::load_dir(&dir, &reference).expect("the shipped rules");
        RuleBook::new(0, String::new(), rules, Arc::new(reference))
    })
}

/// The sub-zones of the rule set whose name no other sub-zone has (a name then means one).
fn subzones() -> Vec<Subzone> {
    let mut names: HashMap<String, usize> = HashMap::new();
    for s in book().subzones() {
        *names.entry(s.name.trim().to_lowercase()).or_default() += 1;
    }
    book()
        .subzones()
        .iter()
        .filter(|s| names[&s.name.trim().to_lowercase()] == 1)
        .cloned()
        .collect()
}

/// `text` with the case of each letter chosen by `flips`.
fn recase(text: &str, flips: &[bool]) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if flips.get(i % flips.len().max(1)).copied().unwrap_or(false) {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// Resolves `attributes` with a fresh resolver (no code map, no preference).
fn resolve(attributes: &Map<String, Value>) -> SubzoneMatch {
    let map = CodeMap::default();
    Resolver::new(book(), &map, None).resolve(&Fields::new(attributes))
}

/// Field names: the Permen 14 schema's in any case, and others (unicode, spaces, empty).
fn field_name() -> BoxedStrategy<String> {
    let permen = prop::sample::select(vec![
        "KODSZN",
        "KODSZNTEXT",
        "KODSBL",
        "KODEWP",
        "NAMSZN",
        "NAMOBJ",
        "KODBLK",
        "WADMKD",
        "WADMKC",
        "KKOP_1",
        "KRB_03",
        "KSMPDN",
        "TPZ_00",
    ]);
    prop_oneof![
        3 => (permen, prop::collection::vec(any::<bool>(), 1..8))
            .prop_map(|(n, flips)| recase(n, &flips)),
        1 => ".{0,10}",
        1 => Just(String::new()),
        1 => " ?[a-zA-Zß_é]{1,8} ?",
    ]
    .boxed()
}

/// Values: codes, names and catalogue codes of the rule set (with whitespace, in any case, as
/// float text and as numbers), the "no overlay" words, unicode, empty, null, numbers, lists.
fn field_value() -> BoxedStrategy<Value> {
    let subzones = subzones();
    let known = prop::sample::select(subzones).prop_flat_map(|s| {
        prop_oneof![
            Just(json!(s.code)),
            Just(json!(s.code.to_lowercase())),
            Just(json!(s.name.to_uppercase())),
            Just(json!(format!(" {} ", s.catalog_code))),
            Just(json!(format!("{}.0", s.catalog_code))),
            Just(
                s.catalog_code
                    .parse::<f64>()
                    .map_or(Value::Null, |f| json!(f))
            ),
        ]
    });
    prop_oneof![
        4 => known,
        1 => prop::sample::select(vec!["", " ", "-", "Tidak Ada", "NONE", "0", "tidak"]).prop_map(|s| json!(s)),
        1 => ".{0,16}".prop_map(Value::String),
        1 => "[0-9]{1,10}(\\.[0-9]{0,2})?".prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<bool>().prop_map(|b| json!(b)),
        1 => prop::collection::vec(any::<i32>(), 0..3).prop_map(|v| json!(v)),
    ]
    .boxed()
}

/// Attributes as a file gives them: names in file order (a name given twice keeps its last value,
/// as a JSON object would).
fn attributes() -> BoxedStrategy<Map<String, Value>> {
    prop::collection::vec((field_name(), field_value()), 0..10)
        .prop_map(|pairs| pairs.into_iter().collect())
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A field is read by its name in upper case whatever case the file writes it in: its text
    /// trimmed (none when empty or null), a whole float without its `.0`.
    #[test]
    fn fields_are_read_by_name_in_any_case(attributes in attributes()) {
        let fields = Fields::new(&attributes);
        let mut seen = BTreeSet::new();
        for (name, value) in &attributes {
            let upper = name.to_uppercase();
            if !seen.insert(upper.clone()) {
                continue;
            }
            // Where names differ only in case, the first with a value is read.
            let value = attributes
                .iter()
                .filter(|(n, _)| n.to_uppercase() == upper)
                .map(|(_, v)| v)
                .find(|v| !v.is_null())
                .unwrap_or(value);
            let expected = match value {
                Value::Null => None,
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                    _ => n.to_string(),
                }),
                other => Some(other.to_string()),
            }
            .filter(|t| !t.is_empty());
            prop_assert_eq!(fields.text(&upper), expected, "{}", name);
        }
    }

    /// The same attributes resolve to the same sub-zone, overlays and columns every time, and in
    /// any order of their fields (when no two names differ only in case).
    #[test]
    fn the_mapping_is_deterministic_and_ignores_the_order_of_fields(attributes in attributes()) {
        let first = resolve(&attributes);
        prop_assert_eq!(&resolve(&attributes), &first);
        let distinct: BTreeSet<String> = attributes.keys().map(|k| k.to_uppercase()).collect();
        if distinct.len() == attributes.len() {
            let reversed: Map<String, Value> = attributes.clone().into_iter().rev().collect();
            prop_assert_eq!(&resolve(&reversed), &first);
            prop_assert_eq!(Fields::new(&reversed).overlays(), Fields::new(&attributes).overlays());
        }
        // A resolver that already met the row (and derived its sub-zone) answers the same.
        let map = CodeMap::default();
        let mut resolver = Resolver::new(book(), &map, None);
        let fields = Fields::new(&attributes);
        let once = resolver.resolve(&fields);
        prop_assert_eq!(&resolver.resolve(&fields), &once);
        prop_assert_eq!(&once, &first);
        for (name, value) in Fields::new(&attributes).overlays() {
            prop_assert!(OVERLAY_FIELDS.contains(&name.as_str()));
            let value = value.as_str().unwrap_or_default().to_lowercase();
            prop_assert!(!["", "-", "tidak ada", "tidak", "none", "0"].contains(&value.as_str()));
        }
    }

    /// Each documented alias names its sub-zone: KODSZN or KODSZNTEXT with the letter code (any
    /// case, R3 for R-3) or the 8-digit code (also `.0` and a float), KODSBL or KODEWP with the
    /// letter code, NAMSZN or NAMOBJ with the name (any case) or the 8-digit code; names of the
    /// fields in any case, values with spaces around.
    #[test]
    fn documented_aliases_name_their_subzone(
        subzone in prop::sample::select(subzones()),
        alias in 0usize..6,
        form in 0usize..5,
        flips in prop::collection::vec(any::<bool>(), 1..8),
        pad in prop::sample::select(vec!["", " ", "\t", "  "]),
    ) {
        let field = ["KODSZN", "KODSZNTEXT", "KODSBL", "KODEWP", "NAMSZN", "NAMOBJ"][alias];
        let numeric = subzone.catalog_code.len() == 8;
        let dashless = subzone
            .code
            .split_once('-')
            .filter(|(_, d)| d.starts_with(|c: char| c.is_ascii_digit()))
            .map(|(l, d)| format!("{l}{d}"))
            .filter(|d| book().legend(d).is_none());
        let value = match (alias, form) {
            (0 | 1, 0) | (2 | 3, _) => json!(format!("{pad}{}{pad}", recase(&subzone.code, &flips))),
            (0 | 1, 1) if dashless.is_some() => json!(dashless.unwrap()),
            (0 | 1 | 4 | 5, 2) if numeric => json!(format!("{pad}{}{pad}", subzone.catalog_code)),
            (0 | 1, 3) if numeric => json!(format!("{}.0", subzone.catalog_code)),
            (0 | 1, 4) if numeric => json!(subzone.catalog_code.parse::<f64>().unwrap()),
            (4 | 5, _) => json!(format!("{pad}{}{pad}", recase(&subzone.name, &flips))),
            _ => json!(subzone.code),
        };
        let attributes: Map<String, Value> =
            [(recase(field, &flips), value.clone())].into_iter().collect();
        let found = resolve(&attributes);
        prop_assert_eq!(
            found,
            SubzoneMatch::Found { code: subzone.code.clone(), resolved: None },
            "{} = {}", field, value
        );
    }

    /// An overlay field holds its value trimmed, unless the value says "no overlay" (in any case).
    #[test]
    fn overlays_keep_their_value_unless_it_says_none(
        field in prop::sample::select(OVERLAY_FIELDS.to_vec()),
        none in prop::sample::select(vec!["", "-", "tidak ada", "TIDAK ADA", "Tidak", "none", "None", "0"]),
        value in "[A-Za-z][A-Za-z0-9 ]{0,20}",
        pad in prop::sample::select(vec!["", " ", "\t"]),
        flips in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let name = recase(field, &flips);
        let absent: Map<String, Value> = [(name.clone(), json!(format!("{pad}{none}{pad}")))].into_iter().collect();
        prop_assert!(Fields::new(&absent).overlays().is_empty());
        let present: Map<String, Value> = [(name, json!(format!("{pad}{value}{pad}")))].into_iter().collect();
        let overlays = Fields::new(&present).overlays();
        let trimmed = value.trim();
        if ["tidak ada", "tidak", "none"].contains(&trimmed.to_lowercase().as_str()) {
            prop_assert!(overlays.is_empty());
        } else {
            prop_assert_eq!(overlays.get(field), Some(&json!(trimmed)));
        }
    }
}
