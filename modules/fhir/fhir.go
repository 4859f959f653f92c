// Package fhir builds the HL7 FHIR R4 resources the platform exports, shaped
// by the UK Core profiles: an Observation coded in SNOMED CT for a carer's
// own record, a RelatedPerson for the cared-for person's side, and a Bundle
// that carries them. The builders are pure: typed structs in, JSON out, with
// empty fields left out and ids taken from the records they describe, so the
// same record always exports the same resources.
package fhir

import (
	"encoding/json"
	"time"
)

// Code systems, identifier systems and profiles the resources use.
const (
	SystemSNOMED          = "http://snomed.info/sct"
	SystemNHSNumber       = "https://fhir.nhs.uk/Id/nhs-number"
	SystemRelationshipUK  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
	SystemObsCategory     = "http://terminology.hl7.org/CodeSystem/observation-category"
	SystemURI             = "urn:ietf:rfc:3986"
	ProfileObservation    = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation"
	ProfileRelatedPerson  = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-RelatedPerson"
	ProfileBundle         = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Bundle"
	ContentType           = "application/fhir+json"
	relationshipCarer     = "Carer"
	relationshipCarerText = "Carer of patient"
)

// Resource is a FHIR resource that a Bundle can carry.
type Resource interface {
	// ResourceType is the resource's type name, e.g. "Observation".
	ResourceType() string
	// ResourceID is the resource's logical id.
	ResourceID() string
}

// Meta is a resource's metadata.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"` // instant
	Profile     []string `json:"profile,omitempty"`
}

// Coding is one code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept given as codes and/or text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier, such as an NHS number.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference points at another resource, by URL, by identifier, or only by
// a human-readable display.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Period is a span of time; either end may be open. Values are FHIR
// dateTime strings (a date such as 2024-05-01 is one).
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Time string `json:"time,omitempty"` // dateTime
	Text string `json:"text"`
}

// Observation is the R4 Observation resource, with the elements the
// platform fills.
type Observation struct {
	ID              string            `json:"id,omitempty"`
	Meta            *Meta             `json:"meta,omitempty"`
	Identifier      []Identifier      `json:"identifier,omitempty"`
	Status          string            `json:"status"`
	Category        []CodeableConcept `json:"category,omitempty"`
	Code            CodeableConcept   `json:"code"`
	Subject         *Reference        `json:"subject,omitempty"`
	EffectivePeriod *Period           `json:"effectivePeriod,omitempty"`
	Issued          string            `json:"issued,omitempty"` // instant
	Note            []Annotation      `json:"note,omitempty"`
}

// ResourceType returns "Observation".
func (Observation) ResourceType() string { return "Observation" }

// ResourceID returns the observation's id.
func (o Observation) ResourceID() string { return o.ID }

// MarshalJSON writes the observation with its resourceType.
func (o Observation) MarshalJSON() ([]byte, error) {
	type plain Observation
	return json.Marshal(struct {
		ResourceType string `json:"resourceType"`
		plain
	}{o.ResourceType(), plain(o)})
}

// RelatedPerson is the R4 RelatedPerson resource, with the elements the
// platform fills.
type RelatedPerson struct {
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Patient      Reference         `json:"patient"`
	Relationship []CodeableConcept `json:"relationship,omitempty"`
	Name         []HumanName       `json:"name,omitempty"`
	BirthDate    string            `json:"birthDate,omitempty"` // date
	Period       *Period           `json:"period,omitempty"`
}

// ResourceType returns "RelatedPerson".
func (RelatedPerson) ResourceType() string { return "RelatedPerson" }

// ResourceID returns the related person's id.
func (r RelatedPerson) ResourceID() string { return r.ID }

// MarshalJSON writes the related person with its resourceType.
func (r RelatedPerson) MarshalJSON() ([]byte, error) {
	type plain RelatedPerson
	return json.Marshal(struct {
		ResourceType string `json:"resourceType"`
		plain
	}{r.ResourceType(), plain(r)})
}

// BundleEntry is one resource in a Bundle.
type BundleEntry struct {
	FullURL  string   `json:"fullUrl,omitempty"`
	Resource Resource `json:"resource,omitempty"`
}

// Bundle is the R4 Bundle resource.
type Bundle struct {
	ID        string        `json:"id,omitempty"`
	Meta      *Meta         `json:"meta,omitempty"`
	Type      string        `json:"type"`
	Timestamp string        `json:"timestamp,omitempty"` // instant
	Total     *int          `json:"total,omitempty"`     // searchset only
	Entry     []BundleEntry `json:"entry,omitempty"`
}

// ResourceType returns "Bundle".
func (Bundle) ResourceType() string { return "Bundle" }

// ResourceID returns the bundle's id.
func (b Bundle) ResourceID() string { return b.ID }

// MarshalJSON writes the bundle with its resourceType.
func (b Bundle) MarshalJSON() ([]byte, error) {
	type plain Bundle
	return json.Marshal(struct {
		ResourceType string `json:"resourceType"`
		plain
	}{b.ResourceType(), plain(b)})
}

// Date formats t as a FHIR date (2024-05-01), "" for nil.
func Date(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// Instant formats t as a FHIR instant in UTC, to the second.
func Instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
