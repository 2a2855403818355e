//! Where the layers' features come from: the zoning plan from the live zoning snapshot (the same
//! features the point lookups answer from, projected to Web Mercator), and every table registered
//! in `tile_layer` from PostGIS.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{Geometry, MapCoords};
use geozero::ToGeo;
use geozero::mvt::TileValue;
use sqlx::PgConnection;

use super::layer::{Key, SharedProperties};
use super::mercator::project;
use super::{Result, TileFeature, TilesError, VectorLayer};
use crate::zoning::{Regulations, Snapshot};

/// The id of the zoning layer.
pub const ZONING: &str = "zoning";

/// Properties of the zoning layer.
pub const ZONING_FIELDS: &[(&str, &str)] = &[
    ("code", "sub-zone letter code, e.g. R-3"),
    ("catalog_code", "Permen 14/2021 numeric sub-zone code"),
    ("name", "sub-zone name (NAMOBJ)"),
    ("color", "Permen 14 legend colour, #RRGGBB"),
    ("block", "block code (KODBLK)"),
    (
        "plan_version",
        "id of the plan version in force the zone belongs to",
    ),
];

/// A layer read from its source, with what TileJSON says of it.
pub struct LoadedLayer {
    /// Layer id.
    pub id: String,
    /// What it holds.
    pub description: String,
    /// Properties with their descriptions.
    pub fields: Vec<(String, String)>,
    /// The features.
    pub layer: VectorLayer,
    /// The content's version, when the source names it (registered tables: a digest of every
    /// feature, so that a tile URL naming it can be cached for ever); else the change that
    /// produced it.
    pub version: Option<String>,
}

/// The zoning layer of a snapshot: every published zone in Web Mercator, in lookup priority (the
/// most recently published plan version first), each of the class of its sub-zone, with the
/// sub-zone's legend shared by the class. Width measurements of zones the `previous` layer already
/// measured are kept: a zone's geometry never changes under its id.
pub fn zoning_layer(snapshot: &Snapshot, previous: Option<&VectorLayer>) -> LoadedLayer {
    let keys: Vec<Key> = ZONING_FIELDS.iter().map(|(k, _)| Key::from(*k)).collect();
    let regulations = Regulations {
        versions: snapshot.index.versions(),
        version_of: snapshot.index.in_force(),
        books: &snapshot.books,
    };
    // One class per legend entry: a sub-zone as its version's rule set (or the catalogue) draws it.
    let mut classes: Vec<SharedProperties> = Vec::new();
    let mut class_of: HashMap<(i64, Arc<str>), Option<u32>> = HashMap::new();
    let mut class_by_legend: HashMap<[String; 4], u32> = HashMap::new();
    let mut class = |zone: &crate::zoning::PublishedFeature| -> Option<u32> {
        let book = regulations.book(zone)?;
        *class_of
            .entry((book.id(), zone.subzone.clone()))
            .or_insert_with(|| {
                let s = book.legend(&zone.subzone)?;
                let legend = [
                    s.code.clone(),
                    s.catalog_code.clone(),
                    s.name.clone(),
                    s.color.clone(),
                ];
                let next = classes.len() as u32;
                let id = *class_by_legend.entry(legend.clone()).or_insert_with(|| {
                    classes.push(SharedProperties::from(
                        legend
                            .into_iter()
                            .zip(&keys)
                            .map(|(value, key)| (key.clone(), TileValue::Str(value)))
                            .collect::<Vec<_>>(),
                    ));
                    next
                });
                Some(id)
            })
    };
    let measured: HashMap<u64, &TileFeature> = previous
        .map(|l| l.features().iter().map(|f| (f.id, f)).collect())
        .unwrap_or_default();
    let mut zones: Vec<&crate::zoning::PublishedFeature> =
        snapshot.index.features().iter().map(|f| &**f).collect();
    zones.sort_by_key(|f| f.id);
    regulations.rank(&mut zones);
    let versions: Vec<Option<u64>> = zones
        .iter()
        .map(|z| regulations.version(z).map(|v| v.version_id as u64))
        .collect();
    let zone_classes: Vec<Option<u32>> = zones.iter().map(|z| class(z)).collect();
    let features = zones
        .into_iter()
        .zip(versions.into_iter().zip(zone_classes))
        .map(|(zone, (version, class))| {
            let mut properties = Vec::with_capacity(2);
            if let Some(block) = &zone.block {
                properties.push((keys[4].clone(), TileValue::Str(block.to_string())));
            }
            if let Some(version) = version {
                properties.push((keys[5].clone(), TileValue::Uint(version)));
            }
            let id = zone.id as u64;
            let feature = TileFeature {
                class,
                shared: class.map(|c| classes[c as usize].clone()),
                ..TileFeature::new(
                    id,
                    Geometry::MultiPolygon(zone.geometry.map_coords(|c| {
                        let (x, y) = project(c.x, c.y);
                        geo::Coord { x, y }
                    })),
                    properties,
                )
            };
            if let Some(facts) = measured.get(&id).and_then(|f| f.facts.get()) {
                let _ = feature.facts.set(*facts);
            }
            feature
        })
        .collect();
    LoadedLayer {
        id: ZONING.into(),
        description: "Zoning plan (RDTR pola ruang): sub-zones of every published plan".into(),
        fields: ZONING_FIELDS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        layer: VectorLayer::coverage(ZONING, features, classes),
        version: None,
    }
}

