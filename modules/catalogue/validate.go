package catalogue

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/carepass/carepass/modules/errs"
)

var (
	codeRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,23}$`)
	keyRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$`)
	// TrainingFormats are the ways a competency can be taught.
	TrainingFormats = []string{"online", "classroom", "manikin", "simulation", "on_the_ward"}
	// Tiers say who needs a competency.
	Tiers = []string{"core", "additional", "specialist"}
)

// Validate checks a specification's required fields and returns every
// problem, named by form field.
func (s Spec) Validate() error {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	if !codeRe.MatchString(s.Code) {
		add("code", "Enter a code of 2 to 24 capital letters, digits or hyphens, like PCC-01")
	}
	if l := len(strings.TrimSpace(s.Title)); l < 2 || l > 160 {
		add("title", "Enter a title (2 to 160 characters)")
	}
	if !slices.Contains([]Kind{KindSkill, KindAssessor, KindTrainer}, s.Kind) {
		add("kind", "Select whether this is a skill, an assessor or a trainer competency")
	}
	if strings.TrimSpace(s.Description) == "" {
		add("description", "Enter a description")
	}
	if !slices.Contains(Tiers, s.Tier) {
		add("tier", "Select who needs it: core, additional or specialist")
	}
	if len(nonEmpty(s.KeyElements)) == 0 {
		add("key_elements", "Enter at least one key element, one per line")
	}
	switch s.Specificity {
	case General, Equipment:
		if len(nonEmpty(s.PrescriptionParameters)) > 0 {
			add("prescription_parameters", "Only person-specific competencies have prescription parameters")
		}
	case Person:
		if len(nonEmpty(s.PrescriptionParameters)) == 0 {
			add("prescription_parameters", "Enter the prescription parameters a clinician sets for the person, one per line")
		}
	default:
		add("specificity", "Select whether training is general, equipment-specific or person-specific")
	}
	if len(s.TrainingFormats) == 0 {
		add("training_formats", "Select at least one training format")
	}
	for _, f := range s.TrainingFormats {
		if !slices.Contains(TrainingFormats, f) {
			add("training_formats", "Select training formats from the list")
			break
		}
	}
	if strings.TrimSpace(s.AssessmentMethod) == "" {
		add("assessment_method", "Enter how competence is assessed")
	}
	if len(nonEmpty(s.SignoffBy)) == 0 {
		add("signoff_by", "Enter who may sign it off, one per line")
	}
	if s.SupervisedPractices < 0 || s.SupervisedPractices > 20 {
		add("supervised_practices", "Supervised practices must be between 0 and 20")
	}
	if s.ReassessMonths < 1 || s.ReassessMonths > 120 {
		add("reassess_months", "Re-assessment interval must be between 1 and 120 months")
	}
	if s.ReviewDate.IsZero() {
		add("review_date", "Enter the date the specification is next reviewed")
	}
	if s.Kind == KindSkill && len(nonEmpty(s.Covers)) > 0 {
		add("covers", "Only assessor and trainer competencies cover other competencies")
	}
	if (s.Kind == KindAssessor || s.Kind == KindTrainer) && len(nonEmpty(s.Covers)) == 0 {
		add("covers", "Enter the codes of the competencies this authorises, one per line")
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// tightens checks that a tenant's version of a standard competency is at
// least as strict as the standard: it may shorten the interval or require
// more supervised practice, never the reverse.
func (s Spec) tightens(std Spec) error {
	var fe []errs.FieldError
	if s.ReassessMonths > std.ReassessMonths {
		fe = append(fe, errs.FieldError{Field: "reassess_months",
			Message: "The standard requires re-assessment at least every " + strconv.Itoa(std.ReassessMonths) + " months; you may shorten it but not lengthen it"})
	}
	if s.SupervisedPractices < std.SupervisedPractices {
		fe = append(fe, errs.FieldError{Field: "supervised_practices",
			Message: "The standard requires at least " + strconv.Itoa(std.SupervisedPractices) + " supervised practices; you may require more but not fewer"})
	}
	if s.Kind != std.Kind || s.Specificity != std.Specificity {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "A competency equivalent to a standard one keeps its kind and specificity"})
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// normalise trims text and drops empty list entries.
func (s Spec) normalise() Spec {
	s.Code = strings.ToUpper(strings.TrimSpace(s.Code))
	s.Title = strings.TrimSpace(s.Title)
	s.Description = strings.TrimSpace(s.Description)
	s.AssessmentMethod = strings.TrimSpace(s.AssessmentMethod)
	s.KeyElements = nonEmpty(s.KeyElements)
	s.PrescriptionParameters = nonEmpty(s.PrescriptionParameters)
	s.SignoffBy = nonEmpty(s.SignoffBy)
	s.TrainingFormats = nonEmpty(s.TrainingFormats)
	covers := nonEmpty(s.Covers)
	for i := range covers {
		covers[i] = strings.ToUpper(covers[i])
	}
	s.Covers = covers
	return s
}

func nonEmpty(l List) List {
	out := List{}
	for _, v := range l {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
