//! CQL2 filters (OGC API Features Part 3: the basic, basic-spatial and spatial-functions classes,
//! text and JSON) as parameterised SQL: `cql2` parses them; this walks the expression and pushes
//! SQL into a query builder, every value as a bind parameter and every name resolved to a column
//! of the collection (never the request's text). Written here because the `cql2` crate renders
//! SQL as text with literals inlined.

use cql2::Expr;
use sqlx::{Postgres, QueryBuilder};

use super::crs::Crs;
use super::{FeaturesError, Result};
use crate::catalog::{Collection, Kind};

/// Expressions nested deeper than this are refused.
const MAX_DEPTH: usize = 50;
/// Terms in a filter at most.
const MAX_TERMS: usize = 500;

/// The filter language of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `cql2-text`.
    Text,
    /// `cql2-json`.
    Json,
}

/// Brackets a filter may nest at most: the parser recurses on each, and backtracks (a group is
/// tried as an expression, then as a list): work doubles with each level.
const MAX_NESTING: usize = 8;

/// Opening brackets a filter may have in all (each group of the deepest kind costs the parser
/// 2^[`MAX_NESTING`] tries).
const MAX_BRACKETS: usize = 64;

/// Signs (`-`, `+`) in a row at most: the parser recurses on each prefix sign too.
const MAX_SIGNS: usize = 3;

/// Stack the parser runs on: the parser recurses on what nests (brackets, prefix operators), and a
/// stack overflow would abort the whole server; the limits above refuse deep filters first, and
/// this stack holds any filter the URL limit lets through.
const PARSER_STACK: usize = 32 * 1024 * 1024;

/// Parses `text` in `lang`.
pub fn parse(text: &str, lang: Lang) -> Result<Expr> {
    if nesting(text) > MAX_NESTING {
        return Err(invalid(format!(
            "the filter nests brackets more than {MAX_NESTING} deep"
        )));
    }
    if text
        .chars()
        .filter(|c| matches!(c, '(' | '[' | '{'))
        .count()
        > MAX_BRACKETS
    {
        return Err(invalid(format!(
            "the filter has more than {MAX_BRACKETS} brackets"
        )));
    }
    if signs_in_a_row(text) > MAX_SIGNS {
        return Err(invalid(format!(
            "the filter has more than {MAX_SIGNS} signs (- or +) in a row"
        )));
    }
    // A stack of its own (allocated lazily by the system), whatever thread runs the request. An
    // expression deeper than the writer goes is refused (and dropped) there: chains such as
    // `a = 1 = 1 = ...` or `1 * 1 * ...` nest without brackets, and everything after parsing
    // (writing SQL, describing it in a message, dropping it) recurses on the request's stack.
    stacker::grow(PARSER_STACK, || {
        let expr = match lang {
            Lang::Text => cql2::parse_text(text).map_err(|e| invalid(short(&e.to_string()))),
            Lang::Json => cql2::parse_json(text).map_err(|e| invalid(short(&e.to_string()))),
        }?;
        if depth(&expr) > MAX_DEPTH {
            return Err(invalid(format!(
                "the filter nests more than {MAX_DEPTH} operations deep"
            )));
        }
        Ok(expr)
    })
}

/// The first 200 characters of a parser's message (it may quote the whole filter), or of a
/// value, name or expression of the filter quoted in a message.
fn short(message: &str) -> String {
    match message.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &message[..i]),
        None => message.to_string(),
    }
}

/// How deep `expr` nests.
fn depth(expr: &Expr) -> usize {
    let children: Box<dyn Iterator<Item = &Box<Expr>>> = match expr {
        Expr::Operation { args, .. } => Box::new(args.iter()),
        Expr::Interval { interval } => Box::new(interval.iter()),
        Expr::BBox { bbox } => Box::new(bbox.iter()),
        Expr::Array(items) => Box::new(items.iter()),
        Expr::Timestamp { timestamp } => Box::new(std::iter::once(timestamp)),
        Expr::Date { date } => Box::new(std::iter::once(date)),
        _ => Box::new(std::iter::empty()),
    };
    1 + children.map(|c| depth(c)).max().unwrap_or(0)
}

