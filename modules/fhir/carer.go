package fhir

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// CarerEntry is one entry of a practice's carer register, as the builders
// need it. The register keeps the entry; this is a plain copy of its fields.
type CarerEntry struct {
	ID            uuid.UUID
	GivenName     string
	FamilyName    string
	DateOfBirth   *time.Time // optional
	NHSNumber     string     // optional, 10 digits
	SNOMEDCode    string     // the unpaid-carer concept
	SNOMEDDisplay string
	RecordedOn    time.Time
	Active        bool
	ClosedOn      *time.Time // when the person stopped being a carer
	ClosedReason  string     // the reason, in words
	// The cared-for person, when known: their name and how the carer is
	// related to them (e.g. "Husband").
	CaredForName         string
	CaredForRelationship string
	UpdatedAt            time.Time
}

// name returns the carer's full name.
func (e CarerEntry) name() string {
	return strings.TrimSpace(e.GivenName + " " + e.FamilyName)
}

// nhsIdentifier returns the carer's NHS number as an identifier, or nil.
func (e CarerEntry) nhsIdentifier() *Identifier {
	if e.NHSNumber == "" {
		return nil
	}
	return &Identifier{System: SystemNHSNumber, Value: e.NHSNumber}
}

// period is the span over which the entry holds: from the day it was
// recorded to the day the person stopped being a carer, if they have.
func (e CarerEntry) period() *Period {
	return &Period{Start: Date(&e.RecordedOn), End: Date(e.ClosedOn)}
}

// RelatedPersonID is the id of the RelatedPerson exported for a register
// entry: derived from the entry's id, so it is the same on every export and
// never equal to the Observation's.
func RelatedPersonID(entryID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(entryID, []byte("RelatedPerson"))
}

// CarerObservation returns the Observation of the carer's own record: the
// SNOMED CT concept that says they are an unpaid carer, effective from the
// day it was recorded until, for a closed entry, the day they stopped.
func CarerObservation(e CarerEntry) Observation {
	o := Observation{
		ID:         e.ID.String(),
		Meta:       &Meta{Profile: []string{ProfileObservation}, LastUpdated: Instant(e.UpdatedAt)},
		Identifier: []Identifier{{System: SystemURI, Value: "urn:uuid:" + e.ID.String()}},
		Status:     "final",
		Category: []CodeableConcept{{Coding: []Coding{{System: SystemObsCategory, Code: "social-history",
			Display: "Social History"}}}},
		Code: CodeableConcept{Coding: []Coding{{System: SystemSNOMED, Code: e.SNOMEDCode, Display: e.SNOMEDDisplay}},
			Text: e.SNOMEDDisplay},
		Subject:         &Reference{Identifier: e.nhsIdentifier(), Display: e.name()},
		EffectivePeriod: e.period(),
	}
	if e.ClosedOn != nil {
		text := "No longer a carer from " + Date(e.ClosedOn)
		if e.ClosedReason != "" {
			text += ": " + e.ClosedReason
		}
		o.Note = []Annotation{{Time: Date(e.ClosedOn), Text: text}}
	}
	return o
}

// CarerRelatedPerson returns the RelatedPerson that records the carer on
// the cared-for person's side, with the UK Core "Carer" relationship; false
// when the entry names no cared-for person.
func CarerRelatedPerson(e CarerEntry) (RelatedPerson, bool) {
	if strings.TrimSpace(e.CaredForName) == "" {
		return RelatedPerson{}, false
	}
	active := e.Active
	r := RelatedPerson{
		ID:      RelatedPersonID(e.ID).String(),
		Meta:    &Meta{Profile: []string{ProfileRelatedPerson}, LastUpdated: Instant(e.UpdatedAt)},
		Active:  &active,
		Patient: Reference{Display: strings.TrimSpace(e.CaredForName)},
		Relationship: []CodeableConcept{{Coding: []Coding{{System: SystemRelationshipUK, Code: relationshipCarer,
			Display: relationshipCarerText}}}},
		Name:      []HumanName{{Text: e.name(), Family: e.FamilyName, Given: nonEmpty(e.GivenName)}},
		BirthDate: Date(e.DateOfBirth),
		Period:    e.period(),
	}
	if id := e.nhsIdentifier(); id != nil {
		r.Identifier = []Identifier{*id}
	}
	if rel := strings.TrimSpace(e.CaredForRelationship); rel != "" {
		r.Relationship = append(r.Relationship, CodeableConcept{Text: rel})
	}
	return r, true
}

// CarerResources returns the resources exported for one entry: its
// Observation and, when a cared-for person is known, its RelatedPerson.
func CarerResources(e CarerEntry) []Resource {
	out := []Resource{CarerObservation(e)}
	if rp, ok := CarerRelatedPerson(e); ok {
		out = append(out, rp)
	}
	return out
}

// Collection returns a Bundle of type "collection" with id, stamped at, of
// resources in order. Each entry's fullUrl is the urn:uuid of its
// resource's id, so every resource must have a UUID id.
func Collection(id uuid.UUID, at time.Time, resources ...Resource) Bundle {
	b := Bundle{ID: id.String(), Meta: &Meta{Profile: []string{ProfileBundle}}, Type: "collection", Timestamp: Instant(at)}
	for _, r := range resources {
		b.Entry = append(b.Entry, BundleEntry{FullURL: "urn:uuid:" + r.ResourceID(), Resource: r})
	}
	return b
}

// CarerBundle returns a collection Bundle of the resources of every entry,
// in order, with id and stamped at.
func CarerBundle(id uuid.UUID, at time.Time, entries ...CarerEntry) Bundle {
	var rs []Resource
	for _, e := range entries {
		rs = append(rs, CarerResources(e)...)
	}
	return Collection(id, at, rs...)
}

func nonEmpty(s string) []string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return []string{s}
}
