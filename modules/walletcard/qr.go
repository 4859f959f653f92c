package walletcard

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"github.com/carepass/carepass/modules/credential"
)

const (
	// qrCodeMM is the printed side of the QR code's modules, quiet zone
	// not included: large enough for a phone to read a long payload.
	qrCodeMM = 31.0
	// qrImagePixels is the side of the QR code's PNG: a whole number of
	// pixels per module (9 for a typical passport's code, 3 for the
	// largest), which PDF viewers and printers scale up without blurring.
	qrImagePixels = 600
)

// qrImage is a QR code's PNG and where its modules lie in it.
type qrImage struct {
	png []byte
	// size is the PNG's side, and offset and side the square of its
	// modules, in pixels; the rest is quiet zone.
	size, offset, side int
}

// newQRImage renders text as a QR code with credential.QRPNG and finds its
// modules: the top-left finder pattern's corner is the first dark pixel on
// the diagonal, and the top-right one's the last dark pixel of that row.
func newQRImage(text string) (qrImage, error) {
	b, err := credential.QRPNG(text, qrImagePixels)
	if err != nil {
		return qrImage{}, fmt.Errorf("%w: %w", ErrCard, err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return qrImage{}, fmt.Errorf("walletcard: reading QR code: %w", err)
	}
	size := img.Bounds().Dx()
	for i := range size / 2 {
		if !isDark(img, i, i) {
			continue
		}
		// The top-right finder pattern ends the modules' first row.
		for x := size - 1; x > i; x-- {
			if isDark(img, x, i) {
				return qrImage{png: b, size: size, offset: i, side: x - i + 1}, nil
			}
		}
	}
	return qrImage{}, fmt.Errorf("walletcard: QR code image has no modules")
}

// isDark reports whether the pixel at x, y is dark.
func isDark(img image.Image, x, y int) bool {
	r, _, _, _ := img.At(x, y).RGBA()
	return r < 0x8000
}

// placeQR draws the QR code's modules as a qrCodeMM square with its top-left
// corner at x, y, the quiet zone around them clipped to at most margin.
func (d *doc) placeQR(q qrImage, x, y, margin float64) {
	mmPerPixel := qrCodeMM / float64(q.side)
	quiet := float64(q.offset) * mmPerPixel
	side := float64(q.size) * mmPerPixel
	d.pdf.RegisterImageOptionsReader("qr", fpdfPNG, bytes.NewReader(q.png))
	d.pdf.ClipRect(x-margin, y-margin, qrCodeMM+2*margin, qrCodeMM+2*margin, false)
	d.pdf.ImageOptions("qr", x-quiet, y-quiet, side, side, false, fpdfPNG, 0, "")
	d.pdf.ClipEnd()
}
