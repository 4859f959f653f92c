package catalogue

import (
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds the catalogue pages, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the catalogue pages on the tenant router (/t/:slug) and
// their JSON on the tenant API router (/api/v1/t/:slug). Every route
// requires its catalogue permission. Fixed paths are registered before the
// parameter paths that would otherwise take them.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	read, write := enf.Require("catalogue", "read"), enf.Require("catalogue", "write")
	publish := enf.Require("catalogue", "publish")

	tenant.Get("/catalogues", read, h.index)
	tenant.Post("/catalogues", write, h.create)
	tenant.Post("/catalogues/adopt", write, h.adopt)
	tenant.Get("/catalogues/library/:id", read, h.library)
	tenant.Get("/catalogues/library/:id/:code", read, h.libraryCompetency)
	tenant.Get("/catalogues/:id", read, h.show)
	tenant.Post("/catalogues/:id/publish", publish, h.publish)
	tenant.Post("/catalogues/:id/versions", write, h.newVersion)
	tenant.Post("/catalogues/:id/retire", publish, h.retire)
	tenant.Get("/catalogues/:id/compare", read, h.compareWith)
	tenant.Get("/catalogues/:id/compare/:other", read, h.compare)
	tenant.Get("/catalogues/:id/competencies/new", write, h.newCompetency)
	tenant.Post("/catalogues/:id/competencies", write, h.saveCompetency)
	tenant.Get("/catalogues/:id/competencies/:code", read, h.competency)
	tenant.Get("/catalogues/:id/competencies/:code/edit", write, h.editCompetency)
	tenant.Post("/catalogues/:id/competencies/:code/remove", write, h.removeCompetency)
	tenant.Get("/competencies", read, h.search)

	api.Get("/library", read, h.apiLibrary)
	api.Get("/library/:id", read, h.apiLibraryCatalogue)
	api.Get("/catalogues", read, h.apiCatalogues)
	api.Post("/catalogues", write, h.apiCreate)
	api.Get("/catalogues/:id", read, h.apiCatalogue)
	api.Put("/catalogues/:id/competencies/:code", write, h.apiSaveCompetency)
	api.Delete("/catalogues/:id/competencies/:code", write, h.apiRemoveCompetency)
	api.Post("/catalogues/:id/publish", publish, h.apiPublish)
	api.Post("/catalogues/:id/versions", write, h.apiNewVersion)
	api.Post("/catalogues/:id/retire", publish, h.apiRetire)
	api.Get("/catalogues/:id/compare/:other", read, h.apiCompare)
	api.Get("/competencies", read, h.apiSearch)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

// Messages of the handlers' own errors. A reference that does not parse is
// answered like one that names nothing.
const (
	msgNoCatalogue  = "No catalogue with that reference"
	msgNoStandard   = "No standard catalogue with that reference"
	msgNoCompetency = "No competency with that reference"
)

// codeParam returns the :code parameter in capitals, copied out of fiber's
// reusable buffers.
func codeParam(c *fiber.Ctx) string {
	return strings.Clone(strings.ToUpper(strings.TrimSpace(c.Params("code"))))
}

// formValue returns a form field, trimmed and copied out of fiber's buffers.
func formValue(c *fiber.Ctx, key string) string {
	return strings.Clone(strings.TrimSpace(c.FormValue(key)))
}

func catalogueHref(c *fiber.Ctx, id uuid.UUID) string {
	return tenants.Path(c, "/catalogues/"+id.String())
}

func competencyHref(c *fiber.Ctx, id uuid.UUID, code string) string {
	return catalogueHref(c, id) + "/competencies/" + code
}

// Labels for the specification's choices, in the order forms offer them.

type choice struct{ Value, Label, Hint string }

var (
	kindChoices = []choice{
		{string(KindSkill), "Skill", "Something the holder is trained and signed off to do"},
		{string(KindAssessor), "Assessor", "Authorises the holder to assess and sign off the competencies it covers"},
		{string(KindTrainer), "Trainer", "Authorises the holder to train others in the competencies it covers"},
	}
	tierChoices = []choice{
		{"core", "Core", "Everyone in the role needs it"},
		{"additional", "Additional", "Needed in some roles or care settings"},
		{"specialist", "Specialist", "Needed for specialised care"},
	}
	specificityChoices = []choice{
		{string(General), "General", "The same wherever it is used"},
		{string(Equipment), "Equipment-specific", "Tied to a make or model of equipment"},
		{string(Person), "Person-specific", "Signed off against one cared-for person's care prescription"},
	}
	formatChoices = []choice{
		{"online", "Online learning", ""},
		{"classroom", "Classroom", ""},
		{"manikin", "Practice on a manikin", ""},
		{"simulation", "Simulation", ""},
		{"on_the_ward", "On the ward", ""},
	}
)

func labelOf(choices []choice, value string) string {
	for _, c := range choices {
		if c.Value == value {
			return c.Label
		}
	}
	return value
}

// View models.

// version is one catalogue version as pages show it.
type version struct {
	Catalogue
	Href string
}

// StatusLabel is the version's status in words.
func (v version) StatusLabel() string {
	switch v.Status {
	case Draft:
		return "Draft"
	case Published:
		return "Published"
	case Retired:
		return "Retired"
	}
	return string(v.Status)
}

// TagClass is the NHS.UK tag colour of the version's status.
func (v version) TagClass() string {
	switch v.Status {
	case Draft:
		return "nhsuk-tag--yellow"
	case Published:
		return "nhsuk-tag--green"
	}
	return "nhsuk-tag--grey"
}

// IsDraft reports whether the version can still be changed.
func (v version) IsDraft() bool { return v.Status == Draft }

// IsPublished reports whether the version is the one in use.
func (v version) IsPublished() bool { return v.Status == Published }

// Name is the version as a phrase: "Paediatric complex care, version 2".
func (v version) Name() string { return v.Title + ", version " + strconv.Itoa(v.Version) }

func versionOf(c *fiber.Ctx, cat Catalogue) version {
	return version{Catalogue: cat, Href: catalogueHref(c, cat.ID)}
}

// spec is one competency specification as pages show it.
type spec struct {
	Spec
	Href     string
	Standard bool // equivalent to a standard competency
}

// KindLabel is the competency's kind in words.
func (s spec) KindLabel() string { return labelOf(kindChoices, string(s.Kind)) }

// TierLabel is the competency's tier in words.
func (s spec) TierLabel() string { return labelOf(tierChoices, s.Tier) }

// SpecificityLabel says what the training is tied to, in words.
func (s spec) SpecificityLabel() string { return labelOf(specificityChoices, string(s.Specificity)) }

// FormatLabels are the training formats in words.
func (s spec) FormatLabels() []string {
	out := make([]string, 0, len(s.TrainingFormats))
	for _, f := range s.TrainingFormats {
		out = append(out, labelOf(formatChoices, f))
	}
	return out
}

// Interval is the re-assessment interval in words.
func (s spec) Interval() string { return months(s.ReassessMonths) }

func months(n int) string {
	if n == 1 {
		return "Every month"
	}
	return "Every " + strconv.Itoa(n) + " months"
}

func specsOf(c *fiber.Ctx, cat Catalogue, comps []Competency) []spec {
	out := make([]spec, 0, len(comps))
	for _, k := range comps {
		out = append(out, spec{Spec: k.Spec, Href: competencyHref(c, cat.ID, k.Code), Standard: k.StdCompetencyID != nil})
	}
	return out
}

// Catalogues index.

type catalogueGroup struct {
	Key      string
	Title    string
	Versions []version
}

type libraryItem struct {
	StdCatalogue
	Href    string
	Adopted []version // the tenant's latest version of each catalogue adopted from it
}

type indexView struct {
	Groups   []catalogueGroup
	Library  []libraryItem
	CanWrite bool
}

func (h handler) indexView(c *fiber.Ctx) (indexView, error) {
	ctx := c.UserContext()
	list, err := h.svc.List(ctx)
	if err != nil {
		return indexView{}, err
	}
	lib, err := h.svc.Library(ctx)
	if err != nil {
		return indexView{}, err
	}
	v := indexView{CanWrite: h.enf.Can(c, "catalogue", "write")}
	at := map[string]int{}
	for _, cat := range list {
		i, ok := at[cat.Key]
		if !ok {
			i = len(v.Groups)
			at[cat.Key] = i
			v.Groups = append(v.Groups, catalogueGroup{Key: cat.Key, Title: cat.Title})
		}
		v.Groups[i].Versions = append(v.Groups[i].Versions, versionOf(c, cat))
	}
	for _, g := range v.Groups {
		slices.SortFunc(g.Versions, func(a, b version) int { return b.Version - a.Version })
	}
	for _, std := range lib {
		item := libraryItem{StdCatalogue: std, Href: tenants.Path(c, "/catalogues/library/"+std.ID.String())}
		for _, g := range v.Groups {
			if latest := g.Versions[0]; latest.StdCatalogueID != nil && *latest.StdCatalogueID == std.ID {
				item.Adopted = append(item.Adopted, latest)
			}
		}
		v.Library = append(v.Library, item)
	}
	return v, nil
}

func (h handler) index(c *fiber.Ctx) error {
	v, err := h.indexView(c)
	if err != nil {
		return err
	}
	return page.Render(c, "catalogue/index", page.New(c, "Skills catalogues", v))
}

func (h handler) create(c *fiber.Ctx) error {
	in := NewCatalogue{Key: formValue(c, "key"), Title: formValue(c, "title"), Description: formValue(c, "description")}
	cat, err := h.svc.Create(c.UserContext(), in)
	if err != nil {
		v, verr := h.indexView(c)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "catalogue/index", page.New(c, "Skills catalogues", v), err,
			map[string]string{"key": in.Key, "title": in.Title, "description": in.Description})
	}
	page.SetFlash(c, cat.Title+" has been started as a draft. Add its competencies, then publish it.")
	return c.Redirect(catalogueHref(c, cat.ID), fiber.StatusSeeOther)
}

