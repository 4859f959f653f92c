// Package notify tells people about their training and competencies: an
// email for every booking change (a confirmation with a calendar invite, a
// place on the waiting list, a place freed for them, a cancellation), a
// reminder the day before a session, reminders before a competency expires
// (to the holder and to the tenant's managers), and the same news in the
// app, on the person's own notifications page.
//
// Every email goes through a durable job enqueued in the transaction of the
// change that causes it, so it is sent if and only if that change commits,
// and retried with back-off while the mail server fails; the booking itself
// never waits for, or depends on, the mail. Job arguments are ids only. The
// workers read what a message needs inside the tenant's transaction, as
// the app role, with row-level security in force.
//
// Reminders are sent at most once ever: each is claimed in
// notification_sends, under a unique key, in the same transaction as its
// job. Reminders are optional: every reminder email carries a signed link
// to the recipient's preferences and one-click unsubscribe headers (RFC
// 8058). Booking confirmations and cancellations are always sent.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // London times even where the host has no zoneinfo

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/ical"
	"github.com/carepass/carepass/modules/mail"
	"github.com/carepass/carepass/modules/pg"
	"github.com/carepass/carepass/tenants"
)

// DefaultOffsets are the days before a competency's expiry date on which
// its reminders are sent: 90, 30 and 7 days before, and on the day.
var DefaultOffsets = []int{90, 30, 7, 0}

// MaxOffset bounds an offset: ten years.
const MaxOffset = 3650

// MinKeyBytes is the shortest key accepted for signing preference links.
const MinKeyBytes = 32

// Enqueuer inserts a job in the caller's open transaction; *jobs.Queue is
// one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) error
}

// Manager is someone told when a holder's competency is about to expire.
type Manager struct {
	AccountID uuid.UUID
	Address   mail.Address
}

// Managers finds a tenant's managers. The default, when Deps.Managers is
// nil, is every active member of the tenant whose roles hold staff:read.
type Managers interface {
	Managers(ctx context.Context, tenantID uuid.UUID) ([]Manager, error)
}

// Deps is what a Notifier needs.
type Deps struct {
	DB    *tenants.DB
	Audit *audit.Log
	// Mail sends the emails (a *mail.SMTP in production).
	Mail mail.Sender
	// Queue enqueues the jobs. It may be left nil and given later with
	// UseQueue, since the queue is built with the Notifier's workers.
	Queue Enqueuer
	// Managers finds who is told about a holder's expiring competency;
	// nil: the tenant's members holding staff:read.
	Managers Managers
	// PublicURL is the site's address as people reach it, e.g.
	// "https://carepass.example"; links in emails start with it.
	PublicURL string
	// Organizer is the organiser written in calendar invites (usually the
	// SMTP sender). Empty: "no-reply@" and the host of PublicURL.
	Organizer mail.Address
	// Key signs the links to a person's email preferences; at least
	// MinKeyBytes bytes, kept secret and stable (links stop working when it
	// changes).
	Key []byte
	// Offsets are the days before a competency expires on which reminders
	// are sent; nil: DefaultOffsets. Each from 0 (on the day) to MaxOffset.
	Offsets []int
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log takes what the workers have to say (never personal data).
	Log *slog.Logger
}

// Notifier sends the emails and keeps the in-app notifications. It
// implements training.Events.
type Notifier struct {
	db        *tenants.DB
	audit     *audit.Log
	mail      mail.Sender
	managers  Managers
	base      string // PublicURL without a trailing slash
	host      string
	organizer mail.Address
	key       []byte
	offsets   []int // ascending
	now       func() time.Time
	log       *slog.Logger

	mu     sync.RWMutex
	queue  Enqueuer
	events BookingEvents
}

// New checks d and returns a Notifier.
func New(d Deps) (*Notifier, error) {
	if d.DB == nil || d.Audit == nil || d.Mail == nil || d.Log == nil {
		return nil, errors.New("notify: New needs DB, Audit, Mail and Log")
	}
	u, err := url.Parse(d.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("notify: public URL %q is not an absolute http(s) URL", d.PublicURL)
	}
	if len(d.Key) < MinKeyBytes {
		return nil, fmt.Errorf("notify: the preferences key must be at least %d bytes", MinKeyBytes)
	}
	offsets := d.Offsets
	if offsets == nil {
		offsets = DefaultOffsets
	}
	if len(offsets) == 0 {
		return nil, errors.New("notify: no reminder offsets")
	}
	offsets = slices.Clone(offsets)
	slices.Sort(offsets)
	offsets = slices.Compact(offsets)
	if offsets[0] < 0 || offsets[len(offsets)-1] > MaxOffset {
		return nil, fmt.Errorf("notify: reminder offsets must be from 0 to %d days", MaxOffset)
	}
	n := &Notifier{db: d.DB, audit: d.Audit, mail: d.Mail, managers: d.Managers, base: strings.TrimSuffix(u.String(), "/"),
		host: u.Hostname(), organizer: d.Organizer, key: slices.Clone(d.Key), offsets: offsets, now: d.Now, log: d.Log,
		queue: d.Queue}
	if n.now == nil {
		n.now = time.Now
	}
	if n.managers == nil {
		n.managers = MemberManagers{DB: d.DB}
	}
	if n.organizer.Email == "" {
		n.organizer.Email = "no-reply@" + n.host
	}
	return n, nil
}

// BookingEvents gives the calendar event of a booking as its holder's own
// calendar feed has it (training.Service is one), inside tx scoped to
// tenant, so that the invitations emails carry and the feed agree.
type BookingEvents interface {
	BookingEvent(ctx context.Context, tx *gorm.DB, tenant, bookingID uuid.UUID) (ical.Event, error)
}

// UseEvents gives the Notifier the source of booking events. The training
// service that provides them is built with the Notifier, so it is handed
// over afterwards; until then booking emails go without an invitation.
func (n *Notifier) UseEvents(e BookingEvents) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = e
}

// UseQueue gives the Notifier the queue it enqueues on. Build the queue
// with the Notifier's Workers and Periodic jobs, then call UseQueue before
// serving: BookingChanged and the sweeps fail until it has a queue.
func (n *Notifier) UseQueue(q Enqueuer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queue = q
}

var errNoQueue = errors.New("notify: no queue yet (UseQueue was not called)")

func (n *Notifier) enqueue(ctx context.Context, tx *gorm.DB, args river.JobArgs) error {
	n.mu.RLock()
	q := n.queue
	n.mu.RUnlock()
	if q == nil {
		return errNoQueue
	}
	return q.Enqueue(ctx, tx, args, nil)
}

// url returns the absolute address of path on the public site.
func (n *Notifier) url(path string) string { return n.base + path }

// inTenant runs fn in a transaction of the tenant, as the app role with
// row-level security in force, the way a request would.
func (n *Notifier) inTenant(ctx context.Context, tenantID uuid.UUID, fn func(ctx context.Context, tx *gorm.DB) error) error {
	ctx = tenants.WithTenant(ctx, tenants.Tenant{ID: tenantID})
	return n.db.Tx(ctx, func(tx *gorm.DB) error { return fn(ctx, tx) })
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func storeErr(op string, err error) error { return pg.StoreErr("notify", op, err) }

// london is the zone every date and time is shown in.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("notify: no Europe/London time zone: " + err.Error()) // embedded tzdata makes this unreachable
	}
	return loc
}()

// londonDate is the calendar date of t in London, at midnight UTC, for
// date arithmetic.
func londonDate(t time.Time) time.Time {
	y, m, d := t.In(london).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