/// The longest run of `-` and `+` in `text`, spaces between them ignored.
fn signs_in_a_row(text: &str) -> usize {
    let (mut run, mut longest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '-' | '+' => {
                run += 1;
                longest = longest.max(run);
            }
            c if c.is_whitespace() => {}
            _ => run = 0,
        }
    }
    longest
}

/// How deep `(`, `[` and `{` nest in `text`. Quotes are not followed: an unclosed quote would
/// otherwise hide any number of brackets from the count (brackets inside a text value count too,
/// which only a value of more than [`MAX_NESTING`] opening brackets notices).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn invalid(problem: String) -> FeaturesError {
    FeaturesError::Parameter {
        name: "filter",
        problem,
    }
}

/// Pushes `expr` as a SQL condition on the features of `collection` (aliased `t`), with
/// geometries in `crs`.
pub fn push(
    expr: &Expr,
    collection: &Collection,
    crs: Crs,
    sql: &mut QueryBuilder<'_, Postgres>,
) -> Result<()> {
    let mut writer = Writer {
        collection,
        crs,
        terms: 0,
    };
    writer.condition(expr, sql, 0)
}

struct Writer<'a> {
    collection: &'a Collection,
    crs: Crs,
    terms: usize,
}

/// What a scalar expression is, to type the values compared with it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Type {
    Text,
    Number,
    Boolean,
    Date,
    Timestamp,
    Geometry,
    Unknown,
}

impl From<Kind> for Type {
    fn from(kind: Kind) -> Type {
        match kind {
            Kind::Text => Type::Text,
            Kind::Integer | Kind::Number => Type::Number,
            Kind::Boolean => Type::Boolean,
            Kind::Date => Type::Date,
            Kind::Timestamp => Type::Timestamp,
            Kind::Other => Type::Unknown,
        }
    }
}

const COMPARISONS: [&str; 6] = ["=", "<>", "<", "<=", ">", ">="];

fn spatial_function(op: &str) -> Option<&'static str> {
    Some(match op {
        "s_intersects" => "ST_Intersects",
        "s_equals" => "ST_Equals",
        "s_disjoint" => "ST_Disjoint",
        "s_touches" => "ST_Touches",
        "s_within" => "ST_Within",
        "s_overlaps" => "ST_Overlaps",
        "s_crosses" => "ST_Crosses",
        "s_contains" => "ST_Contains",
        _ => return None,
    })
}

