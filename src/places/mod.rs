//! Finding a place: the kelurahan and kecamatan of Balikpapan by name, and coordinates as people
//! type them (decimal degrees, degrees-minutes-seconds, UTM 50S), for the map's place search.

mod coordinates;

use serde::Serialize;
use sqlx::PgPool;

pub use coordinates::{Typed, parse};

/// Errors of the place search.
#[derive(Debug, thiserror::Error)]
pub enum PlacesError {
    /// Text that looks like coordinates but cannot be read; the message says why.
    #[error("{0}")]
    Coordinates(String),
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Result alias of the place search.
pub type Result<T> = std::result::Result<T, PlacesError>;

/// A named area.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Place {
    /// Its name.
    pub name: String,
    /// `kelurahan`, `kecamatan` or `kota`.
    pub level: String,
    /// The kecamatan of a kelurahan.
    pub kecamatan: Option<String>,
    /// A point inside it.
    pub lon: f64,
    /// A point inside it.
    pub lat: f64,
    /// Bounding box.
    #[serde(skip)]
    pub west: f64,
    /// Bounding box.
    #[serde(skip)]
    pub south: f64,
    /// Bounding box.
    #[serde(skip)]
    pub east: f64,
    /// Bounding box.
    #[serde(skip)]
    pub north: f64,
}

impl Place {
    /// `[west, south, east, north]`.
    pub fn bbox(&self) -> [f64; 4] {
        [self.west, self.south, self.east, self.north]
    }
}

/// Coordinates read from the query, in WGS 84 degrees.
#[derive(Debug, Serialize)]
pub struct Position {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// How the text was read.
    pub read_as: String,
    /// Whether Balikpapan contains the point.
    pub in_city: bool,
}

/// A row of `utm.sql`.
#[derive(sqlx::FromRow)]
struct Converted {
    lon: f64,
    lat: f64,
    in_city: bool,
}

/// Reads `query` as coordinates, if it is coordinates.
pub async fn position(pool: &PgPool, query: &str) -> Result<Option<Position>> {
    let Some(typed) = parse(query) else {
        return Ok(None);
    };
    let typed = typed.map_err(PlacesError::Coordinates)?;
    let position = match typed {
        Typed::Degrees { lon, lat, read_as } => Position {
            in_city: sqlx::query_scalar(include_str!("sql/in_city.sql"))
                .bind(lon)
                .bind(lat)
                .fetch_one(pool)
                .await?,
            lon,
            lat,
            read_as: read_as.to_string(),
        },
        Typed::Utm {
            zone,
            south,
            easting,
            northing,
            assumed,
        } => {
            let epsg = typed.epsg().unwrap_or(32750);
            let converted: Converted = sqlx::query_as(include_str!("sql/utm.sql"))
                .bind(easting)
                .bind(northing)
                .bind(epsg as i32)
                .fetch_one(pool)
                .await?;
            let hemisphere = if south { "S" } else { "N" };
            let assumed = if assumed {
                ", the zone of Balikpapan assumed"
            } else {
                ""
            };
            Position {
                lon: converted.lon,
                lat: converted.lat,
                in_city: converted.in_city,
                read_as: format!("UTM zone {zone}{hemisphere} (EPSG:{epsg}){assumed}"),
            }
        }
    };
    Ok(Some(position))
}

/// The areas whose names contain every word of `query`, at most `limit`.
pub async fn search(pool: &PgPool, query: &str, limit: i64) -> Result<Vec<Place>> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(include_str!("sql/search.sql"))
        .bind(&words)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}