// adopt copies a standard catalogue into a draft of the tenant's. A problem
// (usually a short name already in use) is shown on the standard
// catalogue's page, whose form asks for the short name and title.
func (h handler) adopt(c *fiber.Ctx) error {
	stdID, err := uuid.Parse(c.FormValue("std_id"))
	if err != nil {
		return errs.E(errs.NotFound, msgNoStandard)
	}
	in := NewCatalogue{Key: formValue(c, "key"), Title: formValue(c, "title")}
	cat, err := h.svc.Adopt(c.UserContext(), stdID, in)
	if err != nil {
		if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
			return err
		}
		v, verr := h.libraryView(c, stdID)
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "catalogue/library", page.New(c, v.Catalogue.Title, v), err,
			map[string]string{"key": in.Key, "title": in.Title})
	}
	page.SetFlash(c, "You have adopted "+cat.Title+" as a draft. Review its competencies, tighten them where you need to, then publish it.")
	return c.Redirect(catalogueHref(c, cat.ID), fiber.StatusSeeOther)
}

// Standard library pages.

type libraryView struct {
	Catalogue    StdCatalogue
	Competencies []spec
	DefaultKey   string
	CanWrite     bool
}

func (h handler) libraryView(c *fiber.Ctx, id uuid.UUID) (libraryView, error) {
	std, comps, err := h.svc.StdCatalogue(c.UserContext(), id)
	if err != nil {
		return libraryView{}, err
	}
	v := libraryView{Catalogue: std, DefaultKey: strings.ToLower(std.Code), CanWrite: h.enf.Can(c, "catalogue", "write")}
	base := tenants.Path(c, "/catalogues/library/"+id.String()+"/")
	for _, k := range comps {
		v.Competencies = append(v.Competencies, spec{Spec: k.Spec, Href: base + k.Code, Standard: true})
	}
	return v, nil
}

