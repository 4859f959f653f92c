-- +goose Up
-- Holders claiming their passport, and what they may see of it beyond one
-- tenant: claim links (tenant-owned, single use, hashed), who viewed their
-- passport (their own enrolments' read events, outside any tenant scope),
-- and which tenant granted a share (so only it, or the holder, may revoke it).

-- Tenant-owned: an invitation for a holder to claim an account. Only the
-- SHA-256 of the link's token is stored; the token is shown once.
CREATE TABLE holder_claims (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    holder_id  uuid NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    claimed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id)
);
CREATE INDEX holder_claims_holder ON holder_claims (tenant_id, holder_id);

ALTER TABLE holder_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE holder_claims FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON holder_claims
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON holder_claims TO carepass_app;

-- Platform-wide: the tenant that granted a share on the holder's behalf
-- (NULL when the holder granted it themselves).
ALTER TABLE passport_shares ADD COLUMN granting_tenant uuid REFERENCES tenants (id);
CREATE INDEX passport_shares_person ON passport_shares (person_id);
CREATE INDEX passport_shares_granting ON passport_shares (granting_tenant, person_id) WHERE granting_tenant IS NOT NULL;

-- Who viewed my passport: outside any tenant scope, an account may read the
-- audit events (of any tenant) about its own person's enrolments and about
-- the shares of its passport. Inside a tenant scope the first condition is
-- false, so this never widens what a tenant-scoped transaction sees.
CREATE INDEX audit_events_object ON audit_events (object_type, object_id);
CREATE POLICY own_passport_views ON audit_events FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND ((object_type = 'holder'
                 AND (tenant_id, object_id) IN (SELECT h.tenant_id, h.id::text FROM holders h
                                                WHERE h.person_id IN (SELECT app_own_persons())))
             OR (object_type = 'share'
                 AND object_id IN (SELECT s.id::text FROM passport_shares s
                                   WHERE s.person_id IN (SELECT app_own_persons())))));

-- +goose Down
DROP POLICY own_passport_views ON audit_events;
DROP INDEX audit_events_object;
DROP INDEX passport_shares_granting;
DROP INDEX passport_shares_person;
ALTER TABLE passport_shares DROP COLUMN granting_tenant;
DROP TABLE holder_claims;
