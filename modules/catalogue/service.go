package catalogue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// Service runs the catalogue use cases; each is one tenant-scoped
// transaction with its audit event.
type Service struct {
	db    *tenants.DB
	audit *audit.Log
	now   func() time.Time
}

// NewService returns a Service.
func NewService(db *tenants.DB, log *audit.Log, now func() time.Time) *Service {
	return &Service{db: db, audit: log, now: now}
}

func (s *Service) tx(ctx context.Context, fn func(tx *gorm.DB, st store) error) error {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return errs.E(errs.Internal, "catalogue work without a tenant")
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error { return fn(tx, store{tx: tx, tenant: t.ID}) })
}

func (s *Service) record(ctx context.Context, tx *gorm.DB, action string, c Catalogue, detail map[string]string) error {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["key"], detail["version"] = c.Key, fmt.Sprint(c.Version)
	return s.audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "catalogue", ObjectID: c.ID.String(), Detail: detail})
}

// Library lists the standard catalogues shipped with the platform.
func (s *Service) Library(ctx context.Context) ([]StdCatalogue, error) {
	var out []StdCatalogue
	err := s.db.PlatformRead(ctx).Raw(`SELECT c.id, c.code, c.version, c.title, c.description,
			(SELECT count(*) FROM std_competencies k WHERE k.catalogue_id = c.id) AS competencies
		FROM std_catalogues c ORDER BY c.title, c.version DESC`).Scan(&out).Error
	if err != nil {
		return nil, storeErr("list library", err)
	}
	return out, nil
}

// StdCatalogue returns one standard catalogue version with its competencies.
func (s *Service) StdCatalogue(ctx context.Context, id uuid.UUID) (StdCatalogue, []StdCompetency, error) {
	db := s.db.PlatformRead(ctx)
	var cats []StdCatalogue
	if err := db.Raw(`SELECT id, code, version, title, description FROM std_catalogues WHERE id = ?`, id).Scan(&cats).Error; err != nil {
		return StdCatalogue{}, nil, storeErr("read library catalogue", err)
	}
	if len(cats) == 0 {
		return StdCatalogue{}, nil, errs.E(errs.NotFound, "No standard catalogue with that reference")
	}
	var rows []competencyRow
	if err := db.Table("std_competencies").Where("catalogue_id = ?", id).Order("code").Find(&rows).Error; err != nil {
		return StdCatalogue{}, nil, storeErr("read library competencies", err)
	}
	out := make([]StdCompetency, len(rows))
	for i, r := range rows {
		out[i] = StdCompetency{ID: r.ID, CatalogueID: id, Spec: specFromRow(r)}
	}
	cats[0].Competencies = len(out)
	return cats[0], out, nil
}

// List returns every version of every catalogue of the tenant.
func (s *Service) List(ctx context.Context) ([]Catalogue, error) {
	var out []Catalogue
	err := s.tx(ctx, func(_ *gorm.DB, st store) (err error) {
		out, err = st.catalogues()
		return err
	})
	return out, err
}

// Get returns one catalogue version and its competencies.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Catalogue, []Competency, error) {
	var c Catalogue
	var comps []Competency
	err := s.tx(ctx, func(_ *gorm.DB, st store) error {
		var err error
		if c, err = st.catalogue(id); err != nil {
			return err
		}
		rows, err := st.competencies(id)
		if err != nil {
			return err
		}
		for _, r := range rows {
			comps = append(comps, competencyOf(c, r))
		}
		return nil
	})
	return c, comps, err
}

func competencyOf(c Catalogue, r competencyRow) Competency {
	return Competency{ID: r.ID, CatalogueID: c.ID, CatalogueKey: c.Key, CatalogueVersion: c.Version, CatalogueStatus: c.Status,
		StdCompetencyID: r.StdCompetencyID, Spec: specFromRow(r)}
}

