//! Each account's certificate authority, and the certificates an account's apps
//! hold.
//!
//! An account CA is an ECDSA P-256 self-signed CA certificate, made with the
//! account; its PKCS#8 private key is stored sealed under the account key
//! (bound to the account), opened only to sign and wiped after. For an app it
//! issues a client certificate and key (CN = the app id, clientAuth), or signs
//! a CSR (vCenter's "New Certificate Signing Request": any subject, the key of
//! the requester), and binds the result to the app without any change to how
//! a client certificate is identified (`identify` in the server's `tls`):
//!
//! - an issued certificate names the app (CN = app id) and chains to the
//!   account CA, which becomes one of the app's trusted CAs: its validity
//!   period is checked at every handshake;
//! - a certificate signed from a CSR has a subject of the requester's choosing,
//!   so it is pinned to the app by fingerprint, as an uploaded one is.
//!
//! Every certificate an app holds is kept whole (DER), so that [`certificates`]
//! can show each one's subject, issuer and expiry. Each function that binds a
//! certificate to an app changes the app and keeps the certificate in one store
//! write: nothing is half-done.
//!
//! OpenSSL (the `openssl` crate, already linked for the legacy KMIP listener)
//! builds and signs the certificates and the PKCS#12 files: a CSR's subject is
//! copied byte for byte whatever its attributes (repeated types, multi-valued
//! RDNs, any string type), its key may be any type a TLS client uses, and the
//! PKCS#12 is written by the same code that reads it everywhere.

use crate::certs::{self, CertInfo};
use crate::ids::{AccountId, AppId};
use crate::keys::Key256;
use crate::model::{Account, App, AuthMethod, Timestamp};
use crate::store::{Store, StoreError};
use crate::tenancy::{Keyring, TenancyError};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509NameRef, X509Req, X509};
use std::collections::HashMap;
use std::fmt;
use zeroize::Zeroizing;

/// How long an account CA is valid: ten years.
pub const CA_VALIDITY_DAYS: u32 = 3650;

/// The longest validity an issued or signed certificate may have, in days.
pub const MAX_VALIDITY_DAYS: u32 = 3650;

/// A certificate that expires within this many days deserves a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

const DAY: i64 = 86_400;

/// An account's CA as stored: its certificate, and its PKCS#8 private key
/// sealed under the account key.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountCa {
    /// The account it belongs to.
    pub account: AccountId,
    /// The self-signed CA certificate (DER).
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key, sealed under the account key (see [`Key256::seal`]).
    pub sealed_key: Vec<u8>,
    /// When it was made.
    pub created: Timestamp,
}

impl AccountCa {
    /// The CA certificate as PEM (what a client is given to trust it).
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert_der)
    }

    /// Subject, issuer and expiry of the CA certificate.
    pub fn info(&self) -> Result<CertInfo, TenancyError> {
        certs::inspect(&self.cert_der).map_err(|e| {
            TenancyError::Store(StoreError::Corrupt(format!(
                "the CA certificate of account {}: {e}",
                self.account
            )))
        })
    }
}

impl fmt::Debug for AccountCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountCa")
            .field("account", &self.account)
            .field("cert_der", &format_args!("{} bytes", self.cert_der.len()))
            .field(
                "sealed_key",
                &format_args!("{} bytes", self.sealed_key.len()),
            )
            .field("created", &self.created)
            .finish()
    }
}

/// Where a certificate an app holds came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertOrigin {
    /// Uploaded by an admin and pinned.
    Uploaded,
    /// Issued by the account CA with a key it generated (CN = the app id).
    Issued,
    /// Signed by the account CA from a CSR, and pinned.
    Signed,
}

impl CertOrigin {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CertOrigin::Uploaded => "uploaded",
            CertOrigin::Issued => "issued",
            CertOrigin::Signed => "signed",
        }
    }

    /// The origin of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "uploaded" => Some(CertOrigin::Uploaded),
            "issued" => Some(CertOrigin::Issued),
            "signed" => Some(CertOrigin::Signed),
            _ => None,
        }
    }
}

/// A certificate kept whole for an app (the app's pinned list holds only its
/// fingerprint), so that its subject and expiry can be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptCertificate {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// Where it came from.
    pub origin: CertOrigin,
    /// When it was added.
    pub added: Timestamp,
}

