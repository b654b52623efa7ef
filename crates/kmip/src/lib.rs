//! The KMIP protocol, sans I/O: the TTLV item model; the binary, JSON and XML
//! encodings; the tag and enumeration tables of KMIP 1.0-2.1; typed request and
//! response messages with their payloads and one attribute model for the 1.x and
//! 2.x attribute shapes. No network, no cryptography, no storage.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attributes;
pub mod binary;
pub mod enums;
mod error;
pub mod json;
pub mod messages;
pub mod objects;
pub mod payloads;
pub mod tables;
pub mod text;
mod textual;
mod ttlv;
pub mod typed;
pub mod xml;

pub use error::Error;
pub use ttlv::{
    format_date_time, format_date_time_extended, parse_date_time_nanos, Bytes, ItemType, Tag, Ttlv,
    Value,
};
