//! Property tests of the CQL2 filter: generated filters (well-formed and not: hostile property
//! names, every operator and some that do not exist, nested and/or/not, long strings, NaN and
//! 1e400, temporal and spatial literals, deep nesting, token soup) either become SQL whose every
//! value is a bind parameter (the SQL text is made of this module's words and the collection's
//! columns only), or are refused with a `filter` error that says what is wrong. The database half
//! (accepted filters run without a database error) is in `tests/integration/properties.rs`.

use proptest::prelude::*;
use sqlx::{Postgres, QueryBuilder};

use super::FeaturesError;
use super::cql::{self, Lang};
use super::crs::{CRS84, SUPPORTED};
use crate::catalog::{Collection, Kind, MetadataRecord, Property, Source, Visibility};

/// A collection with a property of every kind, one with a space and one with a quote in its name.
fn collection() -> Collection {
    let property = |name: &str, kind| Property {
        name: name.into(),
        column: crate::catalog::quote_ident(name),
        kind,
    };
    Collection {
        id: "uji".into(),
        title: String::new(),
        description: String::new(),
        source: Some(Source {
            relation: "x".into(),
            id_column: "\"fid\"".into(),
            geometry_column: "\"geom\"".into(),
        }),
        properties: vec![
            property("nama", Kind::Text),
            property("kapasitas", Kind::Integer),
            property("luas", Kind::Number),
            property("aktif", Kind::Boolean),
            property("dibuka", Kind::Date),
            property("diubah", Kind::Timestamp),
            property("catatan", Kind::Other),
            property("nama lengkap", Kind::Text),
            property("o'brien", Kind::Text),
        ],
        visibility: Visibility::Public,
        agency: None,
        extent: None,
        features: 0,
        counted: true,
        geometry_type: None,
        record: MetadataRecord {
            id: String::new(),
            metadata: Default::default(),
            agency: String::new(),
            agency_name: String::new(),
            extent: None,
            crs: String::new(),
            geometry_type: None,
            features: 0,
            updated: String::new(),
            public: true,
        },
        version: None,
    }
}

/// The words the SQL writer itself uses: nothing else may appear in the SQL outside the
/// collection's quoted columns and `$n` placeholders.
const SQL_WORDS: &[&str] = &[
    "t",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "LIKE",
    "BETWEEN",
    "IN",
    "TRUE",
    "FALSE",
    "lower",
    "text",
    "date",
    "timestamptz",
    "ST_Intersects",
    "ST_Equals",
    "ST_Disjoint",
    "ST_Touches",
    "ST_Within",
    "ST_Overlaps",
    "ST_Crosses",
    "ST_Contains",
    "ST_Transform",
    "ST_GeomFromText",
    "ST_FlipCoordinates",
    "ST_MakeEnvelope",
    // The storage SRID the writer transforms to.
    "4326",
];

/// Checks that `sql` holds no text of the request: only [`SQL_WORDS`], the collection's quoted
/// columns, operators and brackets, and placeholders `$1`, `$2`, ... in order.
fn only_our_words(sql: &str, collection: &Collection) -> Result<(), String> {
    let mut columns: Vec<&str> = collection
        .properties
        .iter()
        .map(|p| p.column.as_str())
        .collect();
    let geometry = &collection.source.as_ref().unwrap().geometry_column;
    columns.push(geometry);
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut next_placeholder = 1;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '$' {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let n: String = chars[start + 1..i].iter().collect();
            if n != next_placeholder.to_string() {
                return Err(format!("placeholder ${n} out of order at {start} in {sql}"));
            }
            next_placeholder += 1;
        } else if c == '"' {
            // A quoted identifier, "" inside it being a quote.
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("an unclosed quote at {start} in {sql}")),
                    Some('"') if chars.get(i + 1) == Some(&'"') => i += 2,
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            let identifier: String = chars[start..i].iter().collect();
            if !columns.contains(&identifier.as_str()) {
                return Err(format!("{identifier} is not a column, in {sql}"));
            }
        } else if c.is_ascii_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if !SQL_WORDS.contains(&word.as_str()) {
                return Err(format!("\"{word}\" is not the writer's word, in {sql}"));
            }
        } else if " (),.:=<>".contains(c) {
            i += 1;
        } else {
            return Err(format!("{c:?} at {start} in {sql}"));
        }
    }
    Ok(())
}

