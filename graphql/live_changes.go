package graphql

import (
	"context"
	"time"
)

// unchanged reports whether no transaction that writes has committed, or
// started, anywhere in the cluster since the previous call: the
// snapshot's text (xmin:xmax:in-progress xids) is the same. A commit
// either removes an xid from the in-progress list or, for a transaction
// that began and ended between two calls, moves xmax; so an equal
// snapshot means every table reads as before. The first call, and any
// call that fails, reports a change.
func (s *Server) unchanged(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, max(s.cfg.Live.RefetchInterval, time.Second))
	defer cancel()
	var snap string
	if err := s.cfg.Pool.QueryRow(ctx, "SELECT pg_current_snapshot()::text").Scan(&snap); err != nil {
		s.live.snapshot = ""
		return false
	}
	same := snap == s.live.snapshot
	s.live.snapshot = snap
	return same
}

// LiveRefetches returns how many cohort results the server has computed,
// for tests and metrics.
func (s *Server) LiveRefetches() uint64 {
	return s.live.refetches.Load()
}

// LiveLastRound returns how long the last full refetch round (every
// cohort) took, for tests and metrics.
func (s *Server) LiveLastRound() time.Duration {
	return time.Duration(s.live.lastRound.Load())
}
