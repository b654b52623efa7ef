//! First start and every start after it: the data directory, its database, the
//! software root key, the server CA and the server certificate.
//!
//! Files in the data directory:
//!
//! | file | what | mode |
//! |---|---|---|
//! | `skms.db` (+ `-wal`, `-shm`) | the SQLite database (none with `storage_url`: the store is then in PostgreSQL, [`open_store`]) | 0600 (SQLite's default umask-derived mode) |
//! | `root.key` | the software root key (32 bytes) | 0600 |
//! | `ca.crt` | the server CA certificate (PEM): give it to vCenter ("Make vCenter trust KMS") | 0644 |
//! | `ca.key.sealed` | the CA private key, sealed (see below) | 0600 |
//! | `server.crt` | the server certificate then the CA (PEM chain) | 0644 |
//! | `server.key.sealed` | the server private key, sealed | 0600 |
//! | `server-rsa.crt` | with `kmip_legacy_cipher_suites` only: an RSA server certificate (same names, same CA) then the CA | 0644 |
//! | `server-rsa.key.sealed` | its private key (RSA-3072), sealed | 0600 |
//! | `server.key`, `server-rsa.key` | only until the next start or SIGHUP: an operator's plaintext key for the `.crt` beside it (see below) | 0600 |
//! | `*.crt.new`, `*.key.sealed.new` | only while a certificate and its key are being replaced (see below) | |
//!
//! A private key is never written in the clear: its PKCS#8 PEM is sealed
//! (AES-256-GCM) under a fresh data key, and that data key is wrapped by the
//! root of trust, both bound to the file's purpose. So whoever can unseal the
//! root (an HSM later) can start the server, and a copy of the data directory
//! without `root.key` reveals no private key.
//!
//! A certificate from the operator's own PKI replaces the server's: write its
//! chain (leaf first, each certificate followed by its issuer) to `server.crt`
//! and its unencrypted PEM key to `server.key`, then send SIGHUP (or start).
//! The pair is checked ([`check_pair`]: the chain parses and links, the key
//! matches, the certificate is valid now), the key is sealed into
//! `server.key.sealed` and `server.key` is removed. A certificate that the
//! server CA did not issue is never reissued by the server: renewing it is
//! the operator's (a warning is logged in its last 30 days).
//!
//! A certificate and its key are replaced together (`commit_pair`): both are
//! written to `.new` files and synced, then the key is renamed into place,
//! then the certificate. A crash leaves the old pair, or the new key with its
//! certificate in `.new`; the next start or reload finishes or undoes that
//! (`recover_pair`), so the directory never serves a key with another's
//! certificate.
//!
//! The store keeps the same identity for every node of a cluster (one
//! database, several data directories): the texts of `ca.crt`,
//! `ca.key.sealed`, `server.crt`, `server.key.sealed` and `server-rsa.*`, with
//! a version. At start a node takes the stored identity into its files
//! ([`adopt`]), then does what a start does to them, and stores the result
//! when it changed (the first node stores its own); the root of trust must be
//! the one the store was made under ([`InitError::OtherRoot`]). The names of a
//! certificate are the configured ones plus those it already carries, so
//! that nodes never drop each other's names.

use crate::config::Config;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use openssl::pkey::PKey;
use openssl::x509::X509;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SerialNumber, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use skms_core::keys::{FileRoot, Key256, KeyError, RootOfTrust};
use skms_core::store::{RootCheck, Store, StoreError, StoredServerIdentity};
use skms_store::{PgStore, SqliteStore};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The database file name.
pub const DB_FILE: &str = "skms.db";
/// The root key file name.
pub const ROOT_KEY_FILE: &str = "root.key";
/// The CA certificate file name.
pub const CA_CERT_FILE: &str = "ca.crt";
/// The sealed CA private key file name.
pub const CA_KEY_FILE: &str = "ca.key.sealed";
/// The server certificate chain file name.
pub const SERVER_CERT_FILE: &str = "server.crt";
/// The sealed server private key file name.
pub const SERVER_KEY_FILE: &str = "server.key.sealed";
/// The RSA server certificate chain file name (for the legacy KMIP cipher suites).
pub const SERVER_RSA_CERT_FILE: &str = "server-rsa.crt";
/// The sealed RSA server private key file name.
pub const SERVER_RSA_KEY_FILE: &str = "server-rsa.key.sealed";
/// An operator's plaintext key for `server.crt`, sealed at the next start or SIGHUP.
pub const SERVER_KEY_IMPORT_FILE: &str = "server.key";
/// An operator's plaintext key for `server-rsa.crt`, sealed likewise.
pub const SERVER_RSA_KEY_IMPORT_FILE: &str = "server-rsa.key";

/// How long the CA is valid.
const CA_DAYS: i64 = 3650;
/// How long a server certificate is valid.
const SERVER_DAYS: i64 = 730;
/// A server certificate closer than this to its end is reissued at start.
const RENEW_BEFORE_DAYS: i64 = 30;

/// Why the data directory could not be opened or initialized.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file or directory could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The root key could not be opened or used.
    #[error(transparent)]
    Root(#[from] KeyError),
    /// The database could not be opened.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// A certificate or key could not be made or read.
    #[error("certificate: {0}")]
    Cert(String),
    /// The store was initialized under another root of trust than this node's.
    #[error(
        "this database was created under another root key: copy root.key of an existing node \
         into {} (or unseal the same HSM/Shamir root)",
        .0.display()
    )]
    OtherRoot(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InitError + '_ {
    move |e| InitError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn cert_err(e: impl std::fmt::Display) -> InitError {
    InitError::Cert(e.to_string())
}

/// The store and the root of trust of a data directory.
pub struct Basics {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The software root key.
    pub root: Arc<FileRoot>,
    /// What was created now, one line each, for the operator.
    pub created: Vec<String>,
}

/// Everything the server needs from its data directory.
pub struct DataDir {
    /// The directory.
    pub path: PathBuf,
    /// The database.
    pub store: Arc<dyn Store>,
    /// The software root key.
    pub root: Arc<FileRoot>,
    /// The CA certificate file to give to vCenter.
    pub ca_cert_path: PathBuf,
    /// The CA certificate.
    pub ca_cert: CertificateDer<'static>,
    /// The server certificate followed by the CA.
    pub server_chain: Vec<CertificateDer<'static>>,
    /// The server private key (PKCS#8), in memory only.
    pub server_key: PrivateKeyDer<'static>,
    /// The RSA server certificate and key, when `kmip_legacy_cipher_suites` is on.
    pub rsa_server: Option<ServerCert>,
    /// The server certificate files, to reload or reissue them while serving.
    pub server_files: ServerCertFiles,
    /// The version of the server identity stored in the store that these files hold.
    pub identity_version: u64,
    /// What was created or renewed now, one line each, for the operator.
    pub created: Vec<String>,
}

/// A server certificate chain (leaf, then the CA) and its private key.
pub struct ServerCert {
    /// The certificate followed by the CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key (PKCS#8), in memory only.
    pub key: PrivateKeyDer<'static>,
}

impl Drop for ServerCert {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// Opens (creating when missing) the data directory, its SQLite database and its root key.
pub fn open_basics(dir: &Path) -> Result<Basics, InitError> {
    open_basics_with(dir, None)
}

/// Which database the store is in (never its URL, which may hold a password).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// SQLite in the data directory.
    Sqlite,
    /// PostgreSQL, possibly shared by several nodes.
    Postgresql,
}

impl StoreBackend {
    /// The backend [`open_store`] opens for `storage_url` (what `/v1/ready` shows).
    pub fn of(storage_url: Option<&str>) -> Self {
        match storage_url {
            Some(_) => StoreBackend::Postgresql,
            None => StoreBackend::Sqlite,
        }
    }
}

/// Opens the store: the PostgreSQL database of `storage_url` when given
/// (connecting and migrating it; call from a blocking thread), else SQLite
/// in `dir`. Returns the store and a line for the operator when something was created.
pub fn open_store(
    dir: &Path,
    storage_url: Option<&str>,
) -> Result<(Arc<dyn Store>, Option<String>), InitError> {
    if let Some(url) = storage_url {
        let store = PgStore::open(url)?;
        return Ok((Arc::new(store), None));
    }
    let db = dir.join(DB_FILE);
    let db_existed = db.exists();
    let store = SqliteStore::open(&db)?;
    let created = (!db_existed).then(|| format!("created database {}", db.display()));
    Ok((Arc::new(store), created))
}

/// [`open_basics`] with the store of `storage_url` ([`open_store`]); the root
/// key stays in the data directory.
pub fn open_basics_with(dir: &Path, storage_url: Option<&str>) -> Result<Basics, InitError> {
    let mut created = Vec::new();
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir).map_err(io(dir))?;
        created.push(format!("created data directory {}", dir.display()));
    }
    let (store, store_created) = open_store(dir, storage_url)?;
    created.extend(store_created);
    let root_path = dir.join(ROOT_KEY_FILE);
    let (root, root_created) = FileRoot::open_or_create(&root_path)?;
    if root_created {
        created.push(format!(
            "created root key {} (mode 0600; back it up and keep it secret: without it no key can be read)",
            root_path.display()
        ));
    }
    check_root(&*store, &root, dir)?;
    Ok(Basics {
        store,
        root: Arc::new(root),
        created,
    })
}

