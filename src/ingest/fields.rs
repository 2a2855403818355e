//! Mapping fields: the Permen 14/2021 attribute schema read by name in any case, and the sub-zone
//! resolved from the numeric catalogue code, the letter code and the NAMOBJ name, with the
//! import's explicit policies (`--code-map`, `--prefer`, derived sub-zones) recorded.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::rules::{RuleBook, Subzone};

/// Overlay fields of the Permen 14 schema that can tighten or block the base zone.
pub const OVERLAY_FIELDS: [&str; 16] = [
    "KKOP_1", "LP2B_2", "KP2B_2", "KRB_03", "TOD_04", "TEB_05", "PUSLIT", "CAGBUD", "RESAIR",
    "KSMPDN", "HANKAM", "KKARST", "PTBGMB", "MGRSAT", "RDBUMI", "TPZ_00",
];

/// Values real data uses for "this overlay does not apply".
const NO_OVERLAY: [&str; 6] = ["", "-", "tidak ada", "tidak", "none", "0"];

/// A source row's attributes, readable by Permen 14 field name in any case.
pub struct Fields<'a> {
    by_upper: HashMap<String, &'a Value>,
}

impl<'a> Fields<'a> {
    /// Indexes `attributes` by upper-cased field name.
    /// Where two fields differ only in case (GeoJSON allows it), the one with a value wins.
    pub fn new(attributes: &'a Map<String, Value>) -> Self {
        let mut by_upper: HashMap<String, &Value> = HashMap::with_capacity(attributes.len());
        for (name, value) in attributes {
            let slot = by_upper.entry(name.to_uppercase()).or_insert(value);
            if slot.is_null() {
                *slot = value;
            }
        }
        Fields { by_upper }
    }

    /// The field's value as trimmed text; numbers with no fraction lose their `.0`; empty is `None`.
    pub fn text(&self, name: &str) -> Option<String> {
        let text = match self.by_upper.get(name)? {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                _ => n.to_string(),
            },
            Value::Null => return None,
            other => other.to_string(),
        };
        (!text.is_empty()).then_some(text)
    }

    /// The overlays that apply, by field name, with their values.
    pub fn overlays(&self) -> Map<String, Value> {
        OVERLAY_FIELDS
            .iter()
            .filter_map(|name| {
                let value = self.text(name)?;
                (!NO_OVERLAY.contains(&value.to_lowercase().as_str()))
                    .then(|| (name.to_string(), Value::String(value)))
            })
            .collect()
    }
}

/// A sub-zone derived from a numeric code the national catalogue lacks, as a file uses it.
#[derive(Debug, Clone)]
pub struct DerivedUse {
    /// The sub-zone (for one derived from an earlier file, as the catalogue records it).
    pub subzone: Subzone,
    /// Features of the file that use it.
    pub features: usize,
    /// Whether an earlier file derived it (and named it).
    pub earlier: bool,
    /// The names this file gives it (NAMSZN or NAMOBJ), when they differ from `subzone.name`.
    pub other_names: std::collections::BTreeSet<String>,
}

/// Which kind of code wins when a feature's codes disagree (`--prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    /// The 8-digit catalogue code (KODSZN, KODSZNTEXT, or a numeric NAMSZN/NAMOBJ).
    Numeric,
    /// The letter code (KODSZN, KODSZNTEXT, KODSBL or KODEWP).
    Letter,
    /// The sub-zone name (NAMSZN or NAMOBJ).
    Name,
}

impl Prefer {
    /// The policy's name, as `--prefer` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefer::Numeric => "numeric",
            Prefer::Letter => "letter",
            Prefer::Name => "name",
        }
    }
}

/// How a row's sub-zone was resolved.
#[derive(Debug, PartialEq)]
pub enum SubzoneMatch {
    /// One sub-zone (of the rule set, the catalogue, or derived from its numeric code).
    Found {
        /// Its letter code (for a derived sub-zone, the numeric code).
        code: String,
        /// How disagreeing codes were resolved by `--prefer`, in words.
        resolved: Option<String>,
    },
    /// A code that is not in the catalogue.
    Unknown(String),
    /// Codes or names that point to different sub-zones.
    Conflict(String),
    /// No sub-zone field is filled.
    Missing,
}

