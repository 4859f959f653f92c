package holder

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// ClaimTTL is how long a link to claim a passport can be used.
const ClaimTTL = 14 * 24 * time.Hour

// MsgInvalidClaim is the one answer for a claim link that is unknown,
// expired, replaced or already used, so the answer never tells which.
const MsgInvalidClaim = "This link to claim a passport is not valid. Ask the organisation that sent it for a new one."

// Accounts is what claiming needs of the platform's accounts;
// *account.Service provides it.
type Accounts interface {
	Create(ctx context.Context, tx *gorm.DB, email, name, password string) (account.Account, error)
	StartSession(ctx context.Context, tx *gorm.DB, accountID uuid.UUID, cl account.Client) (string, error)
	SignIn(ctx context.Context, email, password string, cl account.Client) (string, account.Account, error)
}

// Claims invites holders to claim a Carepass account and links the account
// to their person when they do. A person whose account already holds a
// passport from another tenant becomes one person with it: the enrolment
// and its records move to that person inside the enrolling tenant's own
// transaction, so neither tenant learns of the other.
type Claims struct {
	db        *tenants.DB
	tenants   *tenants.Store
	accounts  Accounts
	audit     *audit.Log
	now       func() time.Time
	publicURL string
}

// ClaimOption configures Claims.
type ClaimOption func(*Claims)

// WithPublicURL sets the scheme and host of claim links
// ("https://carepass.example"). Without it, links use the address of the
// request that made them.
func WithPublicURL(u string) ClaimOption {
	return func(c *Claims) { c.publicURL = strings.TrimRight(u, "/") }
}

// NewClaims returns Claims; now is the clock (time.Now when nil).
func NewClaims(db *tenants.DB, store *tenants.Store, accounts Accounts, log *audit.Log, now func() time.Time,
	opts ...ClaimOption) *Claims {
	if now == nil {
		now = time.Now
	}
	c := &Claims{db: db, tenants: store, accounts: accounts, audit: log, now: now}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *Claims) clock() time.Time { return c.now().UTC().Truncate(time.Microsecond) }

// ClaimLink is a new invitation to claim: its token exists only here.
type ClaimLink struct {
	ID        uuid.UUID
	HolderID  uuid.UUID
	Token     string
	ExpiresAt time.Time
}

// URL returns the link to send the holder; base is the scheme and host to
// use when no public URL is configured.
func (c *Claims) URL(base, slug, token string) string {
	if c.publicURL != "" {
		base = c.publicURL
	}
	return strings.TrimRight(base, "/") + "/claim/" + url.PathEscape(slug) + "/" + url.PathEscape(token)
}