// Competency returns one competency of the tenant inside the caller's
// transaction (records use it to check a sign-off against the version
// assessed).
func (s *Service) Competency(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Competency, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return Competency{}, errs.E(errs.Internal, "catalogue work without a tenant")
	}
	st := store{tx: tx, tenant: t.ID}
	r, err := st.competency("id = ?", id)
	if err != nil {
		return Competency{}, err
	}
	c, err := st.catalogue(r.CatalogueID)
	if err != nil {
		return Competency{}, err
	}
	return competencyOf(c, r), nil
}

// Competencies returns the tenant's competencies with the given ids, inside
// the caller's transaction, in two queries whatever their number (a
// passport read uses it).
func (s *Service) Competencies(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]Competency, error) {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		return nil, errs.E(errs.Internal, "catalogue work without a tenant")
	}
	out := make(map[uuid.UUID]Competency, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []competencyRow
	if err := tx.Where("tenant_id = ? AND id IN ?", t.ID, ids).Find(&rows).Error; err != nil {
		return nil, storeErr("read competencies", err)
	}
	catIDs := make([]uuid.UUID, 0, len(rows))
	for _, r := range rows {
		catIDs = append(catIDs, r.CatalogueID)
	}
	var cats []Catalogue
	if err := tx.Raw(catalogueSelect+` AND c.id IN ?`, t.ID, catIDs).Scan(&cats).Error; err != nil {
		return nil, storeErr("read catalogues", err)
	}
	byID := make(map[uuid.UUID]Catalogue, len(cats))
	for _, c := range cats {
		byID[c.ID] = c
	}
	for _, r := range rows {
		out[r.ID] = competencyOf(byID[r.CatalogueID], r)
	}
	return out, nil
}

// CompetencyByCode returns the competency with code in catalogue version id.
func (s *Service) CompetencyByCode(ctx context.Context, id uuid.UUID, code string) (Competency, error) {
	var out Competency
	err := s.tx(ctx, func(_ *gorm.DB, st store) error {
		c, err := st.catalogue(id)
		if err != nil {
			return err
		}
		r, err := st.competency("catalogue_id = ? AND code = ?", id, strings.ToUpper(code))
		if err != nil {
			return err
		}
		out = competencyOf(c, r)
		return nil
	})
	return out, err
}

// Search finds competencies of the tenant's current catalogue versions
// (drafts and published) by code or title.
func (s *Service) Search(ctx context.Context, q string) ([]Competency, error) {
	var out []Competency
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		var rows []competencyRow
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(strings.TrimSpace(q))) + "%"
		err := tx.Raw(`SELECT k.* FROM competencies k JOIN catalogues c ON c.tenant_id = k.tenant_id AND c.id = k.catalogue_id
			WHERE k.tenant_id = ? AND c.status <> 'retired' AND (lower(k.code) LIKE ? OR lower(k.title) LIKE ?)
			ORDER BY k.code, c.version DESC LIMIT 200`, st.tenant, like, like).Scan(&rows).Error
		if err != nil {
			return storeErr("search competencies", err)
		}
		cats := map[uuid.UUID]Catalogue{}
		for _, r := range rows {
			c, ok := cats[r.CatalogueID]
			if !ok {
				if c, err = st.catalogue(r.CatalogueID); err != nil {
					return err
				}
				cats[r.CatalogueID] = c
			}
			out = append(out, competencyOf(c, r))
		}
		return nil
	})
	return out, err
}

// NewCatalogue is the input for Create and Adopt.
type NewCatalogue struct {
	Key         string
	Title       string
	Description string
}

func (n NewCatalogue) validate() (NewCatalogue, error) {
	n.Key, n.Title, n.Description = strings.ToLower(strings.TrimSpace(n.Key)), strings.TrimSpace(n.Title), strings.TrimSpace(n.Description)
	var fe []errs.FieldError
	if l := len(n.Title); l < 2 || l > 120 {
		fe = append(fe, errs.FieldError{Field: "title", Message: "Enter a title (2 to 120 characters)"})
	}
	if !keyRe.MatchString(n.Key) {
		fe = append(fe, errs.FieldError{Field: "key", Message: "Enter a short name of 3 to 48 lower-case letters, digits or hyphens"})
	}
	if len(fe) > 0 {
		return n, errs.Validation(fe...)
	}
	return n, nil
}

