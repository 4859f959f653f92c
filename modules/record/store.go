package record

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/pg"
)

// recordRow is competency_records as stored.
type recordRow struct {
	TenantID             uuid.UUID
	ID                   uuid.UUID
	HolderID             uuid.UUID
	PersonID             uuid.UUID
	CompetencyID         uuid.UUID
	CaredForID           *uuid.UUID
	State                string
	PracticesDone        int
	SignedOffAt          *time.Time
	SignedOffBy          *uuid.UUID
	AssessorName         string
	Setting              string
	PrescriptionVersion  *int
	ReassessmentRequired bool
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (recordRow) TableName() string { return "competency_records" }

func (r recordRow) record() Record {
	return Record{ID: r.ID, HolderID: r.HolderID, PersonID: r.PersonID, CompetencyID: r.CompetencyID, CaredForID: r.CaredForID,
		StoredState: State(r.State), State: State(r.State), PracticesDone: r.PracticesDone, SignedOffAt: r.SignedOffAt,
		SignedOffBy: r.SignedOffBy, AssessorName: r.AssessorName, Setting: r.Setting, PrescriptionVersion: r.PrescriptionVersion,
		ReassessmentRequired: r.ReassessmentRequired, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// eventRow is record_events as stored; the app role may only insert and read.
type eventRow struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	RecordID    uuid.UUID
	FromState   string
	ToState     string
	At          time.Time
	ByAccount   *uuid.UUID
	ByName      string
	Setting     string
	Notes       string
	EvidenceRef string
}

func (eventRow) TableName() string { return "record_events" }

func (e eventRow) event() Event {
	return Event{ID: e.ID, RecordID: e.RecordID, FromState: State(e.FromState), ToState: State(e.ToState), At: e.At,
		ByAccount: e.ByAccount, ByName: e.ByName, Setting: e.Setting, Notes: e.Notes, EvidenceRef: e.EvidenceRef}
}

// caredForRow is cared_for as stored.
type caredForRow struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	GivenName   string
	FamilyName  string
	DateOfBirth *time.Time
	CreatedAt   time.Time
}

func (caredForRow) TableName() string { return "cared_for" }

func (r caredForRow) caredFor() CaredFor {
	return CaredFor{ID: r.ID, GivenName: r.GivenName, FamilyName: r.FamilyName, DateOfBirth: r.DateOfBirth, CreatedAt: r.CreatedAt}
}

// params is a prescription's parameters, stored as a JSON object.
type params map[string]string

// Value stores the parameters as JSON.
func (p params) Value() (driver.Value, error) {
	if p == nil {
		p = params{}
	}
	b, err := json.Marshal(map[string]string(p))
	return string(b), err
}

// Scan reads the parameters from JSON.
func (p *params) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return errors.New("record: prescription parameters are not JSON")
	}
	return json.Unmarshal(b, (*map[string]string)(p))
}

// prescriptionRow is prescriptions as stored.
type prescriptionRow struct {
	TenantID     uuid.UUID
	ID           uuid.UUID
	CaredForID   uuid.UUID
	CompetencyID uuid.UUID
	Version      int
	Parameters   params
	SetBy        *uuid.UUID
	SetAt        time.Time
}

func (prescriptionRow) TableName() string { return "prescriptions" }

// holderRow is what records need of a holder: who, and whether enrolled.
type holderRow struct {
	ID         uuid.UUID
	PersonID   uuid.UUID
	GivenName  string
	FamilyName string
	Status     string
}

func (h holderRow) name() string { return h.GivenName + " " + h.FamilyName }

// store runs the module's queries inside one tenant-scoped transaction.
// Every query names the tenant as well: row-level security would hide other
// tenants' rows anyway, except records another tenant shared, which a
// tenant's own pages must never list as its own.
type store struct {
	tx     *gorm.DB
	tenant uuid.UUID
}

func storeErr(op string, err error) error {
	return pg.StoreErr("record", op, err)
}

func notFound(err error, msg string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errs.E(errs.NotFound, msg)
	}
	return nil
}

