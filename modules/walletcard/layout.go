package walletcard

import (
	"fmt"
	"math"
	"strings"

	"github.com/go-pdf/fpdf"
)

// Geometry of the page, in millimetres: an A4 page with the card's front
// (left) and back (right) side by side, touching along the fold line.
const (
	pageW   = 210.0
	cardW   = 85.6 // ID-1
	cardH   = 54.0
	cardX   = (pageW - 2*cardW) / 2
	cardY   = 52.0
	radius  = 3.0 // ID-1 corners
	bandH   = 9.0 // the coloured band along the top of each side
	padding = 4.0 // inner margin of each side
	ptToMM  = 25.4 / 72
)

// Text on the page outside the card.
const (
	pageHeading = "Carer passport wallet card"
	instruction = "Cut out, fold along the line, and keep in your wallet"
	printNote   = "Print at actual size (100%, not \u201cfit to page\u201d) so the card is the size of a bank card."
	cutLabel    = "Cut along the dashed outline"
	foldLabel   = "Fold"
)

// Text on the card.
const (
	cardHeading   = "Carer passport"
	registered    = "Registered carer"
	benefitsTitle = "Key benefits"
	aboutTitle    = "About this card"
	checkTitle    = "How to check this passport"
	noCaredFor    = "This card does not show any information about the person cared for."
)

// Fonts.
var (
	fHeading    = font{"B", 16}
	fInstruct   = font{"", 11}
	fNote       = font{"", 9}
	fGuide      = font{"", 7}
	fBand       = font{"B", 12}
	fName       = font{"B", 11}
	fBody       = font{"", 8}
	fBodyBold   = font{"B", 8}
	fLabel      = font{"", 6.5}
	fCode       = font{"B", 8.5}
	fBenefit    = font{"", 7.5}
	fMore       = font{"I", 7.5}
	fCheckTitle = font{"B", 7.5}
	fCheck      = font{"", 7}
	fFooter     = font{"I", 6.5}
	minCodeSize = 6.0 // points: the smallest the code shrinks to before it is shortened
)

// Colours (the NHS palette): blue bands, dark text, secondary grey.
var (
	blue = [3]int{0, 94, 184}
	text = [3]int{33, 43, 50}
	grey = [3]int{76, 98, 114}
)

var fpdfPNG = fpdf.ImageOptions{ImageType: "PNG"}

// doc draws one wallet card page.
type doc struct {
	pdf *fpdf.Fpdf
	enc *encoder
}

// lineHeight is the baseline-to-baseline distance for f, in mm.
func lineHeight(f font) float64 { return f.size * ptToMM * 1.2 }

func (d *doc) colour(c [3]int) { d.pdf.SetTextColor(c[0], c[1], c[2]) }

// line draws encoded text s with its baseline at x, y, shortened to w.
func (d *doc) line(f font, c [3]int, x, y, w float64, s string) {
	d.use(f)
	d.colour(c)
	d.pdf.Text(x, y, d.fit(s, w))
}

// centred draws encoded text s centred on cx with its baseline at y,
// shortened to w.
func (d *doc) centred(f font, c [3]int, cx, y, w float64, s string) {
	d.use(f)
	d.colour(c)
	s = d.fit(s, w)
	d.pdf.Text(cx-d.width(s)/2, y, s)
}

// page draws the whole page.
func (d *doc) page(c Card, qr qrImage) {
	e := d.enc.encode
	d.line(fHeading, text, cardX, 26, 2*cardW, e(pageHeading))
	d.line(fInstruct, text, cardX, 34, 2*cardW, e(instruction))
	d.line(fNote, grey, cardX, 40, 2*cardW, e(printNote))
	d.line(fGuide, grey, cardX, cardY-2, cardW-12, e(cutLabel))
	d.centred(fGuide, grey, cardX+cardW, cardY-2, 20, e(foldLabel))

	d.guides()
	d.front(c, qr)
	d.back(c)
}

// guides draws the two bands and the dashed cut outline and fold line.
func (d *doc) guides() {
	p := d.pdf
	p.SetFillColor(blue[0], blue[1], blue[2])
	p.RoundedRect(cardX, cardY, cardW, bandH, radius, "1", "F")
	p.RoundedRect(cardX+cardW, cardY, cardW, bandH, radius, "2", "F")

	p.SetDrawColor(grey[0], grey[1], grey[2])
	p.SetLineWidth(0.25)
	p.SetDashPattern([]float64{2, 1.2}, 0)
	p.RoundedRect(cardX, cardY, 2*cardW, cardH, radius, "1234", "D")
	p.SetDashPattern([]float64{0.6, 0.9}, 0)
	p.Line(cardX+cardW, cardY-1, cardX+cardW, cardY+cardH+1)
	p.SetDashPattern(nil, 0)
}

