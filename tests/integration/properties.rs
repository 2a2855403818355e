//! Generated CQL2 filters against a published dataset on a live server (proptest): whatever the
//! filter, the answer is a feature collection (200) or a problem+json 400 that names the problem,
//! never a server error. The unit properties (`src/features/cql_props.rs`) check the SQL the
//! filters become; this checks that PostGIS accepts what is accepted.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use super::harness::fresh_db;
use super::node::{Client, complete_metadata, people, public_dataset};

/// A field of the dataset, or a name that is not one (quotes, semicolons, SQL).
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop_oneof![Just("nama"), Just("kategori"), Just("kapasitas"), Just("\"kapasitas\"")]
            .prop_map(str::to_string),
        1 => "[a-zA-Z_\"';() -]{1,16}",
    ]
}

/// A literal: numbers (also out of range), texts with quotes, NULL, booleans, dates.
fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        "[^']{0,24}".prop_map(|s| format!("'{s}'")),
        Just("'O''Brien; DROP TABLE dataset; --'".to_string()),
        Just("NULL".to_string()),
        Just("TRUE".to_string()),
        Just("1e400".to_string()),
        Just("'NaN'".to_string()),
        Just("DATE('2026-11-26')".to_string()),
        Just("TIMESTAMP('2026-02-30T25:61:00Z')".to_string()),
    ]
}

/// One predicate of CQL2 text.
fn predicate() -> impl Strategy<Value = String> {
    let comparison = (
        field(),
        prop_oneof![
            Just("="),
            Just("<>"),
            Just("<"),
            Just("<="),
            Just(">"),
            Just(">="),
            Just("LIKE")
        ],
        literal(),
    )
        .prop_map(|(f, op, v)| format!("{f} {op} {v}"));
    let between =
        (field(), literal(), literal()).prop_map(|(f, a, b)| format!("{f} BETWEEN {a} AND {b}"));
    let list = (field(), prop::collection::vec(literal(), 0..4))
        .prop_map(|(f, vs)| format!("{f} IN ({})", vs.join(", ")));
    let null = field().prop_map(|f| format!("{f} IS NULL"));
    let spatial = (
        prop_oneof![Just("S_INTERSECTS"), Just("S_WITHIN"), Just("S_DISJOINT")],
        [
            -400.0..400.0f64,
            -100.0..100.0,
            -400.0..400.0,
            -100.0..100.0,
        ],
    )
        .prop_map(|(op, [a, b, c, d])| format!("{op}(geometry, BBOX({a}, {b}, {c}, {d}))"));
    prop_oneof![6 => typed(), 3 => comparison, 1 => between, 1 => list, 1 => null, 1 => spatial]
}

/// A predicate of the right type for its field, as clients mostly send (so that nested filters
/// are accepted often enough for PostGIS to run them).
fn typed() -> impl Strategy<Value = String> {
    let ops = prop_oneof![
        Just("="),
        Just("<>"),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">=")
    ];
    prop_oneof![
        (ops, -1000i64..1000).prop_map(|(op, n)| format!("kapasitas {op} {n}")),
        "[a-z' ]{0,12}".prop_map(|s| format!("kategori = '{}'", s.replace('\'', "''"))),
        "[A-Za-z0-9%_ ]{0,12}".prop_map(|s| format!("nama LIKE '{s}'")),
    ]
}

/// Whole filters: predicates joined by AND, OR and NOT, nested; or arbitrary text.
fn filter() -> impl Strategy<Value = String> {
    let nested = predicate().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    });
    prop_oneof![6 => nested, 1 => "\\PC{0,80}"]
}

/// Forty facilities with a name, a kind and a capacity (some without).
fn facilities() -> String {
    let features: Vec<Value> = (0..40)
        .map(|i| {
            let kind = ["sekolah", "pasar"][i % 2];
            json!({ "type": "Feature",
                    "properties": { "nama": format!("Fasilitas {i}"), "kategori": kind,
                                    "kapasitas": if i % 7 == 0 { Value::Null } else { json!(i * 13) } },
                    "geometry": { "type": "Point", "coordinates": [116.80 + 0.002 * i as f64, -1.26] } })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

#[test]
fn generated_filters_are_answered_with_features_or_a_named_400_never_a_server_error() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (base, _db) = runtime.block_on(async {
        let db = fresh_db().await;
        let p = people(&db).await;
        let client = Client::new(&super::api::serve(&db).await);
        public_dataset(&client, &p, "fasilitas", facilities(), &complete_metadata()).await;
        (client.base.clone(), db)
    });
    let http = reqwest::Client::new();
    // The same filters every run (a fixed seed): a failure is reproduced by running it again.
    let config = Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&filter(), |text| {
        let url = reqwest::Url::parse_with_params(
            &format!("{base}/ogc/collections/fasilitas/items"),
            &[
                ("filter", text.as_str()),
                ("filter-lang", "cql2-text"),
                ("limit", "100"),
            ],
        )
        .unwrap();
        let (status, content_type, body) = runtime.block_on(async {
            let response = http.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (status, content_type, response.text().await.unwrap())
        });
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        match status {
            200 => {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert_eq!(&body["type"], "FeatureCollection", "{}", text);
            }
            400 => {
                prop_assert!(
                    content_type.starts_with("application/problem+json"),
                    "{text}"
                );
                let detail = body["detail"].as_str().unwrap_or_default();
                prop_assert!(!detail.is_empty() && detail.len() < 600, "{text}: {detail}");
                prop_assert!(!detail.contains("SELECT"), "SQL in the detail: {detail}");
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "{text:?} was answered {other}: {body}"
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Both paths were exercised: some filters accepted, run by PostGIS, others refused.
    let accepted = accepted.into_inner();
    assert!((30..280).contains(&accepted), "{accepted} of 300 accepted");
    eprintln!("{accepted} of 300 generated filters accepted and run by PostGIS");
}