fn is_numeric_code(s: &str) -> bool {
    let s = s.strip_suffix(".0").unwrap_or(s);
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One field's reading of the sub-zone.
struct Candidate {
    field: String,
    kind: Prefer,
    subzone: Subzone,
}

/// Resolves the sub-zone of each row against a rule book (its rule set over the national
/// catalogue), applying the import's explicit policies and remembering what they did.
pub struct Resolver<'r> {
    book: &'r RuleBook,
    code_map: &'r CodeMap,
    prefer: Option<Prefer>,
    /// Sub-zones derived from numeric codes the national catalogue lacks, by code.
    pub derived: BTreeMap<String, DerivedUse>,
    /// Codes mapped by the code map: (field, from, to) -> features.
    pub mapped: BTreeMap<(String, String, String), usize>,
}

impl<'r> Resolver<'r> {
    /// A resolver against `book` with the given policies.
    pub fn new(book: &'r RuleBook, code_map: &'r CodeMap, prefer: Option<Prefer>) -> Self {
        Resolver {
            book,
            code_map,
            prefer,
            derived: BTreeMap::new(),
            mapped: BTreeMap::new(),
        }
    }

    /// The value of `field`, through the code map.
    fn value(&mut self, fields: &Fields<'_>, field: &str) -> Option<String> {
        let raw = fields.text(field)?;
        match self.code_map.get(&raw) {
            Some(to) => {
                *self
                    .mapped
                    .entry((field.to_string(), raw, to.clone()))
                    .or_default() += 1;
                Some(to.clone())
            }
            None => Some(raw),
        }
    }

    /// A numeric code: the rule set's or catalogue's sub-zone, or one derived from its leading
    /// digits (named from the row's NAMSZN or NAMOBJ).
    fn numeric(&mut self, fields: &Fields<'_>, code: &str) -> Option<Subzone> {
        let code = code.strip_suffix(".0").unwrap_or(code);
        let name = fields
            .text("NAMSZN")
            .filter(|n| !is_numeric_code(n))
            .or_else(|| fields.text("NAMOBJ").filter(|n| !is_numeric_code(n)));
        if let Some(known) = self.derived.get_mut(code) {
            known.features += 1;
            if let Some(name) = name.filter(|n| !n.eq_ignore_ascii_case(&known.subzone.name)) {
                known.other_names.insert(name);
            }
            return Some(known.subzone.clone());
        }
        let found = self.book.subzone_by_catalog(code).cloned();
        let (subzone, earlier) = match found {
            Some(s) if s.code_source != crate::rules::DERIVED => return Some(s),
            Some(s) => (s, true),
            None => {
                let near = self.book.reference().nearest_by_digits(code)?;
                let subzone = Subzone {
                    code: code.to_string(),
                    catalog_code: code.to_string(),
                    name: name.clone().unwrap_or_else(|| format!("Sub-zona {code}")),
                    zone: near.zone.clone(),
                    color: near.color.clone(),
                    code_source: crate::rules::DERIVED.to_string(),
                };
                (subzone, false)
            }
        };
        let other_names = name
            .filter(|n| !n.eq_ignore_ascii_case(&subzone.name))
            .into_iter()
            .collect();
        self.derived.insert(
            code.to_string(),
            DerivedUse {
                subzone: subzone.clone(),
                features: 1,
                earlier,
                other_names,
            },
        );
        Some(subzone)
    }

