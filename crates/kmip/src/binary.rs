//! The binary TTLV encoding (KMIP 1.0-2.1 section 9.1 / 2.1 section 15).
//!
//! Every item is a 3-byte tag, a 1-byte type, a 4-byte big-endian length and a
//! value padded with zeros to a multiple of 8 bytes. Decoding is bounded: no
//! length read from the input is trusted before it is checked against the bytes
//! actually present, so a length of 4 GiB allocates nothing, and the nesting
//! depth and total size are capped by [`Limits`].

use crate::{Bytes, Error, ItemType, Tag, Ttlv, Value};

/// Bounds that a decode of untrusted input never exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message in bytes (header included).
    pub max_message_size: usize,
    /// Deepest nesting of structures (the message itself is depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    /// 16 MiB and 32 levels: far above any KMIP message seen in the wild
    /// (a certificate chain or a large Locate response) and far below harm.
    fn default() -> Self {
        Limits {
            max_message_size: 16 * 1024 * 1024,
            max_depth: 32,
        }
    }
}

/// Why a binary decode failed; the error also names the offset and the tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The input ends inside an item header or value.
    Truncated {
        /// Bytes the item needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// The type byte is not a KMIP item type.
    UnknownType(u8),
    /// A fixed-size type with the wrong length.
    BadLength {
        /// The item type.
        item_type: ItemType,
        /// The length field.
        length: u32,
    },
    /// A Boolean that is neither 0 nor 1.
    BadBoolean(u64),
    /// A Text String that is not UTF-8.
    BadUtf8,
    /// Structures nested deeper than the limit.
    TooDeep(usize),
    /// The message is larger than the limit.
    TooLarge {
        /// Declared or actual size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes remain after the top-level item.
    TrailingBytes(usize),
    /// A structure's children do not end exactly at the structure's length.
    StructureOverrun,
}

impl std::fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use DecodeErrorKind::*;
        match self {
            Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} bytes, {available} left")
            }
            UnknownType(t) => write!(f, "unknown item type 0x{t:02X}"),
            BadLength { item_type, length } => {
                write!(f, "length {length} is invalid for {item_type}")
            }
            BadBoolean(v) => write!(f, "Boolean value {v} is neither 0 nor 1"),
            BadUtf8 => f.write_str("Text String is not valid UTF-8"),
            TooDeep(d) => write!(f, "structures nested deeper than {d}"),
            TooLarge { size, limit } => {
                write!(f, "message of {size} bytes exceeds the limit of {limit}")
            }
            TrailingBytes(n) => write!(f, "{n} bytes after the end of the message"),
            StructureOverrun => f.write_str("a child item overruns its structure"),
        }
    }
}

const HEADER: usize = 8;

/// The total size of the TTLV item whose first 8 bytes are `header`, for framing
/// a stream: `None` until 8 bytes are there. The caller checks the size against
/// its limit before reading the rest.
pub fn frame_len(header: &[u8]) -> Option<usize> {
    let h: &[u8; 8] = header.get(..HEADER)?.try_into().ok()?;
    let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let padded = if h[3] == ItemType::Structure as u8 {
        len
    } else {
        pad8(len)
    };
    Some(HEADER + padded)
}

fn pad8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Decodes one complete message (exactly one top-level item, no trailing bytes).
pub fn decode(input: &[u8], limits: &Limits) -> Result<Ttlv, Error> {
    if input.len() > limits.max_message_size {
        return Err(Error::decode(
            0,
            None,
            DecodeErrorKind::TooLarge {
                size: input.len(),
                limit: limits.max_message_size,
            },
        ));
    }
    let mut r = Reader { buf: input, pos: 0 };
    let item = read_item(&mut r, 1, limits)?;
    if r.pos != input.len() {
        return Err(Error::decode(
            r.pos,
            None,
            DecodeErrorKind::TrailingBytes(input.len() - r.pos),
        ));
    }
    Ok(item)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, at: usize, tag: Option<Tag>) -> Result<&'a [u8], Error> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(Error::decode(
                at,
                tag,
                DecodeErrorKind::Truncated {
                    needed: n,
                    available,
                },
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
}

