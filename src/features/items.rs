//! Reading features: a page of a collection's items (keyset paging on the id, the bbox, the
//! property equalities, the datetime and the CQL2 filter as one parameterised query) and single
//! items. PostGIS writes each feature's geometry and properties as JSON; the page is assembled
//! here without parsing them again.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::crs::Crs;
use super::query::ItemsQuery;
use super::{Result, cql};
use crate::catalog::{Collection, Kind, Source};

/// A page of features.
#[derive(Debug)]
pub struct Page {
    /// The features, as GeoJSON text, comma-separated.
    pub features: String,
    /// How many.
    pub returned: usize,
    /// The id the next page starts after, when there is one.
    pub next_after: Option<i64>,
    /// Features matching the query, when exact and cheap (no filter).
    pub matched: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    geometry: Option<String>,
    properties: String,
}

/// The page of `collection` that `query` asks for.
pub async fn page(pool: &PgPool, collection: &Collection, query: &ItemsQuery) -> Result<Page> {
    let Some(source) = &collection.source else {
        return Ok(Page {
            features: String::new(),
            returned: 0,
            next_after: None,
            matched: Some(0),
        });
    };
    let mut sql = select(collection, source, query.crs, "");
    sql.push(" WHERE TRUE");
    if let Some(after) = query.after {
        sql.push(format!(" AND t.{} > ", source.id_column));
        sql.push_bind(after);
    }
    conditions(&mut sql, collection, source, query)?;
    sql.push(format!(" ORDER BY t.{} LIMIT ", source.id_column));
    sql.push_bind(query.limit + 1);
    let filtered = query.filter.is_some();
    let projected_bbox =
        (query.bbox.is_some() && query.bbox_crs.srid != 4326).then_some(query.bbox_crs.uri);
    let mut rows: Vec<Row> = sql
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(|e| refused_value(e, filtered, projected_bbox))?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let unfiltered = query.bbox.is_none()
        && query.filter.is_none()
        && query.equals.is_empty()
        && query.datetime.is_none();
    let mut features = String::with_capacity(rows.len() * 512);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            features.push(',');
        }
        write_feature(&mut features, row);
    }
    Ok(Page {
        returned: rows.len(),
        next_after: if more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        matched: (unfiltered && collection.counted).then_some(collection.features),
        features,
    })
}

/// One feature as GeoJSON text, with its ETag; `None` when there is no such feature.
pub async fn item(
    pool: &PgPool,
    collection: &Collection,
    id: i64,
    crs: Crs,
) -> Result<Option<(String, String)>> {
    let Some(source) = &collection.source else {
        return Ok(None);
    };
    let mut sql = select(collection, source, crs, ", md5(t::text) AS etag");
    sql.push(format!(" WHERE t.{} = ", source.id_column));
    sql.push_bind(id);
    #[derive(sqlx::FromRow)]
    struct Tagged {
        #[sqlx(flatten)]
        row: Row,
        etag: String,
    }
    let found: Option<Tagged> = sql.build_query_as().fetch_optional(pool).await?;
    Ok(found.map(|t| {
        let mut text = String::new();
        write_feature(&mut text, &t.row);
        (text, format!("\"{}\"", t.etag))
    }))
}

/// `SELECT id, geometry, properties FROM relation t` (identifiers from the catalog).
fn select<'a>(
    collection: &Collection,
    source: &Source,
    crs: Crs,
    extra: &str,
) -> QueryBuilder<'a, Postgres> {
    let mut geometry = format!("t.{}", source.geometry_column);
    if crs.srid != 4326 {
        geometry = format!("ST_Transform({geometry}, {})", crs.srid);
    }
    if crs.lat_first {
        geometry = format!("ST_FlipCoordinates({geometry})");
    }
    let properties = if collection.properties.is_empty() {
        "'{}'::text".to_string()
    } else {
        let columns: Vec<String> = collection
            .properties
            .iter()
            .map(|p| format!("t.{} AS {}", p.column, crate::catalog::quote_ident(&p.name)))
            .collect();
        format!(
            "(SELECT row_to_json(p) FROM (SELECT {}) p)::text",
            columns.join(", ")
        )
    };
    QueryBuilder::new(format!(
        "SELECT t.{}::bigint AS id, ST_AsGeoJSON({geometry}, {}, 0) AS geometry, {properties} AS properties{extra} \
         FROM {} t",
        source.id_column, crs.digits, source.relation
    ))
}