    /// Resolves a row. KODSZN and KODSZNTEXT may hold the 8-digit catalogue code or the letter
    /// code, and must be known when present (a numeric code under a known zone is derived);
    /// KODSBL and KODEWP carry the letter code in some datasets; NAMOBJ/NAMSZN the name. All that
    /// name a sub-zone must agree, unless `--prefer` says which kind wins.
    pub fn resolve(&mut self, fields: &Fields<'_>) -> SubzoneMatch {
        let mut found: Vec<Candidate> = Vec::new();
        for field in ["KODSZN", "KODSZNTEXT"] {
            let Some(code) = self.value(fields, field) else {
                continue;
            };
            let (kind, hit) = if is_numeric_code(&code) {
                (Prefer::Numeric, self.numeric(fields, &code))
            } else {
                (Prefer::Letter, self.book.subzone(&code).cloned())
            };
            match hit {
                Some(subzone) => found.push(Candidate {
                    field: format!("{field} {code}"),
                    kind,
                    subzone,
                }),
                None => {
                    return SubzoneMatch::Unknown(format!(
                        "{field} \"{code}\" is not in the sub-zone catalogue"
                    ));
                }
            }
        }
        // Some datasets put the letter code in KODSBL or KODEWP, which otherwise hold sub-block and
        // planning-area codes: only a value that is a sub-zone code counts.
        for field in ["KODSBL", "KODEWP"] {
            if let Some(code) = self.value(fields, field)
                && let Some(s) = self.book.subzone(&code)
            {
                found.push(Candidate {
                    field: format!("{field} {code}"),
                    kind: Prefer::Letter,
                    subzone: s.clone(),
                });
            }
        }
        for field in ["NAMSZN", "NAMOBJ"] {
            if let Some(name) = self.value(fields, field) {
                let (kind, hit) = if is_numeric_code(&name) {
                    (
                        Prefer::Numeric,
                        self.book.subzone_by_catalog(&name).cloned(),
                    )
                } else {
                    (Prefer::Name, self.book.subzone_by_name(&name).cloned())
                };
                if let Some(subzone) = hit {
                    found.push(Candidate {
                        field: format!("{field} \"{name}\""),
                        kind,
                        subzone,
                    });
                }
            }
        }
        let Some(first) = found.first() else {
            return match fields.text("NAMOBJ") {
                Some(name) => SubzoneMatch::Unknown(format!(
                    "no KODSZN, and NAMOBJ \"{name}\" is not a catalogue name"
                )),
                None => SubzoneMatch::Missing,
            };
        };
        let Some(other) = found.iter().find(|c| c.subzone.code != first.subzone.code) else {
            return SubzoneMatch::Found {
                code: first.subzone.code.clone(),
                resolved: None,
            };
        };
        let disagreement = format!(
            "{} means {} ({}) but {} means {} ({})",
            first.field,
            first.subzone.code,
            first.subzone.name,
            other.field,
            other.subzone.code,
            other.subzone.name
        );
        let preferred = self
            .prefer
            .and_then(|p| found.iter().find(|c| c.kind == p).map(|c| (p, c)));
        match preferred {
            Some((prefer, chosen))
                if found
                    .iter()
                    .filter(|c| c.kind == prefer)
                    .all(|c| c.subzone.code == chosen.subzone.code) =>
            {
                SubzoneMatch::Found {
                    code: chosen.subzone.code.clone(),
                    resolved: Some(format!(
                        "{disagreement}; --prefer {} chose {} ({})",
                        prefer.as_str(),
                        chosen.subzone.code,
                        chosen.field
                    )),
                }
            }
            _ => SubzoneMatch::Conflict(disagreement),
        }
    }
}

/// Local codes mapped to catalogue codes (`--code-map FILE.csv`, columns `from,to`).
#[derive(Debug, Default)]
pub struct CodeMap {
    map: std::collections::HashMap<String, String>,
}

impl CodeMap {
    /// Reads a code map: a CSV file with a header `from,to`, one local code per row, each mapped to
    /// a letter or numeric code of the catalogue (or of the rule set).
    pub fn read(path: &std::path::Path, book: &RuleBook) -> Result<Self, String> {
        let mut reader = csv::Reader::from_path(path)
            .map_err(|e| format!("cannot read the code map {}: {e}", path.display()))?;
        let headers = reader
            .headers()
            .map_err(|e| format!("the code map {}: {e}", path.display()))?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let (Some(from), Some(to)) = (column("from"), column("to")) else {
            return Err(format!(
                "the code map {} needs the columns `from` and `to`",
                path.display()
            ));
        };
        let mut map = std::collections::HashMap::new();
        let mut errors = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| format!("the code map {}: {e}", path.display()))?;
            let line = record.position().map_or(0, |p| p.line());
            let (Some(a), Some(b)) = (record.get(from), record.get(to)) else {
                continue;
            };
            let (a, b) = (a.trim().to_string(), b.trim().to_string());
            let known = if is_numeric_code(&b) {
                book.subzone_by_catalog(&b).is_some()
                    || book.reference().nearest_by_digits(&b).is_some()
            } else {
                book.subzone(&b).is_some()
            };
            if a.is_empty() {
                errors.push(format!(
                    "line {line}: `from` is empty (the local code to map)"
                ));
            } else if !known {
                errors.push(format!(
                    "line {line}: \"{a}\" -> \"{b}\": the target is not a sub-zone of the catalogue or the rule set"
                ));
            } else if map.insert(a.clone(), b).is_some() {
                errors.push(format!("line {line}: \"{a}\" is mapped twice"));
            }
        }
        if errors.is_empty() {
            Ok(CodeMap { map })
        } else {
            Err(format!(
                "the code map {} has {} error(s):\n  {}",
                path.display(),
                errors.len(),
                errors.join("\n  ")
            ))
        }
    }

    /// The catalogue code a local code maps to.
    fn get(&self, code: &str) -> Option<&String> {
        self.map.get(code)
    }

    /// Number of mappings.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it maps nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