// Create starts a new, empty catalogue of the tenant's own as draft version 1.
func (s *Service) Create(ctx context.Context, in NewCatalogue) (Catalogue, error) {
	in, err := in.validate()
	if err != nil {
		return Catalogue{}, err
	}
	var out Catalogue
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		if err := st.lockKey(in.Key); err != nil {
			return err
		}
		if v, err := st.latestVersion(in.Key); err != nil || v > 0 {
			if err == nil {
				err = errs.Validation(errs.FieldError{Field: "key", Message: "A catalogue with this short name already exists"})
			}
			return err
		}
		id, err := s.insert(ctx, st, in, 1, nil)
		if err != nil {
			return err
		}
		if out, err = st.catalogue(id); err != nil {
			return err
		}
		return s.record(ctx, tx, "catalogue.create", out, nil)
	})
	return out, err
}

// Import starts a catalogue of the tenant's own as draft version 1 with all
// the given competencies, or stores nothing: every problem in every
// specification is reported, named "competencies[i].field". Nothing is
// published; the draft is reviewed and published like any other.
func (s *Service) Import(ctx context.Context, in NewCatalogue, specs []Spec) (Catalogue, error) {
	in, err := in.validate()
	var fe []errs.FieldError
	if err != nil {
		fe = errs.FieldsOf(err)
	}
	if len(specs) == 0 {
		fe = append(fe, errs.FieldError{Field: "competencies", Message: "Give at least one competency to import"})
	}
	codes := map[string]bool{}
	rows := make([]competencyRow, 0, len(specs))
	for i, sp := range specs {
		sp = sp.normalise()
		if err := sp.Validate(); err != nil {
			for _, f := range errs.FieldsOf(err) {
				fe = append(fe, errs.FieldError{Field: fmt.Sprintf("competencies[%d].%s", i, f.Field), Message: f.Message})
			}
		}
		if codes[sp.Code] {
			fe = append(fe, errs.FieldError{Field: fmt.Sprintf("competencies[%d].code", i), Message: "The code " + sp.Code + " appears more than once"})
		}
		codes[sp.Code] = true
		rows = append(rows, rowFromSpec(uuid.Nil, uuid.Nil, uuid.Nil, sp, nil))
	}
	for i, r := range rows {
		for _, c := range r.Covers {
			if !codes[c] {
				fe = append(fe, errs.FieldError{Field: fmt.Sprintf("competencies[%d].covers", i), Message: r.Code + " covers " + c + ", which is not in the import"})
			}
		}
	}
	if len(fe) > 0 {
		return Catalogue{}, errs.Validation(fe...)
	}
	var out Catalogue
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		if err := st.lockKey(in.Key); err != nil {
			return err
		}
		if v, err := st.latestVersion(in.Key); err != nil || v > 0 {
			if err == nil {
				err = errs.Validation(errs.FieldError{Field: "key", Message: "A catalogue with this short name already exists"})
			}
			return err
		}
		id, err := s.insert(ctx, st, in, 1, nil)
		if err != nil {
			return err
		}
		for _, r := range rows {
			r.TenantID, r.ID, r.CatalogueID = st.tenant, uuid.Must(uuid.NewV7()), id
			if err := tx.Create(&r).Error; err != nil {
				return storeErr("import competency", err)
			}
		}
		if out, err = st.catalogue(id); err != nil {
			return err
		}
		return s.record(ctx, tx, "catalogue.import", out, map[string]string{"competencies": fmt.Sprint(len(rows))})
	})
	return out, err
}

func (s *Service) insert(ctx context.Context, st store, in NewCatalogue, version int, std *uuid.UUID) (uuid.UUID, error) {
	id := uuid.Must(uuid.NewV7())
	r := catalogueRow{TenantID: st.tenant, ID: id, Key: in.Key, Version: version, Title: in.Title, Description: in.Description,
		Status: string(Draft), StdCatalogueID: std, CreatedAt: s.now().UTC()}
	if actor, ok := tenants.ActorFrom(ctx); ok {
		r.CreatedBy = &actor
	}
	return id, st.insertCatalogue(r)
}

