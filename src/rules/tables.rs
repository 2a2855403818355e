//! Reading a rule set from its CSV tables and checking it: the sub-zones it regulates, their
//! intensity tiers, the activities with their KBLI codes, the condition texts and the ITBX matrix.
//! Zones and KBLI codes are checked against the shared reference data.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::csv::{Errors, Table, check_unique, read_file};
use super::reference::{is_catalog_code, is_color};
use super::{
    Activity, Condition, IntensityTier, ItbxCell, ItbxClass, Reference, Result, RuleSet,
    RulesError, Subzone,
};

/// The tables of a rule set directory.
const FILES: [&str; 5] = [
    "subzones.csv",
    "intensity.csv",
    "activities.csv",
    "conditions.csv",
    "itbx.csv",
];

/// Tables that older rule directories carried and that are now shared reference data.
const REFERENCE_FILES: [&str; 2] = ["zones.csv", "kbli2020.csv"];

/// Reads and checks the rule set in `dir` against `reference`; all problems are reported together.
pub fn load_dir(dir: &Path, reference: &Reference) -> Result<RuleSet> {
    let mut tables = HashMap::new();
    for name in FILES {
        tables.insert(name, read_file(&dir.join(name))?);
    }
    let mut errors = Errors::default();
    let mut notes = Vec::new();
    let subzones = parse_subzones(&tables["subzones.csv"], reference, &mut errors, &mut notes);
    let intensity = parse_intensity(&tables["intensity.csv"], &subzones, &mut errors);
    let activities = parse_activities(&tables["activities.csv"], reference, &mut errors);
    let conditions = parse_conditions(&tables["conditions.csv"], &mut errors);
    let itbx = parse_itbx(
        &tables["itbx.csv"],
        &subzones,
        &activities,
        &conditions,
        &mut errors,
    );
    for name in REFERENCE_FILES {
        if dir.join(name).exists() {
            notes.push(format!(
                "{name} was not read: zones and the KBLI list are shared reference data (data/reference, shipped with the binary)"
            ));
        }
    }
    if !errors.0.is_empty() {
        return Err(RulesError::Invalid(errors.0));
    }
    Ok(RuleSet {
        subzones,
        intensity,
        activities,
        conditions,
        itbx,
        source: dir.display().to_string(),
        notes,
    })
}

/// The sub-zones the rule set regulates; each is compared with the national catalogue (a code the
/// catalogue lacks, or names differently, is noted, not refused: a city may regulate locally).
fn parse_subzones(
    table: &Table,
    reference: &Reference,
    errors: &mut Errors,
    notes: &mut Vec<String>,
) -> Vec<Subzone> {
    let (mut codes, mut numbers, mut names) = (HashSet::new(), HashSet::new(), HashSet::new());
    let mut out = Vec::new();
    for row in &table.rows {
        let fields =
            ["catalog_code", "code", "name", "zone", "color"].map(|c| row.required(c, errors));
        let [
            Some(catalog_code),
            Some(code),
            Some(name),
            Some(zone),
            Some(color),
        ] = fields
        else {
            continue;
        };
        let mut ok = true;
        if !is_catalog_code(&catalog_code) {
            errors.push(
                row,
                format!("`catalog_code` \"{catalog_code}\" is not an 8-digit Permen 14 code"),
            );
            ok = false;
        }
        if reference.zone(&zone).is_none() {
            errors.push(
                row,
                format!("unknown zone \"{zone}\" (not in the national zone list, data/reference/zones.csv)"),
            );
            ok = false;
        }
        if !is_color(&color) {
            errors.push(row, format!("`color` \"{color}\" is not #RRGGBB"));
            ok = false;
        }
        // Lookups match codes and names in any case, so they must be unique in any case.
        ok &= check_unique(
            &mut codes,
            &code.to_uppercase(),
            row,
            "sub-zone code",
            errors,
        )
        .is_some();
        ok &= check_unique(&mut numbers, &catalog_code, row, "catalog code", errors).is_some();
        ok &= check_unique(
            &mut names,
            &name.to_lowercase(),
            row,
            "sub-zone name",
            errors,
        )
        .is_some();
        if ok {
            notes.extend(reference.compare_with_catalogue(&catalog_code, &code, &name, &zone));
            let code_source = match row.get("source") {
                "" => "observed".to_string(),
                s => s.to_string(),
            };
            out.push(Subzone {
                code,
                catalog_code,
                name,
                zone,
                color,
                code_source,
            });
        }
    }
    out
}

