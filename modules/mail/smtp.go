package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"time"
)

// TLSMode says how an SMTP connection is protected.
type TLSMode string

// TLS modes.
const (
	// TLSNone sends in the clear: for a mail catcher on this machine. With
	// credentials it is refused unless Host is a loopback address.
	TLSNone TLSMode = "none"
	// TLSStartTLS connects in the clear (usually port 587) and upgrades with
	// STARTTLS before anything else is said; a server that does not offer
	// STARTTLS is an error, never a silent downgrade. The default.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (usually port 465).
	TLSImplicit TLSMode = "tls"
)

// DefaultTimeout bounds one Send when SMTPConfig.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// SMTPConfig configures an SMTP sender.
type SMTPConfig struct {
	// Host and Port of the submission server, e.g. "smtp.example.org", 587.
	Host string
	Port int
	// Username and Password for AUTH PLAIN; leave both empty when the
	// server needs no authentication. Only sent over TLS, or in the clear
	// to a loopback host.
	Username string
	Password string
	// From is the sender, in the From header and as the envelope sender.
	// Its domain also ends generated Message-IDs.
	From Address
	// TLS is "none", "starttls" or "tls"; empty means "starttls".
	TLS TLSMode
	// TLSConfig, when set, is used (cloned) for the TLS handshake, e.g. to
	// trust a private CA; ServerName defaults to Host. Nil means the
	// system roots, TLS 1.2 or later.
	TLSConfig *tls.Config
	// Timeout bounds a whole Send: dial, TLS, every command and the data.
	// The context's deadline applies too when it is earlier. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// HelloName is the name given in EHLO; empty means "localhost".
	HelloName string
	// Now is the clock for the Date header; nil means time.Now.
	Now func() time.Time
}

// SMTP sends messages through an SMTP submission server, one connection
// per message. It is safe for concurrent use.
type SMTP struct {
	cfg  SMTPConfig
	addr string
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns a sender. An invalid configuration wraps
// ErrInvalid.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, invalid("SMTP host is empty")
	}
	if err := checkHeaderText("SMTP host", cfg.Host); err != nil {
		return nil, err
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, invalid("SMTP port %d is out of range", cfg.Port)
	}
	if err := cfg.From.validate("sender"); err != nil {
		return nil, err
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, invalid("TLS mode %q is not one of none, starttls, tls", cfg.TLS)
	}
	if cfg.Timeout < 0 {
		return nil, invalid("timeout %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, invalid("set both SMTP username and password, or neither")
	}
	if err := checkHeaderText("SMTP username", cfg.Username); err != nil {
		return nil, err
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !isLoopback(cfg.Host) {
		return nil, invalid("SMTP credentials would be sent in the clear to %s: use starttls or tls", cfg.Host)
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if err := checkHeaderText("EHLO name", cfg.HelloName); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	} else {
		cfg.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.TLSConfig.ServerName == "" {
		cfg.TLSConfig.ServerName = cfg.Host
	}
	return &SMTP{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send validates m, composes it and delivers it in one SMTP session, within
// the configured timeout and ctx's deadline; cancelling ctx aborts it. A
// message found invalid wraps ErrInvalid; every delivery failure wraps
// ErrSend, and a permanent (5xx) refusal wraps ErrRejected as well.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	raw, err := compose(s.cfg.From, m, s.cfg.Now())
	if err != nil {
		return err
	}
	rcpts := make([]string, len(m.To))
	for i, a := range m.To {
		rcpts[i] = a.Email
	}
	return s.deliver(ctx, rcpts, raw)
}

// deliver runs one SMTP session.
func (s *SMTP) deliver(ctx context.Context, rcpts []string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, "start", err)
	}
	deadline, _ := ctx.Deadline()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer conn.Close()
	// The deadline covers every read and write of the session; cancelling
	// ctx pulls it in to now, which unblocks whatever is waiting.
	if err := conn.SetDeadline(deadline); err != nil {
		return s.fail(ctx, "connect", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.cfg.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return s.fail(ctx, "TLS handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return s.fail(ctx, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return s.fail(ctx, "EHLO", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return s.fail(ctx, "STARTTLS", errors.New("server does not offer STARTTLS"))
		}
		if err := c.StartTLS(s.cfg.TLSConfig); err != nil {
			return s.fail(ctx, "STARTTLS", err)
		}
	}
	if s.cfg.Username != "" {
		auth := smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)
		if err := c.Auth(auth); err != nil {
			return s.fail(ctx, "AUTH", err)
		}
	}
	if err := c.Mail(s.cfg.From.Email); err != nil {
		return s.fail(ctx, "MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return s.fail(ctx, "RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		_ = w.Close()
		return s.fail(ctx, "message", err)
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, "end of data", err)
	}
	// The server has taken the message: a failed QUIT must not make the
	// caller send it again.
	_ = c.Quit()
	return nil
}

// fail wraps a delivery error in ErrSend, adds ErrRejected for a permanent
// reply, and names the context's error when the context ended the session.
func (s *SMTP) fail(ctx context.Context, step string, err error) error {
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(d) {
		// The socket deadline is the context's: it can fire first.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", cerr, err)
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("%w: %w: %s %s: %w", ErrSend, ErrRejected, s.addr, step, err)
	}
	return fmt.Errorf("%w: %s %s: %w", ErrSend, s.addr, step, err)
}
