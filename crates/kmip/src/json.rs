//! The KMIP JSON encoding of TTLV (KMIP Additional Message Encodings v1.0,
//! KMIP Profiles v1.4 and v2.1).
//!
//! Every item is one JSON object:
//!
//! ```json
//! {"tag": "CryptographicUsageMask", "type": "Integer", "value": "Encrypt|Decrypt"}
//! ```
//!
//! * `tag`: the normalized tag name (`UniqueIdentifier`), or `0x` and 6 hex digits for a
//!   tag the specification does not name (`0x540001`). Read: either form, and the
//!   specification's spelling with spaces (`Unique Identifier`).
//! * `type`: the item type (`Integer`, `LongInteger`, `BigInteger`, `Enumeration`,
//!   `Boolean`, `TextString`, `ByteString`, `DateTime`, `Interval`,
//!   `DateTimeExtended`); omitted for a Structure.
//! * `value`: a Structure's children as an array; an Integer as a number, or for a bit
//!   mask the bit names joined by `|`; a Long Integer as a number while its magnitude
//!   is below 2^52 (what a JSON number holds exactly), otherwise `0x` and 16 hex digits;
//!   a Big Integer as `0x` and its two's complement bytes in hex; an Enumeration as
//!   the value's normalized name, or `0x` and 8 hex digits; a Boolean as `true` or
//!   `false`; a Text String as a string; a Byte String as hex without `0x`; a Date-Time
//!   (Extended) as RFC 3339 (`2012-04-05T11:21:44+00:00`); an Interval as a number.
//!   Reading also accepts the hex forms of every numeric type, decimal text, numbers
//!   for enumerations, and mask names, hex and decimal in any order.
//!
//! In a KMIP 1.x `Attribute`, the enumeration and mask names of the `AttributeValue`
//! are those of the attribute that the preceding `AttributeName` names
//! (`"Cryptographic Algorithm"` → `"AES"`); an `AttributeReference` enumeration
//! (KMIP 2.x) holds a tag, written as the tag's name.
//!
//! Reading is bounded: the text by [`Limits::max_message_size`], the nesting of
//! structures by [`Limits::max_depth`]; every error names the path of tags where it
//! happened.

use crate::binary::Limits;
use crate::tables;
use crate::textual::{
    enum_text, mask_text, parse_tag, parse_type, parse_value_text, path_text, tag_text, Naming,
};
use crate::{Bytes, Error, ItemType, Tag, Ttlv, Value};
use serde_json::{Map, Number, Value as Json};
use std::fmt::Write as _;

const ENCODING: &str = "JSON";

/// Magnitude from which a Long Integer is written as a hex string: JSON numbers are
/// IEEE doubles and hold integers exactly only up to 2^53; the encoding uses 2^52.
const MAX_JSON_INT: i64 = 1 << 52;

