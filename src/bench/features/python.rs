//! The Python peers of the features benchmark, tipg 1.6 and pygeoapi 0.24: installed with pip
//! into a venv under the work directory (once per set of pins), configured over the benchmark
//! database and started as processes whose output goes to log files beside the venv.
//!
//! pygeoapi 0.24 declares Python ≥ 3.12 while Debian 12 has 3.11. It is installed without its
//! dependencies (`--no-deps --ignore-requires-python`), then its requirements are installed as
//! pinned below, each at a version with cp311 wheels (pyproj 3.7.2, numpy 2.4.6, rasterio
//! 1.4.4: the newest of these build from source and fail on 3.11 or on GDAL 3.6). Two f-strings
//! of `pygeoapi/api/maps.py` nest the same quotes (PEP 701, Python 3.12 syntax); they are
//! rewritten with the other quotes, and the package must then compile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use crate::bench::process::{Process, free_port};
use crate::db;

/// tipg and its server.
const TIPG: &[&str] = &["tipg==1.6.1", "uvicorn==0.54.0"];
/// pygeoapi itself, installed without its dependencies.
const PYGEOAPI: &str = "pygeoapi==0.24.0";
/// pygeoapi 0.24's requirements (and its PostgreSQL provider's, and gunicorn), pinned to
/// versions that install on Python 3.11.
const PYGEOAPI_DEPENDENCIES: &[&str] = &[
    "Babel==2.18.0",
    "click==8.5.1",
    "filelock==4.3.1",
    "Flask==3.1.3",
    "Jinja2==3.1.6",
    "jsonschema==4.26.0",
    "pydantic==2.14.4",
    "pygeofilter==0.4.0",
    "pygeoif==1.6.0",
    "pyproj==3.7.2",
    "python-dateutil==4.0.0",
    "pytz==2026.6",
    "PyYAML==6.0.4",
    "numpy==2.4.6",
    "rasterio==1.4.4",
    "requests==2.34.2",
    "shapely==2.2.0",
    "SQLAlchemy==2.1.9",
    "tinydb==4.9.0",
    "GeoAlchemy2==0.20.0",
    "psycopg2-binary==2.9.13",
    "gunicorn==27.0.1",
];

/// Rewrites pygeoapi's f-strings that need Python 3.12 and compiles the package; prints its
/// directory.
const PATCH_PYGEOAPI: &str = r#"
import compileall, importlib.util, pathlib, re, sys
root = pathlib.Path(importlib.util.find_spec("pygeoapi").submodule_search_locations[0])
for path in root.rglob("*.py"):
    text = path.read_text()
    try:
        compile(text, str(path), "exec")
    except SyntaxError:
        # f'... {x['key']} ...' -> f'... {x["key"]} ...', inside single-quoted f-strings only.
        path.write_text(re.sub(r"(\bf'[^'\n]*?\{\w+)\['([^'\]\n]+)'\]\}", r'\1["\2"]}', text))
sys.exit(0 if compileall.compile_dir(str(root), quiet=1) else 1)
"#;