const (
	msgNoHolder   = "No holder with that reference"
	msgNoRecord   = "No competency record with that reference"
	msgNoCaredFor = "No cared-for person with that reference"
)

// holder returns the tenant's holder with id.
func (s store) holder(id uuid.UUID) (holderRow, error) {
	var h holderRow
	err := s.tx.Raw(`SELECT id, person_id, given_name, family_name, status FROM holders WHERE tenant_id = ? AND id = ?`,
		s.tenant, id).Take(&h).Error
	if nf := notFound(err, msgNoHolder); nf != nil {
		return holderRow{}, nf
	}
	if err != nil {
		return holderRow{}, storeErr("read holder", err)
	}
	return h, nil
}

// actingHolder returns this tenant's holder enrolment of the person whose
// account is accountID; ok is false when the account is no holder here.
func (s store) actingHolder(accountID uuid.UUID) (h holderRow, ok bool, err error) {
	err = s.tx.Raw(`SELECT h.id, h.person_id, h.given_name, h.family_name, h.status
		FROM holders h JOIN persons p ON p.id = h.person_id
		WHERE h.tenant_id = ? AND p.account_id = ?`, s.tenant, accountID).Take(&h).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return holderRow{}, false, nil
	}
	if err != nil {
		return holderRow{}, false, storeErr("read acting holder", err)
	}
	return h, true, nil
}

// Row locks held until the end of the transaction.
const (
	noLock    = ""
	forUpdate = " FOR UPDATE" // the record being changed: two transitions cannot interleave
	forShare  = " FOR SHARE"  // a record a decision rests on: it cannot change until the decision commits
)

// record returns the tenant's record with id, locked as lock says.
func (s store) record(id uuid.UUID, lock string) (recordRow, error) {
	q := `SELECT tenant_id, id, holder_id, person_id, competency_id, cared_for_id, state, practices_done, signed_off_at,
		signed_off_by, assessor_name, setting, prescription_version, reassessment_required, created_at, updated_at
		FROM competency_records WHERE tenant_id = ? AND id = ?` + lock
	var r recordRow
	err := s.tx.Raw(q, s.tenant, id).Take(&r).Error
	if nf := notFound(err, msgNoRecord); nf != nil {
		return recordRow{}, nf
	}
	if err != nil {
		return recordRow{}, storeErr("read record", err)
	}
	return r, nil
}

// holderRecords returns every record of the holder, oldest first; with
// current set, only those stored as competent and not awaiting re-assessment.
func (s store) holderRecords(holderID uuid.UUID, current bool) ([]recordRow, error) {
	q := s.tx.Where("tenant_id = ? AND holder_id = ?", s.tenant, holderID)
	if current {
		q = q.Where("state = ? AND NOT reassessment_required", string(Competent))
	}
	var rows []recordRow
	if err := q.Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, storeErr("list records", err)
	}
	return rows, nil
}

func (s store) insertRecord(r recordRow) error {
	if err := s.tx.Create(&r).Error; err != nil {
		if _, ok := pg.IsUniqueViolation(err); ok {
			return errs.E(errs.Conflict, "This holder is already enrolled in this competency")
		}
		return storeErr("create record", err)
	}
	return nil
}

