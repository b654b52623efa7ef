//! Client certificates an admin attaches to an app: parsed and checked before
//! they are pinned (by SHA-256 fingerprint) or trusted as the app's CA.

use aws_lc_rs::digest::{digest, SHA256};

/// The SHA-256 fingerprint of a DER certificate (what an admin pins).
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// What the admin is shown about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// Basic Constraints says CA.
    pub is_ca: bool,
}

/// Reads one DER certificate; a clear message when it is not one.
pub fn inspect(der: &[u8]) -> Result<CertInfo, String> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err("bytes follow the certificate".into());
    }
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after: cert.validity().not_after.timestamp(),
        is_ca: cert.is_ca(),
    })
}

/// The DER certificates in PEM text (`-----BEGIN CERTIFICATE-----` blocks), in order.
pub fn from_pem(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|e| format!("malformed PEM: {e}"))?;
        if pem.label == "CERTIFICATE" {
            out.push(pem.contents);
        }
    }
    if out.is_empty() {
        return Err("no CERTIFICATE block in the PEM text".into());
    }
    Ok(out)
}
