//! The shared reference data every rule set and every plan reads: the national zone list, the
//! national sub-zone catalogue of Permen ATR/BPN 14/2021 (with the sub-zones derived from
//! published files), and the KBLI 2020 classification. Shipped in `data/reference/`, compiled into
//! the binary and loaded into PostGIS when it changes.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use super::csv::{Errors, Table, check_unique, read_text};
use super::{Kbli, Result, RulesError, Subzone, Zone};

/// The shipped tables, compiled in.
const ZONES_CSV: &str = include_str!("../../data/reference/zones.csv");
const SUBZONES_CSV: &str = include_str!("../../data/reference/subzones.csv");
const KBLI_CSV: &str = include_str!("../../data/reference/kbli2020.csv");

/// `catalogue_subzone.source` of an entry derived from a published file.
pub const DERIVED: &str = "derived";

/// Zones, the sub-zone catalogue and KBLI 2020, indexed for lookups.
#[derive(Debug, Default)]
pub struct Reference {
    zones: HashMap<String, Zone>,
    catalogue: Vec<Subzone>,
    by_code: HashMap<String, usize>,
    by_catalog: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    kbli: Vec<Kbli>,
    kbli_index: HashMap<String, usize>,
    /// KBLI titles in lower case, for searches.
    kbli_lower: Vec<String>,
}

impl Reference {
    /// The reference data shipped with this binary.
    pub fn shipped() -> Result<Self> {
        let mut errors = Errors::default();
        let zones = parse_zones(&read_text("zones.csv", ZONES_CSV)?, &mut errors);
        let catalogue = parse_catalogue(
            &read_text("subzones.csv", SUBZONES_CSV)?,
            &zones,
            &mut errors,
        );
        let kbli = parse_kbli(&read_text("kbli2020.csv", KBLI_CSV)?, &mut errors);
        if !errors.0.is_empty() {
            return Err(RulesError::Invalid(errors.0));
        }
        Ok(Self::new(zones, catalogue, kbli))
    }