impl KeptCertificate {
    /// Its SHA-256 fingerprint.
    pub fn sha256(&self) -> [u8; 32] {
        certs::fingerprint(&self.der)
    }
}

/// A certificate the account CA just signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCertificate {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// Its SHA-256 fingerprint.
    pub sha256: [u8; 32],
    /// End of validity, seconds since the epoch.
    pub not_after: Timestamp,
    /// The account CA certificate that issued it (DER).
    pub ca_der: Vec<u8>,
}

impl NewCertificate {
    /// The certificate as PEM.
    pub fn pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// The certificate then the account CA certificate, as PEM.
    pub fn chain_pem(&self) -> String {
        self.pem() + &pem("CERTIFICATE", &self.ca_der)
    }
}

/// A client certificate and the private key made for it.
pub struct IssuedCertificate {
    /// The certificate.
    pub cert: NewCertificate,
    /// Its private key, PKCS#8 PEM (`PRIVATE KEY`): shown once, never stored.
    pub key_pem: Zeroizing<String>,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("cert", &self.cert)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// What a certificate is to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRole {
    /// The account's CA.
    AccountCa,
    /// Pinned to an app by fingerprint.
    Pinned,
    /// A CA trusted to issue an app's client certificates.
    TrustedCa,
    /// Issued by the account CA to an app that trusts it (CN = the app id).
    Issued,
}

/// A certificate an account holds, with its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldCertificate {
    /// What it is to the account.
    pub role: CertRole,
    /// The app that holds it (`None`: the account CA).
    pub app: Option<AppId>,
    /// Where it came from, when known.
    pub origin: Option<CertOrigin>,
    /// Its SHA-256 fingerprint.
    pub sha256: [u8; 32],
    /// Subject, issuer and end of validity; `None` for a certificate pinned
    /// before certificates were kept whole (only its fingerprint is known).
    pub info: Option<CertInfo>,
    /// Whole days until it expires (negative: expired), at the time asked.
    pub days_left: Option<i64>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = openssl::base64::encode_block(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 is ASCII: every chunk is text
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A date for a message: `Jan  2 03:04:05 2030 GMT`.
fn date(ts: Timestamp) -> String {
    Asn1Time::from_unix(ts).map_or_else(|_| format!("{ts} s after the epoch"), |t| t.to_string())
}

/// Internal failures of OpenSSL: never the caller's fault.
fn crypto(what: &'static str) -> impl Fn(openssl::error::ErrorStack) -> TenancyError {
    move |_| TenancyError::Crypto(what)
}

/// The associated data that binds an account CA's sealed key to its account.
pub fn ca_key_aad(account: AccountId) -> Vec<u8> {
    let mut aad = b"skms account CA key\0".to_vec();
    aad.extend_from_slice(account.as_bytes());
    aad
}

fn random_serial() -> Result<Asn1Integer, TenancyError> {
    let mut bn = BigNum::new().map_err(crypto("serial number"))?;
    // 159 bits: a positive INTEGER of at most 20 bytes (RFC 5280).
    bn.rand(159, MsbOption::MAYBE_ZERO, false)
        .map_err(crypto("serial number"))?;
    bn.to_asn1_integer().map_err(crypto("serial number"))
}

fn time(ts: Timestamp) -> Result<Asn1Time, TenancyError> {
    Asn1Time::from_unix(ts).map_err(|_| TenancyError::Invalid(format!("{ts} is not a valid time")))
}

fn new_p256_key() -> Result<PKey<Private>, TenancyError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(crypto("EC group"))?;
    let key = EcKey::generate(&group).map_err(crypto("key generation"))?;
    PKey::from_ec_key(key).map_err(crypto("key generation"))
}

/// The CN of an account CA: `<account name> CA`, cut to the 64 characters X.509 allows.
fn ca_common_name(account_name: &str) -> String {
    let name: String = account_name.trim().chars().take(61).collect();
    format!("{name} CA")
}

