//! Cancel and Poll: asynchronous operations.

use crate::enums::CancellationResult;
use crate::typed::kmip_struct;
use crate::Bytes;

kmip_struct! {
    /// Cancel request.
    pub struct CancelRequest {
        /// The pending operation.
        pub asynchronous_correlation_value: Bytes = ASYNCHRONOUS_CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Cancel response.
    pub struct CancelResponse {
        /// The pending operation.
        pub asynchronous_correlation_value: Bytes = ASYNCHRONOUS_CORRELATION_VALUE,
        /// What became of it.
        pub cancellation_result: CancellationResult = CANCELLATION_RESULT,
    }
}

kmip_struct! {
    /// Poll request. The response carries the polled operation's own payload
    /// (or none while pending), so it is kept raw.
    pub struct PollRequest {
        /// The pending operation.
        pub asynchronous_correlation_value: Bytes = ASYNCHRONOUS_CORRELATION_VALUE,
    }
}
