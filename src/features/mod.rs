//! OGC API Features (Parts 1 to 4) over the catalog: every collection's items as GeoJSON pages
//! with keyset paging, in the CRSs of Part 2, filtered with CQL2 (Part 3), and edited by the
//! owning agency (Part 4). The standard's documents (landing page, conformance, collections,
//! queryables, OpenAPI) are in [`documents`].

pub mod cql;
#[cfg(test)]
mod cql_props;
pub mod crs;
pub mod documents;
pub mod edit;
pub mod items;
pub mod query;

/// The features' errors.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    /// A query parameter is unknown or invalid.
    #[error("{name}: {problem}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A parameter this server does not know.
    #[error("unknown query parameter \"{0}\"")]
    UnknownParameter(String),
    /// Something the standard allows that this server does not do.
    #[error("{0}")]
    Unsupported(String),
    /// No such feature.
    #[error("{0}")]
    NotFound(String),
    /// A feature sent to be stored is not valid.
    #[error("{0}")]
    InvalidFeature(String),
    /// `If-Match` names another version of the feature.
    #[error("the feature changed since it was read (its ETag is {0})")]
    Changed(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The audit log could not be written (the write it records is rolled back).
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
}

/// The features' result.
pub type Result<T> = std::result::Result<T, FeaturesError>;
