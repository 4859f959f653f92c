package mail_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/modules/mail/mailtest"
)

var fixedNow = time.Date(2026, 3, 29, 9, 15, 0, 0, time.UTC)

// newSender is an SMTP sender to the sink, in the clear, with credentials.
func newSender(t *testing.T, sink *mailtest.Sink) *mail.SMTP {
	t.Helper()
	host, port := sink.Addr()
	s, err := mail.NewSMTP(mail.SMTPConfig{
		Host:     host,
		Port:     port,
		Username: "mailer",
		Password: "s3cret pass",
		From:     mail.Address{Name: "Carepass", Email: "no-reply@carepass.example"},
		TLS:      mail.TLSNone,
		Timeout:  5 * time.Second,
		Now:      func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

const inviteICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Carepass//Invite//EN\r\nMETHOD:REQUEST\r\n" +
	"BEGIN:VEVENT\r\nUID:0192b0a4-0000-7000-8000-000000000001@carepass.example\r\n" +
	"DTSTAMP:20260329T091500Z\r\nDTSTART:20260402T100000Z\r\nDTEND:20260402T110000Z\r\n" +
	"SUMMARY:Moving and handling observation\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestSendRoundTrip(t *testing.T) {
	sink := mailtest.Start(t)
	s := newSender(t, sink)

	// Lines that stress the encodings: longer than a QP line, a leading dot
	// (SMTP dot-stuffing), a lone dot, an equals sign, trailing spaces.
	text := "Hello Sam,\n\nYou are invited to an observation of " + strings.Repeat("moving and handling ", 8) + "on 2 April.\n" +
		".a line that starts with a dot\n.\nx = y + 1   \nThe Carepass team"
	html := `<!doctype html><html lang="en"><body><p class="nhsuk-body">Hello Sam,</p>` + "\n" +
		`<p>You are invited to an <a href="https://carepass.example/observations/1?a=1&amp;b=2">observation</a>.</p>` + "\n" +
		".<p>dot</p>\n</body></html>"
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\r', '\n', '.', '\r', '\n'}
	m := mail.Message{
		To:      []mail.Address{{Name: "Sam Carer", Email: "sam@example.org"}, {Email: "manager@example.org"}},
		Subject: "Observation invite: moving and handling",
		Text:    text,
		HTML:    html,
		Attachments: []mail.Attachment{
			{Filename: "invite.ics", ContentType: "text/calendar; method=REQUEST; charset=UTF-8", Data: []byte(inviteICS)},
			{Filename: "blob.bin", Data: binary},
		},
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://carepass.example/unsubscribe/abc>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
		ID: "0192b0a4-0000-7000-8000-0000000000aa",
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := sink.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	r := got[0]

	if r.EnvelopeFrom != "no-reply@carepass.example" {
		t.Errorf("MAIL FROM = %q", r.EnvelopeFrom)
	}
	if strings.Join(r.EnvelopeTo, ",") != "sam@example.org,manager@example.org" {
		t.Errorf("RCPT TO = %q", r.EnvelopeTo)
	}
	if r.Username != "mailer" || r.Password != "s3cret pass" {
		t.Errorf("AUTH PLAIN = %q / %q", r.Username, r.Password)
	}
	if r.From.Name != "Carepass" || r.From.Address != "no-reply@carepass.example" {
		t.Errorf("From = %+v", r.From)
	}
	if len(r.To) != 2 || r.To[0].Name != "Sam Carer" || r.To[0].Address != "sam@example.org" || r.To[1].Address != "manager@example.org" {
		t.Errorf("To = %v", r.To)
	}
	if r.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", r.Subject, m.Subject)
	}
	if r.MessageID != "<0192b0a4-0000-7000-8000-0000000000aa@carepass.example>" {
		t.Errorf("Message-ID = %q", r.MessageID)
	}
	if !r.Date.Equal(fixedNow) {
		t.Errorf("Date = %v, want %v", r.Date, fixedNow)
	}
	if v := r.Header.Get("List-Unsubscribe"); v != m.Headers["List-Unsubscribe"] {
		t.Errorf("List-Unsubscribe = %q", v)
	}
	if v := r.Header.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", v)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed;") {
		t.Errorf("top Content-Type = %q, want multipart/mixed", ct)
	}
	if r.Text != text {
		t.Errorf("Text =\n%q\nwant\n%q", r.Text, text)
	}
	if r.HTML != html {
		t.Errorf("HTML =\n%q\nwant\n%q", r.HTML, html)
	}
	if len(r.Attachments) != 2 {
		t.Fatalf("got %d attachments, want 2", len(r.Attachments))
	}
	ics := r.Attachments[0]
	if ics.Filename != "invite.ics" || ics.Disposition != "attachment" || ics.MediaType != "text/calendar" ||
		ics.Params["method"] != "REQUEST" || !strings.EqualFold(ics.Params["charset"], "utf-8") {
		t.Errorf("invite attachment = %+v", ics)
	}
	if string(ics.Data) != inviteICS {
		t.Errorf("invite data =\n%q\nwant\n%q", ics.Data, inviteICS)
	}
	bin := r.Attachments[1]
	if bin.Filename != "blob.bin" || bin.MediaType != "application/octet-stream" || !bytes.Equal(bin.Data, binary) {
		t.Errorf("binary attachment = %+v", bin)
	}
	checkWireFormat(t, r.Raw)
}

// checkWireFormat asserts RFC 5322 line rules: CRLF only, no line over 998
// characters, and a 7-bit header.
func checkWireFormat(t *testing.T, raw []byte) {
	t.Helper()
	lines := bytes.Split(raw, []byte("\r\n"))
	inHeader := true
	for i, l := range lines {
		if bytes.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 998 {
			t.Errorf("line %d is %d characters long", i+1, len(l))
		}
		if inHeader && len(l) == 0 {
			inHeader = false
		}
		if inHeader {
			for _, c := range l {
				if c >= 0x80 {
					t.Errorf("header line %d is not ASCII: %q", i+1, l)
					break
				}
			}
			if len(l) > 78 {
				t.Errorf("header line %d is %d characters long (over 78): %q", i+1, len(l), l)
			}
		}
	}
}

func TestSendNonASCII(t *testing.T) {
	sink := mailtest.Start(t)
	host, port := sink.Addr()
	s, err := mail.NewSMTP(mail.SMTPConfig{
		Host: host, Port: port, TLS: mail.TLSNone,
		From: mail.Address{Name: "Gofal Cymru — Tîm Carepass", Email: "tim@carepass.example"},
	})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	subject := "Eich pasbort gofal: asesiad wedi'i gwblhau ✓ — Zoë Ørsted, Siân Ó Briain, 日本語 " +
		strings.Repeat("ŵ", 40)
	m := mail.Message{
		To: []mail.Address{
			{Name: "Siân Ó Briain", Email: "sian@example.org"},
			{Name: "O'Neil, \"Zoë\"", Email: "zoe@example.org"},
		},
		Subject: subject,
		Text:    "Annwyl Siân,\n\nMae eich asesiad wedi'i gwblhau. Diolch — £5 ✓\n",
		Attachments: []mail.Attachment{
			{Filename: "cynllun-gofal-ŵ é.txt", ContentType: "text/plain; charset=UTF-8", Data: []byte("Siân ✓")},
		},
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := sink.WaitFor(t, 1, 5*time.Second)[0]
	if r.Subject != subject {
		t.Errorf("Subject = %q, want %q", r.Subject, subject)
	}
	if r.From.Name != "Gofal Cymru — Tîm Carepass" {
		t.Errorf("From name = %q", r.From.Name)
	}
	if len(r.To) != 2 || r.To[0].Name != "Siân Ó Briain" || r.To[1].Name != "O'Neil, \"Zoë\"" || r.To[1].Address != "zoe@example.org" {
		t.Errorf("To = %v", r.To)
	}
	if r.Text != m.Text+"\n" && r.Text != m.Text {
		t.Errorf("Text = %q, want %q", r.Text, m.Text)
	}
	if r.HTML != "" {
		t.Errorf("HTML = %q, want none", r.HTML)
	}
	if len(r.Attachments) != 1 || r.Attachments[0].Filename != "cynllun-gofal-ŵ é.txt" || string(r.Attachments[0].Data) != "Siân ✓" {
		t.Errorf("attachments = %+v", r.Attachments)
	}
	// A generated Message-ID on the sender's domain.
	if !strings.HasSuffix(r.MessageID, "@carepass.example>") || len(r.MessageID) < 40 {
		t.Errorf("Message-ID = %q", r.MessageID)
	}
	checkWireFormat(t, r.Raw)
}

func TestHeaderInjectionRefused(t *testing.T) {
	sink := mailtest.Start(t)
	s := newSender(t, sink)
	base := func() mail.Message {
		return mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Subject: "Hi", Text: "Hello"}
	}
	cases := map[string]func(m *mail.Message){
		"CRLF in subject":            func(m *mail.Message) { m.Subject = "Hi\r\nBcc: victim@example.org" },
		"LF in subject":              func(m *mail.Message) { m.Subject = "Hi\nBcc: victim@example.org" },
		"CR in subject":              func(m *mail.Message) { m.Subject = "Hi\rBcc: victim@example.org" },
		"CRLF in recipient name":     func(m *mail.Message) { m.To[0].Name = "Sam\r\nBcc: victim@example.org" },
		"CRLF in recipient email":    func(m *mail.Message) { m.To[0].Email = "sam@example.org\r\nRCPT TO:<victim@example.org>" },
		"CRLF in extra header value": func(m *mail.Message) { m.Headers = map[string]string{"List-Unsubscribe": "<x>\r\nBcc: v@example.org"} },
		"colon in extra header name": func(m *mail.Message) { m.Headers = map[string]string{"X-A: b\r\nBcc": "v@example.org"} },
		"space in extra header name": func(m *mail.Message) { m.Headers = map[string]string{"X A": "b"} },
		"extra header sets Bcc":      func(m *mail.Message) { m.Headers = map[string]string{"bcc": "victim@example.org"} },
		"extra header sets From":     func(m *mail.Message) { m.Headers = map[string]string{"FROM": "ceo@example.org"} },
		"LF in attachment filename":  func(m *mail.Message) { m.Attachments = []mail.Attachment{{Filename: "a\n.ics", Data: []byte("x")}} },
		"CRLF in attachment type": func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Filename: "a.ics", ContentType: "text/calendar\r\nBcc: v@example.org", Data: []byte("x")}}
		},
		"CRLF in message ID":  func(m *mail.Message) { m.ID = "abc\r\nBcc: v@example.org" },
		"angle in message ID": func(m *mail.Message) { m.ID = "abc>" },
		"NUL in subject":      func(m *mail.Message) { m.Subject = "Hi\x00" },
		"no recipient":        func(m *mail.Message) { m.To = nil },
		"not an address":      func(m *mail.Message) { m.To[0].Email = "Sam <sam@example.org>" },
		"no body":             func(m *mail.Message) { m.Text = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := base()
			mutate(&m)
			err := s.Send(context.Background(), m)
			if !errors.Is(err, mail.ErrInvalid) {
				t.Fatalf("Send = %v, want ErrInvalid", err)
			}
			if errors.Is(err, mail.ErrSend) {
				t.Errorf("Send = %v: an invalid message must not look retryable", err)
			}
		})
	}
	// Nothing reached the server, and a valid message still goes through.
	if err := s.Send(context.Background(), base()); err != nil {
		t.Fatalf("valid Send: %v", err)
	}
	if got := sink.WaitFor(t, 1, 5*time.Second); len(got) != 1 {
		t.Errorf("sink got %d messages, want only the valid one", len(got))
	}

	host, port := sink.Addr()
	for name, cfg := range map[string]mail.SMTPConfig{
		"CRLF in From name":         {Host: host, Port: port, TLS: mail.TLSNone, From: mail.Address{Name: "A\r\nBcc: v@example.org", Email: "a@example.org"}},
		"CRLF in From email":        {Host: host, Port: port, TLS: mail.TLSNone, From: mail.Address{Email: "a@example.org\r\nX: y"}},
		"unknown TLS mode":          {Host: host, Port: port, TLS: "ssl", From: mail.Address{Email: "a@example.org"}},
		"credentials in clear":      {Host: "smtp.example.org", Port: 25, TLS: mail.TLSNone, Username: "u", Password: "p", From: mail.Address{Email: "a@example.org"}},
		"password without username": {Host: host, Port: port, TLS: mail.TLSNone, Password: "p", From: mail.Address{Email: "a@example.org"}},
		"no port":                   {Host: host, TLS: mail.TLSNone, From: mail.Address{Email: "a@example.org"}},
	} {
		if _, err := mail.NewSMTP(cfg); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("NewSMTP with %s = %v, want ErrInvalid", name, err)
		}
	}
}

