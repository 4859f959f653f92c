-- +goose Up
-- Training: courses and the competencies they train, sessions (one-off or
-- recurring), their trainers or assessors, and bookings with a waiting list.

-- Tenant-owned: a course.
CREATE TABLE courses (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '',
    format           text NOT NULL CHECK (format IN ('classroom', 'manikin', 'simulation', 'online', 'on_the_ward')),
    duration_minutes int NOT NULL CHECK (duration_minutes BETWEEN 15 AND 1440),
    audience         text NOT NULL CHECK (audience IN ('parents_carers', 'care_staff', 'school_staff', 'any')),
    prerequisites    text NOT NULL DEFAULT '',
    default_capacity int NOT NULL CHECK (default_capacity BETWEEN 1 AND 500),
    -- A sign-off course is an assessment: assessors, not trainers, run it.
    sign_off         boolean NOT NULL DEFAULT false,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX courses_title ON courses (tenant_id, lower(title));

-- Tenant-owned: the competencies a course trains.
CREATE TABLE course_competencies (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    course_id     uuid NOT NULL,
    competency_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, course_id, competency_id),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id),
    FOREIGN KEY (tenant_id, competency_id) REFERENCES competencies (tenant_id, id)
);

-- Tenant-owned: one session of a course.
CREATE TABLE training_sessions (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    course_id    uuid NOT NULL,
    series_id    uuid,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    location     text NOT NULL DEFAULT '',
    online_url   text NOT NULL DEFAULT '',
    capacity     int NOT NULL CHECK (capacity BETWEEN 1 AND 500),
    cutoff_hours int NOT NULL DEFAULT 24 CHECK (cutoff_hours BETWEEN 0 AND 336),
    public       boolean NOT NULL DEFAULT false,
    status       text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled', 'completed')),
    -- Bumped at every change, for calendar clients (iCalendar SEQUENCE).
    sequence     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id),
    CHECK (ends_at > starts_at),
    CHECK (location <> '' OR online_url <> '')
);
CREATE INDEX training_sessions_starts ON training_sessions (tenant_id, starts_at);

-- Tenant-owned: who runs a session.
CREATE TABLE session_trainers (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    session_id uuid NOT NULL,
    holder_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, session_id, holder_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES training_sessions (tenant_id, id),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id)
);

-- Tenant-owned: a place on a session, or on its waiting list.
CREATE TABLE bookings (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    session_id   uuid NOT NULL,
    holder_id    uuid NOT NULL,
    person_id    uuid NOT NULL REFERENCES persons (id),
    status       text NOT NULL CHECK (status IN ('booked', 'waiting', 'cancelled', 'attended', 'absent')),
    booked_by    uuid REFERENCES accounts (id),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES training_sessions (tenant_id, id),
    FOREIGN KEY (tenant_id, holder_id) REFERENCES holders (tenant_id, id)
);
-- One live booking per holder and session.
CREATE UNIQUE INDEX bookings_live ON bookings (tenant_id, session_id, holder_id) WHERE status <> 'cancelled';
CREATE INDEX bookings_session ON bookings (tenant_id, session_id, status, created_at);
CREATE INDEX bookings_person ON bookings (person_id);

ALTER TABLE courses ENABLE ROW LEVEL SECURITY;
ALTER TABLE courses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON courses
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE course_competencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE course_competencies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON course_competencies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE training_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON training_sessions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE session_trainers ENABLE ROW LEVEL SECURITY;
ALTER TABLE session_trainers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON session_trainers
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE bookings ENABLE ROW LEVEL SECURITY;
ALTER TABLE bookings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bookings
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON courses, training_sessions, bookings TO carepass_app;
GRANT SELECT, INSERT, DELETE ON course_competencies, session_trainers TO carepass_app;

-- +goose Down
DROP TABLE bookings, session_trainers, training_sessions, course_competencies, courses;