fn read_item(r: &mut Reader<'_>, depth: usize, limits: &Limits) -> Result<Ttlv, Error> {
    let start = r.pos;
    let h = r.take(HEADER, start, None)?;
    let tag = Tag(u32::from_be_bytes([0, h[0], h[1], h[2]]));
    let t = h[3];
    let length = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    let len = length as usize;
    let err = |kind| Error::decode(start, Some(tag), kind);
    let item_type = ItemType::from_code(t).ok_or_else(|| err(DecodeErrorKind::UnknownType(t)))?;
    let fixed = |want: u32| {
        if length == want {
            Ok(())
        } else {
            Err(err(DecodeErrorKind::BadLength { item_type, length }))
        }
    };
    let value = match item_type {
        ItemType::Structure => {
            if depth > limits.max_depth {
                return Err(err(DecodeErrorKind::TooDeep(limits.max_depth)));
            }
            let body = r.take(len, start, Some(tag))?;
            let mut inner = Reader { buf: body, pos: 0 };
            // Each child takes at least 16 bytes in practice: a capacity from the
            // bytes actually present avoids regrowth and is bounded by the input.
            let mut children = Vec::with_capacity((len / 16).clamp(1, 16));
            while inner.pos < body.len() {
                let child = read_item(&mut inner, depth + 1, limits)
                    .map_err(|e| e.shifted(start + HEADER))?;
                children.push(child);
            }
            Value::Structure(children)
        }
        ItemType::Integer | ItemType::Enumeration | ItemType::Interval => {
            fixed(4)?;
            let b = r.take(8, start, Some(tag))?;
            let v = [b[0], b[1], b[2], b[3]];
            match item_type {
                ItemType::Integer => Value::Integer(i32::from_be_bytes(v)),
                ItemType::Enumeration => Value::Enumeration(u32::from_be_bytes(v)),
                _ => Value::Interval(u32::from_be_bytes(v)),
            }
        }
        ItemType::LongInteger
        | ItemType::DateTime
        | ItemType::DateTimeExtended
        | ItemType::Boolean => {
            fixed(8)?;
            let b = r.take(8, start, Some(tag))?;
            let v = i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            match item_type {
                ItemType::LongInteger => Value::LongInteger(v),
                ItemType::DateTime => Value::DateTime(v),
                ItemType::DateTimeExtended => Value::DateTimeExtended(v),
                _ => match v {
                    0 => Value::Boolean(false),
                    1 => Value::Boolean(true),
                    other => return Err(err(DecodeErrorKind::BadBoolean(other as u64))),
                },
            }
        }
        ItemType::BigInteger => {
            if len % 8 != 0 {
                return Err(err(DecodeErrorKind::BadLength { item_type, length }));
            }
            Value::BigInteger(Bytes::from(r.take(len, start, Some(tag))?))
        }
        ItemType::TextString | ItemType::ByteString => {
            let padded = pad8(len);
            let b = r.take(padded, start, Some(tag))?;
            let b = &b[..len];
            if item_type == ItemType::TextString {
                let s = std::str::from_utf8(b).map_err(|_| err(DecodeErrorKind::BadUtf8))?;
                Value::TextString(s.to_owned())
            } else {
                Value::ByteString(Bytes::from(b))
            }
        }
    };
    Ok(Ttlv { tag, value })
}

/// Encodes one item (a whole message, or any part of one) to bytes.
pub fn encode(item: &Ttlv) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    encode_into(item, &mut out);
    out
}

/// Appends the encoding of `item` to `out`.
pub fn encode_into(item: &Ttlv, out: &mut Vec<u8>) {
    let t = item.tag.0.to_be_bytes();
    out.extend_from_slice(&[t[1], t[2], t[3], item.value.item_type() as u8]);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body_start = out.len();
    match &item.value {
        Value::Structure(children) => {
            for c in children {
                encode_into(c, out);
            }
        }
        Value::Integer(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(&[0; 4]);
        }
        Value::Enumeration(v) | Value::Interval(v) => {
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(&[0; 4]);
        }
        Value::LongInteger(v) | Value::DateTime(v) | Value::DateTimeExtended(v) => {
            out.extend_from_slice(&v.to_be_bytes())
        }
        Value::Boolean(b) => out.extend_from_slice(&(*b as u64).to_be_bytes()),
        Value::BigInteger(b) => {
            // A big integer's length is a multiple of 8: sign-extend on the left.
            let pad = (8 - b.len() % 8) % 8;
            let fill = if b.as_slice().first().is_some_and(|x| x & 0x80 != 0) {
                0xFF
            } else {
                0
            };
            out.extend(std::iter::repeat_n(fill, pad));
            out.extend_from_slice(b.as_slice());
        }
        Value::TextString(s) => write_padded(out, s.as_bytes()),
        Value::ByteString(b) => write_padded(out, b.as_slice()),
    }
    let body_len = out.len() - body_start;
    let length = match &item.value {
        Value::Structure(_) | Value::BigInteger(_) | Value::LongInteger(_) => body_len,
        Value::Boolean(_) | Value::DateTime(_) | Value::DateTimeExtended(_) => 8,
        Value::Integer(_) | Value::Enumeration(_) | Value::Interval(_) => 4,
        Value::TextString(s) => s.len(),
        Value::ByteString(b) => b.len(),
    };
    let length = u32::try_from(length).unwrap_or(u32::MAX);
    out[len_at..len_at + 4].copy_from_slice(&length.to_be_bytes());
}

