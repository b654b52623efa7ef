//! One attribute model for both shapes of the protocol: KMIP 1.x carries
//! attributes as `Attribute { Attribute Name, Attribute Index, Attribute Value }`
//! inside `Template-Attribute`; KMIP 2.x carries each attribute as an item with
//! its own tag inside `Attributes`, and custom attributes as `Vendor Attribute`.
//! A 1.x custom attribute `x-Name` is the 2.x Vendor Attribute with Vendor
//! Identification `x` and Attribute Name `Name` (KMIP 2.1 section 4.60).

use crate::typed::{Ctx, Field, FromTtlv, StructReader, ToTtlv};
use crate::{Error, ItemType, Tag, Ttlv, Value};

/// Which attribute: one the specification defines (by its tag) or a vendor's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeName {
    /// A standard attribute, named by its tag.
    Standard(Tag),
    /// A custom (1.x `x-…`, `y-…`) or vendor attribute.
    Vendor {
        /// Vendor Identification (`x` for client-defined 1.x custom attributes, `y` for server-defined).
        vendor: String,
        /// The name after the vendor prefix.
        name: String,
    },
}

impl AttributeName {
    /// Reads a KMIP 1.x Attribute Name (`Cryptographic Usage Mask`, `x-Product`).
    /// A name before the first `-` is the vendor; a leading `-` marks a name
    /// without vendor that would otherwise read as something else.
    pub fn from_v1(text: &str) -> Self {
        if let Some(tag) = Tag::parse(text) {
            return AttributeName::Standard(tag);
        }
        match text.split_once('-') {
            Some((vendor, name)) => AttributeName::Vendor {
                vendor: vendor.into(),
                name: name.into(),
            },
            None => AttributeName::Vendor {
                vendor: String::new(),
                name: text.into(),
            },
        }
    }

    /// The KMIP 1.x Attribute Name text; `from_v1` reads it back as the same name.
    pub fn to_v1(&self) -> String {
        match self {
            AttributeName::Standard(tag) => match tag.spec_name() {
                Some(n) => n.to_string(),
                None => format!("0x{:06X}", tag.0),
            },
            AttributeName::Vendor { vendor, name }
                if vendor.is_empty() && !name.contains('-') && Tag::parse(name).is_none() =>
            {
                name.clone()
            }
            AttributeName::Vendor { vendor, name } => format!("{vendor}-{name}"),
        }
    }
}

impl std::fmt::Display for AttributeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_v1())
    }
}

/// One attribute instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Which attribute.
    pub name: AttributeName,
    /// KMIP 1.x Attribute Index, when the message carried one.
    pub index: Option<i32>,
    /// The value (a primitive or a structure whose children are the attribute's fields).
    pub value: Value,
}

impl Default for Attribute {
    /// An empty custom text attribute (a placeholder while building a message).
    fn default() -> Self {
        Attribute::custom("", Value::TextString(String::new()))
    }
}

impl Attribute {
    /// A standard attribute with its value.
    pub fn new(tag: Tag, value: Value) -> Self {
        Attribute {
            name: AttributeName::Standard(tag),
            index: None,
            value,
        }
    }

    /// A custom attribute named as KMIP 1.x does (`x-Name`).
    pub fn custom(v1_name: &str, value: Value) -> Self {
        Attribute {
            name: AttributeName::from_v1(v1_name),
            index: None,
            value,
        }
    }

    /// A standard attribute whose value is a typed structure or primitive.
    pub fn typed<T: ToTtlv>(tag: Tag, value: T, ctx: &Ctx) -> Self {
        Attribute::new(tag, value.to_ttlv(tag, ctx).value)
    }

    /// Reads the value as a typed `T`.
    pub fn get<T: FromTtlv>(&self, ctx: &Ctx) -> Result<T, Error> {
        let tag = match self.name {
            AttributeName::Standard(t) => t,
            AttributeName::Vendor { .. } => Tag::ATTRIBUTE_VALUE,
        };
        T::from_ttlv(Ttlv::new(tag, self.value.clone()), ctx)
    }
}

