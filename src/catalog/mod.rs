//! The catalog of the network node: every collection the node publishes (the zoning plan, the
//! administrative boundaries and the datasets of agencies), where its features are, who may read
//! and write it, and its metadata. Features, records and (through their registry) tiles read it;
//! a change announced under a dataset's topic reloads that dataset only.

pub mod datasets;
pub mod metadata;
pub mod upload;

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use sqlx::PgPool;

use crate::accounts::{Principal, Role};
use crate::db::replicas::Reader;
pub use metadata::{Contact, Metadata, MetadataRecord};

/// The catalog's errors.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The audit log could not be written (the write it records is rolled back).
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
    /// No such dataset (or not visible to the caller).
    #[error("there is no dataset \"{0}\"")]
    UnknownDataset(String),
    /// The request names something invalid.
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request conflicts with the dataset's state.
    #[error("{0}")]
    Conflict(String),
    /// The uploaded file could not be read or published.
    #[error("{0}")]
    Upload(String),
}

/// The catalog's result.
pub type Result<T> = std::result::Result<T, CatalogError>;

/// The id of the built-in collection of the zoning plan in force.
pub const ZONING: &str = "zoning";
/// The id of the built-in collection of the administrative boundaries.
pub const ADMIN: &str = "admin";

/// Who may read a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone.
    Public,
    /// Signed-in accounts only (a dataset not yet approved).
    Internal,
    /// DPPR staff and admins only (the reports of violations).
    Staff,
}

/// The type of a property, as JSON Schema and CQL2 see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// True or false.
    Boolean,
    /// A calendar day.
    Date,
    /// An instant.
    Timestamp,
    /// Anything else (JSON, arrays): returned, not queryable.
    Other,
}

impl Kind {
    /// The kind of a PostgreSQL type (as `format_type` writes it).
    pub fn of_sql(sql_type: &str) -> Kind {
        match sql_type {
            "text" | "character varying" => Kind::Text,
            t if t.starts_with("character varying(") || t.starts_with("character(") => Kind::Text,
            "integer" | "bigint" | "smallint" => Kind::Integer,
            "double precision" | "real" | "numeric" => Kind::Number,
            t if t.starts_with("numeric(") => Kind::Number,
            "boolean" => Kind::Boolean,
            "date" => Kind::Date,
            t if t.starts_with("timestamp") => Kind::Timestamp,
            _ => Kind::Other,
        }
    }

    /// The JSON Schema type.
    pub fn json_type(self) -> &'static str {
        match self {
            Kind::Text | Kind::Date | Kind::Timestamp => "string",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Other => "object",
        }
    }
}

/// A property of a collection's features: its name and the column holding it.
#[derive(Debug, Clone)]
pub struct Property {
    /// The name clients see (and filter on).
    pub name: String,
    /// The column, as a quoted SQL identifier.
    pub column: String,
    /// Its type.
    pub kind: Kind,
}

/// Where a collection's features are in PostGIS. Every identifier here comes from the catalog
/// (the migrations or `dataset_version`), never from a request, and is quoted.
#[derive(Debug, Clone)]
pub struct Source {
    /// The relation, e.g. `"dataset_data"."puskesmas__v1"` or `published_zoning`.
    pub relation: String,
    /// The feature id column (a whole number, unique).
    pub id_column: String,
    /// The geometry column, in EPSG:4326.
    pub geometry_column: String,
}

/// One published collection.
#[derive(Debug, Clone)]
pub struct Collection {
    /// Its id (URL segment).
    pub id: String,
    /// Its title.
    pub title: String,
    /// What it holds.
    pub description: String,
    /// Where its features are (none for a dataset without data yet).
    pub source: Option<Source>,
    /// Its properties, in order.
    pub properties: Vec<Property>,
    /// Who may read it.
    pub visibility: Visibility,
    /// The agency that owns it (datasets); built-ins have none and are read-only.
    pub agency: Option<String>,
    /// West, south, east, north in EPSG:4326.
    pub extent: Option<[f64; 4]>,
    /// Features at load time (exact unless the data was edited since).
    pub features: i64,
    /// Whether `features` stays exact: every change to the data passes the catalog (datasets,
    /// plans); not so for a relation written without it (the reports), whose count is not given.
    pub counted: bool,
    /// Its geometry type (`MultiPolygon`, `Point`, ...).
    pub geometry_type: Option<String>,
    /// The metadata record (datasets; built-ins have a fixed one).
    pub record: MetadataRecord,
    /// The current version of a dataset's data.
    pub version: Option<i32>,
}

impl Collection {
    /// Whether `caller` may read it.
    pub fn readable_by(&self, caller: Option<&Principal>) -> bool {
        match self.visibility {
            Visibility::Public => true,
            Visibility::Internal => caller.is_some(),
            Visibility::Staff => {
                caller.is_some_and(|p| matches!(p.role, Role::Staff | Role::Admin))
            }
        }
    }

    /// Whether `caller` may change its data and metadata: a publisher of its agency.
    pub fn writable_by(&self, caller: Option<&Principal>) -> bool {
        match (caller, &self.agency) {
            (Some(p), Some(agency)) => {
                p.role == Role::Publisher && p.agency.as_deref() == Some(agency.as_str())
            }
            _ => false,
        }
    }

