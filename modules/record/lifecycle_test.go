package record_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/moduletest"
	"github.com/carepass/carepass/modules/record"
	"github.com/carepass/carepass/tenants"
)

// world is one trust with a catalogue, staff of several roles and the
// assessors whose competencies decide who may sign off.
type world struct {
	*fixture
	tn   tenants.Tenant
	comp map[string]uuid.UUID

	assessor       uuid.UUID // assessor role; current PCC-A01, which covers PCC-01..03
	assessorHolder uuid.UUID
	trainer        uuid.UUID // trainer role: record:write but not signoff:write
	viewer         uuid.UUID // ward staff: record:read only
	notCovering    uuid.UUID // assessor role; current PCC-A02, which covers only PCC-99
	expired        uuid.UUID // assessor role; PCC-A01 signed off 25 months ago (24-month interval)
	suspended      uuid.UUID // assessor role; PCC-A01 suspended
	notAssessor    uuid.UUID // assessor role; a holder with only a skill competency
	unlinked       uuid.UUID // assessor role; no holder enrolment at all
}

func newWorld(t *testing.T, cfg record.Config) *world {
	t.Helper()
	w := &world{fixture: newFixture(t, cfg)}
	w.tn = w.Tenant("wrenford", tenants.KindPaediatricTrust)
	w.comp = w.Catalogue(w.tn, "pcc",
		moduletest.Competency{Code: "PCC-01", Practices: 2},
		moduletest.Competency{Code: "PCC-02", Specificity: "person", Params: []string{"tube size", "suction depth"}, Practices: 1},
		moduletest.Competency{Code: "PCC-03", Practices: 0, Months: 1},
		moduletest.Competency{Code: "PCC-A01", Kind: "assessor", Months: 24, Covers: []string{"PCC-01", "PCC-02", "PCC-03"}},
		moduletest.Competency{Code: "PCC-A02", Kind: "assessor", Months: 24, Covers: []string{"PCC-99"}},
	)
	recent := start.AddDate(0, 0, -30)
	assessorOf := func(email, name, code string, r rec) (uuid.UUID, uuid.UUID) {
		acct := w.Staff(w.tn, email, name, "assessor")
		given, family, _ := strings.Cut(name, " ")
		h := w.Holder(w.tn, given, family, acct)
		if code != "" {
			w.insertRecord(w.tn, h, w.comp[code], r)
		}
		return acct, h
	}
	w.assessor, w.assessorHolder = assessorOf("ada@wrenford.example", "Ada Assessor", "PCC-A01",
		rec{state: record.Competent, signedOff: &recent})
	w.notCovering, _ = assessorOf("nia@wrenford.example", "Nia Narrow", "PCC-A02", rec{state: record.Competent, signedOff: &recent})
	old := start.AddDate(0, -25, 0)
	w.expired, _ = assessorOf("eli@wrenford.example", "Eli Lapsed", "PCC-A01", rec{state: record.Competent, signedOff: &old})
	w.suspended, _ = assessorOf("sam@wrenford.example", "Sam Stopped", "PCC-A01", rec{state: record.Suspended, signedOff: &recent})
	w.notAssessor, _ = assessorOf("omar@wrenford.example", "Omar Skilled", "PCC-01", rec{state: record.Competent, signedOff: &recent})
	w.unlinked = w.Staff(w.tn, "una@wrenford.example", "Una Unlinked", "assessor")
	w.trainer = w.Staff(w.tn, "tom@wrenford.example", "Tom Trainer", "trainer")
	w.viewer = w.Staff(w.tn, "wes@wrenford.example", "Wes Ward", "ward_staff")
	return w
}

// learner is a new holder to enrol.
func (w *world) learner(name string) uuid.UUID {
	w.T.Helper()
	given, family, _ := strings.Cut(name, " ")
	return w.Holder(w.tn, given, family, uuid.Nil)
}