    /// Reads the reference data stored in the database (with the derived sub-zones).
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        let zones: Vec<Zone> = sqlx::query_as(include_str!("sql/zones.sql"))
            .fetch_all(&mut *conn)
            .await?;
        let catalogue: Vec<Subzone> = sqlx::query_as(include_str!("sql/catalogue.sql"))
            .fetch_all(&mut *conn)
            .await?;
        let kbli: Vec<Kbli> = sqlx::query_as(include_str!("sql/kbli.sql"))
            .fetch_all(&mut *conn)
            .await?;
        Ok(Self::new(zones, catalogue, kbli))
    }

    fn new(zones: Vec<Zone>, catalogue: Vec<Subzone>, kbli: Vec<Kbli>) -> Self {
        let mut reference = Reference {
            zones: zones.into_iter().map(|z| (z.code.clone(), z)).collect(),
            kbli_lower: kbli.iter().map(|k| k.title.to_lowercase()).collect(),
            kbli_index: kbli
                .iter()
                .enumerate()
                .map(|(i, k)| (k.code.clone(), i))
                .collect(),
            kbli,
            ..Reference::default()
        };
        for (i, s) in catalogue.iter().enumerate() {
            reference.by_code.insert(s.code.to_uppercase(), i);
            reference.by_catalog.insert(s.catalog_code.clone(), i);
            reference.by_name.entry(s.name.to_lowercase()).or_insert(i);
        }
        reference.catalogue = catalogue;
        reference
    }

    /// A zone by code.
    pub fn zone(&self, code: &str) -> Option<&Zone> {
        self.zones.get(code)
    }

    /// Every entry of the catalogue, national and derived, by numeric code.
    pub fn catalogue(&self) -> &[Subzone] {
        &self.catalogue
    }

    /// A catalogue entry by letter code (any case).
    pub fn by_code(&self, code: &str) -> Option<&Subzone> {
        self.by_code
            .get(&code.trim().to_uppercase())
            .map(|i| &self.catalogue[*i])
    }

    /// A catalogue entry by 8-digit numeric code.
    pub fn by_catalog(&self, code: &str) -> Option<&Subzone> {
        self.by_catalog.get(code).map(|i| &self.catalogue[*i])
    }

    /// A catalogue entry by name (any case).
    pub fn by_name(&self, name: &str) -> Option<&Subzone> {
        self.by_name
            .get(&name.trim().to_lowercase())
            .map(|i| &self.catalogue[*i])
    }

    /// The catalogue entry nearest to a numeric code the catalogue lacks: among the entries that
    /// share the longest leading digits with it (at least four: the zone's part of the code), the
    /// first, when all of them belong to one zone. `None` when the digits name no zone or several.
    pub fn nearest_by_digits(&self, code: &str) -> Option<&Subzone> {
        let shared = |s: &Subzone| {
            s.catalog_code
                .bytes()
                .zip(code.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        let longest = self
            .catalogue
            .iter()
            .filter(|s| s.code_source != DERIVED)
            .map(shared)
            .max()?;
        if longest < 4 {
            return None;
        }
        let mut nearest = self
            .catalogue
            .iter()
            .filter(|s| s.code_source != DERIVED && shared(s) == longest);
        let first = nearest.next()?;
        nearest.all(|s| s.zone == first.zone).then_some(first)
    }

    /// What differs between a rule set's sub-zone and the national catalogue, in words.
    pub fn compare_with_catalogue(
        &self,
        catalog_code: &str,
        code: &str,
        name: &str,
        zone: &str,
    ) -> Vec<String> {
        let Some(entry) = self.by_catalog(catalog_code) else {
            return vec![match self.nearest_by_digits(catalog_code) {
                Some(near) if near.zone == zone => format!(
                    "sub-zone {code} ({catalog_code}) is not in the national catalogue; its digits place it under zone {zone}"
                ),
                Some(near) => format!(
                    "sub-zone {code} ({catalog_code}) is not in the national catalogue; its digits place it under zone {}, the rule set says {zone}",
                    near.zone
                ),
                None => format!(
                    "sub-zone {code} ({catalog_code}) is not in the national catalogue, and its digits name no zone"
                ),
            }];
        };
        let mut notes = Vec::new();
        if !entry.code.eq_ignore_ascii_case(code) {
            notes.push(format!(
                "sub-zone {code} has catalogue code {catalog_code}, which the national catalogue calls {}",
                entry.code
            ));
        }
        if !entry.name.eq_ignore_ascii_case(name) {
            notes.push(format!(
                "sub-zone {code} is named \"{name}\"; the national catalogue names {catalog_code} \"{}\"",
                entry.name
            ));
        }
        if entry.zone != zone {
            notes.push(format!(
                "sub-zone {code} is put in zone {zone}; the national catalogue puts {catalog_code} in {}",
                entry.zone
            ));
        }
        notes
    }

    /// A KBLI entry by code.
    pub fn kbli(&self, code: &str) -> Option<&Kbli> {
        self.kbli_index.get(code.trim()).map(|i| &self.kbli[*i])
    }

    /// Every KBLI entry with its lower-case title, in code order.
    pub fn kbli_titles(&self) -> impl Iterator<Item = (&Kbli, &str)> {
        self.kbli
            .iter()
            .zip(self.kbli_lower.iter().map(String::as_str))
    }

    /// Number of KBLI codes.
    pub fn kbli_count(&self) -> usize {
        self.kbli.len()
    }
}

/// The digest of the shipped tables.
fn shipped_digest() -> String {
    let mut hasher = Sha256::new();
    for text in [ZONES_CSV, SUBZONES_CSV, KBLI_CSV] {
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// Loads the shipped reference data into the database unless it is there already: zones and
/// catalogue entries are added or updated (derived entries are kept), the KBLI list replaced.
pub async fn ensure_reference(pool: &PgPool) -> Result<()> {
    let digest = shipped_digest();
    let stored: Option<String> =
        sqlx::query_scalar("SELECT digest FROM reference_state WHERE name = 'shipped'")
            .fetch_optional(pool)
            .await?;
    if stored.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    let reference = Reference::shipped()?;
    let mut tx = pool.begin().await?;
    // One loader at a time; the second finds the digest stored.
    sqlx::query("LOCK TABLE reference_state IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT digest FROM reference_state WHERE name = 'shipped'")
            .fetch_optional(&mut *tx)
            .await?;
    if stored.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    store(&mut tx, &reference).await?;
    sqlx::query(
        "INSERT INTO reference_state (name, digest) VALUES ('shipped', $1)
         ON CONFLICT (name) DO UPDATE SET digest = EXCLUDED.digest",
    )
    .bind(&digest)
    .execute(&mut *tx)
    .await?;
    crate::db::announce_change(&mut tx, "reference data").await?;
    tx.commit().await?;
    Ok(())
}

async fn store(tx: &mut PgConnection, reference: &Reference) -> Result<()> {
    let mut zones: Vec<&Zone> = reference.zones.values().collect();
    zones.sort_by(|a, b| a.code.cmp(&b.code));
    let column = |f: fn(&Zone) -> &String| zones.iter().map(|z| f(z).clone()).collect::<Vec<_>>();
    sqlx::query(include_str!("sql/store_zones.sql"))
        .bind(column(|z| &z.code))
        .bind(column(|z| &z.name))
        .bind(column(|z| &z.kind))
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM catalogue_subzone WHERE source <> $1")
        .bind(DERIVED)
        .execute(&mut *tx)
        .await?;
    let entries = &reference.catalogue;
    let column =
        |f: fn(&Subzone) -> &String| entries.iter().map(|s| f(s).clone()).collect::<Vec<_>>();
    sqlx::query(include_str!("sql/store_catalogue.sql"))
        .bind(column(|s| &s.catalog_code))
        .bind(column(|s| &s.code))
        .bind(column(|s| &s.name))
        .bind(column(|s| &s.zone))
        .bind(column(|s| &s.color))
        .bind(column(|s| &s.code_source))
        .execute(&mut *tx)
        .await?;
    let kbli = &reference.kbli;
    sqlx::query("DELETE FROM kbli").execute(&mut *tx).await?;
    sqlx::query(include_str!("sql/store_kbli.sql"))
        .bind(kbli.iter().map(|r| r.code.clone()).collect::<Vec<_>>())
        .bind(kbli.iter().map(|r| r.title.clone()).collect::<Vec<_>>())
        .bind(
            kbli.iter()
                .map(|r| r.description.clone())
                .collect::<Vec<_>>(),
        )
        .bind(kbli.iter().map(|r| r.level.clone()).collect::<Vec<_>>())
        .bind(kbli.iter().map(|r| r.parent.clone()).collect::<Vec<_>>())
        .bind(kbli.iter().map(|r| r.category.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records sub-zones derived from a published file in the catalogue (an entry already there,
/// national or derived earlier, is kept).
pub async fn record_derived(conn: &mut PgConnection, derived: &[Subzone]) -> Result<()> {
    for s in derived {
        sqlx::query(
            "INSERT INTO catalogue_subzone (catalog_code, code, name, zone_code, color, source)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&s.catalog_code)
        .bind(&s.code)
        .bind(&s.name)
        .bind(&s.zone)
        .bind(&s.color)
        .bind(DERIVED)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
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

/// Whether `code` is an 8-digit Permen 14 numeric code.
pub fn is_catalog_code(code: &str) -> bool {
    code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `color` is `#RRGGBB`.
pub fn is_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_catalogue(table: &Table, zones: &[Zone], errors: &mut Errors) -> Vec<Subzone> {
    let known: HashSet<&str> = zones.iter().map(|z| z.code.as_str()).collect();
    let (mut codes, mut numbers, mut names) = (HashSet::new(), HashSet::new(), HashSet::new());
    let mut out = Vec::new();
    for row in &table.rows {
        let fields = ["catalog_code", "code", "name", "zone", "color", "source"]
            .map(|c| row.required(c, errors));
        let [
            Some(catalog_code),
            Some(code),
            Some(name),
            Some(zone),
            Some(color),
            Some(source),
        ] = fields
        else {
            continue;
        };
        let problems = [
            (!is_catalog_code(&catalog_code))
                .then(|| format!("\"{catalog_code}\" is not an 8-digit code")),
            (!known.contains(zone.as_str())).then(|| format!("unknown zone \"{zone}\"")),
            (!is_color(&color)).then(|| format!("`color` \"{color}\" is not #RRGGBB")),
        ];
        let mut ok = true;
        for problem in problems.into_iter().flatten() {
            errors.push(row, problem);
            ok = false;
        }
        ok &= check_unique(&mut codes, &code.to_uppercase(), row, "letter code", errors).is_some();
        ok &= check_unique(&mut numbers, &catalog_code, row, "numeric code", errors).is_some();
        ok &= check_unique(&mut names, &name.to_lowercase(), row, "name", errors).is_some();
        if ok {
            out.push(Subzone {
                code,
                catalog_code,
                name,
                zone,
                color,
                code_source: source,
            });
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_reference_data_is_valid() {
        let reference = Reference::shipped().expect("data/reference is valid");
        assert!(reference.catalogue().len() >= 44);
        assert_eq!(reference.by_catalog("32103300").unwrap().code, "R-3");
        assert!(reference.kbli_count() > 1000);
    }

    #[test]
    fn an_unknown_numeric_code_is_placed_by_its_leading_digits() {
        let reference = Reference::shipped().unwrap();
        // 3213xxxx: only HK starts with 3213.
        assert_eq!(reference.nearest_by_digits("32131000").unwrap().zone, "HK");
        // 32103600: every entry sharing 32103 is housing.
        assert_eq!(reference.nearest_by_digits("32103600").unwrap().zone, "R");
        // 3211xxxx is shared by mixed use, commerce and offices: no single zone.
        assert!(reference.nearest_by_digits("32119000").is_none());
        assert!(reference.nearest_by_digits("99000000").is_none());
    }
}
