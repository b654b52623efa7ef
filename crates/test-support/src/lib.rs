//! Helpers shared by the tests of several crates of the workspace (a
//! dev-dependency only, never published): reading and replaying the OASIS KMIP
//! 1.4 profile test cases of `shared/kmip-testcases`, the vCenter captures of
//! `shared/interop/vsphere-kmip.md`, building requests, and loopback ports.
//!
//! Only what is the same for every caller lives here; how a test sends a
//! message (in-process, over TLS, …) stays in the test.

pub mod net;
pub mod oasis;
pub mod requests;
pub mod vcenter;

pub use net::free_port;
