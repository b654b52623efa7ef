//! TLS for KMIP: the rustls server configuration and client identity.
//!
//! The handshake asks for a client certificate but does not demand one, and
//! accepts any certificate whose holder proves it has the private key
//! ([`OfferedClientAuth`]): vCenter may present a self-signed leaf, a
//! certificate from its own CA, or none (password protection). Who the client
//! is gets decided after the handshake, against the store ([`identify`]):
//! a pinned SHA-256 fingerprint, or a subject CN that is an app UUID with a
//! chain to one of that app's trusted CAs.
//!
//! With `kmip_legacy_cipher_suites`, OpenSSL serves KMIP instead
//! ([`openssl_context`]): the same suites plus the KMIP profile suites
//! TLS_RSA_WITH_AES_128/256_CBC_SHA256, which rustls does not implement; the
//! same client-certificate policy, and the same [`identify`] after the handshake.
//!
//! The server's own certificate is a [`ServerIdentity`]: KMIP and HTTPS ask it
//! at each handshake, so a reload (SIGHUP) or a rotation (the REST API, the
//! daily renewal) reaches every new connection at once while open ones keep
//! the certificate of their handshake.

use crate::init::{self, DataDir, InitError, ServerCertFiles, ServerCerts};
use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{SslContext, SslMethod, SslOptions, SslRef, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use skms_core::ids::AppId;
use skms_core::model::{App, AuthMethod};
use skms_core::ops::Caller;
use skms_core::store::{Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tracing::info;

/// The crypto provider: aws-lc-rs with rustls's default suites (TLS 1.3 and
/// 1.2, ECDHE key exchange, AEAD ciphers only).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls server configuration of KMIP: the server certificate of
/// `identity` (as it is at each handshake), TLS 1.3 and 1.2, client
/// certificates requested but optional.
pub fn server_config(identity: Arc<ServerIdentity>) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = provider();
    let verifier = Arc::new(OfferedClientAuth {
        provider: provider.clone(),
    });
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(identity);
    // vCenter opens many short connections: resumption saves full handshakes.
    cfg.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    Ok(Arc::new(cfg))
}

/// The rustls server configuration of the REST API: the server certificate
/// of `identity` (as it is at each handshake), TLS 1.3 and 1.2 (AEAD suites
/// only), no client certificate, HTTP/1.1.
pub fn https_config(identity: Arc<ServerIdentity>) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(identity);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A value replaced whole while others read it: a reader takes a clone (an
/// `Arc`, a reference-counted OpenSSL context) and keeps it as long as it
/// needs; a swap changes only what later reads get.
pub struct Swap<T: Clone>(RwLock<T>);

impl<T: Clone> Swap<T> {
    /// Holds `value`.
    pub fn new(value: T) -> Self {
        Swap(RwLock::new(value))
    }

    /// The value now.
    pub fn get(&self) -> T {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the value for every later [`Swap::get`].
    fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = value;
    }
}

/// Why the server certificate was not changed (the previous one is still served).
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The files could not be read, checked, issued or written.
    #[error(transparent)]
    Files(#[from] InitError),
    /// rustls refused the certificate or its key.
    #[error("rustls refuses the server certificate: {0}")]
    Rustls(#[from] rustls::Error),
    /// OpenSSL refused the certificate or its key (the legacy-suite KMIP listener).
    #[error("OpenSSL refuses the server certificate: {0}")]
    OpenSsl(#[from] ErrorStack),
    /// The store holding the identity every node serves failed.
    #[error("the server identity in the database: {0}")]
    Store(#[from] StoreError),
    /// Another node changed the stored identity first, again and again.
    #[error("other nodes kept changing the server identity at the same time: try again")]
    Contended,
}

/// What a served certificate says, for the REST API and the log.
#[derive(Clone, Debug)]
pub struct CertFacts {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// The DNS names and IP addresses it is for (subjectAltName).
    pub names: Vec<String>,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// SHA-256 fingerprint of the DER certificate, hex.
    pub sha256: String,
}

impl CertFacts {
    /// The facts of DER certificate `der`.
    pub fn of(der: &[u8]) -> Result<Self, String> {
        let (_, x) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        Ok(CertFacts {
            subject: x.subject().to_string(),
            issuer: x.issuer().to_string(),
            serial: hex::encode(x.raw_serial()),
            names: init::san_names(&x),
            not_before: x.validity().not_before.timestamp(),
            not_after: x.validity().not_after.timestamp(),
            sha256: hex::encode(fingerprint(der)),
        })
    }
}

/// The certificates being served now.
#[derive(Clone, Debug)]
pub struct Served {
    /// The certificate KMIP (rustls) and HTTPS present: `server.crt`.
    pub primary: CertFacts,
    /// Its chain as presented (leaf first), PEM.
    pub chain_pem: String,
    /// With the legacy suites, the RSA certificate OpenSSL also presents: `server-rsa.crt`.
    pub rsa: Option<CertFacts>,
}

/// The rustls and OpenSSL forms of one set of server certificates, built
/// before any of them is swapped in, so that a refusal changes nothing.
struct Built {
    certified: Arc<CertifiedKey>,
    openssl: Option<SslContext>,
    served: Arc<Served>,
    rsa_leaf: Option<CertificateDer<'static>>,
}

/// The server's own certificate, swappable while serving. rustls asks it for
/// the certificate of each new handshake ([`ResolvesServerCert`]; KMIP and
/// HTTPS share it); the legacy-suite OpenSSL listener takes its current
/// context per connection ([`ServerIdentity::openssl`]). A connection keeps
/// what its handshake got; every later handshake sees a change at once.
///
/// A change is all or nothing: the new certificates are read or issued,
/// checked, turned into both TLS forms, stored in the store as the next
/// version of the identity every node serves (a compare-and-set: a node that
/// lost a race takes the winner's, [`ServerIdentity::sync`], and tries once
/// more), written to the data directory (crash-safely), and only then swapped
/// in. On any error the previous certificates stay, in memory and on disk.
/// Every node polls the stored version ([`ServerIdentity::sync`]) and swaps
/// in a newer one that another node stored.
pub struct ServerIdentity {
    files: ServerCertFiles,
    store: Arc<dyn Store>,
    /// The version of the stored identity served now.
    version: AtomicU64,
    provider: Arc<CryptoProvider>,
    certified: Swap<Arc<CertifiedKey>>,
    openssl: Option<Arc<Swap<SslContext>>>,
    served: Swap<Arc<Served>>,
    /// The RSA leaf OpenSSL presents, with the legacy suites.
    rsa_leaf: Swap<Option<CertificateDer<'static>>>,
    /// One change at a time (SIGHUP, the REST API and the daily renewal may meet).
    changing: Mutex<()>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("served", &self.served.get())
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ServerIdentity {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.certified.get())
    }
}

impl ServerIdentity {
    /// The identity of the certificates `data` opened at start; with the
    /// legacy suites, an OpenSSL context too.
    pub fn new(data: &DataDir) -> Result<Arc<Self>, CertError> {
        let provider = provider();
        let certs = ServerCerts {
            primary: init::ServerCert {
                chain: data.server_chain.clone(),
                key: data.server_key.clone_key(),
            },
            rsa: data.rsa_server.as_ref().map(|r| init::ServerCert {
                chain: r.chain.clone(),
                key: r.key.clone_key(),
            }),
        };
        let legacy = data.server_files.legacy();
        let built = build(&provider, &certs, legacy)?;
        Ok(Arc::new(ServerIdentity {
            files: data.server_files.clone(),
            store: data.store.clone(),
            version: AtomicU64::new(data.identity_version),
            provider,
            certified: Swap::new(built.certified),
            openssl: built.openssl.map(|c| Arc::new(Swap::new(c))),
            served: Swap::new(built.served),
            rsa_leaf: Swap::new(built.rsa_leaf),
            changing: Mutex::new(()),
        }))
    }

    /// The OpenSSL context new legacy-suite KMIP connections take (with the legacy suites only).
    pub fn openssl(&self) -> Option<Arc<Swap<SslContext>>> {
        self.openssl.clone()
    }

    /// The certificates served now.
    pub fn served(&self) -> Arc<Served> {
        self.served.get()
    }

    /// Serves the certificate files as they are now (SIGHUP): an operator's
    /// `server.crt` with its plaintext `server.key` (sealed, then removed), or
    /// `server.crt` with `server.key.sealed`. The chain must parse and link,
    /// the key match, the certificate be valid now. Blocking.
    pub fn reload(&self) -> Result<Arc<Served>, CertError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        self.change(ServerCertFiles::read, "reloaded from the data directory")
    }

    /// Serves new certificates from the server CA (the same names, new keys),
    /// written to the data directory first. Blocking.
    pub fn rotate(&self) -> Result<Arc<Served>, CertError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        self.rotate_locked("rotated")
    }

    /// Rotates when a certificate the server CA issued is in its last 30 days
    /// (the daily check): why, and what is served now; `None` when not due.
    /// Blocking.
    pub fn renew_if_due(&self) -> Result<Option<(String, Arc<Served>)>, CertError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let certified = self.certified.get();
        let primary = certified.end_entity_cert()?;
        let rsa = self.rsa_leaf.get();
        let Some(why) = self.files.renewal_due(primary, rsa.as_ref())? else {
            return Ok(None);
        };
        match self.publish(self.files.issue()?, &format!("renewed ({why})"))? {
            Some(served) => Ok(Some((why, served))),
            // Another node renewed it first (every node checks daily): serve that one.
            None => {
                self.sync_locked()?;
                Ok(None)
            }
        }
    }

    fn rotate_locked(&self, how: &str) -> Result<Arc<Served>, CertError> {
        self.change(ServerCertFiles::issue, how)
    }

    /// Makes new certificates with `make` and serves them; when another node
    /// stored a newer identity first, takes that one and makes them again (twice at most).
    fn change(
        &self,
        make: fn(&ServerCertFiles) -> Result<init::PendingCerts, InitError>,
        how: &str,
    ) -> Result<Arc<Served>, CertError> {
        for _ in 0..2 {
            if let Some(served) = self.publish(make(&self.files)?, how)? {
                return Ok(served);
            }
            self.sync_locked()?;
        }
        Err(CertError::Contended)
    }

    /// Stores `pending` as the next version of the identity every node serves
    /// (when it changes anything), then commits it to disk and swaps it in;
    /// `None`, and nothing changed, when another node stored a version first.
    fn publish(
        &self,
        mut pending: init::PendingCerts,
        how: &str,
    ) -> Result<Option<Arc<Served>>, CertError> {
        let built = build(&self.provider, pending.certs(), self.openssl.is_some())?;
        if pending.changes() {
            let next = self.version.load(Ordering::Acquire) + 1;
            if !self.store.put_server_identity(&pending.identity(next)?)? {
                return Ok(None);
            }
            self.version.store(next, Ordering::Release);
        }
        pending.commit()?;
        Ok(Some(self.swap_built(built, how)))
    }

    /// Serves a newer identity that another node stored, if there is one:
    /// what is served now, `None` when the stored version is the one served.
    /// Blocking; a cheap read of the version when nothing changed.
    pub fn sync(&self) -> Result<Option<Arc<Served>>, CertError> {
        if self.store.server_identity_version()? <= self.version.load(Ordering::Acquire) {
            return Ok(None);
        }
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        self.sync_locked()
    }

    fn sync_locked(&self) -> Result<Option<Arc<Served>>, CertError> {
        let Some(stored) = self.store.server_identity()? else {
            return Ok(None);
        };
        if stored.version <= self.version.load(Ordering::Acquire) {
            return Ok(None);
        }
        let certs = init::stored_certs(&*self.files.root(), &stored, self.files.legacy())?;
        let built = build(&self.provider, &certs, self.openssl.is_some())?;
        init::adopt(self.files.dir(), &stored)?;
        self.version.store(stored.version, Ordering::Release);
        let how = format!(
            "taken from the database (version {}, stored by another node)",
            stored.version
        );
        Ok(Some(self.swap_built(built, &how)))
    }

    /// The version of the stored identity served now.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Swaps in what [`build`] made.
    fn swap_built(&self, built: Built, how: &str) -> Arc<Served> {
        self.certified.set(built.certified);
        if let (Some(live), Some(ctx)) = (&self.openssl, built.openssl) {
            live.set(ctx);
        }
        self.served.set(built.served.clone());
        self.rsa_leaf.set(built.rsa_leaf);
        info!(
            sha256 = %built.served.primary.sha256,
            serial = %built.served.primary.serial,
            not_after = built.served.primary.not_after,
            rsa_sha256 = built.served.rsa.as_ref().map(|r| r.sha256.as_str()),
            "server certificate {how}: new handshakes present it"
        );
        built.served
    }
}

/// The rustls and (with `openssl`) OpenSSL forms of `certs`.
fn build(
    provider: &Arc<CryptoProvider>,
    certs: &ServerCerts,
    openssl: bool,
) -> Result<Built, CertError> {
    let certified = CertifiedKey::from_der(
        certs.primary.chain.clone(),
        certs.primary.key.clone_key(),
        provider,
    )?;
    let ctx = if openssl {
        Some(openssl_context(certs)?)
    } else {
        None
    };
    let facts = |der: &[u8]| CertFacts::of(der).map_err(InitError::Cert);
    let mut chain_pem = String::new();
    for der in &certs.primary.chain {
        chain_pem.push_str(&String::from_utf8_lossy(&X509::from_der(der)?.to_pem()?));
    }
    let served = Served {
        primary: facts(&certs.primary.chain[0])?,
        chain_pem,
        rsa: match &certs.rsa {
            Some(r) => Some(facts(&r.chain[0])?),
            None => None,
        },
    };
    Ok(Built {
        certified: Arc::new(certified),
        openssl: ctx,
        served: Arc::new(served),
        rsa_leaf: certs.rsa.as_ref().map(|r| r.chain[0].clone()),
    })
}

/// The TLS 1.2 suites of the OpenSSL listener, most preferred first: those
/// rustls offers (ECDHE with AEAD) then the KMIP profile suites
/// TLS_RSA_WITH_AES_128_CBC_SHA256 and TLS_RSA_WITH_AES_256_CBC_SHA256 that
/// older clients (vCenter 7) offer alone. Nothing weaker: no SHA-1, 3DES, RC4,
/// export or anonymous suite. TLS 1.3 keeps OpenSSL's default suites (all AEAD).
pub const OPENSSL_TLS12_CIPHERS: &str =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-RSA-CHACHA20-POLY1305:AES128-SHA256:AES256-SHA256";

/// The signature algorithms of the OpenSSL listener, as rustls's (no SHA-1).
const OPENSSL_SIGALGS: &str = "ECDSA+SHA384:ECDSA+SHA256:ed25519:\
rsa_pss_rsae_sha512:rsa_pss_rsae_sha384:rsa_pss_rsae_sha256:RSA+SHA512:RSA+SHA384:RSA+SHA256";

/// The OpenSSL server context of the legacy-suite KMIP listener: TLS 1.3 and
/// 1.2 with [`OPENSSL_TLS12_CIPHERS`]; the ECDSA server certificate and the RSA
/// one (the TLS_RSA suites need an RSA key), both from the data directory;
/// client certificates requested but optional and any chain accepted, as
/// [`OfferedClientAuth`] does (OpenSSL still checks CertificateVerify, so the
/// client holds the key), the caller being identified after the handshake.
pub fn openssl_context(certs: &ServerCerts) -> Result<SslContext, ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_server())?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    b.set_max_proto_version(Some(SslVersion::TLS1_3))?;
    b.set_cipher_list(OPENSSL_TLS12_CIPHERS)?;
    b.set_sigalgs_list(OPENSSL_SIGALGS)?;
    b.set_options(
        SslOptions::CIPHER_SERVER_PREFERENCE
            | SslOptions::NO_RENEGOTIATION
            | SslOptions::NO_COMPRESSION,
    );
    b.set_verify_callback(SslVerifyMode::PEER, |_chain_ok, _ctx| true);
    // Needed for session resumption once client certificates are requested.
    b.set_session_id_context(b"skms-kmip")?;
    b.set_session_cache_size(4096);
    // One slot per key type: OpenSSL picks the certificate the suite needs.
    let mut pairs = vec![&certs.primary];
    pairs.extend(&certs.rsa);
    // The extra chain is the context's, shared by both slots: the issuers of
    // both (one server CA, unless an operator put another chain in place).
    let mut extra: Vec<&CertificateDer<'static>> = Vec::new();
    for pair in pairs {
        let Some(leaf) = pair.chain.first() else {
            continue;
        };
        let leaf = X509::from_der(leaf)?;
        b.set_certificate(&leaf)?;
        let key = PKey::private_key_from_der(pair.key.secret_der())?;
        b.set_private_key(&key)?;
        b.check_private_key()?;
        for c in &pair.chain[1..] {
            if !extra.contains(&c) {
                extra.push(c);
            }
        }
    }
    for c in extra {
        b.add_extra_chain_cert(X509::from_der(c)?)?;
    }
    Ok(b.build())
}

