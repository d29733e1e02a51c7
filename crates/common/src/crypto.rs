//! The server secret key and what is derived from it: authenticated encryption of secrets at
//! rest (AES-256-GCM from aws-lc-rs, the TLS/crypto backend the rest of the tree already uses),
//! keyed hashes, random tokens and constant-time comparison.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// The 32-byte server secret key (`LOKET_SECRET_KEY`).
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        SecretKey(k)
    }

    /// Parses the base64 (standard or url-safe) text form of a 32-byte key.
    pub fn from_base64(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        let bytes = STANDARD
            .decode(s)
            .or_else(|_| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')))
            .map_err(|_| "must be base64".to_owned())?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must decode to exactly 32 bytes".to_owned())?;
        Ok(SecretKey(arr))
    }

    /// The base64 text form.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A sub-key for one purpose, so that no two uses share key material.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&key, purpose.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    fn aead(&self) -> Result<LessSafeKey> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, &self.derive("loket/seal/v1")).map_err(|_| {
                Error::internal(std::io::Error::other("cannot build the encryption key"))
            })?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the table and row id), as base64 text.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String> {
        let key = self.aead()?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .map_err(|_| Error::internal(std::io::Error::other("encryption failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    /// Decrypts what [`SecretKey::seal`] produced with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>> {
        let fail = || {
            Error::internal(std::io::Error::other(
                "stored secret cannot be decrypted (wrong LOKET_SECRET_KEY?)",
            ))
        };
        let body = sealed.strip_prefix("v1:").ok_or_else(fail)?;
        let raw = STANDARD.decode(body).map_err(|_| fail())?;
        if raw.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let mut buf = ct.to_vec();
        let plain = self
            .aead()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }

    /// HMAC-SHA256 of `data` under the sub-key for `purpose`.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.derive(purpose));
        let tag = hmac::sign(&key, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A random url-safe token with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// Compares secrets in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// SHA-256 hex digest, for lookup keys of high-entropy tokens (never for passwords).
pub fn sha256_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let k = SecretKey::generate();
        let s = k.seal(b"totp secret", "api_accounts:1").unwrap();
        assert!(!s.contains("totp"));
        assert_eq!(k.open(&s, "api_accounts:1").unwrap(), b"totp secret");
        assert!(k.open(&s, "api_accounts:2").is_err());
        assert!(SecretKey::generate().open(&s, "api_accounts:1").is_err());
    }

    #[test]
    fn key_text_form_round_trips() {
        let k = SecretKey::generate();
        let back = SecretKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(back.derive("x"), k.derive("x"));
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
    }
}
