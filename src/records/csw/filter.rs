//! CSW constraints: the filter tree, read from a CQL_TEXT subset or from OGC Filter Encoding 1.1
//! XML, and evaluated against a record in memory.
//!
//! The CQL reader is a tiny recursive-descent parser for this subset only (not full OGC CQL):
//!
//! ```text
//! expr      := term ("OR" term)*
//! term      := factor ("AND" factor)*
//! factor    := "NOT" factor | "(" expr ")" | predicate
//! predicate := queryable ("LIKE" | "ILIKE") 'text'          (% any, _ one, \ escapes)
//!            | queryable "=" 'text'
//!            | "BBOX" "(" name "," minx "," miny "," maxx "," maxy ["," 'crs'] ")"
//! queryable := [prefix ":"] (AnyText | Title | Subject | Abstract | Identifier | Type)
//! ```
//!
//! BBOX numbers are CRS84 (lon/lat) unless a lat/lon CRS (an EPSG:4326 URN or URI) is named.
//! Anything else is an `InvalidParameterValue` naming what was not understood.

use super::super::search::{check_bbox, intersects, normalise};
use super::super::xml::{self, Element};
use super::{INVALID, RecordsError, Result};
use crate::catalog::MetadataRecord;

/// The longest constraint read, in bytes.
pub const MAX_CONSTRAINT_BYTES: usize = 8 * 1024;
/// The deepest nesting of a constraint (parentheses, AND/OR/NOT).
pub const MAX_FILTER_DEPTH: usize = 16;
/// The longest LIKE pattern, in characters (matching cost grows with it).
pub const MAX_PATTERN_CHARS: usize = 256;

/// A constraint on records.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All must hold.
    And(Vec<Filter>),
    /// One must hold.
    Or(Vec<Filter>),
    /// Must not hold.
    Not(Box<Filter>),
    /// A queryable's text matches a pattern (case-insensitively).
    Like {
        /// What is compared.
        property: Queryable,
        /// The pattern.
        pattern: Pattern,
    },
    /// A queryable equals a value.
    EqualTo {
        /// What is compared.
        property: Queryable,
        /// The value.
        value: String,
        /// Whether case matters.
        match_case: bool,
    },
    /// The record's extent meets a box: west, south, east, north (CRS84).
    Bbox([f64; 4]),
}

/// The most comparisons one constraint may make per record.
pub const MAX_PREDICATES: usize = 32;
/// The most LIKE pattern characters one constraint may hold in all (each is compared with every
/// character of a record's text).
pub const MAX_PATTERNS_CHARS: usize = 512;

impl Filter {
    /// Refuses a filter whose comparisons would cost too much per record: more than
    /// [`MAX_PREDICATES`] comparisons, or more than [`MAX_PATTERNS_CHARS`] pattern characters in
    /// all. A 32 KiB request could otherwise hold a hundred long patterns, each run over every
    /// record's text.
    pub fn within_budget(self) -> Result<Self> {
        let (predicates, pattern_chars) = self.cost();
        if predicates > MAX_PREDICATES {
            return Err(invalid(format!(
                "the constraint makes {predicates} comparisons; at most {MAX_PREDICATES} are accepted"
            )));
        }
        if pattern_chars > MAX_PATTERNS_CHARS {
            return Err(invalid(format!(
                "the constraint's LIKE patterns have {pattern_chars} characters in all; at most \
                 {MAX_PATTERNS_CHARS} are accepted"
            )));
        }
        Ok(self)
    }

    /// Its comparisons, and the characters of its LIKE patterns.
    fn cost(&self) -> (usize, usize) {
        match self {
            Filter::And(parts) | Filter::Or(parts) => parts
                .iter()
                .map(Filter::cost)
                .fold((0, 0), |(a, b), (c, d)| (a + c, b + d)),
            Filter::Not(inner) => inner.cost(),
            Filter::Like { pattern, .. } => (1, pattern.len()),
            Filter::EqualTo { .. } | Filter::Bbox(_) => (1, 0),
        }
    }
}

