//! The SQL of each operation, on a given connection: writes run on the writer
//! thread inside its batch transaction, reads on a pooled reader connection.

use super::error::{backend, corrupt};
use crate::codec::{decode_attributes, encode_attributes};
use kmip::attributes::AttributeName;
use kmip::enums::{ObjectType, State};
use kmip::Tag;
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use skms_core::audit::{self, ActorKind, AuditEvent, AuditQuery, AuditRecord, Outcome};
use skms_core::ca::{AccountCa, CertOrigin, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::model::{Account, App, AuthMethod, Group, ManagedObject, SecretHash};
use skms_core::store::{index_key, IndexedValue, ObjectFilter, SearchFields, SortKey, StoreError};

// ---- writes ----

/// Adds an account.
pub fn create_account(c: &Connection, a: &Account) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO accounts (id, name, enabled, created, wrapped_key) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            &a.id.as_bytes()[..],
            a.name,
            a.enabled,
            a.created,
            a.wrapped_key
        ])
    })
    .map(drop)
    .map_err(|e| backend(&format!("create account {:?}", a.name), e))
}

/// Adds a group.
pub fn create_group(c: &Connection, g: &Group) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO groups (id, account, name, description, created) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            &g.id.as_bytes()[..],
            &g.account.as_bytes()[..],
            g.name,
            g.description,
            g.created
        ])
    })
    .map(drop)
    .map_err(|e| backend(&format!("create group {:?}", g.name), e))
}

/// Adds an app and its lists.
pub fn create_app(c: &Connection, a: &App) -> Result<(), StoreError> {
    let what = format!("create app {:?}", a.name);
    c.prepare_cached(
        "INSERT INTO apps (id, account, name, description, kmip, rest, auth_method, default_group,
                           enabled, secret_hash, created, sealed_secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            &a.id.as_bytes()[..],
            &a.account.as_bytes()[..],
            a.name,
            a.description,
            a.kmip,
            a.rest,
            a.auth_method.as_str(),
            &a.default_group.as_bytes()[..],
            a.enabled,
            a.secret_hash.0,
            a.created,
            a.sealed_secret
        ])
    })
    .map_err(|e| backend(&what, e))?;
    insert_app_lists(c, a).map_err(|e| backend(&what, e))
}

/// Replaces an app of `a.account` and its lists.
pub fn update_app(c: &Connection, a: &App) -> Result<(), StoreError> {
    let what = format!("update app {}", a.id);
    let n = c
        .prepare_cached(
            "UPDATE apps SET name = ?3, description = ?4, kmip = ?5, rest = ?6, auth_method = ?7,
                             default_group = ?8, enabled = ?9, secret_hash = ?10, created = ?11,
                             sealed_secret = ?12
             WHERE id = ?1 AND account = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                &a.id.as_bytes()[..],
                &a.account.as_bytes()[..],
                a.name,
                a.description,
                a.kmip,
                a.rest,
                a.auth_method.as_str(),
                &a.default_group.as_bytes()[..],
                a.enabled,
                a.secret_hash.0,
                a.created,
                a.sealed_secret
            ])
        })
        .map_err(|e| backend(&what, e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "app {} in account {}",
            a.id, a.account
        )));
    }
    let id = &a.id.as_bytes()[..];
    for table in ["app_groups", "app_pinned_certs", "app_trusted_cas"] {
        c.prepare_cached(&format!("DELETE FROM {table} WHERE app = ?1"))
            .and_then(|mut s| s.execute([id]))
            .map_err(|e| backend(&what, e))?;
    }
    insert_app_lists(c, a).map_err(|e| backend(&what, e))
}

fn insert_app_lists(c: &Connection, a: &App) -> rusqlite::Result<()> {
    let id = &a.id.as_bytes()[..];
    let mut s = c.prepare_cached(
        "INSERT INTO app_groups (app, position, account, grp) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, g) in a.groups.iter().enumerate() {
        s.execute(params![
            id,
            i as i64,
            &a.account.as_bytes()[..],
            &g.as_bytes()[..]
        ])?;
    }
    let mut s = c.prepare_cached(
        "INSERT INTO app_pinned_certs (app, position, sha256) VALUES (?1, ?2, ?3)",
    )?;
    for (i, fp) in a.pinned_certs.iter().enumerate() {
        s.execute(params![id, i as i64, &fp[..]])?;
    }
    let mut s =
        c.prepare_cached("INSERT INTO app_trusted_cas (app, position, der) VALUES (?1, ?2, ?3)")?;
    for (i, der) in a.trusted_cas.iter().enumerate() {
        s.execute(params![id, i as i64, der])?;
    }
    Ok(())
}

/// An object as it is written: attributes already encoded and its search
/// fields derived, on the caller's thread, so the single writer spends its
/// time on SQLite alone.
pub struct ObjectRow {
    id: ObjectId,
    account: AccountId,
    group: GroupId,
    object_type: i64,
    state: i64,
    attributes: Vec<u8>,
    sealed: Option<Vec<u8>>,
    created: i64,
    updated: i64,
    creator: Option<AppId>,
    search: SearchFields,
}

