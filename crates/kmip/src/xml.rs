//! The KMIP XML encoding of TTLV (KMIP Additional Message Encodings v1.0,
//! KMIP Profiles v1.4 and v2.1), as the OASIS test cases use it.
//!
//! Every item is one element named by the item's normalized tag name, with the item
//! type and the value as attributes; a Structure's children are its child elements:
//!
//! ```xml
//! <RequestMessage>
//!   <BatchItem>
//!     <Operation type="Enumeration" value="Create"/>
//!     <CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>
//!     <TTLV tag="0x540001" type="TextString" value="vendor"/>
//!   </BatchItem>
//! </RequestMessage>
//! ```
//!
//! * A tag that the specification does not name is a `TTLV` element with a `tag`
//!   attribute of `0x` and 6 hex digits. Read: also any tag name as the element name.
//! * `type` is omitted for a Structure (`type="Structure"` is accepted).
//! * `value`: an Integer in decimal, or for a bit mask the bit names separated by
//!   spaces; a Long Integer and an Interval in decimal; a Big Integer as the hex of its
//!   two's complement bytes (`xsd:hexBinary`, no `0x`); an Enumeration as the value's
//!   normalized name, or `0x` and 8 hex digits; a Boolean as `true` or `false`; a Text
//!   String as text; a Byte String as hex; a Date-Time (Extended) as RFC 3339
//!   (`2012-04-05T11:21:44+00:00`). Reading also accepts `0x` hex for every numeric
//!   type, decimal enumerations, `1`/`0` for Booleans, and mask names and numbers in
//!   any order.
//!
//! In a KMIP 1.x `Attribute`, the enumeration and mask names of the `AttributeValue`
//! are those of the attribute that the preceding `AttributeName` names
//! (`<AttributeName type="TextString" value="Cryptographic Algorithm"/>` then
//! `<AttributeValue type="Enumeration" value="AES"/>`); an `AttributeReference`
//! enumeration (KMIP 2.x) holds a tag, written as the tag's name.
//!
//! A Text String is written with `&`, `<`, `>`, `"` and every control character
//! escaped (`&#xA;`), so that it survives attribute-value normalization; a Text
//! String containing U+0000 cannot be represented in XML 1.0 and does not read back.
//!
//! Reading is bounded: the text by [`Limits::max_message_size`], the nesting of
//! structures by [`Limits::max_depth`]. Comments, the XML declaration and processing
//! instructions are skipped; text content between elements must be white space.
//! Every error names the path of tags and the line and column where it happened.

use crate::binary::Limits;
use crate::textual::{
    enum_text, mask_text, parse_tag, parse_type, parse_value_text, path_text, tag_text, Naming,
};
use crate::{Error, ItemType, Tag, Ttlv, Value};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::fmt::Write as _;

const ENCODING: &str = "XML";

/// The element name of tags the specification does not name.
const UNKNOWN_TAG_ELEMENT: &str = "TTLV";

/// The optional root element of a sequence of messages (the OASIS test-case files).
const WRAPPER_ELEMENT: &str = "KMIP";

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Encodes `item` as indented KMIP XML, one element per line.
pub fn to_string(item: &Ttlv) -> String {
    let mut out = String::new();
    write_item(&mut out, item, item.tag, 0);
    out
}

fn write_item(out: &mut String, item: &Ttlv, value_tag: Tag, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
    let name = item.tag.name();
    out.push('<');
    match name {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{UNKNOWN_TAG_ELEMENT} tag=\"0x{:06X}\"", item.tag.0);
        }
    }
    let text = match &item.value {
        Value::Structure(children) => {
            if children.is_empty() {
                out.push_str("/>\n");
                return;
            }
            out.push_str(">\n");
            let mut naming = Naming::default();
            for child in children {
                write_item(out, child, naming.value_tag(child.tag), level + 1);
                naming.observe(child);
            }
            for _ in 0..level {
                out.push_str("  ");
            }
            let _ = writeln!(out, "</{}>", name.unwrap_or(UNKNOWN_TAG_ELEMENT));
            return;
        }
        Value::Integer(v) => mask_text(value_tag, *v, " ").unwrap_or_else(|| v.to_string()),
        Value::LongInteger(v) => v.to_string(),
        Value::BigInteger(b) => b.to_hex(),
        Value::Enumeration(v) => enum_text(value_tag, *v),
        Value::Boolean(b) => b.to_string(),
        Value::TextString(s) => s.clone(),
        Value::ByteString(b) => b.to_hex(),
        Value::DateTime(secs) => crate::format_date_time(*secs),
        Value::Interval(v) => v.to_string(),
        Value::DateTimeExtended(micros) => crate::format_date_time_extended(*micros),
    };
    let _ = write!(out, " type=\"{}\" value=\"", item.value.item_type().name());
    escape_attribute(out, &text);
    out.push_str("\"/>\n");
}

