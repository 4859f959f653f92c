package carehome

import (
	"embed"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// Templates holds the module's pages, rendered in the "carehome" namespace.
//
//go:embed templates/*.html
var Templates embed.FS

// Routes mounts the compliance pages on the tenant router (/t/:slug) and
// their JSON on the tenant API router (/api/v1/t/:slug). The matrix, the
// expiry lists, the set-up and a person's staff page need staff:read;
// changes and the import need staff:write; the CSV and PDF exports need
// report:read.
func Routes(tenant, api fiber.Router, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	read, write, report := enf.Require("staff", "read"), enf.Require("staff", "write"), enf.Require("report", "read")

	tenant.Get("/compliance", read, h.matrix)
	tenant.Get("/compliance/expiring", read, h.expiring)
	tenant.Get("/compliance/export.csv", report, h.exportCSV)
	tenant.Get("/compliance/report.pdf", report, h.exportPDF)
	tenant.Get("/compliance/setup", read, h.setup)
	tenant.Post("/compliance/homes", write, h.addHome)
	tenant.Post("/compliance/homes/:id/requirements", write, h.homeRequirements)
	tenant.Post("/compliance/roles", write, h.addRole)
	tenant.Post("/compliance/roles/:id/requirements", write, h.roleRequirements)
	tenant.Get("/compliance/import", write, h.importForm)
	tenant.Post("/compliance/import", write, h.importCheck)
	tenant.Post("/compliance/import/confirm", write, h.importConfirm)
	tenant.Get("/compliance/staff/:id", read, h.staff)
	tenant.Post("/compliance/staff/:id/employments", write, h.start)
	tenant.Post("/compliance/staff/:id/recognise", write, h.recognise)
	tenant.Post("/compliance/employments/:id/change", write, h.change)
	tenant.Post("/compliance/employments/:id/end", write, h.end)

	api.Get("/compliance/matrix", read, h.matrixJSON)
	api.Get("/compliance/expiring", read, h.expiringJSON)
	api.Post("/compliance/import", write, h.importJSON)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

// filterOf reads the matrix filter from the query string; an id that is
// not one filters by nothing that exists.
func filterOf(c *fiber.Ctx) Filter {
	f := Filter{Status: Status(c.Query("status"))}
	if v := c.Query("home"); v != "" {
		f.HomeID, _ = uuid.Parse(v)
		if f.HomeID == uuid.Nil {
			f.HomeID = uuid.Max
		}
	}
	if v := c.Query("role"); v != "" {
		f.RoleID, _ = uuid.Parse(v)
	}
	return f.Clean()
}

// The matrix.

type matrixView struct {
	Matrix
	Summaries []summaryTable
	Statuses  []Status
	CSVHref   string // the exports of the matrix as filtered
	PDFHref   string
	CanWrite  bool
	CanReport bool
}

func (h handler) matrix(c *fiber.Ctx) error {
	f := filterOf(c)
	m, err := h.svc.Matrix(c.UserContext(), f)
	if err != nil {
		return err
	}
	sums := []summaryTable{{ID: "by-home", Heading: "By home", Caption: "Compliance by home", Head: "Home", Rows: m.ByHome},
		{ID: "by-role", Heading: "By role", Caption: "Compliance by role", Head: "Role", Rows: m.ByRole},
		{ID: "by-competency", Heading: "By competency", Caption: "Compliance by competency", Head: "Competency", Rows: m.ByCompetency}}
	return page.Render(c, "carehome/matrix", page.New(c, "Staff compliance", matrixView{Matrix: m, Statuses: Statuses, Summaries: sums,
		CSVHref: exportHref(c, "/compliance/export.csv", f), PDFHref: exportHref(c, "/compliance/report.pdf", f), CanWrite: h.enf.Can(c, "staff", "write"), CanReport: h.enf.Can(c, "report", "read")}))
}

// exportHref is the path of an export of the matrix filtered by f.
func exportHref(c *fiber.Ctx, path string, f Filter) string {
	q := url.Values{}
	if f.HomeID != uuid.Nil {
		q.Set("home", f.HomeID.String())
	}
	if f.RoleID != uuid.Nil {
		q.Set("role", f.RoleID.String())
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if len(q) == 0 {
		return tenants.Path(c, path)
	}
	return tenants.Path(c, path) + "?" + q.Encode()
}

// summaryTable is one table of counts under the matrix.
type summaryTable struct {
	ID, Heading, Caption, Head string
	Rows                       []Summary
}

func (h handler) matrixJSON(c *fiber.Ctx) error {
	m, err := h.svc.Matrix(c.UserContext(), filterOf(c))
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func daysOf(c *fiber.Ctx) int {
	n, err := strconv.Atoi(c.Query("days", "30"))
	if err != nil {
		return 0
	}
	return n
}

type expiringView struct {
	Days     int
	Windows  []int
	Items    []Expiring
	Homes    []Home
	HomeID   uuid.UUID
	Filtered bool
}

func (h handler) expiring(c *fiber.Ctx) error {
	days := daysOf(c)
	if days != 30 && days != 60 && days != 90 {
		days = 30
	}
	f := filterOf(c)
	ctx := c.UserContext()
	list, err := h.svc.Expiring(ctx, days, f)
	if err != nil {
		return err
	}
	set, err := h.svc.Setup(ctx)
	if err != nil {
		return err
	}
	return page.Render(c, "carehome/expiring", page.New(c, fmt.Sprintf("Expiring in the next %d days", days),
		expiringView{Days: days, Windows: ExpiryWindows, Items: list, Homes: set.Homes, HomeID: f.HomeID}))
}

func (h handler) expiringJSON(c *fiber.Ctx) error {
	list, err := h.svc.Expiring(c.UserContext(), daysOf(c), filterOf(c))
	if err != nil {
		return err
	}
	if list == nil {
		list = []Expiring{}
	}
	return c.JSON(fiber.Map{"days": daysOf(c), "expiring": list})
}

// Exports.

func (h handler) exportCSV(c *fiber.Ctx) error {
	m, err := h.svc.Matrix(c.UserContext(), filterOf(c))
	if err != nil {
		return err
	}
	out, err := m.CSV()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="staff-compliance.csv"`)
	return c.Send(out)
}

func (h handler) exportPDF(c *fiber.Ctx) error {
	m, err := h.svc.Matrix(c.UserContext(), filterOf(c))
	if err != nil {
		return err
	}
	t, _ := tenants.FromContext(c.UserContext())
	out, err := m.PDF(t.Name)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="staff-compliance.pdf"`)
	return c.Send(out)
}

// Set-up.

type choiceView struct {
	Competency
	InputID string
	Checked bool
}

type ownerView struct {
	ID      uuid.UUID
	Name    string
	Current []Competency
	Choices []choiceView
}

type setupView struct {
	Homes    []ownerView
	Roles    []ownerView
	CanWrite bool
}

func owners(prefix string, id uuid.UUID, name string, current, choices []Competency) ownerView {
	on := map[uuid.UUID]bool{}
	for _, c := range current {
		on[c.ID] = true
	}
	v := ownerView{ID: id, Name: name, Current: current}
	for i, c := range choices {
		v.Choices = append(v.Choices, choiceView{Competency: c, InputID: fmt.Sprintf("%s-%s-%d", prefix, id, i), Checked: on[c.ID]})
	}
	return v
}

func (h handler) setupData(c *fiber.Ctx) (page.Data, error) {
	s, err := h.svc.Setup(c.UserContext())
	if err != nil {
		return page.Data{}, err
	}
	v := setupView{CanWrite: h.enf.Can(c, "staff", "write")}
	for _, r := range s.Roles {
		v.Roles = append(v.Roles, owners("role", r.ID, r.Name, r.Requirements, s.Choices))
	}
	for _, hm := range s.Homes {
		v.Homes = append(v.Homes, owners("home", hm.ID, hm.Name, hm.Additions, s.Choices))
	}
	return page.New(c, "Homes, roles and requirements", v), nil
}

func (h handler) setup(c *fiber.Ctx) error {
	d, err := h.setupData(c)
	if err != nil {
		return err
	}
	return page.Render(c, "carehome/setup", d)
}

func (h handler) setupInvalid(c *fiber.Ctx, err error, form map[string]string) error {
	d, derr := h.setupData(c)
	if derr != nil {
		return derr
	}
	return page.Invalid(c, "carehome/setup", d, err, form)
}

func (h handler) addHome(c *fiber.Ctx) error {
	name := strings.Clone(c.FormValue("home_name"))
	hm, err := h.svc.AddHome(c.UserContext(), name)
	if err != nil {
		return h.setupInvalid(c, err, map[string]string{"home_name": name})
	}
	page.SetFlash(c, hm.Name+" has been added.")
	return c.Redirect(tenants.Path(c, "/compliance/setup"), fiber.StatusSeeOther)
}

func (h handler) addRole(c *fiber.Ctx) error {
	name := strings.Clone(c.FormValue("role_name"))
	r, err := h.svc.AddRole(c.UserContext(), name)
	if err != nil {
		return h.setupInvalid(c, err, map[string]string{"role_name": name})
	}
	page.SetFlash(c, r.Name+" has been added.")
	return c.Redirect(tenants.Path(c, "/compliance/setup"), fiber.StatusSeeOther)
}

func checked(c *fiber.Ctx) []uuid.UUID {
	var out []uuid.UUID
	for _, raw := range c.Request().PostArgs().PeekMulti("competency_ids") {
		id, err := uuid.Parse(string(raw))
		if err != nil {
			id = uuid.Nil // not one of the choices: refused as such
		}
		out = append(out, id)
	}
	return out
}

func (h handler) roleRequirements(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoRole)
	if err != nil {
		return err
	}
	if err := h.svc.SetRoleRequirements(c.UserContext(), id, checked(c)); err != nil {
		return h.setupInvalid(c, err, nil)
	}
	page.SetFlash(c, "The role's requirements have been saved.")
	return c.Redirect(tenants.Path(c, "/compliance/setup"), fiber.StatusSeeOther)
}

func (h handler) homeRequirements(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoHome)
	if err != nil {
		return err
	}
	if err := h.svc.SetHomeAdditions(c.UserContext(), id, checked(c)); err != nil {
		return h.setupInvalid(c, err, nil)
	}
	page.SetFlash(c, "The home's additional requirements have been saved.")
	return c.Redirect(tenants.Path(c, "/compliance/setup"), fiber.StatusSeeOther)
}

// A person's staff page.

type staffView struct {
	Staff
	Current     *Employment
	HomeOptions []option
	RoleOptions []option
	CanWrite    bool
}

type option struct {
	ID       uuid.UUID
	Name     string
	Selected bool
}

func (h handler) staffData(c *fiber.Ctx, id uuid.UUID, form map[string]string) (page.Data, error) {
	ctx := c.UserContext()
	st, err := h.svc.StaffMember(ctx, id)
	if err != nil {
		return page.Data{}, err
	}
	set, err := h.svc.Setup(ctx)
	if err != nil {
		return page.Data{}, err
	}
	v := staffView{Staff: st, Current: st.Current(), CanWrite: h.enf.Can(c, "staff", "write")}
	home, role := form["home_id"], form["role_id"]
	if form == nil && v.Current != nil {
		home, role = v.Current.HomeID.String(), v.Current.RoleID.String()
	}
	for _, hm := range set.Homes {
		v.HomeOptions = append(v.HomeOptions, option{ID: hm.ID, Name: hm.Name, Selected: hm.ID.String() == home})
	}
	for _, r := range set.Roles {
		v.RoleOptions = append(v.RoleOptions, option{ID: r.ID, Name: r.Name, Selected: r.ID.String() == role})
	}
	return page.New(c, st.Name, v), nil
}

func (h handler) staff(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoStaff)
	if err != nil {
		return err
	}
	d, err := h.staffData(c, id, nil)
	if err != nil {
		return err
	}
	return page.Render(c, "carehome/staff", d)
}

