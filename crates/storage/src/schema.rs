//! The diesel schema, shared by both backends. Ids are UUID text, times are UTC `timestamp`,
//! JSON documents are text. Keep `migrations/sqlite` and `migrations/postgres` in step with it.

diesel::table! {
    /// Stored responses of POST requests made with an `Idempotency-Key`.
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        status_code -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        location -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The transactional outbox: domain events written in the same transaction as the change.
    outbox_events (id) {
        id -> Text,
        tenant_id -> Text,
        topic -> Text,
        object_id -> Text,
        payload -> Text,
        occurred_at -> Timestamp,
        actor_api_account_id -> Nullable<Text>,
        actor_user_id -> Nullable<Text>,
        dispatched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Organisations; every record belongs to one (R-TEN).
    tenants (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        slug -> Text,
        default_culture -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// People; subjects of impersonation and owners of data.
    users (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        email -> Text,
        language -> Text,
        permissions -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Service users that log in over OAuth2 (password + TOTP, or a registered key).
    api_accounts (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        username -> Text,
        permissions -> Text,
        active -> Bool,
        password_hash -> Text,
        totp_secret -> Text,
        last_totp_step -> Nullable<BigInt>,
        failed_attempts -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Public keys for `private_key_jwt` client authentication (RFC 7523).
    api_account_keys (id) {
        id -> Text,
        api_account_id -> Text,
        kid -> Text,
        alg -> Text,
        jwk -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Rotating refresh tokens, by family (reuse of a rotated token revokes the family).
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        api_account_id -> Text,
        token_hash -> Text,
        scope -> Text,
        token_version -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Revoked access tokens (by `jti`) until they expire.
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Client assertions already used (single-use `jti`).
    used_assertions (key) {
        key -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// JWT signing keys (private halves sealed with the server secret key).
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Who changed what: the API account, and the user it acted for.
    audit_events (id) {
        id -> Text,
        tenant_id -> Text,
        actor_api_account_id -> Nullable<Text>,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        occurred_at -> Timestamp,
        details -> Text,
    }
}

diesel::table! {
    /// Webhook receivers (secrets sealed with the server key).
    webhook_receivers (id) {
        id -> Text,
        tenant_id -> Text,
        api_account_id -> Text,
        name -> Text,
        url -> Text,
        topics -> Text,
        protocol -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        oauth_token_url -> Nullable<Text>,
        oauth_client_id -> Nullable<Text>,
        oauth_client_secret -> Nullable<Text>,
        oauth_scope -> Nullable<Text>,
        last_success_at -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One event for one receiver, with its retry state and the worker's lease.
    webhook_deliveries (id) {
        id -> Text,
        tenant_id -> Text,
        receiver_id -> Text,
        event_id -> Text,
        topic -> Text,
        body -> Text,
        status -> Text,
        attempt_count -> Integer,
        failed_attempts -> Integer,
        last_status_code -> Nullable<Integer>,
        created_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        next_attempt_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        lease -> Nullable<Text>,
    }
}

diesel::table! {
    /// Every HTTP attempt of a webhook delivery.
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        duration_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    /// The people consultations are about (agenda).
    employees (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        date_of_birth -> Nullable<Date>,
        employer -> Nullable<Text>,
        department -> Nullable<Text>,
        private_email -> Nullable<Text>,
        work_email -> Nullable<Text>,
        private_mobile -> Nullable<Text>,
        work_mobile -> Nullable<Text>,
        language -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Professionals who hold consultations; `booking_version` serializes concurrent bookings.
    staff (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        role -> Text,
        email -> Nullable<Text>,
        mobile -> Nullable<Text>,
        active -> Bool,
        booking_version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Kinds of consultation; `default_reminders` is a JSON list.
    consultation_types (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        duration_minutes -> Integer,
        is_no_show -> Bool,
        requires_contact -> Bool,
        default_reminders -> Text,
        billing_code -> Nullable<Text>,
        amount_cents -> BigInt,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Time blocks in which a staff member can be booked; `consultation_type_ids` is a JSON list.
    availabilities (id) {
        id -> Text,
        tenant_id -> Text,
        staff_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        location -> Nullable<Text>,
        consultation_type_ids -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Per-tenant typed settings by code (JSON values).
    product_parameters (tenant_id, code) {
        tenant_id -> Text,
        code -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Agenda appointments.
    appointments (id) {
        id -> Text,
        tenant_id -> Text,
        employee_id -> Text,
        staff_id -> Text,
        consultation_type_id -> Text,
        call_request_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        location -> Nullable<Text>,
        notes -> Nullable<Text>,
        concept -> Bool,
        status -> Text,
        completed_at -> Nullable<Timestamp>,
        lapsed_at -> Nullable<Timestamp>,
        lapse_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// What no-show processing changed, so that it can be undone (R-NOSHOW-UNDO).
    appointment_no_shows (appointment_id) {
        appointment_id -> Text,
        tenant_id -> Text,
        original_consultation_type_id -> Text,
        original_status -> Text,
        original_completed_at -> Nullable<Timestamp>,
        replaced_procedures -> Text,
        call_request_id -> Nullable<Text>,
        completed -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Billable acts of appointments (`open` or `submitted`); refunds have negative amounts.
    procedures (id) {
        id -> Text,
        tenant_id -> Text,
        appointment_id -> Text,
        employee_id -> Text,
        consultation_type_id -> Text,
        kind -> Text,
        billing_code -> Nullable<Text>,
        amount_cents -> BigInt,
        status -> Text,
        performed_at -> Timestamp,
        reason -> Nullable<Text>,
        refund_of -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Scheduled appointment reminders (sent by the mail/SMS worker when due).
    reminders (id) {
        id -> Text,
        tenant_id -> Text,
        appointment_id -> Text,
        minutes_before -> Integer,
        channel -> Text,
        recipient -> Text,
        address -> Text,
        send_at -> Timestamp,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Requests to plan a consultation for an employee.
    call_requests (id) {
        id -> Text,
        tenant_id -> Text,
        employee_id -> Text,
        consultation_type_id -> Text,
        reason -> Nullable<Text>,
        deadline -> Nullable<Timestamp>,
        preferred_staff_id -> Nullable<Text>,
        preferred_location -> Nullable<Text>,
        status -> Text,
        appointment_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// When an agenda event happens, do an action (`action` is JSON).
    trigger_rules (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        event -> Text,
        action -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// To-do items, created by hand or by trigger rules.
    tasks (id) {
        id -> Text,
        tenant_id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        assignee_user_id -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        object_type -> Nullable<Text>,
        object_id -> Nullable<Text>,
        done -> Bool,
        trigger_rule_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// External outgoing mail servers (R-TLS; passwords sealed with the server key).
    mail_servers (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        kind -> Text,
        host -> Text,
        port -> Integer,
        tls -> Text,
        username -> Nullable<Text>,
        password -> Nullable<Text>,
        status -> Text,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Senders of a mail server, usable once verified (R-VERIFY; only a hash of the code).
    mail_senders (id) {
        id -> Text,
        tenant_id -> Text,
        server_id -> Text,
        name -> Text,
        address -> Text,
        address_key -> Text,
        verified_at -> Nullable<Timestamp>,
        code_hash -> Nullable<Text>,
        code_expires_at -> Nullable<Timestamp>,
        failed_tries -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Sending limits of a mail server: at most `max_messages` per `window_seconds`.
    mail_limits (id) {
        id -> Text,
        tenant_id -> Text,
        server_id -> Text,
        max_messages -> Integer,
        window_seconds -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Mail and document templates per code and culture (`''` = without culture).
    mail_templates (id) {
        id -> Text,
        tenant_id -> Text,
        code -> Text,
        culture -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Mail settings of a tenant (its default sender).
    mail_settings (tenant_id) {
        tenant_id -> Text,
        default_sender_id -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Rendered messages waiting for, or done with, the mail worker.
    mail_outbox (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        server_id -> Nullable<Text>,
        sender_id -> Nullable<Text>,
        from_name -> Nullable<Text>,
        from_address -> Text,
        to_email -> Text,
        to_name -> Nullable<Text>,
        culture -> Nullable<Text>,
        template_code -> Nullable<Text>,
        template_culture -> Nullable<Text>,
        subject -> Text,
        text_body -> Text,
        html_body -> Nullable<Text>,
        attachments -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        smtp_answer -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        next_attempt_at -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        lease -> Nullable<Text>,
    }
}

diesel::table! {
    /// Every send attempt of an outbox message (the limits count them).
    mail_attempts (id) {
        id -> Text,
        outbox_id -> Text,
        server_id -> Nullable<Text>,
        attempted_at -> Timestamp,
        outcome -> Text,
        smtp_answer -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Customer organisations of a tenant's helpdesk (municipalities, …).
    organisations (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        shared_email -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Customer contacts: users with the `customer` role, and the proof of their address (R-OWN).
    customer_contacts (user_id) {
        user_id -> Text,
        tenant_id -> Text,
        organisation_id -> Text,
        email -> Text,
        code_hash -> Nullable<Text>,
        code_expires_at -> Nullable<Timestamp>,
        code_attempts -> Integer,
        verified_at -> Nullable<Timestamp>,
        shared_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Helpdesk tickets.
    tickets (id) {
        id -> Text,
        tenant_id -> Text,
        number -> Text,
        channel -> Text,
        mailbox -> Nullable<Text>,
        subject -> Text,
        status -> Text,
        department -> Text,
        priority -> Text,
        disruption -> Bool,
        labels -> Text,
        reporter_email -> Text,
        reporter_name -> Nullable<Text>,
        reporter_language -> Text,
        cc_emails -> Text,
        organisation_id -> Nullable<Text>,
        software_version -> Nullable<Text>,
        environment -> Nullable<Text>,
        area -> Nullable<Text>,
        release_version -> Nullable<Text>,
        postponed_until -> Nullable<Timestamp>,
        tracking_code_hash -> Nullable<Text>,
        confirm_due -> Timestamp,
        first_response_due -> Timestamp,
        response_due -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        first_response_at -> Nullable<Timestamp>,
        last_customer_message_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Messages of a ticket (public or internal notes).
    ticket_messages (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        author_kind -> Text,
        author_id -> Nullable<Text>,
        author_email -> Nullable<Text>,
        author_name -> Nullable<Text>,
        visibility -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        message_id -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
        privacy_kinds -> Text,
        privacy_persons -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Attachments of a ticket; `storage_key` is null once the bytes are removed (R-PRIVACY).
    ticket_attachments (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        message_id -> Nullable<Text>,
        name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        storage_key -> Nullable<Text>,
        removed_reason -> Nullable<Text>,
        removed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Status, department and label changes of a ticket.
    ticket_history (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    /// Extra headers of an outbox message answering in a conversation (helpdesk replies):
    /// `Cc`, `In-Reply-To`, `References`.
    mail_outbox_headers (outbox_id) {
        outbox_id -> Text,
        cc -> Text,
        in_reply_to -> Nullable<Text>,
        reference_ids -> Nullable<Text>,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(api_accounts -> tenants (tenant_id));
diesel::joinable!(api_account_keys -> api_accounts (api_account_id));
diesel::joinable!(refresh_tokens -> api_accounts (api_account_id));
diesel::joinable!(webhook_deliveries -> webhook_receivers (receiver_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(availabilities -> staff (staff_id));
diesel::joinable!(appointments -> employees (employee_id));
diesel::joinable!(appointments -> staff (staff_id));
diesel::joinable!(appointments -> consultation_types (consultation_type_id));
diesel::joinable!(procedures -> appointments (appointment_id));
diesel::joinable!(reminders -> appointments (appointment_id));
diesel::joinable!(mail_senders -> mail_servers (server_id));
diesel::joinable!(mail_limits -> mail_servers (server_id));
diesel::joinable!(mail_attempts -> mail_outbox (outbox_id));
diesel::joinable!(customer_contacts -> organisations (organisation_id));
diesel::joinable!(customer_contacts -> users (user_id));
diesel::joinable!(tickets -> organisations (organisation_id));
diesel::joinable!(ticket_messages -> tickets (ticket_id));
diesel::joinable!(ticket_attachments -> tickets (ticket_id));
diesel::joinable!(ticket_attachments -> ticket_messages (message_id));
diesel::joinable!(ticket_history -> tickets (ticket_id));
diesel::joinable!(mail_outbox_headers -> mail_outbox (outbox_id));

diesel::allow_tables_to_appear_in_same_query!(
    idempotency_keys,
    outbox_events,
    tenants,
    users,
    api_accounts,
    api_account_keys,
    refresh_tokens,
    revoked_tokens,
    used_assertions,
    signing_keys,
    audit_events,
    webhook_receivers,
    webhook_deliveries,
    webhook_attempts,
    employees,
    staff,
    consultation_types,
    availabilities,
    product_parameters,
    appointments,
    appointment_no_shows,
    procedures,
    reminders,
    call_requests,
    trigger_rules,
    tasks,
    mail_servers,
    mail_senders,
    mail_limits,
    mail_templates,
    mail_settings,
    mail_outbox,
    mail_attempts,
    organisations,
    customer_contacts,
    tickets,
    ticket_messages,
    ticket_attachments,
    ticket_history,
    mail_outbox_headers,
);

diesel::table! {
    /// Releases of the product with their notes per culture (issue 9).
    releases (id) {
        id -> Text,
        tenant_id -> Text,
        version -> Text,
        kind -> Text,
        status -> Text,
        planned_date -> Nullable<Date>,
        delivered_at -> Nullable<Timestamp>,
        notes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Internal-discussion and functional-consultation meeting dates.
    helpdesk_meetings (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        starts_at -> Timestamp,
        title -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Components of the status page.
    status_components (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        state -> Text,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Incidents and maintenance windows of the status page.
    status_incidents (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        title -> Text,
        status -> Text,
        component_ids -> Text,
        scheduled_start -> Nullable<Timestamp>,
        scheduled_end -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Timeline updates of an incident.
    status_incident_updates (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        status -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Forum categories (hosted by one tenant, read by all).
    forum_categories (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        posting -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Forum topics.
    forum_topics (id) {
        id -> Text,
        category_id -> Text,
        tenant_id -> Text,
        author_kind -> Text,
        author_id -> Nullable<Text>,
        author_name -> Text,
        title -> Text,
        status -> Text,
        locked -> Bool,
        pinned -> Bool,
        answer_post_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Forum posts.
    forum_posts (id) {
        id -> Text,
        topic_id -> Text,
        tenant_id -> Text,
        author_kind -> Text,
        author_id -> Nullable<Text>,
        author_name -> Text,
        body -> Text,
        status -> Text,
        privacy_kinds -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(status_incident_updates -> status_incidents (incident_id));
diesel::joinable!(forum_topics -> forum_categories (category_id));
diesel::joinable!(forum_posts -> forum_topics (topic_id));

diesel::allow_tables_to_appear_in_same_query!(
    tickets,
    releases,
    helpdesk_meetings,
    status_components,
    status_incidents,
    status_incident_updates,
    forum_categories,
    forum_topics,
    forum_posts,
);
