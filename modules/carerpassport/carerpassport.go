// Package carerpassport issues carer passports under a tenant's schemes and
// answers, to anyone who asks, whether one is valid.
//
// A passport identifies its holder as an unpaid carer of a named person and
// carries the scheme's offer of support. It is issued with the cared-for
// person's consent when the scheme requires it, and renewed, suspended,
// resumed, revoked or re-issued with every step kept in its history. Each
// passport has a typable code and a QR code signed with its issuer's key, and
// a position in its issuer's revocation status list that is set whenever the
// passport stops being valid before its time.
//
// Verification shows only what a verifier needs (the holder's display name,
// "registered carer", issuer, scheme, valid until and the benefits) and gives
// one indistinguishable answer for anything else. Nothing about the person
// cared for ever leaves the issuing tenant.
package carerpassport

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
)

// State is a passport's stored state. Expired is never stored: it is read
// from the validity dates at the time of asking.
type State string

// Passport states.
const (
	Active    State = "active"
	Suspended State = "suspended"
	Revoked   State = "revoked"
	Expired   State = "expired"
)

// Label is the state's human name.
func (s State) Label() string {
	switch s {
	case Active:
		return "Active"
	case Suspended:
		return "Suspended"
	case Revoked:
		return "Revoked"
	case Expired:
		return "Expired"
	}
	return string(s)
}

// Reason is why a passport was revoked.
type Reason string

// Revocation reasons. Replaced is given by re-issuing, never chosen.
const (
	ConsentWithdrawn Reason = "consent_withdrawn"
	NoLongerCaring   Reason = "no_longer_caring"
	CaredForDied     Reason = "cared_for_died"
	IssuedInError    Reason = "issued_in_error"
	Replaced         Reason = "replaced"
)

// Choice is one option of a form's radio list.
type Choice struct {
	Key   string
	Label string
}

// RevokeReasons are the reasons an officer may choose, in form order.
var RevokeReasons = []Choice{
	{string(ConsentWithdrawn), "Consent withdrawn"},
	{string(NoLongerCaring), "No longer caring"},
	{string(CaredForDied), "The person cared for has died"},
	{string(IssuedInError), "Issued in error"},
}

// ReasonLabel is the human name of a revocation reason.
func ReasonLabel(r Reason) string {
	if r == Replaced {
		return "Replaced by a new passport"
	}
	for _, c := range RevokeReasons {
		if c.Key == string(r) {
			return c.Label
		}
	}
	return string(r)
}

// ConsentMethods are how consent may have been given, in form order.
var ConsentMethods = []Choice{
	{"in_person", "In person"},
	{"written", "In writing"},
	{"phone", "By phone"},
}

func consentMethodLabel(k string) string {
	for _, c := range ConsentMethods {
		if c.Key == k {
			return c.Label
		}
	}
	if k == "not_required" {
		return "Not required by the scheme"
	}
	return k
}

// Passport is one carer passport as its issuing tenant sees it.
type Passport struct {
	ID             uuid.UUID  `json:"id"`
	HolderID       uuid.UUID  `json:"holder_id"`
	SchemeID       uuid.UUID  `json:"scheme_id"`
	Code           string     `json:"code"`
	HolderName     string     `json:"holder_name"`
	SchemeName     string     `json:"scheme_name"`
	Benefits       []string   `json:"benefits"`
	CaredForName   string     `json:"cared_for_name"`
	Relationship   string     `json:"relationship"`
	HealthDetails  string     `json:"health_details,omitempty"`
	ConsentGivenBy string     `json:"consent_given_by,omitempty"`
	ConsentMethod  string     `json:"consent_method,omitempty"`
	ConsentAt      *time.Time `json:"consent_at,omitempty"`
	StayReference  string     `json:"stay_reference,omitempty"`
	ValidFrom      time.Time  `json:"valid_from"`
	ValidUntil     time.Time  `json:"valid_until"`
	Stored         State      `json:"-"`
	State          State      `json:"state"` // at the time of reading
	RevokedReason  Reason     `json:"revoked_reason,omitempty"`
	Replaces       *uuid.UUID `json:"replaces,omitempty"`
	RenewalAsked   *time.Time `json:"renewal_requested_at,omitempty"`
	QR             string     `json:"qr"`
	IssuedAt       time.Time  `json:"issued_at"`
	TenantName     string     `json:"-"`
	TenantSlug     string     `json:"-"`
	Renewable      bool       `json:"renewable"`
	UntilDischarge bool       `json:"until_discharge"`
}

// StateLabel is the human name of the passport's state when read.
func (p Passport) StateLabel() string { return p.State.Label() }

// ReasonLabel is the human name of the revocation reason.
func (p Passport) ReasonLabel() string { return ReasonLabel(p.RevokedReason) }

// ConsentLabel is how consent was given, in words.
func (p Passport) ConsentLabel() string { return consentMethodLabel(p.ConsentMethod) }

// effective returns the state at now: an active passport past its validity
// reads expired.
func effective(stored State, validFrom, validUntil, now time.Time) State {
	if stored == Active && (now.After(validUntil) || now.Before(validFrom)) {
		return Expired
	}
	return stored
}

