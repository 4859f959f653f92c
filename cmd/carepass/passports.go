package main

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/carerpassport"
	"github.com/carepass/carepass/modules/credential"
	"github.com/carepass/carepass/modules/register"
	"github.com/carepass/carepass/modules/scheme"
	"github.com/carepass/carepass/tenants"
)

// schemeTerms gives the passport module the terms of the tenant's schemes.
type schemeTerms struct{ svc *scheme.Service }

func (s schemeTerms) Terms(ctx context.Context, tx *gorm.DB, id uuid.UUID) (carerpassport.Scheme, error) {
	sch, err := s.svc.ForIssue(ctx, tx, id)
	if err != nil {
		return carerpassport.Scheme{}, err
	}
	return terms(sch), nil
}

func (s schemeTerms) Options(ctx context.Context) ([]carerpassport.SchemeOption, error) {
	list, err := s.svc.List(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]carerpassport.SchemeOption, 0, len(list))
	for _, sch := range list {
		if sch.Retired() {
			continue
		}
		out = append(out, carerpassport.SchemeOption{ID: sch.ID, Name: sch.Name, ConsentRequired: sch.ConsentRequired,
			UntilDischarge: sch.ValidityKind == scheme.ValidUntilDischarge})
	}
	return out, nil
}

func terms(sch scheme.Scheme) carerpassport.Scheme {
	return carerpassport.Scheme{ID: sch.ID, Name: sch.Name, Audience: string(sch.Audience), Benefits: sch.Benefits,
		ConsentRequired: sch.ConsentRequired, Renewable: sch.Renewable,
		UntilDischarge: sch.ValidityKind == scheme.ValidUntilDischarge,
		ValidUntil:     func(from time.Time) (time.Time, error) { return sch.ValidUntil(from) }}
}

// passportChecker lets a GP practice's carer register check a passport,
// recorded as checked by the practice.
type passportChecker struct{ svc *carerpassport.Service }

func (p passportChecker) Check(ctx context.Context, codeOrQR string) (register.CheckResult, error) {
	in := carerpassport.VerifyInput{Text: codeOrQR, Channel: carerpassport.ChannelCode}
	if t, ok := tenants.FromContext(ctx); ok {
		in.Verifier = t.ID
	}
	if actor, ok := tenants.ActorFrom(ctx); ok {
		in.Client = "account:" + actor.String()
	}
	r, err := p.svc.Verify(ctx, in)
	if err != nil || !r.Confirmed {
		return register.CheckResult{}, err
	}
	return register.CheckResult{Confirmed: true, HolderName: r.HolderName, IssuerName: r.IssuerName,
		SchemeName: r.SchemeName, ValidUntil: r.ValidUntil, Benefits: r.Benefits, Code: r.Code}, nil
}

// rotateKey retires the signing key of the tenant with slug and makes a new
// one, recorded in the platform audit chain as done from the command line.
func rotateKey(ctx context.Context, a *app, slug string) (credential.PublicKey, error) {
	t, err := a.tenants.BySlug(ctx, slug)
	if err != nil {
		return credential.PublicKey{}, err
	}
	var pub credential.PublicKey
	err = a.db.Platform(ctx, func(tx *gorm.DB) error {
		if pub, err = a.issuer.Rotate(ctx, tx, t); err != nil {
			return err
		}
		return a.audit.RecordPlatform(ctx, tx, audit.Event{Action: "issuer.rotate_key", ObjectType: "tenant",
			ObjectID: t.ID.String(), ActorLabel: "command line", Detail: map[string]string{"kid": pub.KID}})
	})
	return pub, err
}
