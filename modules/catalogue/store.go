package catalogue

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
)

// catalogueRow is the catalogues table.
type catalogueRow struct {
	TenantID       uuid.UUID `gorm:"primaryKey"`
	ID             uuid.UUID `gorm:"primaryKey"`
	Key            string
	Version        int
	Title          string
	Description    string
	Status         string
	StdCatalogueID *uuid.UUID
	CreatedBy      *uuid.UUID
	CreatedAt      time.Time
	PublishedAt    *time.Time
	RetiredAt      *time.Time
}

func (catalogueRow) TableName() string { return "catalogues" }

// competencyRow is the competencies table.
type competencyRow struct {
	TenantID               uuid.UUID `gorm:"primaryKey"`
	ID                     uuid.UUID `gorm:"primaryKey"`
	CatalogueID            uuid.UUID
	Code                   string
	Title                  string
	Kind                   string
	Description            string
	Tier                   string
	KeyElements            List
	Specificity            string
	PrescriptionParameters List
	TrainingFormats        List
	AssessmentMethod       string
	SignoffBy              List
	SupervisedPractices    int
	ReassessMonths         int
	ReviewDate             time.Time
	Covers                 List
	StdCompetencyID        *uuid.UUID
}

func (competencyRow) TableName() string { return "competencies" }

func specFromRow(r competencyRow) Spec {
	return Spec{Code: r.Code, Title: r.Title, Kind: Kind(r.Kind), Description: r.Description, Tier: r.Tier,
		KeyElements: r.KeyElements, Specificity: Specificity(r.Specificity), PrescriptionParameters: r.PrescriptionParameters,
		TrainingFormats: r.TrainingFormats, AssessmentMethod: r.AssessmentMethod, SignoffBy: r.SignoffBy,
		SupervisedPractices: r.SupervisedPractices, ReassessMonths: r.ReassessMonths, ReviewDate: r.ReviewDate, Covers: r.Covers}
}

func rowFromSpec(tenant, id, catalogueID uuid.UUID, s Spec, std *uuid.UUID) competencyRow {
	return competencyRow{TenantID: tenant, ID: id, CatalogueID: catalogueID, Code: s.Code, Title: s.Title, Kind: string(s.Kind),
		Description: s.Description, Tier: s.Tier, KeyElements: s.KeyElements, Specificity: string(s.Specificity),
		PrescriptionParameters: s.PrescriptionParameters, TrainingFormats: s.TrainingFormats, AssessmentMethod: s.AssessmentMethod,
		SignoffBy: s.SignoffBy, SupervisedPractices: s.SupervisedPractices, ReassessMonths: s.ReassessMonths,
		ReviewDate: s.ReviewDate, Covers: s.Covers, StdCompetencyID: std}
}

// store runs the queries of one tenant-scoped transaction.
type store struct {
	tx     *gorm.DB
	tenant uuid.UUID
}

const catalogueSelect = `SELECT c.id, c.key, c.version, c.title, c.description, c.status, c.std_catalogue_id,
		coalesce(s.code, '') AS std_code, coalesce(s.version, 0) AS std_version, c.created_at, c.published_at, c.retired_at,
		(SELECT count(*) FROM competencies k WHERE k.tenant_id = c.tenant_id AND k.catalogue_id = c.id) AS competencies
	FROM catalogues c LEFT JOIN std_catalogues s ON s.id = c.std_catalogue_id
	WHERE c.tenant_id = ?`

func (s store) catalogues() ([]Catalogue, error) {
	var out []Catalogue
	if err := s.tx.Raw(catalogueSelect+` ORDER BY lower(c.title), c.key, c.version DESC`, s.tenant).Scan(&out).Error; err != nil {
		return nil, storeErr("list catalogues", err)
	}
	return out, nil
}

func (s store) catalogue(id uuid.UUID) (Catalogue, error) {
	var out []Catalogue
	if err := s.tx.Raw(catalogueSelect+` AND c.id = ?`, s.tenant, id).Scan(&out).Error; err != nil {
		return Catalogue{}, storeErr("read catalogue", err)
	}
	if len(out) == 0 {
		return Catalogue{}, errs.E(errs.NotFound, "No catalogue with that reference")
	}
	return out[0], nil
}

// lockKey serialises version changes of one catalogue key.
func (s store) lockKey(key string) error {
	if err := s.tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "catalogue:"+s.tenant.String()+":"+key).Error; err != nil {
		return storeErr("lock catalogue", err)
	}
	return nil
}

func (s store) latestVersion(key string) (int, error) {
	var v int
	if err := s.tx.Raw(`SELECT coalesce(max(version), 0) FROM catalogues WHERE tenant_id = ? AND key = ?`, s.tenant, key).
		Row().Scan(&v); err != nil {
		return 0, storeErr("read versions", err)
	}
	return v, nil
}

func (s store) insertCatalogue(r catalogueRow) error {
	if err := s.tx.Create(&r).Error; err != nil {
		if c, ok := pg.IsUniqueViolation(err); ok && strings.Contains(c, "draft") {
			return errs.E(errs.Conflict, "This catalogue already has a draft version; edit that one")
		} else if ok {
			return errs.Validation(errs.FieldError{Field: "key", Message: "A catalogue with this short name already exists"})
		}
		return storeErr("create catalogue", err)
	}
	return nil
}

func (s store) competencies(catalogueID uuid.UUID) ([]competencyRow, error) {
	var rows []competencyRow
	if err := s.tx.Where("tenant_id = ? AND catalogue_id = ?", s.tenant, catalogueID).Order("code").Find(&rows).Error; err != nil {
		return nil, storeErr("list competencies", err)
	}
	return rows, nil
}

func (s store) competency(where string, args ...any) (competencyRow, error) {
	var r competencyRow
	err := s.tx.Where("tenant_id = ?", s.tenant).Where(where, args...).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, errs.E(errs.NotFound, "No competency with that reference")
	}
	if err != nil {
		return r, storeErr("read competency", err)
	}
	return r, nil
}

func (s store) stdCompetency(id uuid.UUID) (Spec, error) {
	var r competencyRow
	err := s.tx.Table("std_competencies").Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Spec{}, errs.E(errs.NotFound, "No standard competency with that reference")
	}
	if err != nil {
		return Spec{}, storeErr("read standard competency", err)
	}
	return specFromRow(r), nil
}

func storeErr(op string, err error) error {
	var e *errs.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	if pg.SQLState(err) == "P0001" && strings.Contains(err.Error(), "cannot be changed") {
		return errs.Wrap(errs.Conflict, "This catalogue version is published and cannot be changed; create a new version to edit it",
			fmt.Errorf("catalogue: %s: %w", op, err))
	}
	return pg.StoreErr("catalogue", op, err)
}