/// Appends `s` escaped for a double-quoted attribute value.
fn escape_attribute(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // White space and other control characters as references, so that
            // attribute-value normalization leaves them alone.
            c if (c as u32) < 0x20 || c == '\u{7F}' => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Decodes exactly one top-level element (normally a whole message), bounded by `limits`.
pub fn from_str(text: &str, limits: &Limits) -> Result<Ttlv, Error> {
    let mut p = Parser::new(text, limits, false)?;
    let Some(item) = p.next_item()? else {
        return Err(syntax("top level".into(), "no element found"));
    };
    if p.next_item()?.is_some() {
        return Err(syntax(
            p.location_at(p.last_start),
            "more than one top-level element (use xml::from_str_all for a sequence)",
        ));
    }
    Ok(item)
}

/// Decodes a sequence of top-level elements, optionally wrapped in one `<KMIP>`
/// root element (the OASIS test-case files), bounded by `limits` (the size limit
/// applies to the whole text).
pub fn from_str_all(text: &str, limits: &Limits) -> Result<Vec<Ttlv>, Error> {
    let mut p = Parser::new(text, limits, true)?;
    let mut items = Vec::new();
    while let Some(item) = p.next_item()? {
        items.push(item);
    }
    Ok(items)
}

fn syntax(location: String, message: impl Into<String>) -> Error {
    Error::Syntax {
        encoding: ENCODING,
        location,
        message: message.into(),
    }
}

/// Where the optional `<KMIP>` root element stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wrapper {
    /// Not allowed (single-element reading).
    Forbidden,
    /// Allowed, and no element has been seen yet.
    Possible,
    /// No wrapper: top-level elements are the items.
    Absent,
    /// Inside `<KMIP>`.
    Open,
    /// After `</KMIP>`: nothing but comments and white space may follow.
    Closed,
}

/// An element being read.
struct Frame {
    tag: Tag,
    /// A Structure's children so far, or a leaf's value (a leaf written `<X ...></X>`).
    body: Body,
    naming: Naming,
}

enum Body {
    Structure(Vec<Ttlv>),
    Leaf(Value),
}

