//! First start and every start after it: the data directory, its database, the
//! software root key, the server CA and the server certificate.
//!
//! Files in the data directory:
//!
//! | file | what | mode |
//! |---|---|---|
//! | `skms.db` (+ `-wal`, `-shm`) | the SQLite database | 0600 (SQLite's default umask-derived mode) |
//! | `root.key` | the software root key (32 bytes) | 0600 |
//! | `ca.crt` | the server CA certificate (PEM): give it to vCenter ("Make vCenter trust KMS") | 0644 |
//! | `ca.key.sealed` | the CA private key, sealed (see below) | 0600 |
//! | `server.crt` | the server certificate then the CA (PEM chain) | 0644 |
//! | `server.key.sealed` | the server private key, sealed | 0600 |
//! | `server-rsa.crt` | with `kmip_legacy_cipher_suites` only: an RSA server certificate (same names, same CA) then the CA | 0644 |
//! | `server-rsa.key.sealed` | its private key (RSA-3072), sealed | 0600 |
//!
//! A private key is never written in the clear: its PKCS#8 PEM is sealed
//! (AES-256-GCM) under a fresh data key, and that data key is wrapped by the
//! root of trust, both bound to the file's purpose. So whoever can unseal the
//! root (an HSM later) can start the server, and a copy of the data directory
//! without `root.key` reveals no private key.

use crate::config::Config;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SerialNumber, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use skms_core::keys::{FileRoot, Key256, KeyError, RootOfTrust};
use skms_core::store::StoreError;
use skms_store::SqliteStore;
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
    pub store: Arc<SqliteStore>,
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
    pub store: Arc<SqliteStore>,
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

