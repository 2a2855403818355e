//! The datasets of agencies: created by an upload, re-published atomically (each version's data
//! in a table of its own; the previous ones kept), described with metadata, approved by DPPR
//! staff. Every write is audited and announced under the dataset's topic.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::metadata::Gap;
use super::upload::{Header, Summary};
use super::{
    CatalogError, Collection, Metadata, MetadataRecord, Result, Source, Visibility, properties_of,
    quote_ident,
};
use crate::accounts::{self, Actor, Principal, Role};

/// The schema of the datasets' tables.
pub const SCHEMA: &str = "dataset_data";

#[derive(sqlx::FromRow)]
struct DatasetRow {
    id: String,
    agency: String,
    agency_name: String,
    metadata: sqlx::types::Json<Metadata>,
    visibility: String,
    current_version: Option<i32>,
    table_name: Option<String>,
    features: Option<i64>,
    geometry_type: Option<String>,
    extent: Option<Vec<f64>>,
    updated: String,
}

/// The datasets as collections (or only `id`).
pub async fn read_collections(pool: &PgPool, id: Option<&str>) -> Result<Vec<Collection>> {
    let rows: Vec<DatasetRow> = sqlx::query_as(include_str!("sql/datasets.sql"))
        .bind(id)
        .fetch_all(pool)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let properties = match &row.table_name {
            Some(table) => properties_of(pool, SCHEMA, table, &["fid"]).await?,
            None => Vec::new(),
        };
        out.push(collection_of(row, properties));
    }
    Ok(out)
}

fn collection_of(row: DatasetRow, properties: Vec<super::Property>) -> Collection {
    let extent = row
        .extent
        .as_deref()
        .and_then(|e| <[f64; 4]>::try_from(e).ok());
    let metadata = row.metadata.0;
    let public = row.visibility == "public";
    let title = if metadata.title.is_empty() {
        row.id.clone()
    } else {
        metadata.title.clone()
    };
    Collection {
        title,
        description: metadata.abstract_text.clone(),
        source: row.table_name.as_ref().map(|t| Source {
            relation: format!("{}.{}", quote_ident(SCHEMA), quote_ident(t)),
            id_column: "\"fid\"".into(),
            geometry_column: "\"geom\"".into(),
        }),
        properties,
        visibility: if public {
            Visibility::Public
        } else {
            Visibility::Internal
        },
        agency: Some(row.agency.clone()),
        extent,
        features: row.features.unwrap_or(0),
        counted: true,
        geometry_type: row.geometry_type.clone(),
        version: row.current_version,
        record: MetadataRecord {
            id: row.id.clone(),
            metadata,
            agency: row.agency,
            agency_name: row.agency_name,
            extent,
            crs: "EPSG:4326".into(),
            geometry_type: row.geometry_type,
            features: row.features.unwrap_or(0),
            updated: row.updated,
            public,
        },
        id: row.id,
    }
}

/// Whether `id` can name a dataset (and its tables).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (2..=48).contains(&id.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !["zoning", "admin", "catalog"].contains(&id)
}

/// How an upload is published.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Publish even with defects: features without a usable geometry are left out and invalid
    /// geometries repaired (`ST_MakeValid`), all on record in the version's report. Without it,
    /// any defect refuses the upload.
    pub accept_defects: bool,
}

/// What a publication did.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The dataset.
    pub dataset: String,
    /// The new version.
    pub version: i32,
    /// Features published.
    pub features: i64,
    /// The layer, driver and CRS read.
    pub source: SourceFacts,
    /// The columns, with their names in the file.
    pub columns: Vec<super::upload::Column>,
    /// Features left out, with why (the first 100).
    pub left_out: Vec<super::upload::Defect>,
    /// How many were left out.
    pub left_out_count: i64,
    /// Invalid geometries repaired (the first 20, with the reason) and how many.
    pub repaired: Vec<String>,
    /// How many geometries were repaired.
    pub repaired_count: i64,
    /// Whether the dataset is public (approved) or internal.
    pub visibility: String,
    /// Whether it is served as vector tiles (up to [`TILED_FEATURES`] features).
    pub tiles: bool,
}

