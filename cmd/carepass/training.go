package main

import (
	"context"

	"github.com/carepass/carepass/modules/holder"
	"github.com/carepass/carepass/modules/training"
)

// people lets the training pages search the tenant's holders (the holder
// service audits the search) when staff book someone or assign a trainer.
type people struct{ holders *holder.Service }

func (p people) FindPeople(ctx context.Context, query string, limit int) ([]training.FoundPerson, error) {
	list, err := p.holders.List(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	out := make([]training.FoundPerson, len(list))
	for i, h := range list {
		out[i] = training.FoundPerson{ID: h.ID, Name: h.Name(), Left: h.Status != holder.StatusActive}
	}
	return out, nil
}
