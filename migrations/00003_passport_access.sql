-- +goose Up
-- Who may read a passport beyond its own tenant, as row-level policies:
-- the holder (outside any tenant scope, through their claimed account), and a
-- tenant holding the person's live share (signed-off competencies only).

-- +goose StatementBegin
CREATE FUNCTION app_own_persons() RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
    SELECT id FROM persons
    WHERE NULLIF(current_setting('app.tenant_id', true), '') IS NULL
      AND account_id = NULLIF(current_setting('app.account_id', true), '')::uuid
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION app_shared_persons() RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
    SELECT person_id FROM passport_shares
    WHERE grantee_tenant = NULLIF(current_setting('app.tenant_id', true), '')::uuid
      AND revoked_at IS NULL AND redeemed_at IS NOT NULL AND expires_at > now()
$$;
-- +goose StatementEnd

CREATE POLICY own_passport ON holders FOR SELECT
    USING (person_id IN (SELECT app_own_persons()));
CREATE POLICY own_passport ON competency_records FOR SELECT
    USING (person_id IN (SELECT app_own_persons()));
CREATE POLICY shared_passport ON competency_records FOR SELECT
    USING (state = 'competent' AND person_id IN (SELECT app_shared_persons()));
CREATE POLICY own_passport ON record_events FOR SELECT
    USING (EXISTS (SELECT 1 FROM competency_records r
                   WHERE r.tenant_id = record_events.tenant_id AND r.id = record_events.record_id
                     AND r.person_id IN (SELECT app_own_persons())));
-- Competency specifications and catalogue versions behind any record the
-- reader may see (their own, or shared with their tenant).
CREATE POLICY passport_specs ON competencies FOR SELECT
    USING (EXISTS (SELECT 1 FROM competency_records r
                   WHERE r.tenant_id = competencies.tenant_id AND r.competency_id = competencies.id
                     AND (r.person_id IN (SELECT app_own_persons())
                          OR (r.state = 'competent' AND r.person_id IN (SELECT app_shared_persons())))));
CREATE POLICY passport_specs ON catalogues FOR SELECT
    USING (EXISTS (SELECT 1 FROM competencies c
                   WHERE c.tenant_id = catalogues.tenant_id AND c.catalogue_id = catalogues.id));

-- +goose Down
DROP POLICY passport_specs ON catalogues;
DROP POLICY passport_specs ON competencies;
DROP POLICY own_passport ON record_events;
DROP POLICY shared_passport ON competency_records;
DROP POLICY own_passport ON competency_records;
DROP POLICY own_passport ON holders;
DROP FUNCTION app_shared_persons();
DROP FUNCTION app_own_persons();