/// A new CA for `account`: a P-256 key and a self-signed certificate
/// `CN=<name> CA, OU=<account id>, O=Sovereign KMS`, valid ten years from
/// `now`; its key sealed under `key`, the account key. Nothing is stored.
pub fn new_account_ca(
    account: &Account,
    key: &Key256,
    now: Timestamp,
) -> Result<AccountCa, TenancyError> {
    let err = crypto("making the account CA certificate");
    let ca_key = new_p256_key()?;
    let mut name = X509NameBuilder::new().map_err(&err)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Sovereign KMS")
        .map_err(&err)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, &account.id.to_string())
        .map_err(&err)?;
    name.append_entry_by_nid(Nid::COMMONNAME, &ca_common_name(&account.name))
        .map_err(|_| TenancyError::Invalid("the account name cannot be a CA name".into()))?;
    let name = name.build();
    let mut b = X509Builder::new().map_err(&err)?;
    b.set_version(2).map_err(&err)?;
    let serial = random_serial()?;
    b.set_serial_number(&serial).map_err(&err)?;
    b.set_subject_name(&name).map_err(&err)?;
    b.set_issuer_name(&name).map_err(&err)?;
    b.set_pubkey(&ca_key).map_err(&err)?;
    // An hour of slack for clocks that run a little behind.
    let not_before = time(now - 3600)?;
    b.set_not_before(&not_before).map_err(&err)?;
    let not_after = time(now + i64::from(CA_VALIDITY_DAYS) * DAY)?;
    b.set_not_after(&not_after).map_err(&err)?;
    // No intermediate below it: it signs client certificates only.
    let constraints = BasicConstraints::new()
        .critical()
        .ca()
        .pathlen(0)
        .build()
        .map_err(&err)?;
    b.append_extension(constraints).map_err(&err)?;
    let usage = KeyUsage::new()
        .critical()
        .key_cert_sign()
        .crl_sign()
        .digital_signature()
        .build()
        .map_err(&err)?;
    b.append_extension(usage).map_err(&err)?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .map_err(&err)?;
    b.append_extension(ski).map_err(&err)?;
    b.sign(&ca_key, MessageDigest::sha256()).map_err(&err)?;
    let cert_der = b.build().to_der().map_err(&err)?;
    let pkcs8 = Zeroizing::new(ca_key.private_key_to_pkcs8().map_err(&err)?);
    Ok(AccountCa {
        account: account.id,
        cert_der,
        sealed_key: key.seal(&pkcs8, &ca_key_aad(account.id))?,
        created: now,
    })
}

/// The CA of `account`; an account created before account CAs existed gets
/// one now. Two nodes racing to make it agree on the one stored first.
pub fn account_ca(
    store: &dyn Store,
    keyring: &Keyring,
    account: AccountId,
    now: Timestamp,
) -> Result<AccountCa, TenancyError> {
    if let Some(ca) = store.account_ca(account)? {
        return Ok(ca);
    }
    let found = store
        .account(account)?
        .ok_or_else(|| TenancyError::Invalid(format!("no account {account}")))?;
    let key = keyring.account_key(&found)?;
    let ca = new_account_ca(&found, &key, now)?;
    match store.add_account_ca(&ca) {
        Ok(()) => Ok(ca),
        Err(StoreError::Conflict(_)) => store.account_ca(account)?.ok_or_else(|| {
            TenancyError::Store(StoreError::Backend(format!(
                "the CA of account {account} was made elsewhere but cannot be read"
            )))
        }),
        Err(e) => Err(e.into()),
    }
}

/// An account CA opened to sign: its certificate and its private key (wiped
/// by OpenSSL when dropped).
struct OpenCa {
    cert: X509,
    key: PKey<Private>,
    not_after: Timestamp,
}

fn open_ca(
    store: &dyn Store,
    keyring: &Keyring,
    account: AccountId,
    now: Timestamp,
) -> Result<(AccountCa, OpenCa), TenancyError> {
    let ca = account_ca(store, keyring, account, now)?;
    let found = store
        .account(account)?
        .ok_or_else(|| TenancyError::Invalid(format!("no account {account}")))?;
    let pkcs8 = keyring
        .account_key(&found)?
        .open(&ca.sealed_key, &ca_key_aad(account))?;
    let key = PKey::private_key_from_pkcs8(&pkcs8).map_err(crypto("the account CA key"))?;
    let cert = X509::from_der(&ca.cert_der).map_err(crypto("the account CA certificate"))?;
    let not_after = ca.info()?.not_after;
    Ok((
        ca,
        OpenCa {
            cert,
            key,
            not_after,
        },
    ))
}

