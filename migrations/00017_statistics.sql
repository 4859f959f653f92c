-- +goose Up
-- Platform statistics: national figures across every tenant, with small
-- numbers suppressed before any figure leaves the database, and the
-- operator's switch for the public statistics page.

-- Platform-wide: one row, whether the public statistics page is shown.
CREATE TABLE public_statistics (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled    boolean NOT NULL DEFAULT false,
    changed_at timestamptz,
    changed_by uuid REFERENCES accounts (id)
);
INSERT INTO public_statistics (singleton, enabled) VALUES (true, false);
GRANT SELECT ON public_statistics TO carepass_app;
GRANT UPDATE (enabled, changed_at, changed_by) ON public_statistics TO carepass_app;

-- Small-number suppression: a count below 5 (zero included) is "<5"; any
-- other is rounded to the nearest multiple of 5. A whole number is never
-- exactly half-way between two multiples of 5 (its remainder is 0 to 4), so
-- there is no tie to break: remainders 1 and 2 round down, 3 and 4 up.
CREATE FUNCTION stats_suppress(n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog
    RETURN CASE WHEN n < 5 THEN '<5' ELSE (((n + 2) / 5) * 5)::text END;

-- The national figures by kind of tenant and region, with a subtotal for
-- each kind (region NULL) and a grand total (both NULL), every figure
-- already suppressed. The caller's role is subject to row-level security and
-- stays so: this function runs as its owner (the migration role, on which
-- row-level security is forced too) and reads each tenant's rows in that
-- tenant's own scope, one tenant at a time, as the migrations do, then puts
-- the caller's app.tenant_id back as it found it.
--   passports_active         carer passports active and in date at p_now
--   passports_issued         carer passports ever issued
--   competencies_signed_off  sign-offs of skills competencies, ever
--   verifications            checks that confirmed one of the tenant's passports
-- +goose StatementBegin
CREATE FUNCTION platform_statistics(p_now timestamptz)
    RETURNS TABLE (kind text, region text, tenants text, passports_active text, passports_issued text,
                   competencies_signed_off text, verifications text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
DECLARE
    prev text := COALESCE(current_setting('app.tenant_id', true), '');
    t record;
    a_id uuid[] := '{}';
    a_active bigint[] := '{}';
    a_issued bigint[] := '{}';
    a_signed bigint[] := '{}';
    n_active bigint;
    n_issued bigint;
    n_signed bigint;
BEGIN
    FOR t IN SELECT tn.id FROM tenants tn ORDER BY tn.id LOOP
        PERFORM set_config('app.tenant_id', t.id::text, true);
        SELECT count(*) FILTER (WHERE p.state = 'active' AND p.valid_from <= p_now AND p.valid_until > p_now),
               count(*)
          INTO n_active, n_issued
          FROM carer_passports p WHERE p.tenant_id = t.id;
        SELECT count(*) INTO n_signed
          FROM record_events e WHERE e.tenant_id = t.id AND e.to_state = 'competent';
        a_id := a_id || t.id;
        a_active := a_active || n_active;
        a_issued := a_issued || n_issued;
        a_signed := a_signed || n_signed;
    END LOOP;
    PERFORM set_config('app.tenant_id', prev, true);
    RETURN QUERY
    WITH per_tenant AS (
        SELECT u.id, u.active, u.issued, u.signed
          FROM unnest(a_id, a_active, a_issued, a_signed) AS u (id, active, issued, signed)
    ), checks AS (
        SELECT c.passport_tenant AS id, count(*) AS n
          FROM passport_checks c
         WHERE c.outcome = 'confirmed' AND c.passport_tenant IS NOT NULL
         GROUP BY c.passport_tenant
    )
    SELECT tn.kind, CASE WHEN GROUPING(tn.kind, tn.region) = 0 THEN tn.region END,
           stats_suppress(count(*)),
           stats_suppress(COALESCE(sum(pt.active), 0)::bigint), stats_suppress(COALESCE(sum(pt.issued), 0)::bigint),
           stats_suppress(COALESCE(sum(pt.signed), 0)::bigint), stats_suppress(COALESCE(sum(ch.n), 0)::bigint)
      FROM tenants tn
      JOIN per_tenant pt ON pt.id = tn.id
      LEFT JOIN checks ch ON ch.id = tn.id
     GROUP BY GROUPING SETS ((tn.kind, tn.region), (tn.kind), ())
     ORDER BY tn.kind NULLS LAST, GROUPING(tn.kind, tn.region), tn.region;
END
$$;
-- +goose StatementEnd

-- The national figures per calendar month (Europe/London) for the months
-- starting from p_from up to (not including) p_to, each already suppressed:
-- carer passports issued, skills competencies signed off, verifications
-- that confirmed a passport. Every month in the range has a row.
-- +goose StatementBegin
CREATE FUNCTION platform_statistics_monthly(p_from timestamptz, p_to timestamptz)
    RETURNS TABLE (month date, passports_issued text, competencies_signed_off text, verifications text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
DECLARE
    prev text := COALESCE(current_setting('app.tenant_id', true), '');
    t record;
    a_month date[] := '{}';
    a_issued bigint[] := '{}';
    a_signed bigint[] := '{}';
    m record;
BEGIN
    IF p_to - p_from > interval '5 years' THEN
        RAISE EXCEPTION 'platform_statistics_monthly: at most five years at a time';
    END IF;
    FOR t IN SELECT tn.id FROM tenants tn ORDER BY tn.id LOOP
        PERFORM set_config('app.tenant_id', t.id::text, true);
        FOR m IN
            SELECT date_trunc('month', p.created_at AT TIME ZONE 'Europe/London')::date AS month, count(*) AS n, 'i' AS what
              FROM carer_passports p
             WHERE p.tenant_id = t.id AND p.created_at >= p_from AND p.created_at < p_to
             GROUP BY 1
            UNION ALL
            SELECT date_trunc('month', e.at AT TIME ZONE 'Europe/London')::date, count(*), 's'
              FROM record_events e
             WHERE e.tenant_id = t.id AND e.to_state = 'competent' AND e.at >= p_from AND e.at < p_to
             GROUP BY 1
        LOOP
            a_month := a_month || m.month;
            a_issued := a_issued || CASE WHEN m.what = 'i' THEN m.n ELSE 0 END;
            a_signed := a_signed || CASE WHEN m.what = 's' THEN m.n ELSE 0 END;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.tenant_id', prev, true);
    RETURN QUERY
    WITH months AS (
        SELECT gs::date AS month
          FROM generate_series(date_trunc('month', p_from AT TIME ZONE 'Europe/London'),
                               (p_to - interval '1 microsecond') AT TIME ZONE 'Europe/London', interval '1 month') gs
    ), counted AS (
        SELECT u.month, sum(u.issued) AS issued, sum(u.signed) AS signed
          FROM unnest(a_month, a_issued, a_signed) AS u (month, issued, signed)
         GROUP BY u.month
    ), checks AS (
        SELECT date_trunc('month', c.at AT TIME ZONE 'Europe/London')::date AS month, count(*) AS n
          FROM passport_checks c
         WHERE c.outcome = 'confirmed' AND c.passport_tenant IS NOT NULL AND c.at >= p_from AND c.at < p_to
         GROUP BY 1
    )
    SELECT ms.month, stats_suppress(COALESCE(ct.issued, 0)::bigint), stats_suppress(COALESCE(ct.signed, 0)::bigint),
           stats_suppress(COALESCE(ch.n, 0))
      FROM months ms
      LEFT JOIN counted ct ON ct.month = ms.month
      LEFT JOIN checks ch ON ch.month = ms.month
     ORDER BY ms.month;
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION platform_statistics(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_statistics_monthly(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_statistics(timestamptz) TO carepass_app;
GRANT EXECUTE ON FUNCTION platform_statistics_monthly(timestamptz, timestamptz) TO carepass_app;

-- +goose Down
DROP FUNCTION platform_statistics_monthly(timestamptz, timestamptz);
DROP FUNCTION platform_statistics(timestamptz);
DROP FUNCTION stats_suppress(bigint);
DROP TABLE public_statistics;
