//! Get Attributes, Get Attribute List, Add, Modify, Delete and Set Attribute.
//! Only attributes the request's version can decode are ever returned; an
//! attribute the object lacks is simply not returned (vCenter relies on it).

use super::object::{
    self, is_multi_valued, is_server_only, read_only, set_state, uid, visible_in, with_index,
    wrong_state,
};
use super::{Caller, Context, OpError};
use crate::access::Action;
use crate::model::ManagedObject;
use kmip::attributes::{
    Attribute, AttributeName, AttributeReference, Attributes, InlineAttributes, Wrapped,
};
use kmip::enums::{ResultReason, State};
use kmip::payloads::*;
use kmip::typed::Ctx;
use kmip::{Tag, Value};

/// The instances of `name`, each with its 1.x index.
fn instances<'a>(
    attrs: &'a Attributes,
    name: &'a AttributeName,
) -> impl Iterator<Item = Attribute> + 'a {
    attrs
        .get_all(name)
        .enumerate()
        .map(|(i, a)| with_index(a.clone(), i))
}

/// Get Attributes: the named attributes (all of them when none is named).
pub fn get_attributes(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: GetAttributesRequest,
) -> Result<GetAttributesResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let obj = object::load(ctx, caller, v, &uid, Action::ViewObjects)?;
    let mut out = Vec::new();
    if req.attribute_reference.is_empty() {
        let mut seen: Vec<&AttributeName> = Vec::new();
        for a in &obj.attributes.items {
            if !seen.contains(&&a.name) && visible_in(&a.name, v) {
                seen.push(&a.name);
                out.extend(instances(&obj.attributes, &a.name));
            }
        }
    } else {
        for (i, AttributeReference(name)) in req.attribute_reference.iter().enumerate() {
            if req.attribute_reference[..i].iter().any(|r| r.0 == *name) {
                return Err(OpError::new(
                    ResultReason::INVALID_MESSAGE,
                    format!("{name} is asked for more than once"),
                ));
            }
            if visible_in(name, v) {
                out.extend(instances(&obj.attributes, name));
            }
        }
    }
    Ok(GetAttributesResponse {
        unique_identifier: uid,
        attributes: InlineAttributes(Some(Attributes::new(out))),
    })
}

/// Get Attribute List: the names of the attributes the object has.
pub fn get_attribute_list(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: GetAttributeListRequest,
) -> Result<GetAttributeListResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let obj = object::load(ctx, caller, v, &uid, Action::ViewObjects)?;
    let mut names: Vec<AttributeReference> = Vec::new();
    for a in &obj.attributes.items {
        if visible_in(&a.name, v) && !names.iter().any(|n| n.0 == a.name) {
            names.push(AttributeReference(a.name.clone()));
        }
    }
    Ok(GetAttributeListResponse {
        unique_identifier: uid,
        attribute_reference: names,
    })
}

/// Applies the state rules of the dates a client may set (KMIP 1.4 sections
/// 3.22, 3.24 and 3.27): Activation Date only while Pre-Active, Deactivation
/// Date only before Deactivated; a date already reached moves the state on.
fn check_date_change(obj: &ManagedObject, v: &Ctx, a: &Attribute) -> Result<(), OpError> {
    match a.name {
        AttributeName::Standard(Tag::ACTIVATION_DATE) if obj.state != State::PRE_ACTIVE => {
            Err(wrong_state(
                v,
                "the Activation Date can change only while the object is Pre-Active",
            ))
        }
        AttributeName::Standard(Tag::DEACTIVATION_DATE)
            if obj.state != State::PRE_ACTIVE && obj.state != State::ACTIVE =>
        {
            Err(wrong_state(
                v,
                "the Deactivation Date can change only while the object is Pre-Active or Active",
            ))
        }
        AttributeName::Standard(t @ (Tag::ACTIVATION_DATE | Tag::DEACTIVATION_DATE))
            if !matches!(a.value, Value::DateTime(_)) =>
        {
            Err(object::invalid(format!(
                "{} must be a Date-Time",
                AttributeName::Standard(t)
            )))
        }
        _ => Ok(()),
    }
}