/// Checks a requested validity: 1 to [`MAX_VALIDITY_DAYS`] days, and within
/// the CA's own (a certificate that outlives its CA stops verifying).
fn check_validity(days: u32, ca_not_after: Timestamp, now: Timestamp) -> Result<(), TenancyError> {
    if !(1..=MAX_VALIDITY_DAYS).contains(&days) {
        return Err(TenancyError::Invalid(format!(
            "the validity must be 1 to {MAX_VALIDITY_DAYS} days, not {days}"
        )));
    }
    if ca_not_after <= now {
        return Err(TenancyError::Invalid(format!(
            "the account CA expired on {}: it can sign no certificate",
            date(ca_not_after)
        )));
    }
    if now + i64::from(days) * DAY > ca_not_after {
        return Err(TenancyError::Invalid(format!(
            "the account CA is valid until {}: choose a validity of at most {} days",
            date(ca_not_after),
            (ca_not_after - now) / DAY
        )));
    }
    Ok(())
}

/// Signs a client certificate for `subject` and `public` with the account CA:
/// not a CA, digitalSignature, clientAuth, valid from an hour before `now` for `days`.
fn sign_client_cert<T: HasPublic>(
    ca: &OpenCa,
    subject: &X509NameRef,
    public: &PKeyRef<T>,
    days: u32,
    now: Timestamp,
) -> Result<X509, TenancyError> {
    let err = crypto("signing a certificate");
    let mut b = X509Builder::new().map_err(&err)?;
    b.set_version(2).map_err(&err)?;
    let serial = random_serial()?;
    b.set_serial_number(&serial).map_err(&err)?;
    b.set_subject_name(subject).map_err(&err)?;
    // The CA's subject as it is encoded in its certificate: chains match byte for byte.
    b.set_issuer_name(ca.cert.subject_name()).map_err(&err)?;
    b.set_pubkey(public).map_err(&err)?;
    let not_before = time(now - 3600)?;
    b.set_not_before(&not_before).map_err(&err)?;
    let not_after = time(now + i64::from(days) * DAY)?;
    b.set_not_after(&not_after).map_err(&err)?;
    let not_ca = BasicConstraints::new().critical().build().map_err(&err)?;
    b.append_extension(not_ca).map_err(&err)?;
    let usage = KeyUsage::new()
        .critical()
        .digital_signature()
        .build()
        .map_err(&err)?;
    b.append_extension(usage).map_err(&err)?;
    let eku = ExtendedKeyUsage::new()
        .client_auth()
        .build()
        .map_err(&err)?;
    b.append_extension(eku).map_err(&err)?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(Some(&ca.cert), None))
        .map_err(&err)?;
    b.append_extension(ski).map_err(&err)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(&ca.cert), None))
        .map_err(&err)?;
    b.append_extension(aki).map_err(&err)?;
    b.sign(&ca.key, MessageDigest::sha256()).map_err(&err)?;
    Ok(b.build())
}

fn new_certificate(
    cert: &X509,
    ca: &AccountCa,
    days: u32,
    now: Timestamp,
) -> Result<NewCertificate, TenancyError> {
    let der = cert.to_der().map_err(crypto("encoding a certificate"))?;
    Ok(NewCertificate {
        sha256: certs::fingerprint(&der),
        der,
        not_after: now + i64::from(days) * DAY,
        ca_der: ca.cert_der.clone(),
    })
}