impl ObjectRow {
    /// Its column values, `?1` to `?15` of both the INSERT and the UPDATE:
    /// id, account, group, type, state, attributes, sealed, created, updated,
    /// creator, algorithm, length, sort name, activation, deactivation.
    fn values(&self) -> Vec<Sql> {
        let s = &self.search;
        let opt_i = |v: Option<i64>| v.map_or(Sql::Null, Sql::Integer);
        vec![
            Sql::Blob(self.id.as_bytes().to_vec()),
            Sql::Blob(self.account.as_bytes().to_vec()),
            Sql::Blob(self.group.as_bytes().to_vec()),
            Sql::Integer(self.object_type),
            Sql::Integer(self.state),
            Sql::Blob(self.attributes.clone()),
            self.sealed.clone().map_or(Sql::Null, Sql::Blob),
            Sql::Integer(self.created),
            Sql::Integer(self.updated),
            self.creator
                .map_or(Sql::Null, |a| Sql::Blob(a.as_bytes().to_vec())),
            opt_i(s.algorithm.map(|a| i64::from(a.0))),
            opt_i(s.length.map(i64::from)),
            Sql::Text(s.sort_name.clone()),
            opt_i(s.activation),
            opt_i(s.deactivation),
        ]
    }

    /// The row of `o`.
    pub fn new(o: &ManagedObject) -> Self {
        ObjectRow {
            id: o.id,
            account: o.account,
            group: o.group,
            object_type: i64::from(o.object_type.0),
            state: i64::from(o.state.0),
            attributes: encode_attributes(&o.attributes),
            sealed: o.sealed.clone(),
            created: o.created,
            updated: o.updated,
            creator: o.creator,
            search: SearchFields::of(&o.attributes),
        }
    }
}

/// Adds an object and its index rows.
pub fn insert_object(c: &Connection, o: &ObjectRow) -> Result<(), StoreError> {
    let what = || format!("insert object {}", o.id);
    let s = &o.search;
    c.prepare_cached(
        "INSERT INTO objects (id, account, group_id, object_type, state, attributes, sealed,
                              created, updated, creator, algorithm, crypto_length, sort_name,
                              activation, deactivation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .and_then(|mut st| st.execute(params_from_iter(o.values())))
    .map_err(|e| backend(&what(), e))?;
    insert_entries(c, o.account, o.id, &s.entries).map_err(|e| backend(&what(), e))
}

/// Replaces an object of `o.account` and its index rows.
pub fn update_object(c: &Connection, o: &ObjectRow) -> Result<(), StoreError> {
    let what = || format!("update object {}", o.id);
    let s = &o.search;
    let n = c
        .prepare_cached(
            "UPDATE objects SET group_id = ?3, object_type = ?4, state = ?5, attributes = ?6,
                                sealed = ?7, created = ?8, updated = ?9, creator = ?10,
                                algorithm = ?11, crypto_length = ?12, sort_name = ?13,
                                activation = ?14, deactivation = ?15
             WHERE id = ?1 AND account = ?2",
        )
        .and_then(|mut st| st.execute(params_from_iter(o.values())))
        .map_err(|e| backend(&what(), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "object {} in account {}",
            o.id, o.account
        )));
    }
    c.prepare_cached("DELETE FROM object_attrs WHERE object = ?1")
        .and_then(|mut st| st.execute([&o.id.as_bytes()[..]]))
        .map_err(|e| backend(&what(), e))?;
    insert_entries(c, o.account, o.id, &s.entries).map_err(|e| backend(&what(), e))
}

/// The SQL value of an indexed value.
fn indexed_sql(v: &IndexedValue) -> Sql {
    match v {
        IndexedValue::Text(t) => Sql::Text(t.clone()),
        IndexedValue::Int(i) => Sql::Integer(*i),
    }
}

/// Writes the index rows of object `id` (it has none yet).
fn insert_entries(
    c: &Connection,
    account: AccountId,
    id: ObjectId,
    entries: &[(String, IndexedValue)],
) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut st = c.prepare_cached(
        "INSERT OR IGNORE INTO object_attrs (account, name, value, object) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (name, value) in entries {
        st.execute(params![
            &account.as_bytes()[..],
            name,
            indexed_sql(value),
            &id.as_bytes()[..]
        ])?;
    }
    Ok(())
}

/// Migration 6: fills the search columns and index rows of every object
/// stored before, a thousand rows at a time, in the migration's transaction.
/// A row whose attributes cannot be decoded stays unindexed: reading it
/// fails anyway (`Corrupt`), and one bad row must not keep the server from starting.
pub fn backfill_search(c: &Connection) -> Result<(), StoreError> {
    let what = "index the stored objects (migration 6)";
    let mut after = i64::MIN;
    loop {
        let batch = c
            .prepare_cached(
                "SELECT rowid, id, account, attributes FROM objects
                 WHERE rowid > ?1 ORDER BY rowid LIMIT 1000",
            )
            .and_then(|mut st| {
                st.query_map([after], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| backend(what, e))?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.0;
        for (rowid, id, account, attributes) in batch {
            let (Ok(id), Ok(account), Ok(attributes)) = (
                id16(id, what),
                id16(account, what),
                decode_attributes(&attributes),
            ) else {
                continue;
            };
            let s = SearchFields::of(&attributes);
            c.prepare_cached(
                "UPDATE objects SET algorithm = ?2, crypto_length = ?3, sort_name = ?4,
                                    activation = ?5, deactivation = ?6
                 WHERE rowid = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    rowid,
                    s.algorithm.map(|a| i64::from(a.0)),
                    s.length,
                    s.sort_name,
                    s.activation,
                    s.deactivation
                ])
            })
            .map_err(|e| backend(what, e))?;
            insert_entries(
                c,
                AccountId::from_bytes(account),
                ObjectId::from_bytes(id),
                &s.entries,
            )
            .map_err(|e| backend(what, e))?;
        }
    }
}

