//! The validation report of an import: printed, and stored with the plan version.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem or repair, with the feature(s) and the place it concerns.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// The source feature id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid: Option<i64>,
    /// The other feature, for overlaps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_fid: Option<i64>,
    /// What was found, in words.
    pub message: String,
    /// The area concerned, m².
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    /// Where, as `[lon, lat]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
}

/// The explicit policies an import was run with: each lets a file with a known kind of defect
/// publish, and each is recorded with the version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Policies {
    /// `--code-map`: the CSV file mapping local codes to catalogue codes.
    pub code_map: Option<String>,
    /// `--prefer`: which code wins when a feature's codes disagree (numeric, letter or name).
    pub prefer: Option<String>,
    /// `--allow-overlaps`: overlapping zones publish; lookups rank them (see the precedence).
    pub allow_overlaps: bool,
    /// `--rules-from-attributes`: the file's own rules became the version's rule set.
    pub rules_from_attributes: bool,
}

impl Policies {
    /// Whether any policy is set.
    pub fn any(&self) -> bool {
        *self != Policies::default()
    }
}

/// What an import found in a file. Repairs, gaps, and what an explicit policy let through are
/// warnings; everything else is an error that stops the plan from being published.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationReport {
    /// The file read.
    pub file: String,
    /// The layer read.
    pub layer: String,
    /// The file's CRS.
    pub source_crs: String,
    /// Features read from the layer.
    pub features_read: usize,
    /// Features that passed and are (or, in a dry run, would be) published.
    pub features_published: usize,
    /// Overlaps and gaps smaller than this are ignored, m².
    pub tolerance_m2: f64,
    /// Invalid geometries that were repaired (warning).
    pub repaired: Vec<Finding>,
    /// Features that cannot be used: no geometry, not a polygon, nothing left after repair (error).
    pub rejected: Vec<Finding>,
    /// Sub-zone codes not in the catalogue (error).
    pub unknown_codes: Vec<Finding>,
    /// Codes or names of one feature that mean different sub-zones (error).
    pub conflicting_codes: Vec<Finding>,
    /// Zones overlapping by more than the tolerance (error).
    pub overlaps: Vec<Finding>,
    /// Uncovered holes inside the plan larger than the tolerance (warning).
    pub gaps: Vec<Finding>,
    /// The policies the import was run with.
    pub policies: Policies,
    /// Codes mapped by `--code-map`, one finding per mapping used (warning).
    pub mapped_codes: Vec<Finding>,
    /// Features whose codes disagreed, resolved by `--prefer` (warning).
    pub resolved_conflicts: Vec<Finding>,
    /// Numeric codes missing from the national catalogue, accepted as sub-zones of the zone their
    /// leading digits name, named from the file (warning).
    pub derived_subzones: Vec<Finding>,
    /// Sub-zones the version's rule set sets no rules for (warning).
    pub unregulated_subzones: Vec<Finding>,
    /// What was read from the file's attributes as its rule set (`--rules-from-attributes`).
    pub rules_read: Vec<String>,
}

impl ValidationReport {
    /// Number of findings that stop publication.
    pub fn error_count(&self) -> usize {
        self.rejected.len()
            + self.unknown_codes.len()
            + self.conflicting_codes.len()
            + self.blocking_overlaps()
    }

    /// Overlaps that stop publication: all of them, unless `--allow-overlaps`.
    fn blocking_overlaps(&self) -> usize {
        if self.policies.allow_overlaps {
            0
        } else {
            self.overlaps.len()
        }
    }

    /// Number of warnings: what was repaired, let through by a policy, or is only noted.
    pub fn warning_count(&self) -> usize {
        self.repaired.len()
            + self.gaps.len()
            + (self.overlaps.len() - self.blocking_overlaps())
            + self.mapped_codes.len()
            + self.resolved_conflicts.len()
            + self.derived_subzones.len()
            + self.unregulated_subzones.len()
    }

    /// A one-line summary of the errors.
    pub fn error_summary(&self) -> String {
        let parts: Vec<String> = [
            (self.rejected.len(), "unusable geometries"),
            (self.unknown_codes.len(), "unknown sub-zone codes"),
            (self.conflicting_codes.len(), "conflicting codes"),
            (self.blocking_overlaps(), "overlaps between zones"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let overlaps: &[Finding] = if self.blocking_overlaps() > 0 {
            &self.overlaps
        } else {
            &[]
        };
        let first = [
            &self.rejected[..],
            &self.unknown_codes,
            &self.conflicting_codes,
            overlaps,
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|f| format!("; first: {}", describe(f)))
        .unwrap_or_default();
        format!("{}{first}", parts.join(", "))
    }
}

fn describe(f: &Finding) -> String {
    let mut text = match f.fid {
        Some(fid) if f.other_fid.is_none() => format!("feature {fid}: {}", f.message),
        _ => f.message.clone(),
    };
    if let Some([x, y]) = f.location {
        text.push_str(&format!(" at {x:.6}, {y:.6}"));
    }
    text
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Validation report for {} (layer \"{}\", {})",
            self.file, self.layer, self.source_crs
        )?;
        writeln!(f, "  features read:      {}", self.features_read)?;
        writeln!(f, "  features usable:    {}", self.features_published)?;
        let overlaps = if self.policies.allow_overlaps {
            "overlaps above tolerance (warning: --allow-overlaps)"
        } else {
            "overlaps above tolerance (error)"
        };
        let sections = [
            ("repaired geometries (warning)", &self.repaired),
            ("rejected geometries (error)", &self.rejected),
            ("unknown codes (error)", &self.unknown_codes),
            ("conflicting codes (error)", &self.conflicting_codes),
            (overlaps, &self.overlaps),
            ("gaps above tolerance (warning)", &self.gaps),
            ("codes mapped by --code-map (warning)", &self.mapped_codes),
            (
                "conflicting codes resolved by --prefer (warning)",
                &self.resolved_conflicts,
            ),
            (
                "sub-zones derived from their numeric code (warning)",
                &self.derived_subzones,
            ),
            (
                "sub-zones without rules in the rule set (warning)",
                &self.unregulated_subzones,
            ),
        ];
        for (title, findings) in sections {
            let area: f64 = findings.iter().filter_map(|x| x.area_m2).sum();
            if area > 0.0 {
                writeln!(f, "  {title}: {} ({area:.1} m² in all)", findings.len())?;
            } else {
                writeln!(f, "  {title}: {}", findings.len())?;
            }
            const SHOWN: usize = 10;
            for finding in findings.iter().take(SHOWN) {
                writeln!(f, "    - {}", describe(finding))?;
            }
            if findings.len() > SHOWN {
                writeln!(f, "    ... and {} more", findings.len() - SHOWN)?;
            }
        }
        if !self.rules_read.is_empty() {
            writeln!(f, "  rules read from the file's attributes:")?;
            for note in &self.rules_read {
                writeln!(f, "    - {note}")?;
            }
        }
        write!(f, "  tolerance: {} m²", self.tolerance_m2)
    }
}
