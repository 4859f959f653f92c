package carerpassport_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/access"
	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newSite is the real web application with the passport routes mounted.
func newSite(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	enf := f.Enforcers()
	f.Invalidate = enf.Invalidate
	members := access.NewService(f.Scoped, f.Store, f.Accounts, f.Log, enf, f.clock.Now)
	return webtest.NewSite(t, f.Scoped, f.Accounts, web.Deps{Pool: f.DB.Pool, Members: members, Tenants: f.Store, Policy: enf},
		[]web.TemplateSet{{Namespace: "carerpassport", FS: carerpassport.Templates}},
		func(srv *web.Server) {
			carerpassport.Routes(carerpassport.Routers{Tenant: srv.Tenant, TenantAPI: srv.TenantAPI, Portal: srv.App.Group("/me"),
				Public: srv.Public, API: srv.API}, f.svc, enf, "https://carepass.example")
			srv.Stateless(carerpassport.PublicAPIPath)
		})
}

func browser(t *testing.T, s *webtest.Site, accountID uuid.UUID) *webtest.Client {
	t.Helper()
	b := s.Client(t, accountID)
	b.Get("/verify")
	return b
}

func expect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	webtest.Expect(t, "", r, status, contains...)
}

// publicVerify posts to the public JSON endpoint as a third party would:
// no cookies, no CSRF token.
func publicVerify(t *testing.T, c *webtest.Client, body string) webtest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, carerpassport.PublicAPIPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

func TestOfficerIssuesAndRevokesThroughThePages(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	s := newSite(t, f)
	b := browser(t, s, f.officer)

	expect(t, b.Get("/t/lanternfield/carer-passports/new?q=okafor"), 200, "Issue to Amira Okafor")
	form := "/t/lanternfield/carer-passports/new?holder=" + f.holder.String()
	expect(t, b.Get(form), 200, "Adult carer passport", `name="consent_given_by"`, "Verifiers never see anything about the person cared for")

	// Missing consent: 422 with the reasons, what was typed kept, nothing stored.
	in := url.Values{"holder": {f.holder.String()}, "scheme": {f.scheme.String()}, "cared_for_name": {"Grace Okafor"},
		"relationship": {"Mother"}, "health_details": {"Dementia"}}
	r := b.PostForm("/t/lanternfield/carer-passports", in)
	expect(t, r, 422, "There is a problem", "needs the consent of the person cared for", `href="#consent_method"`, `value="Grace Okafor"`)
	if n := f.Rows(f.charity, "carer_passports", "true"); n != 0 {
		t.Fatalf("%d passports stored by a refused issue", n)
	}

	in.Set("consent_given_by", "Grace Okafor")
	in.Set("consent_method", "written")
	day := f.clock.Now().AddDate(0, 0, -2)
	in.Set("consent_date-day", day.Format("2"))
	in.Set("consent_date-month", day.Format("1"))
	in.Set("consent_date-year", day.Format("2006"))
	r = b.PostForm("/t/lanternfield/carer-passports", in)
	if r.Status != 303 {
		t.Fatalf("issue: %d\n%s", r.Status, r.Body)
	}
	page := b.Get(r.Location)
	expect(t, page, 200, "Passport issued to Amira Okafor", "Dementia", "Given by Grace Okafor, In writing", "Flexible visiting")
	code := regexp.MustCompile(`id="passport-code">([0-9A-Z-]{19})<`).FindStringSubmatch(page.Body)
	if code == nil {
		t.Fatal("no code on the passport page")
	}
	base := r.Location
	svg := b.Get(base + "/qr.svg")
	if svg.Status != 200 || !strings.HasPrefix(svg.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(svg.Body, "<svg") {
		t.Fatalf("QR: %d %s", svg.Status, svg.Header.Get("Content-Type"))
	}
	card := b.Get(base + "/card.pdf")
	if card.Status != 200 || !strings.HasPrefix(card.Body, "%PDF-") || card.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("card: %d %s", card.Status, card.Header.Get("Content-Type"))
	}

	anon := browser(t, s, uuid.Nil)
	expect(t, anon.Get("/verify/"+code[1]), 200, "Registered carer", "Amira Okafor", "Lanternfield Carers", "Parking concession")

	// Revoking needs a reason.
	expect(t, b.PostForm(base+"/revoke", url.Values{}), 422, "Select why the passport is being revoked")
	r = b.PostForm(base+"/revoke", url.Values{"reason": {"no_longer_caring"}})
	if r.Status != 303 {
		t.Fatalf("revoke: %d", r.Status)
	}
	expect(t, b.Get(base), 200, "Passport revoked", "No longer caring", "Revoked")
	neg := anon.Get("/verify/" + code[1])
	expect(t, neg, 200, carerpassport.NotConfirmed)
	if strings.Contains(neg.Body, "Amira") || strings.Contains(neg.Body, "Grace") {
		t.Fatal("a negative answer names someone")
	}
}

