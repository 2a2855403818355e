//! Importing an RDTR plan: GDAL readers -> attribute mapping -> staging in PostGIS -> validation ->
//! atomic publication of a new plan version.
//!
//! The whole import runs in one transaction: rows are streamed with COPY into a temporary staging
//! table, repaired and checked there, and only then copied into `zoning_feature` under a new
//! `plan_version` that becomes the plan's published version. A failed, refused or interrupted
//! import rolls back and leaves every published version as it was.

mod coverage;
mod fields;
mod read;
mod report;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::mpsc;

pub use fields::{Fields, OVERLAY_FIELDS, SubzoneMatch, resolve_subzone};
pub use report::{Finding, ValidationReport};

use crate::rules::RuleBook;

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
        }
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
}

/// What the reader found besides the rows it streamed.
struct ReadSummary {
    layer: String,
    crs: String,
    shapes: Vec<(i64, geo::MultiPolygon<f64>)>,
    rejected: Vec<Finding>,
    unknown: Vec<Finding>,
    conflicts: Vec<Finding>,
    features_read: usize,
}

/// A row of `repair.sql`: feature, reason, where (x, y), whether nothing polygonal remained.
type RepairRow = (i64, String, Option<f64>, Option<f64>, bool);

/// Bytes of COPY text sent to PostgreSQL at a time.
const COPY_CHUNK: usize = 256 * 1024;

