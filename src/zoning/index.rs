//! The in-memory R-tree of every published zoning feature.
//!
//! A plan version never changes once published, so a reload keeps the features of the versions it
//! already holds and reads only those of newly published versions: after a publication the new
//! snapshot is ready as soon as the new version's rows have been read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::TryStreamExt;
use geo::MultiPolygon;
use geozero::ToGeo;
use rstar::{AABB, RTree};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgConnection;

use super::attributes::{Attributes, Pending, TableBuilder};
use super::{Result, ZoningError};
use crate::geometry::{IndexedBox, box_tree};

/// A published zoning polygon with what a lookup reports of it.
#[derive(Debug)]
pub struct PublishedFeature {
    /// Feature id (stable: the row never changes).
    pub id: i64,
    /// The plan version that imported it (its geometry version: later versions that change only
    /// the rules reuse it).
    pub version_id: i64,
    /// Sub-zone letter code.
    pub subzone: Arc<str>,
    /// Block code (KODBLK).
    pub block: Option<Box<str>>,
    /// Sub-block code (KODSBL).
    pub subblock: Option<Box<str>>,
    /// Kelurahan (WADMKD).
    pub kelurahan: Option<Arc<str>>,
    /// Kecamatan (WADMKC).
    pub kecamatan: Option<Arc<str>>,
    /// Overlays that apply, as JSON.
    pub overlays: Box<RawValue>,
    /// The source attributes as imported.
    pub attributes: Attributes,
    /// The polygon in EPSG:4326 exactly as stored.
    pub geometry: MultiPolygon<f64>,
}

/// A row of the feature queries.
#[derive(sqlx::FromRow)]
pub(crate) struct FeatureRow {
    id: i64,
    version_id: i64,
    subzone_code: String,
    block: Option<String>,
    subblock: Option<String>,
    kelurahan: Option<String>,
    kecamatan: Option<String>,
    overlays: String,
    attributes: String,
    wkb: Vec<u8>,
}

/// Turns rows into features: names that repeat (sub-zones, kelurahan) are kept once, and the
/// attributes share one table per batch.
#[derive(Default)]
pub(crate) struct FeatureBatch {
    names: HashMap<String, Arc<str>>,
    attributes: TableBuilder,
    read: Vec<(DecodedRow, Pending)>,
}

/// A feature read, waiting for its batch's attribute table.
pub(crate) struct DecodedRow {
    id: i64,
    version_id: i64,
    subzone: Arc<str>,
    block: Option<Box<str>>,
    subblock: Option<Box<str>>,
    kelurahan: Option<Arc<str>>,
    kecamatan: Option<Arc<str>>,
    overlays: Box<RawValue>,
    geometry: MultiPolygon<f64>,
}

impl FeatureBatch {
    fn name(&mut self, text: String) -> Arc<str> {
        self.names
            .entry(text)
            .or_insert_with_key(|t| Arc::from(t.as_str()))
            .clone()
    }

    /// Reads one row of `features_of_versions.sql` or `features_at_point.sql`.
    pub(crate) fn add(&mut self, row: FeatureRow) -> Result<()> {
        let id = row.id;
        let geometry = match geozero::wkb::Wkb(row.wkb).to_geo() {
            Ok(geo::Geometry::MultiPolygon(m)) => m,
            Ok(geo::Geometry::Polygon(p)) => MultiPolygon(vec![p]),
            _ => return Err(ZoningError::StoredFeature(id)),
        };
        let attributes = self
            .attributes
            .add(&row.attributes)
            .ok_or(ZoningError::StoredFeature(id))?;
        let overlays =
            RawValue::from_string(row.overlays).map_err(|_| ZoningError::StoredFeature(id))?;
        let feature = DecodedRow {
            id,
            version_id: row.version_id,
            subzone: self.name(row.subzone_code),
            block: row.block.map(String::into_boxed_str),
            subblock: row.subblock.map(String::into_boxed_str),
            kelurahan: row.kelurahan.map(|k| self.name(k)),
            kecamatan: row.kecamatan.map(|k| self.name(k)),
            overlays,
            geometry,
        };
        self.read.push((feature, attributes));
        Ok(())
    }

