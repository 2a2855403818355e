//! The query of an `/items` request, read from its parameters: each known parameter checked,
//! any other refused (a misspelt filter must not return everything).

use super::crs::{self, CRS84, Crs};
use super::{FeaturesError, Result, cql};
use crate::catalog::Collection;

/// Features in a page by default.
pub const DEFAULT_LIMIT: i64 = 10;
/// Features in a page at most.
pub const MAX_LIMIT: i64 = 10_000;
/// Bytes of a filter at most.
const MAX_FILTER_BYTES: usize = 8 * 1024;

/// What an `/items` request asks for.
#[derive(Debug, Clone)]
pub struct ItemsQuery {
    /// Features in the page.
    pub limit: i64,
    /// The id after which the page starts (keyset paging).
    pub after: Option<i64>,
    /// West, south, east, north in `bbox_crs` (as the client wrote them, axis order resolved).
    pub bbox: Option<[f64; 4]>,
    /// The bbox's CRS.
    pub bbox_crs: Crs,
    /// The CRS of the answer.
    pub crs: Crs,
    /// The CQL2 filter.
    pub filter: Option<cql2::Expr>,
    /// The filter's CRS.
    pub filter_crs: Crs,
    /// `datetime`: an instant or an interval (validated; applied to the first date property).
    pub datetime: Option<(Option<String>, Option<String>)>,
    /// Property equalities (`?name=value`).
    pub equals: Vec<(String, String)>,
    /// `f`: the format asked for.
    pub format: Option<String>,
    /// The parameters as sent, for the `next` link (all but `after`).
    pub passed: Vec<(String, String)>,
}

impl ItemsQuery {
    /// Reads the parameters of a request on `collection`.
    pub fn parse(pairs: &[(String, String)], collection: &Collection) -> Result<Self> {
        let mut q = ItemsQuery {
            limit: DEFAULT_LIMIT,
            after: None,
            bbox: None,
            bbox_crs: CRS84,
            crs: CRS84,
            filter: None,
            filter_crs: CRS84,
            datetime: None,
            equals: Vec::new(),
            format: None,
            passed: Vec::new(),
        };
        let mut filter: Option<&str> = None;
        let mut lang = cql::Lang::Text;
        let mut bbox_text: Option<&str> = None;
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            if seen.contains(&name.as_str()) {
                return Err(FeaturesError::Parameter {
                    name: "query",
                    problem: format!("{name} is given twice"),
                });
            }
            seen.push(name);
            if name != "after" {
                q.passed.push((name.clone(), value.clone()));
            }
            match name.as_str() {
                "limit" => q.limit = parse_limit(value)?,
                "after" => q.after = Some(parse_after(value)?),
                "bbox" => bbox_text = Some(value),
                "bbox-crs" => q.bbox_crs = crs::parse("bbox-crs", value)?,
                "crs" => q.crs = crs::parse("crs", value)?,
                "filter" => filter = Some(value),
                "filter-lang" => lang = parse_lang(value)?,
                "filter-crs" => q.filter_crs = crs::parse("filter-crs", value)?,
                "datetime" => q.datetime = Some(parse_datetime(value)?),
                "f" => q.format = Some(parse_format(value)?),
                other => match collection.property(other) {
                    Some(p) if p.kind != crate::catalog::Kind::Other => {
                        q.equals.push((other.to_string(), value.clone()));
                    }
                    _ => return Err(FeaturesError::UnknownParameter(other.to_string())),
                },
            }
        }
        if let Some(text) = bbox_text {
            q.bbox = Some(parse_bbox(text, q.bbox_crs)?);
        }
        if let Some(text) = filter {
            if text.len() > MAX_FILTER_BYTES {
                return Err(FeaturesError::Parameter {
                    name: "filter",
                    problem: format!("is longer than {MAX_FILTER_BYTES} bytes"),
                });
            }
            q.filter = Some(cql::parse(text, lang)?);
        }
        Ok(q)
    }
}

fn parse_limit(text: &str) -> Result<i64> {
    match text.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n.min(MAX_LIMIT)),
        _ => Err(FeaturesError::Parameter {
            name: "limit",
            problem: format!("\"{text}\" is not a whole number from 1 to {MAX_LIMIT}"),
        }),
    }
}

