// Package synth loads a large synthetic population into the database for
// load tests: tenants of every kind spread over the regions like a national
// deployment, each provisioned with its template roles, adopted standard
// catalogues, holders, competency records in realistic states and dates,
// training courses, sessions and bookings, carer passports for carers'
// charities and a carer register for GP practices.
//
// The population is reproducible: everything but the generated ids and the
// creation timestamps follows from the seed and the as-of date. It is made
// by server-side generation (INSERT … SELECT FROM generate_series), one
// transaction per tenant scoped with set_config('app.tenant_id', …, true),
// so row-level security stays in force and checks every row written, under
// the schema owner's role as under any other.
//
// Synthetic tenants are told apart from real ones by their slug, which
// always starts with SlugPrefix, and by their name, which starts with
// "Synthetic".
package synth

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/carepass/carepass/tenants"
)

// SlugPrefix starts the slug of every synthetic tenant.
const SlugPrefix = "synth-"

// EmailDomain is the reserved domain of every synthetic address: mail to it
// goes nowhere.
const EmailDomain = "synthetic.example"

// Limits of one run, to keep a typing slip from filling a disk.
const (
	MaxTenants = 100_000
	MaxHolders = 20_000_000
	MaxRecords = 500_000_000
	MaxSeed    = 1_000_000_000
)

// Spec says how large a population to load.
type Spec struct {
	Tenants int
	Holders int
	Records int
	// Seed selects the population; the same seed gives the same one.
	Seed int64
	// AsOf is the day the population's dates are relative to (sign-offs,
	// training sessions, passports' validity). Zero: today.
	AsOf time.Time
	// RefHolders is the size of the reference tenant (the first, a care
	// home): it does not depend on how many tenants there are, so that its
	// pages can be compared as the population grows. Zero: 250.
	RefHolders int
	// Workers is how many tenants load at once. Zero: 2.
	Workers int
	// PasswordHash is the stored password of each tenant's synthetic
	// administrator account; empty makes accounts that cannot sign in.
	PasswordHash string
}

// Report is what a load made.
type Report struct {
	Tenants      int // made by this run
	Skipped      int // already present from an earlier run with the same seed
	ByKind       map[tenants.Kind]int
	Holders      int64
	Records      int64
	Events       int64
	Courses      int64
	Sessions     int64
	Bookings     int64
	Passports    int64
	Register     int64
	Accounts     int64
	Rules        int64 // casbin rules
	Care         int64 // rows of the care-home compliance tables
	Elapsed      time.Duration
	AnalyzeTaken time.Duration
}

// catalogue codes each kind adopts from the standard library.
var adopts = map[tenants.Kind][]string{
	tenants.KindCareHome:        {"CHS", "PCSP"},
	tenants.KindPaediatricTrust: {"PCC", "PCSP"},
	tenants.KindCarersCharity:   {"PCC", "PCSP"},
	tenants.KindGPPractice:      {"PCSP"},
}

// recordCap is how many competencies a holder of each kind of tenant can
// hold a general record of: the adopted catalogues' competencies that are
// not specific to one person cared for.
var recordCap = map[tenants.Kind]int{
	tenants.KindCareHome:        41,
	tenants.KindPaediatricTrust: 30,
	tenants.KindCarersCharity:   30,
	tenants.KindGPPractice:      10,
}

// kindShare is the share of tenants of each kind (per thousand), after the
// reference tenant: mostly care homes and GP practices, some charities and
// trusts, as in a national deployment.
var kindShare = []struct {
	kind   tenants.Kind
	share  int
	weight float64 // relative number of holders per tenant
}{
	{tenants.KindCareHome, 600, 3},
	{tenants.KindGPPractice, 280, 1},
	{tenants.KindCarersCharity, 80, 10},
	{tenants.KindPaediatricTrust, 40, 40},
}

// regions with their share of tenants (per thousand), roughly by population.
var regions = []struct {
	name  string
	share int
}{
	{"London", 150}, {"South East", 160}, {"North West", 120}, {"East of England", 110},
	{"West Midlands", 95}, {"South West", 95}, {"Yorkshire and the Humber", 90},
	{"East Midlands", 80}, {"North East", 45}, {"Wales", 55},
}

// towns are invented places for tenants' names.
var towns = []string{"Ashby Vale", "Brackenford", "Coldharbour", "Dunmere", "Elmbridge Cross", "Fallowfield",
	"Greyhaven", "Hartwell", "Ivybridge Moor", "Juniper Hill", "Kestrel Bay", "Larkspur", "Millbrook",
	"Northwold", "Oakhurst", "Pennyfold", "Quarry Bank", "Rookwood", "Saltmarsh", "Thornbury Green",
	"Upperton", "Valewood", "Willowmere", "Yarrowby", "Alderley Fen", "Birchcombe", "Copperfield",
	"Daleside", "Eastwick Heath", "Foxley", "Glenmoor", "Hollins Edge", "Ironbridge Row", "Kingsmere",
	"Lowther Park", "Marshfield", "Netherby", "Orchard Lea", "Primrose Down", "Redwater"}

// Tenant is one planned synthetic tenant.
type Tenant struct {
	Index   int // 1-based; 1 is the reference tenant
	Kind    tenants.Kind
	Slug    string
	Name    string
	Region  string
	Holders int
	Records int
}