/// The queryables of the CSW core (the ones this catalog has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queryable {
    /// All the text of a record.
    AnyText,
    /// The title.
    Title,
    /// Keywords and topic category.
    Subject,
    /// The abstract.
    Abstract,
    /// The record id.
    Identifier,
    /// The record type (`dataset`).
    Type,
}

impl Queryable {
    /// Reads `csw:AnyText`, `dc:title`, `apiso:Subject`… (the prefix is ignored, case too).
    pub fn from_name(name: &str) -> Result<Self> {
        let local = name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
        match local.as_str() {
            "anytext" => Ok(Self::AnyText),
            "title" => Ok(Self::Title),
            "subject" => Ok(Self::Subject),
            "abstract" => Ok(Self::Abstract),
            "identifier" => Ok(Self::Identifier),
            "type" => Ok(Self::Type),
            _ => Err(invalid(format!(
                "the queryable `{name}` is not supported; use AnyText, Title, Subject, Abstract, \
                 Identifier or Type"
            ))),
        }
    }

    /// The record's values for this queryable.
    fn values(self, record: &MetadataRecord) -> Vec<String> {
        let m = &record.metadata;
        match self {
            Self::AnyText => vec![
                [
                    record.id.as_str(),
                    &m.title,
                    &m.abstract_text,
                    &m.topic_category,
                    &record.agency_name,
                    &m.keywords.join(" "),
                ]
                .join("\n"),
            ],
            Self::Title => vec![m.title.clone()],
            Self::Subject => {
                let mut subjects = m.keywords.clone();
                subjects.push(m.topic_category.clone());
                subjects
            }
            Self::Abstract => vec![m.abstract_text.clone()],
            Self::Identifier => vec![record.id.clone()],
            Self::Type => vec![super::super::search::RECORD_TYPE.to_owned()],
        }
    }
}

/// A LIKE pattern: literal runs between multi-character wildcards; `None` is a one-character
/// wildcard. Kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// What the text starts with.
    head: Vec<Option<char>>,
    /// The runs after each multi-character wildcard, the last one ending the text.
    tail: Vec<Vec<Option<char>>>,
}

impl Pattern {
    /// Its characters (wildcards included).
    fn len(&self) -> usize {
        self.head.len() + self.tail.iter().map(|run| run.len() + 1).sum::<usize>()
    }
}

/// The wildcard characters of a LIKE pattern.
#[derive(Debug, Clone, Copy)]
pub struct Wildcards {
    /// Any run of characters.
    pub any: char,
    /// Exactly one character.
    pub one: char,
    /// Makes the next character literal.
    pub escape: char,
}

/// CQL's wildcards.
pub const CQL_WILDCARDS: Wildcards = Wildcards {
    any: '%',
    one: '_',
    escape: '\\',
};

impl Pattern {
    /// Reads a pattern with the given wildcards.
    pub fn new(text: &str, wildcards: Wildcards) -> Result<Self> {
        if text.chars().count() > MAX_PATTERN_CHARS {
            return Err(invalid(format!(
                "a LIKE pattern is longer than {MAX_PATTERN_CHARS} characters"
            )));
        }
        let mut segments = Vec::new();
        let mut current = Vec::new();
        let mut chars = text.chars().flat_map(char::to_lowercase);
        while let Some(c) = chars.next() {
            if c == wildcards.escape {
                current.push(Some(chars.next().unwrap_or(c)));
            } else if c == wildcards.any {
                segments.push(std::mem::take(&mut current));
            } else if c == wildcards.one {
                current.push(None);
            } else {
                current.push(Some(c));
            }
        }
        segments.push(current);
        let head = segments.remove(0);
        Ok(Self {
            head,
            tail: segments,
        })
    }