/// Issues `app` a client certificate with a new P-256 key: CN = the app id,
/// clientAuth, valid `validity_days` (1 to [`MAX_VALIDITY_DAYS`], within the
/// account CA's validity). The account CA becomes one of the app's trusted CAs
/// (so the certificate authenticates as the app until it expires), the app
/// switches to certificate authentication, and the certificate is kept for
/// expiry tracking; the key is returned, never stored.
pub fn issue_client_certificate(
    store: &dyn Store,
    keyring: &Keyring,
    app: &mut App,
    validity_days: u32,
    now: Timestamp,
) -> Result<IssuedCertificate, TenancyError> {
    check_validity(validity_days, i64::MAX, now)?;
    let (ca, open) = open_ca(store, keyring, app.account, now)?;
    check_validity(validity_days, open.not_after, now)?;
    let key = new_p256_key()?;
    let mut subject = X509NameBuilder::new().map_err(crypto("subject"))?;
    subject
        .append_entry_by_nid(Nid::COMMONNAME, &app.id.to_string())
        .map_err(crypto("subject"))?;
    let cert = sign_client_cert(&open, &subject.build(), &key, validity_days, now)?;
    let cert = new_certificate(&cert, &ca, validity_days, now)?;
    let key_pem = key
        .private_key_to_pem_pkcs8()
        .map_err(crypto("encoding the private key"))?;
    let key_pem = Zeroizing::new(
        String::from_utf8(key_pem).map_err(|_| TenancyError::Crypto("PEM is not text"))?,
    );
    let mut next = app.clone();
    if !next.trusted_cas.contains(&ca.cert_der) {
        next.trusted_cas.push(ca.cert_der.clone());
    }
    next.auth_method = AuthMethod::Certificate;
    let kept = KeptCertificate {
        der: cert.der.clone(),
        origin: CertOrigin::Issued,
        added: now,
    };
    store.update_app_keeping_certificate(&next, &kept)?;
    *app = next;
    Ok(IssuedCertificate { cert, key_pem })
}

/// A PKCS#12 file of an issued certificate, its key and the account CA,
/// encrypted under `password` with AES-256-CBC (PBKDF2) and a SHA-256 MAC:
/// what OpenSSL 3 writes by default, set explicitly so that an older
/// library does not fall back to RC2 or 3DES.
pub fn to_pkcs12(issued: &IssuedCertificate, password: &str) -> Result<Vec<u8>, TenancyError> {
    if password.is_empty() {
        return Err(TenancyError::Invalid(
            "a PKCS#12 file needs a password".into(),
        ));
    }
    let err = crypto("building the PKCS#12 file");
    let key = PKey::private_key_from_pem(issued.key_pem.as_bytes()).map_err(&err)?;
    let cert = X509::from_der(&issued.cert.der).map_err(&err)?;
    let mut chain = Stack::new().map_err(&err)?;
    chain
        .push(X509::from_der(&issued.cert.ca_der).map_err(&err)?)
        .map_err(&err)?;
    let name = certs::inspect(&issued.cert.der)
        .map(|i| i.subject)
        .unwrap_or_else(|_| "client certificate".into());
    Pkcs12::builder()
        .name(&name)
        .pkey(&key)
        .cert(&cert)
        .ca(chain)
        .key_algorithm(Nid::AES_256_CBC)
        .cert_algorithm(Nid::AES_256_CBC)
        .mac_md(MessageDigest::sha256())
        .build2(password)
        .map_err(&err)?
        .to_der()
        .map_err(&err)
}

/// The one PKCS#10 request in PEM text, its self-signature verified and its
/// key one a TLS client can use.
fn parse_csr(csr_pem: &str) -> Result<X509Req, TenancyError> {
    let bad = |m: String| TenancyError::Invalid(m);
    let mut found = Vec::new();
    let mut labels = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(csr_pem.as_bytes()) {
        let block = block.map_err(|e| bad(format!("invalid PEM: {e}")))?;
        if block.label == "CERTIFICATE REQUEST" || block.label == "NEW CERTIFICATE REQUEST" {
            found.push(block.contents);
        } else {
            labels.push(block.label);
        }
    }
    let der = match found.len() {
        1 => found.remove(0),
        0 if labels.is_empty() => {
            return Err(bad(
                "invalid PEM: no -----BEGIN CERTIFICATE REQUEST----- block".into(),
            ))
        }
        0 => {
            return Err(bad(format!(
                "the PEM text holds no CERTIFICATE REQUEST block (it holds {}): \
                 a certificate is pinned or trusted, not signed",
                labels.join(", ")
            )))
        }
        n => return Err(bad(format!("the PEM text holds {n} CSRs: send one"))),
    };
    let req = X509Req::from_der(&der)
        .map_err(|_| bad("not a certificate signing request (PKCS#10)".into()))?;
    let public = req
        .public_key()
        .map_err(|_| bad("the CSR's public key is of an unknown type or malformed".into()))?;
    if !req.verify(&public).unwrap_or(false) {
        return Err(bad(
            "the CSR's signature does not verify: it was altered, or not signed by its own key"
                .into(),
        ));
    }
    match public.id() {
        Id::RSA => {
            let bits = public.bits();
            if !(2048..=16384).contains(&bits) {
                return Err(bad(format!(
                    "the CSR's RSA key has {bits} bits: 2048 to 16384 are accepted"
                )));
            }
        }
        Id::EC => {
            let curve = public.ec_key().ok().and_then(|k| k.group().curve_name());
            if !matches!(
                curve,
                Some(Nid::X9_62_PRIME256V1 | Nid::SECP384R1 | Nid::SECP521R1)
            ) {
                return Err(bad(
                    "the CSR's EC key is on a curve other than P-256, P-384 or P-521".into(),
                ));
            }
        }
        Id::ED25519 => {}
        _ => {
            return Err(bad(
                "the CSR's key is not RSA, ECDSA (P-256, P-384, P-521) or Ed25519".into(),
            ))
        }
    }
    Ok(req)
}

