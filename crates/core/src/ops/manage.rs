//! What managing objects needs beyond KMIP's operations: a page of the
//! objects a caller may see, with filters and keyset paging, and moving an
//! object to another group. The same access rules as every operation
//! ([`Caller::may`]); KMIP's own operations are served by [`super::run`].

use super::object::{self, apply_dates, denied, not_found};
use super::{Caller, Context, OpError};
use crate::access::Action;
use crate::ids::{GroupId, ObjectId};
use crate::model::ManagedObject;
use crate::store::ObjectFilter;
use kmip::typed::Ctx;

/// The longest page a listing answers.
pub const MAX_PAGE: usize = 1000;

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page {
    /// The objects, in the filter's order, their time-driven states applied.
    pub objects: Vec<ManagedObject>,
    /// How many objects match in all.
    pub total: u64,
    /// The `after` of the next page, when there is one.
    pub next: Option<ObjectId>,
}

/// The objects matching `filter` among those the caller may see: at most
/// `filter.limit` (default 50, at most [`MAX_PAGE`]) after `filter.after`.
/// Groups the caller may not see are left out of the filter's groups (a
/// group of another account matches nothing), never an error: an answer
/// must not tell whether such a group exists.
pub fn list(ctx: &Context, caller: &Caller, mut filter: ObjectFilter) -> Result<Page, OpError> {
    let visible = caller.viewable_groups(ctx.store)?;
    let empty = Page {
        objects: Vec::new(),
        total: 0,
        next: None,
    };
    if !filter.groups.is_empty() {
        filter.groups.retain(|g| visible.contains(g));
        // An empty group list means "every group" to the store: never send one.
        if filter.groups.is_empty() {
            return Ok(empty);
        }
    } else if visible.is_empty() {
        return Ok(empty);
    } else if visible.len() < ctx.store.groups(caller.account.id)?.len() {
        filter.groups = visible;
    }
    // Else the caller sees every group of the account: no group condition,
    // which lets the store count and page on its indexes alone.
    let limit = filter.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let total = ctx.store.count_objects(
        caller.account.id,
        &ObjectFilter {
            after: None,
            offset: 0,
            limit: None,
            ..filter.clone()
        },
    )?;
    filter.limit = Some(limit + 1);
    let mut ids = ctx.store.locate(caller.account.id, &filter)?;
    let more = ids.len() > limit;
    ids.truncate(limit);
    let mut objects = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(mut obj) = ctx.store.object(caller.account.id, *id)? {
            apply_dates(&mut obj, ctx.now);
            objects.push(obj);
        }
    }
    Ok(Page {
        next: if more { ids.last().copied() } else { None },
        objects,
        total,
    })
}

/// The object `uid` as the caller may see it (metadata only: never its value).
pub fn describe(ctx: &Context, caller: &Caller, uid: &str) -> Result<ManagedObject, OpError> {
    object::load(ctx, caller, &Ctx::V2_1, uid, Action::ViewObjects)
}

/// Moves object `uid` to `group` of the caller's account: the caller must
/// manage objects in both groups. A group the caller cannot see is not found.
pub fn move_to_group(
    ctx: &Context,
    caller: &Caller,
    uid: &str,
    group: GroupId,
) -> Result<ManagedObject, OpError> {
    let v = Ctx::V2_1;
    let mut obj = object::load(ctx, caller, &v, uid, Action::ManageObjects)?;
    let exists = ctx.store.group(caller.account.id, group)?.is_some();
    if !exists || !caller.may(Action::ViewObjects, group) {
        return Err(OpError {
            message: "no group with this id".into(),
            ..not_found(&v)
        });
    }
    if !caller.may(Action::ManageObjects, group) {
        return Err(denied(Action::ManageObjects));
    }
    if obj.group != group {
        obj.group = group;
        object::save(ctx, &mut obj)?;
    }
    Ok(obj)
}
