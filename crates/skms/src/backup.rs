//! `skms backup` and `skms restore`: the whole store in one encrypted file,
//! taken while the server runs, brought back into an empty SQLite or
//! PostgreSQL store.
//!
//! The file (format 1):
//!
//! ```text
//! "SKMSBKUP"  u16 format (1)  u32 header length  header (JSON)
//! chunk*:     u8 final (0 or 1)  u32 length  AES-256-GCM ciphertext ‖ tag
//! ```
//!
//! The header says what the backup holds (the source backend and schema
//! version, the time, each table's row count, the store's root-of-trust check)
//! and carries the backup's data key wrapped by the root of trust; the body is
//! the rows ([`skms_core::dump`]), each a `u32` length and a JSON object,
//! cut into chunks of [`CHUNK`] bytes. Each chunk is sealed under the data key
//! with the chunk's number as nonce and, as associated data, the SHA-256 of
//! the header, the chunk's number and its final flag: a changed header, a
//! changed, removed, reordered or added chunk, and a file cut short all fail
//! to open. The key material in the rows stays sealed under the root as in the
//! store, so the file is useless without the root key, twice over.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use skms_core::dump::{self, Cell, DumpRow, DumpSink, DumpSource, Kind, Snapshot};
use skms_core::ids::AccountId;
use skms_core::keys::{FileRoot, Key256, RootOfTrust};
use skms_core::store::{RootCheck, Store, StoreError};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// The first bytes of a backup file.
const MAGIC: &[u8; 8] = b"SKMSBKUP";
/// The format this binary writes and reads.
const FORMAT: u16 = 1;
/// Plaintext bytes per chunk.
const CHUNK: usize = 64 * 1024;
/// The AES-GCM tag length.
const TAG: usize = 16;
/// The longest header a reader accepts.
const MAX_HEADER: u32 = 1 << 20;
/// The longest record a reader accepts (an object's attributes and value, in JSON).
const MAX_RECORD: usize = 64 << 20;
/// Progress on standard error every this many records.
const PROGRESS_EVERY: u64 = 10_000;

/// `skms backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// Data directory of the server (its root key seals the backup)
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// The PostgreSQL store (postgres://…) instead of the data directory's SQLite database
    #[arg(long, value_name = "URL")]
    storage_url: Option<String>,
    /// The backup file to write (FILE.partial until it is complete)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// `skms restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// Data directory of the server (its root key must be the one the backup was made under)
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// The PostgreSQL store (postgres://…) to restore into, instead of the data directory's SQLite database
    #[arg(long, value_name = "URL")]
    storage_url: Option<String>,
    /// The backup file
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
}

/// Runs `skms backup`.
pub fn backup(args: BackupArgs) -> ExitCode {
    report(run_backup(&args))
}

/// Runs `skms restore`.
pub fn restore(args: RestoreArgs) -> ExitCode {
    report(run_restore(&args))
}

