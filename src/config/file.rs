//! The configuration file (`--config satupeta.toml`, or `SATUPETA_CONFIG`): the command line's
//! long options as TOML keys, the global ones at the top and a command's own under its name
//! (`[serve]`). A value given on the command line or in the environment wins over the file's.
//!
//! The file becomes command-line arguments before clap reads them, so that every value is checked
//! by the same parser, with the same messages, as a flag's. Written by hand: clap reads no files,
//! and a layered-configuration crate would check the values a second, different way.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::Command;
use clap::builder::ArgAction;

/// The option that names the file.
pub const FLAG: &str = "--config";
/// The environment variable that names the file.
pub const ENV: &str = "SATUPETA_CONFIG";

/// What is wrong with a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It cannot be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// It is not TOML.
    #[error("{path}: not TOML: {error}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// Where and why.
        error: Box<toml::de::Error>,
    },
    /// A key or value is wrong.
    #[error("{path}: {message}")]
    Setting {
        /// The file.
        path: PathBuf,
        /// Which key, and what is wrong with it.
        message: String,
    },
    /// `--config` without a file.
    #[error("--config needs a file")]
    NoFile,
}

/// The arguments with the configuration file's settings added, when a file is named (by
/// `--config FILE` before the command, or `SATUPETA_CONFIG`); `--config` itself is removed.
pub fn apply(command: &Command, args: Vec<OsString>) -> Result<Applied, FileError> {
    let (file, mut args) = take_config_flag(args)?;
    let Some(file) = file.or_else(|| std::env::var_os(ENV).map(PathBuf::from)) else {
        return Ok(Applied { file: None, args });
    };
    let settings = read(&file)?;
    let (globals, section) = arguments(command, &file, &settings, &args)?;
    if let Some((name, extra)) = section {
        // Appended after the command's own arguments: clap takes options in any order.
        if subcommand_position(command, &args).is_some_and(|(n, _)| n == name) {
            args.extend(extra);
        }
    }
    args.splice(1..1, globals);
    Ok(Applied {
        file: Some(file),
        args,
    })
}

/// The arguments with a configuration file's settings.
#[derive(Debug)]
pub struct Applied {
    /// The file, when one was named.
    pub file: Option<PathBuf>,
    /// The arguments for clap.
    pub args: Vec<OsString>,
}

/// The file named by `--config FILE` or `--config=FILE`, and the arguments without it.
fn take_config_flag(args: Vec<OsString>) -> Result<(Option<PathBuf>, Vec<OsString>), FileError> {
    let mut out = Vec::with_capacity(args.len());
    let mut file = None;
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(iter.by_ref());
            break;
        }
        if arg == FLAG {
            file = Some(PathBuf::from(iter.next().ok_or(FileError::NoFile)?));
        } else if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            file = Some(PathBuf::from(path));
        } else {
            out.push(arg);
        }
    }
    Ok((file, out))
}

/// Reads and parses the file.
pub fn read(path: &Path) -> Result<toml::Table, FileError> {
    let text = read_text(path)?;
    text.parse::<toml::Table>()
        .map_err(|error| FileError::Toml {
            path: path.to_path_buf(),
            error: Box::new(error),
        })
}

/// Bytes a configuration file may have: a file larger (or `/dev/zero`) is refused unread.
const MAX_BYTES: u64 = 1024 * 1024;

/// The file's text, if it is at most [`MAX_BYTES`].
pub fn read_text(path: &Path) -> Result<String, FileError> {
    read_bounded(path).map_err(|error| FileError::Read {
        path: path.to_path_buf(),
        error,
    })
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_BYTES {
        return Err(std::io::Error::other(
            "larger than 1 MiB: not a configuration file",
        ));
    }
    Ok(text)
}

/// The file's global settings as arguments, and its sections' (by command name), except those
/// the command line or the environment already give.
#[allow(clippy::type_complexity)]
fn arguments(
    command: &Command,
    path: &Path,
    settings: &toml::Table,
    given: &[OsString],
) -> Result<(Vec<OsString>, Option<(String, Vec<OsString>)>), FileError> {
    let wrong = |message: String| FileError::Setting {
        path: path.to_path_buf(),
        message,
    };
    let mut globals = Vec::new();
    let mut section = None;
    let current = subcommand_position(command, given).map(|(name, _)| name);
    for (key, value) in settings {
        if let toml::Value::Table(table) = value {
            let sub = command
                .find_subcommand(key)
                .filter(|s| s.get_subcommands().next().is_none())
                .ok_or_else(|| {
                    wrong(format!(
                        "[{key}] is not a command whose options a file can set (e.g. [serve])"
                    ))
                })?;
            let mut extra = Vec::new();
            for (k, v) in table {
                let arg = option(sub, k)
                    .ok_or_else(|| wrong(unknown(&format!("[{key}] {k}"), k, sub, false)))?;
                if !overridden(arg, given) {
                    extra.extend(values(arg, v).map_err(|m| wrong(format!("[{key}] {k}: {m}")))?);
                }
            }
            if current.as_deref() == Some(key) {
                section = Some((key.clone(), extra));
            }
            continue;
        }
        let arg = option(command, key)
            .filter(|a| a.is_global_set())
            .ok_or_else(|| wrong(unknown(key, key, command, true)))?;
        if !overridden(arg, given) {
            globals.extend(values(arg, value).map_err(|m| wrong(format!("{key}: {m}")))?);
        }
    }
    Ok((globals, section))
}

