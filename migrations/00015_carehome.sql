-- +goose Up
-- Care-home staff compliance: a provider's homes, job roles and the
-- competencies each role (and each home, in addition) requires, staff
-- employments linking holders to a home and a role, and a daily snapshot of
-- compliance for dashboards. Compliance itself is derived at read time
-- from competency records, never stored (the snapshot is a history).

-- Tenant-owned: a home (site) of the provider.
CREATE TABLE care_homes (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX care_homes_name ON care_homes (tenant_id, lower(name));

-- Tenant-owned: a job role (nursing assistant, senior carer, nurse ...).
CREATE TABLE job_roles (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX job_roles_name ON job_roles (tenant_id, lower(name));

-- Tenant-owned: a competency every holder of a role must hold.
CREATE TABLE role_requirements (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    role_id       uuid NOT NULL,
    competency_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, role_id, competency_id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES job_roles (tenant_id, id),
    FOREIGN KEY (tenant_id, competency_id) REFERENCES competencies (tenant_id, id)
);

-- Tenant-owned: a competency everyone working at one home must hold, in
-- addition to their role's.
CREATE TABLE home_requirements (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    home_id       uuid NOT NULL,
    competency_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, home_id, competency_id),
    FOREIGN KEY (tenant_id, home_id) REFERENCES care_homes (tenant_id, id),
    FOREIGN KEY (tenant_id, competency_id) REFERENCES competencies (tenant_id, id)
);

-- Tenant-owned: a holder employed at a home in a role. Ending it (a
-- leaver) keeps the row; the holder and their passport stay.
CREATE TABLE employments (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    holder_id  uuid NOT NULL,
    home_id    uuid NOT NULL,
    role_id    uuid NOT NULL,
    started_on date NOT NULL,
    ended_on   date,
    end_reason text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id),
    FOREIGN KEY (tenant_id, home_id) REFERENCES care_homes (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES job_roles (tenant_id, id),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
-- One current employment per holder.
CREATE UNIQUE INDEX employments_current ON employments (tenant_id, holder_id) WHERE ended_on IS NULL;
CREATE INDEX employments_home ON employments (tenant_id, home_id) WHERE ended_on IS NULL;

-- Tenant-owned: compliance on one day, provider-wide (home_id NULL) and per home.
CREATE TABLE compliance_snapshots (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    day        date NOT NULL,
    home_id    uuid,
    valid      integer NOT NULL CHECK (valid >= 0),
    required   integer NOT NULL CHECK (required >= valid),
    taken_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, home_id) REFERENCES care_homes (tenant_id, id)
);
CREATE UNIQUE INDEX compliance_snapshots_day ON compliance_snapshots
    (tenant_id, day, COALESCE(home_id, '00000000-0000-0000-0000-000000000000'));

ALTER TABLE care_homes ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_homes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_homes
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE job_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_roles
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE role_requirements ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_requirements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON role_requirements
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE home_requirements ENABLE ROW LEVEL SECURITY;
ALTER TABLE home_requirements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON home_requirements
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE employments ENABLE ROW LEVEL SECURITY;
ALTER TABLE employments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON employments
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE compliance_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON compliance_snapshots
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON care_homes, job_roles, employments, compliance_snapshots TO carepass_app;
GRANT SELECT, INSERT, DELETE ON role_requirements, home_requirements TO carepass_app;

-- +goose Down
DROP TABLE compliance_snapshots, employments, home_requirements, role_requirements, job_roles, care_homes;
