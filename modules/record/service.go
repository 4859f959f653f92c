package record

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/catalogue"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Specs reads competency specifications of the request's tenant inside
// the caller's transaction; an absent competency is a NotFound error.
type Specs interface {
	Competency(ctx context.Context, tx *gorm.DB, id uuid.UUID) (catalogue.Competency, error)
}

// SpecsBatch may also be implemented by a Specs: it loads many
// competencies in one round trip, and the passport uses it when present.
type SpecsBatch interface {
	Competencies(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]catalogue.Competency, error)
}

// Finder lists the tenant's current competencies (drafts and published)
// whose code or title contains q; the enrolment and prescription forms
// offer the published ones.
type Finder interface {
	Search(ctx context.Context, q string) ([]catalogue.Competency, error)
}

// Accounts looks up the acting account, for the name in a record's history.
type Accounts interface {
	ByID(ctx context.Context, tx *gorm.DB, id uuid.UUID) (account.Account, error)
}

// Authorizer answers whether an account holds a permission in a tenant:
// the service re-checks each transition's own permission, beyond the
// route's.
type Authorizer interface {
	Allowed(ctx context.Context, domain, subject string, p policy.Permission) (bool, error)
}

// Deps are the collaborators a Service needs. Finder is optional: without
// it the pages offer no list of competencies to enrol in.
type Deps struct {
	DB       *tenants.DB
	Specs    Specs
	Finder   Finder
	Accounts Accounts
	Authz    Authorizer
	Audit    *audit.Log
	// Changed, when set, is told of every record a transition changed,
	// inside the transition's transaction (credentials issued from the
	// record follow its state through it).
	Changed func(ctx context.Context, tx *gorm.DB, recordID uuid.UUID) error
}

// Config holds the service's settings.
type Config struct {
	// Now is the clock; expiry is derived from it at every read.
	Now func() time.Time
	// DueWindowDays is how many days before expiry a competency becomes
	// due for update; 60 when zero.
	DueWindowDays int
}

// DefaultDueWindowDays is the update window when Config leaves it unset.
const DefaultDueWindowDays = 60

// Service runs the record use cases; each is one tenant-scoped transaction
// that also writes its audit event.
type Service struct {
	db       *tenants.DB
	specs    Specs
	finder   Finder
	accounts Accounts
	authz    Authorizer
	audit    *audit.Log
	changed  func(ctx context.Context, tx *gorm.DB, recordID uuid.UUID) error
	now      func() time.Time
	window   int
}

// NewService returns a Service.
func NewService(d Deps, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DueWindowDays <= 0 {
		cfg.DueWindowDays = DefaultDueWindowDays
	}
	return &Service{db: d.DB, specs: d.Specs, finder: d.Finder, accounts: d.Accounts, authz: d.Authz, audit: d.Audit, changed: d.Changed,
		now: cfg.Now, window: cfg.DueWindowDays}
}

// clock returns the time now as stored (UTC, microseconds).
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// tx runs fn in the request tenant's transaction with a store for it.
func (s *Service) tx(ctx context.Context, fn func(tx *gorm.DB, st store) error) error {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return errs.E(errs.Internal, "record work without a tenant")
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error { return fn(tx, store{tx: tx, tenant: t.ID}) })
}

// specCache loads each competency once per transaction.
type specCache struct {
	ctx   context.Context
	tx    *gorm.DB
	specs Specs
	m     map[uuid.UUID]catalogue.Competency
}

func (s *Service) cache(ctx context.Context, tx *gorm.DB) *specCache {
	return &specCache{ctx: ctx, tx: tx, specs: s.specs, m: map[uuid.UUID]catalogue.Competency{}}
}

// load fills the cache with ids in one call when the Specs can batch.
func (c *specCache) load(ids []uuid.UUID) error {
	b, ok := c.specs.(SpecsBatch)
	if !ok || len(ids) == 0 {
		return nil
	}
	m, err := b.Competencies(c.ctx, c.tx, ids)
	if err != nil {
		return fmt.Errorf("record: competencies: %w", err)
	}
	for id, v := range m {
		c.m[id] = v
	}
	return nil
}

func (c *specCache) get(id uuid.UUID) (catalogue.Competency, error) {
	if v, ok := c.m[id]; ok {
		return v, nil
	}
	v, err := c.specs.Competency(c.ctx, c.tx, id)
	if err != nil {
		return catalogue.Competency{}, fmt.Errorf("record: competency %s: %w", id, err)
	}
	c.m[id] = v
	return v, nil
}

