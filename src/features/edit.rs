//! Editing a dataset's features (OGC API Features Part 4): create, replace, update (JSON merge
//! patch) and delete, in the dataset's current version, each in one transaction that checks the
//! feature's ETag (`If-Match`), is audited and announced under the dataset's topic.

use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::crs::Crs;
use super::{FeaturesError, Result};
use crate::accounts::{self, Actor};
use crate::catalog::{Collection, Kind, Source};

/// What a client sends: a GeoJSON feature (for `replace`, whole; for `update`, in part).
pub struct Edit<'a> {
    /// The properties sent.
    pub properties: Map<String, Value>,
    /// The geometry sent, as GeoJSON text.
    pub geometry: Option<String>,
    /// The CRS of the geometry (`Content-Crs`).
    pub crs: Crs,
    /// The collection edited.
    pub collection: &'a Collection,
}

impl<'a> Edit<'a> {
    /// Reads a GeoJSON feature (or, when `partial`, a merge patch of one).
    pub fn read(body: &Value, collection: &'a Collection, crs: Crs, partial: bool) -> Result<Self> {
        let bad = |m: &str| FeaturesError::InvalidFeature(m.to_string());
        let object = body
            .as_object()
            .ok_or_else(|| bad("the body is not a JSON object"))?;
        if !partial && object.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(bad("the body is not a GeoJSON Feature"));
        }
        let properties = match object.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => return Err(bad("properties is not an object")),
        };
        for (name, value) in &properties {
            let known = collection
                .property(name)
                .is_some_and(|p| p.kind != Kind::Other);
            if !known {
                return Err(FeaturesError::InvalidFeature(format!(
                    "\"{name}\" is not a property of {} (see its /queryables)",
                    collection.id
                )));
            }
            if value.is_array() || value.is_object() {
                return Err(FeaturesError::InvalidFeature(format!(
                    "{name}: a value, not a list or object"
                )));
            }
        }
        let geometry = match object.get("geometry") {
            Some(Value::Object(g)) if !plausible(g.get("coordinates")) => {
                return Err(bad(
                    "a coordinate is not a number within ±40,000 km (of any CRS this server offers)",
                ));
            }
            Some(Value::Object(_)) => Some(object["geometry"].to_string()),
            None if partial => None,
            _ => return Err(bad("the feature has no geometry")),
        };
        Ok(Edit {
            properties,
            geometry,
            crs,
            collection,
        })
    }
}

/// Whether every number of `coordinates` is finite and within the range of the CRSs offered
/// (metres of Web Mercator or UTM, or degrees); PostGIS would clamp the others to a pole.
fn plausible(coordinates: Option<&Value>) -> bool {
    match coordinates {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n
            .as_f64()
            .is_some_and(|v| v.is_finite() && v.abs() <= 4.0e7),
        Some(Value::Array(items)) => items.iter().all(|i| plausible(Some(i))),
        Some(_) => false,
    }
}

fn source(collection: &Collection) -> Result<&Source> {
    collection
        .source
        .as_ref()
        .ok_or_else(|| FeaturesError::NotFound(format!("{} has no data yet", collection.id)))
}

