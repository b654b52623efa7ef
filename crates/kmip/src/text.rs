//! A human-readable tree of a TTLV item, for people reading KMIP traffic.
//!
//! One item per line, indented two spaces per level of nesting:
//!
//! ```text
//! Request Message (Structure)
//!   Batch Item (Structure)
//!     Operation (Enumeration): Create (0x00000001)
//!     Unique Batch Item ID (ByteString): 514c4b4301000000
//! ```
//!
//! Byte strings and big integers are printed in full as hex: this is a tool for
//! looking at traffic on purpose, and the only way to see what is on the wire.
//! Never use it for logs.

use crate::tables::{self, EnumDef};
use crate::textual::Naming;
use crate::{Tag, Ttlv, Value};
use std::fmt::Write as _;

/// Renders `item` and everything under it as an indented tree, one item per line.
pub fn to_tree(item: &Ttlv) -> String {
    let mut out = String::new();
    write_item(&mut out, item, 0, None);
    out
}

/// Writes one item; `value_tag` is the tag whose enumeration or mask names the
/// value when it differs from the item's own (a 1.x `Attribute Value`).
fn write_item(out: &mut String, item: &Ttlv, depth: usize, value_tag: Option<Tag>) {
    for _ in 0..depth {
        out.push_str("  ");
    }
    match item.tag.spec_name() {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "0x{:06X}", item.tag.0);
        }
    }
    let _ = write!(out, " ({})", item.value.item_type());
    let named_by = value_tag.unwrap_or(item.tag);
    match &item.value {
        Value::Structure(children) => {
            out.push('\n');
            // In a 1.x Attribute, the value is named by the tag the Attribute Name names.
            let mut naming = Naming::default();
            for child in children {
                let named = naming.value_tag(child.tag);
                write_item(out, child, depth + 1, (named != child.tag).then_some(named));
                naming.observe(child);
            }
            return;
        }
        Value::Integer(v) => match tables::mask_for_tag(named_by) {
            Some(def) => write_mask(out, def, *v as u32),
            None => {
                let _ = write!(out, ": {v}");
            }
        },
        Value::LongInteger(v) => {
            let _ = write!(out, ": {v}");
        }
        Value::BigInteger(b) => {
            let _ = write!(out, ": 0x{}", b.to_hex());
        }
        Value::Enumeration(v) => write_enum(out, tables::enum_for_tag(named_by), *v),
        Value::Boolean(b) => {
            let _ = write!(out, ": {b}");
        }
        Value::TextString(s) => {
            let _ = write!(out, ": {s:?}");
        }
        Value::ByteString(b) if b.is_empty() => out.push_str(": (empty)"),
        Value::ByteString(b) => {
            let _ = write!(out, ": {}", b.to_hex());
        }
        Value::DateTime(secs) => {
            let _ = write!(out, ": {}", crate::format_date_time(*secs));
        }
        Value::Interval(v) => {
            let _ = write!(out, ": {v} s");
        }
        Value::DateTimeExtended(micros) => {
            let _ = write!(out, ": {}", crate::format_date_time_extended(*micros));
        }
    }
    out.push('\n');
}

/// `Name (0x0000000N)`, or the hex alone when the value has no name.
fn write_enum(out: &mut String, def: Option<&EnumDef>, value: u32) {
    match def.and_then(|d| d.name_of(value)) {
        Some(name) => {
            let _ = write!(out, ": {name} (0x{value:08X})");
        }
        None => {
            let _ = write!(out, ": 0x{value:08X}");
        }
    }
}

