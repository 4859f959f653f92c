// Package base45 implements the Base45 encoding of RFC 9285, which packs
// binary data into the character set of a QR code's alphanumeric mode.
//
// Every two bytes become three characters and a final odd byte becomes two;
// a character stands for a digit in base 45, least significant first.
package base45

import (
	"errors"
	"fmt"
)

// Alphabet holds the 45 characters of Base45 in the order of their values.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// ErrInvalid is wrapped by every error Decode returns.
var ErrInvalid = errors.New("invalid base45")

// values maps a byte to its Base45 value plus one; zero marks a byte outside
// the alphabet.
var values = func() [256]byte {
	var v [256]byte
	for i := 0; i < len(Alphabet); i++ {
		v[Alphabet[i]] = byte(i + 1)
	}
	return v
}()

// EncodedLen returns the length of the Base45 encoding of n bytes.
func EncodedLen(n int) int {
	return n/2*3 + n%2*2
}

// Encode returns the Base45 encoding of src.
func Encode(src []byte) string {
	dst := make([]byte, 0, EncodedLen(len(src)))
	for len(src) >= 2 {
		n := int(src[0])<<8 | int(src[1])
		dst = append(dst, Alphabet[n%45], Alphabet[n/45%45], Alphabet[n/(45*45)])
		src = src[2:]
	}
	if len(src) == 1 {
		n := int(src[0])
		dst = append(dst, Alphabet[n%45], Alphabet[n/45])
	}
	return string(dst)
}

// Decode returns the bytes that the Base45 text s encodes. It rejects a
// character outside the alphabet, a lone trailing character, and a group
// whose value does not fit the bytes it stands for, as RFC 9285 requires.
func Decode(s string) ([]byte, error) {
	dst := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		rest := len(s) - i
		if rest == 1 {
			return nil, fmt.Errorf("%w: a single character remains at offset %d", ErrInvalid, i)
		}
		group := 3
		if rest == 2 {
			group = 2
		}
		n := 0
		for j := group - 1; j >= 0; j-- {
			v := values[s[i+j]]
			if v == 0 {
				return nil, fmt.Errorf("%w: character %q at offset %d is not in the alphabet", ErrInvalid, s[i+j], i+j)
			}
			n = n*45 + int(v-1)
		}
		if group == 3 {
			if n > 0xFFFF {
				return nil, fmt.Errorf("%w: group at offset %d exceeds two bytes", ErrInvalid, i)
			}
			dst = append(dst, byte(n>>8), byte(n))
		} else {
			if n > 0xFF {
				return nil, fmt.Errorf("%w: group at offset %d exceeds one byte", ErrInvalid, i)
			}
			dst = append(dst, byte(n))
		}
	}
	return dst, nil
}
