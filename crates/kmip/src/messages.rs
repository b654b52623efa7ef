//! Request and response messages: headers, batch items and results.

use crate::enums::*;
use crate::payloads::{RequestPayload, ResponsePayload};
use crate::typed::{kmip_struct, Ctx, DateTime, Field, FromTtlv, StructReader, ToTtlv};
use crate::{binary, Bytes, Error, Tag, Ttlv, Value};
use std::fmt;

kmip_struct! {
    /// Protocol Version.
    pub struct ProtocolVersion {
        /// Major version.
        pub protocol_version_major: i32 = PROTOCOL_VERSION_MAJOR,
        /// Minor version.
        pub protocol_version_minor: i32 = PROTOCOL_VERSION_MINOR,
    }
}

impl ProtocolVersion {
    /// `major.minor`.
    pub fn new(major: i32, minor: i32) -> Self {
        ProtocolVersion {
            protocol_version_major: major,
            protocol_version_minor: minor,
        }
    }
    /// The conversion context for this version.
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.protocol_version_major, self.protocol_version_minor)
    }
}

/// A text that is a secret (a password): wiped on drop, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(pub String);

impl Drop for SecretString {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromTtlv for SecretString {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        String::from_ttlv(item, ctx).map(SecretString)
    }
}

impl ToTtlv for SecretString {
    fn to_ttlv(mut self, tag: Tag, _ctx: &Ctx) -> Ttlv {
        Ttlv::new(tag, Value::TextString(std::mem::take(&mut self.0)))
    }
}

kmip_struct! {
    /// Credential Value for Username and Password.
    pub struct UsernameAndPassword {
        /// Username.
        pub username: String = USERNAME,
        /// Password.
        pub password: Option<SecretString> = PASSWORD,
    }
}

kmip_struct! {
    /// Credential Value for Device.
    pub struct DeviceCredential {
        /// Device serial number.
        pub device_serial_number: Option<String> = DEVICE_SERIAL_NUMBER,
        /// Password.
        pub password: Option<SecretString> = PASSWORD,
        /// Device identifier.
        pub device_identifier: Option<String> = DEVICE_IDENTIFIER,
        /// Network identifier.
        pub network_identifier: Option<String> = NETWORK_IDENTIFIER,
        /// Machine identifier.
        pub machine_identifier: Option<String> = MACHINE_IDENTIFIER,
        /// Media identifier.
        pub media_identifier: Option<String> = MEDIA_IDENTIFIER,
    }
}

kmip_struct! {
    /// Nonce (for attestation).
    pub struct Nonce {
        /// Nonce identifier.
        pub nonce_id: Bytes = NONCE_ID,
        /// Nonce value.
        pub nonce_value: Bytes = NONCE_VALUE,
    }
}

kmip_struct! {
    /// Credential Value for Attestation (1.2+).
    pub struct AttestationCredential {
        /// The server's nonce.
        pub nonce: Nonce = NONCE,
        /// Kind of attestation.
        pub attestation_type: AttestationType = ATTESTATION_TYPE,
        /// Measurement.
        pub attestation_measurement: Option<Bytes> = ATTESTATION_MEASUREMENT,
        /// Assertion.
        pub attestation_assertion: Option<Bytes> = ATTESTATION_ASSERTION,
    }
}

kmip_struct! {
    /// Credential Value for One Time Password (2.0+).
    pub struct OneTimePasswordCredential {
        /// Username.
        pub username: String = USERNAME,
        /// Password.
        pub password: Option<SecretString> = PASSWORD,
        /// The one-time password.
        pub one_time_password: SecretString = ONE_TIME_PASSWORD,
    }
}

kmip_struct! {
    /// Credential Value for Hashed Password (2.0+).
    pub struct HashedPasswordCredential {
        /// Username.
        pub username: String = USERNAME,
        /// Time stamp mixed into the hash.
        pub timestamp: DateTime = TIME_STAMP,
        /// Hash algorithm (default SHA-256).
        pub hashing_algorithm: Option<HashingAlgorithm> = HASHING_ALGORITHM,
        /// The hashed password.
        pub hashed_password: Bytes = HASHED_PASSWORD,
    }
}