impl FromTtlv for Attribute {
    /// `Attribute` holds a 1.x name/index/value or (2.x Vendor Attribute) a
    /// vendor/name/value; any other tag is a 2.x standard attribute.
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        if item.tag != Tag::ATTRIBUTE {
            return Ok(Attribute {
                name: AttributeName::Standard(item.tag),
                index: None,
                value: item.value,
            });
        }
        let mut r = StructReader::new(item)?;
        let vendor: Option<String> = Field::take(&mut r, Tag::VENDOR_IDENTIFICATION, ctx)?;
        let name: String = Field::take(&mut r, Tag::ATTRIBUTE_NAME, ctx)?;
        let index: Option<i32> = Field::take(&mut r, Tag::ATTRIBUTE_INDEX, ctx)?;
        let value: Ttlv = Field::take(&mut r, Tag::ATTRIBUTE_VALUE, ctx)?;
        r.finish()?;
        let name = match vendor {
            Some(vendor) => AttributeName::Vendor { vendor, name },
            None => AttributeName::from_v1(&name),
        };
        Ok(Attribute {
            name,
            index,
            value: value.value,
        })
    }
}

impl ToTtlv for Attribute {
    /// In 1.x always an `Attribute` name/value structure; in 2.x the attribute's
    /// own tag, or for a vendor attribute an `Attribute` vendor/name/value structure.
    fn to_ttlv(self, _tag: Tag, ctx: &Ctx) -> Ttlv {
        if !ctx.is_v2() {
            let mut c = vec![Ttlv::new(
                Tag::ATTRIBUTE_NAME,
                Value::TextString(self.name.to_v1()),
            )];
            if let Some(i) = self.index {
                c.push(Ttlv::new(Tag::ATTRIBUTE_INDEX, Value::Integer(i)));
            }
            c.push(Ttlv::new(Tag::ATTRIBUTE_VALUE, self.value));
            return Ttlv::structure(Tag::ATTRIBUTE, c);
        }
        match self.name {
            // An `Attribute` item is a container, never an attribute value: keep the name/value form.
            AttributeName::Standard(Tag::ATTRIBUTE) => Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(self.name.to_v1())),
                    Ttlv::new(Tag::ATTRIBUTE_VALUE, self.value),
                ],
            ),
            AttributeName::Standard(tag) => Ttlv::new(tag, self.value),
            AttributeName::Vendor { vendor, name } => Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    Ttlv::new(Tag::VENDOR_IDENTIFICATION, Value::TextString(vendor)),
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name)),
                    Ttlv::new(Tag::ATTRIBUTE_VALUE, self.value),
                ],
            ),
        }
    }
}

/// A set of attributes: 1.x `Template-Attribute` (and its Common / Private Key /
/// Public Key variants) or 2.x `Attributes` (and its variants), written in the
/// shape of the context's version.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Attributes {
    /// KMIP 1.x template names (the deprecated `Name` references inside a Template-Attribute).
    pub template_names: Vec<crate::objects::Name>,
    /// The attributes, in order.
    pub items: Vec<Attribute>,
}

/// The 1.x tag of a 2.x attribute container, and back.
fn counterpart(tag: Tag) -> Option<Tag> {
    Some(match tag {
        Tag::ATTRIBUTES => Tag::TEMPLATE_ATTRIBUTE,
        Tag::COMMON_ATTRIBUTES => Tag::COMMON_TEMPLATE_ATTRIBUTE,
        Tag::PRIVATE_KEY_ATTRIBUTES => Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
        Tag::PUBLIC_KEY_ATTRIBUTES => Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
        Tag::TEMPLATE_ATTRIBUTE => Tag::ATTRIBUTES,
        Tag::COMMON_TEMPLATE_ATTRIBUTE => Tag::COMMON_ATTRIBUTES,
        Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE => Tag::PRIVATE_KEY_ATTRIBUTES,
        Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE => Tag::PUBLIC_KEY_ATTRIBUTES,
        _ => return None,
    })
}

fn is_v1_container(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::TEMPLATE_ATTRIBUTE
            | Tag::COMMON_TEMPLATE_ATTRIBUTE
            | Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE
            | Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE
    )
}

impl Attributes {
    /// An attribute set holding `items`.
    pub fn new(items: Vec<Attribute>) -> Self {
        Attributes {
            template_names: Vec::new(),
            items,
        }
    }

    /// The first value of attribute `name`.
    pub fn get(&self, name: &AttributeName) -> Option<&Value> {
        self.items
            .iter()
            .find(|a| a.name == *name)
            .map(|a| &a.value)
    }

    /// The first value of the standard attribute `tag`.
    pub fn get_std(&self, tag: Tag) -> Option<&Value> {
        self.get(&AttributeName::Standard(tag))
    }

