//! Every enumeration and bit mask of KMIP 1.0-2.1 as a typed `u32` newtype with
//! one constant per specification name (generated from `tables/kmip_tables.json`).
//! Values outside the specification (vendor extensions `0x8xxxxxxx`) are kept.
#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/enums.rs"));