/// Opens (creating when missing) the data directory, its database and its root key.
pub fn open_basics(dir: &Path) -> Result<Basics, InitError> {
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
    let db = dir.join(DB_FILE);
    let db_existed = db.exists();
    let store = SqliteStore::open(&db)?;
    if !db_existed {
        created.push(format!("created database {}", db.display()));
    }
    let root_path = dir.join(ROOT_KEY_FILE);
    let (root, root_created) = FileRoot::open_or_create(&root_path)?;
    if root_created {
        created.push(format!(
            "created root key {} (mode 0600; back it up and keep it secret: without it no key can be read)",
            root_path.display()
        ));
    }
    Ok(Basics {
        store: Arc::new(store),
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
    } = open_basics(dir)?;
    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    let (ca_der, ca_key) = if ca_cert_path.exists() || ca_key_path.exists() {
        let der = read_cert_pem(&ca_cert_path)?
            .into_iter()
            .next()
            .ok_or_else(|| cert_err(format!("{} holds no certificate", ca_cert_path.display())))?;
        let key = read_sealed_key(&*root, &ca_key_path, "ca")?;
        (der, key)
    } else {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
        let params = ca_params()?;
        let cert = params.self_signed(&key).map_err(cert_err)?;
        write_sealed_key(&*root, &ca_key_path, "ca", &key)?;
        write_public(&ca_cert_path, cert.pem().as_bytes())?;
        created.push(format!(
            "created server CA {} (ECDSA P-256, {} years) and its key, sealed by the root key, in {}",
            ca_cert_path.display(),
            CA_DAYS / 365,
            ca_key_path.display()
        ));
        (cert.der().clone(), key)
    };

    let names = server_names(config);
    let issuer = Issuer::from_ca_cert_der(&ca_der, &ca_key).map_err(cert_err)?;
    let (leaf, server_key) =
        server_cert(dir, &*root, &issuer, &names, &ECDSA_SERVER, &mut created)?;
    let rsa_server = if config.kmip_legacy_cipher_suites {
        let (leaf, key) = server_cert(dir, &*root, &issuer, &names, &RSA_SERVER, &mut created)?;
        Some(ServerCert {
            chain: vec![leaf, ca_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    } else {
        None
    };
    Ok(DataDir {
        path: dir.clone(),
        store,
        root,
        ca_cert_path,
        ca_cert: ca_der.clone(),
        server_chain: vec![leaf, ca_der],
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        rsa_server,
        created,
    })
}

/// One kind of server certificate: its files, its key and how the operator hears of it.
struct ServerCertKind {
    cert_file: &'static str,
    key_file: &'static str,
    /// What the sealed key is bound to (see [`seal_context`]).
    purpose: &'static str,
    /// "server certificate", "RSA server certificate".
    label: &'static str,
    generate: fn() -> Result<KeyPair, rcgen::Error>,
    key_usages: &'static [KeyUsagePurpose],
}

/// The server certificate every TLS stack offers.
const ECDSA_SERVER: ServerCertKind = ServerCertKind {
    cert_file: SERVER_CERT_FILE,
    key_file: SERVER_KEY_FILE,
    purpose: "server",
    label: "server certificate",
    generate: || KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
    key_usages: &[KeyUsagePurpose::DigitalSignature],
};

/// The RSA server certificate the TLS_RSA_WITH_AES_*_CBC_SHA256 suites need
/// (their key exchange is RSA encryption to the certificate's key).
const RSA_SERVER: ServerCertKind = ServerCertKind {
    cert_file: SERVER_RSA_CERT_FILE,
    key_file: SERVER_RSA_KEY_FILE,
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

/// Loads the server certificate of `kind` and its key, or issues them from the
/// CA when they are missing, name other names than `names`, or near their end.
fn server_cert(
    dir: &Path,
    root: &dyn RootOfTrust,
    issuer: &Issuer<'_, &KeyPair>,
    names: &[String],
    kind: &ServerCertKind,
    created: &mut Vec<String>,
) -> Result<(CertificateDer<'static>, KeyPair), InitError> {
    let cert_path = dir.join(kind.cert_file);
    let key_path = dir.join(kind.key_file);
    if cert_path.exists() && key_path.exists() {
        if let Some(leaf) = read_cert_pem(&cert_path)?.into_iter().next() {
            match renewal_reason(&leaf, names)? {
                None => return Ok((leaf, read_sealed_key(root, &key_path, kind.purpose)?)),
                Some(why) => created.push(format!("reissuing the {}: {why}", kind.label)),
            }
        }
    }
    let key = (kind.generate)().map_err(cert_err)?;
    let cert = server_params(names, kind.key_usages)?
        .signed_by(&key, issuer)
        .map_err(cert_err)?;
    write_sealed_key(root, &key_path, kind.purpose, &key)?;
    let ca_path = dir.join(CA_CERT_FILE);
    let ca_pem = std::fs::read_to_string(&ca_path).map_err(io(&ca_path))?;
    write_public(&cert_path, format!("{}{}", cert.pem(), ca_pem).as_bytes())?;
    created.push(format!(
        "created {} {} ({} years) for {}, its key sealed by the root key in {}",
        kind.label,
        cert_path.display(),
        SERVER_DAYS / 365,
        names.join(", "),
        key_path.display()
    ));
    Ok((cert.der().clone(), key))
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
    let mut have = BTreeSet::new();
    if let Ok(Some(san)) = x.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => {
                    have.insert(d.to_ascii_lowercase());
                }
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    let ip = match ip.len() {
                        4 => <[u8; 4]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*ip).ok().map(std::net::IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        have.insert(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let want: BTreeSet<String> = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => n.to_ascii_lowercase(),
        })
        .collect();
    if have != want {
        return Ok(Some(format!(
            "its names ({}) differ from the configured ones ({})",
            have.into_iter().collect::<Vec<_>>().join(", "),
            want.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(None)
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

/// Writes `key` sealed: a fresh data key seals its PEM, the root wraps the data key.
fn write_sealed_key(
    root: &dyn RootOfTrust,
    path: &Path,
    purpose: &str,
    key: &KeyPair,
) -> Result<(), InitError> {
    let ctx = seal_context(purpose);
    let data_key = Key256::generate()?;
    let wrapped = root.wrap(&data_key, &ctx)?;
    let pem = Zeroizing::new(key.serialize_pem());
    let sealed = data_key.seal(pem.as_bytes(), &ctx)?;
    let text = format!(
        "{SEALED_MAGIC}\n{}\n{}\n",
        hex::encode(wrapped),
        hex::encode(sealed)
    );
    write_private(path, text.as_bytes())
}

/// Reads what [`write_sealed_key`] wrote.
fn read_sealed_key(
    root: &dyn RootOfTrust,
    path: &Path,
    purpose: &str,
) -> Result<KeyPair, InitError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bad = || cert_err(format!("{} is not a sealed key file", path.display()));
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
    KeyPair::from_pem(pem).map_err(cert_err)
}

/// Writes a file only its owner can read, atomically (temporary file, then rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    write_atomic(path, bytes, 0o600)
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    write_atomic(path, bytes, 0o644)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), InitError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

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

        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
                "{} holds a private key in the clear",
                p.display()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
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

        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
                "{} holds a private key in the clear",
                p.display()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
