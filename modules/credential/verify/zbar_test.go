package verify_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/credential/verify"
)

// zbarimg returns the path of ZBar's image scanner (Debian's zbar-tools),
// the independent decoder the QR tests read images back with. Under CI it
// must be there (scripts/deps.sh installs it); elsewhere the test skips.
func zbarimg(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("zbarimg")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("zbarimg is missing; scripts/deps.sh installs it (Debian package zbar-tools)")
	}
	t.Skip("zbarimg is missing: run scripts/deps.sh or apt-get install zbar-tools to read QR codes back")
	return ""
}

// scan reads the single QR code in a PNG file with zbarimg.
func scan(t *testing.T, bin, file string) string {
	t.Helper()
	cmd := exec.Command(bin, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("zbarimg %s: %v: %s", file, err, errb.String())
	}
	return strings.TrimRight(out.String(), "\n")
}

// svgToPNG rasterises the SVG that QRSVG writes, at scale pixels a module.
func svgToPNG(t *testing.T, svg string, scale int) []byte {
	t.Helper()
	view := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	path := regexp.MustCompile(` d="([^"]*)"`).FindStringSubmatch(svg)
	if view == nil || path == nil {
		t.Fatalf("unexpected SVG: %.200s", svg)
	}
	n, _ := strconv.Atoi(view[1])
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(path[1], -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+w)*scale; px++ {
				img.Set(px, py, color.Black)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// QR codes rendered as PNG (and SVG, rasterised) are read back by an
// independent decoder, and what it reads verifies, by the package and by
// the command.
func TestQRImagesReadByZbar(t *testing.T) {
	bin := zbarimg(t)
	f := newFixture(t)
	keys, status := f.files(t)
	dir := t.TempDir()
	now := t0.Add(time.Hour)
	// The last name barely compresses, so its QR code is among the largest.
	var long strings.Builder
	r := rand.New(rand.NewPCG(3, 5))
	for range credential.MaxNameLength {
		long.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[r.IntN(52)])
	}
	names := []string{"Jo Li", "Amira Okafor", "Siobhán Ní Bhriain-Wójcik", long.String()}
	for i, name := range names {
		p := f.payload
		p.HolderName = name
		qr := f.sign(t, p, f.key)
		images := map[string][]byte{}
		for _, size := range []int{300, 640} {
			b, err := credential.QRPNG(qr, size)
			if err != nil {
				t.Fatalf("QRPNG(%d chars, %d): %v", len(qr), size, err)
			}
			images["png-"+strconv.Itoa(size)] = b
		}
		svg, err := credential.QRSVG(qr)
		if err != nil {
			t.Fatal(err)
		}
		images["svg"] = svgToPNG(t, svg, 6)
		for kind, b := range images {
			file := filepath.Join(dir, strconv.Itoa(i)+"-"+kind+".png")
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			got := scan(t, bin, file)
			if got != qr {
				t.Fatalf("%s of %q: zbarimg read %q, want %q", kind, name, got, qr)
			}
			res, err := verify.Verify(got, f.keys, f.status, now)
			if err != nil || res.Payload.HolderName != name {
				t.Fatalf("%s of %q: %+v, %v", kind, name, res, err)
			}
			code, out, errOut := run("", "--keys", keys, "--status", status, "--at", now.Format(time.RFC3339), file)
			if code != 0 || !strings.Contains(out, "holder: "+name+"\n") {
				t.Fatalf("carepass verify %s of %q: exit %d, %q, %q", kind, name, code, out, errOut)
			}
		}
		t.Logf("%q: %d characters, read back from PNG and SVG", name, len(qr))
	}
}