fn report(r: Result<bool, String>) -> ExitCode {
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The root key of `dir`, which must exist (a backup or restore never makes one).
fn open_root(dir: &Path) -> Result<FileRoot, String> {
    let path = dir.join(skms_server::init::ROOT_KEY_FILE);
    if !path.is_file() {
        return Err(format!(
            "{} holds no root key ({}): a backup is sealed under the root key of the data \
             directory it was made from, so restore needs that key in place",
            dir.display(),
            skms_server::init::ROOT_KEY_FILE
        ));
    }
    FileRoot::open_or_create(&path)
        .map(|(root, _)| root)
        .map_err(|e| e.to_string())
}

/// The store of `dir` (or `url`); SQLite only if its database exists when `must_exist`.
fn open_store(dir: &Path, url: Option<&str>, must_exist: bool) -> Result<Arc<dyn Store>, String> {
    if url.is_none() && must_exist && !dir.join(skms_server::init::DB_FILE).is_file() {
        return Err(format!("{} holds no server database", dir.display()));
    }
    skms_server::init::open_store(dir, url)
        .map(|(store, _)| store)
        .map_err(|e| e.to_string())
}

/// The context the root wraps a backup's data key with.
fn key_context(backup_id: &[u8]) -> Vec<u8> {
    [b"skms/backup-key/v1:".as_slice(), backup_id].concat()
}

/// The associated data of chunk `index`.
fn chunk_aad(header_hash: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut aad = b"skms/backup/v1:".to_vec();
    aad.extend_from_slice(header_hash);
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

/// The nonce of chunk `index` (the data key is new for each backup, so a counter is unique).
fn chunk_nonce(index: u64) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[NONCE_LEN - 8..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn aead(key: &Key256) -> Result<LessSafeKey, String> {
    UnboundKey::new(&AES_256_GCM, key.expose())
        .map(LessSafeKey::new)
        .map_err(|_| "cannot set up AES-256-GCM".to_string())
}

/// A cell as JSON: bytes in base64, the rest as themselves.
fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(n) => json!(n),
        Cell::Bool(b) => json!(b),
        Cell::Text(t) => json!(t),
        Cell::Bytes(b) => json!(B64.encode(b)),
    }
}

/// A cell of a column of `kind` read back from JSON.
fn json_cell(kind: Kind, v: &Value) -> Option<Cell> {
    Some(match (kind, v) {
        (_, Value::Null) => Cell::Null,
        (Kind::Int, Value::Number(n)) => Cell::Int(n.as_i64()?),
        (Kind::Bool, Value::Bool(b)) => Cell::Bool(*b),
        (Kind::Text, Value::String(s)) => Cell::Text(s.clone()),
        (Kind::Bytes, Value::String(s)) => Cell::Bytes(B64.decode(s).ok()?),
        _ => return None,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---- writing ----

/// Writes a backup file as the export streams its rows.
struct Writer {
    out: BufWriter<File>,
    key: LessSafeKey,
    wrapped_key: Vec<u8>,
    backup_id: [u8; 16],
    header_hash: Vec<u8>,
    pending: Vec<u8>,
    chunk: u64,
    rows: u64,
    snapshot: Option<Snapshot>,
    started: Instant,
}

fn io_err(what: &str) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

impl Writer {
    fn seal_chunk(&mut self, plain: &[u8], last: bool) -> Result<(), StoreError> {
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                chunk_nonce(self.chunk),
                Aad::from(chunk_aad(&self.header_hash, self.chunk, last)),
                &mut buf,
            )
            .map_err(|_| StoreError::Backend("cannot encrypt a chunk".into()))?;
        self.out
            .write_all(&[u8::from(last)])
            .and_then(|()| self.out.write_all(&(buf.len() as u32).to_be_bytes()))
            .and_then(|()| self.out.write_all(&buf))
            .map_err(io_err("write the backup"))?;
        self.chunk += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<(Snapshot, u64), StoreError> {
        let rest = std::mem::take(&mut self.pending);
        self.seal_chunk(&rest, true)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| StoreError::Backend(format!("write the backup: {e}")))?;
        file.sync_all().map_err(io_err("sync the backup"))?;
        let snapshot = self
            .snapshot
            .ok_or_else(|| StoreError::Backend("the export never began".into()))?;
        Ok((snapshot, self.rows))
    }
}

impl DumpSink for Writer {
    fn begin(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let counts: Map<String, Value> = snapshot
            .counts
            .iter()
            .map(|(t, n)| (t.to_string(), json!(n)))
            .collect();
        let header = json!({
            "format": FORMAT,
            "created_ms": now_ms(),
            "backup_id": hex::encode(self.backup_id),
            "source": {
                "backend": snapshot.backend,
                "schema_version": snapshot.schema_version,
                "skms_version": env!("CARGO_PKG_VERSION"),
            },
            "counts": counts,
            "root_check": snapshot.root_check.as_ref().map(|c| B64.encode(c)),
            "key": {
                "cipher": "AES-256-GCM",
                "chunk_size": CHUNK,
                "wrapped": B64.encode(&self.wrapped_key),
            },
        });
        self.snapshot = Some(snapshot.clone());
        let bytes = serde_json::to_vec(&header)
            .map_err(|e| StoreError::Backend(format!("encode the header: {e}")))?;
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&FORMAT.to_be_bytes());
        head.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        head.extend_from_slice(&bytes);
        self.header_hash = digest(&SHA256, &head).as_ref().to_vec();
        self.out
            .write_all(&head)
            .map_err(io_err("write the backup"))
    }

    fn row(&mut self, row: DumpRow) -> Result<(), StoreError> {
        let record = json!({
            "t": row.table.name,
            "v": row.cells.iter().map(cell_json).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&record)
            .map_err(|e| StoreError::Backend(format!("encode a record: {e}")))?;
        self.pending
            .extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        self.pending.extend_from_slice(&bytes);
        while self.pending.len() >= CHUNK {
            let rest = self.pending.split_off(CHUNK);
            let full = std::mem::replace(&mut self.pending, rest);
            self.seal_chunk(&full, false)?;
        }
        self.rows += 1;
        if self.rows % PROGRESS_EVERY == 0 {
            eprintln!(
                "backup: {} records written ({:.1}s)",
                self.rows,
                self.started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }
}

fn run_backup(args: &BackupArgs) -> Result<bool, String> {
    let started = Instant::now();
    let root = open_root(&args.data_dir)?;
    let store = open_store(&args.data_dir, args.storage_url.as_deref(), true)?;
    let rng = SystemRandom::new();
    let mut backup_id = [0u8; 16];
    rng.fill(&mut backup_id)
        .map_err(|_| "the random generator failed".to_string())?;
    let data_key = Key256::generate().map_err(|e| e.to_string())?;
    let wrapped_key = root
        .wrap(&data_key, &key_context(&backup_id))
        .map_err(|e| e.to_string())?;
    let partial = partial_path(&args.out);
    let file = File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut w = Writer {
        out: BufWriter::with_capacity(1 << 20, file),
        key: aead(&data_key)?,
        wrapped_key,
        backup_id,
        header_hash: Vec::new(),
        pending: Vec::new(),
        chunk: 0,
        rows: 0,
        snapshot: None,
        started,
    };
    let result = store
        .export_rows(&mut w)
        .map_err(|e| e.to_string())
        .and_then(|()| w.finish().map_err(|e| e.to_string()));
    let (snapshot, rows) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, &args.out).map_err(|e| {
        format!(
            "rename {} to {}: {e}",
            partial.display(),
            args.out.display()
        )
    })?;
    sync_parent(&args.out);
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup {} written: {rows} records, {size} bytes, from {} (schema {}) in {:.1}s",
        args.out.display(),
        snapshot.backend,
        snapshot.schema_version,
        started.elapsed().as_secs_f64()
    );
    print_counts(&snapshot.counts);
    println!(
        "keep the root key of {} (or its copy): without it this backup cannot be read",
        args.data_dir.display()
    );
    Ok(true)
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Makes a rename durable (the directory entry), where the platform allows.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn print_counts(counts: &[(&str, u64)]) {
    for (t, n) in counts {
        println!("  {t:<18} {n}");
    }
}

// ---- reading ----

/// What a backup's header says.
struct Header {
    json: Value,
    hash: Vec<u8>,
    counts: Vec<(&'static str, u64)>,
}

/// Reads a backup file, checking every chunk as it goes.
struct Reader {
    file: BufReader<File>,
    key: LessSafeKey,
    header_hash: Vec<u8>,
    chunk: u64,
    plain: Vec<u8>,
    at: usize,
    ended: bool,
    rows: u64,
    started: Instant,
    what: &'static str,
}

fn bad(why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("the backup file is damaged or was changed: {why}"))
}

/// Opens `path`, reads its header and unwraps its data key with `root`.
fn open_backup(
    path: &Path,
    root: &FileRoot,
    what: &'static str,
) -> Result<(Header, Reader), String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut file = BufReader::with_capacity(1 << 20, file);
    let mut fixed = [0u8; 14];
    file.read_exact(&mut fixed)
        .map_err(|_| format!("{} is not a backup file (too short)", path.display()))?;
    if &fixed[..8] != MAGIC {
        return Err(format!("{} is not a skms backup file", path.display()));
    }
    let format = u16::from_be_bytes([fixed[8], fixed[9]]);
    if format != FORMAT {
        return Err(format!(
            "{} is a backup of format {format}; this skms reads format {FORMAT}",
            path.display()
        ));
    }
    let len = u32::from_be_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]);
    if len > MAX_HEADER {
        return Err(bad("a header too long").to_string());
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header)
        .map_err(|_| bad("the header is cut short").to_string())?;
    let json: Value =
        serde_json::from_slice(&header).map_err(|e| bad(format!("the header: {e}")).to_string())?;
    let hash = digest(&SHA256, &[&fixed[..], &header[..]].concat())
        .as_ref()
        .to_vec();
    let field = |v: &Value, name: &str| -> Result<Vec<u8>, String> {
        v.as_str()
            .and_then(|s| B64.decode(s).ok())
            .ok_or_else(|| bad(format!("the header has no valid {name}")).to_string())
    };
    let backup_id = json["backup_id"]
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| bad("the header has no backup id").to_string())?;
    let another_root = || {
        format!(
            "this backup was made under another root key: the root key of {} does not open it \
             (restore needs the root key of the data directory the backup was made from)",
            root.describe()
        )
    };
    if !json["root_check"].is_null() {
        let check = field(&json["root_check"], "root check")?;
        root.unwrap(&check, RootCheck::CONTEXT)
            .map_err(|_| another_root())?;
    }
    let wrapped = field(&json["key"]["wrapped"], "wrapped key")?;
    let data_key = root
        .unwrap(&wrapped, &key_context(&backup_id))
        .map_err(|_| another_root())?;
    let mut counts = Vec::new();
    for t in dump::TABLES {
        let n = json["counts"][t.name].as_u64().unwrap_or(0);
        counts.push((t.name, n));
    }
    let reader = Reader {
        file,
        key: aead(&data_key)?,
        header_hash: hash.clone(),
        chunk: 0,
        plain: Vec::new(),
        at: 0,
        ended: false,
        rows: 0,
        started: Instant::now(),
        what,
    };
    Ok((Header { json, hash, counts }, reader))
}