// Invite creates a single-use link, valid for ClaimTTL, for the holder to
// claim an account; an earlier pending link for the holder stops working.
// A holder who has left, or who has already claimed, is a Conflict.
// Audited as holder.claim_invite.
func (c *Claims) Invite(ctx context.Context, holderID uuid.UUID) (ClaimLink, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return ClaimLink{}, err
	}
	var out ClaimLink
	err = c.db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := getRow(tx, t.ID, holderID, true)
		if err != nil {
			return err
		}
		if r.Status == StatusLeft {
			return errs.E(errs.Conflict, r.GivenName+" "+r.FamilyName+" has left. Mark them as active before inviting them to claim their passport.")
		}
		var claimed bool
		if err := tx.Raw(`SELECT account_id IS NOT NULL FROM persons WHERE id = ?`, r.PersonID).Row().Scan(&claimed); err != nil {
			return storeErr("read person", err)
		}
		if claimed {
			return errs.E(errs.Conflict, r.GivenName+" "+r.FamilyName+" already has a Carepass account linked to this passport.")
		}
		now := c.clock()
		res := tx.Exec(`UPDATE holder_claims SET expires_at = ?
			WHERE tenant_id = ? AND holder_id = ? AND claimed_at IS NULL AND expires_at > ?`, now, t.ID, holderID, now)
		if res.Error != nil {
			return storeErr("replace claim links", res.Error)
		}
		token := account.NewToken()
		out = ClaimLink{ID: uuid.Must(uuid.NewV7()), HolderID: holderID, Token: token, ExpiresAt: now.Add(ClaimTTL)}
		if err := tx.Exec(`INSERT INTO holder_claims (tenant_id, id, holder_id, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.ID, out.ID, holderID, account.HashToken(token), now, out.ExpiresAt).Error; err != nil {
			return storeErr("create claim link", err)
		}
		detail := map[string]string{"claim": out.ID.String(), "expires_at": out.ExpiresAt.Format(time.RFC3339)}
		if res.RowsAffected > 0 {
			detail["replaced"] = fmt.Sprint(res.RowsAffected)
		}
		return c.audit.Record(ctx, tx, audit.Event{Action: "holder.claim_invite", ObjectType: "holder", ObjectID: holderID.String(),
			Detail: detail})
	})
	return out, err
}

// Claim modes: how the person opening a claim link proves who they are.
const (
	ClaimSignedIn   = "signed_in"   // the browser is signed in; the link is claimed for that account
	ClaimSignIn     = "sign_in"     // the person signs in to an existing account
	ClaimNewAccount = "new_account" // the person creates an account
)

// Pending is a claim link as the person who opens it sees it.
type Pending struct {
	TenantName string
	GivenName  string
	Email      string // the email address the tenant recorded, to suggest
	ExpiresAt  time.Time
}

// Open returns the pending claim for token in the tenant in ctx, or
// NotFound with MsgInvalidClaim.
func (c *Claims) Open(ctx context.Context, token string) (Pending, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return Pending{}, err
	}
	if token == "" {
		return Pending{}, errs.E(errs.NotFound, MsgInvalidClaim)
	}
	p := Pending{TenantName: t.Name}
	err = c.db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Raw(`SELECT h.given_name, h.email, c.expires_at
			FROM holder_claims c JOIN holders h ON h.tenant_id = c.tenant_id AND h.id = c.holder_id
			WHERE c.tenant_id = ? AND c.token_hash = ? AND c.claimed_at IS NULL AND c.expires_at > ?`,
			t.ID, account.HashToken(token), c.clock()).Row().Scan(&p.GivenName, &p.Email, &p.ExpiresAt)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, MsgInvalidClaim)
		}
		if err != nil {
			return storeErr("read claim link", err)
		}
		return nil
	})
	return p, err
}

// ClaimInput is what the person claiming submits.
type ClaimInput struct {
	Mode     string // ClaimSignedIn, ClaimSignIn or ClaimNewAccount
	Name     string // ClaimNewAccount
	Email    string // ClaimSignIn and ClaimNewAccount
	Password string // ClaimSignIn and ClaimNewAccount
	Confirm  string // ClaimNewAccount
}

func (in ClaimInput) validate() error {
	var fe []errs.FieldError
	switch in.Mode {
	case ClaimSignIn:
		if strings.TrimSpace(in.Email) == "" {
			fe = append(fe, errs.FieldError{Field: "email", Message: "Enter your email address"})
		}
		if in.Password == "" {
			fe = append(fe, errs.FieldError{Field: "password", Message: "Enter your password"})
		}
	case ClaimNewAccount:
		name := strings.TrimSpace(in.Name)
		switch {
		case name == "":
			fe = append(fe, errs.FieldError{Field: "name", Message: "Enter your full name"})
		case utf8.RuneCountInString(name) > 120:
			fe = append(fe, errs.FieldError{Field: "name", Message: "Name must be 120 characters or fewer"})
		}
		if strings.TrimSpace(in.Email) == "" {
			fe = append(fe, errs.FieldError{Field: "email", Message: "Enter your email address"})
		}
		if in.Password == "" {
			fe = append(fe, errs.FieldError{Field: "password", Message: "Enter a password"})
		} else if in.Confirm != in.Password {
			fe = append(fe, errs.FieldError{Field: "confirm", Message: "The passwords do not match"})
		}
	case ClaimSignedIn:
	default:
		return errs.E(errs.Invalid, "Choose how to claim your passport")
	}
	if len(fe) > 0 {
		return errs.Validation(fe...)
	}
	return nil
}

// Claim claims the passport behind token in the tenant in ctx for an
// account: the signed-in one, an existing one the person signs in to, or a
// new one. In one transaction scoped to that tenant it uses up the link and
// links the account to the holder's person or, when the account already has
// a person (from a claim at another tenant), moves the enrolment and its
// competency records to that person. It returns a new session token when
// the person signed in or created an account. Audited as holder.claim.
func (c *Claims) Claim(ctx context.Context, token string, in ClaimInput, cl account.Client) (string, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return "", err
	}
	if t.Suspended() {
		return "", errs.E(errs.ReadOnly, t.Name+" is suspended on Carepass, so passports cannot be claimed from it at the moment. Try the link again later.")
	}
	if _, err := c.Open(ctx, token); err != nil {
		return "", err
	}
	if err := in.validate(); err != nil {
		return "", err
	}
	var (
		session string
		acctID  uuid.UUID
	)
	switch in.Mode {
	case ClaimSignedIn:
		actor, ok := tenants.ActorFrom(ctx)
		if !ok {
			return "", errs.E(errs.Unauthenticated, "Sign in to continue")
		}
		acctID = actor
	case ClaimSignIn:
		// Signing in checks the password under the account package's
		// throttling and starts the session.
		tok, acct, err := c.accounts.SignIn(ctx, in.Email, in.Password, cl)
		if errs.Is(err, errs.Unauthenticated) || errs.Is(err, errs.TooMany) {
			return "", errs.Validation(errs.FieldError{Field: "email", Message: account.ErrSignIn})
		}
		if err != nil {
			return "", fmt.Errorf("holder: claim: %w", err)
		}
		session, acctID = tok, acct.ID
	}
	err = c.db.Tx(ctx, func(tx *gorm.DB) error {
		if in.Mode == ClaimNewAccount {
			acct, err := c.accounts.Create(ctx, tx, in.Email, strings.TrimSpace(in.Name), in.Password)
			if err != nil {
				if fe := errs.FieldsOf(err); len(fe) > 0 && fe[0].Field == "email" && strings.Contains(fe[0].Message, "already exists") {
					return errs.Validation(errs.FieldError{Field: "email",
						Message: "An account with this email address already exists. Sign in to it instead"})
				}
				return err
			}
			acctID = acct.ID
		}
		if err := c.claim(tenants.WithActor(ctx, acctID), tx, t, token, acctID); err != nil {
			return err
		}
		if in.Mode == ClaimNewAccount {
			var err error
			session, err = c.accounts.StartSession(ctx, tx, acctID, cl)
			return err
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return session, nil
}

// claim uses up the link and links acct to the holder's person, inside tx.
func (c *Claims) claim(ctx context.Context, tx *gorm.DB, t tenants.Tenant, token string, acct uuid.UUID) error {
	now := c.clock()
	var claimID, holderID uuid.UUID
	err := tx.Raw(`UPDATE holder_claims SET claimed_at = ?
		WHERE tenant_id = ? AND token_hash = ? AND claimed_at IS NULL AND expires_at > ?
		RETURNING id, holder_id`, now, t.ID, account.HashToken(token), now).Row().Scan(&claimID, &holderID)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, MsgInvalidClaim)
	}
	if err != nil {
		return storeErr("use claim link", err)
	}
	h, err := getRow(tx, t.ID, holderID, true)
	if err != nil {
		return err
	}
	// One claim at a time per account, so two tenants' links claimed at
	// once cannot both make the account a person.
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "person-account:"+acct.String()).Error; err != nil {
		return storeErr("lock", err)
	}
	var owner *uuid.UUID
	if err := tx.Raw(`SELECT account_id FROM persons WHERE id = ? FOR UPDATE`, h.PersonID).Row().Scan(&owner); err != nil {
		return storeErr("read person", err)
	}
	var existing uuid.UUID
	err = tx.Raw(`SELECT id FROM persons WHERE account_id = ?`, acct).Row().Scan(&existing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storeErr("read account's person", err)
	}
	outcome := "linked"
	switch {
	case owner != nil && *owner == acct:
		outcome = "already_linked"
	case owner != nil:
		return errs.E(errs.Conflict, "This passport has already been claimed with a different Carepass account. "+
			"If that was not you, contact "+t.Name+".")
	case existing != uuid.Nil:
		// The account is already a person through another tenant: this
		// enrolment and its records join that person.
		res := tx.Exec(`UPDATE holders SET person_id = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			existing, now, t.ID, h.ID)
		if res.Error != nil {
			if c, ok := pg.IsUniqueViolation(res.Error); ok && c == "holders_one_enrolment" {
				return errs.E(errs.Conflict, "Your Carepass account is already linked to another holder record at "+t.Name+
					". Ask them to combine the two records.")
			}
			return storeErr("move enrolment", res.Error)
		}
		if err := tx.Exec(`UPDATE competency_records SET person_id = ?, updated_at = ?
			WHERE tenant_id = ? AND holder_id = ? AND person_id = ?`, existing, now, t.ID, h.ID, h.PersonID).Error; err != nil {
			return storeErr("move records", err)
		}
		outcome = "merged"
	default:
		res := tx.Exec(`UPDATE persons SET account_id = ? WHERE id = ? AND account_id IS NULL`, acct, h.PersonID)
		if res.Error != nil {
			return storeErr("link account", res.Error)
		}
		if res.RowsAffected != 1 {
			return errs.Wrap(errs.Conflict, "This passport has just been claimed. Open the link again.",
				errors.New("holder: person changed during claim"))
		}
	}
	return c.audit.Record(ctx, tx, audit.Event{Action: "holder.claim", ObjectType: "holder", ObjectID: h.ID.String(),
		Detail: map[string]string{"claim": claimID.String(), "outcome": outcome}})
}
