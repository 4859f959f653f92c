package chart_test

import (
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/carepass/carepass/modules/chart"
)

func months() []string {
	return []string{"January 2026", "February 2026", "March 2026"}
}

// wellFormed parses the markup as XML, which the SVG inside HTML must be.
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader("<root>" + s + "</root>"))
	for {
		if _, err := d.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("not well formed: %v\n%s", err, s)
		}
	}
}

func TestBarFigureIsAnAccessibleImageWithItsTable(t *testing.T) {
	f := chart.Figure{ID: "signoffs", Title: "Competencies signed off", Category: "Month", Labels: months(),
		Ticks:  []string{"Jan", "Feb", "Mar"},
		Series: []chart.Series{{Name: "Signed off", Cells: []chart.Cell{chart.N(3), chart.N(12), chart.N(0)}}}}
	out := string(f.HTML())
	wellFormed(t, out)
	for _, want := range []string{
		`role="img"`, `aria-labelledby="signoffs-title signoffs-desc"`,
		`<title id="signoffs-title">Competencies signed off</title>`,
		`highest 12 in February 2026; latest 0 in March 2026`,
		`<caption id="signoffs-caption" class="nhsuk-table__caption nhsuk-table__caption--s">Competencies signed off: figures</caption>`,
		`<th scope="col" class="nhsuk-table__header">Month</th>`,
		`<th scope="row" class="nhsuk-table__header">February 2026</th><td class="nhsuk-table__cell nhsuk-table__cell--numeric">12</td>`,
		`>Jan</text>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "style") || strings.Contains(out, "<script") {
		t.Errorf("inline style or script, which the content security policy refuses:\n%s", out)
	}
	// Two bars: a zero has none.
	if n := len(regexp.MustCompile(`<rect x="[0-9.]+" y="[0-9.]+" width`).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d bars, want 2", n)
	}
	// A single series needs no legend: the title names it.
	if strings.Contains(out, "cp-chart-legend") {
		t.Error("legend for a single series")
	}
}

func TestSuppressedCellsShowTheirTextAndNoBar(t *testing.T) {
	f := chart.Figure{ID: "n", Title: "Issued", Category: "Month", Labels: months(),
		Series: []chart.Series{{Name: "Issued", Cells: []chart.Cell{{Text: "<5"}, {Value: 10, Text: "10"}, {Value: 5, Text: "5"}}}}}
	out := string(f.HTML())
	wellFormed(t, out)
	if !strings.Contains(out, `numeric">&lt;5</td>`) || !strings.Contains(out, `>&lt;5</text>`) {
		t.Errorf("suppressed cell not shown as <5:\n%s", out)
	}
	if n := len(regexp.MustCompile(`<rect x="[0-9.]+" y="[0-9.]+" width`).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d bars, want 2", n)
	}
}

func TestTwoSeriesDifferByPatternAndHaveALegend(t *testing.T) {
	f := chart.Figure{ID: "pp", Title: "Passports", Category: "Month", Labels: months(), Series: []chart.Series{
		{Name: "Issued", Cells: []chart.Cell{chart.N(1), chart.N(2), chart.N(3)}},
		{Name: "Verified", Cells: []chart.Cell{chart.N(4), chart.N(5), chart.N(6)}}},
		Extra: []chart.Series{{Name: "Rate", Cells: []chart.Cell{{Text: "50%"}, {Text: "n/a"}, {Text: "1%"}}}}}
	out := string(f.HTML())
	wellFormed(t, out)
	if !strings.Contains(out, `fill="url(#pp-hatch)"`) {
		t.Error("second series not hatched")
	}
	if !strings.Contains(out, `</svg> Verified</li>`) || !strings.Contains(out, `</svg> Issued</li>`) {
		t.Errorf("legend lacks the series' names:\n%s", out)
	}
	if !strings.Contains(out, `>Rate</th>`) || !strings.Contains(out, `>50%</td>`) {
		t.Error("extra column missing from the table")
	}
}

func TestLinePercentagesBreakAtMissingDays(t *testing.T) {
	f := chart.Figure{ID: "c", Title: "Compliance", Kind: chart.Line, Percent: true, Category: "Day",
		Labels: []string{"1 May", "2 May", "3 May", "4 May"},
		Series: []chart.Series{{Name: "Compliant", Cells: []chart.Cell{{Value: 50}, {Value: 75.25}, {Missing: true}, {Value: 100}}}}}
	out := string(f.HTML())
	wellFormed(t, out)
	if n := strings.Count(out, "<polyline"); n != 1 {
		t.Errorf("%d lines, want 1 (the single point after the gap is a marker only)", n)
	}
	if n := strings.Count(out, "<circle"); n != 3 {
		t.Errorf("%d markers, want 3", n)
	}
	for _, want := range []string{">100%</text>", ">75.3%</td>", ">No data</td>", "highest 100% in 4 May"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q", want)
		}
	}
}

func TestTextIsEscaped(t *testing.T) {
	f := chart.Figure{ID: `x"y`, Title: `<script>alert(1)</script>`, Category: "Region", Labels: []string{`<b>&`},
		Series: []chart.Series{{Name: `"=SUM(A1)"`, Cells: []chart.Cell{chart.N(7)}}}}
	out := string(f.HTML())
	wellFormed(t, out)
	if strings.Contains(out, "<script>") || strings.Contains(out, "<b>") || strings.Contains(out, `id="x"y"`) {
		t.Errorf("unescaped text:\n%s", out)
	}
}

func TestScaleReachesTheHighestValue(t *testing.T) {
	for _, c := range []struct {
		hi   int64
		want string
	}{{0, ">4</text>"}, {4, ">4</text>"}, {7, ">8</text>"}, {23, ">25</text>"}, {180, ">200</text>"}, {999, ">1000</text>"}} {
		f := chart.Figure{ID: "s", Title: "T", Category: "C", Labels: []string{"a"}, Series: []chart.Series{{Name: "n", Cells: []chart.Cell{chart.N(c.hi)}}}}
		if out := string(f.HTML()); !strings.Contains(out, c.want) {
			t.Errorf("highest %d: axis lacks %s", c.hi, c.want)
		}
	}
}