/// The long option `key` of `command` (not `help`, `version` or `config`).
fn option<'a>(command: &'a Command, key: &str) -> Option<&'a clap::Arg> {
    command
        .get_arguments()
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
        .find(|a| a.get_long() == Some(key))
}

/// An unknown key's message, with the known keys.
fn unknown(shown: &str, key: &str, command: &Command, globals: bool) -> String {
    let known: Vec<&str> = command
        .get_arguments()
        .filter(|a| a.is_global_set() == globals || !globals)
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
        .filter_map(|a| a.get_long())
        .collect();
    let near = known
        .iter()
        .find(|k| k.starts_with(key.get(..3.min(key.len())).unwrap_or(key)));
    match near {
        Some(near) => format!("unknown setting `{shown}` (did you mean `{near}`?)"),
        None => format!("unknown setting `{shown}` (known: {})", known.join(", ")),
    }
}

/// Whether the command line or the environment gives `arg` already.
fn overridden(arg: &clap::Arg, given: &[OsString]) -> bool {
    let long = format!("--{}", arg.get_long().unwrap_or_default());
    let on_line = given.iter().any(|a| {
        a == OsStr::new(&long)
            || a.to_str().is_some_and(|a| {
                a.strip_prefix(long.as_str())
                    .is_some_and(|r| r.starts_with('='))
            })
    });
    on_line
        || arg
            .get_env()
            .is_some_and(|env| std::env::var_os(env).is_some())
}

/// A setting's value as arguments.
fn values(arg: &clap::Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let long = arg.get_long().unwrap_or_default();
    let takes_value = arg.get_action().takes_values();
    let scalar = |v: &toml::Value| -> Result<String, String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            other => Err(format!(
                "a {} cannot be this setting's value",
                other.type_str()
            )),
        }
    };
    match (value, takes_value) {
        (toml::Value::Boolean(on), false) => Ok(if *on {
            vec![OsString::from(format!("--{long}"))]
        } else {
            Vec::new()
        }),
        (_, false) => Err("this switch takes true or false".into()),
        (toml::Value::Array(items), true) => items
            .iter()
            .map(|v| scalar(v).map(|s| OsString::from(format!("--{long}={s}"))))
            .collect(),
        (v, true) => Ok(vec![OsString::from(format!("--{long}={}", scalar(v)?))]),
    }
}

/// The first subcommand named in `args`, and where.
fn subcommand_position(command: &Command, args: &[OsString]) -> Option<(String, usize)> {
    args.iter().enumerate().skip(1).find_map(|(i, a)| {
        let name = a.to_str()?;
        command.find_subcommand(name).map(|_| (name.to_string(), i))
    })
}

/// A documented configuration file: every global option and those of `[serve]`, each with its
/// help, environment variable and default, commented out except `data_dir` when given.
pub fn example(command: &Command, data_dir: Option<&str>) -> String {
    let mut out = String::from(
        "# satupeta configuration: `satupeta --config FILE serve`; check it with\n\
         # `satupeta --config FILE config check`. Keys are the command line's long options; a value\n\
         # given on the command line or in the environment wins over the file's.\n\n",
    );
    let globals: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .collect();
    for arg in globals {
        document(
            &mut out,
            arg,
            data_dir.filter(|_| arg.get_long() == Some("data-dir")),
        );
    }
    if let Some(serve) = command.find_subcommand("serve") {
        out.push_str("[serve]\n");
        for arg in serve.get_arguments().filter(|a| !a.is_hide_set()) {
            if matches!(arg.get_action(), ArgAction::Help | ArgAction::Version) {
                continue;
            }
            document(&mut out, arg, None);
        }
    }
    out
}

/// One documented key.
fn document(out: &mut String, arg: &clap::Arg, value: Option<&str>) {
    let Some(long) = arg.get_long() else { return };
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    for line in wrap(&help, 96) {
        out.push_str(&format!("# {line}\n"));
    }
    if let Some(env) = arg.get_env() {
        out.push_str(&format!("# Environment: {}\n", env.to_string_lossy()));
    }
    let default: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let shown = match (value, default.first()) {
        (Some(v), _) => format!("{long} = {}\n\n", toml_string(v)),
        (None, Some(d)) if arg.get_action().takes_values() => {
            format!("# {long} = {}\n\n", toml_value(d))
        }
        (None, _) if !arg.get_action().takes_values() => format!("# {long} = false\n\n"),
        (None, _) => format!("# {long} = \"\"\n\n"),
    };
    out.push_str(&shown);
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A default as TOML: a number stays a number.
fn toml_value(text: &str) -> String {
    if text.parse::<i64>().is_ok() || text.parse::<f64>().is_ok_and(f64::is_finite) {
        text.to_string()
    } else {
        toml_string(text)
    }
}

/// `text` in lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
