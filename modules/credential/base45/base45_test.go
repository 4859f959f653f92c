package base45_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/carepass/carepass/modules/credential/base45"
)

// The examples of RFC 9285, section 4.
func TestRFCExamples(t *testing.T) {
	cases := []struct{ raw, enc string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
		{"\x00", "00"},
		{"\xff\xff", "FGW"},
	}
	for _, c := range cases {
		if got := base45.Encode([]byte(c.raw)); got != c.enc {
			t.Errorf("Encode(%q) = %q, want %q", c.raw, got, c.enc)
		}
		got, err := base45.Decode(c.enc)
		if err != nil || string(got) != c.raw {
			t.Errorf("Decode(%q) = %q, %v; want %q", c.enc, got, err, c.raw)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		s := base45.Encode(b)
		if len(s) != base45.EncodedLen(n) {
			t.Fatalf("len(Encode(%d bytes)) = %d, want %d", n, len(s), base45.EncodedLen(n))
		}
		got, err := base45.Decode(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %x: %x, %v", b, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, s := range []string{
		"GGW",    // 65536: more than two bytes
		"GGW0",   // same, then a lone character
		"0",      // a lone character
		"000",    // fine...
		"ABC0",   // lone trailing character
		"a00",    // lower case is not in the alphabet
		"00#",    // outside the alphabet
		":::",    // 44+44*45+44*2025 > 65535
		"::",     // 44+44*45 > 255
		"\xff00", // a byte outside ASCII
	} {
		_, err := base45.Decode(s)
		if s == "000" {
			if err != nil {
				t.Errorf("Decode(%q): %v", s, err)
			}
			continue
		}
		if !errors.Is(err, base45.ErrInvalid) {
			t.Errorf("Decode(%q) error = %v, want ErrInvalid", s, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "BB8", "%69 VD92EX0", "GGW", "::", "0", "FGW"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base45.Decode(s)
		if err != nil {
			return
		}
		// Base45 is a bijection: the text that decoded is the only
		// encoding of its bytes.
		if again := base45.Encode(b); again != s {
			t.Fatalf("Decode(%q) = %x, which encodes as %q", s, b, again)
		}
	})
}
