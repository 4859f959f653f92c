package verify

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// maxImagePixels bounds the PNG a verifier decodes, before it allocates.
const maxImagePixels = 25_000_000

// pngMagic starts every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// ErrNoQRCode is wrapped when a PNG holds no readable QR code.
var ErrNoQRCode = errors.New("no QR code found in the image")

// isPNG reports whether b starts like a PNG file.
func isPNG(b []byte) bool { return bytes.HasPrefix(b, pngMagic) }

// DecodePNG returns the text of the QR code in a PNG image, read with the
// pure-Go ZXing port.
func DecodePNG(data []byte) (string, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("reading PNG: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxImagePixels/cfg.Height {
		return "", fmt.Errorf("PNG of %d×%d pixels is too large", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("reading PNG: %w", err)
	}
	return decodeImage(img)
}

// decodeAttempts are the ways decodeImage tries to read a QR code, in
// order: as a clean rendered image, then as a photograph with each of the
// library's binarisers.
var decodeAttempts = []struct {
	hint   gozxing.DecodeHintType
	global bool
}{
	{gozxing.DecodeHintType_PURE_BARCODE, false},
	{gozxing.DecodeHintType_TRY_HARDER, false},
	{gozxing.DecodeHintType_TRY_HARDER, true},
}

// decodeImage finds a QR code in img.
func decodeImage(img image.Image) (string, error) {
	var last error
	for _, a := range decodeAttempts {
		text, err := decodeWith(img, a.hint, a.global)
		if err == nil {
			return text, nil
		}
		last = err
	}
	return "", fmt.Errorf("%w: %w", ErrNoQRCode, last)
}

// decodeWith makes one attempt. A fault inside the decoder library is
// reported as an error rather than allowed to crash the verifier.
func decodeWith(img image.Image, hint gozxing.DecodeHintType, global bool) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("decoder failed: %v", r)
		}
	}()
	src := gozxing.NewLuminanceSourceFromImage(img)
	var bin gozxing.Binarizer
	if global {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		bin = gozxing.NewHybridBinarizer(src)
	}
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{hint: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}