    /// The features read.
    pub(crate) fn finish(self) -> Vec<PublishedFeature> {
        let table = self.attributes.finish();
        self.read
            .into_iter()
            .map(|(f, attributes)| PublishedFeature {
                id: f.id,
                version_id: f.version_id,
                subzone: f.subzone,
                block: f.block,
                subblock: f.subblock,
                kelurahan: f.kelurahan,
                kecamatan: f.kecamatan,
                overlays: f.overlays,
                attributes: attributes.with(&table),
                geometry: f.geometry,
            })
            .collect()
    }
}

/// What a lookup says about a plan version: the regulation that produced the answer.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VersionInfo {
    /// Plan id.
    pub plan_id: i64,
    /// Plan name.
    pub plan: String,
    /// Plan version id.
    pub version_id: i64,
    /// Version number within the plan.
    pub version: i32,
    /// When it was published.
    pub published_at: String,
    /// The day it took effect (YYYY-MM-DD).
    pub effective_from: String,
    /// The day the plan's next version took effect, if any: this one is in force until then.
    pub in_force_until: Option<String>,
    /// Its rule set.
    pub rule_set_id: i64,
    /// The digest of its rule set (answers give it with the rules).
    #[serde(skip)]
    pub rule_digest: Option<String>,
    /// The version whose zoning rows it uses (itself, unless it changed only the rules).
    #[serde(skip)]
    pub geometry_version_id: i64,
    /// Whether it is in force today.
    #[serde(skip)]
    pub in_force: bool,
    /// Whether it is its plan's newest version.
    #[serde(skip)]
    pub published: bool,
}

/// For each plan, the version in force on `day` (YYYY-MM-DD): the one with the latest effective
/// date on or before it, the higher version number on a tie. Returns geometry version -> version.
pub fn versions_in_force(versions: &HashMap<i64, VersionInfo>, day: &str) -> HashMap<i64, i64> {
    let mut best: HashMap<i64, &VersionInfo> = HashMap::new();
    for v in versions
        .values()
        .filter(|v| v.effective_from.as_str() <= day)
    {
        let slot = best.entry(v.plan_id).or_insert(v);
        if (v.effective_from.as_str(), v.version) > (slot.effective_from.as_str(), slot.version) {
            *slot = v;
        }
    }
    best.values()
        .map(|v| (v.geometry_version_id, v.version_id))
        .collect()
}

/// The zoning features of every version in force today, with an R-tree over their bounding boxes.
#[derive(Default)]
pub struct ZoningIndex {
    features: Vec<Arc<PublishedFeature>>,
    tree: RTree<IndexedBox>,
    versions: HashMap<i64, VersionInfo>,
    /// Geometry version -> the version in force that uses it.
    in_force: HashMap<i64, i64>,
}

