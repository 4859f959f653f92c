package training

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/ical"
	"github.com/carepass/carepass/tenants"
)

// Calendar feeds (RFC 5545): a tenant's public sessions, and a person's
// own bookings in every tenant through a secret link. Each session is one
// event whose UID never changes (session-<id>@<host>), so calendars update
// it in place; cancelled sessions and bookings stay, as STATUS:CANCELLED.

// Public feed window, around now.
const (
	feedPast   = 30 * 24 * time.Hour
	feedFuture = 366 * 24 * time.Hour
)

// feedRefresh is how often calendar applications are asked to fetch again.
const feedRefresh = time.Hour

// feedTokenLen is the length of a feed token: 32 random bytes in hex.
const feedTokenLen = 64

// msgNoFeed answers for an unknown, replaced or disabled feed link.
const msgNoFeed = "This calendar link does not work. Make a new one from your training bookings page."

// host is the host of the public address, for event UIDs.
func (s *Service) host() string {
	if u, err := url.Parse(s.publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "carepass"
}

// SessionUID is the calendar UID of a session, the same in every feed and
// email: session-<id>@<host of the public address>.
func (s *Service) SessionUID(sessionID uuid.UUID) string {
	return "session-" + sessionID.String() + "@" + s.host()
}

// SessionURL is the address of a session's page on the tenant's public
// calendar ("" without a public address).
func (s *Service) SessionURL(tenantSlug string, sessionID uuid.UUID) string {
	if s.publicURL == "" {
		return ""
	}
	return s.publicURL + "/t/" + tenantSlug + "/calendar/sessions/" + sessionID.String()
}

// ownTrainingURL is the address of the holder's bookings page.
func (s *Service) ownTrainingURL() string {
	if s.publicURL == "" {
		return ""
	}
	return s.publicURL + "/me/training"
}

// SessionEvent returns the public calendar event of a session of the
// tenant whose slug is given: its course, London times, place (or
// "Online", never the link), STATUS:CANCELLED when cancelled, SEQUENCE from
// the session and updated as DTSTAMP.
func (s *Service) SessionEvent(tenantSlug string, ss PublicSession) ical.Event {
	e := ical.Event{UID: s.SessionUID(ss.ID), Sequence: ss.Sequence, Start: ss.StartsAt, End: ss.EndsAt,
		Summary: ss.CourseTitle, Location: ss.Place(), URL: s.SessionURL(tenantSlug, ss.ID),
		Cancelled: ss.Cancelled(), Updated: ss.UpdatedAt}
	if e.Cancelled {
		e.Summary = "Cancelled: " + ss.CourseTitle
		e.Description = "This session has been cancelled."
	} else if e.URL != "" {
		e.Description = "Find out more and book a place: " + e.URL
	}
	return e
}

// ownEvent is the event of a person's booking: the session's UID, so
// booking again after cancelling updates the same event. Its SEQUENCE is
// the session's plus two for every earlier booking the person made on it
// and one when the person's booking is cancelled (a cancelled session has
// already moved the session's own), so each change outranks the last. The
// feed and the emails' invitations are this one event.
func (s *Service) ownEvent(b OwnBooking) ical.Event {
	cancelled := b.Cancelled()
	seq := b.Sequence + 2*max(b.Bookings-1, 0)
	if b.Status == Cancel && b.SessionStatus != Cancelled {
		seq++
	}
	updated := b.UpdatedAt
	if b.SessionUpdate.After(updated) {
		updated = b.SessionUpdate
	}
	e := ical.Event{UID: s.SessionUID(b.SessionID), Sequence: seq, Start: b.StartsAt, End: b.EndsAt,
		Summary: b.CourseTitle, Location: b.Place(), Cancelled: cancelled, Updated: updated}
	if b.Public {
		e.URL = s.SessionURL(b.TenantSlug, b.SessionID)
	} else {
		e.URL = s.ownTrainingURL()
	}
	desc := b.TenantName + ". "
	switch {
	case b.SessionStatus == Cancelled:
		e.Summary = "Cancelled: " + b.CourseTitle
		desc += "This session has been cancelled."
	case b.Status == Cancel:
		e.Summary = "Cancelled: " + b.CourseTitle
		desc += "Your booking is cancelled."
	case b.Status == Waiting:
		e.Summary = b.CourseTitle + " (waiting list)"
		desc += "You are on the waiting list: you will be told if a place comes up."
	default:
		desc += "You have a place."
		if b.OnlineURL != "" {
			desc += " Join online: " + b.OnlineURL
		}
	}
	e.Description = desc
	return e
}

// BookingEvent returns the calendar event of one booking as its holder
// sees it (the same event as in their personal feed), inside the caller's
// transaction scoped to tenant: for the emails that confirm or cancel a
// booking. Cancelled bookings and sessions give a cancelled event.
func (s *Service) BookingEvent(ctx context.Context, tx *gorm.DB, tenant, bookingID uuid.UUID) (ical.Event, error) {
	var b OwnBooking
	err := tx.Raw(`SELECT b.id, b.tenant_id, t.name, t.slug, b.status, b.created_at, b.updated_at, s.id, c.title, c.description,
			s.starts_at, s.ends_at, s.location, s.online_url, s.status, s.public, s.sequence, s.updated_at,
			(SELECT count(*) FROM bookings o WHERE o.tenant_id = b.tenant_id AND o.session_id = b.session_id
				AND o.person_id = b.person_id AND (o.created_at, o.id) <= (b.created_at, b.id))
		FROM bookings b
		JOIN training_sessions s ON s.tenant_id = b.tenant_id AND s.id = b.session_id
		JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id
		JOIN tenants t ON t.id = b.tenant_id
		WHERE b.tenant_id = ? AND b.id = ?`, tenant, bookingID).WithContext(ctx).Row().
		Scan(&b.ID, &b.TenantID, &b.TenantName, &b.TenantSlug, &b.Status, &b.CreatedAt, &b.UpdatedAt, &b.SessionID,
			&b.CourseTitle, &b.Description, &b.StartsAt, &b.EndsAt, &b.Location, &b.OnlineURL, &b.SessionStatus, &b.Public,
			&b.Sequence, &b.SessionUpdate, &b.Bookings)
	if errors.Is(err, sql.ErrNoRows) {
		return ical.Event{}, errs.E(errs.NotFound, "No booking with that reference")
	}
	if err != nil {
		return ical.Event{}, storeErr("read booking event", err)
	}
	return s.ownEvent(b), nil
}

// PublicFeed returns the calendar of the public sessions of the tenant in
// ctx, from 30 days ago to a year ahead, cancelled ones included.
func (s *Service) PublicFeed(ctx context.Context) (ical.Calendar, error) {
	t, _, err := scope(ctx)
	if err != nil {
		return ical.Calendar{}, err
	}
	now := s.now()
	cal := ical.Calendar{Name: "Training – " + t.Name, RefreshInterval: feedRefresh}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		list, err := s.publicSessions(tx, publicQuery{tenant: t.ID, from: now.Add(-feedPast), to: now.Add(feedFuture),
			statuses: []string{Scheduled, Cancelled, Completed}})
		for _, ss := range list {
			cal.Events = append(cal.Events, s.SessionEvent(t.Slug, ss))
		}
		return err
	})
	if err != nil {
		return ical.Calendar{}, err
	}
	return cal, cal.Validate()
}

