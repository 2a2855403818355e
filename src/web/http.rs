//! The HTTP vocabulary every handler shares: content-coding negotiation (`Accept-Encoding` with its
//! weights), entity-tag matching (`If-None-Match`, compared weakly as RFC 9110 asks), and the base
//! URL that links in TileJSON and OGC documents are built from.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

/// A content coding the server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// No compression.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// Brotli (RFC 7932).
    Brotli,
}

impl Coding {
    /// The token in `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
        }
    }
}

/// The weight `Accept-Encoding` gives `coding` (0.0 when refused or not named). An absent header
/// accepts only identity; `*` stands for codings not named; identity is acceptable unless refused.
pub fn weight(headers: &HeaderMap, coding: Coding) -> f32 {
    let mut named = None;
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let quality = parts
                .find_map(|p| {
                    let (key, value) = p.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("q").then_some(value)
                })
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite())
                .map_or(0.0, |q| q.clamp(0.0, 1.0));
            if name.eq_ignore_ascii_case(coding.token())
                || (coding == Coding::Gzip && name.eq_ignore_ascii_case("x-gzip"))
            {
                named = Some(named.map_or(quality, |q: f32| q.max(quality)));
            } else if name == "*" {
                star = Some(quality);
            }
        }
    }
    match (named, star) {
        (Some(q), _) | (None, Some(q)) => q,
        (None, None) if coding == Coding::Identity => 1.0,
        (None, None) => 0.0,
    }
}

/// The coding to send among `available` (in the server's order of preference, cheapest or
/// smallest first): the one the client weighs highest, ties going to the server's order.
/// Identity when nothing else is acceptable.
pub fn negotiate(headers: &HeaderMap, available: &[Coding]) -> Coding {
    let mut best: Option<(Coding, f32)> = None;
    for &coding in available {
        let w = weight(headers, coding);
        if w > 0.0 && best.is_none_or(|(_, b)| w > b) {
            best = Some((coding, w));
        }
    }
    match best {
        Some((coding, w)) if w >= weight(headers, Coding::Identity) => coding,
        _ => Coding::Identity,
    }
}

/// Whether `If-None-Match` matches `etag` (weak comparison: `W/"x"` matches `"x"`; `*` matches).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    let ours = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

/// The base URL of links this server writes (TileJSON tile URLs, OGC links): the configured
/// public URL, else the request's `Host` when it is a plain host name (letters, digits, dots,
/// dashes, an optional port) with the scheme of `X-Forwarded-Proto` when that is `http` or
/// `https`, else the address the server listens on. Anything else in those headers is ignored,
/// so a forged header cannot put a `javascript:` URL or another site into a cached answer.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

/// Where links point when the request does not say: configured at start.
#[derive(Debug, Clone)]
pub struct LinkBase {
    /// `--public-url`, without a trailing slash.
    pub public_url: Option<String>,
    /// The listening address, as `http://host:port`.
    pub fallback: String,
}

impl LinkBase {
    /// The base URL for a request with `headers`.
    pub fn for_request(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| is_plain_host(h));
        // Behind a chain of proxies the first value is the one the client used.
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|s| *s == "http" || *s == "https")
            .unwrap_or("http");
        match host {
            Some(host) => format!("{scheme}://{host}"),
            None => self.fallback.clone(),
        }
    }
}

/// A host name with an optional port: `example.go.id`, `localhost:8080`, `10.0.0.5:80`.
pub fn is_plain_host(text: &str) -> bool {
    let (name, port) = match text.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (text, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    port_ok && name_ok
}

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl
where
    std::sync::Arc<LinkBase>: axum::extract::FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let base = <std::sync::Arc<LinkBase> as axum::extract::FromRef<S>>::from_ref(state);
        Ok(BaseUrl(base.for_request(&parts.headers)))
    }
}

/// `Path<T>` whose rejection is a problem+json 400 naming the bad segment.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = super::ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|e| super::ApiError::bad_request(e.body_text()))
    }
}

/// The text of a search (`q`), trimmed and within the search limits: empty is a 400 saying what
/// to give (`what`), too long a 422 naming the limit.
pub fn search_text<'q>(q: &'q str, what: &str) -> Result<&'q str, super::ApiError> {
    use crate::limits::LIMITS;
    let q = q.trim();
    if q.is_empty() {
        return Err(super::ApiError::bad_request(format!("give `q`: {what}")));
    }
    let chars = q.chars().count();
    if chars > LIMITS.search_chars {
        return Err(super::ApiError::unprocessable(format!(
            "`q` has {chars} characters; searches take at most {}",
            LIMITS.search_chars
        )));
    }
    let words = q.split_whitespace().count();
    if words > LIMITS.search_words {
        return Err(super::ApiError::unprocessable(format!(
            "`q` has {words} words; searches take at most {}",
            LIMITS.search_words
        )));
    }
    Ok(q)
}