// Adopt starts a tenant catalogue as a draft copy of a standard catalogue
// version: every competency keeps a link to the standard one it is
// equivalent to, and the catalogue records the version it was pinned at.
func (s *Service) Adopt(ctx context.Context, stdID uuid.UUID, in NewCatalogue) (Catalogue, error) {
	std, comps, err := s.StdCatalogue(ctx, stdID)
	if err != nil {
		return Catalogue{}, err
	}
	if in.Title == "" {
		in.Title = std.Title
	}
	if in.Key == "" {
		in.Key = strings.ToLower(std.Code)
	}
	if in.Description == "" {
		in.Description = std.Description
	}
	if in, err = in.validate(); err != nil {
		return Catalogue{}, err
	}
	var out Catalogue
	err = s.tx(ctx, func(tx *gorm.DB, st store) error {
		if err := st.lockKey(in.Key); err != nil {
			return err
		}
		if v, err := st.latestVersion(in.Key); err != nil || v > 0 {
			if err == nil {
				err = errs.Validation(errs.FieldError{Field: "key", Message: "A catalogue with this short name already exists"})
			}
			return err
		}
		id, err := s.insert(ctx, st, in, 1, &std.ID)
		if err != nil {
			return err
		}
		for _, k := range comps {
			stdID := k.ID
			r := rowFromSpec(st.tenant, uuid.Must(uuid.NewV7()), id, k.Spec, &stdID)
			if err := tx.Create(&r).Error; err != nil {
				return storeErr("adopt competency", err)
			}
		}
		if out, err = st.catalogue(id); err != nil {
			return err
		}
		return s.record(ctx, tx, "catalogue.adopt", out, map[string]string{"standard": fmt.Sprintf("%s v%d", std.Code, std.Version)})
	})
	return out, err
}

// draft returns catalogue id, which must be a draft.
func (s *Service) draft(st store, id uuid.UUID) (Catalogue, error) {
	c, err := st.catalogue(id)
	if err != nil {
		return c, err
	}
	if c.Status != Draft {
		return c, errs.E(errs.Conflict, fmt.Sprintf("Version %d of %s is %s and cannot be changed; create a new version to edit it", c.Version, c.Title, c.Status))
	}
	return c, nil
}

// SaveCompetency adds a competency to a draft, or replaces the one with the
// same code. A competency equivalent to a standard one may only be tighter
// than the standard (shorter interval, more supervised practice).
func (s *Service) SaveCompetency(ctx context.Context, catalogueID uuid.UUID, spec Spec, std *uuid.UUID) (Competency, error) {
	spec = spec.normalise()
	if err := spec.Validate(); err != nil {
		return Competency{}, err
	}
	var out Competency
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		c, err := s.draft(st, catalogueID)
		if err != nil {
			return err
		}
		existing, err := st.competency("catalogue_id = ? AND code = ?", catalogueID, spec.Code)
		switch {
		case err == nil:
			if std == nil {
				std = existing.StdCompetencyID
			}
		case !errs.Is(err, errs.NotFound):
			return err
		}
		if std != nil {
			base, err := st.stdCompetency(*std)
			if err != nil {
				return err
			}
			if err := spec.tightens(base); err != nil {
				return err
			}
		}
		var r competencyRow
		if existing.ID == uuid.Nil {
			r = rowFromSpec(st.tenant, uuid.Must(uuid.NewV7()), catalogueID, spec, std)
			err = tx.Create(&r).Error
		} else {
			// Every column, zero values included (Updates would skip them).
			r = rowFromSpec(st.tenant, existing.ID, catalogueID, spec, std)
			err = tx.Model(&competencyRow{}).Where("tenant_id = ? AND id = ?", st.tenant, existing.ID).
				Select("*").Omit("tenant_id", "id", "catalogue_id").Updates(&r).Error
		}
		if err != nil {
			return storeErr("save competency", err)
		}
		out = competencyOf(c, r)
		return s.record(ctx, tx, "catalogue.competency_save", c, map[string]string{"code": spec.Code})
	})
	return out, err
}