/// `Name|Name (0x0000000N)`; bits without a name appear as a hex remainder.
fn write_mask(out: &mut String, def: &EnumDef, value: u32) {
    let names = tables::mask_to_names(def, value, "|");
    if value == 0 {
        let _ = write!(out, ": 0x{value:08X}");
    } else {
        let _ = write!(out, ": {names} (0x{value:08X})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{decode, Limits};
    use crate::Bytes;

    fn text(tag: Tag, s: &str) -> Ttlv {
        Ttlv::new(tag, Value::TextString(s.into()))
    }

    fn attribute(name: &str, value: Value) -> Ttlv {
        Ttlv::structure(
            Tag::ATTRIBUTE,
            vec![
                text(Tag::ATTRIBUTE_NAME, name),
                Ttlv::new(Tag::ATTRIBUTE_VALUE, value),
            ],
        )
    }

    #[test]
    fn vcenter_create_request() {
        // Appendix A4 of shared/interop/vsphere-kmip.md: vCenter 7.0.3 creating a VM key.
        let bytes = hex::decode(concat!(
            "42007801000001304200770100000038420069010000002042006a02000000040000000100000000",
            "42006b0200000004000000010000000042000d0200000004000000010000000042000f01000000e8",
            "42005c050000000400000001000000004200930800000008514c4b430100000042007901000000c0",
            "4200570500000004000000020000000042009101000000a8420008010000003042000a0700000017",
            "43727970746f6772617068696320416c676f726974686d0042000b05000000040000000300000000",
            "420008010000003042000a070000001843727970746f67726170686963205573616765204d61736b",
            "42000b02000000040000000c00000000420008010000003042000a070000001443727970746f6772",
            "6170686963204c656e6774680000000042000b02000000040000010000000000",
        ))
        .unwrap();
        let item = decode(&bytes, &Limits::default()).unwrap();
        let expected = "\
Request Message (Structure)
  Request Header (Structure)
    Protocol Version (Structure)
      Protocol Version Major (Integer): 1
      Protocol Version Minor (Integer): 1
    Batch Count (Integer): 1
  Batch Item (Structure)
    Operation (Enumeration): Create (0x00000001)
    Unique Batch Item ID (ByteString): 514c4b4301000000
    Request Payload (Structure)
      Object Type (Enumeration): SymmetricKey (0x00000002)
      Template-Attribute (Structure)
        Attribute (Structure)
          Attribute Name (TextString): \"Cryptographic Algorithm\"
          Attribute Value (Enumeration): AES (0x00000003)
        Attribute (Structure)
          Attribute Name (TextString): \"Cryptographic Usage Mask\"
          Attribute Value (Integer): Encrypt|Decrypt (0x0000000C)
        Attribute (Structure)
          Attribute Name (TextString): \"Cryptographic Length\"
          Attribute Value (Integer): 256
";
        assert_eq!(to_tree(&item), expected);
    }

    #[test]
    fn every_type_is_shown() {
        let item = Ttlv::structure(
            Tag(0x540001),
            vec![
                Ttlv::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(0)),
                Ttlv::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(-2147483644)),
                Ttlv::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(-1)),
                Ttlv::new(Tag(0x540003), Value::LongInteger(123456789000000000)),
                Ttlv::new(
                    Tag(0x540003),
                    Value::BigInteger(Bytes::new(vec![0, 0, 0, 0, 0, 0, 1, 0xff])),
                ),
                Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(0x8000_0001)),
                Ttlv::new(Tag(0x540002), Value::Enumeration(7)),
                Ttlv::new(Tag(0x540003), Value::Boolean(true)),
                text(Tag::UNIQUE_IDENTIFIER, "a \"quoted\"\n\\ line\u{7}"),
                Ttlv::new(
                    Tag(0x540003),
                    Value::ByteString(Bytes::new(vec![1, 2, 0xab])),
                ),
                Ttlv::new(Tag(0x540003), Value::ByteString(Bytes::default())),
                Ttlv::new(Tag(0x540003), Value::DateTime(0x47DA67F8)),
                Ttlv::new(Tag(0x540003), Value::DateTime(i64::MAX)),
                Ttlv::new(Tag(0x540003), Value::Interval(864000)),
                Ttlv::new(Tag(0x540003), Value::DateTimeExtended(1_500_000)),
                Ttlv::structure(Tag::BATCH_ITEM, vec![]),
            ],
        );
        let expected = "\
0x540001 (Structure)
  Cryptographic Usage Mask (Integer): 0x00000000
  Cryptographic Usage Mask (Integer): Encrypt|0x80000000 (0x80000004)
  Cryptographic Length (Integer): -1
  0x540003 (LongInteger): 123456789000000000
  0x540003 (BigInteger): 0x00000000000001ff
  Object Type (Enumeration): 0x80000001
  0x540002 (Enumeration): 0x00000007
  0x540003 (Boolean): true
  Unique Identifier (TextString): \"a \\\"quoted\\\"\\n\\\\ line\\u{7}\"
  0x540003 (ByteString): 0102ab
  0x540003 (ByteString): (empty)
  0x540003 (DateTime): 2008-03-14T11:56:40+00:00
  0x540003 (DateTime): 0x7FFFFFFFFFFFFFFF
  0x540003 (Interval): 864000 s
  0x540003 (DateTimeExtended): 1970-01-01T00:00:01.500000+00:00
  Batch Item (Structure)
";
        assert_eq!(to_tree(&item), expected);
    }

    #[test]
    fn attribute_values_are_named_by_their_attribute_name() {
        let item = Ttlv::structure(
            Tag::TEMPLATE_ATTRIBUTE,
            vec![
                attribute("State", Value::Enumeration(1)),
                attribute("Object Type", Value::Enumeration(2)),
                // the normalized spelling is accepted too
                attribute("CryptographicUsageMask", Value::Integer(4)),
                // a custom attribute has no table: numbers stay numbers
                attribute("x-Custom", Value::Enumeration(1)),
                attribute("x-Custom", Value::Integer(12)),
                // an Attribute Value outside an Attribute is named by its own tag (none)
                Ttlv::new(Tag::ATTRIBUTE_VALUE, Value::Enumeration(1)),
                // a name of the wrong type names nothing
                Ttlv::structure(
                    Tag::ATTRIBUTE,
                    vec![
                        Ttlv::new(Tag::ATTRIBUTE_NAME, Value::Integer(1)),
                        Ttlv::new(Tag::ATTRIBUTE_VALUE, Value::Enumeration(1)),
                    ],
                ),
            ],
        );
        let tree = to_tree(&item);
        let values: Vec<&str> = tree
            .lines()
            .filter(|l| l.contains("Attribute Value"))
            .map(|l| l.split_once("): ").unwrap().1)
            .collect();
        assert_eq!(
            values,
            [
                "PreActive (0x00000001)",
                "SymmetricKey (0x00000002)",
                "Encrypt (0x00000004)",
                "0x00000001",
                "12",
                "0x00000001",
                "0x00000001",
            ],
            "{tree}"
        );
    }

    #[test]
    fn kmip_2_attributes_are_named_by_their_tag() {
        let item = Ttlv::structure(
            Tag::ATTRIBUTES,
            vec![
                Ttlv::new(Tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(3)),
                Ttlv::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
            ],
        );
        assert_eq!(
            to_tree(&item),
            "Attributes (Structure)\n  \
             Cryptographic Algorithm (Enumeration): AES (0x00000003)\n  \
             Cryptographic Usage Mask (Integer): Encrypt|Decrypt (0x0000000C)\n"
        );
    }
}
