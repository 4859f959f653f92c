-- +goose Up
-- Foundation: tenants, accounts, sessions, memberships, role policies, audit.
--
-- Conventions (docs/architecture.md): every tenant-owned table has
-- tenant_id uuid NOT NULL, PRIMARY KEY (tenant_id, id), foreign keys that
-- include tenant_id, ENABLE + FORCE ROW LEVEL SECURITY and the policy
-- tenant_isolation. The server connects as carepass_app, which owns nothing
-- and cannot bypass RLS; this file runs as the owner role.

-- Platform-wide: the organisations themselves.
CREATE TABLE tenants (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{1,46}[a-z0-9])$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    kind       text NOT NULL CHECK (kind IN ('paediatric_trust', 'care_home', 'gp_practice', 'carers_charity')),
    ods_code   text CHECK (ods_code ~ '^[A-Z0-9]{3,10}$'),
    region     text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Platform-wide: a person's sign-in identity, shared by every tenant they belong to.
CREATE TABLE accounts (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name                text NOT NULL DEFAULT '',
    password_hash       text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    password_changed_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_lower ON accounts (lower(email));

-- Platform-wide: sessions. Only the SHA-256 of the token is stored.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    client_ip    text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE revoked_at IS NULL;

-- Platform-wide: sign-in throttling counters, per account and per client address.
CREATE TABLE signin_throttle (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL DEFAULT 0
);

-- Platform-wide: casbin rules. Domain is v1 for p rules and v2 for g rules;
-- reached only through package policy.
CREATE TABLE casbin_rule (
    id    bigserial PRIMARY KEY,
    ptype text NOT NULL,
    v0    text NOT NULL DEFAULT '',
    v1    text NOT NULL DEFAULT '',
    v2    text NOT NULL DEFAULT '',
    v3    text NOT NULL DEFAULT '',
    v4    text NOT NULL DEFAULT '',
    v5    text NOT NULL DEFAULT '',
    CONSTRAINT casbin_rule_unique UNIQUE (ptype, v0, v1, v2, v3, v4, v5)
);
CREATE INDEX casbin_rule_p_dom ON casbin_rule (ptype, v1);
CREATE INDEX casbin_rule_g_dom ON casbin_rule (ptype, v2);

CREATE TABLE policy_versions (
    domain     text PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Platform-wide: hash-chained audit of platform actions (sign-ins, operator work).
CREATE TABLE platform_audit_events (
    seq         bigint PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    occurred_at timestamptz NOT NULL,
    actor_id    uuid,
    actor_label text NOT NULL DEFAULT '',
    action      text NOT NULL,
    object_type text NOT NULL DEFAULT '',
    object_id   text NOT NULL DEFAULT '',
    client_ip   text NOT NULL DEFAULT '',
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail      jsonb NOT NULL DEFAULT '{}',
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL
);

-- Tenant-owned: an account's membership of a tenant. Roles live in casbin_rule.
CREATE TABLE memberships (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    account_id uuid NOT NULL REFERENCES accounts (id),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

-- Tenant-owned: named roles. Template roles come from the kind's templates
-- and are read-only; tenant-defined roles may be edited.
CREATE TABLE roles (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    key          text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{1,40}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
    description  text NOT NULL DEFAULT '',
    template_key text NOT NULL DEFAULT '',
    editable     boolean NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key)
);

-- Tenant-owned: invitations to join a tenant. Only the token's hash is stored.
CREATE TABLE invitations (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    email       text NOT NULL,
    role_key    text NOT NULL,
    token_hash  bytea NOT NULL,
    invited_by  uuid REFERENCES accounts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, role_key) REFERENCES roles (tenant_id, key)
);

-- Tenant-owned: people with a passport, as a tenant knows them.
CREATE TABLE holders (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    given_name    text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name   text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    date_of_birth date,
    email         text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    role_in_care  text NOT NULL CHECK (role_in_care IN ('parent', 'unpaid_carer', 'paid_carer', 'staff', 'trainer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX holders_name ON holders (tenant_id, lower(family_name), lower(given_name));

-- Tenant-owned: hash-chained audit of everything done in a tenant.
CREATE TABLE audit_events (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    seq         bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor_id    uuid,
    actor_label text NOT NULL DEFAULT '',
    action      text NOT NULL,
    object_type text NOT NULL DEFAULT '',
    object_id   text NOT NULL DEFAULT '',
    client_ip   text NOT NULL DEFAULT '',
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail      jsonb NOT NULL DEFAULT '{}',
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, seq)
);

-- Row-level security on every tenant-owned table.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- Outside any tenant scope, an account may list its own memberships in every
-- tenant (for the tenant switcher); read-only, limited to the acting
-- account's own rows, and never widening what a tenant-scoped transaction sees.
CREATE POLICY own_memberships ON memberships FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND account_id = NULLIF(current_setting('app.account_id', true), '')::uuid);

ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roles
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE holders ENABLE ROW LEVEL SECURITY;
ALTER TABLE holders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON holders
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The server's role: full use of ordinary tables, insert-only audit.
GRANT SELECT, INSERT, UPDATE ON tenants, accounts TO carepass_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, signin_throttle, casbin_rule, policy_versions TO carepass_app;
GRANT USAGE ON SEQUENCE casbin_rule_id_seq TO carepass_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships, roles, invitations, holders TO carepass_app;
GRANT SELECT, INSERT ON audit_events, platform_audit_events TO carepass_app;

-- +goose Down
DROP TABLE audit_events, holders, invitations, roles, memberships,
    platform_audit_events, policy_versions, casbin_rule, signin_throttle,
    sessions, accounts, tenants;