    /// Every instance of attribute `name`.
    pub fn get_all<'a>(
        &'a self,
        name: &'a AttributeName,
    ) -> impl Iterator<Item = &'a Attribute> + 'a {
        self.items.iter().filter(move |a| a.name == *name)
    }

    /// The first value of the standard attribute `tag`, read as a typed `T`.
    pub fn get_typed<T: FromTtlv>(&self, tag: Tag, ctx: &Ctx) -> Option<Result<T, Error>> {
        self.get_std(tag)
            .map(|v| T::from_ttlv(Ttlv::new(tag, v.clone()), ctx))
    }

    /// Replaces every instance of `attr.name` by `attr`.
    pub fn set(&mut self, attr: Attribute) {
        self.items.retain(|a| a.name != attr.name);
        self.items.push(attr);
    }

    /// Adds an instance (multi-instance attributes such as Name or Link).
    pub fn push(&mut self, attr: Attribute) {
        self.items.push(attr);
    }

    /// Removes every instance of `name`; returns how many were removed.
    pub fn remove(&mut self, name: &AttributeName) -> usize {
        let before = self.items.len();
        self.items.retain(|a| a.name != *name);
        before - self.items.len()
    }

    /// Cryptographic Algorithm, if present and well-typed.
    pub fn cryptographic_algorithm(&self) -> Option<crate::enums::CryptographicAlgorithm> {
        match self.get_std(Tag::CRYPTOGRAPHIC_ALGORITHM)? {
            Value::Enumeration(v) => Some(crate::enums::CryptographicAlgorithm(*v)),
            _ => None,
        }
    }

    /// Cryptographic Length, if present and well-typed.
    pub fn cryptographic_length(&self) -> Option<i32> {
        match self.get_std(Tag::CRYPTOGRAPHIC_LENGTH)? {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }

    /// Cryptographic Usage Mask, if present and well-typed.
    pub fn cryptographic_usage_mask(&self) -> Option<crate::enums::CryptographicUsageMask> {
        match self.get_std(Tag::CRYPTOGRAPHIC_USAGE_MASK)? {
            Value::Integer(v) => Some(crate::enums::CryptographicUsageMask(*v as u32)),
            _ => None,
        }
    }

    /// State, if present and well-typed.
    pub fn state(&self) -> Option<crate::enums::State> {
        match self.get_std(Tag::STATE)? {
            Value::Enumeration(v) => Some(crate::enums::State(*v)),
            _ => None,
        }
    }

    /// Every Name attribute that is well-formed.
    pub fn names(&self, ctx: &Ctx) -> Vec<crate::objects::Name> {
        self.get_all(&AttributeName::Standard(Tag::NAME))
            .filter_map(|a| a.get(ctx).ok())
            .collect()
    }

    /// The value of a text custom attribute such as vCenter's `x-Name`.
    pub fn custom_text(&self, v1_name: &str) -> Option<&str> {
        match self.get(&AttributeName::from_v1(v1_name))? {
            Value::TextString(s) => Some(s),
            _ => None,
        }
    }

    /// Reads the 1.x inline form (a list of `Attribute` items directly in a
    /// payload) or the 2.x `Attributes` structure under `tag`.
    pub fn take_inline(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Option<Self>, Error> {
        if let Some(item) = r.take_one(tag) {
            return Attributes::from_ttlv(item, ctx).map(Some);
        }
        let list = r.take_all(Tag::ATTRIBUTE);
        if list.is_empty() {
            return Ok(None);
        }
        let items = list
            .into_iter()
            .map(|a| Attribute::from_ttlv(a, ctx))
            .collect::<Result<_, _>>()?;
        Ok(Some(Attributes::new(items)))
    }

    /// Writes the 1.x inline form or the 2.x `Attributes` structure under `tag`.
    pub fn put_inline(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        if ctx.is_v2() {
            out.push(self.to_ttlv(tag, ctx));
        } else {
            out.extend(
                self.items
                    .into_iter()
                    .map(|a| a.to_ttlv(Tag::ATTRIBUTE, ctx)),
            );
        }
    }
}

impl FromTtlv for Attributes {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        let v1 = is_v1_container(item.tag);
        let Value::Structure(children) = item.value else {
            return Err(Error::wrong_type(
                item.tag,
                ItemType::Structure,
                &item.value,
            ));
        };
        let mut out = Attributes::default();
        for c in children {
            if v1 {
                match c.tag {
                    Tag::NAME => out
                        .template_names
                        .push(crate::objects::Name::from_ttlv(c, ctx)?),
                    Tag::ATTRIBUTE => out.items.push(Attribute::from_ttlv(c, ctx)?),
                    other => {
                        return Err(Error::Unexpected {
                            parent: item.tag,
                            tag: other,
                        })
                    }
                }
            } else {
                out.items.push(Attribute::from_ttlv(c, ctx)?);
            }
        }
        Ok(out)
    }

    fn alt_tag(tag: Tag, _ctx: &Ctx) -> Option<Tag> {
        counterpart(tag)
    }
}

