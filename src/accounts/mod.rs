//! Accounts and roles of the network node: agencies (OPD), the people who sign in (admin, DPPR
//! staff, and publishers bound to one agency), bearer tokens for scripts, and the audit log every
//! write goes into.
//!
//! Passwords are kept as argon2id hashes (the `argon2` crate, its default parameters: 19 MiB,
//! two passes). A token is 256 random bits shown once; only its SHA-256 is kept (a slow hash adds
//! nothing to a secret that cannot be guessed), with its first characters to tell tokens apart.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

/// Errors of the accounts.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A name, role, password or label that is not allowed, with why.
    #[error("{0}")]
    Invalid(String),
    /// No such agency.
    #[error("there is no agency \"{0}\" (add it first: satupeta agencies add CODE NAME)")]
    UnknownAgency(String),
    /// No such account (or it is disabled).
    #[error("there is no account \"{0}\"")]
    UnknownAccount(String),
    /// The name is taken.
    #[error("{0} already exists")]
    Exists(String),
    /// No such token, or it is revoked already.
    #[error("there is no token {0} that is not revoked")]
    UnknownToken(i64),
    /// Hashing failed.
    #[error("password hashing: {0}")]
    Hash(String),
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Result alias of the accounts.
pub type Result<T> = std::result::Result<T, AccountError>;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 takes any length; a megabyte of it would be a denial).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// What every token starts with, so that a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "sp_";

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, the accounts included.
    Admin,
    /// DPPR staff: approve datasets, issue certificates, follow reports.
    Staff,
    /// Publishes the datasets of its agency.
    Publisher,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Publisher => "publisher",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            "publisher" => Ok(Role::Publisher),
            other => Err(AccountError::Invalid(format!(
                "\"{other}\" is not a role: admin, staff or publisher"
            ))),
        }
    }
}

/// Who is asking: a signed-in account or a token's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    pub account_id: i64,
    pub name: String,
    pub role: Role,
    /// The agency of a publisher.
    pub agency: Option<String>,
}

/// Who makes a write, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: Option<i64>,
    pub name: String,
    /// Where from: a client address, or `cli:USER`.
    pub origin: String,
}

impl Actor {
    /// The operator at the command line.
    pub fn command_line() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor {
            account_id: None,
            name: "command line".into(),
            origin: format!("cli:{user}"),
        }
    }
}

/// A row of `account_by_name.sql` / `token_owner.sql`.
#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    name: String,
    role: String,
    agency: Option<String>,
    password_hash: String,
}

impl AccountRow {
    fn principal(self) -> Result<Principal> {
        Ok(Principal {
            account_id: self.id,
            name: self.name,
            role: Role::parse(&self.role)?,
            agency: self.agency,
        })
    }
}

/// A token as listed (never its secret).
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub account: String,
    pub label: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A line of the audit log.
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub origin: String,
    pub detail: serde_json::Value,
}