kmip_struct! {
    /// Credential Value for Ticket (2.0+).
    pub struct TicketCredential {
        /// Ticket type.
        pub ticket_type: TicketType = TICKET_TYPE,
        /// Ticket bytes.
        pub ticket_value: Bytes = TICKET_VALUE,
    }
}

/// A Credential: its type decides the shape of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Username and Password (vCenter's "password protection").
    UsernameAndPassword(UsernameAndPassword),
    /// Device.
    Device(DeviceCredential),
    /// Attestation.
    Attestation(AttestationCredential),
    /// One Time Password.
    OneTimePassword(OneTimePasswordCredential),
    /// Hashed Password.
    HashedPassword(HashedPasswordCredential),
    /// Ticket.
    Ticket(TicketCredential),
    /// A credential type this crate does not model: the type and the raw value.
    Other(CredentialType, Ttlv),
}

impl FromTtlv for Credential {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        let mut r = StructReader::new(item)?;
        let ty: CredentialType = Field::take(&mut r, Tag::CREDENTIAL_TYPE, ctx)?;
        let v: Ttlv = Field::take(&mut r, Tag::CREDENTIAL_VALUE, ctx)?;
        r.finish()?;
        Ok(match ty {
            CredentialType::USERNAME_AND_PASSWORD => {
                Credential::UsernameAndPassword(FromTtlv::from_ttlv(v, ctx)?)
            }
            CredentialType::DEVICE => Credential::Device(FromTtlv::from_ttlv(v, ctx)?),
            CredentialType::ATTESTATION => Credential::Attestation(FromTtlv::from_ttlv(v, ctx)?),
            CredentialType::ONE_TIME_PASSWORD => {
                Credential::OneTimePassword(FromTtlv::from_ttlv(v, ctx)?)
            }
            CredentialType::HASHED_PASSWORD => {
                Credential::HashedPassword(FromTtlv::from_ttlv(v, ctx)?)
            }
            CredentialType::TICKET => Credential::Ticket(FromTtlv::from_ttlv(v, ctx)?),
            other => Credential::Other(other, v),
        })
    }
}

impl ToTtlv for Credential {
    fn to_ttlv(self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let v = Tag::CREDENTIAL_VALUE;
        let (ty, value) = match self {
            Credential::UsernameAndPassword(c) => {
                (CredentialType::USERNAME_AND_PASSWORD, c.to_ttlv(v, ctx))
            }
            Credential::Device(c) => (CredentialType::DEVICE, c.to_ttlv(v, ctx)),
            Credential::Attestation(c) => (CredentialType::ATTESTATION, c.to_ttlv(v, ctx)),
            Credential::OneTimePassword(c) => {
                (CredentialType::ONE_TIME_PASSWORD, c.to_ttlv(v, ctx))
            }
            Credential::HashedPassword(c) => (CredentialType::HASHED_PASSWORD, c.to_ttlv(v, ctx)),
            Credential::Ticket(c) => (CredentialType::TICKET, c.to_ttlv(v, ctx)),
            Credential::Other(t, raw) => (t, raw.to_ttlv(v, ctx)),
        };
        Ttlv::structure(tag, vec![ty.to_ttlv(Tag::CREDENTIAL_TYPE, ctx), value])
    }
}

kmip_struct! {
    /// Authentication: one credential (1.0, 1.1) or several (1.2+).
    pub struct Authentication {
        /// The credentials.
        pub credential: Vec<Credential> = CREDENTIAL,
    }
}

