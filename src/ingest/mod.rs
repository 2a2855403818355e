//! Importing an RDTR plan, step by step: read the file and map its fields ([`read`], [`fields`]),
//! stage the rows in PostGIS ([`stage`]), validate them ([`validate`]), and publish a new plan
//! version atomically ([`publish`]).
//!
//! The whole import runs in one transaction: rows are streamed with COPY into a temporary
//! staging table, repaired and checked there, and only then copied into `zoning_feature` under a new
//! `plan_version` that becomes the plan's newest version, with its rule set and effective date. A
//! failed, refused or interrupted import rolls back and leaves every version as it was.
//!
//! Defaults are strict. Explicit policies let a file with known defects publish, each recorded in
//! the version's report: `--code-map`, `--prefer`, `--allow-overlaps`, `--rules-from-attributes`.

mod coverage;
mod fields;
mod publish;
mod read;
mod report;
mod stage;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

pub use fields::{CodeMap, Fields, OVERLAY_FIELDS, Prefer, Resolver, SubzoneMatch};
pub use publish::{RulesOutcome, RulesVersion, publish_rules};
pub use report::{Finding, Policies, ValidationReport};

use crate::rules::attributes::{AttributeFeature, rules_from_attributes};
use crate::rules::{Reference, RuleBook, RuleSet, StoredRuleSet, Subzone, store_rule_set};

/// Errors of the import.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file or the options are unusable; the message says why.
    #[error("{0}")]
    Input(String),
    /// The database stopped taking rows while the file was read (its own error says why).
    #[error("the database stopped taking rows")]
    Interrupted,
    /// The file was read, but the validation found errors; nothing was published.
    #[error("the plan was not published: {}", .0.error_summary())]
    Rejected(Box<ValidationReport>),
    /// GDAL failed while reading.
    #[error("reading the file: {0}")]
    Gdal(#[from] gdal::errors::GdalError),
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The rule tables could not be read.
    #[error(transparent)]
    Rules(#[from] crate::rules::RulesError),
}

/// Result alias of the import.
pub type Result<T> = std::result::Result<T, IngestError>;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The file: GeoPackage, Shapefile (.shp or .zip), GeoJSON, FlatGeobuf or KML.
    pub file: PathBuf,
    /// The layer to read; by default the only polygon layer.
    pub layer: Option<String>,
    /// The plan (RDTR document) this file is a version of; by default the layer name.
    pub plan: Option<String>,
    /// Overrides the file's CRS (for files without one), e.g. `EPSG:23837`.
    pub source_crs: Option<String>,
    /// Only validate and report; publish nothing.
    pub dry_run: bool,
    /// Overlaps and gaps smaller than this many square metres are ignored.
    pub tolerance_m2: f64,
    /// Show a progress bar on the terminal.
    pub progress: bool,
    /// The rule set of the new version (a rules directory); by default the plan's current rules,
    /// or the city's for a new plan.
    pub rules: Option<RuleSet>,
    /// The day the version takes effect (YYYY-MM-DD); by default the day of publication.
    pub effective: Option<String>,
    /// `--code-map`: local codes mapped to catalogue codes.
    pub code_map: Option<PathBuf>,
    /// `--prefer`: which code wins when a feature's codes disagree.
    pub prefer: Option<Prefer>,
    /// `--allow-overlaps`: overlapping zones publish, ranked by the lookups' precedence.
    pub allow_overlaps: bool,
    /// `--rules-from-attributes`: the file's attributes carry its rules.
    pub rules_from_attributes: bool,
}

impl ImportOptions {
    /// Options with the defaults for `file`.
    pub fn new(file: impl Into<PathBuf>) -> Self {
        ImportOptions {
            file: file.into(),
            layer: None,
            plan: None,
            source_crs: None,
            dry_run: false,
            tolerance_m2: 1.0,
            progress: false,
            rules: None,
            effective: None,
            code_map: None,
            prefer: None,
            allow_overlaps: false,
            rules_from_attributes: false,
        }
    }

