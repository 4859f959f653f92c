package register

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
)

// row is a carer_register_entries row.
type row struct {
	TenantID             uuid.UUID
	ID                   uuid.UUID
	GivenName            string
	FamilyName           string
	DateOfBirth          *time.Time
	NHSNumber            *string
	SNOMEDCode           string `gorm:"column:snomed_code"`
	RecordedOn           time.Time
	ConsentToShare       bool
	ConsentOn            *time.Time
	ReviewDue            *time.Time
	CaredForName         string
	CaredForRelationship string
	CaredForKnown        *bool
	SourceIssuer         string
	SourceScheme         string
	SourceVerifiedAt     *time.Time
	SourceCodeLast4      string `gorm:"column:source_code_last4"`
	Status               string
	ClosedOn             *time.Time
	ClosedReason         string
	CreatedBy            *uuid.UUID
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (row) TableName() string { return "carer_register_entries" }

// utcDate keeps only the calendar date of t, as midnight UTC.
func utcDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func utcDatePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	d := utcDate(*t)
	return &d
}

func (r row) entry() Entry {
	r = r.normalised()
	e := Entry{ID: r.ID, GivenName: r.GivenName, FamilyName: r.FamilyName, DateOfBirth: r.DateOfBirth,
		SNOMEDCode: r.SNOMEDCode, RecordedOn: r.RecordedOn, ConsentToShare: r.ConsentToShare,
		ConsentOn: r.ConsentOn, ReviewDue: r.ReviewDue, CaredForName: r.CaredForName,
		CaredForRelationship: r.CaredForRelationship, CaredForKnown: r.CaredForKnown, Status: r.Status,
		ClosedOn: r.ClosedOn, ClosedReason: r.ClosedReason, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.NHSNumber != nil {
		e.NHSNumber = *r.NHSNumber
	}
	if r.SourceVerifiedAt != nil {
		e.Source = &Source{Issuer: r.SourceIssuer, Scheme: r.SourceScheme, VerifiedAt: r.SourceVerifiedAt.UTC(),
			CodeLast4: r.SourceCodeLast4}
	}
	return e
}

// sqlDate is a date as the database takes it (2024-03-31), or nil. Dates go
// over as text so no time zone can move them to another day.
func sqlDate(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.DateOnly)
}

// insert stores r.
func insert(tx *gorm.DB, r row) error {
	err := tx.Exec(`INSERT INTO carer_register_entries (tenant_id, id, given_name, family_name, date_of_birth, nhs_number,
			snomed_code, recorded_on, consent_to_share, consent_on, review_due, cared_for_name, cared_for_relationship,
			cared_for_known, source_issuer, source_scheme, source_verified_at, source_code_last4, status, closed_on,
			closed_reason, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?::date, ?, ?, ?::date, ?, ?::date, ?::date, ?, ?, ?, ?, ?, ?, ?, ?, ?::date, ?, ?, ?, ?)`,
		r.TenantID, r.ID, r.GivenName, r.FamilyName, sqlDate(r.DateOfBirth), r.NHSNumber, r.SNOMEDCode,
		sqlDate(&r.RecordedOn), r.ConsentToShare, sqlDate(r.ConsentOn), sqlDate(r.ReviewDue), r.CaredForName,
		r.CaredForRelationship, r.CaredForKnown, r.SourceIssuer, r.SourceScheme, r.SourceVerifiedAt, r.SourceCodeLast4,
		r.Status, sqlDate(r.ClosedOn), r.ClosedReason, r.CreatedBy, r.CreatedAt, r.UpdatedAt).Error
	if err != nil {
		return storeErr("insert entry", err)
	}
	return nil
}

// update writes every changeable column of r.
func update(tx *gorm.DB, r row) error {
	res := tx.Exec(`UPDATE carer_register_entries SET given_name = ?, family_name = ?, date_of_birth = ?::date,
			nhs_number = ?, snomed_code = ?, recorded_on = ?::date, consent_to_share = ?, consent_on = ?::date,
			review_due = ?::date, cared_for_name = ?, cared_for_relationship = ?, cared_for_known = ?, status = ?,
			closed_on = ?::date, closed_reason = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		r.GivenName, r.FamilyName, sqlDate(r.DateOfBirth), r.NHSNumber, r.SNOMEDCode, sqlDate(&r.RecordedOn),
		r.ConsentToShare, sqlDate(r.ConsentOn), sqlDate(r.ReviewDue), r.CaredForName, r.CaredForRelationship,
		r.CaredForKnown, r.Status, sqlDate(r.ClosedOn), r.ClosedReason, r.UpdatedAt, r.TenantID, r.ID)
	if res.Error != nil {
		return storeErr("update entry", res.Error)
	}
	if res.RowsAffected != 1 {
		return errs.E(errs.NotFound, msgNoEntry)
	}
	return nil
}

// getRow reads one entry of tenant, locking it when forUpdate.
func getRow(tx *gorm.DB, tenant, id uuid.UUID, forUpdate bool) (row, error) {
	q := tx.Where("tenant_id = ? AND id = ?", tenant, id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r row
	err := q.Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row{}, errs.E(errs.NotFound, msgNoEntry)
	}
	if err != nil {
		return row{}, storeErr("read entry", err)
	}
	return r.normalised(), nil
}

// normalised returns r with its dates as midnight UTC, whatever the driver
// scanned them as.
func (r row) normalised() row {
	r.DateOfBirth, r.ConsentOn, r.ReviewDue, r.ClosedOn = utcDatePtr(r.DateOfBirth), utcDatePtr(r.ConsentOn),
		utcDatePtr(r.ReviewDue), utcDatePtr(r.ClosedOn)
	r.RecordedOn = utcDate(r.RecordedOn)
	return r
}

// likeEscaper escapes the LIKE wildcards in user input.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// list returns tenant's entries matching f at now, active ones first, then
// by name.
func list(tx *gorm.DB, tenant uuid.UUID, f Filter, now time.Time) ([]row, error) {
	q := tx.Where("tenant_id = ?", tenant)
	if query := strings.TrimSpace(f.Query); query != "" {
		if n := NormaliseNHSNumber(query); n != "" && strings.Trim(n, "0123456789") == "" {
			q = q.Where("nhs_number LIKE ?", likeEscaper.Replace(n)+"%")
		} else {
			like := "%" + likeEscaper.Replace(strings.ToLower(normaliseText(query))) + "%"
			q = q.Where("lower(given_name || ' ' || family_name) LIKE ?", like)
		}
	}
	switch f.Status {
	case StatusActive, StatusClosed:
		q = q.Where("status = ?", f.Status)
	}
	if f.Concept != "" {
		q = q.Where("snomed_code = ?", f.Concept)
	}
	switch f.Consent {
	case "yes":
		q = q.Where("consent_to_share")
	case "no":
		q = q.Where("NOT consent_to_share")
	}
	order := "status, lower(family_name), lower(given_name), id"
	if f.ReviewWithinDays > 0 {
		until := today(now).AddDate(0, 0, f.ReviewWithinDays)
		q = q.Where("status = 'active' AND review_due IS NOT NULL AND review_due <= ?::date", until.Format(time.DateOnly))
		order = "review_due, lower(family_name), lower(given_name), id"
	}
	var rows []row
	if err := q.Order(order).Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, storeErr("list entries", err)
	}
	return rows, nil
}

// msgNoEntry is the answer for an entry that does not exist in the tenant.
const msgNoEntry = "No carer register entry with that reference"

func storeErr(op string, err error) error {
	return pg.StoreErr("register", op, err)
}
