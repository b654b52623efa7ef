//! Measures object inserts per second into a fresh SqliteStore from N threads
//! (default 8) while the group-commit writer batches them.
//!
//! `cargo run --release -p skms-store --example insert_throughput -- [threads] [per-thread]`

use kmip::attributes::{Attribute, Attributes};
use kmip::enums::{CryptographicAlgorithm, ObjectType, State};
use kmip::{Tag, Value};
use skms_core::ids::{AccountId, GroupId, ObjectId};
use skms_core::model::{Account, Group, ManagedObject};
use skms_core::store::{ObjectFilter, Store};
use skms_store::SqliteStore;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(8, |a| a.parse().expect("threads"));
    let per_thread: usize = args
        .next()
        .map_or(2_000, |a| a.parse().expect("per-thread"));
    let dir = std::env::temp_dir().join(format!("skms-insert-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("bench.db")).unwrap();
    let account = Account {
        id: AccountId::new(),
        name: "bench".into(),
        enabled: true,
        created: 0,
        wrapped_key: vec![0; 60],
    };
    store.create_account(&account).unwrap();
    let group = Group {
        id: GroupId::new(),
        account: account.id,
        name: "bench".into(),
        description: String::new(),
        created: 0,
    };
    store.create_group(&group).unwrap();

    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let store = &store;
            let (account, group) = (account.id, group.id);
            s.spawn(move || {
                for i in 0..per_thread {
                    let id = ObjectId::new();
                    let o = ManagedObject {
                        id,
                        account,
                        group,
                        object_type: ObjectType::SYMMETRIC_KEY,
                        state: State::ACTIVE,
                        attributes: Attributes::new(vec![
                            Attribute::new(
                                Tag::CRYPTOGRAPHIC_ALGORITHM,
                                Value::Enumeration(CryptographicAlgorithm::AES.0),
                            ),
                            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
                            Attribute::custom("x-Name", Value::TextString(format!("vm-{t}-{i}"))),
                        ]),
                        sealed: Some(vec![0xA5; 61]),
                        created: i as i64,
                        updated: i as i64,
                        creator: None,
                    };
                    store.insert_object(&o).unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let n = threads * per_thread;
    let stored = store
        .locate(account.id, &ObjectFilter::default())
        .unwrap()
        .len();
    assert_eq!(stored, n);
    println!(
        "{n} durable inserts from {threads} threads in {:.2?}: {:.0} inserts/s",
        elapsed,
        n as f64 / elapsed.as_secs_f64()
    );
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
