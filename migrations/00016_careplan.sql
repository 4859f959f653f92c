-- +goose Up
-- Discharge readiness and care settings: a cared-for child's care plan
-- (ward, expected discharge date, care needs mapped to competencies, the
-- number of competent carers required and the named carers), and settings
-- such as special schools with their classes, the children and staff of each
-- class, and annual class plans. Readiness is never stored: it is derived
-- from the passports at read time.

-- Tenant-owned: one care plan per cared-for child.
CREATE TABLE care_plans (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    id                 uuid NOT NULL,
    cared_for_id       uuid NOT NULL,
    ward               text NOT NULL CHECK (length(ward) BETWEEN 1 AND 120),
    expected_discharge date NOT NULL,
    required_carers    integer NOT NULL DEFAULT 2 CHECK (required_carers BETWEEN 1 AND 10),
    created_by         uuid REFERENCES accounts (id),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, cared_for_id),
    FOREIGN KEY (tenant_id, cared_for_id) REFERENCES cared_for (tenant_id, id)
);
CREATE INDEX care_plans_ward ON care_plans (tenant_id, lower(ward), expected_discharge);

-- Tenant-owned: the carers (parents, family, paid carers) named on a plan.
CREATE TABLE care_plan_carers (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    plan_id      uuid NOT NULL,
    holder_id    uuid NOT NULL,
    relationship text NOT NULL DEFAULT '' CHECK (length(relationship) <= 60),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, holder_id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES care_plans (tenant_id, id),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id)
);
CREATE INDEX care_plan_carers_holder ON care_plan_carers (tenant_id, holder_id);

-- Tenant-owned: a care need of a plan ("Tracheostomy care").
CREATE TABLE care_needs (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    plan_id    uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    created_by uuid REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, plan_id, name),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES care_plans (tenant_id, id)
);

-- Tenant-owned: the competencies a care need requires.
CREATE TABLE care_need_competencies (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    need_id       uuid NOT NULL,
    competency_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, need_id, competency_id),
    FOREIGN KEY (tenant_id, need_id) REFERENCES care_needs (tenant_id, id),
    FOREIGN KEY (tenant_id, competency_id) REFERENCES competencies (tenant_id, id)
);

-- Tenant-owned: a setting the tenant supports or runs.
CREATE TABLE care_settings (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('special_school', 'hospice', 'respite_unit', 'other')),
    name       text NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX care_settings_name ON care_settings (tenant_id, lower(name));

-- Tenant-owned: a group (a class) of a setting.
CREATE TABLE care_groups (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    setting_id uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, setting_id) REFERENCES care_settings (tenant_id, id)
);
CREATE UNIQUE INDEX care_groups_name ON care_groups (tenant_id, setting_id, lower(name));

-- Tenant-owned: the children of a group.
CREATE TABLE care_group_children (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    group_id     uuid NOT NULL,
    cared_for_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, group_id, cared_for_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES care_groups (tenant_id, id),
    FOREIGN KEY (tenant_id, cared_for_id) REFERENCES cared_for (tenant_id, id)
);

-- Tenant-owned: the staff attached to a group.
CREATE TABLE care_group_staff (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    group_id  uuid NOT NULL,
    holder_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, group_id, holder_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES care_groups (tenant_id, id),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id)
);

-- Tenant-owned: a group's plan for one academic year (1 September to 31
-- August, named by the year it starts). What it lists is derived at read time.
CREATE TABLE class_plans (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    group_id        uuid NOT NULL,
    academic_year   integer NOT NULL CHECK (academic_year BETWEEN 2000 AND 2200),
    include_parents boolean NOT NULL DEFAULT false,
    created_by      uuid REFERENCES accounts (id),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, group_id, academic_year),
    FOREIGN KEY (tenant_id, group_id) REFERENCES care_groups (tenant_id, id)
);

ALTER TABLE care_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_plans
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_plan_carers ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_plan_carers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_plan_carers
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_needs ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_needs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_needs
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_need_competencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_need_competencies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_need_competencies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_settings
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_groups
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_group_children ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_group_children FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_group_children
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE care_group_staff ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_group_staff FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON care_group_staff
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE class_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE class_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON class_plans
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON care_plans, care_needs, care_settings, care_groups, class_plans TO carepass_app;
GRANT SELECT, INSERT, DELETE ON care_plan_carers, care_need_competencies, care_group_children, care_group_staff TO carepass_app;

-- +goose Down
DROP TABLE class_plans, care_group_staff, care_group_children, care_groups, care_settings,
    care_need_competencies, care_needs, care_plan_carers, care_plans;