    /// Whether the whole text matches, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
        let first = &self.head;
        let Some((last, middle)) = self.tail.split_last() else {
            return text.len() == first.len() && fits(first, &text);
        };
        if text.len() < first.len() + last.len()
            || !fits(first, &text)
            || !fits(last, &text[text.len() - last.len()..])
        {
            return false;
        }
        let end = text.len() - last.len();
        let mut at = first.len();
        for segment in middle {
            match find(segment, &text[at..end]) {
                Some(found) => at += found + segment.len(),
                None => return false,
            }
        }
        true
    }
}

/// Whether a segment matches the start of the text.
fn fits(segment: &[Option<char>], text: &[char]) -> bool {
    segment.len() <= text.len()
        && segment
            .iter()
            .zip(text)
            .all(|(s, t)| s.is_none_or(|s| s == *t))
}

/// The leftmost place a segment matches.
fn find(segment: &[Option<char>], text: &[char]) -> Option<usize> {
    (0..=text.len().checked_sub(segment.len())?).find(|&i| fits(segment, &text[i..]))
}

impl Filter {
    /// Whether a record satisfies the constraint.
    pub fn matches(&self, record: &MetadataRecord) -> bool {
        match self {
            Self::And(all) => all.iter().all(|f| f.matches(record)),
            Self::Or(any) => any.iter().any(|f| f.matches(record)),
            Self::Not(inner) => !inner.matches(record),
            Self::Like { property, pattern } => {
                property.values(record).iter().any(|v| pattern.matches(v))
            }
            Self::EqualTo {
                property,
                value,
                match_case,
            } => property.values(record).iter().any(|v| {
                if *match_case {
                    v == value
                } else {
                    normalise(v) == normalise(value)
                }
            }),
            Self::Bbox(b) => record.extent.is_some_and(|e| intersects(b, &e)),
        }
    }
}

fn invalid(text: impl Into<String>) -> RecordsError {
    RecordsError::csw(INVALID, "constraint", text)
}

/// Refuses a constraint longer than [`MAX_CONSTRAINT_BYTES`].
pub fn check_length(text: &str) -> Result<()> {
    if text.len() > MAX_CONSTRAINT_BYTES {
        return Err(invalid(format!(
            "the constraint is {} bytes long; at most {MAX_CONSTRAINT_BYTES} are accepted",
            text.len()
        )));
    }
    Ok(())
}

// ---- CQL_TEXT ---------------------------------------------------------------------------------

/// A CQL token.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Open,
    Close,
    Comma,
    Equals,
}

/// Reads a CQL_TEXT constraint of the subset above.
pub fn from_cql(text: &str) -> Result<Filter> {
    check_length(text)?;
    let mut parser = Cql {
        tokens: tokens(text)?,
        at: 0,
    };
    let filter = parser.expr(0)?;
    match parser.peek() {
        None => Ok(filter),
        Some(extra) => Err(invalid(format!(
            "unexpected {} after the expression",
            show(extra)
        ))),
    }
}

fn tokens(text: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | '=' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    _ => Token::Equals,
                });
            }
            '\'' => out.push(Token::Text(quoted(&mut chars)?)),
            '<' | '>' | '!' => {
                // Comparison operators outside the subset, read so the error can name them.
                let operator = take_while(&mut chars, |c| matches!(c, '<' | '>' | '!' | '='));
                out.push(Token::Word(operator));
            }
            c if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => {
                let word = take_while(&mut chars, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.')
                });
                let number = word
                    .parse()
                    .map_err(|_| invalid(format!("`{word}` is not a number")))?;
                out.push(Token::Number(number));
            }
            c if c.is_alphabetic() || c == '_' => {
                let word = take_while(&mut chars, |c| {
                    c.is_alphanumeric() || matches!(c, '_' | ':')
                });
                out.push(Token::Word(word));
            }
            other => return Err(invalid(format!("unexpected character `{other}`"))),
        }
    }
    Ok(out)
}