// Permission messages.
const (
	msgNoWrite   = "You do not have permission to record training and assessments"
	msgNoSignOff = "You do not have permission to sign off, suspend, reinstate or revoke competencies"
)

// authorize returns the acting account if it holds p in the request's
// tenant.
func (s *Service) authorize(ctx context.Context, p policy.Permission) (uuid.UUID, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return uuid.Nil, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	t, _ := tenants.FromContext(ctx)
	yes, err := s.authz.Allowed(ctx, t.ID.String(), actor.String(), p)
	if err != nil {
		return uuid.Nil, errs.Wrap(errs.Unavailable, "Sorry, the service is unavailable. Try again later.",
			fmt.Errorf("record: check %s: %w", p, err))
	}
	if !yes {
		if p == permSignOff {
			return uuid.Nil, errs.E(errs.Forbidden, msgNoSignOff)
		}
		return uuid.Nil, errs.E(errs.Forbidden, msgNoWrite)
	}
	return actor, nil
}

// Permitted reports which transitions the acting account's roles allow in
// the request's tenant (the pages show only those forms).
func (s *Service) Permitted(ctx context.Context) map[Action]bool {
	out := map[Action]bool{}
	byPerm := map[policy.Permission]bool{}
	for _, t := range Lifecycle {
		ok, seen := byPerm[t.Perm]
		if !seen {
			_, err := s.authorize(ctx, t.Perm)
			ok = err == nil
			byPerm[t.Perm] = ok
		}
		out[t.Action] = ok
	}
	return out
}

// actorName is how the history names the acting account.
func (s *Service) actorName(ctx context.Context, tx *gorm.DB, actor uuid.UUID) (string, error) {
	a, err := s.accounts.ByID(ctx, tx, actor)
	if err != nil {
		return "", fmt.Errorf("record: acting account: %w", err)
	}
	if a.Name != "" {
		return a.Name, nil
	}
	return a.Email, nil
}

// denied writes a denied audit event for a refused action, in its own
// transaction: the refused change itself stored nothing.
func (s *Service) denied(ctx context.Context, action Action, objectType string, id uuid.UUID, refusal error) {
	if !errs.Is(refusal, errs.Forbidden) {
		return
	}
	_ = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return s.audit.Record(ctx, tx, audit.Event{Action: "record." + string(action), ObjectType: objectType,
			ObjectID: id.String(), Outcome: audit.Denied, Detail: map[string]string{"reason": errs.MessageOf(refusal)}})
	})
}

// EnrolInput is what enrolling a holder in a competency needs.
type EnrolInput struct {
	CompetencyID uuid.UUID  `json:"competency_id"`
	CaredForID   *uuid.UUID `json:"cared_for_id,omitempty"` // person-specific competencies only
	Setting      string     `json:"setting"`
	Notes        string     `json:"notes"`
	EvidenceRef  string     `json:"evidence_ref"`
}

func (in EnrolInput) validate() (EnrolInput, error) {
	var fe []errs.FieldError
	if in.CompetencyID == uuid.Nil {
		fe = append(fe, errs.FieldError{Field: "competency_id", Message: "Select the competency to enrol in"})
	}
	fe = cleanCommon(&in.Setting, &in.Notes, &in.EvidenceRef, fe)
	if len(fe) > 0 {
		return in, errs.Validation(fe...)
	}
	return in, nil
}

func cleanCommon(setting, notes, evidence *string, fe []errs.FieldError) []errs.FieldError {
	var ok bool
	if *setting, ok = clean(*setting, maxSetting); !ok {
		fe = append(fe, errs.FieldError{Field: "setting", Message: fmt.Sprintf("Setting must be %d characters or fewer", maxSetting)})
	}
	if *notes, ok = clean(*notes, maxNotes); !ok {
		fe = append(fe, errs.FieldError{Field: "notes", Message: fmt.Sprintf("Notes must be %d characters or fewer", maxNotes)})
	}
	if *evidence, ok = clean(*evidence, maxEvidence); !ok {
		fe = append(fe, errs.FieldError{Field: "evidence_ref", Message: fmt.Sprintf("Evidence reference must be %d characters or fewer", maxEvidence)})
	}
	return fe
}