// ---- reads ----

pub fn id16(v: Vec<u8>, what: &str) -> Result<[u8; 16], StoreError> {
    v.try_into()
        .map_err(|_| corrupt(&format!("{what}: an identifier is not 16 bytes")))
}

type AccountRaw = (Vec<u8>, String, bool, i64, Vec<u8>);

fn account_raw(r: &Row) -> rusqlite::Result<AccountRaw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn account_from(raw: AccountRaw) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId::from_bytes(id16(raw.0, "account")?),
        name: raw.1,
        enabled: raw.2,
        created: raw.3,
        wrapped_key: raw.4,
    })
}

const ACCOUNT_COLS: &str = "SELECT id, name, enabled, created, wrapped_key FROM accounts";

/// An account by id.
pub fn account(c: &Connection, id: AccountId) -> Result<Option<Account>, StoreError> {
    c.prepare_cached(&format!("{ACCOUNT_COLS} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([&id.as_bytes()[..]], account_raw).optional())
        .map_err(|e| backend("read account", e))?
        .map(account_from)
        .transpose()
}

/// Every account, by name.
pub fn accounts(c: &Connection) -> Result<Vec<Account>, StoreError> {
    c.prepare_cached(&format!("{ACCOUNT_COLS} ORDER BY name"))
        .and_then(|mut s| s.query_map([], account_raw)?.collect::<Result<Vec<_>, _>>())
        .map_err(|e| backend("list accounts", e))?
        .into_iter()
        .map(account_from)
        .collect()
}

type GroupRaw = (Vec<u8>, Vec<u8>, String, String, i64);

fn group_raw(r: &Row) -> rusqlite::Result<GroupRaw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn group_from(raw: GroupRaw) -> Result<Group, StoreError> {
    Ok(Group {
        id: GroupId::from_bytes(id16(raw.0, "group")?),
        account: AccountId::from_bytes(id16(raw.1, "group")?),
        name: raw.2,
        description: raw.3,
        created: raw.4,
    })
}

const GROUP_COLS: &str = "SELECT id, account, name, description, created FROM groups";

/// A group of `account`.
pub fn group(c: &Connection, account: AccountId, id: GroupId) -> Result<Option<Group>, StoreError> {
    c.prepare_cached(&format!("{GROUP_COLS} WHERE id = ?1 AND account = ?2"))
        .and_then(|mut s| {
            s.query_row([&id.as_bytes()[..], &account.as_bytes()[..]], group_raw)
                .optional()
        })
        .map_err(|e| backend("read group", e))?
        .map(group_from)
        .transpose()
}

/// The groups of `account`, by name.
pub fn groups(c: &Connection, account: AccountId) -> Result<Vec<Group>, StoreError> {
    c.prepare_cached(&format!("{GROUP_COLS} WHERE account = ?1 ORDER BY name"))
        .and_then(|mut s| {
            s.query_map([&account.as_bytes()[..]], group_raw)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend("list groups", e))?
        .into_iter()
        .map(group_from)
        .collect()
}

/// An app by id with its lists; run inside one read transaction for a consistent view.
pub fn app(c: &Connection, id: AppId) -> Result<Option<App>, StoreError> {
    let what = "read app";
    let raw = c
        .prepare_cached(
            "SELECT account, name, description, kmip, rest, auth_method, default_group, enabled,
                    secret_hash, created, sealed_secret
             FROM apps WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([&id.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                    r.get::<_, bool>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, Vec<u8>>(10)?,
                ))
            })
            .optional()
        })
        .map_err(|e| backend(what, e))?;
    let Some((
        account,
        name,
        description,
        kmip,
        rest,
        auth,
        default_group,
        enabled,
        hash,
        created,
        sealed_secret,
    )) = raw
    else {
        return Ok(None);
    };
    let key = &id.as_bytes()[..];
    let groups = c
        .prepare_cached("SELECT grp FROM app_groups WHERE app = ?1 ORDER BY position")
        .and_then(|mut s| {
            s.query_map([key], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend(what, e))?
        .into_iter()
        .map(|g| id16(g, what).map(GroupId::from_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let pinned_certs = c
        .prepare_cached("SELECT sha256 FROM app_pinned_certs WHERE app = ?1 ORDER BY position")
        .and_then(|mut s| {
            s.query_map([key], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend(what, e))?
        .into_iter()
        .map(|fp| {
            <[u8; 32]>::try_from(fp)
                .map_err(|_| corrupt("read app: a pinned fingerprint is not 32 bytes"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trusted_cas = c
        .prepare_cached("SELECT der FROM app_trusted_cas WHERE app = ?1 ORDER BY position")
        .and_then(|mut s| {
            s.query_map([key], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend(what, e))?;
    Ok(Some(App {
        id,
        account: AccountId::from_bytes(id16(account, what)?),
        name,
        description,
        kmip,
        rest,
        auth_method: AuthMethod::parse(&auth)
            .ok_or_else(|| corrupt(&format!("read app: unknown auth method {auth:?}")))?,
        groups,
        default_group: GroupId::from_bytes(id16(default_group, what)?),
        enabled,
        secret_hash: SecretHash(hash),
        sealed_secret,
        pinned_certs,
        trusted_cas,
        created,
    }))
}

/// The app that pinned the certificate fingerprint `sha256` (the oldest pin if
/// several apps pinned it); run inside one read transaction.
pub fn app_id_by_pinned_cert(
    c: &Connection,
    sha256: &[u8; 32],
) -> Result<Option<AppId>, StoreError> {
    let what = "find app by pinned certificate";
    c.prepare_cached(
        "SELECT p.app FROM app_pinned_certs p JOIN apps a ON a.id = p.app
         WHERE p.sha256 = ?1 ORDER BY a.created, p.app LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row([&sha256[..]], |r| r.get::<_, Vec<u8>>(0))
            .optional()
    })
    .map_err(|e| backend(what, e))?
    .map(|id| id16(id, what).map(AppId::from_bytes))
    .transpose()
}

/// The apps of `account`, by name; run inside one read transaction.
pub fn apps(c: &Connection, account: AccountId) -> Result<Vec<App>, StoreError> {
    let ids = c
        .prepare_cached("SELECT id FROM apps WHERE account = ?1 ORDER BY name")
        .and_then(|mut s| {
            s.query_map([&account.as_bytes()[..]], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend("list apps", e))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let id = AppId::from_bytes(id16(id, "list apps")?);
        // present: the transaction's snapshot does not change under us
        if let Some(app) = app(c, id)? {
            out.push(app);
        }
    }
    Ok(out)
}

/// An object of `account`.
pub fn object(
    c: &Connection,
    account: AccountId,
    id: ObjectId,
) -> Result<Option<ManagedObject>, StoreError> {
    let what = "read object";
    let raw = c
        .prepare_cached(
            "SELECT group_id, object_type, state, attributes, sealed, created, updated, creator
             FROM objects WHERE id = ?1 AND account = ?2",
        )
        .and_then(|mut s| {
            s.query_row([&id.as_bytes()[..], &account.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Option<Vec<u8>>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<Vec<u8>>>(7)?,
                ))
            })
            .optional()
        })
        .map_err(|e| backend(what, e))?;
    let Some((group, object_type, state, attributes, sealed, created, updated, creator)) = raw
    else {
        return Ok(None);
    };
    Ok(Some(ManagedObject {
        id,
        account,
        group: GroupId::from_bytes(id16(group, what)?),
        object_type: ObjectType(object_type),
        state: State(state),
        attributes: decode_attributes(&attributes)?,
        sealed,
        created,
        updated,
        creator: creator
            .map(|a| id16(a, what).map(AppId::from_bytes))
            .transpose()?,
    }))
}

/// How a query of objects runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Drive {
    /// From the index rows of attribute condition `i`: reads its matches.
    Index(usize),
    /// Along an index of `objects` (for a page, the one of its order),
    /// probing the attribute conditions per object: reads up to a page's worth.
    Objects,
}

/// A paged query whose every attribute condition matches at least this many
/// objects walks the objects in its order instead, probing the conditions:
/// it stops after a page, where sorting every match would read them all.
const PROBE: i64 = 2_000;

/// The most objects the page of an ordered walk may need (offset and limit).
const WALK_PAGE: usize = 1_000;

/// The attribute conditions of `f` as (index key, value): the Name first.
fn attribute_conditions(f: &ObjectFilter) -> Vec<(String, Sql)> {
    let name_key = index_key(&AttributeName::Standard(Tag::NAME));
    f.name
        .iter()
        .map(|n| (name_key.clone(), Sql::Text(n.clone())))
        .chain(
            f.attributes
                .iter()
                .map(|(n, v)| (index_key(n), indexed_sql(v))),
        )
        .collect()
}

/// How many objects of `account` have the index row (`name`, `value`), counting no further than `cap`.
fn matches_up_to(
    c: &Connection,
    account: AccountId,
    (name, value): &(String, Sql),
    cap: i64,
) -> Result<i64, StoreError> {
    c.prepare_cached(
        "SELECT COUNT(*) FROM (SELECT 1 FROM object_attrs
                               WHERE account = ?1 AND name = ?2 AND value = ?3 LIMIT ?4)",
    )
    .and_then(|mut s| {
        s.query_row(params![&account.as_bytes()[..], name, value, cap], |r| {
            r.get::<_, i64>(0)
        })
    })
    .map_err(|e| backend("locate: estimate a condition", e))
}

/// How to run the query of `f`: from its most selective attribute condition
/// (found by counting each one's index rows up to [`PROBE`]), unless it has
/// none, names one object, or asks for a short page of conditions that
/// match many objects.
fn choose_drive(
    c: &Connection,
    account: AccountId,
    f: &ObjectFilter,
    attrs: &[(String, Sql)],
) -> Result<Drive, StoreError> {
    if attrs.is_empty() || f.id.is_some() {
        return Ok(Drive::Objects);
    }
    let page = f.limit.map(|l| l.saturating_add(f.offset));
    if attrs.len() == 1 && page.is_none() {
        return Ok(Drive::Index(0));
    }
    let mut best = (0, i64::MAX);
    for (i, cond) in attrs.iter().enumerate() {
        let n = matches_up_to(c, account, cond, PROBE)?;
        if n < best.1 {
            best = (i, n);
        }
    }
    Ok(match page {
        Some(p) if best.1 >= PROBE && p <= WALK_PAGE => Drive::Objects,
        _ => Drive::Index(best.0),
    })
}

/// `FROM … WHERE …` selecting the objects `o` of `account` that match `f`
/// (its order and paging aside), with its arguments, run as `drive` says.
/// `walk` names the index of `objects` an ordered walk must follow.
fn object_query(
    account: AccountId,
    f: &ObjectFilter,
    mut attrs: Vec<(String, Sql)>,
    drive: Drive,
    walk: Option<&str>,
) -> (String, Vec<Sql>) {
    let acct = || Sql::Blob(account.as_bytes().to_vec());
    let mut args = Vec::new();
    let mut sql = match drive {
        Drive::Index(i) => {
            let (name, value) = attrs.remove(i);
            args.extend([acct(), Sql::Text(name), value, acct()]);
            // CROSS JOIN: SQLite keeps this order, the index first.
            String::from(
                "FROM object_attrs a CROSS JOIN objects o ON o.id = a.object
                 WHERE a.account = ? AND a.name = ? AND a.value = ? AND o.account = ?",
            )
        }
        Drive::Objects => {
            args.push(acct());
            match walk {
                Some(index) => format!("FROM objects o INDEXED BY {index} WHERE o.account = ?"),
                None => String::from("FROM objects o WHERE o.account = ?"),
            }
        }
    };
    for (name, value) in attrs {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM object_attrs x
                          WHERE x.account = ? AND x.name = ? AND x.value = ? AND x.object = o.id)",
        );
        args.extend([acct(), Sql::Text(name), value]);
    }
    let mut eq = |sql: &mut String, clause: &str, v: Sql| {
        sql.push_str(clause);
        args.push(v);
    };
    if let Some(id) = f.id {
        eq(&mut sql, " AND o.id = ?", Sql::Blob(id.as_bytes().to_vec()));
    }
    if let Some(t) = f.object_type {
        eq(
            &mut sql,
            " AND o.object_type = ?",
            Sql::Integer(i64::from(t.0)),
        );
    }
    if let Some(s) = f.state {
        eq(&mut sql, " AND o.state = ?", Sql::Integer(i64::from(s.0)));
    }
    if let Some(a) = f.algorithm {
        eq(
            &mut sql,
            " AND o.algorithm = ?",
            Sql::Integer(i64::from(a.0)),
        );
    }
    if let Some(l) = f.length {
        eq(
            &mut sql,
            " AND o.crypto_length = ?",
            Sql::Integer(i64::from(l)),
        );
    }
    if let Some(app) = f.creator {
        eq(
            &mut sql,
            " AND o.creator = ?",
            Sql::Blob(app.as_bytes().to_vec()),
        );
    }
    for (column, range) in [
        ("created", f.created),
        ("updated", f.updated),
        ("activation", f.activation),
        ("deactivation", f.deactivation),
    ] {
        if let Some(from) = range.from {
            eq(
                &mut sql,
                &format!(" AND o.{column} >= ?"),
                Sql::Integer(from),
            );
        }
        if let Some(to) = range.to {
            eq(&mut sql, &format!(" AND o.{column} <= ?"), Sql::Integer(to));
        }
    }
    let mut any_of = |sql: &mut String, column: &str, values: Vec<Sql>| {
        if values.is_empty() {
            return;
        }
        sql.push_str(&format!(" AND o.{column} IN ("));
        for (i, v) in values.into_iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            args.push(v);
        }
        sql.push(')');
    };
    any_of(
        &mut sql,
        "state",
        f.states
            .iter()
            .map(|s| Sql::Integer(i64::from(s.0)))
            .collect(),
    );
    any_of(
        &mut sql,
        "group_id",
        f.groups
            .iter()
            .map(|g| Sql::Blob(g.as_bytes().to_vec()))
            .collect(),
    );
    (sql, args)
}

/// True when `f` has no condition but its attribute ones (an account-wide
/// search by attributes, which the index rows answer alone).
fn only_attributes(f: &ObjectFilter) -> bool {
    let bare = ObjectFilter {
        name: None,
        attributes: Vec::new(),
        sort: f.sort,
        after: f.after,
        offset: f.offset,
        limit: f.limit,
        ..Default::default()
    };
    *f == ObjectFilter {
        name: f.name.clone(),
        attributes: f.attributes.clone(),
        ..bare
    }
}

/// The column of a sort key, and the index of `objects` in its order.
fn sort_column(key: SortKey) -> (&'static str, &'static str) {
    match key {
        SortKey::Created => ("created", "objects_by_created"),
        SortKey::Updated => ("updated", "objects_by_updated"),
        SortKey::Name => ("sort_name", "objects_by_name"),
    }
}

/// The ids of `account`'s objects that match `f`, in its order and page
/// (by default oldest first: created, then id). Run inside one read
/// transaction when `f.after` is given (the cursor's row and the page agree).
pub fn locate(
    c: &Connection,
    account: AccountId,
    f: &ObjectFilter,
) -> Result<Vec<ObjectId>, StoreError> {
    let attrs = attribute_conditions(f);
    let drive = choose_drive(c, account, f, &attrs)?;
    let (column, index) = sort_column(f.sort.key);
    // A walk for a page of many-matching attributes follows the order's index.
    let walk = (drive == Drive::Objects && !attrs.is_empty()).then_some(index);
    let (from_where, mut args) = object_query(account, f, attrs, drive, walk);
    let (dir, cmp) = if f.sort.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let mut sql = format!("SELECT o.id {from_where}");
    if let Some(after) = f.after {
        let key: Sql = c
            .prepare_cached(&format!(
                "SELECT {column} FROM objects WHERE id = ?1 AND account = ?2"
            ))
            .and_then(|mut s| {
                s.query_row([&after.as_bytes()[..], &account.as_bytes()[..]], |r| {
                    r.get::<_, Sql>(0)
                })
                .optional()
            })
            .map_err(|e| backend("locate: read the cursor object", e))?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "object {after} (the page cursor) in account {account}"
                ))
            })?;
        sql.push_str(&format!(" AND (o.{column}, o.id) {cmp} (?, ?)"));
        args.push(key);
        args.push(Sql::Blob(after.as_bytes().to_vec()));
    }
    // SQLite: a negative LIMIT means no limit
    sql.push_str(&format!(
        " ORDER BY o.{column} {dir}, o.id {dir} LIMIT ? OFFSET ?"
    ));
    args.push(Sql::Integer(
        f.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)),
    ));
    args.push(Sql::Integer(i64::try_from(f.offset).unwrap_or(i64::MAX)));
    c.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(args), |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend("locate", e))?
        .into_iter()
        .map(|id| id16(id, "locate").map(ObjectId::from_bytes))
        .collect()
}

