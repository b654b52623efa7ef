//! The tag, enumeration and bit-mask names of KMIP 1.0-2.1, generated at build
//! time from `tables/kmip_tables.json`, and the lookups over them.

use crate::Tag;

include!(concat!(env!("OUT_DIR"), "/tables.rs"));

/// The names of one enumeration or bit mask.
#[derive(Debug)]
pub struct EnumDef {
    /// Normalized name (`CryptographicAlgorithm`).
    pub name: &'static str,
    /// Name as the specification spells it (`Cryptographic Algorithm`).
    pub spec_name: &'static str,
    /// (value, primary normalized name), sorted by value.
    pub by_value: &'static [(u32, &'static str)],
    /// (normalized name, value) for every name of every version, sorted by name.
    pub by_name: &'static [(&'static str, u32)],
}

impl EnumDef {
    /// The primary name of `value`, if the specification names it.
    pub fn name_of(&self, value: u32) -> Option<&'static str> {
        self.by_value
            .binary_search_by_key(&value, |e| e.0)
            .ok()
            .map(|i| self.by_value[i].1)
    }

    /// The value named `name` (a normalized name of any version).
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.by_name
            .binary_search_by_key(&name, |e| e.0)
            .ok()
            .map(|i| self.by_name[i].1)
    }
}

/// Defines a typed KMIP enumeration: a transparent `u32` newtype (so that
/// extension values such as `0x8000_0001` survive) with named constants.
macro_rules! kmip_enum {
    ($(#[$m:meta])* $ty:ident, $idx:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[allow(non_camel_case_types)]
        pub struct $ty(pub u32);
        impl $ty {
            /// The table of this enumeration's names.
            pub fn def() -> &'static crate::tables::EnumDef {
                &crate::tables::ENUM_DEFS[$idx]
            }
            /// The normalized specification name of this value, if it has one.
            pub fn name(self) -> Option<&'static str> {
                Self::def().name_of(self.0)
            }
        }
        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}(0x{:08X})", stringify!($ty), self.0),
                }
            }
        }
        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(self, f)
            }
        }
        impl crate::typed::FromTtlv for $ty {
            fn from_ttlv(item: crate::Ttlv, _ctx: &crate::typed::Ctx) -> Result<Self, crate::Error> {
                match item.value {
                    crate::Value::Enumeration(v) => Ok(Self(v)),
                    other => Err(crate::Error::wrong_type(item.tag, crate::ItemType::Enumeration, &other)),
                }
            }
        }
        impl crate::typed::ToTtlv for $ty {
            fn to_ttlv(self, tag: crate::Tag, _ctx: &crate::typed::Ctx) -> crate::Ttlv {
                crate::Ttlv::new(tag, crate::Value::Enumeration(self.0))
            }
        }
    };
}

/// Defines a typed KMIP bit mask: a transparent `u32` newtype carried as an Integer.
macro_rules! kmip_mask {
    ($(#[$m:meta])* $ty:ident, $idx:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $ty(pub u32);
        impl $ty {
            /// The table of this mask's bit names.
            pub fn def() -> &'static crate::tables::EnumDef {
                &crate::tables::MASK_DEFS[$idx]
            }
            /// True when every bit of `other` is set in `self`.
            pub fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
        }
        impl core::ops::BitOr for $ty {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }
        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&crate::tables::mask_to_names(Self::def(), self.0, "|"))
            }
        }
        impl crate::typed::FromTtlv for $ty {
            fn from_ttlv(item: crate::Ttlv, _ctx: &crate::typed::Ctx) -> Result<Self, crate::Error> {
                match item.value {
                    crate::Value::Integer(v) => Ok(Self(v as u32)),
                    other => Err(crate::Error::wrong_type(item.tag, crate::ItemType::Integer, &other)),
                }
            }
        }
        impl crate::typed::ToTtlv for $ty {
            fn to_ttlv(self, tag: crate::Tag, _ctx: &crate::typed::Ctx) -> crate::Ttlv {
                crate::Ttlv::new(tag, crate::Value::Integer(self.0 as i32))
            }
        }
    };
}
pub(crate) use {kmip_enum, kmip_mask};

/// Information about one tag.
#[derive(Debug, Clone, Copy)]
pub struct TagInfo {
    /// Normalized name (`CryptographicUsageMask`), as the XML and JSON encodings use.
    pub name: &'static str,
    /// Name as the specification spells it (`Cryptographic Usage Mask`), as KMIP 1.x attribute names use.
    pub spec_name: &'static str,
    /// Defined in KMIP 1.x.
    pub in_v1: bool,
    /// Defined in KMIP 2.x.
    pub in_v2: bool,
}

