//! Request and response types of releases, meetings, the status page and the forum.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$vm:meta])* $variant:ident => $s:tt, )* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name { $( $(#[$vm])* #[serde(rename = $s)] $variant, )* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            /// The stored and API form.
            pub fn as_str(self) -> &'static str { match self { $( $name::$variant => $s, )* } }
            /// Parses the stored form.
            pub fn parse(s: &str) -> Option<$name> { match s { $( $s => Some($name::$variant), )* _ => None } }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Releases.

text_enum! {
    /// How big a release is.
    ReleaseKind {
        Major => "major",
        Minor => "minor",
        Patch => "patch",
    }
}

text_enum! {
    /// `planned` until delivered (once, `POST /releases/{version}/deliver`).
    ReleaseStatus {
        Planned => "planned",
        Delivered => "delivered",
    }
}

/// Release notes in one culture.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseNote {
    /// Culture code (`nl-NL`, `en-GB`); one note per culture.
    #[schema(example = "nl-NL", pattern = r"^[a-z]{2}-[A-Z]{2}$")]
    pub culture: String,
    /// Markdown; tabs and line breaks allowed, not only white space.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
}

/// A release of the tenant's product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Release {
    pub id: Uuid,
    /// `major.minor.patch`; API paths take the version.
    #[schema(example = "7.4.1")]
    pub version: String,
    pub kind: ReleaseKind,
    pub status: ReleaseStatus,
    pub planned_date: Option<NaiveDate>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Release notes per culture, in culture order.
    pub notes: Vec<ReleaseNote>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /releases` (staff).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelease {
    /// `major.minor.patch`, each part at most 6 digits.
    #[schema(
        example = "7.4.1",
        pattern = r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"
    )]
    pub version: String,
    pub kind: ReleaseKind,
    pub planned_date: Option<NaiveDate>,
    /// At most 20 notes, one per culture.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub notes: Vec<ReleaseNote>,
}

/// `PATCH /releases/{version}` (staff): only the fields present change. Kind and planned date
/// change only while the release is planned; notes can be corrected after delivery too.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseChanges {
    pub kind: Option<ReleaseKind>,
    #[serde(default, deserialize_with = "loket_tickets::api::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub planned_date: Option<Option<NaiveDate>>,
    /// Replaces the notes; at most 20, one per culture.
    #[schema(max_items = 20)]
    pub notes: Option<Vec<ReleaseNote>>,
}

/// The outcome of delivering a release.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseDelivery {
    pub release: Release,
    /// Numbers of the tickets moved from `planned` to `delivered`.
    pub tickets: Vec<String>,
    /// How many reporters' mails were queued (0 without any mail sender).
    pub mails_queued: u32,
}

// ---------------------------------------------------------------------------------------------
// Meetings.

text_enum! {
    /// The meeting a ticket waits for (seed 003 §4).
    MeetingKind {
        /// Weekly, helpdesk and product manager: tickets in `internal-discussion`.
        InternalDiscussion => "internal-discussion",
        /// Monthly, product manager and consultants: tickets in `functional-consultation`.
        FunctionalConsultation => "functional-consultation",
    }
}

/// A meeting date.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Meeting {
    pub id: Uuid,
    pub kind: MeetingKind,
    pub starts_at: DateTime<Utc>,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /helpdesk/meetings` (staff).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    pub kind: MeetingKind,
    pub starts_at: DateTime<Utc>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: Option<String>,
}

/// Filters of `GET /helpdesk/meetings`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingFilter {
    pub kind: Option<MeetingKind>,
    /// Only meetings starting at or after this time.
    pub from: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------------------------------------
// Status page.

text_enum! {
    /// The current state of a component.
    ComponentState {
        Operational => "operational",
        Degraded => "degraded",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
        Maintenance => "maintenance",
    }
}

impl ComponentState {
    /// How bad the state is (for the overall state: the worst of all).
    pub fn severity(self) -> u8 {
        match self {
            ComponentState::Operational => 0,
            ComponentState::Maintenance => 1,
            ComponentState::Degraded => 2,
            ComponentState::PartialOutage => 3,
            ComponentState::MajorOutage => 4,
        }
    }
}

