package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// Config sets session lifetimes and sign-in throttling.
type Config struct {
	IdleTimeout     time.Duration // default 30 minutes
	AbsoluteTimeout time.Duration // default 12 hours
	AccountLimit    int           // failed sign-ins per account per window, default 5
	ClientLimit     int           // failed sign-ins per client address per window, default 30
	ThrottleWindow  time.Duration // default 15 minutes
	Now             func() time.Time
}

func (c *Config) defaults() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.AbsoluteTimeout == 0 {
		c.AbsoluteTimeout = 12 * time.Hour
	}
	if c.AccountLimit == 0 {
		c.AccountLimit = 5
	}
	if c.ClientLimit == 0 {
		c.ClientLimit = 30
	}
	if c.ThrottleWindow == 0 {
		c.ThrottleWindow = 15 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Service manages accounts and their sessions.
type Service struct {
	db    *tenants.DB
	audit *audit.Log
	cfg   Config
}

// NewService returns a Service.
func NewService(db *tenants.DB, log *audit.Log, cfg Config) *Service {
	cfg.defaults()
	return &Service{db: db, audit: log, cfg: cfg}
}

// Client is who is on the other end of a request.
type Client struct {
	IP        string
	UserAgent string
}

// Session is a signed-in browser.
type Session struct {
	ID         uuid.UUID
	AccountID  uuid.UUID
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

type sessionRow struct {
	ID         uuid.UUID
	TokenHash  []byte
	AccountID  uuid.UUID
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	ClientIP   string
	UserAgent  string
}

func (sessionRow) TableName() string { return "sessions" }

// ErrSignIn is the one message for every failed sign-in, so a failure never
// tells whether the account exists or is throttled.
const ErrSignIn = "Enter a correct email address and password. After several failed attempts you must wait 15 minutes."

// HashToken returns the stored form of a session or invitation token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewToken returns 256 bits of randomness, URL-safe.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("account: crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create makes a new active account with a password, inside tx.
func (s *Service) Create(ctx context.Context, tx *gorm.DB, email, name, password string) (Account, error) {
	var fe []errs.FieldError
	norm := NormaliseEmail(email)
	if norm == "" {
		fe = append(fe, errs.FieldError{Field: "email", Message: "Enter an email address in the correct format, like name@example.org"})
	}
	if msg := ValidatePassword(password); msg != "" {
		fe = append(fe, errs.FieldError{Field: "password", Message: msg})
	}
	if len(name) > 120 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "Name must be 120 characters or fewer"})
	}
	if len(fe) > 0 {
		return Account{}, errs.Validation(fe...)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	now := s.cfg.Now().UTC()
	r := row{ID: uuid.Must(uuid.NewV7()), Email: norm, Name: name, PasswordHash: hash, Status: string(StatusActive),
		PasswordChangedAt: &now, CreatedAt: now, UpdatedAt: now}
	if err := tx.WithContext(ctx).Create(&r).Error; err != nil {
		if _, ok := pg.IsUniqueViolation(err); ok {
			return Account{}, errs.Validation(errs.FieldError{Field: "email", Message: "An account with this email address already exists"})
		}
		return Account{}, storeErr("create account", err)
	}
	return r.account(), nil
}

// ByEmail returns the account with email (case-insensitive), inside tx.
func (s *Service) ByEmail(ctx context.Context, tx *gorm.DB, email string) (Account, error) {
	r, err := s.rowByEmail(ctx, tx, email)
	if err != nil {
		return Account{}, err
	}
	return r.account(), nil
}

func (s *Service) rowByEmail(ctx context.Context, tx *gorm.DB, email string) (row, error) {
	var r row
	err := tx.WithContext(ctx).Where("lower(email) = ?", NormaliseEmail(email)).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row{}, errs.E(errs.NotFound, "No account has that email address")
	}
	if err != nil {
		return row{}, storeErr("read account", err)
	}
	return r, nil
}

// ByID returns the account with id.
func (s *Service) ByID(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Account, error) {
	var r row
	err := tx.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Account{}, errs.E(errs.NotFound, "No such account")
	}
	if err != nil {
		return Account{}, storeErr("read account", err)
	}
	return r.account(), nil
}

