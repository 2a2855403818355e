//! The OGC API – Records core query parameters (`q`, `bbox`, `datetime`, `type`, `ids`,
//! `externalIds`, `limit`, `offset`, and `f`), read from a query string and applied to the catalog
//! in memory. Unknown parameters and invalid values are errors (a 400 for the caller).

use chrono::{DateTime, NaiveDate};

use super::{RecordsError, Result};
use crate::catalog::MetadataRecord;

/// The default page size.
pub const DEFAULT_LIMIT: usize = 10;
/// The largest page; larger `limit`s are clamped to it, as OGC API – Features asks.
pub const MAX_LIMIT: usize = 1000;
/// The only record type in the catalog.
pub const RECORD_TYPE: &str = "dataset";

/// The representation asked for with `f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GeoJSON (the default).
    Json,
    /// A web page.
    Html,
}

impl Format {
    /// The value of `f`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Html => "html",
        }
    }
}

/// A time range in seconds since 1970 (UTC), both ends included; `None` is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRange {
    /// The `datetime` value as given.
    pub text: String,
    /// The first second.
    pub start: Option<i64>,
    /// The last second.
    pub end: Option<i64>,
}

/// A search of the catalog, as given in the query string.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordQuery {
    /// Alternatives (commas in `q`), each a lower-case phrase of words separated by one space.
    pub q: Vec<String>,
    /// West, south, east, north in CRS84.
    pub bbox: Option<[f64; 4]>,
    /// The time the record's reference date or update must touch.
    pub datetime: Option<TimeRange>,
    /// Record types, any of which matches.
    pub types: Option<Vec<String>>,
    /// Record ids, any of which matches (an empty list matches nothing).
    pub ids: Option<Vec<String>>,
    /// External ids: the catalog's records carry none, so any list matches nothing.
    pub external_ids: Option<Vec<String>>,
    /// The page size.
    pub limit: usize,
    /// Records skipped before the page.
    pub offset: usize,
    /// The representation asked for, if any.
    pub format: Option<Format>,
}

impl Default for RecordQuery {
    fn default() -> Self {
        Self {
            q: Vec::new(),
            bbox: None,
            datetime: None,
            types: None,
            ids: None,
            external_ids: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
            format: None,
        }
    }
}

impl RecordQuery {
    /// Reads the query pairs; each parameter at most once.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self> {
        let mut query = Self::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            if seen.contains(&name.as_str()) {
                return Err(RecordsError::invalid(name, "is given more than once"));
            }
            seen.push(name);
            query.set(name, value)?;
        }
        Ok(query)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "q" => self.q = phrases(value),
            "bbox" => self.bbox = Some(bbox(value)?),
            "datetime" => self.datetime = Some(time_range(value)?),
            "type" => self.types = Some(list(value)),
            "ids" => self.ids = Some(list(value)),
            "externalIds" => self.external_ids = Some(list(value)),
            "limit" => self.limit = limit(value)?,
            "offset" => self.offset = number(name, value)?,
            "f" => self.format = Some(format(value)?),
            _ => return Err(RecordsError::UnknownParameter(name.to_owned())),
        }
        Ok(())
    }

    /// Whether a record satisfies every parameter given.
    pub fn matches(&self, record: &MetadataRecord) -> bool {
        self.matches_text(record)
            && self
                .bbox
                .is_none_or(|b| record.extent.is_some_and(|e| intersects(&b, &e)))
            && self.datetime.as_ref().is_none_or(|t| touches(t, record))
            && self
                .types
                .as_ref()
                .is_none_or(|t| t.iter().any(|t| t == RECORD_TYPE))
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&record.id))
            && self.external_ids.is_none()
    }

    fn matches_text(&self, record: &MetadataRecord) -> bool {
        if self.q.is_empty() {
            return true;
        }
        let fields = text_fields(record);
        self.q
            .iter()
            .any(|phrase| fields.iter().any(|f| f.contains(phrase.as_str())))
    }

    /// The page of matching records and how many match in all.
    pub fn apply<'a>(&self, records: &'a [MetadataRecord]) -> (Vec<&'a MetadataRecord>, usize) {
        let matched: Vec<&MetadataRecord> = records.iter().filter(|r| self.matches(r)).collect();
        let total = matched.len();
        let page = matched
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        (page, total)
    }

    /// The query string of this search at another offset, percent-encoded, without `?`.
    pub fn to_query_string(&self, offset: usize) -> String {
        let mut parts = Vec::new();
        let mut add = |name: &str, value: String| {
            parts.push(format!("{name}={}", percent_encode(&value)));
        };
        if !self.q.is_empty() {
            add("q", self.q.join(","));
        }
        if let Some(b) = self.bbox {
            add("bbox", format!("{},{},{},{}", b[0], b[1], b[2], b[3]));
        }
        if let Some(t) = &self.datetime {
            add("datetime", t.text.clone());
        }
        for (name, list) in [
            ("type", &self.types),
            ("ids", &self.ids),
            ("externalIds", &self.external_ids),
        ] {
            if let Some(list) = list {
                add(name, list.join(","));
            }
        }
        add("limit", self.limit.to_string());
        add("offset", offset.to_string());
        if let Some(f) = self.format {
            add("f", f.as_str().to_owned());
        }
        parts.join("&")
    }
}

