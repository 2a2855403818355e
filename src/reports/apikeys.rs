//! The keys of Open311 client applications (a city's app, a LAPOR! bridge): `satupeta apikeys
//! create NAME` prints one once; only its SHA-256 is stored. Open311 asks for a key with every
//! `POST /requests`; reads need none.

use sqlx::PgPool;

use crate::accounts::{digest, new_secret};

/// A client application, as a key names it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ApiClient {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// A client application as listed.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ApiKeyRow {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// When the key was made (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// Why a key could not be made or revoked.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The name is empty, too long or taken.
    #[error("{0}")]
    Name(String),
}

/// Makes a key for the application `name`; returns the key (shown once).
pub async fn create(pool: &PgPool, name: &str) -> Result<String, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiKeyError::Name(
            "an application's name has 1 to 100 characters".into(),
        ));
    }
    let key = new_secret("sp311_");
    let inserted = sqlx::query(
        "INSERT INTO api_key (name, key_sha256) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(digest(&key))
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiKeyError::Name(format!(
            "an application named \"{name}\" already has a key; revoke it first or pick another name"
        )));
    }
    Ok(key)
}

/// The application of a key, if the key is known and not revoked.
pub async fn client(pool: &PgPool, key: &str) -> Result<Option<ApiClient>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM api_key WHERE key_sha256 = $1 AND revoked_at IS NULL")
        .bind(digest(key))
        .fetch_optional(pool)
        .await
}

/// Every application, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,
                to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked_at
         FROM api_key ORDER BY id DESC",
    )
    .fetch_all(pool)
    .await
}

/// Revokes the key of the application `name` (and frees the name).
pub async fn revoke(pool: &PgPool, name: &str) -> Result<(), ApiKeyError> {
    let done = sqlx::query(
        "UPDATE api_key SET revoked_at = now(), name = name || ' (revoked ' || id || ')'
         WHERE name = $1 AND revoked_at IS NULL",
    )
    .bind(name.trim())
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiKeyError::Name(format!(
            "no application named \"{}\" has a key",
            name.trim()
        )));
    }
    Ok(())
}
