//! How Locate scales with the size of an account: fills one account of a fresh
//! SqliteStore with N AES-256 keys, each with a unique Name and `x-Name` (as
//! vCenter tags its keys), then times Locate by Name and by `x-Name` through
//! `skms_core::ops::handle_message` (the path a KMIP request takes after
//! decoding), and a management-plane listing (a filtered, sorted page of 50
//! and its total) straight on the store and as `GET /v1/objects` builds it
//! (`ops::manage::list`: the page read whole, the total, the next key).
//!
//! ```text
//! cargo build --release -p skms-store --example locate_scale
//! target/release/examples/locate_scale [N] [lookups]
//! target/release/examples/locate_scale 1000000 20000
//! target/release/examples/locate_scale --compare 1000 1000000 [lookups]
//! ```
//! N defaults to 1,000 and lookups to 10,000. The keys are written with
//! `Store::insert_objects`, 10,000 a transaction, as Create would store them
//! (attributes, sealed value), without running Create's cryptography for each.
//! `--compare` measures two sizes in one process, alternating rounds of 500
//! lookups between them so that the noise of a shared machine falls on both
//! alike, and prints the ratio of their percentiles. With `SKMS_BENCH_DIR`
//! set, the databases are kept there (`<N>.db`) and reused by later runs.
//! `SKMS_BENCH_MMAP_MIB=2048` maps the database into the readers' memory
//! (`SqliteOptions::mmap_mib`; off by default).

use kmip::attributes::{Attribute, Attributes, InlineAttributes};
use kmip::enums::{CryptographicAlgorithm, NameType, ObjectType, State};
use kmip::messages::{ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage};
use kmip::payloads::{LocateRequest, ResponsePayload};
use kmip::{Tag, Ttlv, Value};
use skms_core::ids::ObjectId;
use skms_core::keys::FileRoot;
use skms_core::model::{AuthMethod, ManagedObject};
use skms_core::ops::{handle_message, Caller, Context, ServerInfo};
use skms_core::store::{IndexedValue, ObjectFilter, ObjectSort, SortKey, Store};
use skms_core::tenancy::{self, Keyring, NewApp};
use skms_store::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: i64 = 1_700_000_000;
const CHUNK: usize = 10_000;

/// A small, seedable generator: the lookups are the same from run to run.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn name(text: String) -> Attribute {
    Attribute::new(
        Tag::NAME,
        Value::Structure(vec![
            Ttlv::new(Tag::NAME_VALUE, Value::TextString(text)),
            Ttlv::new(
                Tag::NAME_TYPE,
                Value::Enumeration(NameType::UNINTERPRETED_TEXT_STRING.0),
            ),
        ]),
    )
}

/// Key `i` as Create stores it.
fn key(caller: &Caller, i: usize) -> ManagedObject {
    let id = ObjectId::new();
    let created = NOW + (i / 100) as i64;
    let attributes = Attributes::new(vec![
        Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        ),
        Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
        Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
        name(format!("key-{i:07}")),
        Attribute::custom("x-Name", Value::TextString(format!("vm-{i:07}"))),
        Attribute::custom(
            "x-Component",
            Value::TextString(format!("cluster-{}", i % 16)),
        ),
        Attribute::new(Tag::UNIQUE_IDENTIFIER, Value::TextString(id.to_string())),
        Attribute::new(
            Tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
        ),
        Attribute::new(Tag::INITIAL_DATE, Value::DateTime(created)),
        Attribute::new(Tag::ORIGINAL_CREATION_DATE, Value::DateTime(created)),
        Attribute::new(Tag::STATE, Value::Enumeration(State::ACTIVE.0)),
        Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(created)),
        Attribute::new(Tag::LAST_CHANGE_DATE, Value::DateTime(created)),
    ]);
    ManagedObject {
        id,
        account: caller.account.id,
        group: caller.target_group.expect("an app's default group"),
        object_type: ObjectType::SYMMETRIC_KEY,
        state: State::ACTIVE,
        attributes,
        // the size of a sealed AES-256 key; Locate never opens it
        sealed: Some([id.as_bytes().as_slice(), &[0xA5; 100]].concat()),
        created,
        updated: created,
        creator: caller.creator(),
    }
}