// SetPassword replaces an account's password and ends all its sessions,
// inside tx. It is used by the operator's command line and by password change.
func (s *Service) SetPassword(ctx context.Context, tx *gorm.DB, id uuid.UUID, password string) error {
	if msg := ValidatePassword(password); msg != "" {
		return errs.Validation(errs.FieldError{Field: "password", Message: msg})
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	res := tx.WithContext(ctx).Exec(`UPDATE accounts SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?`, hash, now, now, id)
	if res.Error != nil {
		return storeErr("set password", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "No such account")
	}
	return s.revokeAll(ctx, tx, id)
}

// PasswordMatches reports whether password is the account's password, inside tx.
func (s *Service) PasswordMatches(ctx context.Context, tx *gorm.DB, id uuid.UUID, password string) (bool, error) {
	var hash string
	if err := tx.WithContext(ctx).Raw(`SELECT password_hash FROM accounts WHERE id = ?`, id).Row().Scan(&hash); err != nil {
		return false, storeErr("read account", err)
	}
	return CheckPassword(hash, password), nil
}

// SetStatus enables or disables an account; disabling ends all its sessions.
func (s *Service) SetStatus(ctx context.Context, tx *gorm.DB, id uuid.UUID, st Status) error {
	res := tx.WithContext(ctx).Exec(`UPDATE accounts SET status = ?, updated_at = ? WHERE id = ?`, string(st), s.cfg.Now().UTC(), id)
	if res.Error != nil {
		return storeErr("set account status", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "No such account")
	}
	if st == StatusDisabled {
		return s.revokeAll(ctx, tx, id)
	}
	return nil
}

func (s *Service) revokeAll(ctx context.Context, tx *gorm.DB, accountID uuid.UUID) error {
	err := tx.WithContext(ctx).Exec(`UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL`,
		s.cfg.Now().UTC(), accountID).Error
	if err != nil {
		return storeErr("revoke sessions", err)
	}
	return nil
}

// SignIn checks credentials under throttling and starts a session. Every
// failure returns the same Unauthenticated (or TooMany) error with ErrSignIn.
func (s *Service) SignIn(ctx context.Context, email, password string, cl Client) (string, Account, error) {
	norm := NormaliseEmail(email)
	var token string
	var acct Account
	var failed error
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		now := s.cfg.Now().UTC()
		keys := []throttleKey{{"client:" + cl.IP, s.cfg.ClientLimit}, {"account:" + norm, s.cfg.AccountLimit}}
		for _, k := range keys {
			blocked, err := s.throttled(ctx, tx, k, now)
			if err != nil {
				return err
			}
			if blocked {
				failed = errs.E(errs.TooMany, ErrSignIn)
				return s.audit.RecordPlatform(ctx, tx, audit.Event{Action: "account.signin", Outcome: audit.Denied,
					ActorLabel: norm, Detail: map[string]string{"reason": "throttled"}})
			}
		}
		r, err := s.rowByEmail(ctx, tx, norm)
		switch {
		case errs.Is(err, errs.NotFound):
			CheckPassword(dummyHash, password)
		case err != nil:
			return err
		}
		if err != nil || !CheckPassword(r.PasswordHash, password) || r.Status != string(StatusActive) {
			for _, k := range keys {
				if err := s.fail(ctx, tx, k.key, now); err != nil {
					return err
				}
			}
			failed = errs.E(errs.Unauthenticated, ErrSignIn)
			ev := audit.Event{Action: "account.signin", Outcome: audit.Failure, ActorLabel: norm}
			if r.ID != uuid.Nil {
				ev.ObjectType, ev.ObjectID = "account", r.ID.String()
			}
			return s.audit.RecordPlatform(ctx, tx, ev)
		}
		if err := tx.Exec(`DELETE FROM signin_throttle WHERE key = ?`, "account:"+norm).Error; err != nil {
			return storeErr("reset throttle", err)
		}
		token = NewToken()
		if err := tx.Create(&sessionRow{ID: uuid.Must(uuid.NewV7()), TokenHash: HashToken(token), AccountID: r.ID,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.AbsoluteTimeout),
			ClientIP: cl.IP, UserAgent: truncate(cl.UserAgent, 256)}).Error; err != nil {
			return storeErr("create session", err)
		}
		acct = r.account()
		actx := tenants.WithActor(ctx, r.ID)
		return s.audit.RecordPlatform(actx, tx, audit.Event{Action: "account.signin", ObjectType: "account", ObjectID: r.ID.String()})
	})
	if err != nil {
		return "", Account{}, err
	}
	if failed != nil {
		return "", Account{}, failed
	}
	return token, acct, nil
}

// StartSession issues a new session for an account that has just proved who
// it is another way (accepting an invitation, changing a password).
func (s *Service) StartSession(ctx context.Context, tx *gorm.DB, accountID uuid.UUID, cl Client) (string, error) {
	now := s.cfg.Now().UTC()
	token := NewToken()
	if err := tx.WithContext(ctx).Create(&sessionRow{ID: uuid.Must(uuid.NewV7()), TokenHash: HashToken(token), AccountID: accountID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.AbsoluteTimeout),
		ClientIP: cl.IP, UserAgent: truncate(cl.UserAgent, 256)}).Error; err != nil {
		return "", storeErr("create session", err)
	}
	return token, nil
}

// touchEvery limits last-seen writes to one a minute per session.
const touchEvery = time.Minute

