//! The SQL of each operation on PostgreSQL, on a given client: writes run in
//! a transaction of their own ([`super::PgStore`]), reads on a pooled
//! connection or in a read-only snapshot when they take several queries.
//! The same operations as `sqlite/rows.rs`, with the same results.

use super::db::{Db, Params};
use super::error::{backend, corrupt};
use crate::codec::{decode_attributes, encode_attributes};
use kmip::attributes::AttributeName;
use kmip::enums::{ObjectType, State};
use kmip::Tag;
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use skms_core::audit::{self, ActorKind, AuditEvent, AuditQuery, AuditRecord, Outcome};
use skms_core::ca::{AccountCa, CertOrigin, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::model::{Account, App, AuthMethod, Group, ManagedObject, SecretHash};
use skms_core::store::{index_key, IndexedValue, ObjectFilter, SearchFields, SortKey, StoreError};

/// Column `i` of `r`; a value that does not convert is `Corrupt`.
pub fn get<'a, T: postgres::types::FromSql<'a>>(
    r: &'a Row,
    i: usize,
    what: &str,
) -> Result<T, StoreError> {
    r.try_get(i).map_err(|e| backend(what, e))
}

/// A 16-byte identifier read back.
pub fn id16(v: Vec<u8>, what: &str) -> Result<[u8; 16], StoreError> {
    v.try_into()
        .map_err(|_| corrupt(&format!("{what}: an identifier is not 16 bytes")))
}

/// A 32-bit value stored as BIGINT (enumerations, counters).
pub fn u32_of(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(&format!("{what}: {v} is out of range")))
}

// ---- writes ----

/// Adds an account.
pub fn create_account<C: GenericClient>(db: &mut Db<'_, C>, a: &Account) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO accounts (id, name, enabled, created, wrapped_key) VALUES ($1, $2, $3, $4, $5)",
        &[&&a.id.as_bytes()[..], &a.name, &a.enabled, &a.created, &a.wrapped_key],
    )
    .map(drop)
    .map_err(|e| backend(&format!("create account {:?}", a.name), e))
}

/// Adds a group.
pub fn create_group<C: GenericClient>(db: &mut Db<'_, C>, g: &Group) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO groups (id, account, name, description, created) VALUES ($1, $2, $3, $4, $5)",
        &[
            &&g.id.as_bytes()[..],
            &&g.account.as_bytes()[..],
            &g.name,
            &g.description,
            &g.created,
        ],
    )
    .map(drop)
    .map_err(|e| backend(&format!("create group {:?}", g.name), e))
}

/// Adds an app and its lists.
pub fn create_app<C: GenericClient>(db: &mut Db<'_, C>, a: &App) -> Result<(), StoreError> {
    let what = format!("create app {:?}", a.name);
    db.execute(
        "INSERT INTO apps (id, account, name, description, kmip, rest, auth_method, default_group,
                           enabled, secret_hash, created, sealed_secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &&a.id.as_bytes()[..],
            &&a.account.as_bytes()[..],
            &a.name,
            &a.description,
            &a.kmip,
            &a.rest,
            &a.auth_method.as_str(),
            &&a.default_group.as_bytes()[..],
            &a.enabled,
            &a.secret_hash.0,
            &a.created,
            &a.sealed_secret,
        ],
    )
    .map_err(|e| backend(&what, e))?;
    insert_app_lists(db, a).map_err(|e| backend(&what, e))
}

/// Replaces an app of `a.account` and its lists.
pub fn update_app<C: GenericClient>(db: &mut Db<'_, C>, a: &App) -> Result<(), StoreError> {
    let what = format!("update app {}", a.id);
    let n = db
        .execute(
            "UPDATE apps SET name = $3, description = $4, kmip = $5, rest = $6, auth_method = $7,
                             default_group = $8, enabled = $9, secret_hash = $10, created = $11,
                             sealed_secret = $12
             WHERE id = $1 AND account = $2",
            &[
                &&a.id.as_bytes()[..],
                &&a.account.as_bytes()[..],
                &a.name,
                &a.description,
                &a.kmip,
                &a.rest,
                &a.auth_method.as_str(),
                &&a.default_group.as_bytes()[..],
                &a.enabled,
                &a.secret_hash.0,
                &a.created,
                &a.sealed_secret,
            ],
        )
        .map_err(|e| backend(&what, e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "app {} in account {}",
            a.id, a.account
        )));
    }
    let id = &a.id.as_bytes()[..];
    for sql in [
        "DELETE FROM app_groups WHERE app = $1",
        "DELETE FROM app_pinned_certs WHERE app = $1",
        "DELETE FROM app_trusted_cas WHERE app = $1",
    ] {
        db.execute(sql, &[&id]).map_err(|e| backend(&what, e))?;
    }
    insert_app_lists(db, a).map_err(|e| backend(&what, e))
}

