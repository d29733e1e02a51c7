//! Who is calling: the subject of a verified access token.

use uuid::Uuid;

use crate::{Error, Permission, Permissions, Result};

/// What kind of subject a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// An API account (service user) acting for itself.
    ApiAccount,
    /// A user, impersonated by an API account.
    User,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The tenant every call is confined to (R-TEN).
    pub tenant_id: Uuid,
    /// The token's `sub`: the API account, or the impersonated user.
    pub subject: Uuid,
    /// What `subject` is.
    pub kind: SubjectKind,
    /// For impersonated tokens, the API account acting on behalf of the user (the `act` claim).
    pub actor: Option<Uuid>,
    /// The permissions of this token (already narrowed for impersonation).
    pub permissions: Permissions,
    /// The token id (`jti`).
    pub token_id: Uuid,
}

impl Principal {
    /// Refuses with `403 forbidden` unless the token grants `p` (R-AUTHZ).
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.permissions.grants(p) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "This operation requires the `{p}` permission."
            )))
        }
    }

    /// The API account responsible for the call: the actor when impersonating, else the subject.
    pub fn api_account_id(&self) -> Uuid {
        self.actor.unwrap_or(self.subject)
    }

    /// The impersonated user, if any.
    pub fn on_behalf_of(&self) -> Option<Uuid> {
        match self.kind {
            SubjectKind::User => Some(self.subject),
            SubjectKind::ApiAccount => None,
        }
    }
}

/// Who made a change, as recorded in audit events and event envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actor {
    /// The API account responsible; `None` for operator commands (`loket admin …`).
    pub api_account_id: Option<Uuid>,
    /// The impersonated user on whose behalf the account acted.
    pub user_id: Option<Uuid>,
}

impl Actor {
    /// An operator command run on the server itself.
    pub fn system() -> Self {
        Actor::default()
    }
}

impl Principal {
    /// The actor to record for changes made by this caller.
    pub fn actor(&self) -> Actor {
        Actor {
            api_account_id: Some(self.api_account_id()),
            user_id: self.on_behalf_of(),
        }
    }
}