text_enum! {
    /// An unplanned incident or a scheduled maintenance window.
    IncidentKind {
        Incident => "incident",
        Maintenance => "maintenance",
    }
}

text_enum! {
    /// Where an incident is. Incidents use `investigating`, `identified`, `monitoring`,
    /// `resolved`; maintenance windows `scheduled`, `in_progress`, `completed`. `resolved` and
    /// `completed` close it.
    IncidentStatus {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Completed => "completed",
    }
}

impl IncidentStatus {
    /// Whether the status belongs to `kind`.
    pub fn fits(self, kind: IncidentKind) -> bool {
        use IncidentStatus::*;
        match kind {
            IncidentKind::Incident => {
                matches!(self, Investigating | Identified | Monitoring | Resolved)
            }
            IncidentKind::Maintenance => matches!(self, Scheduled | InProgress | Completed),
        }
    }

    /// Whether the status closes the incident.
    pub fn closes(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Completed)
    }
}

/// A component of the status page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Component {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub state: ComponentState,
    /// Order on the status page (ascending).
    pub position: i32,
    pub updated_at: DateTime<Utc>,
}

/// `POST /status/components` (staff).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComponent {
    /// Unique within the tenant.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<String>,
    /// Default `operational`.
    pub state: Option<ComponentState>,
    /// Default 0.
    #[schema(minimum = 0, maximum = 1000)]
    pub position: Option<i32>,
}

/// `PATCH /status/components/{id}` (staff): only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentChanges {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "loket_tickets::api::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<Option<String>>,
    pub state: Option<ComponentState>,
    #[schema(minimum = 0, maximum = 1000)]
    pub position: Option<i32>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentUpdate {
    pub id: Uuid,
    pub status: IncidentStatus,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// An incident or maintenance window with its timeline (oldest first).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    pub id: Uuid,
    pub kind: IncidentKind,
    pub title: String,
    pub status: IncidentStatus,
    /// The affected components.
    pub component_ids: Vec<Uuid>,
    /// Maintenance windows: when the work is planned.
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updates: Vec<IncidentUpdate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /status/incidents` (staff): the incident and the first entry of its timeline.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub kind: IncidentKind,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// Default `investigating` (incident) or `scheduled` (maintenance); must fit the kind.
    pub status: Option<IncidentStatus>,
    /// Components of the tenant; at most 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub component_ids: Vec<Uuid>,
    /// Required for maintenance (with `scheduled_end` after it); not allowed for incidents.
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    /// The first timeline entry.
    #[schema(
        min_length = 1,
        max_length = 10_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
}

/// `POST /status/incidents/{id}/updates` (staff): a timeline entry, possibly a new status.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentUpdate {
    /// Must fit the incident's kind; default: unchanged.
    pub status: Option<IncidentStatus>,
    #[schema(
        min_length = 1,
        max_length = 10_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
}

/// Filters of `GET /status/incidents`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentFilter {
    pub kind: Option<IncidentKind>,
    /// `true`: open only; `false`: closed only.
    pub open: Option<bool>,
}

/// `GET /public/status?tenant=`: which tenant's status page.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The tenant's slug (as in `GET /tenants/{id}`) or id.
    #[param(min_length = 1, max_length = 100, example = "zorgned")]
    pub tenant: String,
}

/// A component as the public status page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicComponent {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub state: ComponentState,
}

/// The public status page of one tenant: nothing but what its staff published there.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicStatus {
    /// The tenant's display name.
    pub name: String,
    /// The worst state of any component (`operational` without components).
    pub state: ComponentState,
    pub components: Vec<PublicComponent>,
    /// Open incidents and maintenance in progress.
    pub active: Vec<Incident>,
    /// Maintenance windows not yet begun.
    pub scheduled: Vec<Incident>,
    /// Incidents closed in the last 7 days.
    pub recent: Vec<Incident>,
}

// ---------------------------------------------------------------------------------------------
// Forum.

text_enum! {
    /// Who may start topics and post in a category.
    Posting {
        /// Staff of any tenant and customers.
        Everyone => "everyone",
        /// Staff of the hosting tenant only (announcements).
        Staff => "staff",
    }
}

text_enum! {
    /// Whether a post (or a topic, through its first post) is visible.
    PostStatus {
        /// Visible to everyone.
        Published => "published",
        /// Personal data found: visible only to its author and the moderators until published.
        Held => "held",
        /// Hidden by a moderator.
        Hidden => "hidden",
    }
}

text_enum! {
    /// Who wrote a forum post.
    ForumAuthorKind {
        Staff => "staff",
        Customer => "customer",
    }
}

/// A forum category. Categories are hosted by one tenant (whose staff moderate them) and read by
/// every tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub posting: Posting,
    /// Whether the caller's tenant hosts (and so moderates) the category.
    pub moderated_by_you: bool,
    pub created_at: DateTime<Utc>,
}

/// `POST /forum/categories` (staff; the caller's tenant hosts it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<String>,
    /// Default `everyone`.
    pub posting: Option<Posting>,
}

/// A forum topic.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForumTopic {
    pub id: Uuid,
    pub category_id: Uuid,
    pub title: String,
    pub author_kind: ForumAuthorKind,
    pub author_name: String,
    /// `held` while its first post is held for moderation.
    pub status: PostStatus,
    pub locked: bool,
    pub pinned: bool,
    /// The post marked as the answer.
    pub answer_post_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /forum/categories/{id}/topics`: the topic and its first post.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTopic {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    #[schema(
        min_length = 1,
        max_length = 20_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
}

/// `PATCH /forum/topics/{id}` (moderators: staff of the hosting tenant).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicModeration {
    pub locked: Option<bool>,
    pub pinned: Option<bool>,
    /// A published post of the topic; `null` clears.
    #[serde(default, deserialize_with = "loket_tickets::api::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub answer_post_id: Option<Option<Uuid>>,
}