fn insert_app_lists<C: GenericClient>(db: &mut Db<'_, C>, a: &App) -> Result<(), postgres::Error> {
    let id = &a.id.as_bytes()[..];
    let account = &a.account.as_bytes()[..];
    for (i, g) in a.groups.iter().enumerate() {
        db.execute(
            "INSERT INTO app_groups (app, position, account, grp) VALUES ($1, $2, $3, $4)",
            &[&id, &(i as i64), &account, &&g.as_bytes()[..]],
        )?;
    }
    for (i, fp) in a.pinned_certs.iter().enumerate() {
        db.execute(
            "INSERT INTO app_pinned_certs (app, position, sha256) VALUES ($1, $2, $3)",
            &[&id, &(i as i64), &&fp[..]],
        )?;
    }
    for (i, der) in a.trusted_cas.iter().enumerate() {
        db.execute(
            "INSERT INTO app_trusted_cas (app, position, der) VALUES ($1, $2, $3)",
            &[&id, &(i as i64), der],
        )?;
    }
    Ok(())
}

/// An object as it is written: attributes encoded and search fields derived
/// on the caller's thread, before a connection is taken.
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

    /// Runs `sql` with the row's values as `$1` to `$15`: id, account, group,
    /// type, state, attributes, sealed, created, updated, creator, algorithm,
    /// length, sort name, activation, deactivation.
    fn execute<C: GenericClient>(
        &self,
        db: &mut Db<'_, C>,
        sql: &str,
    ) -> Result<u64, postgres::Error> {
        let s = &self.search;
        let creator = self.creator.map(|a| a.as_bytes().to_vec());
        let algorithm = s.algorithm.map(|a| i64::from(a.0));
        let length = s.length.map(i64::from);
        db.execute(
            sql,
            &[
                &&self.id.as_bytes()[..],
                &&self.account.as_bytes()[..],
                &&self.group.as_bytes()[..],
                &self.object_type,
                &self.state,
                &self.attributes,
                &self.sealed,
                &self.created,
                &self.updated,
                &creator,
                &algorithm,
                &length,
                &s.sort_name.as_bytes(),
                &s.activation,
                &s.deactivation,
            ],
        )
    }
}

/// Adds an object and its index rows.
pub fn insert_object<C: GenericClient>(
    db: &mut Db<'_, C>,
    o: &ObjectRow,
) -> Result<(), StoreError> {
    let what = || format!("insert object {}", o.id);
    o.execute(
        db,
        "INSERT INTO objects (id, account, group_id, object_type, state, attributes, sealed,
                              created, updated, creator, algorithm, crypto_length, sort_name,
                              activation, deactivation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .map_err(|e| backend(&what(), e))?;
    insert_entries(db, o.account, o.id, &o.search.entries).map_err(|e| backend(&what(), e))
}

/// Replaces an object of `o.account` and its index rows.
pub fn update_object<C: GenericClient>(
    db: &mut Db<'_, C>,
    o: &ObjectRow,
) -> Result<(), StoreError> {
    let what = || format!("update object {}", o.id);
    let n = o
        .execute(
            db,
            "UPDATE objects SET group_id = $3, object_type = $4, state = $5, attributes = $6,
                                sealed = $7, created = $8, updated = $9, creator = $10,
                                algorithm = $11, crypto_length = $12, sort_name = $13,
                                activation = $14, deactivation = $15
             WHERE id = $1 AND account = $2",
        )
        .map_err(|e| backend(&what(), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "object {} in account {}",
            o.id, o.account
        )));
    }
    db.execute(
        "DELETE FROM object_attrs WHERE object = $1",
        &[&&o.id.as_bytes()[..]],
    )
    .map_err(|e| backend(&what(), e))?;
    insert_entries(db, o.account, o.id, &o.search.entries).map_err(|e| backend(&what(), e))
}