/// Opens the data directory of `config`: creates on first start, loads after;
/// reissues the server certificate when the configured names changed or it nears its end.
/// With `kmip_legacy_cipher_suites`, the same for an RSA server certificate.
pub fn open(config: &Config) -> Result<DataDir, InitError> {
    let dir = &config.data_dir;
    let Basics {
        store,
        root,
        mut created,
    } = open_basics_with(dir, config.storage_url.as_deref())?;
    let files = ServerCertFiles {
        dir: dir.clone(),
        root: root.clone(),
        names: server_names(config),
        legacy: config.kmip_legacy_cipher_suites,
    };
    // The store holds the identity every node serves; the data directory a copy
    // of it. A node adopts the stored one, then does what a start does to the
    // files (take an operator's certificate, renew, add its names) and stores
    // the result when it changed; the first node stores its own. Each store is
    // a compare-and-set on the version: a node that lost a race adopts the
    // winner's and starts over.
    for _ in 0..5 {
        let stored = store.server_identity()?;
        for kind in [&ECDSA_SERVER, &RSA_SERVER] {
            if dir.join(kind.import_file).exists() {
                continue;
            }
            created.extend(recover_pair(dir, kind)?);
        }
        if let Some(s) = &stored {
            if adopt(dir, s)? {
                created.push(format!(
                    "took the server identity stored in the database (version {}): the server CA \
                     and certificates other nodes on it serve, written to {}",
                    s.version,
                    dir.display()
                ));
            }
        }
        let (ca_der, server, rsa_server) = open_files(&files, &mut created)?;
        let version = stored.as_ref().map_or(0, |s| s.version);
        let mine = files_identity(dir, version + 1)?;
        let identity_version = if stored.as_ref().is_some_and(|s| s.same_content(&mine)) {
            Some(version)
        } else if store.put_server_identity(&mine)? {
            tracing::info!(
                version = mine.version,
                "stored the server identity in the database: every node on it serves it"
            );
            Some(mine.version)
        } else {
            None
        };
        if let Some(identity_version) = identity_version {
            return Ok(DataDir {
                path: dir.clone(),
                store,
                root,
                ca_cert_path: dir.join(CA_CERT_FILE),
                ca_cert: ca_der,
                server_chain: server.chain.clone(),
                server_key: server.key.clone_key(),
                rsa_server,
                server_files: files,
                identity_version,
                created,
            });
        }
        // Another node stored its identity first: take that one.
    }
    Err(cert_err(
        "the server identity in the database kept changing while this node started: start it again",
    ))
}

/// The server CA and certificates of the data directory, as a start leaves
/// them: the CA made when there is none, and each server certificate loaded,
/// taken from the operator, or (re)issued ([`server_cert`]).
fn open_files(
    files: &ServerCertFiles,
    created: &mut Vec<String>,
) -> Result<(CertificateDer<'static>, ServerCert, Option<ServerCert>), InitError> {
    let dir = &files.dir;
    let root = &*files.root;
    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    let (ca_der, ca_key) = if ca_cert_path.exists() || ca_key_path.exists() {
        let der = read_cert_pem(&ca_cert_path)?
            .into_iter()
            .next()
            .ok_or_else(|| cert_err(format!("{} holds no certificate", ca_cert_path.display())))?;
        let key = read_sealed_key(root, &ca_key_path, "ca")?;
        (der, key)
    } else {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
        let params = ca_params()?;
        let cert = params.self_signed(&key).map_err(cert_err)?;
        write_sealed_key(root, &ca_key_path, "ca", &key)?;
        write_public(&ca_cert_path, cert.pem().as_bytes())?;
        created.push(format!(
            "created server CA {} (ECDSA P-256, {} years) and its key, sealed by the root key, in {}",
            ca_cert_path.display(),
            CA_DAYS / 365,
            ca_key_path.display()
        ));
        (cert.der().clone(), key)
    };

    let issuer = Issuer::from_ca_cert_der(&ca_der, &ca_key).map_err(cert_err)?;
    let server = server_cert(files, &ca_der, &issuer, &ECDSA_SERVER, created)?;
    let rsa_server = if files.legacy {
        Some(server_cert(files, &ca_der, &issuer, &RSA_SERVER, created)?)
    } else {
        None
    };
    Ok((ca_der, server, rsa_server))
}

/// Records this node's root check value in a store that has none (the first
/// node), or checks that this node's root opens the recorded one: a node
/// under another root could not unwrap a single account key, so it refuses to
/// start at once ([`InitError::OtherRoot`]).
fn check_root(store: &dyn Store, root: &dyn RootOfTrust, dir: &Path) -> Result<(), InitError> {
    let zero = Key256::from_slice(&[0; 32]).ok_or_else(|| cert_err("a 32-byte key"))?;
    let candidate = root.wrap(&zero, RootCheck::CONTEXT)?;
    let recorded = store.root_check(&candidate)?;
    match root.unwrap(&recorded, RootCheck::CONTEXT) {
        Ok(k) if k.expose() == zero.expose() => Ok(()),
        _ => Err(InitError::OtherRoot(dir.to_path_buf())),
    }
}

