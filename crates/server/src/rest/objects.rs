//! Security objects over REST: list with filters and paging, detail, create,
//! import, activate, revoke, destroy, rotate and move between groups. Each
//! change runs the KMIP operation's own handler ([`ops::run`]) as the
//! signed-in user or app, so the rules are KMIP's and the access checks are
//! [`skms_core::access::allowed`]'s. Nothing here ever answers key material.

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::observe::Acting;
use super::{blocking, now, ApiError, ApiResult, Principal, RestState};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use kmip::attributes::{Attribute, AttributeName, Attributes};
use kmip::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, NameType, ObjectType,
    RevocationReasonCode, SecretDataType, State as KmipState,
};
use kmip::objects::{KeyBlock, KeyMaterial, KeyValue, Object, PlainKeyValue, SecretData};
use kmip::payloads::{
    ActivateRequest, CreateRequest, DestroyRequest, ReKeyRequest, RegisterRequest, RequestPayload,
    RevocationReason, RevokeRequest,
};
use kmip::typed::{Ctx, DateTime};
use kmip::{Bytes, Tag, Ttlv, Value};
use serde::{Deserialize, Serialize};
use skms_core::ids::{AppId, GroupId, ObjectId};
use skms_core::model::ManagedObject;
use skms_core::ops::{self, manage, Caller, Context, OpError};
use skms_core::store::{DateRange, IndexedValue, ObjectFilter, ObjectSort, SortKey};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

/// The routes of this module, each with its documentation.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(list_objects, create_object))
        .routes(routes!(import_object))
        .routes(routes!(show_object))
        .routes(routes!(activate_object))
        .routes(routes!(revoke_object))
        .routes(routes!(destroy_object))
        .routes(routes!(rotate_object))
        .routes(routes!(move_object))
}

/// A security object's metadata (never its value).
#[derive(Serialize, ToSchema)]
pub(super) struct ObjectView {
    /// Its KMIP Unique Identifier.
    #[schema(format = Uuid)]
    id: String,
    /// KMIP Object Type (`SymmetricKey`, `SecretData`, …).
    object_type: String,
    /// Its first Name, if it has one.
    name: Option<String>,
    /// KMIP Cryptographic Algorithm (`AES`, …), for keys.
    algorithm: Option<String>,
    /// Cryptographic Length in bits, for keys.
    length: Option<i32>,
    /// KMIP State (`PreActive`, `Active`, `Deactivated`, `Compromised`, `Destroyed`, `DestroyedCompromised`).
    state: String,
    /// The id of its group.
    #[schema(format = Uuid)]
    group: String,
    /// The id of the app that created it (none when a user did).
    creator: Option<String>,
    /// When it was created, in seconds since the Unix epoch.
    created: i64,
    /// When it last changed, in seconds since the Unix epoch.
    updated: i64,
    /// Its Activation Date, in seconds since the Unix epoch.
    activation_date: Option<i64>,
    /// Its Deactivation Date, in seconds since the Unix epoch.
    deactivation_date: Option<i64>,
    /// Its custom attributes with a text or number value, such as vCenter's
    /// `x-Name` (the VM), `x-Component` and `x-Identifier`.
    tags: BTreeMap<String, String>,
}

impl From<&ManagedObject> for ObjectView {
    fn from(o: &ManagedObject) -> Self {
        let date = |tag| match o.attributes.get_std(tag) {
            Some(Value::DateTime(d)) => Some(*d),
            _ => None,
        };
        let mut tags = BTreeMap::new();
        for a in &o.attributes.items {
            if let AttributeName::Vendor { .. } = a.name {
                let text = match &a.value {
                    Value::TextString(t) => t.clone(),
                    Value::Integer(i) => i.to_string(),
                    Value::LongInteger(i) => i.to_string(),
                    Value::Enumeration(e) => e.to_string(),
                    _ => continue,
                };
                // The first instance of a custom attribute names the object.
                tags.entry(a.name.to_v1()).or_insert(text);
            }
        }
        ObjectView {
            id: o.id.to_string(),
            object_type: enum_text(o.object_type.name(), o.object_type.0),
            name: o
                .attributes
                .names(&Ctx::V2_1)
                .into_iter()
                .next()
                .map(|n| n.name_value),
            algorithm: o
                .attributes
                .cryptographic_algorithm()
                .map(|a| enum_text(a.name(), a.0)),
            length: o.attributes.cryptographic_length(),
            state: enum_text(o.state.name(), o.state.0),
            group: o.group.to_string(),
            creator: o.creator.map(|c| c.to_string()),
            created: o.created,
            updated: o.updated,
            activation_date: date(Tag::ACTIVATION_DATE),
            deactivation_date: date(Tag::DEACTIVATION_DATE),
            tags,
        }
    }
}