/// The stored bytes of an indexed value: a tag then the value, so that a
/// text and an integer never compare equal.
fn indexed_bytes(v: &IndexedValue) -> Vec<u8> {
    match v {
        IndexedValue::Text(t) => [&b"t"[..], t.as_bytes()].concat(),
        IndexedValue::Int(i) => [&b"i"[..], &i.to_be_bytes()[..]].concat(),
    }
}

/// Writes the index rows of object `id` (it has none yet), in one statement.
fn insert_entries<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
    id: ObjectId,
    entries: &[(String, IndexedValue)],
) -> Result<(), postgres::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let names: Vec<&[u8]> = entries.iter().map(|(n, _)| n.as_bytes()).collect();
    let values: Vec<Vec<u8>> = entries.iter().map(|(_, v)| indexed_bytes(v)).collect();
    db.execute(
        "INSERT INTO object_attrs (account, name, value, object)
         SELECT $1, e.name, e.value, $4 FROM unnest($2::bytea[], $3::bytea[]) AS e (name, value)
         ON CONFLICT DO NOTHING",
        &[
            &&account.as_bytes()[..],
            &names,
            &values,
            &&id.as_bytes()[..],
        ],
    )
    .map(drop)
}

// ---- reads ----

const ACCOUNT_COLS: &str = "SELECT id, name, enabled, created, wrapped_key FROM accounts";

fn account_from(r: &Row) -> Result<Account, StoreError> {
    let w = "read account";
    Ok(Account {
        id: AccountId::from_bytes(id16(get(r, 0, w)?, w)?),
        name: get(r, 1, w)?,
        enabled: get(r, 2, w)?,
        created: get(r, 3, w)?,
        wrapped_key: get(r, 4, w)?,
    })
}

/// An account by id.
pub fn account<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    db.query_opt(
        &format!("{ACCOUNT_COLS} WHERE id = $1"),
        &[&&id.as_bytes()[..]],
    )
    .map_err(|e| backend("read account", e))?
    .as_ref()
    .map(account_from)
    .transpose()
}

/// Every account, by name.
pub fn accounts<C: GenericClient>(db: &mut Db<'_, C>) -> Result<Vec<Account>, StoreError> {
    db.query(&format!("{ACCOUNT_COLS} ORDER BY name"), &[])
        .map_err(|e| backend("list accounts", e))?
        .iter()
        .map(account_from)
        .collect()
}

const GROUP_COLS: &str = "SELECT id, account, name, description, created FROM groups";

fn group_from(r: &Row) -> Result<Group, StoreError> {
    let w = "read group";
    Ok(Group {
        id: GroupId::from_bytes(id16(get(r, 0, w)?, w)?),
        account: AccountId::from_bytes(id16(get(r, 1, w)?, w)?),
        name: get(r, 2, w)?,
        description: get(r, 3, w)?,
        created: get(r, 4, w)?,
    })
}

/// A group of `account`.
pub fn group<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
    id: GroupId,
) -> Result<Option<Group>, StoreError> {
    db.query_opt(
        &format!("{GROUP_COLS} WHERE id = $1 AND account = $2"),
        &[&&id.as_bytes()[..], &&account.as_bytes()[..]],
    )
    .map_err(|e| backend("read group", e))?
    .as_ref()
    .map(group_from)
    .transpose()
}

/// The groups of `account`, by name.
pub fn groups<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
) -> Result<Vec<Group>, StoreError> {
    db.query(
        &format!("{GROUP_COLS} WHERE account = $1 ORDER BY name"),
        &[&&account.as_bytes()[..]],
    )
    .map_err(|e| backend("list groups", e))?
    .iter()
    .map(group_from)
    .collect()
}