/// Imports a plan file: validates it and, unless refused or a dry run, publishes it as the plan's
/// new version.
pub async fn import(pool: &PgPool, options: &ImportOptions) -> Result<ImportOutcome> {
    let started = std::time::Instant::now();
    if !options.tolerance_m2.is_finite() || options.tolerance_m2 < 0.0 {
        return Err(IngestError::Input(format!(
            "the tolerance must be a number of square metres, 0 or more (got {})",
            options.tolerance_m2
        )));
    }
    let rules = RuleBook::load(&mut *pool.acquire().await?).await?;
    if rules.subzones().is_empty() {
        return Err(IngestError::Input(
            "the sub-zone catalogue is empty: load the rule tables first (satupeta rules load data/rules)".into(),
        ));
    }
    let sha256 = file_sha256(&options.file).await?;
    let file = options.file.clone();
    let (layer_opt, crs_opt) = (options.layer.clone(), options.source_crs.clone());
    let (tx_rows, rx_rows) = mpsc::channel::<Vec<u8>>(16);
    let show_progress = options.progress;

    // GDAL objects stay on one blocking thread; rows travel to the COPY as text chunks.
    let reader = tokio::task::spawn_blocking(move || -> Result<ReadSummary> {
        let source = read::open(&file, layer_opt.as_deref(), crs_opt.as_deref())?;
        let bar = progress_bar(show_progress, source.feature_count);
        let mut chunk = Vec::with_capacity(COPY_CHUNK + 4096);
        let (mut unknown, mut conflicts) = (Vec::new(), Vec::new());
        let mut read_count = 0usize;
        let mut shapes = Vec::with_capacity(source.feature_count as usize);
        let rejected = source.read(|mut feature| {
            read_count += 1;
            bar.inc(1);
            let fields = Fields::new(&feature.attributes);
            let subzone = match resolve_subzone(&fields, &rules) {
                SubzoneMatch::Found(s) => Some(s.code.clone()),
                other => {
                    let finding = |message| Finding {
                        fid: Some(feature.fid),
                        message,
                        location: Some(feature.location),
                        ..Finding::default()
                    };
                    match other {
                        SubzoneMatch::Conflict(m) => conflicts.push(finding(m)),
                        SubzoneMatch::Unknown(m) => unknown.push(finding(m)),
                        _ => unknown.push(finding(
                            "has no sub-zone code (KODSZN) nor a known NAMOBJ".into(),
                        )),
                    }
                    None
                }
            };
            write_copy_row(&mut chunk, &feature, &fields, subzone.as_deref());
            drop(fields);
            shapes.push((
                feature.fid,
                std::mem::replace(&mut feature.shape, geo::MultiPolygon(vec![])),
            ));
            if chunk.len() >= COPY_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(COPY_CHUNK + 4096));
                tx_rows
                    .blocking_send(full)
                    .map_err(|_| IngestError::Interrupted)?;
            }
            Ok(())
        })?;
        if !chunk.is_empty() {
            tx_rows
                .blocking_send(chunk)
                .map_err(|_| IngestError::Interrupted)?;
        }
        bar.finish_and_clear();
        let features_read = read_count + rejected.len();
        Ok(ReadSummary {
            layer: source.name.clone(),
            crs: source.crs.clone(),
            shapes,
            rejected,
            unknown,
            conflicts,
            features_read,
        })
    });

    let mut conn = pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(include_str!("sql/create_staging.sql"))
        .execute(&mut *tx)
        .await?;
    let copy_result = async {
        let mut copy = tx
            .copy_in_raw(
                "COPY import_staging (fid, subzone_code, block, subblock, kelurahan, kecamatan, overlays, \
                 attributes, geom, rejected) FROM STDIN",
            )
            .await?;
        let mut rx_rows = rx_rows;
        while let Some(chunk) = rx_rows.recv().await {
            copy.send(chunk).await?;
        }
        copy.finish().await
    }
    .await;
    let read_result = reader
        .await
        .map_err(|e| IngestError::Input(format!("the reader failed: {e}")))?;
    let summary = match (read_result, copy_result) {
        (Ok(summary), Ok(_)) => summary,
        // A refused COPY is the cause; the reader only saw its channel close.
        (Ok(_) | Err(IngestError::Interrupted), Err(e)) => return Err(e.into()),
        (Err(e), _) => return Err(e),
    };
    let ReadSummary {
        layer: layer_name,
        crs,
        shapes,
        rejected,
        unknown,
        conflicts,
        features_read,
    } = summary;
    let tolerance_m2 = options.tolerance_m2;
    let topology = tokio::task::spawn_blocking(move || coverage::check(&shapes, tolerance_m2));

    tracing::debug!(elapsed = ?started.elapsed(), "read and staged");
    let mut report = ValidationReport {
        file: options.file.display().to_string(),
        layer: layer_name.clone(),
        source_crs: crs.clone(),
        features_read,
        tolerance_m2: options.tolerance_m2,
        rejected,
        unknown_codes: unknown,
        conflicting_codes: conflicts,
        ..ValidationReport::default()
    };
    repair(&mut tx, &mut report).await?;
    let coverage = topology
        .await
        .map_err(|e| IngestError::Input(format!("the topology check failed: {e}")))?;
    report.gaps = coverage.gaps;
    report.overlaps = if report.repaired.is_empty() {
        coverage.overlaps
    } else {
        // The shapes as read were invalid somewhere: measure overlaps on the repaired geometries.
        overlaps_after_repair(&mut tx, options.tolerance_m2).await?
    };
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
        });
    }

    let plan_name = options.plan.clone().unwrap_or_else(|| layer_name.clone());
    let plan_id: i64 = sqlx::query_scalar(
        "INSERT INTO plan (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(&plan_name)
    .fetch_one(&mut *tx)
    .await?;
    // The upsert above locks the plan's row until commit: concurrent imports of one plan queue.
    let (version_id, version): (i64, i32) = sqlx::query_as(
        "INSERT INTO plan_version (plan_id, version, source_file, source_sha256, source_layer, source_crs,
                                   feature_count, area_m2, report)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, 0, $7
         FROM plan_version WHERE plan_id = $1
         RETURNING id, version",
    )
    .bind(plan_id)
    .bind(options.file.display().to_string())
    .bind(&sha256)
    .bind(&layer_name)
    .bind(&crs)
    .bind(report.features_published as i32)
    .bind(sqlx::types::Json(&report))
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(include_str!("sql/publish.sql"))
        .bind(version_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE plan_version SET area_m2 = (SELECT COALESCE(SUM(area_m2), 0) FROM zoning_feature WHERE version_id = $1)
         WHERE id = $1",
    )
    .bind(version_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE plan SET published_version_id = $1 WHERE id = $2")
        .bind(version_id)
        .bind(plan_id)
        .execute(&mut *tx)
        .await?;
    crate::db::announce_change(&mut tx, &format!("plan {plan_name} version {version}")).await?;
    tx.commit().await?;
    Ok(ImportOutcome {
        report,
        version_id: Some(version_id),
        version: Some(version),
    })
}

/// Whether the published version of `plan` was imported from a file with this content.
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

