// Package mailtest is an SMTP server for tests: it listens on 127.0.0.1,
// speaks enough of RFC 5321 for a submission client (EHLO/HELO, AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it accepts, and
// parses each with net/mail and mime/multipart, independently of the code
// that built it. FailNext makes it refuse DATA with a temporary failure, to
// test retries.
package mailtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Limits of the sink.
const (
	// MaxMessageBytes is the largest message accepted (advertised as SIZE).
	MaxMessageBytes = 10 << 20
	// idleTimeout drops a client that says nothing for this long.
	idleTimeout  = 30 * time.Second
	maxLineBytes = 4096
)

// Received is a message the sink accepted, as it arrived and as parsed.
type Received struct {
	// EnvelopeFrom and EnvelopeTo are the MAIL FROM and RCPT TO addresses.
	EnvelopeFrom string
	EnvelopeTo   []string
	// Username is the identity given with AUTH PLAIN, if any.
	Username string
	Password string

	// Header is the parsed header; the fields below are read from it.
	Header    mail.Header
	From      *mail.Address
	To        []*mail.Address
	Subject   string // RFC 2047 decoded
	MessageID string
	Date      time.Time

	// Text and HTML are the decoded text/plain and text/html parts, with
	// line ends turned back into "\n".
	Text string
	HTML string
	// Attachments are the other leaf parts, decoded.
	Attachments []Attachment
	// Raw is the message as received, dot-unstuffed, with its CRLFs.
	Raw []byte
	// ParseErr is set when the message could not be parsed; WaitFor fails
	// the test when it is.
	ParseErr error
}

// Attachment is a decoded attachment.
type Attachment struct {
	Filename    string
	ContentType string // the full Content-Type value
	MediaType   string // its media type alone, lower case
	Params      map[string]string
	Disposition string // "attachment", "inline" or ""
	Data        []byte
}

// Sink is a running SMTP server. Its methods are safe for concurrent use.
type Sink struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	msgs []Received
	// changed is closed and replaced whenever a message arrives.
	changed  chan struct{}
	failNext int
	conns    map[net.Conn]bool
	closed   bool
}

// Start listens on 127.0.0.1 at a free port and serves until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Sink{ln: ln, changed: make(chan struct{}), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

// Addr is the host and port to send to.
func (s *Sink) Addr() (host string, port int) {
	a := s.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// Messages returns the messages received so far, oldest first.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Reset forgets the messages received so far.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// FailNext makes the next n DATA commands answer 451, a temporary failure.
func (s *Sink) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// WaitFor waits until at least n messages have arrived and returns them all;
// it fails the test when they have not within timeout, and reports any that
// could not be parsed.
func (s *Sink) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("mailtest: %d message(s) after %v, want %d", got, timeout, n)
		}
	}
	msgs := s.Messages()
	for i, m := range msgs {
		if m.ParseErr != nil {
			t.Errorf("mailtest: message %d: %v\n%s", i+1, m.ParseErr, m.Raw)
		}
	}
	return msgs
}

// close stops listening, drops open connections and waits for them.
func (s *Sink) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *Sink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// session state of one connection.
type session struct {
	s        *Sink
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	greeted  bool
	user     string
	password string
	from     string
	inTx     bool
	rcpts    []string
}

