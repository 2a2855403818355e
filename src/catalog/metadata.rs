//! The metadata of a dataset, after SNI 8843-1:2019 (the Indonesian profile of ISO 19115-1): what
//! an agency edits, what the node computes from the data, and when a record is complete enough to
//! be published.

use serde::{Deserialize, Serialize};

/// ISO 19115 `MD_TopicCategoryCode` values.
pub const TOPIC_CATEGORIES: &[&str] = &[
    "farming",
    "biota",
    "boundaries",
    "climatologyMeteorologyAtmosphere",
    "economy",
    "elevation",
    "environment",
    "geoscientificInformation",
    "health",
    "imageryBaseMapsEarthCover",
    "intelligenceMilitary",
    "inlandWaters",
    "location",
    "oceans",
    "planningCadastre",
    "society",
    "structure",
    "transportation",
    "utilitiesCommunication",
];

/// ISO 19115 `MD_MaintenanceFrequencyCode` values.
pub const UPDATE_FREQUENCIES: &[&str] = &[
    "continual",
    "daily",
    "weekly",
    "fortnightly",
    "monthly",
    "quarterly",
    "biannually",
    "annually",
    "asNeeded",
    "irregular",
    "notPlanned",
    "unknown",
];

/// ISO 19115 `CI_DateTypeCode` values a reference date may have.
pub const DATE_TYPES: &[&str] = &["creation", "publication", "revision"];

/// Who answers for a dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Contact {
    /// A person or a desk (optional).
    pub individual: Option<String>,
    /// The organisation's e-mail address.
    pub email: String,
    /// A telephone number (optional).
    pub phone: Option<String>,
}

/// The metadata an agency edits (`PUT /api/v1/datasets/{id}/metadata`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metadata {
    /// Title (judul).
    pub title: String,
    /// Abstract (abstrak).
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    /// ISO topic category, e.g. `health`, `planningCadastre`.
    pub topic_category: String,
    /// Free keywords (kata kunci).
    pub keywords: Vec<String>,
    /// Who to contact at the responsible agency.
    pub contact: Contact,
    /// Where the data came from and how it was made (riwayat data).
    pub lineage: String,
    /// The licence, e.g. `CC-BY-4.0`.
    pub licence: String,
    /// ISO maintenance frequency, e.g. `annually`, `asNeeded`.
    pub update_frequency: String,
    /// The reference date, `YYYY-MM-DD`.
    pub reference_date: String,
    /// What the reference date is: `creation`, `publication` or `revision`.
    pub reference_date_type: String,
    /// ISO 639-2 language of the data (`ind` by default).
    pub language: String,
}

/// What makes a metadata record incomplete or invalid: each names the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The field, as in the JSON document.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Metadata {
    /// Every missing or invalid field; empty when the record is complete.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let mut need = |field: &'static str, value: &str, max: usize| {
            if value.trim().is_empty() {
                gaps.push(Gap {
                    field,
                    problem: "is required".into(),
                });
            } else if value.chars().count() > max {
                gaps.push(Gap {
                    field,
                    problem: format!("is longer than {max} characters"),
                });
            }
        };
        need("title", &self.title, 250);
        need("abstract", &self.abstract_text, 4000);
        need("lineage", &self.lineage, 4000);
        need("licence", &self.licence, 200);
        need("contact.email", &self.contact.email, 200);
        let mut one_of = |field: &'static str, value: &str, allowed: &[&str]| {
            if !allowed.contains(&value) {
                gaps.push(Gap {
                    field,
                    problem: format!("must be one of {}", allowed.join(", ")),
                });
            }
        };
        one_of("topic_category", &self.topic_category, TOPIC_CATEGORIES);
        one_of(
            "update_frequency",
            &self.update_frequency,
            UPDATE_FREQUENCIES,
        );
        one_of("reference_date_type", self.date_type(), DATE_TYPES);
        if !self.contact.email.is_empty() && !plausible_email(&self.contact.email) {
            gaps.push(Gap {
                field: "contact.email",
                problem: "is not an e-mail address".into(),
            });
        }
        if chrono::NaiveDate::parse_from_str(&self.reference_date, "%Y-%m-%d").is_err() {
            gaps.push(Gap {
                field: "reference_date",
                problem: "must be a date, YYYY-MM-DD".into(),
            });
        }
        if self.keywords.is_empty() {
            gaps.push(Gap {
                field: "keywords",
                problem: "needs at least one keyword".into(),
            });
        }
        if self.keywords.len() > 50
            || self
                .keywords
                .iter()
                .any(|k| k.trim().is_empty() || k.len() > 100)
        {
            gaps.push(Gap {
                field: "keywords",
                problem: "at most 50 keywords, each 1 to 100 characters".into(),
            });
        }
        gaps
    }

    /// The reference date's type (`publication` when not given).
    pub fn date_type(&self) -> &str {
        if self.reference_date_type.is_empty() {
            "publication"
        } else {
            &self.reference_date_type
        }
    }

    /// The language code (`ind` when not given).
    pub fn language(&self) -> &str {
        if self.language.is_empty() {
            "ind"
        } else {
            &self.language
        }
    }
}

fn plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
}

/// A dataset's metadata as the node publishes it: what the agency wrote and what the node knows.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataRecord {
    /// The dataset (and collection) id; also the record's identifier.
    pub id: String,
    /// What the agency wrote.
    pub metadata: Metadata,
    /// The responsible agency's code.
    pub agency: String,
    /// The responsible agency's name.
    pub agency_name: String,
    /// West, south, east, north in EPSG:4326, computed from the data.
    pub extent: Option<[f64; 4]>,
    /// The CRS the data is kept in (`EPSG:4326`).
    pub crs: String,
    /// The geometry type of the data (`Point`, `MultiPolygon`, ...).
    pub geometry_type: Option<String>,
    /// Features in the current version.
    pub features: i64,
    /// When the record or the data last changed (RFC 3339).
    pub updated: String,
    /// Whether everyone may see it (else signed-in accounts only).
    pub public: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> Metadata {
        Metadata {
            title: "Puskesmas Kota Balikpapan".into(),
            abstract_text: "Lokasi pusat kesehatan masyarakat.".into(),
            topic_category: "health".into(),
            keywords: vec!["kesehatan".into()],
            contact: Contact {
                email: "dinkes@balikpapan.go.id".into(),
                ..Contact::default()
            },
            lineage: "Survei lapangan 2025.".into(),
            licence: "CC-BY-4.0".into(),
            update_frequency: "annually".into(),
            reference_date: "2025-06-01".into(),
            ..Metadata::default()
        }
    }

    #[test]
    fn a_complete_record_has_no_gaps() {
        assert_eq!(complete().gaps(), vec![]);
        assert_eq!(complete().date_type(), "publication");
    }

    #[test]
    fn every_gap_names_its_field() {
        let mut m = complete();
        m.topic_category = "kesehatan".into();
        m.contact.email = "dinkes at balikpapan".into();
        m.reference_date = "1 Juni 2025".into();
        m.title = " ".into();
        let fields: Vec<_> = m.gaps().into_iter().map(|g| g.field).collect();
        assert_eq!(
            fields,
            ["title", "topic_category", "contact.email", "reference_date"]
        );
        assert_eq!(Metadata::default().gaps().len(), 9);
    }
}
