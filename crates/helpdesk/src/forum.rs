//! The user forum (seed 003 §5): users exchange knowledge and ask each other questions.
//!
//! **The forum spans tenants on purpose**: it is the vendor's user community. A category is
//! hosted by one tenant, whose staff moderate it (hide or publish posts, lock, pin, mark the
//! answer); every caller with `tickets:read`, of any tenant, reads every category, topic and
//! published post, and every caller with `tickets:write` posts where the category allows
//! (`posting: everyone`; `staff` categories take posts from the hosting tenant's staff only).
//! Authors show by display name and kind (staff or customer) only, never their tenant, e-mail
//! or ids. Tickets, releases, meetings and the status page stay private to their tenant.
//!
//! Every post (and a topic's title) passes the tickets' privacy scanner: a text with personal
//! data (a BSN with its keyword, an IBAN, an e-mail address, a phone number, an address) is held
//! for moderation (`status: held`), visible only to its author and the moderators until a
//! moderator publishes (or hides) it.
//!
//! Search (`?q=`) is full text (SQLite FTS5 / PostgreSQL tsvector, the tickets' search code):
//! every word, as a prefix, in the title or in a published post.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{api_accounts, forum_categories, forum_posts, forum_topics, users};
use loket_tickets::privacy::{Classification, Scanner};
use loket_tickets::search;
use loket_tickets::service::{Viewer, viewer};
use uuid::Uuid;

use crate::api::{
    Category, ForumAuthorKind, ForumTopic, ModerationStatus, NewCategory, NewPost, NewTopic, Post,
    PostModeration, PostStatus, Posting, TopicFilter, TopicModeration,
};
use crate::events::{self, FORUM_MODERATE, FORUM_POST_CREATE, FORUM_POST_HELD, FORUM_TOPIC_CREATE};
use crate::{Helpdesk, check_body, require_staff, stored};

/// Longest post.
pub const POST_MAX: usize = 20_000;

/// Topic titles and posts (migration `forum_search`); `public` marks titles and published posts.
const FORUM_INDEX: search::Index = search::Index {
    table: "forum_search",
    key_column: "topic_id",
    key: "forum_topics.id",
};

/// A category row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = forum_categories)]
pub struct CategoryRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    pub posting: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A topic row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = forum_topics)]
pub struct TopicRow {
    pub id: String,
    pub category_id: String,
    pub tenant_id: String,
    pub author_kind: String,
    pub author_id: Option<String>,
    pub author_name: String,
    pub title: String,
    pub status: String,
    pub locked: bool,
    pub pinned: bool,
    pub answer_post_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A post row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = forum_posts)]
pub struct PostRow {
    pub id: String,
    pub topic_id: String,
    pub tenant_id: String,
    pub author_kind: String,
    pub author_id: Option<String>,
    pub author_name: String,
    pub body: String,
    pub status: String,
    pub privacy_kinds: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Who is calling, for the forum.
struct Member {
    tenant: String,
    subject: String,
    staff: bool,
}

impl Member {
    fn of(conn: &mut AnyConnection, p: &Principal) -> Result<Member> {
        Ok(Member {
            tenant: p.tenant_id.to_string(),
            subject: p.subject.to_string(),
            staff: matches!(viewer(conn, p)?, Viewer::Staff),
        })
    }

    /// Staff of the category's hosting tenant.
    fn moderates(&self, cat: &CategoryRow) -> bool {
        self.staff && cat.tenant_id == self.tenant
    }

    fn wrote(&self, tenant: &str, author: Option<&str>) -> bool {
        tenant == self.tenant && author == Some(self.subject.as_str())
    }

