-- +goose Up
-- Billing: each tenant's plan and subscription state, and the Stripe events
-- already applied. Both tables are platform-wide (the webhook finds a tenant
-- from its Stripe customer, the operator lists every tenant) and are reached
-- only through package billing. The tenant column is called billed_tenant,
-- not tenant_id, because these rows are not tenant-owned: no row-level
-- security applies to them.

-- Platform-wide: one row per tenant that has a billing history. A tenant
-- without a row is on its kind's default plan, in a trial counted from the
-- tenant's creation (see package billing).
CREATE TABLE billing_accounts (
    billed_tenant         uuid PRIMARY KEY REFERENCES tenants (id),
    plan                  text NOT NULL CHECK (plan IN ('community', 'practice', 'care_home', 'trust')),
    state                 text NOT NULL CHECK (state IN ('trialing', 'active', 'past_due', 'unpaid', 'cancelled')),
    trial_ends_at         timestamptz,
    past_due_since        timestamptz,
    current_period_end    timestamptz,
    cancel_at_period_end  boolean NOT NULL DEFAULT false,
    stripe_customer       text UNIQUE CHECK (stripe_customer ~ '^cus_[A-Za-z0-9_]+$'),
    stripe_subscription   text CHECK (stripe_subscription ~ '^sub_[A-Za-z0-9_]+$'),
    subscription_created  timestamptz,
    subscription_item     text,
    subscription_status   text NOT NULL DEFAULT '',
    -- Seats billed on a per-seat plan, and a counter that makes every seat
    -- update's idempotency key new.
    seats                 int NOT NULL DEFAULT 0 CHECK (seats >= 0),
    seat_sync_seq         bigint NOT NULL DEFAULT 0,
    last_event_id         text,
    last_event_type       text,
    last_event_at         timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX billing_accounts_state ON billing_accounts (state, plan);

-- Platform-wide: every Stripe event applied, stored in the same transaction
-- as its effect, so a replayed or duplicate delivery changes nothing.
CREATE TABLE billing_events (
    event_id      text PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9_]+$'),
    event_type    text NOT NULL,
    billed_tenant uuid REFERENCES tenants (id),
    received_at   timestamptz NOT NULL
);
CREATE INDEX billing_events_tenant ON billing_events (billed_tenant, received_at);

-- Tenants that existed before billing start a trial of their kind's plan
-- from today; carers' charities start on the free community plan.
INSERT INTO billing_accounts (billed_tenant, plan, state, trial_ends_at, created_at, updated_at)
SELECT id,
       CASE kind WHEN 'carers_charity' THEN 'community' WHEN 'gp_practice' THEN 'practice'
                 WHEN 'care_home' THEN 'care_home' ELSE 'trust' END,
       CASE kind WHEN 'carers_charity' THEN 'active' ELSE 'trialing' END,
       CASE kind WHEN 'carers_charity' THEN NULL ELSE now() + interval '30 days' END,
       now(), now()
FROM tenants;

-- The server's role: accounts are created and updated, never deleted;
-- events are only ever added.
GRANT SELECT, INSERT ON billing_accounts TO carepass_app;
GRANT UPDATE (plan, state, trial_ends_at, past_due_since, current_period_end, cancel_at_period_end,
              stripe_customer, stripe_subscription, subscription_created, subscription_item, subscription_status,
              seats, seat_sync_seq, last_event_id, last_event_type, last_event_at, updated_at)
    ON billing_accounts TO carepass_app;
GRANT SELECT, INSERT ON billing_events TO carepass_app;

-- +goose Down
DROP TABLE billing_events, billing_accounts;
