-- +goose Up
-- Skills passports: the standard competency library, tenant catalogues,
-- holders as one person across tenants, cared-for people, competency records
-- with their history, and consented shares between care settings.

-- Platform-wide: the standard library, loaded from migrations/library by
-- migrations.Up. A published standard catalogue version never changes.
CREATE TABLE std_catalogues (
    id           uuid PRIMARY KEY,
    code         text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9]{1,9}$'),
    version      integer NOT NULL CHECK (version > 0),
    title        text NOT NULL,
    description  text NOT NULL,
    content_hash text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (code, version)
);

CREATE TABLE std_competencies (
    id                      uuid PRIMARY KEY,
    catalogue_id            uuid NOT NULL REFERENCES std_catalogues (id),
    code                    text NOT NULL,
    title                   text NOT NULL,
    kind                    text NOT NULL CHECK (kind IN ('skill', 'assessor', 'trainer')),
    description             text NOT NULL,
    tier                    text NOT NULL CHECK (tier IN ('core', 'additional', 'specialist')),
    key_elements            jsonb NOT NULL,
    specificity             text NOT NULL CHECK (specificity IN ('general', 'equipment', 'person')),
    prescription_parameters jsonb NOT NULL DEFAULT '[]',
    training_formats        jsonb NOT NULL,
    assessment_method       text NOT NULL,
    signoff_by              jsonb NOT NULL,
    supervised_practices    integer NOT NULL CHECK (supervised_practices BETWEEN 0 AND 20),
    reassess_months         integer NOT NULL CHECK (reassess_months BETWEEN 1 AND 120),
    review_date             date NOT NULL,
    covers                  jsonb NOT NULL DEFAULT '[]',
    UNIQUE (catalogue_id, code)
);

-- Tenant-owned: a tenant's catalogue, one row per version. Published
-- versions are immutable (trigger below); editing means a new version.
CREATE TABLE catalogues (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    key              text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$'),
    version          integer NOT NULL CHECK (version > 0),
    title            text NOT NULL CHECK (length(title) BETWEEN 2 AND 120),
    description      text NOT NULL DEFAULT '',
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'retired')),
    std_catalogue_id uuid REFERENCES std_catalogues (id),
    created_by       uuid REFERENCES accounts (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    retired_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key, version)
);
-- At most one draft per catalogue key.
CREATE UNIQUE INDEX catalogues_one_draft ON catalogues (tenant_id, key) WHERE status = 'draft';

CREATE TABLE competencies (
    tenant_id               uuid NOT NULL REFERENCES tenants (id),
    id                      uuid NOT NULL,
    catalogue_id            uuid NOT NULL,
    code                    text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{1,23}$'),
    title                   text NOT NULL CHECK (length(title) BETWEEN 2 AND 160),
    kind                    text NOT NULL CHECK (kind IN ('skill', 'assessor', 'trainer')),
    description             text NOT NULL,
    tier                    text NOT NULL CHECK (tier IN ('core', 'additional', 'specialist')),
    key_elements            jsonb NOT NULL,
    specificity             text NOT NULL CHECK (specificity IN ('general', 'equipment', 'person')),
    prescription_parameters jsonb NOT NULL DEFAULT '[]',
    training_formats        jsonb NOT NULL,
    assessment_method       text NOT NULL,
    signoff_by              jsonb NOT NULL,
    supervised_practices    integer NOT NULL CHECK (supervised_practices BETWEEN 0 AND 20),
    reassess_months         integer NOT NULL CHECK (reassess_months BETWEEN 1 AND 120),
    review_date             date NOT NULL,
    covers                  jsonb NOT NULL DEFAULT '[]',
    std_competency_id       uuid REFERENCES std_competencies (id),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, catalogue_id, code),
    FOREIGN KEY (tenant_id, catalogue_id) REFERENCES catalogues (tenant_id, id)
);
CREATE INDEX competencies_std ON competencies (tenant_id, std_competency_id);