/// Features a dataset may have to be served as vector tiles (held in memory by every server).
pub const TILED_FEATURES: i64 = 200_000;

/// Where the data came from.
#[derive(Debug, Clone, Serialize)]
pub struct SourceFacts {
    /// The file's name.
    pub file: String,
    /// The layer read.
    pub layer: String,
    /// The GDAL driver.
    pub format: String,
    /// The CRS it was reprojected from.
    pub crs: String,
}

#[derive(sqlx::FromRow)]
struct Locked {
    agency: String,
    visibility: String,
    last_version: i32,
}

#[derive(sqlx::FromRow)]
struct Facts {
    west: Option<f64>,
    south: Option<f64>,
    east: Option<f64>,
    north: Option<f64>,
    kinds: Option<Vec<String>>,
    invalid: Vec<String>,
    invalid_count: i64,
}

/// An upload being read (see [`super::upload::stream`]): what the file holds, its rows as COPY
/// text, and the reader, which ends with what it found.
pub struct Upload {
    /// The file's name as the client gave it.
    pub file: String,
    /// What the opened file holds.
    pub header: tokio::sync::oneshot::Receiver<Header>,
    /// Its rows, a chunk at a time.
    pub rows: tokio::sync::mpsc::Receiver<Vec<u8>>,
    /// The reader.
    pub reader: tokio::task::JoinHandle<Result<Summary>>,
}

impl Upload {
    /// The reader's own error (the file cannot be read): why no header came.
    async fn unread(self) -> CatalogError {
        drop(self.rows);
        match self.reader.await {
            Ok(Err(e)) => e,
            _ => interrupted(),
        }
    }

    /// Stops the reader (it sees its receiver gone) and answers `error`, the publication's.
    async fn abandon(self, error: CatalogError) -> CatalogError {
        drop(self.rows);
        let _ = self.reader.await;
        error
    }
}

/// Publishes `upload` as the next version of dataset `id`, creating the dataset for the caller's
/// agency if it is new. All or nothing: the new table, its version and the switch to it commit
/// together; the previous version's table is kept.
pub async fn publish(
    pool: &PgPool,
    caller: &Principal,
    actor: &Actor,
    id: &str,
    mut upload: Upload,
    options: &PublishOptions,
) -> Result<Published> {
    if !valid_id(id) {
        return Err(CatalogError::Invalid(format!(
            "\"{id}\" cannot name a dataset: 2 to 48 lower-case letters, digits or _, starting with a letter \
             (not zoning, admin or catalog)"
        )));
    }
    let agency = caller
        .agency
        .clone()
        .filter(|_| caller.role == Role::Publisher)
        .ok_or_else(|| {
            CatalogError::Forbidden(format!(
                "the {} account {} publishes no agency's data: only publishers do",
                caller.role.as_str(),
                caller.name
            ))
        })?;
    let header = match (&mut upload.header).await {
        Ok(header) => header,
        Err(_) => return Err(upload.unread().await),
    };
    let written = match write_version(pool, caller, id, &agency, &header, &mut upload.rows).await {
        Ok(written) => written,
        Err(e) => return Err(upload.abandon(e).await),
    };
    let summary = match upload.reader.await {
        Ok(Ok(summary)) => summary,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(interrupted()),
    };
    written
        .finish(actor, &upload.file, header, summary, options)
        .await
}

fn interrupted() -> CatalogError {
    CatalogError::Upload("the file could not be read to its end".into())
}

/// A version copied into its table in an open transaction, not yet checked nor committed.
struct Written {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    id: String,
    version: i32,
    table_name: String,
    table: String,
    visibility: String,
    account_id: i64,
}

