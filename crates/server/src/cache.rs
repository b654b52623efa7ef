//! What a node keeps in memory of the store: accounts, apps (with the
//! certificates pinned to them) and objects, so that a warm KMIP Get asks
//! the database nothing (only the audit record is written, in batches).
//!
//! Several nodes share one database, so each must forget what another node
//! changed. The store records every change of a cached row in its change
//! feed ([`Store::changes_since`]), in the writing transaction; every node
//! follows the feed ([`CachedStore::follow`]) and drops what it names. A
//! node's own writes drop their entries at once.
//!
//! How stale an entry can be (the bound the README states): on PostgreSQL a
//! commit's NOTIFY wakes every node, which reads the feed at once (a few
//! milliseconds); without it a node reads the feed every [`POLL`]. A node
//! that cannot read the feed empties its cache at once and reads through to
//! the database until it follows the feed again: with the database gone, a
//! node answers with an error, not from memory (no key is served whose audit
//! record cannot be written, nor after a change the node could not hear of).
//!
//! A read racing a change never leaves the old row behind: every drop bumps a
//! generation, and a row read from the database is kept only if no drop
//! happened while it was read.

use crate::metrics::Metrics;
use skms_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use skms_core::ca::{AccountCa, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::model::{Account, App, Group, ManagedObject, User};
use skms_core::store::{must_not_wait, ChangeBatch, Changed, ObjectFilter, Store, StoreError};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How often a node reads the change feed when no NOTIFY wakes it (one
/// indexed read: cheap enough to keep the bound short).
pub const POLL: Duration = Duration::from_millis(250);

/// How many changes one read of the feed takes.
const BATCH: usize = 1000;

/// How long the feed keeps a change (pruned by every node, once a minute).
const KEEP_CHANGES: Duration = Duration::from_secs(3600);

/// The most objects a node keeps (the oldest-inserted are not tracked:
/// a full cache drops an arbitrary entry to make room).
pub const DEFAULT_MAX_OBJECTS: usize = 100_000;

/// Where a node is in the change feed.
///
/// Numbers can appear out of order ([`ChangeBatch`]): the cursor remembers
/// the numbers it applied above its floor and the gaps below the highest
/// one, each with the mark that settles it; the floor moves up over what is
/// applied or settled.
#[derive(Debug)]
pub struct Cursor {
    floor: u64,
    seen: BTreeSet<u64>,
    /// Open gaps: first and last missing number, and the `started_before`
    /// of the batch that first showed the gap.
    gaps: Vec<(u64, u64, u64)>,
}

impl Cursor {
    /// A cursor after `latest` (changes up to it are already in the database a reader sees).
    pub fn at(latest: u64) -> Self {
        Cursor {
            floor: latest,
            seen: BTreeSet::new(),
            gaps: Vec::new(),
        }
    }

    /// The number to read the feed after.
    pub fn after(&self) -> u64 {
        self.floor
    }

    /// Takes a batch read after [`Cursor::after`]: the changes not applied yet.
    pub fn take(&mut self, batch: &ChangeBatch) -> Vec<Changed> {
        let fresh: Vec<Changed> = batch
            .changes
            .iter()
            .filter(|c| c.seq > self.floor && self.seen.insert(c.seq))
            .map(|c| c.what)
            .collect();
        // The missing numbers between the floor and the highest applied one,
        // each range marked by the earliest batch that showed it open.
        let mut gaps = Vec::new();
        let mut next = self.floor + 1;
        for &s in &self.seen {
            if s > next {
                let (lo, hi) = (next, s - 1);
                let mark = self
                    .gaps
                    .iter()
                    .filter(|(l, h, _)| *l <= hi && lo <= *h)
                    .map(|(_, _, m)| *m)
                    .min()
                    .unwrap_or(batch.started_before);
                if mark > batch.finished_before {
                    gaps.push((lo, hi, mark));
                }
            }
            next = s + 1;
        }
        self.gaps = gaps;
        self.floor = match self.gaps.first() {
            Some((lo, _, _)) => lo - 1,
            None => self.seen.last().copied().unwrap_or(self.floor),
        };
        self.seen = self.seen.split_off(&(self.floor + 1));
        fresh
    }
}

/// The rows a node keeps, and whether it may keep them.
#[derive(Default)]
struct Entries {
    /// The change feed is followed: rows read may be kept.
    live: bool,
    /// Bumped by every drop (a row read across a drop is not kept).
    generation: u64,
    accounts: HashMap<AccountId, Account>,
    apps: HashMap<AppId, App>,
    /// Certificate fingerprints to the app that pins them, or to none.
    pinned: HashMap<[u8; 32], Option<App>>,
    objects: HashMap<ObjectId, ManagedObject>,
}

impl Entries {
    fn drop_changed(&mut self, what: Changed) {
        self.generation += 1;
        match what {
            Changed::Account(id) => {
                self.accounts.remove(&id);
            }
            Changed::App(id) => {
                self.apps.remove(&id);
                // A new or changed app may pin any certificate: forget every lookup.
                self.pinned.clear();
            }
            Changed::Object(id) => {
                self.objects.remove(&id);
            }
        }
    }

    /// Keeps `o`, dropping an arbitrary entry when `max` objects are kept.
    fn keep_object(&mut self, o: &ManagedObject, max: usize) {
        if max == 0 {
            return;
        }
        if self.objects.len() >= max && !self.objects.contains_key(&o.id) {
            if let Some(victim) = self.objects.keys().next().copied() {
                self.objects.remove(&victim);
            }
        }
        self.objects.insert(o.id, o.clone());
    }

    fn clear(&mut self) {
        self.generation += 1;
        self.accounts.clear();
        self.apps.clear();
        self.pinned.clear();
        self.objects.clear();
    }
}

/// A [`Store`] that answers the hot reads (account, app, app by pinned
/// certificate, object) from memory while it follows the store's change feed.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    entries: RwLock<Entries>,
    max_objects: usize,
    metrics: Arc<Metrics>,
}

impl CachedStore {
    /// A cache over `inner` keeping at most `max_objects` objects (0: none),
    /// counting its hits and misses into `metrics`. It keeps nothing until
    /// [`CachedStore::follow`] follows the feed.
    pub fn new(inner: Arc<dyn Store>, max_objects: usize, metrics: Arc<Metrics>) -> Self {
        CachedStore {
            inner,
            entries: RwLock::new(Entries::default()),
            max_objects,
            metrics,
        }
    }

    fn set_live(&self, entries: &mut Entries, live: bool) {
        entries.live = live;
        self.metrics.cache_live(live);
    }

    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }

    /// True while the cache keeps rows (it follows the change feed).
    pub fn is_live(&self) -> bool {
        self.read().live
    }

    /// `lookup` in the cache, else `fetch` from the store, kept by `keep`
    /// when nothing was dropped meanwhile.
    fn cached<T: Clone>(
        &self,
        kind: &'static str,
        lookup: impl Fn(&Entries) -> Option<T>,
        fetch: impl FnOnce() -> Result<T, StoreError>,
        keep: impl FnOnce(&mut Entries, &T),
    ) -> Result<T, StoreError> {
        let generation = {
            let e = self.read();
            if let Some(hit) = lookup(&e) {
                drop(e);
                self.metrics.cache_lookup(kind, true);
                return Ok(hit);
            }
            e.generation
        };
        if let Some(refused) = must_not_wait() {
            return Err(refused);
        }
        self.metrics.cache_lookup(kind, false);
        let fetched = fetch()?;
        let mut e = self.write();
        if e.live && e.generation == generation {
            keep(&mut e, &fetched);
        }
        Ok(fetched)
    }

    /// Stores the new object `o`, then keeps it unless something was dropped
    /// meanwhile (vCenter reads a key soon after creating it).
    fn inserting(&self, o: &ManagedObject) -> Result<(), StoreError> {
        if let Some(refused) = must_not_wait() {
            return Err(refused);
        }
        let generation = self.read().generation;
        self.inner.insert_object(o)?;
        let mut e = self.write();
        if e.live && e.generation == generation {
            e.keep_object(o, self.max_objects);
        }
        Ok(())
    }

    /// Runs the write `f`, then drops what it may have changed (also when it
    /// failed: it may have committed before the failure reached us).
    fn changing<T>(
        &self,
        changed: &[Changed],
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(refused) = must_not_wait() {
            return Err(refused);
        }
        let out = f();
        let mut e = self.write();
        for what in changed {
            e.drop_changed(*what);
        }
        out
    }

    /// Runs the write `f`, then drops every entry.
    fn changing_all<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        if let Some(refused) = must_not_wait() {
            return Err(refused);
        }
        let out = f();
        self.write().clear();
        out
    }

    /// Follows the change feed of the store under `cache` on a thread of its
    /// own, until `cache` is dropped.
    pub fn follow(cache: &Arc<CachedStore>) -> std::io::Result<()> {
        let weak = Arc::downgrade(cache);
        std::thread::Builder::new()
            .name("skms-cache-feed".into())
            .spawn(move || follow_feed(weak))
            .map(|_| ())
    }

    /// Drops what a batch of the feed names that `cursor` had not applied; how many.
    fn apply(&self, batch: &ChangeBatch, cursor: &mut Cursor) -> usize {
        let changed = cursor.take(batch);
        if !changed.is_empty() {
            let mut e = self.write();
            for what in &changed {
                e.drop_changed(*what);
            }
        }
        changed.len()
    }
}

