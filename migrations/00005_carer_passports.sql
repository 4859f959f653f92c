-- +goose Up
-- Carer passports: the schemes a tenant issues them under, the passports and
-- their history; the issuers' signing keys and revocation status lists that
-- the platform publishes; and the log of every verification.

-- Tenant-owned: a scheme a tenant issues carer passports under, with its
-- offer of support.
CREATE TABLE schemes (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    audience         text NOT NULL CHECK (audience IN ('adult_carer', 'young_carer', 'parent_carer')),
    eligibility      text NOT NULL DEFAULT '',
    benefits         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(benefits) = 'array'),
    validity_kind    text NOT NULL CHECK (validity_kind IN ('days', 'until_date', 'until_discharge')),
    validity_days    int CHECK (validity_days BETWEEN 1 AND 3660),
    valid_until_date date,
    consent_required boolean NOT NULL DEFAULT true,
    renewable        boolean NOT NULL DEFAULT true,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (validity_kind <> 'days' OR validity_days IS NOT NULL),
    CHECK (validity_kind <> 'until_date' OR valid_until_date IS NOT NULL)
);
CREATE UNIQUE INDEX schemes_name ON schemes (tenant_id, lower(name));

-- Tenant-owned: a carer passport. What a verifier may see (holder's display
-- name, scheme, benefits, validity) is copied at issue, as printed on the
-- card; the cared-for person's details never leave the tenant.
CREATE TABLE carer_passports (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    holder_id        uuid NOT NULL,
    person_id        uuid NOT NULL REFERENCES persons (id),
    scheme_id        uuid NOT NULL,
    -- The passport code, canonical form; unique across the platform because
    -- a verifier looks it up without knowing the issuer.
    code             text NOT NULL UNIQUE,
    holder_name      text NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 200),
    scheme_name      text NOT NULL,
    benefits         jsonb NOT NULL DEFAULT '[]',
    cared_for_name   text NOT NULL CHECK (length(cared_for_name) BETWEEN 1 AND 200),
    relationship     text NOT NULL CHECK (length(relationship) BETWEEN 1 AND 100),
    health_details   text NOT NULL DEFAULT '',
    consent_given_by text NOT NULL DEFAULT '',
    consent_method   text NOT NULL DEFAULT '' CHECK (consent_method IN ('', 'in_person', 'written', 'phone', 'not_required')),
    consent_at       timestamptz,
    stay_reference   text NOT NULL DEFAULT '',
    valid_from       timestamptz NOT NULL,
    valid_until      timestamptz NOT NULL,
    state            text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'revoked')),
    revoked_reason   text NOT NULL DEFAULT '' CHECK (revoked_reason IN ('', 'consent_withdrawn', 'no_longer_caring',
                         'cared_for_died', 'issued_in_error', 'replaced')),
    status_index     int NOT NULL,
    kid              text NOT NULL,
    qr               text NOT NULL,
    replaces         uuid,
    renewal_requested_at timestamptz,
    issued_by        uuid REFERENCES accounts (id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, status_index),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES schemes (tenant_id, id),
    CHECK (valid_until > valid_from),
    CHECK ((state = 'revoked') = (revoked_reason <> ''))
);
CREATE INDEX carer_passports_holder ON carer_passports (tenant_id, holder_id);
CREATE INDEX carer_passports_person ON carer_passports (person_id);
CREATE INDEX carer_passports_name ON carer_passports (tenant_id, lower(holder_name));
CREATE INDEX carer_passports_due ON carer_passports (tenant_id, valid_until) WHERE state = 'active';

-- Tenant-owned: everything that happened to a passport, in order.
CREATE TABLE carer_passport_events (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    passport_id uuid NOT NULL,
    at          timestamptz NOT NULL,
    action      text NOT NULL CHECK (action IN ('issued', 'renewed', 'suspended', 'resumed', 'revoked',
                    'reissued', 'stay_ended', 'renewal_requested')),
    by_account  uuid REFERENCES accounts (id),
    reason      text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    valid_until timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, passport_id) REFERENCES carer_passports (tenant_id, id)
);
CREATE INDEX carer_passport_events_passport ON carer_passport_events (tenant_id, passport_id, at);

ALTER TABLE schemes ENABLE ROW LEVEL SECURITY;
ALTER TABLE schemes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON schemes
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE carer_passports ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_passports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON carer_passports
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- The holder reads their own passports, outside any tenant scope.
CREATE POLICY own_passport ON carer_passports FOR SELECT
    USING (person_id IN (SELECT app_own_persons()));
