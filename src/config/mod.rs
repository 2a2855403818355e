//! Settings shared by every command, from flags, the environment and the configuration file
//! ([`file`]), and the checks of `satupeta config check` ([`check`]).

pub mod check;
pub mod file;

use std::path::PathBuf;

use clap::Args;

use crate::observe::LogFormat;

/// Where the data lives and which database to use.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Directory for local state: the embedded PostgreSQL cluster, generated files.
    #[arg(long, global = true, env = "SATUPETA_DATA_DIR", default_value = "var")]
    pub data_dir: PathBuf,
    /// Directory of pre-seeded tile archives (`satupeta tiles seed` writes them there; default:
    /// `tiles` in the data directory).
    #[arg(long, global = true, env = "SATUPETA_TILES_DIR")]
    pub tiles_dir: Option<PathBuf>,
    /// PostgreSQL URL of an external PostGIS server; without it an embedded cluster is run.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL URLs of read replicas of `DATABASE_URL` (streaming replicas), comma-separated:
    /// the snapshot, tiles, features and parcel lookups are read from them; writes and LISTEN go
    /// to the primary. A server never serves a snapshot older than one it has served.
    #[arg(
        long,
        global = true,
        env = "DATABASE_READ_URL",
        hide_env_values = true,
        value_delimiter = ',',
        requires = "database_url"
    )]
    pub database_read_url: Vec<String>,
    /// Directory of the certificates' signing keys (default: `keys` in the data directory).
    #[arg(long, global = true, env = "SATUPETA_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
    /// How log lines are written to standard error: text, or one JSON object per line (with the
    /// request id, method and route of the request they belong to).
    #[arg(long, global = true, env = "SATUPETA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Settings {
    /// Where the pre-seeded tile archives are.
    pub fn tiles_dir(&self) -> PathBuf {
        self.tiles_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("tiles"))
    }

    /// Where the certificates' signing keys are.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }
}