impl Writer<'_> {
    fn count(&mut self, depth: usize) -> Result<()> {
        self.terms += 1;
        if depth > MAX_DEPTH || self.terms > MAX_TERMS {
            return Err(invalid(format!(
                "the filter is too large: at most {MAX_TERMS} terms nested {MAX_DEPTH} deep"
            )));
        }
        Ok(())
    }

    /// A boolean condition.
    fn condition(
        &mut self,
        expr: &Expr,
        sql: &mut QueryBuilder<'_, Postgres>,
        depth: usize,
    ) -> Result<()> {
        self.count(depth)?;
        let (op, args) = match expr {
            Expr::Operation { op, args } => (op.as_str(), args.as_slice()),
            Expr::Bool(b) => {
                sql.push(if *b { "TRUE" } else { "FALSE" });
                return Ok(());
            }
            other => return Err(invalid(format!("{} is not a condition", describe(other)))),
        };
        match op {
            "and" | "or" => {
                sql.push("(");
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        sql.push(if op == "and" { " AND " } else { " OR " });
                    }
                    self.condition(arg, sql, depth + 1)?;
                }
                sql.push(")");
            }
            "not" => {
                let [arg] = args else {
                    return Err(invalid("NOT takes one condition".into()));
                };
                sql.push("NOT (");
                self.condition(arg, sql, depth + 1)?;
                sql.push(")");
            }
            "isNull" => {
                let [arg] = args else {
                    return Err(invalid("IS NULL takes one value".into()));
                };
                sql.push("(");
                self.scalar(arg, Type::Unknown, sql, depth + 1)?;
                sql.push(" IS NULL)");
            }
            "like" => self.like(args, sql, depth)?,
            "between" => self.between(args, sql, depth)?,
            "in" => self.within_list(args, sql, depth)?,
            op if COMPARISONS.contains(&op) => {
                let [left, right] = args else {
                    return Err(invalid(format!("{op} compares two values")));
                };
                let kind = self.type_of(left).or(self.type_of(right));
                sql.push("(");
                self.scalar(left, kind, sql, depth + 1)?;
                sql.push(format!(" {op} "));
                self.scalar(right, kind, sql, depth + 1)?;
                sql.push(")");
            }
            op => match spatial_function(op) {
                Some(function) => {
                    let [left, right] = args else {
                        return Err(invalid(format!("{op} takes two geometries")));
                    };
                    sql.push(format!("{function}("));
                    self.scalar(left, Type::Geometry, sql, depth + 1)?;
                    sql.push(", ");
                    self.scalar(right, Type::Geometry, sql, depth + 1)?;
                    sql.push(")");
                }
                None => {
                    return Err(FeaturesError::Unsupported(format!(
                        "the filter uses {}, which this server does not implement (it offers the basic \
                         CQL2, basic-spatial and spatial-functions classes)",
                        short(op)
                    )));
                }
            },
        }
        Ok(())
    }

    fn like(
        &mut self,
        args: &[Box<Expr>],
        sql: &mut QueryBuilder<'_, Postgres>,
        depth: usize,
    ) -> Result<()> {
        let [value, pattern] = args else {
            return Err(invalid("LIKE takes a value and a pattern".into()));
        };
        sql.push("(");
        self.scalar(value, Type::Text, sql, depth + 1)?;
        sql.push("::text LIKE ");
        self.scalar(pattern, Type::Text, sql, depth + 1)?;
        sql.push(")");
        Ok(())
    }

    fn between(
        &mut self,
        args: &[Box<Expr>],
        sql: &mut QueryBuilder<'_, Postgres>,
        depth: usize,
    ) -> Result<()> {
        let [value, low, high] = args else {
            return Err(invalid("BETWEEN takes a value and two bounds".into()));
        };
        let kind = self.type_of(value).or(Type::Number);
        sql.push("(");
        self.scalar(value, kind, sql, depth + 1)?;
        sql.push(" BETWEEN ");
        self.scalar(low, kind, sql, depth + 1)?;
        sql.push(" AND ");
        self.scalar(high, kind, sql, depth + 1)?;
        sql.push(")");
        Ok(())
    }

    fn within_list(
        &mut self,
        args: &[Box<Expr>],
        sql: &mut QueryBuilder<'_, Postgres>,
        depth: usize,
    ) -> Result<()> {
        let (value, items) = match args {
            [value, list] => match &**list {
                Expr::Array(items) => (value, items),
                _ => return Err(invalid("IN takes a value and a list".into())),
            },
            _ => return Err(invalid("IN takes a value and a list".into())),
        };
        if items.is_empty() {
            return Err(invalid("IN needs at least one value".into()));
        }
        let kind = self.type_of(value);
        sql.push("(");
        self.scalar(value, kind, sql, depth + 1)?;
        sql.push(" IN (");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            self.scalar(item, kind, sql, depth + 1)?;
        }
        sql.push("))");
        Ok(())
    }

    /// The type of `expr` when it names a property.
    fn type_of(&self, expr: &Expr) -> Type {
        match expr {
            Expr::Property { property } if self.is_geometry(property) => Type::Geometry,
            Expr::Property { property } => self
                .collection
                .property(property)
                .map_or(Type::Unknown, |p| p.kind.into()),
            Expr::Operation { op, .. } if op == "casei" || op == "accenti" => Type::Text,
            _ => Type::Unknown,
        }
    }

    fn is_geometry(&self, name: &str) -> bool {
        matches!(name, "geometry" | "geom") && self.collection.property(name).is_none()
    }

    /// A value, typed as `kind` when it is a literal compared with a property of that kind.
    fn scalar(
        &mut self,
        expr: &Expr,
        kind: Type,
        sql: &mut QueryBuilder<'_, Postgres>,
        depth: usize,
    ) -> Result<()> {
        self.count(depth)?;
        match expr {
            Expr::Property { property } => {
                let own = self.type_of(expr);
                let geometric = own == Type::Geometry;
                if (kind == Type::Geometry) != geometric && kind != Type::Unknown {
                    return Err(mismatch(property, own, kind));
                }
                self.property(property, sql)
            }
            Expr::Literal(text) if kind != Type::Geometry => literal_text(text, kind, sql),
            // 1e400 reads as infinity; CQL2 JSON cannot even write it: no number compares with it.
            Expr::Float(number) if !number.is_finite() => Err(invalid(format!(
                "{number} is not a number this server compares (a finite double)"
            ))),
            Expr::Float(number) => match kind {
                Type::Text => {
                    sql.push_bind(number.to_string());
                    Ok(())
                }
                Type::Number | Type::Unknown => {
                    sql.push_bind(*number);
                    Ok(())
                }
                other => Err(invalid(format!(
                    "{number} is compared with {}",
                    other.name()
                ))),
            },
            Expr::Bool(b) => match kind {
                Type::Boolean | Type::Unknown => {
                    sql.push_bind(*b);
                    Ok(())
                }
                other => Err(invalid(format!("{b} is compared with {}", other.name()))),
            },
            Expr::Date { date } if matches!(kind, Type::Date | Type::Timestamp | Type::Unknown) => {
                self.temporal(date, "date", sql)
            }
            Expr::Timestamp { timestamp }
                if matches!(kind, Type::Date | Type::Timestamp | Type::Unknown) =>
            {
                self.temporal(timestamp, "timestamptz", sql)
            }
            Expr::Geometry(geometry) if matches!(kind, Type::Geometry | Type::Unknown) => {
                self.geometry(geometry, sql)
            }
            Expr::BBox { bbox } if matches!(kind, Type::Geometry | Type::Unknown) => {
                self.bbox(bbox, sql)
            }
            Expr::Operation { op, args } if op == "casei" => {
                let [arg] = args.as_slice() else {
                    return Err(invalid("CASEI takes one value".into()));
                };
                sql.push("lower(");
                self.scalar(arg, Type::Text, sql, depth + 1)?;
                sql.push("::text)");
                Ok(())
            }
            other => Err(invalid(format!(
                "{} cannot be used as a value here",
                describe(other)
            ))),
        }
    }

    fn property(&self, name: &str, sql: &mut QueryBuilder<'_, Postgres>) -> Result<()> {
        if self.is_geometry(name) {
            let column = &self.source_geometry()?;
            sql.push(format!("t.{column}"));
            return Ok(());
        }
        match self.collection.property(name) {
            Some(p) if p.kind != Kind::Other => {
                sql.push(format!("t.{}", p.column));
                Ok(())
            }
            _ => Err(invalid(format!(
                "\"{}\" is not a queryable of {} (see its /queryables)",
                short(name),
                self.collection.id
            ))),
        }
    }

    fn source_geometry(&self) -> Result<String> {
        self.collection
            .source
            .as_ref()
            .map(|s| s.geometry_column.clone())
            .ok_or_else(|| invalid("the collection has no data".into()))
    }

    fn temporal(
        &self,
        value: &Expr,
        cast: &str,
        sql: &mut QueryBuilder<'_, Postgres>,
    ) -> Result<()> {
        let Expr::Literal(text) = value else {
            return Err(invalid(format!(
                "{} is not a date or time",
                describe(value)
            )));
        };
        sql.push_bind(text.clone());
        sql.push(format!("::{cast}"));
        Ok(())
    }

    /// A geometry literal, in the filter's CRS, as EPSG:4326.
    fn geometry(
        &self,
        geometry: &cql2::Geometry,
        sql: &mut QueryBuilder<'_, Postgres>,
    ) -> Result<()> {
        let wkt = geometry
            .to_wkt()
            .map_err(|e| invalid(format!("a geometry cannot be read: {e}")))?;
        let flip = if self.crs.lat_first {
            "ST_FlipCoordinates"
        } else {
            ""
        };
        sql.push(format!("ST_Transform({flip}(ST_GeomFromText("));
        sql.push_bind(wkt);
        sql.push(", ");
        sql.push_bind(self.crs.srid);
        sql.push(")), 4326)");
        Ok(())
    }

    fn bbox(&self, corners: &[Box<Expr>], sql: &mut QueryBuilder<'_, Postgres>) -> Result<()> {
        let numbers: Vec<f64> = corners
            .iter()
            .map(|c| match **c {
                Expr::Float(v) if v.is_finite() => Ok(v),
                _ => Err(invalid("a BBOX holds numbers".into())),
            })
            .collect::<Result<_>>()?;
        let [w, s, e, n] = match numbers.as_slice() {
            [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
            _ => return Err(invalid("a BBOX holds 4 or 6 numbers".into())),
        };
        let [w, s, e, n] = if self.crs.lat_first {
            [s, w, n, e]
        } else {
            [w, s, e, n]
        };
        sql.push("ST_Transform(ST_MakeEnvelope(");
        for (i, v) in [w, s, e, n].into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push_bind(v);
        }
        sql.push(", ");
        sql.push_bind(self.crs.srid);
        sql.push("), 4326)");
        Ok(())
    }
}