    /// The policies these options set, as the report records them.
    fn policies(&self) -> Policies {
        Policies {
            code_map: self.code_map.as_ref().map(|p| p.display().to_string()),
            prefer: self.prefer.map(|p| p.as_str().to_string()),
            allow_overlaps: self.allow_overlaps,
            rules_from_attributes: self.rules_from_attributes,
        }
    }

    fn check(&self) -> Result<()> {
        if !self.tolerance_m2.is_finite() || self.tolerance_m2 < 0.0 {
            return Err(IngestError::Input(format!(
                "the tolerance must be a number of square metres, 0 or more (got {})",
                self.tolerance_m2
            )));
        }
        if self.rules.is_some() && self.rules_from_attributes {
            return Err(IngestError::Input(
                "give either --rules DIR or --rules-from-attributes, not both".into(),
            ));
        }
        if let Some(day) = &self.effective {
            crate::calendar::parse_day(day)
                .map_err(|e| IngestError::Input(format!("--effective: {e}")))?;
        }
        Ok(())
    }
}

/// The result of an import that passed validation.
#[derive(Debug)]
pub struct ImportOutcome {
    /// The validation report (also stored with the version).
    pub report: ValidationReport,
    /// The published version's id; `None` for a dry run.
    pub version_id: Option<i64>,
    /// The published version's number within its plan; `None` for a dry run.
    pub version: Option<i32>,
    /// The rule set the version uses; `None` for a dry run.
    pub rule_set: Option<StoredRuleSet>,
}

/// The rules a new version will have.
enum VersionRules {
    /// A rule set not stored yet (from `--rules DIR`).
    New(RuleSet),
    /// A stored rule set (the plan's current one, or the city's).
    Stored,
    /// The file's own, read after staging (`--rules-from-attributes`).
    FromAttributes,
}