/// Locks (or creates) the dataset and copies the rows into the new table of its next version.
async fn write_version(
    pool: &PgPool,
    caller: &Principal,
    id: &str,
    agency: &str,
    header: &Header,
    rows: &mut tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<Written> {
    let mut tx = pool.begin().await?;
    // A large upload takes longer than the API's statement limit.
    sqlx::query("SET LOCAL statement_timeout = '15min'")
        .execute(&mut *tx)
        .await?;
    let locked = lock_or_create(&mut tx, caller, id, agency).await?;
    let version = locked.last_version + 1;
    let table_name = format!("{id}__v{version}");
    let table = format!("{}.{}", quote_ident(SCHEMA), quote_ident(&table_name));
    create_table(&mut tx, &table, &header.columns).await?;
    copy_rows(&mut tx, &table, &header.columns, rows).await?;
    Ok(Written {
        tx,
        id: id.into(),
        version,
        table_name,
        table,
        visibility: locked.visibility,
        account_id: caller.account_id,
    })
}

impl Written {
    /// Checks what was read and the geometries, records the version, switches to it, commits.
    async fn finish(
        mut self,
        actor: &Actor,
        file: &str,
        header: Header,
        summary: Summary,
        options: &PublishOptions,
    ) -> Result<Published> {
        if summary.features == 0 {
            return Err(CatalogError::Upload(format!(
                "{file} has no feature with a geometry"
            )));
        }
        let (id, version, table) = (self.id.as_str(), self.version, self.table.as_str());
        let tx = &mut self.tx;
        let facts = check_geometries(tx, table).await?;
        let defects = defects_message(&summary, &facts);
        if !defects.is_empty() {
            if !options.accept_defects {
                return Err(CatalogError::Upload(format!(
                    "{}; send `accept_defects=true` to publish without them, or repaired, on record",
                    defects.join("; ")
                )));
            }
            repair_geometries(tx, table).await?;
        }
        sqlx::query(&format!("CREATE INDEX ON {table} USING gist (geom)"))
            .execute(&mut **tx)
            .await?;
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(&mut **tx)
            .await?;
        let published = Published {
            dataset: id.into(),
            version,
            features: summary.features,
            source: SourceFacts {
                file: file.into(),
                layer: header.layer,
                format: header.format.clone(),
                crs: header.crs.clone(),
            },
            columns: header.columns,
            left_out: summary.defects,
            left_out_count: summary.defect_count,
            repaired: facts.invalid.clone(),
            repaired_count: facts.invalid_count,
            visibility: self.visibility.clone(),
            tiles: summary.features <= TILED_FEATURES,
        };
        let extent = match (facts.west, facts.south, facts.east, facts.north) {
            (Some(w), Some(s), Some(e), Some(n)) => Some(vec![w, s, e, n]),
            _ => None,
        };
        let geometry_type = match facts.kinds.as_deref() {
            Some([one]) => title_case(one),
            _ => "Geometry".into(),
        };
        sqlx::query(include_str!("sql/insert_version.sql"))
            .bind(id)
            .bind(version)
            .bind(&self.table_name)
            .bind(file)
            .bind(&header.format)
            .bind(&header.crs)
            .bind(summary.features)
            .bind(&geometry_type)
            .bind(extent)
            .bind(sqlx::types::Json(&published))
            .bind(self.account_id)
            .execute(&mut **tx)
            .await?;
        let detail =
            serde_json::json!({"version": version, "features": summary.features, "file": file});
        accounts::audit(tx, actor, "dataset.publish", Some(id), detail).await?;
        announce(tx, id, &format!("dataset {id} version {version}")).await?;
        self.tx.commit().await?;
        Ok(published)
    }
}

/// Every kind of defect found: features that cannot be published, invalid geometries (the
/// first 10 of each named).
fn defects_message(read: &Summary, facts: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    if read.defect_count > 0 {
        let first: Vec<String> = read
            .defects
            .iter()
            .take(10)
            .map(|d| format!("feature {} {}", d.fid, d.problem))
            .collect();
        out.push(format!(
            "{} feature(s) cannot be published: {}{}",
            read.defect_count,
            first.join("; "),
            if read.defect_count > 10 { "; ..." } else { "" }
        ));
    }
    if facts.invalid_count > 0 {
        let first: Vec<&String> = facts.invalid.iter().take(10).collect();
        out.push(format!(
            "{} geometr{} invalid (feature: reason): {}{}",
            facts.invalid_count,
            if facts.invalid_count == 1 {
                "y is"
            } else {
                "ies are"
            },
            first
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            if facts.invalid_count > 10 {
                "; ..."
            } else {
                ""
            }
        ));
    }
    out
}

/// PostGIS's `MULTIPOLYGON` as GeoJSON's `MultiPolygon`.
fn title_case(kind: &str) -> String {
    const NAMES: [&str; 7] = [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    ];
    NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(kind))
        .map_or_else(|| "Geometry".into(), |n| (*n).to_string())
}