func (h handler) staffInvalid(c *fiber.Ctx, id uuid.UUID, err error, form map[string]string) error {
	d, derr := h.staffData(c, id, form)
	if derr != nil {
		return derr
	}
	return page.Invalid(c, "carehome/staff", d, err, form)
}

func formOf(c *fiber.Ctx, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = strings.Clone(c.FormValue(n))
	}
	return out
}

func parseID(s string) uuid.UUID {
	id, _ := uuid.Parse(s)
	return id
}

func (h handler) start(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoStaff)
	if err != nil {
		return err
	}
	f := formOf(c, "home_id", "role_id", "started_on")
	_, err = h.svc.Start(c.UserContext(), StartInput{HolderID: id, HomeID: parseID(f["home_id"]), RoleID: parseID(f["role_id"]),
		StartedOn: f["started_on"]})
	if err != nil {
		return h.staffInvalid(c, id, err, f)
	}
	page.SetFlash(c, "The employment has been recorded.")
	return c.Redirect(tenants.Path(c, "/compliance/staff/"+id.String()), fiber.StatusSeeOther)
}

func (h handler) change(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoEmployment)
	if err != nil {
		return err
	}
	f := formOf(c, "home_id", "role_id", "holder_id")
	e, err := h.svc.Change(c.UserContext(), id, ChangeInput{HomeID: parseID(f["home_id"]), RoleID: parseID(f["role_id"])})
	if err != nil {
		if holder := parseID(f["holder_id"]); holder != uuid.Nil && (errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict)) {
			return h.staffInvalid(c, holder, err, f)
		}
		return err
	}
	page.SetFlash(c, fmt.Sprintf("%s now works at %s as %s.", e.Name, e.HomeName, e.RoleName))
	return c.Redirect(tenants.Path(c, "/compliance/staff/"+e.HolderID.String()), fiber.StatusSeeOther)
}