fn take_while(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    keep: impl Fn(char) -> bool,
) -> String {
    let mut word = String::new();
    while let Some(&c) = chars.peek() {
        if !keep(c) {
            break;
        }
        word.push(c);
        chars.next();
    }
    word
}

/// A `'…'` literal, `''` standing for one quote.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String> {
    chars.next();
    let mut text = String::new();
    loop {
        match chars.next() {
            Some('\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                text.push('\'');
            }
            Some('\'') => return Ok(text),
            Some(c) => text.push(c),
            None => return Err(invalid("a quoted text is not closed")),
        }
    }
}

fn show(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("`{w}`"),
        Token::Text(t) => format!("'{t}'"),
        Token::Number(n) => n.to_string(),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Comma => "`,`".into(),
        Token::Equals => "`=`".into(),
    }
}

/// The recursive-descent parser of the CQL subset.
struct Cql {
    tokens: Vec<Token>,
    at: usize,
}

impl Cql {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| invalid("the constraint ends too early"))?;
        self.at += 1;
        Ok(token)
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, token: &Token) -> Result<()> {
        let got = self.next()?;
        if &got == token {
            Ok(())
        } else {
            Err(invalid(format!(
                "expected {} but found {}",
                show(token),
                show(&got)
            )))
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Filter> {
        if depth > MAX_FILTER_DEPTH {
            return Err(invalid(format!(
                "the constraint is nested deeper than {MAX_FILTER_DEPTH}"
            )));
        }
        let mut any = vec![self.term(depth)?];
        while self.keyword("OR") {
            any.push(self.term(depth)?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Filter::Or(any)
        })
    }

    fn term(&mut self, depth: usize) -> Result<Filter> {
        let mut all = vec![self.factor(depth)?];
        while self.keyword("AND") {
            all.push(self.factor(depth)?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Filter::And(all)
        })
    }

    fn factor(&mut self, depth: usize) -> Result<Filter> {
        if self.keyword("NOT") {
            let inner = self.nested(depth)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.expr(depth + 1)?;
            self.expect(&Token::Close)?;
            return Ok(inner);
        }
        if self.keyword("BBOX") {
            return self.bbox();
        }
        self.comparison()
    }

    fn nested(&mut self, depth: usize) -> Result<Filter> {
        if depth + 1 > MAX_FILTER_DEPTH {
            return Err(invalid(format!(
                "the constraint is nested deeper than {MAX_FILTER_DEPTH}"
            )));
        }
        self.factor(depth + 1)
    }

    fn comparison(&mut self) -> Result<Filter> {
        let name = match self.next()? {
            Token::Word(w) => w,
            other => {
                return Err(invalid(format!(
                    "expected a queryable but found {}",
                    show(&other)
                )));
            }
        };
        let property = Queryable::from_name(&name)?;
        let like = self.keyword("LIKE") || self.keyword("ILIKE");
        if !like {
            self.expect(&Token::Equals)
                .map_err(|_| invalid(format!("only LIKE and = are supported after `{name}`")))?;
        }
        let value = match self.next()? {
            Token::Text(t) => t,
            other => {
                return Err(invalid(format!(
                    "expected a quoted text but found {}",
                    show(&other)
                )));
            }
        };
        Ok(if like {
            Filter::Like {
                property,
                pattern: Pattern::new(&value, CQL_WILDCARDS)?,
            }
        } else {
            Filter::EqualTo {
                property,
                value,
                match_case: true,
            }
        })
    }

    /// `BBOX(name, minx, miny, maxx, maxy [, 'crs'])`.
    fn bbox(&mut self) -> Result<Filter> {
        self.expect(&Token::Open)?;
        match self.next()? {
            Token::Word(w) if w.to_ascii_lowercase().ends_with("boundingbox") => {}
            other => {
                return Err(invalid(format!(
                    "BBOX applies to ows:BoundingBox, not {}",
                    show(&other)
                )));
            }
        }
        let mut numbers = [0.0; 4];
        for n in &mut numbers {
            self.expect(&Token::Comma)?;
            *n = match self.next()? {
                Token::Number(x) => x,
                other => {
                    return Err(invalid(format!(
                        "expected a number but found {}",
                        show(&other)
                    )));
                }
            };
        }
        let mut lat_lon = false;
        if self.peek() == Some(&Token::Comma) {
            self.at += 1;
            match self.next()? {
                Token::Text(crs) => lat_lon = lat_lon_first(&crs)?,
                other => {
                    return Err(invalid(format!(
                        "expected a CRS but found {}",
                        show(&other)
                    )));
                }
            }
        }
        self.expect(&Token::Close)?;
        bbox_filter(numbers, lat_lon)
    }
}

/// A box from its two corners as given, in the axis order of its CRS.
fn bbox_filter([a, b, c, d]: [f64; 4], lat_lon: bool) -> Result<Filter> {
    let bbox = if lat_lon { [b, a, d, c] } else { [a, b, c, d] };
    check_bbox(bbox)
        .map(Filter::Bbox)
        .map_err(|problem| invalid(format!("BBOX: {problem}")))
}

/// Whether a CRS name puts latitude first: the EPSG:4326 URNs and URIs do; CRS84, the legacy
/// `EPSG:4326` and no name at all are longitude first (as GeoServer, deegree and pycsw read them).
pub fn lat_lon_first(srs: &str) -> Result<bool> {
    let s = srs.trim().to_ascii_lowercase();
    let lon_lat = s.is_empty()
        || s.ends_with("crs84")
        || s == "epsg:4326"
        || s == "http://www.opengis.net/gml/srs/epsg.xml#4326";
    if lon_lat {
        return Ok(false);
    }
    let urn = (s.starts_with("urn:ogc:def:crs:epsg:") || s.starts_with("urn:x-ogc:def:crs:epsg:"))
        && s.ends_with(":4326");
    if urn || s == "http://www.opengis.net/def/crs/epsg/0/4326" {
        return Ok(true);
    }
    Err(invalid(format!(
        "the CRS `{srs}` is not supported; use CRS84 or EPSG:4326"
    )))
}

// ---- Filter Encoding 1.1 ----------------------------------------------------------------------

/// Reads an `ogc:Filter` given as text (the KVP `constraint` with `FILTER`).
pub fn from_filter_text(text: &str) -> Result<Filter> {
    check_length(text)?;
    let root = xml::parse(text.as_bytes()).map_err(|e| match e {
        RecordsError::Csw { text, .. } => invalid(text),
        other => other,
    })?;
    from_filter(&root)
}

/// Reads an `ogc:Filter` element (or any filter operator element).
pub fn from_filter(element: &Element) -> Result<Filter> {
    match element.name.as_str() {
        "Filter" => from_filter(only_child(element)?),
        "And" | "Or" => {
            let parts = element
                .children
                .iter()
                .map(from_filter)
                .collect::<Result<Vec<_>>>()?;
            if parts.is_empty() {
                return Err(invalid(format!("ogc:{} has no operands", element.name)));
            }
            Ok(if element.name == "And" {
                Filter::And(parts)
            } else {
                Filter::Or(parts)
            })
        }
        "Not" => Ok(Filter::Not(Box::new(from_filter(only_child(element)?)?))),
        "PropertyIsLike" => like(element),
        "PropertyIsEqualTo" => equal_to(element),
        "BBOX" => envelope_filter(element),
        other => Err(invalid(format!(
            "ogc:{other} is not supported; use PropertyIsLike, PropertyIsEqualTo, BBOX, And, Or, Not"
        ))),
    }
}

fn only_child(element: &Element) -> Result<&Element> {
    match element.children.as_slice() {
        [one] => Ok(one),
        _ => Err(invalid(format!(
            "ogc:{} must hold exactly one operator",
            element.name
        ))),
    }
}

fn text_of<'a>(element: &'a Element, name: &str) -> Result<&'a str> {
    element
        .child(name)
        .map(|c| c.text.as_str())
        .ok_or_else(|| invalid(format!("ogc:{} needs an ogc:{name}", element.name)))
}

