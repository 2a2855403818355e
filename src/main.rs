//! The `satupeta` command: serve, import plans, load rules, back up and restore, generate the demo
//! plan.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser, Subcommand};
use satupeta::accounts::{self, Actor};
use satupeta::config::{self, Settings};
use satupeta::db::{self, Database};
use satupeta::ingest::{ImportOptions, IngestError};
use satupeta::observe::Operation;
use satupeta::{demo, ingest, rules, web};

/// satupeta: Balikpapan's "One Map One Data" spatial-planning server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the map and the API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "SATUPETA_BIND")]
        bind: SocketAddr,
        /// The public base URL of this server (https://peta.example.go.id), for links in TileJSON and
        /// OGC documents; without it, links use the request's Host when it is a plain host name.
        #[arg(long, env = "SATUPETA_PUBLIC_URL", value_parser = parse_public_url)]
        public_url: Option<String>,
        /// Origins allowed to call the public read API from a browser: `*`, `none`, or a
        /// comma-separated list of origins.
        #[arg(long, env = "SATUPETA_CORS_ORIGINS", default_value = "*", value_parser = web::Cors::parse)]
        cors_origins: web::Cors,
        /// Megabytes of encoded tiles kept in memory.
        #[arg(long, env = "SATUPETA_TILE_CACHE_MB", default_value_t = 128)]
        tile_cache_mb: u64,
        /// How point answers are compressed (composed: the sub-zone's rules compressed once;
        /// dynamic: each answer compressed whole, at the fastest level).
        #[arg(long, value_enum, default_value_t = web::AnswerCompression::Composed, hide = true)]
        answer_compression: web::AnswerCompression,
        /// The SMTP server report mail goes to: smtp://host:25, smtp://user:pass@host:587?tls=required,
        /// smtps://host:465. Without it, mail waits in the outbox until a server is set.
        #[arg(long, env = "SATUPETA_SMTP_URL")]
        smtp_url: Option<String>,
        /// The sender of report mail.
        #[arg(
            long,
            env = "SATUPETA_MAIL_FROM",
            default_value = "DPPR Kota Balikpapan <noreply@balikpapan.go.id>"
        )]
        mail_from: String,
        /// How many reports one client address may file: BURST/SECONDS (BURST at once, then one
        /// every SECONDS).
        #[arg(long, env = "SATUPETA_REPORT_RATE", default_value = "10/30", value_parser = web::ReportRate::parse)]
        report_rate: web::ReportRate,
        /// The bearer token Prometheus sends for `/metrics`; without it, `/metrics` answers only
        /// scrapes from this machine that come through no proxy.
        #[arg(long, env = "SATUPETA_METRICS_TOKEN", hide_env_values = true, value_parser = parse_token)]
        metrics_token: Option<String>,
    },
    /// Import an RDTR plan file (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, KML) as a new version.
    Import {
        /// The file (a zipped Shapefile may be given as .zip).
        file: PathBuf,
        /// Layer to read (default: the only polygon layer).
        #[arg(long)]
        layer: Option<String>,
        /// Name of the plan (RDTR document) this file is a version of (default: the layer name).
        #[arg(long)]
        plan: Option<String>,
        /// CRS of the file when it declares none or declares it wrongly, e.g. EPSG:23837.
        #[arg(long)]
        source_crs: Option<String>,
        /// Validate and report only; publish nothing.
        #[arg(long)]
        dry_run: bool,
        /// Overlaps and gaps smaller than this (m²) are ignored.
        #[arg(long, default_value_t = 1.0)]
        tolerance_m2: f64,
        /// Skip the import when the plan's newest version came from the same file content.
        #[arg(long, requires = "plan")]
        if_changed: bool,
        /// The version's rule set: a rules directory (default: the plan's current rules, or the
        /// city's for a new plan).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// The day the version takes effect, YYYY-MM-DD (default: today, Balikpapan time).
        #[arg(long, value_name = "YYYY-MM-DD")]
        effective: Option<String>,
        /// The regulation that enacts this version, as certificates cite it (default: the plan's
        /// previous version's), e.g. "Peraturan Wali Kota Balikpapan Nomor 5 Tahun 2024".
        #[arg(long, value_name = "TEXT")]
        regulation: Option<String>,
        /// Policy: map local sub-zone codes to catalogue codes (CSV with columns from,to).
        #[arg(long, value_name = "FILE.csv")]
        code_map: Option<PathBuf>,
        /// Policy: which code wins when a feature's codes disagree (a warning per feature).
        #[arg(long, value_enum)]
        prefer: Option<ingest::Prefer>,
        /// Policy: publish overlapping zones (lookups rank them; the report lists every overlap).
        #[arg(long)]
        allow_overlaps: bool,
        /// Policy: the file's attributes (KDB, KLB, KDH, KTB, IZN, TBT, BST, TBS, ...) are the
        /// version's rule set.
        #[arg(long, conflicts_with = "rules")]
        rules_from_attributes: bool,
    },
    /// Rule tables (sub-zones, intensity, activities, ITBX).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Measure point lookups against PostGIS and the import against ogr2ogr, or with --martin the
    /// vector tiles against Martin (prints the ratios).
    Bench {
        /// Zoning polygons in the generated plan.
        #[arg(long, default_value_t = 100_000)]
        blocks: usize,
        /// Concurrent connections of each load generator.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Seconds per load run.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Measure vector tiles against this Martin binary instead of lookups and the import.
        #[arg(long)]
        martin: Option<PathBuf>,
        #[command(subcommand)]
        what: Option<BenchCommand>,
    },
    /// Vector tiles.
    Tiles {
        #[command(subcommand)]
        command: TilesCommand,
    },
    /// Agencies (OPD) that publish datasets.
    Agencies {
        #[command(subcommand)]
        command: AgenciesCommand,
    },
    /// The configuration file (`--config FILE`): check it, or print a documented one.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The signing keys of city-plan certificates.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Accounts: admin, DPPR staff, agency publishers.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// API keys of Open311 client applications.
    Apikeys {
        #[command(subcommand)]
        command: ApikeysCommand,
    },
    /// Bearer tokens for scripts.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The synthetic demo plan.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Write a backup of the database (plans, versions, rules, change log) to FILE (pg_dump's
    /// custom format).
    Backup {
        /// The backup file to write (replaced once the new backup is complete).
        file: PathBuf,
    },
    /// Replace the database with a backup written by `satupeta backup`, all or nothing; running
    /// servers reload.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// OGC API Features (pages along `next` links, bbox, CQL2 filter) on 100,000 points and the
    /// grid plan, against tipg 1.6 and pygeoapi 0.24 on the same tables (installed with pip into
    /// a venv under the work directory; Python from $SATUPETA_BENCH_PYTHON, else python3).
    Features {
        /// The servers to measure, comma-separated: satupeta, tipg, pygeoapi.
        #[arg(long, value_delimiter = ',', default_value = "satupeta,tipg,pygeoapi")]
        servers: Vec<satupeta::bench::Server>,
        /// Random points in the dataset `fasilitas`.
        #[arg(long, default_value_t = 100_000)]
        points: usize,
    },
    /// Report submissions per second (with a photo and without) and the public reports layer
    /// under load, with REPORTS stored; with --martin, the layer against Martin on the same table.
    Reports {
        /// Reports stored before the runs.
        #[arg(long, default_value_t = 100_000)]
        reports: usize,
    },
    /// Minutes of mixed load (lookups, tiles, features, Open311 reports) on a server process,
    /// a plan published every minute and the embedded database restarted in the middle: the
    /// answers, unexpected errors, publication delays, memory over time and the server's metrics.
    Soak {
        /// Minutes of load.
        #[arg(long, default_value_t = 10)]
        minutes: u64,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check the rule set in DIR and publish it: with --plan, as a new version of that plan (its
    /// current zoning with these rules); without, as the city's rule set: a new version of every
    /// plan that uses the city's rules (plans with rules of their own keep them), and the rules of
    /// plans imported later without their own.
    Load {
        /// Directory holding subzones.csv, intensity.csv, activities.csv, conditions.csv and
        /// itbx.csv (zones and KBLI 2020 are shared reference data shipped with the binary).
        dir: PathBuf,
        /// The plan whose rules these are.
        #[arg(long)]
        plan: Option<String>,
        /// The day the rules take effect, YYYY-MM-DD (default: today, Balikpapan time). With a
        /// date, a version is published even when the rules equal the current ones.
        #[arg(long, value_name = "YYYY-MM-DD")]
        effective: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the configuration file as `satupeta serve` would read it (with the environment's
    /// values, which win over the file's): every key known, every value valid, the directories
    /// usable, the URLs well formed. Connects to nothing and creates nothing.
    Check,
    /// Print a configuration file documenting every global option and those of `serve`, with
    /// their environment variables and defaults.
    Example {
        /// The data directory to set in it (left commented out without).
        #[arg(long, value_name = "DIR")]
        set_data_dir: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create the certificates' signing keys (an Ed25519 key for the content, a P-256 key and a
    /// self-signed certificate for the PDF's PAdES signature) and make them current; run again to
    /// rotate: the old keys stay, published, so certificates they signed still verify.
    Init {
        /// The signatory's name, as printed under the signature.
        #[arg(long)]
        name: String,
        /// The signatory's NIP (civil-servant number, 18 digits).
        #[arg(long)]
        nip: String,
        /// The signatory's position.
        #[arg(long, default_value = "Kepala Bidang Tata Ruang")]
        position: String,
        /// On whose behalf the signatory signs.
        #[arg(
            long,
            default_value = "a.n. Kepala Dinas Pertanahan dan Penataan Ruang Kota Balikpapan"
        )]
        on_behalf: String,
    },
    /// List the key generations (the current one marked).
    List,
}

#[derive(Subcommand)]
enum AgenciesCommand {
    /// Add an agency: CODE (lower-case, e.g. dinkes) and its NAME.
    Add { code: String, name: String },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add an account; its password is read from the first line of standard input.
    Add {
        /// The account name (lower-case letters, digits, '.', '_', '-').
        name: String,
        /// admin, staff (DPPR) or publisher (bound to one agency).
        #[arg(long)]
        role: String,
        /// The agency of a publisher.
        #[arg(long)]
        agency: Option<String>,
    },
    /// Disable an account: its password, tokens and sessions open nothing any more.
    Disable { name: String },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Create a token for account NAME and print it (once: only its hash is kept).
    Create {
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke token ID.
    Revoke { id: i64 },
    /// List the tokens (of account NAME), never their secrets.
    List { name: Option<String> },
}

#[derive(Subcommand)]
enum ApikeysCommand {
    /// Make a key for the client application NAME and print it (once: only its hash is kept).
    Create { name: String },
    /// List the applications, never their keys.
    List,
    /// Revoke the key of application NAME.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum TilesCommand {
    /// Write a PMTiles archive of a layer into the tiles directory; the server serves from it while
    /// the layer is unchanged, and live tiles once the data changes.
    Seed {
        /// The layer: zoning or admin.
        #[arg(long, default_value = "zoning")]
        layer: String,
        /// Lowest zoom to seed.
        #[arg(long, default_value_t = 0)]
        minzoom: u8,
        /// Highest zoom to seed.
        #[arg(long, default_value_t = 14)]
        maxzoom: u8,
        /// Area to seed, west,south,east,north in degrees (default: the layer's bounds).
        #[arg(long, value_delimiter = ',', num_args = 4)]
        bbox: Option<Vec<f64>>,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Write a synthetic Balikpapan RDTR as a GeoPackage in EPSG:32750.
    Generate {
        /// The GeoPackage to write.
        out: PathBuf,
        /// About how many zoning polygons to generate.
        #[arg(long, default_value_t = 4000)]
        blocks: usize,
        /// The kelurahan boundaries to generate inside.
        #[arg(long, default_value = "data/balikpapan_admin.geojson")]
        admin: PathBuf,
    },
}

/// mimalloc instead of the system allocator: measured on the warm-tile benchmark (2 cores, 16
/// connections, browser headers), glibc's malloc and free took about 10% of the server's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let applied = match config::file::apply(&Cli::command(), std::env::args_os().collect()) {
        Ok(applied) => applied,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(&applied.args);
    satupeta::observe::init_logging(cli.settings.log_format);
    if let Command::Config { command } = cli.command {
        return match config_command(command, applied.file.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command {
        Command::Demo {
            command: DemoCommand::Generate { out, blocks, admin },
        } => {
            let started = Instant::now();
            let options = demo::DemoOptions {
                polygons: blocks,
                admin,
                out: out.clone(),
            };
            let summary = tokio::task::spawn_blocking(move || demo::generate(&options)).await??;
            println!(
                "wrote {} zoning polygons (mean block {:.0} m) to {} in {:.1} s",
                summary.polygons,
                summary.block_m,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Agencies {
            command: AgenciesCommand::Add { code, name },
        } => {
            let db = open(&settings).await?;
            let result = accounts::add_agency(&db.pool, &code, &name, &Actor::command_line()).await;
            db.close().await;
            result?;
            println!("added the agency {code} ({name})");
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Add { name, role, agency },
        } => {
            let role = accounts::Role::parse(&role)?;
            let password = read_password()?;
            let db = open(&settings).await?;
            let new = accounts::NewAccount {
                name: &name,
                role,
                agency: agency.as_deref(),
                password: &password,
            };
            let result = accounts::add_account(&db.pool, &new, &Actor::command_line()).await;
            db.close().await;
            let id = result?;
            println!("added the {} account {name} (id {id})", role.as_str());
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Disable { name },
        } => {
            let db = open(&settings).await?;
            let result = accounts::disable_account(&db.pool, &name, &Actor::command_line()).await;
            db.close().await;
            result?;
            println!("disabled the account {name}");
            Ok(())
        }
        Command::Apikeys { command } => {
            let db = open(&settings).await?;
            let result = apikeys_command(&db.pool, command).await;
            db.close().await;
            result
        }
        Command::Tokens { command } => {
            let db = open(&settings).await?;
            let result = tokens_command(&db.pool, command).await;
            db.close().await;
            result
        }
        Command::Tiles {
            command:
                TilesCommand::Seed {
                    layer,
                    minzoom,
                    maxzoom,
                    bbox,
                },
        } => {
            let db = open(&settings).await?;
            let service = satupeta::tiles::TileService::open(db.pool.clone(), 0, None).await?;
            let out = satupeta::tiles::archive_path(&settings.tiles_dir(), &layer);
            let bbox = bbox.map(|b| [b[0], b[1], b[2], b[3]]);
            let started = Instant::now();
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let result =
                satupeta::tiles::seed(&service, &layer, (minzoom, maxzoom), bbox, &out, progress)
                    .await;
            let done = result.is_ok();
            record(&db, Operation::Seed, &layer, started, done).await;
            db.close().await;
            let summary = result?;
            println!(
                "wrote {} of {} tiles ({:.1} MB) to {} in {:.1} s",
                summary.written,
                summary.tiles,
                summary.bytes as f64 / 1e6,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Rules {
            command:
                RulesCommand::Load {
                    dir,
                    plan,
                    effective,
                },
        } => {
            let effective = effective
                .as_deref()
                .map(satupeta::calendar::parse_day)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--effective: {e}"))?;
            // The tables are checked before the database is opened.
            let rule_set = rules::load_dir(&dir, &rules::Reference::shipped()?)?;
            let db = open(&settings).await?;
            let started = Instant::now();
            let result = load_rules(&db, &rule_set, plan.as_deref(), effective.as_deref()).await;
            let subject = plan.as_deref().unwrap_or("city");
            record(&db, Operation::Rules, subject, started, result.is_ok()).await;
            db.close().await;
            result
        }
        Command::Import {
            file,
            layer,
            plan,
            source_crs,
            dry_run,
            tolerance_m2,
            if_changed,
            rules: rules_dir,
            effective,
            regulation,
            code_map,
            prefer,
            allow_overlaps,
            rules_from_attributes,
        } => {
            let db = open(&settings).await?;
            let plan_name = plan.clone();
            if if_changed
                && let Some(name) = &plan_name
                && ingest::is_published(&db.pool, name, &file).await?
            {
                println!("plan \"{name}\" is already published from this file; nothing to do");
                db.close().await;
                return Ok(());
            }
            let rules = match &rules_dir {
                Some(dir) => Some(rules::load_dir(dir, &rules::Reference::shipped()?)?),
                None => None,
            };
            let options = ImportOptions {
                layer,
                plan,
                source_crs,
                dry_run,
                tolerance_m2,
                rules,
                effective,
                regulation,
                code_map,
                prefer,
                allow_overlaps,
                rules_from_attributes,
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
                ..ImportOptions::new(file)
            };
            let started = Instant::now();
            let result = ingest::import(&db.pool, &options).await;
            db.close().await;
            match result {
                Ok(outcome) => {
                    println!("{}", outcome.report);
                    match (
                        outcome.version_id,
                        outcome.version,
                        &outcome.rule_set,
                        &outcome.state,
                    ) {
                        (Some(id), Some(version), Some(rules), Some(state)) => println!(
                            "published version {version} (id {id}) with {} features and rule set {} ({}) in {:.1} s; {}",
                            outcome.report.features_published,
                            rules.id,
                            &rules.digest[..12.min(rules.digest.len())],
                            started.elapsed().as_secs_f64(),
                            in_force_words(state)
                        ),
                        _ => println!("dry run: nothing was published"),
                    }
                    Ok(())
                }
                Err(IngestError::Rejected(report)) => {
                    println!("{report}");
                    anyhow::bail!("the plan was not published: {}", report.error_summary())
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Bench {
            blocks,
            connections,
            seconds,
            martin,
            what,
        } => {
            let db = open(&settings).await?;
            let options = satupeta::bench::BenchOptions {
                polygons: blocks,
                // Absolute: nginx reads its configuration and tile paths from its own prefix.
                work_dir: std::path::absolute(settings.data_dir.join("bench"))?,
                database_url: db.url.clone(),
                connections,
                duration: Duration::from_secs(seconds),
                admin_boundaries: PathBuf::from("data/balikpapan_admin.geojson"),
                rules_dir: PathBuf::from("data/rules"),
                binary: std::env::current_exe()?,
            };
            let result = match (&what, &martin) {
                (Some(BenchCommand::Features { servers, points }), _) => {
                    satupeta::bench::run_features(&satupeta::bench::FeaturesOptions {
                        bench: options,
                        points: *points,
                        servers: servers.clone(),
                    })
                    .await
                }
                (Some(BenchCommand::Reports { reports }), martin) => {
                    satupeta::bench::run_reports(&options, *reports, martin.as_deref()).await
                }
                (Some(BenchCommand::Soak { minutes }), _) => {
                    satupeta::bench::run_soak(&options, *minutes, db.cluster()).await
                }
                (None, Some(martin)) => satupeta::bench::run_tiles(&options, martin).await,
                (None, None) => satupeta::bench::run(&options).await,
            };
            db.close().await;
            result
        }
        Command::Keys { command } => keys_command(&settings, command),
        Command::Config { .. } => unreachable!("answered before"),
        Command::Backup { file } => backup(&settings, &file).await,
        Command::Restore { file } => restore(&settings, &file).await,
        Command::Serve {
            bind,
            public_url,
            cors_origins,
            tile_cache_mb,
            answer_compression,
            smtp_url,
            mail_from,
            report_rate,
            metrics_token,
        } => {
            // SIGTERM is heard from the start: one that comes while the database starts lets it
            // finish starting, then stops it, rather than leaving a cluster without its owner.
            let stopping = stop_requested()?;
            // The port is taken before the database is opened (or its cluster started): a port
            // in use is refused at once, with nothing started.
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
            let db = open(&settings).await?;
            let options = web::Options {
                public_url,
                cors: cors_origins,
                tiles_dir: Some(settings.tiles_dir()),
                keys_dir: Some(settings.keys_dir()),
                tile_cache_bytes: tile_cache_mb * 1024 * 1024,
                answers: answer_compression,
                mail: smtp_url.map(|smtp_url| satupeta::reports::mail::MailSettings {
                    smtp_url,
                    from: mail_from,
                }),
                report_rate,
                replicas: web::Replicas(settings.database_read_url.clone()),
                metrics_token,
                ..web::Options::default()
            };
            let result = serve(&db, listener, &options, stopping).await;
            db.close().await;
            result
        }
    }
}

/// `satupeta apikeys create|list|revoke`.
async fn apikeys_command(pool: &sqlx::PgPool, command: ApikeysCommand) -> anyhow::Result<()> {
    use satupeta::reports::apikeys;
    match command {
        ApikeysCommand::Create { name } => {
            let key = apikeys::create(pool, &name).await?;
            println!("{key}");
            eprintln!(
                "the Open311 key of {}; it is shown once: give it to the application (api_key=...)",
                name.trim()
            );
        }
        ApikeysCommand::List => {
            for key in apikeys::list(pool).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    key.id,
                    key.name,
                    key.created_at,
                    key.revoked_at.as_deref().unwrap_or("active")
                );
            }
        }
        ApikeysCommand::Revoke { name } => {
            apikeys::revoke(pool, &name).await?;
            eprintln!("revoked the key of {}", name.trim());
        }
    }
    Ok(())
}

/// `satupeta rules load DIR [--plan NAME] [--effective DAY]`.
async fn load_rules(
    db: &Database,
    rule_set: &rules::RuleSet,
    plan: Option<&str>,
    effective: Option<&str>,
) -> anyhow::Result<()> {
    for note in &rule_set.notes {
        println!("note: {note}");
    }
    let outcome = ingest::publish_rules(&db.pool, plan, rule_set, effective).await?;
    println!(
        "rule set {} ({}{}): {} sub-zones, {} intensity tiers, {} activities, {} ITBX cells",
        outcome.rule_set.id,
        &outcome.rule_set.digest[..12.min(outcome.rule_set.digest.len())],
        if outcome.rule_set.reused {
            ", already stored"
        } else {
            ""
        },
        rule_set.subzones.len(),
        rule_set.intensity.len(),
        rule_set.activities.len(),
        rule_set.itbx.len()
    );
    if let Some(day) = &outcome.city_from {
        let from = if day == "1900-01-01" {
            "always (the city's first rules)".to_string()
        } else {
            day.clone()
        };
        println!(
            "it is the city's rule set from {from}: plans that follow the city's rules take it"
        );
    }
    for v in &outcome.versions {
        println!(
            "published version {} (id {}) of plan \"{}\": its zoning in force that day with these rules; {}",
            v.version,
            v.version_id,
            v.plan,
            in_force_words(&v.state)
        );
        for warning in &v.unregulated {
            println!("  warning: {warning}");
        }
    }
    for name in &outcome.unchanged {
        println!("plan \"{name}\" already uses these rules: no new version");
    }
    Ok(())
}

/// A version's effective date, whether it is in force today, and what will replace it, in words.
fn in_force_words(state: &ingest::VersionState) -> String {
    let mut words = if state.in_force {
        format!("effective from {}, in force today", state.effective_from)
    } else if state.effective_from > state.today {
        format!(
            "effective from {}: NOT in force today, it takes effect later",
            state.effective_from
        )
    } else {
        format!(
            "effective from {}: NOT in force today, a version effective later supersedes it",
            state.effective_from
        )
    };
    if let Some(day) = &state.superseded_from {
        words.push_str(&format!(
            "\nwarning: a version of this plan published earlier takes effect on {day} with its own zoning and rules, and supersedes this one then; publish it again if it should include this change"
        ));
    }
    if let Some(day) = &state.city_rules_change {
        words.push_str(&format!(
            "\nwarning: the city's rules change on {day} (loaded earlier); this plan follows them but has no version for that day: load those rules again (satupeta rules load DIR --effective {day})"
        ));
    }
    words
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
async fn serve(
    db: &Database,
    listener: tokio::net::TcpListener,
    options: &web::Options,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if *stopping.borrow() {
        println!("stopped before serving");
        return Ok(());
    }
    let server = web::Server::start(&db.url, options).await?;
    let snapshot = server.state.live.snapshot();
    tracing::info!(
        features = snapshot.index.len(),
        rule_sets = snapshot.books.len(),
        "zoning snapshot loaded"
    );
    drop(snapshot);
    if *stopping.borrow() {
        println!("stopped before serving");
        return Ok(());
    }
    let shutdown = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    println!("serving on http://{}", listener.local_addr()?);
    server.serve(listener, shutdown).await?;
    Ok(())
}

/// A bearer token: at least 16 visible ASCII characters (an empty one would lock every scrape
/// out; a short one is guessed).
fn parse_token(text: &str) -> Result<String, String> {
    if text.len() >= 16 && text.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(text.to_string())
    } else {
        Err("a token of at least 16 visible characters (e.g. `openssl rand -hex 24`)".into())
    }
}

/// A public URL: http or https, a plain host name, an optional path; no trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split('/').next().unwrap_or(""));
    match host {
        Some(host) if web::http::is_plain_host(host) => Ok(url.to_string()),
        _ => Err(format!(
            "\"{text}\" is not a public URL like https://peta.balikpapan.go.id"
        )),
    }
}

async fn backup(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let result = db::backup::backup(&db, file).await;
    db.close().await;
    println!("backed up {} to {}", result?, file.display());
    Ok(())
}

async fn restore(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    // A file that is not a backup is refused before the database is opened (or started).
    db::backup::check(file).await?;
    let db = open(settings).await?;
    let result = db::backup::restore(&db, file).await;
    db.close().await;
    println!("restored {} from {}", result?, file.display());
    Ok(())
}

/// The password of a new account: the first line of standard input (so that it appears in no
/// process list and no shell history), without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !password.is_empty(),
        "give the password on standard input, e.g. `printf '%s\\n' \"$PASSWORD\" | satupeta users add ...`"
    );
    Ok(password)
}

async fn tokens_command(pool: &sqlx::PgPool, command: TokensCommand) -> anyhow::Result<()> {
    match command {
        TokensCommand::Create { name, label } => {
            let token = accounts::create_token(pool, &name, &label, &Actor::command_line()).await?;
            eprintln!(
                "token {} for {name} (shown once; keep it secret):",
                token.id
            );
            println!("{}", token.secret);
        }
        TokensCommand::Revoke { id } => {
            accounts::revoke_token(pool, id, &Actor::command_line()).await?;
            println!("revoked token {id}");
        }
        TokensCommand::List { name } => {
            for t in accounts::tokens(pool, name.as_deref()).await? {
                println!(
                    "{}\t{}\t{}…\t{}\tcreated {}\tused {}\t{}",
                    t.id,
                    t.account,
                    t.prefix,
                    t.label,
                    t.created_at,
                    t.last_used_at.as_deref().unwrap_or("never"),
                    t.revoked_at
                        .map_or("active".to_string(), |r| format!("revoked {r}"))
                );
            }
        }
    }
    Ok(())
}

/// Records how long an operation took, for `/metrics`.
async fn record(db: &Database, kind: Operation, subject: &str, started: Instant, ok: bool) {
    satupeta::observe::record_operation(&db.pool, kind, subject, started, ok).await;
}

async fn open(settings: &Settings) -> anyhow::Result<Database> {
    Ok(Database::open(settings.database_url.as_deref(), &settings.data_dir).await?)
}

/// Becomes true on SIGTERM or SIGINT (the handlers are installed now).
fn stop_requested() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    let signal = shutdown_signal()?;
    let (tell, told) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = tell.send(true);
    });
    Ok(told)
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when the
/// future is first polled: a signal that arrives as soon as the server says it serves is caught.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}

/// `satupeta config check|example`.
fn config_command(command: ConfigCommand, file: Option<&Path>) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Example { set_data_dir } => {
            print!(
                "{}",
                config::file::example(&Cli::command(), set_data_dir.as_deref())
            );
            Ok(())
        }
        ConfigCommand::Check => config_check(file),
    }
}

/// `satupeta config check`: the file read as `serve` reads it, then what it names checked.
fn config_check(file: Option<&Path>) -> anyhow::Result<()> {
    use config::check::{self, Finding};
    let file = file.ok_or_else(|| {
        anyhow::anyhow!("name the file: satupeta --config FILE config check (or SATUPETA_CONFIG)")
    })?;
    let text = config::file::read_text(file)?;
    let args = vec![
        "satupeta".into(),
        "--config".into(),
        file.into(),
        "serve".into(),
    ];
    let args = config::file::apply(&Cli::command(), args)?.args;
    let cli = Cli::try_parse_from(&args).map_err(|e| {
        let message = e.to_string();
        let first = message
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        anyhow::anyhow!("{}: {first}", file.display())
    })?;
    let s = &cli.settings;
    let mut findings: Vec<Finding> = Vec::new();
    findings.extend(check::data_dir("data-dir", &s.data_dir));
    findings.extend(check::data_dir("tiles-dir", &s.tiles_dir()));
    if let Some(url) = &s.database_url {
        findings.extend(check::database_url("database-url", url));
    }
    for url in &s.database_read_url {
        findings.extend(check::database_url("database-read-url", url));
    }
    if let Command::Serve {
        smtp_url: Some(smtp_url),
        mail_from,
        ..
    } = &cli.command
    {
        let settings = satupeta::reports::mail::MailSettings {
            smtp_url: smtp_url.clone(),
            from: mail_from.clone(),
        };
        if let Err(e) = satupeta::reports::mail::Mailer::new(&settings) {
            findings.push(Finding::Error(format!("smtp-url: {e}")));
        }
    }
    findings.extend(check::secrets_readable(file, &text));
    let mut errors = 0;
    for finding in &findings {
        match finding {
            Finding::Error(e) => {
                errors += 1;
                eprintln!("error: {e}");
            }
            Finding::Warning(w) => eprintln!("warning: {w}"),
        }
    }
    anyhow::ensure!(errors == 0, "{}: {errors} error(s)", file.display());
    println!(
        "{}: ok (data in {}, {})",
        file.display(),
        s.data_dir.display(),
        match &s.database_url {
            Some(url) => format!("database {}", db::url::redact(url)),
            None => "embedded database".to_string(),
        }
    );
    Ok(())
}

/// `satupeta keys init|list`.
fn keys_command(settings: &satupeta::config::Settings, command: KeysCommand) -> anyhow::Result<()> {
    use satupeta::krk::keys;
    let dir = settings.keys_dir();
    match command {
        KeysCommand::Init {
            name,
            nip,
            position,
            on_behalf,
        } => {
            let signer = keys::SignerIdentity {
                name,
                nip,
                position,
                on_behalf,
            };
            let kid = keys::init(&dir, &signer)?;
            println!("key {kid} is current in {}", dir.display());
        }
        KeysCommand::List => {
            let keys = keys::Keys::load(&dir)?;
            for generation in keys.generations() {
                let kid = generation.kid();
                let current = kid == keys.current().kid();
                let mark = if current { " (current)" } else { "" };
                println!("{kid}{mark}  {}", generation.signer_identity().name);
            }
        }
    }
    Ok(())
}
