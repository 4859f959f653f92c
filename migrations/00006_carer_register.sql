-- +goose Up
-- The carer register a GP practice keeps: who among its patients is an
-- unpaid carer, recorded with a SNOMED CT concept, and when that stopped.

-- Tenant-owned: one entry of the carer register.
CREATE TABLE carer_register_entries (
    tenant_id              uuid NOT NULL REFERENCES tenants (id),
    id                     uuid NOT NULL,
    given_name             text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name            text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    date_of_birth          date,
    -- NHS number: 10 digits, the last a modulus 11 check digit over the
    -- first nine weighted 10 down to 2 (a check of 10 is never issued).
    nhs_number             text CHECK (nhs_number IS NULL OR CASE WHEN nhs_number ~ '^[0-9]{10}$' THEN
                               (11 - ((substr(nhs_number, 1, 1)::int * 10 + substr(nhs_number, 2, 1)::int * 9 +
                                       substr(nhs_number, 3, 1)::int * 8 + substr(nhs_number, 4, 1)::int * 7 +
                                       substr(nhs_number, 5, 1)::int * 6 + substr(nhs_number, 6, 1)::int * 5 +
                                       substr(nhs_number, 7, 1)::int * 4 + substr(nhs_number, 8, 1)::int * 3 +
                                       substr(nhs_number, 9, 1)::int * 2) % 11)) % 11 = substr(nhs_number, 10, 1)::int
                               ELSE false END),
    -- Unpaid-carer concepts only; 229774002 "Caregiver" is the paid
    -- occupation and is never on this register.
    snomed_code            text NOT NULL CHECK (snomed_code IN ('224484003', '302767002', '224485002', '224486001',
                               '276040005', '407542009', '407543004', '824401000000105', '248611000000108')),
    recorded_on            date NOT NULL,
    consent_to_share       boolean NOT NULL DEFAULT false,
    consent_on             date,
    review_due             date,
    cared_for_name         text NOT NULL DEFAULT '' CHECK (length(cared_for_name) <= 200),
    cared_for_relationship text NOT NULL DEFAULT '' CHECK (length(cared_for_relationship) <= 100),
    -- Whether the cared-for person is also a patient of the practice; NULL
    -- when not recorded.
    cared_for_known        boolean,
    -- The carer passport seen when the entry was added after a check: what
    -- the check confirmed, and only the last four characters of the code.
    source_issuer          text NOT NULL DEFAULT '' CHECK (length(source_issuer) <= 200),
    source_scheme          text NOT NULL DEFAULT '' CHECK (length(source_scheme) <= 200),
    source_verified_at     timestamptz,
    source_code_last4      text NOT NULL DEFAULT '' CHECK (length(source_code_last4) IN (0, 4)),
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    closed_on              date,
    closed_reason          text NOT NULL DEFAULT '' CHECK (closed_reason IN ('', 'no_longer_caring', 'cared_for_died',
                               'cared_for_moved_into_care', 'left_practice', 'recorded_in_error', 'other')),
    created_by             uuid REFERENCES accounts (id),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (review_due IS NULL OR review_due > recorded_on),
    CHECK (consent_to_share OR consent_on IS NULL),
    CHECK ((status = 'closed') = (closed_on IS NOT NULL)),
    CHECK ((status = 'closed') = (closed_reason <> '')),
    CHECK (closed_on IS NULL OR closed_on >= recorded_on),
    CHECK ((source_verified_at IS NULL) = (source_issuer = ''))
);
CREATE INDEX carer_register_entries_name ON carer_register_entries (tenant_id, lower(family_name), lower(given_name));
CREATE INDEX carer_register_entries_nhs ON carer_register_entries (tenant_id, nhs_number) WHERE nhs_number IS NOT NULL;
CREATE INDEX carer_register_entries_review ON carer_register_entries (tenant_id, review_due) WHERE status = 'active';
CREATE INDEX carer_register_entries_concept ON carer_register_entries (tenant_id, snomed_code, status);

ALTER TABLE carer_register_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_register_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON carer_register_entries
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON carer_register_entries TO carepass_app;

-- +goose Down
DROP TABLE carer_register_entries;
