//! What the object operations share: finding the caller's object (another
//! tenant's object or a group the app is not in is indistinguishable from an
//! identifier that does not exist), sealing and opening its value, the
//! server-set attributes, the time-driven state transitions, and the Result
//! Reasons whose name differs between KMIP 1.x and 2.x.

use super::{Caller, Context, OpError};
use crate::access::Action;
use crate::ids::{GroupId, ObjectId};
use crate::keys::object_aad;
use crate::model::{ManagedObject, Timestamp};
use kmip::attributes::{Attribute, AttributeName, Attributes};
use kmip::enums::{ObjectType, ResultReason, State};
use kmip::objects::Object;
use kmip::typed::{Ctx, Field, StructReader};
use kmip::{Tag, Ttlv, Value};
use zeroize::Zeroizing;

/// The version in which objects are sealed (the object structure is the same in every version).
const SEAL_CTX: Ctx = Ctx::V2_1;

/// The one answer for an identifier the caller may not see, whatever the reason.
pub(super) fn not_found(v: &Ctx) -> OpError {
    let reason = if v.is_v2() {
        ResultReason::OBJECT_NOT_FOUND
    } else {
        ResultReason::ITEM_NOT_FOUND
    };
    OpError::new(reason, "no object with this Unique Identifier")
}

/// An operation the object's state does not allow (1.x Permission Denied, 2.x Wrong Key Lifecycle State).
pub(super) fn wrong_state(v: &Ctx, message: impl Into<String>) -> OpError {
    let reason = if v.is_v2() {
        ResultReason::WRONG_KEY_LIFECYCLE_STATE
    } else {
        ResultReason::PERMISSION_DENIED
    };
    OpError::new(reason, message)
}

/// A client tried to set an attribute only the server sets.
pub(super) fn read_only(v: &Ctx, name: &AttributeName) -> OpError {
    let reason = if v.is_v2() {
        ResultReason::ATTRIBUTE_READ_ONLY
    } else {
        ResultReason::PERMISSION_DENIED
    };
    OpError::new(reason, format!("{name} is set by the server only"))
}

/// A bad field of the request.
pub(super) fn invalid(message: impl Into<String>) -> OpError {
    OpError::new(ResultReason::INVALID_FIELD, message)
}

/// The identifier of a request (the ID Placeholder is filled in before the handler runs).
pub(super) fn uid(v: &Ctx, uid: Option<String>) -> Result<String, OpError> {
    uid.ok_or_else(|| {
        let _ = v;
        OpError::new(
            ResultReason::INVALID_MESSAGE,
            "no Unique Identifier and no ID Placeholder from an earlier batch item",
        )
    })
}

/// The caller's object `uid`, for `action`, with its time-driven state
/// transitions applied. An object the caller may not even see (another
/// account's, a group it has no part in) is not found; one it sees but may
/// not do `action` on is Permission Denied.
pub fn load(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    uid: &str,
    action: Action,
) -> Result<ManagedObject, OpError> {
    let id: ObjectId = uid.parse().map_err(|_| not_found(v))?;
    let mut obj = ctx
        .store
        .object(caller.account.id, id)?
        .ok_or_else(|| not_found(v))?;
    if obj.account != caller.account.id || !caller.may(Action::ViewObjects, obj.group) {
        return Err(not_found(v));
    }
    if !caller.may(action, obj.group) {
        return Err(denied(action));
    }
    apply_dates(&mut obj, ctx.now);
    Ok(obj)
}

/// The refusal of an action the caller's role does not allow.
pub(super) fn denied(action: Action) -> OpError {
    let what = match action {
        Action::ReadKeyMaterial => "read key material: only apps do",
        Action::UseKeys => "use keys: only apps do",
        Action::ManageObjects => "manage the objects of this group",
        _ => "do this",
    };
    OpError::new(
        ResultReason::PERMISSION_DENIED,
        format!("the caller may not {what}"),
    )
}

/// The group a new object of the caller goes to, if it is a group of the
/// caller's account that the caller sees (else not found, like a group that
/// does not exist) and the caller may manage objects there.
pub(super) fn target_group(ctx: &Context, caller: &Caller) -> Result<GroupId, OpError> {
    let group = caller
        .target_group
        .ok_or_else(|| invalid("name the group the new object goes to"))?;
    // An app's own groups are its account's by construction.
    let own = caller.as_app().is_some_and(|a| a.groups.contains(&group));
    let visible = caller.may(Action::ViewObjects, group)
        && (own || ctx.store.group(caller.account.id, group)?.is_some());
    if !visible {
        return Err(OpError {
            message: "no group with this id".into(),
            ..not_found(&Ctx::V2_1)
        });
    }
    if !caller.may(Action::ManageObjects, group) {
        return Err(denied(Action::ManageObjects));
    }
    Ok(group)
}