fn parse_intensity(table: &Table, subzones: &[Subzone], errors: &mut Errors) -> Vec<IntensityTier> {
    let known: HashSet<&str> = subzones.iter().map(|s| s.code.as_str()).collect();
    let mut tiers: Vec<IntensityTier> = Vec::new();
    let mut seen = HashSet::new();
    let pct = (0.0, 100.0);
    let ratio = (0.0, 100.0);
    let any = (0.0, f64::MAX);
    for row in &table.rows {
        let Some(subzone) = row.required("subzone", errors) else {
            continue;
        };
        if !known.contains(subzone.as_str()) {
            errors.push(
                row,
                format!("unknown sub-zone \"{subzone}\" (not in subzones.csv)"),
            );
            continue;
        }
        let tier = (|| {
            Some(IntensityTier {
                subzone: subzone.clone(),
                min_parcel_m2: row.number("min_parcel_m2", any, errors)?,
                max_parcel_m2: row.optional_number("max_parcel_m2", errors)?,
                kdb_max: row.number("kdb_max", pct, errors)?,
                klb_min: row.number("klb_min", ratio, errors)?,
                klb_max: row.number("klb_max", ratio, errors)?,
                kdh_min: row.number("kdh_min", pct, errors)?,
                ktb_max: row.number("ktb_max", pct, errors)?,
                max_height_m: Some(row.number("max_height_m", (0.0, 1000.0), errors)?),
                max_floors: Some(row.count("max_floors", 300, errors)?),
                gsb_m: Some(row.number("gsb_m", (0.0, 1000.0), errors)?),
                min_lot_m2: row.optional_number("min_lot_m2", errors)?,
            })
        })();
        let Some(tier) = tier else { continue };
        if tier.klb_min > tier.klb_max {
            errors.push(
                row,
                format!(
                    "`klb_min` {} is above `klb_max` {}",
                    tier.klb_min, tier.klb_max
                ),
            );
            continue;
        }
        if tier
            .max_parcel_m2
            .is_some_and(|max| max <= tier.min_parcel_m2)
        {
            errors.push(row, "`max_parcel_m2` must be above `min_parcel_m2`");
            continue;
        }
        let key = format!("{} from {} m²", tier.subzone, tier.min_parcel_m2);
        if check_unique(&mut seen, &key, row, "intensity tier", errors).is_some() {
            tiers.push(tier);
        }
    }
    // Tiers of each sub-zone must start at 0 and follow each other without gaps, the last open.
    for subzone in subzones {
        let mut own: Vec<&IntensityTier> =
            tiers.iter().filter(|t| t.subzone == subzone.code).collect();
        own.sort_by(|a, b| a.min_parcel_m2.total_cmp(&b.min_parcel_m2));
        let mut expected = Some(0.0);
        let mut broken = false;
        for tier in &own {
            if expected != Some(tier.min_parcel_m2) {
                let wanted = match expected {
                    Some(0.0) => "the first tier to start at 0 m²".to_string(),
                    Some(m2) => format!("the next to start at {m2} m²"),
                    None => "none after the open last tier".to_string(),
                };
                errors.table(&table.file, format!(
                    "the tiers of {} do not follow each other (a tier starts at {} m²; expected {wanted})",
                    subzone.code, tier.min_parcel_m2
                ));
                broken = true;
                break;
            }
            expected = tier.max_parcel_m2;
        }
        if broken {
            continue;
        }
        if own.is_empty() {
            errors.table(
                &table.file,
                format!("sub-zone {} has no intensity row", subzone.code),
            );
        } else if expected.is_some() {
            errors.table(
                &table.file,
                format!(
                    "the last tier of {} must be open (empty max_parcel_m2)",
                    subzone.code
                ),
            );
        }
    }
    tiers
}

fn parse_activities(table: &Table, reference: &Reference, errors: &mut Errors) -> Vec<Activity> {
    let mut ids = HashSet::new();
    let mut claimed: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for row in &table.rows {
        let (Some(id), Some(name)) = (row.required("id", errors), row.required("name", errors))
        else {
            continue;
        };
        if check_unique(&mut ids, &id, row, "activity id", errors).is_none() {
            continue;
        }
        let mut codes = Vec::new();
        for code in row.get("kbli").split_whitespace() {
            if reference.kbli(code).is_none() {
                errors.push(
                    row,
                    format!("unknown KBLI code \"{code}\" (not in KBLI 2020, data/reference/kbli2020.csv)"),
                );
            } else if let Some(other) = claimed.insert(code.to_string(), id.clone()) {
                errors.push(
                    row,
                    format!("KBLI {code} is listed by activities {other} and {id}"),
                );
            } else {
                codes.push(code.to_string());
            }
        }
        out.push(Activity {
            id,
            name,
            kbli: codes,
        });
    }
    out
}

fn parse_conditions(table: &Table, errors: &mut Errors) -> Vec<Condition> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in &table.rows {
        let (Some(code), Some(text)) = (row.required("code", errors), row.required("text", errors))
        else {
            continue;
        };
        if !(code.starts_with('T') || code.starts_with('B')) {
            errors.push(
                row,
                format!("condition code \"{code}\" must start with T (terbatas) or B (bersyarat)"),
            );
            continue;
        }
        if check_unique(&mut seen, &code, row, "condition code", errors).is_some() {
            out.push(Condition { code, text });
        }
    }
    out
}

