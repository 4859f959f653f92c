package dashboard

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/tenants"
)

// CompliancePoint is a care home's staff compliance on one day: the share
// of required competencies held valid, and the counts behind it.
type CompliancePoint struct {
	Day      time.Time
	Percent  float64
	Valid    int
	Required int
}

// ComplianceHistory is the staff compliance of the tenant in the context,
// day by day from from up to to. The staff compliance capability provides
// it; without one, the dashboard shows no compliance chart.
type ComplianceHistory interface {
	History(ctx context.Context, from, to time.Time) ([]CompliancePoint, error)
}

// Service reads the figures a tenant's dashboard charts, each set in one
// tenant-scoped transaction with one query per figure.
type Service struct {
	db         *tenants.DB
	now        func() time.Time
	compliance ComplianceHistory
}

// Option configures a Service.
type Option func(*Service)

// WithCompliance adds the compliance history (care homes' chart).
func WithCompliance(h ComplianceHistory) Option { return func(s *Service) { s.compliance = h } }

// NewService returns a Service reading the time from now.
func NewService(db *tenants.DB, now func() time.Time, opts ...Option) *Service {
	s := &Service{db: db, now: now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// london is the zone the dashboard's months and days are in.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(fmt.Sprintf("dashboard: Europe/London: %v", err)) // embedded tzdata makes this unreachable
	}
	return loc
}()

// Window is the twelve calendar months, in UK time, that end with the
// current one.
type Window struct {
	From, To time.Time   // the start of the first month and of the month after the last
	Months   []time.Time // the start of each month, in order
}

// WindowAt returns the twelve months ending with the one now falls in.
func WindowAt(now time.Time) Window {
	y, m, _ := now.In(london).Date()
	to := time.Date(y, m+1, 1, 0, 0, 0, 0, london)
	w := Window{From: time.Date(y, m-11, 1, 0, 0, 0, 0, london), To: to}
	for i := 0; i < 12; i++ {
		w.Months = append(w.Months, time.Date(y, m-11+time.Month(i), 1, 0, 0, 0, 0, london))
	}
	return w
}

func (w Window) index(key string) int {
	for i, m := range w.Months {
		if m.Format("2006-01") == key {
			return i
		}
	}
	return -1
}

// Want says which figures to read.
type Want struct {
	SignOffs, Expiring, Passports, Training bool
}

// TrainingMonth is one month's training sessions (not cancelled, by start)
// and the places on them.
type TrainingMonth struct {
	Sessions, Booked, Attended, Absent int64
}

// Expiring counts signed-off competencies of current holders whose expiry
// date falls after today and within 30, 60 and 90 days (each count includes
// the one before).
type Expiring struct {
	In30, In60, In90 int64
}

// Figures is what a dashboard charts, month by month over Window (each
// slice holds one entry per month).
type Figures struct {
	Window   Window
	Today    time.Time // the UK date the figures were read on (midnight, London)
	SignOffs []int64
	Issued   []int64 // carer passports issued
	Verified []int64 // checks that confirmed one of the tenant's passports
	Training []TrainingMonth
	Expiring Expiring
}

// Figures reads the wanted figures of the tenant in ctx, in one transaction.
func (s *Service) Figures(ctx context.Context, want Want) (Figures, error) {
	t, _ := tenants.FromContext(ctx)
	now := s.now()
	y, m, d := now.In(london).Date()
	f := Figures{Window: WindowAt(now), Today: time.Date(y, m, d, 0, 0, 0, 0, london)}
	n := len(f.Window.Months)
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		st := store{tx: tx, tenant: t.ID, w: f.Window}
		var err error
		if want.SignOffs {
			if f.SignOffs, err = st.signOffs(n); err != nil {
				return err
			}
		}
		if want.Passports {
			if f.Issued, f.Verified, err = st.passports(n); err != nil {
				return err
			}
		}
		if want.Training {
			if f.Training, err = st.training(n); err != nil {
				return err
			}
		}
		if want.Expiring {
			if f.Expiring, err = st.expiring(f.Today); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Figures{}, err
	}
	return f, nil
}

// MonthEnd is the last known compliance point of one month.
type MonthEnd struct {
	Month time.Time
	Point *CompliancePoint // nil: no point that month
}

// Compliance returns the tenant's compliance at the end of each month of
// the window (its last point that month), and false when no compliance
// history is wired in.
func (s *Service) Compliance(ctx context.Context) ([]MonthEnd, bool, error) {
	if s.compliance == nil {
		return nil, false, nil
	}
	w := WindowAt(s.now())
	to := s.now()
	if to.After(w.To) {
		to = w.To
	}
	points, err := s.compliance.History(ctx, w.From, to)
	if err != nil {
		return nil, true, fmt.Errorf("dashboard: compliance history: %w", err)
	}
	out := make([]MonthEnd, len(w.Months))
	for i, m := range w.Months {
		out[i].Month = m
	}
	for _, p := range points {
		i := w.index(p.Day.In(london).Format("2006-01"))
		if i < 0 {
			continue
		}
		if cur := out[i].Point; cur == nil || !p.Day.Before(cur.Day) {
			p := p
			out[i].Point = &p
		}
	}
	return out, true, nil
}
