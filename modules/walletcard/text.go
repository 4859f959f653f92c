package walletcard

import (
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"
)

const (
	// ellipsis ends shortened text (Windows-1252).
	ellipsis = "\x85"
	// maxTextBytes bounds the text of one field before it is fitted: no
	// more fits on the card, and fitting costs time with the length.
	maxTextBytes = 400
)

// encoder turns UTF-8 text into the Windows-1252 bytes the standard PDF
// fonts show.
type encoder struct {
	// tr is the PDF library's translator, which gives "." for a rune the
	// code page lacks.
	tr func(string) string
}

func newEncoder(pdf *fpdf.Fpdf) *encoder {
	return &encoder{tr: pdf.UnicodeTranslatorFromDescriptor("cp1252")}
}

// clean puts s in composed form (NFC) on one line: runs of white space
// become one space, control and invisible format characters (bidi marks,
// zero-width joiners, soft hyphens) go, and the ends are trimmed.
func clean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFC.String(s) {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// encode returns s cleaned and in Windows-1252: a letter the code page
// lacks is shown without its accents when that letter is there ("ś" as
// "s"), and anything else it lacks as "?". The result is at most
// maxTextBytes long.
func (e *encoder) encode(s string) string {
	var b strings.Builder
	for _, r := range clean(s) {
		if b.Len() >= maxTextBytes {
			break
		}
		if c, ok := e.rune(r); ok {
			b.WriteString(c)
			continue
		}
		if c, ok := e.base(r); ok {
			b.WriteString(c)
			continue
		}
		b.WriteByte('?')
	}
	return b.String()
}

// rune encodes r when the code page has it.
func (e *encoder) rune(r rune) (string, bool) {
	if r < 0x80 {
		return string(r), true
	}
	if r == unicode.ReplacementChar {
		return "", false
	}
	c := e.tr(string(r))
	return c, len(c) == 1 && c != "."
}

// base encodes the letter of r without its accents: r decomposes (NFD) into
// a letter the code page has and combining marks only.
func (e *encoder) base(r rune) (string, bool) {
	d := []rune(norm.NFD.String(string(r)))
	if len(d) < 2 || !unicode.IsLetter(d[0]) {
		return "", false
	}
	for _, m := range d[1:] {
		if !unicode.Is(unicode.Mn, m) {
			return "", false
		}
	}
	return e.rune(d[0])
}

// font is a style ("", "B", "I") and size in points of Helvetica.
type font struct {
	style string
	size  float64
}

// use makes f the current font.
func (d *doc) use(f font) { d.pdf.SetFont("Helvetica", f.style, f.size) }

// width is the width of encoded text s in the current font, in mm.
func (d *doc) width(s string) float64 { return d.pdf.GetStringWidth(s) }

// fit returns encoded text s, shortened with an ellipsis when it is wider
// than w in the current font.
func (d *doc) fit(s string, w float64) string {
	if d.width(s) <= w {
		return s
	}
	return d.shorten(s, w)
}

// shorten returns the longest start of encoded text s that, with an
// ellipsis after it, is no wider than w in the current font.
func (d *doc) shorten(s string, w float64) string {
	for n := len(s); n > 0; n-- {
		t := strings.TrimRight(s[:n], " ") + ellipsis
		if d.width(t) <= w {
			return t
		}
	}
	if d.width(ellipsis) <= w {
		return ellipsis
	}
	return ""
}

// wrap breaks encoded text s into lines no wider than w in the current
// font, at spaces, or within a word too long for a line after a hyphen if
// it can, and at most maxLines of them: the last one shortened with an
// ellipsis when the text goes on.
func (d *doc) wrap(s string, w float64, maxLines int) []string {
	var lines []string
	var inWord []bool // whether a line goes on with the word the one before it ends in
	add := func(l string, continues bool) {
		lines = append(lines, l)
		inWord = append(inWord, continues)
	}
	cur, curInWord := "", false
	for _, word := range strings.Split(s, " ") {
		if word == "" {
			continue
		}
		if cur != "" {
			if d.width(cur+" "+word) <= w {
				cur += " " + word
				continue
			}
			add(cur, curInWord)
			cur = ""
		}
		continues := false
		for d.width(word) > w {
			n := len(word) - 1
			for n > 1 && d.width(word[:n]) > w {
				n--
			}
			if h := strings.LastIndexByte(word[:n], '-'); h > 0 {
				n = h + 1 // after a hyphen rather than within a part
			}
			add(word[:n], continues)
			word, continues = word[n:], true
		}
		cur, curInWord = word, continues
		if len(lines) > maxLines {
			break
		}
	}
	if cur != "" {
		add(cur, curInWord)
	}
	if len(lines) > maxLines {
		// The last line shows as much of the rest as fits, and an ellipsis.
		sep := " "
		if inWord[maxLines] {
			sep = ""
		}
		lines = append(lines[:maxLines-1], d.shorten(lines[maxLines-1]+sep+lines[maxLines], w))
	}
	return lines
}
