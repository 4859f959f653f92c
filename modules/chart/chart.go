// Package chart draws small, accessible charts on the server: an SVG image
// (bars for counts, a line for percentages) with a title and a text
// description for assistive technology, a legend in text, and beside it the
// data table the chart is drawn from, which is the source of truth. No
// script and no style attributes: geometry and colours are SVG presentation
// attributes, layout comes from the static stylesheet (cp-chart classes).
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Kind is how a figure's series are drawn.
type Kind int

// Kinds of chart.
const (
	Bar  Kind = iota // counts per category, side by side when there are several series
	Line             // values over time, typically percentages
)

// Cell is one value. Text, when set, is what the table and the chart's
// description show instead of the number (a suppressed count shows "<5"
// and is drawn as no bar, with its text above the axis).
type Cell struct {
	Value float64
	Text  string
	// Missing marks a value that is not known (no data for that day); a line
	// breaks there and a bar is not drawn.
	Missing bool
}

// N returns a cell holding the count n.
func N(n int64) Cell { return Cell{Value: float64(n)} }

// Series is one named row of values, one per category.
type Series struct {
	Name  string
	Cells []Cell
}

// Figure is a chart with its data table.
type Figure struct {
	ID          string   // unique on the page; prefixes the ids of the title and description
	Title       string   // the chart's heading and the table's caption
	Description string   // optional sentence put before the generated summary
	Kind        Kind     // bar or line
	Category    string   // heading of the table's first column, e.g. "Month"
	Labels      []string // each category in full, e.g. "March 2026": the table's row headings
	Ticks       []string // each category in short, e.g. "Mar": the axis labels (default: Labels)
	Series      []Series // what the chart draws, in order
	Extra       []Series // further table columns the chart does not draw
	Percent     bool     // values are percentages: the axis runs from 0 to 100%
}

// text is how a cell of a plotted series reads.
func (f Figure) text(c Cell) string { return cellText(c, f.Percent) }

// cellText is how a cell reads: its own text, or its value (as a
// percentage when percent).
func cellText(c Cell, percent bool) string {
	switch {
	case c.Text != "":
		return c.Text
	case c.Missing:
		return "No data"
	case percent:
		return strconv.FormatFloat(math.Round(c.Value*10)/10, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(c.Value, 'f', -1, 64)
}

// Colours of the series, from the NHS.UK palette: NHS blue, purple and dark
// pink, each distinct from the next by its fill pattern or marker too.
var colours = []string{"#005eb8", "#330072", "#7c2855"}

const (
	width, height                      = 480, 240
	left, right, top, bottom           = 48, 12, 12, 36
	plotW, plotH                       = width - left - right, height - top - bottom
	textColour, gridColour, axisColour = "#212b32", "#d8dde0", "#4c6272"
)

// HTML returns the figure: a heading, the chart and its legend, and the
// data table, in the grid the NHS.UK frontend provides (side by side on
// wide screens, one above the other on narrow ones).
func (f Figure) HTML() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<div class="cp-figure" id="%s">`, esc(f.ID))
	fmt.Fprintf(&b, `<h3 class="nhsuk-heading-s">%s</h3>`, esc(f.Title))
	b.WriteString(`<div class="nhsuk-grid-row"><div class="nhsuk-grid-column-one-half">`)
	f.svg(&b)
	f.legend(&b)
	b.WriteString(`</div><div class="nhsuk-grid-column-one-half">`)
	f.table(&b)
	b.WriteString(`</div></div></div>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above and below
}

// Summary is the chart's text description: the highest and the latest value
// of each series.
func (f Figure) Summary() string {
	kind := "Bar chart"
	if f.Kind == Line {
		kind = "Line chart"
	}
	var parts []string
	if f.Description != "" {
		parts = append(parts, strings.TrimSuffix(f.Description, ".")+".")
	}
	if n := len(f.Labels); n > 0 {
		parts = append(parts, fmt.Sprintf("%s of %s, %s to %s.", kind, strings.ToLower(f.Title), f.Labels[0], f.Labels[n-1]))
	}
	for _, s := range f.Series {
		hi, last := -1, -1
		for i, c := range s.Cells {
			if c.Missing {
				continue
			}
			if hi < 0 || c.Value > s.Cells[hi].Value {
				hi = i
			}
			last = i
		}
		if hi < 0 || hi >= len(f.Labels) {
			parts = append(parts, s.Name+": no data.")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: highest %s in %s; latest %s in %s.", s.Name,
			f.text(s.Cells[hi]), f.Labels[hi], f.text(s.Cells[last]), f.Labels[last]))
	}
	parts = append(parts, "The table gives every figure.")
	return strings.Join(parts, " ")
}