/// The Python interpreter the venv is made with: `$SATUPETA_BENCH_PYTHON`, else `python3`.
fn interpreter() -> String {
    std::env::var("SATUPETA_BENCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A venv with tipg and pygeoapi.
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The venv under `work_dir`, created and installed unless it already holds these pins.
    pub fn ensure(work_dir: &Path) -> anyhow::Result<Self> {
        let dir = work_dir.join("python-peers");
        let venv = Venv { dir };
        let pins = [
            TIPG.join(" "),
            PYGEOAPI.into(),
            PYGEOAPI_DEPENDENCIES.join(" "),
        ]
        .join("\n");
        let marker = venv.dir.join("satupeta-pins.txt");
        if std::fs::read_to_string(&marker).is_ok_and(|m| m == pins) {
            return Ok(venv);
        }
        println!(
            "installing tipg and pygeoapi into {} (pip) ...",
            venv.dir.display()
        );
        let _ = std::fs::remove_dir_all(&venv.dir);
        venv.run(
            Command::new(interpreter())
                .args(["-m", "venv"])
                .arg(&venv.dir),
            "creating the venv",
        )?;
        let pip = |args: &[&str], what: &str| {
            venv.run(
                Command::new(venv.bin("pip"))
                    .args(["install", "-q", "--disable-pip-version-check"])
                    .args(args),
                what,
            )
        };
        pip(TIPG, "pip install tipg")?;
        pip(PYGEOAPI_DEPENDENCIES, "pip install pygeoapi's requirements")?;
        pip(
            &["--no-deps", "--ignore-requires-python", PYGEOAPI],
            "pip install pygeoapi",
        )?;
        venv.run(
            Command::new(venv.bin("python")).args(["-c", PATCH_PYGEOAPI]),
            "making pygeoapi compile on this Python",
        )?;
        std::fs::write(&marker, pins)?;
        Ok(venv)
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    fn run(&self, command: &mut Command, what: &str) -> anyhow::Result<()> {
        let output = command.output().with_context(|| what.to_string())?;
        if !output.status.success() {
            bail!(
                "{what} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// tipg over `database_url`, publishing the schemas `dataset_data` and `public` (only the
    /// two benchmark tables), one uvicorn worker per core.
    pub fn tipg(&self, database_url: &str, workers: usize) -> anyhow::Result<Process> {
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(self.bin("uvicorn"));
        command
            .args([
                "tipg.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .args(["--workers", &workers.to_string(), "--log-level", "warning"])
            .env("DATABASE_URL", database_url)
            .env("TIPG_NAME", "tipg (satupeta bench)")
            .env("TIPG_DB_SCHEMAS", r#"["dataset_data","public"]"#)
            .env(
                "TIPG_DB_TABLES",
                r#"["dataset_data.fasilitas__v1","public.bench_zoning"]"#,
            )
            .env("TIPG_DB_FUNCTIONS", "[]")
            .env("TIPG_MAX_FEATURES_PER_QUERY", "10000");
        Process::http(
            "tipg",
            command,
            &url,
            &format!("{url}/collections/dataset_data.fasilitas__v1"),
            &self.log("tipg"),
            Duration::from_secs(90),
        )
    }

    /// pygeoapi over `database_url` with a generated configuration (collections `fasilitas`
    /// and `zoning`, the PostgreSQL provider), its OpenAPI document generated, served by
    /// gunicorn with `workers` sync workers.
    pub fn pygeoapi(&self, database_url: &str, workers: usize) -> anyhow::Result<Process> {
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let config = self.dir.join("pygeoapi-config.yml");
        let openapi = self.dir.join("pygeoapi-openapi.yml");
        // JSON is YAML: the configuration is written with serde_json.
        let text = serde_json::to_string_pretty(&pygeoapi_config(&url, port, database_url)?)?;
        std::fs::write(&config, text)?;
        self.run(
            Command::new(self.bin("pygeoapi"))
                .args(["openapi", "generate"])
                .arg(&config)
                .arg("--output-file")
                .arg(&openapi)
                .env("PYGEOAPI_CONFIG", &config)
                .env("PYGEOAPI_OPENAPI", &openapi),
            "pygeoapi openapi generate",
        )?;
        let mut command = Command::new(self.bin("gunicorn"));
        command
            .args([
                "-w",
                &workers.to_string(),
                "-b",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--log-level", "warning", "pygeoapi.flask_app:APP"])
            .env("PYGEOAPI_CONFIG", &config)
            .env("PYGEOAPI_OPENAPI", &openapi);
        Process::http(
            "pygeoapi",
            command,
            &url,
            &format!("{url}/collections/fasilitas?f=json"),
            &self.log("pygeoapi"),
            Duration::from_secs(90),
        )
    }
}

/// pygeoapi's configuration: the server, the metadata its OpenAPI generator reads, and the two
/// collections on the benchmark tables.
fn pygeoapi_config(url: &str, port: u16, database_url: &str) -> anyhow::Result<serde_json::Value> {
    let connection = Connection::parse(database_url)?;
    let provider = |table: &str, id: &str, schema: &str| {
        json!([{
            "type": "feature",
            "name": "PostgreSQL",
            "data": {
                "host": connection.host,
                "port": connection.port,
                "dbname": connection.dbname,
                "user": connection.user,
                "password": connection.password,
                "search_path": [schema, "public"],
            },
            "id_field": id,
            "table": table,
            "geom_field": "geom",
        }])
    };
    let extent = json!({"spatial": {
        "bbox": [116.70, -1.35, 117.15, -1.00],
        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    }});
    Ok(json!({
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "pretty_print": false,
            // Compressed answers, as satupeta and tipg give a browser that asks for them.
            "gzip": true,
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "pygeoapi (satupeta bench)",
                "description": "the peer of satupeta bench features",
                "keywords": ["benchmark"],
                "keywords_type": "theme",
                "terms_of_service": "none",
                "url": url,
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "satupeta bench", "url": url},
            "contact": {
                "name": "bench", "position": "bench", "address": "-", "city": "Balikpapan",
                "stateorprovince": "Kalimantan Timur", "postalcode": "76100", "country": "Indonesia",
                "phone": "-", "fax": "-", "email": "bench@example.org", "url": url, "hours": "-",
                "instructions": "-", "role": "pointOfContact",
            },
        },
        "resources": {
            "fasilitas": {
                "type": "collection", "title": "fasilitas", "description": "random points",
                "keywords": ["fasilitas"], "extents": extent,
                "providers": provider("fasilitas__v1", "fid", "dataset_data"),
            },
            "zoning": {
                "type": "collection", "title": "zoning", "description": "the grid plan",
                "keywords": ["zoning"], "extents": extent,
                "providers": provider("bench_zoning", "id", "public"),
            },
        },
    }))
}

/// The parts of a `postgres://` URL pygeoapi's provider asks for one by one.
struct Connection {
    host: String,
    port: u16,
    dbname: String,
    user: String,
    password: String,
}

impl Connection {
    fn parse(url: &str) -> anyhow::Result<Self> {
        let split = db::url::split_password(url);
        let rest = split
            .url
            .trim_start_matches("postgres://")
            .trim_start_matches("postgresql://");
        let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
        let (host_port, dbname) = rest.split_once('/').context("no database in the URL")?;
        let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
        Ok(Connection {
            host: host.to_string(),
            port: port.parse().context("the URL's port")?,
            dbname: dbname.split('?').next().unwrap_or(dbname).to_string(),
            user: user.to_string(),
            password: split.password.unwrap_or_default(),
        })
    }
}