/// The query's conditions, each as ` AND ...`.
fn conditions(
    sql: &mut QueryBuilder<'_, Postgres>,
    collection: &Collection,
    source: &Source,
    query: &ItemsQuery,
) -> Result<()> {
    if let Some([w, s, e, n]) = query.bbox {
        sql.push(format!(" AND ST_Intersects(t.{}, ", source.geometry_column));
        envelope(sql, [w, s, e, n], query.bbox_crs);
        sql.push(")");
    }
    for (name, value) in &query.equals {
        if let Some(p) = collection.property(name) {
            sql.push(format!(" AND t.{}::text = ", p.column));
            sql.push_bind(value.clone());
        }
    }
    if let Some((from, to)) = &query.datetime {
        let temporal = collection
            .properties
            .iter()
            .find(|p| matches!(p.kind, Kind::Date | Kind::Timestamp));
        // A collection without temporal information answers as if `datetime` were not given: OGC
        // API Features Part 1 (/req/core/fc-time-response) filters only "if the collection
        // includes temporal information", and its conformance tests send `datetime` everywhere.
        if let Some(p) = temporal {
            let cast = if p.kind == Kind::Date {
                "date"
            } else {
                "timestamptz"
            };
            if let Some(from) = from {
                sql.push(format!(" AND t.{} >= ", p.column));
                sql.push_bind(from.clone());
                sql.push(format!("::{cast}"));
            }
            if let Some(to) = to {
                sql.push(format!(" AND t.{} <= ", p.column));
                sql.push_bind(to.clone());
                sql.push(format!("::{cast}"));
            }
        }
    }
    if let Some(filter) = &query.filter {
        sql.push(" AND ");
        cql::push(filter, collection, query.filter_crs, sql)?;
    }
    Ok(())
}

/// The box `[w, s, e, n]` in `crs` as an EPSG:4326 polygon.
fn envelope(sql: &mut QueryBuilder<'_, Postgres>, [w, s, e, n]: [f64; 4], crs: Crs) {
    sql.push("ST_Transform(ST_MakeEnvelope(");
    for (i, v) in [w, s, e, n].into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_bind(v);
    }
    sql.push(format!(", {}), 4326)", crs.srid));
}

/// A value PostgreSQL could not take (a date out of range, a number too large: SQLSTATE class 22)
/// or could not compare (a date with a number: 42883, 42804, 42725), or a filter's geometry PostGIS
/// refuses (XX000, "geometry requires more points"), is the query's fault: 400 naming it. So is a
/// bbox in a projected CRS (`projected_bbox`) that PROJ cannot bring to WGS 84 (XX000: numbers
/// far off the Earth, such as 1e241 metres).
fn refused_value(
    e: sqlx::Error,
    filtered: bool,
    projected_bbox: Option<&str>,
) -> super::FeaturesError {
    if let (Some(crs), Some(db)) = (projected_bbox, e.as_database_error())
        && db.code().as_deref() == Some("XX000")
        && !filtered
    {
        return super::FeaturesError::Parameter {
            name: "bbox",
            problem: format!(
                "cannot be transformed from {crs} to WGS 84: {}",
                db.message()
            ),
        };
    }
    let theirs = |c: &str| {
        c.starts_with("22")
            || matches!(c, "42883" | "42804" | "42725")
            || (filtered && c == "XX000")
    };
    match e.as_database_error() {
        Some(db) if db.code().is_some_and(|c| theirs(&c)) => super::FeaturesError::Parameter {
            name: "filter",
            problem: format!("a value cannot be used: {}", db.message()),
        },
        _ => e.into(),
    }
}

fn write_feature(out: &mut String, row: &Row) {
    out.push_str("{\"type\":\"Feature\",\"id\":");
    out.push_str(&row.id.to_string());
    out.push_str(",\"geometry\":");
    out.push_str(row.geometry.as_deref().unwrap_or("null"));
    out.push_str(",\"properties\":");
    out.push_str(&row.properties);
    out.push('}');
}
