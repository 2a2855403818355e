//! Reference layers shipped with the project: Balikpapan's administrative boundaries
//! (`data/balikpapan_admin.geojson`, from the wilayah_boundaries data set by cahya dsn, MIT).

use serde::Deserialize;
use sqlx::PgPool;

/// The boundaries, compiled into the binary.
pub const ADMIN_GEOJSON: &str = include_str!("../data/balikpapan_admin.geojson");

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: serde_json::Value,
}

#[derive(Deserialize)]
struct Properties {
    kode: String,
    nama: String,
    tingkat: String,
    kecamatan: Option<String>,
}

/// The administrative boundaries as stored (the kecamatan and city outlines drawn from their
/// kelurahan), as a GeoJSON FeatureCollection with the source's properties.
pub async fn admin_geojson(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(json_build_object(
                    'type', 'Feature',
                    'properties', json_build_object('kode', kode, 'nama', nama, 'tingkat', tingkat,
                                                    'kecamatan', kecamatan),
                    'geometry', ST_AsGeoJSON(geom, 6)::json) ORDER BY id), '[]'::json))::text
         FROM admin_area",
    )
    .fetch_one(pool)
    .await
}

/// Loads the administrative boundaries into `admin_area` unless they are there.
pub async fn ensure_admin_areas(pool: &PgPool) -> Result<(), sqlx::Error> {
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_area")
        .fetch_one(pool)
        .await?;
    if present > 0 {
        return Ok(());
    }
    let collection: Collection =
        serde_json::from_str(ADMIN_GEOJSON).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let mut tx = pool.begin().await?;
    for feature in collection.features {
        let p = feature.properties;
        sqlx::query(
            "WITH g AS (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)) AS geom)
             INSERT INTO admin_area (kode, nama, tingkat, kecamatan, geom, geom_3857)
             SELECT $1, $2, $3, $4, geom, ST_Transform(geom, 3857) FROM g
             ON CONFLICT (kode) DO NOTHING",
        )
        .bind(&p.kode)
        .bind(&p.nama)
        .bind(&p.tingkat)
        .bind(&p.kecamatan)
        .bind(feature.geometry.to_string())
        .execute(&mut *tx)
        .await?;
    }
    // The kecamatan and city outlines are drawn from the kelurahan (migration 0006).
    sqlx::query("SELECT satupeta_derive_admin_outlines()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