/// The searched text of a record, each field lower-case with single spaces.
fn text_fields(record: &MetadataRecord) -> Vec<String> {
    let m = &record.metadata;
    let mut fields = vec![
        normalise(&m.title),
        normalise(&m.abstract_text),
        normalise(&record.agency_name),
        normalise(&m.topic_category),
    ];
    fields.extend(m.keywords.iter().map(|k| normalise(k)));
    fields
}

/// Lower case, words separated by one space.
pub(crate) fn normalise(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn phrases(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(normalise)
        .filter(|p| !p.is_empty())
        .collect()
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn number(name: &str, value: &str) -> Result<usize> {
    value
        .trim()
        .parse()
        .map_err(|_| RecordsError::invalid(name, format!("`{value}` is not a whole number ≥ 0")))
}

/// At least 1; above [`MAX_LIMIT`] clamped.
fn limit(value: &str) -> Result<usize> {
    match number("limit", value)? {
        0 => Err(RecordsError::invalid("limit", "must be at least 1")),
        n => Ok(n.min(MAX_LIMIT)),
    }
}

fn format(value: &str) -> Result<Format> {
    match value {
        "json" => Ok(Format::Json),
        "html" => Ok(Format::Html),
        _ => Err(RecordsError::invalid("f", "must be json or html")),
    }
}

/// `w,s,e,n` or `w,s,zmin,e,n,zmax` in CRS84.
pub(crate) fn bbox(value: &str) -> Result<[f64; 4]> {
    let numbers = value
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| RecordsError::invalid("bbox", "must be numbers separated by commas"))?;
    let b = match numbers[..] {
        [w, s, e, n] | [w, s, _, e, n, _] => [w, s, e, n],
        _ => return Err(RecordsError::invalid("bbox", "must have 4 or 6 numbers")),
    };
    check_bbox(b).map_err(|problem| RecordsError::invalid("bbox", problem))
}

/// A bounding box in range with its south below its north.
pub(crate) fn check_bbox(b: [f64; 4]) -> std::result::Result<[f64; 4], String> {
    let [w, s, e, n] = b;
    if [w, e].iter().any(|x| !(-180.0..=180.0).contains(x))
        || [s, n].iter().any(|y| !(-90.0..=90.0).contains(y))
    {
        return Err("longitudes must be within ±180 and latitudes within ±90".into());
    }
    if s > n {
        return Err("the south edge is north of the north edge".into());
    }
    Ok(b)
}

/// Whether a box (which may cross the antimeridian, west > east) meets a record's extent.
pub(crate) fn intersects(query: &[f64; 4], extent: &[f64; 4]) -> bool {
    let [w, s, e, n] = *query;
    let [ew, es, ee, en] = *extent;
    let lat = es <= n && en >= s;
    let lon = if w <= e {
        ew <= e && ee >= w
    } else {
        ee >= w || ew <= e
    };
    lat && lon
}

/// An instant (`2025-06-01`, `2025-06-01T08:00:00Z`) or interval (`a/b`, `..` or empty open).
fn time_range(value: &str) -> Result<TimeRange> {
    let bad = |problem: &str| RecordsError::invalid("datetime", problem);
    let (start, end) = match value.split_once('/') {
        None if value == ".." || value.is_empty() => {
            return Err(bad("an instant cannot be open"));
        }
        None => {
            let (a, b) = instant(value).ok_or_else(|| bad("is not an RFC 3339 date or time"))?;
            (Some(a), Some(b))
        }
        Some((a, b)) => {
            let first = bound(a).map_err(|()| bad("the start is not an RFC 3339 date or time"))?;
            let last = bound(b).map_err(|()| bad("the end is not an RFC 3339 date or time"))?;
            (first.map(|(s, _)| s), last.map(|(_, e)| e))
        }
    };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(bad("the interval ends before it starts"));
    }
    Ok(TimeRange {
        text: value.to_owned(),
        start,
        end,
    })
}

