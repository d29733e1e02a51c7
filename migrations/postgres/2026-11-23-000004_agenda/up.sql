-- The agenda (DOMAIN.md "Agenda", seed 000 §3.1): employees, staff and their availabilities,
-- consultation types, product parameters, appointments with their no-show records, procedures
-- and reminders, call requests, trigger rules and tasks. Ids are UUID text, times UTC, money in
-- cents.

CREATE TABLE employees (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    date_of_birth DATE,
    employer TEXT,
    department TEXT,
    private_email TEXT,
    work_email TEXT,
    private_mobile TEXT,
    work_mobile TEXT,
    language TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX employees_tenant ON employees (tenant_id, id);

CREATE TABLE staff (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    email TEXT,
    mobile TEXT,
    active BOOLEAN NOT NULL,
    booking_version BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_tenant ON staff (tenant_id, id);

CREATE TABLE consultation_types (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    is_no_show BOOLEAN NOT NULL,
    requires_contact BOOLEAN NOT NULL,
    default_reminders TEXT NOT NULL,
    billing_code TEXT,
    amount_cents BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX consultation_types_tenant ON consultation_types (tenant_id, id);

CREATE TABLE availabilities (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    location TEXT,
    consultation_type_ids TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX availabilities_staff ON availabilities (tenant_id, staff_id, starts_at);
CREATE INDEX availabilities_range ON availabilities (tenant_id, ends_at);

CREATE TABLE product_parameters (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    code TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    employee_id TEXT NOT NULL REFERENCES employees (id),
    staff_id TEXT NOT NULL REFERENCES staff (id),
    consultation_type_id TEXT NOT NULL REFERENCES consultation_types (id),
    call_request_id TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    location TEXT,
    notes TEXT,
    concept BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    completed_at TIMESTAMP,
    lapsed_at TIMESTAMP,
    lapse_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX appointments_staff_time ON appointments (tenant_id, staff_id, starts_at);
CREATE INDEX appointments_time ON appointments (tenant_id, starts_at);
CREATE INDEX appointments_employee ON appointments (tenant_id, employee_id);

CREATE TABLE appointment_no_shows (
    appointment_id TEXT PRIMARY KEY NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    original_consultation_type_id TEXT NOT NULL,
    original_status TEXT NOT NULL,
    original_completed_at TIMESTAMP,
    replaced_procedures TEXT NOT NULL,
    call_request_id TEXT,
    completed BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE procedures (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    appointment_id TEXT NOT NULL REFERENCES appointments (id),
    employee_id TEXT NOT NULL,
    consultation_type_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    billing_code TEXT,
    amount_cents BIGINT NOT NULL,
    status TEXT NOT NULL,
    performed_at TIMESTAMP NOT NULL,
    reason TEXT,
    refund_of TEXT,
    submitted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX procedures_tenant ON procedures (tenant_id, id);
CREATE INDEX procedures_appointment ON procedures (appointment_id);

CREATE TABLE reminders (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    minutes_before INTEGER NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    send_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX reminders_appointment ON reminders (appointment_id);
CREATE INDEX reminders_due ON reminders (status, send_at);

CREATE TABLE call_requests (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    employee_id TEXT NOT NULL REFERENCES employees (id),
    consultation_type_id TEXT NOT NULL REFERENCES consultation_types (id),
    reason TEXT,
    deadline TIMESTAMP,
    preferred_staff_id TEXT,
    preferred_location TEXT,
    status TEXT NOT NULL,
    appointment_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX call_requests_tenant ON call_requests (tenant_id, id);

CREATE TABLE trigger_rules (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    event TEXT NOT NULL,
    action TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX trigger_rules_event ON trigger_rules (tenant_id, event);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    title TEXT NOT NULL,
    description TEXT,
    assignee_user_id TEXT,
    due_at TIMESTAMP,
    object_type TEXT,
    object_id TEXT,
    done BOOLEAN NOT NULL,
    trigger_rule_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tasks_tenant ON tasks (tenant_id, id);
