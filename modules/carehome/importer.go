package carehome

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
)

// Import limits. The confirmation page carries the checked file back, so
// it must fit, form-encoded, in the server's 1 MiB body limit.
const (
	MaxImportBytes = 256 << 10
	MaxImportRows  = 2000
)

// Messages about a whole file.
const (
	MsgImportEmpty    = "The file is empty. Choose a CSV file with a header row and one row for each member of staff"
	MsgImportTooLarge = "The file is larger than 256 KB. Split it into smaller files and import each"
	MsgImportTooMany  = "The file has more than 2,000 rows. Split it into smaller files and import each"
	MsgImportUTF16    = "The file is saved as UTF-16. Save it as \"CSV UTF-8\" and choose it again"
	MsgImportNotUTF8  = "The file is not UTF-8 text (it may be saved as Latin-1 or Windows-1252). Save it as \"CSV UTF-8\" and choose it again"
	MsgImportBadCSV   = "The file is not a CSV file that can be read"
)

// ImportRow is one row of an import file and what it would do, or why it
// cannot.
type ImportRow struct {
	Line       int       `json:"line"` // in the file, the header being line 1
	GivenName  string    `json:"given_name"`
	FamilyName string    `json:"family_name"`
	Email      string    `json:"email"`
	Role       string    `json:"role"`
	Home       string    `json:"home"`
	StartedOn  string    `json:"started_on"`
	Existing   bool      `json:"existing_holder"` // matched by email to a holder already here
	HolderID   uuid.UUID `json:"holder_id,omitempty"`
	Problems   []string  `json:"problems,omitempty"`
	roleID     uuid.UUID
	homeID     uuid.UUID
	start      time.Time
}

// Name is the row's full name.
func (r ImportRow) Name() string { return strings.TrimSpace(r.GivenName + " " + r.FamilyName) }

// ImportResult is what an import did, or would do on a dry run.
type ImportResult struct {
	DryRun         bool        `json:"dry_run"`
	Applied        bool        `json:"applied"` // false on a dry run and when any row has a problem
	Rows           []ImportRow `json:"rows"`
	NewHolders     int         `json:"new_holders"`
	Matched        int         `json:"existing_holders"`
	NewEmployments int         `json:"new_employments"`
	Problems       int         `json:"rows_with_problems"`
	// Offers are the imported staff with shared competencies the provider
	// could recognise (after an applied import only).
	Offers []Offer `json:"recognition_offers,omitempty"`
}

// Offer is a member of staff and how many shared competencies could be
// recognised for them.
type Offer struct {
	HolderID uuid.UUID `json:"holder_id"`
	Name     string    `json:"name"`
	Count    int       `json:"count"`
}

// header maps the accepted column names to fields.
var header = map[string]string{
	"name": "name", "full name": "name", "full_name": "name",
	"given name": "given", "given_name": "given", "first name": "given", "first_name": "given", "forename": "given",
	"family name": "family", "family_name": "family", "last name": "family", "last_name": "family", "surname": "family",
	"email": "email", "email address": "email", "email_address": "email",
	"role": "role", "job role": "role", "job_role": "role",
	"home": "home", "care home": "home", "care_home": "home",
	"start date": "start", "start_date": "start", "started_on": "start", "started on": "start",
}

// checkFile refuses, before any parsing, a file that is too large, too
// long, or not UTF-8 text, and returns its text without a byte-order mark.
func checkFile(data []byte) (string, error) {
	bad := func(msg string) error { return errs.Validation(errs.FieldError{Field: "file", Message: msg}) }
	switch {
	case len(data) > MaxImportBytes:
		return "", bad(MsgImportTooLarge)
	case len(bytes.TrimSpace(data)) == 0:
		return "", bad(MsgImportEmpty)
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.IndexByte(data, 0) >= 0:
		return "", bad(MsgImportUTF16)
	case !utf8.Valid(data):
		return "", bad(MsgImportNotUTF8)
	case bytes.Count(data, []byte{'\n'}) > MaxImportRows+1:
		return "", bad(MsgImportTooMany)
	}
	return strings.TrimPrefix(string(data), "\uFEFF"), nil
}

