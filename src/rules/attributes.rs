//! Reading a plan file's own rules from its attributes (the `--rules-from-attributes` import
//! policy). Exports such as the Jakarta RDTR carry, per polygon, the intensity as text (KDB, KLB,
//! KDH, KTB, height, floors, GSB) and the activity lists IZN (permitted, I), TBT (limited, T), BST
//! (conditional, B) and TBS (limited and conditional, TB).
//!
//! The steps: each feature's fields are found in any case (`lookup`) and its intensity text is
//! read into value steps by parcel size (`read_field`, a small hand-written tokenizer and
//! parser), which are combined into intensity tiers; its activity lists are read by name. Features
//! of one sub-zone that carry the same rules form one entry; a sub-zone carrying several rules is
//! split into variants `<code>/1`, `<code>/2`, ... Activities become an ITBX matrix in which an
//! activity a sub-zone does not list is X.
//!
//! Nothing is guessed silently: every reading that is a choice (Alternatif 1 of several, the
//! strictest road class, a tier stretched to 0 m², an absent value) is written in the notes, and
//! text that cannot be read is an error naming the feature, the field and the text. All errors
//! are returned together.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::{Activity, Condition, IntensityTier, ItbxCell, ItbxClass, RuleSet, Subzone};

/// A feature of the file whose sub-zone the import has resolved.
#[derive(Debug, Clone, Copy)]
pub struct AttributeFeature<'a> {
    /// The feature id in the file.
    pub fid: i64,
    /// The sub-zone the import resolved for it.
    pub subzone: &'a Subzone,
    /// Its attributes, by field name as the file writes it.
    pub attributes: &'a Map<String, Value>,
}

/// The rule set a file carries, and what was read.
#[derive(Debug)]
pub struct AttributeRules {
    /// The rule set: one entry per sub-zone, or per variant of a sub-zone.
    pub rules: RuleSet,
    /// Features whose sub-zone code changed because their sub-zone carries several different
    /// rules in the file (fid, new code).
    pub reassigned: Vec<(i64, String)>,
    /// What was read, in words, for the version's report (one line each).
    pub notes: Vec<String>,
}

/// Reads the rules `features` carry in their attributes; `source` names the file.
///
/// # Errors
/// Every problem found, one line each naming the fid(s), the field and the text: a missing KDB,
/// KLB or KDH, text that cannot be read, an activity listed in two classes.
pub fn rules_from_attributes(
    features: &[AttributeFeature<'_>],
    source: &str,
) -> Result<AttributeRules, Vec<String>> {
    let mut features: Vec<&AttributeFeature<'_>> = features.iter().collect();
    features.sort_by_key(|f| f.fid);
    let mut reader = Reader::default();
    let mut groups = Groups::default();
    for &feature in &features {
        if let Some(rules) = reader.feature(feature) {
            groups.add(feature, rules);
        }
    }
    if !reader.problems.is_empty() {
        return Err(reader.problems.into_lines());
    }
    let mut notes = Vec::new();
    let mut reassigned = Vec::new();
    let entries = entries(groups.by_code, &mut notes, &mut reassigned);
    notes.insert(0, summary(features.len(), &entries));
    notes.extend(reader.notes(features.len()));
    let matrix = matrix(&entries, &reader.names, reader.lists_seen, &mut notes);
    let rules = RuleSet {
        subzones: entries.iter().map(|e| e.subzone.clone()).collect(),
        intensity: entries.iter().flat_map(Entry::tiers).collect(),
        activities: matrix.activities,
        conditions: matrix.conditions,
        itbx: matrix.itbx,
        source: source.to_string(),
        ..Default::default()
    };
    Ok(AttributeRules {
        rules,
        reassigned,
        notes,
    })
}

// ---------------------------------------------------------------------------------------------
// Fields

/// An intensity field of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Field {
    Kdb,
    Klb,
    Kdh,
    Ktb,
    Height,
    Floors,
    Gsb,
}

impl Field {
    /// Every intensity field, in the order notes name them.
    const ALL: [Field; 7] = [
        Field::Kdb,
        Field::Klb,
        Field::Kdh,
        Field::Ktb,
        Field::Height,
        Field::Floors,
        Field::Gsb,
    ];

    /// The attribute names it is read from, in order of preference (matched in any case).
    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Kdb => &["KDB"],
            Field::Klb => &["KLB"],
            Field::Kdh => &["KDH"],
            Field::Ktb => &["KTB"],
            Field::Height => &["KTGBGN", "TINGGI", "KB"],
            Field::Floors => &["JLB"],
            Field::Gsb => &["GSB"],
        }
    }

    /// Its name in notes and errors.
    fn label(self) -> &'static str {
        match self {
            Field::Kdb => "KDB",
            Field::Klb => "KLB",
            Field::Kdh => "KDH",
            Field::Ktb => "KTB",
            Field::Height => "height",
            Field::Floors => "floors",
            Field::Gsb => "GSB",
        }
    }

    /// Whether the field sets a minimum (green area, setback) rather than a maximum.
    fn is_minimum(self) -> bool {
        matches!(self, Field::Kdh | Field::Gsb)
    }

    /// Whether a feature lacking the field is an error.
    fn is_required(self) -> bool {
        matches!(self, Field::Kdb | Field::Klb | Field::Kdh)
    }

    /// The largest value that makes sense (percentages, ratios, metres, floors).
    fn ceiling(self) -> f64 {
        match self {
            Field::Kdb | Field::Kdh | Field::Ktb | Field::Klb => 100.0,
            Field::Height | Field::Gsb => 1000.0,
            Field::Floors => 300.0,
        }
    }
}

/// Every attribute this reader looks at (upper case; matched in any case): a caller may keep only
/// these of each feature.
pub const RULE_FIELDS: [&str; 14] = [
    "KDB", "KLB", "KDH", "KTB", "KTGBGN", "TINGGI", "KB", "JLB", "GSB", "IZN", "TBT", "BST", "TBS",
    "KODUNK",
];

/// The activity lists and the class each gives.
const LISTS: [(&str, ItbxClass); 4] = [
    ("IZN", ItbxClass::I),
    ("TBT", ItbxClass::T),
    ("BST", ItbxClass::B),
    ("TBS", ItbxClass::TB),
];

/// A field a feature carries: its name as the file writes it, and its text.
type Found = Option<(String, String)>;

/// The value of the first of `names` the attributes carry (matched in any case), with the field
/// name as written. Empty values count as absent; two names carrying different values are an
/// error.
fn lookup(attributes: &Map<String, Value>, names: &[&str]) -> Result<Found, String> {
    let mut found: Found = None;
    for name in names {
        for (key, value) in attributes
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            let Some(text) = text_of(value).map_err(|what| format!("{key} is {what}, not text"))?
            else {
                continue;
            };
            match &found {
                None => found = Some((key.clone(), text)),
                Some((first, seen)) if *seen != text => {
                    return Err(format!("{first} \"{seen}\" and {key} \"{text}\" disagree"));
                }
                Some(_) => {}
            }
        }
    }
    Ok(found)
}

/// An attribute value as trimmed text; `None` when null or empty. A list (GISTARU writes
/// activity ids as one) is joined with commas.
fn text_of(value: &Value) -> Result<Option<String>, &'static str> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let parts: Result<Vec<_>, _> = items.iter().map(text_of).collect();
            parts?.into_iter().flatten().collect::<Vec<_>>().join(", ")
        }
        Value::Bool(_) => return Err("true or false"),
        Value::Object(_) => return Err("an object"),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// Whitespace runs made single spaces, ends trimmed.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------------
// Intensity text: tokens
//
// No crate parses this Indonesian regulation text ("Luas LP lebih dari 400 m2: Alternatif 1: 60,
// Alternatif 2: 40", "Kolektor Primer: 15 m"), so it is tokenized and parsed by hand below.

/// A token of intensity text. Words are lower case, `m²` is `m2`, a line break is `;`.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(String),
    Word(String),
    Symbol(char),
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Number(s) | Token::Word(s) => f.write_str(s),
            Token::Symbol(c) => write!(f, "{c}"),
        }
    }
}

/// Splits intensity text into tokens. A point or comma between digits belongs to the number
/// ("3,5", "1.000"); a point elsewhere is dropped ("maks. 60").
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        i += 1;
        if c.is_ascii_digit() {
            while let Some(&d) = chars.get(i) {
                let inner =
                    matches!(d, '.' | ',') && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if !(d.is_ascii_digit() || inner) {
                    break;
                }
                i += 1;
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() {
            while chars.get(i).is_some_and(|d| d.is_alphanumeric()) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(Token::Word(word.to_lowercase().replace('²', "2")));
        } else if let Some(symbol) = symbol(c) {
            tokens.push(Token::Symbol(symbol));
        } else if !(c.is_whitespace() || c == '.') {
            return Err(format!("cannot read the character '{c}'"));
        }
    }
    Ok(tokens)
}

