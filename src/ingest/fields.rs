//! The Permen 14/2021 attribute schema: reading fields by name in any case, and resolving the
//! sub-zone from the numeric catalogue code, the letter code and the NAMOBJ name.

use std::collections::HashMap;

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

/// How a row's sub-zone was resolved.
#[derive(Debug, PartialEq)]
pub enum SubzoneMatch<'r> {
    /// One sub-zone of the catalogue.
    Found(&'r Subzone),
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

/// Resolves the sub-zone of a row. KODSZN and KODSZNTEXT may hold the 8-digit catalogue code or
/// the letter code, and must be known when present; KODSBL and KODEWP carry the letter code in
/// some datasets; NAMOBJ/NAMSZN the name. All that name a sub-zone must agree.
pub fn resolve_subzone<'r>(fields: &Fields<'_>, rules: &'r RuleBook) -> SubzoneMatch<'r> {
    let mut found: Vec<(String, &'r Subzone)> = Vec::new();
    let kodszn = fields.text("KODSZN");
    if let Some(code) = &kodszn {
        let hit = if is_numeric_code(code) {
            rules.subzone_by_catalog(code)
        } else {
            rules.subzone(code)
        };
        match hit {
            Some(s) => found.push((format!("KODSZN {code}"), s)),
            None => {
                return SubzoneMatch::Unknown(format!(
                    "KODSZN \"{code}\" is not in the sub-zone catalogue"
                ));
            }
        }
    }
    if let Some(code) = fields.text("KODSZNTEXT") {
        match rules
            .subzone(&code)
            .or_else(|| rules.subzone_by_catalog(&code))
        {
            Some(s) => found.push((format!("KODSZNTEXT {code}"), s)),
            None => {
                return SubzoneMatch::Unknown(format!(
                    "KODSZNTEXT \"{code}\" is not in the sub-zone catalogue"
                ));
            }
        }
    }
    // Some datasets put the letter code in KODSBL or KODEWP, which otherwise hold sub-block and
    // planning-area codes: only a value that is a sub-zone code counts.
    for field in ["KODSBL", "KODEWP"] {
        if let Some(code) = fields.text(field)
            && let Some(s) = rules.subzone(&code)
        {
            found.push((format!("{field} {code}"), s));
        }
    }
    for field in ["NAMSZN", "NAMOBJ"] {
        if let Some(name) = fields.text(field) {
            let hit = if is_numeric_code(&name) {
                rules.subzone_by_catalog(&name)
            } else {
                rules.subzone_by_name(&name)
            };
            if let Some(s) = hit {
                found.push((format!("{field} \"{name}\""), s));
            }
        }
    }
    let Some((_, first)) = found.first() else {
        return match fields.text("NAMOBJ") {
            Some(name) => SubzoneMatch::Unknown(format!(
                "no KODSZN, and NAMOBJ \"{name}\" is not a catalogue name"
            )),
            None => SubzoneMatch::Missing,
        };
    };
    if let Some((field, other)) = found.iter().find(|(_, s)| s.code != first.code) {
        return SubzoneMatch::Conflict(format!(
            "{} means {} ({}) but {field} means {} ({})",
            found[0].0, first.code, first.name, other.code, other.name
        ));
    }
    SubzoneMatch::Found(first)
}
