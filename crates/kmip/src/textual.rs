//! Text forms of tags, item types and values, shared by the KMIP JSON and XML
//! encodings: names or hex for tags, enumerations and masks; the forms of every
//! numeric type, byte strings and date-times; and which tag names the values of
//! a KMIP 1.x `AttributeValue`.

use crate::tables;
use crate::{Bytes, ItemType, Tag, Ttlv, Value};

/// The normalized name of `tag`, or `0x` and 6 hex digits.
pub(crate) fn tag_text(tag: Tag) -> String {
    match tag.name() {
        Some(n) => n.to_string(),
        None => format!("0x{:06X}", tag.0),
    }
}

/// Parses a tag written as a normalized name, a specification name or `0x` and hex.
pub(crate) fn parse_tag(text: &str) -> Result<Tag, String> {
    if let Some(t) = tables::tag_by_name(text) {
        return Ok(t);
    }
    match parse_hex(text, 8) {
        Some(v) if v <= 0xFF_FFFF => Ok(Tag(v as u32)),
        Some(_) => Err(format!("tag `{text}` is larger than 3 bytes")),
        None => Err(format!(
            "unknown tag `{text}` (expected a tag name or 0x and 6 hex digits)"
        )),
    }
}

/// Parses an item type name.
pub(crate) fn parse_type(text: &str) -> Result<ItemType, String> {
    ItemType::from_name(text).ok_or_else(|| {
        format!(
            "unknown item type `{text}` (expected Structure, Integer, LongInteger, BigInteger, \
             Enumeration, Boolean, TextString, ByteString, DateTime, Interval or DateTimeExtended)"
        )
    })
}

/// Which tag names the enumeration and mask values of the children of one structure:
/// the child's own tag, except for a 1.x `AttributeValue`, named by the tag that the
/// preceding `AttributeName` sibling names.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Naming {
    attribute: Option<Tag>,
}

impl Naming {
    /// The tag whose enumeration or mask names the value of the child tagged `tag`.
    pub(crate) fn value_tag(&self, tag: Tag) -> Tag {
        if tag == Tag::ATTRIBUTE_VALUE {
            self.attribute.unwrap_or(tag)
        } else {
            tag
        }
    }

    /// Takes note of a child, once read or written, for the siblings after it.
    pub(crate) fn observe(&mut self, child: &Ttlv) {
        if child.tag == Tag::ATTRIBUTE_NAME {
            self.attribute = match &child.value {
                Value::TextString(name) => tables::tag_by_name(name),
                _ => None,
            };
        }
    }
}

/// Parses `0x` (or `0X`) followed by 1 to `max_digits` hex digits.
fn parse_hex(text: &str, max_digits: usize) -> Option<u64> {
    let h = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if h.is_empty() || h.len() > max_digits || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(h, 16).ok()
}

/// An Enumeration value as text: the name that `value_tag`'s enumeration gives it, or hex.
pub(crate) fn enum_text(value_tag: Tag, value: u32) -> String {
    let name = if value_tag == Tag::ATTRIBUTE_REFERENCE {
        // KMIP 2.x: the enumeration of an Attribute Reference is the Tag enumeration.
        Tag(value).name()
    } else {
        tables::enum_for_tag(value_tag).and_then(|d| d.name_of(value))
    };
    match name {
        Some(n) => n.to_string(),
        None => format!("0x{value:08X}"),
    }
}

/// An Integer as bit names joined by `sep`, when `value_tag` carries a bit mask.
pub(crate) fn mask_text(value_tag: Tag, value: i32, sep: &str) -> Option<String> {
    tables::mask_for_tag(value_tag).map(|d| tables::mask_to_names(d, value as u32, sep))
}

/// The message for a test-case placeholder (`$NOW`) where a typed value is expected.
fn placeholder(text: &str, ty: ItemType) -> Option<String> {
    text.starts_with('$').then(|| {
        format!(
            "`{text}` is a test-case placeholder, not a {ty} value (substitute placeholders before parsing)"
        )
    })
}

