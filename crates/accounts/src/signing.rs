//! Access-token signing: Ed25519 (EdDSA) keys generated on first start and stored in the
//! database with the private half sealed by the server secret key, so every instance of a
//! multi-instance deployment signs with a key all the others can verify. `kid` is the RFC 7638
//! JWK thumbprint; `GET /.well-known/jwks.json` lists every key.

use std::sync::RwLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use loket_common::crypto::{SecretKey, sha256_hex};
use loket_common::{Error, Result, time};
use loket_storage::Db;
use loket_storage::schema::signing_keys;
use serde::Serialize;
use serde::de::DeserializeOwned;

const SEAL_CONTEXT: &str = "signing_keys.private_key";

/// A public verification key.
#[derive(Clone)]
struct PublicKey {
    kid: String,
    x: String,
    decoding: DecodingKey,
}

/// Signs access tokens with the newest key and verifies tokens of any stored key.
pub struct Signer {
    kid: String,
    encoding: EncodingKey,
    public: RwLock<Vec<PublicKey>>,
    db: Db,
}

fn thumbprint(x: &str) -> String {
    // RFC 7638: members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    let hex = sha256_hex(canonical.as_bytes());
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn crypto_error(what: &str) -> Error {
    Error::internal(std::io::Error::other(what.to_owned()))
}

fn public_key(kid: String, x: String) -> Result<PublicKey> {
    let decoding =
        DecodingKey::from_ed_components(&x).map_err(|_| crypto_error("bad stored public key"))?;
    Ok(PublicKey { kid, x, decoding })
}

fn load_public(conn: &mut loket_storage::AnyConnection) -> Result<Vec<PublicKey>> {
    let rows: Vec<(String, String)> = signing_keys::table
        .select((signing_keys::kid, signing_keys::public_key))
        .order(signing_keys::created_at.desc())
        .load(conn)?;
    rows.into_iter()
        .map(|(kid, x)| public_key(kid, x))
        .collect()
}

impl Signer {
    /// Loads the newest signing key, generating and storing one on first start.
    pub async fn load_or_create(db: &Db, key: &SecretKey, now: DateTime<Utc>) -> Result<Signer> {
        let sealer = key.clone();
        let (kid, sealed) = db
            .write(move |conn| {
                let newest: Option<(String, String)> = signing_keys::table
                    .select((signing_keys::kid, signing_keys::private_key))
                    .order(signing_keys::created_at.desc())
                    .first(conn)
                    .optional()?;
                if let Some(found) = newest {
                    return Ok(found);
                }
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| crypto_error("cannot generate a signing key"))?;
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                    .map_err(|_| crypto_error("bad generated key"))?;
                let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
                let kid = thumbprint(&x);
                let sealed = sealer.seal(pkcs8.as_ref(), SEAL_CONTEXT)?;
                diesel::insert_into(signing_keys::table)
                    .values((
                        signing_keys::kid.eq(&kid),
                        signing_keys::alg.eq("EdDSA"),
                        signing_keys::private_key.eq(&sealed),
                        signing_keys::public_key.eq(&x),
                        signing_keys::created_at.eq(time::to_db(now)),
                    ))
                    .execute(conn)?;
                tracing::info!(kid = %kid, "generated a new token signing key");
                Ok((kid, sealed))
            })
            .await?;
        let pkcs8 = key.open(&sealed, SEAL_CONTEXT)?;
        let public = db.read(load_public).await?;
        Ok(Signer {
            kid,
            encoding: EncodingKey::from_ed_der(&pkcs8),
            public: RwLock::new(public),
            db: db.clone(),
        })
    }

    /// Signs `claims` as a JWT with header `typ: at+jwt` (RFC 9068) and the current `kid`.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(Error::internal)
    }

    fn find(&self, kid: &str) -> Option<DecodingKey> {
        self.public
            .read()
            .ok()?
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.decoding.clone())
    }

    /// Verifies signature, algorithm, issuer and audience (not expiry: the caller checks it
    /// against the service clock). `None` for any invalid token.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA {
            return None;
        }
        let kid = header.kid?;
        let key = match self.find(&kid) {
            Some(k) => k,
            None => {
                // Another instance may have created a key since we loaded ours.
                let fresh = self.db.read(load_public).await.ok()?;
                if let Ok(mut w) = self.public.write() {
                    *w = fresh;
                }
                self.find(&kid)?
            }
        };
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .ok()
            .map(|d| d.claims)
    }

    /// The JWK Set of every verification key.
    pub async fn jwks(&self) -> Result<serde_json::Value> {
        let keys = self.db.read(load_public).await?;
        let jwks: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": k.kid, "alg": "EdDSA", "use": "sig" }))
            .collect();
        Ok(serde_json::json!({ "keys": jwks }))
    }
}
