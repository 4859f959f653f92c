package carerpassport

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/tenants"
)

// The holder's own side: outside any tenant scope, acting as their account,
// row-level security shows them their own passports in every tenant and
// nothing else.

func self(ctx context.Context) (uuid.UUID, error) {
	actor, ok := tenants.ActorFrom(ctx)
	if !ok {
		return uuid.Nil, errs.E(errs.Unauthenticated, "Sign in to continue")
	}
	return actor, nil
}

// ownRows reads the signed-in holder's passports, newest first, with their
// issuers' names; id narrows to one.
func ownRows(tx *gorm.DB, id uuid.UUID) ([]row, map[uuid.UUID][2]string, error) {
	q := tx.Model(&row{}).Where("person_id IN (SELECT app_own_persons())")
	if id != uuid.Nil {
		q = q.Where("id = ?", id)
	}
	var rows []row
	if err := q.Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, nil, storeErr("read own passports", err)
	}
	names := map[uuid.UUID][2]string{}
	for _, r := range rows {
		names[r.TenantID] = [2]string{}
	}
	for tid := range names {
		var name, slug string
		if err := tx.Raw(`SELECT name, slug FROM tenants WHERE id = ?`, tid).Row().Scan(&name, &slug); err != nil {
			return nil, nil, storeErr("read issuer", err)
		}
		names[tid] = [2]string{name, slug}
	}
	return rows, names, nil
}

// Own lists the signed-in holder's passports from every issuer, with who
// checked each.
func (s *Service) Own(ctx context.Context) ([]Detail, error) {
	if _, err := self(ctx); err != nil {
		return nil, err
	}
	var out []Detail
	err := s.DB.Platform(ctx, func(tx *gorm.DB) error {
		rows, names, err := ownRows(tx, uuid.Nil)
		if err != nil {
			return err
		}
		now := s.now()
		for _, r := range rows {
			d := Detail{Passport: r.passport(now)}
			d.TenantName, d.TenantSlug = names[r.TenantID][0], names[r.TenantID][1]
			if d.Checks, err = checks(tx, r.TenantID, []uuid.UUID{r.ID}); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// OwnOne returns one of the signed-in holder's passports with its history
// and checks; another person's passport is not found.
func (s *Service) OwnOne(ctx context.Context, id uuid.UUID) (Detail, error) {
	if _, err := self(ctx); err != nil {
		return Detail{}, err
	}
	var d Detail
	err := s.DB.Platform(ctx, func(tx *gorm.DB) error {
		rows, names, err := ownRows(tx, id)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return errs.E(errs.NotFound, msgNoPassport)
		}
		r := rows[0]
		d.Passport = r.passport(s.now())
		d.TenantName, d.TenantSlug = names[r.TenantID][0], names[r.TenantID][1]
		if d.History, err = history(tx, r.TenantID, r.ID); err != nil {
			return err
		}
		d.Checks, err = checks(tx, r.TenantID, []uuid.UUID{r.ID})
		return err
	})
	return d, err
}

// RequestRenewal records that the holder asks their issuer to renew a
// passport that is active or expired; the issuer's officers see it.
func (s *Service) RequestRenewal(ctx context.Context, id uuid.UUID, note string) error {
	actor, err := self(ctx)
	if err != nil {
		return err
	}
	if len([]rune(note)) > 1000 {
		return errs.Validation(errs.FieldError{Field: "note", Message: "Message must be 1,000 characters or fewer"})
	}
	return s.DB.Platform(ctx, func(tx *gorm.DB) error {
		rows, _, err := ownRows(tx, id)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return errs.E(errs.NotFound, msgNoPassport)
		}
		r := rows[0]
		now := s.now().UTC()
		switch effective(State(r.State), r.ValidFrom, r.ValidUntil, now) {
		case Revoked:
			return errs.E(errs.Conflict, "This passport has been revoked and cannot be renewed: contact the organisation that issued it")
		case Suspended:
			return errs.E(errs.Conflict, "This passport is suspended: contact the organisation that issued it")
		}
		if r.RenewalRequestedAt != nil {
			return errs.E(errs.Conflict, "You have already asked for this passport to be renewed")
		}
		res := tx.Exec(`UPDATE carer_passports SET renewal_requested_at = ? WHERE tenant_id = ? AND id = ?`, now, r.TenantID, r.ID)
		if res.Error != nil {
			return storeErr("ask for renewal", res.Error)
		}
		if err := tx.Exec(`INSERT INTO carer_passport_events (tenant_id, id, passport_id, at, action, by_account, note)
			VALUES (?, ?, ?, ?, 'renewal_requested', ?, ?)`, r.TenantID, newID(), r.ID, now, actor, note).Error; err != nil {
			return storeErr("ask for renewal", err)
		}
		return s.Audit.RecordPlatform(ctx, tx, audit.Event{Action: "carer_passport.renewal_request",
			ObjectType: "carer_passport", ObjectID: r.ID.String()})
	})
}

// OwnCard returns the signed-in holder's passport for printing.
func (s *Service) OwnCard(ctx context.Context, id uuid.UUID) (Detail, error) {
	d, err := s.OwnOne(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	if d.State == Revoked {
		return Detail{}, errs.E(errs.Conflict, "This passport has been revoked: there is no card to print")
	}
	return d, nil
}
