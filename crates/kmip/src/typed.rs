//! Conversions between TTLV trees and typed values, and the `kmip_struct!`
//! macro that declares a typed structure as a list of (field, tag) pairs.
//!
//! Decoding accepts a structure's fields in any order (the specification fixes
//! the order; some clients do not keep it), requires each required field once,
//! and names the first item it did not expect. Encoding writes fields in the
//! specification's order.

use crate::{Bytes, Error, ItemType, Tag, Ttlv, Value};

/// The context of a conversion: the protocol version decides between the 1.x and 2.x shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    /// Protocol Version Major.
    pub major: i32,
    /// Protocol Version Minor.
    pub minor: i32,
}

impl Ctx {
    /// KMIP 1.4 (the last 1.x).
    pub const V1_4: Ctx = Ctx { major: 1, minor: 4 };
    /// KMIP 2.1.
    pub const V2_1: Ctx = Ctx { major: 2, minor: 1 };

    /// A context for `major.minor`.
    pub fn new(major: i32, minor: i32) -> Self {
        Ctx { major, minor }
    }

    /// True for KMIP 2.0 and later (the `Attributes` shape).
    pub fn is_v2(&self) -> bool {
        self.major >= 2
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx::V2_1
    }
}

/// A typed value read from a TTLV item (its tag already matched by the parent).
pub trait FromTtlv: Sized {
    /// Reads `item`, taking ownership so strings and bytes move without copying.
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error>;

    /// Another tag under which a parent may carry this value (the 1.x name of a
    /// 2.x structure, such as `Template-Attribute` for `Attributes`).
    fn alt_tag(_tag: Tag, _ctx: &Ctx) -> Option<Tag> {
        None
    }
}

/// A typed value written as a TTLV item under the tag the parent gives.
pub trait ToTtlv {
    /// Writes `self` under `tag`.
    fn to_ttlv(self, tag: Tag, ctx: &Ctx) -> Ttlv;
}

/// Reads the fields of one structure.
pub struct StructReader {
    parent: Tag,
    items: Vec<Option<Ttlv>>,
}

impl StructReader {
    /// Starts reading `item`, which must be a Structure.
    pub fn new(item: Ttlv) -> Result<Self, Error> {
        match item.value {
            Value::Structure(children) => Ok(StructReader {
                parent: item.tag,
                items: children.into_iter().map(Some).collect(),
            }),
            other => Err(Error::wrong_type(item.tag, ItemType::Structure, &other)),
        }
    }

    /// The structure's tag.
    pub fn parent(&self) -> Tag {
        self.parent
    }

    /// Takes the first remaining item with `tag`.
    pub fn take_one(&mut self, tag: Tag) -> Option<Ttlv> {
        self.items
            .iter_mut()
            .find(|i| i.as_ref().is_some_and(|i| i.tag == tag))
            .and_then(Option::take)
    }

    /// Takes every remaining item with `tag`, in order.
    pub fn take_all(&mut self, tag: Tag) -> Vec<Ttlv> {
        self.items
            .iter_mut()
            .filter(|i| i.as_ref().is_some_and(|i| i.tag == tag))
            .filter_map(Option::take)
            .collect()
    }

    /// Takes every remaining item.
    pub fn take_rest(&mut self) -> Vec<Ttlv> {
        self.items.iter_mut().filter_map(Option::take).collect()
    }

    /// Peeks at the first remaining item with `tag`.
    pub fn peek(&self, tag: Tag) -> Option<&Ttlv> {
        self.items.iter().flatten().find(|i| i.tag == tag)
    }

    /// Ends the read: an item nobody took is an error that names it.
    pub fn finish(self) -> Result<(), Error> {
        match self.items.into_iter().flatten().next() {
            None => Ok(()),
            Some(extra) => Err(Error::Unexpected {
                parent: self.parent,
                tag: extra.tag,
            }),
        }
    }
}

/// How a field of a structure is read and written: once (`T`), at most once
/// (`Option<T>`) or any number of times (`Vec<T>`).
pub trait Field: Sized {
    /// Reads the field under `tag` from `r`.
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error>;
    /// Appends the field under `tag` to `out`.
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx);
}

fn take_first<T: FromTtlv>(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Option<Ttlv> {
    r.take_one(tag)
        .or_else(|| T::alt_tag(tag, ctx).and_then(|alt| r.take_one(alt)))
}

impl<T: FromTtlv + ToTtlv> Field for T {
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        match take_first::<T>(r, tag, ctx) {
            Some(item) => T::from_ttlv(item, ctx),
            None => Err(Error::Missing {
                parent: r.parent,
                tag,
            }),
        }
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        out.push(self.to_ttlv(tag, ctx));
    }
}

impl<T: FromTtlv + ToTtlv> Field for Option<T> {
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        take_first::<T>(r, tag, ctx)
            .map(|item| T::from_ttlv(item, ctx))
            .transpose()
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        if let Some(v) = self {
            out.push(v.to_ttlv(tag, ctx));
        }
    }
}

impl<T: FromTtlv + ToTtlv> Field for Vec<T> {
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        let mut items = r.take_all(tag);
        if let Some(alt) = T::alt_tag(tag, ctx) {
            items.extend(r.take_all(alt));
        }
        items.into_iter().map(|i| T::from_ttlv(i, ctx)).collect()
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        out.extend(self.into_iter().map(|v| v.to_ttlv(tag, ctx)));
    }
}

