package graphql

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
)

// ReadRouter hands out read replicas' pools: graphql/replicas.Router
// satisfies it.
type ReadRouter interface {
	// ReadPool returns the pool of a healthy replica that has replayed
	// policy version version, or nil when there is none.
	ReadPool(version string) *pgxpool.Pool
	// Failed reports that a read on pool failed for a reason that is not
	// the request's.
	Failed(pool *pgxpool.Pool, err error)
}

// liveFenceWait bounds how long a live-query round waits for a replica to
// replay the primary's WAL position before it runs on the primary instead.
const liveFenceWait = 100 * time.Millisecond

// readPool is the pool a transaction runs on: the primary's for a write
// (readWrite), without replicas, or when no replica is healthy at version
// (the policy version the request's schema was built from); else a
// replica's, round robin.
func (s *Server) readPool(version string, readWrite bool) *pgxpool.Pool {
	if readWrite || s.cfg.Replicas == nil {
		return s.cfg.Pool
	}
	if p := s.cfg.Replicas.ReadPool(version); p != nil {
		return p
	}
	return s.cfg.Pool
}

// readExecute is execute on pool; when pool is a replica's and the
// transaction failed for a reason that is not the request's (an unexpected
// error: the connection broke, the replica shut down, a conflict with
// recovery), the replica is reported and the transaction, read-only, runs
// again on the primary. A time limit or a cancelled request is final.
func (s *Server) readExecute(ctx context.Context, pool *pgxpool.Pool, prepared bool, settings *settingsSQL, jitOff bool, rs *roleSchema, sess *auth.Session, stmts []*statement, readWrite bool, timeLimit time.Duration) ([][]byte, *Error) {
	cols, gerr := execute(ctx, pool, prepared, settings, jitOff, rs, sess, stmts, readWrite, timeLimit)
	if gerr == nil || pool == s.cfg.Pool || readWrite || gerr.Code != CodeUnexpected || ctx.Err() != nil || isTimeLimit(gerr) {
		return cols, gerr
	}
	s.cfg.Replicas.Failed(pool, gerr)
	return execute(ctx, s.cfg.Pool, prepared, settings, jitOff, rs, sess, stmts, readWrite, timeLimit)
}

func isTimeLimit(e *Error) bool {
	return len(e.Message) >= 19 && e.Message[:19] == "time limit exceeded"
}

// livePool is the pool a batch of live-query cohorts runs on. A replica
// only when every cohort's schema is of the version the replica replayed
// and the replica has replayed the primary's WAL as of now: the round
// that chose these cohorts read the change counters on the primary, and a
// refetch that did not see the change would not be repeated (the counter
// has been seen), so the client would keep a stale result. It waits up to
// liveFenceWait for the replica, then uses the primary.
func (s *Server) livePool(ctx context.Context, batch []*cohort) *pgxpool.Pool {
	if s.cfg.Replicas == nil || len(batch) == 0 {
		return s.cfg.Pool
	}
	version := batch[0].op.st.version
	for _, c := range batch[1:] {
		if c.op.st.version != version {
			return s.cfg.Pool
		}
	}
	pool := s.cfg.Replicas.ReadPool(version)
	if pool == nil {
		return s.cfg.Pool
	}
	var lsn string
	if err := s.cfg.Pool.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		return s.cfg.Pool
	}
	deadline := time.Now().Add(liveFenceWait)
	for {
		var replayed bool
		// NULL (not in recovery: a promoted replica has its own WAL) is
		// false: use the primary.
		err := pool.QueryRow(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", lsn).Scan(&replayed)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Replicas.Failed(pool, err)
			}
			return s.cfg.Pool
		}
		if replayed {
			return pool
		}
		if time.Now().After(deadline) {
			return s.cfg.Pool
		}
		select {
		case <-ctx.Done():
			return s.cfg.Pool
		case <-time.After(2 * time.Millisecond):
		}
	}
}