-- +goose StatementBegin
CREATE FUNCTION catalogue_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    IF TG_TABLE_NAME = 'catalogues' THEN
        IF OLD.status = 'draft' THEN
            RETURN COALESCE(NEW, OLD);
        END IF;
        -- A published version may only be retired; nothing else changes.
        IF TG_OP = 'UPDATE' AND OLD.status = 'published' AND NEW.status = 'retired'
           AND (to_jsonb(NEW) - 'status' - 'retired_at') = (to_jsonb(OLD) - 'status' - 'retired_at') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'catalogue version % is %, and cannot be changed', OLD.version, OLD.status
            USING ERRCODE = 'P0001', HINT = 'catalogue_immutable';
    END IF;
    SELECT status INTO st FROM catalogues
        WHERE tenant_id = COALESCE(NEW.tenant_id, OLD.tenant_id) AND id = COALESCE(NEW.catalogue_id, OLD.catalogue_id);
    -- A catalogue this transaction cannot see is left to row-level security
    -- and the foreign key to refuse.
    IF st IS NOT NULL AND st <> 'draft' THEN
        RAISE EXCEPTION 'competencies of a % catalogue version cannot be changed', st
            USING ERRCODE = 'P0001', HINT = 'catalogue_immutable';
    END IF;
    RETURN COALESCE(NEW, OLD);
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER catalogues_immutable BEFORE UPDATE OR DELETE ON catalogues
    FOR EACH ROW EXECUTE FUNCTION catalogue_immutable();
CREATE TRIGGER competencies_immutable BEFORE INSERT OR UPDATE OR DELETE ON competencies
    FOR EACH ROW EXECUTE FUNCTION catalogue_immutable();

-- Platform-wide: one person, whatever tenants enrol them. It holds nothing
-- personal; each tenant's enrolment (holders) holds what that tenant knows.
CREATE TABLE persons (
    id         uuid PRIMARY KEY,
    account_id uuid UNIQUE REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Holders become enrolments of a person.
ALTER TABLE holders ADD COLUMN person_id uuid REFERENCES persons (id);
-- Every existing enrolment becomes a person of its own. Row-level security
-- is forced on the owner too, so each tenant's rows are reached in its scope.
-- +goose StatementBegin
DO $$
DECLARE
    t record;
    h record;
    p uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t.id::text, true);
        FOR h IN SELECT id FROM holders WHERE tenant_id = t.id AND person_id IS NULL LOOP
            p := gen_random_uuid();
            INSERT INTO persons (id) VALUES (p);
            UPDATE holders SET person_id = p WHERE tenant_id = t.id AND id = h.id;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
-- +goose StatementEnd
ALTER TABLE holders ALTER COLUMN person_id SET NOT NULL;
ALTER TABLE holders ADD CONSTRAINT holders_one_enrolment UNIQUE (tenant_id, person_id);
ALTER TABLE holders ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left'));
CREATE INDEX holders_person ON holders (person_id);

-- Tenant-owned: the people cared for, where competencies are person-specific.
CREATE TABLE cared_for (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    given_name    text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name   text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    date_of_birth date,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Tenant-owned: a cared-for person's care prescription for one competency,
-- versioned; a new version marks records against the old one for re-assessment.
CREATE TABLE prescriptions (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    cared_for_id  uuid NOT NULL,
    competency_id uuid NOT NULL,
    version       integer NOT NULL CHECK (version > 0),
    parameters    jsonb NOT NULL,
    set_by        uuid REFERENCES accounts (id),
    set_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, cared_for_id, competency_id, version),
    FOREIGN KEY (tenant_id, cared_for_id) REFERENCES cared_for (tenant_id, id),
    FOREIGN KEY (tenant_id, competency_id) REFERENCES competencies (tenant_id, id)
);