/// Imports a plan file: validates it and, unless refused or a dry run, publishes it as the plan's
/// new version.
pub async fn import(pool: &PgPool, options: &ImportOptions) -> Result<ImportOutcome> {
    let started = std::time::Instant::now();
    options.check()?;
    let plan = match &options.plan {
        Some(plan) => plan.clone(),
        None => {
            stage::layer_name(
                options.file.clone(),
                options.layer.clone(),
                options.source_crs.clone(),
            )
            .await?
        }
    };
    let mut conn = pool.acquire().await?;
    let reference = Arc::new(Reference::load(&mut conn).await?);
    let (version_rules, book) = rules_for(&mut conn, options, &plan, reference.clone()).await?;
    let code_map = match &options.code_map {
        Some(path) => CodeMap::read(path, &book).map_err(IngestError::Input)?,
        None => CodeMap::default(),
    };
    let sha256 = file_sha256(&options.file).await?;

    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let staged = stage::read_and_stage(
        &mut tx,
        stage::StageInput {
            file: options.file.clone(),
            layer: options.layer.clone(),
            source_crs: options.source_crs.clone(),
            book: book.clone(),
            code_map: Arc::new(code_map),
            prefer: options.prefer,
            keep_attributes: options.rules_from_attributes,
            progress: options.progress,
        },
    )
    .await?;
    tracing::debug!(elapsed = ?started.elapsed(), "read and staged");
    let tolerance_m2 = options.tolerance_m2;
    let shapes = staged.shapes;
    let topology = tokio::task::spawn_blocking(move || coverage::check(&shapes, tolerance_m2));
    let mut report = ValidationReport {
        file: options.file.display().to_string(),
        layer: staged.layer.clone(),
        source_crs: staged.crs.clone(),
        features_read: staged.features_read,
        tolerance_m2: options.tolerance_m2,
        rejected: staged.rejected,
        unknown_codes: staged.unknown,
        conflicting_codes: staged.conflicts,
        resolved_conflicts: staged.resolved,
        mapped_codes: validate::mapped_findings(&staged.mapped),
        derived_subzones: derived_findings(&staged.derived),
        policies: options.policies(),
        ..ValidationReport::default()
    };
    validate::repair(&mut tx, &mut report).await?;
    let coverage = topology
        .await
        .map_err(|e| IngestError::Input(format!("the topology check failed: {e}")))?;
    report.gaps = coverage.gaps;
    report.overlaps = if report.repaired.is_empty() {
        coverage.overlaps
    } else {
        // The shapes as read were invalid somewhere: measure overlaps on the repaired geometries.
        validate::overlaps_after_repair(&mut tx, options.tolerance_m2).await?
    };
    let derived: Vec<Subzone> = staged.derived.into_values().map(|(s, _)| s).collect();
    let (book, new_rules) = match version_rules {
        VersionRules::FromAttributes => {
            let rules = file_rules(&mut tx, &staged.kept, &book, &derived, options).await?;
            report.rules_read = rules.notes.clone();
            let book = Arc::new(RuleBook::new(0, String::new(), rules.clone(), reference));
            (book, Some(rules))
        }
        VersionRules::New(rules) => (book, Some(rules)),
        VersionRules::Stored => (book, None),
    };
    report.unregulated_subzones = validate::unregulated(&mut tx, &book).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "validated");
    let published: i64 =
        sqlx::query_scalar("SELECT count(*) FROM import_staging WHERE NOT rejected")
            .fetch_one(&mut *tx)
            .await?;
    report.features_published = published as usize;

    if report.error_count() > 0 {
        tx.rollback().await?;
        return Err(IngestError::Rejected(Box::new(report)));
    }
    if options.dry_run {
        tx.rollback().await?;
        return Ok(ImportOutcome {
            report,
            version_id: None,
            version: None,
            rule_set: None,
        });
    }
    let rule_set = match (&version_rules_id(&book), new_rules) {
        (_, Some(rules)) => store_rule_set(&mut tx, &rules, false).await?,
        (Some(id), None) => StoredRuleSet {
            id: *id,
            digest: book.digest().to_string(),
            reused: true,
        },
        (None, None) => {
            return Err(IngestError::Input("the version has no rule set".into()));
        }
    };
    crate::rules::record_derived(&mut tx, &derived).await?;
    let file = options.file.display().to_string();
    let origin = publish::Origin {
        file: &file,
        sha256: &sha256,
        layer: &staged.layer,
        crs: &staged.crs,
    };
    let (version_id, version) = publish::publish_staged(
        &mut tx,
        &plan,
        &origin,
        &report,
        rule_set.id,
        options.effective.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportOutcome {
        report,
        version_id: Some(version_id),
        version: Some(version),
        rule_set: Some(rule_set),
    })
}

/// The id of a stored rule book (0 is a book not stored).
fn version_rules_id(book: &RuleBook) -> Option<i64> {
    (book.id() != 0).then_some(book.id())
}

/// The rules of the new version, and the rule book the file's codes are resolved against.
async fn rules_for(
    conn: &mut PgConnection,
    options: &ImportOptions,
    plan: &str,
    reference: Arc<Reference>,
) -> Result<(VersionRules, Arc<RuleBook>)> {
    if let Some(rules) = &options.rules {
        let book = RuleBook::new(0, String::new(), rules.clone(), reference);
        return Ok((VersionRules::New(rules.clone()), Arc::new(book)));
    }
    if options.rules_from_attributes {
        // Codes resolve against the national catalogue; the rules come from the file.
        let book = RuleBook::new(0, String::new(), RuleSet::default(), reference);
        return Ok((VersionRules::FromAttributes, Arc::new(book)));
    }
    let current: Option<i64> = sqlx::query_scalar(
        "SELECT v.rule_set_id FROM plan_version v JOIN plan p ON p.id = v.plan_id
         WHERE p.name = $1 ORDER BY v.version DESC LIMIT 1",
    )
    .bind(plan)
    .fetch_optional(&mut *conn)
    .await?;
    let id = match current {
        Some(id) => id,
        None => crate::rules::city_rule_set(conn).await?.ok_or_else(|| {
            IngestError::Input(
                "no rules to publish the plan with: load the city's rule tables first (satupeta rules load data/rules), or give --rules DIR or --rules-from-attributes".into(),
            )
        })?,
    };
    let book = RuleBook::load(conn, id, reference).await?;
    Ok((VersionRules::Stored, Arc::new(book)))
}