/// An app by id with its lists; run inside one snapshot for a consistent view.
pub fn app<C: GenericClient>(db: &mut Db<'_, C>, id: AppId) -> Result<Option<App>, StoreError> {
    let w = "read app";
    let key = &id.as_bytes()[..];
    let Some(r) = db
        .query_opt(
            "SELECT account, name, description, kmip, rest, auth_method, default_group, enabled,
                    secret_hash, created, sealed_secret
             FROM apps WHERE id = $1",
            &[&key],
        )
        .map_err(|e| backend(w, e))?
    else {
        return Ok(None);
    };
    let groups = db
        .query(
            "SELECT grp FROM app_groups WHERE app = $1 ORDER BY position",
            &[&key],
        )
        .map_err(|e| backend(w, e))?
        .iter()
        .map(|g| Ok(GroupId::from_bytes(id16(get(g, 0, w)?, w)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let pinned_certs = db
        .query(
            "SELECT sha256 FROM app_pinned_certs WHERE app = $1 ORDER BY position",
            &[&key],
        )
        .map_err(|e| backend(w, e))?
        .iter()
        .map(|fp| {
            <[u8; 32]>::try_from(get::<Vec<u8>>(fp, 0, w)?)
                .map_err(|_| corrupt("read app: a pinned fingerprint is not 32 bytes"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trusted_cas = db
        .query(
            "SELECT der FROM app_trusted_cas WHERE app = $1 ORDER BY position",
            &[&key],
        )
        .map_err(|e| backend(w, e))?
        .iter()
        .map(|d| get::<Vec<u8>>(d, 0, w))
        .collect::<Result<Vec<_>, _>>()?;
    let auth: String = get(&r, 5, w)?;
    Ok(Some(App {
        id,
        account: AccountId::from_bytes(id16(get(&r, 0, w)?, w)?),
        name: get(&r, 1, w)?,
        description: get(&r, 2, w)?,
        kmip: get(&r, 3, w)?,
        rest: get(&r, 4, w)?,
        auth_method: AuthMethod::parse(&auth)
            .ok_or_else(|| corrupt(&format!("read app: unknown auth method {auth:?}")))?,
        groups,
        default_group: GroupId::from_bytes(id16(get(&r, 6, w)?, w)?),
        enabled: get(&r, 7, w)?,
        secret_hash: SecretHash(get(&r, 8, w)?),
        sealed_secret: get(&r, 10, w)?,
        pinned_certs,
        trusted_cas,
        created: get(&r, 9, w)?,
    }))
}

/// The app that pinned the certificate fingerprint `sha256` (the oldest pin if
/// several apps pinned it).
pub fn app_id_by_pinned_cert<C: GenericClient>(
    db: &mut Db<'_, C>,
    sha256: &[u8; 32],
) -> Result<Option<AppId>, StoreError> {
    let w = "find app by pinned certificate";
    db.query_opt(
        "SELECT p.app FROM app_pinned_certs p JOIN apps a ON a.id = p.app
         WHERE p.sha256 = $1 ORDER BY a.created, p.app LIMIT 1",
        &[&&sha256[..]],
    )
    .map_err(|e| backend(w, e))?
    .map(|r| Ok(AppId::from_bytes(id16(get(&r, 0, w)?, w)?)))
    .transpose()
}

/// The apps of `account`, by name; run inside one snapshot.
pub fn apps<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
) -> Result<Vec<App>, StoreError> {
    let w = "list apps";
    let ids = db
        .query(
            "SELECT id FROM apps WHERE account = $1 ORDER BY name",
            &[&&account.as_bytes()[..]],
        )
        .map_err(|e| backend(w, e))?
        .iter()
        .map(|r| Ok(AppId::from_bytes(id16(get(r, 0, w)?, w)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(app) = app(db, id)? {
            out.push(app);
        }
    }
    Ok(out)
}

/// An object of `account`.
pub fn object<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
    id: ObjectId,
) -> Result<Option<ManagedObject>, StoreError> {
    let w = "read object";
    let Some(r) = db
        .query_opt(
            "SELECT group_id, object_type, state, attributes, sealed, created, updated, creator
             FROM objects WHERE id = $1 AND account = $2",
            &[&&id.as_bytes()[..], &&account.as_bytes()[..]],
        )
        .map_err(|e| backend(w, e))?
    else {
        return Ok(None);
    };
    let attributes: Vec<u8> = get(&r, 3, w)?;
    let creator: Option<Vec<u8>> = get(&r, 7, w)?;
    Ok(Some(ManagedObject {
        id,
        account,
        group: GroupId::from_bytes(id16(get(&r, 0, w)?, w)?),
        object_type: ObjectType(u32_of(get(&r, 1, w)?, w)?),
        state: State(u32_of(get(&r, 2, w)?, w)?),
        attributes: decode_attributes(&attributes)?,
        sealed: get(&r, 4, w)?,
        created: get(&r, 5, w)?,
        updated: get(&r, 6, w)?,
        creator: creator
            .map(|a| id16(a, w).map(AppId::from_bytes))
            .transpose()?,
    }))
}

// ---- object search ----

/// A query under construction: its SQL and its numbered arguments.
#[derive(Default)]
struct Query {
    sql: String,
    args: Params,
}

impl Query {
    /// Adds an argument; returns its placeholder (`$n`).
    fn arg(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.args.push(Box::new(v));
        format!("${}", self.args.len())
    }

    /// Appends `before`, the placeholder of `v`, then `after`.
    fn push(&mut self, before: &str, v: impl ToSql + Sync + Send + 'static, after: &str) {
        let p = self.arg(v);
        self.sql.push_str(before);
        self.sql.push_str(&p);
        self.sql.push_str(after);
    }
}

/// The attribute conditions of `f` as (index key bytes, value bytes): the Name first.
fn attribute_conditions(f: &ObjectFilter) -> Vec<(Vec<u8>, Vec<u8>)> {
    let name_key = index_key(&AttributeName::Standard(Tag::NAME));
    f.name
        .iter()
        .map(|n| {
            (
                name_key.clone().into_bytes(),
                indexed_bytes(&IndexedValue::Text(n.clone())),
            )
        })
        .chain(
            f.attributes
                .iter()
                .map(|(n, v)| (index_key(n).into_bytes(), indexed_bytes(v))),
        )
        .collect()
}

/// `FROM … WHERE …` selecting the objects `o` of `account` that match `f`
/// (its order and paging aside). Each attribute condition is an EXISTS on
/// the index rows: PostgreSQL's planner turns them into semi-joins and
/// starts from the most selective one by its statistics.
fn object_query(account: AccountId, f: &ObjectFilter) -> Query {
    let acct = || account.as_bytes().to_vec();
    let mut q = Query::default();
    q.push("FROM objects o WHERE o.account = ", acct(), "");
    for (name, value) in attribute_conditions(f) {
        let a = q.arg(acct());
        let n = q.arg(name);
        let v = q.arg(value);
        q.sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM object_attrs x
                          WHERE x.account = {a} AND x.name = {n} AND x.value = {v}
                            AND x.object = o.id)"
        ));
    }
    if let Some(id) = f.id {
        q.push(" AND o.id = ", id.as_bytes().to_vec(), "");
    }
    if let Some(t) = f.object_type {
        q.push(" AND o.object_type = ", i64::from(t.0), "");
    }
    if let Some(s) = f.state {
        q.push(" AND o.state = ", i64::from(s.0), "");
    }
    if let Some(a) = f.algorithm {
        q.push(" AND o.algorithm = ", i64::from(a.0), "");
    }
    if let Some(l) = f.length {
        q.push(" AND o.crypto_length = ", i64::from(l), "");
    }
    if let Some(app) = f.creator {
        q.push(" AND o.creator = ", app.as_bytes().to_vec(), "");
    }
    for (column, range) in [
        ("created", f.created),
        ("updated", f.updated),
        ("activation", f.activation),
        ("deactivation", f.deactivation),
    ] {
        if let Some(from) = range.from {
            q.push(&format!(" AND o.{column} >= "), from, "");
        }
        if let Some(to) = range.to {
            q.push(&format!(" AND o.{column} <= "), to, "");
        }
    }
    if !f.states.is_empty() {
        let states: Vec<i64> = f.states.iter().map(|s| i64::from(s.0)).collect();
        q.push(" AND o.state = ANY(", states, ")");
    }
    if !f.groups.is_empty() {
        let groups: Vec<Vec<u8>> = f.groups.iter().map(|g| g.as_bytes().to_vec()).collect();
        q.push(" AND o.group_id = ANY(", groups, ")");
    }
    q
}

/// The column of a sort key.
fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Created => "created",
        SortKey::Updated => "updated",
        SortKey::Name => "sort_name",
    }
}

/// The ids of `account`'s objects that match `f`, in its order and page
/// (by default oldest first: created, then id). Run inside one snapshot when
/// `f.after` is given (the cursor's row and the page agree).
pub fn locate<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
    f: &ObjectFilter,
) -> Result<Vec<ObjectId>, StoreError> {
    let column = sort_column(f.sort.key);
    let mut q = object_query(account, f);
    q.sql = format!("SELECT o.id {}", q.sql);
    let (dir, cmp) = if f.sort.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    if let Some(after) = f.after {
        let row = db
            .query_opt(
                &format!("SELECT {column} FROM objects WHERE id = $1 AND account = $2"),
                &[&&after.as_bytes()[..], &&account.as_bytes()[..]],
            )
            .map_err(|e| backend("locate: read the cursor object", e))?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "object {after} (the page cursor) in account {account}"
                ))
            })?;
        let w = "locate: the cursor's sort key";
        let key = match f.sort.key {
            SortKey::Name => q.arg(get::<Vec<u8>>(&row, 0, w)?),
            SortKey::Created | SortKey::Updated => q.arg(get::<i64>(&row, 0, w)?),
        };
        let id = q.arg(after.as_bytes().to_vec());
        q.sql
            .push_str(&format!(" AND (o.{column}, o.id) {cmp} ({key}, {id})"));
    }
    let limit = f.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = i64::try_from(f.offset).unwrap_or(i64::MAX);
    let (l, o) = (q.arg(limit), q.arg(offset));
    // LIMIT NULL: no limit.
    q.sql.push_str(&format!(
        " ORDER BY o.{column} {dir}, o.id {dir} LIMIT {l} OFFSET {o}"
    ));
    db.query_dyn(&q.sql, &q.args)
        .map_err(|e| backend("locate", e))?
        .iter()
        .map(|r| Ok(ObjectId::from_bytes(id16(get(r, 0, "locate")?, "locate")?)))
        .collect()
}

