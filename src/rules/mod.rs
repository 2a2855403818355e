//! Land-use and building-intensity rules. A *rule set* (the sub-zones a regulation covers, their
//! intensity tiers, activities keyed by KBLI, the ITBX matrix and its condition texts) is read from
//! CSV tables ([`load_dir`]) or from a plan file's attributes ([`attributes`]), stored once and never
//! changed ([`store_rule_set`]), and held in memory as a [`RuleBook`] for lookups. Every plan
//! version names its rule set. The zones, the national sub-zone catalogue and KBLI 2020 are shared
//! [`Reference`] data.

pub mod attributes;
mod book;
mod csv;
mod reference;
mod store;
mod tables;

pub use book::{ActivityRef, ActivityRule, KbliHit, RuleBook};
pub use reference::{
    DERIVED, Reference, ensure_reference, is_catalog_code, is_color, record_derived,
};
pub use store::{StoredRuleSet, city_rule_set, make_city_rule_set, read_rule_set, store_rule_set};
pub use tables::load_dir;

use serde::Serialize;

/// Errors of the rules capability.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The rule files have errors; each line names the file, row and problem.
    #[error("the rule tables have {} error(s):\n  {}", .0.len(), .0.join("\n  "))]
    Invalid(Vec<String>),
    /// There is no rule set with this id.
    #[error("there is no rule set {0}")]
    UnknownRuleSet(i64),
    /// The database refused the rules.
    #[error("storing the rules: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Result alias of the rules capability.
pub type Result<T> = std::result::Result<T, RulesError>;

/// A plan version's rule set as read, before it is stored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleSet {
    /// The sub-zones it regulates.
    pub subzones: Vec<Subzone>,
    /// Intensity tiers.
    pub intensity: Vec<IntensityTier>,
    /// Activities.
    pub activities: Vec<Activity>,
    /// Condition texts.
    pub conditions: Vec<Condition>,
    /// The ITBX matrix.
    pub itbx: Vec<ItbxCell>,
    /// Where it was read from.
    pub source: String,
    /// What the reading noticed (differences from the national catalogue, ignored files), in words.
    pub notes: Vec<String>,
}

/// A zone: the group a sub-zone belongs to (R, K, RTH, ...).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Zone {
    /// Letter code, e.g. `R`.
    pub code: String,
    /// Name, e.g. `Zona Perumahan`.
    pub name: String,
    /// `lindung` (protected) or `budidaya` (development).
    pub kind: String,
}

/// A sub-zone: an entry of the national catalogue or of a rule set's legend.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct Subzone {
    /// Letter code, e.g. `R-3`.
    pub code: String,
    /// Permen 14/2021 8-digit numeric code, e.g. `32103300`.
    pub catalog_code: String,
    /// NAMOBJ, e.g. `Perumahan Kepadatan Sedang`.
    pub name: String,
    /// Zone code, e.g. `R`.
    pub zone: String,
    /// Permen 14 fill colour, `#RRGGBB`.
    pub color: String,
    /// `observed` when the numeric code is seen in published data, `inferred` when inferred from
    /// the numbering, `derived` when taken from a published file.
    pub code_source: String,
}

/// Building-intensity limits of a sub-zone for parcels within a size range.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, sqlx::FromRow)]
pub struct IntensityTier {
    /// Sub-zone letter code.
    pub subzone: String,
    /// Smallest parcel area (m²) this tier applies to, inclusive.
    pub min_parcel_m2: f64,
    /// Parcel area (m²) where the next tier starts; `None` for the last tier.
    pub max_parcel_m2: Option<f64>,
    /// KDB: maximum building footprint, % of the parcel.
    pub kdb_max: f64,
    /// KLB minimum: floor area ratio.
    pub klb_min: f64,
    /// KLB maximum: floor area ratio.
    pub klb_max: f64,
    /// KDH: minimum green area, % of the parcel.
    pub kdh_min: f64,
    /// KTB: maximum basement footprint, % of the parcel.
    pub ktb_max: f64,
    /// Maximum building height, metres, where the rule set sets one.
    pub max_height_m: Option<f64>,
    /// Maximum number of floors, where the rule set sets one.
    pub max_floors: Option<i32>,
    /// GSB: minimum front setback, metres, where the rule set sets one.
    pub gsb_m: Option<f64>,
    /// Minimum parcel size for building, m², where the plan sets one.
    pub min_lot_m2: Option<f64>,
}