func (h handler) library(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoStandard)
	if err != nil {
		return err
	}
	v, err := h.libraryView(c, id)
	if err != nil {
		return err
	}
	return page.Render(c, "catalogue/library", page.New(c, v.Catalogue.Title, v))
}

// Competency specification page (tenant and standard).

type cover struct {
	Code string
	Href string // empty when the code is not in the same catalogue version
}

type competencyView struct {
	Spec      spec
	Catalogue *version      // the tenant catalogue version; nil on a standard one
	Library   *StdCatalogue // the standard catalogue; nil on a tenant one
	BackHref  string
	BackText  string
	Covers    []cover
	Standard  *spec // the standard competency this one is equivalent to
	StdName   string
	CanEdit   bool
}

func coversOf(codes []string, hrefs map[string]string) []cover {
	out := make([]cover, 0, len(codes))
	for _, code := range codes {
		out = append(out, cover{Code: code, Href: hrefs[code]})
	}
	return out
}

// standardOf returns the standard competency equivalent to k, looked up in
// the standard catalogue version cat was adopted from.
func (h handler) standardOf(c *fiber.Ctx, cat Catalogue, k Competency) (*spec, string, error) {
	if k.StdCompetencyID == nil || cat.StdCatalogueID == nil {
		return nil, "", nil
	}
	std, comps, err := h.svc.StdCatalogue(c.UserContext(), *cat.StdCatalogueID)
	if err != nil {
		return nil, "", err
	}
	for _, s := range comps {
		if s.ID == *k.StdCompetencyID {
			return &spec{Spec: s.Spec, Href: tenants.Path(c, "/catalogues/library/"+std.ID.String()+"/"+s.Code), Standard: true},
				std.Title + ", version " + strconv.Itoa(std.Version), nil
		}
	}
	return nil, "", nil
}

func findCode(comps []Competency, code string) (Competency, bool) {
	for _, k := range comps {
		if k.Code == code {
			return k, true
		}
	}
	return Competency{}, false
}

func (h handler) competency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	cat, comps, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	k, ok := findCode(comps, codeParam(c))
	if !ok {
		return errs.E(errs.NotFound, msgNoCompetency)
	}
	ver := versionOf(c, cat)
	v := competencyView{Spec: spec{Spec: k.Spec, Standard: k.StdCompetencyID != nil}, Catalogue: &ver,
		BackHref: ver.Href, BackText: "Back to " + ver.Name(), CanEdit: cat.Status == Draft && h.enf.Can(c, "catalogue", "write")}
	hrefs := map[string]string{}
	for _, o := range comps {
		hrefs[o.Code] = competencyHref(c, cat.ID, o.Code)
	}
	v.Covers = coversOf(k.Covers, hrefs)
	if v.Standard, v.StdName, err = h.standardOf(c, cat, k); err != nil {
		return err
	}
	return page.Render(c, "catalogue/competency", page.New(c, k.Code+" "+k.Title, v))
}

func (h handler) libraryCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoStandard)
	if err != nil {
		return err
	}
	std, comps, err := h.svc.StdCatalogue(c.UserContext(), id)
	if err != nil {
		return err
	}
	code := codeParam(c)
	base := tenants.Path(c, "/catalogues/library/"+id.String())
	hrefs := map[string]string{}
	var found *StdCompetency
	for i, k := range comps {
		hrefs[k.Code] = base + "/" + k.Code
		if k.Code == code {
			found = &comps[i]
		}
	}
	if found == nil {
		return errs.E(errs.NotFound, msgNoCompetency)
	}
	v := competencyView{Spec: spec{Spec: found.Spec, Standard: true}, Library: &std, BackHref: base,
		BackText: "Back to " + std.Title, Covers: coversOf(found.Covers, hrefs)}
	return page.Render(c, "catalogue/competency", page.New(c, found.Code+" "+found.Title, v))
}

// One catalogue version.

type catalogueView struct {
	Catalogue    version
	Competencies []spec // those matching Query
	Total        int
	Query        string
	Others       []version // the other versions of the same catalogue, newest first
	Draft        *version  // another version of the catalogue that is a draft
	LibraryHref  string
	CanWrite     bool
	CanPublish   bool
}

