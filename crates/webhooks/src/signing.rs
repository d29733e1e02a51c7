//! Delivery signatures.
//!
//! - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`):
//!   `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed by the base64-decoded part of the
//!   `whsec_…` secret. Several signatures are separated by spaces (during a secret rotation).
//! - WebSub (`X-Hub-Signature: sha256=<hex HMAC-SHA256(body)>`) keyed by the whole secret string's
//!   bytes, `whsec_` prefix included (W3C WebSub §8).

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use loket_common::crypto::random_bytes;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a generated secret.
pub const GENERATED_SECRET_BYTES: usize = 32;
/// Smallest key a caller may supply.
pub const MIN_SECRET_BYTES: usize = 24;
/// Largest key a caller may supply.
pub const MAX_SECRET_BYTES: usize = 64;

/// Standard base64 with padding; like the reference libraries (Python's `b64decode`), unused
/// trailing bits of the last character are ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// A fresh secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        STANDARD.encode(random_bytes(GENERATED_SECRET_BYTES))
    )
}

/// The key bytes of a `whsec_` secret, or why it is not one.
pub fn secret_key_bytes(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| format!("must start with `{SECRET_PREFIX}`"))?;
    let key = LENIENT
        .decode(b64)
        .map_err(|_| format!("must be `{SECRET_PREFIX}` followed by standard base64"))?;
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        return Err(format!(
            "the base64 part must decode to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
        ));
    }
    Ok(key)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            for p in parts {
                mac.update(p);
            }
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// One Standard Webhooks signature (`v1,<base64>`) of a message.
pub fn standard_signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let ts = timestamp.to_string();
    let tag = hmac(
        key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
    );
    format!("v1,{}", STANDARD.encode(tag))
}

/// The `webhook-signature` header value for every secret in `secrets` (space-separated).
pub fn standard_header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| secret_key_bytes(s).ok())
        .map(|key| standard_signature(&key, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `X-Hub-Signature` header value (WebSub): `sha256=<hex>`.
pub fn websub_header(secret: &str, body: &str) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac(secret.as_bytes(), &[body.as_bytes()]))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // From the standard-webhooks specification's test suite.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = standard_signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // 24 bytes: the smallest accepted key.
        assert!(secret_key_bytes(secret).is_ok());
    }

    #[test]
    fn generated_secrets_are_valid_and_distinct() {
        let a = generate_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(secret_key_bytes(&a).unwrap().len(), 32);
        assert_ne!(a, generate_secret());
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(secret_key_bytes("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(secret_key_bytes("whsec_c2hvcnQ=").is_err());
        assert!(secret_key_bytes("whsec_%%%").is_err());
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert!(secret_key_bytes(&long).is_err());
    }

    #[test]
    fn rotation_carries_both_signatures() {
        let (a, b) = (generate_secret(), generate_secret());
        let h = standard_header(&[&a, &b], "msg_1", 1, "{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
    }

    #[test]
    fn websub_signature_uses_the_whole_secret_string() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") (RFC 4231 style).
        assert_eq!(
            websub_header("key", "The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