/// The specification's information about `tag`, if it defines it.
pub fn tag_info(tag: Tag) -> Option<TagInfo> {
    TAG_TABLE
        .binary_search_by_key(&tag.0, |e| e.0)
        .ok()
        .map(|i| {
            let (_, name, spec_name, bits) = TAG_TABLE[i];
            TagInfo {
                name,
                spec_name,
                in_v1: bits & 1 != 0,
                in_v2: bits & 2 != 0,
            }
        })
}

/// The tag with this normalized or specification name (exact spelling).
pub fn tag_by_name(name: &str) -> Option<Tag> {
    TAG_BY_NAME
        .binary_search_by_key(&name, |e| e.0)
        .ok()
        .map(|i| Tag(TAG_BY_NAME[i].1))
}

/// The enumeration that names the Enumeration values carried under `tag`.
pub fn enum_for_tag(tag: Tag) -> Option<&'static EnumDef> {
    TAG_ENUM
        .binary_search_by_key(&tag.0, |e| e.0)
        .ok()
        .map(|i| &ENUM_DEFS[TAG_ENUM[i].1 as usize])
}

/// The bit mask that names the bits of the Integer values carried under `tag`.
pub fn mask_for_tag(tag: Tag) -> Option<&'static EnumDef> {
    TAG_MASK
        .binary_search_by_key(&tag.0, |e| e.0)
        .ok()
        .map(|i| &MASK_DEFS[TAG_MASK[i].1 as usize])
}

/// The enumeration with this normalized name.
pub fn enum_by_name(name: &str) -> Option<&'static EnumDef> {
    ENUM_DEFS.iter().find(|d| d.name == name)
}

/// Writes a mask as its bit names joined by `sep`; bits without a name as one hex remainder.
pub fn mask_to_names(def: &EnumDef, value: u32, sep: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    for &(bit, name) in def.by_value {
        if bit != 0 && value & bit == bit && rest & bit != 0 {
            if !out.is_empty() {
                out.push_str(sep);
            }
            out.push_str(name);
            rest &= !bit;
        }
    }
    if rest != 0 || out.is_empty() {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&format!("0x{rest:08X}"));
    }
    out
}

/// Parses a mask written as names and hex numbers separated by spaces or `|`.
pub fn mask_from_names(def: &EnumDef, text: &str) -> Option<u32> {
    let mut value = 0u32;
    for word in text
        .split(|c: char| c == '|' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        value |= match def.value_of(word) {
            Some(v) => v,
            None => crate::ttlv::parse_hex_u32(word)?,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::*;

    #[test]
    fn tags_have_both_spellings() {
        let t = tag_by_name("Cryptographic Usage Mask").unwrap();
        assert_eq!(t, Tag::CRYPTOGRAPHIC_USAGE_MASK);
        assert_eq!(t.0, 0x42002C);
        assert_eq!(tag_by_name("CryptographicUsageMask"), Some(t));
        let info = tag_info(t).unwrap();
        assert_eq!(info.spec_name, "Cryptographic Usage Mask");
        assert!(info.in_v1 && info.in_v2);
        assert_eq!(tag_by_name("x-Nothing"), None);
        // 2.x-only and 1.x-only tags
        assert!(!tag_info(Tag::ATTRIBUTES).unwrap().in_v1);
        assert!(!tag_info(Tag::TEMPLATE_ATTRIBUTE).unwrap().in_v2);
    }

    #[test]
    fn enumerations_are_named_across_versions() {
        assert_eq!(CryptographicAlgorithm::AES.0, 3);
        assert_eq!(format!("{:?}", ObjectType::SYMMETRIC_KEY), "SymmetricKey");
        // 1.x names win over the 2.x "Reserved" and spelling changes, both are accepted.
        assert_eq!(ObjectType(6).name(), Some("Template"));
        assert_eq!(HashingAlgorithm::def().value_of("SHA3_256"), Some(15));
        assert_eq!(HashingAlgorithm::def().value_of("SHA_3_256"), Some(15));
        assert_eq!(MaskGenerator(1).name(), Some("MGF1"));
        assert_eq!(
            format!("{:?}", ObjectType(0x8000_0001)),
            "ObjectType(0x80000001)"
        );
        let e = enum_for_tag(Tag::MASK_GENERATOR_HASHING_ALGORITHM).unwrap();
        assert_eq!(e.name, "HashingAlgorithm");
    }

    #[test]
    fn masks_by_name() {
        let def = mask_for_tag(Tag::CRYPTOGRAPHIC_USAGE_MASK).unwrap();
        assert_eq!(mask_from_names(def, "Encrypt Decrypt"), Some(12));
        assert_eq!(mask_from_names(def, "Decrypt|Encrypt"), Some(12));
        assert_eq!(mask_to_names(def, 12, " "), "Encrypt Decrypt");
        assert_eq!(mask_to_names(def, 0x8000_0004, "|"), "Encrypt|0x80000000");
        assert_eq!(mask_to_names(def, 0, "|"), "0x00000000");
        assert_eq!(mask_from_names(def, "Bogus"), None);
    }
}