func TestNegativeAnswersAreByteIdentical(t *testing.T) {
	f := newFixture(t, carerpassport.Config{ClientPerMinute: 1000})
	ctx := f.officerCtx()
	s := newSite(t, f)
	anon := browser(t, s, uuid.Nil)

	suspended, revoked, expired, active := f.issue(), f.issue(), f.issue(), f.issue()
	f.svc.Suspend(ctx, suspended.ID, "")
	f.svc.Revoke(ctx, revoked.ID, carerpassport.IssuedInError, "")
	// Expire one by moving its validity into the past (the clock moving
	// would expire them all).
	f.In(f.charity, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE carer_passports SET valid_from = valid_from - interval '400 days', valid_until = valid_until - interval '399 days' WHERE id = ?`, expired.ID).Error
	})
	unknown := credential.NewCode().String()
	mistyped := []byte(active.Code)
	if mistyped[0] == 'A' {
		mistyped[0] = 'B'
	} else {
		mistyped[0] = 'A'
	}

	cases := map[string]string{"unknown": unknown, "malformed": "hello", "mistyped": string(mistyped),
		"suspended": suspended.Code, "revoked": revoked.Code, "expired": expired.Code, "forged QR": "CP1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEHSQ",
		"empty": "", "oversized": strings.Repeat("A", 10000)}
	var jsonBody, pageBody string
	for name, text := range cases {
		j := publicVerify(t, anon, `{"code":`+quote(text)+`}`)
		if j.Status != 200 {
			t.Fatalf("%s: JSON status %d", name, j.Status)
		}
		if jsonBody == "" {
			jsonBody = j.Body
		} else if j.Body != jsonBody {
			t.Fatalf("%s: JSON body differs:\n%s\n%s", name, j.Body, jsonBody)
		}
		p := anon.PostForm("/verify", url.Values{"text": {text}})
		if p.Status != 200 {
			t.Fatalf("%s: page status %d", name, p.Status)
		}
		if pageBody == "" {
			pageBody = p.Body
		} else if p.Body != pageBody {
			t.Fatalf("%s: page differs from another negative answer", name)
		}
	}
	if jsonBody != `{"result":"not_confirmed","message":"This passport cannot be confirmed as valid"}` {
		t.Fatalf("negative JSON: %s", jsonBody)
	}
	ok := publicVerify(t, anon, `{"qr":`+quote(active.QR)+`}`)
	expect(t, ok, 200, `"result":"confirmed"`, `"holder_name":"Amira Okafor"`, `"status":"registered_carer"`)
	if strings.Contains(ok.Body, "Grace") || strings.Contains(ok.Body, "Mother") || strings.Contains(ok.Body, "Dementia") {
		t.Fatalf("a confirmed answer discloses the person cared for: %s", ok.Body)
	}
}

func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func TestPublicVerificationIsThrottled(t *testing.T) {
	f := newFixture(t, carerpassport.Config{ClientPerMinute: 10})
	s := newSite(t, f)
	anon := browser(t, s, uuid.Nil)
	for i := range 10 {
		if r := publicVerify(t, anon, `{"code":"`+credential.NewCode().String()+`"}`); r.Status != 200 {
			t.Fatalf("check %d: %d", i, r.Status)
		}
	}
	expect(t, publicVerify(t, anon, `{"code":"x"}`), 429)
	expect(t, anon.PostForm("/verify", url.Values{"text": {"x"}}), 429, "Too many checks")
}

func TestHolderShowsTheirPassport(t *testing.T) {
	f := newFixture(t, carerpassport.Config{})
	account := f.Account("amira@example.org", "Amira Okafor")
	f.holder = f.Holder(f.charity, "Amira", "Okafor", account)
	p := f.issue()
	s := newSite(t, f)
	me := browser(t, s, account)
	expect(t, me.Get("/me/carer-passports"), 200, "Adult carer passport", "Lanternfield Carers")
	base := "/me/carer-passports/" + p.ID.String()
	expect(t, me.Get(base+"/show"), 200, p.Code, `src="`+base+`/qr.svg"`, "https://carepass.example/verify")
	if r := me.Get(base + "/qr.svg"); r.Status != 200 || !strings.Contains(r.Body, "<svg") {
		t.Fatalf("own QR: %d", r.Status)
	}
	if r := me.Get(base + "/card.pdf"); r.Status != 200 || !strings.HasPrefix(r.Body, "%PDF-") {
		t.Fatalf("own card: %d", r.Status)
	}

	// A GP practice checks it: the holder sees who.
	gp := f.NamedTenant("kestrel", "Kestrel Lane Surgery", "gp_practice")
	reception := f.Staff(gp, "desk@kestrel.example", "Dee Desk", "reception")
	desk := browser(t, s, reception)
	expect(t, desk.PostForm("/t/kestrel/check", url.Values{"text": {p.Code}}), 200, "Registered carer", "Amira Okafor")
	expect(t, me.Get(base), 200, "Kestrel Lane Surgery", "Confirmed as valid", "Ask Lanternfield Carers to renew it")

	r := me.PostForm(base+"/renewal", url.Values{"note": {"Card is worn out"}})
	if r.Status != 303 {
		t.Fatalf("ask renewal: %d", r.Status)
	}
	expect(t, me.Get(base), 200, "You asked for renewal")

	stranger := browser(t, s, f.Account("x@example.org", "X"))
	expect(t, stranger.Get(base), 404)
	expect(t, stranger.Get(base+"/card.pdf"), 404)
}
