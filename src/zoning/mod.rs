//! Plan versions and zoning lookups: the in-memory index of every published plan, point lookups
//! answered from it, parcel lookups measured in PostGIS, and the plan catalogue.

mod index;
mod live;
mod lookup;
mod plans;

pub use index::{PublishedFeature, ZoningIndex};
pub use live::{Live, Snapshot};
pub use lookup::{
    ParcelAnswer, ParcelRequest, PointAnswer, features_at, lookup_parcel, lookup_point,
    lookup_point_in_version,
};
pub use plans::{PlanVersion, list_versions};

/// Errors of zoning lookups.
#[derive(Debug, thiserror::Error)]
pub enum ZoningError {
    /// The request is malformed; the message names the problem.
    #[error("{0}")]
    BadRequest(String),
    /// Nothing was found; the message says what.
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The rules could not be read.
    #[error(transparent)]
    Rules(#[from] crate::rules::RulesError),
    /// A stored feature (its geometry or its JSON) could not be decoded.
    #[error("stored zoning feature {0} cannot be decoded")]
    StoredFeature(i64),
}

/// Result alias of zoning lookups.
pub type Result<T> = std::result::Result<T, ZoningError>;
