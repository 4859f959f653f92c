package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/carepass/carepass/modules/careplan"
	"github.com/carepass/carepass/modules/training"
)

// staffBooker lets discharge planning and class planning book people onto
// training sessions through the training service's staff booking, which
// audits each booking and tells its events.
type staffBooker struct{ training *training.Service }

func (b staffBooker) Book(ctx context.Context, sessionID, holderID uuid.UUID) (careplan.Booking, error) {
	bk, err := b.training.Book(ctx, sessionID, holderID)
	if err != nil {
		return careplan.Booking{}, err
	}
	return careplan.Booking{ID: bk.ID, SessionID: bk.SessionID, HolderID: bk.HolderID, HolderName: bk.HolderName,
		Waiting: bk.Status == training.Waiting}, nil
}