fn locate_message(wanted: Attribute) -> RequestMessage {
    let payload = LocateRequest {
        attributes: InlineAttributes(Some(Attributes::new(vec![wanted]))),
        ..Default::default()
    };
    RequestMessage {
        header: RequestHeader {
            protocol_version: ProtocolVersion::new(1, 4),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem {
            operation: kmip::enums::Operation::LOCATE,
            ephemeral: None,
            unique_batch_item_id: None,
            payload: payload.into(),
            message_extension: None,
        }],
    }
}

/// The store's read options: the defaults, with `SKMS_BENCH_MMAP_MIB` mapped.
fn options() -> SqliteOptions {
    SqliteOptions {
        mmap_mib: std::env::var("SKMS_BENCH_MMAP_MIB")
            .map_or(0, |m| m.parse().expect("SKMS_BENCH_MMAP_MIB: MiB")),
        ..SqliteOptions::default()
    }
}

/// The resident size of this process (VmRSS), and its anonymous and file-backed parts.
fn vm_rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map_or("?".to_string(), |l| l[name.len()..].trim().to_string())
    };
    format!(
        "{} (anonymous {}, file {})",
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:")
    )
}

/// The `q` quantile of `t`, in microseconds.
fn percentile(t: &[Duration], q: f64) -> f64 {
    let mut t = t.to_vec();
    t.sort();
    t[((t.len() as f64 * q).ceil() as usize).clamp(1, t.len()) - 1].as_secs_f64() * 1e6
}

/// Throughput and percentiles of the timings, in microseconds.
fn report(what: &str, mut t: Vec<Duration>) {
    t.sort();
    let total: Duration = t.iter().sum();
    let pct = |p: f64| t[((t.len() as f64 * p).ceil() as usize).clamp(1, t.len()) - 1];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{what:<34} n={:<6} {:>8.0} ops/s  p50 {:>7.1} µs  p90 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs",
        t.len(),
        t.len() as f64 / total.as_secs_f64(),
        us(pct(0.50)),
        us(pct(0.90)),
        us(pct(0.99)),
        us(*t.last().unwrap()),
    );
}

/// One filled database and the app that searches it.
struct Bench {
    n: usize,
    store: SqliteStore,
    keyring: Keyring,
    caller: Caller,
    /// Removed when done (a database not kept in `SKMS_BENCH_DIR`).
    scratch: Option<std::path::PathBuf>,
}

impl Bench {
    /// The database of `n` keys: reused from `SKMS_BENCH_DIR`, or filled.
    fn open(n: usize) -> Self {
        let (dir, scratch) = match std::env::var_os("SKMS_BENCH_DIR") {
            Some(d) => (std::path::PathBuf::from(d), None),
            None => {
                let d = std::env::temp_dir()
                    .join(format!("skms-locate-scale-{}-{n}", std::process::id()));
                (d.clone(), Some(d))
            }
        };
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join(format!("{n}.db"));
        let reuse = db.exists();
        let store = SqliteStore::open_with(&db, &options()).unwrap();
        let (root, _) = FileRoot::open_or_create(&db.with_extension("root")).unwrap();
        let keyring = Keyring::new(Arc::new(root));
        let caller = if reuse {
            let account = store
                .accounts()
                .unwrap()
                .into_iter()
                .find(|a| a.name == "bench")
                .expect("a database of this benchmark");
            let app = store.apps(account.id).unwrap().remove(0);
            let have = store
                .count_objects(account.id, &ObjectFilter::default())
                .unwrap() as usize;
            assert_eq!(have, n, "{} holds {have} keys, not {n}", db.display());
            println!("reusing {} ({n} keys)", db.display());
            Caller::app(app, account)
        } else {
            let (account, _) =
                tenancy::create_account(&store, keyring.root(), "bench", NOW).unwrap();
            let (app, _) = tenancy::create_app(
                &store,
                &keyring,
                account.id,
                NewApp {
                    name: "vcenter".into(),
                    description: String::new(),
                    kmip: true,
                    rest: false,
                    auth_method: AuthMethod::ApiKey,
                    groups: vec![],
                    default_group: None,
                },
                NOW,
            )
            .unwrap();
            let caller = Caller::app(app, account);
            fill(&store, &caller, n, &db);
            caller
        };
        Bench {
            n,
            store,
            keyring,
            caller,
            scratch,
        }
    }

