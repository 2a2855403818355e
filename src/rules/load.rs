//! Reading the rule tables from CSV, checking them, and storing them in one transaction.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sqlx::PgPool;

use super::{
    Activity, Condition, IntensityTier, ItbxCell, ItbxClass, Kbli, Result, RulesError, Subzone,
    Zone,
};

/// The complete, checked rule tables as read from a directory.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Zones.
    pub zones: Vec<Zone>,
    /// The sub-zone catalogue.
    pub subzones: Vec<Subzone>,
    /// Intensity tiers.
    pub intensity: Vec<IntensityTier>,
    /// The KBLI 2020 list.
    pub kbli: Vec<Kbli>,
    /// Activities.
    pub activities: Vec<Activity>,
    /// Condition texts.
    pub conditions: Vec<Condition>,
    /// The ITBX matrix.
    pub itbx: Vec<ItbxCell>,
}

/// File names inside a rules directory.
const FILES: [&str; 7] = [
    "zones.csv",
    "subzones.csv",
    "intensity.csv",
    "kbli2020.csv",
    "activities.csv",
    "conditions.csv",
    "itbx.csv",
];

/// Reads and checks every rule table in `dir`; all problems are reported together.
pub fn load_dir(dir: &Path) -> Result<RuleSet> {
    let mut tables = HashMap::new();
    for name in FILES {
        let path = dir.join(name);
        let rows = read_csv(&path)?;
        tables.insert(name, rows);
    }
    let mut errors = Errors::default();
    let zones = parse_zones(&tables["zones.csv"], &mut errors);
    let subzones = parse_subzones(&tables["subzones.csv"], &zones, &mut errors);
    let intensity = parse_intensity(&tables["intensity.csv"], &subzones, &mut errors);
    let kbli = parse_kbli(&tables["kbli2020.csv"], &mut errors);
    let activities = parse_activities(&tables["activities.csv"], &kbli, &mut errors);
    let conditions = parse_conditions(&tables["conditions.csv"], &mut errors);
    let itbx = parse_itbx(
        &tables["itbx.csv"],
        &subzones,
        &activities,
        &conditions,
        &mut errors,
    );
    if errors.0.is_empty() {
        Ok(RuleSet {
            zones,
            subzones,
            intensity,
            kbli,
            activities,
            conditions,
            itbx,
        })
    } else {
        Err(RulesError::Invalid(errors.0))
    }
}

