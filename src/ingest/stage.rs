//! Staging: the file read on a blocking thread (GDAL objects stay on one thread), each row's
//! fields mapped and its sub-zone resolved, and the rows streamed with COPY into a temporary
//! staging table of the import's transaction.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::fields::{CodeMap, DerivedUse, Fields, Prefer, Resolver, SubzoneMatch};
use super::version_rules::VersionRules;
use super::{Finding, ImportOptions, IngestError, Result, read};
use crate::rules::RuleBook;
use crate::rules::attributes::RULE_FIELDS;

/// Bytes of COPY text sent to PostgreSQL at a time.
const COPY_CHUNK: usize = 256 * 1024;

/// What staging needs to know.
pub(super) struct StageInput {
    pub file: PathBuf,
    pub layer: Option<String>,
    pub source_crs: Option<String>,
    pub book: Arc<RuleBook>,
    pub code_map: Arc<CodeMap>,
    pub prefer: Option<Prefer>,
    /// Keep every row's attributes (for `--rules-from-attributes`).
    pub keep_attributes: bool,
    pub progress: bool,
}

impl StageInput {
    /// The input of an import with `options`, resolving codes against `rules`' book.
    pub(super) fn new(options: &ImportOptions, rules: &VersionRules, code_map: CodeMap) -> Self {
        StageInput {
            file: options.file.clone(),
            layer: options.layer.clone(),
            source_crs: options.source_crs.clone(),
            book: rules.book.clone(),
            code_map: Arc::new(code_map),
            prefer: options.prefer,
            keep_attributes: options.rules_from_attributes,
            progress: options.progress,
        }
    }
}

/// A staged row's sub-zone and attributes, kept for reading the file's own rules.
pub(super) struct KeptRow {
    pub fid: i64,
    pub code: String,
    pub attributes: Map<String, Value>,
}

/// What the reader found besides the rows it streamed.
pub(super) struct Staged {
    pub layer: String,
    pub crs: String,
    pub shapes: Vec<(i64, geo::MultiPolygon<f64>)>,
    pub rejected: Vec<Finding>,
    pub unknown: Vec<Finding>,
    pub conflicts: Vec<Finding>,
    pub resolved: Vec<Finding>,
    pub derived: BTreeMap<String, DerivedUse>,
    pub mapped: BTreeMap<(String, String, String), usize>,
    pub kept: Vec<KeptRow>,
    pub features_read: usize,
}

/// Opens the file only to learn its layer's name (the plan's default name).
pub(super) async fn layer_name(
    file: PathBuf,
    layer: Option<String>,
    source_crs: Option<String>,
) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        read::open(&file, layer.as_deref(), source_crs.as_deref()).map(|l| l.name)
    })
    .await
    .map_err(|e| IngestError::Input(format!("the reader failed: {e}")))?
}

/// Reads the file and stages its rows in `import_staging` (created here) through COPY.
pub(super) async fn read_and_stage(
    tx: &mut sqlx::PgConnection,
    input: StageInput,
) -> Result<Staged> {
    let (tx_rows, rx_rows) = mpsc::channel::<Vec<u8>>(16);
    let reader = tokio::task::spawn_blocking(move || read_rows(input, &tx_rows));
    sqlx::query(include_str!("sql/create_staging.sql"))
        .execute(&mut *tx)
        .await?;
    let copy_result = copy_rows(tx, rx_rows).await;
    let read_result = reader
        .await
        .map_err(|e| IngestError::Input(format!("the reader failed: {e}")))?;
    match (read_result, copy_result) {
        (Ok(staged), Ok(())) => Ok(staged),
        // A refused COPY is the cause; the reader only saw its channel close.
        (Ok(_) | Err(IngestError::Interrupted), Err(e)) => Err(e),
        (Err(e), _) => Err(e),
    }
}

async fn copy_rows(
    tx: &mut sqlx::PgConnection,
    mut rx_rows: mpsc::Receiver<Vec<u8>>,
) -> Result<()> {
    let mut copy = tx
        .copy_in_raw(
            "COPY import_staging (fid, subzone_code, block, subblock, kelurahan, kecamatan, overlays, \
             attributes, geom, rejected) FROM STDIN",
        )
        .await?;
    while let Some(chunk) = rx_rows.recv().await {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// The reader's side: every row read, resolved and written as COPY text into `rows`.
fn read_rows(input: StageInput, rows: &mpsc::Sender<Vec<u8>>) -> Result<Staged> {
    let source = read::open(
        &input.file,
        input.layer.as_deref(),
        input.source_crs.as_deref(),
    )?;
    let bar = progress_bar(input.progress, source.feature_count);
    let mut resolver = Resolver::new(&input.book, &input.code_map, input.prefer);
    let mut chunk = Vec::with_capacity(COPY_CHUNK + 4096);
    let (mut unknown, mut conflicts, mut resolved) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = Vec::new();
    let mut read_count = 0usize;
    // The count is the file's word (a FlatGeobuf's header may say a billion): not an allocation.
    let mut shapes = Vec::with_capacity(source.feature_count.min(100_000) as usize);
    let rejected = source.read(|mut feature| {
        read_count += 1;
        bar.inc(1);
        let fields = Fields::new(&feature.attributes);
        let finding = |message| Finding {
            fid: Some(feature.fid),
            message,
            location: Some(feature.location),
            ..Finding::default()
        };
        let code = match resolver.resolve(&fields) {
            SubzoneMatch::Found {
                code,
                resolved: how,
            } => {
                resolved.extend(how.map(finding));
                Some(code)
            }
            SubzoneMatch::Conflict(m) => {
                conflicts.push(finding(m));
                None
            }
            SubzoneMatch::Unknown(m) => {
                unknown.push(finding(m));
                None
            }
            SubzoneMatch::Missing => {
                unknown.push(finding(
                    "has no sub-zone code (KODSZN) nor a known NAMOBJ".into(),
                ));
                None
            }
        };
        write_copy_row(&mut chunk, &feature, &fields, code.as_deref());
        drop(fields);
        if input.keep_attributes
            && let Some(code) = &code
        {
            // Only the fields that carry rules are kept (a file's rows may be large).
            let attributes = std::mem::take(&mut feature.attributes)
                .into_iter()
                .filter(|(name, _)| RULE_FIELDS.contains(&name.to_uppercase().as_str()))
                .collect();
            kept.push(KeptRow {
                fid: feature.fid,
                code: code.clone(),
                attributes,
            });
        }
        shapes.push((
            feature.fid,
            std::mem::replace(&mut feature.shape, geo::MultiPolygon(vec![])),
        ));
        if chunk.len() >= COPY_CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(COPY_CHUNK + 4096));
            rows.blocking_send(full)
                .map_err(|_| IngestError::Interrupted)?;
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        rows.blocking_send(chunk)
            .map_err(|_| IngestError::Interrupted)?;
    }
    bar.finish_and_clear();
    let features_read = read_count + rejected.len();
    // GDAL ends a layer's features at the first it cannot read, saying so only in its log: a
    // damaged file would publish the features before the damage (or none: an empty plan).
    if (features_read as u64) < source.feature_count {
        return Err(IngestError::Input(format!(
            "{}: {features_read} of the {} features the layer \"{}\" declares could be read: \
             the file is damaged or cut short",
            input.file.display(),
            source.feature_count,
            source.name
        )));
    }
    Ok(Staged {
        layer: source.name.clone(),
        crs: source.crs.clone(),
        shapes,
        rejected,
        unknown,
        conflicts,
        resolved,
        derived: resolver.derived,
        mapped: resolver.mapped,
        kept,
        features_read,
    })
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