/// The newest `limit` lines of the audit log.
pub async fn audit_log(pool: &PgPool, limit: i64) -> Result<Vec<AuditEntry>> {
    Ok(sqlx::query_as(include_str!("sql/audit_log.sql"))
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// A new token: its id, and its secret (shown once, kept nowhere).
pub struct NewToken {
    pub id: i64,
    pub secret: String,
}

/// An account to add.
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub role: Role,
    pub agency: Option<&'a str>,
    pub password: &'a str,
}

fn check_name(what: &str, name: &str, max: usize) -> Result<()> {
    let ok = (2..=max).contains(&name.len())
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "\"{name}\" is not {what}: 2 to {max} lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

fn check_password(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::Invalid(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password is shorter than {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// The argon2id hash of `password` (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Writes one line of the audit log.
pub async fn audit(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) -> Result<()> {
    sqlx::query(include_str!("sql/insert_audit.sql"))
        .bind(actor.account_id)
        .bind(&actor.name)
        .bind(action)
        .bind(target)
        .bind(&actor.origin)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds an agency (OPD).
pub async fn add_agency(pool: &PgPool, code: &str, name: &str, actor: &Actor) -> Result<()> {
    check_name("an agency code", code, 32)?;
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AccountError::Invalid(
            "an agency's name is 1 to 200 characters".into(),
        ));
    }
    let mut tx = pool.begin().await?;
    let added = sqlx::query(
        "INSERT INTO agency (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
    )
    .bind(code)
    .bind(name.trim())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added == 0 {
        return Err(AccountError::Exists(format!("the agency \"{code}\"")));
    }
    audit(
        &mut tx,
        actor,
        "agency.add",
        Some(code),
        serde_json::json!({ "name": name.trim() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an account; returns its id. A publisher needs an agency, other roles have none.
pub async fn add_account(pool: &PgPool, new: &NewAccount<'_>, actor: &Actor) -> Result<i64> {
    check_name("an account name", new.name, 64)?;
    check_password(new.password)?;
    match (new.role, new.agency) {
        (Role::Publisher, None) => {
            return Err(AccountError::Invalid(
                "a publisher is bound to one agency: give --agency CODE".into(),
            ));
        }
        (Role::Admin | Role::Staff, Some(_)) => {
            return Err(AccountError::Invalid(format!(
                "an {} account is not bound to an agency; only publishers are",
                new.role.as_str()
            )));
        }
        _ => {}
    }
    let password = new.password.to_string();
    // Hashing takes tens of milliseconds of CPU: off the async threads.
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    let mut tx = pool.begin().await?;
    if let Some(agency) = new.agency {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agency WHERE code = $1)")
                .bind(agency)
                .fetch_one(&mut *tx)
                .await?;
        if !known {
            return Err(AccountError::UnknownAgency(agency.into()));
        }
    }
    let id: Option<i64> = sqlx::query_scalar(include_str!("sql/insert_account.sql"))
        .bind(new.name)
        .bind(new.role.as_str())
        .bind(new.agency)
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
    let id = id.ok_or_else(|| AccountError::Exists(format!("the account \"{}\"", new.name)))?;
    audit(
        &mut tx,
        actor,
        "account.add",
        Some(new.name),
        serde_json::json!({ "role": new.role.as_str(), "agency": new.agency }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Disables the account `name`: its password, tokens and sessions open nothing any more.
pub async fn disable_account(pool: &PgPool, name: &str, actor: &Actor) -> Result<()> {
    let mut tx = pool.begin().await?;
    let disabled = sqlx::query(
        "UPDATE account SET disabled_at = now() WHERE name = $1 AND disabled_at IS NULL",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if disabled == 0 {
        return Err(AccountError::UnknownAccount(name.into()));
    }
    audit(
        &mut tx,
        actor,
        "account.disable",
        Some(name),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The account `name` when `password` is its password. An unknown name costs the same hashing
/// as a wrong password, so that the time does not tell which names exist.
pub async fn sign_in(pool: &PgPool, name: &str, password: &str) -> Result<Option<Principal>> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(None);
    }
    let row: Option<AccountRow> = sqlx::query_as(include_str!("sql/account_by_name.sql"))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    let hash = row
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_string(), |r| r.password_hash.clone());
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    match row {
        Some(row) if matches => Ok(Some(row.principal()?)),
        _ => Ok(None),
    }
}

/// An argon2id hash of a password no one has, verified against for unknown names.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2F0dXBldGEtZHVtbXk$8c0VZwXq1qkqpdC0p3n0dVJxkQ2Jd6m3eS1J0b8uQ9o";

pub(crate) fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token for the account `name`; its secret is returned once.
pub async fn create_token(
    pool: &PgPool,
    name: &str,
    label: &str,
    actor: &Actor,
) -> Result<NewToken> {
    if label.len() > 200 {
        return Err(AccountError::Invalid(
            "a token's label is at most 200 characters".into(),
        ));
    }
    let secret = new_secret(TOKEN_PREFIX);
    let mut tx = pool.begin().await?;
    let account: Option<i64> =
        sqlx::query_scalar("SELECT id FROM account WHERE name = $1 AND disabled_at IS NULL")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    let account = account.ok_or_else(|| AccountError::UnknownAccount(name.into()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_token (account_id, label, secret_hash, prefix) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account)
    .bind(label)
    .bind(digest(&secret))
    .bind(&secret[..TOKEN_PREFIX.len() + 6])
    .fetch_one(&mut *tx)
    .await?;
    audit(
        &mut tx,
        actor,
        "token.create",
        Some(name),
        serde_json::json!({ "token": id, "label": label }),
    )
    .await?;
    tx.commit().await?;
    Ok(NewToken { id, secret })
}

/// Revokes token `id`.
pub async fn revoke_token(pool: &PgPool, id: i64, actor: &Actor) -> Result<()> {
    let mut tx = pool.begin().await?;
    let revoked =
        sqlx::query("UPDATE api_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if revoked == 0 {
        return Err(AccountError::UnknownToken(id));
    }
    audit(
        &mut tx,
        actor,
        "token.revoke",
        Some(&id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The tokens of account `name` (or of every account), newest first; never their secrets.
pub async fn tokens(pool: &PgPool, name: Option<&str>) -> Result<Vec<TokenInfo>> {
    Ok(sqlx::query_as(include_str!("sql/tokens.sql"))
        .bind(name)
        .fetch_all(pool)
        .await?)
}

/// How long a web session lasts.
pub const SESSION_HOURS: i64 = 8;

/// A new random secret: a prefix and 64 hex digits (256 bits from the operating system).
pub(crate) fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Starts a web session for `who` (signed in from `origin`); returns its secret (for the cookie).
pub async fn start_session(pool: &PgPool, who: &Principal, origin: &str) -> Result<String> {
    let secret = new_secret("");
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO web_session (secret_hash, account_id, expires_at, origin) \
         VALUES ($1, $2, now() + make_interval(hours => $3::int), $4)",
    )
    .bind(digest(&secret))
    .bind(who.account_id)
    .bind(SESSION_HOURS as i32)
    .bind(origin)
    .execute(&mut *tx)
    .await?;
    let actor = Actor {
        account_id: Some(who.account_id),
        name: who.name.clone(),
        origin: origin.to_string(),
    };
    audit(
        &mut tx,
        &actor,
        "session.start",
        Some(&who.name),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// The account of a web session that has not ended or expired.
pub async fn session_principal(pool: &PgPool, secret: &str) -> Result<Option<Principal>> {
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row: Option<AccountRow> = sqlx::query_as(include_str!("sql/session_owner.sql"))
        .bind(digest(secret))
        .fetch_optional(pool)
        .await?;
    row.map(AccountRow::principal).transpose()
}

/// Ends a web session (signing out).
pub async fn end_session(pool: &PgPool, secret: &str) -> Result<()> {
    sqlx::query(
        "UPDATE web_session SET ended_at = now() WHERE secret_hash = $1 AND ended_at IS NULL",
    )
    .bind(digest(secret))
    .execute(pool)
    .await?;
    Ok(())
}

/// The account a bearer token speaks for, when the token is known, not revoked and its account
/// not disabled.
pub async fn authenticate(pool: &PgPool, secret: &str) -> Result<Option<Principal>> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let row: Option<AccountRow> = sqlx::query_as(include_str!("sql/token_owner.sql"))
        .bind(digest(secret))
        .fetch_optional(pool)
        .await?;
    row.map(AccountRow::principal).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_as_salted_argon2id_hashes() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterY"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        // The stand-in hash for unknown names parses, and matches nothing anyone types.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password(DUMMY_HASH, "correct horse battery"));
    }

    #[test]
    fn names_and_passwords_are_checked_with_reasons() {
        assert!(check_name("an account name", "dinkes.budi", 64).is_ok());
        for bad in ["A", "Budi", "-budi", "bu di", "budi;drop", ""] {
            assert!(check_name("an account name", bad, 64).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(check_password("twelve chars").is_ok());
        assert_eq!(Role::parse("publisher").unwrap(), Role::Publisher);
        assert!(Role::parse("root").is_err());
    }
}