/// Replaces the stored rules with `rules` in one transaction and tells running servers.
pub async fn store(pool: &PgPool, rules: &RuleSet) -> Result<()> {
    let mut tx = pool.begin().await?;
    for table in [
        "itbx",
        "condition",
        "activity_kbli",
        "activity",
        "kbli",
        "intensity",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    let zone_column =
        |f: fn(&Zone) -> &String| rules.zones.iter().map(f).cloned().collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO zone (code, name, kind) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind",
    )
    .bind(zone_column(|z| &z.code))
    .bind(zone_column(|z| &z.name))
    .bind(zone_column(|z| &z.kind))
    .execute(&mut *tx)
    .await?;

    let subzone_column =
        |f: fn(&Subzone) -> &String| rules.subzones.iter().map(f).cloned().collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO subzone (code, catalog_code, name, zone_code, color, code_source)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         ON CONFLICT (code) DO UPDATE SET catalog_code = EXCLUDED.catalog_code, name = EXCLUDED.name,
           zone_code = EXCLUDED.zone_code, color = EXCLUDED.color, code_source = EXCLUDED.code_source",
    )
    .bind(subzone_column(|s| &s.code))
    .bind(subzone_column(|s| &s.catalog_code))
    .bind(subzone_column(|s| &s.name))
    .bind(subzone_column(|s| &s.zone))
    .bind(subzone_column(|s| &s.color))
    .bind(subzone_column(|s| &s.code_source))
    .execute(&mut *tx)
    .await?;
    let codes: Vec<String> = subzone_column(|s| &s.code);
    let in_use: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT f.subzone_code, p.name FROM zoning_feature f
         JOIN plan_version v ON v.id = f.version_id JOIN plan p ON p.id = v.plan_id
         WHERE NOT f.subzone_code = ANY($1) ORDER BY 1, 2",
    )
    .bind(&codes)
    .fetch_all(&mut *tx)
    .await?;
    if !in_use.is_empty() {
        let used: Vec<String> = in_use
            .iter()
            .map(|(c, p)| format!("sub-zone {c} is used by plan \"{p}\""))
            .collect();
        return Err(RulesError::Invalid(used));
    }
    sqlx::query("DELETE FROM subzone WHERE NOT code = ANY($1)")
        .bind(&codes)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM zone WHERE NOT code = ANY($1)")
        .bind(zone_column(|z| &z.code))
        .execute(&mut *tx)
        .await?;

    let tiers = &rules.intensity;
    sqlx::query(
        "INSERT INTO intensity (subzone_code, min_parcel_m2, max_parcel_m2, kdb_max, klb_min, klb_max,
           kdh_min, ktb_max, max_height_m, max_floors, gsb_m, min_lot_m2)
         SELECT * FROM UNNEST($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[],
           $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::int[], $11::float8[], $12::float8[])",
    )
    .bind(tiers.iter().map(|r| r.subzone.clone()).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.min_parcel_m2).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.max_parcel_m2).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.kdb_max).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.klb_min).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.klb_max).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.kdh_min).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.ktb_max).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.max_height_m).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.max_floors).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.gsb_m).collect::<Vec<_>>())
    .bind(tiers.iter().map(|r| r.min_lot_m2).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    let kbli = &rules.kbli;
    sqlx::query(
        "INSERT INTO kbli (code, title, description, level, parent, category)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(kbli.iter().map(|r| r.code.clone()).collect::<Vec<_>>())
    .bind(kbli.iter().map(|r| r.title.clone()).collect::<Vec<_>>())
    .bind(kbli.iter().map(|r| r.description.clone()).collect::<Vec<_>>())
    .bind(kbli.iter().map(|r| r.level.clone()).collect::<Vec<_>>())
    .bind(kbli.iter().map(|r| r.parent.clone()).collect::<Vec<_>>())
    .bind(kbli.iter().map(|r| r.category.clone()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    let activities = &rules.activities;
    sqlx::query("INSERT INTO activity (id, name) SELECT * FROM UNNEST($1::text[], $2::text[])")
        .bind(activities.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
        .bind(
            activities
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    let links: Vec<(&String, &String)> = activities
        .iter()
        .flat_map(|r| r.kbli.iter().map(move |k| (&r.id, k)))
        .collect();
    sqlx::query("INSERT INTO activity_kbli (activity_id, kbli_code) SELECT * FROM UNNEST($1::text[], $2::text[])")
        .bind(links.iter().map(|l| l.0.clone()).collect::<Vec<_>>())
        .bind(links.iter().map(|l| l.1.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;

    let conditions = &rules.conditions;
    sqlx::query("INSERT INTO condition (code, text) SELECT * FROM UNNEST($1::text[], $2::text[])")
        .bind(
            conditions
                .iter()
                .map(|r| r.code.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            conditions
                .iter()
                .map(|r| r.text.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;

    let cells = &rules.itbx;
    // Condition lists travel as comma-joined text: UNNEST cannot unpack a text[][] into rows of text[].
    sqlx::query(
        "INSERT INTO itbx (activity_id, subzone_code, class, conditions)
         SELECT a, s, c, CASE WHEN k = '' THEN '{}'::text[] ELSE string_to_array(k, ',') END
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS u(a, s, c, k)",
    )
    .bind(cells.iter().map(|r| r.activity.clone()).collect::<Vec<_>>())
    .bind(cells.iter().map(|r| r.subzone.clone()).collect::<Vec<_>>())
    .bind(
        cells
            .iter()
            .map(|r| r.class.as_str().to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        cells
            .iter()
            .map(|r| r.conditions.join(","))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;

    crate::db::announce_change(&mut tx, "rules").await?;
    tx.commit().await?;
    Ok(())
}

/// Collected problems, each naming its file and row.
#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn push(&mut self, row: &Row, message: impl std::fmt::Display) {
        self.0.push(format!("{}:{}: {message}", row.file, row.line));
    }
}

/// One CSV record with its header, for reading fields by name.
struct Row {
    file: String,
    line: u64,
    fields: HashMap<String, String>,
    /// The raw values in column order (the ITBX matrix reads its columns by position).
    values: Vec<String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.fields.get(column).map(|s| s.trim()).unwrap_or("")
    }

    fn required(&self, column: &str, errors: &mut Errors) -> Option<String> {
        let value = self.get(column);
        if value.is_empty() {
            errors.push(self, format!("`{column}` is empty"));
            None
        } else {
            Some(value.to_string())
        }
    }

    fn number(&self, column: &str, range: (f64, f64), errors: &mut Errors) -> Option<f64> {
        let text = self.get(column);
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= range.0 && v <= range.1 => Some(v),
            Ok(v) => {
                errors.push(
                    self,
                    format!("`{column}` is {v}, outside {}..{}", range.0, range.1),
                );
                None
            }
            Err(_) => {
                errors.push(self, format!("`{column}` is \"{text}\", not a number"));
                None
            }
        }
    }

    fn count(&self, column: &str, max: i32, errors: &mut Errors) -> Option<i32> {
        let value = self.number(column, (0.0, f64::from(max)), errors)?;
        if value.fract() == 0.0 {
            Some(value as i32)
        } else {
            errors.push(self, format!("`{column}` is {value}, not a whole number"));
            None
        }
    }

    fn optional_number(&self, column: &str, errors: &mut Errors) -> Option<Option<f64>> {
        if self.get(column).is_empty() {
            Some(None)
        } else {
            self.number(column, (0.0, f64::MAX), errors).map(Some)
        }
    }
}

/// The header and rows of a CSV file.
struct Table {
    header: Vec<String>,
    rows: Vec<Row>,
}

fn read_csv(path: &Path) -> Result<Table> {
    let read_error = |message: String| RulesError::Read {
        path: path.display().to_string(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| read_error(e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| read_error(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| read_error(e.to_string()))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let values: Vec<String> = record.iter().map(str::to_string).collect();
        let fields = header.iter().cloned().zip(values.iter().cloned()).collect();
        rows.push(Row {
            file: file.clone(),
            line,
            fields,
            values,
        });
    }
    Ok(Table { header, rows })
}

/// Reports a key seen twice in one table.
fn check_unique<'a>(
    seen: &mut HashSet<String>,
    key: &'a str,
    row: &Row,
    what: &str,
    errors: &mut Errors,
) -> Option<&'a str> {
    if seen.insert(key.to_string()) {
        Some(key)
    } else {
        errors.push(row, format!("duplicate {what} \"{key}\""));
        None
    }
}

fn parse_zones(table: &Table, errors: &mut Errors) -> Vec<Zone> {
    let mut seen = HashSet::new();
    let mut zones = Vec::new();
    for row in &table.rows {
        let (Some(code), Some(name), Some(kind)) = (
            row.required("code", errors),
            row.required("name", errors),
            row.required("kind", errors),
        ) else {
            continue;
        };
        if kind != "lindung" && kind != "budidaya" {
            errors.push(
                row,
                format!("`kind` is \"{kind}\"; expected lindung or budidaya"),
            );
            continue;
        }
        if check_unique(&mut seen, &code, row, "zone code", errors).is_some() {
            zones.push(Zone { code, name, kind });
        }
    }
    zones
}

fn parse_subzones(table: &Table, zones: &[Zone], errors: &mut Errors) -> Vec<Subzone> {
    let zone_codes: HashSet<&str> = zones.iter().map(|z| z.code.as_str()).collect();
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
        if catalog_code.len() != 8 || !catalog_code.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(
                row,
                format!("`catalog_code` \"{catalog_code}\" is not an 8-digit Permen 14 code"),
            );
            ok = false;
        }
        if !zone_codes.contains(zone.as_str()) {
            errors.push(row, format!("unknown zone \"{zone}\" (not in zones.csv)"));
            ok = false;
        }
        if !(color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
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
                max_height_m: row.number("max_height_m", (0.0, 1000.0), errors)?,
                max_floors: row.count("max_floors", 300, errors)?,
                gsb_m: row.number("gsb_m", (0.0, 1000.0), errors)?,
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
        for tier in &own {
            if expected != Some(tier.min_parcel_m2) {
                errors.0.push(format!(
                    "intensity.csv: the tiers of {} do not follow each other (a tier starts at {} m², expected {:?})",
                    subzone.code, tier.min_parcel_m2, expected
                ));
                break;
            }
            expected = tier.max_parcel_m2;
        }
        if own.is_empty() {
            errors.0.push(format!(
                "intensity.csv: sub-zone {} has no intensity row",
                subzone.code
            ));
        } else if expected.is_some() {
            errors.0.push(format!(
                "intensity.csv: the last tier of {} must be open (empty max_parcel_m2)",
                subzone.code
            ));
        }
    }
    tiers
}

fn parse_kbli(table: &Table, errors: &mut Errors) -> Vec<Kbli> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in &table.rows {
        let (Some(code), Some(title), Some(level)) = (
            row.required("kode", errors),
            row.required("judul", errors),
            row.required("level", errors),
        ) else {
            continue;
        };
        if check_unique(&mut seen, &code, row, "KBLI code", errors).is_none() {
            continue;
        }
        let parent = Some(row.get("parent").to_string()).filter(|p| !p.is_empty());
        let category = row.get("kategori").to_string();
        out.push(Kbli {
            code,
            title,
            description: row.get("uraian").to_string(),
            level,
            parent,
            category,
        });
    }
    let parents: HashMap<&str, Option<&str>> = out
        .iter()
        .map(|k| (k.code.as_str(), k.parent.as_deref()))
        .collect();
    for k in &out {
        // Every chain of parents must end at a category, without a loop (lookups walk it).
        let mut current = k.parent.as_deref();
        let mut steps = 0;
        while let Some(parent) = current {
            steps += 1;
            match parents.get(parent) {
                None => {
                    errors.0.push(format!(
                        "kbli2020.csv: KBLI {} names an unknown parent {parent}",
                        k.code
                    ));
                    break;
                }
                Some(_) if steps > 8 => {
                    errors
                        .0
                        .push(format!("kbli2020.csv: the parents of KBLI {} loop", k.code));
                    break;
                }
                Some(next) => current = *next,
            }
        }
    }
    out
}

fn parse_activities(table: &Table, kbli: &[Kbli], errors: &mut Errors) -> Vec<Activity> {
    let known: HashSet<&str> = kbli.iter().map(|k| k.code.as_str()).collect();
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
            if !known.contains(code) {
                errors.push(
                    row,
                    format!("unknown KBLI code \"{code}\" (not in kbli2020.csv)"),
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
        let rules = load_dir(&dir).expect("data/rules is valid");
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
