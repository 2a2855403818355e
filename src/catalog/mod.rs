//! The catalog of the network node: every collection the node publishes (the zoning plan, the
//! administrative boundaries and the datasets of agencies), with who may read and write it and
//! its metadata. Tiles, features and records all read it.

pub mod metadata;

pub use metadata::{Contact, Metadata, MetadataRecord};