/// A text literal typed for what it is compared with.
fn literal_text(text: &str, kind: Type, sql: &mut QueryBuilder<'_, Postgres>) -> Result<()> {
    match kind {
        Type::Number => {
            let number: f64 = text
                .trim()
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| invalid(format!("'{}' is compared with a number", short(text))))?;
            sql.push_bind(number);
        }
        Type::Date => {
            sql.push_bind(text.to_string());
            sql.push("::date");
        }
        Type::Timestamp => {
            sql.push_bind(text.to_string());
            sql.push("::timestamptz");
        }
        Type::Boolean => {
            let b = match text {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(invalid(format!(
                        "'{}' is compared with true or false",
                        short(text)
                    )));
                }
            };
            sql.push_bind(b);
        }
        _ => {
            sql.push_bind(text.to_string());
        }
    }
    Ok(())
}

/// A property compared with a value of another type.
fn mismatch(property: &str, own: Type, wanted: Type) -> FeaturesError {
    invalid(format!(
        "\"{}\" is {}, not {}",
        short(property),
        own.name(),
        wanted.name()
    ))
}

impl Type {
    /// The type as a message names it.
    fn name(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Number => "a number",
            Type::Boolean => "true or false",
            Type::Date => "a date",
            Type::Timestamp => "a time",
            Type::Geometry => "a geometry",
            Type::Unknown => "a value",
        }
    }

    fn or(self, other: Type) -> Type {
        if self == Type::Unknown { other } else { self }
    }
}

