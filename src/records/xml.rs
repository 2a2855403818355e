//! XML helpers shared by ISO 19139 and CSW: writing elements with escaped text and attributes
//! through quick-xml, and reading a request body into a small tree under hard limits (size, depth,
//! element count, text length) with no DTD and no entities beyond the five predefined ones.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::reader::Reader;

use super::{RecordsError, Result};

/// The largest request body read, in bytes.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// The deepest element nesting read.
pub const MAX_DEPTH: usize = 32;
/// The most elements in one body.
pub const MAX_ELEMENTS: usize = 2_000;
/// The longest text or attribute value, in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// A writer into memory.
pub type Out = Writer<Vec<u8>>;

/// A new document with its XML declaration.
pub fn document() -> Out {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    w
}

/// The text written. Only `&str` goes in, so the bytes are UTF-8.
pub fn finish(w: Out) -> String {
    String::from_utf8_lossy(&w.into_inner()).into_owned()
}

/// Opens `name` with attributes (values escaped).
pub fn open<W: Write>(w: &mut Writer<W>, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    let start = BytesStart::new(name).with_attributes(attrs.iter().copied());
    w.write_event(Event::Start(start))
}

/// Closes `name`.
pub fn close<W: Write>(w: &mut Writer<W>, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// `<name attrs>text</name>`, the text escaped.
pub fn leaf<W: Write>(
    w: &mut Writer<W>,
    name: &str,
    attrs: &[(&str, &str)],
    text: &str,
) -> io::Result<()> {
    w.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// `<name attrs/>`.
pub fn empty<W: Write>(w: &mut Writer<W>, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    w.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_empty()?;
    Ok(())
}

/// An element read from a request: names without their prefixes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    /// The local name (`GetRecords` for `csw:GetRecords`).
    pub name: String,
    /// Attributes by local name, values unescaped; namespace declarations left out.
    pub attrs: Vec<(String, String)>,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The text directly inside, trimmed.
    pub text: String,
}

impl Element {
    /// The value of an attribute, by local name, ignoring case.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// A request that is not acceptable XML.
fn refuse(text: impl Into<String>) -> RecordsError {
    RecordsError::csw("NoApplicableCode", "request body", text)
}

/// Reads a request body into its root element, refusing DOCTYPE, unknown entities and anything
/// beyond the limits above.
pub fn parse(body: &[u8]) -> Result<Element> {
    if body.len() > MAX_BODY_BYTES {
        return Err(refuse(format!(
            "the request body is {} bytes; at most {MAX_BODY_BYTES} are read",
            body.len()
        )));
    }
    let text = std::str::from_utf8(body).map_err(|_| refuse("the request body is not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    let mut tree = Tree::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| refuse(format!("the XML is not well-formed: {e}")))?;
        if matches!(event, Event::Eof) {
            break;
        }
        tree.take(event)?;
    }
    tree.root
        .ok_or_else(|| refuse("the request body has no root element"))
}

/// The elements read so far.
#[derive(Default)]
struct Tree {
    open: Vec<Element>,
    root: Option<Element>,
    count: usize,
}

impl Tree {
    fn take(&mut self, event: Event<'_>) -> Result<()> {
        match event {
            Event::Start(start) => self.start(&start),
            Event::End(_) => self.end(),
            Event::Text(text) => self.text(&text.xml10_content()),
            Event::CData(data) => self.text(&data.xml10_content()),
            Event::GeneralRef(reference) => self.text(&resolve(&reference)?),
            Event::DocType(_) => Err(refuse("DOCTYPE declarations are not accepted")),
            _ => Ok(()),
        }
    }

    fn start(&mut self, start: &BytesStart<'_>) -> Result<()> {
        if self.root.is_some() {
            return Err(refuse("the request body has more than one root element"));
        }
        self.count += 1;
        if self.open.len() >= MAX_DEPTH || self.count > MAX_ELEMENTS {
            return Err(refuse(format!(
                "the XML is nested deeper than {MAX_DEPTH} or has more than {MAX_ELEMENTS} elements"
            )));
        }
        let name = start.local_name().into_inner().to_owned();
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| refuse(format!("bad attribute in {name}: {e}")))?;
            let key = attr.key.into_inner();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| refuse(format!("bad attribute value in {name}: {e}")))?;
            if value.len() > MAX_TEXT_BYTES {
                return Err(too_long(&name));
            }
            attrs.push((attr.key.local_name().into_inner().to_owned(), value.into()));
        }
        self.open.push(Element {
            name,
            attrs,
            ..Element::default()
        });
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        let mut done = self
            .open
            .pop()
            .ok_or_else(|| refuse("an end tag closes nothing"))?;
        done.text = done.text.trim().to_owned();
        match self.open.last_mut() {
            Some(parent) => parent.children.push(done),
            None => self.root = Some(done),
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<()> {
        match self.open.last_mut() {
            Some(element) => {
                element.text.push_str(text);
                if element.text.len() > MAX_TEXT_BYTES {
                    return Err(too_long(&element.name));
                }
                Ok(())
            }
            None if text.trim().is_empty() => Ok(()),
            None => Err(refuse("text outside the root element")),
        }
    }
}

fn too_long(name: &str) -> RecordsError {
    refuse(format!(
        "a value in {name} is longer than {MAX_TEXT_BYTES} bytes"
    ))
}

/// The five predefined entities and character references; anything else is refused.
fn resolve(reference: &quick_xml::events::BytesRef<'_>) -> Result<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Ok(c.to_string());
    }
    let name = reference.xml10_content();
    quick_xml::escape::resolve_xml_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| refuse(format!("the entity &{name}; is not accepted")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(RecordsError::Csw { text, .. }) => text,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_names_attributes_and_text() {
        let root = parse(
            br#"<?xml version="1.0"?><csw:A xmlns:csw="x" csw:b="1 &amp; 2"><c>x &lt; y &#65;</c><d/></csw:A>"#,
        )
        .unwrap();
        assert_eq!(root.name, "A");
        assert_eq!(root.attr("b"), Some("1 & 2"));
        assert_eq!(root.attrs.len(), 1, "xmlns declarations are left out");
        assert_eq!(root.child("c").unwrap().text, "x < y A");
        assert!(root.child("d").is_some());
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>"#;
        assert!(problem(bomb).contains("DOCTYPE"));
        assert!(problem("<a>&lol;</a>").contains("&lol;"));
        assert!(problem(r#"<a b="&lol;"/>"#).contains("attribute"));
    }

    #[test]
    fn refuses_depth_size_and_garbage() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(problem(&deep).contains("nested deeper"));
        let just_deep_enough = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(just_deep_enough.as_bytes()).is_ok());
        let big = format!("<a>{}</a>", "x".repeat(MAX_BODY_BYTES));
        assert!(problem(&big).contains("at most"));
        let long = format!("<a>{}</a>", "x".repeat(MAX_TEXT_BYTES + 1));
        assert!(problem(&long).contains("longer than"));
        assert!(problem("<a><b></a>").contains("well-formed"));
        assert!(problem("<a/><b/>").contains("more than one root"));
        assert!(problem("").contains("no root"));
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