/// The symbol a character stands for, if it is one the grammar knows.
fn symbol(c: char) -> Option<char> {
    match c {
        ':' | ';' | ',' | '-' | '%' | '<' | '>' | '=' | '/' | '≤' | '≥' => Some(c),
        '–' | '—' => Some('-'),
        '\n' => Some(';'),
        _ => None,
    }
}

/// A number as a value writes it, with one decimal comma or point ("3,5", "3.5").
fn decimal(text: &str) -> Result<f64, String> {
    let unreadable = || format!("cannot read the number \"{text}\"");
    if text.matches(['.', ',']).count() > 1 {
        return Err(unreadable());
    }
    text.replace(',', ".").parse().map_err(|_| unreadable())
}

/// A parcel area: points grouping three digits are thousands ("1.000" m²), as Indonesian
/// writes them; otherwise as [`decimal`].
fn area_number(text: &str) -> Result<f64, String> {
    let groups: Vec<&str> = text.split('.').collect();
    let thousands = groups.len() > 1
        && groups[0].len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3)
        && !text.contains(',');
    if thousands {
        decimal(&text.replace('.', ""))
    } else {
        decimal(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Intensity text: grammar
//
//   text       := clause ( [";" | ","] clause )*
//   clause     := [ "luas" parcel-word* size [":"] ] [field-code [":"]] body
//   size       := ("lebih dari" | "di atas" | ">" | "≥") area
//               | ("kurang dari" | "di bawah" | "<" | "≤" | "sampai dengan" | "s/d") area
//               | ["antara"] area ("-" | "sampai" | "hingga" | "s/d" | "dan") area
//   area       := number ["m2" | "meter persegi" | "ha"]
//   body       := ("alternatif" number ":" amount)+        -- alternatives
//               | (label ":" amount)+                      -- values by road class
//               | amount
//   amount     := [bound [":"]] number [unit] [("-" | "sampai" | "hingga" | "s/d") number [unit]]
//   bound      := "maksimum" | "maks" | "max" | "paling tinggi" | ... | "minimum" | "min" | ...
//   unit       := "%" | "persen" | "m" | "meter" | "lantai"
//
// A parcel of exactly a limit falls in the upper tier ("kurang dari 200" and "200-400" meet at
// 200 m²), as the tiers of a rule set count them.

/// Words that say a value is a maximum.
const MAX_WORDS: [&str; 6] = ["maksimum", "maksimal", "maks", "max", "maximum", "maximal"];

/// Words that say a value is a minimum.
const MIN_WORDS: [&str; 3] = ["minimum", "minimal", "min"];

/// Words naming the parcel after `luas`.
const PARCEL_WORDS: [&str; 9] = [
    "lp",
    "lahan",
    "persil",
    "parsil",
    "kaveling",
    "kavling",
    "tanah",
    "petak",
    "perpetakan",
];

/// Field codes a text may repeat before its value ("KDB: 60%").
const FIELD_WORDS: [&str; 6] = ["kdb", "klb", "kdh", "ktb", "gsb", "jlb"];

/// Words that cannot be part of a road-class label.
const RESERVED: [&str; 19] = [
    "luas",
    "alternatif",
    "maksimum",
    "maksimal",
    "maks",
    "max",
    "maximum",
    "maximal",
    "minimum",
    "minimal",
    "min",
    "paling",
    "kdb",
    "klb",
    "kdh",
    "ktb",
    "gsb",
    "jlb",
    "persen",
];

/// Whether a value is written as a maximum or a minimum.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Max,
    Min,
}

/// The unit written after a value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Plain,
    Percent,
    Metre,
    Floor,
}

/// A value as written: one number or a range, with its bound and unit.
#[derive(Debug, Clone, PartialEq)]
struct Amount {
    bound: Option<Bound>,
    low: Option<f64>,
    high: f64,
    unit: Unit,
}

/// Parcel sizes a clause applies to, m²: from `from` (inclusive) to `to`, open when `None`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    from: f64,
    to: Option<f64>,
}

/// What a clause sets.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// One value.
    Single(Amount),
    /// Numbered alternatives ("Alternatif 1: 60, Alternatif 2: 40").
    Alternatives(Vec<(String, Amount)>),
    /// Values by class of the fronting road ("Kolektor Primer: 15 m").
    RoadClasses(Vec<(String, Amount)>),
}

/// A clause: the parcel sizes it applies to (all when `None`) and what it sets.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    size: Option<Range>,
    body: Body,
}

/// Parses intensity text into clauses.
fn parse(text: &str) -> Result<Vec<Clause>, String> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    let mut clauses = Vec::new();
    loop {
        while parser.eat_symbol(&[';', ',']).is_some() {}
        if parser.peek().is_none() {
            return Ok(clauses);
        }
        clauses.push(parser.clause()?);
        let separated = parser.eat_symbol(&[';', ',']).is_some();
        if !(separated || parser.peek().is_none() || parser.is_word(0, &["luas"])) {
            return Err(format!("unexpected {}", parser.found()));
        }
    }
}