kmip_struct! {
    /// Request Header.
    pub struct RequestHeader {
        /// The request's version.
        pub protocol_version: ProtocolVersion = PROTOCOL_VERSION,
        /// Largest response the client accepts.
        pub maximum_response_size: Option<i32> = MAXIMUM_RESPONSE_SIZE,
        /// Client Correlation Value (1.4+).
        pub client_correlation_value: Option<String> = CLIENT_CORRELATION_VALUE,
        /// Server Correlation Value (1.4+).
        pub server_correlation_value: Option<String> = SERVER_CORRELATION_VALUE,
        /// Asynchronous Indicator.
        pub asynchronous_indicator: Option<bool> = ASYNCHRONOUS_INDICATOR,
        /// Attestation Capable Indicator (1.2+).
        pub attestation_capable_indicator: Option<bool> = ATTESTATION_CAPABLE_INDICATOR,
        /// Attestation Types (1.2+).
        pub attestation_type: Vec<AttestationType> = ATTESTATION_TYPE,
        /// Credentials.
        pub authentication: Option<Authentication> = AUTHENTICATION,
        /// Batch Error Continuation Option.
        pub batch_error_continuation_option: Option<BatchErrorContinuationOption> = BATCH_ERROR_CONTINUATION_OPTION,
        /// Batch Order Option.
        pub batch_order_option: Option<bool> = BATCH_ORDER_OPTION,
        /// Time Stamp.
        pub time_stamp: Option<DateTime> = TIME_STAMP,
        /// Number of batch items.
        pub batch_count: i32 = BATCH_COUNT,
    }
}

kmip_struct! {
    /// Message Extension: a vendor's extension of a batch item.
    pub struct MessageExtension {
        /// The vendor.
        pub vendor_identification: String = VENDOR_IDENTIFICATION,
        /// Whether a server that does not understand it must fail.
        pub criticality_indicator: bool = CRITICALITY_INDICATOR,
        /// The vendor's structure, kept as sent.
        pub vendor_extension: Ttlv = VENDOR_EXTENSION,
    }
}

/// One operation of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestBatchItem {
    /// The operation.
    pub operation: Operation,
    /// Ephemeral (2.0+).
    pub ephemeral: Option<bool>,
    /// Unique Batch Item ID, echoed in the response.
    pub unique_batch_item_id: Option<Bytes>,
    /// The payload (typed when this crate models the operation).
    pub payload: RequestPayload,
    /// Message Extension.
    pub message_extension: Option<MessageExtension>,
}

impl FromTtlv for RequestBatchItem {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        let mut r = StructReader::new(item)?;
        let operation: Operation = Field::take(&mut r, Tag::OPERATION, ctx)?;
        let ephemeral = Field::take(&mut r, Tag::EPHEMERAL, ctx)?;
        let unique_batch_item_id = Field::take(&mut r, Tag::UNIQUE_BATCH_ITEM_ID, ctx)?;
        let raw: Ttlv = Field::take(&mut r, Tag::REQUEST_PAYLOAD, ctx)?;
        let message_extension = Field::take(&mut r, Tag::MESSAGE_EXTENSION, ctx)?;
        r.finish()?;
        let payload = RequestPayload::read(operation, raw, ctx)?;
        Ok(RequestBatchItem {
            operation,
            ephemeral,
            unique_batch_item_id,
            payload,
            message_extension,
        })
    }
}

impl ToTtlv for RequestBatchItem {
    fn to_ttlv(self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let mut c = Vec::with_capacity(4);
        self.operation.put(Tag::OPERATION, &mut c, ctx);
        self.ephemeral.put(Tag::EPHEMERAL, &mut c, ctx);
        self.unique_batch_item_id
            .put(Tag::UNIQUE_BATCH_ITEM_ID, &mut c, ctx);
        c.push(self.payload.write(ctx));
        self.message_extension
            .put(Tag::MESSAGE_EXTENSION, &mut c, ctx);
        Ttlv::structure(tag, c)
    }
}

/// A request message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestMessage {
    /// The header.
    pub header: RequestHeader,
    /// The operations, in order.
    pub batch_items: Vec<RequestBatchItem>,
}

/// Reads a message structure: the header first (its version decides how the
/// batch items are read), then the batch items.
fn read_message<H: FromTtlv + ToTtlv, B: FromTtlv + ToTtlv>(
    item: Ttlv,
    want: Tag,
    header_tag: Tag,
    version: impl Fn(&H) -> Ctx,
) -> Result<(H, Vec<B>), Error> {
    if item.tag != want {
        return Err(Error::Unexpected {
            parent: want,
            tag: item.tag,
        });
    }
    let mut r = StructReader::new(item)?;
    let header: H = Field::take(&mut r, header_tag, &Ctx::default())?;
    let ctx = version(&header);
    let items: Vec<B> = Field::take(&mut r, Tag::BATCH_ITEM, &ctx)?;
    r.finish()?;
    Ok((header, items))
}