/// Makes the identity files of `dir` those of `stored` (only those that
/// differ; each certificate with its key crash-safely, [`commit_pair`]); an
/// RSA pair that `stored` lacks is removed. A pair whose operator's plaintext
/// key waits beside it is left for the start or SIGHUP to take. True when a
/// file changed.
pub fn adopt(dir: &Path, stored: &StoredServerIdentity) -> Result<bool, InitError> {
    let differs = |name: &str, text: &str| {
        std::fs::read_to_string(dir.join(name)).map_or(true, |t| t != text)
    };
    let mut wrote = false;
    // The key first: a crash between the two is undone by the next start,
    // which adopts the stored identity again.
    if differs(CA_KEY_FILE, &stored.ca_key) {
        write_private(&dir.join(CA_KEY_FILE), stored.ca_key.as_bytes())?;
        wrote = true;
    }
    if differs(CA_CERT_FILE, &stored.ca_cert) {
        write_public(&dir.join(CA_CERT_FILE), stored.ca_cert.as_bytes())?;
        wrote = true;
    }
    let pairs = [
        (
            &ECDSA_SERVER,
            Some((&stored.server_chain, &stored.server_key)),
        ),
        (
            &RSA_SERVER,
            stored.rsa_chain.as_ref().zip(stored.rsa_key.as_ref()),
        ),
    ];
    for (kind, pair) in pairs {
        if dir.join(kind.import_file).exists() {
            continue;
        }
        recover_pair(dir, kind)?;
        match pair {
            Some((chain, key)) => {
                if differs(kind.cert_file, chain) || differs(kind.key_file, key) {
                    commit_pair(dir, kind, chain, key)?;
                    wrote = true;
                }
            }
            None => {
                // The certificate first, as `discard_pending` does.
                for f in [kind.cert_file, kind.key_file] {
                    let p = dir.join(f);
                    match std::fs::remove_file(&p) {
                        Ok(()) => {
                            sync_dir(dir)?;
                            wrote = true;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(&p)(e)),
                    }
                }
            }
        }
    }
    Ok(wrote)
}

/// The identity the files of `dir` hold now, as version `version`.
fn files_identity(dir: &Path, version: u64) -> Result<StoredServerIdentity, InitError> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| io(&p)(e))
    };
    let (rsa_chain, rsa_key) =
        if dir.join(SERVER_RSA_CERT_FILE).exists() && dir.join(SERVER_RSA_KEY_FILE).exists() {
            (
                Some(read(SERVER_RSA_CERT_FILE)?),
                Some(read(SERVER_RSA_KEY_FILE)?),
            )
        } else {
            (None, None)
        };
    Ok(StoredServerIdentity {
        version,
        ca_cert: read(CA_CERT_FILE)?,
        ca_key: read(CA_KEY_FILE)?,
        server_chain: read(SERVER_CERT_FILE)?,
        server_key: read(SERVER_KEY_FILE)?,
        rsa_chain,
        rsa_key,
    })
}

/// One kind of server certificate: its files, its key and how the operator hears of it.
struct ServerCertKind {
    cert_file: &'static str,
    key_file: &'static str,
    /// An operator's plaintext key for `cert_file`, to seal ([`read_import`]).
    import_file: &'static str,
    /// What the sealed key is bound to (see [`seal_context`]).
    purpose: &'static str,
    /// "server certificate", "RSA server certificate".
    label: &'static str,
    generate: fn() -> Result<KeyPair, rcgen::Error>,
    key_usages: &'static [KeyUsagePurpose],
}

/// The server certificate every TLS stack offers.
static ECDSA_SERVER: ServerCertKind = ServerCertKind {
    cert_file: SERVER_CERT_FILE,
    key_file: SERVER_KEY_FILE,
    import_file: SERVER_KEY_IMPORT_FILE,
    purpose: "server",
    label: "server certificate",
    generate: || KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
    key_usages: &[KeyUsagePurpose::DigitalSignature],
};

/// The RSA server certificate the TLS_RSA_WITH_AES_*_CBC_SHA256 suites need
/// (their key exchange is RSA encryption to the certificate's key).
static RSA_SERVER: ServerCertKind = ServerCertKind {
    cert_file: SERVER_RSA_CERT_FILE,
    key_file: SERVER_RSA_KEY_FILE,
    import_file: SERVER_RSA_KEY_IMPORT_FILE,
    purpose: "server-rsa",
    label: "RSA server certificate",
    // aws-lc-rs generates it (through rcgen), so the key is a KeyPair like the
    // others and is sealed by the same code; 3072 bits: NIST's level past 2030.
    generate: || KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_3072),
    // keyEncipherment for the RSA key exchange (RFC 5246 section 7.4.2; Java
    // clients check it), digitalSignature for ECDHE_RSA.
    key_usages: &[
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ],
};

/// Loads the server certificate of `kind` and its key at start: finishes or
/// undoes an interrupted replacement, seals an operator's plaintext key, and
/// issues a new certificate from the CA when there is none, or when the one the
/// CA issued names other names than configured, nears its end or does not
/// match its key. Another CA's certificate is kept as it is (its key must match).
fn server_cert(
    files: &ServerCertFiles,
    ca_der: &CertificateDer<'static>,
    issuer: &Issuer<'_, &KeyPair>,
    kind: &'static ServerCertKind,
    created: &mut Vec<String>,
) -> Result<ServerCert, InitError> {
    let dir = &files.dir;
    if let Some(note) = recover_pair(dir, kind)? {
        created.push(note);
    }
    let cert_path = dir.join(kind.cert_file);
    let key_path = dir.join(kind.key_file);
    if dir.join(kind.import_file).exists() {
        let (cert, write) = read_import(dir, kind)?;
        write.commit(dir, &*files.root)?;
        created.push(format!(
            "took the {} in {} with the key of {}: the key is now sealed in {} and {} is removed",
            kind.label,
            cert_path.display(),
            kind.import_file,
            key_path.display(),
            kind.import_file
        ));
        return Ok(cert);
    }
    if cert_path.exists() && key_path.exists() {
        let chain = read_cert_pem(&cert_path)?;
        if let Some(leaf) = chain.first() {
            let cert = ServerCert {
                chain: chain.clone(),
                key: read_server_key(&*files.root, &key_path, kind.purpose)?,
            };
            if !issued_by(leaf, ca_der) {
                // The operator's own PKI: theirs to renew, never replaced here.
                check_pair(&cert, &cert_path, &key_path, false)?;
                warn_if_ending(leaf, kind.label, &cert_path);
                return Ok(cert);
            }
            let why = match check_pair(&cert, &cert_path, &key_path, false) {
                Err(e) => Some(format!("it does not fit its key ({e})")),
                Ok(()) => renewal_reason(leaf, &files.names)?,
            };
            match why {
                None => return Ok(cert),
                Some(why) => created.push(format!("reissuing the {}: {why}", kind.label)),
            }
        }
    }
    let ca_path = dir.join(CA_CERT_FILE);
    let ca_pem = std::fs::read_to_string(&ca_path).map_err(io(&ca_path))?;
    let names = files.names_for(kind, ca_der);
    let (cert, write) = issue_one(issuer, ca_der, &ca_pem, &names, kind)?;
    write.commit(dir, &*files.root)?;
    created.push(format!(
        "created {} {} ({} years) for {}, its key sealed by the root key in {}",
        kind.label,
        cert_path.display(),
        SERVER_DAYS / 365,
        names.join(", "),
        key_path.display()
    ));
    Ok(cert)
}

/// The server certificate files of a data directory and what reissuing them
/// needs: the root that seals their keys, the names they carry, and whether
/// the RSA certificate of `kmip_legacy_cipher_suites` is kept too. What SIGHUP
/// re-reads and the rotate route reissues ([`crate::tls::ServerIdentity`]).
#[derive(Clone)]
pub struct ServerCertFiles {
    dir: PathBuf,
    root: Arc<FileRoot>,
    names: Vec<String>,
    legacy: bool,
}

