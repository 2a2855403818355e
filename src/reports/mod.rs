//! Reports of zoning and building violations (Open311 GeoReport v2 and the citizen map). So far:
//! the workflow a report follows ([`workflow`]): its states and transitions, their Open311 status,
//! and the SP4N-LAPOR! deadlines in working days; its photos as they are kept ([`photos`]):
//! upright, scaled, without metadata, with a thumbnail; and Open311's services and formats
//! ([`open311`]).

pub mod open311;
pub mod photos;
pub mod workflow;
