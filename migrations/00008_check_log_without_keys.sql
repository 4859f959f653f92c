-- +goose Up
-- The verification log takes no foreign keys: each key check locked the
-- referenced tenant row (FOR KEY SHARE) on every public verification, so
-- concurrent checks of one issuer's passports queued on that row. The log
-- only ever gains rows, and tenants are never deleted.
ALTER TABLE passport_checks DROP CONSTRAINT passport_checks_passport_tenant_fkey,
    DROP CONSTRAINT passport_checks_verifier_tenant_fkey;

-- +goose Down
ALTER TABLE passport_checks ADD FOREIGN KEY (passport_tenant) REFERENCES tenants (id),
    ADD FOREIGN KEY (verifier_tenant) REFERENCES tenants (id);