/// How many of `account`'s objects match `f` (its order and paging ignored).
pub fn count_objects(
    c: &Connection,
    account: AccountId,
    f: &ObjectFilter,
) -> Result<u64, StoreError> {
    let mut attrs = attribute_conditions(f);
    let (sql, args) = if !attrs.is_empty() && only_attributes(f) {
        // The index rows alone: no object row is read.
        let acct = || Sql::Blob(account.as_bytes().to_vec());
        let (name, value) = attrs.remove(0);
        let mut sql = String::from(
            "SELECT COUNT(*) FROM object_attrs a WHERE a.account = ? AND a.name = ? AND a.value = ?",
        );
        let mut args = vec![acct(), Sql::Text(name), value];
        for (name, value) in attrs {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM object_attrs x
                              WHERE x.account = ? AND x.name = ? AND x.value = ? AND x.object = a.object)",
            );
            args.extend([acct(), Sql::Text(name), value]);
        }
        (sql, args)
    } else {
        let counted = ObjectFilter {
            offset: 0,
            limit: None,
            ..f.clone()
        };
        let drive = choose_drive(c, account, &counted, &attrs)?;
        let (from_where, args) = object_query(account, &counted, attrs, drive, None);
        (format!("SELECT COUNT(*) {from_where}"), args)
    };
    c.prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params_from_iter(args), |r| r.get::<_, i64>(0)))
        .map(|n| n.max(0) as u64)
        .map_err(|e| backend("count objects", e))
}