-- Tenant-owned: one holder's progress in one competency (for one cared-for
-- person when person-specific). Expiry is derived at read time.
CREATE TABLE competency_records (
    tenant_id              uuid NOT NULL REFERENCES tenants (id),
    id                     uuid NOT NULL,
    holder_id              uuid NOT NULL,
    person_id              uuid NOT NULL REFERENCES persons (id),
    competency_id          uuid NOT NULL,
    cared_for_id           uuid,
    state                  text NOT NULL CHECK (state IN ('enrolled', 'training_attended', 'supervised_practice',
                               'competent', 'not_yet_competent', 'suspended', 'revoked')),
    practices_done         integer NOT NULL DEFAULT 0 CHECK (practices_done >= 0),
    signed_off_at          timestamptz,
    signed_off_by          uuid REFERENCES accounts (id),
    assessor_name          text NOT NULL DEFAULT '',
    setting                text NOT NULL DEFAULT '',
    prescription_version   integer,
    reassessment_required  boolean NOT NULL DEFAULT false,
    recognised_from        jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id),
    FOREIGN KEY (tenant_id, competency_id) REFERENCES competencies (tenant_id, id),
    FOREIGN KEY (tenant_id, cared_for_id) REFERENCES cared_for (tenant_id, id)
);
CREATE UNIQUE INDEX competency_records_one ON competency_records
    (tenant_id, holder_id, competency_id, COALESCE(cared_for_id, '00000000-0000-0000-0000-000000000000'));
CREATE INDEX competency_records_person ON competency_records (person_id);

-- Tenant-owned: every transition of a record; never updated or deleted.
CREATE TABLE record_events (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    record_id    uuid NOT NULL,
    from_state   text NOT NULL DEFAULT '',
    to_state     text NOT NULL,
    at           timestamptz NOT NULL,
    by_account   uuid REFERENCES accounts (id),
    by_name      text NOT NULL DEFAULT '',
    setting      text NOT NULL DEFAULT '',
    notes        text NOT NULL DEFAULT '',
    evidence_ref text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, record_id) REFERENCES competency_records (tenant_id, id)
);
CREATE INDEX record_events_record ON record_events (tenant_id, record_id, at);

-- Platform-wide: a person's consent for another tenant to see their
-- signed-off competencies. Reached only through the sharing package.
CREATE TABLE passport_shares (
    id                uuid PRIMARY KEY,
    person_id         uuid NOT NULL REFERENCES persons (id),
    grantee_tenant uuid REFERENCES tenants (id),
    granted_by        uuid REFERENCES accounts (id),
    granted_via       text NOT NULL CHECK (granted_via IN ('holder', 'tenant')),
    consent_note      text NOT NULL DEFAULT '',
    code_hash         bytea UNIQUE,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    redeemed_at       timestamptz,
    revoked_at        timestamptz
);
CREATE INDEX passport_shares_grantee ON passport_shares (grantee_tenant, person_id);

-- Row-level security on every new tenant-owned table.
ALTER TABLE catalogues ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalogues FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON catalogues
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE competencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE competencies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON competencies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE cared_for ENABLE ROW LEVEL SECURITY;
ALTER TABLE cared_for FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cared_for
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE prescriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE prescriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON prescriptions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE competency_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE competency_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON competency_records
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE record_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON record_events
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT ON std_catalogues, std_competencies TO carepass_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON catalogues, competencies, cared_for, prescriptions, competency_records TO carepass_app;
GRANT SELECT, INSERT ON persons, record_events TO carepass_app;
GRANT UPDATE (account_id) ON persons TO carepass_app;
GRANT SELECT, INSERT, UPDATE ON passport_shares TO carepass_app;

-- +goose Down
DROP TABLE passport_shares, record_events, competency_records, prescriptions, cared_for,
    competencies, catalogues, std_competencies, std_catalogues;
ALTER TABLE holders DROP CONSTRAINT holders_one_enrolment, DROP COLUMN status, DROP COLUMN person_id;
DROP TABLE persons;
DROP FUNCTION catalogue_immutable();
