//! Identifiers: distinct types for accounts, groups, apps and security objects.
//! All are random (v4) UUIDs, so that any node of a cluster can mint them
//! without coordination and they stay valid forever.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random identifier.
            pub fn new() -> Self {
                $name(Uuid::new_v4())
            }
            /// The identifier from its 16 bytes.
            pub fn from_bytes(b: [u8; 16]) -> Self {
                $name(Uuid::from_bytes(b))
            }
            /// Its 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            /// Parses the hyphenated form (other UUID forms are accepted too).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

id_type!(
    /// A tenant.
    AccountId
);
id_type!(
    /// A container of security objects inside an account.
    GroupId
);
id_type!(
    /// A machine identity (vCenter, a database…) inside an account.
    AppId
);
id_type!(
    /// A security object; its text form is the KMIP Unique Identifier.
    ObjectId
);
id_type!(
    /// A person who manages (a provider's sysadmin, an account's admin); never a KMIP client.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_ids_are_distinct() {
        let a = ObjectId::new();
        let b = ObjectId::new();
        assert_ne!(a, b);
        let s = a.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(s.parse::<ObjectId>().unwrap(), a);
        assert!("not-a-uuid".parse::<ObjectId>().is_err());
        assert_eq!(ObjectId::from_bytes(*a.as_bytes()), a);
    }
}