/// `expr` as CQL2 text for a message, cut short (it may be most of the filter).
fn describe(expr: &Expr) -> String {
    expr.to_text()
        .map_or_else(|_| "an expression".into(), |text| short(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Collection, Property, Source, Visibility};

    fn collection() -> Collection {
        let property = |name: &str, kind| Property {
            name: name.into(),
            column: format!("\"{name}\""),
            kind,
        };
        Collection {
            id: "fasilitas".into(),
            title: String::new(),
            description: String::new(),
            source: Some(Source {
                relation: "x".into(),
                id_column: "\"fid\"".into(),
                geometry_column: "\"geom\"".into(),
            }),
            properties: vec![
                property("nama", Kind::Text),
                property("kapasitas", Kind::Integer),
                property("dibuka", Kind::Date),
            ],
            visibility: Visibility::Public,
            agency: None,
            extent: None,
            features: 0,
            counted: true,
            geometry_type: None,
            record: crate::catalog::MetadataRecord {
                id: String::new(),
                metadata: Default::default(),
                agency: String::new(),
                agency_name: String::new(),
                extent: None,
                crs: String::new(),
                geometry_type: None,
                features: 0,
                updated: String::new(),
                public: true,
            },
            version: None,
        }
    }

    fn sql(text: &str) -> Result<String> {
        let mut builder = QueryBuilder::new("");
        push(
            &parse(text, Lang::Text)?,
            &collection(),
            super::super::crs::CRS84,
            &mut builder,
        )?;
        Ok(builder.sql().to_string())
    }

    #[test]
    fn values_become_parameters() {
        let s = sql("nama = 'x''; DROP TABLE t; --' AND kapasitas > 100").unwrap();
        assert_eq!(s, "((t.\"nama\" = $1) AND (t.\"kapasitas\" > $2))");
        let s = sql("nama LIKE 'SD%' OR kapasitas BETWEEN 1 AND 5").unwrap();
        assert!(
            s.contains("LIKE $1") && s.contains("BETWEEN $2 AND $3"),
            "{s}"
        );
    }

    #[test]
    fn spatial_filters_are_parameterised() {
        let s =
            sql("S_INTERSECTS(geometry, POLYGON((116.8 -1.3, 117 -1.3, 117 -1.1, 116.8 -1.3)))")
                .unwrap();
        assert_eq!(
            s,
            "ST_Intersects(t.\"geom\", ST_Transform((ST_GeomFromText($1, $2)), 4326))"
        );
        let s = sql("s_within(geometry, BBOX(116.8, -1.3, 117, -1.1))").unwrap();
        assert!(
            s.starts_with("ST_Within(t.\"geom\", ST_Transform(ST_MakeEnvelope($1, $2, $3, $4, $5)")
        );
    }

    #[test]
    fn unknown_names_and_bad_values_are_refused() {
        assert!(
            sql("pg_sleep = 1")
                .unwrap_err()
                .to_string()
                .contains("not a queryable")
        );
        assert!(sql("kapasitas = 'banyak'").is_err());
        assert!(sql("t_before(dibuka, DATE('2020-01-01'))").is_err());
        let deep = format!("{}kapasitas = 1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(sql(&deep).unwrap_err().to_string().contains("nests"));
        let fine = format!("{}kapasitas = 1{}", "(".repeat(8), ")".repeat(8));
        assert!(sql(&fine).is_ok());
        let json = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&json, Lang::Json).is_err());
        // Chains nest without brackets; groups make the parser backtrack.
        for chain in [
            "kapasitas=1",
            "kapasitas=1*",
            "kapasitas=1-",
            "kapasitas=1/",
            "kapasitas= NOT ",
        ] {
            let long = format!("kapasitas = {}1", chain.repeat(1000));
            assert!(sql(&long).is_err(), "{chain}");
        }
        let group = format!("{}1,1){}=kapasitas", "(".repeat(8), ",1)".repeat(7));
        let many = format!("kapasitas IN ({})", vec![group; 10].join(","));
        assert!(sql(&many).unwrap_err().to_string().contains("brackets"));
        // Values of another type than the property's.
        for mismatched in [
            "kapasitas = TRUE",
            "S_INTERSECTS(nama, geometry)",
            "nama = DATE('2020-01-01')",
            "geometry = 1",
        ] {
            assert!(sql(mismatched).is_err(), "{mismatched}");
        }
        // Prefix signs recurse too.
        let signs = format!("kapasitas = {}1", "-".repeat(4000));
        assert!(sql(&signs).unwrap_err().to_string().contains("signs"));
        assert!(sql("kapasitas = -1 AND kapasitas > - - 2").is_ok());
        // An unclosed quote hides nothing.
        for quote in ["\"", "'"] {
            let hidden = format!("{quote}{}", "(".repeat(5000));
            assert!(
                parse(&hidden, Lang::Text)
                    .unwrap_err()
                    .to_string()
                    .contains("nests")
            );
        }
    }

    #[test]
    fn numbers_out_of_range_and_long_values_are_refused_in_a_short_message() {
        for infinite in [
            "kapasitas = 1e400",
            "kapasitas IN (1, -1e999)",
            "kapasitas = '1e400'",
            "kapasitas = 'NaN'",
            "kapasitas = 'inf'",
        ] {
            let message = sql(infinite).unwrap_err().to_string();
            assert!(message.contains("compare"), "{infinite}: {message}");
        }
        let long = "x".repeat(5000);
        for filter in [
            format!("kapasitas = '{long}'"),
            format!("S_INTERSECTS(geometry, '{long}')"),
            format!("{long} = 1"),
            format!("{long}(kapasitas)"),
        ] {
            let message = sql(&filter).unwrap_err().to_string();
            assert!(message.len() < 400, "{}", message.len());
        }
    }

    #[test]
    fn json_and_text_agree() {
        let json = r#"{"op":"=","args":[{"property":"nama"},"SD 1"]}"#;
        let mut builder = QueryBuilder::new("");
        push(
            &parse(json, Lang::Json).unwrap(),
            &collection(),
            super::super::crs::CRS84,
            &mut builder,
        )
        .unwrap();
        assert_eq!(builder.sql(), sql("nama = 'SD 1'").unwrap());
    }
}