// ---- audit ----

/// Appends `events` to their chains, extending each chain's head; returns the records.
pub fn append_audit(c: &Connection, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, StoreError> {
    let what = "append audit records";
    let mut heads: std::collections::HashMap<[u8; 16], Option<(u64, [u8; 32])>> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    let mut insert = c
        .prepare_cached(
            "INSERT INTO audit (chain, seq, time_ms, actor_kind, actor, source, operation, object,
                                result, reason, message, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .map_err(|e| backend(what, e))?;
    for event in events {
        let chain = audit::chain_id(event.account);
        let head = match heads.get(&chain) {
            Some(h) => *h,
            None => head_of(c, &chain)?,
        };
        let r = audit::chain_next(event.clone(), head);
        let e = &r.event;
        insert
            .execute(params![
                &chain[..],
                r.seq as i64,
                e.time_ms,
                e.actor_kind.as_str(),
                e.actor,
                e.source,
                e.operation,
                e.object,
                e.outcome.as_str(),
                e.reason,
                e.message,
                &r.prev_hash[..],
                &r.hash[..]
            ])
            .map_err(|e| backend(what, e))?;
        heads.insert(chain, Some((r.seq, r.hash)));
        out.push(r);
    }
    let mut upsert = c
        .prepare_cached(
            "INSERT INTO audit_heads (chain, seq, hash) VALUES (?1, ?2, ?3)
             ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )
        .map_err(|e| backend(what, e))?;
    for (chain, head) in heads {
        if let Some((seq, hash)) = head {
            upsert
                .execute(params![&chain[..], seq as i64, &hash[..]])
                .map_err(|e| backend(what, e))?;
        }
    }
    Ok(out)
}

fn head_of(c: &Connection, chain: &[u8; 16]) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    c.prepare_cached("SELECT seq, hash FROM audit_heads WHERE chain = ?1")
        .and_then(|mut s| {
            s.query_row([&chain[..]], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()
        })
        .map_err(|e| backend("read audit head", e))?
        .map(|(seq, hash)| {
            let hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| corrupt("audit head: a hash is not 32 bytes"))?;
            Ok((seq as u64, hash))
        })
        .transpose()
}

/// A chain's head.
pub fn audit_head(
    c: &Connection,
    account: Option<AccountId>,
) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    head_of(c, &audit::chain_id(account))
}