func (s *Sink) session(c net.Conn) {
	ss := &session{s: s, conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	ss.reply(220, "mailtest ESMTP ready")
	for {
		line, err := ss.readLine()
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				ss.reply(500, "line too long")
				continue
			}
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ss.greeted = true
			ss.resetTx()
			ss.replyLines(250, "mailtest", "8BITMIME", "AUTH PLAIN", "SIZE "+strconv.Itoa(MaxMessageBytes))
		case "HELO":
			ss.greeted = true
			ss.resetTx()
			ss.reply(250, "mailtest")
		case "AUTH":
			ss.auth(arg)
		case "MAIL":
			ss.mail(arg)
		case "RCPT":
			ss.rcpt(arg)
		case "DATA":
			if !ss.data() {
				return
			}
		case "RSET":
			ss.resetTx()
			ss.reply(250, "OK")
		case "NOOP":
			ss.reply(250, "OK")
		case "VRFY":
			ss.reply(252, "cannot verify, will accept")
		case "STARTTLS":
			ss.reply(454, "TLS not available")
		case "QUIT":
			ss.reply(221, "bye")
			return
		default:
			ss.reply(502, "command not implemented")
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one command line without its line ending.
func (ss *session) readLine() (string, error) {
	_ = ss.conn.SetReadDeadline(time.Now().Add(idleTimeout))
	var line []byte
	for {
		chunk, isPrefix, err := ss.r.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, chunk...)
		if !isPrefix {
			break
		}
		if len(line) > maxLineBytes {
			// Drain the rest of the line before answering.
			for isPrefix && err == nil {
				_, isPrefix, err = ss.r.ReadLine()
			}
			return "", errLineTooLong
		}
	}
	return string(line), nil
}

func (ss *session) reply(code int, text string) {
	fmt.Fprintf(ss.w, "%d %s\r\n", code, text)
	_ = ss.w.Flush()
}

func (ss *session) replyLines(code int, lines ...string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(ss.w, "%d%s%s\r\n", code, sep, l)
	}
	_ = ss.w.Flush()
}

func (ss *session) resetTx() {
	ss.inTx = false
	ss.from = ""
	ss.rcpts = nil
}

// auth accepts any AUTH PLAIN credentials, with or without an initial
// response, and remembers them.
func (ss *session) auth(arg string) {
	mech, initial, hasInitial := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		ss.reply(504, "only PLAIN is supported")
		return
	}
	if !hasInitial {
		ss.reply(334, "")
		line, err := ss.readLine()
		if err != nil {
			return
		}
		initial = line
	}
	if initial == "*" {
		ss.reply(501, "authentication cancelled")
		return
	}
	dec, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		ss.reply(501, "malformed AUTH PLAIN response")
		return
	}
	fields := bytes.Split(dec, []byte{0})
	if len(fields) != 3 {
		ss.reply(501, "malformed AUTH PLAIN response")
		return
	}
	ss.user, ss.password = string(fields[1]), string(fields[2])
	ss.reply(235, "authenticated")
}

// pathArg reads "<addr>" after the given prefix ("FROM:" or "TO:"),
// ignoring any ESMTP parameters after it.
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

func (ss *session) mail(arg string) {
	if !ss.greeted {
		ss.reply(503, "say EHLO first")
		return
	}
	if ss.inTx {
		ss.reply(503, "nested MAIL command")
		return
	}
	from, ok := pathArg(arg, "FROM:")
	if !ok {
		ss.reply(501, "syntax: MAIL FROM:<address>")
		return
	}
	ss.inTx, ss.from, ss.rcpts = true, from, nil
	ss.reply(250, "OK")
}

func (ss *session) rcpt(arg string) {
	if !ss.inTx {
		ss.reply(503, "need MAIL first")
		return
	}
	to, ok := pathArg(arg, "TO:")
	if !ok || to == "" {
		ss.reply(501, "syntax: RCPT TO:<address>")
		return
	}
	ss.rcpts = append(ss.rcpts, to)
	ss.reply(250, "OK")
}

