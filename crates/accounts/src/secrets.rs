//! Credentials of API accounts: Argon2id password hashes, TOTP secrets (RFC 6238: SHA-1,
//! 6 digits, 30 s, ±1 step) sealed at rest, and the one-time generation of both.

use argon2::password_hash::PasswordHasher;
use argon2::{Argon2, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_common::crypto::{SecretKey, random_bytes};
use loket_common::{Error, Result};
use std::sync::OnceLock;
use totp_rs::{Builder, Totp};

use crate::model::ApiAccountRow;

/// The issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Loket";

/// Freshly generated credentials: the plain values are returned to the caller once, only the
/// hash and the sealed secret are stored.
#[derive(Debug)]
pub struct NewCredentials {
    /// Plain password (API token).
    pub password: String,
    /// Its Argon2id hash.
    pub password_hash: String,
    /// Base32 TOTP secret.
    pub totp_secret: String,
    /// The TOTP secret sealed with the server key.
    pub totp_sealed: String,
    /// `otpauth://` URI.
    pub otpauth_uri: String,
}

/// Generates a password (256 bits) and a TOTP secret (160 bits) for the account `id` with
/// login name `username`. CPU-heavy (Argon2): call from a blocking context.
pub fn new_credentials(key: &SecretKey, id: &str, username: &str) -> Result<NewCredentials> {
    let password = URL_SAFE_NO_PAD.encode(random_bytes(32));
    let password_hash = hash_password(&password)?;
    let secret = random_bytes(20);
    let totp = totp(secret.clone(), username)?;
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))?;
    let totp_secret = totp.secret().to_base32();
    let totp_sealed = key.seal(&secret, &ApiAccountRow::totp_context(id))?;
    Ok(NewCredentials {
        password,
        password_hash,
        totp_secret,
        totp_sealed,
        otpauth_uri,
    })
}

fn totp(secret: Vec<u8>, username: &str) -> Result<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(username)
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))
}

/// The Argon2id (OWASP parameters) PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = random_bytes(16);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))
}

/// Whether `password` matches the stored hash (constant time inside argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Spends the same time as a real verification, for unknown usernames.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("loket-dummy-password").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// The TOTP step matching `code` at `unix_time` within ±1 step, if any. The caller must
/// refuse steps at or before the last one used (single use, R-LOGIN).
pub fn check_totp(secret: Vec<u8>, code: &str, unix_time: u64) -> Option<u64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "x").ok()?.check(code, unix_time)
}

/// Runs CPU-heavy work (Argon2) off the async executor on a few dedicated threads, one per
/// CPU. Each Argon2id run holds 19 MiB; on tokio's blocking pool every one of its many threads
/// kept such a block in its own malloc arena (32 logins at once peaked at 600 MiB), while a
/// burst now queues on these threads and memory stays bounded.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    hashers()
        .lock()
        .map_err(|_| Error::internal(std::io::Error::other("hasher queue poisoned")))?
        .send(job)
        .map_err(|_| Error::internal(std::io::Error::other("hashing threads stopped")))?;
    rx.await.map_err(Error::internal)
}

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the hashing threads (started on first use).
fn hashers() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
    static QUEUE: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("loket-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        std::sync::Mutex::new(tx)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: T=59 s, SHA-1, secret "12345678901234567890" → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let step = check_totp(b"12345678901234567890".to_vec(), "287082", 59);
        assert_eq!(step, Some(1));
    }

    #[test]
    fn codes_outside_the_skew_window_fail() {
        let secret = b"12345678901234567890".to_vec();
        assert!(check_totp(secret.clone(), "287082", 59 + 30).is_some());
        assert!(check_totp(secret.clone(), "287082", 59 + 90).is_none());
        assert!(check_totp(secret, "28708a", 59).is_none());
    }

    #[test]
    fn credentials_verify_and_secret_is_sealed() {
        let key = SecretKey::generate();
        let c = new_credentials(&key, "id-1", "tenant.user").unwrap();
        assert!(verify_password(&c.password, &c.password_hash));
        assert!(!verify_password("wrong", &c.password_hash));
        assert!(c.password_hash.starts_with("$argon2id$"));
        assert!(
            c.otpauth_uri
                .starts_with("otpauth://totp/Loket:tenant.user?")
        );
        assert_eq!(c.totp_secret.len(), 32);
        assert!(!c.totp_sealed.contains(&c.totp_secret));
        let opened = key
            .open(&c.totp_sealed, &ApiAccountRow::totp_context("id-1"))
            .unwrap();
        assert_eq!(opened.len(), 20);
    }
}
