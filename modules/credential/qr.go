package credential

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

const (
	// qrQuietZone is the white margin around a QR code, in modules, that
	// ISO/IEC 18004 requires.
	qrQuietZone = 4
	// MaxQRImageSize bounds the side of a PNG from QRPNG, in pixels.
	MaxQRImageSize = 4096
)

// ErrQR is wrapped by errors rendering a QR code.
var ErrQR = errors.New("cannot render QR code")

// qrAlphanumeric is the character set of the QR alphanumeric mode, which is
// also the Base45 alphabet.
const qrAlphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// qrModules encodes text as a QR code at error correction level Q, in
// alphanumeric mode when every character allows it (as QR payloads do).
func qrModules(text string) (barcode.Barcode, error) {
	if text == "" {
		return nil, fmt.Errorf("%w: empty text", ErrQR)
	}
	mode := qr.Auto
	if strings.Trim(text, qrAlphanumeric) == "" {
		mode = qr.AlphaNumeric
	}
	code, err := qr.Encode(text, qr.Q, mode)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQR, err)
	}
	return code, nil
}

// dark reports whether the module at x, y is dark.
func dark(code barcode.Barcode, x, y int) bool {
	r, _, _, _ := code.At(x, y).RGBA()
	return r < 0x8000
}

// QRPNG renders text as a QR code in a size×size PNG: black modules of a
// whole number of pixels each on white, centred, with at least the four-
// module quiet zone. It fails when size is too small to give each module a
// pixel, or larger than MaxQRImageSize.
func QRPNG(text string, size int) ([]byte, error) {
	code, err := qrModules(text)
	if err != nil {
		return nil, err
	}
	dim := code.Bounds().Dx()
	total := dim + 2*qrQuietZone
	if size < total || size > MaxQRImageSize {
		return nil, fmt.Errorf("%w: size %d px; this code needs %d to %d", ErrQR, size, total, MaxQRImageSize)
	}
	scale := size / total
	offset := (size - dim*scale) / 2
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y := range dim {
		for x := range dim {
			if !dark(code, x, y) {
				continue
			}
			for dy := range scale {
				row := img.Pix[(offset+y*scale+dy)*img.Stride:]
				for dx := range scale {
					row[offset+x*scale+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQR, err)
	}
	return b.Bytes(), nil
}

// QRSVG renders text as a QR code in a scalable SVG document, one unit per
// module with the four-module quiet zone, black on white.
func QRSVG(text string) (string, error) {
	code, err := qrModules(text)
	if err != nil {
		return "", err
	}
	dim := code.Bounds().Dx()
	total := dim + 2*qrQuietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code">`, total, total)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, total, total)
	for y := range dim {
		for x := 0; x < dim; {
			if !dark(code, x, y) {
				x++
				continue
			}
			run := 1
			for x+run < dim && dark(code, x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+qrQuietZone, y+qrQuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
