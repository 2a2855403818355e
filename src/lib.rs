//! satupeta: the "One Map One Data" spatial-planning server of Balikpapan.
//!
//! Data flows one way: files -> [`ingest`] -> PostGIS ([`db`]) -> [`zoning`] lookups -> [`web`].
//! [`rules`] holds the land-use and intensity tables every step reads; [`demo`] generates a
//! synthetic plan for trying it all out.

pub mod accounts;
pub mod bench;
pub mod calendar;
pub mod catalog;
pub mod config;
pub mod cpu;
pub mod db;
pub mod demo;
pub mod features;
pub mod geometry;
pub mod ingest;
pub mod krk;
pub mod limits;
pub mod observe;
pub mod places;
pub mod records;
pub mod reference;
pub mod reports;
pub mod rules;
pub mod tiles;
pub mod web;
pub mod zoning;