struct Parser<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    limits: &'a Limits,
    stack: Vec<Frame>,
    wrapper: Wrapper,
    /// Byte offset of the last element start read.
    last_start: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, limits: &'a Limits, allow_wrapper: bool) -> Result<Self, Error> {
        if text.len() > limits.max_message_size {
            return Err(syntax(
                "top level".into(),
                format!(
                    "input of {} bytes exceeds the limit of {}",
                    text.len(),
                    limits.max_message_size
                ),
            ));
        }
        Ok(Parser {
            text,
            reader: Reader::from_reader(text.as_bytes()),
            limits,
            stack: Vec::new(),
            wrapper: if allow_wrapper {
                Wrapper::Possible
            } else {
                Wrapper::Forbidden
            },
            last_start: 0,
        })
    }

    /// "line L, column C" of a byte offset.
    fn line_column(&self, offset: usize) -> String {
        let bytes = self.text.as_bytes();
        let offset = offset.min(bytes.len());
        let before = &bytes[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        // Columns count characters, not bytes.
        let column = String::from_utf8_lossy(&bytes[line_start..offset])
            .chars()
            .count()
            + 1;
        format!("line {line}, column {column}")
    }

    /// The path of the open elements, then the position.
    fn location_at(&self, offset: usize) -> String {
        self.location_with(None, offset)
    }

    fn location_with(&self, current: Option<&str>, offset: usize) -> String {
        let mut path: Vec<String> = self.stack.iter().map(|f| tag_text(f.tag)).collect();
        if let Some(c) = current {
            path.push(c.to_string());
        }
        format!("{} ({})", path_text(&path), self.line_column(offset))
    }

    /// Reads up to the end of the next top-level item; `None` at the end of the input.
    fn next_item(&mut self) -> Result<Option<Ttlv>, Error> {
        loop {
            let pos = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                    return Err(syntax(self.location_at(at), format!("malformed XML: {e}")));
                }
            };
            match event {
                Event::Start(e) => {
                    if self.enter_wrapper(&e, pos)? {
                        continue;
                    }
                    let frame = self.open(&e, pos)?;
                    self.stack.push(frame);
                }
                Event::Empty(e) => {
                    if self.enter_wrapper(&e, pos)? {
                        self.wrapper = Wrapper::Closed;
                        continue;
                    }
                    let frame = self.open(&e, pos)?;
                    if let Some(item) = self.close(frame) {
                        return Ok(Some(item));
                    }
                }
                Event::End(_) => match self.stack.pop() {
                    Some(frame) => {
                        if let Some(item) = self.close(frame) {
                            return Ok(Some(item));
                        }
                    }
                    None if self.wrapper == Wrapper::Open => self.wrapper = Wrapper::Closed,
                    None => return Err(syntax(self.location_at(pos), "unexpected end tag")),
                },
                Event::Text(t) => {
                    if !t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                        return Err(syntax(
                            self.location_at(pos),
                            "text content is not allowed (a value goes in the `value` attribute)",
                        ));
                    }
                }
                Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(syntax(
                        self.location_at(pos),
                        "text content is not allowed (a value goes in the `value` attribute)",
                    ));
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Eof => {
                    if let Some(open) = self.stack.last() {
                        return Err(syntax(
                            self.location_at(pos),
                            format!(
                                "the input ends inside <{}>",
                                open.tag.name().unwrap_or(UNKNOWN_TAG_ELEMENT)
                            ),
                        ));
                    }
                    if self.wrapper == Wrapper::Open {
                        return Err(syntax(
                            self.location_at(pos),
                            "the input ends inside <KMIP>",
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Handles a top-level `<KMIP>` start; true when `e` was the wrapper.
    fn enter_wrapper(&mut self, e: &BytesStart<'_>, pos: usize) -> Result<bool, Error> {
        if !self.stack.is_empty() {
            return Ok(false);
        }
        self.last_start = pos;
        let is_wrapper = e.name().as_ref() == WRAPPER_ELEMENT.as_bytes();
        match self.wrapper {
            Wrapper::Possible if is_wrapper => {
                self.wrapper = Wrapper::Open;
                Ok(true)
            }
            Wrapper::Possible => {
                self.wrapper = Wrapper::Absent;
                Ok(false)
            }
            Wrapper::Closed => Err(syntax(
                self.location_at(pos),
                "element after the end of </KMIP>",
            )),
            Wrapper::Forbidden if is_wrapper => Err(syntax(
                self.location_at(pos),
                "unknown tag `KMIP` (a <KMIP> sequence of messages is read by xml::from_str_all)",
            )),
            Wrapper::Forbidden | Wrapper::Absent | Wrapper::Open => Ok(false),
        }
    }

    /// Reads an element's name and attributes into a frame.
    fn open(&self, e: &BytesStart<'_>, pos: usize) -> Result<Frame, Error> {
        let raw_name = e.name();
        let element = std::str::from_utf8(raw_name.as_ref())
            .map_err(|_| syntax(self.location_at(pos), "element name is not UTF-8"))?;
        if let Some(Frame {
            body: Body::Leaf(v),
            ..
        }) = self.stack.last()
        {
            return Err(syntax(
                self.location_with(Some(element), pos),
                format!("a {} item cannot contain elements", v.item_type()),
            ));
        }
        let mut tag_attr = None;
        let mut type_attr = None;
        let mut value_attr = None;
        for attr in e.attributes() {
            let attr = attr.map_err(|err| {
                syntax(
                    self.location_with(Some(element), pos),
                    format!("malformed attribute: {err}"),
                )
            })?;
            let key = std::str::from_utf8(attr.key.as_ref())
                .unwrap_or("?")
                .to_string();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| {
                    syntax(
                        self.location_with(Some(element), pos),
                        format!("malformed `{key}` attribute: {err}"),
                    )
                })?
                .into_owned();
            match key.as_str() {
                "tag" => tag_attr = Some(value),
                "type" => type_attr = Some(value),
                "value" => value_attr = Some(value),
                // Informational (some encoders name unknown tags) or namespaces.
                "name" => {}
                k if k == "xmlns" || k.starts_with("xmlns:") => {}
                other => {
                    return Err(syntax(
                        self.location_with(Some(element), pos),
                        format!("unexpected attribute `{other}` (an item has tag, type and value)"),
                    ))
                }
            }
        }
        let tag = if element == UNKNOWN_TAG_ELEMENT {
            let t = tag_attr.ok_or_else(|| {
                syntax(
                    self.location_with(Some(element), pos),
                    "a <TTLV> element needs a `tag` attribute",
                )
            })?;
            parse_tag(&t).map_err(|m| syntax(self.location_with(Some(element), pos), m))?
        } else {
            if tag_attr.is_some() {
                return Err(syntax(
                    self.location_with(Some(element), pos),
                    "only a <TTLV> element has a `tag` attribute",
                ));
            }
            parse_tag(element).map_err(|m| syntax(self.location_with(Some(element), pos), m))?
        };
        let here = |p: &Self| p.location_with(Some(&tag_text(tag)), pos);
        let ty = match &type_attr {
            None => ItemType::Structure,
            Some(t) => parse_type(t).map_err(|m| syntax(here(self), m))?,
        };
        let body = if ty == ItemType::Structure {
            if value_attr.is_some() {
                return Err(syntax(here(self), "a Structure has no `value` attribute"));
            }
            // Every open frame is a Structure: this one is one deeper.
            let depth = self.stack.len() + 1;
            if depth > self.limits.max_depth {
                return Err(syntax(
                    here(self),
                    format!("structures nested deeper than {}", self.limits.max_depth),
                ));
            }
            Body::Structure(Vec::new())
        } else {
            let text = value_attr.ok_or_else(|| {
                syntax(here(self), format!("a {ty} item needs a `value` attribute"))
            })?;
            let value_tag = self
                .stack
                .last()
                .map_or(tag, |parent| parent.naming.value_tag(tag));
            Body::Leaf(parse_value_text(ty, value_tag, &text).map_err(|m| syntax(here(self), m))?)
        };
        Ok(Frame {
            tag,
            body,
            naming: Naming::default(),
        })
    }

    /// Finishes an element: into its parent, or returned when it is top-level.
    fn close(&mut self, frame: Frame) -> Option<Ttlv> {
        let item = match frame.body {
            Body::Structure(children) => Ttlv::structure(frame.tag, children),
            Body::Leaf(v) => Ttlv::new(frame.tag, v),
        };
        match self.stack.last_mut() {
            Some(Frame {
                body: Body::Structure(children),
                naming,
                ..
            }) => {
                naming.observe(&item);
                children.push(item);
                None
            }
            // `open` never puts an element under a leaf.
            Some(_) => None,
            None => Some(item),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bytes;

    fn lim() -> Limits {
        Limits::default()
    }

    fn leaf(tag: Tag, value: Value) -> Ttlv {
        Ttlv::new(tag, value)
    }

    fn round(item: &Ttlv) -> Ttlv {
        let text = to_string(item);
        from_str(&text, &lim()).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn err_of(text: &str) -> (String, String) {
        match from_str(text, &lim()) {
            Err(Error::Syntax {
                encoding,
                location,
                message,
            }) => {
                assert_eq!(encoding, "XML");
                (location, message)
            }
            other => panic!("expected a syntax error for {text}, got {other:?}"),
        }
    }

    #[test]
    fn every_type_round_trips() {
        let x = Tag(0x540001);
        let items = vec![
            leaf(x, Value::Integer(-7)),
            leaf(x, Value::Integer(i32::MIN)),
            leaf(x, Value::LongInteger(i64::MIN)),
            leaf(x, Value::LongInteger(i64::MAX)),
            leaf(x, Value::BigInteger(Bytes::new(vec![0xFF; 16]))),
            leaf(x, Value::BigInteger(Bytes::new(vec![]))),
            leaf(x, Value::Enumeration(0x8000_0001)),
            leaf(x, Value::Boolean(true)),
            leaf(x, Value::Boolean(false)),
            leaf(
                x,
                Value::TextString("a & b < c > d \" e ' f\ttab\nnl\r\u{1}\u{7f} é  two".into()),
            ),
            leaf(x, Value::TextString(String::new())),
            leaf(x, Value::TextString("  padded  ".into())),
            leaf(x, Value::ByteString(Bytes::new(vec![0, 1, 0xAB]))),
            leaf(x, Value::ByteString(Bytes::new(vec![]))),
            leaf(x, Value::DateTime(1_333_624_904)),
            leaf(x, Value::DateTime(i64::MIN)),
            leaf(x, Value::Interval(u32::MAX)),
            leaf(x, Value::DateTimeExtended(1_333_624_904_123_456)),
            leaf(x, Value::DateTimeExtended(i64::MAX)),
            Ttlv::structure(x, vec![]),
            Ttlv::structure(x, vec![leaf(Tag::OPERATION, Value::Enumeration(1))]),
        ];
        let s = Ttlv::structure(Tag::REQUEST_MESSAGE, items.clone());
        assert_eq!(round(&s), s);
        for i in items {
            assert_eq!(round(&i), i);
        }
    }

    #[test]
    fn output_shapes() {
        let item = Ttlv::structure(
            Tag::REQUEST_MESSAGE,
            vec![
                leaf(Tag::OPERATION, Value::Enumeration(1)),
                leaf(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
                leaf(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(i32::MIN | 1)),
                leaf(Tag(0x540001), Value::ByteString(Bytes::new(vec![1, 2]))),
                Ttlv::structure(Tag(0x540002), vec![leaf(Tag(0x540003), Value::Integer(5))]),
                leaf(Tag::OPAQUE_DATA_TYPE, Value::Enumeration(0x8000_0001)),
                leaf(Tag::ACTIVATION_DATE, Value::DateTime(1_333_624_904)),
                leaf(
                    Tag::MODULUS,
                    Value::BigInteger(Bytes::new(vec![0, 0, 0, 0, 0, 0, 1, 0])),
                ),
                leaf(Tag::RANDOM_IV, Value::Boolean(true)),
                leaf(Tag::NAME_VALUE, Value::TextString("a<b".into())),
            ],
        );
        let expected = r#"<RequestMessage>
  <Operation type="Enumeration" value="Create"/>
  <CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>
  <CryptographicUsageMask type="Integer" value="Sign 0x80000000"/>
  <TTLV tag="0x540001" type="ByteString" value="0102"/>
  <TTLV tag="0x540002">
    <TTLV tag="0x540003" type="Integer" value="5"/>
  </TTLV>
  <OpaqueDataType type="Enumeration" value="0x80000001"/>
  <ActivationDate type="DateTime" value="2012-04-05T11:21:44+00:00"/>
  <Modulus type="BigInteger" value="0000000000000100"/>
  <RandomIV type="Boolean" value="true"/>
  <NameValue type="TextString" value="a&lt;b"/>
</RequestMessage>
"#;
        assert_eq!(to_string(&item), expected);
        assert_eq!(from_str(expected, &lim()).unwrap(), item);
    }

    #[test]
    fn reads_masks_enumerations_and_tolerated_forms() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<RequestMessage>
  <CryptographicUsageMask type="Integer" value="Decrypt Encrypt"/>
  <CryptographicUsageMask type="Integer" value="0x0000000C"/>
  <CryptographicUsageMask type="Integer" value="Encrypt|8"/>
  <CryptographicUsageMask type="Integer" value="12"/>
  <Operation type="Enumeration" value="Create"/>
  <Operation type="Enumeration" value="0x00000001"/>
  <Operation type="Enumeration" value="1"/>
  <BatchCount type="Integer" value="0x00000002"/>
  <UsageLimitsTotal type="LongInteger" value="0x0000000000000010"/>
  <Modulus type="BigInteger" value="0x0100"/>
  <Modulus type="BigInteger" value="ff00"/>
  <RandomIV type="Boolean" value="1"/>
  <RandomIV type="Boolean" value="0x0000000000000000"/>
  <LeaseTime type="Interval" value="0x00000E10"/>
  <ActivationDate type="DateTime" value="2012-04-05T21:21:44+10:00"/>
  <TTLV tag="0x42005C" type="Enumeration" value="Get"/>
  <TTLV tag="0x540001" name="vendor thing" type="TextString" value="v"></TTLV>
  <BatchItem type="Structure"></BatchItem>
</RequestMessage>
"#;
        let item = from_str(text, &lim()).unwrap();
        let c = item.children();
        for item in &c[0..4] {
            assert_eq!(item.value, Value::Integer(12), "{item:?}");
        }
        for item in &c[4..7] {
            assert_eq!(item.value, Value::Enumeration(1), "{item:?}");
        }
        assert_eq!(c[7].value, Value::Integer(2));
        assert_eq!(c[8].value, Value::LongInteger(16));
        assert_eq!(
            c[9].value,
            Value::BigInteger(Bytes::new(vec![0, 0, 0, 0, 0, 0, 1, 0]))
        );
        assert_eq!(
            c[10].value,
            Value::BigInteger(Bytes::new(vec![
                0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0
            ]))
        );
        assert_eq!(c[11].value, Value::Boolean(true));
        assert_eq!(c[12].value, Value::Boolean(false));
        assert_eq!(c[13].value, Value::Interval(3600));
        assert_eq!(c[14].value, Value::DateTime(1_333_624_904));
        assert_eq!(c[15], leaf(Tag::OPERATION, Value::Enumeration(10)));
        assert_eq!(c[16], leaf(Tag(0x540001), Value::TextString("v".into())));
        assert_eq!(c[17], Ttlv::structure(Tag::BATCH_ITEM, vec![]));
    }

    #[test]
    fn attribute_values_are_named_by_the_attribute_name() {
        let text = r#"<TemplateAttribute>
  <Attribute>
    <AttributeName type="TextString" value="Cryptographic Algorithm"/>
    <AttributeValue type="Enumeration" value="AES"/>
  </Attribute>
  <Attribute>
    <AttributeName type="TextString" value="Cryptographic Usage Mask"/>
    <AttributeValue type="Integer" value="Encrypt Decrypt"/>
  </Attribute>
  <Attribute>
    <AttributeName type="TextString" value="Cryptographic Length"/>
    <AttributeValue type="Integer" value="256"/>
  </Attribute>
  <Attribute>
    <AttributeName type="TextString" value="x-custom"/>
    <AttributeValue type="Enumeration" value="0x00000003"/>
  </Attribute>
</TemplateAttribute>
"#;
        let item = from_str(text, &lim()).unwrap();
        let value = |i: usize| {
            item.children()[i]
                .child(Tag::ATTRIBUTE_VALUE)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(value(0), Value::Enumeration(3));
        assert_eq!(value(1), Value::Integer(12));
        assert_eq!(value(2), Value::Integer(256));
        assert_eq!(value(3), Value::Enumeration(3));
        // Written back exactly as the test cases write it.
        assert_eq!(to_string(&item), text);
        // AES is not a name under a custom attribute.
        let (loc, msg) = err_of(
            r#"<Attribute><AttributeName type="TextString" value="x-custom"/>
               <AttributeValue type="Enumeration" value="AES"/></Attribute>"#,
        );
        assert_eq!(loc, "Attribute/AttributeValue (line 2, column 16)");
        assert!(msg.contains("no enumeration names"), "{msg}");
    }

    #[test]
    fn attribute_reference_values_are_tag_names() {
        let item = Ttlv::structure(
            Tag::ATTRIBUTES,
            vec![leaf(
                Tag::ATTRIBUTE_REFERENCE,
                Value::Enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM.0),
            )],
        );
        let text = to_string(&item);
        assert!(text.contains(r#"value="CryptographicAlgorithm""#), "{text}");
        assert_eq!(from_str(&text, &lim()).unwrap(), item);
    }

    #[test]
    fn sequences_with_and_without_a_kmip_root() {
        let one = "<RequestMessage><BatchCount type=\"Integer\" value=\"1\"/></RequestMessage>";
        let two = "<ResponseMessage/>";
        let wrapped = format!("<KMIP>\n<!-- notice -->\n{one}\n{two}\n</KMIP>\n<!-- end -->\n");
        let items = from_str_all(&wrapped, &lim()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].tag, Tag::REQUEST_MESSAGE);
        assert_eq!(items[1], Ttlv::structure(Tag::RESPONSE_MESSAGE, vec![]));
        assert_eq!(from_str_all(&format!("{one}{two}"), &lim()).unwrap(), items);
        assert_eq!(from_str_all("<KMIP/>", &lim()).unwrap(), vec![]);
        assert_eq!(from_str_all("<!-- only -->", &lim()).unwrap(), vec![]);
        let err = from_str_all(&format!("<KMIP>{one}</KMIP>{two}"), &lim()).unwrap_err();
        assert!(err.to_string().contains("after the end"), "{err}");
        let err = from_str_all(&format!("<KMIP>{one}"), &lim()).unwrap_err();
        assert!(err.to_string().contains("ends inside <KMIP>"), "{err}");
        // A single element is one message; two are an error for from_str.
        let (_, msg) = err_of(&format!("{one}{two}"));
        assert!(msg.contains("more than one"), "{msg}");
        let (_, msg) = err_of(&wrapped);
        assert!(msg.contains("from_str_all"), "{msg}");
        let (_, msg) = err_of("<!-- nothing -->");
        assert!(msg.contains("no element"), "{msg}");
    }

    #[test]
    fn errors_name_the_place_and_the_problem() {
        let (loc, msg) = err_of(
            "<RequestMessage>\n  <BatchItem>\n    <UniqueIdentifier type=\"Textstring\" value=\"x\"/>\n  </BatchItem>\n</RequestMessage>",
        );
        assert_eq!(
            loc,
            "RequestMessage/BatchItem/UniqueIdentifier (line 3, column 5)"
        );
        assert!(msg.contains("unknown item type `Textstring`"), "{msg}");

        let cases: &[(&str, &str)] = &[
            (r#"<NoSuchTag/>"#, "unknown tag `NoSuchTag`"),
            (
                r#"<TTLV type="Integer" value="1"/>"#,
                "needs a `tag` attribute",
            ),
            (
                r#"<TTLV tag="0x1000000" type="Integer" value="1"/>"#,
                "larger than 3 bytes",
            ),
            (
                r#"<TTLV tag="zz" type="Integer" value="1"/>"#,
                "unknown tag `zz`",
            ),
            (
                r#"<BatchCount tag="0x42000D" type="Integer" value="1"/>"#,
                "only a <TTLV>",
            ),
            (
                r#"<BatchCount type="Integer" vaule="1"/>"#,
                "unexpected attribute `vaule`",
            ),
            (
                r#"<BatchCount type="Integer"/>"#,
                "needs a `value` attribute",
            ),
            (
                r#"<BatchCount type="Integer" value="one"/>"#,
                "not an Integer",
            ),
            (
                r#"<BatchCount type="Integer" value="2147483648"/>"#,
                "not an Integer",
            ),
            (
                r#"<BatchCount type="Integer" value="0x1FFFFFFFF"/>"#,
                "not an Integer",
            ),
            (r#"<BatchItem value="1"/>"#, "no `value` attribute"),
            (r#"<KeyMaterial type="ByteString" value="0g"/>"#, "not hex"),
            (
                r#"<KeyMaterial type="ByteString" value="$KEY_MATERIAL_0"/>"#,
                "placeholder",
            ),
            (
                r#"<TimeStamp type="DateTime" value="$NOW"/>"#,
                "placeholder",
            ),
            (
                r#"<TimeStamp type="DateTime" value="$NOW-3600"/>"#,
                "placeholder",
            ),
            (
                r#"<TimeStamp type="DateTime" value="2012-13-45T00:00:00Z"/>"#,
                "RFC 3339",
            ),
            (r#"<Modulus type="BigInteger" value="xyz"/>"#, "not hex"),
            (
                r#"<Operation type="Enumeration" value="Frobnicate"/>"#,
                "not a name of the Operation enumeration",
            ),
            (
                r#"<Operation type="Enumeration" value="0x1FFFFFFFF"/>"#,
                "1 to 8 hex digits",
            ),
            (
                r#"<TTLV tag="0x540001" type="Enumeration" value="Create"/>"#,
                "no enumeration names",
            ),
            (
                r#"<CryptographicUsageMask type="Integer" value="Encrypt Bogus"/>"#,
                "`Bogus` is not a CryptographicUsageMask bit name",
            ),
            (r#"<RandomIV type="Boolean" value="yes"/>"#, "not a Boolean"),
            (
                r#"<LeaseTime type="Interval" value="-1"/>"#,
                "not an Interval",
            ),
            (
                r#"<UsageLimitsTotal type="LongInteger" value="1.5"/>"#,
                "not a LongInteger",
            ),
            (
                r#"<BatchCount type="Integer" value="1">x</BatchCount>"#,
                "text content",
            ),
            (r#"<BatchItem>text</BatchItem>"#, "text content"),
            (r#"<BatchItem>&amp;</BatchItem>"#, "text content"),
            (
                r#"<BatchCount type="Integer" value="1"><BatchItem/></BatchCount>"#,
                "cannot contain",
            ),
            (
                r#"<BatchItem><BatchCount type="Integer" value="1"/>"#,
                "ends inside <BatchItem>",
            ),
            (r#"<BatchItem></BatchCount>"#, "malformed XML"),
            (r#"<BatchItem"#, "malformed XML"),
            (
                r#"<BatchCount type="Integer" type="Integer" value="1"/>"#,
                "malformed attribute",
            ),
            (
                r#"<NameValue type="TextString" value="&bogus;"/>"#,
                "malformed `value`",
            ),
            (
                r#"<NameValue type="TextString" value="&#0;"/>"#,
                "malformed `value`",
            ),
        ];
        for (text, want) in cases {
            let (_, msg) = err_of(text);
            assert!(msg.contains(want), "{text}: {msg} (wanted {want})");
        }
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let limits = Limits {
            max_message_size: 1 << 20,
            max_depth: 4,
        };
        let nest = |n: usize| {
            let mut item = Ttlv::structure(Tag(0x540001), vec![]);
            for _ in 1..n {
                item = Ttlv::structure(Tag(0x540001), vec![item]);
            }
            item
        };
        assert!(from_str(&to_string(&nest(4)), &limits).is_ok());
        let err = from_str(&to_string(&nest(5)), &limits).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 4"), "{err}");
        // Very deep input fails fast at the limit, without recursion.
        let deep = "<BatchItem>".repeat(200_000);
        let err = from_str(&deep, &lim()).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 32"), "{err}");
        let small = Limits {
            max_message_size: 10,
            max_depth: 4,
        };
        let err = from_str(&to_string(&nest(1)), &small).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: mutate a valid message byte by byte.
        let base = to_string(&Ttlv::structure(
            Tag::REQUEST_MESSAGE,
            vec![
                leaf(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
                leaf(Tag::NAME_VALUE, Value::TextString("é<".into())),
                leaf(Tag::ACTIVATION_DATE, Value::DateTime(5)),
            ],
        ));
        let bytes = base.as_bytes();
        for i in 0..bytes.len() {
            for b in [b'<', b'>', b'"', b'/', b'&', b' ', 0xC3, b'0'] {
                let mut m = bytes.to_vec();
                m[i] = b;
                if let Ok(s) = std::str::from_utf8(&m) {
                    let _ = from_str(s, &lim());
                    let _ = from_str_all(s, &lim());
                }
            }
        }
    }
}