/// Parses `text` and writes its SQL for [`collection`] (in a CRS of `crs`).
fn sql_of(text: &str, lang: Lang, crs: usize) -> Result<String, FeaturesError> {
    let expr = cql::parse(text, lang)?;
    let mut sql: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
    cql::push(
        &expr,
        &collection(),
        SUPPORTED[crs % SUPPORTED.len()],
        &mut sql,
    )?;
    Ok(sql.sql().to_string())
}

/// A refusal a client can act on: the `filter` parameter named, and a short reason (not a dump of
/// the request), or the operation the server does not implement.
fn check_refusal(error: &FeaturesError) -> Result<(), String> {
    let message = error.to_string();
    match error {
        FeaturesError::Parameter {
            name: "filter",
            problem,
        } if !problem.trim().is_empty() => {}
        FeaturesError::Unsupported(m) if m.contains("does not implement") => {}
        other => return Err(format!("not a filter refusal: {other:?}")),
    }
    if message.chars().count() > 600 {
        return Err(format!(
            "a message of {} characters: {}…",
            message.chars().count(),
            message.chars().take(300).collect::<String>()
        ));
    }
    Ok(())
}

/// The outcome of a filter: written with parameters only, or refused clearly.
fn check_filter(text: &str, crs: usize) -> Result<Option<String>, TestCaseError> {
    match sql_of(text, Lang::Text, crs) {
        Ok(sql) => {
            only_our_words(&sql, &collection()).map_err(TestCaseError::fail)?;
            Ok(Some(sql))
        }
        Err(e) => {
            check_refusal(&e).map_err(|m| TestCaseError::fail(format!("{text:?}: {m}")))?;
            Ok(None)
        }
    }
}

/// A CQL2 text literal of `s` (quotes doubled).
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Property names: the collection's, the geometry, random ones, quoted ones with quotes,
/// semicolons and brackets, and bare garbage.
fn name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "nama", "kapasitas", "luas", "aktif", "dibuka", "diubah", "catatan", "geometry",
            "geom", "\"nama lengkap\"", "\"o'brien\"", "\"nama\"", "fid", "t", "id",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z_][a-zA-Z0-9_.:]{0,10}",
        1 => "[a-zA-Z0-9 _;'\"()=-]{1,12}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        1 => "[a-zA-Z0-9 _;'\"()=-]{1,12}",
    ]
    .boxed()
}

/// Text literals: hostile, unicode, long, and some with an unescaped quote.
fn string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[^\u{0}]{0,24}".prop_map(|s| quoted(&s)),
        1 => prop::sample::select(vec![
            "x'; DROP TABLE t; --", "%", "_", "\\", "$1", "' OR '1'='1", "\u{202e}", "ß",
        ])
        .prop_map(quoted),
        1 => (1usize..3000).prop_map(|n| quoted(&"a'".repeat(n))),
        1 => "[a-z ]{0,8}'[a-z ]{0,8}".prop_map(|s| format!("'{s}'")),
    ]
    .boxed()
}

/// Numbers as written, including those that are not numbers in SQL.
fn number() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<i64>().prop_map(|n| n.to_string()),
        2 => any::<f64>().prop_map(|n| format!("{n:e}")),
        2 => prop::sample::select(vec![
            "NaN", "nan", "inf", "-Infinity", "1e400", "-1e400", "1e-400", "0x10", "1.2.3",
            "--1", "+1", "- - 2", "1_000", ".5", "5.", "00012", "99999999999999999999999",
        ])
        .prop_map(str::to_string),
    ]
    .boxed()
}

