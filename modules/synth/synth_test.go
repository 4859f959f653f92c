package synth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carepass/carepass/migrations/testdb"
	"github.com/carepass/carepass/modules/synth"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

var asOf = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func small(seed int64) synth.Spec {
	return synth.Spec{Tenants: 8, Holders: 320, Records: 3200, Seed: seed, AsOf: asOf, RefHolders: 40}
}

func TestPlanSharesOutExactlyAndKeepsTheReferenceTenantsSize(t *testing.T) {
	sum := func(ts []synth.Tenant) (h, r int) {
		for _, x := range ts {
			h, r = h+x.Holders, r+x.Records
		}
		return
	}
	few, err := synth.Plan(synth.Spec{Tenants: 10, Holders: 10 * 40, Records: 10 * 40 * 25, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	many, err := synth.Plan(synth.Spec{Tenants: 1000, Holders: 1000 * 40, Records: 1000 * 40 * 25, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if h, r := sum(few); h != 400 || r != 10000 {
		t.Errorf("10 tenants: %d holders, %d records; want 400 and 10000", h, r)
	}
	if h, r := sum(many); h != 40000 || r != 1000000 {
		t.Errorf("1000 tenants: %d holders, %d records; want 40000 and 1000000", h, r)
	}
	if few[0] != many[0] || few[0].Kind != tenants.KindCareHome || few[0].Holders != 250 || few[0].Records != 250*25 {
		t.Errorf("the reference tenant must be the same care home of 250 holders at both sizes: %+v and %+v", few[0], many[0])
	}
	kinds := map[tenants.Kind]int{}
	for i, x := range many {
		kinds[x.Kind]++
		if x != many[i] || !strings.HasPrefix(x.Slug, synth.SlugPrefix) || !strings.HasPrefix(x.Name, "Synthetic ") || x.Region == "" {
			t.Fatalf("tenant %d is not marked synthetic or has no region: %+v", i, x)
		}
		if i < 10 && (x.Slug != few[i].Slug || x.Kind != few[i].Kind || x.Name != few[i].Name) {
			t.Fatalf("tenant %d changed kind or name as the population grew: %+v, %+v", i, few[i], x)
		}
	}
	// Mostly care homes and GP practices, some charities and trusts.
	if kinds[tenants.KindCareHome] < 500 || kinds[tenants.KindGPPractice] < 200 ||
		kinds[tenants.KindCarersCharity] < 40 || kinds[tenants.KindPaediatricTrust] < 15 ||
		kinds[tenants.KindCareHome] < kinds[tenants.KindGPPractice] || kinds[tenants.KindGPPractice] < kinds[tenants.KindCarersCharity] {
		t.Errorf("kinds of 1000 tenants: %v", kinds)
	}
}

func TestPlanRefusesWhatCannotBeMade(t *testing.T) {
	for name, spec := range map[string]synth.Spec{
		"no tenants":                     {Tenants: 0, Holders: 10, Records: 10},
		"fewer holders than tenants":     {Tenants: 10, Holders: 5, Records: 10},
		"more records than competencies": {Tenants: 2, Holders: 10, Records: 10 * 45},
		"negative records":               {Tenants: 2, Holders: 10, Records: -1},
		"seed out of range":              {Tenants: 2, Holders: 10, Records: 10, Seed: -3},
		"too many tenants":               {Tenants: synth.MaxTenants + 1, Holders: synth.MaxTenants + 1},
	} {
		if _, err := synth.Plan(spec); !errors.Is(err, synth.ErrSpec) {
			t.Errorf("%s: got %v, want a refusal", name, err)
		}
	}
}

// ownerPool connects to db as the schema owner, as the command does.
func ownerPool(t *testing.T, db *testdb.DB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// scoped runs fn in a transaction of db's app-role pool scoped to tenant
// (none for uuid.Nil), as the server's requests are.
func scoped(t *testing.T, pool *pgxpool.Pool, tenant uuid.UUID, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		setting := ""
		if tenant != uuid.Nil {
			setting = tenant.String()
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, setting); err != nil {
			return err
		}
		fn(tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, tx pgx.Tx, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := tx.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

type synthTenant struct {
	ID   uuid.UUID
	Slug string
	Kind tenants.Kind
}

func synthTenants(t *testing.T, pool *pgxpool.Pool) []synthTenant {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, slug, kind FROM tenants WHERE slug LIKE 'synth-%' ORDER BY slug`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[synthTenant])
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// tenantTables are tables with tenant_id the loader writes to.
var tenantTables = []string{"roles", "memberships", "holders", "catalogues", "competencies", "competency_records",
	"record_events", "courses", "course_competencies", "training_sessions", "bookings", "schemes", "carer_passports",
	"carer_passport_events", "carer_register_entries", "care_homes", "job_roles", "role_requirements", "home_requirements",
	"employments"}

func TestLoadMakesWhatTheFlagsSayIsolatedByTenant(t *testing.T) {
	db := testdb.New(t)
	owner := ownerPool(t, db)
	spec := small(7)
	rep, err := synth.Load(context.Background(), owner, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := synth.Plan(spec)
	if rep.Tenants != 8 || rep.Holders != 320 || rep.Records != 3200 || rep.Events != 3200 || rep.Skipped != 0 {
		t.Fatalf("report: %+v", rep)
	}
	list := synthTenants(t, db.Pool)
	if len(list) != 8 {
		t.Fatalf("%d synthetic tenants, want 8", len(list))
	}
	// Without a tenant, the app role sees no tenant's rows at all.
	scoped(t, db.Pool, uuid.Nil, func(tx pgx.Tx) {
		for _, table := range tenantTables {
			if n := count(t, tx, "SELECT count(*) FROM "+table); n != 0 {
				t.Errorf("unscoped, %s shows %d rows", table, n)
			}
		}
	})
	holders, records, passports := 0, 0, 0
	for i, tn := range list {
		want := plan[i]
		if tn.Slug != want.Slug || tn.Kind != want.Kind {
			t.Fatalf("tenant %d is %s (%s), planned %s (%s)", i, tn.Slug, tn.Kind, want.Slug, want.Kind)
		}
		scoped(t, db.Pool, tn.ID, func(tx pgx.Tx) {
			// A tenant's scope sees its own synthetic rows and nobody else's.
			for _, table := range tenantTables {
				if n := count(t, tx, "SELECT count(*) FROM "+table+" WHERE tenant_id <> $1", tn.ID); n != 0 {
					t.Errorf("%s sees %d rows of other tenants in %s", tn.Slug, n, table)
				}
			}
			h := count(t, tx, `SELECT count(*) FROM holders`)
			r := count(t, tx, `SELECT count(*) FROM competency_records`)
			if h != want.Holders || r != want.Records {
				t.Errorf("%s: %d holders and %d records, planned %d and %d", tn.Slug, h, r, want.Holders, want.Records)
			}
			if n := count(t, tx, `SELECT count(*) FROM competency_records r JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
				AND h.person_id = r.person_id`); n != r {
				t.Errorf("%s: %d of %d records belong to their holder's person", tn.Slug, n, r)
			}
			if n := count(t, tx, `SELECT count(*) FROM catalogues WHERE status = 'published' AND std_catalogue_id IS NOT NULL`); n < 1 {
				t.Errorf("%s adopted no standard catalogue", tn.Slug)
			}
			if n := count(t, tx, `SELECT count(DISTINCT state) FROM competency_records`); r > 200 && n < 5 {
				t.Errorf("%s: records in only %d states", tn.Slug, n)
			}
			if n := count(t, tx, `SELECT count(*) FROM training_sessions WHERE public AND status = 'scheduled'`); n < 1 {
				t.Errorf("%s has no public sessions to come", tn.Slug)
			}
			// Every template role exists, with its permissions in casbin,
			// and the synthetic administrator holds the admin role.
			templates := policy.Templates(tn.Kind)
			if n := count(t, tx, `SELECT count(*) FROM roles WHERE template_key <> ''`); n != len(templates) {
				t.Errorf("%s: %d roles, want %d", tn.Slug, n, len(templates))
			}
			for _, rt := range templates {
				if n := count(t, tx, `SELECT count(*) FROM casbin_rule WHERE ptype = 'p' AND v0 = $1 AND v1 = $2`, rt.Key, tn.ID.String()); n != len(rt.Permissions) {
					t.Errorf("%s: role %s has %d rules, want %d", tn.Slug, rt.Key, n, len(rt.Permissions))
				}
			}
			if n := count(t, tx, `SELECT count(*) FROM casbin_rule c JOIN accounts a ON a.id::text = c.v0
				WHERE c.ptype = 'g' AND c.v1 = $1 AND c.v2 = $2 AND a.email = $3`,
				policy.AdminRole(tn.Kind), tn.ID.String(), "admin@"+tn.Slug+"."+synth.EmailDomain); n != 1 {
				t.Errorf("%s: the synthetic administrator holds the admin role %d times", tn.Slug, n)
			}
			if tn.Kind == tenants.KindCareHome {
				if n := count(t, tx, `SELECT count(*) FROM employments`); n != h {
					t.Errorf("%s: %d employments for %d holders", tn.Slug, n, h)
				}
				if n := count(t, tx, `SELECT count(*) FROM employments WHERE ended_on IS NULL`); n < h*9/10 {
					t.Errorf("%s: only %d current employments of %d", tn.Slug, n, h)
				}
				if n := count(t, tx, `SELECT count(DISTINCT role_id) FROM role_requirements`); n != 5 {
					t.Errorf("%s: %d job roles with requirements, want 5", tn.Slug, n)
				}
				if n := count(t, tx, `SELECT count(*) FROM care_homes h WHERE EXISTS (SELECT 1 FROM home_requirements r
					WHERE r.tenant_id = h.tenant_id AND r.home_id = h.id)`); n < 1 || n != count(t, tx, `SELECT count(*) FROM care_homes`) {
					t.Errorf("%s: %d homes with an added requirement", tn.Slug, n)
				}
			}
			holders, records = holders+h, records+r
			passports += count(t, tx, `SELECT count(*) FROM carer_passports`)
		})
	}
	if holders != 320 || records != 3200 {
		t.Errorf("in all %d holders and %d records, want 320 and 3200", holders, records)
	}
	if int64(passports) != rep.Passports {
		t.Errorf("%d passports stored, %d reported", passports, rep.Passports)
	}

	// Running it again makes nothing new.
	again, err := synth.Load(context.Background(), owner, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Tenants != 0 || again.Skipped != 8 || len(synthTenants(t, db.Pool)) != 8 {
		t.Fatalf("second run: %+v", again)
	}
}

// fingerprint digests every tenant's synthetic content other than ids and
// creation times.
func fingerprint(t *testing.T, db *testdb.DB) string {
	t.Helper()
	var b strings.Builder
	for _, tn := range synthTenants(t, db.Pool) {
		scoped(t, db.Pool, tn.ID, func(tx pgx.Tx) {
			var h string
			err := tx.QueryRow(context.Background(), `SELECT md5(concat_ws('|',
				(SELECT string_agg(concat_ws(',', given_name, family_name, email, date_of_birth, role_in_care, status), ';' ORDER BY email) FROM holders),
				(SELECT string_agg(concat_ws(',', h.email, c.code, r.state, r.practices_done, r.signed_off_at, r.setting), ';' ORDER BY h.email, c.code)
					FROM competency_records r JOIN holders h ON h.tenant_id = r.tenant_id AND h.id = r.holder_id
					JOIN competencies c ON c.tenant_id = r.tenant_id AND c.id = r.competency_id),
				(SELECT string_agg(concat_ws(',', starts_at, public, status), ';' ORDER BY starts_at, public, status) FROM training_sessions),
				(SELECT string_agg(concat_ws(',', h.email, s.starts_at, b.status), ';' ORDER BY h.email, s.starts_at)
					FROM bookings b JOIN holders h ON h.tenant_id = b.tenant_id AND h.id = b.holder_id
					JOIN training_sessions s ON s.tenant_id = b.tenant_id AND s.id = b.session_id),
				(SELECT string_agg(concat_ws(',', code, holder_name, state, valid_until), ';' ORDER BY code) FROM carer_passports)))`).Scan(&h)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s %s\n", tn.Slug, tn.Kind, h)
		})
	}
	return b.String()
}

func TestLoadIsReproducibleFromItsSeed(t *testing.T) {
	load := func(seed int64) string {
		db := testdb.New(t)
		if _, err := synth.Load(context.Background(), ownerPool(t, db), small(seed), nil); err != nil {
			t.Fatal(err)
		}
		return fingerprint(t, db)
	}
	a, b, other := load(11), load(11), load(12)
	if a != b {
		t.Fatalf("the same seed made different populations:\n%s\n%s", a, b)
	}
	if a == other {
		t.Fatal("another seed made the same population")
	}
}