func (h handler) end(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoEmployment)
	if err != nil {
		return err
	}
	f := formOf(c, "ended_on", "reason", "holder_id")
	e, err := h.svc.End(c.UserContext(), id, EndInput{EndedOn: f["ended_on"], Reason: f["reason"]})
	if err != nil {
		if holder := parseID(f["holder_id"]); holder != uuid.Nil && (errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict)) {
			return h.staffInvalid(c, holder, err, f)
		}
		return err
	}
	page.SetFlash(c, e.Name+" has left "+e.HomeName+". Their passport is kept.")
	return c.Redirect(tenants.Path(c, "/compliance/staff/"+e.HolderID.String()), fiber.StatusSeeOther)
}

func (h handler) recognise(c *fiber.Ctx) error {
	id, err := page.ParamID(c, "id", MsgNoStaff)
	if err != nil {
		return err
	}
	n, err := h.svc.RecogniseShared(c.UserContext(), id)
	if err != nil {
		return h.staffInvalid(c, id, err, nil)
	}
	page.SetFlash(c, fmt.Sprintf("%d shared competenc%s recognised.", n, map[bool]string{true: "y has been", false: "ies have been"}[n == 1]))
	return c.Redirect(tenants.Path(c, "/compliance/staff/"+id.String()), fiber.StatusSeeOther)
}

