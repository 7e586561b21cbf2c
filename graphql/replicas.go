package graphql

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	// VersionSQL is a statement that reads a replica's policy version,
	// run at the end of a read's own batch on the replica (after COMMIT
	// and the resets): no round trip of its own.
	VersionSQL() string
	// Held reports whether res, VersionSQL's result, says the replica
	// has replayed exactly policy version version: ReadPool handed it
	// out at version and replay only moves forward, so yes means the
	// whole transaction before it ran at version.
	Held(version string, res *pgconn.Result) bool
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

// readExecute is execute on pool, for a request whose schema was built
// from policy version version. When pool is a replica's, the batch ends
// with the replica's VersionSQL, and the transaction runs again on the
// primary (it is read-only) when it failed for a reason that is not the
// request's (an unexpected error: the connection broke, the replica shut
// down, a conflict with recovery), or when the replica is no longer at
// version once it ended (Held: it replayed a newer policy install
// meanwhile, so the transaction may have run under it); the replica is
// reported either way. A time limit or a cancelled request is final.
func (s *Server) readExecute(ctx context.Context, pool *pgxpool.Pool, version string, prepared bool, settings *settingsSQL, jitOff bool, rs *roleSchema, sess *auth.Session, stmts []*statement, readWrite bool, timeLimit time.Duration) ([][]byte, *Error) {
	if pool == s.cfg.Pool || readWrite {
		return execute(ctx, pool, prepared, settings, jitOff, rs, sess, stmts, readWrite, timeLimit)
	}
	cols, after, gerr := executeTx(ctx, txSpec{pool: pool, prepared: prepared, settings: settings, jitOff: jitOff, rs: rs, sess: sess, stmts: stmts, timeLimit: timeLimit, after: s.cfg.Replicas.VersionSQL()})
	if ctx.Err() != nil {
		return cols, gerr
	}
	switch {
	case gerr == nil:
		if s.cfg.Replicas.Held(version, after) {
			return cols, nil
		}
		s.cfg.Replicas.Failed(pool, errors.New("the replica is no longer at policy version "+version))
	case gerr.Code != CodeUnexpected || isTimeLimit(gerr):
		return cols, gerr
	default:
		s.cfg.Replicas.Failed(pool, gerr)
	}
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
	// The insert position, not pg_current_wal_lsn (the write position):
	// under synchronous_commit = off a commit can be visible on the
	// primary before its WAL is written.
	var lsn string
	if err := s.cfg.Pool.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
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

// errPolicyVersionMoved fails a live round that ran on a replica which
// replayed a newer policy install before the round ended.
var errPolicyVersionMoved = errors.New("graphql: the read replica moved to another policy version during the round")

// liveVersionHeld checks, after a live round ran on a replica without
// error, that the replica is still at the cohorts' policy version (as
// readExecute does), from after, the result of VersionSQL at the end of
// the round's batch; when it is not, it reports the replica, points *pool
// at the primary (the round's fallback runs each cohort again there) and
// returns errPolicyVersionMoved. Any other err is returned as it is.
func (s *Server) liveVersionHeld(pool **pgxpool.Pool, batch []*cohort, after *pgconn.Result, err error) error {
	if err != nil || *pool == s.cfg.Pool || len(batch) == 0 {
		return err
	}
	if s.cfg.Replicas.Held(batch[0].op.st.version, after) {
		return nil
	}
	s.cfg.Replicas.Failed(*pool, errPolicyVersionMoved)
	*pool = s.cfg.Pool
	return errPolicyVersionMoved
}
