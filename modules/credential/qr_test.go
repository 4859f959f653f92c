package credential_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"strings"
	"testing"

	"github.com/carepass/carepass/modules/credential"
)

func TestQRPNG(t *testing.T) {
	qr, err := credential.Sign(samplePayload(), newKey(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{200, 301, 512} {
		b, err := credential.QRPNG(qr, size)
		if err != nil {
			t.Fatalf("QRPNG(%d): %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != size || img.Bounds().Dy() != size {
			t.Fatalf("image is %v, want %d square", img.Bounds(), size)
		}
		// The corners are quiet zone: white.
		if r, _, _, _ := img.At(0, 0).RGBA(); r != 0xffff {
			t.Fatalf("corner is not white")
		}
	}
	for _, size := range []int{10, credential.MaxQRImageSize + 1} {
		if _, err := credential.QRPNG(qr, size); !errors.Is(err, credential.ErrQR) {
			t.Errorf("QRPNG(%d): %v, want ErrQR", size, err)
		}
	}
	if _, err := credential.QRPNG("", 200); !errors.Is(err, credential.ErrQR) {
		t.Errorf("QRPNG of empty text: %v", err)
	}
	if _, err := credential.QRPNG(strings.Repeat("A", 5000), 4000); !errors.Is(err, credential.ErrQR) {
		t.Errorf("QRPNG of text too long for any QR code: %v", err)
	}
}

func TestQRSVG(t *testing.T) {
	qr, err := credential.Sign(samplePayload(), newKey(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	svg, err := credential.QRSVG(qr)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	if doc.XMLName.Local != "svg" || !strings.HasPrefix(doc.ViewBox, "0 0 ") || !strings.HasPrefix(doc.Path.D, "M") {
		t.Fatalf("SVG: %.200s", svg)
	}
	if _, err := credential.QRSVG(""); !errors.Is(err, credential.ErrQR) {
		t.Errorf("QRSVG of empty text: %v", err)
	}
}