/// Dates, times and intervals, valid and not.
fn temporal() -> BoxedStrategy<String> {
    let day = prop_oneof![
        Just("2024-02-29".to_string()),
        Just("2023-02-29".to_string()),
        Just("0000-00-00".to_string()),
        Just("99999-01-01".to_string()),
        Just("2024-13-01".to_string()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[^\u{0}']{0,12}",
    ];
    let time = prop_oneof![
        Just("2024-01-01T00:00:00Z".to_string()),
        Just("2024-01-01T25:61:61Z".to_string()),
        Just("2024-01-01T00:00:00+14:00".to_string()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})",
    ];
    prop_oneof![
        day.clone().prop_map(|d| format!("DATE('{d}')")),
        time.clone().prop_map(|t| format!("TIMESTAMP('{t}')")),
        (day, time).prop_map(|(d, t)| format!("INTERVAL('{d}', '{t}')")),
        Just("INTERVAL('..', '..')".to_string()),
    ]
    .boxed()
}

/// Geometry literals: points, lines, polygons closed or not, bounding boxes of any arity, huge
/// and non-finite coordinates.
fn geometry() -> BoxedStrategy<String> {
    let coordinate = prop_oneof![
        4 => (-200.0f64..200.0).prop_map(|v| format!("{v}")),
        1 => number(),
    ];
    let pair = (coordinate.clone(), coordinate.clone()).prop_map(|(x, y)| format!("{x} {y}"));
    let ring = prop::collection::vec(pair.clone(), 0..8);
    prop_oneof![
        pair.clone().prop_map(|p| format!("POINT({p})")),
        Just("POINT EMPTY".to_string()),
        prop::collection::vec(pair.clone(), 0..5)
            .prop_map(|ps| format!("LINESTRING({})", ps.join(", "))),
        (ring.clone(), any::<bool>()).prop_map(|(mut r, close)| {
            if close && let Some(first) = r.first().cloned() {
                r.push(first);
            }
            format!("POLYGON(({}))", r.join(", "))
        }),
        prop::collection::vec(pair.clone(), 1..4)
            .prop_map(|ps| format!("MULTIPOINT({})", ps.join(", "))),
        prop::collection::vec(coordinate, 0..8).prop_map(|c| format!("BBOX({})", c.join(", "))),
        pair.prop_map(|p| format!("GEOMETRYCOLLECTION(POINT({p}))")),
    ]
    .boxed()
}

/// A value: a property, a literal of any kind, or a function (known or not).
fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        4 => name(),
        3 => string(),
        3 => number(),
        1 => prop::sample::select(vec!["TRUE", "FALSE", "true", "NULL"]).prop_map(str::to_string),
        2 => temporal(),
        2 => geometry(),
        1 => name().prop_map(|n| format!("CASEI({n})")),
        1 => string().prop_map(|s| format!("ACCENTI({s})")),
        1 => ("[a-z_]{1,8}", name()).prop_map(|(f, n)| format!("{f}({n})")),
        1 => (number(), prop::sample::select(vec!["+", "-", "*", "/", "%", "div"]), number())
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
    ]
    .boxed()
}

/// A predicate that compares a property with a value of its kind (most are accepted).
fn typed() -> BoxedStrategy<String> {
    let text = prop::sample::select(vec![
        "nama",
        "\"nama lengkap\"",
        "\"o'brien\"",
        "CASEI(nama)",
    ]);
    let numeric = prop::sample::select(vec!["kapasitas", "luas"]);
    let temporal_property = prop::sample::select(vec!["dibuka", "diubah"]);
    let comparison = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]);
    let spatial = prop::sample::select(vec![
        "S_INTERSECTS",
        "S_EQUALS",
        "S_DISJOINT",
        "S_TOUCHES",
        "S_WITHIN",
        "S_OVERLAPS",
        "S_CROSSES",
        "S_CONTAINS",
    ]);
    prop_oneof![
        (text.clone(), comparison.clone(), string()).prop_map(|(p, op, v)| format!("{p} {op} {v}")),
        (text.clone(), string()).prop_map(|(p, v)| format!("{p} LIKE {v}")),
        (text, prop::collection::vec(string(), 1..4))
            .prop_map(|(p, v)| format!("{p} IN ({})", v.join(", "))),
        (numeric.clone(), comparison.clone(), number())
            .prop_map(|(p, op, v)| format!("{p} {op} {v}")),
        (numeric.clone(), number(), number())
            .prop_map(|(p, a, b)| format!("{p} BETWEEN {a} AND {b}")),
        (numeric, prop::collection::vec(number(), 1..4))
            .prop_map(|(p, v)| format!("{p} IN ({})", v.join(", "))),
        any::<bool>().prop_map(|b| format!("aktif = {b}")),
        (temporal_property, comparison, temporal()).prop_map(|(p, op, v)| format!("{p} {op} {v}")),
        (spatial, geometry()).prop_map(|(f, g)| format!("{f}(geometry, {g})")),
        name().prop_map(|n| format!("{n} IS NULL")),
    ]
    .boxed()
}

