// Package operator is the platform operator's capability: provisioning,
// listing, suspending and resuming tenants. Provisioning creates the tenant,
// applies its kind's role templates and invites its first administrator in
// one audited transaction.
package operator

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/carepass/carepass/modules/account"
	"github.com/carepass/carepass/modules/audit"
	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/policy"
	"github.com/carepass/carepass/tenants"
)

// RoleSetup is what provisioning needs from the members-and-roles module.
type RoleSetup interface {
	SetUpRoles(ctx context.Context, tx *gorm.DB, kind tenants.Kind) error
	Invite(ctx context.Context, tx *gorm.DB, email, roleKey string) (string, error)
}

// Service provisions and manages tenants.
type Service struct {
	db     *tenants.DB
	store  *tenants.Store
	roles  RoleSetup
	audit  *audit.Log
	policy *policy.Enforcers
	now    func() time.Time
}

// NewService returns a Service.
func NewService(db *tenants.DB, store *tenants.Store, roles RoleSetup, log *audit.Log, enf *policy.Enforcers, now func() time.Time) *Service {
	return &Service{db: db, store: store, roles: roles, audit: log, policy: enf, now: now}
}

// NewTenant is the operator's request to provision a tenant.
type NewTenant struct {
	Kind       tenants.Kind
	Name       string
	Slug       string
	ODSCode    string
	Region     string
	AdminEmail string
}

// Provisioned is a new tenant and the path of its first admin's invitation,
// which the operator hands over.
type Provisioned struct {
	Tenant     tenants.Tenant
	InvitePath string
}

// Provision creates a tenant with its role templates and invites its first
// administrator, all in one transaction, audited in the new tenant's chain
// and the platform's.
func (s *Service) Provision(ctx context.Context, in NewTenant) (Provisioned, error) {
	t, err := tenants.New(in.Kind, in.Name, in.Slug, in.ODSCode, in.Region, s.now())
	var fields []errs.FieldError
	if err != nil {
		fields = errs.FieldsOf(err)
	}
	if account.NormaliseEmail(in.AdminEmail) == "" {
		fields = append(fields, errs.FieldError{Field: "admin_email", Message: "Enter the first administrator's email address, like name@example.org"})
	}
	if len(fields) > 0 {
		return Provisioned{}, errs.Validation(fields...)
	}
	tctx := tenants.WithTenant(ctx, t)
	var token string
	err = s.db.Tx(tctx, func(tx *gorm.DB) error {
		if err := tenants.Insert(tctx, tx, t); err != nil {
			return err
		}
		if err := s.roles.SetUpRoles(tctx, tx, t.Kind); err != nil {
			return fmt.Errorf("operator: roles: %w", err)
		}
		var err error
		if token, err = s.roles.Invite(tctx, tx, in.AdminEmail, policy.AdminRole(t.Kind)); err != nil {
			return fmt.Errorf("operator: invite admin: %w", err)
		}
		ev := audit.Event{Action: "tenant.provision", ObjectType: "tenant", ObjectID: t.ID.String(),
			Detail: map[string]string{"slug": t.Slug, "kind": string(t.Kind), "admin_email": account.NormaliseEmail(in.AdminEmail)}}
		if err := s.audit.Record(tctx, tx, ev); err != nil {
			return err
		}
		return s.audit.RecordPlatform(tctx, tx, ev)
	})
	if err != nil {
		return Provisioned{}, err
	}
	s.policy.Invalidate(t.ID.String())
	return Provisioned{Tenant: t, InvitePath: "/join/" + t.Slug + "/" + token}, nil
}

// SetStatus suspends or resumes the tenant with slug.
func (s *Service) SetStatus(ctx context.Context, slug string, st tenants.Status) (tenants.Tenant, error) {
	t, err := s.store.BySlug(ctx, slug)
	if err != nil {
		return tenants.Tenant{}, err
	}
	tctx := tenants.WithTenant(ctx, t)
	err = s.db.Tx(tctx, func(tx *gorm.DB) error {
		if err := tenants.SetStatus(tctx, tx, t.ID, st, s.now()); err != nil {
			return err
		}
		ev := audit.Event{Action: "tenant." + map[tenants.Status]string{tenants.StatusActive: "resume", tenants.StatusSuspended: "suspend"}[st],
			ObjectType: "tenant", ObjectID: t.ID.String(), Detail: map[string]string{"slug": t.Slug}}
		if err := s.audit.Record(tctx, tx, ev); err != nil {
			return err
		}
		return s.audit.RecordPlatform(tctx, tx, ev)
	})
	if err != nil {
		return tenants.Tenant{}, err
	}
	s.store.Forget(t.Slug)
	t.Status = st
	return t, nil
}

// List returns every tenant.
func (s *Service) List(ctx context.Context) ([]tenants.Tenant, error) { return s.store.List(ctx) }
