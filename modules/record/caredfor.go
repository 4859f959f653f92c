package record

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
)

// NewCaredFor is the input for CreateCaredFor.
type NewCaredFor struct {
	GivenName   string     `json:"given_name"`
	FamilyName  string     `json:"family_name"`
	DateOfBirth *time.Time `json:"date_of_birth,omitempty"`
}

func (n NewCaredFor) validate(now time.Time) (NewCaredFor, error) {
	n.GivenName, n.FamilyName = strings.TrimSpace(n.GivenName), strings.TrimSpace(n.FamilyName)
	var fe []errs.FieldError
	if l := len([]rune(n.GivenName)); l < 1 || l > 100 {
		fe = append(fe, errs.FieldError{Field: "given_name", Message: "Enter the given name (up to 100 characters)"})
	}
	if l := len([]rune(n.FamilyName)); l < 1 || l > 100 {
		fe = append(fe, errs.FieldError{Field: "family_name", Message: "Enter the family name (up to 100 characters)"})
	}
	if n.DateOfBirth != nil {
		y, m, d := n.DateOfBirth.Date()
		dob := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		ty, tm, td := now.In(london).Date()
		if dob.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) || y < 1900 {
			fe = append(fe, errs.FieldError{Field: "date_of_birth", Message: "Date of birth must be a real date in the past"})
		}
		n.DateOfBirth = &dob
	}
	if len(fe) > 0 {
		return n, errs.Validation(fe...)
	}
	return n, nil
}

// CreateCaredFor records a new person cared for.
func (s *Service) CreateCaredFor(ctx context.Context, in NewCaredFor) (CaredFor, error) {
	in, err := in.validate(s.now())
	if err != nil {
		return CaredFor{}, err
	}
	if _, err := s.authorize(ctx, permWrite); err != nil {
		return CaredFor{}, err
	}
	var out CaredFor
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		r := caredForRow{TenantID: st.tenant, ID: uuid.Must(uuid.NewV7()), GivenName: in.GivenName, FamilyName: in.FamilyName,
			DateOfBirth: in.DateOfBirth, CreatedAt: s.clock()}
		if err := st.insertCaredFor(r); err != nil {
			return err
		}
		out = r.caredFor()
		return s.audit.Record(ctx, tx, audit.Event{Action: "cared_for.create", ObjectType: "cared_for", ObjectID: r.ID.String()})
	})
	return out, err
}

// CaredForList returns the tenant's cared-for people by family name; the
// listing is audited.
func (s *Service) CaredForList(ctx context.Context) ([]CaredFor, error) {
	var out []CaredFor
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		rows, err := st.caredForList(500)
		if err != nil {
			return err
		}
		out = make([]CaredFor, len(rows))
		for i, r := range rows {
			out[i] = r.caredFor()
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "cared_for.list", ObjectType: "cared_for",
			Detail: map[string]string{"results": fmt.Sprint(len(rows))}})
	})
	return out, err
}

// CaredFor returns one cared-for person with every prescription version;
// the read is audited.
func (s *Service) CaredFor(ctx context.Context, id uuid.UUID) (CaredForDetail, error) {
	var out CaredForDetail
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		r, err := st.caredFor(id, false)
		if err != nil {
			return err
		}
		rows, err := st.prescriptions(id)
		if err != nil {
			return err
		}
		specs := s.cache(ctx, tx)
		out = CaredForDetail{CaredFor: r.caredFor(), Prescriptions: make([]Prescription, 0, len(rows))}
		for _, p := range rows {
			c, err := specs.get(p.CompetencyID)
			if err != nil {
				return err
			}
			out.Prescriptions = append(out.Prescriptions, prescription(p, c))
		}
		sort.SliceStable(out.Prescriptions, func(i, j int) bool {
			a, b := out.Prescriptions[i], out.Prescriptions[j]
			if a.Competency.Code != b.Competency.Code {
				return a.Competency.Code < b.Competency.Code
			}
			return a.Version > b.Version
		})
		return s.audit.Record(ctx, tx, audit.Event{Action: "cared_for.read", ObjectType: "cared_for", ObjectID: id.String()})
	})
	return out, err
}

// prescription presents a stored prescription in its specification's
// parameter order.
func prescription(p prescriptionRow, c catalogue.Competency) Prescription {
	out := Prescription{ID: p.ID, CaredForID: p.CaredForID, Competency: summarise(c), Version: p.Version, SetBy: p.SetBy, SetAt: p.SetAt}
	seen := map[string]bool{}
	for _, name := range c.PrescriptionParameters {
		if v, ok := p.Parameters[name]; ok {
			out.Parameters = append(out.Parameters, Parameter{Name: name, Value: v})
			seen[name] = true
		}
	}
	var rest []string
	for name := range p.Parameters {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out.Parameters = append(out.Parameters, Parameter{Name: name, Value: p.Parameters[name]})
	}
	return out
}

// PrescriptionInput sets a cared-for person's prescription for one
// person-specific competency: a value for every named parameter.
type PrescriptionInput struct {
	CompetencyID uuid.UUID         `json:"competency_id"`
	Parameters   map[string]string `json:"parameters"`
}

// ParamField is the form field of the i-th prescription parameter.
func ParamField(i int) string { return fmt.Sprintf("param_%d", i) }

