package credential_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/carepass/carepass/modules/credential"
)

func TestStatusListSetClearEncode(t *testing.T) {
	l, err := credential.NewStatusList(credential.MinStatusListSize)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 131072 {
		t.Fatalf("Len = %d", l.Len())
	}
	for _, i := range []int{0, 7, 8, 1000, 131071} {
		if err := l.SetRevoked(i, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SetRevoked(1000, false); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{-1, 131072} {
		if err := l.SetRevoked(i, true); !errors.Is(err, credential.ErrStatusList) {
			t.Errorf("SetRevoked(%d): %v", i, err)
		}
		if _, err := l.Revoked(i); !errors.Is(err, credential.ErrStatusList) {
			t.Errorf("Revoked(%d): %v", i, err)
		}
	}
	enc, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if enc[0] != 'u' {
		t.Fatalf("encoded list %q lacks the multibase prefix", enc[:8])
	}
	// The encoding is GZIP of the bitstring, index 0 the most significant
	// bit of the first byte (W3C Bitstring Status List).
	z, err := base64.RawURLEncoding.DecodeString(enc[1:])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	bits := raw.Bytes()
	if len(bits) != 16384 || bits[0] != 0x81 || bits[1] != 0x80 || bits[125] != 0 || bits[16383] != 0x01 {
		t.Fatalf("bitstring: %d bytes, first %x %x, last %x", len(bits), bits[0], bits[1], bits[16383])
	}
	if len(enc) > 200 {
		t.Errorf("a nearly empty list encodes to %d characters; compression is not working", len(enc))
	}

	doc, err := credential.NewStatusListDocument("acme", l, t0)
	if err != nil {
		t.Fatal(err)
	}
	if doc.MaxAge != int(credential.StatusListMaxAge.Seconds()) || doc.Purpose != "revocation" {
		t.Fatalf("document: %+v", doc)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := credential.ParseStatusLists(data)
	if err != nil {
		t.Fatal(err)
	}
	got := lists["acme"]
	for i, want := range map[int]bool{0: true, 1: false, 7: true, 8: true, 1000: false, 131071: true, 131070: false} {
		if r, err := got.Revoked(i); err != nil || r != want {
			t.Errorf("decoded Revoked(%d) = %v, %v; want %v", i, r, err, want)
		}
	}
	// An array of documents; a second list for one issuer is refused.
	arr, _ := json.Marshal([]credential.StatusListDocument{doc})
	if _, err := credential.ParseStatusLists(arr); err != nil {
		t.Fatal(err)
	}
	arr, _ = json.Marshal([]credential.StatusListDocument{doc, doc})
	if _, err := credential.ParseStatusLists(arr); !errors.Is(err, credential.ErrStatusList) {
		t.Fatalf("two lists for one issuer: %v", err)
	}
}

func gzipB64(t *testing.T, b []byte) string {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return "u" + base64.RawURLEncoding.EncodeToString(z.Bytes())
}

func TestDecodeStatusListRejects(t *testing.T) {
	for name, enc := range map[string]string{
		"empty":          "",
		"no prefix":      "H4sI",
		"bad base64":     "u!!!",
		"not gzip":       "u" + base64.RawURLEncoding.EncodeToString([]byte("hello")),
		"too small":      gzipB64(t, make([]byte, 1024)),
		"not whole byte": gzipB64(t, make([]byte, 16384))[:40],
		"bomb":           gzipB64(t, make([]byte, credential.MaxStatusListSize/8+8)),
	} {
		if _, err := credential.DecodeStatusList(enc); !errors.Is(err, credential.ErrStatusList) {
			t.Errorf("%s: DecodeStatusList error = %v, want ErrStatusList", name, err)
		}
	}
	if _, err := credential.NewStatusList(1000); !errors.Is(err, credential.ErrStatusList) {
		t.Errorf("NewStatusList(1000): %v", err)
	}
	doc := credential.StatusListDocument{Issuer: "acme", Purpose: "revocation", Size: 8, EncodedList: gzipB64(t, make([]byte, 16384))}
	if _, err := doc.List(); !errors.Is(err, credential.ErrStatusList) {
		t.Errorf("document size mismatch: %v", err)
	}
	doc.Size, doc.Purpose = 131072, "suspension"
	if _, err := doc.List(); !errors.Is(err, credential.ErrStatusList) {
		t.Errorf("document with another purpose: %v", err)
	}
}

func TestAllocator(t *testing.T) {
	const size = credential.MinStatusListSize
	a, err := credential.NewAllocator(size, []int{5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if a.Free() != size-2 {
		t.Fatalf("Free = %d", a.Free())
	}
	seen := map[int]bool{5: true, 6: true}
	low := 0
	const n = 2000
	for range n {
		i, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if i < 0 || i >= size || seen[i] {
			t.Fatalf("Allocate gave %d twice or out of range", i)
		}
		seen[i] = true
		if i < size/2 {
			low++
		}
	}
	// Random positions fall in the lower half about half the time (a
	// sequential allocator would put all of them there).
	if low < n*4/10 || low > n*6/10 {
		t.Fatalf("%d of %d positions in the lower half; not random", low, n)
	}
	if _, err := credential.NewAllocator(size, []int{size}); !errors.Is(err, credential.ErrStatusList) {
		t.Fatalf("used index out of range: %v", err)
	}
}

func TestAllocatorFillsUp(t *testing.T) {
	const size = credential.MinStatusListSize
	used := make([]int, 0, size)
	for i := range size {
		if i%1000 != 0 {
			used = append(used, i)
		}
	}
	a, err := credential.NewAllocator(size, used)
	if err != nil {
		t.Fatal(err)
	}
	free := a.Free()
	got := map[int]bool{}
	for range free {
		i, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if i%1000 != 0 || got[i] {
			t.Fatalf("Allocate gave used position %d", i)
		}
		got[i] = true
	}
	if _, err := a.Allocate(); !errors.Is(err, credential.ErrStatusListFull) {
		t.Fatalf("Allocate on a full list: %v", err)
	}
}
