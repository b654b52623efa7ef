//! The one error type of the protocol crate.

use crate::binary::DecodeErrorKind;
use crate::{ItemType, Tag, Value};

/// Why bytes or text could not be read as KMIP, or a TTLV tree as a typed message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed binary TTLV at a byte offset.
    #[error("at offset {offset}{}: {kind}", tag.map(|t| format!(", tag {t}")).unwrap_or_default())]
    Decode {
        /// Offset of the item in the input.
        offset: usize,
        /// The tag of the item, when its header was readable.
        tag: Option<Tag>,
        /// What is wrong.
        kind: DecodeErrorKind,
    },
    /// Malformed JSON or XML text.
    #[error("{encoding} at {location}: {message}")]
    Syntax {
        /// "JSON" or "XML".
        encoding: &'static str,
        /// Where (a path of tags, a line, or a byte position).
        location: String,
        /// What is wrong.
        message: String,
    },
    /// An item of the wrong type where the specification fixes the type.
    #[error("{tag}: expected {expected}, found {found}")]
    WrongType {
        /// The item's tag.
        tag: Tag,
        /// The type the specification requires.
        expected: ItemType,
        /// The type found.
        found: ItemType,
    },
    /// A required item is missing from a structure.
    #[error("{parent}: required {tag} is missing")]
    Missing {
        /// The structure.
        parent: Tag,
        /// The missing item.
        tag: Tag,
    },
    /// An item the specification does not allow in this structure.
    #[error("{parent}: unexpected {tag}")]
    Unexpected {
        /// The structure.
        parent: Tag,
        /// The unexpected item.
        tag: Tag,
    },
    /// A value that is well-typed but not allowed.
    #[error("{tag}: {message}")]
    Invalid {
        /// The item's tag.
        tag: Tag,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn decode(offset: usize, tag: Option<Tag>, kind: DecodeErrorKind) -> Self {
        Error::Decode { offset, tag, kind }
    }

    /// Moves a nested decode error's offset by `base` (the parent's body offset).
    pub(crate) fn shifted(self, base: usize) -> Self {
        match self {
            Error::Decode { offset, tag, kind } => Error::Decode {
                offset: offset + base,
                tag,
                kind,
            },
            other => other,
        }
    }

    pub(crate) fn wrong_type(tag: Tag, expected: ItemType, found: &Value) -> Self {
        Error::WrongType {
            tag,
            expected,
            found: found.item_type(),
        }
    }

    pub(crate) fn invalid(tag: Tag, message: impl Into<String>) -> Self {
        Error::Invalid {
            tag,
            message: message.into(),
        }
    }

    /// The tag this error is about, if any.
    pub fn tag(&self) -> Option<Tag> {
        match self {
            Error::Decode { tag, .. } => *tag,
            Error::Syntax { .. } => None,
            Error::WrongType { tag, .. }
            | Error::Missing { tag, .. }
            | Error::Unexpected { tag, .. } => Some(*tag),
            Error::Invalid { tag, .. } => Some(*tag),
        }
    }
}