/// Encodes `item` as pretty-printed KMIP JSON (two spaces per level).
pub fn to_string(item: &Ttlv) -> String {
    let mut out = String::new();
    write_item(&mut out, item, item.tag, 0);
    out.push('\n');
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn json_string(out: &mut String, s: &str) {
    // serde_json's string escaping cannot fail for a &str.
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_item(out: &mut String, item: &Ttlv, value_tag: Tag, level: usize) {
    indent(out, level);
    out.push_str("{\"tag\": ");
    json_string(out, &tag_text(item.tag));
    let ty = item.value.item_type();
    if ty != ItemType::Structure {
        let _ = write!(out, ", \"type\": \"{}\"", ty.name());
    }
    out.push_str(", \"value\": ");
    match &item.value {
        Value::Structure(children) => {
            if children.is_empty() {
                out.push_str("[]}");
                return;
            }
            out.push_str("[\n");
            let mut naming = Naming::default();
            for (i, child) in children.iter().enumerate() {
                write_item(out, child, naming.value_tag(child.tag), level + 1);
                naming.observe(child);
                if i + 1 < children.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push_str("]}");
            return;
        }
        Value::Integer(v) => match mask_text(value_tag, *v, "|") {
            Some(names) => json_string(out, &names),
            None => {
                let _ = write!(out, "{v}");
            }
        },
        Value::LongInteger(v) => {
            if v.unsigned_abs() < MAX_JSON_INT as u64 {
                let _ = write!(out, "{v}");
            } else {
                let _ = write!(out, "\"0x{:016X}\"", *v as u64);
            }
        }
        Value::BigInteger(b) => {
            let _ = write!(out, "\"0x{}\"", hex::encode_upper(b.as_slice()));
        }
        Value::Enumeration(v) => json_string(out, &enum_text(value_tag, *v)),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::TextString(s) => json_string(out, s),
        Value::ByteString(b) => {
            let _ = write!(out, "\"{}\"", b.to_hex());
        }
        Value::DateTime(secs) => json_string(out, &crate::format_date_time(*secs)),
        Value::Interval(v) => {
            let _ = write!(out, "{v}");
        }
        Value::DateTimeExtended(micros) => {
            json_string(out, &crate::format_date_time_extended(*micros))
        }
    }
    out.push('}');
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

fn syntax(location: String, message: impl Into<String>) -> Error {
    Error::Syntax {
        encoding: ENCODING,
        location,
        message: message.into(),
    }
}

/// Decodes one KMIP JSON item (normally a whole message), bounded by `limits`.
pub fn from_str(text: &str, limits: &Limits) -> Result<Ttlv, Error> {
    if text.len() > limits.max_message_size {
        return Err(syntax(
            "top level".into(),
            format!(
                "message of {} bytes exceeds the limit of {}",
                text.len(),
                limits.max_message_size
            ),
        ));
    }
    let json: Json = serde_json::from_str(text).map_err(|e| {
        syntax(
            format!("line {}, column {}", e.line(), e.column()),
            format!("malformed JSON: {e}"),
        )
    })?;
    let mut path = Vec::new();
    read_item(&json, None, 1, limits, &mut path)
}

/// Reads one item object. `naming` is the parent's naming context (None at the top).
fn read_item(
    json: &Json,
    naming: Option<&Naming>,
    depth: usize,
    limits: &Limits,
    path: &mut Vec<String>,
) -> Result<Ttlv, Error> {
    let here = |path: &Vec<String>| path_text(path);
    let obj: &Map<String, Json> = json.as_object().ok_or_else(|| {
        syntax(
            here(path),
            format!(
                "expected an object {{\"tag\", \"type\", \"value\"}}, found {}",
                kind(json)
            ),
        )
    })?;
    for key in obj.keys() {
        if !matches!(key.as_str(), "tag" | "type" | "value") {
            return Err(syntax(
                here(path),
                format!("unexpected member `{key}` (an item has only tag, type and value)"),
            ));
        }
    }
    let tag = match obj.get("tag") {
        Some(Json::String(s)) => parse_tag(s).map_err(|m| syntax(here(path), m))?,
        Some(other) => {
            return Err(syntax(
                here(path),
                format!("`tag` must be a string, found {}", kind(other)),
            ))
        }
        None => return Err(syntax(here(path), "missing `tag`")),
    };
    path.push(tag_text(tag));
    let result = read_tagged(obj, tag, naming, depth, limits, path);
    path.pop();
    result
}

fn read_tagged(
    obj: &Map<String, Json>,
    tag: Tag,
    naming: Option<&Naming>,
    depth: usize,
    limits: &Limits,
    path: &mut Vec<String>,
) -> Result<Ttlv, Error> {
    let ty = match obj.get("type") {
        None => ItemType::Structure,
        Some(Json::String(s)) => parse_type(s).map_err(|m| syntax(path_text(path), m))?,
        Some(other) => {
            return Err(syntax(
                path_text(path),
                format!("`type` must be a string, found {}", kind(other)),
            ))
        }
    };
    let value = obj
        .get("value")
        .ok_or_else(|| syntax(path_text(path), "missing `value`"))?;
    if ty == ItemType::Structure {
        if depth > limits.max_depth {
            return Err(syntax(
                path_text(path),
                format!("structures nested deeper than {}", limits.max_depth),
            ));
        }
        let items = value.as_array().ok_or_else(|| {
            syntax(
                path_text(path),
                format!(
                    "the value of a Structure must be an array, found {}",
                    kind(value)
                ),
            )
        })?;
        let mut children = Vec::with_capacity(items.len());
        let mut inner = Naming::default();
        for child in items {
            let c = read_item(child, Some(&inner), depth + 1, limits, path)?;
            inner.observe(&c);
            children.push(c);
        }
        return Ok(Ttlv::structure(tag, children));
    }
    let value_tag = naming.map_or(tag, |n| n.value_tag(tag));
    let v = read_value(ty, value_tag, value).map_err(|m| syntax(path_text(path), m))?;
    Ok(Ttlv::new(tag, v))
}

/// The JSON kind of `v`, for messages.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// An integral JSON number (floats only when integral and exact).
fn integral(n: &Number) -> Option<i128> {
    if let Some(v) = n.as_i64() {
        return Some(v as i128);
    }
    if let Some(v) = n.as_u64() {
        return Some(v as i128);
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() <= (1u64 << 53) as f64).then_some(f as i128)
}

fn read_value(ty: ItemType, value_tag: Tag, json: &Json) -> Result<Value, String> {
    let wrong = |expected: &str| format!("a {ty} value must be {expected}, found {}", kind(json));
    match json {
        Json::String(s) => parse_value_text(ty, value_tag, s),
        Json::Number(n) => {
            let out_of_range = || format!("{n} is out of range for {ty}");
            let v = integral(n).ok_or_else(|| format!("{n} is not an integer"))?;
            match ty {
                ItemType::Integer => {
                    // Bit masks may be written as unsigned 32-bit numbers.
                    if let Ok(x) = i32::try_from(v) {
                        Ok(Value::Integer(x))
                    } else if tables::mask_for_tag(value_tag).is_some() {
                        u32::try_from(v)
                            .map(|x| Value::Integer(x as i32))
                            .map_err(|_| out_of_range())
                    } else {
                        Err(out_of_range())
                    }
                }
                ItemType::LongInteger => i64::try_from(v)
                    .map(Value::LongInteger)
                    .map_err(|_| out_of_range()),
                ItemType::BigInteger => i64::try_from(v)
                    .map(|x| Value::BigInteger(big_from_i64(x)))
                    .map_err(|_| out_of_range()),
                ItemType::Enumeration => u32::try_from(v)
                    .map(Value::Enumeration)
                    .map_err(|_| out_of_range()),
                ItemType::Interval => u32::try_from(v)
                    .map(Value::Interval)
                    .map_err(|_| out_of_range()),
                ItemType::DateTime => i64::try_from(v)
                    .map(Value::DateTime)
                    .map_err(|_| out_of_range()),
                ItemType::DateTimeExtended => i64::try_from(v)
                    .map(Value::DateTimeExtended)
                    .map_err(|_| out_of_range()),
                ItemType::Boolean => Err(wrong("true or false")),
                ItemType::TextString => Err(wrong("a string")),
                ItemType::ByteString => Err(wrong("a string of hex digits")),
                ItemType::Structure => Err(wrong("an array")),
            }
        }
        Json::Bool(b) if ty == ItemType::Boolean => Ok(Value::Boolean(*b)),
        _ => Err(wrong(match ty {
            ItemType::Boolean => "true or false",
            ItemType::TextString => "a string",
            ItemType::ByteString => "a string of hex digits",
            ItemType::DateTime | ItemType::DateTimeExtended => "an RFC 3339 string",
            ItemType::Enumeration => "a name or 0x and 8 hex digits",
            _ => "a number or a 0x hex string",
        })),
    }
}

/// A Big Integer's bytes as a JSON number's two's complement (8 bytes).
fn big_from_i64(v: i64) -> Bytes {
    Bytes::new(v.to_be_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    fn round(item: &Ttlv) -> Ttlv {
        let text = to_string(item);
        from_str(&text, &lim()).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn leaf(tag: Tag, value: Value) -> Ttlv {
        Ttlv::new(tag, value)
    }

    fn err_of(text: &str) -> (String, String) {
        match from_str(text, &lim()) {
            Err(Error::Syntax {
                encoding,
                location,
                message,
            }) => {
                assert_eq!(encoding, "JSON");
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
            leaf(x, Value::LongInteger(-(1 << 52) + 1)),
            leaf(x, Value::LongInteger(1 << 52)),
            leaf(x, Value::BigInteger(Bytes::new(vec![0xFF; 16]))),
            leaf(x, Value::BigInteger(Bytes::new(vec![]))),
            leaf(x, Value::Enumeration(0x8000_0001)),
            leaf(x, Value::Boolean(true)),
            leaf(x, Value::Boolean(false)),
            leaf(
                x,
                Value::TextString("quote \" back \\ nl \n nul \0 é".into()),
            ),
            leaf(x, Value::TextString(String::new())),
            leaf(x, Value::ByteString(Bytes::new(vec![0, 1, 0xAB]))),
            leaf(x, Value::ByteString(Bytes::new(vec![]))),
            leaf(x, Value::DateTime(1_333_624_904)),
            leaf(x, Value::DateTime(i64::MAX)),
            leaf(x, Value::Interval(u32::MAX)),
            leaf(x, Value::DateTimeExtended(1_333_624_904_123_456)),
            leaf(x, Value::DateTimeExtended(i64::MIN)),
            Ttlv::structure(x, vec![]),
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
                leaf(Tag::MAXIMUM_RESPONSE_SIZE, Value::Integer(256)),
                leaf(Tag::ACTIVATION_DATE, Value::DateTime(1_333_624_904)),
                leaf(Tag::USAGE_LIMITS_TOTAL, Value::LongInteger(1 << 53)),
                leaf(Tag::USAGE_LIMITS_COUNT, Value::LongInteger(16)),
                leaf(
                    Tag::MODULUS,
                    Value::BigInteger(Bytes::new(vec![0, 0, 0, 0, 0, 0, 1, 0])),
                ),
            ],
        );
        let text = to_string(&item);
        let expected = r#"{"tag": "RequestMessage", "value": [
  {"tag": "Operation", "type": "Enumeration", "value": "Create"},
  {"tag": "CryptographicUsageMask", "type": "Integer", "value": "Encrypt|Decrypt"},
  {"tag": "CryptographicUsageMask", "type": "Integer", "value": "Sign|0x80000000"},
  {"tag": "0x540001", "type": "ByteString", "value": "0102"},
  {"tag": "MaximumResponseSize", "type": "Integer", "value": 256},
  {"tag": "ActivationDate", "type": "DateTime", "value": "2012-04-05T11:21:44+00:00"},
  {"tag": "UsageLimitsTotal", "type": "LongInteger", "value": "0x0020000000000000"},
  {"tag": "UsageLimitsCount", "type": "LongInteger", "value": 16},
  {"tag": "Modulus", "type": "BigInteger", "value": "0x0000000000000100"}
]}
"#;
        assert_eq!(text, expected);
        // The output is valid JSON for any JSON reader.
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(v["value"][1]["value"], "Encrypt|Decrypt");
        assert_eq!(from_str(&text, &lim()).unwrap(), item);
    }

    #[test]
    fn reads_spec_example_and_tolerated_forms() {
        let text = r#"{"tag":"RequestMessage","value":[
            {"tag":"Operation","type":"Enumeration","value":"0x00000001"},
            {"tag":"Operation","type":"Enumeration","value":3},
            {"tag":"Operation","type":"Enumeration","value":"Locate"},
            {"tag":"Cryptographic Usage Mask","type":"Integer","value":"Decrypt|0x00000004|16"},
            {"tag":"CryptographicUsageMask","type":"Integer","value":"Encrypt Decrypt"},
            {"tag":"CryptographicUsageMask","type":"Integer","value":12},
            {"tag":"0x42002c","type":"Integer","value":"0x0000000C"},
            {"tag":"BatchCount","type":"Integer","value":"0x00000002"},
            {"tag":"UsageLimitsTotal","type":"LongInteger","value":"0x0000000000000010"},
            {"tag":"Modulus","type":"BigInteger","value":256},
            {"tag":"Modulus","type":"BigInteger","value":"0x0100"},
            {"tag":"Modulus","type":"BigInteger","value":"0xFF00"},
            {"tag":"RandomIV","type":"Boolean","value":"0x0000000000000001"},
            {"tag":"ActivationDate","type":"DateTime","value":"0x000000004F7D8048"},
            {"tag":"ActivationDate","type":"DateTime","value":"2012-04-05T11:21:44Z"},
            {"tag":"LeaseTime","type":"Interval","value":"0x00000E10"},
            {"tag":"0x540001","type":"Structure","value":[]}
        ]}"#;
        let item = from_str(text, &lim()).unwrap();
        let c = item.children();
        assert_eq!(c[0].value, Value::Enumeration(1));
        assert_eq!(c[1].value, Value::Enumeration(3));
        assert_eq!(c[2].value, Value::Enumeration(8));
        assert_eq!(c[3].tag, Tag::CRYPTOGRAPHIC_USAGE_MASK);
        assert_eq!(c[3].value, Value::Integer(8 | 4 | 16));
        for item in &c[4..7] {
            assert_eq!(item.value, Value::Integer(12));
        }
        assert_eq!(c[7].value, Value::Integer(2));
        assert_eq!(c[8].value, Value::LongInteger(16));
        let big = |v: Vec<u8>| Value::BigInteger(Bytes::new(v));
        assert_eq!(c[9].value, big(vec![0, 0, 0, 0, 0, 0, 1, 0]));
        assert_eq!(c[10].value, big(vec![0, 0, 0, 0, 0, 0, 1, 0]));
        assert_eq!(
            c[11].value,
            big(vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0])
        );
        assert_eq!(c[12].value, Value::Boolean(true));
        assert_eq!(c[13].value, Value::DateTime(1_333_624_904));
        assert_eq!(c[14].value, Value::DateTime(1_333_624_904));
        assert_eq!(c[15].value, Value::Interval(3600));
        assert_eq!(c[16], Ttlv::structure(Tag(0x540001), vec![]));
    }

    #[test]
    fn attribute_values_are_named_by_the_attribute_name() {
        let attr = |name: &str, value: Value| {
            Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    leaf(Tag::ATTRIBUTE_NAME, Value::TextString(name.into())),
                    leaf(Tag::ATTRIBUTE_VALUE, value),
                ],
            )
        };
        let item = Ttlv::structure(
            Tag::TEMPLATE_ATTRIBUTE,
            vec![
                attr("Cryptographic Algorithm", Value::Enumeration(3)),
                attr("Cryptographic Usage Mask", Value::Integer(12)),
                attr("Cryptographic Length", Value::Integer(256)),
                attr("x-custom", Value::Enumeration(3)),
                attr("State", Value::Enumeration(0x8000_0000)),
            ],
        );
        let text = to_string(&item);
        assert!(text.contains(r#""value": "AES""#), "{text}");
        assert!(text.contains(r#""value": "Encrypt|Decrypt""#), "{text}");
        assert!(text.contains(r#""value": 256"#), "{text}");
        assert!(text.contains(r#""value": "0x00000003""#), "{text}");
        assert!(text.contains(r#""value": "0x80000000""#), "{text}");
        assert_eq!(from_str(&text, &lim()).unwrap(), item);
        // A name of the wrong enumeration is an error naming where.
        let bad = r#"{"tag":"Attribute","value":[
            {"tag":"AttributeName","type":"TextString","value":"Object Type"},
            {"tag":"AttributeValue","type":"Enumeration","value":"AES"}]}"#;
        let (loc, msg) = err_of(bad);
        assert_eq!(loc, "Attribute/AttributeValue");
        assert!(
            msg.contains("not a name of the ObjectType enumeration"),
            "{msg}"
        );
    }

    #[test]
    fn attribute_reference_values_are_tag_names() {
        let item = Ttlv::structure(
            Tag::ATTRIBUTES,
            vec![
                leaf(
                    Tag::ATTRIBUTE_REFERENCE,
                    Value::Enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM.0),
                ),
                leaf(Tag::ATTRIBUTE_REFERENCE, Value::Enumeration(0x54_0001)),
            ],
        );
        let text = to_string(&item);
        assert!(
            text.contains(r#""value": "CryptographicAlgorithm""#),
            "{text}"
        );
        assert!(text.contains(r#""value": "0x00540001""#), "{text}");
        assert_eq!(from_str(&text, &lim()).unwrap(), item);
    }

    #[test]
    fn errors_name_the_place_and_the_problem() {
        let (loc, msg) = err_of(
            r#"{"tag":"RequestMessage","value":[{"tag":"BatchItem","value":[
            {"tag":"UniqueIdentifier","type":"Textstring","value":"x"}]}]}"#,
        );
        assert_eq!(loc, "RequestMessage/BatchItem/UniqueIdentifier");
        assert!(msg.contains("unknown item type `Textstring`"), "{msg}");

        let (_, msg) = err_of(r#"{"tag":"NoSuchTag","value":[]}"#);
        assert!(msg.contains("unknown tag `NoSuchTag`"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"0x1000000","value":[]}"#);
        assert!(msg.contains("larger than 3 bytes"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"KeyMaterial","type":"ByteString","value":"0g"}"#);
        assert!(msg.contains("not hex"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"KeyMaterial","type":"ByteString","value":"abc"}"#);
        assert!(msg.contains("odd number"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"Modulus","type":"BigInteger","value":"0xZZ"}"#);
        assert!(msg.contains("not hex"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"Operation","type":"Enumeration","value":"Frobnicate"}"#);
        assert!(
            msg.contains("not a name of the Operation enumeration"),
            "{msg}"
        );
        let (_, msg) = err_of(r#"{"tag":"0x540001","type":"Enumeration","value":"Create"}"#);
        assert!(msg.contains("no enumeration names"), "{msg}");
        let (_, msg) =
            err_of(r#"{"tag":"CryptographicUsageMask","type":"Integer","value":"Encrypt|Bogus"}"#);
        assert!(msg.contains("`Bogus`"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"BatchCount","type":"Integer","value":2147483648}"#);
        assert!(msg.contains("out of range"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"BatchCount","type":"Integer","value":1.5}"#);
        assert!(msg.contains("not an integer"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"RandomIV","type":"Boolean","value":"yes"}"#);
        assert!(msg.contains("Boolean"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"RandomIV","type":"Boolean","value":1}"#);
        assert!(msg.contains("true or false"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"TimeStamp","type":"DateTime","value":"$NOW"}"#);
        assert!(msg.contains("placeholder"), "{msg}");
        let (_, msg) =
            err_of(r#"{"tag":"KeyMaterial","type":"ByteString","value":"$KEY_MATERIAL_0"}"#);
        assert!(msg.contains("placeholder"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"TimeStamp","type":"DateTime","value":"yesterday"}"#);
        assert!(msg.contains("RFC 3339"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"RequestMessage","value":{}}"#);
        assert!(msg.contains("must be an array"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"RequestMessage","value":[], "extra": 1}"#);
        assert!(msg.contains("unexpected member `extra`"), "{msg}");
        let (_, msg) = err_of(r#"{"tag":"BatchCount","type":"Integer"}"#);
        assert!(msg.contains("missing `value`"), "{msg}");
        let (_, msg) = err_of(r#"[1]"#);
        assert!(msg.contains("expected an object"), "{msg}");
        let (loc, msg) = err_of("{\"tag\":\n\"RequestMessage\",");
        assert!(loc.starts_with("line 2"), "{loc}");
        assert!(msg.contains("malformed JSON"), "{msg}");
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
        // Beyond serde_json's own recursion limit: still an error, never a crash.
        let deep = "[".repeat(100_000);
        assert!(from_str(&deep, &lim()).is_err());
        let small = Limits {
            max_message_size: 10,
            max_depth: 4,
        };
        let err = from_str(&to_string(&nest(1)), &small).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
    }
}