// hashFeedToken returns the stored form of a feed token.
func hashFeedToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewFeedLink makes the signed-in account a new personal calendar feed
// token, replacing any earlier one (which stops working), and returns it;
// only its hash is kept.
func (s *Service) NewFeedLink(ctx context.Context) (string, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return "", errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("training: feed token: %w", err)
	}
	token := hex.EncodeToString(raw)
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO training_feeds (account_id, token_hash, created_at) VALUES (?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
			actor, hashFeedToken(token), s.now().UTC()).Error; err != nil {
			return storeErr("make feed link", err)
		}
		return s.audit.RecordPlatform(ctx, tx, audit.Event{Action: "training.feed_link", ObjectType: "account",
			ObjectID: actor.String()})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// PersonalFeed returns the calendar of the bookings of the person whose
// feed token is given, in every tenant; no one needs to be signed in. An
// unknown or replaced token, or that of a disabled account, is not found.
// Each session appears once, as the person's latest booking on it.
func (s *Service) PersonalFeed(ctx context.Context, token string) (ical.Calendar, error) {
	if len(token) != feedTokenLen {
		return ical.Calendar{}, errs.E(errs.NotFound, msgNoFeed)
	}
	if _, err := hex.DecodeString(token); err != nil {
		return ical.Calendar{}, errs.E(errs.NotFound, msgNoFeed)
	}
	// The token alone decides whose bookings these are: never the account
	// of a session that happens to come with the request.
	ctx = tenants.WithActor(ctx, uuid.Nil)
	cal := ical.Calendar{Name: "My training", RefreshInterval: feedRefresh}
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		hash := hex.EncodeToString(hashFeedToken(token))
		if err := tx.Exec(`SELECT set_config('app.feed_token', ?, true)`, hash).Error; err != nil {
			return storeErr("present feed token", err)
		}
		var n int
		if err := tx.Raw(`SELECT count(*) FROM training_feeds f JOIN accounts a ON a.id = f.account_id
			WHERE f.token_hash = decode(?, 'hex') AND a.status = 'active'`, hash).Row().Scan(&n); err != nil {
			return storeErr("read feed link", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, msgNoFeed)
		}
		list, err := s.ownBookings(tx, uuid.Nil)
		if err != nil {
			return err
		}
		// Latest booking per session: list is ordered by session start,
		// then booking creation.
		at := map[uuid.UUID]int{}
		for _, b := range list {
			e := s.ownEvent(b)
			if i, seen := at[b.SessionID]; seen {
				cal.Events[i] = e
				continue
			}
			at[b.SessionID] = len(cal.Events)
			cal.Events = append(cal.Events, e)
		}
		return nil
	})
	if err != nil {
		return ical.Calendar{}, err
	}
	return cal, cal.Validate()
}