impl IntensityTier {
    /// Whether a parcel of `area_m2` falls in this tier.
    pub fn covers(&self, area_m2: f64) -> bool {
        area_m2 >= self.min_parcel_m2 && self.max_parcel_m2.is_none_or(|max| area_m2 < max)
    }
}

/// An activity of the ITBX matrix, with the KBLI codes it covers.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Activity {
    /// Activity id, e.g. `012`.
    pub id: String,
    /// Name, e.g. `Restoran`.
    pub name: String,
    /// KBLI 2020 codes (any level) this activity covers.
    pub kbli: Vec<String>,
}

/// One row of the KBLI 2020 classification.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Kbli {
    /// Code: a category letter or 2 to 5 digits.
    pub code: String,
    /// Title as BPS writes it.
    pub title: String,
    /// Description.
    #[serde(skip)]
    pub description: String,
    /// `kategori`, `golongan_pokok`, `golongan`, `subgolongan` or `kelompok`.
    pub level: String,
    /// The parent code, none for a category.
    pub parent: Option<String>,
    /// The category letter.
    pub category: String,
}

/// The class of an ITBX cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ItbxClass {
    /// Diizinkan: permitted.
    I,
    /// Terbatas: permitted with limits.
    T,
    /// Bersyarat: permitted with conditions.
    B,
    /// Terbatas dan bersyarat.
    TB,
    /// Tidak diizinkan: prohibited.
    X,
}

impl ItbxClass {
    /// The class code as stored (`I`, `T`, `B`, `TB`, `X`).
    pub fn as_str(self) -> &'static str {
        match self {
            ItbxClass::I => "I",
            ItbxClass::T => "T",
            ItbxClass::B => "B",
            ItbxClass::TB => "TB",
            ItbxClass::X => "X",
        }
    }

    /// Parses a stored class code.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "I" => ItbxClass::I,
            "T" => ItbxClass::T,
            "B" => ItbxClass::B,
            "TB" => ItbxClass::TB,
            "X" => ItbxClass::X,
            _ => return None,
        })
    }

    /// The class that applies to an activity on a parcel whose parts have classes `self` and
    /// `other`: prohibited anywhere is prohibited; limits and conditions add up (T with B is TB).
    pub fn combine(self, other: Self) -> Self {
        use ItbxClass::*;
        match (self, other) {
            (X, _) | (_, X) => X,
            (TB, _) | (_, TB) | (T, B) | (B, T) => TB,
            (B, _) | (_, B) => B,
            (T, _) | (_, T) => T,
            (I, I) => I,
        }
    }

    /// The Indonesian label of the class.
    pub fn label(self) -> &'static str {
        match self {
            ItbxClass::I => "Diizinkan",
            ItbxClass::T => "Diizinkan terbatas",
            ItbxClass::B => "Diizinkan bersyarat",
            ItbxClass::TB => "Diizinkan terbatas dan bersyarat",
            ItbxClass::X => "Tidak diizinkan",
        }
    }
}

/// One cell of the ITBX matrix: an activity's class in a sub-zone and its condition codes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItbxCell {
    /// Activity id.
    pub activity: String,
    /// Sub-zone letter code.
    pub subzone: String,
    /// The class.
    pub class: ItbxClass,
    /// Condition codes (`T1`, `B2`, ...).
    pub conditions: Vec<String>,
}

/// A numbered condition attached to T and B cells.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Condition {
    /// Code, e.g. `T1`.
    pub code: String,
    /// Text of the condition.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::ItbxClass::*;

    #[test]
    fn classes_of_parcel_parts_combine_to_the_stricter_rule() {
        assert_eq!(I.combine(I), I);
        assert_eq!(I.combine(T), T);
        assert_eq!(T.combine(B), TB);
        assert_eq!(B.combine(T), TB);
        assert_eq!(B.combine(I), B);
        assert_eq!(TB.combine(T), TB);
        assert_eq!(I.combine(X), X);
        assert_eq!(X.combine(TB), X);
    }
}