/// Parses an Enumeration value: a name of `value_tag`'s enumeration, `0x` and hex, or decimal.
fn parse_enum(value_tag: Tag, text: &str) -> Result<u32, String> {
    if let Some(m) = placeholder(text, ItemType::Enumeration) {
        return Err(m);
    }
    if let Some(v) = parse_hex(text, 8) {
        return Ok(v as u32);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u32>()
            .map_err(|_| format!("Enumeration value `{text}` is out of range"));
    }
    if text.starts_with("0x") || text.starts_with("0X") {
        return Err(format!(
            "`{text}` is not an Enumeration value (expected 0x and 1 to 8 hex digits)"
        ));
    }
    if value_tag == Tag::ATTRIBUTE_REFERENCE {
        return tables::tag_by_name(text)
            .map(|t| t.0)
            .ok_or_else(|| format!("`{text}` is not a tag name (Attribute Reference)"));
    }
    match tables::enum_for_tag(value_tag) {
        Some(def) => def
            .value_of(text)
            .or_else(|| {
                let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                def.value_of(&squeezed)
            })
            .ok_or_else(|| format!("`{text}` is not a name of the {} enumeration", def.name)),
        None => Err(format!(
            "`{text}` is not an Enumeration value: no enumeration names the values of {} \
             (use 0x and 8 hex digits)",
            tag_text(value_tag)
        )),
    }
}

/// Parses one number of an Integer: `0x` and up to 8 hex digits (any bit pattern) or decimal.
fn parse_i32_word(word: &str) -> Option<i32> {
    if let Some(v) = parse_hex(word, 8) {
        return Some(v as u32 as i32);
    }
    word.parse::<i32>().ok()
}

/// Parses an Integer: a number, or for a bit mask names, hex and decimal numbers
/// separated by `|` or white space, in any order.
fn parse_integer(value_tag: Tag, text: &str) -> Result<i32, String> {
    if let Some(m) = placeholder(text, ItemType::Integer) {
        return Err(m);
    }
    let Some(def) = tables::mask_for_tag(value_tag) else {
        return parse_i32_word(text.trim()).ok_or_else(|| {
            format!("`{text}` is not an Integer (expected a decimal number or 0x and 8 hex digits)")
        });
    };
    let mut value = 0u32;
    let mut words = 0;
    for word in text
        .split(|c: char| c == '|' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        words += 1;
        value |= match def.value_of(word) {
            Some(v) => v,
            None => parse_i32_word(word)
                .map(|v| v as u32)
                .ok_or_else(|| format!("`{word}` is not a {} bit name or a number", def.name))?,
        };
    }
    if words == 0 {
        return Err(format!("empty {} value", def.name));
    }
    Ok(value as i32)
}

/// Parses a Long Integer: decimal or `0x` and up to 16 hex digits.
fn parse_long(text: &str) -> Result<i64, String> {
    if let Some(m) = placeholder(text, ItemType::LongInteger) {
        return Err(m);
    }
    if let Some(v) = parse_hex(text, 16) {
        return Ok(v as i64);
    }
    text.parse::<i64>().map_err(|_| {
        format!("`{text}` is not a LongInteger (expected a decimal number or 0x and 16 hex digits)")
    })
}

/// Parses an Interval: decimal or `0x` and up to 8 hex digits.
fn parse_interval(text: &str) -> Result<u32, String> {
    if let Some(m) = placeholder(text, ItemType::Interval) {
        return Err(m);
    }
    if let Some(v) = parse_hex(text, 8) {
        return Ok(v as u32);
    }
    text.parse::<u32>().map_err(|_| {
        format!("`{text}` is not an Interval (expected seconds as a decimal number from 0 to 4294967295)")
    })
}

/// Parses a Boolean: `true`, `false`, `1`, `0`, or the 8-byte hex forms.
fn parse_boolean(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => return Ok(true),
        "false" | "0" => return Ok(false),
        _ => {}
    }
    match parse_hex(text, 16) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(placeholder(text, ItemType::Boolean)
            .unwrap_or_else(|| format!("`{text}` is not a Boolean (expected true or false)"))),
    }
}

/// Decodes hex digits (an odd count is read with a leading zero nibble).
fn decode_hex_digits(h: &str) -> Option<Vec<u8>> {
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if h.len() % 2 == 1 {
        hex::decode(format!("0{h}")).ok()
    } else {
        hex::decode(h).ok()
    }
}

/// Parses a Byte String: hex digits (a `0x` prefix is tolerated).
fn parse_bytes(text: &str) -> Result<Bytes, String> {
    if let Some(m) = placeholder(text, ItemType::ByteString) {
        return Err(m);
    }
    let h = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if h.len() % 2 == 1 {
        return Err(format!(
            "ByteString `{}` has an odd number of hex digits",
            shorten(text)
        ));
    }
    decode_hex_digits(h)
        .map(Bytes::new)
        .ok_or_else(|| format!("ByteString `{}` is not hex", shorten(text)))
}