// checkParameters requires exactly the specification's parameters, each
// with a value.
func checkParameters(spec catalogue.Competency, given map[string]string) (params, error) {
	out := params{}
	var fe []errs.FieldError
	for i, name := range spec.PrescriptionParameters {
		v, ok := clean(given[name], maxParam)
		switch {
		case !ok:
			fe = append(fe, errs.FieldError{Field: ParamField(i), Message: fmt.Sprintf("%s must be %d characters or fewer", name, maxParam)})
		case v == "":
			fe = append(fe, errs.FieldError{Field: ParamField(i), Message: "Enter the " + name})
		}
		out[name] = v
	}
	var extra []string
	for name := range given {
		if _, ok := out[name]; !ok {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		fe = append(fe, errs.FieldError{Field: "parameters", Message: fmt.Sprintf("%q is not a parameter of the %s prescription", name, spec.Code)})
	}
	if len(fe) > 0 {
		return nil, errs.Validation(fe...)
	}
	return out, nil
}

// Re-assessment note written to the history of records whose prescription
// changed.
const noteReassess = "prescription changed: re-assessment required"

// SetPrescription stores a new version of the cared-for person's
// prescription for a person-specific competency. Every record signed off
// against an older version is marked for re-assessment, with a history
// entry, in the same transaction.
func (s *Service) SetPrescription(ctx context.Context, caredForID uuid.UUID, in PrescriptionInput) (Prescription, error) {
	if in.CompetencyID == uuid.Nil {
		return Prescription{}, errs.Validation(errs.FieldError{Field: "competency_id", Message: "Select the competency the prescription is for"})
	}
	actor, err := s.authorize(ctx, permWrite)
	if err != nil {
		return Prescription{}, err
	}
	var out Prescription
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		if _, err := st.caredFor(caredForID, true); err != nil { // serialises versions for this person
			return err
		}
		spec, err := s.specs.Competency(ctx, tx, in.CompetencyID)
		if err != nil {
			return fmt.Errorf("record: prescription: %w", err)
		}
		if spec.Specificity != catalogue.Person {
			return errs.Validation(errs.FieldError{Field: "competency_id", Message: fmt.Sprintf(
				"%s is not specific to one person, so it has no care prescription", spec.Code)})
		}
		values, err := checkParameters(spec, in.Parameters)
		if err != nil {
			return err
		}
		cur, _, err := st.currentPrescription(caredForID, spec.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		p := prescriptionRow{TenantID: st.tenant, ID: uuid.Must(uuid.NewV7()), CaredForID: caredForID, CompetencyID: spec.ID,
			Version: cur.Version + 1, Parameters: values, SetBy: &actor, SetAt: now}
		if err := st.insertPrescription(p); err != nil {
			return err
		}
		marked, err := st.markReassessment(caredForID, spec.ID, p.Version, now)
		if err != nil {
			return err
		}
		name, err := s.actorName(ctx, tx, actor)
		if err != nil {
			return err
		}
		for _, m := range marked {
			if err := st.insertEvent(eventRow{ID: uuid.Must(uuid.NewV7()), RecordID: m.ID, FromState: m.State, ToState: m.State,
				At: now, ByAccount: &actor, ByName: name, Notes: noteReassess}); err != nil {
				return err
			}
			if err := s.audit.Record(ctx, tx, audit.Event{Action: "record.reassessment_required", ObjectType: "record",
				ObjectID: m.ID.String(), Detail: map[string]string{"competency": spec.Code, "prescription_version": fmt.Sprint(p.Version)}}); err != nil {
				return err
			}
		}
		out = prescription(p, spec)
		out.Reassessment = len(marked)
		return s.audit.Record(ctx, tx, audit.Event{Action: "prescription.set", ObjectType: "cared_for", ObjectID: caredForID.String(),
			Detail: map[string]string{"competency": spec.Code, "version": fmt.Sprint(p.Version), "reassessment_marked": fmt.Sprint(len(marked))}})
	})
	return out, err
}

// Choices is what the enrolment and prescription forms offer.
type Choices struct {
	Competencies []CompetencySummary // of published catalogue versions
	CaredFor     []CaredFor
}

// PersonSpecific returns the person-specific competencies of c.
func (c Choices) PersonSpecific() []CompetencySummary {
	var out []CompetencySummary
	for _, v := range c.Competencies {
		if v.Specificity == catalogue.Person {
			out = append(out, v)
		}
	}
	return out
}

// Choices lists the competencies of the tenant's published catalogue
// versions and, when withCaredFor, the cared-for people (an audited read).
func (s *Service) Choices(ctx context.Context, withCaredFor bool) (Choices, error) {
	var out Choices
	if s.finder != nil {
		list, err := s.finder.Search(ctx, "")
		if err != nil {
			return Choices{}, fmt.Errorf("record: competencies to choose from: %w", err)
		}
		for _, c := range list {
			if c.CatalogueStatus == catalogue.Published {
				out.Competencies = append(out.Competencies, summarise(c))
			}
		}
	}
	if withCaredFor {
		list, err := s.CaredForList(ctx)
		if err != nil {
			return Choices{}, err
		}
		out.CaredFor = list
	}
	return out, nil
}