fn write_padded(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b);
    out.extend(std::iter::repeat_n(0u8, pad8(b.len()) - b.len()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    // The encoding examples of KMIP 1.4 section 9.1.2 (and 2.1 section 15.1.2).
    const SPEC_EXAMPLES: &[(&str, &str)] = &[
        ("An Integer containing the decimal value 8", "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"),
        (
            "A Long Integer containing the decimal value 123456789000000000",
            "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00",
        ),
        (
            "A Big Integer containing the decimal value 1234567890000000000000000000",
            "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00",
        ),
        ("An Enumeration with value 255", "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"),
        ("A Boolean with the value True", "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"),
        (
            "A Text String with the value 'Hello World'",
            "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00",
        ),
        ("A Byte String with the value { 0x01, 0x02, 0x03 }", "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"),
        (
            "A Date-Time, containing the value for Friday, March 14, 2008, 11:56:40 GMT",
            "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8",
        ),
        ("An Interval, containing the value for 10 days", "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00"),
        (
            "A Structure containing an Enumeration, value 254, followed by an Integer, value 255, having tags 420004 and 420005 respectively",
            "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00",
        ),
    ];

    #[test]
    fn specification_encoding_examples() {
        let expect = [
            Value::Integer(8),
            Value::LongInteger(123456789000000000),
            Value::BigInteger(Bytes::new(hex("0000000003FD35EB6BC2DF4618080000"))),
            Value::Enumeration(255),
            Value::Boolean(true),
            Value::TextString("Hello World".into()),
            Value::ByteString(Bytes::new(vec![1, 2, 3])),
            Value::DateTime(0x47DA67F8),
            Value::Interval(864000),
            Value::Structure(vec![
                Ttlv::new(Tag(0x420004), Value::Enumeration(254)),
                Ttlv::new(Tag(0x420005), Value::Integer(255)),
            ]),
        ];
        for ((what, bytes), value) in SPEC_EXAMPLES.iter().zip(expect) {
            let bytes = hex(&bytes.replace('|', ""));
            let item = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(item, Ttlv::new(Tag(0x420020), value), "{what}");
            assert_eq!(encode(&item), bytes, "{what}");
        }
    }

    #[test]
    fn errors_name_offset_and_tag() {
        // Unique Identifier claiming 4 GiB inside a request message.
        let e = decode(
            &hex("420078 01 00000010 420094 07 FFFFFFFF 0000000000000000"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Decode {
                    offset: 8,
                    tag: Some(Tag(0x420094)),
                    kind: DecodeErrorKind::Truncated { .. }
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("offset 8"), "{e}");
        assert!(e.to_string().contains("Unique Identifier"), "{e}");
        // structure length 4 GiB
        let e = decode(&hex("420078 01 FFFFFFFF"), &Limits::default()).unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                offset: 0,
                kind: DecodeErrorKind::Truncated { .. },
                ..
            }
        ));
        // bad boolean, bad type, bad fixed length
        let e = decode(
            &hex("420020 06 00000008 0000000000000002"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::BadBoolean(2),
                ..
            }
        ));
        let e = decode(
            &hex("420020 0C 00000008 0000000000000002"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::UnknownType(0x0C),
                ..
            }
        ));
        let e = decode(
            &hex("420020 02 00000008 0000000000000002"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::BadLength { .. },
                ..
            }
        ));
        // trailing bytes, empty input, bad UTF-8
        let e = decode(
            &hex("420020 02 00000004 0000000800000000 00"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                offset: 16,
                kind: DecodeErrorKind::TrailingBytes(1),
                ..
            }
        ));
        assert!(decode(&[], &Limits::default()).is_err());
        let e = decode(
            &hex("420020 07 00000001 FF00000000000000"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::BadUtf8,
                ..
            }
        ));
        // a child that overruns its parent is reported at the child's absolute offset
        let e = decode(
            &hex("420078 01 00000008 420020 02 00000004"),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Decode {
                    offset: 8,
                    tag: Some(Tag(0x420020)),
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn limits_are_enforced() {
        let mut deep = Ttlv::new(Tag(0x420020), Value::Integer(1));
        for _ in 0..40 {
            deep = Ttlv::structure(Tag(0x420020), vec![deep]);
        }
        let bytes = encode(&deep);
        let e = decode(&bytes, &Limits::default()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Decode {
                    kind: DecodeErrorKind::TooDeep(32),
                    ..
                }
            ),
            "{e}"
        );
        assert!(decode(
            &bytes,
            &Limits {
                max_depth: 64,
                ..Limits::default()
            }
        )
        .is_ok());
        let e = decode(
            &bytes,
            &Limits {
                max_message_size: 16,
                max_depth: 64,
            },
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Decode {
                kind: DecodeErrorKind::TooLarge { .. },
                ..
            }
        ));
    }

    #[test]
    fn frame_length() {
        assert_eq!(frame_len(&hex("420078 01 00000060")), Some(0x68));
        assert_eq!(frame_len(&hex("420020 07 0000000B")), Some(24));
        assert_eq!(frame_len(&hex("420078 01 000000")), None);
    }

    #[test]
    fn big_integers_sign_extend_to_eight_bytes() {
        let item = Ttlv::new(Tag(0x420020), Value::BigInteger(Bytes::new(vec![0x80, 1])));
        assert_eq!(encode(&item), hex("420020 04 00000008 FFFFFFFFFFFF8001"));
    }
}