impl RequestMessage {
    /// The conversion context of this message (its protocol version).
    pub fn ctx(&self) -> Ctx {
        self.header.protocol_version.ctx()
    }

    /// Reads a request from a TTLV tree.
    pub fn from_ttlv(item: Ttlv) -> Result<Self, Error> {
        let (header, batch_items) = read_message(
            item,
            Tag::REQUEST_MESSAGE,
            Tag::REQUEST_HEADER,
            |h: &RequestHeader| h.protocol_version.ctx(),
        )?;
        Ok(RequestMessage {
            header,
            batch_items,
        })
    }

    /// Writes the request as a TTLV tree in the shapes of its protocol version.
    pub fn to_ttlv(self) -> Ttlv {
        let ctx = self.ctx();
        let mut c = Vec::with_capacity(1 + self.batch_items.len());
        self.header.put(Tag::REQUEST_HEADER, &mut c, &ctx);
        self.batch_items.put(Tag::BATCH_ITEM, &mut c, &ctx);
        Ttlv::structure(Tag::REQUEST_MESSAGE, c)
    }

    /// Decodes a binary TTLV request.
    pub fn decode(bytes: &[u8], limits: &binary::Limits) -> Result<Self, Error> {
        Self::from_ttlv(binary::decode(bytes, limits)?)
    }

    /// Encodes the request as binary TTLV.
    pub fn encode(self) -> Vec<u8> {
        binary::encode(&self.to_ttlv())
    }
}

kmip_struct! {
    /// Response Header.
    pub struct ResponseHeader {
        /// The response's version (the request's).
        pub protocol_version: ProtocolVersion = PROTOCOL_VERSION,
        /// When the server answered.
        pub time_stamp: DateTime = TIME_STAMP,
        /// Nonce for attestation (1.2+).
        pub nonce: Option<Nonce> = NONCE,
        /// Server Hashed Password (2.0+).
        pub server_hashed_password: Option<Bytes> = SERVER_HASHED_PASSWORD,
        /// Attestation Types the server wants (1.2+).
        pub attestation_type: Vec<AttestationType> = ATTESTATION_TYPE,
        /// Client Correlation Value (1.4+).
        pub client_correlation_value: Option<String> = CLIENT_CORRELATION_VALUE,
        /// Server Correlation Value (1.4+).
        pub server_correlation_value: Option<String> = SERVER_CORRELATION_VALUE,
        /// Number of batch items.
        pub batch_count: i32 = BATCH_COUNT,
    }
}

/// The result of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseBatchItem {
    /// The operation (required when the request item had one).
    pub operation: Option<Operation>,
    /// Echo of the request's Unique Batch Item ID.
    pub unique_batch_item_id: Option<Bytes>,
    /// Success, failure, pending or undone.
    pub result_status: ResultStatus,
    /// Why it failed.
    pub result_reason: Option<ResultReason>,
    /// A message for a person.
    pub result_message: Option<String>,
    /// For asynchronous operations.
    pub asynchronous_correlation_value: Option<Bytes>,
    /// The payload (typed when this crate models the operation).
    pub payload: Option<ResponsePayload>,
    /// Message Extension.
    pub message_extension: Option<MessageExtension>,
}

impl ResponseBatchItem {
    /// A successful result.
    pub fn success(operation: Operation, id: Option<Bytes>, payload: ResponsePayload) -> Self {
        ResponseBatchItem {
            operation: Some(operation),
            unique_batch_item_id: id,
            result_status: ResultStatus::SUCCESS,
            result_reason: None,
            result_message: None,
            asynchronous_correlation_value: None,
            payload: Some(payload),
            message_extension: None,
        }
    }

    /// A failed result.
    pub fn failure(
        operation: Option<Operation>,
        id: Option<Bytes>,
        reason: ResultReason,
        message: String,
    ) -> Self {
        ResponseBatchItem {
            operation,
            unique_batch_item_id: id,
            result_status: ResultStatus::OPERATION_FAILED,
            result_reason: Some(reason),
            result_message: Some(message),
            asynchronous_correlation_value: None,
            payload: None,
            message_extension: None,
        }
    }
}