async fn lock_or_create(
    tx: &mut PgConnection,
    caller: &Principal,
    id: &str,
    agency: &str,
) -> Result<Locked> {
    let locked: Option<Locked> = sqlx::query_as(include_str!("sql/lock_dataset.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    match locked {
        Some(l) if l.agency != agency => Err(CatalogError::Forbidden(format!(
            "the dataset {id} belongs to another agency ({}): {} may not change it",
            l.agency, caller.name
        ))),
        Some(l) => Ok(l),
        None => {
            sqlx::query("INSERT INTO dataset (id, agency, created_by) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(agency)
                .bind(caller.account_id)
                .execute(&mut *tx)
                .await?;
            Ok(Locked {
                agency: agency.into(),
                visibility: "internal".into(),
                last_version: 0,
            })
        }
    }
}

async fn create_table(
    tx: &mut PgConnection,
    table: &str,
    columns: &[super::upload::Column],
) -> Result<()> {
    // Column names were made from the file's field names by `upload::column_name` and are quoted.
    let columns: String = columns
        .iter()
        .map(|c| format!("{} {}, ", quote_ident(&c.name), c.kind.sql()))
        .collect();
    sqlx::query(&format!(
        "CREATE TABLE {table} (fid bigint PRIMARY KEY, {columns}geom geometry(Geometry, 4326) NOT NULL)"
    ))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn copy_rows(
    tx: &mut PgConnection,
    table: &str,
    columns: &[super::upload::Column],
    rows: &mut tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<()> {
    let columns: String = columns
        .iter()
        .map(|c| format!("{}, ", quote_ident(&c.name)))
        .collect();
    let mut copy = tx
        .copy_in_raw(&format!("COPY {table} (fid, {columns}geom) FROM STDIN"))
        .await?;
    while let Some(chunk) = rows.recv().await {
        copy.send(chunk).await?;
    }
    copy.finish()
        .await
        .map_err(|e| match e.as_database_error() {
            Some(db) => {
                CatalogError::Upload(format!("the data cannot be stored: {}", db.message()))
            }
            None => e.into(),
        })?;
    Ok(())
}

/// The table's extent, geometry types and invalid geometries.
async fn check_geometries(tx: &mut PgConnection, table: &str) -> Result<Facts> {
    let sql = include_str!("sql/facts.sql").replace("{table}", table);
    Ok(sqlx::query_as(&sql).fetch_one(&mut *tx).await?)
}

/// Repairs the invalid geometries (`ST_MakeValid`), when the publisher accepted it.
async fn repair_geometries(tx: &mut PgConnection, table: &str) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE {table} SET geom = ST_MakeValid(geom) WHERE NOT ST_IsValid(geom)"
    ))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn announce(tx: &mut PgConnection, id: &str, what: &str) -> Result<()> {
    sqlx::query("SELECT satupeta_announce($1, $2)")
        .bind(what)
        .bind(format!("dataset:{id}"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// What saving metadata found.
#[derive(Debug, Serialize)]
pub struct MetadataSaved {
    /// Whether the record is complete (a dataset can be approved only then).
    pub complete: bool,
    /// What is missing or invalid.
    pub gaps: Vec<Gap>,
}

/// Saves the metadata of dataset `id` (its agency's publishers only). A draft may be incomplete;
/// a public dataset's record must stay complete.
pub async fn set_metadata(
    pool: &PgPool,
    caller: &Principal,
    actor: &Actor,
    id: &str,
    metadata: &Metadata,
) -> Result<MetadataSaved> {
    let gaps = metadata.gaps();
    let mut tx = pool.begin().await?;
    let locked: Option<Locked> = sqlx::query_as(include_str!("sql/lock_dataset.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let locked = locked.ok_or_else(|| CatalogError::UnknownDataset(id.into()))?;
    if caller.role != Role::Publisher || caller.agency.as_deref() != Some(&locked.agency) {
        return Err(CatalogError::Forbidden(format!(
            "the dataset {id} belongs to the agency {}: {} may not change it",
            locked.agency, caller.name
        )));
    }
    if locked.visibility == "public" && !gaps.is_empty() {
        return Err(CatalogError::Invalid(format!(
            "the dataset {id} is public: its metadata must stay complete ({})",
            describe(&gaps)
        )));
    }
    sqlx::query("UPDATE dataset SET metadata = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(sqlx::types::Json(metadata))
        .execute(&mut *tx)
        .await?;
    accounts::audit(
        &mut tx,
        actor,
        "dataset.metadata",
        Some(id),
        serde_json::json!({"complete": gaps.is_empty()}),
    )
    .await?;
    announce(&mut tx, id, &format!("dataset {id} metadata")).await?;
    tx.commit().await?;
    Ok(MetadataSaved {
        complete: gaps.is_empty(),
        gaps,
    })
}

/// `field problem; field problem`.
pub fn describe(gaps: &[Gap]) -> String {
    gaps.iter()
        .map(|g| format!("{} {}", g.field, g.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Makes dataset `id` public (DPPR staff and admins): it must have data and complete metadata.
pub async fn approve(pool: &PgPool, caller: &Principal, actor: &Actor, id: &str) -> Result<()> {
    if caller.role == Role::Publisher {
        return Err(CatalogError::Forbidden(format!(
            "{} is a publisher: DPPR staff approve datasets",
            caller.name
        )));
    }
    let mut tx = pool.begin().await?;
    #[derive(sqlx::FromRow)]
    struct Row {
        metadata: sqlx::types::Json<Metadata>,
        visibility: String,
        current_version: Option<i32>,
    }
    let row: Option<Row> = sqlx::query_as(include_str!("sql/lock_dataset.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let row = row.ok_or_else(|| CatalogError::UnknownDataset(id.into()))?;
    if row.visibility == "public" {
        return Err(CatalogError::Conflict(format!(
            "the dataset {id} is already public"
        )));
    }
    if row.current_version.is_none() {
        return Err(CatalogError::Conflict(format!(
            "the dataset {id} has no data yet"
        )));
    }
    let gaps = row.metadata.0.gaps();
    if !gaps.is_empty() {
        return Err(CatalogError::Conflict(format!(
            "the metadata of {id} is not complete: {}",
            describe(&gaps)
        )));
    }
    sqlx::query(
        "UPDATE dataset SET visibility = 'public', approved_by = $2, approved_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(caller.account_id)
    .execute(&mut *tx)
    .await?;
    accounts::audit(
        &mut tx,
        actor,
        "dataset.approve",
        Some(id),
        serde_json::json!({}),
    )
    .await?;
    announce(&mut tx, id, &format!("dataset {id} approved")).await?;
    tx.commit().await?;
    Ok(())
}

/// One version of a dataset, as listed.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct VersionRow {
    /// Its number.
    pub version: i32,
    /// The file it came from.
    pub source_name: String,
    /// The GDAL driver that read it.
    pub source_format: String,
    /// The CRS it was reprojected from.
    pub source_crs: String,
    /// Its features.
    pub features: i64,
    /// Its geometry type.
    pub geometry_type: String,
    /// The publication's report.
    pub report: sqlx::types::Json<serde_json::Value>,
    /// When.
    pub created_at: String,
}

/// The versions of dataset `id`, newest first.
pub async fn versions(pool: &PgPool, id: &str) -> Result<Vec<VersionRow>> {
    Ok(sqlx::query_as(include_str!("sql/versions.sql"))
        .bind(id)
        .fetch_all(pool)
        .await?)
}