/// The loop of [`CachedStore::follow`].
fn follow_feed(weak: Weak<CachedStore>) {
    // Where the cache is in the feed, and (until the cache is live) the mark
    // that every transaction running at the start must pass first.
    let mut cursor: Option<(Cursor, Option<u64>)> = None;
    let mut last_prune: Option<Instant> = None;
    let mut warned = false;
    loop {
        let Some(cache) = weak.upgrade() else { return };
        let read = match &cursor {
            None => cache.inner.changes_since(u64::MAX, 0),
            Some((c, _)) => cache.inner.changes_since(c.after(), BATCH),
        };
        let (mut full, mut failed) = (false, false);
        match read {
            Ok(batch) => {
                if warned {
                    info!("the change feed is read again: the cache fills from now on");
                    warned = false;
                }
                let (c, start) = cursor
                    .get_or_insert_with(|| (Cursor::at(batch.latest), Some(batch.started_before)));
                cache.apply(&batch, c);
                // Live once every transaction that ran at the start has ended:
                // what they changed is in the database a later read sees.
                if let Some(mark) = *start {
                    if batch.finished_before >= mark {
                        *start = None;
                        cache.set_live(&mut cache.write(), true);
                    }
                }
                full = batch.changes.len() >= BATCH;
            }
            Err(e) => {
                if cursor.is_some() {
                    warn!(error = %e, "the change feed cannot be read: the cache is emptied and reads go to the store");
                    warned = true;
                    let mut entries = cache.write();
                    cache.set_live(&mut entries, false);
                    entries.clear();
                    cursor = None;
                }
                failed = true;
            }
        }
        if last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            last_prune = Some(Instant::now());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let before = now - KEEP_CHANGES.as_secs() as i64;
            if let Err(e) = cache.inner.prune_changes(before) {
                warn!(error = %e, "old changes of the change feed could not be pruned");
            }
        }
        if full {
            continue;
        }
        let inner = cache.inner.clone();
        drop(cache);
        if failed {
            std::thread::sleep(POLL);
        } else if inner.wait_for_changes(POLL).is_err() {
            // The listening connection broke: read the feed at once (and
            // empty the cache if the database is gone).
            continue;
        }
    }
}