func (h handler) catalogueView(c *fiber.Ctx, id uuid.UUID, q string) (catalogueView, error) {
	ctx := c.UserContext()
	cat, comps, err := h.svc.Get(ctx, id)
	if err != nil {
		return catalogueView{}, err
	}
	list, err := h.svc.List(ctx)
	if err != nil {
		return catalogueView{}, err
	}
	v := catalogueView{Catalogue: versionOf(c, cat), Total: len(comps), Query: q,
		CanWrite: h.enf.Can(c, "catalogue", "write"), CanPublish: h.enf.Can(c, "catalogue", "publish")}
	if cat.StdCatalogueID != nil {
		v.LibraryHref = tenants.Path(c, "/catalogues/library/"+cat.StdCatalogueID.String())
	}
	for _, o := range list {
		if o.Key != cat.Key || o.ID == cat.ID {
			continue
		}
		ov := versionOf(c, o)
		v.Others = append(v.Others, ov)
		if o.Status == Draft {
			v.Draft = &ov
		}
	}
	slices.SortFunc(v.Others, func(a, b version) int { return b.Version - a.Version })
	needle := strings.ToLower(strings.TrimSpace(q))
	for _, s := range specsOf(c, cat, comps) {
		if needle == "" || strings.Contains(strings.ToLower(s.Code), needle) || strings.Contains(strings.ToLower(s.Title), needle) {
			v.Competencies = append(v.Competencies, s)
		}
	}
	return v, nil
}

func (h handler) show(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	v, err := h.catalogueView(c, id, strings.Clone(c.Query("q")))
	if err != nil {
		return err
	}
	return page.Render(c, "catalogue/catalogue", page.New(c, v.Catalogue.Name(), v))
}

// versionAction runs a change of a version's status and shows the version
// again with the problem when it cannot be made.
func (h handler) versionAction(c *fiber.Ctx, run func(uuid.UUID) (Catalogue, error), flash func(Catalogue) string) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	cat, err := run(id)
	if err != nil {
		if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
			return err
		}
		v, verr := h.catalogueView(c, id, "")
		if verr != nil {
			return verr
		}
		return page.Invalid(c, "catalogue/catalogue", page.New(c, v.Catalogue.Name(), v), err, nil)
	}
	page.SetFlash(c, flash(cat))
	return c.Redirect(catalogueHref(c, cat.ID), fiber.StatusSeeOther)
}

func (h handler) publish(c *fiber.Ctx) error {
	ctx := c.UserContext()
	return h.versionAction(c, func(id uuid.UUID) (Catalogue, error) { return h.svc.Publish(ctx, id) },
		func(cat Catalogue) string {
			return versionOf(c, cat).Name() + " is published. It can no longer be changed; any earlier published version is retired."
		})
}

func (h handler) newVersion(c *fiber.Ctx) error {
	ctx := c.UserContext()
	return h.versionAction(c, func(id uuid.UUID) (Catalogue, error) { return h.svc.NewVersion(ctx, id) },
		func(cat Catalogue) string {
			return "Version " + strconv.Itoa(cat.Version) + " has been started as a draft, with the competencies of the version before it."
		})
}

func (h handler) retire(c *fiber.Ctx) error {
	ctx := c.UserContext()
	return h.versionAction(c, func(id uuid.UUID) (Catalogue, error) { return h.svc.Retire(ctx, id) },
		func(cat Catalogue) string {
			return versionOf(c, cat).Name() + " is retired. Nothing new will be assessed against it."
		})
}

// Comparing versions.

type changeItem struct {
	Change
	Href string
}

// TagClass is the NHS.UK tag colour of the kind of change.
func (ch changeItem) TagClass() string {
	switch ch.Change.Change {
	case "added":
		return "nhsuk-tag--green"
	case "removed":
		return "nhsuk-tag--red"
	}
	return "nhsuk-tag--blue"
}

// Label is the kind of change in words.
func (ch changeItem) Label() string {
	switch ch.Change.Change {
	case "added":
		return "Added"
	case "removed":
		return "Removed"
	}
	return "Changed"
}

type compareView struct {
	From, To version
	Changes  []changeItem
}

// compareVersions compares two versions of a catalogue, always from the
// older to the newer whichever way round they are named.
func (h handler) compareVersions(c *fiber.Ctx, a, b uuid.UUID) (Catalogue, Catalogue, []Change, error) {
	ctx := c.UserContext()
	from, to, changes, err := h.svc.Compare(ctx, a, b)
	if err == nil && from.Version > to.Version {
		from, to, changes, err = h.svc.Compare(ctx, b, a)
	}
	if changes == nil {
		changes = []Change{}
	}
	return from, to, changes, err
}

func (h handler) compareWith(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	other, err := uuid.Parse(c.Query("with"))
	if err != nil {
		return errs.E(errs.NotFound, msgNoCatalogue)
	}
	return c.Redirect(catalogueHref(c, id)+"/compare/"+other.String(), fiber.StatusSeeOther)
}

func (h handler) compare(c *fiber.Ctx) error {
	a, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	b, err := page.ParamID(c, "other", msgNoCatalogue)
	if err != nil {
		return err
	}
	from, to, changes, err := h.compareVersions(c, a, b)
	if err != nil {
		return err
	}
	v := compareView{From: versionOf(c, from), To: versionOf(c, to)}
	for _, ch := range changes {
		item := changeItem{Change: ch, Href: competencyHref(c, to.ID, ch.Code)}
		if ch.Change == "removed" {
			item.Href = competencyHref(c, from.ID, ch.Code)
		}
		v.Changes = append(v.Changes, item)
	}
	title := "Changes from version " + strconv.Itoa(from.Version) + " to version " + strconv.Itoa(to.Version)
	return page.Render(c, "catalogue/compare", page.New(c, title, v))
}