/// `Query<T>` whose rejection is a problem+json 400 naming the bad parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = super::ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|e| super::ApiError::bad_request(e.body_text()))
    }
}

/// `text` percent-encoded for a query string (everything but RFC 3986's unreserved characters).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `Vary` of an answer whose links are built from the request (see [`LinkBase`]).
pub const LINKS_VARY: &str = "host, x-forwarded-proto";

/// A header value from text known to be valid (ETags and tokens made by this server).
pub fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).unwrap());
        map
    }

    fn accept(value: &str) -> HeaderMap {
        headers(header::ACCEPT_ENCODING, value)
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        let browser = accept("gzip, deflate, br, zstd");
        assert_eq!(weight(&browser, Coding::Brotli), 1.0);
        assert_eq!(
            negotiate(&browser, &[Coding::Gzip, Coding::Brotli]),
            Coding::Gzip
        );
        assert_eq!(
            negotiate(&browser, &[Coding::Brotli, Coding::Gzip]),
            Coding::Brotli
        );
        assert_eq!(weight(&accept("GZIP"), Coding::Gzip), 1.0);
        assert_eq!(weight(&accept("gzip, br;q=0"), Coding::Brotli), 0.0);
        assert_eq!(weight(&accept("br;q=0.0, gzip;q=0.5"), Coding::Brotli), 0.0);
        assert_eq!(weight(&accept("br; Q=0.5"), Coding::Brotli), 0.5);
        assert_eq!(weight(&accept("*"), Coding::Gzip), 1.0);
        assert_eq!(weight(&accept("*;q=0, gzip"), Coding::Brotli), 0.0);
        assert_eq!(weight(&accept("br;q=abc"), Coding::Brotli), 0.0);
        assert_eq!(weight(&HeaderMap::new(), Coding::Gzip), 0.0);
        assert_eq!(weight(&HeaderMap::new(), Coding::Identity), 1.0);
        // The client's preference wins over the server's order; refused codings are never sent.
        assert_eq!(
            negotiate(&accept("gzip;q=0.5, br"), &[Coding::Gzip, Coding::Brotli]),
            Coding::Brotli
        );
        assert_eq!(
            negotiate(&accept("br;q=0"), &[Coding::Brotli]),
            Coding::Identity
        );
        assert_eq!(
            negotiate(&accept("identity"), &[Coding::Gzip]),
            Coding::Identity
        );
    }

    #[test]
    fn entity_tags_compare_weakly() {
        let h = |v: &str| headers(header::IF_NONE_MATCH, v);
        assert!(not_modified(&h("\"abc\""), "\"abc\""));
        assert!(not_modified(&h("W/\"abc\""), "\"abc\""));
        assert!(not_modified(&h("\"x\", W/\"abc\""), "W/\"abc\""));
        assert!(not_modified(&h("*"), "\"abc\""));
        assert!(!not_modified(&h("\"abd\""), "\"abc\""));
        assert!(!not_modified(&HeaderMap::new(), "\"abc\""));
    }

    #[test]
    fn links_use_only_plain_host_names() {
        let base = LinkBase {
            public_url: None,
            fallback: "http://127.0.0.1:8080".into(),
        };
        let mut h = headers(header::HOST, "peta.balikpapan.go.id");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(base.for_request(&h), "https://peta.balikpapan.go.id");
        for forged in [
            "javascript:alert(1)//",
            "evil.example/x?",
            "a b",
            "host:99999",
            "-bad.example",
            "",
        ] {
            let h = headers(header::HOST, forged);
            assert_eq!(base.for_request(&h), "http://127.0.0.1:8080", "{forged}");
        }
        let mut h = headers(header::HOST, "peta.example");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https, http"));
        assert_eq!(base.for_request(&h), "https://peta.example");
        let mut h = headers(header::HOST, "localhost:8080");
        h.insert("x-forwarded-proto", HeaderValue::from_static("javascript"));
        assert_eq!(base.for_request(&h), "http://localhost:8080");
        let configured = LinkBase {
            public_url: Some("https://satupeta.example".into()),
            ..base
        };
        assert_eq!(
            configured.for_request(&headers(header::HOST, "other.example")),
            "https://satupeta.example"
        );
    }
}