/// An enumeration value's specification name, or its number in hex.
fn enum_text(name: Option<&str>, value: u32) -> String {
    name.map_or_else(|| format!("0x{value:08X}"), str::to_string)
}

/// One attribute instance, its value in the KMIP JSON encoding.
#[derive(Serialize, ToSchema)]
pub(super) struct AttributeView {
    /// The attribute's KMIP 1.x name (`Cryptographic Algorithm`, `x-Name`).
    name: String,
    /// Its KMIP item type (`TextString`, `Enumeration`, `Structure`…).
    #[serde(rename = "type")]
    item_type: Option<String>,
    /// Its value as the KMIP JSON encoding writes it (enumerations by name, a
    /// structure as the list of its fields).
    value: serde_json::Value,
}

impl From<&Attribute> for AttributeView {
    fn from(a: &Attribute) -> Self {
        let tag = match a.name {
            AttributeName::Standard(t) => t,
            AttributeName::Vendor { .. } => Tag::ATTRIBUTE_VALUE,
        };
        let item = Ttlv::new(tag, a.value.clone());
        let mut json: serde_json::Value =
            serde_json::from_str(&kmip::json::to_string(&item)).unwrap_or_default();
        AttributeView {
            name: a.name.to_v1(),
            item_type: json["type"].as_str().map(str::to_string),
            value: json["value"].take(),
        }
    }
}

/// A security object with every attribute.
#[derive(Serialize, ToSchema)]
pub(super) struct ObjectDetail {
    /// Its metadata.
    object: ObjectView,
    /// Every attribute, as KMIP Get Attributes answers them.
    attributes: Vec<AttributeView>,
}

/// One page of a listing.
#[derive(Serialize, ToSchema)]
pub(super) struct ObjectPage {
    /// The objects of this page.
    objects: Vec<ObjectView>,
    /// How many objects match in all.
    total: u64,
    /// Pass as `after` for the next page; absent on the last page.
    #[schema(format = Uuid)]
    next: Option<String>,
}

/// What objects are ordered by.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum SortName {
    /// Creation time (the default).
    Created,
    /// Time of the last change.
    Updated,
    /// Name.
    Name,
}

/// Order.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Order {
    /// Smallest first (the default).
    Asc,
    /// Largest first.
    Desc,
}

/// Filters and paging of `GET /v1/objects`. A parameter named like a custom
/// attribute (`x-Name=vm-01`, `x-Component=…`) keeps the objects with that
/// attribute value; any other unknown parameter is refused.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Objects with a Name of exactly this text.
    name: Option<String>,
    /// KMIP Object Type name (`SymmetricKey`, `SecretData`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    object_type: Option<String>,
    /// KMIP Cryptographic Algorithm name (`AES`, …).
    algorithm: Option<String>,
    /// Cryptographic Length in bits.
    length: Option<i32>,
    /// KMIP State name (`PreActive`, `Active`, `Deactivated`, `Compromised`, `Destroyed`…).
    state: Option<String>,
    /// Only objects of this group.
    #[param(format = Uuid)]
    group: Option<String>,
    /// Only objects this app created.
    #[param(format = Uuid)]
    creator: Option<String>,
    /// Created at or after (seconds since the Unix epoch).
    created_from: Option<i64>,
    /// Created at or before (seconds since the Unix epoch).
    created_to: Option<i64>,
    /// Changed at or after (seconds since the Unix epoch).
    updated_from: Option<i64>,
    /// Changed at or before (seconds since the Unix epoch).
    updated_to: Option<i64>,
    /// Order by (default `created`).
    #[param(inline)]
    sort: Option<SortName>,
    /// Ascending (default) or descending.
    #[param(inline)]
    order: Option<Order>,
    /// At most this many (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// The `next` of the previous page.
    #[param(format = Uuid)]
    after: Option<String>,
}