// setups puts a PCC-01 record in each displayed state (two practices done,
// so sign-off is never refused for lack of practice).
func setups() map[record.State]rec {
	recent := start.AddDate(0, 0, -10)
	dueSoon := start.AddDate(-1, 0, 20) // 12-month interval: expires in 20 days
	lapsed := start.AddDate(-1, 0, -1)
	return map[record.State]rec{
		record.Enrolled:             {state: record.Enrolled, practices: 2},
		record.TrainingAttended:     {state: record.TrainingAttended, practices: 2},
		record.SupervisedPractice:   {state: record.SupervisedPractice, practices: 2},
		record.Competent:            {state: record.Competent, practices: 2, signedOff: &recent},
		record.DueForUpdate:         {state: record.Competent, practices: 2, signedOff: &dueSoon},
		record.Expired:              {state: record.Competent, practices: 2, signedOff: &lapsed},
		record.ReassessmentRequired: {state: record.Competent, practices: 2, signedOff: &recent, reassess: true},
		record.NotYetCompetent:      {state: record.NotYetCompetent, practices: 2},
		record.Suspended:            {state: record.Suspended, practices: 2, signedOff: &recent},
		record.Revoked:              {state: record.Revoked, practices: 2, signedOff: &recent},
	}
}

// TestEveryActionFromEveryStateFollowsTheTable tries each action of the
// lifecycle from each displayed state, as a current assessor who holds
// every permission the actions need: the table alone decides, a refusal is
// a Conflict naming the state, and a refusal stores nothing.
func TestEveryActionFromEveryStateFollowsTheTable(t *testing.T) {
	w := newWorld(t, record.Config{})
	allowed := map[record.Action][]record.State{
		record.ActAttend:          {record.Enrolled, record.NotYetCompetent, record.Expired, record.ReassessmentRequired},
		record.ActPractice:        {record.TrainingAttended, record.SupervisedPractice, record.NotYetCompetent},
		record.ActSignOff:         {record.TrainingAttended, record.SupervisedPractice, record.NotYetCompetent, record.DueForUpdate, record.Expired, record.ReassessmentRequired},
		record.ActNotYetCompetent: {record.TrainingAttended, record.SupervisedPractice, record.DueForUpdate, record.Expired, record.ReassessmentRequired},
		record.ActSuspend:         {record.Competent, record.DueForUpdate, record.ReassessmentRequired},
		record.ActReinstate:       {record.Suspended},
		record.ActRevoke:          {record.Enrolled, record.TrainingAttended, record.SupervisedPractice, record.Competent, record.DueForUpdate, record.Expired, record.ReassessmentRequired, record.NotYetCompetent, record.Suspended},
	}
	n := 0
	for action, from := range allowed {
		tr, ok := record.TransitionFor(action)
		if !ok {
			t.Fatalf("%s is not in the lifecycle table", action)
		}
		for state, setup := range setups() {
			want := false
			for _, s := range from {
				want = want || s == state
			}
			t.Run(string(action)+"_from_"+string(state), func(t *testing.T) {
				n++
				h := w.learner("Lee Learner" + string(rune('A'+n%26)))
				id := w.insertRecord(w.tn, h, w.comp["PCC-01"], setup)
				before := w.stored(w.tn, id)
				events := w.Rows(w.tn, "record_events", "record_id = ?", id)
				got, err := w.svc.Transition(as(w.tn, w.assessor), id, record.TransitionInput{
					Action: action, Setting: "Ward 3B", Notes: "observed", EvidenceRef: "EV-1", Reason: "a reason"})
				if !want {
					if !errs.Is(err, errs.Conflict) {
						t.Fatalf("err = %v, want a Conflict", err)
					}
					if msg := errs.MessageOf(err); !strings.HasPrefix(msg, "This competency is ") || !strings.Contains(msg, tr.Refusal) {
						t.Errorf("message %q does not name the state and the refused step", msg)
					}
					if after := w.stored(w.tn, id); after.String() != before.String() {
						t.Errorf("refused step changed the record: %+v -> %+v", before, after)
					}
					if got := w.Rows(w.tn, "record_events", "record_id = ?", id); got != events {
						t.Errorf("refused step wrote history: %d -> %d events", events, got)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				after := w.stored(w.tn, id)
				if after.State != string(tr.To) || got.StoredState != tr.To {
					t.Errorf("stored state %s, want %s", after.State, tr.To)
				}
				switch {
				case tr.Practice && after.PracticesDone != before.PracticesDone+1:
					t.Errorf("practices %d -> %d, want one more", before.PracticesDone, after.PracticesDone)
				case tr.NewCycle && after.PracticesDone != 0:
					t.Errorf("practices %d after a new training cycle, want 0", after.PracticesDone)
				}
				if tr.SignOff && (after.SignedOffAt == nil || !after.SignedOffAt.Equal(start) || after.AssessorName != "Ada Assessor" || after.ReassessmentRequired) {
					t.Errorf("sign-off stored %+v", after)
				}
				if got := w.Rows(w.tn, "record_events", "record_id = ? AND from_state = ? AND to_state = ? AND setting = 'Ward 3B' AND evidence_ref = 'EV-1'",
					id, before.State, string(tr.To)); got != 1 {
					t.Errorf("%d history entries for the step, want 1", got)
				}
			})
		}
	}
}

// TestRolesDecideWhoMayTakeEachStep checks each action's permission from
// the table against the tenant's template roles.
func TestRolesDecideWhoMayTakeEachStep(t *testing.T) {
	w := newWorld(t, record.Config{})
	recent := start.AddDate(0, 0, -10)
	cases := []struct {
		name   string
		actor  func() uuid.UUID
		action record.Action
		setup  rec
		want   errs.Kind // -1: allowed
	}{
		{"trainer may record attendance", func() uuid.UUID { return w.trainer }, record.ActAttend, rec{state: record.Enrolled}, -1},
		{"trainer may record an observed practice", func() uuid.UUID { return w.trainer }, record.ActPractice, rec{state: record.TrainingAttended}, -1},
		{"trainer may not sign off", func() uuid.UUID { return w.trainer }, record.ActSignOff, rec{state: record.SupervisedPractice, practices: 2}, errs.Forbidden},
		{"trainer may not suspend", func() uuid.UUID { return w.trainer }, record.ActSuspend, rec{state: record.Competent, signedOff: &recent}, errs.Forbidden},
		{"trainer may not revoke", func() uuid.UUID { return w.trainer }, record.ActRevoke, rec{state: record.Competent, signedOff: &recent}, errs.Forbidden},
		{"ward staff may not record attendance", func() uuid.UUID { return w.viewer }, record.ActAttend, rec{state: record.Enrolled}, errs.Forbidden},
		{"ward staff may not sign off", func() uuid.UUID { return w.viewer }, record.ActSignOff, rec{state: record.SupervisedPractice, practices: 2}, errs.Forbidden},
		{"assessor may suspend", func() uuid.UUID { return w.assessor }, record.ActSuspend, rec{state: record.Competent, signedOff: &recent}, -1},
		{"assessor may reinstate", func() uuid.UUID { return w.assessor }, record.ActReinstate, rec{state: record.Suspended, signedOff: &recent}, -1},
		{"an assessor who covers nothing here may still suspend", func() uuid.UUID { return w.notCovering }, record.ActSuspend, rec{state: record.Competent, signedOff: &recent}, -1},
		{"an assessor who does not cover it may not assess not yet competent", func() uuid.UUID { return w.notCovering }, record.ActNotYetCompetent, rec{state: record.SupervisedPractice}, errs.Forbidden},
		{"signed-out caller is refused", func() uuid.UUID { return uuid.Nil }, record.ActAttend, rec{state: record.Enrolled}, errs.Unauthenticated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := w.insertRecord(w.tn, w.learner("Rae Role"), w.comp["PCC-01"], c.setup)
			before := w.stored(w.tn, id)
			_, err := w.svc.Transition(as(w.tn, c.actor()), id, record.TransitionInput{Action: c.action, Reason: "a reason"})
			if c.want == -1 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errs.Is(err, c.want) {
				t.Fatalf("err = %v, want %s", err, c.want)
			}
			if after := w.stored(w.tn, id); after.String() != before.String() {
				t.Errorf("refused step changed the record")
			}
		})
	}
}

// TestSignOffNeedsACurrentAssessorCoveringTheCompetency is the core hazard:
// a competency signed off by someone not authorised to assess it. Every
// refusal says why and stores nothing: no record change, no history entry,
// no successful audit event.
func TestSignOffNeedsACurrentAssessorCoveringTheCompetency(t *testing.T) {
	w := newWorld(t, record.Config{})
	other := w.Tenant("meadowbank", tenants.KindCareHome)
	otherComp := w.Catalogue(other, "chs", moduletest.Competency{Code: "PCC-A01", Kind: "assessor", Months: 24, Covers: []string{"PCC-01"}})
	// Assesses in another tenant only: a member here, but not a holder here.
	elsewhere := w.Staff(w.tn, "ola@elsewhere.example", "Ola Elsewhere", "assessor")
	oh := w.Holder(other, "Ola", "Elsewhere", elsewhere)
	recent := start.AddDate(0, 0, -30)
	w.insertRecord(other, oh, otherComp["PCC-A01"], rec{state: record.Competent, signedOff: &recent})
	// A current assessor enrolled in PCC-01 themselves.
	self := w.assessor
	selfRecord := w.insertRecord(w.tn, w.assessorHolder, w.comp["PCC-01"], rec{state: record.SupervisedPractice, practices: 2})

	cf := w.caredForWithoutPrescription()
	cases := []struct {
		name    string
		actor   uuid.UUID
		record  func() uuid.UUID
		clock   time.Time
		kind    errs.Kind // -1: allowed
		message string
	}{
		{name: "a current assessor covering the code signs off", actor: w.assessor,
			record: w.practised("PCC-01", 2), kind: -1},
		{name: "refused: assessor competency does not cover the code", actor: w.notCovering,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01"},
		{name: "refused: assessor competency expired", actor: w.expired,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01: your assessor competency PCC-A01 expired on"},
		{name: "refused: assessor competency expired as the clock moved on", actor: w.assessor,
			record: w.practised("PCC-01", 2), clock: start.AddDate(2, 0, 0), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01: your assessor competency PCC-A01 expired on"},
		{name: "refused: assessor competency suspended", actor: w.suspended,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01: your assessor competency PCC-A01 is suspended"},
		{name: "refused: a holder here without any assessor competency", actor: w.notAssessor,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01"},
		{name: "refused: not a holder here at all", actor: w.unlinked,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01"},
		{name: "refused: assessor only in another tenant", actor: elsewhere,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You are not a current assessor for PCC-01"},
		{name: "refused: self sign-off", actor: self,
			record: func() uuid.UUID { return selfRecord }, kind: errs.Forbidden, message: "You cannot sign off your own competency"},
		{name: "refused: too few observed practices", actor: w.assessor,
			record: w.practised("PCC-01", 1), kind: errs.Invalid, message: "2 observed practices are required; 1 recorded"},
		{name: "refused: person-specific without a prescription", actor: w.assessor,
			record: func() uuid.UUID {
				return w.insertRecord(w.tn, w.learner("Pat Parent"), w.comp["PCC-02"], rec{state: record.SupervisedPractice, practices: 1, caredFor: &cf})
			}, kind: errs.Invalid, message: "There is no care prescription for PCC-02; set one before signing off"},
		{name: "refused: no sign-off permission", actor: w.trainer,
			record: w.practised("PCC-01", 2), kind: errs.Forbidden, message: "You do not have permission to sign off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.record()
			if !c.clock.IsZero() {
				w.clock.Set(c.clock)
				t.Cleanup(func() { w.clock.Set(start) })
			}
			before := w.stored(w.tn, id)
			events := w.Rows(w.tn, "record_events", "")
			successes := w.successes(w.tn)
			got, err := w.svc.Transition(as(w.tn, c.actor), id, record.TransitionInput{Action: record.ActSignOff, Setting: "Ward 3B"})
			if c.kind == -1 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.State != record.Competent || got.AssessorName != "Ada Assessor" || got.SignedOffBy == nil || *got.SignedOffBy != c.actor {
					t.Errorf("signed off as %+v", got)
				}
				return
			}
			if !errs.Is(err, c.kind) {
				t.Fatalf("err = %v, want %s", err, c.kind)
			}
			if msg := errs.MessageOf(err); !strings.HasPrefix(msg, c.message) {
				t.Errorf("message %q, want it to start %q", msg, c.message)
			}
			if after := w.stored(w.tn, id); after.String() != before.String() {
				t.Errorf("refused sign-off changed the record: %+v -> %+v", before, after)
			}
			if got := w.Rows(w.tn, "record_events", ""); got != events {
				t.Errorf("refused sign-off wrote history: %d -> %d events", events, got)
			}
			if got := w.successes(w.tn); got != successes {
				t.Errorf("refused sign-off wrote %d successful audit events", got-successes)
			}
			if c.kind == errs.Forbidden {
				evs := w.Events(w.tn)
				last := evs[len(evs)-1]
				if last.Action != "record.sign_off" || last.Outcome != "denied" || last.ObjectID != id.String() || last.Detail["reason"] != errs.MessageOf(err) {
					t.Errorf("last audit event %+v, want the denied sign-off with its reason", last)
				}
			}
		})
	}
}

// practised returns a maker of PCC records in supervised practice with n
// practices done, each for a new holder.
func (w *world) practised(code string, n int) func() uuid.UUID {
	return func() uuid.UUID {
		return w.insertRecord(w.tn, w.learner("Kit Learner"), w.comp[code], rec{state: record.SupervisedPractice, practices: n})
	}
}

func (w *world) caredForWithoutPrescription() uuid.UUID {
	w.T.Helper()
	cf, err := w.svc.CreateCaredFor(as(w.tn, w.assessor), record.NewCaredFor{GivenName: "Mia", FamilyName: "Child"})
	if err != nil {
		w.T.Fatal(err)
	}
	return cf.ID
}

// TestFullJourneyFromEnrolmentToSignOff walks one record through the
// lifecycle as the pages would, and checks the history and audit trail.
func TestFullJourneyFromEnrolmentToSignOff(t *testing.T) {
	w := newWorld(t, record.Config{})
	h := w.learner("Jo Journey")
	ctx := as(w.tn, w.trainer)
	r, err := w.svc.Enrol(ctx, h, record.EnrolInput{CompetencyID: w.comp["PCC-01"], Setting: "Ward 3B"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Enrol(ctx, h, record.EnrolInput{CompetencyID: w.comp["PCC-01"]}); !errs.Is(err, errs.Conflict) {
		t.Errorf("enrolling twice: %v, want a Conflict", err)
	}
	steps := []struct {
		actor  uuid.UUID
		action record.Action
		state  record.State
	}{
		{w.trainer, record.ActAttend, record.TrainingAttended},
		{w.trainer, record.ActPractice, record.SupervisedPractice},
		{w.trainer, record.ActPractice, record.SupervisedPractice},
		{w.assessor, record.ActSignOff, record.Competent},
	}
	for _, s := range steps {
		got, err := w.svc.Transition(as(w.tn, s.actor), r.ID, record.TransitionInput{Action: s.action, Setting: "Ward 3B", EvidenceRef: "OBS-7"})
		if err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		if got.State != s.state {
			t.Fatalf("after %s: %s, want %s", s.action, got.State, s.state)
		}
	}
	d, err := w.svc.Record(as(w.tn, w.viewer), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.History) != 5 || d.History[0].ToState != record.Enrolled || d.History[4].ToState != record.Competent ||
		d.History[4].ByName != "Ada Assessor" || d.History[1].ByName != "Tom Trainer" {
		t.Errorf("history = %+v", d.History)
	}
	if d.PracticesDone != 2 || d.Next != "Re-assess before 1 April 2027" {
		t.Errorf("record = %+v", d.Record)
	}
	var actions []string
	for _, e := range w.Events(w.tn) {
		if strings.HasPrefix(e.Action, "record.") && e.ObjectID == r.ID.String() && e.Outcome == "success" {
			actions = append(actions, e.Action)
		}
	}
	if want := "record.enrol record.attend record.practice record.practice record.sign_off"; strings.Join(actions, " ") != want {
		t.Errorf("audit = %v, want %s", actions, want)
	}
	last := w.Events(w.tn)
	if e := last[len(last)-1]; e.Action != "passport.read" || e.ObjectType != "holder" || e.ObjectID != h.String() || e.Detail["record"] != r.ID.String() {
		t.Errorf("reading the record audited %+v, want passport.read of the holder", e)
	}
}

// TestBadTransitionInputIsRefusedWithFieldErrors checks input validation.
func TestBadTransitionInputIsRefusedWithFieldErrors(t *testing.T) {
	w := newWorld(t, record.Config{})
	recent := start.AddDate(0, 0, -3)
	id := w.insertRecord(w.tn, w.learner("Val Input"), w.comp["PCC-01"], rec{state: record.Competent, signedOff: &recent})
	cases := []struct {
		name  string
		in    record.TransitionInput
		field string
	}{
		{"unknown action", record.TransitionInput{Action: "promote"}, "action"},
		{"enrol is not a transition", record.TransitionInput{Action: record.ActEnrol}, "action"},
		{"revoking needs a reason", record.TransitionInput{Action: record.ActRevoke, Reason: "   "}, "reason"},
		{"suspending needs a reason", record.TransitionInput{Action: record.ActSuspend}, "reason"},
		{"setting too long", record.TransitionInput{Action: record.ActRevoke, Reason: "r", Setting: strings.Repeat("x", 121)}, "setting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.Transition(as(w.tn, w.assessor), id, c.in)
			fields := errs.FieldsOf(err)
			if len(fields) != 1 || fields[0].Field != c.field {
				t.Fatalf("err = %v (%+v), want one error on %s", err, fields, c.field)
			}
		})
	}
	if _, err := w.svc.Transition(as(w.tn, w.assessor), uuid.Must(uuid.NewV7()), record.TransitionInput{Action: record.ActAttend}); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown record: %v, want NotFound", err)
	}
	revoked, err := w.svc.Transition(as(w.tn, w.assessor), id, record.TransitionInput{Action: record.ActRevoke, Reason: "Unsafe practice", Notes: "see incident 4"})
	if err != nil || revoked.State != record.Revoked {
		t.Fatalf("revoke: %v %+v", err, revoked)
	}
	d, err := w.svc.Record(as(w.tn, w.assessor), id)
	if err != nil {
		t.Fatal(err)
	}
	if n := d.History[len(d.History)-1].Notes; n != "Reason: Unsafe practice\nsee incident 4" {
		t.Errorf("revocation notes %q", n)
	}
	_, err = w.svc.Transition(as(w.tn, w.assessor), id, record.TransitionInput{Action: record.ActSignOff})
	if msg := errs.MessageOf(err); msg != "This competency is revoked; it cannot be signed off" {
		t.Errorf("signing off a revoked record: %q", msg)
	}
}

// TestAppointmentConfersOnlyAssessorAndTrainerCompetencies: nothing in a
// catalogue covers assessor competencies, so an organisation's
// administrator appoints its assessors on evidence; never a skill, never
// without evidence, never oneself, never by a role without tenant:write.
func TestAppointmentConfersOnlyAssessorAndTrainerCompetencies(t *testing.T) {
	w := newWorld(t, record.Config{})
	admin := w.Staff(w.tn, "ada.admin@wrenford.example", "Ada Admin", "tenant_admin")
	candidate := w.learner("Cal Candidate")
	assessorRec := w.insertRecord(w.tn, candidate, w.comp["PCC-A01"], rec{state: record.Enrolled})
	skillRec := w.insertRecord(w.tn, candidate, w.comp["PCC-01"], rec{state: record.Enrolled})
	appoint := func(actor, id uuid.UUID, evidence string) error {
		_, err := w.svc.Transition(as(w.tn, actor), id, record.TransitionInput{Action: record.ActAppoint, EvidenceRef: evidence, Setting: "Education centre"})
		return err
	}
	tests := []struct {
		name     string
		actor    uuid.UUID
		id       uuid.UUID
		evidence string
		want     errs.Kind
	}{
		{"an assessor cannot appoint (no tenant:write)", w.assessor, assessorRec, "Course certificate 2026-114", errs.Forbidden},
		{"a skill is never appointed", admin, skillRec, "Course certificate 2026-114", errs.Invalid},
		{"evidence is required", admin, assessorRec, "", errs.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.stored(w.tn, tc.id)
			if err := appoint(tc.actor, tc.id, tc.evidence); !errs.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if after := w.stored(w.tn, tc.id); after.String() != before.String() {
				t.Fatalf("a refused appointment changed the record: %v -> %v", before, after)
			}
		})
	}
	if err := appoint(admin, assessorRec, "Course certificate 2026-114"); err != nil {
		t.Fatalf("appointment: %v", err)
	}
	got := w.stored(w.tn, assessorRec)
	if got.State != string(record.Competent) || got.AssessorName != "Ada Admin (appointment)" {
		t.Fatalf("appointed record: %v", got)
	}
	// The appointed assessor can now sign off what the competency covers.
	acct := w.Account("cal@wrenford.example", "Cal Candidate")
	w.Member(w.tn, acct, "assessor")
	w.In(w.tn, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE persons SET account_id = ? WHERE id = (SELECT person_id FROM holders WHERE tenant_id = ? AND id = ?)`,
			acct, w.tn.ID, candidate).Error
	})
	learner := w.learner("Liv Learner")
	target := w.insertRecord(w.tn, learner, w.comp["PCC-03"], rec{state: record.TrainingAttended})
	if _, err := w.svc.Transition(as(w.tn, acct), target, record.TransitionInput{Action: record.ActSignOff, Setting: "Home"}); err != nil {
		t.Fatalf("sign-off by the appointed assessor: %v", err)
	}
}