impl ZoningIndex {
    /// Reads every feature of every plan version in force and indexes them.
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        Self::load_after(conn, &ZoningIndex::default()).await
    }

    /// Like [`ZoningIndex::load`], keeping the features of the versions `previous` already holds
    /// and reading only those of versions published since.
    pub async fn load_after(conn: &mut PgConnection, previous: &ZoningIndex) -> Result<Self> {
        let versions = load_versions(&mut *conn).await?;
        let in_force: HashMap<i64, i64> = versions
            .values()
            .filter(|v| v.in_force)
            .map(|v| (v.geometry_version_id, v.version_id))
            .collect();
        let published: HashSet<i64> = in_force.keys().copied().collect();
        let mut features: Vec<Arc<PublishedFeature>> = previous
            .features
            .iter()
            .filter(|f| published.contains(&f.version_id))
            .cloned()
            .collect();
        let held: HashSet<i64> = features.iter().map(|f| f.version_id).collect();
        let missing: Vec<i64> = published.difference(&held).copied().collect();
        if !missing.is_empty() {
            let batch = read_features(conn, &missing).await?;
            features.extend(batch.finish().into_iter().map(Arc::new));
        }
        // Indexing a large plan takes a moment of CPU: off the request-serving threads.
        let index = crate::cpu::background(move || {
            features.sort_unstable_by_key(|f| f.id);
            ZoningIndex {
                tree: box_tree(features.iter().map(|f| &f.geometry)),
                features,
                versions,
                in_force,
            }
        })
        .await
        .map_err(|e| ZoningError::Background(e.to_string()))?;
        Ok(index)
    }

    /// The features of the versions `in_force` (geometry version -> version; e.g. those in force
    /// on another day, see [`versions_in_force`]), indexed like today's.
    pub async fn load_versions_in_force(
        conn: &mut PgConnection,
        versions: HashMap<i64, VersionInfo>,
        in_force: HashMap<i64, i64>,
    ) -> Result<Self> {
        let wanted: Vec<i64> = in_force.keys().copied().collect();
        let mut features: Vec<Arc<PublishedFeature>> = if wanted.is_empty() {
            Vec::new()
        } else {
            let batch = read_features(conn, &wanted).await?;
            batch.finish().into_iter().map(Arc::new).collect()
        };
        crate::cpu::background(move || {
            features.sort_unstable_by_key(|f| f.id);
            ZoningIndex {
                tree: box_tree(features.iter().map(|f| &f.geometry)),
                features,
                versions,
                in_force,
            }
        })
        .await
        .map_err(|e| ZoningError::Background(e.to_string()))
    }

    /// Number of indexed features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether no plan is published.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Every indexed feature, by id.
    pub fn features(&self) -> &[Arc<PublishedFeature>] {
        &self.features
    }

    /// Every feature whose polygon intersects the point (boundary included, as `ST_Intersects`),
    /// by id (the lookup orders them by precedence).
    pub fn at(&self, lon: f64, lat: f64) -> Vec<&PublishedFeature> {
        let point = geo::Coord { x: lon, y: lat };
        let mut hits: Vec<&PublishedFeature> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|e| &*self.features[e.index])
            .filter(|f| covers(&f.geometry, point))
            .collect();
        hits.sort_by_key(|f| f.id);
        hits
    }

    /// A plan version by id.
    pub fn version(&self, version_id: i64) -> Option<&VersionInfo> {
        self.versions.get(&version_id)
    }

    /// Geometry version -> the version in force today that uses it.
    pub fn in_force(&self) -> &HashMap<i64, i64> {
        &self.in_force
    }

    /// Every plan version, by id.
    pub fn versions(&self) -> &HashMap<i64, VersionInfo> {
        &self.versions
    }
}

/// Rows read at a time before they are decoded on a blocking thread.
const ROWS_PER_CHUNK: usize = 2048;

/// Reads the features of plan versions `versions`, streaming the rows and decoding them (geometry,
/// attributes) chunk by chunk on a blocking thread, not on the threads that serve requests.
async fn read_features(conn: &mut PgConnection, versions: &[i64]) -> Result<FeatureBatch> {
    let mut batch = FeatureBatch::default();
    let mut chunk = Vec::with_capacity(ROWS_PER_CHUNK);
    let mut rows = sqlx::query_as::<_, FeatureRow>(include_str!("sql/features_of_versions.sql"))
        .bind(versions)
        .fetch(&mut *conn);
    loop {
        let row = rows.try_next().await?;
        let end = row.is_none();
        chunk.extend(row);
        if chunk.len() == ROWS_PER_CHUNK || (end && !chunk.is_empty()) {
            let rows = std::mem::replace(&mut chunk, Vec::with_capacity(ROWS_PER_CHUNK));
            batch = crate::cpu::background(move || -> Result<FeatureBatch> {
                for row in rows {
                    batch.add(row)?;
                }
                Ok(batch)
            })
            .await
            .map_err(|e| ZoningError::Background(e.to_string()))??;
        }
        if end {
            return Ok(batch);
        }
    }
}

/// Whether `point` lies in the polygons or on their boundary (as `ST_Intersects`), without the
/// bounding-box pass of geo's `Intersects` (the R-tree has already made it).
fn covers(shape: &MultiPolygon<f64>, point: geo::Coord<f64>) -> bool {
    use geo::coordinate_position::CoordPos;
    use geo::coordinate_position::coord_pos_relative_to_ring;
    shape.iter().any(
        |polygon| match coord_pos_relative_to_ring(point, polygon.exterior()) {
            CoordPos::Outside => false,
            CoordPos::OnBoundary => true,
            CoordPos::Inside => polygon
                .interiors()
                .iter()
                .all(|hole| coord_pos_relative_to_ring(point, hole) != CoordPos::Inside),
        },
    )
}

/// Names and numbers of every plan version (published or not), by version id.
pub(crate) async fn load_versions(conn: &mut PgConnection) -> Result<HashMap<i64, VersionInfo>> {
    let rows: Vec<VersionInfo> = sqlx::query_as(include_str!("sql/versions.sql"))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|v| (v.version_id, v)).collect())
}