// parseFile reads the rows of an import file, with each row's own problems
// of form (names, email, dates); roles, homes and people are checked
// against the tenant later.
func parseFile(text string) ([]ImportRow, error) {
	bad := func(msg string) error { return errs.Validation(errs.FieldError{Field: "file", Message: msg}) }
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return nil, bad(MsgImportBadCSV)
	}
	col := map[string]int{}
	for i, h := range head {
		if f, ok := header[strings.ToLower(strings.Join(strings.Fields(h), " "))]; ok {
			if _, dup := col[f]; !dup {
				col[f] = i
			}
		}
	}
	var missing []string
	_, hasName := col["name"]
	_, hasGiven := col["given"]
	_, hasFamily := col["family"]
	if !hasName && !(hasGiven && hasFamily) {
		missing = append(missing, "name (or given name and family name)")
	}
	for _, f := range []struct{ key, label string }{{"email", "email"}, {"role", "role"}, {"home", "home"}, {"start", "start date"}} {
		if _, ok := col[f.key]; !ok {
			missing = append(missing, f.label)
		}
	}
	if len(missing) > 0 {
		return nil, bad("The header row must name the columns: " + strings.Join(missing, ", ") + " is missing")
	}
	get := func(rec []string, key string) string {
		i, ok := col[key]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.Join(strings.Fields(rec[i]), " ")
	}
	var out []ImportRow
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, bad(fmt.Sprintf("Line %d cannot be read as CSV: check its quotation marks", pe.Line))
			}
			return nil, bad(MsgImportBadCSV)
		}
		line, _ := r.FieldPos(0)
		blank := true
		for _, v := range rec {
			if strings.TrimSpace(v) != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		row := ImportRow{Line: line, GivenName: get(rec, "given"), FamilyName: get(rec, "family"), Email: get(rec, "email"),
			Role: get(rec, "role"), Home: get(rec, "home"), StartedOn: get(rec, "start")}
		if full := get(rec, "name"); full != "" && row.GivenName == "" && row.FamilyName == "" {
			if i := strings.LastIndex(full, " "); i > 0 {
				row.GivenName, row.FamilyName = full[:i], full[i+1:]
			} else {
				row.GivenName = full
			}
		}
		row.problems(seen)
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil, bad(MsgImportEmpty)
	}
	if len(out) > MaxImportRows {
		return nil, bad(MsgImportTooMany)
	}
	return out, nil
}

// problems checks the row's form, and the email against earlier rows.
func (r *ImportRow) problems(seen map[string]int) {
	switch {
	case r.GivenName == "" && r.FamilyName == "":
		r.Problems = append(r.Problems, "The name is missing")
	case r.GivenName == "" || r.FamilyName == "":
		r.Problems = append(r.Problems, "Enter both a first name and a last name")
	case len([]rune(r.GivenName)) > 100 || len([]rune(r.FamilyName)) > 100:
		r.Problems = append(r.Problems, "Each part of the name must be 100 characters or fewer")
	}
	switch email := account.NormaliseEmail(r.Email); {
	case r.Email == "":
		r.Problems = append(r.Problems, "The email address is missing")
	case email == "":
		r.Problems = append(r.Problems, "The email address "+quote(r.Email)+" is not in the correct format, like name@example.com")
	default:
		r.Email = email
		if first, dup := seen[email]; dup {
			r.Problems = append(r.Problems, fmt.Sprintf("The email address %s is also on line %d: each person must appear once", email, first))
		} else {
			seen[email] = r.Line
		}
	}
	if r.Role == "" {
		r.Problems = append(r.Problems, "The role is missing")
	}
	if r.Home == "" {
		r.Problems = append(r.Problems, "The home is missing")
	}
	if r.StartedOn == "" {
		r.Problems = append(r.Problems, "The start date is missing")
	} else if t, ok := ParseDate(r.StartedOn); !ok {
		r.Problems = append(r.Problems, "The start date "+quote(r.StartedOn)+" is not a real date: use YYYY-MM-DD or DD/MM/YYYY")
	} else {
		r.start = t
	}
}

// quote shows a value from the file in a message, shortened.
func quote(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return "“" + s + "”"
}