macro_rules! route {
    (account, $s:ident, $id:ident) => {
        $s.cached(
            "account",
            |e| e.accounts.get(&$id).cloned().map(Some),
            || $s.inner.account($id),
            |e, found| {
                if let Some(a) = found {
                    e.accounts.insert($id, a.clone());
                }
            },
        )
    };
    (app, $s:ident, $id:ident) => {
        $s.cached(
            "app",
            |e| e.apps.get(&$id).cloned().map(Some),
            || $s.inner.app($id),
            |e, found| {
                if let Some(a) = found {
                    e.apps.insert($id, a.clone());
                }
            },
        )
    };
    (app_by_pinned_cert, $s:ident, $sha256:ident) => {
        $s.cached(
            "pinned_certificate",
            |e| e.pinned.get($sha256).cloned(),
            || $s.inner.app_by_pinned_cert($sha256),
            |e, found| {
                if e.pinned.len() >= 10_000 {
                    e.pinned.clear();
                }
                e.pinned.insert(*$sha256, found.clone());
            },
        )
    };
    (object, $s:ident, $account:ident, $id:ident) => {
        $s.cached(
            "object",
            |e| {
                e.objects
                    .get(&$id)
                    .filter(|o| o.account == $account)
                    .cloned()
                    .map(Some)
            },
            || $s.inner.object($account, $id),
            |e, found| {
                if let Some(o) = found {
                    e.keep_object(o, $s.max_objects);
                }
            },
        )
    };
    (update_app, $s:ident, $app:ident) => {
        $s.changing(&[Changed::App($app.id)], || $s.inner.update_app($app))
    };
    (create_app, $s:ident, $app:ident) => {
        $s.changing(&[Changed::App($app.id)], || $s.inner.create_app($app))
    };
    (update_app_keeping_certificate, $s:ident, $app:ident, $cert:ident) => {
        $s.changing(&[Changed::App($app.id)], || {
            $s.inner.update_app_keeping_certificate($app, $cert)
        })
    };
    (set_account_enabled, $s:ident, $id:ident, $enabled:ident) => {
        $s.changing(&[Changed::Account($id)], || {
            $s.inner.set_account_enabled($id, $enabled)
        })
    };
    (insert_object, $s:ident, $object:ident) => {
        $s.inserting($object)
    };
    (update_object, $s:ident, $object:ident) => {
        $s.changing(&[Changed::Object($object.id)], || {
            $s.inner.update_object($object)
        })
    };
    (delete_account, $s:ident, $id:ident) => {
        $s.changing_all(|| $s.inner.delete_account($id))
    };
    (import_rows, $s:ident, $source:ident) => {
        $s.changing_all(|| $s.inner.import_rows($source))
    };
    // Everything else reaches the database: refused while serving from memory.
    ($name:ident, $s:ident $(, $arg:ident)*) => {
        match must_not_wait() {
            Some(refused) => Err(refused),
            None => $s.inner.$name($($arg),*),
        }
    };
}

