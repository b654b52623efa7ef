//! RNG Retrieve: random bytes from the server's generator.

use super::{Context, OpError};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use kmip::enums::ResultReason;
use kmip::payloads::{RngRetrieveRequest, RngRetrieveResponse};
use kmip::Bytes;
use zeroize::Zeroizing;

/// The most bytes one request may ask for.
pub const MAX_RANDOM: i32 = 64 * 1024;

/// RNG Retrieve.
pub fn rng_retrieve(
    ctx: &Context,
    req: RngRetrieveRequest,
) -> Result<RngRetrieveResponse, OpError> {
    let _ = ctx;
    if !(1..=MAX_RANDOM).contains(&req.data_length) {
        return Err(super::object::invalid(format!(
            "Data Length must be 1 to {MAX_RANDOM} bytes"
        )));
    }
    let mut buf = Zeroizing::new(vec![0u8; req.data_length as usize]);
    SystemRandom::new().fill(&mut buf).map_err(|_| {
        OpError::new(
            ResultReason::CRYPTOGRAPHIC_FAILURE,
            "the random generator failed",
        )
    })?;
    Ok(RngRetrieveResponse {
        data: Bytes::from(&buf[..]),
    })
}
