package scheme

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/carepass/carepass/tenants"
)

// Preset is a ready-made scheme for one kind of tenant, to start from.
type Preset struct {
	Key             string       `json:"key"`
	Summary         string       `json:"summary"`
	Name            string       `json:"name"`
	Audience        Audience     `json:"audience"`
	Eligibility     string       `json:"eligibility"`
	Benefits        []string     `json:"benefits"`
	ValidityKind    ValidityKind `json:"validity_kind"`
	ValidityDays    int          `json:"validity_days"`
	ConsentRequired bool         `json:"consent_required"`
	Renewable       bool         `json:"renewable"`
}

// Input returns the preset as the input that creates its scheme.
func (p Preset) Input() Input {
	in := Input{Name: p.Name, Audience: string(p.Audience), Eligibility: p.Eligibility,
		Benefits: append([]string(nil), p.Benefits...), ValidityKind: string(p.ValidityKind),
		ConsentRequired: ptr(p.ConsentRequired), Renewable: ptr(p.Renewable)}
	if p.ValidityDays > 0 {
		in.ValidityDays = strconv.Itoa(p.ValidityDays)
	}
	return in
}

// ValidityLabel describes how long the preset's passports last.
func (p Preset) ValidityLabel() string {
	return ValidityLabel(p.ValidityKind, p.ValidityDays, time.Time{})
}

// presetData is the embedded presets, by tenant kind. None ends on a fixed
// date: such a date would go stale in the file.
//
//go:embed presets.json
var presetData []byte

// presets is presetData parsed; TestPresets checks every one validates.
var presets = func() map[tenants.Kind][]Preset {
	var m map[tenants.Kind][]Preset
	if err := json.Unmarshal(presetData, &m); err != nil {
		panic(fmt.Sprintf("scheme: presets.json: %v", err))
	}
	return m
}()

// PresetsFor returns the ready-made schemes for a kind of tenant.
func PresetsFor(kind tenants.Kind) []Preset {
	src := presets[kind]
	out := make([]Preset, len(src))
	for i, p := range src {
		p.Benefits = append([]string(nil), p.Benefits...)
		out[i] = p
	}
	return out
}

// presetFor returns the preset of kind with key.
func presetFor(kind tenants.Kind, key string) (Preset, bool) {
	for _, p := range presets[kind] {
		if p.Key == key {
			return p, true
		}
	}
	return Preset{}, false
}