/// A predicate: comparisons, LIKE, BETWEEN, IN, IS NULL, spatial, temporal and array functions,
/// and operators that do not exist.
fn predicate() -> BoxedStrategy<String> {
    let comparison = prop::sample::select(vec![
        "=", "<>", "<", "<=", ">", ">=", "==", "!=", "=<", "<<", "LIKE", "NOT LIKE",
    ]);
    let function = prop::sample::select(vec![
        "S_INTERSECTS",
        "S_EQUALS",
        "S_DISJOINT",
        "S_TOUCHES",
        "S_WITHIN",
        "S_OVERLAPS",
        "S_CROSSES",
        "S_CONTAINS",
        "s_intersects",
        "T_BEFORE",
        "T_INTERSECTS",
        "A_CONTAINS",
        "A_EQUALS",
        "PG_SLEEP",
        "S_INTERSECTS_",
    ]);
    prop_oneof![
        12 => typed(),
        6 => (scalar(), comparison, scalar()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        2 => (scalar(), any::<bool>(), scalar(), scalar())
            .prop_map(|(v, not, a, b)| format!("{v} {}BETWEEN {a} AND {b}", if not { "NOT " } else { "" })),
        2 => (scalar(), any::<bool>(), prop::collection::vec(scalar(), 0..5))
            .prop_map(|(v, not, items)| format!("{v} {}IN ({})", if not { "NOT " } else { "" }, items.join(", "))),
        1 => (scalar(), any::<bool>())
            .prop_map(|(v, not)| format!("{v} IS {}NULL", if not { "NOT " } else { "" })),
        3 => (function, prop::collection::vec(scalar(), 0..4))
            .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        1 => prop::sample::select(vec!["TRUE", "FALSE"]).prop_map(str::to_string),
    ]
    .boxed()
}

/// A condition: predicates combined with AND, OR, NOT and brackets, nested up to 6 deep (deeper nesting is in [`garbage`]).
fn condition() -> BoxedStrategy<String> {
    predicate()
        .prop_recursive(6, 32, 4, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} AND {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
                inner.clone().prop_map(|a| format!("NOT ({a})")),
                inner.clone().prop_map(|a| format!("NOT {a}")),
                inner.clone().prop_map(|a| format!("({a})")),
                prop::collection::vec(inner, 2..5).prop_map(|all| all.join(" OR ")),
            ]
        })
        .boxed()
}