// data reads a message and keeps it. It returns false when the connection
// should end.
func (ss *session) data() bool {
	if !ss.inTx || len(ss.rcpts) == 0 {
		ss.reply(503, "need RCPT first")
		return true
	}
	ss.s.mu.Lock()
	fail := ss.s.failNext > 0
	if fail {
		ss.s.failNext--
	}
	ss.s.mu.Unlock()
	if fail {
		ss.resetTx()
		ss.reply(451, "temporary failure, try again later")
		return true
	}
	ss.reply(354, "end data with <CR><LF>.<CR><LF>")

	var raw bytes.Buffer
	tooBig := false
	for {
		_ = ss.conn.SetReadDeadline(time.Now().Add(idleTimeout))
		line, err := ss.r.ReadBytes('\n')
		if err != nil {
			return false
		}
		if bytes.Equal(line, []byte(".\r\n")) || bytes.Equal(line, []byte(".\n")) {
			break
		}
		if line[0] == '.' {
			line = line[1:] // dot-unstuffing
		}
		if raw.Len()+len(line) > MaxMessageBytes {
			tooBig = true
			continue
		}
		raw.Write(line)
	}
	from, rcpts := ss.from, ss.rcpts
	ss.resetTx()
	if tooBig {
		ss.reply(552, "message too big")
		return true
	}
	r := parse(raw.Bytes())
	r.EnvelopeFrom, r.EnvelopeTo = from, rcpts
	r.Username, r.Password = ss.user, ss.password

	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, r)
	n := len(ss.s.msgs)
	close(ss.s.changed)
	ss.s.changed = make(chan struct{})
	ss.s.mu.Unlock()
	ss.reply(250, "OK queued as "+strconv.Itoa(n))
	return true
}

// parse reads a message with net/mail and walks its MIME tree.
func parse(raw []byte) Received {
	r := Received{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		r.ParseErr = fmt.Errorf("read message: %w", err)
		return r
	}
	r.Header = msg.Header
	var dec mime.WordDecoder
	if r.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		r.ParseErr = fmt.Errorf("subject: %w", err)
		return r
	}
	if r.From, err = mail.ParseAddress(msg.Header.Get("From")); err != nil {
		r.ParseErr = fmt.Errorf("from: %w", err)
		return r
	}
	if r.To, err = msg.Header.AddressList("To"); err != nil {
		r.ParseErr = fmt.Errorf("to: %w", err)
		return r
	}
	r.MessageID = msg.Header.Get("Message-Id")
	if r.Date, err = msg.Header.Date(); err != nil {
		r.ParseErr = fmt.Errorf("date: %w", err)
		return r
	}
	if v := msg.Header.Get("Mime-Version"); v != "1.0" {
		r.ParseErr = fmt.Errorf("MIME-Version is %q, want 1.0", v)
		return r
	}
	if err := r.walk(textproto.MIMEHeader(msg.Header), msg.Body, 0); err != nil {
		r.ParseErr = err
	}
	return r
}

// walk decodes one MIME entity: multiparts part by part, text/plain and
// text/html bodies into Text and HTML, anything else (or anything marked as
// an attachment) into Attachments.
func (r *Received) walk(h textproto.MIMEHeader, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("MIME nesting too deep")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		if params["boundary"] == "" {
			return fmt.Errorf("%s without boundary", mt)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves the transfer encoding for decode to undo.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mt, err)
			}
			if err := r.walk(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	data, err := decode(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mt, err)
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	if disp != "attachment" && filename == "" && (mt == "text/plain" || mt == "text/html") {
		cs := strings.ToLower(params["charset"])
		if cs != "utf-8" && cs != "us-ascii" && cs != "" {
			return fmt.Errorf("%s in charset %q", mt, cs)
		}
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		if mt == "text/plain" {
			r.Text += text
		} else {
			r.HTML += text
		}
		return nil
	}
	r.Attachments = append(r.Attachments, Attachment{
		Filename:    filename,
		ContentType: ct,
		MediaType:   mt,
		Params:      params,
		Disposition: disp,
		Data:        data,
	})
	return nil
}

// decode undoes a Content-Transfer-Encoding.
func decode(cte string, body io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return io.ReadAll(body)
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, raw)
		return base64.StdEncoding.DecodeString(string(clean))
	default:
		return nil, fmt.Errorf("unknown transfer encoding %q", cte)
	}
}