/// The query parameters [`ListQuery`] names.
const LIST_PARAMS: &[&str] = &[
    "name",
    "type",
    "algorithm",
    "length",
    "state",
    "group",
    "creator",
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
    "sort",
    "order",
    "limit",
    "after",
];

/// The value of KMIP enumeration `what` named `text`.
fn enum_value(def: &kmip::tables::EnumDef, what: &str, text: &str) -> ApiResult<u32> {
    def.value_of(text.trim()).ok_or_else(|| {
        let examples: Vec<&str> = def.by_value.iter().take(6).map(|(_, n)| *n).collect();
        ApiError::bad(format!(
            "{what} {text:?} is not a KMIP {} name (such as {})",
            def.name,
            examples.join(", ")
        ))
    })
}

/// An id of the API (`what` names it in the error).
fn parse_id<T: std::str::FromStr>(what: &str, text: &str) -> ApiResult<T> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::bad(format!("{what} {text:?} is not a UUID")))
}

/// A custom attribute name a client may set or filter by: `x-` and 1 to 128 characters.
fn custom_name(name: &str) -> ApiResult<AttributeName> {
    let ok = name.len() <= 130
        && name.len() > 2
        && name.starts_with("x-")
        && !name.chars().any(char::is_control);
    if !ok {
        return Err(ApiError::bad(format!(
            "{name:?} is not a custom attribute name: `x-` and 1 to 128 characters"
        )));
    }
    Ok(AttributeName::from_v1(name))
}

impl ListQuery {
    /// The store filter of this query and the custom-attribute parameters of `raw`.
    fn filter(&self, raw: Option<&str>) -> ApiResult<ObjectFilter> {
        let mut filter = ObjectFilter {
            name: self.name.clone(),
            length: self.length,
            created: DateRange {
                from: self.created_from,
                to: self.created_to,
            },
            updated: DateRange {
                from: self.updated_from,
                to: self.updated_to,
            },
            sort: ObjectSort {
                key: match self.sort {
                    None | Some(SortName::Created) => SortKey::Created,
                    Some(SortName::Updated) => SortKey::Updated,
                    Some(SortName::Name) => SortKey::Name,
                },
                descending: matches!(self.order, Some(Order::Desc)),
            },
            limit: self.limit,
            ..Default::default()
        };
        if let Some(t) = &self.object_type {
            filter.object_type = Some(ObjectType(enum_value(ObjectType::def(), "type", t)?));
        }
        if let Some(a) = &self.algorithm {
            filter.algorithm = Some(CryptographicAlgorithm(enum_value(
                CryptographicAlgorithm::def(),
                "algorithm",
                a,
            )?));
        }
        if let Some(s) = &self.state {
            filter.state = Some(KmipState(enum_value(KmipState::def(), "state", s)?));
        }
        if let Some(g) = &self.group {
            filter.groups = vec![parse_id::<GroupId>("group", g)?];
        }
        if let Some(c) = &self.creator {
            filter.creator = Some(parse_id::<AppId>("creator", c)?);
        }
        if let Some(a) = &self.after {
            filter.after = Some(parse_id::<ObjectId>("after", a)?);
        }
        if self
            .limit
            .is_some_and(|l| !(1..=manage::MAX_PAGE).contains(&l))
        {
            return Err(ApiError::bad(format!(
                "limit must be 1 to {}",
                manage::MAX_PAGE
            )));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad(format!("unreadable query string: {e}")))?;
        for (key, value) in pairs {
            if LIST_PARAMS.contains(&key.as_str()) {
                continue;
            }
            if !key.starts_with("x-") {
                return Err(ApiError::bad(format!(
                    "unknown query parameter {key:?}: filter by {} or a custom attribute (`x-Name=…`)",
                    LIST_PARAMS.join(", ")
                )));
            }
            filter
                .attributes
                .push((custom_name(&key)?, IndexedValue::Text(value)));
        }
        Ok(filter)
    }
}

