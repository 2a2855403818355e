//! Discovery metadata: the catalog's [`MetadataRecord`](crate::catalog::MetadataRecord)s published
//! as OGC API – Records, ISO 19139 XML and CSW 2.0.2. Everything here is pure: the caller passes the
//! records it may show (public ones only, unless the reader is signed in) and the base URL
//! (`https://peta.balikpapan.go.id`, no trailing slash); nothing reads a database or holds state.
//! Filtering happens in memory (the catalog holds a few thousand records at most).
//!
//! Implemented:
//! - [`search`]: the Records core query parameters `q` (commas = OR, spaces = phrase), `bbox`
//!   (CRS84, 4 or 6 numbers), `datetime` (instant or interval, `..` open), `type`, `ids`,
//!   `externalIds`, `limit` (1..=1000, default 10, larger values clamped), `offset`, `f`.
//! - [`ogc`]: OGC API – Records 1.0 record-core, record-collection, record-core-query-parameters and
//!   JSON (GeoJSON records, the `catalog` collection, its items with `numberMatched`,
//!   `numberReturned`, `next`/`prev`, and its queryables).
//! - [`iso19139`]: a complete `gmd:MD_Metadata` document per dataset (ISO 19115:2003 core / SNI
//!   8843-1 fields).
//! - [`csw`]: CSW 2.0.2 discovery (GetCapabilities, DescribeRecord, GetRecords, GetRecordById) in
//!   KVP and XML POST, output schemas Dublin Core (`csw:Record`, brief/summary/full) and ISO 19139,
//!   constraints in a CQL_TEXT subset and OGC Filter Encoding 1.1, and `ows:ExceptionReport`s.
//!
//! Not implemented: sorting (`sortby`, `ogc:SortBy` are ignored by CSW and rejected by Records),
//! CQL2 `filter` in Records, HTML rendering (the caller's), CSW Transaction/Harvest, distributed
//! search, `ResponseHandler`, `ElementName` projections, trimmed ISO brief/summary sets (ISO output
//! is always the full document), temporal CSW filters, and any CRS other than CRS84/EPSG:4326.

pub mod csw;
pub mod iso19139;
pub mod ogc;
pub mod search;
mod xml;

pub use csw::{CswRequest, exception_report, request_from_kvp, request_from_xml, respond};
pub use search::RecordQuery;

/// What went wrong while reading a request for records; each variant says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    /// A Records query parameter has a value that cannot be used.
    #[error("parameter {name}: {problem}")]
    InvalidParameter {
        /// The parameter, as given.
        name: String,
        /// What is wrong with its value.
        problem: String,
    },
    /// A Records query parameter this API does not know.
    #[error("unknown parameter {0}")]
    UnknownParameter(String),
    /// A CSW request that cannot be answered, as an OWS exception.
    #[error("{code} ({locator}): {text}")]
    Csw {
        /// The OWS exception code: `MissingParameterValue`, `InvalidParameterValue`,
        /// `OperationNotSupported`, `VersionNegotiationFailed` or `NoApplicableCode`.
        code: &'static str,
        /// The parameter or element at fault.
        locator: String,
        /// What is wrong, for a person.
        text: String,
    },
}

/// The result of reading a request for records.
pub type Result<T> = std::result::Result<T, RecordsError>;

impl RecordsError {
    /// An invalid Records parameter.
    pub(crate) fn invalid(name: &str, problem: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.to_owned(),
            problem: problem.into(),
        }
    }

    /// A CSW exception.
    pub(crate) fn csw(code: &'static str, locator: &str, text: impl Into<String>) -> Self {
        Self::Csw {
            code,
            locator: locator.to_owned(),
            text: text.into(),
        }
    }
}