/// Declares a typed KMIP structure: each field with the tag it is carried under.
macro_rules! kmip_struct {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* pub $field:ident : $ty:ty = $tag:ident ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fm])* pub $field: $ty, )*
        }
        impl $crate::typed::FromTtlv for $name {
            #[allow(unused_variables, unused_mut)]
            fn from_ttlv(item: $crate::Ttlv, ctx: &$crate::typed::Ctx) -> Result<Self, $crate::Error> {
                let mut r = $crate::typed::StructReader::new(item)?;
                let v = $name { $( $field: $crate::typed::Field::take(&mut r, $crate::Tag::$tag, ctx)?, )* };
                r.finish()?;
                Ok(v)
            }
        }
        impl $crate::typed::ToTtlv for $name {
            #[allow(unused_variables, unused_mut)]
            fn to_ttlv(self, tag: $crate::Tag, ctx: &$crate::typed::Ctx) -> $crate::Ttlv {
                let mut out = Vec::with_capacity(<[&str]>::len(&[$(stringify!($field)),*]));
                $( $crate::typed::Field::put(self.$field, $crate::Tag::$tag, &mut out, ctx); )*
                $crate::Ttlv::structure(tag, out)
            }
        }
    };
}
pub(crate) use kmip_struct;

macro_rules! primitive {
    ($ty:ty, $variant:ident, $it:ident, |$v:ident| $from:expr, |$s:ident| $to:expr) => {
        impl FromTtlv for $ty {
            fn from_ttlv(item: Ttlv, _ctx: &Ctx) -> Result<Self, Error> {
                match item.value {
                    Value::$variant($v) => Ok($from),
                    other => Err(Error::wrong_type(item.tag, ItemType::$it, &other)),
                }
            }
        }
        impl ToTtlv for $ty {
            fn to_ttlv(self, tag: Tag, _ctx: &Ctx) -> Ttlv {
                let $s = self;
                Ttlv::new(tag, Value::$variant($to))
            }
        }
    };
}

/// A Date-Time: seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DateTime(pub i64);
/// A Date-Time Extended (KMIP 2.0+): microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DateTimeExtended(pub i64);
/// An Interval in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Interval(pub u32);
/// A Big Integer as two's complement big-endian bytes; may be key material.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BigInt(pub Bytes);

primitive!(i32, Integer, Integer, |v| v, |s| s);
primitive!(i64, LongInteger, LongInteger, |v| v, |s| s);
primitive!(bool, Boolean, Boolean, |v| v, |s| s);
primitive!(String, TextString, TextString, |v| v, |s| s);
primitive!(Bytes, ByteString, ByteString, |v| v, |s| s);
primitive!(BigInt, BigInteger, BigInteger, |v| BigInt(v), |s| s.0);
primitive!(DateTime, DateTime, DateTime, |v| DateTime(v), |s| s.0);
primitive!(
    DateTimeExtended,
    DateTimeExtended,
    DateTimeExtended,
    |v| DateTimeExtended(v),
    |s| s.0
);
primitive!(Interval, Interval, Interval, |v| Interval(v), |s| s.0);

/// A raw item is its own typed value (for parts the caller reads itself).
impl FromTtlv for Ttlv {
    fn from_ttlv(item: Ttlv, _ctx: &Ctx) -> Result<Self, Error> {
        Ok(item)
    }
}

impl ToTtlv for Ttlv {
    fn to_ttlv(self, tag: Tag, _ctx: &Ctx) -> Ttlv {
        Ttlv {
            tag,
            value: self.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::CryptographicAlgorithm;

    kmip_struct! {
        /// A test structure.
        pub struct Sample {
            /// required
            pub uid: String = UNIQUE_IDENTIFIER,
            /// optional
            pub alg: Option<CryptographicAlgorithm> = CRYPTOGRAPHIC_ALGORITHM,
            /// repeated
            pub lengths: Vec<i32> = CRYPTOGRAPHIC_LENGTH,
        }
    }

    #[test]
    fn struct_round_trip_and_errors() {
        let ctx = Ctx::default();
        let s = Sample {
            uid: "1".into(),
            alg: Some(CryptographicAlgorithm::AES),
            lengths: vec![128, 256],
        };
        let t = s.clone().to_ttlv(Tag::REQUEST_PAYLOAD, &ctx);
        assert_eq!(t.children().len(), 4);
        assert_eq!(Sample::from_ttlv(t.clone(), &ctx).unwrap(), s);

        // any order is accepted
        let Value::Structure(mut c) = t.value.clone() else {
            unreachable!()
        };
        c.rotate_left(1);
        assert_eq!(
            Sample::from_ttlv(Ttlv::structure(Tag::REQUEST_PAYLOAD, c.clone()), &ctx).unwrap(),
            s
        );

        // missing required
        let e = Sample::from_ttlv(Ttlv::structure(Tag::REQUEST_PAYLOAD, vec![]), &ctx).unwrap_err();
        assert_eq!(
            e,
            Error::Missing {
                parent: Tag::REQUEST_PAYLOAD,
                tag: Tag::UNIQUE_IDENTIFIER
            }
        );
        // unexpected tag is named
        c.push(Ttlv::new(Tag(0x540001), Value::Integer(1)));
        let e = Sample::from_ttlv(Ttlv::structure(Tag::REQUEST_PAYLOAD, c), &ctx).unwrap_err();
        assert_eq!(
            e,
            Error::Unexpected {
                parent: Tag::REQUEST_PAYLOAD,
                tag: Tag(0x540001)
            }
        );
        // wrong type
        let bad = Ttlv::structure(
            Tag::REQUEST_PAYLOAD,
            vec![Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::Integer(1))],
        );
        assert!(matches!(
            Sample::from_ttlv(bad, &ctx),
            Err(Error::WrongType { .. })
        ));
    }
}
