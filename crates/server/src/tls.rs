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

use crate::init::DataDir;
use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{SslContext, SslMethod, SslOptions, SslRef, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use skms_core::ids::AppId;
use skms_core::model::{App, AuthMethod};
use skms_core::ops::Caller;
use skms_core::store::{Store, StoreError};
use std::sync::Arc;

/// The crypto provider: aws-lc-rs with rustls's default suites (TLS 1.3 and
/// 1.2, ECDHE key exchange, AEAD ciphers only).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls server configuration: the data directory's server certificate,
/// TLS 1.3 and 1.2, client certificates requested but optional.
pub fn server_config(data: &DataDir) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = provider();
    let verifier = Arc::new(OfferedClientAuth {
        provider: provider.clone(),
    });
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(data.server_chain.clone(), data.server_key.clone_key())?;
    // vCenter opens many short connections: resumption saves full handshakes.
    cfg.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    Ok(Arc::new(cfg))
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
pub fn openssl_context(data: &DataDir) -> Result<SslContext, ErrorStack> {
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
    let mut certs = vec![(&data.server_chain, &data.server_key)];
    if let Some(rsa) = &data.rsa_server {
        certs.push((&rsa.chain, &rsa.key));
    }
    for (chain, key) in certs {
        let Some(leaf) = chain.first() else { continue };
        let leaf = X509::from_der(leaf)?;
        b.set_certificate(&leaf)?;
        let key = PKey::private_key_from_der(key.secret_der())?;
        b.set_private_key(&key)?;
        b.check_private_key()?;
    }
    // Both certificates are issued by the server CA: one chain serves both.
    b.add_extra_chain_cert(X509::from_der(&data.ca_cert)?)?;
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

/// The caller a client certificate chain (leaf first) identifies. Only an app
/// whose `auth_method` is [`AuthMethod::Certificate`] can be identified so; for
/// any other the certificate is unknown.
pub fn identify(
    store: &dyn Store,
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
    let verified = if require_client_auth_eku {
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
    match verified {
        Ok(()) => Ok((caller_for(store, app)?, CertMatch::TrustedCa)),
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
