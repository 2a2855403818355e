//! Connection URLs and their passwords: the password is taken out of a URL before the URL is
//! shown or handed to an external tool (which gets the password through `PGPASSWORD`, never on
//! its command line), and percent-encoded when a URL is built.

/// A `postgres://` URL split into the URL without its password and the (decoded) password.
#[derive(Clone, PartialEq, Eq)]
pub struct SplitUrl {
    /// The URL with the password removed (the user name is kept).
    pub url: String,
    /// The password, percent-decoded, if the URL carried one.
    pub password: Option<String>,
}

impl std::fmt::Debug for SplitUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitUrl")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Splits the password out of `url` (`scheme://user:password@host/...`).
pub fn split_password(url: &str) -> SplitUrl {
    match password_span(url) {
        Some((colon, at)) => SplitUrl {
            url: format!("{}{}", &url[..colon], &url[at..]),
            password: Some(percent_decode(&url[colon + 1..at])),
        },
        None => SplitUrl {
            url: url.to_string(),
            password: None,
        },
    }
}

/// `url` with its password, if any, replaced by `***`: safe to log or print. Both places a
/// PostgreSQL URL can carry one are covered: `user:password@` and the `password=` parameter.
pub fn redact(url: &str) -> String {
    let url = match password_span(url) {
        Some((colon, at)) => format!("{}:***{}", &url[..colon], &url[at..]),
        None => url.to_string(),
    };
    match url.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    // Any key that says password once decoded (`pass%77ord`, `sslpassword`).
                    Some((k, _)) if percent_decode(k).to_ascii_lowercase().contains("password") => {
                        format!("{k}=***")
                    }
                    _ => p.to_string(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => url,
    }
}

/// Percent-encodes `text` for the user or password part of a URL (RFC 3986 unreserved characters
/// are kept).
pub fn percent_encode(text: &str) -> String {
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

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte positions of the `:` before the password and of the `@` after it.
fn password_span(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_len = url[start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - start);
    let authority = &url[start..start + authority_len];
    let at = start + authority.rfind('@')?;
    let colon = start + url[start..at].find(':')?;
    Some((colon, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_query_is_redacted_too() {
        assert_eq!(
            redact("postgres:///satupeta?host=/run/postgresql&password=hunter2&sslmode=disable"),
            "postgres:///satupeta?host=/run/postgresql&password=***&sslmode=disable"
        );
        assert_eq!(
            redact("postgres://u:pw@h/db?password=x"),
            "postgres://u:***@h/db?password=***"
        );
        assert_eq!(
            redact("postgres://h/db?pass%77ord=s3cret"),
            "postgres://h/db?pass%77ord=***"
        );
        assert_eq!(
            redact("postgres://h/db?sslpassword=k&x=1"),
            "postgres://h/db?sslpassword=***&x=1"
        );
    }

    #[test]
    fn the_password_is_split_out_and_decoded() {
        let split = split_password("postgres://app:p%40ss%3Aw0rd@db.example:5432/satupeta?x=1");
        assert_eq!(split.url, "postgres://app@db.example:5432/satupeta?x=1");
        assert_eq!(split.password.as_deref(), Some("p@ss:w0rd"));
        assert!(!format!("{split:?}").contains("w0rd"));
    }

    #[test]
    fn urls_without_a_password_are_left_alone() {
        for url in [
            "postgres://app@db/satupeta",
            "postgres://db/satupeta",
            "postgres://db/sat@upeta",
            "postgresql://db:5432",
        ] {
            assert_eq!(split_password(url).url, url);
            assert_eq!(split_password(url).password, None);
            assert_eq!(redact(url), url);
        }
    }

    #[test]
    fn redacting_hides_only_the_password() {
        assert_eq!(
            redact("postgres://postgres:abc123@127.0.0.1:5433/satupeta"),
            "postgres://postgres:***@127.0.0.1:5433/satupeta"
        );
    }

    #[test]
    fn encoding_round_trips() {
        let password = "a b/c@d:e%f~g";
        let encoded = percent_encode(password);
        assert_eq!(encoded, "a%20b%2Fc%40d%3Ae%25f~g");
        let url = format!("postgres://u:{encoded}@h/db");
        assert_eq!(split_password(&url).password.as_deref(), Some(password));
    }
}