    fn kind(&self) -> ForumAuthorKind {
        if self.staff {
            ForumAuthorKind::Staff
        } else {
            ForumAuthorKind::Customer
        }
    }
}

fn category_api(row: &CategoryRow, m: &Member) -> Result<Category> {
    Ok(Category {
        id: ids::parse_stored(&row.id)?,
        name: row.name.clone(),
        description: row.description.clone(),
        posting: stored("posting", Posting::parse(&row.posting), &row.posting)?,
        moderated_by_you: m.moderates(row),
        created_at: from_db(row.created_at),
    })
}

fn topic_api(row: &TopicRow) -> Result<ForumTopic> {
    Ok(ForumTopic {
        id: ids::parse_stored(&row.id)?,
        category_id: ids::parse_stored(&row.category_id)?,
        title: row.title.clone(),
        author_kind: stored(
            "author kind",
            ForumAuthorKind::parse(&row.author_kind),
            &row.author_kind,
        )?,
        author_name: row.author_name.clone(),
        status: stored("status", PostStatus::parse(&row.status), &row.status)?,
        locked: row.locked,
        pinned: row.pinned,
        answer_post_id: row
            .answer_post_id
            .as_deref()
            .map(ids::parse_stored)
            .transpose()?,
        created_at: from_db(row.created_at),
        updated_at: from_db(row.updated_at),
    })
}

fn post_api(row: &PostRow, m: &Member) -> Result<Post> {
    Ok(Post {
        id: ids::parse_stored(&row.id)?,
        topic_id: ids::parse_stored(&row.topic_id)?,
        author_kind: stored(
            "author kind",
            ForumAuthorKind::parse(&row.author_kind),
            &row.author_kind,
        )?,
        author_name: row.author_name.clone(),
        body: row.body.clone(),
        status: stored("status", PostStatus::parse(&row.status), &row.status)?,
        yours: m.wrote(&row.tenant_id, row.author_id.as_deref()),
        created_at: from_db(row.created_at),
    })
}

fn load_category(conn: &mut AnyConnection, id: &str) -> Result<CategoryRow> {
    forum_categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("category"))
}

/// A topic the member may see (published, their own, or moderated by them), with its category.
fn load_topic(conn: &mut AnyConnection, m: &Member, id: Uuid) -> Result<(TopicRow, CategoryRow)> {
    let t = forum_topics::table
        .find(id.to_string())
        .select(TopicRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("topic"))?;
    let cat = load_category(conn, &t.category_id)?;
    if t.status == PostStatus::Published.as_str()
        || m.moderates(&cat)
        || m.wrote(&t.tenant_id, t.author_id.as_deref())
    {
        Ok((t, cat))
    } else {
        Err(Error::not_found("topic"))
    }
}

fn may_see_post(m: &Member, cat: &CategoryRow, p: &PostRow) -> bool {
    p.status == PostStatus::Published.as_str()
        || m.moderates(cat)
        || (p.status == PostStatus::Held.as_str() && m.wrote(&p.tenant_id, p.author_id.as_deref()))
}

/// The caller's display name: the impersonated user's, else the API account's.
fn display_name(conn: &mut AnyConnection, p: &Principal) -> Result<String> {
    let name: Option<String> = match p.on_behalf_of() {
        Some(u) => users::table
            .find(u.to_string())
            .select(users::name)
            .first(conn)
            .optional()?,
        None => api_accounts::table
            .find(p.subject.to_string())
            .select(api_accounts::name)
            .first(conn)
            .optional()?,
    };
    Ok(name.unwrap_or_else(|| "Anonymous".to_owned()))
}

/// Scans a text; `held` when it holds personal data.
fn scan(texts: &[&str]) -> (PostStatus, String) {
    let mut s = loket_tickets::privacy::Scan::default();
    for t in texts {
        s.merge(Scanner::default().scan(t));
    }
    let kinds: Vec<_> = s.kinds().into_iter().collect();
    let status = if s.classification() == Classification::Clean {
        PostStatus::Published
    } else {
        PostStatus::Held
    };
    (
        status,
        serde_json::to_string(&kinds).unwrap_or_else(|_| "[]".to_owned()),
    )
}