/// How many of `account`'s objects match `f` (its order and paging ignored).
pub fn count_objects<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
    f: &ObjectFilter,
) -> Result<u64, StoreError> {
    let mut q = object_query(account, f);
    q.sql = format!("SELECT COUNT(*) {}", q.sql);
    let rows = db
        .query_dyn(&q.sql, &q.args)
        .map_err(|e| backend("count objects", e))?;
    let n: i64 = match rows.first() {
        Some(r) => get(r, 0, "count objects")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

// ---- audit ----

/// Appends `events` to their chains. Each chain's head row is locked first
/// (created if the chain is new), in the order of the chain ids so that two
/// writers of the same chains never wait for each other in a circle; a
/// writer on another connection or node waits for the lock and then reads
/// the head the first one left, so every chain stays one unbroken sequence.
pub fn append_audit<C: GenericClient>(
    db: &mut Db<'_, C>,
    events: &[AuditEvent],
) -> Result<Vec<AuditRecord>, StoreError> {
    let what = "append audit records";
    let mut chains: Vec<[u8; 16]> = events.iter().map(|e| audit::chain_id(e.account)).collect();
    chains.sort_unstable();
    chains.dedup();
    let mut heads: std::collections::HashMap<[u8; 16], Option<(u64, [u8; 32])>> =
        std::collections::HashMap::new();
    for chain in &chains {
        db.execute(
            "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, $2)
             ON CONFLICT (chain) DO NOTHING",
            &[&&chain[..], &&[0u8; 32][..]],
        )
        .map_err(|e| backend(what, e))?;
        let r = db
            .query_one(
                "SELECT seq, hash FROM audit_heads WHERE chain = $1 FOR UPDATE",
                &[&&chain[..]],
            )
            .map_err(|e| backend(what, e))?;
        heads.insert(*chain, head_from(&r)?);
    }
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let chain = audit::chain_id(event.account);
        let head = heads.get(&chain).copied().flatten();
        let r = audit::chain_next(event.clone(), head);
        heads.insert(chain, Some((r.seq, r.hash)));
        out.push(r);
    }
    // One statement for the whole batch: the chains' head rows stay locked
    // until the commit, and nodes writing one chain wait for each other, so
    // every round trip saved here is saved by every node.
    let chains: Vec<[u8; 16]> = out
        .iter()
        .map(|r| audit::chain_id(r.event.account))
        .collect();
    let chain: Vec<&[u8]> = chains.iter().map(|c| &c[..]).collect();
    let seq: Vec<i64> = out.iter().map(|r| r.seq as i64).collect();
    let time_ms: Vec<i64> = out.iter().map(|r| r.event.time_ms).collect();
    let actor_kind: Vec<&str> = out.iter().map(|r| r.event.actor_kind.as_str()).collect();
    let actor: Vec<&str> = out.iter().map(|r| r.event.actor.as_str()).collect();
    let source: Vec<&str> = out.iter().map(|r| r.event.source.as_str()).collect();
    let operation: Vec<&str> = out.iter().map(|r| r.event.operation.as_str()).collect();
    let object: Vec<Option<&str>> = out.iter().map(|r| r.event.object.as_deref()).collect();
    let result: Vec<&str> = out.iter().map(|r| r.event.outcome.as_str()).collect();
    let reason: Vec<Option<&str>> = out.iter().map(|r| r.event.reason.as_deref()).collect();
    let message: Vec<Option<&str>> = out.iter().map(|r| r.event.message.as_deref()).collect();
    let prev_hash: Vec<&[u8]> = out.iter().map(|r| &r.prev_hash[..]).collect();
    let hash: Vec<&[u8]> = out.iter().map(|r| &r.hash[..]).collect();
    db.execute(
        "INSERT INTO audit (chain, seq, time_ms, actor_kind, actor, source, operation, object,
                            result, reason, message, prev_hash, hash)
         SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::text[], $12::bytea[], $13::bytea[])",
        &[
            &chain,
            &seq,
            &time_ms,
            &actor_kind,
            &actor,
            &source,
            &operation,
            &object,
            &result,
            &reason,
            &message,
            &prev_hash,
            &hash,
        ],
    )
    .map_err(|e| backend(what, e))?;
    for (chain, head) in heads {
        if let Some((seq, hash)) = head {
            db.execute(
                "UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1",
                &[&&chain[..], &(seq as i64), &&hash[..]],
            )
            .map_err(|e| backend(what, e))?;
        }
    }
    Ok(out)
}

