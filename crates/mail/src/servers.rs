//! Mail servers (R-TLS) and their limits, within the caller's tenant.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::crypto::SecretKey;
use loket_common::time::to_db;
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{mail_limits, mail_outbox, mail_senders, mail_servers, mail_settings};
use uuid::Uuid;

use crate::api::{
    LIMIT_MESSAGES_MAX, LIMIT_WINDOW_MAX, MailLimit, MailLimitChanges, MailServer,
    MailServerChanges, NAME_MAX, NewMailLimit, NewMailServer, PASSWORD_MAX, ServerType, SmtpCheck,
    TlsMode, USERNAME_MAX,
};
use crate::model::{LimitRow, ServerRow};
use crate::smtp::Endpoint;
use crate::{Mail, checks};

/// The answer to a `tls` that is not TLS (R-TLS).
pub fn tls_required(detail: impl Into<String>) -> Error {
    Error::new(Code::TlsRequired, detail)
}

/// Parses a requested TLS mode; anything but `implicit`/`starttls` is refused (R-TLS).
fn parse_tls(value: &str) -> Result<TlsMode> {
    TlsMode::parse(value).ok_or_else(|| {
        tls_required(format!(
            "`tls` is `{value}`, but mail is never sent in plain text: use `implicit` (TLS from the start, \
             usually port 465) or `starttls` (required upgrade, usually port 587)."
        ))
    })
}