/// The caller a principal acts as on objects: an app as itself, a user of
/// an account with its group roles. A sysadmin never sees an account's objects.
async fn caller(state: &Arc<RestState>, principal: Principal) -> ApiResult<Caller> {
    let user = match principal {
        Principal::App(c) => return Ok(*c),
        Principal::User(u) => u,
    };
    let Some(account_id) = user.account else {
        return Err(ApiError::forbidden(
            "a sysadmin never sees or manages an account's objects",
        ));
    };
    let shared = state.shared.clone();
    blocking(move || {
        let account = shared
            .store
            .account(account_id)?
            .ok_or_else(|| ApiError::forbidden("your account no longer exists"))?;
        let roles = shared.store.user_group_roles(user.id)?;
        Ok(Caller::user(user, &roles, account))
    })
    .await
}

/// The HTTP answer of a failed operation.
impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        use kmip::enums::ResultReason as R;
        match e.reason {
            R::ITEM_NOT_FOUND | R::OBJECT_NOT_FOUND => ApiError::not_found_message(e.message),
            R::PERMISSION_DENIED => ApiError::forbidden(e.message),
            R::WRONG_KEY_LIFECYCLE_STATE
            | R::KEY_VALUE_NOT_PRESENT
            | R::OBJECT_ALREADY_EXISTS
            | R::ILLEGAL_OPERATION => ApiError::conflict(e.message),
            R::GENERAL_FAILURE | R::CRYPTOGRAPHIC_FAILURE => ApiError::internal(e.message),
            _ => ApiError::bad(e.message),
        }
    }
}

/// Runs `f` with an operation context, off the async threads.
async fn with_ctx<T: Send + 'static>(
    state: &Arc<RestState>,
    f: impl FnOnce(&Context) -> Result<T, OpError> + Send + 'static,
) -> ApiResult<T> {
    let shared = state.shared.clone();
    blocking(move || {
        let ctx = Context {
            store: &*shared.store,
            keyring: &shared.keyring,
            now: now(),
            server: &shared.server_info,
        };
        Ok(f(&ctx)?)
    })
    .await
}

/// Runs `request` as `caller`, then answers the object it names.
fn run_then_view(
    ctx: &Context,
    caller: &Caller,
    request: RequestPayload,
) -> Result<(ManagedObject, String), OpError> {
    let response = ops::run(ctx, caller, request)?;
    let id = ops::placeholder_of(&response).unwrap_or_default();
    Ok((manage::describe(ctx, caller, &id)?, id))
}

/// List the security objects the caller may see, with filters and keyset paging.
#[utoipa::path(
    get,
    path = "/v1/objects",
    tag = "objects",
    security(("basic" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of objects (metadata only)", body = ObjectPage),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A sysadmin", body = ErrorBody),
        (status = 404, description = "`after` is not an object of the account", body = ErrorBody),
    )
)]
async fn list_objects(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiQuery(query): ApiQuery<ListQuery>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ObjectPage>> {
    let filter = query.filter(raw.as_deref())?;
    let caller = caller(&state, principal).await?;
    let page = with_ctx(&state, move |ctx| manage::list(ctx, &caller, filter)).await?;
    Ok(Json(ObjectPage {
        objects: page.objects.iter().map(ObjectView::from).collect(),
        total: page.total,
        next: page.next.map(|n| n.to_string()),
    }))
}

/// One security object with every attribute (never its value).
#[utoipa::path(
    get,
    path = "/v1/objects/{object}",
    tag = "objects",
    security(("basic" = [])),
    params(("object" = uuid::Uuid, Path, description = "The object's Unique Identifier")),
    responses(
        (status = 200, description = "The object", body = ObjectDetail),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A sysadmin", body = ErrorBody),
        (status = 404, description = "No such object the caller may see", body = ErrorBody),
    )
)]
async fn show_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(object): ApiPath<String>,
) -> ApiResult<Json<ObjectDetail>> {
    let caller = caller(&state, principal).await?;
    let obj = with_ctx(&state, move |ctx| manage::describe(ctx, &caller, &object)).await?;
    Ok(Json(ObjectDetail {
        object: ObjectView::from(&obj),
        attributes: obj
            .attributes
            .items
            .iter()
            .map(AttributeView::from)
            .collect(),
    }))
}

