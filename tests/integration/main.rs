//! Integration tests against a real PostGIS cluster started by the harness.

mod accounts;
mod api;
mod backup;
mod browser;
mod cli;
mod clients;
mod cluster;
mod conformance;
mod fixtures;
mod fuzz;
mod hardening;
mod harness;
mod import;
mod krk;
mod lookups;
mod node;
mod operations;
mod properties;
mod regulations;
mod reports;
mod rules;
mod tiles;