impl Reader {
    /// Reads and opens the next chunk into `plain`; false at the end of the file.
    fn next_chunk(&mut self) -> Result<bool, StoreError> {
        if self.ended {
            return Ok(false);
        }
        let mut head = [0u8; 5];
        if let Err(e) = self.file.read_exact(&mut head) {
            return Err(match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    bad("it ends before its last chunk (cut short)")
                }
                _ => StoreError::Backend(format!("read the backup: {e}")),
            });
        }
        let last = match head[0] {
            0 => false,
            1 => true,
            _ => return Err(bad(format!("chunk {}: a bad flag", self.chunk))),
        };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(TAG..=CHUNK + TAG).contains(&len) {
            return Err(bad(format!("chunk {}: a bad length", self.chunk)));
        }
        let mut buf = vec![0u8; len];
        self.file
            .read_exact(&mut buf)
            .map_err(|_| bad("it ends inside a chunk (cut short)"))?;
        let plain = self
            .key
            .open_in_place(
                chunk_nonce(self.chunk),
                Aad::from(chunk_aad(&self.header_hash, self.chunk, last)),
                &mut buf,
            )
            .map_err(|_| {
                bad(format!(
                    "chunk {} does not authenticate (changed, removed or reordered)",
                    self.chunk
                ))
            })?;
        // Keep what the last chunk left of a record, then add this one.
        self.plain.drain(..self.at);
        self.at = 0;
        self.plain.extend_from_slice(plain);
        self.chunk += 1;
        if last {
            self.ended = true;
            let mut extra = [0u8; 1];
            if self
                .file
                .read(&mut extra)
                .map_err(io_err("read the backup"))?
                != 0
            {
                return Err(bad("data after its last chunk"));
            }
        }
        Ok(true)
    }

    /// The next record's bytes, `None` at the end.
    fn next_record(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        loop {
            let avail = &self.plain[self.at..];
            if avail.len() >= 4 {
                let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
                if len > MAX_RECORD {
                    return Err(bad("a record too long"));
                }
                if avail.len() >= 4 + len {
                    let rec = avail[4..4 + len].to_vec();
                    self.at += 4 + len;
                    return Ok(Some(rec));
                }
            }
            if !self.next_chunk()? {
                if self.at < self.plain.len() {
                    return Err(bad("a record cut short"));
                }
                return Ok(None);
            }
        }
    }
}