// Event is one step of a passport's history.
type Event struct {
	At         time.Time  `json:"at"`
	Action     string     `json:"action"`
	By         string     `json:"by,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Note       string     `json:"note,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// ActionLabel is the human name of the event's action.
func (e Event) ActionLabel() string {
	switch e.Action {
	case "issued":
		return "Issued"
	case "renewed":
		return "Renewed"
	case "suspended":
		return "Suspended"
	case "resumed":
		return "Resumed"
	case "revoked":
		return "Revoked"
	case "reissued":
		return "Re-issued with a new code"
	case "stay_ended":
		return "Stay ended"
	case "renewal_requested":
		return "Holder asked for renewal"
	}
	return e.Action
}

// ReasonLabel is the human name of the event's reason, when it is a
// revocation reason.
func (e Event) ReasonLabel() string { return ReasonLabel(Reason(e.Reason)) }

// Detail is a passport with its history, as an officer sees it.
type Detail struct {
	Passport
	History []Event
	Checks  []Check
}

// Check is one verification of a passport.
type Check struct {
	At        time.Time `json:"at"`
	Verifier  string    `json:"verifier"` // the verifying organisation, or "Anonymous check"
	Channel   string    `json:"channel"`
	Confirmed bool      `json:"confirmed"`
}

// ChannelLabel names how the passport was presented.
func (c Check) ChannelLabel() string {
	switch c.Channel {
	case ChannelCode:
		return "Code typed in"
	case ChannelQR:
		return "QR code scanned"
	case ChannelLink:
		return "Link opened"
	case ChannelAPI:
		return "Checked by a connected system"
	}
	return c.Channel
}

// Channels a passport is presented through.
const (
	ChannelCode = "code"
	ChannelQR   = "qr"
	ChannelLink = "link"
	ChannelAPI  = "api"
)

// IssueInput is what an officer gives to issue a passport.
type IssueInput struct {
	HolderID       uuid.UUID
	SchemeID       uuid.UUID
	CaredForName   string
	Relationship   string
	HealthDetails  string
	ConsentGivenBy string
	ConsentMethod  string
	ConsentDate    *time.Time // the day consent was given
	StayReference  string
	Note           string
}

func (in *IssueInput) normalise() {
	in.CaredForName = strings.TrimSpace(in.CaredForName)
	in.Relationship = strings.TrimSpace(in.Relationship)
	in.HealthDetails = strings.TrimSpace(in.HealthDetails)
	in.ConsentGivenBy = strings.TrimSpace(in.ConsentGivenBy)
	in.ConsentMethod = strings.TrimSpace(in.ConsentMethod)
	in.StayReference = strings.TrimSpace(in.StayReference)
	in.Note = strings.TrimSpace(in.Note)
}

// validate checks the input against the scheme's terms at now.
func (in IssueInput) validate(s Scheme, now time.Time) error {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	if in.HolderID == uuid.Nil {
		add("holder", "Choose who the passport is for")
	}
	if in.SchemeID == uuid.Nil {
		add("scheme", "Choose the scheme")
	}
	switch n := utf8.RuneCountInString(in.CaredForName); {
	case n == 0:
		add("cared_for_name", "Enter the name of the person they care for")
	case n > 200:
		add("cared_for_name", "Name of the person cared for must be 200 characters or fewer")
	}
	switch n := utf8.RuneCountInString(in.Relationship); {
	case n == 0:
		add("relationship", "Enter their relationship to the person they care for, for example mother or neighbour")
	case n > 100:
		add("relationship", "Relationship must be 100 characters or fewer")
	}
	if utf8.RuneCountInString(in.HealthDetails) > 2000 {
		add("health_details", "Health details must be 2,000 characters or fewer")
	}
	if utf8.RuneCountInString(in.Note) > 1000 {
		add("note", "Note must be 1,000 characters or fewer")
	}
	if s.ConsentRequired {
		if in.ConsentGivenBy == "" {
			add("consent_given_by", "This scheme needs the consent of the person cared for: enter who gave it")
		} else if utf8.RuneCountInString(in.ConsentGivenBy) > 200 {
			add("consent_given_by", "Who gave consent must be 200 characters or fewer")
		}
		if consentMethodLabel(in.ConsentMethod) == in.ConsentMethod || in.ConsentMethod == "not_required" {
			add("consent_method", "Select how consent was given")
		}
		if in.ConsentDate == nil {
			add("consent_date", "Enter the date consent was given")
		} else if in.ConsentDate.After(now) {
			add("consent_date", "Date consent was given must be today or in the past")
		}
	}
	if s.UntilDischarge {
		switch n := utf8.RuneCountInString(in.StayReference); {
		case n == 0:
			add("stay_reference", "Enter the stay this passport covers, for example the ward and admission date")
		case n > 200:
			add("stay_reference", "Stay must be 200 characters or fewer")
		}
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// Scheme is what the passport module needs of a scheme to issue under it.
type Scheme struct {
	ID              uuid.UUID
	Name            string
	Audience        string
	Benefits        []string
	ConsentRequired bool
	Renewable       bool
	UntilDischarge  bool
	// ValidUntil gives the end of validity of a passport issued at from.
	ValidUntil func(from time.Time) (time.Time, error)
}

// SchemeOption is one scheme offered on the issue form.
type SchemeOption struct {
	ID              uuid.UUID
	Name            string
	ConsentRequired bool
	UntilDischarge  bool
}

// Result is the answer of a verification, the same for every kind of
// negative: only Confirmed passports carry any detail.
type Result struct {
	Confirmed  bool      `json:"-"`
	HolderName string    `json:"holder_name,omitempty"`
	IssuerName string    `json:"issuer,omitempty"`
	SchemeName string    `json:"scheme,omitempty"`
	ValidUntil time.Time `json:"-"`
	Benefits   []string  `json:"benefits,omitempty"`
	Code       string    `json:"-"`
}

// NotConfirmed is the one message for every code or QR that cannot be
// confirmed, whatever the reason.
const NotConfirmed = "This passport cannot be confirmed as valid"

// london is the time zone dates are shown in.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return loc
}()
