//! Plan versions and zoning lookups: the in-memory index of every published plan, point lookups
//! answered from it, parcel lookups measured in PostGIS, and the plan catalogue.

mod attributes;
mod changes;
mod index;
mod live;
mod parcel;
#[cfg(test)]
mod parcel_props;
mod plans;
mod point;

pub use changes::{ChangesQuery, plan_changes};
pub use index::{PublishedFeature, VersionInfo, ZoningIndex, versions_in_force};
pub use live::{Live, Snapshot};
pub use parcel::{
    Limits, OutsidePart, ParcelAnswer, ParcelError, ParcelOptions, ParcelPart, ParcelRequest,
    RegulationOverlap, TOTALS_RULE, Totals, lookup_parcel,
};
pub use plans::{PlanVersion, list_versions};
pub(crate) use point::activity_answer;
pub use point::{
    ActivityAnswer, OverlapInfo, PRECEDENCE, PointAnswer, PointHead, Regulations, VersionChoice,
    VersionLookup, features_at, lookup_point, parse_day,
};

/// Errors of zoning lookups.
#[derive(Debug, thiserror::Error)]
pub enum ZoningError {
    /// Coordinates that are not WGS 84 degrees.
    #[error("coordinates lon={lon}, lat={lat} are not WGS 84 degrees (lon -180..180, lat -90..90)")]
    Coordinates {
        /// Longitude given.
        lon: f64,
        /// Latitude given.
        lat: f64,
    },
    /// No published plan covers the point.
    #[error("no published plan covers lon={lon}, lat={lat}")]
    NotCovered {
        /// Longitude asked.
        lon: f64,
        /// Latitude asked.
        lat: f64,
    },
    /// The code is not in KBLI 2020.
    #[error("\"{0}\" is not a KBLI 2020 code")]
    UnknownKbli(String),
    /// The ITBX matrix has no cell for the activity in the sub-zone.
    #[error("the ITBX matrix has no cell for {activity} in {subzone}")]
    NoItbxCell {
        /// The activity's name.
        activity: String,
        /// The sub-zone.
        subzone: String,
    },
    /// There is no such plan version.
    #[error("there is no plan version {0}")]
    UnknownVersion(i64),
    /// No version of any plan was in force on the day.
    #[error("no plan version was in force on {0}")]
    NoVersionInForce(String),
    /// A version to compare with whose plan rules none of the parcel.
    #[error(
        "version {version} to compare with is of plan \"{plan}\", which rules no part of this parcel"
    )]
    NotOnParcel {
        /// The version.
        version: i64,
        /// Its plan.
        plan: String,
    },
    /// A version of another plan than the one asked about.
    #[error("plan version {version} is not a version of plan {plan}")]
    NotOfPlan {
        /// The version.
        version: i64,
        /// The plan asked about.
        plan: i64,
    },
    /// A day that is not a calendar day written YYYY-MM-DD.
    #[error("\"{0}\" is not a day written YYYY-MM-DD")]
    BadDay(String),
    /// No plan version in force on the day covers the point.
    #[error("no plan version in force on {day} covers lon={lon}, lat={lat}")]
    NothingInForce {
        /// Longitude asked.
        lon: f64,
        /// Latitude asked.
        lat: f64,
        /// The day asked.
        day: String,
    },
    /// The parcel cannot be measured.
    #[error(transparent)]
    Parcel(#[from] ParcelError),
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The rules could not be read.
    #[error(transparent)]
    Rules(#[from] crate::rules::RulesError),
    /// A stored feature (its geometry or its JSON) could not be decoded.
    #[error("stored zoning feature {0} cannot be decoded")]
    StoredFeature(i64),
    /// Background work failed (a bug; the message says where).
    #[error("reading the plans: {0}")]
    Background(String),
}

/// Result alias of zoning lookups.
pub type Result<T> = std::result::Result<T, ZoningError>;
