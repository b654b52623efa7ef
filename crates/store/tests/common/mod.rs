//! Fixtures shared by the store tests: temporary directories, model values,
//! and throwaway PostgreSQL clusters ([`pg`]).
#![allow(dead_code)]

pub mod pg;

use kmip::attributes::{Attribute, Attributes};
use kmip::enums::{CryptographicAlgorithm, NameType, ObjectType, State};
use kmip::{Bytes, Tag, Ttlv, Value};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::model::{Account, App, AuthMethod, Group, ManagedObject, SecretHash};
use std::path::{Path, PathBuf};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory named after `name`.
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "skms-store-{}-{name}-{}",
            std::process::id(),
            ObjectId::new()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// A path inside it.
    pub fn join(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A name no other check uses (checks may share one store).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ObjectId::new())
}

/// An account, not yet stored.
pub fn account(name: &str) -> Account {
    Account {
        id: AccountId::new(),
        name: name.into(),
        enabled: true,
        created: 1_700_000_000,
        wrapped_key: ObjectId::new().as_bytes().repeat(3),
    }
}

/// A group of `account`, not yet stored.
pub fn group(account: AccountId, name: &str) -> Group {
    Group {
        id: GroupId::new(),
        account,
        name: name.into(),
        description: format!("the {name} group"),
        created: 1_700_000_100,
    }
}

/// An app of `account` using `groups` (the first is its default), not yet stored.
pub fn app(account: AccountId, name: &str, groups: &[GroupId]) -> App {
    App {
        id: AppId::new(),
        account,
        name: name.into(),
        description: format!("the {name} app"),
        kmip: true,
        rest: false,
        auth_method: AuthMethod::ApiKey,
        groups: groups.to_vec(),
        default_group: groups[0],
        enabled: true,
        secret_hash: SecretHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        sealed_secret: vec![1, 2, 3],
        pinned_certs: Vec::new(),
        trusted_cas: Vec::new(),
        created: 1_700_000_200,
    }
}

/// Attributes of many kinds: standard ones (enumeration, integer, structure,
/// date-time) and custom `x-`/`y-` ones of every primitive type.
pub fn attributes(label: &str) -> Attributes {
    Attributes::new(vec![
        Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        ),
        Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
        Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
        Attribute::new(
            Tag::NAME,
            Value::Structure(vec![
                Ttlv::new(Tag::NAME_VALUE, Value::TextString(label.into())),
                Ttlv::new(
                    Tag::NAME_TYPE,
                    Value::Enumeration(NameType::UNINTERPRETED_TEXT_STRING.0),
                ),
            ]),
        ),
        Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(1_700_000_000)),
        Attribute::custom("x-Name", Value::TextString(format!("vm-{label}"))),
        Attribute::custom("x-Count", Value::LongInteger(-42)),
        Attribute::custom("x-Small", Value::Integer(7)),
        Attribute::custom("x-Flag", Value::Boolean(true)),
        Attribute::custom("x-Blob", Value::ByteString(Bytes::from(vec![0, 1, 2, 255]))),
        Attribute::custom("x-When", Value::DateTime(1_234_567_890)),
        Attribute::custom("x-Micros", Value::DateTimeExtended(1_234_567_890_123_456)),
        Attribute::custom("x-Every", Value::Interval(3600)),
        Attribute::custom(
            "x-Big",
            Value::BigInteger(Bytes::from(vec![0, 0, 0, 0, 0, 0, 1, 0])),
        ),
        Attribute::custom("y-Server", Value::Enumeration(3)),
    ])
}

/// A symmetric key object of `account` in `group`, with some sealed bytes, not yet stored.
pub fn object(account: AccountId, group: GroupId, created: i64) -> ManagedObject {
    let id = ObjectId::new();
    ManagedObject {
        id,
        account,
        group,
        object_type: ObjectType::SYMMETRIC_KEY,
        state: State::PRE_ACTIVE,
        attributes: attributes(&id.to_string()),
        sealed: Some([&[1u8][..], id.as_bytes(), &[0xAB; 40]].concat()),
        created,
        updated: created,
        creator: None,
    }
}