macro_rules! cached_store {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store for CachedStore {
            $(
                fn $name(&self $(, $arg: $ty)*) -> $ret {
                    route!($name, self $(, $arg)*)
                }
            )*
        }
    };
}

crate::for_each_store_method!(cached_store);

#[cfg(test)]
mod tests {
    use super::*;
    use skms_core::store::Change;

    fn batch(seqs: &[u64], started_before: u64, finished_before: u64) -> ChangeBatch {
        ChangeBatch {
            changes: seqs
                .iter()
                .map(|&seq| Change {
                    seq,
                    what: Changed::Object(ObjectId::from_bytes([seq as u8; 16])),
                })
                .collect(),
            latest: seqs.iter().copied().max().unwrap_or(0),
            started_before,
            finished_before,
        }
    }

    #[test]
    fn numbers_in_order_move_the_floor() {
        let mut c = Cursor::at(4);
        assert_eq!(c.take(&batch(&[5, 6, 7], 0, u64::MAX)).len(), 3);
        assert_eq!(c.after(), 7);
        assert_eq!(c.take(&batch(&[], 0, u64::MAX)).len(), 0);
        assert_eq!(c.after(), 7);
    }

    #[test]
    fn an_open_gap_holds_the_floor_and_its_late_change_is_applied_once() {
        let mut c = Cursor::at(4);
        // 6 is missing while a transaction older than 100 runs (50 has not ended).
        assert_eq!(c.take(&batch(&[5, 7], 100, 50)).len(), 2);
        assert_eq!(c.after(), 5, "the floor waits below the gap");
        // Read again from 5: 7 was applied already, 6 is new.
        let fresh = c.take(&batch(&[6, 7], 120, 60));
        assert_eq!(fresh, [Changed::Object(ObjectId::from_bytes([6; 16]))]);
        assert_eq!(c.after(), 7);
    }

    #[test]
    fn a_gap_settles_when_every_transaction_that_could_fill_it_ended() {
        let mut c = Cursor::at(4);
        c.take(&batch(&[5, 7], 100, 50));
        // Later batches show the gap still open; the mark stays the first one's.
        c.take(&batch(&[7, 9], 200, 90));
        assert_eq!(c.after(), 5);
        assert_eq!(c.gaps, vec![(6, 6, 100), (8, 8, 200)]);
        // Every transaction begun before 100 has ended: 6 never comes; 8 may.
        assert!(c.take(&batch(&[7, 9], 210, 100)).is_empty());
        assert_eq!(c.after(), 7);
        assert!(c.take(&batch(&[9], 230, 200)).is_empty());
        assert_eq!(c.after(), 9);
        assert!(c.seen.is_empty() && c.gaps.is_empty());
    }

    #[test]
    fn a_store_that_commits_in_order_settles_every_gap_at_once() {
        // SQLite: started_before 0, finished_before MAX; a rolled-back number leaves a gap.
        let mut c = Cursor::at(0);
        assert_eq!(c.take(&batch(&[1, 3, 1000], 0, u64::MAX)).len(), 3);
        assert_eq!(c.after(), 1000);
    }
}