/// A new key (`POST /v1/objects`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewObject {
    /// The group it goes to (an app: default its default group; a user must name one).
    #[schema(format = Uuid)]
    group: Option<String>,
    /// Its Name.
    name: Option<String>,
    /// KMIP Cryptographic Algorithm name (`AES`, `ChaCha20`, `HMAC_SHA256`, …).
    algorithm: String,
    /// Length in bits (`256` for AES-256).
    length: i32,
    /// KMIP Cryptographic Usage Mask names (default `Encrypt`, `Decrypt`).
    usage: Option<Vec<String>>,
    /// Custom attributes, names starting with `x-` (`{"x-Name": "vm-01"}`).
    attributes: Option<BTreeMap<String, String>>,
}

/// The attributes every new object of the REST API may be given: a Name and custom attributes.
fn naming_attributes(
    name: Option<&str>,
    custom: Option<&BTreeMap<String, String>>,
) -> ApiResult<Attributes> {
    let mut attrs = Attributes::default();
    if let Some(n) = name {
        if n.trim().is_empty() || n.len() > 512 || n.chars().any(char::is_control) {
            return Err(ApiError::bad(
                "name must be 1 to 512 bytes of text without control characters",
            ));
        }
        attrs.push(Attribute::typed(
            Tag::NAME,
            kmip::objects::Name {
                name_value: n.to_string(),
                name_type: NameType::UNINTERPRETED_TEXT_STRING,
            },
            &Ctx::V2_1,
        ));
    }
    for (k, v) in custom.into_iter().flatten() {
        if v.len() > 4096 {
            return Err(ApiError::bad(format!(
                "the value of {k} is over 4096 bytes"
            )));
        }
        attrs.push(Attribute {
            name: custom_name(k)?,
            index: None,
            value: Value::TextString(v.clone()),
        });
    }
    Ok(attrs)
}

/// The caller, putting new objects in the group `group` names (if any).
fn in_group(caller: Caller, group: Option<&str>) -> ApiResult<Caller> {
    Ok(match group {
        Some(g) => caller.in_group(parse_id("group", g)?),
        None => caller,
    })
}

/// Records, for the audit log, the object a request made.
fn made(acting: Option<Extension<Acting>>, id: &str) {
    if let Some(Extension(a)) = acting {
        a.set_object(id.to_string());
    }
}

/// Create a key in a group: KMIP Create, as the caller.
#[utoipa::path(
    post,
    path = "/v1/objects",
    tag = "objects",
    security(("basic" = [])),
    request_body = NewObject,
    responses(
        (status = 201, description = "The new key (Pre-Active)", body = ObjectView),
        (status = 400, description = "A bad body, algorithm or length; no group named", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage objects of the group", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn create_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    acting: Option<Extension<Acting>>,
    ApiJson(body): ApiJson<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectView>)> {
    let mut attrs = naming_attributes(body.name.as_deref(), body.attributes.as_ref())?;
    let alg = enum_value(CryptographicAlgorithm::def(), "algorithm", &body.algorithm)?;
    attrs.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_ALGORITHM,
        Value::Enumeration(alg),
    ));
    attrs.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_LENGTH,
        Value::Integer(body.length),
    ));
    let mut mask = 0;
    for u in body
        .usage
        .clone()
        .unwrap_or_else(|| vec!["Encrypt".into(), "Decrypt".into()])
    {
        mask |= enum_value(CryptographicUsageMask::def(), "usage", &u)?;
    }
    attrs.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        Value::Integer(mask as i32),
    ));
    let caller = in_group(caller(&state, principal).await?, body.group.as_deref())?;
    let request = RequestPayload::Create(Box::new(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: attrs,
        protection_storage_masks: None,
    }));
    let (obj, id) = with_ctx(&state, move |ctx| run_then_view(ctx, &caller, request)).await?;
    made(acting, &id);
    Ok((StatusCode::CREATED, Json(ObjectView::from(&obj))))
}

