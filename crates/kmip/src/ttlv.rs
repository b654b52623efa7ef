//! The TTLV item model shared by the binary, JSON and XML encodings.

use crate::tables;
use std::fmt;
use zeroize::Zeroize;

/// A TTLV tag: `0x42xxxx` for the specification's tags, `0x54xxxx` for extensions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl Tag {
    /// True for the extension range `0x54xxxx` that vendors and custom attributes use.
    pub fn is_extension(self) -> bool {
        self.0 >> 16 == 0x54
    }

    /// The normalized specification name (`UniqueIdentifier`), if the specification defines the tag.
    pub fn name(self) -> Option<&'static str> {
        tables::tag_info(self).map(|i| i.name)
    }

    /// The name as the specification spells it (`Unique Identifier`).
    pub fn spec_name(self) -> Option<&'static str> {
        tables::tag_info(self).map(|i| i.spec_name)
    }

    /// Parses a tag written as a normalized name, a specification name or `0x42xxxx`.
    pub fn parse(text: &str) -> Option<Tag> {
        tables::tag_by_name(text).or_else(|| {
            let v = parse_hex_u32(text)?;
            (v <= 0xFF_FFFF && text.len() >= 3).then_some(Tag(v))
        })
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:06X}", self.0),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec_name() {
            Some(n) => write!(f, "{n} (0x{:06X})", self.0),
            None => write!(f, "0x{:06X}", self.0),
        }
    }
}

/// The item types of KMIP 1.0-2.1 with their wire codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ItemType {
    /// 0x01
    Structure = 1,
    /// 0x02, 32-bit signed
    Integer = 2,
    /// 0x03, 64-bit signed
    LongInteger = 3,
    /// 0x04, two's complement big-endian, a multiple of 8 bytes
    BigInteger = 4,
    /// 0x05, 32-bit unsigned
    Enumeration = 5,
    /// 0x06
    Boolean = 6,
    /// 0x07, UTF-8
    TextString = 7,
    /// 0x08
    ByteString = 8,
    /// 0x09, seconds since the epoch, 64-bit signed
    DateTime = 9,
    /// 0x0A, seconds, 32-bit unsigned
    Interval = 10,
    /// 0x0B (KMIP 2.0+), microseconds since the epoch, 64-bit signed
    DateTimeExtended = 11,
}

impl ItemType {
    /// The type with this wire code.
    pub fn from_code(code: u8) -> Option<Self> {
        use ItemType::*;
        Some(match code {
            1 => Structure,
            2 => Integer,
            3 => LongInteger,
            4 => BigInteger,
            5 => Enumeration,
            6 => Boolean,
            7 => TextString,
            8 => ByteString,
            9 => DateTime,
            10 => Interval,
            11 => DateTimeExtended,
            _ => return None,
        })
    }

