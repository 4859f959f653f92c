-- +goose Up
-- Training, the holder's side: a person reads their own bookings (and the
-- sessions and courses behind them) in every tenant, outside any tenant
-- scope, and a calendar application reads them through a personal feed link.

-- Platform-wide: one personal calendar feed link per account (an account is
-- at most one person). Only the SHA-256 of the link's token is stored; a
-- new link replaces the old one.
CREATE TABLE training_feeds (
    account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL
);

ALTER TABLE training_feeds ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_feeds FORCE ROW LEVEL SECURITY;
-- The signed-in account manages its own link, outside any tenant scope.
CREATE POLICY own_feed ON training_feeds
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND account_id = NULLIF(current_setting('app.account_id', true), '')::uuid)
    WITH CHECK (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
                AND account_id = NULLIF(current_setting('app.account_id', true), '')::uuid);
-- A calendar application presents the token: outside any tenant scope, the
-- one link whose hash the transaction names in app.feed_token (hex).
CREATE POLICY feed_lookup ON training_feeds FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND token_hash = decode(NULLIF(current_setting('app.feed_token', true), ''), 'hex'));

-- The persons whose training the transaction may read outside any tenant
-- scope: the acting account's own, or the person of the active account
-- whose feed link the transaction presents. Empty inside a tenant scope.
-- +goose StatementBegin
CREATE FUNCTION app_training_persons() RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
    SELECT p FROM app_own_persons() AS p
    UNION
    SELECT p.id FROM training_feeds f
        JOIN accounts a ON a.id = f.account_id AND a.status = 'active'
        JOIN persons p ON p.account_id = f.account_id
    WHERE NULLIF(current_setting('app.tenant_id', true), '') IS NULL
      AND f.token_hash = decode(NULLIF(current_setting('app.feed_token', true), ''), 'hex')
$$;
-- +goose StatementEnd

-- Read-only, and only outside a tenant scope (the first test keeps these
-- policies from costing anything in a tenant's own transactions).
CREATE POLICY own_training ON bookings FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND person_id IN (SELECT app_training_persons()));
CREATE POLICY own_training ON training_sessions FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND EXISTS (SELECT 1 FROM bookings b
                       WHERE b.tenant_id = training_sessions.tenant_id AND b.session_id = training_sessions.id
                         AND b.person_id IN (SELECT app_training_persons())));
CREATE POLICY own_training ON courses FOR SELECT
    USING (NULLIF(current_setting('app.tenant_id', true), '') IS NULL
           AND EXISTS (SELECT 1 FROM training_sessions s
                       JOIN bookings b ON b.tenant_id = s.tenant_id AND b.session_id = s.id
                       WHERE s.tenant_id = courses.tenant_id AND s.course_id = courses.id
                         AND b.person_id IN (SELECT app_training_persons())));

GRANT SELECT, INSERT, UPDATE, DELETE ON training_feeds TO carepass_app;

-- +goose Down
DROP POLICY own_training ON courses;
DROP POLICY own_training ON training_sessions;
DROP POLICY own_training ON bookings;
DROP FUNCTION app_training_persons();
DROP TABLE training_feeds;