fn one_char(element: &Element, names: &[&str], default: char) -> Result<char> {
    let Some(value) = names.iter().find_map(|n| element.attr(n)) else {
        return Ok(default);
    };
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(invalid(format!(
            "ogc:PropertyIsLike {} must be one character",
            names[0]
        ))),
    }
}

fn like(element: &Element) -> Result<Filter> {
    let wildcards = Wildcards {
        any: one_char(element, &["wildCard"], '*')?,
        one: one_char(element, &["singleChar"], '?')?,
        escape: one_char(element, &["escapeChar", "escape"], '\\')?,
    };
    Ok(Filter::Like {
        property: Queryable::from_name(text_of(element, "PropertyName")?)?,
        pattern: Pattern::new(text_of(element, "Literal")?, wildcards)?,
    })
}

fn equal_to(element: &Element) -> Result<Filter> {
    Ok(Filter::EqualTo {
        property: Queryable::from_name(text_of(element, "PropertyName")?)?,
        value: text_of(element, "Literal")?.to_owned(),
        match_case: element.attr("matchCase") != Some("false"),
    })
}

/// `ogc:BBOX` with a `gml:Envelope` of `lowerCorner` and `upperCorner`.
fn envelope_filter(element: &Element) -> Result<Filter> {
    if let Some(name) = element.child("PropertyName")
        && !name.text.to_ascii_lowercase().ends_with("boundingbox")
    {
        return Err(invalid(format!(
            "ogc:BBOX applies to ows:BoundingBox, not {}",
            name.text
        )));
    }
    let envelope = element
        .child("Envelope")
        .ok_or_else(|| invalid("ogc:BBOX needs a gml:Envelope"))?;
    let lat_lon = lat_lon_first(envelope.attr("srsName").unwrap_or(""))?;
    let lower = corner(envelope, "lowerCorner")?;
    let upper = corner(envelope, "upperCorner")?;
    bbox_filter([lower[0], lower[1], upper[0], upper[1]], lat_lon)
}

