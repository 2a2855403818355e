//! Importing an RDTR plan, step by step: choose the new version's rules ([`version_rules`]), read
//! the file and map its fields ([`read`], [`fields`]), stage the rows in PostGIS ([`stage`]),
//! validate them ([`validate`]), and publish a new plan version atomically ([`publish`]).
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
#[cfg(test)]
mod fields_props;
mod parcel_file;
mod publish;
mod read;
mod report;
mod stage;
mod validate;
mod version_rules;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sqlx::PgPool;

pub use fields::{CodeMap, Fields, OVERLAY_FIELDS, Prefer, Resolver, SubzoneMatch};
pub use parcel_file::read_parcel_file;
pub use publish::{RulesOutcome, RulesVersion, VersionState, publish_rules};
pub use report::{Finding, Policies, ValidationReport};

use crate::rules::{RuleSet, StoredRuleSet};

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
    /// The regulation that enacts the version (default: the plan's previous version's).
    pub regulation: Option<String>,
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
            regulation: None,
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
    /// The version's effective date and whether it is in force today; `None` for a dry run.
    pub state: Option<VersionState>,
}

/// Imports a plan file: validates it and, unless refused or a dry run, publishes it as the plan's
/// new version.
pub async fn import(pool: &PgPool, options: &ImportOptions) -> Result<ImportOutcome> {
    let started = std::time::Instant::now();
    let outcome = import_file(pool, options).await;
    if !options.dry_run {
        let subject = options
            .plan
            .clone()
            .unwrap_or_else(|| options.file.display().to_string());
        let ok = outcome.is_ok();
        crate::observe::record_operation(
            pool,
            crate::observe::Operation::Import,
            &subject,
            started,
            ok,
        )
        .await;
    }
    outcome
}

async fn import_file(pool: &PgPool, options: &ImportOptions) -> Result<ImportOutcome> {
    options.check()?;
    let plan = plan_name(options).await?;
    let mut conn = pool.acquire().await?;
    let rules = version_rules::choose(&mut conn, options, &plan).await?;
    let code_map = match &options.code_map {
        Some(path) => CodeMap::read(path, &rules.book).map_err(IngestError::Input)?,
        None => CodeMap::default(),
    };
    let sha256 = file_sha256(&options.file).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let staged =
        stage::read_and_stage(&mut tx, stage::StageInput::new(options, &rules, code_map)).await?;
    let checked = validate::check(&mut tx, options, staged, rules).await?;
    if checked.report.error_count() > 0 {
        tx.rollback().await?;
        return Err(IngestError::Rejected(Box::new(checked.report)));
    }
    if options.dry_run {
        tx.rollback().await?;
        return Ok(ImportOutcome {
            report: checked.report,
            version_id: None,
            version: None,
            rule_set: None,
            state: None,
        });
    }
    let outcome = publish::publish_import(&mut tx, &plan, options, &sha256, checked).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The plan's name: as given, or the layer's.
async fn plan_name(options: &ImportOptions) -> Result<String> {
    match &options.plan {
        Some(plan) => Ok(plan.clone()),
        None => {
            stage::layer_name(
                options.file.clone(),
                options.layer.clone(),
                options.source_crs.clone(),
            )
            .await
        }
    }
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
