//! `satupeta config check`: what a server started with these settings would find wrong, found
//! without starting it (nothing is connected to, nothing is created).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// One finding of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The server would not start, or would fail at its first use of this.
    Error(String),
    /// It would work, but should be changed.
    Warning(String),
}

/// Whether the server could keep its data in `dir`: an existing directory it may write, or one
/// it could create.
pub fn data_dir(name: &str, dir: &Path) -> Option<Finding> {
    if dir.exists() {
        if !dir.is_dir() {
            return Some(Finding::Error(format!(
                "{name} {} is not a directory",
                dir.display()
            )));
        }
        return writable(dir)
            .err()
            .map(|e| Finding::Error(format!("{name} {} cannot be written: {e}", dir.display())));
    }
    let parent = dir
        .ancestors()
        .skip(1)
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    match writable(parent) {
        Ok(()) => None,
        Err(e) => Some(Finding::Error(format!(
            "{name} {} does not exist and cannot be made in {}: {e}",
            dir.display(),
            parent.display()
        ))),
    }
}

/// Whether this user may create files in `dir`.
fn writable(dir: &Path) -> std::io::Result<()> {
    tempfile::tempfile_in(dir).map(drop)
}

/// Whether `url` is a PostgreSQL URL sqlx can use.
pub fn database_url(name: &str, url: &str) -> Option<Finding> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Some(Finding::Error(format!(
            "{name} {} is not a PostgreSQL URL: it starts with postgres://",
            crate::db::url::redact(url)
        )));
    }
    url.parse::<sqlx::postgres::PgConnectOptions>()
        .err()
        .map(|e| {
            Finding::Error(format!(
                "{name} {} is not a PostgreSQL URL: {e}",
                crate::db::url::redact(url)
            ))
        })
}

/// A warning when the configuration file holds a password or token and other users can read it.
pub fn secrets_readable(path: &Path, text: &str) -> Option<Finding> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    // Read as TOML, so that every way of writing a key (dotted, inline, escaped) is the same key.
    let table: toml::Table = text.parse().ok()?;
    let holds_secret = holds_secret(&toml::Value::Table(table));
    (holds_secret && mode & 0o004 != 0).then(|| {
        Finding::Warning(format!(
            "{} holds a password or token and every user of this machine can read it (chmod 640)",
            path.display()
        ))
    })
}

/// Whether a value holds a token or a URL with a password, at any depth.
fn holds_secret(value: &toml::Value) -> bool {
    match value {
        toml::Value::Table(table) => table
            .iter()
            .any(|(k, v)| k == "metrics-token" || holds_secret(v)),
        toml::Value::Array(items) => items.iter().any(holds_secret),
        toml::Value::String(s) => s.contains("://") && crate::db::url::redact(s) != *s,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_checked_for_what_the_server_does_with_them() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(data_dir("data-dir", dir.path()), None);
        assert_eq!(data_dir("data-dir", &dir.path().join("new/deeper")), None);
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let Some(Finding::Error(e)) = data_dir("data-dir", &file) else {
            panic!("a file is not a data directory")
        };
        assert!(e.contains("is not a directory"), "{e}");
        let Some(Finding::Error(e)) = data_dir("data-dir", Path::new("/proc/satupeta")) else {
            panic!("/proc cannot hold data")
        };
        assert!(e.contains("cannot be made in /proc"), "{e}");
    }

    #[test]
    fn database_urls_and_readable_secrets_are_reported() {
        assert_eq!(database_url("database-url", "postgres://u:p@h/db"), None);
        let Some(Finding::Error(e)) = database_url("database-url", "mysql://u:pw@h/db") else {
            panic!("not PostgreSQL")
        };
        assert!(
            e.contains("not a PostgreSQL URL") && !e.contains(":pw@"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("satupeta.toml");
        let text = "database-url = \"postgres://u:secret@h/db\"\n";
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            secrets_readable(&path, text),
            Some(Finding::Warning(_))
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(secrets_readable(&path, text), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        for text in [
            "\"metrics-token\" = \"hunter2hunter2hunter2\"\n",
            "database-url = \"postgres:///db?host=/run/postgresql&password=hunter2\"\n",
            "serve.metrics-token = \"hunter2hunter2hunter2\"\n",
            "serve = { metrics-token = \"hunter2hunter2hunter2\" }\n",
            "\"metrics\\u002dtoken\" = \"hunter2hunter2hunter2\"\n",
            "database-read-url = [\"postgres://h/db?pass%77ord=x\"]\n",
        ] {
            assert!(
                matches!(secrets_readable(&path, text), Some(Finding::Warning(_))),
                "{text}"
            );
        }
    }
}
