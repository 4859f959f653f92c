package credential

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// A passport code is sixteen symbols of Crockford's base 32, read aloud in
// four groups of four: fifteen random symbols (75 bits from crypto/rand) and
// a check symbol. The alphabet leaves out I, L, O and U; when parsing, O is
// read as 0 and I and L as 1, as Crockford's decoding does.
//
// The check symbol comes from Damm's algorithm over the quasigroup
// x∘y = 2·x + y of the field GF(32) (polynomial x⁵ + x² + 1). Every step is a
// bijection in each argument, so any single substituted symbol changes the
// result; and since 2 ≠ 1 the quasigroup is totally anti-symmetric, so any
// swap of two adjacent, different symbols changes it too.
const (
	// CodeAlphabet holds the 32 symbols of a code in the order of their values.
	CodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// CodeDataSymbols is the number of random symbols in a code.
	CodeDataSymbols = 15
	// CodeSymbols is the number of symbols in a code, the check symbol included.
	CodeSymbols = CodeDataSymbols + 1
	// CodeEntropyBits is the number of random bits in a code.
	CodeEntropyBits = CodeDataSymbols * 5
	// codeGroup is the number of symbols in each group of the printed code.
	codeGroup = 4
	// maxCodeInput bounds the text ParseCode looks at.
	maxCodeInput = 64
)

// ErrMalformedCode is wrapped by every error ParseCode returns: the text is
// not a well-formed code, or its check symbol does not match. A public
// endpoint should answer such a code exactly as it answers an unknown one.
var ErrMalformedCode = errors.New("malformed passport code")

// Code is a passport code in its canonical printed form, such as
// "7K3M-Q9XA-2PDF-W8RT": upper case, grouped by hyphens. Obtain one from
// NewCode or ParseCode.
type Code string

// String returns the code in its printed form.
func (c Code) String() string { return string(c) }

// Compact returns the code's sixteen symbols without hyphens.
func (c Code) Compact() string { return strings.ReplaceAll(string(c), "-", "") }

// codeValues maps an input byte to its symbol value plus one; zero marks a
// byte that is no symbol. Lower case and Crockford's aliases are included.
var codeValues = func() [256]byte {
	var v [256]byte
	for i := 0; i < len(CodeAlphabet); i++ {
		c := CodeAlphabet[i]
		v[c] = byte(i + 1)
		if c >= 'A' && c <= 'Z' {
			v[c+'a'-'A'] = byte(i + 1)
		}
	}
	for _, c := range "oO" {
		v[c] = 1
	}
	for _, c := range "iIlL" {
		v[c] = 2
	}
	return v
}()

// gf32Double multiplies x by 2 in GF(32) with the polynomial x⁵ + x² + 1.
func gf32Double(x byte) byte {
	x <<= 1
	if x&0x20 != 0 {
		x ^= 0x25
	}
	return x
}

// dammStep is the quasigroup operation x∘y = 2·x + y in GF(32).
func dammStep(x, y byte) byte { return gf32Double(x) ^ y }

// checkSymbol returns the value c for which folding values then c gives zero.
func checkSymbol(values []byte) byte {
	var acc byte
	for _, v := range values {
		acc = dammStep(acc, v)
	}
	// 2·acc + c = 0 in characteristic 2 means c = 2·acc.
	return gf32Double(acc)
}

// codeValid reports whether values, the check symbol last, fold to zero.
func codeValid(values []byte) bool {
	var acc byte
	for _, v := range values {
		acc = dammStep(acc, v)
	}
	return acc == 0
}

// formatCode prints symbol values in groups of four.
func formatCode(values []byte) Code {
	var b strings.Builder
	b.Grow(len(values) + len(values)/codeGroup)
	for i, v := range values {
		if i > 0 && i%codeGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(CodeAlphabet[v])
	}
	return Code(b.String())
}

// NewCode returns a new random passport code with 75 bits of entropy.
func NewCode() Code {
	var random [CodeDataSymbols]byte
	// crypto/rand.Read never returns an error; it does not return at all
	// when the system cannot supply randomness.
	_, _ = rand.Read(random[:])
	values := make([]byte, CodeSymbols)
	for i, r := range random {
		values[i] = r & 31
	}
	values[CodeDataSymbols] = checkSymbol(values[:CodeDataSymbols])
	return formatCode(values)
}

// ParseCode reads a passport code as a person typed it: case does not
// matter, spaces and hyphens anywhere are ignored, O is read as 0 and I and
// L as 1. It returns the canonical code, or an error wrapping
// ErrMalformedCode when a symbol is not in the alphabet, the number of
// symbols is wrong, or the check symbol does not match.
func ParseCode(s string) (Code, error) {
	if len(s) > maxCodeInput {
		return "", fmt.Errorf("%w: longer than %d characters", ErrMalformedCode, maxCodeInput)
	}
	values := make([]byte, 0, CodeSymbols)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' || c == '\t' {
			continue
		}
		v := codeValues[c]
		if v == 0 {
			return "", fmt.Errorf("%w: %q is not a code symbol", ErrMalformedCode, c)
		}
		if len(values) == CodeSymbols {
			return "", fmt.Errorf("%w: more than %d symbols", ErrMalformedCode, CodeSymbols)
		}
		values = append(values, v-1)
	}
	if len(values) != CodeSymbols {
		return "", fmt.Errorf("%w: %d symbols, want %d", ErrMalformedCode, len(values), CodeSymbols)
	}
	if !codeValid(values) {
		return "", fmt.Errorf("%w: check symbol does not match", ErrMalformedCode)
	}
	return formatCode(values), nil
}
