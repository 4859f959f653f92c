-- +goose Up
-- Discharge planning (careplan) and care settings (setting) are new
-- permissions. Trusts provisioned before them get them on the roles made from
-- the templates that now carry them, as a new trust would; roles an
-- administrator made themselves are left for the administrator to decide.
-- Row-level security is forced on the owner too, so each trust's roles are
-- read in its own scope.
-- +goose StatementBegin
DO $$
DECLARE
    t record;
    n bigint;
BEGIN
    FOR t IN SELECT id FROM tenants WHERE kind = 'paediatric_trust' LOOP
        PERFORM set_config('app.tenant_id', t.id::text, true);
        WITH grants (template_key, object, action) AS (
            VALUES ('tenant_admin', 'careplan', 'read'), ('tenant_admin', 'careplan', 'write'),
                   ('tenant_admin', 'setting', 'read'), ('tenant_admin', 'setting', 'write'),
                   ('practice_educator', 'careplan', 'read'), ('practice_educator', 'careplan', 'write'),
                   ('practice_educator', 'setting', 'read'), ('practice_educator', 'setting', 'write'),
                   ('ward_staff', 'careplan', 'read'), ('ward_staff', 'setting', 'read'),
                   ('discharge_coordinator', 'careplan', 'read'), ('discharge_coordinator', 'careplan', 'write'),
                   ('discharge_coordinator', 'setting', 'read')
        ), added AS (
            INSERT INTO casbin_rule (ptype, v0, v1, v2, v3)
            SELECT 'p', r.key, t.id::text, g.object, g.action
            FROM roles r JOIN grants g ON g.template_key = r.template_key
            WHERE r.tenant_id = t.id
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) INTO n FROM added;
        IF n > 0 THEN
            INSERT INTO policy_versions AS pv (domain, version, updated_at) VALUES (t.id::text, 1, now())
            ON CONFLICT (domain) DO UPDATE SET version = pv.version + 1, updated_at = now();
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
-- +goose StatementEnd

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v2 IN ('careplan', 'setting');