/// Stores a change and moves the state on if a date now says so.
fn commit(ctx: &Context, obj: &mut ManagedObject) -> Result<(), OpError> {
    let before = obj.state;
    object::apply_dates(obj, ctx.now);
    if before != obj.state {
        let s = obj.state;
        set_state(obj, s);
    }
    object::save(ctx, obj)
}

/// Checks what every attribute change checks: a name the client may write and a supported value.
fn check_writable(v: &Ctx, name: &AttributeName) -> Result<(), OpError> {
    if is_server_only(name) {
        return Err(read_only(v, name));
    }
    if !visible_in(name, v) {
        return Err(object::invalid(format!(
            "{name} is not an attribute of KMIP {}.{}",
            v.major, v.minor
        )));
    }
    Ok(())
}

/// The reason for a single-valued attribute that already has its instance.
fn single_valued(v: &Ctx, name: &AttributeName) -> OpError {
    let reason = if v.is_v2() {
        ResultReason::ATTRIBUTE_SINGLE_VALUED
    } else {
        ResultReason::ILLEGAL_OPERATION
    };
    OpError::new(
        reason,
        format!("{name} already exists and has only one instance"),
    )
}

/// Add Attribute: a new attribute, or a new instance of a multi-valued one.
pub fn add_attribute(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: AddAttributeRequest,
) -> Result<AddAttributeResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    let Wrapped(mut a) = req.attribute;
    check_writable(v, &a.name)?;
    if a.index.is_some() {
        return Err(object::invalid(
            "the attribute to add must not carry an Attribute Index",
        ));
    }
    let count = obj.attributes.get_all(&a.name).count();
    if count > 0 && !is_multi_valued(&a.name) {
        return Err(single_valued(v, &a.name));
    }
    check_date_change(&obj, v, &a)?;
    obj.attributes.push(a.clone());
    commit(ctx, &mut obj)?;
    a.index = (count > 0).then_some(count as i32);
    Ok(AddAttributeResponse {
        unique_identifier: uid,
        attribute: (!v.is_v2()).then_some(Wrapped(a)),
    })
}

/// The position in `attrs.items` of instance `index` of `name`.
fn position(attrs: &Attributes, name: &AttributeName, index: usize) -> Option<usize> {
    attrs
        .items
        .iter()
        .enumerate()
        .filter(|(_, a)| a.name == *name)
        .nth(index)
        .map(|(i, _)| i)
}

/// The position of the instance of `name` whose value is `value`.
fn position_of_value(attrs: &Attributes, name: &AttributeName, value: &Value) -> Option<usize> {
    attrs
        .items
        .iter()
        .position(|a| a.name == *name && a.value == *value)
}

/// The reason for an attribute the object does not have.
fn no_attribute(v: &Ctx, name: &AttributeName, modify: bool) -> OpError {
    let reason = match (v.is_v2(), modify) {
        (true, _) => ResultReason::ATTRIBUTE_NOT_FOUND,
        (false, true) => ResultReason::INVALID_FIELD,
        (false, false) => ResultReason::ITEM_NOT_FOUND,
    };
    OpError::new(reason, format!("the object has no attribute {name}"))
}

/// The reason for an instance the object does not have.
fn no_instance(v: &Ctx, name: &AttributeName) -> OpError {
    let reason = if v.is_v2() {
        ResultReason::ATTRIBUTE_INSTANCE_NOT_FOUND
    } else {
        ResultReason::ITEM_NOT_FOUND
    };
    OpError::new(reason, format!("no such instance of {name}"))
}