/// A head row read back; seq 0 is a chain with no record yet.
fn head_from(r: &Row) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let w = "read audit head";
    let seq: i64 = get(r, 0, w)?;
    if seq <= 0 {
        return Ok(None);
    }
    let hash: [u8; 32] = get::<Vec<u8>>(r, 1, w)?
        .try_into()
        .map_err(|_| corrupt("audit head: a hash is not 32 bytes"))?;
    Ok(Some((seq as u64, hash)))
}

/// A chain's head.
pub fn audit_head<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: Option<AccountId>,
) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let chain = audit::chain_id(account);
    match db
        .query_opt(
            "SELECT seq, hash FROM audit_heads WHERE chain = $1",
            &[&&chain[..]],
        )
        .map_err(|e| backend("read audit head", e))?
    {
        Some(r) => head_from(&r),
        None => Ok(None),
    }
}

const AUDIT_COLS: &str = "SELECT seq, time_ms, actor_kind, actor, source, operation, object, \
                          result, reason, message, prev_hash, hash FROM audit";

fn audit_record(account: Option<AccountId>, r: &Row) -> Result<AuditRecord, StoreError> {
    let w = "read audit records";
    let kind: String = get(r, 2, w)?;
    let result: String = get(r, 7, w)?;
    let seq: i64 = get(r, 0, w)?;
    let event = AuditEvent {
        account,
        time_ms: get(r, 1, w)?,
        actor_kind: ActorKind::parse(&kind)
            .ok_or_else(|| corrupt(&format!("audit record {seq}: actor kind {kind:?}")))?,
        actor: get(r, 3, w)?,
        source: get(r, 4, w)?,
        operation: get(r, 5, w)?,
        object: get(r, 6, w)?,
        outcome: Outcome::parse(&result)
            .ok_or_else(|| corrupt(&format!("audit record {seq}: result {result:?}")))?,
        reason: get(r, 8, w)?,
        message: get(r, 9, w)?,
    };
    // A wrong-sized hash is read as zeros so that verification names the record.
    let fixed = |v: Vec<u8>| <[u8; 32]>::try_from(v).unwrap_or([0; 32]);
    Ok(AuditRecord {
        event,
        seq: seq.max(0) as u64,
        prev_hash: fixed(get(r, 10, w)?),
        hash: fixed(get(r, 11, w)?),
    })
}

