//! Every limit the server enforces, stated once. Handlers, middleware and error messages read their
//! numbers from [`LIMITS`]; `GET /api/v1/limits` publishes them, so clients can stay inside them.

use std::time::Duration;

use serde::Serialize;

/// The limits of the server: sizes of requests, work per request, and time.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    /// Bytes of a request body (a parcel as GeoJSON); larger bodies get 413.
    pub body_bytes: usize,
    /// Bytes of a request target (path and query); longer ones get 414.
    pub uri_bytes: usize,
    /// Bytes of all request header lines together; more get 431.
    pub header_bytes: usize,
    /// Number of request header fields; more get 431.
    pub header_count: usize,
    /// Vertices of a parcel polygon (all rings); more get 413.
    pub parcel_vertices: usize,
    /// Area of a parcel in hectares; larger parcels get 422.
    pub parcel_area_ha: f64,
    /// Degrees of longitude or latitude a parcel spans at most; wider ones get 422.
    pub parcel_span_deg: f64,
    /// Characters of an activity search (`q`); longer ones get 422.
    pub search_chars: usize,
    /// Words of an activity search (`q`); more get 422.
    pub search_words: usize,
    /// Hits an activity search returns at most (`limit`).
    pub search_hits: usize,
    /// Request bodies read and parsed at once (each at most `body_bytes`); more wait in line.
    pub body_concurrency: usize,
    /// Bytes per second a request body must arrive at, after its first second, once its turn
    /// comes; a slower one gets 408 (a slow sender holds a body slot no longer).
    pub body_min_rate: usize,
    /// Parcel computations and plan changes running in the database at once; more wait in line.
    pub parcel_concurrency: usize,
    /// CPU-heavy tasks (tile rendering) running at once on the blocking threads; more wait.
    pub cpu_concurrency: usize,
    /// Seconds a request may wait for a parcel or CPU slot before 503 with `Retry-After`.
    pub queue_wait_s: u64,
    /// Seconds a handler may run in all (reading the body included) before 503.
    pub request_s: u64,
    /// Seconds a database-bound request waits for a pooled connection before 503.
    pub db_acquire_s: u64,
    /// Seconds any statement of the server may run (PostgreSQL `statement_timeout`).
    pub statement_s: u64,
    /// Seconds a client has to send a request's header lines, also while a kept-alive connection
    /// waits for its next request; then the connection is closed.
    pub header_read_s: u64,
    /// Seconds a response may wait for a client that does not read it; then the connection closes.
    pub write_stall_s: u64,
    /// Connections served at once; further connections wait to be accepted.
    pub connections: usize,
    /// Connections one client address holds at once; more are closed (a reverse proxy in front
    /// counts as one client: raise it there).
    pub connections_per_client: usize,
    /// Seconds clients are told to wait (`Retry-After`) when the server or database is busy.
    pub retry_after_s: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_s: u64,
    /// City-plan certificate applications one client address may send in an hour (each server
    /// counts its own; behind a reverse proxy, the proxy is the address).
    pub krk_applications_per_hour: u32,
    /// Bytes of a report with its photos (multipart); larger ones get 413.
    pub report_bytes: usize,
    /// Report bodies (with photos) read at once, apart from the other bodies; more wait in line.
    pub report_concurrency: usize,
    /// Reports (and follows) one client address may send in a burst ...
    pub report_burst: u32,
    /// ... after which it may send one more every this many seconds (429 with `Retry-After`
    /// before); the operator may change both (`--report-rate BURST/SECONDS`).
    pub report_every_s: u64,
}

// A request waits for a slot, then for a connection, then runs one statement: the statement must
// end before the request does, so that nothing runs on after its request is gone.
const _: () =
    assert!(LIMITS.queue_wait_s + LIMITS.db_acquire_s + LIMITS.statement_s < LIMITS.request_s);

/// The limits in force.
pub const LIMITS: Limits = Limits {
    body_bytes: 512 * 1024,
    uri_bytes: 8 * 1024,
    header_bytes: 32 * 1024,
    header_count: 100,
    parcel_vertices: 5_000,
    parcel_area_ha: 2_500.0,
    parcel_span_deg: 0.5,
    search_chars: 200,
    search_words: 12,
    search_hits: 500,
    body_concurrency: 8,
    body_min_rate: 32 * 1024,
    parcel_concurrency: 4,
    cpu_concurrency: 4,
    queue_wait_s: 3,
    request_s: 15,
    db_acquire_s: 3,
    statement_s: 8,
    header_read_s: 10,
    write_stall_s: 30,
    connections: 4096,
    connections_per_client: 512,
    retry_after_s: 5,
    shutdown_grace_s: 10,
    krk_applications_per_hour: 30,
    report_bytes: 31 * 1024 * 1024,
    report_concurrency: 8,
    report_burst: 10,
    report_every_s: 30,
};

impl Limits {
    /// [`Limits::request_s`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_s)
    }

    /// [`Limits::db_acquire_s`] as a duration.
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.db_acquire_s)
    }

    /// [`Limits::queue_wait_s`] as a duration.
    pub fn queue_wait(&self) -> Duration {
        Duration::from_secs(self.queue_wait_s)
    }

    /// [`Limits::header_read_s`] as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_s)
    }

    /// [`Limits::write_stall_s`] as a duration.
    pub fn write_stall_timeout(&self) -> Duration {
        Duration::from_secs(self.write_stall_s)
    }

    /// [`Limits::shutdown_grace_s`] as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_s)
    }

    /// The body limit in words, e.g. "1 MiB".
    pub fn body_size_text(&self) -> String {
        bytes_text(self.body_bytes)
    }
}

/// A byte count in words: "1 MiB", "8 KiB", "512 bytes".
pub fn bytes_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes_text(1024 * 1024), "1 MiB");
        assert_eq!(bytes_text(8 * 1024), "8 KiB");
        assert_eq!(bytes_text(1500), "1500 bytes");
        assert_eq!(LIMITS.body_size_text(), "512 KiB");
    }
}