/// Signs a CSR (PEM) for `app` with the account CA: the CSR's subject (any:
/// vCenter's has its own) and public key, clientAuth, valid `validity_days`.
/// As its subject need not name the app, the certificate is pinned to the app
/// (which switches to certificate authentication) and kept for expiry
/// tracking. A malformed CSR, one whose signature does not verify, or one
/// whose CN is the id of another app is refused and nothing changes.
pub fn sign_csr(
    store: &dyn Store,
    keyring: &Keyring,
    app: &mut App,
    csr_pem: &str,
    validity_days: u32,
    now: Timestamp,
) -> Result<NewCertificate, TenancyError> {
    check_validity(validity_days, i64::MAX, now)?;
    let req = parse_csr(csr_pem)?;
    // A CN that names another app would let the certificate stand for that
    // app wherever the account CA is trusted: refuse it.
    for entry in req.subject_name().entries_by_nid(Nid::COMMONNAME) {
        let cn = entry.data().to_string();
        if let Some(other) = cn.ok().and_then(|cn| cn.trim().parse::<AppId>().ok()) {
            if other != app.id {
                return Err(TenancyError::Invalid(format!(
                    "the CSR's CN is the id of another app ({other}): \
                     use that app's id or another name"
                )));
            }
        }
    }
    let public = req
        .public_key()
        .map_err(|_| TenancyError::Invalid("the CSR's public key is malformed".into()))?;
    let (ca, open) = open_ca(store, keyring, app.account, now)?;
    check_validity(validity_days, open.not_after, now)?;
    let cert = sign_client_cert(&open, req.subject_name(), &public, validity_days, now)?;
    let cert = new_certificate(&cert, &ca, validity_days, now)?;
    let mut next = app.clone();
    if !next.pinned_certs.contains(&cert.sha256) {
        next.pinned_certs.push(cert.sha256);
    }
    next.auth_method = AuthMethod::Certificate;
    let kept = KeptCertificate {
        der: cert.der.clone(),
        origin: CertOrigin::Signed,
        added: now,
    };
    store.update_app_keeping_certificate(&next, &kept)?;
    *app = next;
    Ok(cert)
}

/// A certificate checked for pinning or trusting: one X.509 certificate, not expired.
fn check_upload(der: &[u8], now: Timestamp) -> Result<CertInfo, TenancyError> {
    let info = certs::inspect(der).map_err(TenancyError::Invalid)?;
    if info.not_after <= now {
        return Err(TenancyError::Invalid(format!(
            "the certificate {} expired on {}: upload a current one",
            info.subject,
            date(info.not_after)
        )));
    }
    Ok(info)
}

/// [`crate::tenancy::pin_certificate`] for an uploaded certificate, refusing
/// one that has expired and keeping it whole for expiry tracking (app and
/// certificate in one store write); returns the fingerprint.
pub fn pin_certificate(
    store: &dyn Store,
    app: &mut App,
    der: &[u8],
    now: Timestamp,
) -> Result<[u8; 32], TenancyError> {
    check_upload(der, now)?;
    let fp = certs::fingerprint(der);
    let mut next = app.clone();
    if !next.pinned_certs.contains(&fp) {
        next.pinned_certs.push(fp);
    }
    next.auth_method = AuthMethod::Certificate;
    let kept = KeptCertificate {
        der: der.to_vec(),
        origin: CertOrigin::Uploaded,
        added: now,
    };
    store.update_app_keeping_certificate(&next, &kept)?;
    *app = next;
    Ok(fp)
}

