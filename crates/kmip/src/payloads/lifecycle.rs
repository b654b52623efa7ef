//! Activate: moving an object through its lifecycle.

use crate::typed::kmip_struct;

kmip_struct! {
    /// Activate request.
    pub struct ActivateRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Activate response.
    pub struct ActivateResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
    }
}