// RemoveCompetency removes a competency from a draft.
func (s *Service) RemoveCompetency(ctx context.Context, catalogueID uuid.UUID, code string) error {
	return s.tx(ctx, func(tx *gorm.DB, st store) error {
		c, err := s.draft(st, catalogueID)
		if err != nil {
			return err
		}
		res := tx.Exec(`DELETE FROM competencies WHERE tenant_id = ? AND catalogue_id = ? AND code = ?`, st.tenant, catalogueID, strings.ToUpper(code))
		if res.Error != nil {
			return storeErr("remove competency", res.Error)
		}
		if res.RowsAffected == 0 {
			return errs.E(errs.NotFound, "No competency with that code in this version")
		}
		return s.record(ctx, tx, "catalogue.competency_remove", c, map[string]string{"code": strings.ToUpper(code)})
	})
}

// Publish makes a draft the catalogue's published version; it never changes
// again. The version it replaces is retired; records keep the version they
// were assessed against.
func (s *Service) Publish(ctx context.Context, id uuid.UUID) (Catalogue, error) {
	var out Catalogue
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		c, err := s.draft(st, id)
		if err != nil {
			return err
		}
		if err := st.lockKey(c.Key); err != nil {
			return err
		}
		rows, err := st.competencies(id)
		if err != nil {
			return err
		}
		if err := publishable(rows); err != nil {
			return err
		}
		now := s.now().UTC()
		if err := tx.Exec(`UPDATE catalogues SET status = 'retired', retired_at = ? WHERE tenant_id = ? AND key = ? AND status = 'published'`,
			now, st.tenant, c.Key).Error; err != nil {
			return storeErr("retire previous version", err)
		}
		if err := tx.Exec(`UPDATE catalogues SET status = 'published', published_at = ? WHERE tenant_id = ? AND id = ?`,
			now, st.tenant, id).Error; err != nil {
			return storeErr("publish", err)
		}
		if out, err = st.catalogue(id); err != nil {
			return err
		}
		return s.record(ctx, tx, "catalogue.publish", out, nil)
	})
	return out, err
}

// publishable checks a draft as a whole: it has competencies, and every
// assessor or trainer competency covers codes that exist in it.
func publishable(rows []competencyRow) error {
	if len(rows) == 0 {
		return errs.E(errs.Invalid, "Add at least one competency before publishing")
	}
	codes := map[string]bool{}
	for _, r := range rows {
		codes[r.Code] = true
	}
	var fe []errs.FieldError
	for _, r := range rows {
		if err := specFromRow(r).Validate(); err != nil {
			fe = append(fe, errs.FieldError{Message: r.Code + ": the specification is incomplete"})
		}
		for _, c := range r.Covers {
			if !codes[c] {
				fe = append(fe, errs.FieldError{Message: fmt.Sprintf("%s covers %s, which is not in this catalogue", r.Code, c)})
			}
		}
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// NewVersion starts a draft of the next version from a published one.
func (s *Service) NewVersion(ctx context.Context, id uuid.UUID) (Catalogue, error) {
	var out Catalogue
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		c, err := st.catalogue(id)
		if err != nil {
			return err
		}
		if c.Status != Published {
			return errs.E(errs.Conflict, fmt.Sprintf("Version %d is %s; new versions start from the published version", c.Version, c.Status))
		}
		if err := st.lockKey(c.Key); err != nil {
			return err
		}
		latest, err := st.latestVersion(c.Key)
		if err != nil {
			return err
		}
		newID, err := s.insert(ctx, st, NewCatalogue{Key: c.Key, Title: c.Title, Description: c.Description}, latest+1, c.StdCatalogueID)
		if err != nil {
			return err
		}
		rows, err := st.competencies(id)
		if err != nil {
			return err
		}
		for _, r := range rows {
			r.ID, r.CatalogueID = uuid.Must(uuid.NewV7()), newID
			if err := tx.Create(&r).Error; err != nil {
				return storeErr("copy competency", err)
			}
		}
		if out, err = st.catalogue(newID); err != nil {
			return err
		}
		return s.record(ctx, tx, "catalogue.new_version", out, map[string]string{"from_version": fmt.Sprint(c.Version)})
	})
	return out, err
}