impl ToTtlv for Attributes {
    fn to_ttlv(self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let tag = match (ctx.is_v2(), is_v1_container(tag)) {
            (true, true) | (false, false) => counterpart(tag).unwrap_or(tag),
            _ => tag,
        };
        let mut c = Vec::with_capacity(self.items.len() + self.template_names.len());
        if !ctx.is_v2() {
            c.extend(
                self.template_names
                    .into_iter()
                    .map(|n| n.to_ttlv(Tag::NAME, ctx)),
            );
        }
        c.extend(
            self.items
                .into_iter()
                .map(|a| a.to_ttlv(Tag::ATTRIBUTE, ctx)),
        );
        Ttlv::structure(tag, c)
    }
}

/// Attributes carried inline: a list of 1.x `Attribute` items directly in the
/// parent, or one 2.x `Attributes` structure (Get Attributes response, Locate,
/// Key Value). `None` when the message carried neither.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InlineAttributes(pub Option<Attributes>);

impl Field for InlineAttributes {
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        Attributes::take_inline(r, tag, ctx).map(InlineAttributes)
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        if let Some(a) = self.0 {
            a.put_inline(tag, out, ctx)
        }
    }
}

/// One attribute that KMIP 1.x carries as an `Attribute` item and KMIP 2.x
/// wraps in the structure tagged `T` (`New Attribute` or `Current Attribute`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Wrapped<const T: u32>(pub Attribute);

/// The attribute to add or set (2.x `New Attribute`).
pub type NewAttribute = Wrapped<{ Tag::NEW_ATTRIBUTE.0 }>;
/// The attribute to change or delete (2.x `Current Attribute`).
pub type CurrentAttribute = Wrapped<{ Tag::CURRENT_ATTRIBUTE.0 }>;

impl<const T: u32> Field for Option<Wrapped<T>> {
    fn take(r: &mut StructReader, _tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        if let Some(w) = r.take_one(Tag(T)) {
            let wtag = w.tag;
            let mut inner = StructReader::new(w)?;
            let mut rest = inner.take_rest();
            if rest.len() != 1 {
                return Err(Error::invalid(wtag, "must hold exactly one attribute"));
            }
            return Attribute::from_ttlv(rest.remove(0), ctx).map(|a| Some(Wrapped(a)));
        }
        match r.take_one(Tag::ATTRIBUTE) {
            Some(a) => Attribute::from_ttlv(a, ctx).map(|a| Some(Wrapped(a))),
            None => Ok(None),
        }
    }
    fn put(self, _tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        if let Some(Wrapped(a)) = self {
            if ctx.is_v2() {
                out.push(Ttlv::structure(
                    Tag(T),
                    vec![a.to_ttlv(Tag::ATTRIBUTE, ctx)],
                ));
            } else {
                out.push(a.to_ttlv(Tag::ATTRIBUTE, ctx));
            }
        }
    }
}

impl<const T: u32> Field for Wrapped<T> {
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        match <Option<Wrapped<T>> as Field>::take(r, tag, ctx)? {
            Some(w) => Ok(w),
            None => Err(Error::Missing {
                parent: r.parent(),
                tag: if ctx.is_v2() { Tag(T) } else { Tag::ATTRIBUTE },
            }),
        }
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        Some(self).put(tag, out, ctx)
    }
}

/// A reference to an attribute: a 1.x Attribute Name text or a 2.x Attribute Reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeReference(pub AttributeName);

impl FromTtlv for AttributeReference {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        match item.value {
            Value::TextString(s) => Ok(AttributeReference(AttributeName::from_v1(&s))),
            // A tag is three bytes: a wider value names no attribute (and
            // would not survive being written as a 1.x name and read back).
            Value::Enumeration(t) if t <= 0xFF_FFFF => {
                Ok(AttributeReference(AttributeName::Standard(Tag(t))))
            }
            Value::Enumeration(t) => Err(Error::invalid(
                item.tag,
                format!("0x{t:08X} is not a tag (tags are three bytes)"),
            )),
            Value::Structure(_) => {
                let tag = item.tag;
                let mut r = StructReader::new(item)?;
                let vendor: String = Field::take(&mut r, Tag::VENDOR_IDENTIFICATION, ctx)?;
                let name: String = Field::take(&mut r, Tag::ATTRIBUTE_NAME, ctx)?;
                r.finish()
                    .map_err(|_| Error::invalid(tag, "unexpected item in attribute reference"))?;
                Ok(AttributeReference(AttributeName::Vendor { vendor, name }))
            }
            other => Err(Error::wrong_type(item.tag, ItemType::TextString, &other)),
        }
    }

    fn alt_tag(tag: Tag, _ctx: &Ctx) -> Option<Tag> {
        match tag {
            Tag::ATTRIBUTE_REFERENCE => Some(Tag::ATTRIBUTE_NAME),
            Tag::ATTRIBUTE_NAME => Some(Tag::ATTRIBUTE_REFERENCE),
            _ => None,
        }
    }
}