fn corner(envelope: &Element, name: &str) -> Result<[f64; 2]> {
    let text = envelope
        .child(name)
        .map(|c| c.text.as_str())
        .ok_or_else(|| invalid(format!("gml:Envelope needs a gml:{name}")))?;
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(|n| n.parse::<f64>().ok().filter(|n| n.is_finite()))
        .collect::<Option<_>>()
        .unwrap_or_default();
    match numbers[..] {
        [a, b] => Ok([a, b]),
        _ => Err(invalid(format!(
            "gml:{name} must be two numbers, not `{text}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::search::tests::record;

    fn like(text: &str) -> Pattern {
        Pattern::new(text, CQL_WILDCARDS).unwrap()
    }

    fn problem(result: Result<Filter>) -> String {
        match result {
            Err(RecordsError::Csw {
                code,
                locator,
                text,
            }) => {
                assert_eq!((code, locator.as_str()), (INVALID, "constraint"));
                text
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn constraints_that_would_cost_too_much_per_record_are_refused() {
        let many = vec!["AnyText LIKE '%a%'"; MAX_PREDICATES + 1].join(" OR ");
        let said = problem(from_cql(&many).and_then(Filter::within_budget));
        assert!(said.contains("33 comparisons"), "{said}");
        let long = format!("%{}x%", "_".repeat(200));
        let three = vec![format!("AnyText LIKE '{long}'"); 3].join(" OR ");
        let said = problem(from_cql(&three).and_then(Filter::within_budget));
        assert!(said.contains("characters in all"), "{said}");
        let fine = vec!["AnyText LIKE '%kesehatan%'"; MAX_PREDICATES].join(" OR ");
        assert!(from_cql(&fine).and_then(Filter::within_budget).is_ok());
    }

    #[test]
    fn like_patterns() {
        assert!(like("%kes%").matches("Dinas KESEHATAN"));
        assert!(like("dinas%").matches("Dinas Kesehatan"));
        assert!(
            !like("dinas").matches("Dinas Kesehatan"),
            "no wildcard: whole text"
        );
        assert!(like("d_nas%n").matches("dinas kesehatan"));
        assert!(!like("%a%b%c%").matches("cba"));
        assert!(like("%a%b%c%").matches("xaxbxcx"));
        assert!(like("100\\%").matches("100%"));
        assert!(!like("100\\%").matches("1000"));
        assert!(like("%").matches(""));
        assert!(
            !like("ab%ba").matches("aba"),
            "prefix and suffix may not overlap"
        );
        let stars = Pattern::new(
            "*Jalan?",
            Wildcards {
                any: '*',
                one: '?',
                escape: '!',
            },
        )
        .unwrap();
        assert!(stars.matches("Peta jalanX"));
        assert!(Pattern::new(&"a".repeat(MAX_PATTERN_CHARS + 1), CQL_WILDCARDS).is_err());
    }

    #[test]
    fn cql_subset_parses_with_precedence() {
        let f = from_cql(
            "csw:AnyText LIKE '%puskesmas%' OR Title like 'a%' AND BBOX(ows:BoundingBox, 116, -2, 117, -1)",
        )
        .unwrap();
        let Filter::Or(parts) = &f else {
            panic!("{f:?}")
        };
        assert!(matches!(
            parts[0],
            Filter::Like {
                property: Queryable::AnyText,
                ..
            }
        ));
        let Filter::And(inner) = &parts[1] else {
            panic!("{f:?}")
        };
        assert_eq!(inner[1], Filter::Bbox([116.0, -2.0, 117.0, -1.0]));

        let f = from_cql("NOT (dc:identifier = 'a' OR Type = 'service')").unwrap();
        assert!(matches!(f, Filter::Not(_)));
        let quoted = from_cql("Title = 'Jalan ''Sudirman'''").unwrap();
        assert!(matches!(quoted, Filter::EqualTo { ref value, .. } if value == "Jalan 'Sudirman'"));
    }

    #[test]
    fn cql_bbox_axis_order_follows_the_crs() {
        let lon_lat = from_cql("BBOX(ows:BoundingBox, 116, -2, 117, -1)").unwrap();
        let lat_lon =
            from_cql("BBOX(ows:BoundingBox, -2, 116, -1, 117, 'urn:ogc:def:crs:EPSG::4326')")
                .unwrap();
        assert_eq!(lon_lat, lat_lon);
    }

    #[test]
    fn cql_outside_the_subset_is_named() {
        assert!(problem(from_cql("Title > 'a'")).contains("only LIKE and ="));
        assert!(problem(from_cql("Modified LIKE 'a'")).contains("`Modified`"));
        assert!(problem(from_cql("AnyText LIKE 'a' AND")).contains("ends too early"));
        assert!(problem(from_cql("AnyText LIKE 'a')")).contains("unexpected `)`"));
        assert!(problem(from_cql("Title LIKE 'a")).contains("not closed"));
        assert!(problem(from_cql("BBOX(ows:BoundingBox, 1, 2, 3)")).contains("expected `,`"));
        assert!(problem(from_cql("BBOX(ows:BoundingBox, 0, 10, 1, 5)")).contains("south"));
        assert!(problem(from_cql("INTERSECTS(geom, POINT(1 2))")).contains("`INTERSECTS`"));
        let deep = format!("{}Title = 'a'{}", "(".repeat(40), ")".repeat(40));
        assert!(problem(from_cql(&deep)).contains("nested deeper"));
        let nots = format!("{}Title = 'a'", "NOT ".repeat(40));
        assert!(problem(from_cql(&nots)).contains("nested deeper"));
        let long = format!("AnyText LIKE '%{}%'", "x".repeat(40 * 1024));
        assert!(problem(from_cql(&long)).contains("at most 8192"));
    }

    #[test]
    fn filters_match_records() {
        let r = record("puskesmas", "Puskesmas Kota");
        let yes = [
            "AnyText LIKE '%kesehatan%'",
            "Subject = 'health'",
            "Subject LIKE 'fasilitas%'",
            "Identifier = 'puskesmas' AND Type = 'dataset'",
            "BBOX(ows:BoundingBox, 116.9, -1.2, 118, 0)",
            "NOT Title LIKE 'sekolah%'",
        ];
        for cql in yes {
            assert!(from_cql(cql).unwrap().matches(&r), "{cql}");
        }
        let no = [
            "Title LIKE '%sekolah%'",
            "Identifier = 'PUSKESMAS'",
            "BBOX(ows:BoundingBox, 100, -10, 101, -9)",
            "Abstract LIKE '%puskesmas%' AND Title LIKE 'x%'",
        ];
        for cql in no {
            assert!(!from_cql(cql).unwrap().matches(&r), "{cql}");
        }
    }

    #[test]
    fn filter_encoding_xml() {
        let xml = r##"<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml">
          <ogc:And>
            <ogc:PropertyIsLike wildCard="*" singleChar="#" escapeChar="!">
              <ogc:PropertyName>csw:AnyText</ogc:PropertyName><ogc:Literal>*kesehat#n*</ogc:Literal>
            </ogc:PropertyIsLike>
            <ogc:BBOX><ogc:PropertyName>ows:BoundingBox</ogc:PropertyName>
              <gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326">
                <gml:lowerCorner>-2 116</gml:lowerCorner><gml:upperCorner>-1 117</gml:upperCorner>
              </gml:Envelope></ogc:BBOX>
            <ogc:Not><ogc:PropertyIsEqualTo matchCase="false">
              <ogc:PropertyName>dc:identifier</ogc:PropertyName><ogc:Literal>SEKOLAH</ogc:Literal>
            </ogc:PropertyIsEqualTo></ogc:Not>
          </ogc:And></ogc:Filter>"##;
        let f = from_filter_text(xml).unwrap();
        let Filter::And(parts) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(parts[1], Filter::Bbox([116.0, -2.0, 117.0, -1.0]));
        assert!(f.matches(&record("puskesmas", "P")));
        assert!(!f.matches(&record("sekolah", "S")), "matchCase=false");

        let crs84 = r#"<Filter><BBOX><Envelope srsName="urn:ogc:def:crs:OGC:1.3:CRS84">
            <lowerCorner>116 -2</lowerCorner><upperCorner>117 -1</upperCorner></Envelope></BBOX></Filter>"#;
        assert_eq!(
            from_filter_text(crs84).unwrap(),
            Filter::Bbox([116.0, -2.0, 117.0, -1.0])
        );
    }

    #[test]
    fn filter_encoding_outside_the_subset_is_named() {
        let during = "<Filter><PropertyIsGreaterThan/></Filter>";
        assert!(problem(from_filter_text(during)).contains("ogc:PropertyIsGreaterThan"));
        let crs = r#"<Filter><BBOX><Envelope srsName="EPSG:32750"><lowerCorner>0 0</lowerCorner>
            <upperCorner>1 1</upperCorner></Envelope></BBOX></Filter>"#;
        assert!(problem(from_filter_text(crs)).contains("EPSG:32750"));
        let two = "<Filter><Not/><Not/></Filter>";
        assert!(problem(from_filter_text(two)).contains("exactly one"));
        let doctype = "<!DOCTYPE x [<!ENTITY a 'b'>]><Filter/>";
        assert!(problem(from_filter_text(doctype)).contains("DOCTYPE"));
    }
}
