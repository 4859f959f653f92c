package carehome_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/carehome"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/share"
)

// importPlace sets up a home and a role for imports.
func importPlace(f *fixture) map[string]uuid.UUID {
	comps := f.Catalogue(f.meadow, "chs", moduletest.Competency{Code: "CHS-01"})
	f.place("Meadowbank House", "Care assistant", comps["CHS-01"])
	return comps
}

// counts is the stored rows an import could change.
func (f *fixture) counts() string {
	return fmt.Sprintf("holders=%d employments=%d", f.Rows(f.meadow, "holders", ""), f.Rows(f.meadow, "employments", ""))
}

func fileProblem(t *testing.T, err error) string {
	t.Helper()
	fe := errs.FieldsOf(err)
	if len(fe) != 1 || fe[0].Field != "file" {
		t.Fatalf("want one problem with the file, got %v", err)
	}
	return fe[0].Message
}

func TestImportDryRunThenApply(t *testing.T) {
	f := newFixture(t)
	importPlace(f)
	known := f.Holder(f.meadow, "Kim", "Known", uuid.Nil)
	f.In(f.meadow, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE holders SET email = 'kim@example.org' WHERE tenant_id = ? AND id = ?`, f.meadow.ID, known).Error
	})
	file := "\uFEFFName,Email,Role,Home,Start date\r\n" +
		"Ada Lovell,ADA@example.org,care assistant,Meadowbank House,2026-03-02\r\n" +
		"Kim Known,kim@example.org,Care assistant, meadowbank  house ,02/03/2026\r\n"
	before := f.counts()
	res, err := f.svc.Import(f.ctx, []byte(file), true)
	ok(t, err)
	if res.Applied || res.Problems != 0 || res.NewHolders != 1 || res.Matched != 1 || res.NewEmployments != 2 {
		t.Fatalf("dry run %+v", res)
	}
	if !res.Rows[1].Existing || res.Rows[1].HolderID != known || res.Rows[0].Email != "ada@example.org" {
		t.Errorf("rows %+v", res.Rows)
	}
	if after := f.counts(); after != before {
		t.Fatalf("a dry run stored something: %s, then %s", before, after)
	}
	res, err = f.svc.Import(f.ctx, []byte(file), false)
	ok(t, err)
	if !res.Applied || res.NewHolders != 1 || res.Matched != 1 {
		t.Fatalf("import %+v", res)
	}
	m, err := f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	if m.Staff != 2 {
		t.Errorf("%d staff in the matrix after import", m.Staff)
	}
	if e := f.LastEvent(f.meadow, "carehome.import"); e.Detail["new_holders"] != "1" {
		t.Errorf("audit %+v", e)
	}
	// Importing them again: each is already employed, nothing changes.
	before = f.counts()
	res, err = f.svc.Import(f.ctx, []byte(file), false)
	ok(t, err)
	if res.Applied || res.Problems != 2 || !strings.Contains(res.Rows[0].Problems[0], "already employed at Meadowbank House as Care assistant") {
		t.Errorf("re-import %+v", res)
	}
	if after := f.counts(); after != before {
		t.Errorf("a refused import stored something: %s, then %s", before, after)
	}
}

// TestImportRefusesBadRowsAndStoresNothing: one bad row refuses the whole
// file, naming each row's problems.
func TestImportRefusesBadRowsAndStoresNothing(t *testing.T) {
	f := newFixture(t)
	importPlace(f)
	file := strings.Join([]string{
		"given name,family name,email,job role,care home,start date",
		"Ada,Lovell,ada@example.org,Care assistant,Meadowbank House,2026-03-02",
		"Ben,Okoro,ben@example.org,Nurse,Meadowbank House,2026-03-02",
		"Cal,Reyes,cal@example.org,Care assistant,Sunnyside,2026-03-02",
		"Dee,Moss,dee@example.org,Care assistant,Meadowbank House,2026-02-30",
		"Eve,Hart,ADA@example.org,Care assistant,Meadowbank House,2026-03-02",
		",,fay@example.org,Care assistant,Meadowbank House,2026-03-02",
		"Gus,Park,not-an-email,Care assistant,Meadowbank House,",
	}, "\n")
	before := f.counts()
	res, err := f.svc.Import(f.ctx, []byte(file), false)
	ok(t, err)
	if res.Applied || res.Problems != 6 {
		t.Fatalf("result %+v", res)
	}
	if after := f.counts(); after != before {
		t.Fatalf("stored something: %s, then %s", before, after)
	}
	want := map[int]string{
		3: "There is no job role called “Nurse”",
		4: "There is no home called “Sunnyside”",
		5: "The start date “2026-02-30” is not a real date",
		6: "The email address ada@example.org is also on line 2",
		7: "The name is missing",
		8: "The email address “not-an-email” is not in the correct format",
	}
	for _, r := range res.Rows {
		msg, bad := want[r.Line]
		if !bad {
			if len(r.Problems) > 0 {
				t.Errorf("line %d: %v", r.Line, r.Problems)
			}
			continue
		}
		if len(r.Problems) == 0 || !strings.HasPrefix(r.Problems[0], msg) {
			t.Errorf("line %d: %v, want %q", r.Line, r.Problems, msg)
		}
	}
	if r := res.Rows[6]; len(r.Problems) != 2 || r.Problems[1] != "The start date is missing" {
		t.Errorf("line 8 problems %v", r.Problems)
	}
}

// TestImportRefusesHostileFiles before parsing them.
func TestImportRefusesHostileFiles(t *testing.T) {
	f := newFixture(t)
	importPlace(f)
	head := "name,email,role,home,start date\n"
	many := head + strings.Repeat("A B,a@b.example,Care assistant,Meadowbank House,2026-01-01\n", carehome.MaxImportRows+1)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"Latin-1", append([]byte(head), []byte("Ren\xe9e Dupont,renee@example.org,Care assistant,Meadowbank House,2026-01-01\n")...), carehome.MsgImportNotUTF8},
		{"UTF-16 with a byte-order mark", append([]byte{0xFF, 0xFE}, []byte("n\x00a\x00m\x00e\x00")...), carehome.MsgImportUTF16},
		{"UTF-16 without one", []byte("n\x00a\x00m\x00e\x00,\x00"), carehome.MsgImportUTF16},
		{"larger than the limit", bytes.Repeat([]byte("a"), carehome.MaxImportBytes+1), carehome.MsgImportTooLarge},
		{"more rows than the limit", []byte(many), carehome.MsgImportTooMany},
		{"empty", []byte(" \n"), carehome.MsgImportEmpty},
		{"without the columns", []byte("who,where\nAda,Home\n"), "The header row must name the columns: name (or given name and family name), email, role, home, start date is missing"},
		{"a broken quote", []byte(head + "\"Ada,ada@example.org,Care assistant,Meadowbank House,2026-01-01\n"), "Line 2 cannot be read as CSV"},
	}
	before := f.counts()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Import(f.ctx, tc.data, false)
			if got := fileProblem(t, err); !strings.HasPrefix(got, tc.want) {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
	if len(many) > carehome.MaxImportBytes {
		t.Fatalf("the long file (%d bytes) must be under the size limit to test the row limit", len(many))
	}
	if after := f.counts(); after != before {
		t.Errorf("stored something: %s, then %s", before, after)
	}
}

// TestExportNeutralisesFormulas: a name that starts like a formula is
// imported as typed and exported as text.
func TestExportNeutralisesFormulas(t *testing.T) {
	f := newFixture(t)
	importPlace(f)
	file := "name,email,role,home,start date\n" +
		"\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\") Smith\",eve@example.org,Care assistant,Meadowbank House,2026-01-05\n" +
		"@Ann +Lee,ann@example.org,Care assistant,Meadowbank House,2026-01-05\n"
	res, err := f.svc.Import(f.ctx, []byte(file), false)
	ok(t, err)
	if !res.Applied {
		t.Fatalf("import %+v", res)
	}
	m, err := f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	out, err := m.CSV()
	ok(t, err)
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	ok(t, err)
	if len(recs) != 3 {
		t.Fatalf("%d CSV records", len(recs))
	}
	names := []string{recs[1][0], recs[2][0]}
	for _, n := range names {
		if strings.ContainsAny(n[:1], "=+-@\t\r") {
			t.Errorf("a cell starts with %q: %q", n[:1], n)
		}
	}
	if !strings.Contains(strings.Join(names, "|"), "'=HYPERLINK(") || !strings.Contains(strings.Join(names, "|"), "'@Ann") {
		t.Errorf("names %q", names)
	}
	if recs[1][6] != "missing" {
		t.Errorf("status column %q", recs[1][6])
	}
}

// TestPDFReport reads the inspection report back with pdftotext.
func TestPDFReport(t *testing.T) {
	f := newFixture(t)
	comps := importPlace(f)
	res, err := f.svc.Import(f.ctx, []byte("name,email,role,home,start date\nZoë Ashby,zoe@example.org,Care assistant,Meadowbank House,2026-01-05\n"), false)
	ok(t, err)
	f.signedOff(res.Rows[0].HolderID, comps["CHS-01"], start.AddDate(0, -2, 0))
	m, err := f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	pdf, err := m.PDF("Meadow Homes")
	ok(t, err)
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is missing (Debian package poppler-utils)")
		}
		t.Skip("pdftotext is missing: apt-get install poppler-utils")
	}
	file := filepath.Join(t.TempDir(), "report.pdf")
	ok(t, os.WriteFile(file, pdf, 0o600))
	text, err := exec.Command(bin, "-enc", "UTF-8", file, "-").Output()
	ok(t, err)
	for _, want := range []string{carehome.ReportTitle, "Provider: Meadow Homes", "Date: 1 April 2026", "Summary by home",
		"Meadowbank House", "Zoë Ashby", "Care assistant", "CHS-01", "100%"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the PDF lacks %q; pdftotext read:\n%s", want, text)
		}
	}
}

// TestRecogniseSharedForNewStarter: a new starter whose previous employer
// shared their passport with the provider gets the mapped competency
// recognised, and the matrix shows it shared until then.
func TestRecogniseSharedForNewStarter(t *testing.T) {
	f := newFixture(t)
	// Shares end by the database's clock: the fixture's must be today.
	now := time.Now().UTC().Truncate(time.Second)
	f.clock.Set(now)
	var std uuid.UUID
	if err := f.DB.Gorm.Raw(`SELECT id FROM std_competencies WHERE kind = 'skill' ORDER BY code LIMIT 1`).Row().Scan(&std); err != nil {
		t.Fatal(err)
	}
	prev := f.NamedTenant("prev", "Previous Employer", "care_home")
	prevAdmin := f.Staff(prev, "admin@prev.example", "Prev Admin", "provider_admin")
	theirs := f.Catalogue(prev, "prev-skills", moduletest.Competency{Code: "PREV-01", Months: 36, Std: &std})["PREV-01"]
	ours := f.Catalogue(f.meadow, "chs", moduletest.Competency{Code: "CHS-01", Months: 36, Std: &std})["CHS-01"]
	f.place("Meadowbank House", "Care assistant", ours)

	// At the previous employer: signed off, then shared with Meadow.
	pid := f.Holder(prev, "Nia", "Starter", uuid.Nil)
	at := now.AddDate(-1, 0, 0)
	f.Record(prev, pid, theirs, moduletest.Record{State: "competent", SignedOff: &at, Assessor: "Prev Assessor"})
	_, err := f.shares.CreateForHolder(moduletest.As(prev, prevAdmin), pid, share.Grant{To: share.ToTenant, TenantSlug: "meadow"},
		share.Consent{GivenBy: "Nia Starter", Method: "in_person"})
	ok(t, err)
	// Meadow already knows the person (the share's recognition, or a
	// claimed passport, enrolled them) with their email; now they start.
	var person uuid.UUID
	f.In(prev, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT person_id FROM holders WHERE tenant_id = ? AND id = ?`, prev.ID, pid).Row().Scan(&person)
	})
	nid := uuid.Must(uuid.NewV7())
	f.In(f.meadow, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO holders (tenant_id, id, person_id, given_name, family_name, email, role_in_care)
			VALUES (?, ?, ?, 'Nia', 'Starter', 'nia@example.org', 'staff')`, f.meadow.ID, nid, person).Error
	})
	res, err := f.svc.Import(f.ctx, []byte("name,email,role,home,start date\nNia Starter,nia@example.org,Care assistant,Meadowbank House,2026-03-30\n"), false)
	ok(t, err)
	if !res.Applied || res.Matched != 1 || len(res.Offers) != 1 || res.Offers[0].Count != 1 || res.Offers[0].HolderID != nid {
		t.Fatalf("import %+v", res)
	}
	m, err := f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	if c := cell(t, m, nid, "CHS-01"); c.Status != carehome.Missing || !c.Shared {
		t.Errorf("before recognition: %+v, want missing and shared", c)
	}
	n, err := f.svc.RecogniseShared(f.ctx, nid)
	ok(t, err)
	if n != 1 {
		t.Fatalf("recognised %d", n)
	}
	m, err = f.svc.Matrix(f.ctx, carehome.Filter{})
	ok(t, err)
	c := cell(t, m, nid, "CHS-01")
	if c.Status != carehome.Valid || c.Shared {
		t.Errorf("after recognition: %+v, want valid", c)
	}
	y, mo, d := at.In(carehome.London).Date()
	if want := time.Date(y+3, mo, d, 0, 0, 0, 0, carehome.London); c.ExpiresAt == nil || !c.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want the source's sign-off plus 36 months, %v", c.ExpiresAt, want)
	}
	if e := f.LastEvent(f.meadow, "record.recognise"); e.Detail["source_tenant"] != "Previous Employer" {
		t.Errorf("audit %+v", e)
	}
	if left, err := f.svc.Recognisable(f.ctx, nid); err != nil || len(left) != 0 {
		t.Errorf("still offered %v (%v)", left, err)
	}
}
