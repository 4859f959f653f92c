-- +goose Up
-- Notifications: what a person is told in the app (training bookings,
-- reminders), the reminders already sent (so each is sent at most once,
-- ever), and each person's or account's choice about reminder emails.

-- Tenant-owned: one notification for a person, shown on their own pages.
-- The tenant's transaction writes it; the person reads it outside any
-- tenant scope, through their claimed account, and marks it read.
CREATE TABLE notifications (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    person_id  uuid NOT NULL REFERENCES persons (id),
    kind       text NOT NULL CHECK (kind IN ('booked', 'waiting', 'promoted', 'cancelled', 'session_cancelled',
                   'session_tomorrow', 'competency_expiring', 'competency_expired')),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    link       text NOT NULL DEFAULT '' CHECK (link = '' OR link LIKE '/%'),
    created_at timestamptz NOT NULL,
    read_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX notifications_person ON notifications (person_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (person_id) WHERE read_at IS NULL;

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- Outside any tenant scope, a person reads their own notifications, in
-- every tenant, and marks them read; app_own_persons() is empty inside a
-- tenant scope, so this never widens a tenant's transaction.
CREATE POLICY own_notifications ON notifications FOR SELECT
    USING (person_id IN (SELECT app_own_persons()));
CREATE POLICY own_notifications_read ON notifications FOR UPDATE
    USING (person_id IN (SELECT app_own_persons()))
    WITH CHECK (person_id IN (SELECT app_own_persons()));

GRANT SELECT, INSERT ON notifications TO carepass_app;
GRANT UPDATE (read_at) ON notifications TO carepass_app;

-- Tenant-owned: a reminder claimed for sending, inserted in the same
-- transaction as its job. The unique key makes each reminder once ever: one
-- per holder, reason, subject (a booking, a competency record), offset in
-- days and due date (a session's date, a record's expiry date, so a renewed
-- record is reminded about again).
CREATE TABLE notification_sends (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    holder_id   uuid NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('session_tomorrow', 'competency_expiry')),
    subject_id  uuid NOT NULL,
    offset_days int NOT NULL CHECK (offset_days BETWEEN 0 AND 3660),
    due_on      date NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, holder_id, reason, subject_id, offset_days, due_on),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id)
);

ALTER TABLE notification_sends ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_sends FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_sends
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT ON notification_sends TO carepass_app;

-- Platform-wide: whether a person (a holder, whatever tenants enrol them)
-- or an account (a manager) gets reminder emails. No row: they do.
-- Essential emails (booking confirmations, cancellations) ignore it.
-- Reached only through package notify, by a signed link in each email.
CREATE TABLE mail_preferences (
    id         uuid PRIMARY KEY,
    person_id  uuid UNIQUE REFERENCES persons (id),
    account_id uuid UNIQUE REFERENCES accounts (id),
    reminders  boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (num_nonnulls(person_id, account_id) = 1)
);

GRANT SELECT, INSERT, UPDATE ON mail_preferences TO carepass_app;

-- +goose Down
DROP TABLE mail_preferences, notification_sends, notifications;