/// A forum post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Post {
    pub id: Uuid,
    pub topic_id: Uuid,
    pub author_kind: ForumAuthorKind,
    pub author_name: String,
    pub body: String,
    pub status: PostStatus,
    /// Whether the caller wrote it.
    pub yours: bool,
    pub created_at: DateTime<Utc>,
}

/// `POST /forum/topics/{id}/posts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    #[schema(
        min_length = 1,
        max_length = 20_000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub body: String,
}

/// `POST /forum/posts/{id}/moderate` (moderators).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostModeration {
    /// `published` releases a held post (or shows a hidden one), `hidden` hides it.
    pub status: ModerationStatus,
}

text_enum! {
    /// What a moderator makes of a post.
    ModerationStatus {
        Published => "published",
        Hidden => "hidden",
    }
}

/// Filters of `GET /forum/topics`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicFilter {
    pub category_id: Option<Uuid>,
    /// Words that must all occur in the topic's title or one of its published posts
    /// (case-insensitive; the first 10 words count; empty matches everything).
    #[param(max_length = 200)]
    pub q: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_statuses_fit_their_kind_and_close_it() {
        for s in IncidentStatus::ALL {
            let incident = s.fits(IncidentKind::Incident);
            let maintenance = s.fits(IncidentKind::Maintenance);
            assert!(incident != maintenance, "{s:?} fits exactly one kind");
            assert_eq!(IncidentStatus::parse(s.as_str()), Some(*s));
        }
        let closing: Vec<_> = IncidentStatus::ALL.iter().filter(|s| s.closes()).collect();
        assert_eq!(
            closing,
            [&IncidentStatus::Resolved, &IncidentStatus::Completed]
        );
    }

    #[test]
    fn the_overall_state_is_the_worst_component() {
        let worst = ComponentState::ALL
            .iter()
            .max_by_key(|s| s.severity())
            .copied();
        assert_eq!(worst, Some(ComponentState::MajorOutage));
        assert!(ComponentState::Maintenance.severity() > ComponentState::Operational.severity());
    }
}