/// Repairs invalid geometries in the staging table (GEOS MakeValid), reporting each repair, and
/// rejects features with nothing polygonal left.
async fn repair(tx: &mut sqlx::PgConnection, report: &mut ValidationReport) -> Result<()> {
    let repairs: Vec<RepairRow> = sqlx::query_as(include_str!("sql/repair.sql"))
        .fetch_all(&mut *tx)
        .await?;
    for (fid, reason, x, y, emptied) in repairs {
        let location = x.zip(y).map(|(x, y)| [x, y]);
        if emptied {
            report.rejected.push(Finding {
                fid: Some(fid),
                message: format!("invalid geometry ({reason}) with no area left after repair"),
                location,
                ..Finding::default()
            });
        } else {
            report.repaired.push(Finding {
                fid: Some(fid),
                message: reason,
                location,
                ..Finding::default()
            });
        }
    }
    sqlx::query("UPDATE import_staging SET rejected = true WHERE ST_IsEmpty(geom)")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Overlaps between repaired geometries, measured by PostGIS.
async fn overlaps_after_repair(
    tx: &mut sqlx::PgConnection,
    tolerance_m2: f64,
) -> Result<Vec<Finding>> {
    sqlx::query("CREATE INDEX ON import_staging USING gist (geom)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("ANALYZE import_staging")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(i64, i64, f64, f64, f64)> = sqlx::query_as(include_str!("sql/overlaps.sql"))
        .bind(tolerance_m2)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(a, b, area, x, y)| Finding {
            fid: Some(a),
            other_fid: Some(b),
            message: format!("features {a} and {b} overlap by {area:.1} m²"),
            area_m2: Some(area),
            location: Some([x, y]),
        })
        .collect())
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

fn progress_bar(visible: bool, len: u64) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} features ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message("importing");
    bar
}

/// Appends one row of COPY text: the resolved columns, the attributes and the geometry as EWKB.
fn write_copy_row(
    out: &mut Vec<u8>,
    feature: &read::SourceFeature,
    fields: &Fields<'_>,
    subzone: Option<&str>,
) {
    use std::io::Write;
    let _ = write!(out, "{}\t", feature.fid);
    for value in [
        subzone.map(str::to_string),
        fields.text("KODBLK"),
        fields.text("KODSBL"),
        fields.text("WADMKD"),
        fields.text("WADMKC"),
    ] {
        copy_text(out, value.as_deref());
        out.push(b'\t');
    }
    copy_text(
        out,
        Some(&serde_json::Value::Object(fields.overlays()).to_string()),
    );
    out.push(b'\t');
    copy_text(
        out,
        Some(&serde_json::Value::Object(feature.attributes.clone()).to_string()),
    );
    out.push(b'\t');
    out.extend_from_slice(hex::encode(multipolygon_ewkb(&feature.wkb, 4326)).as_bytes());
    out.extend_from_slice(if subzone.is_some() {
        b"\tf\n"
    } else {
        b"\tt\n"
    });
}

/// Escapes a value for COPY's text format (`\N` for null).
fn copy_text(out: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

/// Turns the WKB of a Polygon or MultiPolygon into the EWKB of a MultiPolygon with `srid`.
/// (PostGIS reads EWKB; writing it here spares a rewrite of every staged row in SQL.)
fn multipolygon_ewkb(wkb: &[u8], srid: u32) -> Vec<u8> {
    const SRID_FLAG: u32 = 0x2000_0000;
    let little = wkb[0] == 1;
    let kind = if little {
        u32::from_le_bytes([wkb[1], wkb[2], wkb[3], wkb[4]])
    } else {
        u32::from_be_bytes([wkb[1], wkb[2], wkb[3], wkb[4]])
    };
    let put = |out: &mut Vec<u8>, v: u32| {
        if little {
            out.extend_from_slice(&v.to_le_bytes())
        } else {
            out.extend_from_slice(&v.to_be_bytes())
        }
    };
    let mut out = Vec::with_capacity(wkb.len() + 13);
    out.push(wkb[0]);
    put(&mut out, 6 | SRID_FLAG);
    put(&mut out, srid);
    if kind == 3 {
        put(&mut out, 1);
        out.extend_from_slice(wkb);
    } else {
        out.extend_from_slice(&wkb[5..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_the_separators() {
        let mut out = Vec::new();
        copy_text(&mut out, Some("a\tb\\c\nd"));
        assert_eq!(out, b"a\\tb\\\\c\\nd");
        let mut null = Vec::new();
        copy_text(&mut null, None);
        assert_eq!(null, b"\\N");
    }

    #[test]
    fn a_polygon_becomes_a_multipolygon_with_an_srid() {
        let polygon = gdal::vector::Geometry::from_wkt("POLYGON((0 0,1 0,1 1,0 0))").unwrap();
        let ewkb = multipolygon_ewkb(&polygon.wkb().unwrap(), 4326);
        assert_eq!(&ewkb[1..5], &(6u32 | 0x2000_0000).to_le_bytes());
        assert_eq!(&ewkb[5..9], &4326u32.to_le_bytes());
        assert_eq!(&ewkb[9..13], &1u32.to_le_bytes());
    }
}
