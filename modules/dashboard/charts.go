package dashboard

import (
	"html/template"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/chart"
	"github.com/carepass/carepass/tenants"
)

// section is one chart of a dashboard, shown to those holding its read
// permission.
type section int

const (
	secCompliance section = iota
	secExpiring
	secSignOffs
	secTraining
	secPassports
)

// sections are the charts of each kind of tenant, in the order they show:
// what that kind of organisation looks at first comes first.
var sections = map[tenants.Kind][]section{
	tenants.KindCareHome:        {secCompliance, secExpiring, secSignOffs, secTraining, secPassports},
	tenants.KindPaediatricTrust: {secSignOffs, secExpiring, secTraining, secPassports},
	tenants.KindCarersCharity:   {secPassports, secTraining, secSignOffs, secExpiring},
	tenants.KindGPPractice:      {secPassports},
}

// permission is the read permission a section's figures need.
var permission = map[section][2]string{
	secCompliance: {"staff", "read"},
	secExpiring:   {"record", "read"},
	secSignOffs:   {"record", "read"},
	secTraining:   {"session", "read"},
	secPassports:  {"passport", "read"},
}

// charts reads the figures of the sections the viewer may see and draws them.
func (h handler) charts(c *fiber.Ctx, kind tenants.Kind) ([]template.HTML, string, error) {
	var show []section
	var want Want
	for _, sec := range sections[kind] {
		p := permission[sec]
		if !h.allowed(c, p[0], p[1]) {
			continue
		}
		show = append(show, sec)
		switch sec {
		case secExpiring:
			want.Expiring = true
		case secSignOffs:
			want.SignOffs = true
		case secTraining:
			want.Training = true
		case secPassports:
			want.Passports = true
		}
	}
	if len(show) == 0 {
		return nil, "", nil
	}
	ctx := c.UserContext()
	f, err := h.figures.Figures(ctx, want)
	if err != nil {
		return nil, "", err
	}
	labels, ticks := monthLabels(f.Window)
	var out []template.HTML
	for _, sec := range show {
		switch sec {
		case secCompliance:
			ends, ok, err := h.figures.Compliance(ctx)
			if err != nil {
				return nil, "", err
			}
			if ok {
				out = append(out, complianceFigure(ends, labels, ticks).HTML())
			}
		case secExpiring:
			out = append(out, expiringFigure(f.Expiring).HTML())
		case secSignOffs:
			out = append(out, chart.Figure{ID: "chart-signoffs", Title: "Competencies signed off per month", Category: "Month",
				Labels: labels, Ticks: ticks, Series: []chart.Series{{Name: "Signed off", Cells: counts(f.SignOffs)}}}.HTML())
		case secTraining:
			out = append(out, trainingFigure(f.Training, labels, ticks).HTML())
		case secPassports:
			out = append(out, chart.Figure{ID: "chart-passports", Title: "Carer passports issued and verified per month",
				Category: "Month", Labels: labels, Ticks: ticks,
				Description: "Verified counts the checks that confirmed one of this organisation's passports, by anyone.",
				Series:      []chart.Series{{Name: "Issued", Cells: counts(f.Issued)}, {Name: "Verified", Cells: counts(f.Verified)}}}.HTML())
		}
	}
	period := labels[0] + " to " + labels[len(labels)-1]
	return out, period, nil
}

func monthLabels(w Window) (labels, ticks []string) {
	for _, m := range w.Months {
		labels = append(labels, m.Format("January 2006"))
		ticks = append(ticks, m.Format("Jan"))
	}
	return labels, ticks
}

func counts(v []int64) []chart.Cell {
	out := make([]chart.Cell, len(v))
	for i, n := range v {
		out[i] = chart.N(n)
	}
	return out
}

func percent(num, den int64) chart.Cell {
	if den == 0 {
		return chart.Cell{Text: "None recorded"}
	}
	p := float64(num) * 100 / float64(den)
	return chart.Cell{Value: p, Text: strconv.FormatFloat(float64(int64(p*10+0.5))/10, 'f', -1, 64) + "%"}
}

func trainingFigure(months []TrainingMonth, labels, ticks []string) chart.Figure {
	var sessions, attended, booked, rate []chart.Cell
	for _, m := range months {
		sessions = append(sessions, chart.N(m.Sessions))
		attended = append(attended, chart.N(m.Attended))
		booked = append(booked, chart.N(m.Booked))
		rate = append(rate, percent(m.Attended, m.Attended+m.Absent))
	}
	return chart.Figure{ID: "chart-training", Title: "Training sessions and attendance per month", Category: "Month",
		Labels: labels, Ticks: ticks,
		Description: "Sessions count those not cancelled, by the month they start in. Attendance is the share of people " +
			"marked on a register who attended.",
		Series: []chart.Series{{Name: "Sessions", Cells: sessions}, {Name: "People attended", Cells: attended}},
		Extra:  []chart.Series{{Name: "Places booked", Cells: booked}, {Name: "Attendance", Cells: rate}}}
}

func expiringFigure(e Expiring) chart.Figure {
	return chart.Figure{ID: "chart-expiring", Title: "Competencies expiring soon", Category: "Expiring",
		Labels:      []string{"Within 30 days", "Within 60 days", "Within 90 days"},
		Ticks:       []string{"30 days", "60 days", "90 days"},
		Description: "Signed-off competencies of current passport holders that expire after today; each count includes the one before.",
		Series:      []chart.Series{{Name: "Competencies", Cells: []chart.Cell{chart.N(e.In30), chart.N(e.In60), chart.N(e.In90)}}}}
}

func complianceFigure(ends []MonthEnd, labels, ticks []string) chart.Figure {
	var pct, valid, required []chart.Cell
	for _, e := range ends {
		if e.Point == nil {
			pct = append(pct, chart.Cell{Missing: true})
			valid = append(valid, chart.Cell{Text: "No data"})
			required = append(required, chart.Cell{Text: "No data"})
			continue
		}
		pct = append(pct, chart.Cell{Value: e.Point.Percent})
		valid = append(valid, chart.N(int64(e.Point.Valid)))
		required = append(required, chart.N(int64(e.Point.Required)))
	}
	return chart.Figure{ID: "chart-compliance", Title: "Staff compliance over time", Kind: chart.Line, Percent: true,
		Category: "Month", Labels: labels, Ticks: ticks,
		Description: "The share of the competencies staff's roles require that are held and valid, on the last day of each month with figures.",
		Series:      []chart.Series{{Name: "Compliant", Cells: pct}},
		Extra:       []chart.Series{{Name: "Valid", Cells: valid}, {Name: "Required", Cells: required}}}
}