/// Records of a chain after `after_seq`, in order.
pub fn audit_chain_page<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: Option<AccountId>,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let chain = audit::chain_id(account);
    db.query(
        &format!("{AUDIT_COLS} WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
        &[
            &&chain[..],
            &i64::try_from(after_seq).unwrap_or(i64::MAX),
            &(limit.min(10_000) as i64),
        ],
    )
    .map_err(|e| backend("read audit records", e))?
    .iter()
    .map(|r| audit_record(account, r))
    .collect()
}

/// Records of a chain matching `q`, newest first.
pub fn audit_query<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: Option<AccountId>,
    aq: &AuditQuery,
) -> Result<Vec<AuditRecord>, StoreError> {
    let chain = audit::chain_id(account);
    let mut q = Query::default();
    q.push(&format!("{AUDIT_COLS} WHERE chain = "), chain.to_vec(), "");
    if let Some(t) = aq.from_ms {
        q.push(" AND time_ms >= ", t, "");
    }
    if let Some(t) = aq.to_ms {
        q.push(" AND time_ms < ", t, "");
    }
    if let Some(a) = &aq.actor {
        q.push(" AND actor = ", a.clone(), "");
    }
    if let Some(o) = &aq.object {
        q.push(" AND object = ", o.clone(), "");
    }
    if let Some(o) = &aq.operation {
        q.push(" AND operation = ", o.clone(), "");
    }
    if let Some(b) = aq.before_seq {
        q.push(" AND seq < ", i64::try_from(b).unwrap_or(i64::MAX), "");
    }
    q.push(
        " ORDER BY seq DESC LIMIT ",
        aq.limit.clamp(1, 10_000) as i64,
        "",
    );
    db.query_dyn(&q.sql, &q.args)
        .map_err(|e| backend("query audit records", e))?
        .iter()
        .map(|r| audit_record(account, r))
        .collect()
}