/// What an imported object is.
#[derive(Clone, Copy, Deserialize, ToSchema)]
pub(super) enum ImportType {
    /// A symmetric key (raw bytes).
    SymmetricKey,
    /// A secret: a password or a seed (raw bytes).
    SecretData,
}

/// A key or secret brought by its owner (`POST /v1/objects/import`): BYOK.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportObject {
    /// What it is.
    #[serde(rename = "type")]
    object_type: ImportType,
    /// The group it goes to (an app: default its default group; a user must name one).
    #[schema(format = Uuid)]
    group: Option<String>,
    /// Its Name.
    name: Option<String>,
    /// KMIP Cryptographic Algorithm name, for a symmetric key (`AES`…).
    algorithm: Option<String>,
    /// The raw bytes, in standard base64 (wiped from memory once read).
    material: String,
    /// Custom attributes, names starting with `x-`.
    attributes: Option<BTreeMap<String, String>>,
}

impl Drop for ImportObject {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.material);
    }
}

/// Import a key or secret (KMIP Register, as the caller).
#[utoipa::path(
    post,
    path = "/v1/objects/import",
    tag = "objects",
    security(("basic" = [])),
    request_body = ImportObject,
    responses(
        (status = 201, description = "The imported object (Pre-Active)", body = ObjectView),
        (status = 400, description = "A bad body, material or algorithm", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage objects of the group", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn import_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    acting: Option<Extension<Acting>>,
    ApiJson(body): ApiJson<ImportObject>,
) -> ApiResult<(StatusCode, Json<ObjectView>)> {
    use base64::Engine as _;
    let material = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(body.material.trim())
            .map_err(|_| ApiError::bad("material is not standard base64"))?,
    );
    if material.is_empty() || material.len() > 64 * 1024 {
        return Err(ApiError::bad("material must be 1 byte to 64 KiB"));
    }
    let bits = i32::try_from(material.len() * 8).unwrap_or(i32::MAX);
    let mut attrs = naming_attributes(body.name.as_deref(), body.attributes.as_ref())?;
    let value = |alg: Option<CryptographicAlgorithm>, format| KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::Plain(PlainKeyValue {
            key_material: KeyMaterial::Bytes(Bytes::from(&material[..])),
            attributes: Default::default(),
        })),
        cryptographic_algorithm: alg,
        cryptographic_length: alg.map(|_| bits),
        key_wrapping_data: None,
    };
    let (object_type, object) = match body.object_type {
        ImportType::SymmetricKey => {
            let Some(a) = &body.algorithm else {
                return Err(ApiError::bad(
                    "a symmetric key needs its algorithm (`AES`…)",
                ));
            };
            let alg =
                CryptographicAlgorithm(enum_value(CryptographicAlgorithm::def(), "algorithm", a)?);
            attrs.push(Attribute::new(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                Value::Integer(
                    (CryptographicUsageMask::ENCRYPT.0 | CryptographicUsageMask::DECRYPT.0) as i32,
                ),
            ));
            (
                ObjectType::SYMMETRIC_KEY,
                Object::SymmetricKey(kmip::objects::SymmetricKey {
                    key_block: value(Some(alg), KeyFormatType::RAW),
                }),
            )
        }
        ImportType::SecretData => {
            if body.algorithm.is_some() {
                return Err(ApiError::bad("a secret has no algorithm"));
            }
            (
                ObjectType::SECRET_DATA,
                Object::SecretData(SecretData {
                    secret_data_type: SecretDataType::PASSWORD,
                    key_block: value(None, KeyFormatType::OPAQUE),
                }),
            )
        }
    };
    let caller = in_group(caller(&state, principal).await?, body.group.as_deref())?;
    let request = RequestPayload::Register(Box::new(RegisterRequest {
        object_type,
        attributes: attrs,
        object,
        protection_storage_masks: None,
    }));
    let (obj, id) = with_ctx(&state, move |ctx| run_then_view(ctx, &caller, request)).await?;
    made(acting, &id);
    Ok((StatusCode::CREATED, Json(ObjectView::from(&obj))))
}