// scale returns the top of the value axis and the step between its lines.
func (f Figure) scale() (top, step float64) {
	if f.Percent {
		return 100, 25
	}
	hi := 0.0
	for _, s := range f.Series {
		for _, c := range s.Cells {
			if !c.Missing && c.Value > hi {
				hi = c.Value
			}
		}
	}
	if hi <= 4 {
		return 4, 1
	}
	// A step of 1, 2 or 5 times a power of ten giving at most five lines.
	mag := math.Pow(10, math.Floor(math.Log10(hi/4)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if math.Ceil(hi/step) <= 5 {
			break
		}
	}
	return math.Ceil(hi/step) * step, step
}

func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func (f Figure) svg(b *strings.Builder) {
	esc := template.HTMLEscapeString
	titleID, descID := f.ID+"-title", f.ID+"-desc"
	fmt.Fprintf(b, `<svg class="cp-chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s %s" focusable="false" xmlns="http://www.w3.org/2000/svg">`,
		width, height, esc(titleID), esc(descID))
	fmt.Fprintf(b, `<title id="%s">%s</title><desc id="%s">%s</desc>`, esc(titleID), esc(f.Title), esc(descID), esc(f.Summary()))
	// The hatching that tells the second series from the first without colour.
	fmt.Fprintf(b, `<defs><pattern id="%s-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
		`<rect width="6" height="6" fill="#ffffff"/><rect width="3" height="6" fill="%s"/></pattern></defs>`, esc(f.ID), colours[1])
	maxV, step := f.scale()
	y := func(v float64) float64 { return top + plotH - v/maxV*plotH }
	for v := 0.0; v <= maxV+step/2; v += step {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s" stroke-width="1"/>`, left, width-right, num(y(v)), num(y(v)), gridColour)
		label := num(v)
		if f.Percent {
			label += "%"
		}
		fmt.Fprintf(b, `<text x="%d" y="%s" font-size="12" text-anchor="end" fill="%s" font-family="Arial, sans-serif">%s</text>`,
			left-6, num(y(v)+4), axisColour, esc(label))
	}
	n := len(f.Labels)
	if n == 0 {
		b.WriteString(`</svg>`)
		return
	}
	ticks := f.Ticks
	if len(ticks) != n {
		ticks = f.Labels
	}
	slot := float64(plotW) / float64(n)
	every := int(math.Ceil(float64(n) / 12))
	for i := 0; i < n; i += every {
		fmt.Fprintf(b, `<text x="%s" y="%d" font-size="12" text-anchor="middle" fill="%s" font-family="Arial, sans-serif">%s</text>`,
			num(left+slot*(float64(i)+0.5)), height-bottom+18, axisColour, esc(ticks[i]))
	}
	switch f.Kind {
	case Line:
		f.lines(b, slot, y)
	default:
		f.bars(b, slot, y)
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s" stroke-width="2"/>`, left, width-right, num(y(0)), num(y(0)), textColour)
	b.WriteString(`</svg>`)
}

func (f Figure) fill(i int) string {
	if i%len(colours) == 1 {
		return "url(#" + template.HTMLEscapeString(f.ID) + "-hatch)"
	}
	return colours[i%len(colours)]
}

func (f Figure) bars(b *strings.Builder, slot float64, y func(float64) float64) {
	k := float64(max(1, len(f.Series)))
	bw := slot * 0.7 / k
	for si, s := range f.Series {
		for i, c := range s.Cells {
			if i >= len(f.Labels) || c.Missing {
				continue
			}
			x := left + slot*float64(i) + slot*0.15 + bw*float64(si)
			if c.Value > 0 {
				fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"/>`,
					num(x), num(y(c.Value)), num(bw), num(y(0)-y(c.Value)), f.fill(si), colours[si%len(colours)])
			}
			if c.Text != "" {
				fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11" text-anchor="middle" fill="%s" font-family="Arial, sans-serif">%s</text>`,
					num(x+bw/2), num(y(c.Value)-4), textColour, template.HTMLEscapeString(c.Text))
			}
		}
	}
}