fn parse_itbx(
    table: &Table,
    subzones: &[Subzone],
    activities: &[Activity],
    conditions: &[Condition],
    errors: &mut Errors,
) -> Vec<ItbxCell> {
    let known_subzones: HashSet<&str> = subzones.iter().map(|s| s.code.as_str()).collect();
    let known_activities: HashSet<&str> = activities.iter().map(|a| a.id.as_str()).collect();
    let known_conditions: HashSet<&str> = conditions.iter().map(|c| c.code.as_str()).collect();
    let mut columns = Vec::new();
    let mut seen_columns = HashSet::new();
    for (i, name) in table.header.iter().enumerate().skip(1) {
        if !known_subzones.contains(name.as_str()) {
            errors.0.push(format!(
                "itbx.csv: column {} names unknown sub-zone \"{name}\"",
                i + 1
            ));
        } else if !seen_columns.insert(name.clone()) {
            errors
                .0
                .push(format!("itbx.csv: sub-zone \"{name}\" has two columns"));
        } else {
            columns.push((i, name.clone()));
        }
    }
    for code in &known_subzones {
        if !seen_columns.contains(*code) {
            errors
                .0
                .push(format!("itbx.csv: sub-zone {code} has no column"));
        }
    }
    let mut rows_seen = HashSet::new();
    let mut cells = Vec::new();
    for row in &table.rows {
        let activity = row
            .values
            .first()
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if !known_activities.contains(activity.as_str()) {
            errors.push(
                row,
                format!("unknown activity \"{activity}\" (not in activities.csv)"),
            );
            continue;
        }
        if check_unique(&mut rows_seen, &activity, row, "activity row", errors).is_none() {
            continue;
        }
        for (i, subzone) in &columns {
            let text = row.values.get(*i).map(|s| s.trim()).unwrap_or("");
            match parse_cell(text, &known_conditions) {
                Ok((class, conditions)) => cells.push(ItbxCell {
                    activity: activity.clone(),
                    subzone: subzone.clone(),
                    class,
                    conditions,
                }),
                Err(message) => errors.push(row, format!("{subzone}: {message}")),
            }
        }
    }
    for activity in activities {
        if !rows_seen.contains(&activity.id) {
            errors.0.push(format!(
                "itbx.csv: activity {} ({}) has no row",
                activity.id, activity.name
            ));
        }
    }
    cells
}

/// Parses an ITBX cell: `I`, `X`, `T`, `B`, or condition codes joined by `+` (`T1+B2`).
fn parse_cell(
    text: &str,
    known: &HashSet<&str>,
) -> std::result::Result<(ItbxClass, Vec<String>), String> {
    match text {
        "" => return Err("empty cell".into()),
        "I" => return Ok((ItbxClass::I, vec![])),
        "X" => return Ok((ItbxClass::X, vec![])),
        "T" => return Ok((ItbxClass::T, vec![])),
        "B" => return Ok((ItbxClass::B, vec![])),
        "TB" => return Ok((ItbxClass::TB, vec![])),
        _ => {}
    }
    let codes: Vec<String> = text.split('+').map(|c| c.trim().to_string()).collect();
    for code in &codes {
        if !known.contains(code.as_str()) {
            return Err(format!(
                "\"{text}\" names unknown condition \"{code}\" (expected I, X, or codes from conditions.csv joined by +)"
            ));
        }
    }
    let has_t = codes.iter().any(|c| c.starts_with('T'));
    let has_b = codes.iter().any(|c| c.starts_with('B'));
    let class = match (has_t, has_b) {
        (true, true) => ItbxClass::TB,
        (true, false) => ItbxClass::T,
        _ => ItbxClass::B,
    };
    Ok((class, codes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_derive_their_class_from_condition_codes() {
        let known: HashSet<&str> = ["T1", "T2", "B1"].into_iter().collect();
        assert_eq!(parse_cell("I", &known).unwrap(), (ItbxClass::I, vec![]));
        assert_eq!(parse_cell("T1+T2", &known).unwrap().0, ItbxClass::T);
        assert_eq!(parse_cell("B1", &known).unwrap().0, ItbxClass::B);
        assert_eq!(
            parse_cell("T2+B1", &known).unwrap(),
            (ItbxClass::TB, vec!["T2".into(), "B1".into()])
        );
        assert!(
            parse_cell("T9", &known)
                .unwrap_err()
                .contains("unknown condition \"T9\"")
        );
        assert!(parse_cell("", &known).is_err());
    }

    #[test]
    fn the_shipped_rule_tables_load_without_errors() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/rules");
        let rules = load_dir(&dir, &Reference::shipped().unwrap()).expect("data/rules is valid");
        assert!(
            rules
                .subzones
                .iter()
                .any(|s| s.code == "R-3" && s.catalog_code == "32103300")
        );
        assert_eq!(
            rules.itbx.len(),
            rules.activities.len() * rules.subzones.len()
        );
    }
}
