// Package walletcard renders a holder's carer passport as a printable wallet
// card: one A4 page carrying the front and the back of a bank-card-sized
// (ID-1, 85.6 × 54 mm) card side by side, to cut out along the dashed
// outline and fold along the dashed line between them.
//
// The front shows who holds the passport, under which scheme and issuer,
// until when, its QR code and its code; the back shows the key benefits, how
// to check the passport and the issuer's helpline. Nothing about the person
// cared for is ever on the card.
//
// The PDF uses the standard Helvetica fonts only (nothing is embedded but
// the QR code), so text is encoded as Windows-1252: a letter outside it is
// shown without its accent when it has one, or as "?". Text too long for its
// place is shortened with an ellipsis; it never leaves the card. The same
// Card always gives the same bytes.
package walletcard

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // valid-until dates are London dates even where the host has no zoneinfo

	"github.com/go-pdf/fpdf"

	"github.com/carepass/carepass/modules/credential"
)

// ErrCard is wrapped by the errors PDF returns for a Card it cannot render:
// a required field is empty, or the QR text does not start "CP1:" or is too
// long for a QR code.
var ErrCard = errors.New("invalid wallet card")

// Card is what a wallet card shows.
type Card struct {
	// HolderName is the holder's display name (required).
	HolderName string
	// Code is the passport's code, printed in groups of four, e.g.
	// "7K3M-Q9XA-2PDF-W8RT" (required).
	Code string
	// QR is the text of the passport's QR code, starting "CP1:" (required).
	QR string
	// IssuerName names the tenant that issued the passport (required).
	IssuerName string
	// SchemeName names the scheme the passport belongs to; may be empty.
	SchemeName string
	// Audience labels who the scheme is for, e.g. "Young carer"; may be
	// empty.
	Audience string
	// ValidUntil is the last moment the passport is valid, shown as its
	// date in Europe/London, e.g. "21 November 2027"; zero shows none.
	ValidUntil time.Time
	// Benefits are the key benefits, shown as a list: as many as fit, then
	// "and N more".
	Benefits []string
	// VerifyURL is where a verifier checks the passport with its code, e.g.
	// "https://carepass.example/verify"; may be empty.
	VerifyURL string
	// Helpline is the issuer's contact for the holder; may be empty.
	Helpline string
}

// Metadata of every card's PDF.
const (
	Title   = "Carer passport"
	Creator = "Carepass"
)

// london is where calendar dates are reckoned.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(fmt.Sprintf("walletcard: Europe/London: %v", err)) // embedded tzdata makes this unreachable
	}
	return loc
}()

// validate reports the first required field of c that is missing.
func (c Card) validate() error {
	for _, f := range []struct{ name, value string }{
		{"holder name", c.HolderName},
		{"code", c.Code},
		{"QR text", c.QR},
		{"issuer name", c.IssuerName},
	} {
		if strings.TrimSpace(f.value) == "" {
			return fmt.Errorf("%w: %s is empty", ErrCard, f.name)
		}
	}
	if !strings.HasPrefix(c.QR, credential.QRPrefix) {
		return fmt.Errorf("%w: QR text does not start %q", ErrCard, credential.QRPrefix)
	}
	return nil
}

// validUntil is the card's valid-until date as shown, or "" for none.
func (c Card) validUntil() string {
	if c.ValidUntil.IsZero() {
		return ""
	}
	return c.ValidUntil.In(london).Format("2 January 2006")
}

// PDF renders c as a one-page A4 PDF to print, cut out and fold. It fails
// with an error wrapping ErrCard when a required field is empty or the QR
// text is not a passport's QR payload or too long for a QR code.
func PDF(c Card) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	qr, err := newQRImage(c.QR)
	if err != nil {
		return nil, err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(Title, false)
	pdf.SetCreator(Creator, false)
	pdf.SetLang("en-GB")
	pdf.SetCatalogSort(true)
	// fpdf writes a creation and a modification date (the time of the call
	// unless set); these fixed ones are blanked out below, so the document
	// carries none and the same card always gives the same bytes.
	pdf.SetCreationDate(placeholderDate)
	pdf.SetModificationDate(placeholderDate)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetCellMargin(0)
	pdf.AddPage()

	d := &doc{pdf: pdf, enc: newEncoder(pdf)}
	d.page(c, qr)

	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("walletcard: writing PDF: %w", err)
	}
	out := b.Bytes()
	for _, key := range []string{"/CreationDate ", "/ModDate "} {
		if err := blankEntry(out, key+pdfDate(placeholderDate)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// placeholderDate is the date fpdf is given, to be blanked out.
var placeholderDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// pdfDate is how fpdf writes t in the document information dictionary.
func pdfDate(t time.Time) string { return "(D:" + t.Format("20060102150405") + ")" }

// blankEntry overwrites the one occurrence of entry in the document
// information dictionary with spaces, which keeps every byte offset of the
// cross-reference table right.
func blankEntry(pdf []byte, entry string) error {
	i := bytes.Index(pdf, []byte(entry))
	if i < 0 || bytes.Contains(pdf[i+1:], []byte(entry)) {
		return fmt.Errorf("walletcard: expected one %q in the PDF", entry)
	}
	for j := i; j < i+len(entry); j++ {
		pdf[j] = ' '
	}
	return nil
}
