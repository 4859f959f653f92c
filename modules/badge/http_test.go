package badge_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/badge"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/web"
	"github.com/carepass/carepass/web/webtest"
)

// newServer is the real web application with the badge routes mounted,
// the holder portal under /me.
func newServer(t *testing.T, f *fixture) *webtest.Site {
	t.Helper()
	return webtest.NewSite(t, f.Scoped, f.Accounts,
		web.Deps{Pool: f.DB.Pool, Members: webtest.Memberships{}, Tenants: f.Store, Policy: f.Enforcers()},
		[]web.TemplateSet{{Namespace: "badge", FS: badge.Templates}},
		func(srv *web.Server) {
			badge.Routes(srv.Public, srv.App.Group("/me"), f.badges)
		})
}

// browser is a client of s signed in as accountID (signed out for
// uuid.Nil) that has picked up a CSRF token.
func browser(t *testing.T, s *webtest.Site, accountID uuid.UUID) *webtest.Client {
	t.Helper()
	b := s.Client(t, accountID)
	webtest.Expect(t, "", b.Get("/badges/verify"), 200, `name="_csrf"`)
	return b
}

func expect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	webtest.Expect(t, "", r, status, contains...)
}

func lacks(t *testing.T, r webtest.Response, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.Body, s) {
			t.Errorf("%s %s shows %q", r.Method, r.Path, s)
		}
	}
}

