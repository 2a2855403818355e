//! Settings shared by every command, from flags and the environment.

use std::path::PathBuf;

use clap::Args;

/// Where the data lives and which database to use.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Directory for local state: the embedded PostgreSQL cluster, generated files.
    #[arg(long, global = true, env = "SATUPETA_DATA_DIR", default_value = "var")]
    pub data_dir: PathBuf,
    /// Directory of pre-seeded tile archives (`satupeta tiles seed` writes them there).
    #[arg(
        long,
        global = true,
        env = "SATUPETA_TILES_DIR",
        default_value = "tiles"
    )]
    pub tiles_dir: PathBuf,
    /// PostgreSQL URL of an external PostGIS server; without it an embedded cluster is run.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the certificates' signing keys (default: `keys` in the data directory).
    #[arg(long, global = true, env = "SATUPETA_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

impl Settings {
    /// Where the certificates' signing keys are.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }
}