fn parse_after(text: &str) -> Result<i64> {
    text.parse().map_err(|_| FeaturesError::Parameter {
        name: "after",
        problem: format!("\"{text}\" is not a feature id this server wrote in a next link"),
    })
}

fn parse_lang(text: &str) -> Result<cql::Lang> {
    match text {
        "cql2-text" => Ok(cql::Lang::Text),
        "cql2-json" => Ok(cql::Lang::Json),
        other => Err(FeaturesError::Parameter {
            name: "filter-lang",
            problem: format!("\"{other}\": cql2-text or cql2-json"),
        }),
    }
}

fn parse_format(text: &str) -> Result<String> {
    match text {
        "json" | "geojson" | "html" => Ok(text.to_string()),
        other => Err(FeaturesError::Parameter {
            name: "f",
            problem: format!("\"{other}\": json or html"),
        }),
    }
}

/// `w,s,e,n` (or 6 numbers with heights) in `crs`, returned as west, south, east, north.
pub fn parse_bbox(text: &str, crs: Crs) -> Result<[f64; 4]> {
    let bad = |problem: String| FeaturesError::Parameter {
        name: "bbox",
        problem,
    };
    let numbers: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            bad(format!(
                "\"{text}\" is not 4 or 6 numbers separated by commas"
            ))
        })?;
    let [a, b, c, d] = match numbers.as_slice() {
        [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
        _ => return Err(bad(format!("\"{text}\" is not 4 or 6 numbers"))),
    };
    let [w, s, e, n] = if crs.lat_first {
        [b, a, d, c]
    } else {
        [a, b, c, d]
    };
    if s > n {
        return Err(bad("its south is above its north".into()));
    }
    if crs.srid == 4326 && (s < -90.0 || n > 90.0 || w < -180.0 || e > 180.0) {
        return Err(bad(
            "is not on the Earth (longitudes -180..180, latitudes -90..90)".into(),
        ));
    }
    Ok([w, s, e, n])
}

/// An instant or an interval (`a/b`, either end `..` or empty for open), RFC 3339 dates or times.
pub fn parse_datetime(text: &str) -> Result<(Option<String>, Option<String>)> {
    let valid = |t: &str| -> Result<Option<String>> {
        if t.is_empty() || t == ".." {
            return Ok(None);
        }
        let ok = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok()
            || chrono::DateTime::parse_from_rfc3339(t).is_ok();
        if ok {
            Ok(Some(t.to_string()))
        } else {
            Err(FeaturesError::Parameter {
                name: "datetime",
                problem: format!("\"{t}\" is not an RFC 3339 date or time"),
            })
        }
    };
    match text.split_once('/') {
        Some((a, b)) => Ok((valid(a)?, valid(b)?)),
        None => {
            let instant = valid(text)?;
            if instant.is_none() {
                return Err(FeaturesError::Parameter {
                    name: "datetime",
                    problem: "an instant cannot be open".into(),
                });
            }
            Ok((instant.clone(), instant))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::crs::SUPPORTED;

    #[test]
    fn bboxes_are_read_in_their_crs_axis_order() {
        assert_eq!(
            parse_bbox("116.8,-1.3,117,-1.1", CRS84).unwrap(),
            [116.8, -1.3, 117.0, -1.1]
        );
        assert_eq!(
            parse_bbox("-1.3,116.8,-1.1,117", SUPPORTED[1]).unwrap(),
            [116.8, -1.3, 117.0, -1.1]
        );
        assert!(parse_bbox("1,2,3", CRS84).is_err());
        assert!(parse_bbox("0,10,1,5", CRS84).is_err());
        assert!(parse_bbox("NaN,1,2,3", CRS84).is_err());
    }

    #[test]
    fn datetimes_are_instants_or_intervals() {
        assert_eq!(
            parse_datetime("2025-01-01").unwrap().0.as_deref(),
            Some("2025-01-01")
        );
        assert_eq!(parse_datetime("../2025-01-01T00:00:00Z").unwrap().0, None);
        assert!(parse_datetime("kemarin").is_err());
        assert!(parse_datetime("..").is_err());
    }
}