#[allow(clippy::too_many_arguments)]
fn insert_post(
    conn: &mut AnyConnection,
    topic_id: &str,
    m: &Member,
    author_id: &str,
    name: &str,
    body: &str,
    status: PostStatus,
    kinds: &str,
    at: NaiveDateTime,
) -> Result<PostRow> {
    let id = ids::new_id().to_string();
    diesel::insert_into(forum_posts::table)
        .values((
            forum_posts::id.eq(&id),
            forum_posts::topic_id.eq(topic_id),
            forum_posts::tenant_id.eq(&m.tenant),
            forum_posts::author_kind.eq(m.kind().as_str()),
            forum_posts::author_id.eq(Some(author_id)),
            forum_posts::author_name.eq(name),
            forum_posts::body.eq(body),
            forum_posts::status.eq(status.as_str()),
            forum_posts::privacy_kinds.eq(kinds),
            forum_posts::created_at.eq(at),
            forum_posts::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(forum_posts::table
        .find(&id)
        .select(PostRow::as_select())
        .first(conn)?)
}

impl Helpdesk {
    /// Creates a category hosted (and moderated) by the caller's tenant (staff).
    pub async fn create_category(&self, p: &Principal, new: NewCategory) -> Result<Category> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.text("name", &new.name, 100);
        if let Some(d) = &new.description {
            v.text("description", d, 500);
        }
        v.finish()?;
        let (now, p) = (self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                require_staff(c, &p)?;
                let m = Member::of(c, &p)?;
                let id = ids::new_id().to_string();
                let at = to_db(now);
                diesel::insert_into(forum_categories::table)
                    .values((
                        forum_categories::id.eq(&id),
                        forum_categories::tenant_id.eq(&m.tenant),
                        forum_categories::name.eq(new.name.trim()),
                        forum_categories::description.eq(new.description.as_deref().map(str::trim)),
                        forum_categories::posting
                            .eq(new.posting.unwrap_or(Posting::Everyone).as_str()),
                        forum_categories::created_at.eq(at),
                        forum_categories::updated_at.eq(at),
                    ))
                    .execute(c)?;
                category_api(&load_category(c, &id)?, &m)
            })
            .await
    }

    /// Every category of the community (all tenants), by name.
    pub async fn list_categories(&self, p: &Principal) -> Result<Vec<Category>> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let m = Member::of(c, &p)?;
                forum_categories::table
                    .order((forum_categories::name.asc(), forum_categories::id.asc()))
                    .select(CategoryRow::as_select())
                    .load(c)?
                    .iter()
                    .map(|r| category_api(r, &m))
                    .collect()
            })
            .await
    }

    /// Starts a topic with its first post; held (with the topic) when it holds personal data.
    pub async fn create_topic(
        &self,
        p: &Principal,
        category: Uuid,
        new: NewTopic,
    ) -> Result<ForumTopic> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        v.text("title", &new.title, 200);
        check_body(&mut v, "body", &new.body, POST_MAX);
        v.finish()?;
        let (actor, now, p) = (p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                let m = Member::of(c, &p)?;
                let cat = load_category(c, &category.to_string())?;
                if cat.posting == Posting::Staff.as_str() && !m.moderates(&cat) {
                    return Err(Error::forbidden(
                        "Only the hosting tenant's staff post in this category.",
                    ));
                }
                let name = display_name(c, &p)?;
                let (status, kinds) = scan(&[&new.title, &new.body]);
                let id = ids::new_id().to_string();
                let at = to_db(now);
                diesel::insert_into(forum_topics::table)
                    .values((
                        forum_topics::id.eq(&id),
                        forum_topics::category_id.eq(&cat.id),
                        forum_topics::tenant_id.eq(&m.tenant),
                        forum_topics::author_kind.eq(m.kind().as_str()),
                        forum_topics::author_id.eq(Some(&m.subject)),
                        forum_topics::author_name.eq(&name),
                        forum_topics::title.eq(new.title.trim()),
                        forum_topics::status.eq(status.as_str()),
                        forum_topics::locked.eq(false),
                        forum_topics::pinned.eq(false),
                        forum_topics::created_at.eq(at),
                        forum_topics::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let post =
                    insert_post(c, &id, &m, &m.subject, &name, &new.body, status, &kinds, at)?;
                let topic = topic_api(
                    &forum_topics::table
                        .find(&id)
                        .select(TopicRow::as_select())
                        .first(c)?,
                )?;
                let host = ids::parse_stored(&cat.tenant_id)?;
                events::emit(c, FORUM_TOPIC_CREATE, host, topic.id, &topic, actor, now)?;
                if status == PostStatus::Held {
                    let api = post_api(&post, &m)?;
                    events::emit(c, FORUM_POST_HELD, host, api.id, &api, actor, now)?;
                }
                Ok(topic)
            })
            .await
    }

    /// Topics of the community (all tenants' categories): pinned first, then newest; optional
    /// category and search words.
    pub async fn list_topics(
        &self,
        p: &Principal,
        filter: &TopicFilter,
        page: &PageQuery,
    ) -> Result<Page<ForumTopic>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let q = filter.q.as_deref().unwrap_or("");
        if q.chars().count() > 200 {
            return Err(Error::invalid("q", "must be at most 200 characters"));
        }
        // Words beyond the first few narrow nothing worth a longer query.
        let words = loket_tickets::search::words(q);
        let (p, filter) = (p.clone(), filter.clone());
        let rows = self
            .db
            .read(move |c| {
                let m = Member::of(c, &p)?;
                let mut q = forum_topics::table
                    .order((forum_topics::pinned.desc(), forum_topics::id.desc()))
                    .limit(i64::from(limit) + 1)
                    .select(TopicRow::as_select())
                    .into_boxed();
                // Published topics, the caller's own held ones, and (for moderators) every topic
                // of the categories their tenant hosts.
                let hosted = forum_categories::table
                    .filter(forum_categories::tenant_id.eq(m.tenant.clone()))
                    .select(forum_categories::id);
                let own = forum_topics::tenant_id
                    .eq(m.tenant.clone())
                    .and(forum_topics::author_id.eq(m.subject.clone()));
                if m.staff {
                    q = q.filter(
                        forum_topics::status
                            .eq(PostStatus::Published.as_str())
                            .or(own)
                            .or(forum_topics::category_id.eq_any(hosted)),
                    );
                } else {
                    q = q.filter(
                        forum_topics::status
                            .eq(PostStatus::Published.as_str())
                            .or(own),
                    );
                }
                if let Some(cat) = filter.category_id {
                    q = q.filter(forum_topics::category_id.eq(cat.to_string()));
                }
                // Every word in the title or in some published post (full text, word prefixes).
                for w in &words {
                    q = q.filter(search::matching_in(
                        c,
                        &FORUM_INDEX,
                        std::slice::from_ref(w),
                        true,
                    ));
                }
                // The cursor is `<1 pinned | 0 not>|<id>`; one this API did not hand out merely
                // starts at the beginning.
                let cursor = after
                    .as_deref()
                    .and_then(|a| a.split_once('|'))
                    .filter(|(pin, _)| matches!(*pin, "0" | "1"))
                    .map(|(pin, id)| (pin == "1", id.to_owned()));
                match cursor {
                    Some((true, id)) => {
                        q = q.filter(
                            forum_topics::pinned
                                .eq(false)
                                .or(forum_topics::pinned.eq(true).and(forum_topics::id.lt(id))),
                        );
                    }
                    Some((false, id)) => {
                        q = q.filter(forum_topics::pinned.eq(false).and(forum_topics::id.lt(id)));
                    }
                    None => {}
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(
            rows,
            limit,
            |r| format!("{}|{}", u8::from(r.pinned), r.id),
            topic_api,
        )
    }

    /// One topic.
    pub async fn get_topic(&self, p: &Principal, id: Uuid) -> Result<ForumTopic> {
        p.require(Permission::TicketsRead)?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let m = Member::of(c, &p)?;
                topic_api(&load_topic(c, &m, id)?.0)
            })
            .await
    }

    /// The posts of a topic, oldest first: published ones, the caller's own held ones, and for
    /// moderators all.
    pub async fn list_posts(
        &self,
        p: &Principal,
        topic: Uuid,
        page: &PageQuery,
    ) -> Result<Page<Post>> {
        p.require(Permission::TicketsRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let p = p.clone();
        self.db
            .read(move |c| {
                let m = Member::of(c, &p)?;
                let (t, cat) = load_topic(c, &m, topic)?;
                let mut q = forum_posts::table
                    .filter(forum_posts::topic_id.eq(&t.id))
                    .order(forum_posts::id.asc())
                    .select(PostRow::as_select())
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(forum_posts::id.gt(after));
                }
                // Visibility is decided per row; fetch until a page is full.
                let rows: Vec<PostRow> = q
                    .load(c)?
                    .into_iter()
                    .filter(|r| may_see_post(&m, &cat, r))
                    .take(limit as usize + 1)
                    .collect();
                Page::try_from_rows(rows, limit, |r| r.id.clone(), |r| post_api(r, &m))
            })
            .await
    }

    /// Posts a reply; held when it holds personal data. A locked topic takes replies from its
    /// moderators only (409 for others).
    pub async fn create_post(&self, p: &Principal, topic: Uuid, new: NewPost) -> Result<Post> {
        p.require(Permission::TicketsWrite)?;
        let mut v = Validator::new();
        check_body(&mut v, "body", &new.body, POST_MAX);
        v.finish()?;
        let (actor, now, p) = (p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                let m = Member::of(c, &p)?;
                let (t, cat) = load_topic(c, &m, topic)?;
                if cat.posting == Posting::Staff.as_str() && !m.moderates(&cat) {
                    return Err(Error::forbidden(
                        "Only the hosting tenant's staff post in this category.",
                    ));
                }
                if t.locked && !m.moderates(&cat) {
                    return Err(Error::new(Code::InvalidState, "The topic is locked."));
                }
                let name = display_name(c, &p)?;
                let (status, kinds) = scan(&[&new.body]);
                let at = to_db(now);
                let row = insert_post(
                    c, &t.id, &m, &m.subject, &name, &new.body, status, &kinds, at,
                )?;
                diesel::update(forum_topics::table.find(&t.id))
                    .set(forum_topics::updated_at.eq(at))
                    .execute(c)?;
                let post = post_api(&row, &m)?;
                let host = ids::parse_stored(&cat.tenant_id)?;
                events::emit(c, FORUM_POST_CREATE, host, post.id, &post, actor, now)?;
                if status == PostStatus::Held {
                    events::emit(c, FORUM_POST_HELD, host, post.id, &post, actor, now)?;
                }
                Ok(post)
            })
            .await
    }

    /// Moderators lock, pin or mark the answer of a topic.
    pub async fn moderate_topic(
        &self,
        p: &Principal,
        id: Uuid,
        ch: TopicModeration,
    ) -> Result<ForumTopic> {
        p.require(Permission::TicketsWrite)?;
        let (actor, now, p) = (p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                let m = Member::of(c, &p)?;
                if !m.staff {
                    return Err(Error::forbidden("Only staff moderate the forum."));
                }
                let (t, cat) = load_topic(c, &m, id)?;
                if !m.moderates(&cat) {
                    return Err(Error::forbidden(
                        "Only the hosting tenant's staff moderate this category.",
                    ));
                }
                let answer = match ch.answer_post_id {
                    Some(Some(post)) => {
                        let ok: i64 = forum_posts::table
                            .filter(forum_posts::id.eq(post.to_string()))
                            .filter(forum_posts::topic_id.eq(&t.id))
                            .filter(forum_posts::status.eq(PostStatus::Published.as_str()))
                            .count()
                            .get_result(c)?;
                        if ok == 0 {
                            return Err(Error::invalid(
                                "answer_post_id",
                                "must be a published post of this topic",
                            ));
                        }
                        Some(post.to_string())
                    }
                    Some(None) => None,
                    None => t.answer_post_id.clone(),
                };
                diesel::update(forum_topics::table.find(&t.id))
                    .set((
                        forum_topics::locked.eq(ch.locked.unwrap_or(t.locked)),
                        forum_topics::pinned.eq(ch.pinned.unwrap_or(t.pinned)),
                        forum_topics::answer_post_id.eq(answer),
                        forum_topics::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                let topic = topic_api(
                    &forum_topics::table
                        .find(&t.id)
                        .select(TopicRow::as_select())
                        .first(c)?,
                )?;
                let host = ids::parse_stored(&cat.tenant_id)?;
                events::emit(c, FORUM_MODERATE, host, topic.id, &topic, actor, now)?;
                Ok(topic)
            })
            .await
    }

    /// Moderators publish (a held or hidden post) or hide a post. The topic follows its first
    /// post.
    pub async fn moderate_post(&self, p: &Principal, id: Uuid, ch: PostModeration) -> Result<Post> {
        p.require(Permission::TicketsWrite)?;
        let (actor, now, p) = (p.actor(), self.clock.now(), p.clone());
        self.db
            .write(move |c| {
                let m = Member::of(c, &p)?;
                if !m.staff {
                    return Err(Error::forbidden("Only staff moderate the forum."));
                }
                let row = forum_posts::table
                    .find(id.to_string())
                    .select(PostRow::as_select())
                    .first(c)
                    .optional()?
                    .ok_or_else(|| Error::not_found("post"))?;
                let t = forum_topics::table
                    .find(&row.topic_id)
                    .select(TopicRow::as_select())
                    .first(c)?;
                let cat = load_category(c, &t.category_id)?;
                if !may_see_post(&m, &cat, &row) {
                    return Err(Error::not_found("post"));
                }
                if !m.moderates(&cat) {
                    return Err(Error::forbidden(
                        "Only the hosting tenant's staff moderate this category.",
                    ));
                }
                let status = match ch.status {
                    ModerationStatus::Published => PostStatus::Published,
                    ModerationStatus::Hidden => PostStatus::Hidden,
                };
                let at = to_db(now);
                diesel::update(forum_posts::table.find(&row.id))
                    .set((
                        forum_posts::status.eq(status.as_str()),
                        forum_posts::updated_at.eq(at),
                    ))
                    .execute(c)?;
                let first: String = forum_posts::table
                    .filter(forum_posts::topic_id.eq(&t.id))
                    .order(forum_posts::id.asc())
                    .select(forum_posts::id)
                    .first(c)?;
                if first == row.id {
                    diesel::update(forum_topics::table.find(&t.id))
                        .set((
                            forum_topics::status.eq(status.as_str()),
                            forum_topics::updated_at.eq(at),
                        ))
                        .execute(c)?;
                }
                if status != PostStatus::Published && t.answer_post_id.as_deref() == Some(&row.id) {
                    diesel::update(forum_topics::table.find(&t.id))
                        .set(forum_topics::answer_post_id.eq(None::<String>))
                        .execute(c)?;
                }
                let post = post_api(
                    &forum_posts::table
                        .find(&row.id)
                        .select(PostRow::as_select())
                        .first(c)?,
                    &m,
                )?;
                let host = ids::parse_stored(&cat.tenant_id)?;
                events::emit(c, FORUM_MODERATE, host, post.id, &post, actor, now)?;
                Ok(post)
            })
            .await
    }
}
