package mailtest_test

import (
	"encoding/base64"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carepass/carepass/modules/mail/mailtest"
)

// dial opens a raw SMTP conversation with the sink and reads its greeting.
func dial(t *testing.T, s *mailtest.Sink) *textproto.Conn {
	t.Helper()
	host, port := s.Addr()
	c, err := textproto.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	expect(t, c, 220)
	return c
}

// cmd sends a command line and checks the reply code.
func cmd(t *testing.T, c *textproto.Conn, code int, line string) string {
	t.Helper()
	if err := c.PrintfLine("%s", line); err != nil {
		t.Fatal(err)
	}
	return expect(t, c, code)
}

func expect(t *testing.T, c *textproto.Conn, code int) string {
	t.Helper()
	got, msg, err := c.ReadResponse(0)
	if err != nil && got == 0 {
		t.Fatalf("reading reply: %v", err)
	}
	if got != code {
		t.Fatalf("reply %d %q, want %d", got, msg, code)
	}
	return msg
}

func TestSinkSpeaksSMTP(t *testing.T) {
	s := mailtest.Start(t)
	c := dial(t, s)

	cmd(t, c, 503, "MAIL FROM:<a@example.org>") // before EHLO
	ehlo := cmd(t, c, 250, "EHLO client.example")
	if !strings.Contains(ehlo, "AUTH PLAIN") {
		t.Errorf("EHLO reply %q does not offer AUTH PLAIN", ehlo)
	}
	cmd(t, c, 334, "AUTH PLAIN")
	cmd(t, c, 235, base64.StdEncoding.EncodeToString([]byte("\x00user\x00pw")))
	cmd(t, c, 250, "NOOP")
	cmd(t, c, 503, "RCPT TO:<b@example.org>") // before MAIL
	cmd(t, c, 250, "MAIL FROM:<a@example.org> BODY=8BITMIME")
	cmd(t, c, 503, "DATA") // before RCPT
	cmd(t, c, 250, "RCPT TO:<b@example.org>")
	cmd(t, c, 250, "RSET")
	cmd(t, c, 503, "DATA") // RSET ended the transaction

	cmd(t, c, 250, "MAIL FROM:<a@example.org>")
	cmd(t, c, 250, "RCPT TO:<b@example.org>")
	cmd(t, c, 250, "RCPT TO:<c@example.org>")
	cmd(t, c, 354, "DATA")
	body := "From: A <a@example.org>\r\nTo: b@example.org, c@example.org\r\nSubject: =?UTF-8?Q?Zo=C3=AB?=\r\n" +
		"Date: Sun, 29 Mar 2026 09:15:00 +0000\r\nMIME-Version: 1.0\r\n\r\n" +
		"..starts with a dot\r\n...\r\nend\r\n.\r\n"
	if _, err := c.W.WriteString(body); err != nil {
		t.Fatal(err)
	}
	_ = c.W.Flush()
	expect(t, c, 250)
	cmd(t, c, 502, "EXPN list")
	cmd(t, c, 221, "QUIT")

	r := s.WaitFor(t, 1, 2*time.Second)[0]
	if r.EnvelopeFrom != "a@example.org" || strings.Join(r.EnvelopeTo, " ") != "b@example.org c@example.org" {
		t.Errorf("envelope %q -> %q", r.EnvelopeFrom, r.EnvelopeTo)
	}
	if r.Username != "user" || r.Password != "pw" {
		t.Errorf("auth %q/%q", r.Username, r.Password)
	}
	if r.Subject != "Zoë" || r.From.Address != "a@example.org" || len(r.To) != 2 {
		t.Errorf("parsed header: subject %q from %v to %v", r.Subject, r.From, r.To)
	}
	if want := ".starts with a dot\n..\nend\n"; r.Text != want {
		t.Errorf("Text = %q, want %q (dot-unstuffed)", r.Text, want)
	}
	if !strings.HasSuffix(string(r.Raw), "\r\n..\r\nend\r\n") {
		t.Errorf("Raw keeps CRLF and loses only the stuffed dots: %q", r.Raw)
	}
}

func TestSinkFailNext(t *testing.T) {
	s := mailtest.Start(t)
	s.FailNext(1)
	c := dial(t, s)
	cmd(t, c, 250, "HELO client.example")
	cmd(t, c, 250, "MAIL FROM:<a@example.org>")
	cmd(t, c, 250, "RCPT TO:<b@example.org>")
	cmd(t, c, 451, "DATA")
	// The refusal ended the transaction; the next one is accepted.
	cmd(t, c, 503, "DATA")
	cmd(t, c, 250, "MAIL FROM:<a@example.org>")
	cmd(t, c, 250, "RCPT TO:<b@example.org>")
	cmd(t, c, 354, "DATA")
	_, _ = c.W.WriteString("From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n" +
		"Date: Sun, 29 Mar 2026 09:15:00 +0000\r\nMIME-Version: 1.0\r\n\r\nhi\r\n.\r\n")
	_ = c.W.Flush()
	expect(t, c, 250)
	if got := s.WaitFor(t, 1, 2*time.Second); len(got) != 1 {
		t.Errorf("got %d messages, want 1", len(got))
	}
}
