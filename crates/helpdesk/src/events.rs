//! The `Releases.*`, `Status.*` and `Forum.*` domain events, written to the outbox with the
//! change.

/// A release was created.
pub const RELEASES_CREATE: &str = "Releases.Create";
/// A release's kind, planned date or notes changed.
pub const RELEASES_UPDATE: &str = "Releases.Update";
/// A release was delivered; its planned tickets moved to `delivered`.
pub const RELEASES_DELIVER: &str = "Releases.Deliver";
/// A status-page component changed state (or was created or renamed).
pub const STATUS_COMPONENT_UPDATE: &str = "Status.ComponentUpdate";
/// An incident or maintenance window was created.
pub const STATUS_INCIDENT_CREATE: &str = "Status.IncidentCreate";
/// An incident got a timeline update.
pub const STATUS_INCIDENT_UPDATE: &str = "Status.IncidentUpdate";
/// An incident was resolved (or a maintenance window completed).
pub const STATUS_INCIDENT_RESOLVE: &str = "Status.IncidentResolve";
/// A forum topic was started (published or held).
pub const FORUM_TOPIC_CREATE: &str = "Forum.TopicCreate";
/// A forum post was written (published or held).
pub const FORUM_POST_CREATE: &str = "Forum.PostCreate";
/// A forum post was held because it contains personal data.
pub const FORUM_POST_HELD: &str = "Forum.PostHeld";
/// A moderator published, hid, locked, pinned or marked an answer.
pub const FORUM_MODERATE: &str = "Forum.Moderate";

/// The topics this domain emits, with a description (for the webhook topic catalogue).
pub const TOPICS: &[(&str, &str)] = &[
    (
        RELEASES_CREATE,
        "A release was created; data is the release.",
    ),
    (
        RELEASES_UPDATE,
        "A release's kind, planned date or notes changed; data is the release.",
    ),
    (
        RELEASES_DELIVER,
        "A release was delivered and its planned tickets moved to `delivered` (each with its own \
         `Tickets.Update`); data is the release.",
    ),
    (
        STATUS_COMPONENT_UPDATE,
        "A status-page component was created or changed; data is the component.",
    ),
    (
        STATUS_INCIDENT_CREATE,
        "An incident or maintenance window was published; data is the incident.",
    ),
    (
        STATUS_INCIDENT_UPDATE,
        "An incident got a timeline update; data is the incident.",
    ),
    (
        STATUS_INCIDENT_RESOLVE,
        "An incident was resolved or a maintenance window completed; data is the incident.",
    ),
    (
        FORUM_TOPIC_CREATE,
        "A forum topic was started in a category the tenant hosts; data is the topic (its \
         `status` is `held` when it waits for moderation).",
    ),
    (
        FORUM_POST_CREATE,
        "A forum post was written in a category the tenant hosts; data is the post (its \
         `status` is `held` when it waits for moderation).",
    ),
    (
        FORUM_POST_HELD,
        "A forum post in a category the tenant hosts was held for moderation (personal data); \
         data is the post.",
    ),
    (
        FORUM_MODERATE,
        "A moderator of the tenant published, hid, locked, pinned or marked an answer; data is \
         the topic or post.",
    ),
];

/// Publishes an event (the one outbox writer every domain uses).
pub use loket_storage::outbox::emit;