/// The certificates a server presents, with their keys.
pub struct ServerCerts {
    /// `server.crt` (ECDSA unless an operator put another key type there): every TLS stack offers it.
    pub primary: ServerCert,
    /// `server-rsa.crt`, with `kmip_legacy_cipher_suites` only.
    pub rsa: Option<ServerCert>,
}

/// Server certificates read or issued but not yet in force on disk: build the
/// TLS configurations from [`PendingCerts::certs`] first (so nothing is written
/// that TLS refuses), then [`PendingCerts::commit`].
pub struct PendingCerts {
    certs: ServerCerts,
    writes: Vec<PendingWrite>,
    dir: PathBuf,
    root: Arc<FileRoot>,
}

/// A certificate chain and its key, to write together ([`commit_pair`]).
struct PendingWrite {
    kind: &'static ServerCertKind,
    chain_pem: String,
    key_pem: Zeroizing<String>,
    /// The key sealed, once sealed ([`PendingCerts::identity`]): the files
    /// then hold the same text as the store.
    sealed: Option<String>,
    /// The operator's plaintext key file, removed once its key is sealed.
    remove: Option<PathBuf>,
}

impl PendingWrite {
    /// Seals the key (unless sealed) and writes it with its chain; removes the plaintext key it came from.
    fn commit(&self, dir: &Path, root: &dyn RootOfTrust) -> Result<(), InitError> {
        let sealed = match &self.sealed {
            Some(s) => s.clone(),
            None => seal_pem(root, self.kind.purpose, &self.key_pem)?,
        };
        commit_pair(dir, self.kind, &self.chain_pem, &sealed)?;
        if let Some(plain) = &self.remove {
            std::fs::remove_file(plain).map_err(io(plain))?;
            sync_dir(dir)?;
        }
        Ok(())
    }
}

impl PendingCerts {
    /// The certificates and keys, to check before they are committed.
    pub fn certs(&self) -> &ServerCerts {
        &self.certs
    }

    /// True when committing writes something (new pairs, an operator's key to seal).
    pub fn changes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// The identity the data directory will hold once this is committed, as
    /// `version`, to store for every node: the files as they are, with the
    /// pairs this writes (their keys sealed now, once, for both).
    pub fn identity(&mut self, version: u64) -> Result<StoredServerIdentity, InitError> {
        let mut id = files_identity(&self.dir, version)?;
        for w in &mut self.writes {
            let sealed = match &w.sealed {
                Some(s) => s.clone(),
                None => seal_pem(&*self.root, w.kind.purpose, &w.key_pem)?,
            };
            w.sealed = Some(sealed.clone());
            if std::ptr::eq(w.kind, &RSA_SERVER) {
                id.rsa_chain = Some(w.chain_pem.clone());
                id.rsa_key = Some(sealed);
            } else {
                id.server_chain = w.chain_pem.clone();
                id.server_key = sealed;
            }
        }
        Ok(id)
    }

    /// Writes what must be written (new pairs, sealed imported keys), each pair
    /// crash-safely; the certificates are then the ones on disk.
    pub fn commit(self) -> Result<ServerCerts, InitError> {
        for w in &self.writes {
            w.commit(&self.dir, &*self.root)?;
        }
        Ok(self.certs)
    }
}

impl ServerCertFiles {
    /// The names a new certificate of `kind` carries: the configured ones and
    /// those of the certificate in place when the server CA issued it, so that
    /// a node of a cluster never drops the names another node added (the
    /// certificate is shared: its names cover every node).
    fn names_for(&self, kind: &ServerCertKind, ca_der: &[u8]) -> Vec<String> {
        let mut names = self.names.clone();
        if let Ok(chain) = read_cert_pem(&self.dir.join(kind.cert_file)) {
            if let Some(leaf) = chain.first().filter(|l| issued_by(l, ca_der)) {
                if let Ok((_, x)) = x509_parser::parse_x509_certificate(leaf) {
                    names.extend(san_names(&x));
                }
            }
        }
        let mut seen = BTreeSet::new();
        names.retain(|n| seen.insert(normal_name(n)));
        names
    }

    /// The kinds of server certificate this server keeps.
    fn kinds(&self) -> Vec<&'static ServerCertKind> {
        if self.legacy {
            vec![&ECDSA_SERVER, &RSA_SERVER]
        } else {
            vec![&ECDSA_SERVER]
        }
    }

    /// Whether the RSA certificate of `kmip_legacy_cipher_suites` is kept (and
    /// OpenSSL serves KMIP).
    pub fn legacy(&self) -> bool {
        self.legacy
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root of trust that seals the keys.
    pub fn root(&self) -> Arc<FileRoot> {
        self.root.clone()
    }

    /// The certificates as the files hold them now (SIGHUP): an interrupted
    /// replacement finished or undone, an operator's plaintext key taken with
    /// the certificate beside it, and every pair checked ([`check_pair`]),
    /// expiry included. Nothing of the operator's is sealed or removed until
    /// [`PendingCerts::commit`].
    pub fn read(&self) -> Result<PendingCerts, InitError> {
        let mut certs = Vec::new();
        let mut writes = Vec::new();
        for kind in self.kinds() {
            recover_pair(&self.dir, kind)?;
            if self.dir.join(kind.import_file).exists() {
                let (cert, write) = read_import(&self.dir, kind)?;
                certs.push(cert);
                writes.push(write);
            } else {
                let cert_path = self.dir.join(kind.cert_file);
                let key_path = self.dir.join(kind.key_file);
                let cert = ServerCert {
                    chain: read_cert_pem(&cert_path)?,
                    key: read_server_key(&*self.root, &key_path, kind.purpose)?,
                };
                check_pair(&cert, &cert_path, &key_path, true)?;
                certs.push(cert);
            }
        }
        Ok(self.pending(certs, writes))
    }

    /// New certificates from the server CA: the same names, new keys, as
    /// start-up renewal issues them (the rotate route, the daily renewal).
    pub fn issue(&self) -> Result<PendingCerts, InitError> {
        let ca_path = self.dir.join(CA_CERT_FILE);
        let ca_der = read_cert_pem(&ca_path)?
            .into_iter()
            .next()
            .ok_or_else(|| cert_err(format!("{} holds no certificate", ca_path.display())))?;
        let ca_pem = std::fs::read_to_string(&ca_path).map_err(io(&ca_path))?;
        let ca_key = read_sealed_key(&*self.root, &self.dir.join(CA_KEY_FILE), "ca")?;
        let issuer = Issuer::from_ca_cert_der(&ca_der, &ca_key).map_err(cert_err)?;
        let mut certs = Vec::new();
        let mut writes = Vec::new();
        for kind in self.kinds() {
            let names = self.names_for(kind, &ca_der);
            let (cert, write) = issue_one(&issuer, &ca_der, &ca_pem, &names, kind)?;
            certs.push(cert);
            writes.push(write);
        }
        Ok(self.pending(certs, writes))
    }

    fn pending(&self, certs: Vec<ServerCert>, writes: Vec<PendingWrite>) -> PendingCerts {
        let mut certs = certs.into_iter();
        let primary = certs.next().expect("the primary certificate comes first");
        PendingCerts {
            certs: ServerCerts {
                primary,
                rsa: certs.next(),
            },
            writes,
            dir: self.dir.clone(),
            root: self.root.clone(),
        }
    }

    /// Why the certificates in force (leaves `primary`, then `rsa`) should be
    /// reissued from the server CA now, if they should: one the CA issued is in
    /// its last 30 days. Another CA's certificate is the operator's to renew: it
    /// only gets a warning in the log.
    pub fn renewal_due(
        &self,
        primary: &CertificateDer<'_>,
        rsa: Option<&CertificateDer<'_>>,
    ) -> Result<Option<String>, InitError> {
        let ca_path = self.dir.join(CA_CERT_FILE);
        let ca = read_cert_pem(&ca_path)?
            .into_iter()
            .next()
            .ok_or_else(|| cert_err(format!("{} holds no certificate", ca_path.display())))?;
        let leaves = std::iter::once((primary, &ECDSA_SERVER)).chain(rsa.map(|r| (r, &RSA_SERVER)));
        for (leaf, kind) in leaves {
            if !issued_by(leaf, &ca) {
                warn_if_ending(leaf, kind.label, &self.dir.join(kind.cert_file));
            } else if seconds_left(leaf)? < RENEW_BEFORE_DAYS * 86_400 {
                return Ok(Some(format!(
                    "the {} expires within {RENEW_BEFORE_DAYS} days",
                    kind.label
                )));
            }
        }
        Ok(None)
    }
}