// Import reads a staff CSV (name, or given and family name; email; role;
// home; start date) and, unless dryRun, adds every row in one transaction:
// a new holder for an email not known here, or the holder already known
// by it, employed at the home in the role from the start date. Any row
// with a problem means nothing is stored: the result names each row's
// problems. A dry run reports exactly what would happen and stores
// nothing. Audited as carehome.import (or carehome.import.check).
func (s *Service) Import(ctx context.Context, data []byte, dryRun bool) (ImportResult, error) {
	t, err := scope(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	text, err := checkFile(data)
	if err != nil {
		return ImportResult{}, err
	}
	rows, err := parseFile(text)
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{DryRun: dryRun, Rows: rows}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.resolve(tx, t.ID, res.Rows); err != nil {
			return err
		}
		for _, r := range res.Rows {
			if len(r.Problems) > 0 {
				res.Problems++
			} else if r.Existing {
				res.Matched++
			} else {
				res.NewHolders++
			}
		}
		res.NewEmployments = len(res.Rows) - res.Problems
		action := "carehome.import.check"
		if !dryRun && res.Problems == 0 {
			action = "carehome.import"
			if err := s.apply(ctx, tx, t.ID, res.Rows); err != nil {
				return err
			}
			res.Applied = true
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "compliance",
			Detail: map[string]string{"rows": fmt.Sprint(len(res.Rows)), "problems": fmt.Sprint(res.Problems),
				"new_holders": fmt.Sprint(res.NewHolders), "existing_holders": fmt.Sprint(res.Matched)}})
	})
	if err != nil {
		return ImportResult{}, err
	}
	if res.Applied {
		for _, r := range res.Rows {
			shared, err := s.Recognisable(ctx, r.HolderID)
			if err != nil {
				return res, err
			}
			if len(shared) > 0 {
				res.Offers = append(res.Offers, Offer{HolderID: r.HolderID, Name: r.Name(), Count: len(shared)})
			}
		}
	}
	return res, nil
}

// resolve checks each row's role, home and person against the tenant.
func (s *Service) resolve(tx *gorm.DB, tenant uuid.UUID, rows []ImportRow) error {
	st := store{tx: tx, tenant: tenant}
	homes, roles := st.names("care_homes"), st.names("job_roles")
	if homes.err != nil || roles.err != nil {
		return storeErr("read homes and roles", errors.Join(homes.err, roles.err))
	}
	find := func(list []named, name string) (uuid.UUID, bool) {
		for _, n := range list {
			if strings.EqualFold(strings.Join(strings.Fields(n.name), " "), name) {
				return n.id, true
			}
		}
		return uuid.Nil, false
	}
	var emails []string
	for _, r := range rows {
		if r.Email != "" {
			emails = append(emails, r.Email)
		}
	}
	type match struct {
		ID       uuid.UUID
		Email    string
		Employed string
	}
	var matches []match
	if len(emails) > 0 {
		err := tx.Raw(`SELECT h.id, lower(h.email) AS email, coalesce(hm.name || ' as ' || jr.name, '') AS employed
			FROM holders h
			LEFT JOIN employments e ON e.tenant_id = h.tenant_id AND e.holder_id = h.id AND e.ended_on IS NULL
			LEFT JOIN care_homes hm ON hm.tenant_id = e.tenant_id AND hm.id = e.home_id
			LEFT JOIN job_roles jr ON jr.tenant_id = e.tenant_id AND jr.id = e.role_id
			WHERE h.tenant_id = ? AND lower(h.email) IN ?`, tenant, emails).Scan(&matches).Error
		if err != nil {
			return storeErr("match holders", err)
		}
	}
	byEmail := map[string][]match{}
	for _, m := range matches {
		byEmail[m.Email] = append(byEmail[m.Email], m)
	}
	for i := range rows {
		r := &rows[i]
		if r.Role != "" {
			if id, ok := find(roles.list, r.Role); ok {
				r.roleID = id
			} else {
				r.Problems = append(r.Problems, "There is no job role called "+quote(r.Role)+": add it on the set-up page first, or correct the name")
			}
		}
		if r.Home != "" {
			if id, ok := find(homes.list, r.Home); ok {
				r.homeID = id
			} else {
				r.Problems = append(r.Problems, "There is no home called "+quote(r.Home)+": add it on the set-up page first, or correct the name")
			}
		}
		switch ms := byEmail[r.Email]; {
		case r.Email == "" || len(ms) == 0:
		case len(ms) > 1:
			r.Problems = append(r.Problems, "More than one person here has the email address "+r.Email+": add this person from their own staff page")
		case ms[0].Employed != "":
			r.Problems = append(r.Problems, r.Email+" is already employed at "+ms[0].Employed+": change or end that employment from their staff page")
		default:
			r.Existing, r.HolderID = true, ms[0].ID
		}
	}
	return nil
}

// apply stores every row: new holders and employments.
func (s *Service) apply(ctx context.Context, tx *gorm.DB, tenant uuid.UUID, rows []ImportRow) error {
	for i := range rows {
		r := &rows[i]
		if !r.Existing {
			if s.holders == nil {
				return errs.E(errs.Conflict, "Adding new people by import is not available here")
			}
			id, err := s.holders.CreateStaff(ctx, tx, r.GivenName, r.FamilyName, r.Email)
			if err != nil {
				return fmt.Errorf("carehome: import line %d: %w", r.Line, err)
			}
			r.HolderID = id
		}
		if _, err := s.start(ctx, tx, tenant, r.HolderID, r.homeID, r.roleID, r.start); err != nil {
			return err
		}
	}
	return nil
}
