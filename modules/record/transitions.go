package record

import "github.com/carepass/carepass/policy"

// Action names a transition of the lifecycle.
type Action string

// The actions of the lifecycle.
const (
	ActEnrol           Action = "enrol"
	ActAttend          Action = "attend"
	ActPractice        Action = "practice"
	ActSignOff         Action = "sign_off"
	ActNotYetCompetent Action = "not_yet_competent"
	ActSuspend         Action = "suspend"
	ActReinstate       Action = "reinstate"
	ActRevoke          Action = "revoke"
	ActAppoint         Action = "appoint"
)

// Transition is one row of the lifecycle table: who may take an action,
// from which displayed states, to which stored state, and what else the
// action demands.
type Transition struct {
	Action Action
	Label  string // the choice on the form
	// From lists the displayed states the action may start from; enrolment,
	// which creates the record, has none.
	From []State
	To   State
	// Perm is the permission the acting account must hold in the tenant.
	Perm policy.Permission
	// Refusal completes "This competency is …; " when From does not match.
	Refusal string
	// Assess: the actor must be a current assessor covering the competency
	// and not its holder (sign-off and the not-yet-competent outcome).
	Assess bool
	// NotSelf: the actor may not be the record's holder.
	NotSelf bool
	// Reason: free-text reason required (suspension and revocation).
	Reason bool
	// Practice adds one observed practice; NewCycle starts counting afresh.
	Practice, NewCycle bool
	// SignOff stamps the sign-off (date, assessor, setting, prescription).
	SignOff bool
	// Appoint: an organisation confers an assessor or trainer competency
	// on the evidence of its award (nothing in a catalogue covers assessor
	// competencies, so no assessor could sign them off). Skills never.
	Appoint bool
}

var (
	permWrite   = policy.Permission{Object: "record", Action: "write"}
	permSignOff = policy.Permission{Object: "signoff", Action: "write"}
	permAppoint = policy.Permission{Object: "tenant", Action: "write"}
)

// Lifecycle is the table of every transition; nothing else decides which
// transitions exist. Derived states appear in From so that, for example, an
// expired competency can be re-trained but a current one cannot.
var Lifecycle = []Transition{
	{Action: ActEnrol, Label: "Enrol", To: Enrolled, Perm: permWrite},
	{Action: ActAttend, Label: "Training attended", To: TrainingAttended, Perm: permWrite, NewCycle: true,
		From:    []State{Enrolled, NotYetCompetent, Expired, ReassessmentRequired},
		Refusal: "training attendance cannot be recorded"},
	{Action: ActPractice, Label: "Observed practice", To: SupervisedPractice, Perm: permWrite, Practice: true,
		From:    []State{TrainingAttended, SupervisedPractice, NotYetCompetent},
		Refusal: "an observed practice cannot be recorded"},
	{Action: ActSignOff, Label: "Assessed competent: sign off", To: Competent, Perm: permSignOff, Assess: true, SignOff: true,
		From:    []State{TrainingAttended, SupervisedPractice, NotYetCompetent, DueForUpdate, Expired, ReassessmentRequired},
		Refusal: "it cannot be signed off"},
	{Action: ActNotYetCompetent, Label: "Assessed not yet competent", To: NotYetCompetent, Perm: permSignOff, Assess: true,
		From:    []State{TrainingAttended, SupervisedPractice, DueForUpdate, Expired, ReassessmentRequired},
		Refusal: "it cannot be assessed as not yet competent"},
	{Action: ActSuspend, Label: "Suspend", To: Suspended, Perm: permSignOff, Reason: true,
		From:    []State{Competent, DueForUpdate, ReassessmentRequired},
		Refusal: "it cannot be suspended"},
	{Action: ActReinstate, Label: "Reinstate", To: Competent, Perm: permSignOff, NotSelf: true,
		From:    []State{Suspended},
		Refusal: "it cannot be reinstated"},
	{Action: ActRevoke, Label: "Revoke", To: Revoked, Perm: permSignOff, Reason: true,
		From: []State{Enrolled, TrainingAttended, SupervisedPractice, Competent, DueForUpdate, Expired,
			ReassessmentRequired, NotYetCompetent, Suspended},
		Refusal: "it cannot be revoked"},
	{Action: ActAppoint, Label: "Appoint (assessor and trainer competencies)", To: Competent, Perm: permAppoint, NotSelf: true,
		SignOff: true, Appoint: true,
		From: []State{Enrolled, TrainingAttended, SupervisedPractice, NotYetCompetent, DueForUpdate, Expired,
			ReassessmentRequired},
		Refusal: "it cannot be appointed"},
}

// TransitionFor returns the table row of action.
func TransitionFor(a Action) (Transition, bool) {
	for _, t := range Lifecycle {
		if t.Action == a {
			return t, true
		}
	}
	return Transition{}, false
}

// Allows reports whether the transition may start from displayed state s.
func (t Transition) Allows(s State) bool { return contains(t.From, s) }

// Available returns the transitions (not enrolment) that may start from s.
func Available(s State) []Transition {
	var out []Transition
	for _, t := range Lifecycle {
		if t.Action != ActEnrol && t.Allows(s) {
			out = append(out, t)
		}
	}
	return out
}