// Plan returns the tenants spec describes, in load order. Each tenant's
// kind, name and region follow from the seed and its index alone; holders
// and records are shared out so that the totals match spec exactly.
func Plan(spec Spec) ([]Tenant, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	out := make([]Tenant, spec.Tenants)
	ref := spec.refHolders()
	for i := range out {
		out[i] = describe(spec.Seed, i+1)
	}
	out[0].Holders = ref
	// Holders: the rest shared by weight, exactly.
	weights := make([]float64, len(out))
	for i := 1; i < len(out); i++ {
		weights[i] = kindWeight(out[i].Kind) * (0.5 + unit(spec.Seed, out[i].Index, "size"))
	}
	share(spec.Holders-ref, weights, func(i, n int) { out[i].Holders = n })
	// Records: the reference tenant gets its fair part; the rest go by
	// holders times what each kind's holders can hold.
	perHolder := float64(spec.Records) / float64(spec.Holders)
	out[0].Records = min(int(math.Round(float64(ref)*perHolder)), ref*recordCap[out[0].Kind], spec.Records)
	capacity := 0
	for i := 1; i < len(out); i++ {
		weights[i] = float64(out[i].Holders * recordCap[out[i].Kind])
		capacity += out[i].Holders * recordCap[out[i].Kind]
	}
	rest := spec.Records - out[0].Records
	if float64(rest) > 0.9*float64(capacity) {
		return nil, fmt.Errorf("%w: %d records do not fit %d holders (at most about %d each here, as many as the competencies their tenants adopt); lower --records or raise --holders",
			ErrSpec, spec.Records, spec.Holders, capacity*9/10/max(1, spec.Holders-ref))
	}
	share(rest, weights, func(i, n int) { out[i].Records = n })
	return out, nil
}

// ErrSpec is wrapped by every refusal of a spec.
var ErrSpec = errors.New("synthetic population")

func (s Spec) refHolders() int {
	ref := s.RefHolders
	if ref <= 0 {
		ref = 250
	}
	// Keep holders for the other tenants.
	return max(1, min(ref, s.Holders-(s.Tenants-1)))
}

func (s Spec) validate() error {
	switch {
	case s.Tenants < 1 || s.Tenants > MaxTenants:
		return fmt.Errorf("%w: --tenants must be between 1 and %d", ErrSpec, MaxTenants)
	case s.Holders < s.Tenants || s.Holders > MaxHolders:
		return fmt.Errorf("%w: --holders must be at least --tenants (%d) and at most %d", ErrSpec, s.Tenants, MaxHolders)
	case s.Records < 0 || s.Records > MaxRecords:
		return fmt.Errorf("%w: --records must be between 0 and %d", ErrSpec, MaxRecords)
	case s.Seed < 0 || s.Seed > MaxSeed:
		return fmt.Errorf("%w: --seed must be between 0 and %d", ErrSpec, MaxSeed)
	case s.Workers < 0 || s.Workers > 64:
		return fmt.Errorf("%w: --workers must be between 1 and 64", ErrSpec)
	}
	return nil
}

// share divides total among the non-zero weights exactly (cumulative
// rounding), calling set for each index.
func share(total int, weights []float64, set func(i, n int)) {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	if sum == 0 {
		return
	}
	cum, given := 0.0, 0
	for i, w := range weights {
		if w == 0 {
			continue
		}
		cum += w
		upto := int(math.Floor(float64(total) * cum / sum))
		if i == lastNonZero(weights) {
			upto = total
		}
		set(i, upto-given)
		given = upto
	}
}

func lastNonZero(w []float64) int {
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] != 0 {
			return i
		}
	}
	return -1
}

func kindWeight(k tenants.Kind) float64 {
	for _, s := range kindShare {
		if s.kind == k {
			return s.weight
		}
	}
	return 1
}

// describe returns the kind, slug, name and region of tenant index.
func describe(seed int64, index int) Tenant {
	t := Tenant{Index: index, Kind: tenants.KindCareHome, Slug: Slug(seed, index)}
	if index > 1 {
		pick := int(unit(seed, index, "kind") * 1000)
		for _, s := range kindShare {
			if pick < s.share {
				t.Kind = s.kind
				break
			}
			pick -= s.share
		}
	}
	pick := int(unit(seed, index, "region") * 1000)
	for _, r := range regions {
		t.Region = r.name
		if pick < r.share {
			break
		}
		pick -= r.share
	}
	town := towns[int(unit(seed, index, "town")*float64(len(towns)))]
	label := map[tenants.Kind]string{
		tenants.KindCareHome:        "Care Homes",
		tenants.KindGPPractice:      "Medical Practice",
		tenants.KindCarersCharity:   "Carers Centre",
		tenants.KindPaediatricTrust: "Children's Hospital NHS Foundation Trust",
	}[t.Kind]
	t.Name = fmt.Sprintf("Synthetic %s %s %d", town, label, index)
	return t
}

// Slug is the slug of synthetic tenant index of seed.
func Slug(seed int64, index int) string {
	return fmt.Sprintf("%s%d-%05d", SlugPrefix, seed, index)
}

// unit returns a number in [0, 1) that follows from seed, index and what.
func unit(seed int64, index int, what string) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s", seed, index, what)
	return float64(h.Sum64()>>11) / (1 << 53)
}
