package walletcard_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/walletcard"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// signedQR returns a real passport QR payload for holder, signed with a
// new key.
func signedQR(t testing.TB, holder string) string {
	t.Helper()
	key, err := credential.GenerateSigningKey("northshire-carers", t0)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := credential.Sign(credential.Payload{
		HolderName:   holder,
		Scheme:       "Northshire Carer Passport",
		ValidFrom:    t0,
		ValidUntil:   time.Date(2027, 11, 21, 23, 59, 59, 0, time.UTC),
		StatusIndex:  4711,
		CredentialID: uuid.Must(uuid.NewV7()),
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return qr
}

// sample is a complete card with a real QR payload.
func sample(t testing.TB) walletcard.Card {
	t.Helper()
	return walletcard.Card{
		HolderName: "Amira Okafor",
		Code:       "7K3M-Q9XA-2PDF-W8RT",
		QR:         signedQR(t, "Amira Okafor"),
		IssuerName: "Northshire Carers Centre",
		SchemeName: "Northshire Carer Passport",
		Audience:   "Young carer",
		// Just before midnight UTC in British Summer Time is already the
		// next day in London.
		ValidUntil: time.Date(2027, 8, 20, 23, 30, 0, 0, time.UTC),
		Benefits: []string{
			"Free parking at Northshire hospitals",
			"10% off at Northshire leisure centres",
			"Carers’ café every Tuesday",
		},
		VerifyURL: "https://carepass.example/verify",
		Helpline:  "0300 123 4567",
	}
}

func render(t testing.TB, c walletcard.Card) []byte {
	t.Helper()
	b, err := walletcard.PDF(c)
	if err != nil {
		t.Fatalf("PDF: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("%%EOF")) {
		t.Fatalf("not a PDF: %.40q … %q", b, b[max(0, len(b)-20):])
	}
	return b
}

func TestSameCardSameBytes(t *testing.T) {
	c := sample(t)
	a := render(t, c)
	time.Sleep(1100 * time.Millisecond) // a clock-stamped date would differ now
	b := render(t, c)
	if !bytes.Equal(a, b) {
		t.Fatalf("two renderings of one card differ (%d and %d bytes)", len(a), len(b))
	}
	if bytes.Contains(a, []byte("/CreationDate")) || bytes.Contains(a, []byte("/ModDate")) {
		t.Error("the PDF carries a date")
	}
	// Any change of input changes the output.
	c.HolderName = "Amira Okafor-Bello"
	if bytes.Equal(a, render(t, c)) {
		t.Error("a different holder name gave the same bytes")
	}
}

// Cards render concurrently, as a server renders them, to the same bytes.
func TestConcurrentRenders(t *testing.T) {
	c := sample(t)
	want := render(t, c)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			b, err := walletcard.PDF(c)
			if err == nil && !bytes.Equal(b, want) {
				err = errors.New("a concurrent rendering differs")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRejectsIncompleteCard(t *testing.T) {
	for name, change := range map[string]func(*walletcard.Card){
		"no holder name":          func(c *walletcard.Card) { c.HolderName = "" },
		"blank holder name":       func(c *walletcard.Card) { c.HolderName = " \t\n" },
		"no code":                 func(c *walletcard.Card) { c.Code = "" },
		"no QR text":              func(c *walletcard.Card) { c.QR = "" },
		"no issuer":               func(c *walletcard.Card) { c.IssuerName = "  " },
		"QR text of another kind": func(c *walletcard.Card) { c.QR = "https://carepass.example/verify/7K3M" },
		"QR text too long":        func(c *walletcard.Card) { c.QR = credential.QRPrefix + strings.Repeat("A", 5000) },
	} {
		t.Run(name, func(t *testing.T) {
			c := sample(t)
			change(&c)
			b, err := walletcard.PDF(c)
			if !errors.Is(err, walletcard.ErrCard) {
				t.Fatalf("PDF = %d bytes, %v; want an error wrapping ErrCard", len(b), err)
			}
			if b != nil {
				t.Errorf("PDF returned %d bytes with its error", len(b))
			}
		})
	}
}

// The optional fields may all be empty.
func TestOptionalFieldsMayBeEmpty(t *testing.T) {
	c := sample(t)
	c.SchemeName, c.Audience, c.VerifyURL, c.Helpline = "", "", "", ""
	c.ValidUntil = time.Time{}
	c.Benefits = nil
	render(t, c)
}

func BenchmarkPDF(b *testing.B) {
	c := sample(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := walletcard.PDF(c); err != nil {
			b.Fatal(err)
		}
	}
}