/// Writes a changed object, stamping its Last Change Date.
pub(super) fn save(ctx: &Context, obj: &mut ManagedObject) -> Result<(), OpError> {
    touch(obj, ctx.now);
    ctx.store.update_object(obj)?;
    Ok(())
}

/// Sets Last Change Date and the record's update time.
pub(super) fn touch(obj: &mut ManagedObject, now: Timestamp) {
    obj.attributes
        .set(Attribute::new(Tag::LAST_CHANGE_DATE, Value::DateTime(now)));
    obj.updated = now;
}

/// Sets the state in the record and in its State attribute.
pub(super) fn set_state(obj: &mut ManagedObject, state: State) {
    obj.state = state;
    obj.attributes
        .set(Attribute::new(Tag::STATE, Value::Enumeration(state.0)));
}

/// A Date-Time attribute of the object.
pub(super) fn date(attrs: &Attributes, tag: Tag) -> Option<i64> {
    match attrs.get_std(tag)? {
        Value::DateTime(d) => Some(*d),
        _ => None,
    }
}

/// KMIP 1.4 section 3.22, transitions 4 and 6 by date: Pre-Active becomes
/// Active once the Activation Date is reached; Active becomes Deactivated once
/// the Deactivation Date is reached.
pub fn apply_dates(obj: &mut ManagedObject, now: Timestamp) {
    if obj.state == State::PRE_ACTIVE
        && date(&obj.attributes, Tag::ACTIVATION_DATE).is_some_and(|d| d <= now)
    {
        set_state(obj, State::ACTIVE);
    }
    if obj.state == State::ACTIVE
        && date(&obj.attributes, Tag::DEACTIVATION_DATE).is_some_and(|d| d <= now)
    {
        set_state(obj, State::DEACTIVATED);
    }
}

/// True for the two destroyed states.
pub(super) fn is_destroyed(state: State) -> bool {
    state == State::DESTROYED || state == State::DESTROYED_COMPROMISED
}

/// Seals an object's value under the caller's account key, bound to the object.
pub(super) fn seal(
    ctx: &Context,
    caller: &Caller,
    id: ObjectId,
    object: Object,
) -> Result<Vec<u8>, OpError> {
    let mut items = Vec::with_capacity(1);
    object.put(Tag::SYMMETRIC_KEY, &mut items, &SEAL_CTX);
    let tree = Ttlv::structure(Tag::RESPONSE_PAYLOAD, items);
    let bytes = Zeroizing::new(kmip::binary::encode(&tree));
    let key = ctx.keyring.account_key(&caller.account)?;
    Ok(key.seal(&bytes, &object_aad(caller.account.id, id))?)
}

/// Opens an object's value.
pub(super) fn open(ctx: &Context, caller: &Caller, obj: &ManagedObject) -> Result<Object, OpError> {
    let sealed = obj.sealed.as_deref().ok_or_else(|| {
        OpError::new(
            ResultReason::KEY_VALUE_NOT_PRESENT,
            "the object holds no value",
        )
    })?;
    let key = ctx.keyring.account_key(&caller.account)?;
    let bytes = key.open(sealed, &object_aad(caller.account.id, obj.id))?;
    let corrupt = || {
        OpError::new(
            ResultReason::GENERAL_FAILURE,
            "a stored object is unreadable",
        )
    };
    let tree =
        kmip::binary::decode(&bytes, &kmip::binary::Limits::default()).map_err(|_| corrupt())?;
    let mut r = StructReader::new(tree).map_err(|_| corrupt())?;
    <Option<Object> as Field>::take(&mut r, Tag::SYMMETRIC_KEY, &SEAL_CTX)
        .ok()
        .flatten()
        .ok_or_else(corrupt)
}

/// A new object of the caller in `group`, with the server-set attributes
/// every object has (KMIP 1.4 sections 3.1, 3.3, 3.22, 3.23, 3.32).
pub(super) fn new_object(
    caller: &Caller,
    group: GroupId,
    object_type: ObjectType,
    mut attributes: Attributes,
    now: Timestamp,
) -> ManagedObject {
    let id = ObjectId::new();
    attributes.set(Attribute::new(
        Tag::UNIQUE_IDENTIFIER,
        Value::TextString(id.to_string()),
    ));
    attributes.set(Attribute::new(
        Tag::OBJECT_TYPE,
        Value::Enumeration(object_type.0),
    ));
    attributes.set(Attribute::new(Tag::INITIAL_DATE, Value::DateTime(now)));
    attributes.set(Attribute::new(
        Tag::ORIGINAL_CREATION_DATE,
        Value::DateTime(now),
    ));
    let mut obj = ManagedObject {
        id,
        account: caller.account.id,
        group,
        object_type,
        state: State::PRE_ACTIVE,
        attributes,
        sealed: None,
        created: now,
        updated: now,
        creator: caller.creator(),
    };
    set_state(&mut obj, State::PRE_ACTIVE);
    apply_dates(&mut obj, now);
    touch(&mut obj, now);
    obj
}