// ---- account CAs and the certificates apps hold ----

/// Adds an account's CA (`Conflict` if it has one).
pub fn add_account_ca<C: GenericClient>(
    db: &mut Db<'_, C>,
    ca: &AccountCa,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO account_cas (account, cert_der, sealed_key, created) VALUES ($1, $2, $3, $4)",
        &[
            &&ca.account.as_bytes()[..],
            &ca.cert_der,
            &ca.sealed_key,
            &ca.created,
        ],
    )
    .map(drop)
    .map_err(|e| backend(&format!("add the CA of account {}", ca.account), e))
}

/// The CA of `account`.
pub fn account_ca<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
) -> Result<Option<AccountCa>, StoreError> {
    let w = "read account CA";
    db.query_opt(
        "SELECT cert_der, sealed_key, created FROM account_cas WHERE account = $1",
        &[&&account.as_bytes()[..]],
    )
    .map_err(|e| backend(w, e))?
    .map(|r| {
        Ok(AccountCa {
            account,
            cert_der: get(&r, 0, w)?,
            sealed_key: get(&r, 1, w)?,
            created: get(&r, 2, w)?,
        })
    })
    .transpose()
}

/// Keeps `cert` for `app` (which exists in its account: run after [`update_app`]);
/// one it already keeps stays as it was.
pub fn keep_certificate<C: GenericClient>(
    db: &mut Db<'_, C>,
    app: &App,
    cert: &KeptCertificate,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO app_certs (app, account, sha256, der, origin, added)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (app, sha256) DO NOTHING",
        &[
            &&app.id.as_bytes()[..],
            &&app.account.as_bytes()[..],
            &&cert.sha256()[..],
            &cert.der,
            &cert.origin.as_str(),
            &cert.added,
        ],
    )
    .map(drop)
    .map_err(|e| backend(&format!("keep a certificate of app {}", app.id), e))
}

/// The certificates kept for the apps of `account`, oldest first.
pub fn kept_certificates<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
) -> Result<Vec<(AppId, KeptCertificate)>, StoreError> {
    let w = "list kept certificates";
    db.query(
        "SELECT app, der, origin, added FROM app_certs WHERE account = $1 ORDER BY added, ord",
        &[&&account.as_bytes()[..]],
    )
    .map_err(|e| backend(w, e))?
    .iter()
    .map(|r| {
        let origin: String = get(r, 2, w)?;
        let origin = CertOrigin::parse(&origin)
            .ok_or_else(|| corrupt(&format!("{w}: unknown origin {origin:?}")))?;
        Ok((
            AppId::from_bytes(id16(get(r, 0, w)?, w)?),
            KeptCertificate {
                der: get(r, 1, w)?,
                origin,
                added: get(r, 3, w)?,
            },
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
