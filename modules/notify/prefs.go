package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
)

// Paths of the public preference pages. The token follows PreferencesPath;
// UnsubscribePath takes it in the query (?t=), so the one-click POST has an
// exact path to exempt from the CSRF check.
const (
	PreferencesPath = "/mail/preferences/"
	UnsubscribePath = "/mail/unsubscribe"
)

// Whose preferences a token names: a person (a holder, in every tenant
// that enrols them) or an account (a manager).
const (
	subjectPerson  byte = 'p'
	subjectAccount byte = 'a'
)

type subject struct {
	kind byte
	id   uuid.UUID
}

// macBytes is the length of a token's MAC: 128 bits.
const macBytes = 16

// tokenBytes is a token's length before encoding: kind, id, MAC.
const tokenBytes = 1 + 16 + macBytes

func (n *Notifier) mac(s subject) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("carepass mail preferences v1\x00"))
	m.Write([]byte{s.kind})
	m.Write(s.id[:])
	return m.Sum(nil)[:macBytes]
}

// token returns the signed token of a subject's preference links. It does
// not expire: an unsubscribe link must keep working.
func (n *Notifier) token(s subject) string {
	raw := make([]byte, 0, tokenBytes)
	raw = append(raw, s.kind)
	raw = append(raw, s.id[:]...)
	raw = append(raw, n.mac(s)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// parseToken checks a token's signature and returns its subject.
func (n *Notifier) parseToken(tok string) (subject, bool) {
	if len(tok) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return subject{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != tokenBytes {
		return subject{}, false
	}
	s := subject{kind: raw[0]}
	copy(s.id[:], raw[1:17])
	if (s.kind != subjectPerson && s.kind != subjectAccount) || s.id == uuid.Nil || !hmac.Equal(raw[17:], n.mac(s)) {
		return subject{}, false
	}
	return s, true
}

// Preferences are the emails someone chose to get. Essential emails
// (booking confirmations and cancellations) are not a choice.
type Preferences struct {
	// Reminders: the day-before reminder of a session, and reminders that
	// a competency is about to expire.
	Reminders bool
}

// errBadLink is the one answer for a preference link that cannot be used.
var errBadLink = errs.E(errs.NotFound, "This link is not valid")

// Preferences returns the choices of the person or account a preference
// link's token names; a token that is not valid is errs.NotFound.
func (n *Notifier) Preferences(ctx context.Context, token string) (Preferences, error) {
	s, ok := n.parseToken(token)
	if !ok {
		return Preferences{}, errBadLink
	}
	var p Preferences
	err := n.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := n.exists(tx, s); err != nil {
			return err
		}
		var err error
		p.Reminders, err = wantsReminders(tx, s)
		return err
	})
	return p, err
}

// SetReminders records whether the person or account the token names gets
// reminder emails, auditing the change on the platform's chain. via says
// how ("page" or "one_click").
func (n *Notifier) SetReminders(ctx context.Context, token string, on bool, via string) error {
	s, ok := n.parseToken(token)
	if !ok {
		return errBadLink
	}
	return n.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := n.exists(tx, s); err != nil {
			return err
		}
		col, object := "person_id", "person"
		if s.kind == subjectAccount {
			col, object = "account_id", "account"
		}
		// col is one of two constants, never input.
		err := tx.Exec(`INSERT INTO mail_preferences (id, `+col+`, reminders, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (`+col+`) DO UPDATE SET reminders = EXCLUDED.reminders, updated_at = EXCLUDED.updated_at`,
			newID(), s.id, on, n.now().UTC()).Error
		if err != nil {
			return storeErr("save preferences", err)
		}
		state := "off"
		if on {
			state = "on"
		}
		return n.audit.RecordPlatform(ctx, tx, audit.Event{Action: "mail.preferences", ObjectType: object,
			ObjectID: s.id.String(), Detail: map[string]string{"reminders": state, "via": via}})
	})
}

// exists answers errBadLink when the token's person or account is gone.
func (n *Notifier) exists(tx *gorm.DB, s subject) error {
	q := `SELECT EXISTS (SELECT 1 FROM persons WHERE id = ?)`
	if s.kind == subjectAccount {
		q = `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`
	}
	var ok bool
	if err := tx.Raw(q, s.id).Row().Scan(&ok); err != nil {
		return storeErr("find preferences", err)
	}
	if !ok {
		return errBadLink
	}
	return nil
}

// wantsReminders reports whether s gets reminder emails: yes unless they
// said no.
func wantsReminders(tx *gorm.DB, s subject) (bool, error) {
	col := "person_id"
	if s.kind == subjectAccount {
		col = "account_id"
	}
	var rows []bool
	if err := tx.Raw(`SELECT reminders FROM mail_preferences WHERE `+col+` = ?`, s.id).Scan(&rows).Error; err != nil {
		return false, storeErr("read preferences", err)
	}
	return len(rows) == 0 || rows[0], nil
}
