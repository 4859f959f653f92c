package verify_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/credential/verify"
)

// files writes the fixture's key set and status list to a directory.
func (f *fixture) files(t *testing.T) (keys, status string) {
	t.Helper()
	dir := t.TempDir()
	keys, status = filepath.Join(dir, "keys.json"), filepath.Join(dir, "status.json")
	data, err := json.Marshal(f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, data, 0o600); err != nil {
		t.Fatal(err)
	}
	doc, err := credential.NewStatusListDocument("acme", f.list, t0)
	if err != nil {
		t.Fatal(err)
	}
	data, err = json.Marshal([]credential.StatusListDocument{doc})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(status, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return keys, status
}

func run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = verify.Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestMain_(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	keys, status := f.files(t)
	at := "--at=2026-06-01T12:00:00Z"
	dir := t.TempDir()
	pngFile := filepath.Join(dir, "qr.png")
	pngData, err := credential.QRPNG(qr, 400)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pngFile, pngData, 0o600); err != nil {
		t.Fatal(err)
	}
	textFile := filepath.Join(dir, "qr.txt")
	if err := os.WriteFile(textFile, []byte(qr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var blank bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	_ = png.Encode(&blank, img)
	blankFile := filepath.Join(dir, "blank.png")
	if err := os.WriteFile(blankFile, blank.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	corruptPNG := filepath.Join(dir, "corrupt.png")
	if err := os.WriteFile(corruptPNG, pngData[:60], 0o600); err != nil {
		t.Fatal(err)
	}

	validOut := "valid\nholder: Amira Okafor\nscheme: Parent carer passport\nissuer: acme\nvalid until: 2027-03-01T09:00:00Z\n"
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		"payload argument":      {"", []string{"--keys", keys, "--status", status, at, qr}, 0, validOut},
		"flags after payload":   {"", []string{qr, "--keys", keys, "--status", status, at}, 0, validOut},
		"payload on stdin":      {qr + "\n", []string{"--keys", keys, "--status", status, at}, 0, validOut},
		"dash for stdin":        {qr, []string{"--keys", keys, "--status", status, at, "-"}, 0, validOut},
		"text file":             {"", []string{"--keys", keys, "--status", status, at, textFile}, 0, validOut},
		"PNG file":              {"", []string{"--keys", keys, "--status", status, at, pngFile}, 0, validOut},
		"PNG on stdin":          {string(pngData), []string{"--keys", keys, "--status", status, at}, 0, validOut},
		"expired":               {"", []string{"--keys", keys, "--status", status, "--at=2028-01-01T00:00:00Z", qr}, 1, "invalid: expired\n"},
		"not yet valid":         {"", []string{"--keys", keys, "--status", status, "--at=2025-01-01T00:00:00Z", qr}, 1, "invalid: not_yet_valid\n"},
		"garbage on stdin":      {"hello", []string{"--keys", keys, "--status", status}, 1, "invalid: malformed\n"},
		"truncated payload":     {"", []string{"--keys", keys, "--status", status, qr[:40]}, 1, "invalid: malformed\n"},
		"PNG without a QR code": {"", []string{"--keys", keys, "--status", status, blankFile}, 1, "invalid: malformed\n"},
		"corrupt PNG":           {"", []string{"--keys", keys, "--status", status, corruptPNG}, 1, "invalid: malformed\n"},
		"oversized stdin":       {strings.Repeat("A", 17<<20), []string{"--keys", keys, "--status", status}, 1, "invalid: malformed\n"},
		"no --keys":             {"", []string{"--status", status, qr}, 2, ""},
		"no --status":           {"", []string{"--keys", keys, qr}, 2, ""},
		"missing key file":      {"", []string{"--keys", keys + ".missing", "--status", status, qr}, 2, ""},
		"key set is not JSON":   {"", []string{"--keys", textFile, "--status", status, qr}, 2, ""},
		"status is not JSON":    {"", []string{"--keys", keys, "--status", textFile, qr}, 2, ""},
		"same status twice":     {"", []string{"--keys", keys, "--status", status, "--status", status, qr}, 2, ""},
		"missing credential":    {"", []string{"--keys", keys, "--status", status, filepath.Join(dir, "none")}, 2, ""},
		"two credentials":       {"", []string{"--keys", keys, "--status", status, qr, qr}, 2, ""},
		"bad --at":              {"", []string{"--keys", keys, "--status", status, "--at", "tomorrow", qr}, 2, ""},
		"unknown flag":          {"", []string{"--keys", keys, "--status", status, "--colour", qr}, 2, ""},
		"help":                  {"", []string{"-h"}, 2, ""},
	} {
		code, out, errOut := run(tc.stdin, tc.args...)
		if code != tc.code || out != tc.out {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q", name, code, out, errOut, tc.code, tc.out)
		}
	}

	// Revoked, once the issuer publishes it.
	if err := f.list.SetRevoked(f.payload.StatusIndex, true); err != nil {
		t.Fatal(err)
	}
	keys, status = f.files(t)
	code, out, errOut := run("", "--keys", keys, "--status", status, at, pngFile)
	if code != 1 || out != "invalid: revoked\n" || !strings.Contains(errOut, "detail: revoked") {
		t.Errorf("revoked: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The PNG reader survives images that are not QR codes at all.
func TestDecodePNGNoise(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 300, 300))
	for y := range 300 {
		for x := range 300 {
			if (x*7+y*13)%11 < 5 {
				img.Set(x, y, color.Black)
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	if text, err := verify.DecodePNG(b.Bytes()); err == nil {
		t.Logf("noise decoded as %q", text)
	}
	// A PNG header that claims an enormous image.
	ihdr := []byte("IHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x00\x00\x00\x00")
	huge := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"), ihdr...)
	huge = binary.BigEndian.AppendUint32(huge, crc32.ChecksumIEEE(ihdr))
	if _, err := verify.DecodePNG(huge); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("a 65536×65536 PNG: %v", err)
	}
}

// A QR code that is not the whole image, on a grey background, is found
// too (as in a photograph or a screenshot).
func TestDecodePNGEmbedded(t *testing.T) {
	f := newFixture(t)
	qr := f.sign(t, f.payload, f.key)
	code, err := credential.QRPNG(qr, 360)
	if err != nil {
		t.Fatal(err)
	}
	small, err := png.Decode(bytes.NewReader(code))
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewGray(image.Rect(0, 0, 900, 700))
	for i := range canvas.Pix {
		canvas.Pix[i] = 0xc8
	}
	for y := range 360 {
		for x := range 360 {
			canvas.Set(x+137, y+91, small.At(x, y))
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, canvas); err != nil {
		t.Fatal(err)
	}
	got, err := verify.DecodePNG(b.Bytes())
	if err != nil || got != qr {
		t.Fatalf("DecodePNG = %q, %v", got, err)
	}
}
