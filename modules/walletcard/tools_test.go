package walletcard_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/walletcard"
)

// The page's geometry, in millimetres, as the layout draws it: the card's
// front and back side by side, and the QR code's modules on the front.
const (
	cardX, cardY = 19.4, 52.0
	cardW, cardH = 85.6, 54.0
	bandH        = 9.0
	// The QR code's modules with 3 mm of quiet zone (2.5 mm below, above
	// the code), from the card's left and top edges.
	qrLeft, qrBottom = cardW - 4 - 31 - 3, bandH + 3 + 31 + 2.5
	mmToPt           = 72 / 25.4
	dpi              = 300
)

// tool returns the path of a command from a Debian package that the tests
// read the PDF back with. Under CI it must be there (scripts/deps.sh
// installs it); elsewhere the test skips.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing; scripts/deps.sh installs it (Debian package %s)", name, pkg)
	}
	t.Skipf("%s is missing: run scripts/deps.sh or apt-get install %s", name, pkg)
	return ""
}

// command runs a tool and returns its standard output.
func command(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// writePDF renders c into a file in a new temporary directory.
func writePDF(t *testing.T, c walletcard.Card) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "card.pdf")
	if err := os.WriteFile(file, render(t, c), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// pdfText is the text poppler's pdftotext reads from the PDF.
func pdfText(t *testing.T, file string) string {
	t.Helper()
	return string(command(t, tool(t, "pdftotext", "poppler-utils"), "-enc", "UTF-8", file, "-"))
}

func TestTextReadBack(t *testing.T) {
	c := sample(t)
	file := writePDF(t, c)
	got := pdfText(t, file)
	for _, want := range []string{
		"Carer passport",
		"Cut out, fold along the line, and keep in your wallet",
		c.HolderName,
		"Registered carer",
		c.Audience,
		c.SchemeName,
		c.IssuerName,
		"21 August 2027", // the London date of ValidUntil
		c.Code,
		c.Benefits[0], c.Benefits[1], c.Benefits[2],
		"Scan the QR code or enter the code at " + c.VerifyURL,
		"Helpline: " + c.Helpline,
		"This card does not show any information about the person cared for.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("pdftotext did not read %q; it read:\n%s", want, got)
		}
	}
	if strings.Contains(got, "more") {
		t.Errorf("every benefit fits, yet the card says there are more:\n%s", got)
	}

	info := string(command(t, tool(t, "pdfinfo", "poppler-utils"), file))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Title:\s+Carer passport$`),
		regexp.MustCompile(`(?m)^Creator:\s+Carepass$`),
		regexp.MustCompile(`(?m)^Pages:\s+1$`),
		regexp.MustCompile(`(?m)^Page size:\s+595.2\d* x 841.8\d* pts \(A4\)$`),
	} {
		if !want.MatchString(info) {
			t.Errorf("pdfinfo does not match %s:\n%s", want, info)
		}
	}
	if strings.Contains(info, "CreationDate") || strings.Contains(info, "ModDate") {
		t.Errorf("pdfinfo shows a date:\n%s", info)
	}
}

// A code typed without its hyphens, or in other groups, is printed in
// groups of four.
func TestCodePrintedInGroups(t *testing.T) {
	c := sample(t)
	c.Code = "7k3m q9xa2pdfW8RT"
	if got := pdfText(t, writePDF(t, c)); !strings.Contains(got, "7K3M-Q9XA-2PDF-W8RT") {
		t.Errorf("code not printed in groups:\n%s", got)
	}
}

// raster renders the page at 300 dpi with pdftoppm.
func raster(t *testing.T, pdf string) string {
	t.Helper()
	bin := tool(t, "pdftoppm", "poppler-utils")
	prefix := strings.TrimSuffix(pdf, ".pdf")
	command(t, bin, "-r", strconv.Itoa(dpi), "-png", "-singlefile", pdf, prefix)
	return prefix + ".png"
}

// scan reads the one QR code in a PNG file with zbarimg.
func scan(t *testing.T, file string) string {
	t.Helper()
	bin := tool(t, "zbarimg", "zbar-tools")
	out := command(t, bin, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file)
	return strings.TrimRight(string(out), "\n")
}

// qrSide measures, in millimetres, the dark square of the QR code's
// modules on the rasterised page: the area right of the front's text
// column, below the band and above the printed code.
func qrSide(t *testing.T, file string) (w, h float64) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	px := func(mm float64) int { return int(mm / 25.4 * dpi) }
	area := image.Rect(px(cardX+47), px(cardY+bandH+0.5), px(cardX+cardW-1), px(cardY+45))
	box := image.Rectangle{}
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r+g+b < 3*0x8000 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	mm := func(p int) float64 { return float64(p) / dpi * 25.4 }
	return mm(box.Dx()), mm(box.Dy())
}

// The QR code on the printed page reads back, with an independent decoder,
// as exactly the passport's QR text, which verifies; and it is at least
// 30 mm across.
func TestQRReadBackFromPage(t *testing.T) {
	for _, holder := range []string{
		"Amira Okafor",
		// A long name makes one of the largest QR codes.
		"Siobhán Ní Bhriain-Wójcik" + strings.Repeat(" Abcdefghij", 15),
	} {
		c := sample(t)
		c.HolderName = holder
		c.QR = signedQR(t, holder)
		png := raster(t, writePDF(t, c))
		got := scan(t, png)
		if got != c.QR {
			t.Fatalf("zbarimg read %q, want %q", got, c.QR)
		}
		s, err := credential.ParseQR(got)
		if err != nil || s.Payload.HolderName != holder {
			t.Fatalf("ParseQR of what zbarimg read: %+v, %v", s, err)
		}
		w, h := qrSide(t, png)
		if w < 30 || h < 30 || w-h > 0.5 || h-w > 0.5 {
			t.Errorf("QR code of %d characters is %.1f × %.1f mm; want a square at least 30 mm", len(c.QR), w, h)
		}
		t.Logf("QR code of %d characters: %.1f × %.1f mm, read back", len(c.QR), w, h)
	}
}

// Names outside Latin-1 still render: what Windows-1252 has is kept,
// letters it lacks lose their accents, and anything else becomes "?".
func TestNamesBeyondLatin1(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Zoë O’Neill", "Zoë O’Neill"},
		{"Zoe\u0308 Dvořák", "Zoë Dvorák"},         // decomposed ë; ř has no Windows-1252 form but r
		{"Michał Wiśniewski", "Micha? Wisniewski"}, // ł does not decompose
		{"李小龙", "???"},
		{"Алла Пугачёва", "???? ????????"},
		{"Sam \u202eevil\u202c 🙂 Lee", "Sam evil ? Lee"}, // bidi overrides go
		{"José\nGarcía\t Núñez", "José García Núñez"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			c := sample(t)
			c.HolderName = tc.name
			c.IssuerName = tc.name + " Trust"
			got := pdfText(t, writePDF(t, c))
			if !strings.Contains(got, tc.want+"\n") || !strings.Contains(got, tc.want+" Trust\n") {
				t.Errorf("want %q as the name and issuer; pdftotext read:\n%s", tc.want, got)
			}
		})
	}
}

// bboxDoc is what pdftotext -bbox writes: each word with its box in points.
type bboxDoc struct {
	Page struct {
		Words []bboxWord `xml:"word"`
	} `xml:"body>doc>page"`
}

type bboxWord struct {
	XMin float64 `xml:"xMin,attr"`
	YMin float64 `xml:"yMin,attr"`
	XMax float64 `xml:"xMax,attr"`
	YMax float64 `xml:"yMax,attr"`
	Text string  `xml:",chardata"`
}

func (w bboxWord) String() string {
	return fmt.Sprintf("%q at (%.1f, %.1f)–(%.1f, %.1f) mm", w.Text, w.XMin/mmToPt, w.YMin/mmToPt, w.XMax/mmToPt, w.YMax/mmToPt)
}

// Overlong fields are shortened with an ellipsis to fit: every word on the
// card lies inside the front or the back, below its band's heading, and no
// two words overlap.
func TestLongFieldsStayOnCard(t *testing.T) {
	long := func(word string, n int) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	c := sample(t)
	c.HolderName = long("Bartholomew-Featherstonehaugh", 6)
	c.Code = strings.Repeat("W", 60)
	c.IssuerName = long("Northshire Metropolitan Borough Council Carers Support Service", 3)
	c.SchemeName = long("Northshire", 12)
	c.Audience = long("Young adult carer", 8)
	c.VerifyURL = "https://verify.carepass.example/" + strings.Repeat("abcdefghij", 20)
	c.Helpline = long("0300 123 4567", 12)
	c.Benefits = nil
	for i := range 25 {
		c.Benefits = append(c.Benefits, fmt.Sprintf("Benefit %d: %s", i+1, long("discount", i%4*8+1)))
	}
	c.Benefits = append(c.Benefits, strings.Repeat("X", 300), "", "   ")
	file := writePDF(t, c)

	out := command(t, tool(t, "pdftotext", "poppler-utils"), "-bbox", "-enc", "UTF-8", file, "-")
	var doc bboxDoc
	dec := xml.NewDecoder(bytes.NewReader(out))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("reading pdftotext -bbox: %v\n%s", err, out)
	}
	const slack = 0.3 // points
	top := cardY * mmToPt
	var onCard []bboxWord
	for _, w := range doc.Page.Words {
		switch {
		case w.YMax <= top+slack: // above the card: the page's heading and instructions
			continue
		case w.YMin < top-slack:
			t.Errorf("%v straddles the card's top edge", w)
			continue
		}
		onCard = append(onCard, w)
		fits := false
		for _, side := range []float64{cardX, cardX + cardW} {
			left, right := side*mmToPt, (side+cardW)*mmToPt
			if w.XMin >= left+slack && w.XMax <= right-slack && w.YMax <= (cardY+cardH)*mmToPt-slack {
				fits = true
			}
		}
		if !fits {
			t.Errorf("%v is not inside the front or the back of the card", w)
		}
		// On the front, nothing comes near the QR code.
		if w.XMax > (cardX+qrLeft)*mmToPt && w.YMax > (cardY+bandH)*mmToPt+slack && w.YMin < (cardY+qrBottom)*mmToPt &&
			w.XMin < (cardX+cardW)*mmToPt {
			t.Errorf("%v is on the QR code", w)
		}
	}
	for i, a := range onCard {
		for _, b := range onCard[i+1:] {
			if a.XMin < b.XMax-slack && b.XMin < a.XMax-slack && a.YMin < b.YMax-slack && b.YMin < a.YMax-slack {
				t.Errorf("%v overlaps %v", a, b)
			}
		}
	}

	text := pdfText(t, file)
	if n := strings.Count(text, "…"); n < 7 {
		t.Errorf("%d ellipses; want one for each overlong field at least:\n%s", n, text)
	}
	// The benefits shown and "and N more" account for every non-empty one.
	shown := strings.Count(text, "•")
	m := regexp.MustCompile(`and (\d+) more`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no \"and N more\" for %d benefits:\n%s", len(c.Benefits), text)
	}
	more, _ := strconv.Atoi(m[1])
	if shown < 2 || shown+more != 26 {
		t.Errorf("%d benefits shown and %d more; want at least 2 and 26 in all:\n%s", shown, more, text)
	}
	for i := 1; i <= shown; i++ {
		if !strings.Contains(text, fmt.Sprintf("Benefit %d:", i)) {
			t.Errorf("benefit %d is not among the %d shown:\n%s", i, shown, text)
		}
	}
	for _, want := range []string{"Carer passport", "Key benefits", "Registered carer", "How to check this passport",
		"This card does not show any information about the person cared for."} {
		if !strings.Contains(text, want) {
			t.Errorf("%q is gone:\n%s", want, text)
		}
	}
	// Even shortened, the QR code still reads.
	if got := scan(t, raster(t, file)); got != c.QR {
		t.Errorf("zbarimg read %q, want %q", got, c.QR)
	}
}