// Searching the tenant's current catalogues.

type searchResult struct {
	spec
	Catalogue version
}

type searchView struct {
	Query   string
	Results []searchResult
}

func (h handler) search(c *fiber.Ctx) error {
	q := strings.Clone(strings.TrimSpace(c.Query("q")))
	v := searchView{Query: q}
	if q != "" {
		found, err := h.svc.Search(c.UserContext(), q)
		if err != nil {
			return err
		}
		for _, k := range found {
			cat := Catalogue{ID: k.CatalogueID, Key: k.CatalogueKey, Version: k.CatalogueVersion, Status: k.CatalogueStatus}
			v.Results = append(v.Results, searchResult{
				spec:      spec{Spec: k.Spec, Href: competencyHref(c, k.CatalogueID, k.Code), Standard: k.StdCompetencyID != nil},
				Catalogue: versionOf(c, cat),
			})
		}
	}
	return page.Render(c, "catalogue/search", page.New(c, "Search competencies", v))
}

// The competency form.

// formOrder is the order of the form's fields, for the error summary.
var formOrder = []string{"code", "title", "kind", "description", "tier", "key_elements", "specificity",
	"prescription_parameters", "training_formats", "assessment_method", "signoff_by", "supervised_practices",
	"reassess_months", "review_date", "covers"}

// inFormOrder merges the problems found reading the form with those the
// specification's validation found, one per field (the reading problem
// wins), in the order the fields appear on the form.
func inFormOrder(read, validated []errs.FieldError) []errs.FieldError {
	seen := map[string]bool{}
	var out, general []errs.FieldError
	for _, fe := range slices.Concat(read, validated) {
		if fe.Field == "" {
			general = append(general, fe)
			continue
		}
		if !seen[fe.Field] {
			seen[fe.Field] = true
			out = append(out, fe)
		}
	}
	rank := func(field string) int {
		if i := slices.Index(formOrder, field); i >= 0 {
			return i
		}
		return len(formOrder)
	}
	slices.SortStableFunc(out, func(a, b errs.FieldError) int { return rank(a.Field) - rank(b.Field) })
	return append(out, general...)
}

// lines splits a textarea into its non-empty lines.
func lines(s string) List {
	out := List{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readSpecForm reads the competency form: the specification, the values to
// show again if it is redisplayed, and the problems found before the
// specification itself is checked (numbers and the date).
func readSpecForm(c *fiber.Ctx) (Spec, map[string]string, []errs.FieldError) {
	form := map[string]string{}
	for _, k := range []string{"code", "title", "kind", "description", "tier", "key_elements", "specificity",
		"prescription_parameters", "assessment_method", "signoff_by", "supervised_practices", "reassess_months",
		"review_date_day", "review_date_month", "review_date_year", "covers"} {
		form[k] = formValue(c, k)
	}
	var formats List
	for _, v := range c.Request().PostArgs().PeekMulti("training_formats") {
		formats = append(formats, string(v))
	}
	form["training_formats"] = strings.Join(formats, "\n")
	s := Spec{
		Code: strings.ToUpper(form["code"]), Title: form["title"], Kind: Kind(form["kind"]), Description: form["description"],
		Tier: form["tier"], KeyElements: lines(form["key_elements"]), Specificity: Specificity(form["specificity"]),
		PrescriptionParameters: lines(form["prescription_parameters"]), TrainingFormats: formats,
		AssessmentMethod: form["assessment_method"], SignoffBy: lines(form["signoff_by"]), Covers: lines(form["covers"]),
	}
	for i := range s.Covers {
		s.Covers[i] = strings.ToUpper(s.Covers[i])
	}
	var problems []errs.FieldError
	var err error
	if s.SupervisedPractices, err = wholeNumber(form["supervised_practices"]); err != nil {
		problems = append(problems, errs.FieldError{Field: "supervised_practices",
			Message: "Enter the number of supervised practices needed before sign-off as a whole number, like 2 (0 if none)"})
	}
	if s.ReassessMonths, err = wholeNumber(form["reassess_months"]); err != nil {
		problems = append(problems, errs.FieldError{Field: "reassess_months",
			Message: "Enter how often it must be re-assessed as a whole number of months, like 12"})
	}
	var problem string
	if s.ReviewDate, problem = dateOf(form["review_date_day"], form["review_date_month"], form["review_date_year"]); problem != "" {
		problems = append(problems, errs.FieldError{Field: "review_date", Message: problem})
	}
	return s, form, problems
}

func wholeNumber(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	return strconv.Atoi(s)
}

// dateOf reads the three boxes of a date input and returns the date, or
// the problem with it. All three empty is the zero date, which validation
// reports as missing.
func dateOf(day, month, year string) (time.Time, string) {
	if day == "" && month == "" && year == "" {
		return time.Time{}, ""
	}
	if day == "" || month == "" || year == "" {
		return time.Time{}, "The review date must include a day, month and year"
	}
	const notReal = "The review date must be a real date, like 1 11 2027"
	d, err1 := strconv.Atoi(day)
	m, err2 := strconv.Atoi(month)
	y, err3 := strconv.Atoi(year)
	if err1 != nil || err2 != nil || err3 != nil || len(year) != 4 {
		return time.Time{}, notReal
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m || t.Year() != y {
		return time.Time{}, notReal
	}
	return t, ""
}

// formValues returns the form's values for an existing specification.
func formValues(s Spec) map[string]string {
	form := map[string]string{
		"code": s.Code, "title": s.Title, "kind": string(s.Kind), "description": s.Description, "tier": s.Tier,
		"key_elements": strings.Join(s.KeyElements, "\n"), "specificity": string(s.Specificity),
		"prescription_parameters": strings.Join(s.PrescriptionParameters, "\n"),
		"training_formats":        strings.Join(s.TrainingFormats, "\n"), "assessment_method": s.AssessmentMethod,
		"signoff_by": strings.Join(s.SignoffBy, "\n"), "supervised_practices": strconv.Itoa(s.SupervisedPractices),
		"reassess_months": strconv.Itoa(s.ReassessMonths), "covers": strings.Join(s.Covers, "\n"),
	}
	if !s.ReviewDate.IsZero() {
		d := s.ReviewDate.UTC()
		form["review_date_day"], form["review_date_month"], form["review_date_year"] =
			strconv.Itoa(d.Day()), strconv.Itoa(int(d.Month())), strconv.Itoa(d.Year())
	}
	return form
}

// option is one radio or checkbox of the form.
type option struct {
	ID, Value, Label, Hint string
	Checked                bool
}

// options returns the radios or checkboxes of field; the first one's id is
// the field's name, so the error summary can link to it.
func options(field string, choices []choice, checked []string) []option {
	out := make([]option, 0, len(choices))
	for i, ch := range choices {
		id := field
		if i > 0 {
			id = field + "-" + ch.Value
		}
		out = append(out, option{ID: id, Value: ch.Value, Label: ch.Label, Hint: ch.Hint, Checked: slices.Contains(checked, ch.Value)})
	}
	return out
}

// formField is one field of the competency form, in the order shown.
type formField struct {
	Name    string
	Type    string // text, number, textarea, radios, checkboxes or date
	Label   string // the label, or the legend of a fieldset
	Hint    string
	Error   string
	Value   string
	Width   string // an NHS.UK input width class
	Suffix  string
	Rows    int
	Options []option
	Day     string
	Month   string
	Year    string
}

// Described returns the ids the field's control is described by.
func (f formField) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.Name+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.Name+"-error")
	}
	return strings.Join(ids, " ")
}

