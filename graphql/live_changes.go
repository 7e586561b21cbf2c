package graphql

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/rls"
)

// Refetching only what changed.
//
// The policy install keeps a counter per table (rls.ChangesFunction), a
// sequence bumped once by every statement that writes the table. Each
// round of a refetch loop reads every counter and then, in the next
// statement of the same round trip, the transactions still running
// (snapshotSQL); it refetches a
// cohort only when a table it reads (watchedTables) has a counter that
// moved since the previous round.
//
// nextval is not transactional, so a counter can move before its writer
// commits: the round sees the bump but not the data. Such a writer had
// its transaction id when it bumped (it had written a row), so it holds
// the lock on that id (pg_locks) when the next statement looks. The
// tables whose counters moved in a round with writers in progress are
// remembered with those writers' ids (changeState.pending); in a later
// round where one of them is no longer running (committed or rolled
// back, and so visible to every statement that round runs afterwards,
// each in a snapshot of its own: the cohorts run READ COMMITTED) the
// tables count as changed again. The set of ids kept for a
// table only shrinks to those still running, so a long transaction costs
// one extra refetch when it ends, never a lost change.
//
// What the counters cannot see is polled every interval, as before: a
// cohort whose statement calls a function or a computed field (any SQL
// may run), reads a view, or reads fresh claims (computed from other
// tables); a table without a counter (a partition, a table with
// inheritance children, a foreign table, a trigger disabled); and every
// cohort when the counters cannot be read (an install older than them, or
// a login role without EXECUTE on the function). With SkipUnchanged, those
// polled cohorts are skipped too when the snapshot shows that nothing
// committed in the cluster since the previous round.

// changeState is what a refetch loop remembers between rounds.
type changeState struct {
	counts  map[string]int64           // table → counter at the last read
	pending map[string]map[uint64]bool // table → writers in progress when its counter moved
	snap    string                     // the last snapshot's text
	// unread is set while the counters cannot be read, so the reason is
	// logged once, when it starts.
	unread bool
}

// roundChanges is what a round read: the tables that changed (changed),
// those that have a counter (counted, nil when the counters could not be
// read) and whether the snapshot is the previous round's (idle).
type roundChanges struct {
	changed map[string]bool
	counted map[string]bool
	idle    bool
}

// changesSQL reads the counters; snapshotSQL, the next statement, reads
// the snapshot (for SkipUnchanged) and the transactions that have an id
// and are still running: each holds the lock on its own id from the
// moment it gets one until after its commit is visible. The snapshot's
// in-progress list would not do: it leaves out the transactions whose id
// is above its xmax (the latest completed id + 1), which may have bumped
// a counter.
const (
	changesSQL  = "SELECT table_schema, table_name, changes FROM " + rls.ChangesFunction + "()"
	snapshotSQL = `SELECT pg_current_snapshot()::text, coalesce((SELECT string_agg(transactionid::text, ',') FROM pg_catalog.pg_locks
	  WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' AND granted), '')`
)

// readChanges reads the counters and the snapshot in one round trip and
// returns what changed since the previous call on st. Without counters
// (or on any error) counted is nil: every cohort is polled.
func (s *Server) readChanges(ctx context.Context, st *changeState) roundChanges {
	if s.cfg.Live.PollEveryCohort && !s.cfg.Live.SkipUnchanged {
		return roundChanges{}
	}
	ctx, cancel := context.WithTimeout(ctx, max(s.cfg.Live.RefetchInterval, 5*time.Second))
	defer cancel()
	conn, err := s.cfg.Pool.Acquire(ctx)
	if err != nil {
		st.snap = ""
		return roundChanges{}
	}
	defer conn.Release()
	b := &pgconn.Batch{}
	if !s.cfg.Live.PollEveryCohort {
		b.ExecParams(changesSQL, nil, nil, nil, nil)
	}
	b.ExecParams(snapshotSQL, nil, nil, nil, nil)
	results, err := conn.Conn().PgConn().ExecBatch(ctx, b).ReadAll()
	if err != nil || len(results) == 0 {
		// A missing function fails the batch: poll this round.
		if !st.unread && ctx.Err() == nil {
			s.cfg.Log.Warn("live queries: cannot read the change counters, so every cohort is refetched every interval; "+
				"run `rowguard migrate up` (with --login-role for the server's login) to install them and the right to read them",
				"function", rls.ChangesFunction, "error", err)
		}
		st.unread = true
		st.snap = ""
		st.counts = nil
		return roundChanges{}
	}
	st.unread = false
	snapRes := results[len(results)-1]
	if snapRes.Err != nil || len(snapRes.Rows) != 1 {
		st.snap = ""
		return roundChanges{}
	}
	snap := string(snapRes.Rows[0][0])
	out := roundChanges{idle: snap == st.snap}
	st.snap = snap
	if s.cfg.Live.PollEveryCohort {
		return out
	}
	running := writers(string(snapRes.Rows[0][1]))
	counts := map[string]int64{}
	out.changed, out.counted = map[string]bool{}, map[string]bool{}
	for _, row := range results[0].Rows {
		name := string(row[0]) + "." + string(row[1])
		n, err := strconv.ParseInt(string(row[2]), 10, 64)
		if err != nil {
			continue
		}
		counts[name] = n
		out.counted[name] = true
		if prev, ok := st.counts[name]; !ok || prev != n {
			out.changed[name] = true
		}
	}
	if st.pending == nil {
		st.pending = map[string]map[uint64]bool{}
	}
	for name, ids := range st.pending {
		for id := range ids {
			if !running[id] {
				delete(ids, id)
				out.changed[name] = true // a writer ended: its data is visible now
			}
		}
		if len(ids) == 0 {
			delete(st.pending, name)
		}
	}
	if len(running) > 0 {
		for name := range out.changed {
			ids := st.pending[name]
			if ids == nil {
				ids = map[uint64]bool{}
				st.pending[name] = ids
			}
			for id := range running {
				ids[id] = true
			}
		}
	}
	st.counts = counts
	return out
}