/// A new certificate of `kind` from `issuer` for `names`, with a new key, and
/// what writing it means.
fn issue_one(
    issuer: &Issuer<'_, &KeyPair>,
    ca_der: &CertificateDer<'static>,
    ca_pem: &str,
    names: &[String],
    kind: &'static ServerCertKind,
) -> Result<(ServerCert, PendingWrite), InitError> {
    let key = (kind.generate)().map_err(cert_err)?;
    let cert = server_params(names, kind.key_usages)?
        .signed_by(&key, issuer)
        .map_err(cert_err)?;
    let issued = ServerCert {
        chain: vec![cert.der().clone(), ca_der.clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    };
    let write = PendingWrite {
        kind,
        chain_pem: format!("{}{}", cert.pem(), ca_pem),
        key_pem: Zeroizing::new(key.serialize_pem()),
        sealed: None,
        remove: None,
    };
    Ok((issued, write))
}

/// The certificate of `kind` with the operator's plaintext key beside it
/// (`server.key`: PKCS#8, SEC1 or PKCS#1 PEM, unencrypted), checked
/// ([`check_pair`]), and what sealing it means.
fn read_import(
    dir: &Path,
    kind: &'static ServerCertKind,
) -> Result<(ServerCert, PendingWrite), InitError> {
    let import = dir.join(kind.import_file);
    let cert_path = dir.join(kind.cert_file);
    let pem = Zeroizing::new(std::fs::read(&import).map_err(io(&import))?);
    let key = PKey::private_key_from_pem(&pem).map_err(|e| {
        cert_err(format!(
            "{}: not an unencrypted PEM private key ({e})",
            import.display()
        ))
    })?;
    let pkcs8 = Zeroizing::new(key.private_key_to_pem_pkcs8().map_err(cert_err)?);
    let key_pem = Zeroizing::new(String::from_utf8_lossy(&pkcs8).into_owned());
    let cert = ServerCert {
        chain: read_cert_pem(&cert_path)?,
        key: PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| cert_err(format!("{}: {e}", import.display())))?,
    };
    check_pair(&cert, &cert_path, &import, true)?;
    let mut chain_pem = String::new();
    for der in &cert.chain {
        let pem = X509::from_der(der)
            .and_then(|c| c.to_pem())
            .map_err(cert_err)?;
        chain_pem.push_str(&String::from_utf8_lossy(&pem));
    }
    let write = PendingWrite {
        kind,
        chain_pem,
        key_pem,
        sealed: None,
        remove: Some(import),
    };
    Ok((cert, write))
}

/// The certificates and keys of a stored identity (what another node stored),
/// checked as SIGHUP checks files ([`check_pair`]); with `legacy`, the RSA
/// pair too when there is one.
pub fn stored_certs(
    root: &dyn RootOfTrust,
    stored: &StoredServerIdentity,
    legacy: bool,
) -> Result<ServerCerts, InitError> {
    let what = format!(
        "the server identity version {} in the database",
        stored.version
    );
    let pair = |chain: &str, key: &str, purpose: &str| -> Result<ServerCert, InitError> {
        let chain = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| cert_err(format!("{what}: {e}")))?;
        let pem = open_sealed_text(root, key, purpose, &what)?;
        let key = PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| cert_err(format!("{what}: {e}")))?;
        let cert = ServerCert { chain, key };
        let path = Path::new(&what);
        check_pair(&cert, path, path, true)?;
        Ok(cert)
    };
    let rsa = match (legacy, &stored.rsa_chain, &stored.rsa_key) {
        (true, Some(c), Some(k)) => Some(pair(c, k, RSA_SERVER.purpose)?),
        _ => None,
    };
    Ok(ServerCerts {
        primary: pair(
            &stored.server_chain,
            &stored.server_key,
            ECDSA_SERVER.purpose,
        )?,
        rsa,
    })
}

/// Checks a server certificate chain and its key, as read from `path` and
/// `key_path`: every certificate parses and is signed by the next one (leaf
/// first), the key parses and is the leaf's, and (with `validity`) the leaf
/// is valid now.
pub fn check_pair(
    cert: &ServerCert,
    path: &Path,
    key_path: &Path,
    validity: bool,
) -> Result<(), InitError> {
    let what = path.display();
    let key_what = key_path.display();
    if cert.chain.is_empty() {
        return Err(cert_err(format!("{what} holds no certificate")));
    }
    let mut x509s = Vec::new();
    for (i, der) in cert.chain.iter().enumerate() {
        x509s.push(
            X509::from_der(der).map_err(|e| {
                cert_err(format!("{what}: certificate {} does not parse: {e}", i + 1))
            })?,
        );
    }
    for (i, pair) in x509s.windows(2).enumerate() {
        let signed = pair[1]
            .public_key()
            .and_then(|k| pair[0].verify(&k))
            .unwrap_or(false);
        if !signed {
            return Err(cert_err(format!(
                "{what}: certificate {} is not signed by certificate {} (put the leaf first, \
                 each certificate followed by its issuer)",
                i + 1,
                i + 2
            )));
        }
    }
    let key = PKey::private_key_from_der(cert.key.secret_der())
        .map_err(|e| cert_err(format!("the private key in {key_what} does not parse: {e}")))?;
    let matches = x509s[0]
        .public_key()
        .map(|p| p.public_eq(&key))
        .unwrap_or(false);
    if !matches {
        return Err(cert_err(format!(
            "the private key in {key_what} does not match the certificate in {what}"
        )));
    }
    if validity {
        let (_, x) = x509_parser::parse_x509_certificate(&cert.chain[0]).map_err(cert_err)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (from, to) = (
            x.validity().not_before.timestamp(),
            x.validity().not_after.timestamp(),
        );
        if now > to {
            return Err(cert_err(format!(
                "the certificate in {what} expired on {}",
                x.validity().not_after
            )));
        }
        if now < from {
            return Err(cert_err(format!(
                "the certificate in {what} is not valid before {}",
                x.validity().not_before
            )));
        }
    }
    Ok(())
}

/// Whether `ca` signed `leaf`.
fn issued_by(leaf: &[u8], ca: &[u8]) -> bool {
    match (X509::from_der(leaf), X509::from_der(ca)) {
        (Ok(leaf), Ok(ca)) => ca
            .public_key()
            .and_then(|k| leaf.verify(&k))
            .unwrap_or(false),
        _ => false,
    }
}

