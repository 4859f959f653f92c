package stats

import (
	"bytes"
	"embed"
	"encoding/csv"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/chart"
	"github.com/carepass/carepass/modules/csvsafe"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Routers are the route groups the statistics are mounted on.
type Routers struct {
	Operator fiber.Router // /operator
	Public   fiber.Router // no sign-in
	API      fiber.Router // /api/v1
}

// Paths of the public statistics.
const (
	PublicPath    = "/statistics"
	PublicCSVPath = "/statistics.csv"
	APIPath       = "/statistics"
)

// Routes mounts the operator's statistics (tenants:read; the public page's
// switch: tenants:write) and the public page, its CSV and its JSON twin,
// which answer 404 while the operator has not enabled them.
func Routes(r Routers, svc *Service, enf *policy.Enforcers) {
	h := handler{svc: svc, enf: enf}
	r.Operator.Get("/statistics", enf.RequirePlatform("tenants", "read"), h.operatorPage)
	r.Operator.Get("/statistics.csv", enf.RequirePlatform("tenants", "read"), h.operatorCSV)
	r.Operator.Post("/statistics/public", enf.RequirePlatform("tenants", "write"), h.setPublic)
	r.Public.Get(PublicPath, h.publicPage)
	r.Public.Get(PublicCSVPath, h.publicCSV)
	r.API.Get(APIPath, h.publicJSON)
}

type handler struct {
	svc *Service
	enf *policy.Enforcers
}

// view is the statistics page, for the operator or the public.
type view struct {
	Operator  bool
	Published bool
	CanWrite  bool
	CSVPath   string
	Snapshot
	Charts []template.HTML
}

func (v view) Computed() string { return v.ComputedAt.In(london).Format("2 January 2006 at 15:04") }

func charts(s Snapshot) []template.HTML {
	var labels, ticks []string
	var issued, verified, signed []chart.Cell
	cell := func(f Figure) chart.Cell { return chart.Cell{Value: f.Value(), Text: string(f)} }
	for _, m := range s.Months {
		labels = append(labels, m.Month.Format("January 2006"))
		ticks = append(ticks, m.Month.Format("Jan"))
		issued, verified, signed = append(issued, cell(m.PassportsIssued)), append(verified, cell(m.Verifications)), append(signed, cell(m.SignedOff))
	}
	if len(labels) == 0 {
		return nil
	}
	return []template.HTML{
		chart.Figure{ID: "chart-national-passports", Title: "Carer passports issued and verified per month", Category: "Month",
			Labels: labels, Ticks: ticks, Series: []chart.Series{{Name: "Issued", Cells: issued}, {Name: "Verified", Cells: verified}}}.HTML(),
		chart.Figure{ID: "chart-national-signoffs", Title: "Skills competencies signed off per month", Category: "Month",
			Labels: labels, Ticks: ticks, Series: []chart.Series{{Name: "Signed off", Cells: signed}}}.HTML(),
	}
}

func (h handler) operatorPage(c *fiber.Ctx) error {
	v, err := h.operatorView(c)
	if err != nil {
		return err
	}
	return page.Render(c, "stats/statistics", page.New(c, "Platform statistics", v))
}

func (h handler) operatorView(c *fiber.Ctx) (view, error) {
	ctx := c.UserContext()
	snap, err := h.svc.Snapshot(ctx)
	if err != nil {
		return view{}, err
	}
	on, err := h.svc.Published(ctx)
	if err != nil {
		return view{}, err
	}
	v := view{Operator: true, Published: on, CSVPath: "/operator/statistics.csv", Snapshot: snap, Charts: charts(snap)}
	if b := page.BaseOf(c); b.Viewer != nil {
		ok, err := h.enf.Allowed(ctx, policy.PlatformDomain, b.Viewer.ID.String(), policy.Permission{Object: "tenants", Action: "write"})
		v.CanWrite = err == nil && ok
	}
	return v, nil
}

func (h handler) setPublic(c *fiber.Ctx) error {
	var on bool
	switch c.FormValue("published") {
	case "yes":
		on = true
	case "no":
	default:
		v, err := h.operatorView(c)
		if err != nil {
			return err
		}
		return page.Invalid(c, "stats/statistics", page.New(c, "Platform statistics", v),
			errs.Validation(errs.FieldError{Field: "published", Message: "Select whether anyone may see the public statistics page"}), nil)
	}
	if err := h.svc.SetPublished(c.UserContext(), on); err != nil {
		return err
	}
	if on {
		page.SetFlash(c, "The public statistics page is now published at "+PublicPath+".")
	} else {
		page.SetFlash(c, "The public statistics page is no longer published.")
	}
	return c.Redirect("/operator/statistics", fiber.StatusSeeOther)
}

// public returns the published figures, throttled per client. While the
// page is unpublished every request is a plain 404, whoever asks.
func (h handler) public(c *fiber.Ctx) (Snapshot, error) {
	ctx := c.UserContext()
	on, err := h.svc.Published(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if !on {
		return Snapshot{}, errs.E(errs.NotFound, "Page not found")
	}
	if !h.svc.Allow(page.Client(c)) {
		return Snapshot{}, errs.E(errs.TooMany, "Too many requests for the statistics. Wait a minute and try again.")
	}
	return h.svc.Snapshot(ctx)
}

func (h handler) publicPage(c *fiber.Ctx) error {
	snap, err := h.public(c)
	if err != nil {
		return err
	}
	return page.Render(c, "stats/statistics", page.New(c, "Carer passports in numbers",
		view{Published: true, CSVPath: PublicCSVPath, Snapshot: snap, Charts: charts(snap)}))
}

func (h handler) publicCSV(c *fiber.Ctx) error {
	snap, err := h.public(c)
	if err != nil {
		return err
	}
	return sendCSV(c, snap)
}

func (h handler) operatorCSV(c *fiber.Ctx) error {
	snap, err := h.svc.Snapshot(c.UserContext())
	if err != nil {
		return err
	}
	return sendCSV(c, snap)
}

// JSON answer.

type jsonRow struct {
	Kind            *string `json:"kind"`
	Region          *string `json:"region"`
	Organisations   Figure  `json:"organisations"`
	PassportsActive Figure  `json:"passports_active"`
	PassportsIssued Figure  `json:"passports_issued"`
	SignedOff       Figure  `json:"competencies_signed_off"`
	Verifications   Figure  `json:"verifications"`
}

type jsonMonth struct {
	Month           string `json:"month"`
	PassportsIssued Figure `json:"passports_issued"`
	SignedOff       Figure `json:"competencies_signed_off"`
	Verifications   Figure `json:"verifications"`
}

// Suppression says how figures are published.
const Suppression = `Counts below 5, zero included, are shown as "<5"; every other count is rounded to the nearest 5.`

func (h handler) publicJSON(c *fiber.Ctx) error {
	snap, err := h.public(c)
	if err != nil {
		return err
	}
	rows := make([]jsonRow, 0, len(snap.Rows))
	for _, r := range snap.Rows {
		jr := jsonRow{Region: r.Region, Organisations: r.Organisations, PassportsActive: r.PassportsActive,
			PassportsIssued: r.PassportsIssued, SignedOff: r.SignedOff, Verifications: r.Verifications}
		if r.Kind != "" {
			k := string(r.Kind)
			jr.Kind = &k
		}
		rows = append(rows, jr)
	}
	months := make([]jsonMonth, 0, len(snap.Months))
	for _, m := range snap.Months {
		months = append(months, jsonMonth{Month: m.Month.Format("2006-01"), PassportsIssued: m.PassportsIssued,
			SignedOff: m.SignedOff, Verifications: m.Verifications})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"computed_at": snap.ComputedAt.UTC().Format(time.RFC3339), "suppression": Suppression,
		"by_kind_and_region": rows, "by_month": months})
}

// CSV download.

// csvHeader names the download's columns: one figure a line, so that both
// tables fit one file.
var csvHeader = []string{"computed_at", "figure", "kind", "region", "month", "value"}

// CSV returns the snapshot as the download's bytes.
func CSV(snap Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	at := snap.ComputedAt.UTC().Format(time.RFC3339)
	rows := [][]string{csvHeader}
	for _, r := range snap.Rows {
		kind, region := "all", "all"
		if r.Kind != "" {
			kind = string(r.Kind)
		}
		if r.Region != nil {
			region = *r.Region
		}
		for _, f := range []struct {
			name string
			v    Figure
		}{{"organisations", r.Organisations}, {"passports_active", r.PassportsActive}, {"passports_issued", r.PassportsIssued},
			{"competencies_signed_off", r.SignedOff}, {"verifications", r.Verifications}} {
			rows = append(rows, []string{at, f.name, kind, csvsafe.Cell(region), "", string(f.v)})
		}
	}
	for _, m := range snap.Months {
		month := m.Month.Format("2006-01")
		rows = append(rows, []string{at, "passports_issued", "all", "all", month, string(m.PassportsIssued)},
			[]string{at, "competencies_signed_off", "all", "all", month, string(m.SignedOff)},
			[]string{at, "verifications", "all", "all", month, string(m.Verifications)})
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sendCSV(c *fiber.Ctx, snap Snapshot) error {
	b, err := CSV(snap)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="carepass-statistics-`+snap.ComputedAt.In(london).Format("2006-01-02")+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b)
}