    /// The property named `name`.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// Every collection, swapped whole when one changes.
pub struct Catalog {
    /// Where the collections are read (a read replica, or the primary).
    reader: Reader,
    collections: ArcSwap<BTreeMap<String, Arc<Collection>>>,
    /// The newest change (`change_log`) the collections reflect.
    change_id: std::sync::atomic::AtomicI64,
    reloading: tokio::sync::Mutex<()>,
}

impl Catalog {
    /// Reads every collection.
    pub async fn load(reader: Reader) -> Result<Self> {
        let (change, collections) = reader
            .read(|pool| {
                Box::pin(async move {
                    Ok::<_, CatalogError>((
                        crate::db::latest_change(pool).await?,
                        read_all(pool).await?,
                    ))
                })
            })
            .await?;
        Ok(Catalog {
            reader,
            collections: ArcSwap::from_pointee(collections),
            change_id: std::sync::atomic::AtomicI64::new(change),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// The collection `id`, if there is one.
    pub fn get(&self, id: &str) -> Option<Arc<Collection>> {
        self.collections.load().get(id).cloned()
    }

    /// Every collection `caller` may read, by id.
    pub fn readable(&self, caller: Option<&Principal>) -> Vec<Arc<Collection>> {
        self.collections
            .load()
            .values()
            .filter(|c| c.readable_by(caller))
            .cloned()
            .collect()
    }

    /// Reloads the collections named by the changes announced since the last reload (a dataset's
    /// topic reloads that dataset; the zoning and rules topics the built-ins). Returns the
    /// datasets reloaded.
    pub async fn refresh(&self) -> Result<Vec<String>> {
        use std::sync::atomic::Ordering;
        let _one = self.reloading.lock().await;
        let since = self.change_id.load(Ordering::Acquire);
        let Some((newest, map, datasets)) = self
            .reader
            .read(|pool| Box::pin(self.read_changed(pool, since)))
            .await?
        else {
            return Ok(Vec::new());
        };
        self.collections.store(Arc::new(map));
        self.change_id.store(newest, Ordering::Release);
        Ok(datasets)
    }

    /// The collections after the changes since `since` as `pool` has them: the newest change,
    /// the collections and the datasets read again; `None` when there is no newer change there.
    async fn read_changed(
        &self,
        pool: &PgPool,
        since: i64,
    ) -> Result<Option<(i64, BTreeMap<String, Arc<Collection>>, Vec<String>)>> {
        let topics: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, topic FROM change_log WHERE id > $1 ORDER BY id")
                .bind(since)
                .fetch_all(pool)
                .await?;
        let Some(newest) = topics.last().map(|t| t.0) else {
            return Ok(None);
        };
        let mut map = BTreeMap::clone(&self.collections.load());
        let mut builtins = false;
        let mut datasets: Vec<&str> = Vec::new();
        for (_, topic) in &topics {
            match topic.strip_prefix("dataset:") {
                Some(id) => datasets.push(id),
                None => builtins = true,
            }
        }
        if builtins {
            for c in read_builtins(pool).await? {
                map.insert(c.id.clone(), Arc::new(c));
            }
        }
        datasets.sort_unstable();
        datasets.dedup();
        for id in &datasets {
            map.remove(*id);
            for c in datasets::read_collections(pool, Some(id)).await? {
                map.insert(c.id.clone(), Arc::new(c));
            }
        }
        let datasets = datasets.into_iter().map(String::from).collect();
        Ok(Some((newest, map, datasets)))
    }
}

async fn read_all(pool: &PgPool) -> Result<BTreeMap<String, Arc<Collection>>> {
    let mut map = BTreeMap::new();
    for c in read_builtins(pool)
        .await?
        .into_iter()
        .chain(datasets::read_collections(pool, None).await?)
    {
        map.insert(c.id.clone(), Arc::new(c));
    }
    Ok(map)
}

/// The columns of `schema.name` as properties (all but the id and geometry columns).
pub(crate) async fn properties_of(
    pool: &PgPool,
    schema: &str,
    name: &str,
    skip: &[&str],
) -> Result<Vec<Property>> {
    #[derive(sqlx::FromRow)]
    struct Column {
        name: String,
        sql_type: String,
    }
    let columns: Vec<Column> = sqlx::query_as(include_str!("sql/columns.sql"))
        .bind(schema)
        .bind(name)
        .fetch_all(pool)
        .await?;
    Ok(columns
        .into_iter()
        .filter(|c| !skip.contains(&c.name.as_str()) && !c.sql_type.starts_with("geometry"))
        .map(|c| Property {
            column: quote_ident(&c.name),
            kind: Kind::of_sql(&c.sql_type),
            name: c.name,
        })
        .collect())
}

/// `name` as a quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(sqlx::FromRow)]
struct ExtentRow {
    west: Option<f64>,
    south: Option<f64>,
    east: Option<f64>,
    north: Option<f64>,
    n: i64,
}

/// The zoning plan in force and the administrative boundaries.
async fn read_builtins(pool: &PgPool) -> Result<Vec<Collection>> {
    let mut out = Vec::new();
    for b in BUILTINS {
        // The relation is one of the constants below, never a request's text.
        let sql = include_str!("sql/extent.sql").replace("{relation}", b.relation);
        let row: ExtentRow = sqlx::query_as(&sql).fetch_one(pool).await?;
        let extent = match (row.west, row.south, row.east, row.north) {
            (Some(w), Some(s), Some(e), Some(n)) => Some([w, s, e, n]),
            _ => None,
        };
        let properties: Vec<Property> = properties_of(pool, "public", b.relation, b.hidden)
            .await?
            .into_iter()
            .filter(|p| p.kind != Kind::Other || b.keep_json)
            .collect();
        out.push(b.collection(properties, extent, row.n));
    }
    Ok(out)
}

/// A collection the node always has.
struct Builtin {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    relation: &'static str,
    hidden: &'static [&'static str],
    keep_json: bool,
    topic: &'static str,
    keywords: &'static [&'static str],
    lineage: &'static str,
    visibility: Visibility,
    geometry_type: &'static str,
    /// Whether its rows change only with an announced change (see [`Collection::counted`]).
    counted: bool,
}

/// The id of the built-in collection of the reports of violations (staff only).
pub const REPORTS: &str = "reports";

const BUILTINS: [Builtin; 3] = [
    Builtin {
        id: ZONING,
        title: "Rencana Pola Ruang RDTR Kota Balikpapan (berlaku)",
        description: "The zoning plan in force today: sub-zones of the detailed spatial plans (RDTR) \
                      of Kota Balikpapan, published by DPPR.",
        relation: "published_zoning",
        hidden: &["id", "geom", "geom_3857", "attributes"],
        keep_json: true,
        topic: "planningCadastre",
        keywords: &["RDTR", "pola ruang", "zonasi", "tata ruang"],
        lineage: "Imported from the RDTR plan files of DPPR; validated (topology, codes, rules) by \
                  satupeta before publication.",
        visibility: Visibility::Public,
        geometry_type: "MultiPolygon",
        counted: true,
    },
    Builtin {
        id: ADMIN,
        title: "Batas Administrasi Kota Balikpapan",
        description: "Administrative boundaries of Kota Balikpapan: the city, its kecamatan and \
                      kelurahan.",
        relation: "admin_area",
        hidden: &["id", "geom", "geom_3857"],
        keep_json: false,
        topic: "boundaries",
        keywords: &["batas administrasi", "kecamatan", "kelurahan"],
        lineage: "Administrative boundaries of Kota Balikpapan shipped with satupeta.",
        visibility: Visibility::Public,
        geometry_type: "MultiPolygon",
        counted: true,
    },
    Builtin {
        id: REPORTS,
        title: "Laporan Pelanggaran Tata Ruang (staf DPPR)",
        description: "Reports of zoning and building violations from the citizen map and Open311 \
                      clients, with their state, due day and the sub-zone at the point. DPPR staff \
                      only; no reporter's contact detail is in it.",
        relation: "report_features",
        hidden: &["id", "geom"],
        keep_json: false,
        topic: "planningCadastre",
        keywords: &["laporan", "pelanggaran", "pengaduan", "Open311"],
        lineage: "Filed by citizens on the satupeta map or through Open311 GeoReport v2 clients.",
        visibility: Visibility::Staff,
        geometry_type: "Point",
        // Citizens file reports all the time, unannounced.
        counted: false,
    },
];

impl Builtin {
    fn collection(
        &self,
        properties: Vec<Property>,
        extent: Option<[f64; 4]>,
        n: i64,
    ) -> Collection {
        let metadata = Metadata {
            title: self.title.into(),
            abstract_text: self.description.into(),
            topic_category: self.topic.into(),
            keywords: self.keywords.iter().map(|k| k.to_string()).collect(),
            contact: Contact {
                email: "dppr@balikpapan.go.id".into(),
                ..Contact::default()
            },
            lineage: self.lineage.into(),
            licence: "CC-BY-4.0".into(),
            update_frequency: "asNeeded".into(),
            reference_date: String::new(),
            ..Metadata::default()
        };
        Collection {
            id: self.id.into(),
            title: self.title.into(),
            description: self.description.into(),
            source: Some(Source {
                relation: self.relation.into(),
                id_column: "\"id\"".into(),
                geometry_column: "\"geom\"".into(),
            }),
            properties,
            visibility: self.visibility.clone(),
            agency: None,
            extent,
            features: n,
            counted: self.counted,
            geometry_type: Some(self.geometry_type.into()),
            record: MetadataRecord {
                id: self.id.into(),
                metadata,
                agency: "dppr".into(),
                agency_name: "Dinas Pertanahan dan Penataan Ruang Kota Balikpapan".into(),
                extent,
                crs: "EPSG:4326".into(),
                geometry_type: Some(self.geometry_type.into()),
                features: n,
                updated: String::new(),
                public: self.visibility == Visibility::Public,
            },
            version: None,
        }
    }
}