type formView struct {
	Catalogue  version
	Editing    bool
	Code       string // the competency being edited
	Action     string
	CancelHref string
	Fields     []formField
	Standard   *spec // the standard competency it is equivalent to, whose limits apply
}

// formFields lays out the competency form with the values in form and the
// problems in err.
func formFields(form map[string]string, err error, editing bool, std *spec) []formField {
	problems := map[string]string{}
	for _, fe := range errs.FieldsOf(err) {
		if _, ok := problems[fe.Field]; !ok && fe.Field != "" {
			problems[fe.Field] = fe.Message
		}
	}
	field := func(name, typ, label, hint string) formField {
		return formField{Name: name, Type: typ, Label: label, Hint: hint, Error: problems[name], Value: form[name]}
	}
	area := func(name, label, hint string, rows int) formField {
		f := field(name, "textarea", label, hint)
		f.Rows = rows
		return f
	}
	choices := func(name, typ, label, hint string, list []choice) formField {
		f := field(name, typ, label, hint)
		f.Options = options(name, list, strings.Split(form[name], "\n"))
		return f
	}
	practicesHint, monthsHint := "How many times the holder must practise under supervision first; 0 if none", "How often it must be re-assessed"
	if std != nil {
		practicesHint = "The standard requires at least " + strconv.Itoa(std.SupervisedPractices) + "; you may require more but not fewer"
		monthsHint = "The standard requires re-assessment at least every " + strconv.Itoa(std.ReassessMonths) + " months; you may shorten this but not lengthen it"
	}
	var out []formField
	if !editing {
		code := field("code", "text", "Code", "2 to 24 capital letters, digits or hyphens, like PCC-21. Records refer to it, so it cannot be changed later")
		code.Width = "nhsuk-input--width-10"
		out = append(out, code)
	}
	practices := field("supervised_practices", "number", "Supervised practices before sign-off", practicesHint)
	practices.Width = "nhsuk-input--width-2"
	interval := field("reassess_months", "number", "Re-assessment interval, in months", monthsHint)
	interval.Width, interval.Suffix = "nhsuk-input--width-3", "months"
	review := field("review_date", "date", "Specification review date", "The date the specification is next reviewed, for example 1 11 2027")
	review.Day, review.Month, review.Year = form["review_date_day"], form["review_date_month"], form["review_date_year"]
	return append(out,
		field("title", "text", "Title", ""),
		choices("kind", "radios", "Kind", "What holding it entitles the holder to", kindChoices),
		area("description", "Description", "", 4),
		choices("tier", "radios", "Tier", "Who needs it", tierChoices),
		area("key_elements", "Key elements", "What the holder must know and do, one per line", 6),
		choices("specificity", "radios", "What the training is tied to", "", specificityChoices),
		area("prescription_parameters", "Prescription parameters",
			"Only for person-specific competencies: what a clinician sets for the person, like tube size or suction depth, one per line", 3),
		choices("training_formats", "checkboxes", "Training formats", "Select all that apply", formatChoices),
		area("assessment_method", "Assessment method", "How competence is assessed, like direct observation of practice", 3),
		area("signoff_by", "Who may sign it off", "Roles or qualifications, one per line", 3),
		practices,
		interval,
		review,
		area("covers", "Covers", "Only for assessor and trainer competencies: the codes of the competencies it authorises, one per line", 3),
	)
}