// updateRecord writes the lifecycle columns of r (an explicit list: a zero
// value is written, never skipped).
func (s store) updateRecord(r recordRow) error {
	res := s.tx.Exec(`UPDATE competency_records SET state = ?, practices_done = ?, signed_off_at = ?, signed_off_by = ?,
		assessor_name = ?, setting = ?, prescription_version = ?, reassessment_required = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		r.State, r.PracticesDone, r.SignedOffAt, r.SignedOffBy, r.AssessorName, r.Setting, r.PrescriptionVersion,
		r.ReassessmentRequired, r.UpdatedAt, s.tenant, r.ID)
	if res.Error != nil {
		return storeErr("update record", res.Error)
	}
	if res.RowsAffected != 1 {
		return errs.E(errs.NotFound, msgNoRecord)
	}
	return nil
}

func (s store) insertEvent(e eventRow) error {
	e.TenantID = s.tenant
	if err := s.tx.Create(&e).Error; err != nil {
		return storeErr("record event", err)
	}
	return nil
}

// events returns the history of the given records, oldest first.
func (s store) events(recordIDs []uuid.UUID) (map[uuid.UUID][]Event, error) {
	out := map[uuid.UUID][]Event{}
	if len(recordIDs) == 0 {
		return out, nil
	}
	var rows []eventRow
	if err := s.tx.Where("tenant_id = ? AND record_id IN ?", s.tenant, recordIDs).Order("at, id").Find(&rows).Error; err != nil {
		return nil, storeErr("read history", err)
	}
	for _, e := range rows {
		out[e.RecordID] = append(out[e.RecordID], e.event())
	}
	return out, nil
}

func (s store) caredFor(id uuid.UUID, lock bool) (caredForRow, error) {
	q := s.tx.Where("tenant_id = ? AND id = ?", s.tenant, id)
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var r caredForRow
	err := q.Take(&r).Error
	if nf := notFound(err, msgNoCaredFor); nf != nil {
		return caredForRow{}, nf
	}
	if err != nil {
		return caredForRow{}, storeErr("read cared-for person", err)
	}
	return r, nil
}

func (s store) caredForList(limit int) ([]caredForRow, error) {
	var rows []caredForRow
	err := s.tx.Where("tenant_id = ?", s.tenant).Order("lower(family_name), lower(given_name), id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, storeErr("list cared-for people", err)
	}
	return rows, nil
}

// caredForNames returns the names of the given cared-for people.
func (s store) caredForNames(ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []caredForRow
	if err := s.tx.Where("tenant_id = ? AND id IN ?", s.tenant, ids).Find(&rows).Error; err != nil {
		return nil, storeErr("read cared-for people", err)
	}
	for _, r := range rows {
		out[r.ID] = r.caredFor().Name()
	}
	return out, nil
}

func (s store) insertCaredFor(r caredForRow) error {
	if err := s.tx.Create(&r).Error; err != nil {
		return storeErr("create cared-for person", err)
	}
	return nil
}

// prescriptions returns every version for the cared-for person, grouped by
// competency, newest version first.
func (s store) prescriptions(caredForID uuid.UUID) ([]prescriptionRow, error) {
	var rows []prescriptionRow
	err := s.tx.Where("tenant_id = ? AND cared_for_id = ?", s.tenant, caredForID).
		Order("competency_id, version DESC").Find(&rows).Error
	if err != nil {
		return nil, storeErr("read prescriptions", err)
	}
	return rows, nil
}

// currentPrescription returns the newest version for (cared-for person,
// competency); ok is false when there is none.
func (s store) currentPrescription(caredForID, competencyID uuid.UUID) (p prescriptionRow, ok bool, err error) {
	err = s.tx.Where("tenant_id = ? AND cared_for_id = ? AND competency_id = ?", s.tenant, caredForID, competencyID).
		Order("version DESC").Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return prescriptionRow{}, false, nil
	}
	if err != nil {
		return prescriptionRow{}, false, storeErr("read prescription", err)
	}
	return p, true, nil
}

func (s store) insertPrescription(p prescriptionRow) error {
	if err := s.tx.Create(&p).Error; err != nil {
		if _, ok := pg.IsUniqueViolation(err); ok {
			return errs.E(errs.Conflict, "The prescription was changed by someone else at the same time; try again")
		}
		return storeErr("create prescription", err)
	}
	return nil
}

// marked is a record flagged for re-assessment.
type marked struct {
	ID    uuid.UUID
	State string
}

// markReassessment flags every record signed off against a prescription
// version older than version for (cared-for person, competency).
func (s store) markReassessment(caredForID, competencyID uuid.UUID, version int, now time.Time) ([]marked, error) {
	var out []marked
	err := s.tx.Raw(`UPDATE competency_records SET reassessment_required = true, updated_at = ?
		WHERE tenant_id = ? AND cared_for_id = ? AND competency_id = ? AND prescription_version < ?
		RETURNING id, state`, now, s.tenant, caredForID, competencyID, version).Scan(&out).Error
	if err != nil {
		return nil, storeErr("mark records for re-assessment", err)
	}
	return out, nil
}
