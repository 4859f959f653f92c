package credential_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/carepass/carepass/modules/credential"
)

func TestNewCodeShape(t *testing.T) {
	seen := map[credential.Code]bool{}
	var symbolsSeen [credential.CodeDataSymbols]map[byte]bool
	for i := range symbolsSeen {
		symbolsSeen[i] = map[byte]bool{}
	}
	for range 2000 {
		c := credential.NewCode()
		s := c.String()
		if len(s) != 19 || s[4] != '-' || s[9] != '-' || s[14] != '-' {
			t.Fatalf("code %q is not grouped 4-4-4-4", s)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice", s)
		}
		seen[c] = true
		parsed, err := credential.ParseCode(s)
		if err != nil || parsed != c {
			t.Fatalf("ParseCode(%q) = %q, %v", s, parsed, err)
		}
		compact := c.Compact()
		for i := range credential.CodeDataSymbols {
			symbolsSeen[i][compact[i]] = true
		}
	}
	if credential.CodeEntropyBits < 64 {
		t.Fatalf("codes carry %d random bits, want at least 64", credential.CodeEntropyBits)
	}
	// Each random position takes all 32 symbols (2000 draws miss one with
	// probability about 32·(31/32)^2000, which is negligible).
	for i, m := range symbolsSeen {
		if len(m) != 32 {
			t.Errorf("position %d took %d distinct symbols, want 32", i, len(m))
		}
	}
}

func TestParseCodeTolerance(t *testing.T) {
	c := credential.NewCode()
	compact := c.Compact()
	lower := strings.ToLower(compact)
	spaced := compact[:4] + " " + compact[4:8] + "  " + compact[8:12] + "-" + compact[12:]
	for _, in := range []string{c.String(), compact, lower, spaced, " " + c.String() + " ", "--" + lower + "--"} {
		got, err := credential.ParseCode(in)
		if err != nil || got != c {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", in, got, err, c)
		}
	}
}

// A code holding 0 and 1 parses the same when they are typed as O, I or L.
func TestParseCodeCrockfordAliases(t *testing.T) {
	var c credential.Code
	for {
		c = credential.NewCode()
		if strings.ContainsAny(c.String(), "01") {
			break
		}
	}
	for _, repl := range []*strings.Replacer{
		strings.NewReplacer("0", "O", "1", "I"),
		strings.NewReplacer("0", "o", "1", "l"),
		strings.NewReplacer("1", "L"),
		strings.NewReplacer("1", "i"),
	} {
		in := repl.Replace(c.String())
		got, err := credential.ParseCode(in)
		if err != nil || got != c {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", in, got, err, c)
		}
	}
}

// Codes drawn once and kept, so a change to the check symbol shows.
func TestParseCodeKnown(t *testing.T) {
	for in, want := range map[string]credential.Code{
		"DV87-QKTH-2TV6-6KQN": "DV87-QKTH-2TV6-6KQN",
		"h1hr gy6z cemd bno5": "H1HR-GY6Z-CEMD-BN05",
		"HIHR-GY6Z-CEMD-BNO5": "H1HR-GY6Z-CEMD-BN05",
	} {
		if got, err := credential.ParseCode(in); err != nil || got != want {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := credential.ParseCode("H1HR-GY6Z-CEMD-BN5O"); !errors.Is(err, credential.ErrMalformedCode) {
		t.Errorf("transposed code accepted: %v", err)
	}
}

func TestParseCodeRejects(t *testing.T) {
	c := credential.NewCode().Compact()
	for _, in := range []string{
		"",
		c[:15],       // a symbol short
		c + "0",      // a symbol long
		"U" + c[1:],  // U is not in the alphabet
		c[:15] + "*", // nor is Crockford's extra check symbol
		c[:8] + "é" + c[9:],
		c[:8] + "\x00" + c[9:],
		strings.Repeat(" ", 65) + c,
		strings.Repeat("0", 1000),
	} {
		got, err := credential.ParseCode(in)
		if !errors.Is(err, credential.ErrMalformedCode) {
			t.Errorf("ParseCode(%q) = %q, %v; want ErrMalformedCode", in, got, err)
		}
	}
}

// Every single-symbol substitution, at every position including the check
// symbol, by every other symbol of the alphabet, is rejected.
func TestCheckSymbolCatchesEverySubstitution(t *testing.T) {
	const codes = 1000
	tried := 0
	for range codes {
		c := []byte(credential.NewCode().Compact())
		for pos := range c {
			orig := c[pos]
			for i := 0; i < len(credential.CodeAlphabet); i++ {
				sym := credential.CodeAlphabet[i]
				if sym == orig {
					continue
				}
				c[pos] = sym
				tried++
				if got, err := credential.ParseCode(string(c)); !errors.Is(err, credential.ErrMalformedCode) {
					t.Fatalf("substituting %q at %d gave %q, %v", sym, pos, got, err)
				}
			}
			c[pos] = orig
		}
	}
	if want := codes * credential.CodeSymbols * 31; tried != want {
		t.Fatalf("tried %d substitutions, want %d", tried, want)
	}
	t.Logf("%d of %d single-symbol substitutions caught", tried, tried)
}

// Swapping two adjacent, different symbols (the check symbol included) is
// rejected; the test counts how many such swaps are caught.
func TestCheckSymbolCatchesAdjacentTranspositions(t *testing.T) {
	const codes = 5000
	tried, caught := 0, 0
	for range codes {
		c := []byte(credential.NewCode().Compact())
		for pos := 0; pos+1 < len(c); pos++ {
			if c[pos] == c[pos+1] {
				continue
			}
			c[pos], c[pos+1] = c[pos+1], c[pos]
			tried++
			if _, err := credential.ParseCode(string(c)); errors.Is(err, credential.ErrMalformedCode) {
				caught++
			}
			c[pos], c[pos+1] = c[pos+1], c[pos]
		}
	}
	t.Logf("%d of %d adjacent transpositions caught", caught, tried)
	if caught != tried {
		t.Fatalf("%d of %d adjacent transpositions slipped through", tried-caught, tried)
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{
		"", "0000-0000-0000-0000", "7K3M-Q9XA-2PDF-W8RT", "oooo iiii llll 0000",
		"U", "----", strings.Repeat("Z", 16), "DV87-QKTH-2TV6-6KQN", "h1hr gy6z cemd bno5",
		"H1HR-GY6Z-CEMD-BN5O", "\xff\xfe", "0000-0000-0000-000*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := credential.ParseCode(s)
		if err != nil {
			if !errors.Is(err, credential.ErrMalformedCode) {
				t.Fatalf("ParseCode(%q) error %v does not wrap ErrMalformedCode", s, err)
			}
			if c != "" {
				t.Fatalf("ParseCode(%q) returned %q with an error", s, c)
			}
			return
		}
		if len(c) != 19 {
			t.Fatalf("ParseCode(%q) = %q, not in printed form", s, c)
		}
		again, err := credential.ParseCode(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseCode(%q) = %q, %v; want it unchanged", c, again, err)
		}
	})
}