/// A recursive-descent parser over the tokens of one text.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// What the next token is, for an error message.
    fn found(&self) -> String {
        self.peek()
            .map_or("the end of the text".to_string(), |t| format!("\"{t}\""))
    }

    /// Whether the token `offset` ahead is one of `words`.
    fn is_word(&self, offset: usize, words: &[&str]) -> bool {
        matches!(self.tokens.get(self.at + offset), Some(Token::Word(w)) if words.contains(&w.as_str()))
    }

    /// Whether the token `offset` ahead is `symbol`.
    fn is_symbol(&self, offset: usize, symbol: char) -> bool {
        self.tokens.get(self.at + offset) == Some(&Token::Symbol(symbol))
    }

    fn eat_word(&mut self, words: &[&str]) -> bool {
        let found = self.is_word(0, words);
        self.at += usize::from(found);
        found
    }

    fn eat_symbol(&mut self, symbols: &[char]) -> Option<char> {
        let Some(Token::Symbol(c)) = self.peek() else {
            return None;
        };
        let c = *c;
        symbols.contains(&c).then(|| {
            self.at += 1;
            c
        })
    }

    fn expect_word(&mut self, word: &str) -> Result<(), String> {
        if self.eat_word(&[word]) {
            Ok(())
        } else {
            Err(format!("expected \"{word}\", found {}", self.found()))
        }
    }

    fn expect_symbol(&mut self, symbol: char) -> Result<(), String> {
        match self.eat_symbol(&[symbol]) {
            Some(_) => Ok(()),
            None => Err(format!("expected \"{symbol}\", found {}", self.found())),
        }
    }

    fn number(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Token::Number(n)) => {
                let n = n.clone();
                self.at += 1;
                Ok(n)
            }
            _ => Err(format!("expected a number, found {}", self.found())),
        }
    }

    /// Eats "s/d" (sampai dengan).
    fn eat_sd(&mut self) -> bool {
        let found = self.is_word(0, &["s"]) && self.is_symbol(1, '/') && self.is_word(2, &["d"]);
        self.at += if found { 3 } else { 0 };
        found
    }

    /// Eats the word between the ends of a range: "-", "sampai (dengan)", "hingga", "s/d".
    fn eat_range_word(&mut self) -> bool {
        if self.eat_symbol(&['-']).is_some() || self.eat_word(&["hingga"]) || self.eat_sd() {
            return true;
        }
        let found = self.eat_word(&["sampai"]);
        if found {
            self.eat_word(&["dengan"]);
        }
        found
    }

    /// Whether a road-class label ("kolektor primer :") starts `offset` tokens ahead.
    fn label_at(&self, offset: usize) -> bool {
        let mut n = offset;
        while let Some(Token::Word(w)) = self.tokens.get(self.at + n) {
            if RESERVED.contains(&w.as_str()) {
                return false;
            }
            n += 1;
        }
        n > offset && self.is_symbol(n, ':')
    }

    /// Whether another item follows, as `starts` tells, after an optional separator (which is
    /// eaten when it does).
    fn continues(&mut self, starts: impl Fn(&Parser, usize) -> bool) -> bool {
        if starts(self, 0) {
            return true;
        }
        let separated = self.is_symbol(0, ',') || self.is_symbol(0, ';');
        if separated && starts(self, 1) {
            self.at += 1;
            return true;
        }
        false
    }

    fn clause(&mut self) -> Result<Clause, String> {
        let size = if self.eat_word(&["luas"]) {
            let size = self.size()?;
            self.eat_symbol(&[':']);
            Some(size)
        } else {
            None
        };
        if self.eat_word(&FIELD_WORDS) {
            self.eat_symbol(&[':']);
        }
        Ok(Clause {
            size,
            body: self.body()?,
        })
    }

    fn size(&mut self) -> Result<Range, String> {
        while self.eat_word(&PARCEL_WORDS) {}
        if self.eat_word(&["lebih"]) {
            self.expect_word("dari")?;
            return self.above();
        }
        if self.eat_word(&["kurang"]) {
            self.expect_word("dari")?;
            return self.below();
        }
        if self.eat_word(&["diatas"]) || (self.is_word(1, &["atas"]) && self.eat_word(&["di"])) {
            self.at += usize::from(self.is_word(0, &["atas"]));
            return self.above();
        }
        if self.eat_word(&["dibawah"]) || (self.is_word(1, &["bawah"]) && self.eat_word(&["di"])) {
            self.at += usize::from(self.is_word(0, &["bawah"]));
            return self.below();
        }
        if self.eat_symbol(&['>', '≥']).is_some() {
            return self.above();
        }
        if self.eat_symbol(&['<', '≤']).is_some() || self.eat_range_word() {
            return self.below();
        }
        self.between()
    }

    /// Sizes from an area on ("lebih dari 400 m2").
    fn above(&mut self) -> Result<Range, String> {
        self.or_equal();
        Ok(Range {
            from: self.area()?,
            to: None,
        })
    }

    /// Sizes below an area ("kurang dari 200 m2").
    fn below(&mut self) -> Result<Range, String> {
        self.or_equal();
        let to = self.area()?;
        if to <= 0.0 {
            return Err(format!("no parcel is smaller than {to} m²"));
        }
        Ok(Range {
            from: 0.0,
            to: Some(to),
        })
    }

    /// Sizes between two areas ("200-400 m2", "antara 200 dan 400 m2").
    fn between(&mut self) -> Result<Range, String> {
        self.eat_word(&["antara"]);
        let from = self.area()?;
        if !(self.eat_range_word() || self.eat_word(&["dan"])) {
            return Err(format!(
                "expected a parcel-size range, found {}",
                self.found()
            ));
        }
        let to = self.area()?;
        if to <= from {
            return Err(format!("the parcel-size range {from}-{to} m² is empty"));
        }
        Ok(Range { from, to: Some(to) })
    }

    /// Eats "=" or "atau sama dengan" after a comparison.
    fn or_equal(&mut self) {
        if self.eat_symbol(&['=']).is_some() {
            return;
        }
        if self.is_word(0, &["atau"]) && self.is_word(1, &["sama"]) {
            self.at += 2;
            self.eat_word(&["dengan"]);
        }
    }

    /// An area in m² (hectares converted).
    fn area(&mut self) -> Result<f64, String> {
        let value = area_number(&self.number()?)?;
        if self.eat_word(&["ha", "hektar", "hektare"]) {
            return Ok(value * 10_000.0);
        }
        if self.eat_word(&["m", "meter"]) {
            self.expect_word("persegi")?;
        } else {
            self.eat_word(&["m2"]);
        }
        Ok(value)
    }

    fn body(&mut self) -> Result<Body, String> {
        if self.is_word(0, &["alternatif"]) {
            return self.alternatives().map(Body::Alternatives);
        }
        if self.label_at(0) {
            return self.road_classes().map(Body::RoadClasses);
        }
        self.amount().map(Body::Single)
    }

    fn alternatives(&mut self) -> Result<Vec<(String, Amount)>, String> {
        let mut out = Vec::new();
        while self.eat_word(&["alternatif"]) {
            let number = self.number()?;
            self.expect_symbol(':')?;
            out.push((number, self.amount()?));
            if !self.continues(|p, offset| p.is_word(offset, &["alternatif"])) {
                break;
            }
        }
        Ok(out)
    }

    fn road_classes(&mut self) -> Result<Vec<(String, Amount)>, String> {
        let mut out = Vec::new();
        loop {
            let mut words = Vec::new();
            while let Some(Token::Word(w)) = self.peek() {
                words.push(w.clone());
                self.at += 1;
            }
            self.expect_symbol(':')?;
            out.push((words.join(" "), self.amount()?));
            if !self.continues(Parser::label_at) {
                return Ok(out);
            }
        }
    }

    fn amount(&mut self) -> Result<Amount, String> {
        let bound = self.bound();
        if bound.is_some() {
            self.eat_symbol(&[':']);
        }
        let first = decimal(&self.number()?)?;
        let unit = self.unit();
        if !self.eat_range_word() {
            return Ok(Amount {
                bound,
                low: None,
                high: first,
                unit,
            });
        }
        let second = decimal(&self.number()?)?;
        let unit = match (unit, self.unit()) {
            (Unit::Plain, u) | (u, Unit::Plain) => u,
            (a, b) if a == b => a,
            _ => return Err("the ends of the range have different units".to_string()),
        };
        if first > second {
            return Err(format!("the range {first} - {second} runs downwards"));
        }
        Ok(Amount {
            bound,
            low: Some(first),
            high: second,
            unit,
        })
    }

    fn bound(&mut self) -> Option<Bound> {
        if self.eat_word(&MAX_WORDS) {
            return Some(Bound::Max);
        }
        if self.eat_word(&MIN_WORDS) {
            return Some(Bound::Min);
        }
        if !self.is_word(0, &["paling"]) {
            return None;
        }
        let bound = if self.is_word(1, &["tinggi", "banyak", "besar", "luas"]) {
            Bound::Max
        } else if self.is_word(1, &["sedikit", "rendah", "kecil"]) {
            Bound::Min
        } else {
            return None;
        };
        self.at += 2;
        Some(bound)
    }

    fn unit(&mut self) -> Unit {
        if self.eat_symbol(&['%']).is_some() || self.eat_word(&["persen"]) {
            Unit::Percent
        } else if self.eat_word(&["m", "meter", "metre"]) {
            Unit::Metre
        } else if self.eat_word(&["lantai", "lt"]) {
            Unit::Floor
        } else {
            Unit::Plain
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Intensity text: meaning

/// A choice made in reading a text, reported in the notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Choice {
    /// Alternatif 1 taken of several.
    FirstAlternative,
    /// The strictest of the values by road class taken.
    RoadClass,
    /// The first parcel-size tier started above 0 m² and was stretched to 0.
    FromZero,
    /// The last parcel-size tier was closed and was opened.
    Open,
    /// KLB written in % read as a ratio.
    KlbPercent,
    /// KLB gave one number: the maximum, with minimum 0.
    KlbMinZero,
}

/// The value of a field for a range of parcel sizes: `high` is the value (the maximum of a KLB
/// range), `low` the KLB minimum (0 for the other fields).
#[derive(Debug, Clone, PartialEq)]
struct Step {
    from: f64,
    to: Option<f64>,
    low: f64,
    high: f64,
}

/// A field's text as read: steps covering every parcel size, and the choices made.
#[derive(Debug, Clone)]
struct Reading {
    steps: Vec<Step>,
    choices: Vec<Choice>,
}

/// Reads a field's text into steps that start at 0 m², follow each other and end open.
fn read_field(field: Field, text: &str) -> Result<Reading, String> {
    let clauses = parse(text)?;
    if clauses.is_empty() {
        return Err("has no value".to_string());
    }
    if clauses.len() > 1 && clauses.iter().any(|c| c.size.is_none()) {
        return Err("gives several values, not each for a parcel size".to_string());
    }
    let mut choices = BTreeSet::new();
    let mut steps = Vec::new();
    for clause in clauses {
        let amount = pick(field, clause.body, &mut choices)?;
        let (low, high) = value(field, &amount, &mut choices)?;
        let range = clause.size.unwrap_or(Range {
            from: 0.0,
            to: None,
        });
        steps.push(Step {
            from: range.from,
            to: range.to,
            low,
            high,
        });
    }
    Ok(Reading {
        steps: chain(steps, &mut choices)?,
        choices: choices.into_iter().collect(),
    })
}

/// The value a clause sets: Alternatif 1 of alternatives, the strictest of road classes.
fn pick(field: Field, body: Body, choices: &mut BTreeSet<Choice>) -> Result<Amount, String> {
    match body {
        Body::Single(amount) => Ok(amount),
        Body::Alternatives(list) => {
            if list.len() > 1 {
                choices.insert(Choice::FirstAlternative);
            }
            list.into_iter()
                .find(|(n, _)| n == "1")
                .map(|(_, amount)| amount)
                .ok_or_else(|| "gives alternatives but no Alternatif 1".to_string())
        }
        Body::RoadClasses(list) => {
            choices.insert(Choice::RoadClass);
            let stricter = |a: &Amount, b: &Amount| {
                if field.is_minimum() {
                    b.high > a.high
                } else {
                    b.high < a.high
                }
            };
            list.into_iter()
                .map(|(_, amount)| amount)
                .reduce(|a, b| if stricter(&a, &b) { b } else { a })
                .ok_or_else(|| "has no value".to_string())
        }
    }
}

/// The value of an amount in the field's unit (% 0..100, KLB ratio, metres, floors), checked.
fn value(
    field: Field,
    amount: &Amount,
    choices: &mut BTreeSet<Choice>,
) -> Result<(f64, f64), String> {
    match (amount.bound, field.is_minimum()) {
        (Some(Bound::Min), false) => {
            return Err(format!("says minimum, but {} is a maximum", field.label()));
        }
        (Some(Bound::Max), true) => {
            return Err(format!("says maximum, but {} is a minimum", field.label()));
        }
        _ => {}
    }
    if amount.low.is_some() && field != Field::Klb {
        return Err("gives a range; only KLB is read as one".to_string());
    }
    let scale = scale(field, amount.unit, choices)?;
    if field == Field::Klb && amount.low.is_none() {
        choices.insert(Choice::KlbMinZero);
    }
    let (low, high) = (amount.low.unwrap_or(0.0) * scale, amount.high * scale);
    if !(0.0..=field.ceiling()).contains(&high) {
        return Err(format!("{high} is outside 0..{}", field.ceiling()));
    }
    let percentage = matches!(field, Field::Kdb | Field::Kdh | Field::Ktb);
    if percentage && amount.unit == Unit::Plain && high > 0.0 && high < 1.0 {
        return Err(format!(
            "{high} reads as {high} %, which looks like a fraction: write the percentage (60 for 60 %), or {high}% if {high} % is meant"
        ));
    }
    if field == Field::Floors && high.fract() != 0.0 {
        return Err(format!("{high} is not a whole number of floors"));
    }
    Ok((low, high))
}

/// The factor from the written unit to the field's unit; a unit the field cannot have is an
/// error.
fn scale(field: Field, unit: Unit, choices: &mut BTreeSet<Choice>) -> Result<f64, String> {
    match (field, unit) {
        (Field::Kdb | Field::Kdh | Field::Ktb, Unit::Plain | Unit::Percent)
        | (Field::Klb, Unit::Plain)
        | (Field::Height | Field::Gsb, Unit::Plain | Unit::Metre)
        | (Field::Floors, Unit::Plain | Unit::Floor) => Ok(1.0),
        (Field::Klb, Unit::Percent) => {
            choices.insert(Choice::KlbPercent);
            Ok(0.01)
        }
        (_, unit) => {
            let written = match unit {
                Unit::Percent => "a percentage",
                Unit::Metre => "metres",
                Unit::Floor => "floors",
                Unit::Plain => "a number",
            };
            Err(format!("gives {written}, which {} is not", field.label()))
        }
    }
}

/// Orders the steps by parcel size and checks they follow each other; a first step starting
/// above 0 m² is stretched to 0, a closed last step is opened (both noted), a gap or an overlap
/// is an error. Neighbouring steps with the same value are merged.
fn chain(mut steps: Vec<Step>, choices: &mut BTreeSet<Choice>) -> Result<Vec<Step>, String> {
    steps.sort_by(|a, b| a.from.total_cmp(&b.from));
    let Some(first) = steps.first_mut() else {
        return Err("has no value".to_string());
    };
    if first.from > 0.0 {
        first.from = 0.0;
        choices.insert(Choice::FromZero);
    }
    for pair in steps.windows(2) {
        match pair[0].to {
            Some(to) if to == pair[1].from => {}
            Some(to) if to < pair[1].from => {
                return Err(format!(
                    "sets nothing for parcels from {to} to {} m²",
                    pair[1].from
                ));
            }
            _ => {
                return Err(format!(
                    "has parcel-size ranges that overlap at {} m²",
                    pair[1].from
                ));
            }
        }
    }
    if let Some(last) = steps.last_mut().filter(|s| s.to.is_some()) {
        last.to = None;
        choices.insert(Choice::Open);
    }
    steps.dedup_by(|next, kept| {
        let same = next.low == kept.low && next.high == kept.high;
        if same {
            kept.to = next.to;
        }
        same
    });
    Ok(steps)
}

/// The step that covers a parcel of `area` m².
fn step_at(steps: &[Step], area: f64) -> Option<&Step> {
    steps
        .iter()
        .find(|s| area >= s.from && s.to.is_none_or(|to| area < to))
}

/// Intensity tiers (without their sub-zone) from the steps of each field: a tier starts wherever
/// one field's value changes. An absent KTB is 0; absent height, floors and GSB stay `None`.
fn tiers(fields: &BTreeMap<Field, Vec<Step>>) -> Vec<IntensityTier> {
    let mut breaks: Vec<f64> = fields.values().flatten().map(|s| s.from).collect();
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    let at = |field: Field, area: f64| fields.get(&field).and_then(|s| step_at(s, area));
    let high = |field: Field, area: f64| at(field, area).map(|s| s.high);
    breaks
        .iter()
        .enumerate()
        .map(|(i, &from)| IntensityTier {
            subzone: String::new(),
            min_parcel_m2: from,
            max_parcel_m2: breaks.get(i + 1).copied(),
            kdb_max: high(Field::Kdb, from).unwrap_or(0.0),
            klb_min: at(Field::Klb, from).map_or(0.0, |s| s.low),
            klb_max: high(Field::Klb, from).unwrap_or(0.0),
            kdh_min: high(Field::Kdh, from).unwrap_or(0.0),
            ktb_max: high(Field::Ktb, from).unwrap_or(0.0),
            max_height_m: high(Field::Height, from),
            max_floors: high(Field::Floors, from).map(|f| f as i32),
            gsb_m: high(Field::Gsb, from),
            min_lot_m2: None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Activity lists

/// An activity as a feature lists it: its class, the list it is in and its condition texts
/// (keys in lower case).
#[derive(Debug, Clone, PartialEq)]
struct Listing {
    class: ItbxClass,
    list: &'static str,
    conditions: Vec<String>,
}

/// One item of an activity list: "Bengkel (jam operasional 07-22)".
struct Item {
    name: String,
    condition: Option<String>,
}

/// Splits an activity list at commas, semicolons and line breaks outside parentheses; empty
/// items and "-" are skipped.
fn split_list(text: &str) -> Result<Vec<Item>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Err("a \")\" has no \"(\"".to_string()),
            ')' => depth -= 1,
            ',' | ';' | '\n' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if depth > 0 {
        return Err("a \"(\" is not closed".to_string());
    }
    parts.push(current);
    parts
        .iter()
        .map(|p| squash(p))
        .filter(|p| !p.is_empty() && p != "-")
        .map(|p| item(&p))
        .collect()
}

/// An activity name with its condition text in parentheses, if any.
fn item(text: &str) -> Result<Item, String> {
    let Some(open) = text.find('(') else {
        return Ok(Item {
            name: text.to_string(),
            condition: None,
        });
    };
    let inner = text[open + 1..].strip_suffix(')');
    let balanced = inner.is_some_and(|inner| {
        inner
            .chars()
            .try_fold(0i32, |depth, c| match c {
                '(' => Some(depth + 1),
                ')' => (depth > 0).then_some(depth - 1),
                _ => Some(depth),
            })
            .is_some()
    });
    let (Some(inner), true) = (inner, balanced) else {
        return Err(format!(
            "the item \"{text}\" is not an activity with one condition in parentheses at its end"
        ));
    };
    let name = squash(&text[..open]);
    if name.is_empty() {
        return Err(format!(
            "the item \"{text}\" has a condition but no activity"
        ));
    }
    let condition = squash(inner);
    Ok(Item {
        name,
        condition: (!condition.is_empty()).then_some(condition),
    })
}

/// Activity names and condition texts as first written, by their lower-case keys.
#[derive(Default)]
struct Names {
    activities: BTreeMap<String, String>,
    conditions: HashMap<String, String>,
}

// ---------------------------------------------------------------------------------------------
// Reading the features

/// The activities a feature lists, by lower-case name: shared by the features that list the
/// same, and numbered for comparing.
#[derive(Clone)]
struct Listings {
    id: usize,
    map: Rc<BTreeMap<String, Listing>>,
}

/// The rules one feature carries.
struct FeatureRules {
    tiers: Vec<IntensityTier>,
    listings: Rc<BTreeMap<String, Listing>>,
    /// Per field, the reading in comparable form: equal signatures are equal rules.
    signature: Vec<(&'static str, String)>,
    /// The signature as one key.
    key: String,
}

impl FeatureRules {
    fn new(fields: &BTreeMap<Field, Vec<Step>>, listings: Listings) -> Self {
        let mut signature: Vec<(&'static str, String)> = Field::ALL
            .iter()
            .map(|f| (f.label(), format!("{:?}", fields.get(f))))
            .collect();
        signature.push(("the activity lists", listings.id.to_string()));
        Self {
            tiers: tiers(fields),
            listings: listings.map,
            key: format!("{signature:?}"),
            signature,
        }
    }
}

/// A number of features and the first of them, for a note.
struct Example {
    count: usize,
    fid: i64,
    text: String,
}

/// Problems found, each with the features it was found in.
#[derive(Default)]
struct Problems {
    index: HashMap<String, usize>,
    list: Vec<(String, Vec<i64>)>,
}

impl Problems {
    fn push(&mut self, fid: i64, message: String) {
        let i = *self.index.entry(message.clone()).or_insert_with(|| {
            self.list.push((message, Vec::new()));
            self.list.len() - 1
        });
        self.list[i].1.push(fid);
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// One line per problem: "fid 12: KDB \"abc\": ...", or "fids 12, 13, ...: ..." when several
    /// features share it.
    fn into_lines(self) -> Vec<String> {
        self.list
            .into_iter()
            .map(|(message, fids)| format!("{}: {message}", fid_words(&fids)))
            .collect()
    }
}

/// "fid 3", "fids 3, 5, 8", "fids 3, 5, 8, 9, 12 and 40 more".
fn fid_words(fids: &[i64]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<String> = fids.iter().take(SHOWN).map(i64::to_string).collect();
    let more = fids.len().saturating_sub(SHOWN);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let word = if fids.len() == 1 { "fid" } else { "fids" };
    format!("{word} {}{tail}", shown.join(", "))
}

/// Reads the features one by one, keeping what the notes need.
#[derive(Default)]
struct Reader {
    /// Readings by field and text: a file repeats the same few texts many times.
    readings: HashMap<(Field, String), Result<Reading, String>>,
    problems: Problems,
    choices: BTreeMap<(Field, Choice), Example>,
    absent: BTreeMap<Field, usize>,
    names: Names,
    /// Whether any feature lists an activity.
    lists_seen: bool,
    /// Listings by the texts of the four lists (as [`lookup`] finds them), or their problems.
    lists: HashMap<Vec<Found>, Result<Listings, Vec<String>>>,
    /// The distinct listings, numbered, by their written form.
    distinct: HashMap<String, Listings>,
}

impl Reader {
    /// The rules of a feature; `None` when it has problems (they are recorded).
    fn feature(&mut self, feature: &AttributeFeature<'_>) -> Option<FeatureRules> {
        let fields = self.intensity(feature);
        let listings = self.activities(feature);
        Some(FeatureRules::new(&fields?, listings?))
    }

    fn intensity(&mut self, feature: &AttributeFeature<'_>) -> Option<BTreeMap<Field, Vec<Step>>> {
        let mut fields = BTreeMap::new();
        let mut ok = true;
        for field in Field::ALL {
            match self.field(feature, field) {
                Ok(Some(steps)) => {
                    fields.insert(field, steps);
                }
                Ok(None) => {}
                Err(()) => ok = false,
            }
        }
        ok.then_some(fields)
    }

    /// A field's steps; `None` when an optional field is absent (an absent KTB reads as 0).
    fn field(
        &mut self,
        feature: &AttributeFeature<'_>,
        field: Field,
    ) -> Result<Option<Vec<Step>>, ()> {
        let found = lookup(feature.attributes, field.names())
            .map_err(|message| self.problems.push(feature.fid, message))?;
        let Some((name, text)) = found else {
            return self.absent(feature.fid, field);
        };
        let reading = self
            .readings
            .entry((field, text.clone()))
            .or_insert_with(|| read_field(field, &text))
            .clone();
        match reading {
            Ok(reading) => {
                for &choice in &reading.choices {
                    self.tally(field, choice, feature.fid, &text);
                }
                Ok(Some(reading.steps))
            }
            Err(message) => {
                let message = format!("{name} \"{text}\": {message}");
                self.problems.push(feature.fid, message);
                Err(())
            }
        }
    }

    /// A field the feature lacks: an error for KDB, KLB and KDH, counted for the others.
    fn absent(&mut self, fid: i64, field: Field) -> Result<Option<Vec<Step>>, ()> {
        if field.is_required() {
            self.problems
                .push(fid, format!("{} is missing", field.label()));
            return Err(());
        }
        *self.absent.entry(field).or_default() += 1;
        Ok((field == Field::Ktb).then(|| {
            vec![Step {
                from: 0.0,
                to: None,
                low: 0.0,
                high: 0.0,
            }]
        }))
    }

    fn tally(&mut self, field: Field, choice: Choice, fid: i64, text: &str) {
        self.choices
            .entry((field, choice))
            .or_insert_with(|| Example {
                count: 0,
                fid,
                text: text.to_string(),
            })
            .count += 1;
    }

    /// The activities a feature lists; `None` when it has problems (they are recorded).
    fn activities(&mut self, feature: &AttributeFeature<'_>) -> Option<Listings> {
        let mut texts = Vec::new();
        for (list, _) in LISTS {
            match lookup(feature.attributes, &[list]) {
                Ok(found) => texts.push(found),
                Err(message) => self.problems.push(feature.fid, message),
            }
        }
        if texts.len() < LISTS.len() {
            return None;
        }
        let read = match self.lists.get(&texts) {
            Some(read) => read.clone(),
            None => {
                let read = self.read_lists(&texts);
                self.lists.insert(texts, read.clone());
                read
            }
        };
        read.map_err(|messages| {
            for message in messages {
                self.problems.push(feature.fid, message);
            }
        })
        .ok()
    }

    /// Reads the four lists' texts (name as written, text) into listings, or their problems.
    fn read_lists(&mut self, texts: &[Found]) -> Result<Listings, Vec<String>> {
        let mut listings = BTreeMap::new();
        let mut problems = Vec::new();
        for (&list, found) in LISTS.iter().zip(texts) {
            let Some((name, text)) = found else { continue };
            match split_list(text) {
                Ok(items) => {
                    self.lists_seen |= !items.is_empty();
                    let added = items
                        .into_iter()
                        .filter_map(|item| self.list_item(list, item, &mut listings).err());
                    problems.extend(added);
                }
                Err(message) => problems.push(format!("{name} \"{text}\": {message}")),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let count = self.distinct.len();
        let written = format!("{listings:?}");
        let shared = self.distinct.entry(written).or_insert_with(|| Listings {
            id: count,
            map: Rc::new(listings),
        });
        Ok(shared.clone())
    }

    /// Adds one list item to a feature's listings; an activity in two lists, or a condition on a
    /// permitted activity, is a problem.
    fn list_item(
        &mut self,
        (list, class): (&'static str, ItbxClass),
        item: Item,
        listings: &mut BTreeMap<String, Listing>,
    ) -> Result<(), String> {
        let key = item.name.to_lowercase();
        self.names
            .activities
            .entry(key.clone())
            .or_insert_with(|| item.name.clone());
        let listing = listings.entry(key).or_insert_with(|| Listing {
            class,
            list,
            conditions: Vec::new(),
        });
        if listing.class != class {
            return Err(format!(
                "\"{}\" is listed in both {} and {list}",
                item.name, listing.list
            ));
        }
        let Some(condition) = item.condition else {
            return Ok(());
        };
        if class == ItbxClass::I {
            return Err(format!(
                "{list} gives \"{}\" the condition \"{condition}\", but a permitted activity carries none",
                item.name
            ));
        }
        let condition_key = condition.to_lowercase();
        self.names
            .conditions
            .entry(condition_key.clone())
            .or_insert(condition);
        listing.conditions.push(condition_key);
        listing.conditions.sort();
        listing.conditions.dedup();
        Ok(())
    }

    /// Notes on the choices made in reading texts and on absent fields.
    fn notes(&self, total: usize) -> Vec<String> {
        let mut notes: Vec<String> = self
            .choices
            .iter()
            .map(|(&(field, choice), example)| choice_note(field, choice, example))
            .collect();
        notes.extend(
            self.absent
                .iter()
                .map(|(&field, &count)| absent_note(field, count, total)),
        );
        notes
    }
}

/// The note on a choice made in reading a field.
fn choice_note(field: Field, choice: Choice, example: &Example) -> String {
    let label = field.label();
    let what = match choice {
        Choice::FirstAlternative => {
            format!("{label} offers alternatives: Alternatif 1 is read")
        }
        Choice::RoadClass if field.is_minimum() => format!(
            "{label} is given by road class: the highest value (the strictest) is read for every road"
        ),
        Choice::RoadClass => format!(
            "{label} is given by road class: the lowest value (the strictest) is read for every road"
        ),
        Choice::FromZero => format!(
            "{label} sets its first parcel-size tier above 0 m²: that tier is read as starting at 0 m²"
        ),
        Choice::Open => format!(
            "{label} closes its last parcel-size tier: that tier is read as applying to all larger parcels"
        ),
        Choice::KlbPercent => "KLB is written in %: read as a ratio (divided by 100)".to_string(),
        Choice::KlbMinZero => {
            "KLB gives one number: read as the maximum, the minimum is 0".to_string()
        }
    };
    let features = if example.count == 1 {
        "1 feature".to_string()
    } else {
        format!("{} features", example.count)
    };
    format!(
        "{what} ({features}, e.g. fid {}: \"{}\")",
        example.fid, example.text
    )
}

/// The note on a field that some features lack.
fn absent_note(field: Field, count: usize, total: usize) -> String {
    match field {
        Field::Ktb => format!("KTB absent in {count} features: read as 0 % (no basement)"),
        Field::Height => format!(
            "height (KTGBGN, TINGGI or KB) absent in {count} of {total} features: no height limit read"
        ),
        Field::Floors => {
            format!("floors (JLB) absent in {count} of {total} features: no floor limit read")
        }
        Field::Gsb => format!("GSB absent in {count} of {total} features: no setback read"),
        Field::Kdb | Field::Klb | Field::Kdh => {
            format!("{} absent in {count} features", field.label())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Grouping into sub-zones and variants

/// The features of one sub-zone that carry the same rules.
struct Group<'a> {
    subzone: &'a Subzone,
    rules: FeatureRules,
    fids: Vec<i64>,
    kodunk: BTreeSet<String>,
}

/// The features grouped by sub-zone code, then by the rules they carry.
#[derive(Default)]
struct Groups<'a> {
    by_code: BTreeMap<String, Vec<Group<'a>>>,
    /// The group of each (sub-zone code, rules key).
    index: HashMap<(String, String), usize>,
}

impl<'a> Groups<'a> {
    /// Adds a feature to the group of its sub-zone and rules (a new one if none carries them).
    fn add(&mut self, feature: &AttributeFeature<'a>, rules: FeatureRules) {
        let code = feature.subzone.code.clone();
        let groups = self.by_code.entry(code.clone()).or_default();
        let i = *self
            .index
            .entry((code, rules.key.clone()))
            .or_insert_with(|| {
                groups.push(Group {
                    subzone: feature.subzone,
                    rules,
                    fids: Vec::new(),
                    kodunk: BTreeSet::new(),
                });
                groups.len() - 1
            });
        groups[i].fids.push(feature.fid);
        // KODUNK only names variants: a value that cannot be read is left out.
        if let Ok(Some((_, kodunk))) = lookup(feature.attributes, &["KODUNK"]) {
            groups[i].kodunk.insert(kodunk);
        }
    }
}

/// One entry of the rule set: a sub-zone, or a variant of one, with its features.
struct Entry<'a> {
    subzone: Subzone,
    group: Group<'a>,
}

impl Entry<'_> {
    /// The entry's intensity tiers.
    fn tiers(&self) -> impl Iterator<Item = IntensityTier> + '_ {
        self.group.rules.tiers.iter().map(|t| IntensityTier {
            subzone: self.subzone.code.clone(),
            ..t.clone()
        })
    }
}

/// The entries of the rule set: a sub-zone whose features carry one set of rules keeps its code;
/// one carrying several is split into variants `<code>/1`, `<code>/2`, ... by number of features
/// (then first fid), noted, and its features listed as reassigned.
fn entries<'a>(
    by_code: BTreeMap<String, Vec<Group<'a>>>,
    notes: &mut Vec<String>,
    reassigned: &mut Vec<(i64, String)>,
) -> Vec<Entry<'a>> {
    let mut out = Vec::new();
    for (code, mut groups) in by_code {
        if groups.len() == 1 {
            let group = groups.remove(0);
            out.push(Entry {
                subzone: group.subzone.clone(),
                group,
            });
            continue;
        }
        groups.sort_by(|a, b| {
            b.fids
                .len()
                .cmp(&a.fids.len())
                .then(a.fids[0].cmp(&b.fids[0]))
        });
        notes.push(variant_note(&code, &groups));
        for (i, group) in groups.into_iter().enumerate() {
            let subzone = Subzone {
                code: format!("{code}/{}", i + 1),
                name: format!("{} (varian {})", group.subzone.name, i + 1),
                ..group.subzone.clone()
            };
            reassigned.extend(group.fids.iter().map(|&fid| (fid, subzone.code.clone())));
            out.push(Entry { subzone, group });
        }
    }
    reassigned.sort();
    out
}

/// "R-2 carries 3 different rules in the file: variants R-2/1 (120 features), R-2/2 (4), R-2/3
/// (1); they differ in KDB (KODUNK: R-2/1 = ..., R-2/2 = ...)".
fn variant_note(code: &str, groups: &[Group<'_>]) -> String {
    let variants: Vec<String> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| match i {
            0 => format!("{code}/1 ({} features)", g.fids.len()),
            _ => format!("{code}/{} ({})", i + 1, g.fids.len()),
        })
        .collect();
    let first = &groups[0].rules.signature;
    let differing: Vec<&str> = first
        .iter()
        .enumerate()
        .filter(|&(i, (_, value))| groups.iter().any(|g| g.rules.signature[i].1 != *value))
        .map(|(_, (label, _))| *label)
        .collect();
    let kodunk: Vec<String> = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.kodunk.is_empty())
        .map(|(i, g)| format!("{code}/{} = {}", i + 1, some_of(&g.kodunk)))
        .collect();
    let kodunk = if kodunk.is_empty() {
        String::new()
    } else {
        format!(" (KODUNK: {})", kodunk.join("; "))
    };
    format!(
        "{code} carries {} different rules in the file: variants {}; they differ in {}{kodunk}",
        groups.len(),
        variants.join(", "),
        differing.join(", ")
    )
}

/// The first few values of a set, and how many more there are.
fn some_of(values: &BTreeSet<String>) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<&str> = values.iter().take(SHOWN).map(String::as_str).collect();
    match values.len().saturating_sub(SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The first note: what was read.
fn summary(features: usize, entries: &[Entry<'_>]) -> String {
    let subzones: BTreeSet<&str> = entries
        .iter()
        .map(|e| e.group.subzone.code.as_str())
        .collect();
    let tiers: usize = entries.iter().map(|e| e.group.rules.tiers.len()).sum();
    format!(
        "rules read from the attributes of {features} features: {} sub-zones, {} rule entries, {tiers} intensity tiers",
        subzones.len(),
        entries.len()
    )
}

// ---------------------------------------------------------------------------------------------
// The ITBX matrix

/// Activities, conditions and cells of the rule set.
struct Matrix {
    activities: Vec<Activity>,
    conditions: Vec<Condition>,
    itbx: Vec<ItbxCell>,
}

/// The ITBX matrix of the entries: activities by name (ids `A001`, ... in alphabetical order),
/// a cell for every entry and activity (X where the entry does not list it), condition codes
/// `T1`, ... for T and TB and `B1`, ... for B per distinct text.
fn matrix(
    entries: &[Entry<'_>],
    names: &Names,
    lists_seen: bool,
    notes: &mut Vec<String>,
) -> Matrix {
    if !lists_seen {
        notes.push(
            "the file sets no ITBX matrix: no feature lists activities in IZN, TBT, BST or TBS"
                .to_string(),
        );
        return Matrix {
            activities: Vec::new(),
            conditions: Vec::new(),
            itbx: Vec::new(),
        };
    }
    let activities: Vec<Activity> = names
        .activities
        .values()
        .enumerate()
        .map(|(i, name)| Activity {
            id: format!("A{:03}", i + 1),
            name: name.clone(),
            kbli: Vec::new(),
        })
        .collect();
    let (conditions, codes) = conditions(entries, names);
    let itbx = cells(entries, names, &activities, &codes);
    notes.extend(matrix_notes(entries, &activities, &conditions));
    Matrix {
        activities,
        conditions,
        itbx,
    }
}

/// Condition codes per distinct text, `T` for T and TB cells and `B` for B cells, numbered in
/// order of first use (entries in order, activities by name), with the code of each (prefix, key).
fn conditions(
    entries: &[Entry<'_>],
    names: &Names,
) -> (Vec<Condition>, HashMap<(char, String), String>) {
    let mut codes: HashMap<(char, String), String> = HashMap::new();
    let mut by_prefix: BTreeMap<char, Vec<Condition>> = BTreeMap::new();
    let listings = entries.iter().flat_map(|e| e.group.rules.listings.values());
    for listing in listings {
        let prefix = if listing.class == ItbxClass::B {
            'B'
        } else {
            'T'
        };
        for key in &listing.conditions {
            codes.entry((prefix, key.clone())).or_insert_with(|| {
                let list = by_prefix.entry(prefix).or_default();
                let code = format!("{prefix}{}", list.len() + 1);
                let text = names.conditions.get(key).unwrap_or(key).clone();
                list.push(Condition {
                    code: code.clone(),
                    text,
                });
                code
            });
        }
    }
    let mut conditions: Vec<Condition> = by_prefix.remove(&'T').unwrap_or_default();
    conditions.extend(by_prefix.remove(&'B').unwrap_or_default());
    (conditions, codes)
}

/// A cell for every entry and activity: the listed class, or X.
fn cells(
    entries: &[Entry<'_>],
    names: &Names,
    activities: &[Activity],
    codes: &HashMap<(char, String), String>,
) -> Vec<ItbxCell> {
    let keys: Vec<&String> = names.activities.keys().collect();
    let mut out = Vec::new();
    for entry in entries {
        for (key, activity) in keys.iter().zip(activities) {
            let listing = entry.group.rules.listings.get(*key);
            let class = listing.map_or(ItbxClass::X, |l| l.class);
            let prefix = if class == ItbxClass::B { 'B' } else { 'T' };
            let conditions = listing
                .map(|l| {
                    l.conditions
                        .iter()
                        .filter_map(|c| codes.get(&(prefix, c.clone())).cloned())
                        .collect()
                })
                .unwrap_or_default();
            out.push(ItbxCell {
                activity: activity.id.clone(),
                subzone: entry.subzone.code.clone(),
                class,
                conditions,
            });
        }
    }
    out
}

/// The notes on the ITBX matrix.
fn matrix_notes(
    entries: &[Entry<'_>],
    activities: &[Activity],
    conditions: &[Condition],
) -> Vec<String> {
    let mut notes = vec![
        format!(
            "{} activities read by name from IZN (I), TBT (T), BST (B) and TBS (TB), ids A001.. in alphabetical order; they carry no KBLI codes and are found by name",
            activities.len()
        ),
        "activities not listed for a sub-zone are read as X (not permitted), as the file lists permitted ones only".to_string(),
    ];
    let unlisted: Vec<&str> = entries
        .iter()
        .filter(|e| e.group.rules.listings.is_empty())
        .map(|e| e.subzone.code.as_str())
        .collect();
    if !unlisted.is_empty() {
        notes.push(format!(
            "{} list no activities: every activity is X there",
            unlisted.join(", ")
        ));
    }
    if !conditions.is_empty() {
        let codes: Vec<&str> = conditions.iter().map(|c| c.code.as_str()).collect();
        notes.push(format!(
            "condition texts in parentheses in TBT, BST and TBS became conditions {} (T for limited, B for conditional activities), attached to their cells",
            codes.join(", ")
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subzone(code: &str) -> Subzone {
        Subzone {
            code: code.to_string(),
            catalog_code: "32103200".to_string(),
            name: format!("Sub-zona {code}"),
            zone: "R".to_string(),
            color: "#FFDC00".to_string(),
            code_source: "observed".to_string(),
        }
    }

    fn attributes(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    /// The usual intensity of a test feature, with `extra` fields added or replaced.
    fn plain(extra: &[(&str, &str)]) -> Map<String, Value> {
        let mut map = attributes(&[("KDB", "60"), ("KLB", "2"), ("KDH", "20")]);
        map.extend(attributes(extra));
        map
    }

    /// Reads features given as (fid, sub-zone, attributes).
    fn read(
        features: &[(i64, &Subzone, Map<String, Value>)],
    ) -> Result<AttributeRules, Vec<String>> {
        let features: Vec<AttributeFeature<'_>> = features
            .iter()
            .map(|(fid, subzone, attributes)| AttributeFeature {
                fid: *fid,
                subzone,
                attributes,
            })
            .collect();
        rules_from_attributes(&features, "test.gpkg")
    }

    fn has_note(rules: &AttributeRules, part: &str) -> bool {
        rules.notes.iter().any(|n| n.contains(part))
    }

    #[test]
    fn plain_numbers_percent_and_decimal_comma() {
        let r2 = subzone("R-2");
        let mut numeric = attributes(&[("klb", "0,5 - 3"), ("Kdh", "minimum 10%")]);
        numeric.insert("KDB".to_string(), Value::from(70));
        let rules = read(&[
            (
                1,
                &r2,
                attributes(&[("KDB", "maksimum: 60%"), ("KLB", "3,5"), ("KDH", "20 %")]),
            ),
            (
                2,
                &r2,
                attributes(&[("kdb", "max 60"), ("Klb", "3.5"), ("kdh", "20")]),
            ),
        ])
        .unwrap();
        let tier = &rules.rules.intensity[0];
        assert_eq!(rules.rules.intensity.len(), 1);
        assert_eq!((tier.kdb_max, tier.klb_min, tier.klb_max), (60.0, 0.0, 3.5));
        assert_eq!((tier.kdh_min, tier.ktb_max), (20.0, 0.0));
        assert_eq!((tier.min_parcel_m2, tier.max_parcel_m2), (0.0, None));
        assert_eq!(
            (tier.max_height_m, tier.max_floors, tier.gsb_m),
            (None, None, None)
        );
        assert!(
            rules.reassigned.is_empty(),
            "\"60\" and \"60%\" are the same rule"
        );
        assert!(has_note(
            &rules,
            "KTB absent in 2 features: read as 0 % (no basement)"
        ));
        assert!(has_note(&rules, "KLB gives one number"));
        assert!(has_note(
            &rules,
            "height (KTGBGN, TINGGI or KB) absent in 2 of 2"
        ));

        let rules = read(&[(3, &r2, numeric)]).unwrap();
        let tier = &rules.rules.intensity[0];
        assert_eq!(
            (tier.kdb_max, tier.klb_min, tier.klb_max, tier.kdh_min),
            (70.0, 0.5, 3.0, 10.0)
        );

        let twice = read(&[(4, &r2, plain(&[("kdb", "50")]))]).unwrap_err();
        assert_eq!(twice, ["fid 4: KDB \"60\" and kdb \"50\" disagree"]);
    }

    #[test]
    fn tiered_text_with_alternatives() {
        let r2 = subzone("R-2");
        let kdb = "Luas LP kurang dari 200 m2: 70; Luas LP 200-400 m2: 65; \
                   Luas LP lebih dari 400 m2: Alternatif 1: 60, Alternatif 2: 40";
        let klb = "Luas LP kurang dari 400 m2: 2, Luas LP lebih dari 400 m2: 3";
        let rules = read(&[(1, &r2, plain(&[("KDB", kdb), ("KLB", klb)]))]).unwrap();
        let got: Vec<_> = rules
            .rules
            .intensity
            .iter()
            .map(|t| (t.min_parcel_m2, t.max_parcel_m2, t.kdb_max, t.klb_max))
            .collect();
        assert_eq!(
            got,
            [
                (0.0, Some(200.0), 70.0, 2.0),
                (200.0, Some(400.0), 65.0, 2.0),
                (400.0, None, 60.0, 3.0),
            ]
        );
        assert!(has_note(
            &rules,
            "KDB offers alternatives: Alternatif 1 is read (1 feature, e.g. fid 1"
        ));

        let only_large = "Luas LP lebih dari 1.000 m2: Alternatif 1: 60, Alternatif 2: 40";
        let rules = read(&[(2, &r2, plain(&[("KDB", only_large)]))]).unwrap();
        assert_eq!(rules.rules.intensity.len(), 1);
        assert_eq!(rules.rules.intensity[0].kdb_max, 60.0);
        assert!(has_note(
            &rules,
            "KDB sets its first parcel-size tier above 0 m²"
        ));
        let reading = read_field(Field::Kdb, only_large).unwrap();
        assert_eq!(reading.steps[0].from, 0.0);
        assert!(
            read_field(
                Field::Kdb,
                "Luas LP kurang dari 200 m2: 70; Luas LP lebih dari 400 m2: 60"
            )
            .is_err()
        );
    }

    #[test]
    fn height_and_setback_by_road_class_take_the_strictest() {
        let k1 = subzone("K-1");
        let rules = read(&[(
            1,
            &k1,
            plain(&[
                ("ktgbgn", "Kolektor Primer: 15 m, Lokal Primer: 12 m"),
                ("GSB", "Arteri Primer: 10 m; Lokal Primer: 4 m"),
                ("JLB", "maksimum 4 lantai"),
            ]),
        )])
        .unwrap();
        let tier = &rules.rules.intensity[0];
        assert_eq!(tier.max_height_m, Some(12.0));
        assert_eq!(tier.gsb_m, Some(10.0));
        assert_eq!(tier.max_floors, Some(4));
        assert!(has_note(
            &rules,
            "height is given by road class: the lowest value"
        ));
        assert!(has_note(
            &rules,
            "GSB is given by road class: the highest value"
        ));

        for (text, metres) in [
            ("15 m", 15.0),
            ("15", 15.0),
            ("maksimum 15 m", 15.0),
            ("20 meter", 20.0),
        ] {
            let rules = read(&[(2, &k1, plain(&[("Tinggi", text)]))]).unwrap();
            assert_eq!(
                rules.rules.intensity[0].max_height_m,
                Some(metres),
                "{text}"
            );
        }
    }

    #[test]
    fn a_subzone_with_several_rules_is_split_into_variants() {
        let (r2, r3) = (subzone("R-2"), subzone("R-3"));
        let rules = read(&[
            (10, &r2, plain(&[("KDB", "50"), ("KODUNK", "R2-b")])),
            (1, &r2, plain(&[("KODUNK", "R2-a")])),
            (2, &r2, plain(&[("KODUNK", "R2-a")])),
            (3, &r2, plain(&[("KDB", "50"), ("KODUNK", "R2-b")])),
            (4, &r2, plain(&[("KDB", "50"), ("KODUNK", "R2-b")])),
            (5, &r2, plain(&[("KLB", "1,5")])),
            (6, &r3, plain(&[])),
        ])
        .unwrap();
        let codes: Vec<&str> = rules
            .rules
            .subzones
            .iter()
            .map(|s| s.code.as_str())
            .collect();
        assert_eq!(codes, ["R-2/1", "R-2/2", "R-2/3", "R-3"]);
        assert_eq!(rules.rules.subzones[0].name, "Sub-zona R-2 (varian 1)");
        assert_eq!(rules.rules.subzones[0].catalog_code, "32103200");
        assert_eq!(rules.rules.subzones[3], r3);
        let kdb: Vec<(&str, f64)> = rules
            .rules
            .intensity
            .iter()
            .map(|t| (t.subzone.as_str(), t.kdb_max))
            .collect();
        assert_eq!(
            kdb,
            [
                ("R-2/1", 50.0),
                ("R-2/2", 60.0),
                ("R-2/3", 60.0),
                ("R-3", 60.0)
            ]
        );
        let expected: Vec<(i64, String)> = [
            (1, "R-2/2"),
            (2, "R-2/2"),
            (3, "R-2/1"),
            (4, "R-2/1"),
            (5, "R-2/3"),
            (10, "R-2/1"),
        ]
        .iter()
        .map(|(fid, code)| (*fid, code.to_string()))
        .collect();
        assert_eq!(rules.reassigned, expected);
        assert!(has_note(
            &rules,
            "R-2 carries 3 different rules in the file: variants R-2/1 (3 features), R-2/2 (2), R-2/3 (1); they differ in KDB, KLB (KODUNK: R-2/1 = R2-b; R-2/2 = R2-a)"
        ));
    }

    #[test]
    fn activity_classes_and_unlisted_activities_read_as_x() {
        let (r2, k1, rth) = (subzone("R-2"), subzone("K-1"), subzone("RTH-2"));
        let rules = read(&[
            (
                1,
                &r2,
                plain(&[
                    ("IZN", "Rumah Tunggal, warung"),
                    ("TBT", "Bengkel (jam operasional 07-22)"),
                    ("BST", "Gudang (parkir di dalam persil)"),
                    (
                        "TBS",
                        "Ruko (jam operasional 07-22); Hotel (parkir di dalam persil)",
                    ),
                ]),
            ),
            (
                2,
                &k1,
                plain(&[("izn", "Warung, Ruko, Hotel, Bengkel, Gudang, -")]),
            ),
            (3, &rth, plain(&[])),
        ])
        .unwrap();
        let names: Vec<(&str, &str)> = rules
            .rules
            .activities
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("A001", "Bengkel"),
                ("A002", "Gudang"),
                ("A003", "Hotel"),
                ("A004", "Ruko"),
                ("A005", "Rumah Tunggal"),
                ("A006", "warung"),
            ]
        );
        assert!(rules.rules.activities.iter().all(|a| a.kbli.is_empty()));
        let cell = |subzone: &str, activity: &str| {
            rules
                .rules
                .itbx
                .iter()
                .find(|c| c.subzone == subzone && c.activity == activity)
                .map(|c| (c.class, c.conditions.clone()))
                .unwrap()
        };
        use ItbxClass::*;
        assert_eq!(cell("R-2", "A001"), (T, vec!["T1".to_string()]));
        assert_eq!(cell("R-2", "A002"), (B, vec!["B1".to_string()]));
        assert_eq!(cell("R-2", "A003"), (TB, vec!["T2".to_string()]));
        assert_eq!(cell("R-2", "A004"), (TB, vec!["T1".to_string()]));
        assert_eq!(cell("R-2", "A006"), (I, vec![]));
        assert_eq!(cell("K-1", "A005"), (X, vec![]));
        assert_eq!(cell("K-1", "A006"), (I, vec![]));
        assert_eq!(cell("RTH-2", "A001"), (X, vec![]));
        assert_eq!(rules.rules.itbx.len(), 3 * 6);
        let conditions: Vec<(&str, &str)> = rules
            .rules
            .conditions
            .iter()
            .map(|c| (c.code.as_str(), c.text.as_str()))
            .collect();
        assert_eq!(
            conditions,
            [
                ("T1", "jam operasional 07-22"),
                ("T2", "parkir di dalam persil"),
                ("B1", "parkir di dalam persil"),
            ]
        );
        assert!(has_note(
            &rules,
            "activities not listed for a sub-zone are read as X"
        ));
        assert!(has_note(
            &rules,
            "they carry no KBLI codes and are found by name"
        ));
        assert!(has_note(&rules, "RTH-2 list no activities"));

        let twice = read(&[(7, &r2, plain(&[("IZN", "Warung"), ("TBT", "warung")]))]).unwrap_err();
        assert_eq!(twice, ["fid 7: \"warung\" is listed in both IZN and TBT"]);
    }

    #[test]
    fn no_activity_lists_means_no_itbx_matrix() {
        let r2 = subzone("R-2");
        let rules = read(&[(1, &r2, plain(&[("IZN", "")]))]).unwrap();
        assert!(rules.rules.activities.is_empty() && rules.rules.itbx.is_empty());
        assert!(has_note(&rules, "the file sets no ITBX matrix"));
    }

    #[test]
    fn unreadable_text_is_an_error_quoting_it() {
        let r2 = subzone("R-2");
        let errors = read(&[
            (1, &r2, plain(&[("KDB", "enam puluh persen")])),
            (2, &r2, plain(&[("KDB", "enam puluh persen")])),
            (3, &r2, plain(&[("KLB", "3 lantai")])),
            (4, &r2, plain(&[("KDH", "maksimum 20")])),
            (5, &r2, plain(&[("KDB", "160")])),
            (
                6,
                &r2,
                plain(&[("KDB", "Luas LP lebih dari 400 m2: enam puluh")]),
            ),
            (7, &r2, plain(&[("TBT", "Bengkel (jam 07-22")])),
        ])
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "fids 1, 2: KDB \"enam puluh persen\": expected a number, found \"enam\"",
                "fid 3: KLB \"3 lantai\": gives floors, which KLB is not",
                "fid 4: KDH \"maksimum 20\": says maximum, but KDH is a minimum",
                "fid 5: KDB \"160\": 160 is outside 0..100",
                "fid 6: KDB \"Luas LP lebih dari 400 m2: enam puluh\": expected a number, found \"enam\"",
                "fid 7: TBT \"Bengkel (jam 07-22\": a \"(\" is not closed",
            ]
        );
    }

    #[test]
    fn a_fraction_is_not_read_as_a_percentage() {
        let errors = read_field(Field::Kdb, "0,6").unwrap_err();
        assert!(errors.starts_with("0.6 reads as 0.6 %, which looks like a fraction"));
        assert_eq!(read_field(Field::Kdb, "0,6%").unwrap().steps[0].high, 0.6);
    }

    #[test]
    fn a_missing_kdb_is_an_error_naming_the_feature() {
        let r2 = subzone("R-2");
        let mut lacking = plain(&[]);
        lacking.remove("KDB");
        lacking.insert("KLB".to_string(), Value::Null);
        let errors = read(&[(1, &r2, plain(&[])), (7, &r2, lacking)]).unwrap_err();
        assert_eq!(errors, ["fid 7: KDB is missing", "fid 7: KLB is missing"]);
    }

    #[test]
    fn numbers_and_areas_read_indonesian_separators() {
        assert_eq!(decimal("3,5"), Ok(3.5));
        assert_eq!(decimal("3.5"), Ok(3.5));
        assert!(decimal("1.000,5").is_err());
        assert_eq!(area_number("1.000"), Ok(1000.0));
        assert_eq!(area_number("12.500.000"), Ok(12_500_000.0));
        assert_eq!(area_number("2,5"), Ok(2.5));
    }
}
