package record

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
)

// Passport returns every record the tenant holds for the holder, with
// derived states, history and what is due next; entries are filtered by f.
// The read is audited (passport.read) in the same transaction.
func (s *Service) Passport(ctx context.Context, holderID uuid.UUID, f Filter) (Passport, error) {
	f = f.Clean()
	var out Passport
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		h, err := st.holder(holderID)
		if err != nil {
			return err
		}
		rows, err := st.holderRecords(h.ID, false)
		if err != nil {
			return err
		}
		entries, err := s.entries(ctx, tx, st, rows)
		if err != nil {
			return err
		}
		out = passport(h, entries, f)
		detail := map[string]string{"records": fmt.Sprint(len(entries))}
		return s.audit.Record(ctx, tx, audit.Event{Action: "passport.read", ObjectType: "holder", ObjectID: h.ID.String(), Detail: detail})
	})
	return out, err
}

// entries builds the passport entries of rows: cared-for names and history
// in one read each, specs in one batch when the Specs can, else once per
// competency.
func (s *Service) entries(ctx context.Context, tx *gorm.DB, st store, rows []recordRow) ([]Entry, error) {
	specs := s.cache(ctx, tx)
	ids := make([]uuid.UUID, 0, len(rows))
	var cfIDs, compIDs []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, r := range rows {
		ids = append(ids, r.ID)
		if r.CaredForID != nil {
			cfIDs = append(cfIDs, *r.CaredForID)
		}
		if !seen[r.CompetencyID] {
			seen[r.CompetencyID] = true
			compIDs = append(compIDs, r.CompetencyID)
		}
	}
	if err := specs.load(compIDs); err != nil {
		return nil, err
	}
	names, err := st.caredForNames(cfIDs)
	if err != nil {
		return nil, err
	}
	history, err := st.events(ids)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Entry, 0, len(rows))
	for _, row := range rows {
		c, err := specs.get(row.CompetencyID)
		if err != nil {
			return nil, err
		}
		e := Entry{Record: row.record(), Competency: summarise(c), History: history[row.ID]}
		e.derive(c, now, s.window)
		if row.CaredForID != nil {
			e.CaredFor = &PersonRef{ID: *row.CaredForID, Name: names[*row.CaredForID]}
		}
		e.Next = next(e.Record, e.Competency)
		if e.History == nil {
			e.History = []Event{}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Competency.Code != b.Competency.Code {
			return a.Competency.Code < b.Competency.Code
		}
		if a.CaredFor != nil && b.CaredFor != nil && a.CaredFor.Name != b.CaredFor.Name {
			return a.CaredFor.Name < b.CaredFor.Name
		}
		return a.CreatedAt.Before(b.CreatedAt)
	})
	return out, nil
}

func passport(h holderRow, entries []Entry, f Filter) Passport {
	p := Passport{Holder: HolderRef{ID: h.ID, Name: h.name(), Status: h.Status}, Filter: f, Entries: []Entry{}}
	p.Summary.Total = len(entries)
	for i, e := range entries {
		switch e.State {
		case Competent:
			p.Summary.Current++
		case DueForUpdate:
			p.Summary.Current++
			p.Summary.DueForUpdate++
		case Expired:
			p.Summary.Expired++
		case ReassessmentRequired:
			p.Summary.ReassessmentRequired++
		case Enrolled, TrainingAttended, SupervisedPractice, NotYetCompetent:
			p.Summary.InProgress++
		}
		if e.State.Current() && (p.DueNext == nil || e.ExpiresAt.Before(*p.DueNext.ExpiresAt)) {
			p.DueNext = &entries[i]
		}
		if f.match(e) {
			p.Entries = append(p.Entries, e)
		}
	}
	p.Matching = len(p.Entries)
	return p
}

// Detail is one record with its holder, as the record page shows it.
type Detail struct {
	Holder HolderRef `json:"holder"`
	Entry
}

// Record returns one record with its history; the read is audited as a
// read of the holder's passport.
func (s *Service) Record(ctx context.Context, id uuid.UUID) (Detail, error) {
	var out Detail
	err := s.tx(ctx, func(tx *gorm.DB, st store) error {
		row, err := st.record(id, noLock)
		if err != nil {
			return err
		}
		h, err := st.holder(row.HolderID)
		if err != nil {
			return err
		}
		entries, err := s.entries(ctx, tx, st, []recordRow{row})
		if err != nil {
			return err
		}
		out = Detail{Holder: HolderRef{ID: h.ID, Name: h.name(), Status: h.Status}, Entry: entries[0]}
		return s.audit.Record(ctx, tx, audit.Event{Action: "passport.read", ObjectType: "holder", ObjectID: h.ID.String(),
			Detail: map[string]string{"record": row.ID.String()}})
	})
	return out, err
}