// writers returns the transaction ids of a comma-separated list.
func writers(list string) map[uint64]bool {
	out := map[uint64]bool{}
	if list == "" {
		return out
	}
	for _, x := range strings.Split(list, ",") {
		if id, err := strconv.ParseUint(x, 10, 64); err == nil {
			out[id] = true
		}
	}
	return out
}

// due reports whether c is refetched this round. A cohort that never ran
// or whose last refetch failed always is; a round run only for new
// cohorts refetches nothing else; a stream whose last batch had rows
// fetches the next one.
func (s *Server) due(c *cohort, onlyNew bool, ch roundChanges) bool {
	switch {
	case !c.ran || c.failed:
		return true
	case onlyNew:
		return false
	case c.more:
		return true
	}
	if ch.counted != nil && c.poll == "" && !s.cfg.Live.PollEveryCohort {
		tracked := true
		for _, name := range c.watch {
			if !ch.counted[name] {
				tracked = false
				break
			}
		}
		if tracked {
			return slices.ContainsFunc(c.watch, func(name string) bool { return ch.changed[name] })
		}
	}
	return !(s.cfg.Live.SkipUnchanged && ch.idle)
}

// watchedTables returns the tables ("schema.name") a refetch of op reads:
// the plan's tables (selections, relationships, where, order_by) and,
// for each of them and each table they lead to, the tables the role's
// select filter reads (relationships and _exists in a policy, whether a
// helper or a correlated EXISTS evaluates them). poll is set, and says
// why, when a change could come from elsewhere.
func watchedTables(op *operation) (watch []string, poll string) {
	if callsFunction(op) {
		return nil, "calls a function"
	}
	if fresh := op.st.settings.fresh; fresh != nil {
		return nil, "fresh claims"
	}
	filters := map[*compiler.Table]compiler.Expr{}
	for _, v := range op.rs.views {
		if v.perm != nil {
			filters[v.info.Table] = v.perm.Filter
		}
	}
	seen := map[*compiler.Table]bool{}
	var queue []*compiler.Table
	add := func(t *compiler.Table) {
		if t != nil && !seen[t] {
			seen[t] = true
			queue = append(queue, t)
		}
	}
	for t := range op.p.tables {
		add(t)
	}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		if t.IsView {
			return nil, "reads a view"
		}
		watch = append(watch, t.Name.Schema+"."+t.Name.Name)
		compiler.Walk(filters[t], func(e compiler.Expr) {
			switch e := e.(type) {
			case *compiler.RelExists:
				add(e.Rel.Remote)
			case *compiler.TableExists:
				add(e.Table)
			case *compiler.ComputedExists, *compiler.ComputedCompare:
				poll = "a policy calls a computed field"
			}
		})
		if poll != "" {
			return nil, poll
		}
	}
	slices.Sort(watch)
	if len(watch) == 0 {
		return nil, "reads no table"
	}
	return watch, ""
}

// LiveRefetches returns how many cohort results the server has computed,
// for tests and metrics.
func (s *Server) LiveRefetches() uint64 {
	return s.live.refetches.Load()
}

// LiveLastRound returns how long the last interval's refetch round of
// live queries took (the cohorts it refetched: every one when polling),
// for tests and metrics.
func (s *Server) LiveLastRound() time.Duration {
	return time.Duration(s.live.lastRound.Load())
}