/// [`crate::tenancy::trust_ca`], refusing a CA certificate that has expired.
pub fn trust_ca(
    store: &dyn Store,
    app: &mut App,
    der: &[u8],
    now: Timestamp,
) -> Result<CertInfo, TenancyError> {
    check_upload(der, now)?;
    crate::tenancy::trust_ca(store, app, der)
}

fn held(
    role: CertRole,
    app: Option<AppId>,
    origin: Option<CertOrigin>,
    der: Option<&[u8]>,
    sha256: [u8; 32],
    now: Timestamp,
) -> HeldCertificate {
    let info = der.and_then(|d| certs::inspect(d).ok());
    let days_left = info.as_ref().map(|i| (i.not_after - now).div_euclid(DAY));
    HeldCertificate {
        role,
        app,
        origin,
        sha256,
        info,
        days_left,
    }
}

/// Every certificate `account` holds, with subject, issuer, end of validity
/// and days left at `now`: the account CA first, then app by app (by name) its
/// pinned certificates, its trusted CAs, and the certificates the account CA
/// issued it (while it trusts the account CA). Expired ones are listed too;
/// whether to warn (see [`EXPIRY_WARNING_DAYS`]) is the caller's choice.
pub fn certificates(
    store: &dyn Store,
    keyring: &Keyring,
    account: AccountId,
    now: Timestamp,
) -> Result<Vec<HeldCertificate>, TenancyError> {
    let ca = account_ca(store, keyring, account, now)?;
    let mut out = vec![held(
        CertRole::AccountCa,
        None,
        None,
        Some(&ca.cert_der),
        certs::fingerprint(&ca.cert_der),
        now,
    )];
    let mut kept: HashMap<AppId, Vec<KeptCertificate>> = HashMap::new();
    for (app, cert) in store.kept_certificates(account)? {
        kept.entry(app).or_default().push(cert);
    }
    for app in store.apps(account)? {
        let mine = kept.remove(&app.id).unwrap_or_default();
        let by_fp: HashMap<[u8; 32], &KeptCertificate> =
            mine.iter().map(|k| (k.sha256(), k)).collect();
        for fp in &app.pinned_certs {
            let k = by_fp.get(fp);
            out.push(held(
                CertRole::Pinned,
                Some(app.id),
                k.map(|k| k.origin),
                k.map(|k| k.der.as_slice()),
                *fp,
                now,
            ));
        }
        for der in &app.trusted_cas {
            out.push(held(
                CertRole::TrustedCa,
                Some(app.id),
                None,
                Some(der),
                certs::fingerprint(der),
                now,
            ));
        }
        if app.trusted_cas.contains(&ca.cert_der) {
            for k in mine.iter().filter(|k| k.origin == CertOrigin::Issued) {
                let fp = k.sha256();
                if !app.pinned_certs.contains(&fp) {
                    out.push(held(
                        CertRole::Issued,
                        Some(app.id),
                        Some(k.origin),
                        Some(&k.der),
                        fp,
                        now,
                    ));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_is_standard() {
        let der = vec![0xab; 100];
        let text = pem("CERTIFICATE", &der);
        let back = x509_parser::pem::Pem::iter_from_buffer(text.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(back.label, "CERTIFICATE");
        assert_eq!(back.contents, der);
        assert!(text.lines().all(|l| l.len() <= 64));
    }

    #[test]
    fn a_ca_name_fits_x509() {
        assert_eq!(ca_common_name(" Acme "), "Acme CA");
        let long = "é".repeat(200);
        assert_eq!(ca_common_name(&long).chars().count(), 64);
    }

    #[test]
    fn validity_is_bounded_by_the_request_and_the_ca() {
        let now = 1_800_000_000;
        assert!(check_validity(0, i64::MAX, now).is_err());
        assert!(check_validity(3651, i64::MAX, now).is_err());
        assert!(check_validity(1, i64::MAX, now).is_ok());
        assert!(check_validity(3650, i64::MAX, now).is_ok());
        let e = check_validity(30, now + 10 * DAY, now).unwrap_err();
        assert!(e.to_string().contains("at most 10 days"), "{e}");
        let e = check_validity(1, now - 1, now).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
    }
}