// Enrol creates the holder's record in a competency of a published
// catalogue version, with its first history entry. A person-specific
// competency needs a cared-for person who has a current prescription for it.
func (s *Service) Enrol(ctx context.Context, holderID uuid.UUID, in EnrolInput) (Record, error) {
	in, err := in.validate()
	if err != nil {
		return Record{}, err
	}
	actor, err := s.authorize(ctx, permWrite)
	if err != nil {
		s.denied(ctx, ActEnrol, "holder", holderID, err)
		return Record{}, err
	}
	var out Record
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		out, err = s.enrol(ctx, tx, st, actor, holderID, in)
		return err
	})
	return out, err
}

// enrol stores a new record of in's competency for the holder, in tx.
func (s *Service) enrol(ctx context.Context, tx *gorm.DB, st store, actor, holderID uuid.UUID, in EnrolInput) (Record, error) {
	h, err := st.holder(holderID)
	if err != nil {
		return Record{}, err
	}
	if h.Status != "active" {
		return Record{}, errs.E(errs.Conflict, h.name()+" has left this organisation and cannot be enrolled")
	}
	spec, err := s.specs.Competency(ctx, tx, in.CompetencyID)
	if err != nil {
		return Record{}, fmt.Errorf("record: enrol: %w", err)
	}
	if spec.CatalogueStatus != catalogue.Published {
		return Record{}, errs.Validation(errs.FieldError{Field: "competency_id", Message: fmt.Sprintf(
			"%s is in a %s catalogue version; holders can only be enrolled in a published version", spec.Code, spec.CatalogueStatus)})
	}
	if err := s.checkCaredFor(st, spec, in.CaredForID); err != nil {
		return Record{}, err
	}
	now := s.clock()
	row := recordRow{TenantID: st.tenant, ID: uuid.Must(uuid.NewV7()), HolderID: h.ID, PersonID: h.PersonID,
		CompetencyID: spec.ID, CaredForID: in.CaredForID, State: string(Enrolled), Setting: in.Setting,
		CreatedAt: now, UpdatedAt: now}
	if err := st.insertRecord(row); err != nil {
		return Record{}, err
	}
	name, err := s.actorName(ctx, tx, actor)
	if err != nil {
		return Record{}, err
	}
	if err := st.insertEvent(eventRow{ID: uuid.Must(uuid.NewV7()), RecordID: row.ID, ToState: string(Enrolled), At: now,
		ByAccount: &actor, ByName: name, Setting: in.Setting, Notes: in.Notes, EvidenceRef: in.EvidenceRef}); err != nil {
		return Record{}, err
	}
	if err := s.audit.Record(ctx, tx, audit.Event{Action: "record.enrol", ObjectType: "record", ObjectID: row.ID.String(),
		Detail: map[string]string{"holder": h.ID.String(), "competency": spec.Code, "to": string(Enrolled)}}); err != nil {
		return Record{}, err
	}
	out := row.record()
	out.derive(spec, now, s.window)
	return out, nil
}

// checkCaredFor checks the cared-for person given for a new record against
// the competency's specificity.
func (s *Service) checkCaredFor(st store, spec catalogue.Competency, caredForID *uuid.UUID) error {
	if spec.Specificity != catalogue.Person {
		if caredForID != nil {
			return errs.Validation(errs.FieldError{Field: "cared_for_id", Message: fmt.Sprintf(
				"%s is not specific to one person; do not choose a cared-for person", spec.Code)})
		}
		return nil
	}
	if caredForID == nil {
		return errs.Validation(errs.FieldError{Field: "cared_for_id", Message: fmt.Sprintf(
			"Select the person cared for: %s is signed off against one person's care prescription", spec.Code)})
	}
	cf, err := st.caredFor(*caredForID, false)
	if errs.Is(err, errs.NotFound) {
		return errs.Validation(errs.FieldError{Field: "cared_for_id", Message: "Select a cared-for person from the list"})
	}
	if err != nil {
		return err
	}
	if _, ok, err := st.currentPrescription(cf.ID, spec.ID); err != nil {
		return err
	} else if !ok {
		return errs.Validation(errs.FieldError{Field: "cared_for_id", Message: fmt.Sprintf(
			"Set %s's care prescription for %s before enrolling", cf.caredFor().Name(), spec.Code)})
	}
	return nil
}

// TransitionInput is one step of a record's lifecycle.
type TransitionInput struct {
	Action      Action     `json:"action"`
	Setting     string     `json:"setting"`      // where it happened: "Ward 3B", "home"
	Notes       string     `json:"notes"`        // free text
	EvidenceRef string     `json:"evidence_ref"` // a reference to evidence kept elsewhere
	Reason      string     `json:"reason"`       // required to suspend or revoke
	CaredForID  *uuid.UUID `json:"cared_for_id,omitempty"`
}