func TestTemporaryFailureWrapsErrSend(t *testing.T) {
	sink := mailtest.Start(t)
	s := newSender(t, sink)
	m := mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Subject: "Retry me", Text: "Hello", ID: "job-42"}

	sink.FailNext(2)
	for i := range 2 {
		err := s.Send(context.Background(), m)
		if !errors.Is(err, mail.ErrSend) {
			t.Fatalf("attempt %d: Send = %v, want ErrSend", i+1, err)
		}
		if errors.Is(err, mail.ErrRejected) {
			t.Errorf("attempt %d: a 451 is temporary, not ErrRejected: %v", i+1, err)
		}
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 451 {
			t.Errorf("attempt %d: Send = %v, want the server's 451", i+1, err)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("sink kept %d messages from refused attempts", n)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	got := sink.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 || got[0].MessageID != "<job-42@carepass.example>" {
		t.Errorf("got %d messages (%v), want the one retried", len(got), got)
	}
}

// startScripted listens on loopback and answers each connection with
// greeting (nothing at all when empty), then holds it open until the test
// ends.
func startScripted(t *testing.T, greeting string) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if greeting != "" {
				_, _ = c.Write([]byte(greeting))
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for {
			select {
			case c := <-accepted:
				_ = c.Close()
			default:
				return
			}
		}
	})
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func TestSilentServerTimesOut(t *testing.T) {
	host, port := startScripted(t, "")
	m := mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Subject: "Hi", Text: "Hello"}
	from := mail.Address{Email: "no-reply@carepass.example"}

	t.Run("config timeout", func(t *testing.T) {
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: from, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = s.Send(context.Background(), m)
		elapsed := time.Since(start)
		if !errors.Is(err, mail.ErrSend) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want ErrSend and DeadlineExceeded", err)
		}
		if elapsed < 250*time.Millisecond || elapsed > 2*time.Second {
			t.Errorf("Send took %v, want about 300ms", elapsed)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: from, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = s.Send(ctx, m)
		elapsed := time.Since(start)
		if !errors.Is(err, mail.ErrSend) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want ErrSend and DeadlineExceeded", err)
		}
		if elapsed > 2*time.Second {
			t.Errorf("Send took %v, want about 300ms", elapsed)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: from, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err = s.Send(ctx, m)
		if !errors.Is(err, mail.ErrSend) || !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want ErrSend and Canceled", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("Send took %v after a cancel at 200ms", elapsed)
		}
	})
}