impl DumpSource for Reader {
    fn next_row(&mut self) -> Result<Option<DumpRow>, StoreError> {
        let Some(bytes) = self.next_record()? else {
            return Ok(None);
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(format!("a record: {e}")))?;
        let name = v["t"].as_str().unwrap_or_default();
        let table = dump::table(name).ok_or_else(|| bad(format!("a record of table {name:?}")))?;
        let values = v["v"]
            .as_array()
            .ok_or_else(|| bad("a record without values"))?;
        if values.len() != table.columns.len() {
            return Err(bad(format!(
                "a record of {name} with {} values",
                values.len()
            )));
        }
        let cells = table
            .columns
            .iter()
            .zip(values)
            .map(|(c, v)| json_cell(c.kind, v).ok_or_else(|| bad(format!("{name}.{}", c.name))))
            .collect::<Result<Vec<_>, _>>()?;
        self.rows += 1;
        if self.rows % PROGRESS_EVERY == 0 {
            eprintln!(
                "restore: {} records {} ({:.1}s)",
                self.rows,
                self.what,
                self.started.elapsed().as_secs_f64()
            );
        }
        DumpRow::new(table, cells).map(Some)
    }
}

/// Refuses a backup taken by a newer skms (a schema this binary does not
/// know may hold what its restore would drop): say which, and what to do.
fn known_schema(source: &Value) -> Result<(), String> {
    let backend = source["backend"].as_str().unwrap_or("?");
    let version = source["schema_version"].as_i64().unwrap_or(i64::MAX);
    let known = match backend {
        "sqlite" => skms_store::SCHEMA_VERSION,
        "postgresql" => skms_store::PG_SCHEMA_VERSION,
        other => {
            return Err(format!(
                "the backup comes from an unknown store {other:?}: restore it with the skms that took it"
            ))
        }
    };
    if version > known {
        return Err(format!(
            "the backup was taken by a newer skms ({backend} schema {version}; this skms knows \
             up to {known}): restore it with that version or a later one"
        ));
    }
    Ok(())
}