/// The client's certificate chain, leaf first, after an OpenSSL handshake
/// (empty when it sent none).
pub fn openssl_peer_chain(ssl: &SslRef) -> Vec<CertificateDer<'static>> {
    let Some(leaf) = ssl.peer_certificate().and_then(|c| c.to_der().ok()) else {
        return Vec::new();
    };
    let mut chain = vec![CertificateDer::from(leaf)];
    // On the server side OpenSSL leaves the leaf out of this; skip it if not.
    for c in ssl.peer_cert_chain().into_iter().flatten() {
        if let Ok(der) = c.to_der() {
            if der != chain[0].as_ref() {
                chain.push(CertificateDer::from(der));
            }
        }
    }
    chain
}

/// A client-certificate verifier that asks for a certificate, does not require
/// one, and accepts any (self-signed leaves included) at the TLS layer; rustls
/// still checks the CertificateVerify signature, so the client holds the key.
#[derive(Debug)]
pub struct OfferedClientAuth {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for OfferedClientAuth {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: trust is per app, and vCenter sends its one certificate anyway.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Only refuse what cannot be a certificate; identity is decided later.
        webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

pub use skms_core::certs::fingerprint;

/// The DER OID of the clientAuth extended key usage (1.3.6.1.5.5.7.3.2).
const EKU_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// An EKU policy that accepts any extended key usage, or none (vSphere client
/// certificates are often missing clientAuth; see vsphere-kmip.md section 7).
struct AnyEku;

impl webpki::ExtendedKeyUsageValidator for AnyEku {
    fn validate(&self, _iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// How a client certificate identified an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertMatch {
    /// Its fingerprint is pinned to the app.
    Pinned,
    /// Its subject CN is the app's id and it chains to one of the app's trusted CAs.
    TrustedCa,
}

/// Why a presented client certificate identified nobody (for the debug log).
#[derive(Debug, thiserror::Error)]
pub enum CertRejected {
    /// Neither pinned nor named after an app (that authenticates by certificate).
    #[error("not pinned to any app, and its subject CN is not the id of an app that authenticates by certificate")]
    Unknown,
    /// The app it names is disabled, not allowed KMIP, or its account is disabled.
    #[error("app {0} is disabled, not allowed KMIP, or its account is disabled")]
    Disabled(AppId),
    /// The app it names has no trusted CA that issued it.
    #[error("no trusted CA of app {0} validates it: {1}")]
    Untrusted(AppId, String),
    /// The configuration requires clientAuth and the certificate lacks it.
    #[error("it does not carry the clientAuth extended key usage")]
    NoClientAuthEku,
    /// A pinned certificate whose validity has ended (or cannot be read).
    #[error("the pinned certificate has expired")]
    Expired,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Client certificate chains already verified against an app's trusted CAs,
/// so that a client that opens a connection per request (vCenter) has its
/// chain's signatures checked once, not at every connection: that check was
/// an eighth of the KMIP listener's CPU in the vcenter benchmark.
///
/// An entry holds what the verification depended on besides the chain
/// itself (its key): the app's trusted CAs (a digest), whether clientAuth
/// was required, and the earliest end of validity in the chain. It answers
/// only while all three still hold; the app itself (enabled, authenticating
/// by certificate, its account enabled) is read again at every connection.
pub struct VerifiedChains {
    max: usize,
    entries: Mutex<std::collections::HashMap<[u8; 32], VerifiedChain>>,
}

#[derive(Clone, Copy)]
struct VerifiedChain {
    app: AppId,
    anchors: [u8; 32],
    client_auth_eku: bool,
    /// Seconds since the epoch: the earliest notAfter of the chain.
    until: i64,
}

impl VerifiedChains {
    /// A cache of at most `max` chains (emptied when full).
    pub fn new(max: usize) -> Self {
        VerifiedChains {
            max,
            entries: Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], VerifiedChain>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `chain` was verified for, if it is still valid at `now` and was
    /// verified under the same clientAuth requirement (the caller compares
    /// the app's CAs with the entry's digest).
    fn recall(
        &self,
        chain: &[u8; 32],
        client_auth_eku: bool,
        now: UnixTime,
    ) -> Option<VerifiedChain> {
        self.entries()
            .get(chain)
            .filter(|v| v.client_auth_eku == client_auth_eku && now.as_secs() as i64 <= v.until)
            .copied()
    }

    fn remember(&self, chain: [u8; 32], entry: VerifiedChain) {
        let mut entries = self.entries();
        if entries.len() >= self.max {
            entries.clear();
        }
        entries.insert(chain, entry);
    }
}

/// A digest of a list of certificates (a chain, an app's trusted CAs).
fn digest_all<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let each: Vec<u8> = ders.into_iter().flat_map(fingerprint).collect();
    fingerprint(&each)
}

/// The caller a client certificate chain (leaf first) identifies. Only an app
/// whose `auth_method` is [`AuthMethod::Certificate`] can be identified so; for
/// any other the certificate is unknown. A chain verified before against the
/// same trusted CAs is taken from `verified`.
pub fn identify(
    store: &dyn Store,
    verified: &VerifiedChains,
    chain: &[CertificateDer<'_>],
    require_client_auth_eku: bool,
    now: UnixTime,
) -> Result<(Caller, CertMatch), CertRejected> {
    let Some(leaf) = chain.first() else {
        return Err(CertRejected::Unknown);
    };
    if let Some(app) = store.app_by_pinned_cert(&fingerprint(leaf))? {
        if app.auth_method != AuthMethod::Certificate {
            return Err(CertRejected::Unknown);
        }
        if require_client_auth_eku && !has_client_auth_eku(leaf) {
            return Err(CertRejected::NoClientAuthEku);
        }
        // Pinning trusts this exact certificate, for as long as it is valid
        // (the validity chosen when the server signed it, or the uploader's).
        let not_after = skms_core::certs::inspect(leaf).map(|i| i.not_after);
        if not_after.map_or(true, |t| now.as_secs() as i64 > t) {
            return Err(CertRejected::Expired);
        }
        return Ok((caller_for(store, app)?, CertMatch::Pinned));
    }
    let chain_digest = digest_all(chain.iter().map(|c| c.as_ref()));
    let anchors_of = |app: &App| digest_all(app.trusted_cas.iter().map(Vec::as_slice));
    if let Some(known) = verified.recall(&chain_digest, require_client_auth_eku, now) {
        let app = store
            .app(known.app)?
            .filter(|a| a.auth_method == AuthMethod::Certificate);
        if let Some(app) = app.filter(|a| anchors_of(a) == known.anchors) {
            return Ok((caller_for(store, app)?, CertMatch::TrustedCa));
        }
    }
    let Some(id) = subject_cn(leaf).and_then(|cn| cn.trim().parse::<AppId>().ok()) else {
        return Err(CertRejected::Unknown);
    };
    let Some(app) = store
        .app(id)?
        .filter(|a| a.auth_method == AuthMethod::Certificate)
    else {
        return Err(CertRejected::Unknown);
    };
    let anchors = app
        .trusted_cas
        .iter()
        .filter_map(|der| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                .ok()
                .map(|a| a.to_owned())
        })
        .collect::<Vec<_>>();
    if anchors.is_empty() {
        return Err(CertRejected::Untrusted(id, "it has no trusted CA".into()));
    }
    let ee = webpki::EndEntityCert::try_from(leaf)
        .map_err(|e| CertRejected::Untrusted(id, e.to_string()))?;
    let algs = provider().signature_verification_algorithms.all;
    let intermediates = &chain[1..];
    let outcome = if require_client_auth_eku {
        ee.verify_for_usage(
            algs,
            &anchors,
            intermediates,
            now,
            webpki::KeyUsage::required(EKU_CLIENT_AUTH),
            None,
            None,
        )
        .map(|_| ())
    } else {
        ee.verify_for_usage(algs, &anchors, intermediates, now, AnyEku, None, None)
            .map(|_| ())
    };
    match outcome {
        Ok(()) => {
            // Kept only when every certificate's end of validity is readable.
            let until = chain
                .iter()
                .map(|c| skms_core::certs::inspect(c).map(|i| i.not_after))
                .collect::<Result<Vec<i64>, _>>()
                .ok()
                .and_then(|ends| ends.into_iter().min());
            if let Some(until) = until {
                verified.remember(
                    chain_digest,
                    VerifiedChain {
                        app: app.id,
                        anchors: anchors_of(&app),
                        client_auth_eku: require_client_auth_eku,
                        until,
                    },
                );
            }
            Ok((caller_for(store, app)?, CertMatch::TrustedCa))
        }
        Err(webpki::Error::RequiredEkuNotFoundContext(_)) => Err(CertRejected::NoClientAuthEku),
        Err(e) => Err(CertRejected::Untrusted(id, e.to_string())),
    }
}

/// The caller for `app` if it, its KMIP access and its account are enabled.
pub fn caller_for(store: &dyn Store, app: App) -> Result<Caller, CertRejected> {
    if !app.enabled || !app.kmip {
        return Err(CertRejected::Disabled(app.id));
    }
    match store.account(app.account)? {
        Some(account) if account.enabled => Ok(Caller::app(app, account)),
        _ => Err(CertRejected::Disabled(app.id)),
    }
}

/// The subject common name of a DER certificate.
pub fn subject_cn(cert: &[u8]) -> Option<String> {
    let (_, x) = x509_parser::parse_x509_certificate(cert).ok()?;
    let cn = x
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    Some(cn)
}

fn has_client_auth_eku(cert: &[u8]) -> bool {
    let Ok((_, x)) = x509_parser::parse_x509_certificate(cert) else {
        return false;
    };
    matches!(x.extended_key_usage(), Ok(Some(eku)) if eku.value.client_auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_chain_is_recalled_only_while_what_it_depended_on_holds() {
        let cache = VerifiedChains::new(2);
        let at = |secs: u64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let entry = VerifiedChain {
            app: AppId::new(),
            anchors: [1; 32],
            client_auth_eku: false,
            until: 1_000,
        };
        cache.remember([7; 32], entry);
        assert_eq!(
            cache.recall(&[7; 32], false, at(1_000)).map(|v| v.app),
            Some(entry.app)
        );
        assert!(
            cache.recall(&[7; 32], false, at(1_001)).is_none(),
            "expired"
        );
        assert!(
            cache.recall(&[7; 32], true, at(10)).is_none(),
            "verified without the clientAuth requirement"
        );
        assert!(
            cache.recall(&[8; 32], false, at(10)).is_none(),
            "another chain"
        );
        // Full: emptied before the next one goes in.
        cache.remember([8; 32], entry);
        cache.remember([9; 32], entry);
        assert!(cache.recall(&[7; 32], false, at(10)).is_none());
        assert!(cache.recall(&[9; 32], false, at(10)).is_some());
    }
}
