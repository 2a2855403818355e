//! Reports of zoning and building violations, from the citizen map and any Open311 GeoReport v2
//! client, followed to their resolution.
//!
//! - [`workflow`]: a report's states and transitions, their Open311 status, and the SP4N-LAPOR!
//!   deadlines in working days ([`crate::calendar`]).
//! - [`open311`]: the services a report is filed under, their extra attributes, and the two formats
//!   of every Open311 answer.
//! - [`photos`]: photos as kept (upright, scaled, without metadata, with a thumbnail).
//! - [`areas`]: the kecamatan a report is routed to (an in-memory index of the admin areas).
//! - [`enrich`]: what the plan in force says at the reported point.
//! - [`store`]: submitting (all or nothing), reading (public and staff views), duplicates nearby,
//!   following, status changes with their record and the mail they cause.
//! - [`mail`]: the outbox, sent to the configured SMTP server by a background task.
//! - [`apikeys`]: the Open311 client applications' keys.
//! - [`tiles`]: the reports as vector tiles (public pins, and the staff's layer).

pub mod apikeys;
pub mod areas;
pub mod enrich;
pub mod mail;
pub mod open311;
pub mod photos;
pub mod store;
pub mod tiles;
pub mod workflow;

use chrono::{FixedOffset, NaiveDate, Utc};

pub use store::{
    Contact, NewReport, PublicReport, Reports, Source, StaffReport, StatusChange, Submitted,
};

/// Why a report could not be taken, read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A field is missing or wrong (the message names it).
    #[error("{0}")]
    Input(String),
    /// The service code is not one of the city's.
    #[error("there is no service \"{0}\"; GET /open311/v2/services.json lists them")]
    UnknownService(String),
    /// The point is in none of the city's kelurahan.
    #[error(
        "the point ({lon}, {lat}) is outside Balikpapan: reports are taken for points in the city"
    )]
    OutsideCity {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
    /// A photo was refused.
    #[error("photo {n}: {source}")]
    Photo {
        /// Its place among the request's photos (from 1).
        n: usize,
        /// Why.
        source: photos::PhotoError,
    },
    /// No such report (or not one the caller may see).
    #[error("there is no report {0}")]
    Unknown(String),
    /// The workflow does not allow the transition.
    #[error(transparent)]
    Illegal(#[from] workflow::Illegal),
    /// The photo work found no CPU slot.
    #[error(transparent)]
    Cpu(#[from] crate::cpu::CpuError),
    /// The holiday table could not be read.
    #[error(transparent)]
    Holidays(#[from] crate::calendar::HolidayError),
}

/// A `Result` of this module.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Whether XML 1.0 can carry `c` (its `Char` production: tab, line breaks, and everything from
/// U+0020 but U+FFFE and U+FFFF; Rust's `char` has no surrogates).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Whether a citizen's or staff member's text may hold `c`: no control character (line breaks and
/// tabs only where `lines`), no noncharacter (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF), so that every
/// answer, XML included, carries it; and no U+FFFD, which stands for bytes that were not UTF-8.
pub fn text_char(c: char, lines: bool) -> bool {
    let noncharacter = ('\u{FDD0}'..='\u{FDEF}').contains(&c) || (c as u32 & 0xFFFE) == 0xFFFE;
    // What a decoder puts for bytes that were not UTF-8: the text was broken on its way.
    let replacement = c == '\u{FFFD}';
    let control = c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t'));
    !noncharacter && !replacement && !control && xml_char(c)
}

/// Balikpapan's time zone (WITA, UTC+8): deadlines count its days.
pub fn wita() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Today in Balikpapan.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&wita()).date_naive()
}