/// Text that is mostly not CQL2: random characters, token soup, deep brackets and long chains.
fn garbage() -> BoxedStrategy<String> {
    let token = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        "'",
        "\"",
        "=",
        "<",
        ">",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "BETWEEN",
        "IS",
        "NULL",
        "nama",
        "kapasitas",
        "geometry",
        "1",
        "-",
        "+",
        "*",
        "/",
        "DATE",
        "TIMESTAMP",
        "POINT",
        "BBOX",
        "S_INTERSECTS",
        ";",
        "--",
        "/*",
        "*/",
        "\\",
        "\u{0}",
        "1e400",
        "NaN",
    ]);
    prop_oneof![
        2 => ".{0,200}",
        3 => prop::collection::vec(token, 0..40).prop_map(|t| t.join(" ")),
        1 => (0usize..300, predicate()).prop_map(|(n, p)| format!("{}{p}{}", "(".repeat(n), ")".repeat(n))),
        1 => (0usize..300, predicate()).prop_map(|(n, p)| format!("{}{p}", "NOT ".repeat(n))),
        1 => (0usize..600).prop_map(|n| format!("kapasitas = {}1", "1 = ".repeat(n))),
        1 => (0usize..200, predicate()).prop_map(|(n, p)| vec![p; n + 1].join(" AND ")),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the filter, it becomes SQL of the writer's words, columns and placeholders, or is
    /// refused with a short `filter` error; and the same filter as CQL2 JSON writes the same SQL.
    #[test]
    fn a_filter_is_written_with_parameters_or_refused_clearly(
        text in prop_oneof![3 => condition(), 1 => garbage()],
        crs in 0usize..6,
    ) {
        if let Some(sql) = check_filter(&text, crs)?
            && let Ok(json) = cql::parse(&text, Lang::Text).unwrap().to_json()
        {
            match sql_of(&json, Lang::Json, crs) {
                Ok(again) => prop_assert_eq!(again, sql, "as JSON: {}", json),
                // JSON nests two brackets a level: its limits bite sooner.
                Err(e) => prop_assert!(
                    ["brackets", "nests"].iter().any(|w| e.to_string().contains(w)),
                    "{} as JSON: {}", text, e
                ),
            }
        }
    }

    /// Arbitrary JSON as a cql2-json filter never panics and is written or refused the same way.
    #[test]
    fn any_json_filter_is_written_with_parameters_or_refused_clearly(json in json_value()) {
        let text = json.to_string();
        match sql_of(&text, Lang::Json, 0) {
            Ok(sql) => only_our_words(&sql, &collection()).map_err(TestCaseError::fail)?,
            Err(e) => check_refusal(&e).map_err(|m| TestCaseError::fail(format!("{text}: {m}")))?,
        }
    }

    /// A property that is not a queryable is refused by its name, however it is spelt.
    #[test]
    fn an_unknown_property_is_refused_by_its_name(
        name in "[a-zA-Z0-9 _;'()=.-]{1,16}",
        value in prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[^\u{0}]{0,24}".prop_map(|s| quoted(&s))],
    ) {
        prop_assume!(collection().property(&name).is_none() && !matches!(name.as_str(), "geometry" | "geom"));
        let text = format!("\"{name}\" = {value}");
        let error = sql_of(&text, Lang::Text, 0).expect_err(&text);
        let message = error.to_string();
        prop_assert!(
            message.contains(&format!("\"{name}\" is not a queryable")),
            "{}: {}", text, message
        );
    }

    /// A text value, whatever it holds, is one parameter: the SQL is the same for every value.
    #[test]
    fn any_text_value_is_one_parameter(value in "[^\u{0}]{0,64}", column in prop::sample::select(vec!["nama", "\"nama lengkap\"", "\"o'brien\""])) {
        let property = column.trim_matches('"');
        let expected = format!("(t.{} = $1)", crate::catalog::quote_ident(property));
        prop_assert_eq!(sql_of(&format!("{column} = {}", quoted(&value)), Lang::Text, 0).unwrap(), expected);
        let like = sql_of(&format!("{column} LIKE {}", quoted(&value)), Lang::Text, 0).unwrap();
        prop_assert_eq!(like, format!("(t.{}::text LIKE $1)", crate::catalog::quote_ident(property)));
    }
}

/// JSON values of any shape, with the vocabulary of cql2-json in their keys and strings.
fn json_value() -> BoxedStrategy<serde_json::Value> {
    use serde_json::{Value, json};
    let word = prop::sample::select(vec![
        "op",
        "args",
        "property",
        "=",
        "and",
        "or",
        "not",
        "like",
        "in",
        "between",
        "isNull",
        "s_intersects",
        "t_before",
        "casei",
        "date",
        "timestamp",
        "interval",
        "bbox",
        "type",
        "coordinates",
        "Point",
        "Polygon",
        "nama",
        "kapasitas",
        "geometry",
        "dibuka",
    ])
    .prop_map(str::to_string);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        word.clone().prop_map(Value::String),
        "[^\u{0}]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(8, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(word.clone(), inner.clone(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            (word.clone(), prop::collection::vec(inner, 0..4))
                .prop_map(|(op, args)| json!({ "op": op, "args": args })),
        ]
    })
    .boxed()
}

#[test]
fn the_checker_catches_text_in_the_sql() {
    let c = collection();
    assert!(only_our_words("(t.\"nama\" = $1)", &c).is_ok());
    assert!(only_our_words("(t.\"nama\" = 'x')", &c).is_err());
    assert!(only_our_words("(t.\"nama\" = $2)", &c).is_err());
    assert!(only_our_words("(t.\"pg_sleep\" = $1)", &c).is_err());
    assert!(only_our_words("(t.\"nama\" = 1)", &c).is_err());
    assert!(only_our_words("(t.\"nama\" = $1); DROP", &c).is_err());
    assert!(only_our_words("ST_Transform(x, 4326)", &c).is_err());
    assert_eq!(CRS84, SUPPORTED[0]);
}

/// The generated filters reach both outcomes often: the properties above are not vacuous.
#[test]
fn the_generated_filters_are_both_accepted_and_refused() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = condition();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..1000 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        match sql_of(&text, Lang::Text, 0) {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    eprintln!("generated filters: {accepted} accepted, {refused} refused");
    assert!(
        accepted >= 100 && refused >= 100,
        "{accepted} accepted, {refused} refused"
    );
}