func (f Figure) lines(b *strings.Builder, slot float64, y func(float64) float64) {
	for si, s := range f.Series {
		colour := colours[si%len(colours)]
		dash := ""
		if si%2 == 1 {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="3"%s/>`, strings.Join(pts, " "), colour, dash)
			}
			pts = pts[:0]
		}
		for i, c := range s.Cells {
			if i >= len(f.Labels) {
				break
			}
			if c.Missing {
				flush()
				continue
			}
			pts = append(pts, num(left+slot*(float64(i)+0.5))+","+num(y(c.Value)))
		}
		flush()
		for i, c := range s.Cells {
			if i >= len(f.Labels) || c.Missing {
				continue
			}
			cx, cy := left+slot*(float64(i)+0.5), y(c.Value)
			if si%2 == 1 {
				fmt.Fprintf(b, `<rect x="%s" y="%s" width="8" height="8" fill="%s"/>`, num(cx-4), num(cy-4), colour)
			} else {
				fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="4" fill="%s"/>`, num(cx), num(cy), colour)
			}
		}
	}
}

// legend names each series beside a swatch drawn as the chart draws it.
// The chart's image already carries the same words for assistive
// technology, so the swatches are hidden from it.
func (f Figure) legend(b *strings.Builder) {
	if len(f.Series) < 2 {
		return
	}
	b.WriteString(`<ul class="cp-chart-legend">`)
	for i, s := range f.Series {
		b.WriteString(`<li><svg class="cp-chart-swatch" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">`)
		if f.Kind == Line {
			if i%2 == 1 {
				fmt.Fprintf(b, `<rect x="4" y="4" width="8" height="8" fill="%s"/>`, colours[i%len(colours)])
			} else {
				fmt.Fprintf(b, `<circle cx="8" cy="8" r="4" fill="%s"/>`, colours[i%len(colours)])
			}
		} else {
			fill := colours[i%len(colours)]
			if i%len(colours) == 1 {
				fmt.Fprintf(b, `<defs><pattern id="%s-key%d" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
					`<rect width="6" height="6" fill="#ffffff"/><rect width="3" height="6" fill="%s"/></pattern></defs>`,
					template.HTMLEscapeString(f.ID), i, colours[1])
				fill = fmt.Sprintf("url(#%s-key%d)", template.HTMLEscapeString(f.ID), i)
			}
			fmt.Fprintf(b, `<rect x="1" y="1" width="14" height="14" fill="%s" stroke="%s" stroke-width="1"/>`, fill, colours[i%len(colours)])
		}
		fmt.Fprintf(b, `</svg> %s</li>`, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</ul>`)
}

func (f Figure) table(b *strings.Builder) {
	esc := template.HTMLEscapeString
	cols := append(append([]Series{}, f.Series...), f.Extra...)
	plotted := len(f.Series)
	// A wide table scrolls within its column, by keyboard too.
	fmt.Fprintf(b, `<div class="nhsuk-scroll" data-module="nhsuk-scroll"><div class="nhsuk-scroll__content" role="region" aria-labelledby="%s-caption" tabindex="0">`,
		esc(f.ID))
	b.WriteString(`<table class="nhsuk-table">`)
	fmt.Fprintf(b, `<caption id="%s-caption" class="nhsuk-table__caption nhsuk-table__caption--s">%s: figures</caption>`, esc(f.ID), esc(f.Title))
	fmt.Fprintf(b, `<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">%s</th>`, esc(f.Category))
	for _, s := range cols {
		fmt.Fprintf(b, `<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">%s</th>`, esc(s.Name))
	}
	b.WriteString(`</tr></thead><tbody class="nhsuk-table__body">`)
	for i, label := range f.Labels {
		fmt.Fprintf(b, `<tr class="nhsuk-table__row"><th scope="row" class="nhsuk-table__header">%s</th>`, esc(label))
		for j, s := range cols {
			v := ""
			if i < len(s.Cells) {
				v = cellText(s.Cells[i], f.Percent && j < plotted)
			}
			fmt.Fprintf(b, `<td class="nhsuk-table__cell nhsuk-table__cell--numeric">%s</td>`, esc(v))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table></div></div>`)
}