// Authenticate returns the live session and active account for token, or an
// Unauthenticated error when the session is unknown, revoked, idle too long,
// past its absolute limit, or its account is disabled.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, Account, error) {
	ended := errs.E(errs.Unauthenticated, "Your session has ended. Sign in to continue")
	if token == "" {
		return Session{}, Account{}, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	// Every request pays for this: plain statements, no transaction.
	db := s.db.PlatformRead(ctx)
	var r sessionRow
	var email, name, status string
	var created time.Time
	err := db.Raw(`SELECT s.id, s.account_id, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at,
			a.email, a.name, a.status, a.created_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = ?`, HashToken(token)).Row().Scan(&r.ID, &r.AccountID, &r.CreatedAt, &r.LastSeenAt,
		&r.ExpiresAt, &r.RevokedAt, &email, &name, &status, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, Account{}, ended
	}
	if err != nil {
		return Session{}, Account{}, storeErr("read session", err)
	}
	now := s.cfg.Now().UTC()
	if r.RevokedAt != nil || status != string(StatusActive) ||
		!now.Before(r.ExpiresAt) || !now.Before(r.LastSeenAt.Add(s.cfg.IdleTimeout)) {
		return Session{}, Account{}, ended
	}
	if now.Sub(r.LastSeenAt) >= touchEvery {
		if err := db.Exec(`UPDATE sessions SET last_seen_at = ? WHERE id = ?`, now, r.ID).Error; err != nil {
			return Session{}, Account{}, storeErr("touch session", err)
		}
		r.LastSeenAt = now
	}
	return Session{ID: r.ID, AccountID: r.AccountID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt},
		Account{ID: r.AccountID, Email: email, Name: name, Status: Status(status), CreatedAt: created}, nil
}

// SignOut ends the session for token.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.db.Platform(ctx, func(tx *gorm.DB) error {
		var accountID uuid.UUID
		err := tx.Raw(`UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL RETURNING account_id`,
			s.cfg.Now().UTC(), HashToken(token)).Row().Scan(&accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return storeErr("sign out", err)
		}
		return s.audit.RecordPlatform(tenants.WithActor(ctx, accountID), tx,
			audit.Event{Action: "account.signout", ObjectType: "account", ObjectID: accountID.String()})
	})
}

// SignOutEverywhere ends every session of an account.
func (s *Service) SignOutEverywhere(ctx context.Context, accountID uuid.UUID) error {
	return s.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := s.revokeAll(ctx, tx, accountID); err != nil {
			return err
		}
		return s.audit.RecordPlatform(tenants.WithActor(ctx, accountID), tx,
			audit.Event{Action: "account.signout_everywhere", ObjectType: "account", ObjectID: accountID.String()})
	})
}

// ChangePassword checks the current password, sets the new one, ends every
// session and returns a fresh one so this browser stays signed in.
func (s *Service) ChangePassword(ctx context.Context, accountID uuid.UUID, current, next string, cl Client) (string, error) {
	var token string
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		var hash string
		if err := tx.Raw(`SELECT password_hash FROM accounts WHERE id = ?`, accountID).Scan(&hash).Error; err != nil {
			return storeErr("read account", err)
		}
		var fe []errs.FieldError
		if !CheckPassword(hash, current) {
			fe = append(fe, errs.FieldError{Field: "current", Message: "Your current password is not right"})
		}
		if msg := ValidatePassword(next); msg != "" {
			fe = append(fe, errs.FieldError{Field: "password", Message: msg})
		} else if next == current {
			fe = append(fe, errs.FieldError{Field: "password", Message: "Choose a password different from your current one"})
		}
		if len(fe) > 0 {
			return errs.Validation(fe...)
		}
		if err := s.SetPassword(ctx, tx, accountID, next); err != nil {
			return err
		}
		var err error
		if token, err = s.StartSession(ctx, tx, accountID, cl); err != nil {
			return err
		}
		return s.audit.RecordPlatform(tenants.WithActor(ctx, accountID), tx,
			audit.Event{Action: "account.password_change", ObjectType: "account", ObjectID: accountID.String()})
	})
	return token, err
}

type throttleKey struct {
	key   string
	limit int
}

func (s *Service) throttled(ctx context.Context, tx *gorm.DB, k throttleKey, now time.Time) (bool, error) {
	var failures int
	err := tx.WithContext(ctx).Raw(`SELECT failures FROM signin_throttle WHERE key = ? AND window_start > ?`,
		k.key, now.Add(-s.cfg.ThrottleWindow)).Scan(&failures).Error
	if err != nil {
		return false, storeErr("read throttle", err)
	}
	return failures >= k.limit, nil
}

func (s *Service) fail(ctx context.Context, tx *gorm.DB, key string, now time.Time) error {
	err := tx.WithContext(ctx).Exec(`INSERT INTO signin_throttle (key, window_start, failures) VALUES (?, ?, 1)
		ON CONFLICT (key) DO UPDATE SET
		  failures = CASE WHEN signin_throttle.window_start > ? THEN signin_throttle.failures + 1 ELSE 1 END,
		  window_start = CASE WHEN signin_throttle.window_start > ? THEN signin_throttle.window_start ELSE EXCLUDED.window_start END`,
		key, now, now.Add(-s.cfg.ThrottleWindow), now.Add(-s.cfg.ThrottleWindow)).Error
	if err != nil {
		return storeErr("count failure", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func storeErr(op string, err error) error {
	return pg.StoreErr("account", op, err)
}