func (in TransitionInput) validate() (Transition, TransitionInput, error) {
	t, ok := TransitionFor(in.Action)
	if !ok || t.Action == ActEnrol {
		return t, in, errs.Validation(errs.FieldError{Field: "action", Message: "Select what to record"})
	}
	fe := cleanCommon(&in.Setting, &in.Notes, &in.EvidenceRef, nil)
	var fits bool
	in.Reason, fits = clean(in.Reason, maxReason)
	switch {
	case !fits:
		fe = append(fe, errs.FieldError{Field: "reason", Message: fmt.Sprintf("Reason must be %d characters or fewer", maxReason)})
	case t.Reason && in.Reason == "":
		fe = append(fe, errs.FieldError{Field: "reason", Message: "Enter the reason to " + strings.ToLower(t.Label) + " this competency"})
	}
	if len(fe) > 0 {
		return t, in, errs.Validation(fe...)
	}
	return t, in, nil
}

// Transition takes one step of record id's lifecycle, as the table
// Lifecycle allows, and writes the record, its history entry and the audit
// event in one transaction. A refused step stores nothing and says why.
func (s *Service) Transition(ctx context.Context, id uuid.UUID, in TransitionInput) (Record, error) {
	t, in, err := in.validate()
	if err != nil {
		return Record{}, err
	}
	actor, err := s.authorize(ctx, t.Perm)
	if err != nil {
		s.denied(ctx, t.Action, "record", id, err)
		return Record{}, err
	}
	var out Record
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		r, err := s.transition(ctx, tx, st, t, id, actor, in)
		out = r
		if err == nil && s.changed != nil {
			err = s.changed(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		s.denied(ctx, t.Action, "record", id, err)
		return Record{}, err
	}
	return out, nil
}

func (s *Service) transition(ctx context.Context, tx *gorm.DB, st store, t Transition, id, actor uuid.UUID, in TransitionInput) (Record, error) {
	row, err := st.record(id, forUpdate)
	if err != nil {
		return Record{}, err
	}
	specs := s.cache(ctx, tx)
	spec, err := specs.get(row.CompetencyID)
	if err != nil {
		return Record{}, err
	}
	now := s.clock()
	cur := row.record()
	cur.derive(spec, now, s.window)
	if !t.Allows(cur.State) {
		return Record{}, errs.E(errs.Conflict, fmt.Sprintf("This competency is %s; %s", cur.State.phrase(), t.Refusal))
	}
	if t.Assess && spec.CatalogueStatus == catalogue.Retired {
		return Record{}, errs.E(errs.Conflict, fmt.Sprintf(
			"%s is from %s version %d, which has been retired, so no one is assessed against it any more; enrol in the current version",
			spec.Code, spec.CatalogueKey, spec.CatalogueVersion))
	}
	if in.CaredForID != nil && (row.CaredForID == nil || *row.CaredForID != *in.CaredForID) {
		return Record{}, errs.Validation(errs.FieldError{Field: "cared_for_id", Message: "This record is not for that cared-for person"})
	}
	if t.Appoint {
		if spec.Kind != catalogue.KindAssessor && spec.Kind != catalogue.KindTrainer {
			return Record{}, errs.E(errs.Invalid, fmt.Sprintf(
				"%s is a skill: skills are signed off by an assessor, not conferred by appointment", spec.Code))
		}
		if strings.TrimSpace(in.EvidenceRef) == "" {
			return Record{}, errs.Validation(errs.FieldError{Field: "evidence_ref",
				Message: "Give the evidence of the appointment, such as the assessor course certificate"})
		}
	}
	var assessor string
	if t.Assess || t.NotSelf {
		h, linked, err := st.actingHolder(actor)
		if err != nil {
			return Record{}, err
		}
		if linked && h.PersonID == row.PersonID {
			return Record{}, errs.E(errs.Forbidden, selfRefusal(t.Action))
		}
		if t.Assess {
			if err := s.checkAssessor(st, specs, h, linked, spec, now); err != nil {
				return Record{}, err
			}
			assessor = h.name()
		}
	}
	var version *int
	if t.SignOff && !t.Appoint {
		if row.PracticesDone < spec.SupervisedPractices {
			return Record{}, errs.E(errs.Invalid, practicesRefusal(spec.SupervisedPractices, row.PracticesDone))
		}
		if spec.Specificity == catalogue.Person {
			if row.CaredForID == nil {
				return Record{}, errs.E(errs.Invalid, fmt.Sprintf("%s is signed off against a cared-for person's prescription, and this record names none", spec.Code))
			}
			p, ok, err := st.currentPrescription(*row.CaredForID, row.CompetencyID)
			if err != nil {
				return Record{}, err
			}
			if !ok {
				return Record{}, errs.E(errs.Invalid, fmt.Sprintf("There is no care prescription for %s; set one before signing off", spec.Code))
			}
			version = &p.Version
		}
	}

	from := row.State
	row.State = string(t.To)
	row.UpdatedAt = now
	if t.NewCycle {
		row.PracticesDone = 0
	}
	if t.Practice {
		row.PracticesDone++
	}
	if t.SignOff {
		row.SignedOffAt, row.SignedOffBy, row.AssessorName = &now, &actor, assessor
		row.Setting, row.PrescriptionVersion, row.ReassessmentRequired = in.Setting, version, false
	}
	name, err := s.actorName(ctx, tx, actor)
	if err != nil {
		return Record{}, err
	}
	if t.Appoint {
		row.AssessorName = name + " (appointment)"
	}
	if err := st.updateRecord(row); err != nil {
		return Record{}, err
	}
	notes := in.Notes
	if t.Reason {
		notes = strings.TrimSpace("Reason: " + in.Reason + "\n" + in.Notes)
	}
	if err := st.insertEvent(eventRow{ID: uuid.Must(uuid.NewV7()), RecordID: row.ID, FromState: from, ToState: row.State, At: now,
		ByAccount: &actor, ByName: name, Setting: in.Setting, Notes: notes, EvidenceRef: in.EvidenceRef}); err != nil {
		return Record{}, err
	}
	detail := map[string]string{"holder": row.HolderID.String(), "competency": spec.Code, "from": from, "to": row.State}
	if t.Practice {
		detail["practices_done"] = fmt.Sprint(row.PracticesDone)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{Action: "record." + string(t.Action), ObjectType: "record",
		ObjectID: row.ID.String(), Detail: detail}); err != nil {
		return Record{}, err
	}
	out := row.record()
	out.derive(spec, now, s.window)
	return out, nil
}

func selfRefusal(a Action) string {
	switch a {
	case ActSignOff:
		return "You cannot sign off your own competency"
	case ActReinstate:
		return "You cannot reinstate your own competency"
	}
	return "You cannot assess your own competency"
}

func practicesRefusal(required, done int) string {
	if required == 1 {
		return fmt.Sprintf("1 observed practice is required; %d recorded", done)
	}
	return fmt.Sprintf("%d observed practices are required; %d recorded", required, done)
}

// checkAssessor requires that the acting holder h (linked reports whether
// the actor is a holder here at all) holds a current record of an assessor
// competency that covers target's code. The refusal says why.
func (s *Service) checkAssessor(st store, specs *specCache, h holderRow, linked bool, target catalogue.Competency, now time.Time) error {
	refuse := func(why string) error {
		msg := "You are not a current assessor for " + target.Code
		if why != "" {
			msg += ": " + why
		}
		return errs.E(errs.Forbidden, msg)
	}
	if !linked {
		return refuse("")
	}
	if h.Status != "active" {
		return refuse("you have left this organisation")
	}
	rows, err := st.holderRecords(h.ID, false)
	if err != nil {
		return err
	}
	why := ""
	for _, row := range rows {
		c, err := specs.get(row.CompetencyID)
		if err != nil {
			return err
		}
		if c.Kind != catalogue.KindAssessor || !contains([]string(c.Covers), target.Code) {
			continue
		}
		r := row.record()
		r.derive(c, now, s.window)
		if r.State.Current() {
			// Hold the qualifying record while the sign-off commits, so a
			// concurrent suspension or revocation of it comes after, not
			// unseen before.
			locked, err := st.record(row.ID, forShare)
			if err != nil {
				return err
			}
			r = locked.record()
			r.derive(c, now, s.window)
			if r.State.Current() {
				return nil
			}
		}
		switch r.State {
		case Expired:
			why = fmt.Sprintf("your assessor competency %s expired on %s", c.Code, londonDate(r.ExpiresAt))
		case ReassessmentRequired:
			why = fmt.Sprintf("your assessor competency %s needs re-assessment", c.Code)
		case Suspended, Revoked:
			why = fmt.Sprintf("your assessor competency %s is %s", c.Code, r.State.phrase())
		default:
			if why == "" {
				why = fmt.Sprintf("your assessor competency %s is not yet signed off", c.Code)
			}
		}
	}
	return refuse(why)
}