/// Adds a feature; returns its id.
pub async fn create(pool: &PgPool, actor: &Actor, edit: &Edit<'_>) -> Result<i64> {
    let source = source(edit.collection)?;
    let mut tx = pool.begin().await?;
    // One writer at a time takes the next id.
    sqlx::query(&format!(
        "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
        source.relation
    ))
    .execute(&mut *tx)
    .await?;
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("INSERT INTO {} (fid", source.relation));
    for name in edit.properties.keys() {
        sql.push(format!(", {}", column(edit.collection, name)));
    }
    sql.push(", geom) VALUES ((SELECT COALESCE(max(fid), 0) + 1 FROM ");
    sql.push(&source.relation);
    sql.push(")");
    for (name, value) in &edit.properties {
        sql.push(", ");
        push_value(&mut sql, edit.collection, name, value);
    }
    sql.push(", ");
    push_geometry(
        &mut sql,
        edit.geometry.as_deref().unwrap_or("null"),
        edit.crs,
    );
    sql.push(") RETURNING fid");
    let id: i64 = sql
        .build_query_scalar()
        .fetch_one(&mut *tx)
        .await
        .map_err(refused)?;
    finish(&mut tx, actor, edit.collection, "feature.create", id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces (`partial` false: every property not sent becomes null) or updates feature `id`.
pub async fn change(
    pool: &PgPool,
    actor: &Actor,
    edit: &Edit<'_>,
    id: i64,
    if_match: Option<&str>,
    partial: bool,
) -> Result<()> {
    let source = source(edit.collection)?;
    let mut tx = pool.begin().await?;
    check_etag(&mut tx, source, id, if_match).await?;
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("UPDATE {} t SET fid = fid", source.relation));
    for p in edit
        .collection
        .properties
        .iter()
        .filter(|p| p.kind != Kind::Other)
    {
        match edit.properties.get(&p.name) {
            Some(value) => {
                sql.push(format!(", {} = ", p.column));
                push_value(&mut sql, edit.collection, &p.name, value);
            }
            None if !partial => {
                sql.push(format!(", {} = NULL", p.column));
            }
            None => {}
        }
    }
    if let Some(geometry) = &edit.geometry {
        sql.push(", geom = ");
        push_geometry(&mut sql, geometry, edit.crs);
    }
    sql.push(" WHERE fid = ");
    sql.push_bind(id);
    sql.build().execute(&mut *tx).await.map_err(refused)?;
    let action = if partial {
        "feature.update"
    } else {
        "feature.replace"
    };
    finish(&mut tx, actor, edit.collection, action, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes feature `id`.
pub async fn delete(
    pool: &PgPool,
    actor: &Actor,
    collection: &Collection,
    id: i64,
    if_match: Option<&str>,
) -> Result<()> {
    let source = source(collection)?;
    let mut tx = pool.begin().await?;
    check_etag(&mut tx, source, id, if_match).await?;
    sqlx::query(&format!("DELETE FROM {} WHERE fid = $1", source.relation))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    finish(&mut tx, actor, collection, "feature.delete", id).await?;
    tx.commit().await?;
    Ok(())
}

/// Locks feature `id`; 404 when it is not there, 412 when `If-Match` names another version.
async fn check_etag(
    tx: &mut PgConnection,
    source: &Source,
    id: i64,
    if_match: Option<&str>,
) -> Result<()> {
    let current: Option<String> = sqlx::query_scalar(&format!(
        "SELECT md5(t::text) FROM {} t WHERE fid = $1 FOR UPDATE",
        source.relation
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let current =
        current.ok_or_else(|| FeaturesError::NotFound(format!("there is no feature {id}")))?;
    let etag = format!("\"{current}\"");
    match if_match.map(str::trim) {
        None | Some("*") => Ok(()),
        Some(wanted)
            if wanted
                .split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag) =>
        {
            Ok(())
        }
        Some(_) => Err(FeaturesError::Changed(etag)),
    }
}

/// Checks the geometry, keeps the version's feature count, audits and announces.
async fn finish(
    tx: &mut PgConnection,
    actor: &Actor,
    collection: &Collection,
    action: &str,
    id: i64,
) -> Result<()> {
    let source = source(collection)?;
    check_shape(tx, source, collection, id).await?;
    // The relation is the catalog's, never a request's text.
    let facts = include_str!("sql/version_facts.sql").replace("{table}", &source.relation);
    let counted = match action {
        "feature.create" => 1,
        "feature.delete" => -1,
        _ => 0,
    };
    sqlx::query(&facts)
        .bind(&collection.id)
        .bind(counted)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    accounts::audit(
        tx,
        actor,
        action,
        Some(&format!("{}/{id}", collection.id)),
        serde_json::json!({}),
    )
    .await?;
    sqlx::query("SELECT satupeta_announce($1, $2)")
        .bind(format!("{action} {}/{id}", collection.id))
        .bind(format!("dataset:{}", collection.id))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The feature's geometry as an upload's is checked: valid, on the Earth, of the dataset's type.
async fn check_shape(
    tx: &mut PgConnection,
    source: &Source,
    collection: &Collection,
    id: i64,
) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Shape {
        invalid: Option<String>,
        empty: bool,
        on_earth: bool,
        kind: String,
    }
    let shape: Option<Shape> = sqlx::query_as(&format!(
        "SELECT CASE WHEN ST_IsValid(geom) THEN NULL ELSE ST_IsValidReason(geom) END AS invalid, \
                ST_IsEmpty(geom) AS empty, \
                COALESCE(ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 \
                AND ST_YMax(geom) <= 90, false) AS on_earth, \
                GeometryType(geom) AS kind \
         FROM {} WHERE fid = $1",
        source.relation
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(shape) = shape else { return Ok(()) };
    if shape.empty {
        return Err(FeaturesError::InvalidFeature(
            "the geometry is empty".into(),
        ));
    }
    if let Some(reason) = shape.invalid {
        return Err(FeaturesError::InvalidFeature(format!(
            "the geometry is not valid: {reason}"
        )));
    }
    if !shape.on_earth {
        return Err(FeaturesError::InvalidFeature(
            "the geometry is not on the Earth (longitudes -180..180, latitudes -90..90 in \
             EPSG:4326): is its CRS (Content-Crs) right?"
                .into(),
        ));
    }
    if !same_kind(collection.geometry_type.as_deref(), &shape.kind) {
        return Err(FeaturesError::InvalidFeature(format!(
            "the geometry is a {}; {} holds {} geometries",
            shape.kind,
            collection.id,
            collection.geometry_type.as_deref().unwrap_or("other")
        )));
    }
    Ok(())
}

/// Whether a geometry of PostGIS type `kind` (`POINT`, `MULTIPOLYGON`) fits a dataset of `kind`
/// (`Point`, `MultiPolygon`; a single geometry fits its multi type and back; `Geometry` takes any).
fn same_kind(dataset: Option<&str>, kind: &str) -> bool {
    let base = |k: &str| {
        k.to_ascii_lowercase()
            .trim_start_matches("multi")
            .to_string()
    };
    match dataset {
        None | Some("Geometry") => true,
        Some(d) => base(d) == base(kind),
    }
}

fn column(collection: &Collection, name: &str) -> String {
    collection
        .property(name)
        .map_or_else(String::new, |p| p.column.clone())
}

/// A property value, cast by PostgreSQL to the column's type.
fn push_value(
    sql: &mut QueryBuilder<'_, Postgres>,
    collection: &Collection,
    name: &str,
    value: &Value,
) {
    let cast = match collection.property(name).map(|p| p.kind) {
        Some(Kind::Integer) => "bigint",
        Some(Kind::Number) => "double precision",
        Some(Kind::Boolean) => "boolean",
        Some(Kind::Date) => "date",
        Some(Kind::Timestamp) => "timestamptz",
        _ => "text",
    };
    let text = match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    sql.push("CAST(");
    sql.push_bind(text);
    sql.push(format!(" AS {cast})"));
}

fn push_geometry(sql: &mut QueryBuilder<'_, Postgres>, geojson: &str, crs: Crs) {
    let flip = if crs.lat_first {
        "ST_FlipCoordinates"
    } else {
        ""
    };
    sql.push(format!(
        "ST_Transform({flip}(ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON("
    ));
    sql.push_bind(geojson.to_string());
    sql.push(format!(")), {})), 4326)", crs.srid));
}

/// A value PostgreSQL refused (a bad number, date or geometry) is the client's error.
fn refused(e: sqlx::Error) -> FeaturesError {
    match e.as_database_error() {
        Some(db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("22") || c == "XX000") =>
        {
            FeaturesError::InvalidFeature(format!("the feature cannot be stored: {}", db.message()))
        }
        _ => e.into(),
    }
}