/// Seconds until `leaf` ends (negative once it has).
fn seconds_left(leaf: &[u8]) -> Result<i64, InitError> {
    let (_, x) = x509_parser::parse_x509_certificate(leaf).map_err(cert_err)?;
    Ok(x.validity().not_after.timestamp() - time::OffsetDateTime::now_utc().unix_timestamp())
}

/// Logs a warning when the operator's certificate `leaf` (from `path`) is in its last 30 days.
fn warn_if_ending(leaf: &[u8], label: &str, path: &Path) {
    if let Ok(left) = seconds_left(leaf) {
        if left < RENEW_BEFORE_DAYS * 86_400 {
            tracing::warn!(
                days_left = left / 86_400,
                file = %path.display(),
                "the {label} is not from the server CA, so the server does not renew it: \
                 replace it and send SIGHUP, or rotate to one from the server CA"
            );
        }
    }
}

/// The `.new` files of a pair being replaced: (certificate, sealed key).
fn pending_paths(dir: &Path, kind: &ServerCertKind) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{}.new", kind.cert_file)),
        dir.join(format!("{}.new", kind.key_file)),
    )
}

/// Replaces the certificate of `kind` and its sealed key so that a crash at
/// any point leaves a matching pair (after [`recover_pair`]): both `.new`
/// files written and synced, then the key renamed into place, then the
/// certificate, the directory synced after each step.
fn commit_pair(
    dir: &Path,
    kind: &ServerCertKind,
    chain_pem: &str,
    sealed_key: &str,
) -> Result<(), InitError> {
    let (cert_new, key_new) = pending_paths(dir, kind);
    discard_pending(dir, &cert_new, &key_new)?;
    write_synced(&key_new, sealed_key.as_bytes(), 0o600)?;
    write_synced(&cert_new, chain_pem.as_bytes(), 0o644)?;
    sync_dir(dir)?;
    let key = dir.join(kind.key_file);
    std::fs::rename(&key_new, &key).map_err(io(&key))?;
    sync_dir(dir)?;
    // From here on the new pair is the one: recovery finishes it.
    let cert = dir.join(kind.cert_file);
    std::fs::rename(&cert_new, &cert).map_err(io(&cert))?;
    sync_dir(dir)
}

/// Finishes or undoes a [`commit_pair`] that a crash interrupted: the new key
/// already in place (no `.key.sealed.new`) and its certificate still in `.new`
/// means finish; a `.key.sealed.new` means the old pair was never touched, so
/// undo. What it did, if anything, for the operator.
fn recover_pair(dir: &Path, kind: &ServerCertKind) -> Result<Option<String>, InitError> {
    let (cert_new, key_new) = pending_paths(dir, kind);
    if key_new.exists() {
        discard_pending(dir, &cert_new, &key_new)?;
        return Ok(Some(format!(
            "discarded an unfinished replacement of the {} (the previous one stays)",
            kind.label
        )));
    }
    if cert_new.exists() {
        let cert = dir.join(kind.cert_file);
        std::fs::rename(&cert_new, &cert).map_err(io(&cert))?;
        sync_dir(dir)?;
        return Ok(Some(format!(
            "finished an interrupted replacement of the {} in {}",
            kind.label,
            cert.display()
        )));
    }
    Ok(None)
}

/// Removes the `.new` files, the certificate first: an interrupted removal
/// leaves a `.key.sealed.new`, which [`recover_pair`] undoes, never a lone
/// certificate, which it would finish.
fn discard_pending(dir: &Path, cert_new: &Path, key_new: &Path) -> Result<(), InitError> {
    for p in [cert_new, key_new] {
        match std::fs::remove_file(p) {
            Ok(()) => sync_dir(dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(p)(e)),
        }
    }
    Ok(())
}

/// Makes the renames and removals in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), InitError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The names of the server certificate: loopback, this host, and the configured ones.
pub fn server_names(config: &Config) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Some(h) = host_name() {
        names.push(h);
    }
    names.extend(config.server_names.iter().cloned());
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()));
    names
}

fn host_name() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let h = raw.trim().to_string();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    ok.then_some(h)
}

fn random_serial() -> Result<SerialNumber, InitError> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| cert_err("random generator failed"))?;
    b[0] &= 0x7f; // a positive INTEGER
    Ok(SerialNumber::from_slice(&b))
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    // An hour of slack for clients whose clocks run a little behind.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

fn ca_params() -> Result<CertificateParams, InitError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Sovereign KMS");
    dn.push(
        DnType::CommonName,
        format!(
            "Sovereign KMS server CA ({})",
            host_name().unwrap_or_else(|| "localhost".into())
        ),
    );
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.serial_number = Some(random_serial()?);
    validity(&mut p, CA_DAYS);
    Ok(p)
}

fn server_params(
    names: &[String],
    key_usages: &[KeyUsagePurpose],
) -> Result<CertificateParams, InitError> {
    let mut p = CertificateParams::new(names.to_vec()).map_err(cert_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Sovereign KMS");
    dn.push(
        DnType::CommonName,
        host_name().unwrap_or_else(|| "localhost".into()),
    );
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = key_usages.to_vec();
    // clientAuth too: some vSphere set-ups reuse the KMS certificate as their client certificate.
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.use_authority_key_identifier_extension = true;
    p.serial_number = Some(random_serial()?);
    validity(&mut p, SERVER_DAYS);
    Ok(p)
}

/// Why the stored server certificate must be reissued, if it must.
fn renewal_reason(
    leaf: &CertificateDer<'_>,
    names: &[String],
) -> Result<Option<String>, InitError> {
    let (_, x) = x509_parser::parse_x509_certificate(leaf).map_err(cert_err)?;
    let left =
        x.validity().not_after.timestamp() - time::OffsetDateTime::now_utc().unix_timestamp();
    if left < RENEW_BEFORE_DAYS * 86_400 {
        return Ok(Some("it expires within 30 days".into()));
    }
    let have: BTreeSet<String> = san_names(&x).iter().map(|n| normal_name(n)).collect();
    let missing: Vec<String> = names
        .iter()
        .map(|n| normal_name(n))
        .filter(|n| !have.contains(n))
        .collect();
    if !missing.is_empty() {
        // Names are added, never dropped: the certificate may be shared by
        // the nodes of a cluster, each adding its own (see `names_for`).
        return Ok(Some(format!(
            "it lacks the configured name(s) {}",
            missing.join(", ")
        )));
    }
    Ok(None)
}

/// A certificate name as names compare: an IP address in its usual text, a DNS name in lower case.
fn normal_name(n: &str) -> String {
    match n.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => n.to_ascii_lowercase(),
    }
}

/// The DNS names and IP addresses of a certificate's subjectAltName, in order.
pub fn san_names(x: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(Some(san)) = x.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    let ip = match ip.len() {
                        4 => <[u8; 4]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    names
}

/// The certificates of a PEM file, in order.
pub fn read_cert_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, InitError> {
    use rustls_pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(io(path))?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(format!("{}: {e}", path.display())))
}

const SEALED_MAGIC: &str = "skms-sealed-key-v1";

/// The context that binds a sealed private key to its purpose (`ca`, `server`).
fn seal_context(purpose: &str) -> Vec<u8> {
    format!("skms/tls-private-key/v1:{purpose}").into_bytes()
}

/// Writes `key` sealed ([`seal_pem`]).
fn write_sealed_key(
    root: &dyn RootOfTrust,
    path: &Path,
    purpose: &str,
    key: &KeyPair,
) -> Result<(), InitError> {
    let pem = Zeroizing::new(key.serialize_pem());
    write_private(path, seal_pem(root, purpose, &pem)?.as_bytes())
}