// front draws the front of the card: who holds the passport, its scheme,
// issuer and expiry on the left, the QR code and the code on the right.
func (d *doc) front(c Card, qr qrImage) {
	e := d.enc.encode
	x := cardX + padding
	d.line(fBand, [3]int{255, 255, 255}, x, cardY+6.3, cardW-2*padding, e(cardHeading))

	// The QR code's modules, a qrCodeMM square, with at most 3 mm of quiet
	// zone shown (the white card gives it more).
	const quiet = 3.0
	qx := cardX + cardW - padding - qrCodeMM
	qy := cardY + bandH + quiet
	d.placeQR(qr, qx, qy, quiet)
	codeW := cardX + cardW - 1.5 - (qx - quiet) // under the QR code, to near the edge
	d.code(c.Code, qx+qrCodeMM/2, qy+qrCodeMM+4.8, codeW)

	// The left column, down to the bottom of the card.
	w := qx - quiet - 1.5 - x
	y := cardY + bandH + 5.2
	d.use(fName)
	d.colour(text)
	for i, l := range d.wrap(e(c.HolderName), w, 2) {
		if i > 0 {
			y += lineHeight(fName) * 0.95
		}
		d.pdf.Text(x, y, l)
	}
	y += 4.2
	d.line(fBody, text, x, y, w, e(registered))
	if a := e(c.Audience); a != "" {
		y += 3.6
		d.line(fBodyBold, text, x, y, w, a)
	}
	y += 1.2
	for _, row := range []struct{ label, value string }{
		{"Scheme", e(c.SchemeName)},
		{"Issued by", e(c.IssuerName)},
		{"Valid until", e(c.validUntil())},
	} {
		if row.value == "" {
			continue
		}
		y += 3.4
		d.line(fLabel, grey, x, y, w, e(row.label))
		y += 3.5
		d.line(fBodyBold, text, x, y, w, row.value)
	}
}

// code draws the passport code in groups of four, centred on cx with its
// baseline at y, shrunk to fit w if need be and shortened below
// minCodeSize.
func (d *doc) code(code string, cx, y, w float64) {
	s := d.enc.encode(groups(code))
	f := fCode
	for f.size > minCodeSize {
		d.use(f)
		if d.width(s) <= w {
			break
		}
		f.size -= 0.5
	}
	d.centred(f, text, cx, y, w, s)
}

// groups writes a code in groups of four characters joined by hyphens,
// whatever grouping it came in; a code with other characters than letters
// and digits is left as it is.
func groups(code string) string {
	compact := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	var b strings.Builder
	for i, r := range compact {
		if !('A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return code
		}
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// back draws the back of the card: the key benefits from the top; then how
// to check the passport, the helpline and the note that the card says
// nothing of the person cared for, at the bottom (at the top when there are
// no benefits).
func (d *doc) back(c Card) {
	e := d.enc.encode
	x := cardX + cardW + padding
	w := cardW - 2*padding

	var benefits []string
	for _, b := range c.Benefits {
		if s := e(b); s != "" {
			benefits = append(benefits, s)
		}
	}
	title := benefitsTitle
	if len(benefits) == 0 {
		title = aboutTitle
	}
	d.line(fBand, [3]int{255, 255, 255}, x, cardY+6.3, w, e(title))

	how := "Scan the QR code to check it."
	if u := strings.TrimSpace(c.VerifyURL); u != "" {
		how = "Scan the QR code or enter the code at " + u
	}
	d.use(fCheck)
	check := d.wrap(e(how), w, 3)
	helpline := e(c.Helpline)
	d.use(fFooter)
	footer := d.wrap(e(noCaredFor), w, 2)

	// Baseline to baseline, from the heading of how to check to the last
	// line of the footer.
	lhC, lhF := lineHeight(fCheck), lineHeight(fFooter)
	span := lhC + 0.3 + float64(len(check)-1)*lhC + lhF + 0.8 + float64(len(footer)-1)*lhF
	if helpline != "" {
		span += lhC + 0.6
	}
	top := cardY + bandH + 4.2 // the first baseline below the band
	y := cardY + cardH - 3.2 - span
	if len(benefits) == 0 {
		y = top
	}
	d.benefits(benefits, x, top, y-lineHeight(fCheckTitle)-0.3, w)

	d.line(fCheckTitle, text, x, y, w, e(checkTitle))
	y += 0.3
	d.use(fCheck)
	d.colour(text)
	for _, l := range check {
		y += lhC
		d.pdf.Text(x, y, l)
	}
	if helpline != "" {
		y += lhC + 0.6
		d.line(fCheck, text, x, y, w, e("Helpline: "+c.Helpline))
	}
	y += 0.8
	d.use(fFooter)
	d.colour(grey)
	for _, l := range footer {
		y += lhF
		d.pdf.Text(x, y, l)
	}
}

// benefits lists as many of items (encoded) as fit between the baselines
// top and bottom, each on up to two lines, then "and N more" for the rest.
func (d *doc) benefits(items []string, x, top, bottom, w float64) {
	lh := lineHeight(fBenefit)
	capacity := int(math.Floor((bottom-top)/lh+1e-9)) + 1
	const bulletW = 3.0
	d.use(fBenefit)
	var shown [][]string
	used := 0
	for i, item := range items {
		lines := d.wrap(item, w-bulletW, 2)
		more := 0
		if i < len(items)-1 {
			more = 1 // room for "and N more" in case the next does not fit
		}
		if used+len(lines)+more > capacity {
			break
		}
		shown = append(shown, lines)
		used += len(lines)
	}
	y := top
	d.colour(text)
	for _, lines := range shown {
		d.use(fBenefit)
		d.pdf.Text(x, y, "\x95") // bullet
		for _, l := range lines {
			d.pdf.Text(x+bulletW, y, l)
			y += lh
		}
	}
	if rest := len(items) - len(shown); rest > 0 {
		d.line(fMore, text, x+bulletW, y, w-bulletW, fmt.Sprintf("and %d more", rest))
	}
}
