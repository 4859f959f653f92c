// Package catalogue holds competency catalogues: the platform's standard
// library (read-only, shipped with the product) and each tenant's versioned
// catalogues, adopted from a standard one at a pinned version or written by
// the tenant. A published version never changes; editing it means a new
// draft version, and records keep the version they were assessed against.
package catalogue

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Status is where a catalogue version is in its life.
type Status string

// Catalogue version statuses.
const (
	Draft     Status = "draft"
	Published Status = "published"
	Retired   Status = "retired"
)

// Kind says what holding a competency entitles: a skill, or the authority
// to assess (sign off) or train the competencies it covers.
type Kind string

// Competency kinds.
const (
	KindSkill    Kind = "skill"
	KindAssessor Kind = "assessor"
	KindTrainer  Kind = "trainer"
)

// Specificity says what the training is tied to.
type Specificity string

// Specificities.
const (
	General   Specificity = "general"
	Equipment Specificity = "equipment"
	Person    Specificity = "person" // signed off against one cared-for person's prescription
)

// List is a list of strings stored as a JSON array.
type List []string

// Value stores the list as JSON.
func (l List) Value() (driver.Value, error) {
	if l == nil {
		l = List{}
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan reads the list from JSON.
func (l *List) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*l = nil
		return nil
	default:
		return errors.New("catalogue: list is not JSON")
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// Spec is a competency specification: the fields the original scheme used.
type Spec struct {
	Code                   string      `json:"code"`
	Title                  string      `json:"title"`
	Kind                   Kind        `json:"kind"`
	Description            string      `json:"description"`
	Tier                   string      `json:"tier"`
	KeyElements            List        `json:"key_elements"`
	Specificity            Specificity `json:"specificity"`
	PrescriptionParameters List        `json:"prescription_parameters"`
	TrainingFormats        List        `json:"training_formats"`
	AssessmentMethod       string      `json:"assessment_method"`
	SignoffBy              List        `json:"signoff_by"`
	SupervisedPractices    int         `json:"supervised_practices"`
	ReassessMonths         int         `json:"reassess_months"`
	ReviewDate             time.Time   `json:"review_date"`
	Covers                 List        `json:"covers"` // codes an assessor or trainer competency authorises
}

// Competency is one competency of one tenant catalogue version.
type Competency struct {
	ID               uuid.UUID  `json:"id"`
	CatalogueID      uuid.UUID  `json:"catalogue_id"`
	CatalogueKey     string     `json:"catalogue_key"`
	CatalogueVersion int        `json:"catalogue_version"`
	CatalogueStatus  Status     `json:"catalogue_status"`
	StdCompetencyID  *uuid.UUID `json:"std_competency_id,omitempty"` // the standard competency it is equivalent to
	Spec
}

// Catalogue is one version of a tenant's catalogue.
type Catalogue struct {
	ID             uuid.UUID  `json:"id"`
	Key            string     `json:"key"`
	Version        int        `json:"version"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	Status         Status     `json:"status"`
	StdCatalogueID *uuid.UUID `json:"std_catalogue_id,omitempty"`
	StdCode        string     `json:"std_code,omitempty"`
	StdVersion     int        `json:"std_version,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	PublishedAt    *time.Time `json:"published_at,omitempty"`
	RetiredAt      *time.Time `json:"retired_at,omitempty"`
	Competencies   int        `json:"competencies"`
}

// StdCatalogue is one version of a standard library catalogue.
type StdCatalogue struct {
	ID           uuid.UUID `json:"id"`
	Code         string    `json:"code"`
	Version      int       `json:"version"`
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	Competencies int       `json:"competencies"`
}

// StdCompetency is one competency of the standard library.
type StdCompetency struct {
	ID          uuid.UUID `json:"id"`
	CatalogueID uuid.UUID `json:"catalogue_id"`
	Spec
}