fn bound(text: &str) -> std::result::Result<Option<(i64, i64)>, ()> {
    if text.is_empty() || text == ".." {
        return Ok(None);
    }
    instant(text).map(Some).ok_or(())
}

/// The first and last second of a date, or a timestamp's second twice.
pub(crate) fn instant(text: &str) -> Option<(i64, i64)> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
        return Some((start, start + 86_399));
    }
    let t = DateTime::parse_from_rfc3339(text).ok()?.timestamp();
    Some((t, t))
}

/// Whether the record's reference date or its last update falls in the range.
fn touches(range: &TimeRange, record: &MetadataRecord) -> bool {
    let overlaps =
        |(a, b): (i64, i64)| range.start.is_none_or(|s| b >= s) && range.end.is_none_or(|e| a <= e);
    [
        instant(&record.metadata.reference_date),
        instant(&record.updated),
    ]
    .into_iter()
    .flatten()
    .any(overlaps)
}

/// Percent-encodes everything but the URL's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::{Contact, Metadata};

    /// A record for tests in this module and its siblings.
    pub(crate) fn record(id: &str, title: &str) -> MetadataRecord {
        MetadataRecord {
            id: id.into(),
            metadata: Metadata {
                title: title.into(),
                abstract_text: "Lokasi pusat kesehatan masyarakat di Balikpapan.".into(),
                topic_category: "health".into(),
                keywords: vec!["kesehatan".into(), "fasilitas umum".into()],
                contact: Contact {
                    individual: Some("Seksi Data".into()),
                    email: "dinkes@balikpapan.go.id".into(),
                    phone: Some("0542-123456".into()),
                },
                lineage: "Survei lapangan 2025.".into(),
                licence: "CC-BY-4.0".into(),
                update_frequency: "annually".into(),
                reference_date: "2025-06-01".into(),
                reference_date_type: "publication".into(),
                language: "ind".into(),
            },
            agency: "DINKES".into(),
            agency_name: "Dinas Kesehatan".into(),
            extent: Some([116.8, -1.3, 117.0, -1.1]),
            crs: "EPSG:4326".into(),
            geometry_type: Some("Point".into()),
            features: 42,
            updated: "2025-07-01T08:00:00+08:00".into(),
            public: true,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn query(list: &[(&str, &str)]) -> RecordQuery {
        RecordQuery::parse(&pairs(list)).unwrap()
    }

    fn error(list: &[(&str, &str)]) -> RecordsError {
        RecordQuery::parse(&pairs(list)).unwrap_err()
    }

    #[test]
    fn defaults_and_limits() {
        let q = query(&[]);
        assert_eq!((q.limit, q.offset), (DEFAULT_LIMIT, 0));
        assert_eq!(query(&[("limit", "5000")]).limit, MAX_LIMIT);
        assert_eq!(query(&[("limit", "7"), ("offset", "3")]).offset, 3);
        assert!(matches!(
            error(&[("limit", "0")]),
            RecordsError::InvalidParameter { name, .. } if name == "limit"
        ));
        assert!(matches!(
            error(&[("limit", "unlimited")]),
            RecordsError::InvalidParameter { .. }
        ));
        assert!(matches!(
            error(&[("offset", "-1")]),
            RecordsError::InvalidParameter { .. }
        ));
        assert_eq!(query(&[("f", "html")]).format, Some(Format::Html));
        assert!(matches!(
            error(&[("f", "xml")]),
            RecordsError::InvalidParameter { .. }
        ));
    }

    #[test]
    fn unknown_and_repeated_parameters_are_errors() {
        assert_eq!(
            error(&[("unknownQueryParameter", "x")]),
            RecordsError::UnknownParameter("unknownQueryParameter".into())
        );
        assert!(matches!(
            error(&[("q", "a"), ("q", "b")]),
            RecordsError::InvalidParameter { problem, .. } if problem.contains("more than once")
        ));
    }

    #[test]
    fn q_is_case_insensitive_with_or_and_phrases() {
        let r = record("puskesmas", "Puskesmas Kota");
        assert!(query(&[("q", "PUSKESMAS")]).matches(&r));
        assert!(
            query(&[("q", "sekolah,kesehatan")]).matches(&r),
            "comma = OR"
        );
        assert!(!query(&[("q", "sekolah,jalan")]).matches(&r));
        assert!(
            query(&[("q", "fasilitas   UMUM")]).matches(&r),
            "phrase, any spaces"
        );
        assert!(
            !query(&[("q", "umum fasilitas")]).matches(&r),
            "phrase keeps order"
        );
        assert!(
            query(&[("q", "dinas kesehatan")]).matches(&r),
            "agency name"
        );
        assert!(query(&[("q", "health")]).matches(&r), "topic");
        assert!(query(&[("q", "masyarakat")]).matches(&r), "abstract");
    }

    #[test]
    fn bbox_filters_and_validates() {
        let r = record("a", "A");
        assert!(query(&[("bbox", "116.9,-1.2,117.5,-1.0")]).matches(&r));
        assert!(!query(&[("bbox", "110,-5,111,-4")]).matches(&r));
        assert!(
            query(&[("bbox", "116.9,-1.2,0,117.5,-1.0,10")]).matches(&r),
            "6 numbers"
        );
        assert!(
            query(&[("bbox", "170,-2,117,-1")]).matches(&r),
            "across the antimeridian"
        );
        let mut none = record("b", "B");
        none.extent = None;
        assert!(!query(&[("bbox", "-180,-90,180,90")]).matches(&none));
        for bad in ["1,2,3", "a,b,c,d", "0,10,1,5", "0,0,200,1", "NaN,0,1,1"] {
            assert!(
                matches!(
                    error(&[("bbox", bad)]),
                    RecordsError::InvalidParameter { .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn datetime_matches_reference_date_or_update() {
        let r = record("a", "A");
        assert!(query(&[("datetime", "2025-06-01")]).matches(&r));
        assert!(!query(&[("datetime", "2025-06-02")]).matches(&r));
        assert!(
            query(&[("datetime", "2025-07-01T00:00:00Z")]).matches(&r),
            "update, UTC"
        );
        assert!(!query(&[("datetime", "2025-05-01/2025-05-31")]).matches(&r));
        assert!(query(&[("datetime", "../2025-06-01")]).matches(&r));
        assert!(query(&[("datetime", "2025-06-30T23:00:00Z/..")]).matches(&r));
        assert!(!query(&[("datetime", "2025-07-02/")]).matches(&r));
        for bad in [
            "..",
            "yesterday",
            "2025-02-30",
            "2025-06-02/2025-06-01",
            "x/..",
        ] {
            assert!(
                matches!(
                    error(&[("datetime", bad)]),
                    RecordsError::InvalidParameter { .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn type_ids_and_external_ids() {
        let r = record("a", "A");
        assert!(query(&[("type", "service,dataset")]).matches(&r));
        assert!(!query(&[("type", "service")]).matches(&r));
        assert!(query(&[("ids", "b,a")]).matches(&r));
        assert!(
            !query(&[("ids", "")]).matches(&r),
            "an empty list matches nothing"
        );
        assert!(!query(&[("externalIds", "doi:1")]).matches(&r));
    }

    #[test]
    fn apply_pages_and_counts() {
        let records: Vec<_> = (0..25)
            .map(|i| record(&format!("r{i}"), &format!("Data {i}")))
            .collect();
        let (page, matched) = query(&[("limit", "10"), ("offset", "20")]).apply(&records);
        assert_eq!(matched, 25);
        let ids: Vec<_> = page.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r20", "r21", "r22", "r23", "r24"]);
        let (page, matched) = query(&[("q", "data 7")]).apply(&records);
        assert_eq!((page.len(), matched), (1, 1));
    }

    #[test]
    fn query_string_round_trips() {
        let q = query(&[
            ("q", "Rumah Sakit,puskesmas"),
            ("bbox", "116.5,-1.5,117,-1"),
            ("datetime", "2025-01-01/.."),
            ("limit", "5"),
            ("f", "json"),
        ]);
        let text = q.to_query_string(15);
        assert!(text.contains("q=rumah%20sakit%2Cpuskesmas"), "{text}");
        assert!(text.contains("offset=15"));
        let back: Vec<(String, String)> = text
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                let v = v
                    .replace("%20", " ")
                    .replace("%2C", ",")
                    .replace("%2F", "/");
                (k.to_owned(), v)
            })
            .collect();
        let again = RecordQuery::parse(&back).unwrap();
        assert_eq!(again.q, q.q);
        assert_eq!(again.bbox, q.bbox);
        assert_eq!(again.datetime, q.datetime);
        assert_eq!(again.offset, 15);
    }
}