pub(crate) fn load_server(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ServerRow> {
    mail_servers::table
        .filter(mail_servers::tenant_id.eq(tenant.to_string()))
        .filter(mail_servers::id.eq(id.to_string()))
        .select(ServerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("mail server"))
}

pub(crate) fn archived_conflict() -> Error {
    Error::conflict("The mail server is archived; it sends nothing more and cannot be changed.")
}

/// Where and how to reach a stored server (the password decrypted).
pub(crate) fn endpoint(key: &SecretKey, row: &ServerRow) -> Result<Endpoint> {
    let password = match &row.password {
        None => None,
        Some(sealed) => Some(
            String::from_utf8(key.open(sealed, &ServerRow::password_context(&row.id))?)
                .map_err(Error::internal)?,
        ),
    };
    Ok(Endpoint {
        host: row.host.clone(),
        port: row.port()?,
        tls: row.tls_mode()?,
        username: row.username.clone(),
        password,
    })
}

fn load_limit(conn: &mut AnyConnection, tenant: Uuid, server: Uuid, id: Uuid) -> Result<LimitRow> {
    mail_limits::table
        .filter(mail_limits::tenant_id.eq(tenant.to_string()))
        .filter(mail_limits::server_id.eq(server.to_string()))
        .filter(mail_limits::id.eq(id.to_string()))
        .select(LimitRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("limit"))
}

fn check_username(v: &mut Validator, value: &str) {
    checks::plain(v, "username", value, USERNAME_MAX);
}

fn check_password(v: &mut Validator, value: &str) {
    checks::plain(v, "password", value, PASSWORD_MAX);
}

impl Mail {
    fn seal_password(&self, id: &str, password: &str) -> Result<String> {
        self.inner
            .key
            .seal(password.as_bytes(), &ServerRow::password_context(id))
    }

    /// The tenant's mail servers (archived ones too), oldest first.
    pub async fn list_servers(&self, p: &Principal, page: &PageQuery) -> Result<Page<MailServer>> {
        p.require(Permission::MailManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .inner
            .db
            .read(move |c| {
                let mut q = mail_servers::table
                    .filter(mail_servers::tenant_id.eq(tenant))
                    .order(mail_servers::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(ServerRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(mail_servers::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), ServerRow::to_api)
    }

    /// One mail server of the caller's tenant.
    pub async fn server(&self, p: &Principal, id: Uuid) -> Result<MailServer> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .read(move |c| load_server(c, tenant, id)?.to_api())
            .await
    }

    /// Adds a mail server. The type's preset fills what the request leaves out; a server that
    /// would send in plain text is refused (R-TLS).
    pub async fn create_server(&self, p: &Principal, new: NewMailServer) -> Result<MailServer> {
        p.require(Permission::MailManage)?;
        if let Some(tls) = &new.tls {
            parse_tls(tls)?;
        }
        let mut v = Validator::new();
        checks::text(&mut v, "name", &new.name, NAME_MAX);
        let server_type = ServerType::parse(&new.server_type);
        if server_type.is_none() {
            v.fail("type", "must be `office365`, `gmail` or `generic`");
        }
        let preset = server_type.and_then(ServerType::preset);
        let tls = match (&new.tls, preset) {
            (Some(t), _) => Some(parse_tls(t)?),
            (None, Some((_, _, t))) => Some(t),
            (None, None) if server_type.is_some() => {
                return Err(tls_required(
                    "A generic mail server needs `tls`: `implicit` (TLS from the start, usually port 465) or \
                     `starttls` (required upgrade, usually port 587); mail is never sent in plain text.",
                ));
            }
            (None, None) => None,
        };
        let host = match (&new.host, preset) {
            (Some(h), _) => {
                checks::host(&mut v, "host", h);
                h.to_ascii_lowercase()
            }
            (None, Some((h, _, _))) => h.to_owned(),
            (None, None) => {
                if server_type.is_some() {
                    v.fail("host", "is required for a generic mail server");
                }
                String::new()
            }
        };
        let port = match (new.port, preset, tls) {
            (Some(port), _, _) => checks::port(&mut v, "port", port),
            (None, Some((_, port, preset_tls)), Some(t)) if t == preset_tls => port,
            (None, _, Some(t)) => t.default_port(),
            (None, _, None) => 0,
        };
        if let Some(u) = &new.username {
            check_username(&mut v, u);
        }
        if let Some(pw) = &new.password {
            check_password(&mut v, pw);
        }
        v.finish()?;
        let (Some(server_type), Some(tls)) = (server_type, tls) else {
            return Err(Error::invalid(
                "type",
                "must be `office365`, `gmail` or `generic`",
            ));
        };
        let id = ids::new_id();
        let sealed = new
            .password
            .as_deref()
            .map(|pw| self.seal_password(&id.to_string(), pw))
            .transpose()?;
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        let name = new.name.trim().to_owned();
        let username = new.username.clone();
        self.inner
            .db
            .write(move |c| {
                diesel::insert_into(mail_servers::table)
                    .values((
                        mail_servers::id.eq(id.to_string()),
                        mail_servers::tenant_id.eq(tenant.to_string()),
                        mail_servers::name.eq(&name),
                        mail_servers::kind.eq(server_type.as_str()),
                        mail_servers::host.eq(&host),
                        mail_servers::port.eq(i32::from(port)),
                        mail_servers::tls.eq(tls.as_str()),
                        mail_servers::username.eq(&username),
                        mail_servers::password.eq(&sealed),
                        mail_servers::status.eq("active"),
                        mail_servers::created_at.eq(at),
                        mail_servers::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load_server(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Changes a mail server; only the fields present change (R-TLS still holds).
    pub async fn update_server(
        &self,
        p: &Principal,
        id: Uuid,
        changes: MailServerChanges,
    ) -> Result<MailServer> {
        p.require(Permission::MailManage)?;
        let tls = changes.tls.as_deref().map(parse_tls).transpose()?;
        let mut v = Validator::new();
        if let Some(n) = &changes.name {
            checks::text(&mut v, "name", n, NAME_MAX);
        }
        if let Some(h) = &changes.host {
            checks::host(&mut v, "host", h);
        }
        let port = changes.port.map(|p| checks::port(&mut v, "port", p));
        if let Some(Some(u)) = &changes.username {
            check_username(&mut v, u);
        }
        if let Some(Some(pw)) = &changes.password {
            check_password(&mut v, pw);
        }
        v.finish()?;
        let password = match &changes.password {
            None => None,
            Some(None) => Some(None),
            Some(Some(pw)) => Some(Some(self.seal_password(&id.to_string(), pw)?)),
        };
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let row = load_server(c, tenant, id)?;
                if row.is_archived() {
                    return Err(archived_conflict());
                }
                diesel::update(mail_servers::table.find(&row.id))
                    .set((
                        changes
                            .name
                            .as_ref()
                            .map(|n| mail_servers::name.eq(n.trim().to_owned())),
                        changes
                            .host
                            .as_ref()
                            .map(|h| mail_servers::host.eq(h.to_ascii_lowercase())),
                        port.map(|p| mail_servers::port.eq(i32::from(p))),
                        tls.map(|t| mail_servers::tls.eq(t.as_str())),
                        changes
                            .username
                            .as_ref()
                            .map(|u| mail_servers::username.eq(u.clone())),
                        password.map(|pw| mail_servers::password.eq(pw)),
                        mail_servers::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load_server(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Archives a mail server: it sends nothing more. Its queued messages fail, and it stops
    /// being the default sender's server.
    pub async fn archive_server(&self, p: &Principal, id: Uuid) -> Result<MailServer> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        let now = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let row = load_server(c, tenant, id)?;
                if row.is_archived() {
                    return row.to_api();
                }
                diesel::update(mail_servers::table.find(&row.id))
                    .set((
                        mail_servers::status.eq("archived"),
                        mail_servers::archived_at.eq(Some(now)),
                        mail_servers::updated_at.eq(now),
                    ))
                    .execute(c)?;
                fail_queued(
                    c,
                    QueuedOf::Server(&row.id),
                    "The mail server was archived before the message was sent.",
                    now,
                )?;
                let senders: Vec<String> = mail_senders::table
                    .filter(mail_senders::server_id.eq(&row.id))
                    .select(mail_senders::id)
                    .load(c)?;
                clear_default_sender(c, &tenant.to_string(), &senders, now)?;
                load_server(c, tenant, id)?.to_api()
            })
            .await
    }

    /// Connects to the server, sets up TLS and logs in, and says what failed in plain words.
    pub async fn test_server(&self, p: &Principal, id: Uuid) -> Result<SmtpCheck> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        let key = self.inner.key.clone();
        let ep = self
            .inner
            .db
            .read(move |c| endpoint(&key, &load_server(c, tenant, id)?))
            .await?;
        Ok(self.inner.smtp.check(&ep).await)
    }

    // --- Limits ------------------------------------------------------------------------------

    /// The limits of a server.
    pub async fn list_limits(
        &self,
        p: &Principal,
        server_id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<MailLimit>> {
        p.require(Permission::MailManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id;
        let rows = self
            .inner
            .db
            .read(move |c| {
                load_server(c, tenant, server_id)?;
                let mut q = mail_limits::table
                    .filter(mail_limits::tenant_id.eq(tenant.to_string()))
                    .filter(mail_limits::server_id.eq(server_id.to_string()))
                    .order(mail_limits::id.asc())
                    .limit(i64::from(limit) + 1)
                    .select(LimitRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(mail_limits::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), LimitRow::to_api)
    }

    /// One limit of a server.
    pub async fn limit(&self, p: &Principal, server_id: Uuid, id: Uuid) -> Result<MailLimit> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .read(move |c| load_limit(c, tenant, server_id, id)?.to_api())
            .await
    }

    /// Adds a limit to a server.
    pub async fn create_limit(
        &self,
        p: &Principal,
        server_id: Uuid,
        new: NewMailLimit,
    ) -> Result<MailLimit> {
        p.require(Permission::MailManage)?;
        let mut v = Validator::new();
        let max = checks::range(
            &mut v,
            "max_messages",
            new.max_messages,
            1,
            LIMIT_MESSAGES_MAX,
        );
        let window = checks::range(
            &mut v,
            "window_seconds",
            new.window_seconds,
            1,
            LIMIT_WINDOW_MAX,
        );
        v.finish()?;
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let server = load_server(c, tenant, server_id)?;
                if server.is_archived() {
                    return Err(archived_conflict());
                }
                let id = ids::new_id();
                diesel::insert_into(mail_limits::table)
                    .values((
                        mail_limits::id.eq(id.to_string()),
                        mail_limits::tenant_id.eq(tenant.to_string()),
                        mail_limits::server_id.eq(&server.id),
                        mail_limits::max_messages.eq(max),
                        mail_limits::window_seconds.eq(window),
                        mail_limits::created_at.eq(at),
                        mail_limits::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load_limit(c, tenant, server_id, id)?.to_api()
            })
            .await
    }

    /// Changes a limit; only the fields present change.
    pub async fn update_limit(
        &self,
        p: &Principal,
        server_id: Uuid,
        id: Uuid,
        changes: MailLimitChanges,
    ) -> Result<MailLimit> {
        p.require(Permission::MailManage)?;
        let mut v = Validator::new();
        let max = changes
            .max_messages
            .map(|m| checks::range(&mut v, "max_messages", m, 1, LIMIT_MESSAGES_MAX));
        let window = changes
            .window_seconds
            .map(|w| checks::range(&mut v, "window_seconds", w, 1, LIMIT_WINDOW_MAX));
        v.finish()?;
        let tenant = p.tenant_id;
        let at = to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let row = load_limit(c, tenant, server_id, id)?;
                if load_server(c, tenant, server_id)?.is_archived() {
                    return Err(archived_conflict());
                }
                diesel::update(mail_limits::table.find(&row.id))
                    .set((
                        max.map(|m| mail_limits::max_messages.eq(m)),
                        window.map(|w| mail_limits::window_seconds.eq(w)),
                        mail_limits::updated_at.eq(at),
                    ))
                    .execute(c)?;
                load_limit(c, tenant, server_id, id)?.to_api()
            })
            .await
    }

    /// Removes a limit.
    pub async fn delete_limit(&self, p: &Principal, server_id: Uuid, id: Uuid) -> Result<()> {
        p.require(Permission::MailManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .write(move |c| {
                let row = load_limit(c, tenant, server_id, id)?;
                diesel::delete(mail_limits::table.find(&row.id)).execute(c)?;
                Ok(())
            })
            .await
    }
}

/// Which queued messages to fail.
#[derive(Debug, Clone, Copy)]
pub(crate) enum QueuedOf<'a> {
    /// Those going through this server.
    Server(&'a str),
    /// Those from this sender.
    Sender(&'a str),
}

/// Fails the queued messages of a server or sender that no worker holds right now (one that
/// does records its own outcome).
pub(crate) fn fail_queued(
    conn: &mut AnyConnection,
    of: QueuedOf<'_>,
    reason: &str,
    now: NaiveDateTime,
) -> Result<usize> {
    let free = mail_outbox::status.eq("queued").and(
        mail_outbox::locked_until
            .is_null()
            .or(mail_outbox::locked_until.le(now)),
    );
    let set = (
        mail_outbox::status.eq("failed"),
        mail_outbox::error.eq(Some(reason.to_owned())),
        mail_outbox::next_attempt_at.eq(None::<NaiveDateTime>),
    );
    let n = match of {
        QueuedOf::Server(id) => diesel::update(
            mail_outbox::table
                .filter(free)
                .filter(mail_outbox::server_id.eq(id)),
        )
        .set(set)
        .execute(conn)?,
        QueuedOf::Sender(id) => diesel::update(
            mail_outbox::table
                .filter(free)
                .filter(mail_outbox::sender_id.eq(id)),
        )
        .set(set)
        .execute(conn)?,
    };
    Ok(n)
}

/// Clears the tenant's default sender if it is one of `senders`.
pub(crate) fn clear_default_sender(
    conn: &mut AnyConnection,
    tenant: &str,
    senders: &[String],
    now: NaiveDateTime,
) -> Result<()> {
    if senders.is_empty() {
        return Ok(());
    }
    diesel::update(
        mail_settings::table
            .filter(mail_settings::tenant_id.eq(tenant))
            .filter(
                mail_settings::default_sender_id.eq_any(senders.iter().map(|s| Some(s.clone()))),
            ),
    )
    .set((
        mail_settings::default_sender_id.eq(None::<String>),
        mail_settings::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}
