-- +goose Up
-- Verifiable credentials for skills: a signed-off competency that its holder
-- exported as an Open Badges 3.0 credential, signed by the issuing tenant's
-- key, with its position in that tenant's revocation status list.

-- Tenant-owned: one exported credential. The compact JWT is kept as signed,
-- so the holder can download the same credential again; revoked mirrors the
-- credential's status bit (set while the competency is revoked, suspended,
-- not yet competent or expired; cleared when it is current again).
CREATE TABLE badges (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    record_id    uuid NOT NULL,
    person_id    uuid NOT NULL REFERENCES persons (id),
    status_index int NOT NULL CHECK (status_index >= 0),
    kid          text NOT NULL,
    issued_at    timestamptz NOT NULL,
    valid_from   timestamptz NOT NULL,
    valid_until  timestamptz,
    revoked      boolean NOT NULL DEFAULT false,
    revoked_at   timestamptz,
    jwt          text NOT NULL CHECK (length(jwt) BETWEEN 1 AND 16384),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, status_index),
    FOREIGN KEY (tenant_id, record_id) REFERENCES competency_records (tenant_id, id),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK (revoked = (revoked_at IS NOT NULL))
);
CREATE INDEX badges_record ON badges (tenant_id, record_id);
CREATE INDEX badges_person ON badges (person_id);
CREATE INDEX badges_expiring ON badges (tenant_id, valid_until) WHERE NOT revoked AND valid_until IS NOT NULL;

ALTER TABLE badges ENABLE ROW LEVEL SECURITY;
ALTER TABLE badges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON badges
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- The holder, outside any tenant scope, reads their own credentials...
CREATE POLICY own_passport ON badges FOR SELECT
    USING (person_id IN (SELECT app_own_persons()));
-- ...and exports a competency of their own that is signed off.
CREATE POLICY own_badge_issue ON badges FOR INSERT
    WITH CHECK (person_id IN (SELECT app_own_persons())
                AND EXISTS (SELECT 1 FROM competency_records r
                            WHERE r.tenant_id = badges.tenant_id AND r.id = badges.record_id
                              AND r.person_id = badges.person_id AND r.state = 'competent'));

GRANT SELECT, INSERT ON badges TO carepass_app;
GRANT UPDATE (revoked, revoked_at) ON badges TO carepass_app;

-- +goose Down
DROP TABLE badges;