// Import.

type importView struct {
	Result *ImportResult
	CSV    string // the checked file, carried to the confirmation
	MaxKB  int
	Rows   int
}

func (h handler) importPage(c *fiber.Ctx, v importView) page.Data {
	v.MaxKB, v.Rows = MaxImportBytes>>10, MaxImportRows
	return page.New(c, "Import staff", v)
}

func (h handler) importForm(c *fiber.Ctx) error {
	return page.Render(c, "carehome/import", h.importPage(c, importView{}))
}

func (h handler) importCheck(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return page.Invalid(c, "carehome/import", h.importPage(c, importView{}),
			errs.Validation(errs.FieldError{Field: "file", Message: "Choose a CSV file to import"}), nil)
	}
	if fh.Size > MaxImportBytes {
		return page.Invalid(c, "carehome/import", h.importPage(c, importView{}),
			errs.Validation(errs.FieldError{Field: "file", Message: MsgImportTooLarge}), nil)
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("carehome: open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxImportBytes+1))
	if err != nil {
		return fmt.Errorf("carehome: read upload: %w", err)
	}
	return h.runImport(c, data, true)
}

func (h handler) importConfirm(c *fiber.Ctx) error {
	return h.runImport(c, []byte(strings.Clone(c.FormValue("csv"))), false)
}

func (h handler) runImport(c *fiber.Ctx, data []byte, dryRun bool) error {
	res, err := h.svc.Import(c.UserContext(), data, dryRun)
	if err != nil {
		return page.Invalid(c, "carehome/import", h.importPage(c, importView{}), err, nil)
	}
	v := importView{Result: &res}
	if dryRun && res.Problems == 0 {
		v.CSV = strings.TrimPrefix(string(data), "\uFEFF")
	}
	d := h.importPage(c, v)
	if res.Problems > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		d.Errors = []errs.FieldError{{Field: "problems", Message: fmt.Sprintf("%d row%s of the file cannot be imported: nothing has been stored",
			res.Problems, map[bool]string{true: "", false: "s"}[res.Problems == 1])}}
	}
	return page.Render(c, "carehome/import", d)
}

type importRequest struct {
	CSV    string `json:"csv"`
	DryRun *bool  `json:"dry_run"`
}

func (h handler) importJSON(c *fiber.Ctx) error {
	var req importRequest
	if err := jsonbody.Decode(c, &req); err != nil {
		return err
	}
	dry := req.DryRun == nil || *req.DryRun
	res, err := h.svc.Import(c.UserContext(), []byte(req.CSV), dry)
	if err != nil {
		return err
	}
	if res.Problems > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return c.JSON(res)
}