// Retire withdraws a published version; nothing new is assessed against it.
func (s *Service) Retire(ctx context.Context, id uuid.UUID) (Catalogue, error) {
	var out Catalogue
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		c, err := st.catalogue(id)
		if err != nil {
			return err
		}
		if c.Status != Published {
			return errs.E(errs.Conflict, fmt.Sprintf("Version %d is %s; only a published version can be retired", c.Version, c.Status))
		}
		if err := tx.Exec(`UPDATE catalogues SET status = 'retired', retired_at = ? WHERE tenant_id = ? AND id = ?`,
			s.now().UTC(), st.tenant, id).Error; err != nil {
			return storeErr("retire", err)
		}
		if out, err = st.catalogue(id); err != nil {
			return err
		}
		return s.record(ctx, tx, "catalogue.retire", out, nil)
	})
	return out, err
}

// Change is one competency's difference between two versions.
type Change struct {
	Code   string   `json:"code"`
	Title  string   `json:"title"`
	Change string   `json:"change"` // added, removed or changed
	Fields []string `json:"fields,omitempty"`
}

// Compare lists what changed from catalogue version a to version b.
func (s *Service) Compare(ctx context.Context, a, b uuid.UUID) (Catalogue, Catalogue, []Change, error) {
	ca, ka, err := s.Get(ctx, a)
	if err != nil {
		return Catalogue{}, Catalogue{}, nil, err
	}
	cb, kb, err := s.Get(ctx, b)
	if err != nil {
		return Catalogue{}, Catalogue{}, nil, err
	}
	if ca.Key != cb.Key {
		return ca, cb, nil, errs.E(errs.Invalid, "Only versions of the same catalogue can be compared")
	}
	return ca, cb, diff(ka, kb), nil
}

func diff(a, b []Competency) []Change {
	byCode := map[string]Competency{}
	for _, k := range a {
		byCode[k.Code] = k
	}
	var out []Change
	seen := map[string]bool{}
	for _, k := range b {
		seen[k.Code] = true
		old, ok := byCode[k.Code]
		if !ok {
			out = append(out, Change{Code: k.Code, Title: k.Title, Change: "added"})
			continue
		}
		if f := changedFields(old.Spec, k.Spec); len(f) > 0 {
			out = append(out, Change{Code: k.Code, Title: k.Title, Change: "changed", Fields: f})
		}
	}
	for _, k := range a {
		if !seen[k.Code] {
			out = append(out, Change{Code: k.Code, Title: k.Title, Change: "removed"})
		}
	}
	slices.SortFunc(out, func(x, y Change) int { return strings.Compare(x.Code, y.Code) })
	return out
}

func changedFields(a, b Spec) []string {
	var f []string
	check := func(name string, same bool) {
		if !same {
			f = append(f, name)
		}
	}
	check("title", a.Title == b.Title)
	check("kind", a.Kind == b.Kind)
	check("description", a.Description == b.Description)
	check("tier", a.Tier == b.Tier)
	check("key elements", slices.Equal(a.KeyElements, b.KeyElements))
	check("specificity", a.Specificity == b.Specificity)
	check("prescription parameters", slices.Equal(a.PrescriptionParameters, b.PrescriptionParameters))
	check("training formats", slices.Equal(a.TrainingFormats, b.TrainingFormats))
	check("assessment method", a.AssessmentMethod == b.AssessmentMethod)
	check("who may sign off", slices.Equal(a.SignoffBy, b.SignoffBy))
	check("supervised practices", a.SupervisedPractices == b.SupervisedPractices)
	check("re-assessment interval", a.ReassessMonths == b.ReassessMonths)
	check("review date", a.ReviewDate.Equal(b.ReviewDate))
	check("covers", slices.Equal(a.Covers, b.Covers))
	return f
}