    /// The name the XML and JSON encodings use (`LongInteger`).
    pub fn name(self) -> &'static str {
        use ItemType::*;
        match self {
            Structure => "Structure",
            Integer => "Integer",
            LongInteger => "LongInteger",
            BigInteger => "BigInteger",
            Enumeration => "Enumeration",
            Boolean => "Boolean",
            TextString => "TextString",
            ByteString => "ByteString",
            DateTime => "DateTime",
            Interval => "Interval",
            DateTimeExtended => "DateTimeExtended",
        }
    }

    /// The type with this XML/JSON name.
    pub fn from_name(name: &str) -> Option<Self> {
        (1..=11)
            .filter_map(Self::from_code)
            .find(|t| t.name() == name)
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes that may be key material: wiped from memory when dropped, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct Bytes(Vec<u8>);

impl Bytes {
    /// Takes ownership of `v`.
    pub fn new(v: Vec<u8>) -> Self {
        Bytes(v)
    }
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Lower-case hex of the bytes, for tools that show traffic on purpose.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Bytes(v.to_vec())
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The value of one TTLV item.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Value {
    /// Child items, in order.
    Structure(Vec<Ttlv>),
    /// 32-bit signed integer (also bit masks).
    Integer(i32),
    /// 64-bit signed integer.
    LongInteger(i64),
    /// Two's complement big-endian bytes as on the wire (a multiple of 8 bytes).
    BigInteger(Bytes),
    /// Enumeration value.
    Enumeration(u32),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 text.
    TextString(String),
    /// Bytes.
    ByteString(Bytes),
    /// Seconds since 1970-01-01T00:00:00Z.
    DateTime(i64),
    /// Seconds.
    Interval(u32),
    /// Microseconds since 1970-01-01T00:00:00Z (KMIP 2.0+).
    DateTimeExtended(i64),
}

impl Value {
    /// The item type of this value.
    pub fn item_type(&self) -> ItemType {
        match self {
            Value::Structure(_) => ItemType::Structure,
            Value::Integer(_) => ItemType::Integer,
            Value::LongInteger(_) => ItemType::LongInteger,
            Value::BigInteger(_) => ItemType::BigInteger,
            Value::Enumeration(_) => ItemType::Enumeration,
            Value::Boolean(_) => ItemType::Boolean,
            Value::TextString(_) => ItemType::TextString,
            Value::ByteString(_) => ItemType::ByteString,
            Value::DateTime(_) => ItemType::DateTime,
            Value::Interval(_) => ItemType::Interval,
            Value::DateTimeExtended(_) => ItemType::DateTimeExtended,
        }
    }
}

/// One TTLV item: a tag and its typed value.
#[derive(Clone, PartialEq, Eq)]
pub struct Ttlv {
    /// The tag.
    pub tag: Tag,
    /// The value (its type is the item's type).
    pub value: Value,
}

/// Byte strings already print only their length; the text of a password
/// (a raw request before it is read as typed) is redacted too.
impl fmt::Debug for Ttlv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = matches!(self.tag, Tag::PASSWORD | Tag::ONE_TIME_PASSWORD);
        let mut d = f.debug_struct("Ttlv");
        d.field("tag", &self.tag);
        match &self.value {
            Value::TextString(_) if secret => {
                d.field("value", &format_args!("TextString(<redacted>)"))
            }
            v => d.field("value", v),
        };
        d.finish()
    }
}

impl Default for Ttlv {
    /// An empty structure with tag 0 (a placeholder while building a message).
    fn default() -> Self {
        Ttlv::structure(Tag(0), Vec::new())
    }
}

impl Ttlv {
    /// A new item.
    pub fn new(tag: Tag, value: Value) -> Self {
        Ttlv { tag, value }
    }

    /// A structure item.
    pub fn structure(tag: Tag, children: Vec<Ttlv>) -> Self {
        Ttlv {
            tag,
            value: Value::Structure(children),
        }
    }

    /// The children of a structure (empty for other types).
    pub fn children(&self) -> &[Ttlv] {
        match &self.value {
            Value::Structure(c) => c,
            _ => &[],
        }
    }

    /// The first child with `tag`.
    pub fn child(&self, tag: Tag) -> Option<&Ttlv> {
        self.children().iter().find(|c| c.tag == tag)
    }
}

/// Parses `0x` followed by 1 to 8 hex digits.
pub(crate) fn parse_hex_u32(text: &str) -> Option<u32> {
    let h = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if h.is_empty() || h.len() > 8 {
        return None;
    }
    u32::from_str_radix(h, 16).ok()
}

/// Formats a Date-Time (seconds since the epoch) as RFC 3339 in UTC (`2012-04-05T11:21:44+00:00`).
pub fn format_date_time(secs: i64) -> String {
    // RFC 3339 has four-digit years only: other instants are written in hex.
    match time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
    {
        Some(t) => t
            .format(&time::format_description::well_known::Rfc3339)
            .map(|s| s.replace('Z', "+00:00"))
            .unwrap_or_else(|_| format!("0x{:016X}", secs as u64)),
        None => format!("0x{:016X}", secs as u64),
    }
}