const AUDIT_COLS: &str = "SELECT seq, time_ms, actor_kind, actor, source, operation, object, \
                          result, reason, message, prev_hash, hash FROM audit";

fn audit_record(
    account: Option<AccountId>,
    r: &Row,
) -> rusqlite::Result<Result<AuditRecord, StoreError>> {
    let kind: String = r.get(2)?;
    let result: String = r.get(7)?;
    let prev: Vec<u8> = r.get(10)?;
    let hash: Vec<u8> = r.get(11)?;
    let seq: i64 = r.get(0)?;
    let event = AuditEvent {
        account,
        time_ms: r.get(1)?,
        actor_kind: match ActorKind::parse(&kind) {
            Some(k) => k,
            None => {
                return Ok(Err(corrupt(&format!(
                    "audit record {seq}: actor kind {kind:?}"
                ))))
            }
        },
        actor: r.get(3)?,
        source: r.get(4)?,
        operation: r.get(5)?,
        object: r.get(6)?,
        outcome: match Outcome::parse(&result) {
            Some(o) => o,
            None => {
                return Ok(Err(corrupt(&format!(
                    "audit record {seq}: result {result:?}"
                ))))
            }
        },
        reason: r.get(8)?,
        message: r.get(9)?,
    };
    // A wrong-sized hash is read as zeros so that verification names the record.
    let fixed = |v: Vec<u8>| <[u8; 32]>::try_from(v).unwrap_or([0; 32]);
    Ok(Ok(AuditRecord {
        event,
        seq: seq.max(0) as u64,
        prev_hash: fixed(prev),
        hash: fixed(hash),
    }))
}