// specForm renders the competency form for catalogue cat with form's values
// and, when err is not nil, its problems.
func (h handler) specForm(c *fiber.Ctx, cat Catalogue, comps []Competency, code string, form map[string]string, err error) error {
	v := formView{Catalogue: versionOf(c, cat), Editing: code != "", Code: code, Action: catalogueHref(c, cat.ID) + "/competencies",
		CancelHref: catalogueHref(c, cat.ID)}
	title := "Add a competency"
	if v.Editing {
		title = "Edit " + code
		v.CancelHref = competencyHref(c, cat.ID, code)
		if k, ok := findCode(comps, code); ok {
			var serr error
			if v.Standard, _, serr = h.standardOf(c, cat, k); serr != nil {
				return serr
			}
		}
	}
	v.Fields = formFields(form, err, v.Editing, v.Standard)
	d := page.New(c, title, v)
	if err != nil {
		return page.Invalid(c, "catalogue/form", d, err, form)
	}
	d.Form = form
	return page.Render(c, "catalogue/form", d)
}

type lockedView struct {
	Catalogue     version
	Message       string
	CanNewVersion bool
	Draft         *version
}

// locked explains that a version cannot be changed, and offers the way on.
func (h handler) locked(c *fiber.Ctx, cat Catalogue, msg string, status int) error {
	v := lockedView{Catalogue: versionOf(c, cat), Message: msg, CanNewVersion: cat.Status == Published}
	list, err := h.svc.List(c.UserContext())
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.Key == cat.Key && o.Status == Draft && o.ID != cat.ID {
			d := versionOf(c, o)
			v.Draft = &d
		}
	}
	c.Status(status)
	return page.Render(c, "catalogue/locked", page.New(c, v.Catalogue.Name()+" cannot be changed", v))
}

func lockedMessage(cat Catalogue) string {
	return "Version " + strconv.Itoa(cat.Version) + " of " + cat.Title + " is " + string(cat.Status) +
		" and cannot be changed. To change its competencies, create a new version."
}

func (h handler) newCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	cat, comps, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	if cat.Status != Draft {
		return h.locked(c, cat, lockedMessage(cat), fiber.StatusOK)
	}
	return h.specForm(c, cat, comps, "", map[string]string{}, nil)
}

func (h handler) editCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	cat, comps, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	k, ok := findCode(comps, codeParam(c))
	if !ok {
		return errs.E(errs.NotFound, msgNoCompetency)
	}
	if cat.Status != Draft {
		return h.locked(c, cat, lockedMessage(cat), fiber.StatusOK)
	}
	return h.specForm(c, cat, comps, k.Code, formValues(k.Spec), nil)
}

// saveCompetency saves the competency form. The form for a new competency
// refuses a code already in the version rather than replacing it.
func (h handler) saveCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	s, form, problems := readSpecForm(c)
	editing := c.FormValue("mode") == "edit"
	if !editing && codeRe.MatchString(s.Code) {
		switch _, err := h.svc.CompetencyByCode(ctx, id, s.Code); {
		case err == nil:
			problems = append(problems, errs.FieldError{Field: "code",
				Message: "This version already has a competency with the code " + s.Code + "; edit that one or choose another code"})
		case !errs.Is(err, errs.NotFound):
			return err
		}
	}
	if len(problems) > 0 {
		err = errs.Validation(inFormOrder(problems, errs.FieldsOf(s.Validate()))...)
	} else {
		saved, serr := h.svc.SaveCompetency(ctx, id, s, nil)
		if serr == nil {
			page.SetFlash(c, saved.Code+" "+saved.Title+" has been saved.")
			return c.Redirect(competencyHref(c, id, saved.Code), fiber.StatusSeeOther)
		}
		err = serr
		if fe := errs.FieldsOf(err); fe != nil {
			err = errs.Validation(inFormOrder(nil, fe)...)
		}
	}
	cat, comps, gerr := h.svc.Get(ctx, id)
	if gerr != nil {
		return gerr
	}
	if cat.Status != Draft {
		return h.locked(c, cat, lockedMessage(cat), fiber.StatusConflict)
	}
	if !errs.Is(err, errs.Invalid) {
		return err
	}
	code := ""
	if editing {
		code = s.Code
	}
	return h.specForm(c, cat, comps, code, form, err)
}

func (h handler) removeCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	code := codeParam(c)
	if err := h.svc.RemoveCompetency(ctx, id, code); err != nil {
		if !errs.Is(err, errs.Conflict) {
			return err
		}
		cat, _, gerr := h.svc.Get(ctx, id)
		if gerr != nil {
			return gerr
		}
		return h.locked(c, cat, lockedMessage(cat), fiber.StatusConflict)
	}
	page.SetFlash(c, code+" has been removed from this draft.")
	return c.Redirect(catalogueHref(c, id), fiber.StatusSeeOther)
}

// JSON API.

