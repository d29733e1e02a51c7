//! The OAuth2 authorization server: token grants, introspection, revocation, bearer verification.

use loket_common::{Code, Error, Principal, Result};

use crate::Accounts;

impl Accounts {
    /// Verifies a bearer access token and returns its principal; `401` when invalid.
    pub async fn authenticate(&self, _token: &str) -> Result<Principal> {
        Err(Error::new(Code::Unauthorized, "The bearer token is invalid."))
    }
}