/// Records of a chain after `after_seq`, in order.
pub fn audit_chain_page(
    c: &Connection,
    account: Option<AccountId>,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let chain = audit::chain_id(account);
    c.prepare_cached(&format!(
        "{AUDIT_COLS} WHERE chain = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
    ))
    .and_then(|mut s| {
        s.query_map(
            params![&chain[..], after_seq as i64, limit.min(10_000) as i64],
            |r| audit_record(account, r),
        )?
        .collect::<Result<Vec<_>, _>>()
    })
    .map_err(|e| backend("read audit records", e))?
    .into_iter()
    .collect()
}

/// Records of a chain matching `q`, newest first.
pub fn audit_query(
    c: &Connection,
    account: Option<AccountId>,
    q: &AuditQuery,
) -> Result<Vec<AuditRecord>, StoreError> {
    let chain = audit::chain_id(account);
    let mut sql = format!("{AUDIT_COLS} WHERE chain = ?");
    let mut args: Vec<Sql> = vec![Sql::Blob(chain.to_vec())];
    let mut cond = |sql: &mut String, clause: &str, v: Sql| {
        sql.push_str(clause);
        args.push(v);
    };
    if let Some(t) = q.from_ms {
        cond(&mut sql, " AND time_ms >= ?", Sql::Integer(t));
    }
    if let Some(t) = q.to_ms {
        cond(&mut sql, " AND time_ms < ?", Sql::Integer(t));
    }
    if let Some(a) = &q.actor {
        cond(&mut sql, " AND actor = ?", Sql::Text(a.clone()));
    }
    if let Some(o) = &q.object {
        cond(&mut sql, " AND object = ?", Sql::Text(o.clone()));
    }
    if let Some(o) = &q.operation {
        cond(&mut sql, " AND operation = ?", Sql::Text(o.clone()));
    }
    if let Some(b) = q.before_seq {
        cond(&mut sql, " AND seq < ?", Sql::Integer(b as i64));
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?");
    args.push(Sql::Integer(q.limit.clamp(1, 10_000) as i64));
    c.prepare(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(args), |r| audit_record(account, r))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend("query audit records", e))?
        .into_iter()
        .collect()
}

// ---- account CAs and the certificates apps hold ----

/// Adds an account's CA (`Conflict` if it has one).
pub fn add_account_ca(c: &Connection, ca: &AccountCa) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO account_cas (account, cert_der, sealed_key, created) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            &ca.account.as_bytes()[..],
            ca.cert_der,
            ca.sealed_key,
            ca.created
        ])
    })
    .map(drop)
    .map_err(|e| backend(&format!("add the CA of account {}", ca.account), e))
}

/// The CA of `account`.
pub fn account_ca(c: &Connection, account: AccountId) -> Result<Option<AccountCa>, StoreError> {
    c.prepare_cached("SELECT cert_der, sealed_key, created FROM account_cas WHERE account = ?1")
        .and_then(|mut s| {
            s.query_row([&account.as_bytes()[..]], |r| {
                Ok(AccountCa {
                    account,
                    cert_der: r.get(0)?,
                    sealed_key: r.get(1)?,
                    created: r.get(2)?,
                })
            })
            .optional()
        })
        .map_err(|e| backend("read account CA", e))
}

