//! The rule tables: clear errors for broken CSV, and the stored rules as lookups read them.

use std::fs;
use std::path::Path;
use std::process::Command;

use std::sync::Arc;

use satupeta::rules::{self, Reference, RuleBook, RulesError};

use super::harness::{fresh_db, root, scratch_dir};

/// A copy of the shipped rule tables in a scratch directory, with `edit` applied to one file.
fn edited_rules(file: &str, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let dir = scratch_dir().join("rules");
    fs::create_dir_all(&dir).unwrap();
    for entry in fs::read_dir(root().join("data/rules")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let path = dir.join(file);
    fs::write(&path, edit(fs::read_to_string(&path).unwrap())).unwrap();
    dir
}

fn errors(dir: &Path) -> Vec<String> {
    match rules::load_dir(dir, &Reference::shipped().unwrap()) {
        Err(RulesError::Invalid(errors)) => errors,
        other => panic!("expected errors, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn broken_rule_tables_name_each_problem() {
    let dir = edited_rules("itbx.csv", |text| text.replacen(",R-3,", ",R-33,", 1));
    let found = errors(&dir);
    assert!(
        found
            .iter()
            .any(|e| e.contains("unknown sub-zone \"R-33\"")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.contains("sub-zone R-3 has no column")),
        "{found:?}"
    );

    let dir = edited_rules("intensity.csv", |text| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let row = lines.iter().position(|l| l.starts_with("R-3,")).unwrap();
        let mut cells: Vec<String> = lines[row].split(',').map(str::to_string).collect();
        cells[3] = "enam puluh".into();
        lines[row] = cells.join(",");
        lines.join("\n")
    });
    let found = errors(&dir);
    assert!(
        found.iter().any(|e| e.contains("intensity.csv:")
            && e.contains("`kdb_max` is \"enam puluh\", not a number")),
        "{found:?}"
    );

    let dir = edited_rules("activities.csv", |text| {
        let second = text.lines().nth(1).unwrap().to_string();
        format!("{text}{second}\n")
    });
    let found = errors(&dir);
    assert!(
        found.iter().any(|e| e.contains("duplicate activity id")),
        "{found:?}"
    );

    let dir = edited_rules("itbx.csv", |text| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
        cells[1] = "T9".into();
        lines[1] = cells.join(",");
        lines.join("\n")
    });
    let found = errors(&dir);
    assert!(
        found.iter().any(|e| e.contains("unknown condition \"T9\"")),
        "{found:?}"
    );
}

#[test]
fn intensity_tiers_must_follow_each_other() {
    let dir = edited_rules("intensity.csv", |text| {
        text.lines()
            .filter(|l| !(l.starts_with("R-3,200,")))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let found = errors(&dir);
    assert!(
        found
            .iter()
            .any(|e| e.contains("the tiers of R-3 do not follow each other")),
        "{found:?}"
    );
}

#[tokio::test]
async fn rules_without_a_sub_zone_in_use_publish_a_version_that_says_so() {
    let db = fresh_db().await;
    let plan = super::fixtures::standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    let options = satupeta::ingest::ImportOptions {
        plan: Some("Dipakai".into()),
        ..satupeta::ingest::ImportOptions::new(&plan)
    };
    let first = satupeta::ingest::import(&db.pool, &options).await.unwrap();
    assert!(first.report.unregulated_subzones.is_empty());
    let mut rules =
        rules::load_dir(&root().join("data/rules"), &Reference::shipped().unwrap()).unwrap();
    rules.subzones.retain(|s| s.code != "RTH-7");
    rules.intensity.retain(|t| t.subzone != "RTH-7");
    rules.itbx.retain(|c| c.subzone != "RTH-7");
    let outcome = satupeta::ingest::publish_rules(&db.pool, Some("Dipakai"), &rules, None)
        .await
        .unwrap();
    assert_eq!(outcome.versions.len(), 1);
    let version = &outcome.versions[0];
    assert_eq!(version.version, 2);
    assert_eq!(version.unregulated.len(), 1, "{:?}", version.unregulated);
    assert!(
        version.unregulated[0].contains("RTH-7"),
        "{:?}",
        version.unregulated
    );
    // The new version reuses the zoning rows of the first: none were copied.
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM zoning_feature")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows as usize, first.report.features_published);
    // The shipped rule set is the city's; the plan's rule set is another, stored once.
    let sets: i64 = sqlx::query_scalar("SELECT count(*) FROM rule_set")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(sets, 2);
    // Loading the same rules again publishes nothing: the plan already uses them.
    let again = satupeta::ingest::publish_rules(&db.pool, Some("Dipakai"), &rules, None)
        .await
        .unwrap();
    assert!(again.versions.is_empty() && again.rule_set.reused);
    assert_eq!(again.unchanged, vec!["Dipakai".to_string()]);
    // A plan that does not exist is named.
    let missing = satupeta::ingest::publish_rules(&db.pool, Some("Tidak Ada"), &rules, None)
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("there is no plan \"Tidak Ada\""),
        "{missing}"
    );
}

#[test]
fn the_cli_refuses_broken_rules_with_a_message_and_a_non_zero_exit() {
    let dir = edited_rules("subzones.csv", |text| text.replace("#FFF005", "kuning"));
    let output = Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args(["rules", "load"])
        .arg(&dir)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`color` \"kuning\" is not #RRGGBB"),
        "{stderr}"
    );
}

#[tokio::test]
async fn stored_rules_resolve_kbli_codes_and_sub_zone_codes() {
    let db = fresh_db().await;
    let mut conn = db.pool.acquire().await.unwrap();
    let reference = Arc::new(Reference::load(&mut conn).await.unwrap());
    let city = rules::city_rule_set(&mut conn, None)
        .await
        .unwrap()
        .unwrap();
    let book = RuleBook::load(&mut conn, city, reference).await.unwrap();
    assert_eq!(
        book.subzones().len(),
        csv::Reader::from_path(root().join("data/rules/subzones.csv"))
            .unwrap()
            .records()
            .count()
    );
    // Both code forms, and the float form real data has, reach the same sub-zone.
    assert_eq!(book.subzone_by_catalog("32103300").unwrap().code, "R-3");
    assert_eq!(book.subzone_by_catalog("32103300.0").unwrap().code, "R-3");
    assert_eq!(book.subzone("r3").unwrap().code, "R-3");
    // Every five-digit KBLI code resolves to an activity (directly or through its parents).
    let mut reader = csv::Reader::from_path(root().join("data/reference/kbli2020.csv")).unwrap();
    let mut five = 0;
    for record in reader.records() {
        let record = record.unwrap();
        if record[0].len() == 5 {
            five += 1;
            assert!(
                book.activity_for_kbli(&record[0]).is_some(),
                "KBLI {} has no activity",
                &record[0]
            );
        }
    }
    assert_eq!(five, 1791);
    // Search covers the whole KBLI list, by words and by code.
    let hits = book.search("restoran", 50);
    assert!(hits.iter().any(|h| h.kbli == "56101"));
    let by_code = book.search("4711", 50);
    assert!(!by_code.is_empty() && by_code.iter().all(|h| h.kbli.starts_with("4711")));
}
