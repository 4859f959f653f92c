package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Line limits of RFC 5322: lines should stay within 78 characters and must
// stay within 998, not counting CRLF.
const (
	softLineLimit = 78
	hardLineLimit = 998
)

// compose renders m, sent by from at now, as an RFC 5322 message with CRLF
// line endings. The body is the smallest MIME structure that holds it: a
// single text part; multipart/alternative when there are both Text and HTML;
// multipart/mixed around that when there are attachments. Text parts are
// UTF-8, quoted-printable; attachments are base64.
func compose(from Address, m Message, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	h := headerWriter{buf: &buf}

	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.header()
	}
	h.field("Date", now.Format(time.RFC1123Z))
	h.field("From", from.header())
	h.field("To", strings.Join(to, ", "))
	h.field("Subject", headerText(m.Subject))
	h.field("Message-ID", messageID(m.ID, from))
	h.field("MIME-Version", "1.0")
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.field(textproto.CanonicalMIMEHeaderKey(k), headerText(m.Headers[k]))
	}

	var parts []part
	if m.Text != "" {
		parts = append(parts, textPart("text/plain", m.Text))
	}
	if m.HTML != "" {
		parts = append(parts, textPart("text/html", m.HTML))
	}
	body := parts[0]
	if len(parts) > 1 {
		body = multipartOf("multipart/alternative", parts)
	}
	if len(m.Attachments) > 0 {
		mixed := []part{body}
		for i, a := range m.Attachments {
			p, err := attachmentPart(a)
			if err != nil {
				return nil, fmt.Errorf("attachment %d: %w", i+1, err)
			}
			mixed = append(mixed, p)
		}
		body = multipartOf("multipart/mixed", mixed)
	}
	// The top-level part's header fields join the message header.
	if err := body.writeTo(&h); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		buf.WriteString("\r\n")
	}
	if h.err != nil {
		return nil, h.err
	}
	return buf.Bytes(), nil
}

// messageID renders the Message-ID field value.
func messageID(id string, from Address) string {
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	if !strings.Contains(id, "@") {
		id += "@" + from.domain()
	}
	return "<" + id + ">"
}

// headerWriter writes folded header fields, remembering the first error.
type headerWriter struct {
	buf *bytes.Buffer
	err error
}

// field writes "name: value" folded at spaces so that lines keep within 78
// characters where the value allows it; a line that still exceeds 998 is an
// error, as the value has no room to be folded.
func (h *headerWriter) field(name, value string) {
	if h.err != nil {
		return
	}
	line := name + ":"
	for _, chunk := range foldChunks(value) {
		if len(line)+len(chunk) > softLineLimit && strings.TrimSpace(line) != name+":" {
			h.flush(name, line)
			line = ""
		}
		line += chunk
	}
	h.flush(name, line)
}

func (h *headerWriter) flush(name, line string) {
	if len(line) > hardLineLimit {
		if h.err == nil {
			h.err = invalid("header %s has a word too long to fold", name)
		}
		return
	}
	h.buf.WriteString(line)
	h.buf.WriteString("\r\n")
}

// foldChunks splits a header value into chunks that each start with the
// spaces before a word (the first with one space after the colon), so a fold
// may go before any chunk after the first and no line is blank.
func foldChunks(value string) []string {
	var chunks []string
	i := 0
	for i < len(value) {
		j := i
		for j < len(value) && value[j] == ' ' {
			j++
		}
		for j < len(value) && value[j] != ' ' {
			j++
		}
		chunks = append(chunks, value[i:j])
		i = j
	}
	if len(chunks) == 0 {
		return []string{" "}
	}
	if chunks[0][0] != ' ' {
		chunks[0] = " " + chunks[0]
	}
	// Trailing spaces alone would make a blank line: keep them on the
	// previous chunk.
	if n := len(chunks); n > 1 && strings.TrimSpace(chunks[n-1]) == "" {
		chunks[n-2] += chunks[n-1]
		chunks = chunks[:n-1]
	}
	return chunks
}

// part is a MIME entity: its header fields and a function writing its
// encoded content.
type part struct {
	header [][2]string
	body   func(w io.Writer) error
}

// writeTo writes the part as the end of a message header and its content.
func (p part) writeTo(h *headerWriter) error {
	for _, f := range p.header {
		h.field(f[0], f[1])
	}
	if h.err != nil {
		return h.err
	}
	h.buf.WriteString("\r\n")
	return p.body(h.buf)
}

// textPart is a UTF-8 text part in quoted-printable, with CRLF line ends.
func textPart(mediaType, text string) part {
	return part{
		header: [][2]string{
			{"Content-Type", mediaType + "; charset=UTF-8"},
			{"Content-Transfer-Encoding", "quoted-printable"},
		},
		body: func(w io.Writer) error {
			qp := quotedprintable.NewWriter(w)
			if _, err := io.WriteString(qp, text); err != nil {
				return err
			}
			return qp.Close()
		},
	}
}

// attachmentPart is a base64 part with a Content-Disposition naming the file
// (RFC 2231-encoded when the name is not ASCII).
func attachmentPart(a Attachment) (part, error) {
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return part{}, invalid("content type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
		return part{}, invalid("content type %q cannot be an attachment here", mt)
	}
	params["name"] = a.Filename
	ctValue := mime.FormatMediaType(mt, params)
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})
	if ctValue == "" || disp == "" {
		return part{}, invalid("attachment %q cannot be described", a.Filename)
	}
	data := a.Data
	return part{
		header: [][2]string{
			{"Content-Type", ctValue},
			{"Content-Disposition", disp},
			{"Content-Transfer-Encoding", "base64"},
		},
		body: func(w io.Writer) error {
			const perLine = 57 // 76 characters of base64
			line := make([]byte, base64.StdEncoding.EncodedLen(perLine))
			for off := 0; off < len(data); off += perLine {
				chunk := data[off:min(off+perLine, len(data))]
				n := base64.StdEncoding.EncodedLen(len(chunk))
				base64.StdEncoding.Encode(line, chunk)
				if _, err := w.Write(line[:n]); err != nil {
					return err
				}
				if _, err := io.WriteString(w, "\r\n"); err != nil {
					return err
				}
			}
			return nil
		},
	}, nil
}

// multipartOf is a multipart entity of the given type holding parts. It
// is written by hand rather than with mime/multipart's Writer so the parts'
// header fields are folded like the message's own.
func multipartOf(mediaType string, parts []part) part {
	boundary := newBoundary()
	return part{
		header: [][2]string{{"Content-Type", mime.FormatMediaType(mediaType, map[string]string{"boundary": boundary})}},
		body: func(w io.Writer) error {
			var hb bytes.Buffer
			for i, p := range parts {
				hb.Reset()
				if i > 0 {
					hb.WriteString("\r\n")
				}
				hb.WriteString("--" + boundary + "\r\n")
				ph := headerWriter{buf: &hb}
				for _, f := range p.header {
					ph.field(f[0], f[1])
				}
				if ph.err != nil {
					return ph.err
				}
				hb.WriteString("\r\n")
				if _, err := w.Write(hb.Bytes()); err != nil {
					return err
				}
				if err := p.body(w); err != nil {
					return err
				}
			}
			_, err := io.WriteString(w, "\r\n--"+boundary+"--\r\n")
			return err
		},
	}
}

// newBoundary is a random multipart boundary that cannot occur in
// quoted-printable or base64 content (it holds "=_", which neither produces).
func newBoundary() string {
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "=_" + hex.EncodeToString(b[:])
}
