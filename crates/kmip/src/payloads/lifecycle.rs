//! Activate, Revoke, Destroy, Archive, Recover, Obtain Lease, Get Usage
//! Allocation and Check: moving an object through its lifecycle and
//! checking what it may be used for.

use crate::enums::{CryptographicUsageMask, RevocationReasonCode};
use crate::typed::{kmip_struct, DateTime, Interval};

/// Declares the request and response of an operation whose payloads are the
/// (optional, then required) Unique Identifier only.
macro_rules! uid_only {
    ($( $(#[$m:meta])* $req:ident, $resp:ident; )*) => {$(
        kmip_struct! {
            $(#[$m])*
            /// (request)
            pub struct $req {
                /// The object (absent: the ID placeholder).
                pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
            }
        }
        kmip_struct! {
            $(#[$m])*
            /// (response)
            pub struct $resp {
                /// The object.
                pub unique_identifier: String = UNIQUE_IDENTIFIER,
            }
        }
    )*};
}

uid_only! {
    /// Activate.
    ActivateRequest, ActivateResponse;
    /// Destroy.
    DestroyRequest, DestroyResponse;
    /// Archive.
    ArchiveRequest, ArchiveResponse;
    /// Recover.
    RecoverRequest, RecoverResponse;
}

kmip_struct! {
    /// Revocation Reason: why an object is revoked.
    pub struct RevocationReason {
        /// The reason.
        pub revocation_reason_code: RevocationReasonCode = REVOCATION_REASON_CODE,
        /// A message for a person.
        pub revocation_message: Option<String> = REVOCATION_MESSAGE,
    }
}

kmip_struct! {
    /// Revoke request.
    pub struct RevokeRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Why.
        pub revocation_reason: RevocationReason = REVOCATION_REASON,
        /// When the compromise happened (for the compromise reasons).
        pub compromise_occurrence_date: Option<DateTime> = COMPROMISE_OCCURRENCE_DATE,
    }
}

kmip_struct! {
    /// Revoke response.
    pub struct RevokeResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Obtain Lease request.
    pub struct ObtainLeaseRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Obtain Lease response.
    pub struct ObtainLeaseResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// How long the client may use the object.
        pub lease_time: Interval = LEASE_TIME,
        /// When the object's attributes last changed.
        pub last_change_date: DateTime = LAST_CHANGE_DATE,
    }
}

kmip_struct! {
    /// Get Usage Allocation request.
    pub struct GetUsageAllocationRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// How many uses the client asks for.
        pub usage_limits_count: i64 = USAGE_LIMITS_COUNT,
    }
}

kmip_struct! {
    /// Get Usage Allocation response.
    pub struct GetUsageAllocationResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Check request: may the object be used this way?
    pub struct CheckRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Uses the client intends.
        pub usage_limits_count: Option<i64> = USAGE_LIMITS_COUNT,
        /// Usages the client intends.
        pub cryptographic_usage_mask: Option<CryptographicUsageMask> = CRYPTOGRAPHIC_USAGE_MASK,
        /// Lease the client intends.
        pub lease_time: Option<Interval> = LEASE_TIME,
    }
}

kmip_struct! {
    /// Check response (on failure, the fields that failed the check).
    pub struct CheckResponse {
        /// The object.
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Usage count that failed.
        pub usage_limits_count: Option<i64> = USAGE_LIMITS_COUNT,
        /// Usage mask that failed.
        pub cryptographic_usage_mask: Option<CryptographicUsageMask> = CRYPTOGRAPHIC_USAGE_MASK,
        /// Lease time that failed.
        pub lease_time: Option<Interval> = LEASE_TIME,
    }
}
