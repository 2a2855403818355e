//! The password of the embedded cluster's `postgres` role: 32 random bytes in hex, kept in a file
//! beside the cluster directory that only its owner (the user running satupeta) can read, and
//! never printed.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rand::RngCore;

use super::{DbError, Result};

/// The cluster's password. Its `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(hex::encode(bytes))
    }

    /// The secret stored in `path`, if that file exists; its permissions are narrowed to the
    /// owner if they were wider.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, e)),
        };
        let mode = fs::metadata(path)
            .map_err(|e| io_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} could be read by other users; making it readable by its owner only",
                path.display()
            );
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .map_err(|e| io_error(path, e))?;
        }
        let secret = text.trim();
        if secret.is_empty() {
            return Err(DbError::Cluster(format!("{} is empty", path.display())));
        }
        Ok(Some(Secret(secret.to_string())))
    }

    /// Writes the secret to `path` with mode 0600: to a temporary file beside it first, renamed
    /// into place once written, so that `path` never holds part of a secret.
    pub fn store(&self, path: &Path) -> Result<()> {
        let file = self.private_file(path.parent().unwrap_or(Path::new(".")))?;
        file.persist(path).map_err(|e| io_error(path, e.error))?;
        Ok(())
    }

    /// A temporary file in `dir` (mode 0600) holding the secret, as `initdb --pwfile` reads it;
    /// removed when the returned path is dropped.
    pub fn password_file(&self, dir: &Path) -> Result<tempfile::TempPath> {
        Ok(self.private_file(dir)?.into_temp_path())
    }

    /// The secret as it appears in a connection URL.
    pub fn url_encoded(&self) -> String {
        super::url::percent_encode(&self.0)
    }

    /// The secret itself (for a child process's environment: `PGPASSWORD`, or a replica's
    /// settings). It is hexadecimal: no quoting is needed anywhere.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret as an SQL string literal (for `ALTER ROLE ... PASSWORD`).
    pub fn sql_literal(&self) -> String {
        format!("'{}'", self.0.replace('\'', "''"))
    }

    fn private_file(&self, dir: &Path) -> Result<tempfile::NamedTempFile> {
        let mut file = tempfile::Builder::new()
            .prefix(".satupeta-secret-")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| io_error(dir, e))?;
        writeln!(file, "{}", self.0).map_err(|e| io_error(file.path(), e))?;
        file.as_file()
            .sync_all()
            .map_err(|e| io_error(file.path(), e))?;
        Ok(file)
    }
}

fn io_error(path: &Path, e: std::io::Error) -> DbError {
    DbError::Cluster(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_secret_is_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postgres.secret");
        assert_eq!(Secret::load(&path).unwrap(), None);
        let secret = Secret::generate();
        assert_eq!(secret.0.len(), 64);
        secret.store(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Secret::load(&path).unwrap(), Some(secret.clone()));
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    #[test]
    fn a_secret_readable_by_others_is_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postgres.secret");
        fs::write(&path, "abc\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            Secret::load(&path).unwrap(),
            Some(Secret("abc".to_string()))
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