/// Formats a Date-Time Extended (microseconds since the epoch) as RFC 3339 with microseconds.
pub fn format_date_time_extended(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000);
    match t.ok().filter(|t| (0..=9999).contains(&t.year())) {
        Some(t) => {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
            );
            t.format(&fmt)
                .unwrap_or_else(|_| format!("0x{:016X}", micros as u64))
        }
        None => format!("0x{:016X}", micros as u64),
    }
}

/// Parses an RFC 3339 / ISO 8601 date-time, or `0x` and up to 16 hex digits, to nanoseconds since the epoch.
pub fn parse_date_time_nanos(text: &str) -> Option<i128> {
    if let Some(h) = text.strip_prefix("0x") {
        if h.is_empty() || h.len() > 16 {
            return None;
        }
        return u64::from_str_radix(h, 16)
            .ok()
            .map(|v| v as i64 as i128 * 1_000_000_000);
    }
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .or_else(|_| {
            time::OffsetDateTime::parse(
                text,
                &time::format_description::well_known::Iso8601::DEFAULT,
            )
        })
        .ok()?;
    Some(t.unix_timestamp_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_parse_and_display() {
        assert_eq!(Tag::parse("UniqueIdentifier"), Some(Tag(0x420094)));
        assert_eq!(Tag::parse("Unique Identifier"), Some(Tag(0x420094)));
        assert_eq!(Tag::parse("0x540001"), Some(Tag(0x540001)));
        assert_eq!(Tag::parse("0x1000000"), None);
        assert_eq!(Tag::parse("nope"), None);
        assert_eq!(Tag(0x420094).to_string(), "Unique Identifier (0x420094)");
        assert_eq!(format!("{:?}", Tag(0x540001)), "0x540001");
        assert!(Tag(0x540001).is_extension());
    }

    #[test]
    fn passwords_never_debug_print() {
        let t = Ttlv::new(Tag::PASSWORD, Value::TextString("hunter2".into()));
        let tree = Ttlv::structure(Tag::CREDENTIAL_VALUE, vec![t]);
        let shown = format!("{tree:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("<redacted>"),
            "{shown}"
        );
        let name = Ttlv::new(Tag::USERNAME, Value::TextString("vSphere".into()));
        assert!(format!("{name:?}").contains("vSphere"));
    }

    #[test]
    fn bytes_never_debug_print_content() {
        let b = Bytes::new(vec![0xde, 0xad]);
        assert_eq!(format!("{b:?}"), "<2 bytes>");
        let v = Value::ByteString(b);
        assert!(!format!("{v:?}").contains("de"));
    }

    #[test]
    fn date_times() {
        assert_eq!(format_date_time(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(format_date_time(6), "1970-01-01T00:00:06+00:00");
        assert_eq!(
            parse_date_time_nanos("1970-01-01T00:00:06+00:00"),
            Some(6_000_000_000)
        );
        assert_eq!(
            parse_date_time_nanos("2012-04-05T11:21:44Z").map(|n| n / 1_000_000_000),
            Some(1333624904)
        );
        assert_eq!(
            parse_date_time_nanos("0x0000000000000006"),
            Some(6_000_000_000)
        );
        assert_eq!(
            format_date_time_extended(1_500_000),
            "1970-01-01T00:00:01.500000+00:00"
        );
        assert_eq!(
            parse_date_time_nanos("1970-01-01T00:00:01.500000+00:00"),
            Some(1_500_000_000)
        );
        assert_eq!(parse_date_time_nanos("garbage"), None);
        // out of range values fall back to hex rather than failing
        assert!(format_date_time(i64::MAX).starts_with("0x"));
        // negative years have no RFC 3339 form: hex, and it parses back
        let t = format_date_time(-300_000_000_000);
        assert_eq!(
            parse_date_time_nanos(&t),
            Some(-300_000_000_000 * 1_000_000_000),
            "{t}"
        );
    }
}