func TestHolderPages(t *testing.T) {
	f := newFixture(t)
	bea := f.Account("bea@example.org", "Bea Brown")
	beas := f.signedOffRecord(f.trust, f.Holder(f.trust, "Bea", "Brown", bea), f.comps["SUCTION-01"], f.signedOff)
	practice := f.Record(f.trust, f.amiraH, f.comps["OXYGEN-01"], moduletest.Record{State: "supervised_practice", Practices: 1})
	srv := newServer(t, f)
	out, amira, b := browser(t, srv, uuid.Nil), browser(t, srv, f.amira), browser(t, srv, bea)

	r := out.Get("/me/badges")
	if r.Status != 302 || !strings.HasPrefix(r.Location, "/signin") {
		t.Errorf("signed out: %d %s", r.Status, r.Location)
	}
	expect(t, out.PostForm("/me/badges", url.Values{"record": {f.competent.String()}}), 401)

	r = amira.Get("/me/badges")
	expect(t, r, 200, "Credentials of your competencies", "SUCTION-01 Title of SUCTION-01", "Wrenford Children&#39;s Hospital",
		"Create credential", `value="`+f.competent.String()+`"`)
	lacks(t, r, practice.String(), "OXYGEN-01")

	// Refusals: another person's record, a record not signed off, nonsense.
	expect(t, amira.PostForm("/me/badges", url.Values{"record": {beas.String()}}), 404)
	expect(t, amira.PostForm("/me/badges", url.Values{"record": {practice.String()}}), 422, "There is a problem",
		"This one is not signed off yet.")
	expect(t, amira.PostForm("/me/badges", url.Values{"record": {"not-an-id"}}), 422, "Choose the competency")
	if n := f.Rows(f.trust, "badges", ""); n != 0 {
		t.Fatalf("%d badges after refusals", n)
	}

	r = amira.PostForm("/me/badges", url.Values{"record": {f.competent.String()}})
	if r.Status != 303 || !strings.HasPrefix(r.Location, "/me/badges/") {
		t.Fatalf("create: %d %s\n%s", r.Status, r.Location, r.Body)
	}
	badgePath := r.Location
	own, err := f.badges.OwnBadge(self(f.amira), uuid.MustParse(strings.TrimPrefix(badgePath, "/me/badges/")))
	if err != nil {
		t.Fatal(err)
	}
	r = amira.Get(badgePath)
	expect(t, r, 200, "is ready", "Title of SUCTION-01", "Valid", own.JWT, badgePath+"/credential.jwt", `href="/badges/verify"`,
		"9 March 2026", "9 March 2027")
	r = amira.Get(badgePath + "/credential.jwt")
	expect(t, r, 200)
	if r.Body != own.JWT || r.Header.Get("Content-Type") != "application/vc+jwt" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="`+own.Filename()+`"` {
		t.Errorf("download: %q %q %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.Body)
	}
	expect(t, amira.Get("/me/badges"), 200, "View credential", "Credentials you have made", "Valid")

	// Bea cannot see Amira's credential; nonsense ids are not found.
	expect(t, b.Get(badgePath), 404)
	expect(t, b.Get(badgePath+"/credential.jwt"), 404)
	expect(t, amira.Get("/me/badges/not-an-id"), 404)
	lacks(t, b.Get("/me/badges"), own.ID.String())

	// Withdrawn when the competency is suspended.
	f.setState(f.trust, f.competent, "suspended")
	expect(t, amira.Get(badgePath), 200, "Withdrawn")
}

func TestVerifyPagesAndAPI(t *testing.T) {
	f := newFixture(t)
	own := f.issue(f.amira, f.competent)
	srv := newServer(t, f)
	c := browser(t, srv, uuid.Nil) // verifiers need no account

	r := c.PostForm("/badges/verify", url.Values{"credential": {own.JWT}})
	expect(t, r, 200, "Valid credential", "Amira Okafor", "SUCTION-01 Title of SUCTION-01", "Wrenford Children&#39;s Hospital",
		"9 March 2027")
	expect(t, c.PostForm("/badges/verify", url.Values{"credential": {"  "}}), 422, `href="#credential"`, "Paste the credential")
	seg := strings.Split(own.JWT, ".")
	tampered := seg[0] + "." + seg[1][:len(seg[1])-4] + "AAAA." + seg[2]
	r = c.PostForm("/badges/verify", url.Values{"credential": {tampered}})
	expect(t, r, 200, "Credential not valid", "Changed since it was signed")
	lacks(t, r, "Amira")
	expect(t, c.PostForm("/badges/verify", url.Values{"credential": {"nonsense"}}), 200, "Cannot be read")

	// A form without its CSRF token is refused.
	stranger := srv.Client(t, uuid.Nil)
	expect(t, stranger.PostForm("/badges/verify", url.Values{"credential": {own.JWT}}), 403)

	// The JSON API.
	var res badge.ResultJSON
	r = c.API("POST", "/api/v1/badges/verify", `{"credential": "`+own.JWT+`"}`)
	expect(t, r, 200)
	if err := json.Unmarshal([]byte(r.Body), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Valid || res.Reason != "" || res.Credential == nil || res.Credential.Holder != "Amira Okafor" ||
		res.Credential.Issuer.Name != "Wrenford Children's Hospital" || res.Credential.Achievement.Code != "SUCTION-01" ||
		res.Credential.ValidUntil == nil || !res.Credential.ValidFrom.Equal(f.signedOff) {
		t.Errorf("API: %s", r.Body)
	}
	expect(t, c.API("POST", "/api/v1/badges/verify", `{"credential": ""}`), 422, `"field":"credential"`)
	expect(t, c.API("POST", "/api/v1/badges/verify", `{"jwt": "x"}`), 422, "Unknown field")
	r = c.API("POST", "/api/v1/badges/verify", `{"credential": "`+tampered+`"}`)
	expect(t, r, 200, `"valid":false`, `"reason":"bad_signature"`)
	lacks(t, r, "Amira", `"credential"`)

	f.setState(f.trust, f.competent, "revoked")
	expect(t, c.API("POST", "/api/v1/badges/verify", `{"credential": "`+own.JWT+`"}`), 200, `"valid":false`, `"reason":"revoked"`,
		`"holder":"Amira Okafor"`)
	expect(t, c.PostForm("/badges/verify", url.Values{"credential": {own.JWT}}), 200, "Withdrawn by the issuer")
}

func TestPublishedDocuments(t *testing.T) {
	f := newFixture(t)
	own := f.issue(f.amira, f.competent)
	srv := newServer(t, f)
	c := srv.Client(t, uuid.Nil)

	r := c.Get("/badges/issuers/wrenford")
	expect(t, r, 200, `"id":"`+baseURL+`/badges/issuers/wrenford"`, `"type":["Profile"]`, `"name":"Wrenford Children's Hospital"`,
		`context-3.0.3.json`)
	if r.Header.Get("Cache-Control") != "public, max-age=3600" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("profile headers: %v", r.Header)
	}
	expect(t, c.Get("/badges/issuers/no-such-org"), 404)
	expect(t, c.Get("/badges/issuers/wrenford/keys/"+own.KID), 200, `"kty":"OKP"`, `"crv":"Ed25519"`,
		`"kid":"`+baseURL+`/badges/issuers/wrenford/keys/`+own.KID+`"`)
	expect(t, c.Get("/badges/issuers/wrenford/keys/AAAAAAAAAAA"), 404)

	r = c.Get("/badges/status/wrenford")
	expect(t, r, 200)
	if r.Header.Get("Content-Type") != "application/vc+jwt" || r.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("status headers: %v", r.Header)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`).MatchString(r.Body) {
		t.Errorf("status body is not a compact JWT: %.80q", r.Body)
	}
	if _, p := parts(t, r.Body); p["type"] == nil {
		t.Error("status credential has no type")
	}
	expect(t, c.Get("/badges/status/no-such-org"), 404)
	expect(t, c.Get("/badges/status/bad%20slug"), 404)
}

func TestVerificationIsThrottled(t *testing.T) {
	f := newFixture(t)
	f.badges.SetVerifyLimits(5, 0)
	srv := newServer(t, f)
	c := browser(t, srv, uuid.Nil)
	for i := 0; i < 5; i++ {
		if r := c.API("POST", "/api/v1/badges/verify", `{"credential": "x"}`); r.Status != 200 {
			t.Fatalf("check %d: %d", i+1, r.Status)
		}
	}
	expect(t, c.API("POST", "/api/v1/badges/verify", `{"credential": "x"}`), 429)
	expect(t, c.PostForm("/badges/verify", url.Values{"credential": {"x"}}), 429)
	f.clock.Advance(61e9)
	expect(t, c.API("POST", "/api/v1/badges/verify", `{"credential": "x"}`), 200, `"reason":"malformed"`)
}
