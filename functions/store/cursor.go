package store

import (
	"context"

	"go.mongodb.org/mongo-driver/bson"

	"go.mongodb.org/mongo-driver/mongo"
)

// nextWithTimeout advances a long scan, bounding each getMore by
// CallTimeout rather than the whole scan.
func (s *Store) nextWithTimeout(ctx context.Context, cur *mongo.Cursor) bool {
	if cur.RemainingBatchLength() > 0 {
		return cur.Next(ctx)
	}
	cctx, cancel := s.Call(ctx)
	defer cancel()
	return cur.Next(cctx)
}

// Scan walks every document a cursor returns, bounding each round trip by
// CallTimeout, and calls page with up to PageSize documents at a time. The
// documents are copies that stay valid after page returns.
func (s *Store) Scan(ctx context.Context, cur *mongo.Cursor, page func([]bson.Raw) error) error {
	defer func() {
		cctx, cancel := s.Call(context.WithoutCancel(ctx))
		defer cancel()
		_ = cur.Close(cctx)
	}()
	batch := make([]bson.Raw, 0, s.cfg.PageSize)
	for s.nextWithTimeout(ctx, cur) {
		batch = append(batch, bson.Raw(append([]byte(nil), cur.Current...)))
		if len(batch) == s.cfg.PageSize {
			if err := page(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return page(batch)
	}
	return nil
}