/// Modify Attribute: 1.x by name and index (absent: 0); 2.x by Current Attribute value (absent: the only instance).
pub fn modify_attribute(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: ModifyAttributeRequest,
) -> Result<ModifyAttributeResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    let Wrapped(mut a) = req.new_attribute;
    check_writable(v, &a.name)?;
    let count = obj.attributes.get_all(&a.name).count();
    if count == 0 {
        return Err(no_attribute(v, &a.name, true));
    }
    let pos = match req.current_attribute.0 {
        Some(Wrapped(cur)) => {
            if cur.name != a.name {
                return Err(object::invalid(
                    "Current Attribute and New Attribute name different attributes",
                ));
            }
            position_of_value(&obj.attributes, &cur.name, &cur.value)
        }
        None => position(
            &obj.attributes,
            &a.name,
            a.index.unwrap_or(0).max(0) as usize,
        ),
    }
    .ok_or_else(|| no_instance(v, &a.name))?;
    check_date_change(&obj, v, &a)?;
    obj.attributes.items[pos] = Attribute {
        index: None,
        ..a.clone()
    };
    commit(ctx, &mut obj)?;
    if a.index == Some(0) {
        a.index = None;
    }
    Ok(ModifyAttributeResponse {
        unique_identifier: uid,
        attribute: (!v.is_v2()).then_some(Wrapped(a)),
    })
}

/// Delete Attribute: 1.x by name and index (absent: 0); 2.x one instance by
/// Current Attribute value, or every instance by Attribute Reference.
pub fn delete_attribute(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: DeleteAttributeRequest,
) -> Result<DeleteAttributeResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    let name = match (&req.current_attribute.0, &req.attribute_reference) {
        (Some(Wrapped(cur)), _) => cur.name.clone(),
        (None, Some(r)) => r.0.clone(),
        (None, None) => {
            return Err(OpError::new(
                ResultReason::INVALID_MESSAGE,
                "name the attribute to delete",
            ))
        }
    };
    if is_server_only(&name) {
        return Err(read_only(v, &name));
    }
    if obj.attributes.get_all(&name).count() == 0 {
        return Err(no_attribute(v, &name, false));
    }
    if matches!(
        name,
        AttributeName::Standard(Tag::ACTIVATION_DATE | Tag::DEACTIVATION_DATE)
    ) && obj.state != State::PRE_ACTIVE
    {
        return Err(wrong_state(
            v,
            format!("{name} can be deleted only while the object is Pre-Active"),
        ));
    }
    let removed = match (req.current_attribute.0, v.is_v2()) {
        (Some(Wrapped(cur)), _) => {
            let pos = position_of_value(&obj.attributes, &name, &cur.value)
                .ok_or_else(|| no_instance(v, &name))?;
            obj.attributes.items.remove(pos)
        }
        (None, true) => {
            let first = obj.attributes.get_all(&name).next().cloned();
            obj.attributes.remove(&name);
            first.unwrap_or_default()
        }
        (None, false) => {
            let index = req.attribute_index.unwrap_or(0).max(0) as usize;
            let pos =
                position(&obj.attributes, &name, index).ok_or_else(|| no_instance(v, &name))?;
            let mut a = obj.attributes.items.remove(pos);
            a.index = (index > 0).then_some(index as i32);
            a
        }
    };
    object::save(ctx, &mut obj)?;
    Ok(DeleteAttributeResponse {
        unique_identifier: uid,
        attribute: (!v.is_v2()).then_some(Wrapped(removed)),
    })
}

/// Set Attribute (2.x): adds or replaces a single-valued attribute.
pub fn set_attribute(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: SetAttributeRequest,
) -> Result<SetAttributeResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    let Wrapped(mut a) = req.new_attribute;
    check_writable(v, &a.name)?;
    if is_multi_valued(&a.name) && obj.attributes.get_all(&a.name).count() > 1 {
        return Err(OpError::new(
            ResultReason::MULTI_VALUED_ATTRIBUTE,
            format!("{} has several instances: use Modify Attribute", a.name),
        ));
    }
    check_date_change(&obj, v, &a)?;
    a.index = None;
    obj.attributes.set(a);
    commit(ctx, &mut obj)?;
    Ok(SetAttributeResponse {
        unique_identifier: uid,
    })
}