/// Runs the lifecycle operation `request` on `object` and answers the object afterwards.
async fn lifecycle(
    state: &Arc<RestState>,
    principal: Principal,
    request: RequestPayload,
) -> ApiResult<Json<ObjectView>> {
    let caller = caller(state, principal).await?;
    let (obj, _) = with_ctx(state, move |ctx| run_then_view(ctx, &caller, request)).await?;
    Ok(Json(ObjectView::from(&obj)))
}

/// Activate an object (KMIP Activate).
#[utoipa::path(
    post,
    path = "/v1/objects/{object}/activate",
    tag = "objects",
    security(("basic" = [])),
    params(("object" = uuid::Uuid, Path, description = "The object's Unique Identifier")),
    responses(
        (status = 200, description = "The object, Active", body = ObjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage this object", body = ErrorBody),
        (status = 404, description = "No such object the caller may see", body = ErrorBody),
        (status = 409, description = "The object is not Pre-Active", body = ErrorBody),
    )
)]
async fn activate_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(object): ApiPath<String>,
) -> ApiResult<Json<ObjectView>> {
    let request = RequestPayload::Activate(Box::new(ActivateRequest {
        unique_identifier: Some(object),
    }));
    lifecycle(&state, principal, request).await
}

/// Why an object is revoked (`POST /v1/objects/{object}/revoke`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeBody {
    /// KMIP Revocation Reason Code name (`Unspecified`, `KeyCompromise`,
    /// `CACompromise`, `AffiliationChanged`, `Superseded`, `CessationOfOperation`, `PrivilegeWithdrawn`).
    reason: String,
    /// A message for a person.
    message: Option<String>,
    /// For a compromise: when it happened (seconds since the Unix epoch; default now).
    compromise_date: Option<i64>,
}

/// Revoke an object (KMIP Revoke): Deactivated, or Compromised for a compromise.
#[utoipa::path(
    post,
    path = "/v1/objects/{object}/revoke",
    tag = "objects",
    security(("basic" = [])),
    params(("object" = uuid::Uuid, Path, description = "The object's Unique Identifier")),
    request_body = RevokeBody,
    responses(
        (status = 200, description = "The object afterwards", body = ObjectView),
        (status = 400, description = "A bad body or reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage this object", body = ErrorBody),
        (status = 404, description = "No such object the caller may see", body = ErrorBody),
        (status = 409, description = "The object's state does not allow it", body = ErrorBody),
    )
)]
async fn revoke_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(object): ApiPath<String>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> ApiResult<Json<ObjectView>> {
    let code = RevocationReasonCode(enum_value(
        RevocationReasonCode::def(),
        "reason",
        &body.reason,
    )?);
    let compromise =
        code == RevocationReasonCode::KEY_COMPROMISE || code == RevocationReasonCode::CA_COMPROMISE;
    if body.compromise_date.is_some() && !compromise {
        return Err(ApiError::bad(
            "compromise_date goes only with KeyCompromise or CACompromise",
        ));
    }
    let request = RequestPayload::Revoke(Box::new(RevokeRequest {
        unique_identifier: Some(object),
        revocation_reason: RevocationReason {
            revocation_reason_code: code,
            revocation_message: body.message,
        },
        compromise_occurrence_date: compromise
            .then(|| DateTime(body.compromise_date.unwrap_or_else(now))),
    }));
    lifecycle(&state, principal, request).await
}

