package jobs_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/jobs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

var expect = webtest.Expect

func TestOperatorSeesRecentJobs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	enf := f.Enforcers()
	operator := f.Account("operator@carepass.example", "Olu Operator")
	err := f.Scoped.Platform(ctx, func(tx *gorm.DB) error {
		if err := policy.ApplyPlatform(ctx, tx); err != nil {
			return err
		}
		return policy.AssignRole(ctx, tx, policy.PlatformDomain, operator.String(), policy.OperatorRole)
	})
	if err != nil {
		t.Fatal(err)
	}
	enf.Invalidate(policy.PlatformDomain)
	admin := f.Staff(f.tenant, "admin@wren.example", "Ada Admin", "tenant_admin")
	site := webtest.NewSite(t, f.Scoped, f.Accounts,
		web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{f.tenant}, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "jobs", FS: jobs.Templates}},
		func(srv *web.Server) { jobs.Routes(srv.Operator, f.q, enf) })

	// One job completed after a retry, one discarded, one still waiting.
	if err := f.inTenant(noteArgs{Note: "flaky", FailTimes: 1}, nil); err != nil {
		t.Fatal(err)
	}
	err = f.Scoped.Tx(moduletest.As(f.tenant, uuid.Nil), func(tx *gorm.DB) error {
		return f.q.Enqueue(ctx, tx, noteArgs{Note: "hopeless <b>", FailTimes: 5}, &river.InsertOpts{MaxAttempts: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.start()
	f.waitFor(jobs.StateCompleted, 1)
	f.waitFor(jobs.StateDiscarded, 1)
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f.q.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if err := f.inTenant(reminderArgs{HolderID: uuid.New(), CompetencyID: uuid.New(), OffsetDays: 30}, nil); err != nil {
		t.Fatal(err)
	}

	r := site.Client(t, uuid.Nil).Get("/operator/jobs")
	if r.Status != http.StatusFound {
		t.Errorf("signed out: status %d; want 302 to sign in", r.Status)
	}
	expect(t, "a tenant's administrator", site.Client(t, admin).Get("/operator/jobs"), http.StatusForbidden)

	op := site.Client(t, operator)
	r = op.Get("/operator/jobs")
	expect(t, "every job", r, http.StatusOK, "<h1>Background jobs</h1>", "3 jobs", "test_note", "test_reminder",
		"Completed", "Discarded", "Available", "2 of 10", "1 of 1", "0 of 10",
		"run 1 of hopeless &lt;b&gt; fails on purpose", "run 1 of flaky fails on purpose", `<option value="" selected>Any state</option>`)
	if strings.Contains(r.Body, "hopeless <b>") {
		t.Error("a job's error is not escaped")
	}
	if strings.Contains(r.Body, "holder_id") {
		t.Error("the page shows a job's arguments")
	}

	r = op.Get("/operator/jobs?state=discarded")
	expect(t, "discarded jobs", r, http.StatusOK, "1 job<", "Discarded", "run 1 of hopeless", `<option value="discarded" selected>`)
	if strings.Contains(r.Body, "flaky") || strings.Contains(r.Body, "test_reminder") {
		t.Error("the filter on discarded shows other jobs")
	}
	expect(t, "no running jobs", op.Get("/operator/jobs?state=running"), http.StatusOK, "No jobs match.")
	expect(t, "an unknown state", op.Get("/operator/jobs?state=exploded"), http.StatusUnprocessableEntity,
		"nhsuk-error-summary", `href="#state"`, "Choose a state from the list", "nhsuk-select--error", `aria-describedby="state-error"`)
}