fn run_restore(args: &RestoreArgs) -> Result<bool, String> {
    let started = Instant::now();
    let root = open_root(&args.data_dir)?;
    // Pass 1: every chunk's tag and every record, before anything is written.
    let (header, mut check) = open_backup(&args.input, &root, "checked")?;
    known_schema(&header.json["source"])?;
    let mut counted: Vec<(&'static str, u64)> = dump::TABLES.iter().map(|t| (t.name, 0)).collect();
    let mut chains: Vec<Option<AccountId>> = Vec::new();
    while let Some(row) = check.next_row().map_err(|e| e.to_string())? {
        if let Some(c) = counted.iter_mut().find(|(t, _)| *t == row.table.name) {
            c.1 += 1;
        }
        if row.table.name == "audit_heads" {
            if let Some(Cell::Bytes(chain)) = row.cells.first() {
                let id: [u8; 16] = chain
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("a chain id"))
                    .map_err(|e| e.to_string())?;
                chains.push((id != [0; 16]).then(|| AccountId::from_bytes(id)));
            }
        }
    }
    if counted != header.counts {
        return Err(bad("its records do not match the counts of its header").to_string());
    }
    eprintln!(
        "restore: {} verified ({} records, {} chunks, from {} schema {})",
        args.input.display(),
        check.rows,
        check.chunk,
        header.json["source"]["backend"].as_str().unwrap_or("?"),
        header.json["source"]["schema_version"]
    );
    // Pass 2: into the store, in one transaction (checked again as it is read).
    let store = open_store(&args.data_dir, args.storage_url.as_deref(), false)?;
    let (again, mut source) = open_backup(&args.input, &root, "restored")?;
    if again.hash != header.hash {
        return Err("the backup file changed while it was being restored".into());
    }
    let done = store.import_rows(&mut source).map_err(|e| e.to_string())?;
    if done != header.counts {
        return Err("the store did not take every record of the backup".into());
    }
    println!(
        "restored {} into {} in {:.1}s:",
        args.input.display(),
        if args.storage_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        started.elapsed().as_secs_f64()
    );
    print_counts(&done);
    println!("sessions were not restored: everyone signs in again");
    let mut ok = true;
    for chain in chains {
        let label = match chain {
            None => "provider".to_string(),
            Some(a) => format!("account {a}"),
        };
        match skms_core::audit::verify_chain(&*store, chain) {
            Ok(n) => println!("audit {label}: {n} records, chain intact"),
            Err(e) => {
                ok = false;
                println!("audit {label}: BROKEN: {e}");
            }
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn a_backup_of_a_newer_schema_is_refused_by_name() {
        for (backend, known) in [
            ("sqlite", skms_store::SCHEMA_VERSION),
            ("postgresql", skms_store::PG_SCHEMA_VERSION),
        ] {
            for v in 1..=known {
                known_schema(&json!({"backend": backend, "schema_version": v})).unwrap();
            }
            let e = known_schema(&json!({"backend": backend, "schema_version": known + 1}))
                .unwrap_err();
            assert!(e.contains("newer skms") && e.contains(backend), "{e}");
        }
        assert!(known_schema(&json!({"backend": "oracle", "schema_version": 1})).is_err());
        assert!(known_schema(&json!({"backend": "sqlite"})).is_err());
    }
}