func TestPermanentFailureWrapsErrRejected(t *testing.T) {
	host, port := startScripted(t, "554 5.3.2 no service here\r\n")
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: mail.Address{Email: "a@carepass.example"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Text: "Hello"})
	if !errors.Is(err, mail.ErrSend) || !errors.Is(err, mail.ErrRejected) {
		t.Errorf("Send = %v, want ErrSend and ErrRejected", err)
	}
}

func TestStartTLSRequiredWhenAsked(t *testing.T) {
	// The sink does not offer STARTTLS: a sender configured for it must
	// refuse rather than send in the clear.
	sink := mailtest.Start(t)
	host, port := sink.Addr()
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, From: mail.Address{Email: "a@carepass.example"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Text: "Hello"})
	if !errors.Is(err, mail.ErrSend) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Send = %v, want ErrSend about STARTTLS", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink got %d messages in the clear", n)
	}
}

func TestConnectionRefusedWrapsErrSend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: mail.Address{Email: "a@carepass.example"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Text: "Hello"})
	if !errors.Is(err, mail.ErrSend) || errors.Is(err, mail.ErrRejected) {
		t.Errorf("Send = %v, want a retryable ErrSend", err)
	}
}

func TestSubjectsRoundTrip(t *testing.T) {
	sink := mailtest.Start(t)
	s := newSender(t, sink)
	subjects := map[string]string{
		"empty":                     "",
		"long ASCII":                strings.TrimSpace(strings.Repeat("Your training record was updated ", 8)),
		"ASCII that looks encoded":  "Ref =?UTF-8?Q?x?= stays as typed",
		"long word without spaces":  strings.Repeat("ŵ", 300),
		"leading and double spaces": "  two  spaces  ",
	}
	for name, subject := range subjects {
		t.Run(name, func(t *testing.T) {
			sink.Reset()
			m := mail.Message{To: []mail.Address{{Email: "sam@example.org"}}, Subject: subject, Text: "Hello"}
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := sink.WaitFor(t, 1, 5*time.Second)[0]
			// Readers trim white space around a header value; inside it
			// every character survives folding and encoding.
			if r.Subject != strings.TrimSpace(subject) {
				t.Errorf("Subject = %q, want %q", r.Subject, subject)
			}
			checkWireFormat(t, r.Raw)
		})
	}

	err := s.Send(context.Background(), mail.Message{
		To: []mail.Address{{Email: "sam@example.org"}}, Subject: strings.Repeat("a", 1000), Text: "Hello",
	})
	if !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("Send with a 1000-character word in the subject = %v, want ErrInvalid", err)
	}
}