impl ToTtlv for AttributeReference {
    /// 1.x: an `Attribute Name` text; 2.x: an `Attribute Reference` (tag enumeration, or vendor structure).
    fn to_ttlv(self, _tag: Tag, ctx: &Ctx) -> Ttlv {
        if !ctx.is_v2() {
            return Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(self.0.to_v1()));
        }
        match self.0 {
            AttributeName::Standard(t) => {
                Ttlv::new(Tag::ATTRIBUTE_REFERENCE, Value::Enumeration(t.0))
            }
            AttributeName::Vendor { vendor, name } => Ttlv::structure(
                Tag::ATTRIBUTE_REFERENCE,
                vec![
                    Ttlv::new(Tag::VENDOR_IDENTIFICATION, Value::TextString(vendor)),
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name)),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::CryptographicAlgorithm;

    #[test]
    fn an_attribute_reference_wider_than_a_tag_is_refused() {
        // Found by the fuzzer: 0x25000000 read as a tag was written back as
        // the 1.x name "0x25000000", which reads back as a custom name.
        let ctx = Ctx::default();
        let wide = Ttlv::new(Tag::ATTRIBUTE_REFERENCE, Value::Enumeration(0x2500_0000));
        assert!(AttributeReference::from_ttlv(wide, &ctx).is_err());
        let state = Ttlv::new(Tag::ATTRIBUTE_REFERENCE, Value::Enumeration(Tag::STATE.0));
        let read = AttributeReference::from_ttlv(state, &ctx).unwrap();
        assert_eq!(
            read,
            AttributeReference(AttributeName::Standard(Tag::STATE))
        );
        // Any three-byte tag, known or not, survives the 1.x name.
        let odd = AttributeName::Standard(Tag(0x54_0001));
        assert_eq!(AttributeName::from_v1(&odd.to_v1()), odd);
    }

    fn sample() -> Attributes {
        Attributes::new(vec![
            Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
            Attribute::custom("x-Name", Value::TextString("test01".into())),
            Attribute::custom("y-Count", Value::LongInteger(7)),
        ])
    }

    #[test]
    fn one_model_both_shapes() {
        for ctx in [Ctx::new(1, 1), Ctx::V2_1] {
            let t = sample().to_ttlv(Tag::ATTRIBUTES, &ctx);
            let expected_tag = if ctx.is_v2() {
                Tag::ATTRIBUTES
            } else {
                Tag::TEMPLATE_ATTRIBUTE
            };
            assert_eq!(t.tag, expected_tag);
            let back = Attributes::from_ttlv(t, &ctx).unwrap();
            assert_eq!(back, sample());
            assert_eq!(
                back.cryptographic_algorithm(),
                Some(CryptographicAlgorithm::AES)
            );
            assert_eq!(back.cryptographic_length(), Some(256));
            assert_eq!(back.custom_text("x-Name"), Some("test01"));
        }
        // 1.x custom attribute maps to the 2.x vendor attribute with vendor "x"
        let t = sample().to_ttlv(Tag::ATTRIBUTES, &Ctx::V2_1);
        let v = t.child(Tag::ATTRIBUTE).unwrap();
        assert_eq!(
            v.child(Tag::VENDOR_IDENTIFICATION).unwrap().value,
            Value::TextString("x".into())
        );
        assert_eq!(
            v.child(Tag::ATTRIBUTE_NAME).unwrap().value,
            Value::TextString("Name".into())
        );
        let t1 = sample().to_ttlv(Tag::ATTRIBUTES, &Ctx::new(1, 4));
        let a = &t1.children()[0];
        assert_eq!(
            a.child(Tag::ATTRIBUTE_NAME).unwrap().value,
            Value::TextString("Cryptographic Algorithm".into())
        );
    }

    #[test]
    fn names_round_trip() {
        for n in [
            "Cryptographic Usage Mask",
            "x-Product_Version",
            "y-a-b",
            "Plain",
        ] {
            assert_eq!(AttributeName::from_v1(n).to_v1(), n);
        }
        assert_eq!(
            AttributeName::from_v1("x-a-b"),
            AttributeName::Vendor {
                vendor: "x".into(),
                name: "a-b".into()
            }
        );
    }
}
