package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
)

// StdCatalogue is one standard catalogue version as shipped in library/*.json.
type StdCatalogue struct {
	Code         string          `json:"code"`
	Title        string          `json:"title"`
	Version      int             `json:"version"`
	Description  string          `json:"description"`
	Competencies []StdCompetency `json:"competencies"`
}

// StdCompetency is one competency specification of the standard library.
type StdCompetency struct {
	Code                   string   `json:"code"`
	Title                  string   `json:"title"`
	Kind                   string   `json:"kind"`
	Description            string   `json:"description"`
	Tier                   string   `json:"tier"`
	KeyElements            []string `json:"key_elements"`
	Specificity            string   `json:"specificity"`
	PrescriptionParameters []string `json:"prescription_parameters"`
	TrainingFormats        []string `json:"training_formats"`
	AssessmentMethod       string   `json:"assessment_method"`
	SignoffBy              []string `json:"signoff_by"`
	SupervisedPractices    int      `json:"supervised_practices"`
	ReassessMonths         int      `json:"reassess_months"`
	ReviewDate             string   `json:"review_date"`
	Covers                 []string `json:"covers"`
}

// libraryNamespace makes standard library ids stable across databases.
var libraryNamespace = uuid.MustParse("6f1c3d2e-8a4b-5c7d-9e0f-1a2b3c4d5e6f")

// StdCatalogueID is the id of a standard catalogue version.
func StdCatalogueID(code string, version int) uuid.UUID {
	return uuid.NewSHA1(libraryNamespace, fmt.Appendf(nil, "%s:%d", code, version))
}

// StdCompetencyID is the id of a competency in a standard catalogue version.
func StdCompetencyID(catalogue string, version int, code string) uuid.UUID {
	return uuid.NewSHA1(libraryNamespace, fmt.Appendf(nil, "%s:%d:%s", catalogue, version, code))
}

var (
	stdCodeRe  = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,9}-[AT]?[0-9]{2}$`)
	formats    = []string{"online", "classroom", "manikin", "simulation", "on_the_ward"}
	errLibrary = errors.New("standard library")
)

// Library reads and validates every standard catalogue shipped in library/.
func Library() ([]StdCatalogue, error) {
	names, err := fs.Glob(files, "library/*.json")
	if err != nil {
		return nil, err
	}
	var out []StdCatalogue
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		var c StdCatalogue
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errLibrary, path.Base(name), err)
		}
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errLibrary, path.Base(name), err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (c StdCatalogue) validate() error {
	if c.Code == "" || c.Title == "" || c.Version < 1 || len(c.Competencies) == 0 {
		return errors.New("code, title, version and competencies are required")
	}
	seen := map[string]bool{}
	for _, k := range c.Competencies {
		if !stdCodeRe.MatchString(k.Code) || seen[k.Code] {
			return fmt.Errorf("competency code %q is malformed or repeated", k.Code)
		}
		seen[k.Code] = true
		switch {
		case k.Title == "" || k.Description == "" || k.AssessmentMethod == "" || len(k.KeyElements) == 0 || len(k.SignoffBy) == 0:
			return fmt.Errorf("%s: title, description, key elements, assessment method and sign-off roles are required", k.Code)
		case !slices.Contains([]string{"skill", "assessor", "trainer"}, k.Kind):
			return fmt.Errorf("%s: unknown kind %q", k.Code, k.Kind)
		case !slices.Contains([]string{"core", "additional", "specialist"}, k.Tier):
			return fmt.Errorf("%s: unknown tier %q", k.Code, k.Tier)
		case !slices.Contains([]string{"general", "equipment", "person"}, k.Specificity):
			return fmt.Errorf("%s: unknown specificity %q", k.Code, k.Specificity)
		case (k.Specificity == "person") != (len(k.PrescriptionParameters) > 0):
			return fmt.Errorf("%s: prescription parameters belong to person-specific competencies only", k.Code)
		case (k.Kind == "skill") != (len(k.Covers) == 0):
			return fmt.Errorf("%s: only assessor and trainer competencies cover others", k.Code)
		case k.ReassessMonths < 1 || k.SupervisedPractices < 0:
			return fmt.Errorf("%s: re-assessment interval and supervised practices are required", k.Code)
		}
		for _, f := range k.TrainingFormats {
			if !slices.Contains(formats, f) {
				return fmt.Errorf("%s: unknown training format %q", k.Code, f)
			}
		}
		if _, err := time.Parse(time.DateOnly, k.ReviewDate); err != nil {
			return fmt.Errorf("%s: review date: %v", k.Code, err)
		}
	}
	assessed, trained := map[string]bool{}, map[string]bool{}
	for _, k := range c.Competencies {
		for _, code := range k.Covers {
			if !seen[code] {
				return fmt.Errorf("%s covers unknown competency %s", k.Code, code)
			}
			if k.Kind == "assessor" {
				assessed[code] = true
			} else {
				trained[code] = true
			}
		}
	}
	// Someone must be able to assess and to train every skill.
	for _, k := range c.Competencies {
		if k.Kind == "skill" && (!assessed[k.Code] || !trained[k.Code]) {
			return fmt.Errorf("%s is not covered by both an assessor and a trainer competency", k.Code)
		}
	}
	return nil
}

// LoadLibrary inserts every standard catalogue version not yet in the
// database. A version already loaded must be byte-for-byte what it was:
// published specifications never change; a change needs a new version.
func LoadLibrary(ctx context.Context, db *sql.DB) error {
	lib, err := Library()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errLibrary, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for _, c := range lib {
		canon, _ := json.Marshal(c)
		sum := sha256.Sum256(canon)
		hash := hex.EncodeToString(sum[:])
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT content_hash FROM std_catalogues WHERE code = $1 AND version = $2`, c.Code, c.Version).Scan(&stored)
		if err == nil {
			if stored != hash {
				return fmt.Errorf("%w: %s version %d differs from the version already published; give the change a new version", errLibrary, c.Code, c.Version)
			}
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %v", errLibrary, err)
		}
		catID := StdCatalogueID(c.Code, c.Version)
		if _, err := tx.ExecContext(ctx, `INSERT INTO std_catalogues (id, code, version, title, description, content_hash)
			VALUES ($1, $2, $3, $4, $5, $6)`, catID, c.Code, c.Version, c.Title, c.Description, hash); err != nil {
			return fmt.Errorf("%w: %s: %v", errLibrary, c.Code, err)
		}
		for _, k := range c.Competencies {
			j := func(v []string) string {
				if v == nil {
					v = []string{}
				}
				b, _ := json.Marshal(v)
				return string(b)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO std_competencies (id, catalogue_id, code, title, kind, description, tier,
				key_elements, specificity, prescription_parameters, training_formats, assessment_method, signoff_by,
				supervised_practices, reassess_months, review_date, covers)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
				StdCompetencyID(c.Code, c.Version, k.Code), catID, k.Code, k.Title, k.Kind, k.Description, k.Tier,
				j(k.KeyElements), k.Specificity, j(k.PrescriptionParameters), j(k.TrainingFormats), k.AssessmentMethod,
				j(k.SignoffBy), k.SupervisedPractices, k.ReassessMonths, k.ReviewDate, j(k.Covers)); err != nil {
				return fmt.Errorf("%w: %s: %v", errLibrary, k.Code, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: %v", errLibrary, err)
	}
	return nil
}