/// Sign-extends two's complement big-endian bytes to a multiple of 8 bytes.
fn pad_big(bytes: Vec<u8>) -> Vec<u8> {
    let rem = bytes.len() % 8;
    if rem == 0 {
        return bytes;
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xFF
    } else {
        0
    };
    let mut out = vec![fill; 8 - rem];
    out.extend_from_slice(&bytes);
    out
}

/// Parses a Big Integer: two's complement big-endian hex, with or without `0x`;
/// sign-extended to a multiple of 8 bytes.
fn parse_big(text: &str) -> Result<Bytes, String> {
    if let Some(m) = placeholder(text, ItemType::BigInteger) {
        return Err(m);
    }
    let h = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    decode_hex_digits(h)
        .map(|b| Bytes::new(pad_big(b)))
        .ok_or_else(|| format!("BigInteger `{}` is not hex", shorten(text)))
}

/// Parses a Date-Time: RFC 3339 / ISO 8601, `0x` and up to 16 hex digits (seconds),
/// or decimal seconds; fractions of a second are dropped.
fn parse_date_time(text: &str) -> Result<i64, String> {
    parse_instant(
        text,
        ItemType::DateTime,
        1_000_000_000,
        "2012-04-05T11:21:44+00:00",
    )
}

/// Parses a Date-Time Extended: RFC 3339 / ISO 8601 with fractions of a second,
/// `0x` and up to 16 hex digits (microseconds), or decimal microseconds.
fn parse_date_time_extended(text: &str) -> Result<i64, String> {
    parse_instant(
        text,
        ItemType::DateTimeExtended,
        1_000,
        "2012-04-05T11:21:44.123456+00:00",
    )
}

/// Parses an instant as a count of units of `unit_nanos` nanoseconds since the epoch.
fn parse_instant(text: &str, ty: ItemType, unit_nanos: i128, example: &str) -> Result<i64, String> {
    if let Some(m) = placeholder(text, ty) {
        return Err(m);
    }
    if let Some(v) = parse_hex(text, 16) {
        return Ok(v as i64);
    }
    if let Ok(v) = text.parse::<i64>() {
        return Ok(v);
    }
    crate::parse_date_time_nanos(text)
        .and_then(|n| i64::try_from(n.div_euclid(unit_nanos)).ok())
        .ok_or_else(|| format!("`{text}` is not a {ty} (expected RFC 3339, e.g. {example})"))
}

/// Parses the text of a value of type `ty` (not a Structure); enumeration and mask
/// names are those of `value_tag`.
pub(crate) fn parse_value_text(ty: ItemType, value_tag: Tag, text: &str) -> Result<Value, String> {
    Ok(match ty {
        ItemType::Structure => return Err("a Structure has no value text".into()),
        ItemType::Integer => Value::Integer(parse_integer(value_tag, text)?),
        ItemType::LongInteger => Value::LongInteger(parse_long(text)?),
        ItemType::BigInteger => Value::BigInteger(parse_big(text)?),
        ItemType::Enumeration => Value::Enumeration(parse_enum(value_tag, text)?),
        ItemType::Boolean => Value::Boolean(parse_boolean(text)?),
        ItemType::TextString => Value::TextString(text.to_string()),
        ItemType::ByteString => Value::ByteString(parse_bytes(text)?),
        ItemType::DateTime => Value::DateTime(parse_date_time(text)?),
        ItemType::Interval => Value::Interval(parse_interval(text)?),
        ItemType::DateTimeExtended => Value::DateTimeExtended(parse_date_time_extended(text)?),
    })
}

/// The first characters of a long value, for error messages (key material stays out of them).
fn shorten(text: &str) -> String {
    if text.chars().count() <= 16 {
        text.to_string()
    } else {
        let head: String = text.chars().take(8).collect();
        format!("{head}… ({} characters)", text.chars().count())
    }
}

/// A path of tags for error locations: `RequestMessage/BatchItem/UniqueIdentifier`.
pub(crate) fn path_text(path: &[String]) -> String {
    if path.is_empty() {
        "top level".to_string()
    } else {
        path.join("/")
    }
}