/// The rule set a file carries in its attributes; features whose sub-zone carries several rule
/// variants are moved to the variant's code in the staging table.
async fn file_rules(
    tx: &mut PgConnection,
    kept: &[stage::KeptRow],
    book: &RuleBook,
    derived: &[Subzone],
    options: &ImportOptions,
) -> Result<RuleSet> {
    let legend = |code: &str| {
        book.legend(code)
            .or_else(|| derived.iter().find(|s| s.code == code))
    };
    let features: Vec<AttributeFeature<'_>> = kept
        .iter()
        .filter_map(|row| {
            Some(AttributeFeature {
                fid: row.fid,
                subzone: legend(&row.code)?,
                attributes: &row.attributes,
            })
        })
        .collect();
    let read = rules_from_attributes(&features, &options.file.display().to_string()).map_err(
        |errors| {
            IngestError::Input(format!(
                "--rules-from-attributes: the file's rules cannot be read ({} error(s)):\n  {}",
                errors.len(),
                errors.join("\n  ")
            ))
        },
    )?;
    if !read.reassigned.is_empty() {
        let (fids, codes): (Vec<i64>, Vec<String>) = read.reassigned.iter().cloned().unzip();
        sqlx::query(
            "UPDATE import_staging s SET subzone_code = u.code
             FROM UNNEST($1::bigint[], $2::text[]) AS u(fid, code) WHERE s.fid = u.fid",
        )
        .bind(fids)
        .bind(codes)
        .execute(&mut *tx)
        .await?;
    }
    let mut rules = read.rules;
    rules.notes = read.notes;
    Ok(rules)
}

/// One warning per sub-zone derived from a numeric code the catalogue lacks.
fn derived_findings(
    derived: &std::collections::BTreeMap<String, (Subzone, usize)>,
) -> Vec<Finding> {
    derived
        .values()
        .map(|(s, n)| Finding {
            message: format!(
                "numeric code {} is not in the national catalogue: published as a sub-zone of zone {} named \"{}\" (from the file) in {n} feature(s)",
                s.catalog_code, s.zone, s.name
            ),
            ..Finding::default()
        })
        .collect()
}

/// Whether the newest version of `plan` was imported from a file with this content.
pub async fn is_published(pool: &PgPool, plan: &str, file: &Path) -> Result<bool> {
    let sha256 = file_sha256(file).await?;
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM plan p JOIN plan_version v ON v.id = p.published_version_id
                        WHERE p.name = $1 AND v.source_sha256 = $2)",
    )
    .bind(plan)
    .bind(sha256)
    .fetch_one(pool)
    .await?)
}

/// SHA-256 of the file's content; for a Shapefile, of the .shp with its .shx, .dbf, .prj and .cpg.
async fn file_sha256(file: &Path) -> Result<String> {
    let mut parts = vec![file.to_path_buf()];
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("shp"))
    {
        parts.extend(
            ["shx", "dbf", "prj", "cpg"]
                .map(|e| file.with_extension(e))
                .into_iter()
                .filter(|p| p.exists()),
        );
    }
    let mut hasher = Sha256::new();
    for part in parts {
        let bytes = tokio::fs::read(&part)
            .await
            .map_err(|e| IngestError::Input(format!("cannot read {}: {e}", part.display())))?;
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}
