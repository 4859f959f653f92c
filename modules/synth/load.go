package synth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Progress is told after each tenant is loaded (or found already loaded).
type Progress func(done, total int)

// Load makes the population spec describes, through pool. Each tenant is
// one transaction: a tenant whose slug already exists is skipped, so a run
// that stopped half-way completes when run again, and a run with more
// tenants grows an earlier population of the same seed. Afterwards the
// tables loaded are analysed, so that the planner knows their new sizes.
func Load(ctx context.Context, pool *pgxpool.Pool, spec Spec, progress Progress) (Report, error) {
	started := time.Now()
	plan, err := Plan(spec)
	if err != nil {
		return Report{}, err
	}
	if err := checkLibrary(ctx, pool); err != nil {
		return Report{}, err
	}
	asOf := spec.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	asOf = time.Date(asOf.Year(), asOf.Month(), asOf.Day(), 12, 0, 0, 0, time.UTC)
	existing, err := loaded(ctx, pool, spec.Seed)
	if err != nil {
		return Report{}, err
	}
	var care bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('employments') IS NOT NULL`).Scan(&care); err != nil {
		return Report{}, fmt.Errorf("synth: look for the care-home tables: %w", err)
	}
	rep := Report{ByKind: map[tenants.Kind]int{}}
	todo := make(chan Tenant)
	var (
		mu       sync.Mutex
		done     int
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := spec.Workers
	if workers == 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range todo {
				n, err := loadTenant(ctx, pool, spec, asOf, care, t)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("synth: tenant %s: %w", t.Slug, err)
					cancel()
				}
				if err == nil {
					rep.add(t, n)
				}
				done++
				if progress != nil {
					progress(done, len(plan))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, t := range plan {
		if existing[t.Slug] {
			mu.Lock()
			rep.Skipped++
			done++
			mu.Unlock()
			continue
		}
		select {
		case todo <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	if firstErr != nil {
		return rep, firstErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if rep.Tenants > 0 {
		a := time.Now()
		if err := analyze(ctx, pool, care); err != nil {
			return rep, err
		}
		rep.AnalyzeTaken = time.Since(a)
	}
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// counts is what one tenant's load made.
type counts struct {
	holders, records, courses, sessions, bookings, passports, register, rules, care int64
}

func (r *Report) add(t Tenant, n counts) {
	r.Tenants++
	r.ByKind[t.Kind]++
	r.Holders += n.holders
	r.Records += n.records
	r.Events += n.records
	r.Courses += n.courses
	r.Sessions += n.sessions
	r.Bookings += n.bookings
	r.Passports += n.passports
	r.Register += n.register
	r.Accounts++
	r.Rules += n.rules
	r.Care += n.care
}

// loaded returns the slugs of seed's synthetic tenants already present.
func loaded(ctx context.Context, pool *pgxpool.Pool, seed int64) (map[string]bool, error) {
	rows, err := pool.Query(ctx, `SELECT slug FROM tenants WHERE slug LIKE $1`, fmt.Sprintf("%s%d-%%", SlugPrefix, seed))
	if err != nil {
		return nil, fmt.Errorf("synth: existing tenants: %w", err)
	}
	slugs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("synth: existing tenants: %w", err)
	}
	out := make(map[string]bool, len(slugs))
	for _, s := range slugs {
		out[s] = true
	}
	return out, nil
}

// checkLibrary makes sure the standard library holds the catalogues each
// kind adopts, with at least as many general competencies as Plan counts on.
func checkLibrary(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `
		SELECT c.code, count(*) FILTER (WHERE sc.specificity <> 'person')
		FROM std_catalogues c JOIN std_competencies sc ON sc.catalogue_id = c.id
		WHERE c.version = (SELECT max(version) FROM std_catalogues v WHERE v.code = c.code)
		GROUP BY c.code`)
	if err != nil {
		return fmt.Errorf("synth: standard library: %w", err)
	}
	have := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return fmt.Errorf("synth: standard library: %w", err)
		}
		have[code] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("synth: standard library: %w", err)
	}
	for kind, codes := range adopts {
		n := 0
		for _, c := range codes {
			if _, ok := have[c]; !ok {
				return fmt.Errorf("%w: the standard library has no %s catalogue (run `carepass migrate up`, which loads it)", ErrSpec, c)
			}
			n += have[c]
		}
		if n < recordCap[kind] {
			return fmt.Errorf("%w: the standard catalogues %s have %d general competencies, fewer than the %d planned for", ErrSpec, strings.Join(codes, ", "), n, recordCap[kind])
		}
	}
	return nil
}

// analyze refreshes the planner's statistics of the tables loaded.
func analyze(ctx context.Context, pool *pgxpool.Pool, care bool) error {
	tables := analysed
	if care {
		tables = append(tables[:len(tables):len(tables)], analysedCare...)
	}
	for _, table := range tables {
		if _, err := pool.Exec(ctx, "ANALYZE "+table); err != nil {
			return fmt.Errorf("synth: analyse %s: %w", table, err)
		}
	}
	return nil
}

var analysed = []string{"tenants", "accounts", "memberships", "roles", "casbin_rule", "policy_versions", "persons", "holders",
	"catalogues", "competencies", "competency_records", "record_events", "courses", "course_competencies",
	"training_sessions", "bookings", "schemes", "carer_passports", "carer_passport_events", "carer_register_entries"}

// analysedCare are the care-home compliance tables, analysed when they exist.
var analysedCare = []string{"care_homes", "job_roles", "role_requirements", "home_requirements", "employments"}

// gen renders the SQL of one tenant: {T} its id, {S} its hash seed, {MS}
// the time part of its ids, {ASOF} the as-of moment; all are formatted
// from typed values, never from input text.
type gen struct {
	r *strings.Replacer
}

func newGen(id uuid.UUID, seed int64, index int, ms int64, asOf time.Time) gen {
	return gen{r: strings.NewReplacer(
		"{T}", "'"+id.String()+"'::uuid",
		"{TT}", id.String(),
		"{S}", fmt.Sprintf("%d::bigint", seed*1_000_003+int64(index)),
		"{MS}", fmt.Sprintf("%d::bigint", ms),
		"{ASOF}", "'"+asOf.UTC().Format(time.RFC3339)+"'::timestamptz",
	)}
}

func (g gen) sql(s string) string { return g.r.Replace(s) }

// id is SQL for a UUIDv7 of the tenant's time whose other bits follow
// from tag and the SQL expression key: the same tag and key give the same
// id within a tenant, which lets a statement name the holder or session
// another made without reading it back.
func id(tag, key string) string {
	return `encode(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(overlay(decode(md5('{TT}:` + tag + `:' || (` + key +
		`)::text), 'hex') placing substring(int8send({MS}) from 3) from 1 for 6), 52, 1), 53, 1), 54, 1), 55, 0), 70, 0), 71, 1), 'hex')::uuid`
}

// u is SQL for a number in [0, 1) that follows from the SQL integer key,
// the salt and the tenant's seed.
func u(key string, salt int) string {
	return fmt.Sprintf(`((hashint8extended((%s)::bigint * 32 + %d, {S}) & 1073741823)::float8 / 1073741824.0)`, key, salt)
}

// pick is SQL for an element of the text[] SQL expression arr chosen by the
// unit expression unit.
func pick(arr, unit string) string {
	return fmt.Sprintf(`(%s)[1 + floor(%s * cardinality(%s))::int]`, arr, unit, arr)
}

// roleMix is each kind's share of holders by role in care, as cumulative
// thresholds.
var roleMix = map[tenants.Kind][]struct {
	role string
	upTo float64
}{
	tenants.KindCareHome:        {{"staff", .80}, {"paid_carer", .95}, {"trainer", 1}},
	tenants.KindPaediatricTrust: {{"parent", .60}, {"unpaid_carer", .80}, {"staff", .97}, {"trainer", 1}},
	tenants.KindCarersCharity:   {{"unpaid_carer", .70}, {"parent", .95}, {"trainer", 1}},
	tenants.KindGPPractice:      {{"unpaid_carer", .90}, {"parent", 1}},
}

func roleCase(kind tenants.Kind, unit string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, m := range roleMix[kind] {
		fmt.Fprintf(&b, " WHEN %s < %g THEN '%s'", unit, m.upTo, m.role)
	}
	b.WriteString(" ELSE 'unpaid_carer' END")
	return b.String()
}

var givenNames = []string{"Aisha", "Alfie", "Amelia", "Aryan", "Ava", "Ben", "Bethan", "Callum", "Chloe", "Daniel",
	"Deborah", "Emeka", "Ella", "Emily", "Fatima", "Finley", "Freya", "George", "Grace", "Hannah", "Harry",
	"Imran", "Isla", "Jack", "Jade", "James", "Jasmine", "Kofi", "Layla", "Leah", "Liam", "Lily", "Mohammed",
	"Megan", "Nathan", "Niamh", "Noah", "Olivia", "Oscar", "Priya", "Rhys", "Rosie", "Ruby", "Sam", "Sara",
	"Sophie", "Tariq", "Thomas", "Wiktoria", "Yusuf", "Zara", "Zofia"}

var familyNames = []string{"Adeyemi", "Ahmed", "Ali", "Allen", "Baker", "Bell", "Brown", "Campbell", "Clarke",
	"Cooper", "Davies", "Edwards", "Evans", "Green", "Griffiths", "Hall", "Harris", "Hughes", "Hussain", "Jackson",
	"James", "Jones", "Kaur", "Khan", "King", "Kowalski", "Lewis", "Martin", "Mensah", "Mitchell", "Moore",
	"Morgan", "Morris", "Nguyen", "Nowak", "Okafor", "Owen", "Patel", "Phillips", "Price", "Roberts",
	"Robinson", "Scott", "Shah", "Singh", "Smith", "Taylor", "Thomas", "Thompson", "Turner", "Walker",
	"Ward", "Watson", "White", "Williams", "Wilson", "Wood", "Wright", "Young"}

// loadTenant makes one tenant and everything in it in one transaction,
// scoped to the tenant so that row-level security checks every row.
func loadTenant(ctx context.Context, pool *pgxpool.Pool, spec Spec, asOf time.Time, care bool, t Tenant) (counts, error) {
	var n counts
	tid := uuid.Must(uuid.NewV7())
	g := newGen(tid, spec.Seed, t.Index, time.Now().UnixMilli(), asOf)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		exec := func(what, sql string, args ...any) (int64, error) {
			tag, err := tx.Exec(ctx, g.sql(sql), args...)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", what, err)
			}
			return tag.RowsAffected(), nil
		}
		made, err := exec("tenant", `INSERT INTO tenants (id, slug, name, kind, region, status, created_at, updated_at)
			VALUES ({T}, $1, $2, $3, $4, 'active', now(), now()) ON CONFLICT (slug) DO NOTHING`,
			t.Slug, t.Name, string(t.Kind), t.Region)
		if err != nil {
			return err
		}
		if made == 0 {
			return errAlreadyLoaded
		}
		if _, err := exec("tenant scope", `SELECT set_config('app.tenant_id', '{TT}', true)`); err != nil {
			return err
		}
		if n.rules, err = loadRoles(exec, t, spec.PasswordHash); err != nil {
			return err
		}
		if err := loadCatalogues(exec, t); err != nil {
			return err
		}
		if n.holders, err = loadHolders(exec, t); err != nil {
			return err
		}
		if n.records, err = loadRecords(exec, t); err != nil {
			return err
		}
		if n.courses, n.sessions, n.bookings, err = loadTraining(exec, t); err != nil {
			return err
		}
		switch t.Kind {
		case tenants.KindCarersCharity:
			n.passports, err = loadPassports(exec, t)
		case tenants.KindGPPractice:
			n.register, err = loadRegister(exec, t)
		case tenants.KindCareHome:
			if care {
				n.care, err = loadCareHome(exec, t)
			}
		}
		return err
	})
	if errors.Is(err, errAlreadyLoaded) {
		return counts{}, nil
	}
	return n, err
}

var errAlreadyLoaded = errors.New("already loaded")

type execFunc func(what, sql string, args ...any) (int64, error)

// loadRoles gives the tenant its kind's template roles and their casbin
// rules, as provisioning does, and one synthetic administrator account
// holding the administrator role.
func loadRoles(exec execFunc, t Tenant, passwordHash string) (int64, error) {
	var keys, names, descs, rk, objs, acts []string
	for _, rt := range policy.Templates(t.Kind) {
		keys, names, descs = append(keys, rt.Key), append(names, rt.Name), append(descs, rt.Description)
		for _, p := range rt.Permissions {
			rk, objs, acts = append(rk, rt.Key), append(objs, p.Object), append(acts, p.Action)
		}
	}
	if _, err := exec("roles", `INSERT INTO roles (tenant_id, id, key, name, description, template_key, editable, created_at)
		SELECT {T}, `+id("role", "k")+`, k, n, d, k, false, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS r(k, n, d)`,
		keys, names, descs); err != nil {
		return 0, err
	}
	rules, err := exec("role permissions", `INSERT INTO casbin_rule (ptype, v0, v1, v2, v3)
		SELECT 'p', r, '{TT}', o, a FROM unnest($1::text[], $2::text[], $3::text[]) AS x(r, o, a) ON CONFLICT DO NOTHING`,
		rk, objs, acts)
	if err != nil {
		return 0, err
	}
	email := "admin@" + t.Slug + "." + EmailDomain
	if _, err := exec("administrator", `
		WITH a AS (
			INSERT INTO accounts (id, email, name, password_hash, status, created_at, updated_at)
			VALUES (`+id("account", "1")+`, $1, $2, $3, 'active', now(), now()) RETURNING id
		), m AS (
			INSERT INTO memberships (tenant_id, id, account_id, status, created_at, updated_at)
			SELECT {T}, `+id("membership", "1")+`, a.id, 'active', now(), now() FROM a
		)
		INSERT INTO casbin_rule (ptype, v0, v1, v2) SELECT 'g', a.id::text, $4, '{TT}' FROM a`,
		email, "Synthetic administrator ("+t.Slug+")", passwordHash, policy.AdminRole(t.Kind)); err != nil {
		return 0, err
	}
	if _, err := exec("policy version", `INSERT INTO policy_versions AS pv (domain, version, updated_at) VALUES ('{TT}', 1, now())
		ON CONFLICT (domain) DO UPDATE SET version = pv.version + 1, updated_at = now()`); err != nil {
		return 0, err
	}
	return rules + 1, nil
}

// loadCatalogues adopts and publishes the kind's standard catalogues, as
// the catalogue service's Adopt and Publish do.
func loadCatalogues(exec execFunc, t Tenant) error {
	if _, err := exec("catalogues", `INSERT INTO catalogues (tenant_id, id, key, version, title, description, status, std_catalogue_id, created_at)
		SELECT {T}, `+id("catalogue", "s.code")+`, lower(s.code), 1, s.title, s.description, 'draft', s.id, now()
		FROM std_catalogues s
		WHERE s.code = ANY($1::text[]) AND s.version = (SELECT max(version) FROM std_catalogues v WHERE v.code = s.code)`,
		adopts[t.Kind]); err != nil {
		return err
	}
	if _, err := exec("competencies", `INSERT INTO competencies (tenant_id, id, catalogue_id, code, title, kind, description, tier,
			key_elements, specificity, prescription_parameters, training_formats, assessment_method, signoff_by,
			supervised_practices, reassess_months, review_date, covers, std_competency_id)
		SELECT {T}, `+id("competency", "sc.id")+`, c.id, sc.code, sc.title, sc.kind, sc.description, sc.tier,
			sc.key_elements, sc.specificity, sc.prescription_parameters, sc.training_formats, sc.assessment_method, sc.signoff_by,
			sc.supervised_practices, sc.reassess_months, sc.review_date, sc.covers, sc.id
		FROM catalogues c JOIN std_competencies sc ON sc.catalogue_id = c.std_catalogue_id
		WHERE c.tenant_id = {T}`); err != nil {
		return err
	}
	_, err := exec("publish", `UPDATE catalogues SET status = 'published', published_at = now() WHERE tenant_id = {T} AND status = 'draft'`)
	return err
}

// loadHolders makes t.Holders people and enrols each as a holder.
func loadHolders(exec execFunc, t Tenant) (int64, error) {
	if t.Holders == 0 {
		return 0, nil
	}
	return exec("holders", `
		WITH src AS MATERIALIZED (
			SELECT g, `+id("person", "g")+` AS pid, `+id("holder", "g")+` AS hid,
				`+pick("$1::text[]", u("g", 1))+` AS given, `+pick("$2::text[]", u("g", 2))+` AS family,
				`+u("g", 3)+` AS u3, `+u("g", 4)+` AS u4, `+u("g", 5)+` AS u5
			FROM generate_series(0, $3::int - 1) g
		), p AS (
			INSERT INTO persons (id, created_at) SELECT pid, {ASOF} - u3 * interval '1000 days' FROM src
		)
		INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, date_of_birth, email, role_in_care, status, created_at, updated_at)
		SELECT {T}, hid, pid, given, family, ({ASOF} - (18 + u4 * 55) * interval '365.25 days')::date,
			lower(given || '.' || family || '.' || g) || '@' || $4,
			`+roleCase(t.Kind, "u5")+`,
			CASE WHEN u3 < 0.04 THEN 'left' ELSE 'active' END,
			{ASOF} - u3 * interval '1000 days', {ASOF} - u3 * interval '1000 days'
		FROM src`,
		givenNames, familyNames, t.Holders, t.Slug+"."+EmailDomain)
}

// comps is SQL for the tenant's general competencies numbered from 0.
const comps = `SELECT id, reassess_months, supervised_practices, kind,
		(row_number() OVER (ORDER BY code, std_competency_id) - 1)::int AS k
	FROM competencies WHERE tenant_id = {T} AND specificity <> 'person'`

// loadRecords gives holders t.Records competency records, each holder a
// different competency per record, in the lifecycle's states with sign-off
// dates spread so that some are current, some due for update and some
// expired, and one history entry each.
func loadRecords(exec execFunc, t Tenant) (int64, error) {
	if t.Records == 0 || t.Holders == 0 {
		return 0, nil
	}
	return exec("records", `
		WITH comps AS MATERIALIZED (`+comps+`),
		n AS (SELECT count(*)::int AS n FROM comps),
		src AS (
			SELECT j, j % $1::int AS g, j / $1::int AS slot, `+u("j", 6)+` AS us, `+u("j", 7)+` AS ud, `+u("j", 8)+` AS ux
			FROM generate_series(0, $2::int - 1) j
		),
		chosen AS (
			SELECT src.*, c.id AS comp, c.reassess_months AS months, c.supervised_practices AS practices,
				CASE WHEN us < 0.72 THEN 'competent' WHEN us < 0.80 THEN 'enrolled' WHEN us < 0.86 THEN 'training_attended'
					WHEN us < 0.91 THEN 'supervised_practice' WHEN us < 0.95 THEN 'not_yet_competent'
					WHEN us < 0.98 THEN 'suspended' ELSE 'revoked' END AS state,
				{ASOF} - ud * c.reassess_months * interval '38 days' AS signed
			FROM src CROSS JOIN n
			JOIN comps c ON c.k = (src.slot + (hashint8extended(src.g::bigint * 32 + 9, {S}) & 1073741823) % n.n) % n.n
		),
		ins AS (
			INSERT INTO competency_records (tenant_id, id, holder_id, person_id, competency_id, state, practices_done,
				signed_off_at, assessor_name, setting, created_at, updated_at)
			SELECT {T}, `+id("record", "j")+`, `+id("holder", "g")+`, `+id("person", "g")+`, comp, state,
				CASE WHEN state IN ('competent', 'suspended', 'revoked') THEN practices
					WHEN state = 'supervised_practice' THEN floor(ux * practices)::int ELSE 0 END,
				CASE WHEN state IN ('competent', 'suspended', 'revoked') THEN signed END,
				CASE WHEN state IN ('competent', 'suspended', 'revoked') THEN 'Synthetic assessor ' || (1 + g % 7) ELSE '' END,
				`+pick("$3::text[]", "ux")+`,
				CASE WHEN state IN ('competent', 'suspended', 'revoked') THEN signed - (30 + ux * 60) * interval '1 day'
					ELSE {ASOF} - ux * interval '300 days' END,
				CASE WHEN state IN ('competent', 'suspended', 'revoked') THEN signed ELSE {ASOF} - ux * interval '300 days' END
			FROM chosen
			RETURNING id, state, updated_at, assessor_name, setting
		)
		INSERT INTO record_events (tenant_id, id, record_id, from_state, to_state, at, by_name, setting, notes)
		SELECT {T}, `+id("event", "id")+`, id, '', state, updated_at, assessor_name, setting, 'Synthetic history'
		FROM ins`,
		t.Holders, t.Records, []string{"Care home", "Home", "Hospital ward", "Training room", "School", "Hospice"})
}

// sessionsSQL numbers the tenant's training sessions s from 0 with their
// start times, a year around the as-of date; $1 is how many.
var sessionsSQL = `SELECT s, date_trunc('day', {ASOF}) + (floor(` + u("s", 10) + ` * 365)::int - 182) * interval '1 day'
		+ (9 + (s % 3) * 2) * interval '1 hour' AS st, ` + u("s", 11) + ` AS us
	FROM generate_series(0, $1::int - 1) s`

// loadTraining makes a few courses, each training one of the tenant's
// competencies, sessions of them through the year around the as-of date
// (most public), and bookings: attended or absent in the past, booked to
// come.
func loadTraining(exec execFunc, t Tenant) (courses, sessions, bookings int64, err error) {
	nCourses := min(6, 2+t.Holders/100)
	nSessions := min(600, 2+t.Holders/4)
	audience := map[tenants.Kind]string{tenants.KindCareHome: "care_staff", tenants.KindPaediatricTrust: "parents_carers",
		tenants.KindCarersCharity: "parents_carers", tenants.KindGPPractice: "any"}[t.Kind]
	if courses, err = exec("courses", `
		WITH c AS (SELECT id, title, (row_number() OVER (ORDER BY code, std_competency_id) - 1)::int AS i
			FROM competencies WHERE tenant_id = {T} AND kind = 'skill' AND specificity <> 'person')
		INSERT INTO courses (tenant_id, id, title, description, format, duration_minutes, audience, default_capacity, sign_off, status, created_at, updated_at)
		SELECT {T}, `+id("course", "i")+`, 'Course: ' || title, 'Synthetic course', (ARRAY['classroom', 'manikin', 'simulation', 'online'])[1 + i % 4],
			180, $2, 12, false, 'active', now(), now()
		FROM c WHERE i < $1`, nCourses, audience); err != nil {
		return
	}
	if _, err = exec("course competencies", `
		WITH c AS (SELECT id, (row_number() OVER (ORDER BY code, std_competency_id) - 1)::int AS i
			FROM competencies WHERE tenant_id = {T} AND kind = 'skill' AND specificity <> 'person')
		INSERT INTO course_competencies (tenant_id, course_id, competency_id)
		SELECT {T}, `+id("course", "i")+`, id FROM c WHERE i < $1`, nCourses); err != nil {
		return
	}
	if courses == 0 {
		return
	}
	if sessions, err = exec("sessions", `
		INSERT INTO training_sessions (tenant_id, id, course_id, starts_at, ends_at, location, capacity, cutoff_hours, public, status, created_at, updated_at)
		SELECT {T}, `+id("session", "s")+`, `+id("course", "s % $2::int")+`, st, st + interval '3 hours',
			'Training room, ' || $3, 12, 24, us < 0.7, CASE WHEN st < {ASOF} THEN 'completed' ELSE 'scheduled' END,
			st - interval '30 days', st - interval '30 days'
		FROM (`+sessionsSQL+`) x`, nSessions, courses, t.Name); err != nil {
		return
	}
	if t.Holders == 0 {
		return
	}
	bookings, err = exec("bookings", `
		INSERT INTO bookings (tenant_id, id, session_id, holder_id, person_id, status, created_at, updated_at)
		SELECT {T}, `+id("booking", "s * 100 + i")+`, `+id("session", "s")+`, `+id("holder", "(s * 7 + i) % $2::int")+`,
			`+id("person", "(s * 7 + i) % $2::int")+`,
			CASE WHEN st >= {ASOF} THEN 'booked' WHEN `+u("s * 100 + i", 12)+` < 0.85 THEN 'attended' ELSE 'absent' END,
			st - interval '14 days', st - interval '14 days'
		FROM (`+sessionsSQL+`) x CROSS JOIN generate_series(0, 11) i
		WHERE i < 3 + floor(us * 9)::int AND i < $2::int`, nSessions, t.Holders)
	return
}

// loadPassports gives a carers' charity its carer passport scheme and
// passports for most of its carers: most active, some lapsed, a few
// suspended or revoked when consent was withdrawn. The signed QR payload of
// a synthetic passport is a placeholder: it does not verify.
func loadPassports(exec execFunc, t Tenant) (int64, error) {
	if _, err := exec("scheme", `INSERT INTO schemes (tenant_id, id, name, audience, eligibility, benefits, validity_kind, validity_days,
			consent_required, renewable, status, created_at, updated_at)
		VALUES ({T}, `+id("scheme", "1")+`, 'Carer passport', 'adult_carer', 'Adults who care, unpaid, for someone who could not manage without them',
			'["Flexible visiting", "Parking concession", "Included in discharge conversations"]', 'days', 365, true, true, 'active', now(), now())`); err != nil {
		return 0, err
	}
	n, err := exec("passports", `
		WITH src AS (
			SELECT g, h.id AS hid, h.person_id, h.given_name || ' ' || h.family_name AS name,
				{ASOF} - `+u("g", 13)+` * interval '420 days' AS vf, `+u("g", 14)+` AS us,
				upper(md5('code:' || {S} || ':' || g)) AS hex
			FROM generate_series(0, $1::int - 1) g
			JOIN holders h ON h.tenant_id = {T} AND h.id = `+id("holder", "g")+`
			WHERE h.role_in_care IN ('unpaid_carer', 'parent') AND `+u("g", 15)+` < 0.8
		), ins AS (
			INSERT INTO carer_passports (tenant_id, id, holder_id, person_id, scheme_id, code, holder_name, scheme_name, benefits,
				cared_for_name, relationship, consent_given_by, consent_method, consent_at, valid_from, valid_until,
				state, revoked_reason, status_index, kid, qr, created_at, updated_at)
			SELECT {T}, `+id("passport", "g")+`, hid, person_id, `+id("scheme", "1")+`,
				'SY' || substr(hex, 1, 3) || '-' || substr(hex, 4, 4) || '-' || substr(hex, 8, 4) || '-' || substr(hex, 12, 4),
				name, 'Carer passport', '["Flexible visiting", "Parking concession", "Included in discharge conversations"]',
				'The person cared for', (ARRAY['Parent', 'Partner', 'Son or daughter', 'Friend', 'Neighbour'])[1 + g % 5],
				'The person cared for', 'in_person', vf, vf, vf + interval '365 days',
				CASE WHEN us < 0.03 THEN 'suspended' WHEN us < 0.08 THEN 'revoked' ELSE 'active' END,
				CASE WHEN us >= 0.03 AND us < 0.08 THEN 'consent_withdrawn' ELSE '' END,
				g, 'synthetic', 'synthetic', vf, vf
			FROM src
			RETURNING id, valid_from, valid_until
		)
		INSERT INTO carer_passport_events (tenant_id, id, passport_id, at, action, valid_until)
		SELECT {T}, `+id("passport-event", "id")+`, id, valid_from, 'issued', valid_until FROM ins`, t.Holders)
	return n, err
}

// loadRegister gives a GP practice its carer register: one entry for each
// carer it knows, coded with an unpaid-carer SNOMED CT concept.
func loadRegister(exec execFunc, t Tenant) (int64, error) {
	return exec("carer register", `
		INSERT INTO carer_register_entries (tenant_id, id, given_name, family_name, date_of_birth, snomed_code, recorded_on,
			consent_to_share, consent_on, review_due, cared_for_relationship, status, closed_on, closed_reason, created_at, updated_at)
		SELECT {T}, `+id("register", "g")+`, h.given_name, h.family_name, h.date_of_birth,
			(ARRAY['302767002', '224485002', '224486001', '276040005', '407542009', '407543004', '824401000000105'])[1 + g % 7],
			rec, us < 0.6, CASE WHEN us < 0.6 THEN rec END, rec + 365,
			(ARRAY['Parent', 'Partner', 'Son or daughter', 'Friend'])[1 + g % 4],
			CASE WHEN us > 0.95 THEN 'closed' ELSE 'active' END,
			CASE WHEN us > 0.95 THEN rec + 200 END,
			CASE WHEN us > 0.95 THEN 'no_longer_caring' ELSE '' END,
			rec, rec
		FROM (SELECT g, (({ASOF})::date - floor(`+u("g", 16)+` * 1500)::int - 201) AS rec, `+u("g", 17)+` AS us
			FROM generate_series(0, $1::int - 1) g) x
		JOIN holders h ON h.tenant_id = {T} AND h.id = `+id("holder", "g"), t.Holders)
}

// jobRoles are a care-home provider's job roles, with the share of staff
// in each (cumulative) and how many of the tenant's general competencies,
// in order, each requires.
var jobRoles = []struct {
	name     string
	upTo     float64
	requires int
}{
	{"Nursing assistant", .55, 12}, {"Senior carer", .80, 18}, {"Nurse", .92, 24},
	{"Matron", .95, 28}, {"Domestic staff", 1, 5},
}

var homeNames = []string{"Beech House", "Cedar Lodge", "Rowan Court", "Willow Grange", "Hazel Bank", "Larch View",
	"Maple Lodge", "Holly Mount", "Aspen House", "Elder Court", "Linden Hall", "Poplar Rise"}

// loadCareHome fills a care-home provider's compliance tables: its homes
// (one for every 60 staff or so), job roles and what each requires, one
// competency each home adds, and every holder's employment at a home in a
// role; a holder who has left has an ended employment.
func loadCareHome(exec execFunc, t Tenant) (int64, error) {
	homes := max(1, t.Holders/60)
	var total int64
	var names []string
	var upTo []float64
	var requires []int
	for _, r := range jobRoles {
		names, upTo, requires = append(names, r.name), append(upTo, r.upTo), append(requires, r.requires)
	}
	n, err := exec("homes", `INSERT INTO care_homes (tenant_id, id, name, created_at)
		SELECT {T}, `+id("home", "h")+`, ($1::text[])[1 + h % cardinality($1::text[])] ||
			CASE WHEN h >= cardinality($1::text[]) THEN ' ' || (1 + h / cardinality($1::text[])) ELSE '' END, now()
		FROM generate_series(0, $2::int - 1) h`, homeNames, homes)
	if err != nil {
		return 0, err
	}
	total += n
	if n, err = exec("job roles", `INSERT INTO job_roles (tenant_id, id, name, created_at)
		SELECT {T}, `+id("job-role", "i")+`, name, now() FROM unnest($1::text[]) WITH ORDINALITY AS r(name, i)`, names); err != nil {
		return 0, err
	}
	total += n
	if n, err = exec("role requirements", `
		WITH comps AS (`+comps+`)
		INSERT INTO role_requirements (tenant_id, role_id, competency_id)
		SELECT {T}, `+id("job-role", "r.i")+`, c.id FROM unnest($1::int[]) WITH ORDINALITY AS r(requires, i) JOIN comps c ON c.k < r.requires`,
		requires); err != nil {
		return 0, err
	}
	total += n
	if n, err = exec("home requirements", `
		WITH comps AS (`+comps+`)
		INSERT INTO home_requirements (tenant_id, home_id, competency_id)
		SELECT {T}, `+id("home", "h")+`, c.id FROM generate_series(0, $1::int - 1) h JOIN comps c ON c.k = 28 + h % 3`, homes); err != nil {
		return 0, err
	}
	total += n
	if t.Holders == 0 {
		return total, nil
	}
	n, err = exec("employments", `
		INSERT INTO employments (tenant_id, id, holder_id, home_id, role_id, started_on, ended_on, end_reason, created_at, updated_at)
		SELECT {T}, `+id("employment", "g")+`, h.id, `+id("home", "g % $2::int")+`,
			`+id("job-role", "(SELECT min(i) FROM unnest($3::float8[]) WITH ORDINALITY AS r(up_to, i) WHERE x.ur < r.up_to)")+`,
			h.created_at::date, CASE WHEN h.status = 'left' THEN greatest(h.created_at::date, ({ASOF})::date - 30) END,
			CASE WHEN h.status = 'left' THEN 'Left the provider' ELSE '' END, h.created_at, h.created_at
		FROM (SELECT g, `+u("g", 18)+` AS ur FROM generate_series(0, $1::int - 1) g) x
		JOIN holders h ON h.tenant_id = {T} AND h.id = `+id("holder", "g"), t.Holders, homes, upTo)
	return total + n, err
}