/// A row of the `tile_layer` registry.
#[derive(sqlx::FromRow)]
struct Registered {
    id: String,
    description: String,
    table_name: String,
    id_column: String,
    geometry_column: String,
    properties: Vec<String>,
}

/// Quotes a (possibly schema-qualified) SQL identifier.
fn quote(identifier: &str) -> String {
    identifier
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

fn decode(id: i64, wkb: Vec<u8>) -> Result<Geometry<f64>> {
    geozero::wkb::Wkb(wkb)
        .to_geo()
        .map_err(|e| TilesError::Encode(format!("stored geometry of feature {id}: {e}")))
}

/// Every table registered in `tile_layer`, read from PostGIS.
pub async fn registered_layers(
    conn: &mut PgConnection,
    only: Option<&[String]>,
) -> Result<Vec<LoadedLayer>> {
    let registry: Vec<Registered> = sqlx::query_as(include_str!("sql/registered_layers.sql"))
        .bind(only)
        .bind(crate::catalog::datasets::TILED_FEATURES)
        .fetch_all(&mut *conn)
        .await?;
    let mut layers = Vec::with_capacity(registry.len());
    for entry in registry {
        layers.push(read_table(conn, entry).await?);
    }
    Ok(layers)
}

async fn read_table(conn: &mut PgConnection, entry: Registered) -> Result<LoadedLayer> {
    use sqlx::Row;
    let columns: String = entry
        .properties
        .iter()
        .map(|p| format!(", {}::text", quote(p)))
        .collect();
    let sql = format!(
        // Any SRID: a geometry already in Web Mercator is returned as it is by ST_Transform.
        "SELECT {id_col}::bigint, ST_AsBinary(ST_Transform({geom}, 3857)){columns} FROM {table} WHERE {geom} IS NOT NULL ORDER BY 1",
        id_col = quote(&entry.id_column),
        geom = quote(&entry.geometry_column),
        table = quote(&entry.table_name),
    );
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await.map_err(|e| {
        TilesError::Encode(format!(
            "tile layer {} ({}): {e}",
            entry.id, entry.table_name
        ))
    })?;
    let keys: Vec<Key> = entry
        .properties
        .iter()
        .map(|p| Key::from(p.as_str()))
        .collect();
    let mut features = Vec::with_capacity(rows.len());
    for row in rows {
        let feature_id: i64 = row.try_get(0)?;
        let shape = decode(feature_id, row.try_get(1)?)?;
        let values = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                let value: Option<String> = row.try_get(i + 2).ok()?;
                value.map(|v| (key.clone(), TileValue::Str(v)))
            })
            .collect();
        features.push(TileFeature::new(feature_id as u64, shape, values));
    }
    let layer = VectorLayer::new(&entry.id, features);
    Ok(LoadedLayer {
        fields: entry
            .properties
            .iter()
            .map(|p| (p.clone(), String::new()))
            .collect(),
        version: Some(content_version(&entry.description, &layer)),
        layer,
        id: entry.id,
        description: entry.description,
    })
}

/// A digest of a layer's content: its description and every feature's id, properties and
/// coordinates.
fn content_version(description: &str, layer: &VectorLayer) -> String {
    use geo::CoordsIter;
    use sha2::{Digest, Sha256};
    use std::hash::{Hash, Hasher};
    let mut digest = Sha256::new();
    digest.update(description.as_bytes());
    for feature in layer.features() {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        feature.id.hash(&mut hasher);
        for (key, value) in feature.all_properties() {
            key.hash(&mut hasher);
            value.hash(&mut hasher);
        }
        for c in feature.shape.coords_iter() {
            c.x.to_bits().hash(&mut hasher);
            c.y.to_bits().hash(&mut hasher);
        }
        digest.update(hasher.finish().to_le_bytes());
    }
    format!("h{}", hex::encode(&digest.finalize()[..8]))
}
