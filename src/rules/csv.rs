//! CSV plumbing of the rule and reference tables: records read by column name, with their file
//! and line, and problems collected so that a table reports all of them at once.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{Result, RulesError};

/// Collected problems, each naming its file and row.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<String>);

impl Errors {
    /// A problem of one row.
    pub(super) fn push(&mut self, row: &Row, message: impl std::fmt::Display) {
        self.0.push(format!("{}:{}: {message}", row.file, row.line));
    }

    /// A problem of a whole table.
    pub(super) fn table(&mut self, file: &str, message: impl std::fmt::Display) {
        self.0.push(format!("{file}: {message}"));
    }
}

/// One CSV record with its header, for reading fields by name.
pub(super) struct Row {
    pub(super) file: String,
    pub(super) line: u64,
    fields: HashMap<String, String>,
    /// The raw values in column order (the ITBX matrix reads its columns by position).
    pub(super) values: Vec<String>,
}

impl Row {
    /// The trimmed value of `column` ("" when absent).
    pub(super) fn get(&self, column: &str) -> &str {
        self.fields.get(column).map(|s| s.trim()).unwrap_or("")
    }

    /// The value of `column`, which must not be empty.
    pub(super) fn required(&self, column: &str, errors: &mut Errors) -> Option<String> {
        let value = self.get(column);
        if value.is_empty() {
            errors.push(self, format!("`{column}` is empty"));
            None
        } else {
            Some(value.to_string())
        }
    }

    /// A number within `range`.
    pub(super) fn number(
        &self,
        column: &str,
        range: (f64, f64),
        errors: &mut Errors,
    ) -> Option<f64> {
        let text = self.get(column);
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= range.0 && v <= range.1 => Some(v),
            Ok(v) => {
                errors.push(
                    self,
                    format!("`{column}` is {v}, outside {}..{}", range.0, range.1),
                );
                None
            }
            Err(_) => {
                errors.push(self, format!("`{column}` is \"{text}\", not a number"));
                None
            }
        }
    }

    /// A whole number from 0 to `max`.
    pub(super) fn count(&self, column: &str, max: i32, errors: &mut Errors) -> Option<i32> {
        let value = self.number(column, (0.0, f64::from(max)), errors)?;
        if value.fract() == 0.0 {
            Some(value as i32)
        } else {
            errors.push(self, format!("`{column}` is {value}, not a whole number"));
            None
        }
    }

    /// A number of 0 or more, or nothing when the cell is empty.
    pub(super) fn optional_number(&self, column: &str, errors: &mut Errors) -> Option<Option<f64>> {
        if self.get(column).is_empty() {
            Some(None)
        } else {
            self.number(column, (0.0, f64::MAX), errors).map(Some)
        }
    }
}

/// The header and rows of a CSV file.
pub(super) struct Table {
    pub(super) file: String,
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<Row>,
}

/// Reads a CSV file.
pub(super) fn read_file(path: &Path) -> Result<Table> {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let read_error = |message: String| RulesError::Read {
        path: path.display().to_string(),
        message,
    };
    let reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| read_error(e.to_string()))?;
    read(reader, file).map_err(|e| read_error(e.to_string()))
}

/// Reads CSV text named `file` (a table compiled into the binary).
pub(super) fn read_text(file: &str, text: &str) -> Result<Table> {
    let reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    read(reader, file.to_string()).map_err(|e| RulesError::Read {
        path: file.to_string(),
        message: e.to_string(),
    })
}

fn read<R: std::io::Read>(
    mut reader: csv::Reader<R>,
    file: String,
) -> std::result::Result<Table, csv::Error> {
    let header: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let values: Vec<String> = record.iter().map(str::to_string).collect();
        let fields = header.iter().cloned().zip(values.iter().cloned()).collect();
        rows.push(Row {
            file: file.clone(),
            line,
            fields,
            values,
        });
    }
    Ok(Table { file, header, rows })
}

/// Reports a key seen twice in one table.
pub(super) fn check_unique<'a>(
    seen: &mut HashSet<String>,
    key: &'a str,
    row: &Row,
    what: &str,
    errors: &mut Errors,
) -> Option<&'a str> {
    if seen.insert(key.to_string()) {
        Some(key)
    } else {
        errors.push(row, format!("duplicate {what} \"{key}\""));
        None
    }
}