/// Attributes only the server sets: a client may neither add, modify nor delete them.
pub(super) fn is_server_only(name: &AttributeName) -> bool {
    matches!(
        name,
        AttributeName::Standard(
            Tag::UNIQUE_IDENTIFIER
                | Tag::OBJECT_TYPE
                | Tag::CRYPTOGRAPHIC_ALGORITHM
                | Tag::CRYPTOGRAPHIC_LENGTH
                | Tag::CERTIFICATE_TYPE
                | Tag::CERTIFICATE_LENGTH
                | Tag::DIGITAL_SIGNATURE_ALGORITHM
                | Tag::DIGEST
                | Tag::STATE
                | Tag::INITIAL_DATE
                | Tag::DESTROY_DATE
                | Tag::COMPROMISE_OCCURRENCE_DATE
                | Tag::COMPROMISE_DATE
                | Tag::REVOCATION_REASON
                | Tag::ARCHIVE_DATE
                | Tag::LAST_CHANGE_DATE
                | Tag::FRESH
                | Tag::ORIGINAL_CREATION_DATE
                | Tag::RANDOM_NUMBER_GENERATOR
                | Tag::ALWAYS_SENSITIVE
                | Tag::NEVER_EXTRACTABLE
                | Tag::KEY_VALUE_PRESENT
                | Tag::KEY_VALUE_LOCATION
                | Tag::LEASE_TIME
        )
    )
}

/// Attributes that may have several instances (KMIP 1.4 section 3; custom attributes too).
pub(super) fn is_multi_valued(name: &AttributeName) -> bool {
    match name {
        AttributeName::Vendor { .. } => true,
        AttributeName::Standard(t) => matches!(
            *t,
            Tag::NAME
                | Tag::LINK
                | Tag::OBJECT_GROUP
                | Tag::APPLICATION_SPECIFIC_INFORMATION
                | Tag::ALTERNATIVE_NAME
                | Tag::DIGEST
                | Tag::CRYPTOGRAPHIC_PARAMETERS
                | Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS
                | Tag::CONTACT_INFORMATION
                | Tag::X_509CERTIFICATE_IDENTIFIER
                | Tag::X_509CERTIFICATE_SUBJECT
                | Tag::X_509CERTIFICATE_ISSUER
                | Tag::CERTIFICATE_IDENTIFIER
                | Tag::CERTIFICATE_SUBJECT
                | Tag::CERTIFICATE_ISSUER
                | Tag::KEY_VALUE_LOCATION
        ),
    }
}

/// The first KMIP 1.x minor version that defines a standard attribute (0 for 1.0).
fn v1_minor_since(tag: Tag) -> i32 {
    match tag {
        Tag::FRESH
        | Tag::DIGITAL_SIGNATURE_ALGORITHM
        | Tag::CERTIFICATE_LENGTH
        | Tag::X_509CERTIFICATE_IDENTIFIER
        | Tag::X_509CERTIFICATE_SUBJECT
        | Tag::X_509CERTIFICATE_ISSUER => 1,
        Tag::ALTERNATIVE_NAME
        | Tag::KEY_VALUE_PRESENT
        | Tag::KEY_VALUE_LOCATION
        | Tag::ORIGINAL_CREATION_DATE => 2,
        Tag::RANDOM_NUMBER_GENERATOR => 3,
        Tag::PKCS_12FRIENDLY_NAME
        | Tag::DESCRIPTION
        | Tag::COMMENT
        | Tag::SENSITIVE
        | Tag::ALWAYS_SENSITIVE
        | Tag::EXTRACTABLE
        | Tag::NEVER_EXTRACTABLE => 4,
        _ => 0,
    }
}

/// True when a client of version `v` can decode attribute `name` (never send it otherwise).
pub fn visible_in(name: &AttributeName, v: &Ctx) -> bool {
    let AttributeName::Standard(tag) = name else {
        return true;
    };
    let info = kmip::tables::tag_info(*tag);
    if v.is_v2() {
        info.is_none_or(|i| i.in_v2)
    } else {
        info.is_none_or(|i| i.in_v1) && v.minor >= v1_minor_since(*tag)
    }
}

/// The attribute as a response carries it: the 1.x index only for a second or later instance.
pub(super) fn with_index(mut a: Attribute, index: usize) -> Attribute {
    a.index = (index > 0).then_some(index as i32);
    a
}