// specRequest is a competency specification as the API receives it. The
// review date is "YYYY-MM-DD" (an RFC 3339 time is accepted too).
type specRequest struct {
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

// toSpec converts the request, with the problem of an unreadable date.
func (r specRequest) toSpec() (Spec, []errs.FieldError) {
	s := Spec{Code: r.Code, Title: r.Title, Kind: Kind(r.Kind), Description: r.Description, Tier: r.Tier,
		KeyElements: r.KeyElements, Specificity: Specificity(r.Specificity), PrescriptionParameters: r.PrescriptionParameters,
		TrainingFormats: r.TrainingFormats, AssessmentMethod: r.AssessmentMethod, SignoffBy: r.SignoffBy,
		SupervisedPractices: r.SupervisedPractices, ReassessMonths: r.ReassessMonths, Covers: r.Covers}
	d := strings.TrimSpace(r.ReviewDate)
	if d == "" {
		return s, nil
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, d); err == nil {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
	}
	if err != nil {
		return s, []errs.FieldError{{Field: "review_date", Message: "Enter the review date as YYYY-MM-DD, like 2027-11-01"}}
	}
	s.ReviewDate = t
	return s, nil
}

type createRequest struct {
	Adopt       string `json:"adopt"` // a standard catalogue's id: adopt it rather than start an empty catalogue
	Key         string `json:"key"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Competencies imports a whole catalogue as a draft, all or nothing.
	Competencies []specRequest `json:"competencies"`
}

// nonNil returns list, never nil, so that it encodes as [].
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

func (h handler) apiLibrary(c *fiber.Ctx) error {
	lib, err := h.svc.Library(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"catalogues": nonNil(lib)})
}

func (h handler) apiLibraryCatalogue(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoStandard)
	if err != nil {
		return err
	}
	std, comps, err := h.svc.StdCatalogue(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"catalogue": std, "competencies": nonNil(comps)})
}

func (h handler) apiCatalogues(c *fiber.Ctx) error {
	list, err := h.svc.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"catalogues": nonNil(list)})
}

func (h handler) apiCatalogue(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	cat, comps, err := h.svc.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"catalogue": cat, "competencies": nonNil(comps)})
}

// apiPath returns the API path of a resource of the request's tenant.
func apiPath(c *fiber.Ctx, rest string) string {
	t, _ := tenants.FromContext(c.UserContext())
	return "/api/v1/t/" + t.Slug + rest
}

func (h handler) created(c *fiber.Ctx, cat Catalogue) error {
	c.Location(apiPath(c, "/catalogues/"+cat.ID.String()))
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"catalogue": cat})
}

func (h handler) apiCreate(c *fiber.Ctx) error {
	var req createRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	in := NewCatalogue{Key: req.Key, Title: req.Title, Description: req.Description}
	var cat Catalogue
	var err error
	if req.Adopt != "" {
		std, perr := uuid.Parse(req.Adopt)
		if perr != nil {
			return errs.E(errs.NotFound, msgNoStandard)
		}
		cat, err = h.svc.Adopt(c.UserContext(), std, in)
	} else if len(req.Competencies) > 0 {
		specs := make([]Spec, len(req.Competencies))
		var fe []errs.FieldError
		for i, r := range req.Competencies {
			sp, bad := r.toSpec()
			for _, f := range bad {
				fe = append(fe, errs.FieldError{Field: fmt.Sprintf("competencies[%d].%s", i, f.Field), Message: f.Message})
			}
			specs[i] = sp
		}
		if len(fe) > 0 {
			return errs.Validation(fe...)
		}
		cat, err = h.svc.Import(c.UserContext(), in, specs)
	} else {
		cat, err = h.svc.Create(c.UserContext(), in)
	}
	if err != nil {
		return err
	}
	return h.created(c, cat)
}

func (h handler) apiSaveCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	var req specRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	req.Code = codeParam(c)
	s, problems := req.toSpec()
	if len(problems) > 0 {
		return errs.Validation(inFormOrder(problems, errs.FieldsOf(s.Validate()))...)
	}
	saved, err := h.svc.SaveCompetency(c.UserContext(), id, s, nil)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"competency": saved})
}

func (h handler) apiRemoveCompetency(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveCompetency(c.UserContext(), id, codeParam(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) apiVersionAction(c *fiber.Ctx, run func(uuid.UUID) (Catalogue, error), status int) error {
	id, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	cat, err := run(id)
	if err != nil {
		return err
	}
	if status == fiber.StatusCreated {
		return h.created(c, cat)
	}
	return c.JSON(fiber.Map{"catalogue": cat})
}

func (h handler) apiPublish(c *fiber.Ctx) error {
	ctx := c.UserContext()
	return h.apiVersionAction(c, func(id uuid.UUID) (Catalogue, error) { return h.svc.Publish(ctx, id) }, fiber.StatusOK)
}

func (h handler) apiNewVersion(c *fiber.Ctx) error {
	ctx := c.UserContext()
	return h.apiVersionAction(c, func(id uuid.UUID) (Catalogue, error) { return h.svc.NewVersion(ctx, id) }, fiber.StatusCreated)
}

func (h handler) apiRetire(c *fiber.Ctx) error {
	ctx := c.UserContext()
	return h.apiVersionAction(c, func(id uuid.UUID) (Catalogue, error) { return h.svc.Retire(ctx, id) }, fiber.StatusOK)
}

// apiCompare lists the changes between two versions of a catalogue, from
// the older to the newer whichever way round they are named.
func (h handler) apiCompare(c *fiber.Ctx) error {
	a, err := page.ParamID(c, "id", msgNoCatalogue)
	if err != nil {
		return err
	}
	b, err := page.ParamID(c, "other", msgNoCatalogue)
	if err != nil {
		return err
	}
	from, to, changes, err := h.compareVersions(c, a, b)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"from": from, "to": to, "changes": changes})
}

func (h handler) apiSearch(c *fiber.Ctx) error {
	found, err := h.svc.Search(c.UserContext(), strings.Clone(c.Query("q")))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"competencies": nonNil(found)})
}
