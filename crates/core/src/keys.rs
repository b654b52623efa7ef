//! The key hierarchy: root of trust → one key per account → object key material.
//!
//! The root of trust only wraps and unwraps account keys; it never sees object
//! material. An account key seals object material with AES-256-GCM, binding
//! the account and the object into the associated data, so sealed material
//! copied to another object or account does not open. Every key in memory is
//! wiped on drop and never printed.

use crate::ids::{AccountId, ObjectId};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Sealed data that does not open under this key and context (wrong key, tampered, or moved).
    #[error("sealed data does not open: wrong key, tampered, or bound to another object")]
    Unseal,
    /// The random generator or the cipher failed.
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
    /// The root key file is missing, unreadable, malformed or too open.
    #[error("root key file {path}: {reason}")]
    RootFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The format version byte that starts every sealed blob.
const SEALED_V1: u8 = 1;

/// A 256-bit AES key: wiped on drop, never printed.
pub struct Key256(Zeroizing<[u8; 32]>);

impl Key256 {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut k[..])
            .map_err(|_| KeyError::Crypto("random"))?;
        Ok(Key256(k))
    }

    /// A key from exactly 32 bytes.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(Key256(Zeroizing::new(arr)))
    }

    /// The key bytes (to wrap it; never to store or log).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts `plaintext` with AES-256-GCM under a random nonce, binding `aad`:
    /// `version ‖ nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let key = self.aead()?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Crypto("random"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut body,
        )
        .map_err(|_| KeyError::Crypto("seal"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens what [`Key256::seal`] made with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let key = self.aead()?;
        let (&version, rest) = sealed.split_first().ok_or(KeyError::Unseal)?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN + 16 {
            return Err(KeyError::Unseal);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unseal)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let len = key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| KeyError::Unseal)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn aead(&self) -> Result<LessSafeKey, KeyError> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, &self.0[..]).map_err(|_| KeyError::Crypto("key"))?;
        Ok(LessSafeKey::new(unbound))
    }
}

impl fmt::Debug for Key256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key256(<redacted>)")
    }
}

/// The root of trust: wraps and unwraps account keys. A local file today;
/// a PKCS#11 HSM or a Shamir-unsealed key later, behind this same trait.
pub trait RootOfTrust: Send + Sync {
    /// Wraps an account key, binding `context` (the account it belongs to).
    fn wrap(&self, key: &Key256, context: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Unwraps what [`RootOfTrust::wrap`] made with the same `context`.
    fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Key256, KeyError>;
    /// A line for the operator: what the root is and where.
    fn describe(&self) -> String;
}

/// A software root key in a local file readable by its owner only (for a
/// single node and development; not a substitute for an HSM).
pub struct FileRoot {
    key: Key256,
    path: PathBuf,
}

impl FileRoot {
    /// Opens the root key file at `path`, or creates it (mode 0600) if it does
    /// not exist. Returns the root and whether it was created.
    pub fn open_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let err = |reason: String| KeyError::RootFile {
            path: path.to_path_buf(),
            reason,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                check_private(path).map_err(err)?;
                let bytes = Zeroizing::new(bytes);
                let key = Key256::from_slice(&bytes)
                    .ok_or_else(|| err(format!("holds {} bytes, a root key is 32", bytes.len())))?;
                Ok((
                    FileRoot {
                        key,
                        path: path.to_path_buf(),
                    },
                    false,
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Key256::generate()?;
                write_private(path, key.expose())
                    .map_err(|e| err(format!("cannot create: {e}")))?;
                Ok((
                    FileRoot {
                        key,
                        path: path.to_path_buf(),
                    },
                    true,
                ))
            }
            Err(e) => Err(err(format!("cannot read: {e}"))),
        }
    }
}

impl RootOfTrust for FileRoot {
    fn wrap(&self, key: &Key256, context: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.key.seal(
            key.expose(),
            &[b"skms/account-key/v1:".as_slice(), context].concat(),
        )
    }

    fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Key256, KeyError> {
        let plain = self.key.open(
            wrapped,
            &[b"skms/account-key/v1:".as_slice(), context].concat(),
        )?;
        Key256::from_slice(&plain).ok_or(KeyError::Unseal)
    }

    fn describe(&self) -> String {
        format!("software root key in {}", self.path.display())
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "is readable by others (mode {:o}): chmod 600 it",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// Writes `bytes` to a new file that only its owner can read, durably.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The associated data that binds sealed object material to its account and object.
pub fn object_aad(account: AccountId, object: ObjectId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(15 + 32);
    aad.extend_from_slice(b"skms/object/v1:");
    aad.extend_from_slice(account.as_bytes());
    aad.extend_from_slice(object.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("skms-keys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn seal_binds_the_context() {
        let k = Key256::generate().unwrap();
        let sealed = k.seal(b"key material", b"ctx-a").unwrap();
        assert_eq!(&**k.open(&sealed, b"ctx-a").unwrap(), b"key material");
        assert!(matches!(k.open(&sealed, b"ctx-b"), Err(KeyError::Unseal)));
        let other = Key256::generate().unwrap();
        assert!(matches!(
            other.open(&sealed, b"ctx-a"),
            Err(KeyError::Unseal)
        ));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(k.open(&tampered, b"ctx-a"), Err(KeyError::Unseal)));
        assert!(matches!(k.open(&[], b""), Err(KeyError::Unseal)));
        assert!(matches!(k.open(&[1, 2, 3], b""), Err(KeyError::Unseal)));
        // two seals of the same plaintext differ (random nonce), neither contains it
        let again = k.seal(b"key material", b"ctx-a").unwrap();
        assert_ne!(sealed, again);
        assert!(!sealed.windows(12).any(|w| w == b"key material"));
        assert_eq!(format!("{k:?}"), "Key256(<redacted>)");
    }

    #[test]
    fn file_root_is_created_private_and_reopened() {
        let path = temp("root");
        let (root, created) = FileRoot::open_or_create(&path).unwrap();
        assert!(created);
        let account = Key256::generate().unwrap();
        let wrapped = root.wrap(&account, b"account-1").unwrap();
        let (again, created) = FileRoot::open_or_create(&path).unwrap();
        assert!(!created);
        let back = again.unwrap(&wrapped, b"account-1").unwrap();
        assert_eq!(back.expose(), account.expose());
        assert!(again.unwrap(&wrapped, b"account-2").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = FileRoot::open_or_create(&path).err().unwrap();
            assert!(e.to_string().contains("readable by others"), "{e}");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_malformed_root_file_is_refused() {
        let path = temp("short");
        write_private(&path, b"short").unwrap();
        let e = FileRoot::open_or_create(&path).err().unwrap();
        assert!(e.to_string().contains("32"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }
}