impl FromTtlv for ResponseBatchItem {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        let mut r = StructReader::new(item)?;
        let operation: Option<Operation> = Field::take(&mut r, Tag::OPERATION, ctx)?;
        let unique_batch_item_id = Field::take(&mut r, Tag::UNIQUE_BATCH_ITEM_ID, ctx)?;
        let result_status = Field::take(&mut r, Tag::RESULT_STATUS, ctx)?;
        let result_reason = Field::take(&mut r, Tag::RESULT_REASON, ctx)?;
        let result_message = Field::take(&mut r, Tag::RESULT_MESSAGE, ctx)?;
        let asynchronous_correlation_value =
            Field::take(&mut r, Tag::ASYNCHRONOUS_CORRELATION_VALUE, ctx)?;
        let raw: Option<Ttlv> = Field::take(&mut r, Tag::RESPONSE_PAYLOAD, ctx)?;
        let message_extension = Field::take(&mut r, Tag::MESSAGE_EXTENSION, ctx)?;
        r.finish()?;
        let payload = match (operation, raw) {
            (Some(op), Some(raw)) => Some(ResponsePayload::read(op, raw, ctx)?),
            (None, Some(raw)) => Some(ResponsePayload::Other(raw)),
            (_, None) => None,
        };
        Ok(ResponseBatchItem {
            operation,
            unique_batch_item_id,
            result_status,
            result_reason,
            result_message,
            asynchronous_correlation_value,
            payload,
            message_extension,
        })
    }
}

impl ToTtlv for ResponseBatchItem {
    fn to_ttlv(self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let mut c = Vec::with_capacity(5);
        self.operation.put(Tag::OPERATION, &mut c, ctx);
        self.unique_batch_item_id
            .put(Tag::UNIQUE_BATCH_ITEM_ID, &mut c, ctx);
        self.result_status.put(Tag::RESULT_STATUS, &mut c, ctx);
        self.result_reason.put(Tag::RESULT_REASON, &mut c, ctx);
        self.result_message.put(Tag::RESULT_MESSAGE, &mut c, ctx);
        self.asynchronous_correlation_value
            .put(Tag::ASYNCHRONOUS_CORRELATION_VALUE, &mut c, ctx);
        if let Some(p) = self.payload {
            c.push(p.write(ctx));
        }
        self.message_extension
            .put(Tag::MESSAGE_EXTENSION, &mut c, ctx);
        Ttlv::structure(tag, c)
    }
}

/// A response message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseMessage {
    /// The header.
    pub header: ResponseHeader,
    /// One result per request batch item.
    pub batch_items: Vec<ResponseBatchItem>,
}

impl ResponseMessage {
    /// The conversion context of this message (its protocol version).
    pub fn ctx(&self) -> Ctx {
        self.header.protocol_version.ctx()
    }

    /// Reads a response from a TTLV tree.
    pub fn from_ttlv(item: Ttlv) -> Result<Self, Error> {
        let (header, batch_items) = read_message(
            item,
            Tag::RESPONSE_MESSAGE,
            Tag::RESPONSE_HEADER,
            |h: &ResponseHeader| h.protocol_version.ctx(),
        )?;
        Ok(ResponseMessage {
            header,
            batch_items,
        })
    }

    /// Writes the response as a TTLV tree in the shapes of its protocol version.
    pub fn to_ttlv(self) -> Ttlv {
        let ctx = self.ctx();
        let mut c = Vec::with_capacity(1 + self.batch_items.len());
        self.header.put(Tag::RESPONSE_HEADER, &mut c, &ctx);
        self.batch_items.put(Tag::BATCH_ITEM, &mut c, &ctx);
        Ttlv::structure(Tag::RESPONSE_MESSAGE, c)
    }

    /// Decodes a binary TTLV response.
    pub fn decode(bytes: &[u8], limits: &binary::Limits) -> Result<Self, Error> {
        Self::from_ttlv(binary::decode(bytes, limits)?)
    }

    /// Encodes the response as binary TTLV.
    pub fn encode(self) -> Vec<u8> {
        binary::encode(&self.to_ttlv())
    }
}