-- A holder may ask for renewal of their own passport; the service changes
-- nothing but renewal_requested_at in that transaction.
CREATE POLICY own_renewal ON carer_passports FOR UPDATE
    USING (person_id IN (SELECT app_own_persons()))
    WITH CHECK (person_id IN (SELECT app_own_persons()));
-- Public verification: outside any tenant scope, the one passport whose code
-- (typed) or id (from a QR code whose signature has verified) the
-- transaction names in app.verify_code or app.verify_id.
CREATE POLICY verify_one ON carer_passports FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND (code = NULLIF(current_setting('app.verify_code', true), '')
                OR id = NULLIF(current_setting('app.verify_id', true), '')::uuid));

ALTER TABLE carer_passport_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_passport_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON carer_passport_events
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY own_passport ON carer_passport_events FOR SELECT
    USING (EXISTS (SELECT 1 FROM carer_passports p
                   WHERE p.tenant_id = carer_passport_events.tenant_id AND p.id = carer_passport_events.passport_id
                     AND p.person_id IN (SELECT app_own_persons())));
CREATE POLICY own_renewal ON carer_passport_events FOR INSERT
    WITH CHECK (action = 'renewal_requested' AND EXISTS (SELECT 1 FROM carer_passports p
                   WHERE p.tenant_id = carer_passport_events.tenant_id AND p.id = carer_passport_events.passport_id
                     AND p.person_id IN (SELECT app_own_persons())));

-- Platform-wide: issuers' Ed25519 keys, the private half sealed with the
-- server key. Public halves are published; reached only through package issuer.
CREATE TABLE issuer_keys (
    issuer_tenant  uuid NOT NULL REFERENCES tenants (id),
    kid            text NOT NULL,
    public_key     bytea NOT NULL CHECK (length(public_key) = 32),
    sealed_private bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    retired_at     timestamptz,
    PRIMARY KEY (issuer_tenant, kid)
);
CREATE UNIQUE INDEX issuer_keys_current ON issuer_keys (issuer_tenant) WHERE retired_at IS NULL;

-- Platform-wide: each issuer's revocation bitstring (bit i, most significant
-- first, set when the credential at index i is revoked or suspended), and the
-- positions handed out, each once.
CREATE TABLE status_lists (
    issuer_tenant uuid PRIMARY KEY REFERENCES tenants (id),
    size          int NOT NULL CHECK (size >= 131072 AND size % 8 = 0),
    bits          bytea NOT NULL,
    updated_at    timestamptz NOT NULL,
    CHECK (length(bits) * 8 = size)
);
CREATE TABLE status_entries (
    issuer_tenant uuid NOT NULL REFERENCES status_lists (issuer_tenant),
    idx           int NOT NULL CHECK (idx >= 0),
    kind          text NOT NULL CHECK (kind IN ('carer_passport', 'badge')),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (issuer_tenant, idx)
);

-- Platform-wide: every verification of a passport, found or not. A check by
-- an anonymous member of the public has no verifier tenant; a code that
-- matched nothing has no passport.
CREATE TABLE passport_checks (
    id              uuid PRIMARY KEY,
    at              timestamptz NOT NULL,
    passport_tenant uuid REFERENCES tenants (id),
    passport_id     uuid,
    verifier_tenant uuid REFERENCES tenants (id),
    channel         text NOT NULL CHECK (channel IN ('code', 'qr', 'link', 'api')),
    outcome         text NOT NULL CHECK (outcome IN ('confirmed', 'not_confirmed'))
);
CREATE INDEX passport_checks_passport ON passport_checks (passport_tenant, passport_id, at) WHERE passport_id IS NOT NULL;
CREATE INDEX passport_checks_at ON passport_checks (at);

GRANT SELECT, INSERT, UPDATE ON schemes TO carepass_app;
GRANT SELECT, INSERT, UPDATE ON carer_passports TO carepass_app;
GRANT SELECT, INSERT ON carer_passport_events TO carepass_app;
GRANT SELECT, INSERT ON issuer_keys TO carepass_app;
GRANT UPDATE (retired_at) ON issuer_keys TO carepass_app;
GRANT SELECT, INSERT ON status_lists, status_entries, passport_checks TO carepass_app;
GRANT UPDATE (bits, updated_at) ON status_lists TO carepass_app;

-- +goose Down
DROP TABLE passport_checks, status_entries, status_lists, issuer_keys,
    carer_passport_events, carer_passports, schemes;