/// The sealed key file text of a private key PEM: a fresh data key seals the
/// PEM, the root wraps the data key.
fn seal_pem(root: &dyn RootOfTrust, purpose: &str, pem: &str) -> Result<String, InitError> {
    let ctx = seal_context(purpose);
    let data_key = Key256::generate()?;
    let wrapped = root.wrap(&data_key, &ctx)?;
    let sealed = data_key.seal(pem.as_bytes(), &ctx)?;
    Ok(format!(
        "{SEALED_MAGIC}\n{}\n{}\n",
        hex::encode(wrapped),
        hex::encode(sealed)
    ))
}

/// Reads what [`write_sealed_key`] wrote, as a key that can sign (the CA's).
fn read_sealed_key(
    root: &dyn RootOfTrust,
    path: &Path,
    purpose: &str,
) -> Result<KeyPair, InitError> {
    KeyPair::from_pem(&read_sealed_pem(root, path, purpose)?).map_err(cert_err)
}

/// Reads a sealed server key: any key type TLS can use (an operator's RSA or
/// ECDSA key as well as the ones made here).
fn read_server_key(
    root: &dyn RootOfTrust,
    path: &Path,
    purpose: &str,
) -> Result<PrivateKeyDer<'static>, InitError> {
    let pem = read_sealed_pem(root, path, purpose)?;
    PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| cert_err(format!("{}: {e}", path.display())))
}

/// The private key PEM a sealed key file holds.
fn read_sealed_pem(
    root: &dyn RootOfTrust,
    path: &Path,
    purpose: &str,
) -> Result<Zeroizing<String>, InitError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    open_sealed_text(root, &text, purpose, &path.display().to_string())
}

/// The private key PEM of a sealed key file's text (`what` names it in errors).
fn open_sealed_text(
    root: &dyn RootOfTrust,
    text: &str,
    purpose: &str,
    what: &str,
) -> Result<Zeroizing<String>, InitError> {
    let bad = || cert_err(format!("{what} is not a sealed key file"));
    let mut lines = text.lines();
    if lines.next() != Some(SEALED_MAGIC) {
        return Err(bad());
    }
    let wrapped = hex::decode(lines.next().ok_or_else(bad)?).map_err(|_| bad())?;
    let sealed = hex::decode(lines.next().ok_or_else(bad)?).map_err(|_| bad())?;
    let ctx = seal_context(purpose);
    let data_key = root.unwrap(&wrapped, &ctx)?;
    let pem = data_key.open(&sealed, &ctx)?;
    let pem = std::str::from_utf8(&pem).map_err(|_| bad())?;
    Ok(Zeroizing::new(pem.to_string()))
}

/// Writes a file only its owner can read, atomically (temporary file, then rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    write_atomic(path, bytes, 0o600)
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    write_atomic(path, bytes, 0o644)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), InitError> {
    let tmp = path.with_extension("tmp");
    write_synced(&tmp, bytes, mode)?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}