/// Destroy an object's value (KMIP Destroy); its metadata stays, Destroyed.
#[utoipa::path(
    post,
    path = "/v1/objects/{object}/destroy",
    tag = "objects",
    security(("basic" = [])),
    params(("object" = uuid::Uuid, Path, description = "The object's Unique Identifier")),
    responses(
        (status = 200, description = "The object, Destroyed", body = ObjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage this object", body = ErrorBody),
        (status = 404, description = "No such object the caller may see", body = ErrorBody),
        (status = 409, description = "The object is Active: revoke it first", body = ErrorBody),
    )
)]
async fn destroy_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(object): ApiPath<String>,
) -> ApiResult<Json<ObjectView>> {
    let request = RequestPayload::Destroy(Box::new(DestroyRequest {
        unique_identifier: Some(object),
    }));
    lifecycle(&state, principal, request).await
}

/// Rotate a key (KMIP Re-key): a new key replaces it, in the same group,
/// with its names and attributes; the old one links to it.
#[utoipa::path(
    post,
    path = "/v1/objects/{object}/rotate",
    tag = "objects",
    security(("basic" = [])),
    params(("object" = uuid::Uuid, Path, description = "The key's Unique Identifier")),
    responses(
        (status = 201, description = "The replacement key", body = ObjectView),
        (status = 400, description = "Not a symmetric key", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage this object", body = ErrorBody),
        (status = 404, description = "No such object the caller may see", body = ErrorBody),
        (status = 409, description = "The key is destroyed", body = ErrorBody),
    )
)]
async fn rotate_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    acting: Option<Extension<Acting>>,
    ApiPath(object): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<ObjectView>)> {
    let caller = caller(&state, principal).await?;
    let request = RequestPayload::ReKey(Box::new(ReKeyRequest {
        unique_identifier: Some(object),
        offset: None,
        attributes: None,
        protection_storage_masks: None,
    }));
    let (obj, id) = with_ctx(&state, move |ctx| run_then_view(ctx, &caller, request)).await?;
    made(acting, &id);
    Ok((StatusCode::CREATED, Json(ObjectView::from(&obj))))
}

/// Where an object moves (`PUT /v1/objects/{object}/group`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MoveBody {
    /// The id of the group of the same account.
    #[schema(format = Uuid)]
    group: String,
}

/// Move an object to another group of the account: the caller must manage
/// objects in both.
#[utoipa::path(
    put,
    path = "/v1/objects/{object}/group",
    tag = "objects",
    security(("basic" = [])),
    params(("object" = uuid::Uuid, Path, description = "The object's Unique Identifier")),
    request_body = MoveBody,
    responses(
        (status = 200, description = "The object in its new group", body = ObjectView),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not manage objects of one of the groups", body = ErrorBody),
        (status = 404, description = "No such object or group the caller may see", body = ErrorBody),
    )
)]
async fn move_object(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(object): ApiPath<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> ApiResult<Json<ObjectView>> {
    let group: GroupId = parse_id("group", &body.group)?;
    let caller = caller(&state, principal).await?;
    let obj = with_ctx(&state, move |ctx| {
        manage::move_to_group(ctx, &caller, &object, group)
    })
    .await?;
    Ok(Json(ObjectView::from(&obj)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_names_are_checked() {
        assert!(custom_name("x-Name").is_ok());
        assert!(custom_name("x-").is_err());
        assert!(custom_name("Name").is_err());
        assert!(custom_name("x-a\nb").is_err());
        assert!(custom_name(&format!("x-{}", "a".repeat(200))).is_err());
    }

    #[test]
    fn unknown_query_parameters_are_refused() {
        let q = ListQuery {
            name: None,
            object_type: None,
            algorithm: None,
            length: None,
            state: None,
            group: None,
            creator: None,
            created_from: None,
            created_to: None,
            updated_from: None,
            updated_to: None,
            sort: None,
            order: None,
            limit: None,
            after: None,
        };
        assert!(q.filter(Some("nmae=k")).is_err());
        let f = q.filter(Some("x-Name=vm-01&limit=5")).unwrap();
        assert_eq!(
            f.attributes,
            vec![(
                AttributeName::from_v1("x-Name"),
                IndexedValue::Text("vm-01".into())
            )]
        );
    }
}