    /// `count` Locates of random keys through the operations, each timed.
    fn lookups(&self, rng: &mut XorShift, by: By, count: usize) -> Vec<Duration> {
        let info = ServerInfo::default();
        let ctx = Context {
            store: &self.store as &dyn Store,
            keyring: &self.keyring,
            now: NOW + 1_000_000,
            server: &info,
        };
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let i = rng.below(self.n);
            let wanted = match by {
                By::Name => name(format!("key-{i:07}")),
                By::XName => Attribute::custom("x-Name", Value::TextString(format!("vm-{i:07}"))),
            };
            let req = locate_message(wanted);
            let t = Instant::now();
            let resp = handle_message(&ctx, Some(&self.caller), req);
            times.push(t.elapsed());
            let Some(ResponsePayload::Locate(l)) = &resp.batch_items[0].payload else {
                panic!("{resp:?}")
            };
            assert_eq!(l.unique_identifier.len(), 1, "key {i}");
        }
        times
    }

    /// The management plane's lists: one component's keys by name, newest
    /// first, a page of 50, the next page by keyset, the total; every key
    /// newest first; each timed `runs` times.
    fn lists(&self, runs: usize) {
        let account = self.caller.account.id;
        let component = ObjectFilter {
            attributes: vec![(
                kmip::attributes::AttributeName::from_v1("x-Component"),
                IndexedValue::Text("cluster-3".into()),
            )],
            sort: ObjectSort {
                key: SortKey::Name,
                descending: true,
            },
            limit: Some(50),
            ..Default::default()
        };
        let in_group = ObjectFilter {
            groups: self.caller.as_app().expect("an app").groups.clone(),
            states: vec![State::PRE_ACTIVE, State::ACTIVE],
            ..component.clone()
        };
        let newest = ObjectFilter {
            sort: ObjectSort {
                key: SortKey::Created,
                descending: true,
            },
            limit: Some(50),
            ..Default::default()
        };
        let expected = self.n / 16 + usize::from(self.n % 16 > 3);
        let mut t: [Vec<Duration>; 6] = Default::default();
        for _ in 0..runs {
            let clock = Instant::now();
            let page = self.store.locate(account, &component).unwrap();
            t[0].push(clock.elapsed());
            assert_eq!(page.len(), 50.min(expected));
            let clock = Instant::now();
            self.store
                .locate(
                    account,
                    &ObjectFilter {
                        after: page.last().copied(),
                        ..component.clone()
                    },
                )
                .unwrap();
            t[1].push(clock.elapsed());
            let clock = Instant::now();
            let total = self.store.count_objects(account, &component).unwrap();
            t[2].push(clock.elapsed());
            assert_eq!(total as usize, expected);
            let clock = Instant::now();
            assert_eq!(self.store.locate(account, &in_group).unwrap(), page);
            t[3].push(clock.elapsed());
            let clock = Instant::now();
            assert_eq!(self.store.count_objects(account, &in_group).unwrap(), total);
            t[4].push(clock.elapsed());
            let clock = Instant::now();
            self.store.locate(account, &newest).unwrap();
            t[5].push(clock.elapsed());
        }
        let [a, b, c, d, e, f] = t;
        report("list 1 component by name, page 1", a);
        report("  … page 2 (keyset)", b);
        report("  … total", c);
        report("  … in the app's groups, active", d);
        report("  … its total", e);
        report("list all newest first, page 1", f);

        // What GET /v1/objects does for the console: a page of 50 objects
        // read whole, the total, the next page's key (ops::manage::list).
        let info = ServerInfo::default();
        let ctx = Context {
            store: &self.store as &dyn Store,
            keyring: &self.keyring,
            now: NOW + 1_000_000,
            server: &info,
        };
        let mut pages: [Vec<Duration>; 2] = Default::default();
        for _ in 0..runs {
            for (k, filter) in [&newest, &component].into_iter().enumerate() {
                let clock = Instant::now();
                let page = skms_core::ops::manage::list(&ctx, &self.caller, filter.clone())
                    .expect("a page");
                pages[k].push(clock.elapsed());
                assert_eq!(page.objects.len(), 50.min(page.total as usize));
            }
        }
        let [g, h] = pages;
        report("GET /v1/objects: all newest first, page of 50 + total", g);
        report(
            "GET /v1/objects: x-Component by name, page of 50 + total",
            h,
        );
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Some(d) = &self.scratch {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// What a lookup searches by.
#[derive(Clone, Copy)]
enum By {
    Name,
    XName,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("store options: {:?}", options());
    let num = |i: usize, default: usize| {
        args.get(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    if args.first().map(String::as_str) == Some("--compare") {
        let (small, large, lookups) = (num(1, 1_000), num(2, 1_000_000), num(3, 20_000));
        let benches = [Bench::open(small), Bench::open(large)];
        for b in &benches {
            b.lookups(&mut rng, By::Name, 2_000);
            b.lookups(&mut rng, By::XName, 2_000);
        }
        let mut times: [[Vec<Duration>; 2]; 2] = Default::default();
        for _ in 0..lookups.div_ceil(500) {
            for (k, b) in benches.iter().enumerate() {
                times[k][0].extend(b.lookups(&mut rng, By::Name, 500));
                times[k][1].extend(b.lookups(&mut rng, By::XName, 500));
            }
        }
        for (j, what) in ["Locate by Name", "Locate by x-Name"].iter().enumerate() {
            let p = |t: &[Duration], q: f64| percentile(t, q);
            for (k, b) in benches.iter().enumerate() {
                report(&format!("{what}, N = {}", b.n), times[k][j].clone());
            }
            let (s, l) = (&times[0][j], &times[1][j]);
            println!(
                "{what}: N = {large} / N = {small}: p50 {:.2}, p90 {:.2}, p99 {:.2}",
                p(l, 0.5) / p(s, 0.5),
                p(l, 0.9) / p(s, 0.9),
                p(l, 0.99) / p(s, 0.99)
            );
        }
        println!("VmRSS (both databases open): {}", vm_rss());
        return;
    }
    let (n, lookups) = (num(0, 1_000), num(1, 10_000));
    let b = Bench::open(n);
    println!("VmRSS after opening: {}", vm_rss());
    // Warm the caches as a running server's are.
    b.lookups(&mut rng, By::Name, lookups.min(2_000));
    b.lookups(&mut rng, By::XName, lookups.min(2_000));
    println!("N = {n}: Locate through ops (KMIP 1.4, one match each), after a warm-up");
    report("Locate by Name", b.lookups(&mut rng, By::Name, lookups));
    report("Locate by x-Name", b.lookups(&mut rng, By::XName, lookups));
    b.lists(50.min(lookups));
    println!("VmRSS at the end: {}", vm_rss());
}

/// Writes `n` keys of `caller`, [`CHUNK`] a transaction.
fn fill(store: &SqliteStore, caller: &Caller, n: usize, db: &std::path::Path) {
    println!("filling one account with {n} AES keys, {CHUNK} a transaction…");
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let chunk: Vec<ManagedObject> = (done..(done + CHUNK).min(n))
            .map(|i| key(caller, i))
            .collect();
        store.insert_objects(&chunk).unwrap();
        done += chunk.len();
        if done % 100_000 == 0 {
            println!(
                "  {done} keys in {:.1?} ({:.0} keys/s)",
                started.elapsed(),
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let filled = started.elapsed();
    let mib =
        |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len()) as f64 / 1_048_576.0;
    println!(
        "inserted {n} keys in {filled:.2?}: {:.0} keys/s; database {:.1} MiB (+ WAL {:.1} MiB); VmRSS {}",
        n as f64 / filled.as_secs_f64(),
        mib(db.to_path_buf()),
        mib(db.with_extension("db-wal")),
        vm_rss()
    );
}