/// Keeps `cert` for `app` (which exists in its account: run after [`update_app`]);
/// one it already keeps stays as it was.
pub fn keep_certificate(
    c: &Connection,
    app: &App,
    cert: &KeptCertificate,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO app_certs (app, account, sha256, der, origin, added)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (app, sha256) DO NOTHING",
    )
    .and_then(|mut s| {
        s.execute(params![
            &app.id.as_bytes()[..],
            &app.account.as_bytes()[..],
            &cert.sha256()[..],
            cert.der,
            cert.origin.as_str(),
            cert.added
        ])
    })
    .map(drop)
    .map_err(|e| backend(&format!("keep a certificate of app {}", app.id), e))
}

/// The certificates kept for the apps of `account`, oldest first.
pub fn kept_certificates(
    c: &Connection,
    account: AccountId,
) -> Result<Vec<(AppId, KeptCertificate)>, StoreError> {
    let what = "list kept certificates";
    c.prepare_cached(
        "SELECT app, der, origin, added FROM app_certs WHERE account = ?1 ORDER BY added, rowid",
    )
    .and_then(|mut s| {
        s.query_map([&account.as_bytes()[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()
    })
    .map_err(|e| backend(what, e))?
    .into_iter()
    .map(|(app, der, origin, added)| {
        let origin = CertOrigin::parse(&origin)
            .ok_or_else(|| corrupt(&format!("{what}: unknown origin {origin:?}")))?;
        Ok((
            AppId::from_bytes(id16(app, what)?),
            KeptCertificate { der, origin, added },
        ))
    })
    .collect()
}

// ---- backup and restore ----

impl ObjectRow {
    /// The row of an object as a backup holds it: its stored attribute bytes
    /// kept verbatim, its search fields derived from them again (none when
    /// they do not decode, as migration 6 leaves such a row).
    pub fn from_stored(o: crate::dumped::StoredObject) -> Self {
        let crate::dumped::StoredObject {
            id,
            account,
            group,
            object_type,
            state,
            attributes,
            sealed,
            created,
            updated,
            creator,
        } = o;
        let search = decode_attributes(&attributes)
            .map(|a| SearchFields::of(&a))
            .unwrap_or_default();
        ObjectRow {
            id,
            account,
            group,
            object_type,
            state,
            attributes,
            sealed,
            created,
            updated,
            creator,
            search,
        }
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;
    use kmip::attributes::{Attribute, Attributes};
    use kmip::Value;

    /// A short page of a condition that matches thousands walks the objects
    /// in order; anything else reads the most selective condition's index rows.
    #[test]
    fn the_drive_follows_the_selectivity_of_the_conditions() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "foreign_keys", true).unwrap();
        super::super::migrate::migrate(&mut c).unwrap();
        let account = Account {
            id: AccountId::new(),
            name: "a".into(),
            enabled: true,
            created: 0,
            wrapped_key: vec![0],
        };
        create_account(&c, &account).unwrap();
        let group = Group {
            id: GroupId::new(),
            account: account.id,
            name: "g".into(),
            description: String::new(),
            created: 0,
        };
        create_group(&c, &group).unwrap();
        for i in 0..2_100i64 {
            let o = ManagedObject {
                id: ObjectId::new(),
                account: account.id,
                group: group.id,
                object_type: ObjectType::SYMMETRIC_KEY,
                state: State::ACTIVE,
                attributes: Attributes::new(vec![
                    Attribute::custom("x-Component", Value::TextString("common".into())),
                    Attribute::custom("x-Name", Value::TextString(format!("vm-{}", i % 100))),
                ]),
                sealed: None,
                created: i,
                updated: i,
                creator: None,
            };
            insert_object(&c, &ObjectRow::new(&o)).unwrap();
        }
        let cond =
            |n: &str, v: &str| (AttributeName::from_v1(n), IndexedValue::Text(v.to_string()));
        let drive =
            |f: &ObjectFilter| choose_drive(&c, account.id, f, &attribute_conditions(f)).unwrap();
        let common = ObjectFilter {
            attributes: vec![cond("x-Component", "common")],
            limit: Some(50),
            ..Default::default()
        };
        assert_eq!(drive(&common), Drive::Objects);
        assert_eq!(
            drive(&ObjectFilter {
                limit: None,
                ..common.clone()
            }),
            Drive::Index(0)
        );
        assert_eq!(
            drive(&ObjectFilter {
                offset: 2_000,
                ..common.clone()
            }),
            Drive::Index(0)
        );
        let both = ObjectFilter {
            attributes: vec![cond("x-Component", "common"), cond("x-Name", "vm-7")],
            ..common.clone()
        };
        assert_eq!(drive(&both), Drive::Index(1));
        assert_eq!(locate(&c, account.id, &both).unwrap().len(), 21);
        assert_eq!(locate(&c, account.id, &common).unwrap().len(), 50);
        assert_eq!(count_objects(&c, account.id, &both).unwrap(), 21);
        assert_eq!(count_objects(&c, account.id, &common).unwrap(), 2_100);
        assert_eq!(
            drive(&ObjectFilter {
                name: Some("nobody".into()),
                ..common
            }),
            Drive::Index(0)
        );
    }
}
