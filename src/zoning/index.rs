//! The in-memory R-tree of every published zoning feature, rebuilt when a plan is published.

use std::collections::HashMap;

use geo::{Intersects, MultiPolygon, Point};
use geozero::ToGeo;
use rstar::{AABB, RTree};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgConnection;

use super::{Result, ZoningError};
use crate::geometry::{IndexedBox, box_tree};

/// A published zoning polygon with what a lookup reports of it.
#[derive(Debug)]
pub struct PublishedFeature {
    /// Feature id (stable for the plan version).
    pub id: i64,
    /// The plan version it belongs to.
    pub version_id: i64,
    /// Sub-zone letter code.
    pub subzone: String,
    /// Block code (KODBLK).
    pub block: Option<String>,
    /// Sub-block code (KODSBL).
    pub subblock: Option<String>,
    /// Kelurahan (WADMKD).
    pub kelurahan: Option<String>,
    /// Kecamatan (WADMKC).
    pub kecamatan: Option<String>,
    /// Overlays that apply, as JSON.
    pub overlays: Box<RawValue>,
    /// The source attributes as imported, as JSON.
    pub attributes: Box<RawValue>,
    /// The polygon in EPSG:4326 exactly as stored.
    pub geometry: MultiPolygon<f64>,
}

/// A row of the feature queries, in column order.
pub(crate) type FeatureRow = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Vec<u8>,
);

impl PublishedFeature {
    /// Builds a feature from a row of `published_features.sql` or `features_at_point.sql`.
    pub(crate) fn from_row(row: FeatureRow) -> Result<Self> {
        let (
            id,
            version_id,
            subzone,
            block,
            subblock,
            kelurahan,
            kecamatan,
            overlays,
            attributes,
            wkb,
        ) = row;
        let geometry = match geozero::wkb::Wkb(wkb).to_geo() {
            Ok(geo::Geometry::MultiPolygon(m)) => m,
            Ok(geo::Geometry::Polygon(p)) => MultiPolygon(vec![p]),
            _ => return Err(ZoningError::StoredFeature(id)),
        };
        let raw = |s: String| RawValue::from_string(s).map_err(|_| ZoningError::StoredFeature(id));
        Ok(PublishedFeature {
            id,
            version_id,
            subzone,
            block,
            subblock,
            kelurahan,
            kecamatan,
            overlays: raw(overlays)?,
            attributes: raw(attributes)?,
            geometry,
        })
    }
}

/// What a lookup says about a plan version.
#[derive(Debug, Clone, Serialize)]
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
}

/// Every published zoning feature with an R-tree over their bounding boxes.
#[derive(Default)]
pub struct ZoningIndex {
    features: Vec<PublishedFeature>,
    tree: RTree<IndexedBox>,
    versions: HashMap<i64, VersionInfo>,
}

impl ZoningIndex {
    /// Reads every feature of every published plan version and indexes them.
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        let rows: Vec<FeatureRow> = sqlx::query_as(include_str!("sql/published_features.sql"))
            .fetch_all(&mut *conn)
            .await?;
        let features = rows
            .into_iter()
            .map(PublishedFeature::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(ZoningIndex {
            tree: box_tree(features.iter().map(|f| &f.geometry)),
            features,
            versions: load_versions(&mut *conn).await?,
        })
    }

    /// Number of indexed features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether no plan is published.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Every feature whose polygon intersects the point (boundary included, as `ST_Intersects`),
    /// the most recently published plan version first, then by id.
    pub fn at(&self, lon: f64, lat: f64) -> Vec<&PublishedFeature> {
        let point = Point::new(lon, lat);
        let mut hits: Vec<&PublishedFeature> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|e| &self.features[e.index])
            .filter(|f| f.geometry.intersects(&point))
            .collect();
        hits.sort_by_key(|f| (std::cmp::Reverse(f.version_id), f.id));
        hits
    }

    /// The plan version a feature belongs to.
    pub fn version(&self, version_id: i64) -> Option<&VersionInfo> {
        self.versions.get(&version_id)
    }

    /// Every plan version, by id.
    pub fn versions(&self) -> &HashMap<i64, VersionInfo> {
        &self.versions
    }
}

/// Names and numbers of every plan version (published or not), by version id.
pub(crate) async fn load_versions(conn: &mut PgConnection) -> Result<HashMap<i64, VersionInfo>> {
    let rows: Vec<(i64, String, i64, i32, String)> = sqlx::query_as(
        "SELECT p.id, p.name, v.id, v.version, to_char(v.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         FROM plan_version v JOIN plan p ON p.id = v.plan_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(plan_id, plan, version_id, version, published_at)| {
            (
                version_id,
                VersionInfo {
                    plan_id,
                    plan,
                    version_id,
                    version,
                    published_at,
                },
            )
        })
        .collect())
}