/// Writes `bytes` to a new file at `path` (replacing any) with `mode`, and syncs it.
fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<(), InitError> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails if a file of `dir` holds a PEM private key.
    fn assert_no_private_key_in_the_clear(dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
                "{} holds a private key in the clear",
                p.display()
            );
        }
    }

    #[test]
    fn first_start_creates_then_later_starts_load_and_names_changes_reissue() {
        let dir = std::env::temp_dir().join(format!("skms-init-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        let first = open(&config).unwrap();
        assert!(first.created.iter().any(|l| l.contains("root key")));
        assert!(first.created.iter().any(|l| l.contains("server CA")));
        let ca = first.ca_cert.clone();
        let leaf = first.server_chain[0].clone();
        drop(first);

        let again = open(&config).unwrap();
        assert!(again.created.is_empty(), "{:?}", again.created);
        assert_eq!(again.ca_cert, ca);
        assert_eq!(again.server_chain[0], leaf);
        drop(again);

        config.server_names = vec!["kms.example.com".into()];
        let renamed = open(&config).unwrap();
        assert!(renamed.created.iter().any(|l| l.contains("reissuing")));
        assert_eq!(renamed.ca_cert, ca, "the CA stays");
        assert_ne!(renamed.server_chain[0], leaf);

        assert_no_private_key_in_the_clear(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_store_made_under_another_root_key_is_refused_with_what_to_do() {
        let (dir, config) = scratch("other-root");
        drop(open(&config).unwrap());
        let (other, _) = scratch("other-root-key");
        std::fs::create_dir_all(&other).unwrap();
        drop(FileRoot::open_or_create(&other.join(ROOT_KEY_FILE)).unwrap());
        std::fs::copy(other.join(ROOT_KEY_FILE), dir.join(ROOT_KEY_FILE)).unwrap();
        let Err(e) = open(&config) else {
            panic!("opened under another root key")
        };
        assert!(matches!(e, InitError::OtherRoot(_)), "{e}");
        assert!(
            e.to_string().starts_with(
                "this database was created under another root key: copy root.key of an existing node into"
            ),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&other).unwrap();
    }

    #[test]
    fn legacy_suites_add_an_rsa_certificate_sealed_and_reissued_like_the_other() {
        let dir = std::env::temp_dir().join(format!("skms-init-rsa-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        // Off first: no RSA certificate; then on at a later start: it is added.
        let first = open(&config).unwrap();
        assert!(first.rsa_server.is_none());
        assert!(!dir.join(SERVER_RSA_CERT_FILE).exists());
        let ca = first.ca_cert.clone();
        drop(first);
        config.kmip_legacy_cipher_suites = true;
        let on = open(&config).unwrap();
        assert_eq!(on.created.len(), 1, "{:?}", on.created);
        assert!(on.created[0].contains("created RSA server certificate"));
        let rsa = on.rsa_server.as_ref().expect("an RSA certificate");
        assert_eq!(rsa.chain[1], ca, "issued by the same CA");
        let (_, x) = x509_parser::parse_x509_certificate(&rsa.chain[0]).unwrap();
        assert_eq!(
            x.public_key().algorithm.algorithm,
            x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION
        );
        let ku = x.key_usage().unwrap().unwrap().value;
        assert!(ku.key_encipherment() && ku.digital_signature());
        assert_eq!(
            renewal_reason(&rsa.chain[0], &server_names(&config)).unwrap(),
            None
        );
        let leaf = rsa.chain[0].clone();
        let key = rsa.key.secret_der().to_vec();
        drop(on);

        let again = open(&config).unwrap();
        assert!(again.created.is_empty(), "{:?}", again.created);
        let rsa = again.rsa_server.as_ref().unwrap();
        assert_eq!(rsa.chain[0], leaf);
        assert_eq!(rsa.key.secret_der(), key.as_slice(), "the sealed key opens");
        drop(again);

        config.server_names = vec!["kms.example.com".into()];
        let renamed = open(&config).unwrap();
        assert!(
            renamed
                .created
                .iter()
                .any(|l| l.contains("reissuing the RSA server certificate")),
            "{:?}",
            renamed.created
        );
        assert_ne!(renamed.rsa_server.as_ref().unwrap().chain[0], leaf);

        assert_no_private_key_in_the_clear(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A scratch data directory for `name`, and a configuration on it.
    fn scratch(name: &str) -> (PathBuf, Config) {
        let dir = std::env::temp_dir().join(format!("skms-init-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        (dir, config)
    }

    /// An operator's CA and a leaf it signs for `names` (valid from `from` to
    /// `to`, Unix seconds): (leaf then CA as PEM, the leaf's key PEM, leaf DER).
    fn operator_cert(names: &[&str], from: i64, to: i64) -> (String, String, Vec<u8>) {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Operator CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, &ca_key);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.not_before = time::OffsetDateTime::from_unix_timestamp(from).unwrap();
        p.not_after = time::OffsetDateTime::from_unix_timestamp(to).unwrap();
        let leaf = p.signed_by(&key, &issuer).unwrap();
        (
            format!("{}{}", leaf.pem(), ca_cert.pem()),
            key.serialize_pem(),
            leaf.der().to_vec(),
        )
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn a_replacement_cut_short_by_a_crash_leaves_a_pair_that_matches() {
        let (dir, config) = scratch("crash");
        let first = open(&config).unwrap();
        let old = first.server_chain[0].clone();
        let files = first.server_files.clone();
        drop(first);

        // Cut before the key was renamed: both `.new` files, the old pair stays.
        // (A rotation stores the new identity before it writes the files; the
        // store takes it only below, before the second cut.)
        let mut pending = files.issue().unwrap();
        let new = pending.certs().primary.chain[0].clone();
        let stored = pending.identity(2).unwrap();
        let w = &pending.writes[0];
        let sealed = w.sealed.clone().unwrap();
        let (cert_new, key_new) = pending_paths(&dir, w.kind);
        write_synced(&key_new, sealed.as_bytes(), 0o600).unwrap();
        write_synced(&cert_new, w.chain_pem.as_bytes(), 0o644).unwrap();
        let again = open(&config).unwrap();
        assert!(
            again.created.iter().any(|l| l.contains("discarded")),
            "{:?}",
            again.created
        );
        assert_eq!(again.server_chain[0], old);
        assert!(!cert_new.exists() && !key_new.exists());
        assert!(again.store.put_server_identity(&stored).unwrap());
        drop(again);

        // Cut after the key was renamed: the certificate is moved in too.
        write_synced(&cert_new, w.chain_pem.as_bytes(), 0o644).unwrap();
        std::fs::write(dir.join(SERVER_KEY_FILE), &sealed).unwrap();
        let again = open(&config).unwrap();
        assert!(
            again.created.iter().any(|l| l.contains("finished")),
            "{:?}",
            again.created
        );
        assert_eq!(again.server_chain[0], new);
        let cert = ServerCert {
            chain: again.server_chain.clone(),
            key: again.server_key.clone_key(),
        };
        check_pair(
            &cert,
            &dir.join(SERVER_CERT_FILE),
            &dir.join(SERVER_KEY_FILE),
            true,
        )
        .unwrap();
        drop(again);

        // A whole commit, then a reload: the same certificate, nothing left over.
        let pending = files.issue().unwrap();
        let newer = pending.certs().primary.chain[0].clone();
        pending.commit().unwrap();
        let read = files.read().unwrap();
        assert_eq!(read.certs().primary.chain[0], newer);
        assert!(read.writes.is_empty(), "nothing to write");
        assert!(!cert_new.exists() && !key_new.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_operator_certificate_is_sealed_then_kept_as_it_is() {
        let (dir, config) = scratch("operator");
        drop(open(&config).unwrap());
        let (chain, key, leaf) =
            operator_cert(&["kms.example.org"], now() - 60, now() + 10 * 86_400);
        std::fs::write(dir.join(SERVER_CERT_FILE), chain).unwrap();
        std::fs::write(dir.join(SERVER_KEY_IMPORT_FILE), key).unwrap();

        let took = open(&config).unwrap();
        assert!(
            took.created
                .iter()
                .any(|l| l.contains("took the server certificate")),
            "{:?}",
            took.created
        );
        assert_eq!(took.server_chain[0].as_ref(), leaf.as_slice());
        assert_eq!(took.server_chain.len(), 2, "its chain, not the server CA");
        assert!(!dir.join(SERVER_KEY_IMPORT_FILE).exists());
        drop(took);

        // Other names than configured, 10 days left: still never reissued.
        let again = open(&config).unwrap();
        assert!(again.created.is_empty(), "{:?}", again.created);
        assert_eq!(again.server_chain[0].as_ref(), leaf.as_slice());
        let files = again.server_files.clone();
        assert_eq!(
            files.renewal_due(&again.server_chain[0], None).unwrap(),
            None,
            "the operator renews its own"
        );
        drop(again);

        assert_no_private_key_in_the_clear(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_pair_is_refused_for_a_wrong_key_a_broken_chain_or_dates_out_of_range() {
        let (dir, config) = scratch("refused");
        let data = open(&config).unwrap();
        let files = data.server_files.clone();
        let cert_path = dir.join(SERVER_CERT_FILE);
        let import = dir.join(SERVER_KEY_IMPORT_FILE);
        let refused = |chain: &str, key: &str, why: &str| {
            std::fs::write(&cert_path, chain).unwrap();
            std::fs::write(&import, key).unwrap();
            let Err(e) = files.read() else {
                panic!("accepted; wanted {why}")
            };
            assert!(e.to_string().contains(why), "{e}; wanted {why}");
            assert!(import.exists(), "the operator's key is left as it was");
        };
        let (good, good_key, _) = operator_cert(&["localhost"], now() - 60, now() + 86_400);
        let (_, other_key, _) = operator_cert(&["localhost"], now() - 60, now() + 86_400);
        refused(&good, &other_key, "does not match the certificate");
        let (old, old_key, _) = operator_cert(&["localhost"], now() - 7200, now() - 3600);
        refused(&old, &old_key, "expired on");
        let (early, early_key, _) = operator_cert(&["localhost"], now() + 3600, now() + 7200);
        refused(&early, &early_key, "is not valid before");
        // The leaf followed by another CA than its issuer.
        let (other_chain, _, _) = operator_cert(&["localhost"], now() - 60, now() + 86_400);
        let leaf_pem = &good[..good.find("-----END CERTIFICATE-----").unwrap() + 26];
        let other_ca = &other_chain[other_chain.find("-----END CERTIFICATE-----").unwrap() + 26..];
        refused(
            &format!("{leaf_pem}{other_ca}"),
            &good_key,
            "is not signed by certificate 2",
        );
        refused(&good, "not a key", "not an unencrypted PEM private key");
        // And with the right key it is taken.
        std::fs::write(&cert_path, &good).unwrap();
        std::fs::write(&import, &good_key).unwrap();
        let pending = files.read().unwrap();
        pending.commit().unwrap();
        assert!(!import.exists());
        drop(data);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_daily_check_renews_only_what_the_server_ca_issued_near_its_end() {
        let (dir, config) = scratch("due");
        let data = open(&config).unwrap();
        let files = data.server_files.clone();
        assert_eq!(
            files.renewal_due(&data.server_chain[0], None).unwrap(),
            None
        );
        // A certificate of the server CA with 10 days left is due.
        let ca_key = read_sealed_key(&*data.root, &dir.join(CA_KEY_FILE), "ca").unwrap();
        let issuer = Issuer::from_ca_cert_der(&data.ca_cert, &ca_key).unwrap();
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = server_params(&files.names, &[KeyUsagePurpose::DigitalSignature]).unwrap();
        p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(10);
        let ending = p.signed_by(&key, &issuer).unwrap();
        let why = files.renewal_due(ending.der(), None).unwrap();
        assert!(why.is_some_and(|w| w.contains("expires within 30 days")));
        drop(data);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
