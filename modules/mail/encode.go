package mail

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// maxWordLen bounds an RFC 2047 encoded-word, so that one fits on a folded
// line after any of the header names this package writes and within RFC
// 2047's 76-character line limit.
const maxWordLen = 60

// needsEncoding reports whether a header text must be written as encoded
// words: it holds non-ASCII, or something a reader would take for an
// encoded word.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// headerText renders unstructured header text (a subject, an extra header's
// value): as it is when it is plain ASCII, else as encoded words.
func headerText(s string) string {
	if !needsEncoding(s) {
		return s
	}
	return strings.Join(encodeWords(s), " ")
}

// header renders the address for a header field: a quoted or plain ASCII
// display name, or encoded words, then the address in angle brackets.
func (a Address) header() string {
	if a.Name == "" || !needsEncoding(a.Name) {
		return (&mail.Address{Name: a.Name, Address: a.Email}).String()
	}
	return strings.Join(encodeWords(a.Name), " ") + " <" + a.Email + ">"
}

// encodeWords writes s as RFC 2047 "Q" encoded-words in UTF-8, none longer
// than maxWordLen and none splitting a character. Only letters, digits and
// "!*+-/" are left as they are, which makes the words valid in a display
// name as well as in unstructured text; a space becomes "_". Readers drop the
// white space between adjacent encoded words, so the words may be joined
// with spaces and folded there.
func encodeWords(s string) []string {
	const prefix, suffix = "=?UTF-8?Q?", "?="
	budget := maxWordLen - len(prefix) - len(suffix)
	var words []string
	var cur strings.Builder
	var enc [utf8.UTFMax * 3]byte
	for _, r := range s {
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		e := enc[:0]
		for _, c := range buf[:n] {
			switch {
			case c == ' ':
				e = append(e, '_')
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
				e = append(e, c)
			default:
				e = append(e, '=', hexDigits[c>>4], hexDigits[c&0xf])
			}
		}
		if cur.Len()+len(e) > budget {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.Write(e)
	}
	if cur.Len() > 0 || len(words) == 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return words
}

const hexDigits = "0123456789ABCDEF"
