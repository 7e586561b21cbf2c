package graphql

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// runCohorts computes the result of each cohort in one transaction, sent
// as one pipelined batch (one round trip): BEGIN READ ONLY; then for each
// cohort the role switch and its settings (set_config(…, true), which a
// later call in the same transaction overrides), and its statements;
// COMMIT; RESET ALL and RESET ROLE. Every cohort sets every setting of the
// program, so none sees a value another cohort set. When any statement
// fails the transaction is lost for all, so each cohort of the batch is
// run again on its own and gets its own answer or error.
func (s *Server) runCohorts(ctx context.Context, batch []*cohort) []cohortResult {
	out := make([]cohortResult, len(batch))
	pool := s.livePool(ctx, batch)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		for i := range out {
			out[i] = cohortResult{body: errorBody(&Error{Code: CodeUnexpected, Path: "$", Message: "database connection error"}), failed: true}
		}
		return out
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()
	b := &pgconn.Batch{}
	b.ExecParams("BEGIN READ ONLY", nil, nil, nil, nil)
	for _, c := range batch {
		op := c.op
		role := op.rs.pgRole
		if role == "" {
			role = "none"
		}
		// The settings SELECT sets jit, statement_timeout and
		// enable_bitmapscan only where they apply: reset them, so a
		// cohort does not run under the previous cohort's.
		b.ExecParams("RESET statement_timeout", nil, nil, nil, nil)
		b.ExecParams("RESET jit", nil, nil, nil, nil)
		b.ExecParams("RESET enable_bitmapscan", nil, nil, nil, nil)
		b.ExecParams(op.st.settings.sql(!s.cfg.JIT && !op.rs.admin, s.limitsFor(op.rs).time, bitmapOffFor(op.rs, op.stmts, false)), op.st.settings.values(role, c.sess), nil, nil, nil)
		for _, st := range op.stmts {
			params := make([][]byte, len(st.params))
			for i, p := range st.params {
				params[i] = []byte(p)
			}
			b.ExecParams(st.sql, params, nil, nil, nil)
		}
	}
	b.ExecParams("COMMIT", nil, nil, nil, nil)
	b.ExecParams("RESET ALL", nil, nil, nil, nil)
	b.ExecParams("RESET ROLE", nil, nil, nil, nil)
	// On a replica the batch ends with the read of its policy version:
	// no round trip of its own (liveVersionHeld).
	onReplica := pool != s.cfg.Pool
	if onReplica {
		b.ExecParams(s.cfg.Replicas.VersionSQL(), nil, nil, nil, nil)
	}
	queued := 1 + 3 + 1 // BEGIN; COMMIT and the resets; the version read
	for _, c := range batch {
		queued += 4 + len(c.op.stmts) // three resets, the settings, the statements
	}
	results, err := pg.ExecBatch(ctx, b).ReadAll()
	var after *pgconn.Result
	if onReplica && len(results) == queued {
		// The version read was reached: everything before it succeeded,
		// and its own error (no version table) is not the round's.
		after, results = results[queued-1], results[:queued-1]
		if after.Err != nil {
			err = nil
		}
	}
	err = s.liveVersionHeld(&pool, batch, after, err)
	if err == nil {
		for _, r := range results {
			if r.Err != nil {
				err = r.Err
				break
			}
		}
	}
	if err != nil {
		if pg.TxStatus() != 'I' && !pg.IsClosed() {
			if _, rerr := rollback(ctx, pg); rerr != nil {
				conn.Conn().Close(context.Background())
			}
		}
		conn.Release()
		for i, c := range batch {
			op := c.op
			cols, gerr := s.readExecute(ctx, pool, op.st.version, s.prepared, op.st.settings, !s.cfg.JIT, op.rs, c.sess, op.stmts, false, s.limitsFor(op.rs).time)
			if gerr != nil {
				out[i] = cohortResult{body: errorBody(gerr), failed: true}
				continue
			}
			out[i] = cohortResult{body: response(op.p, cols), cols: cols}
		}
		return out
	}
	i := 1 // after BEGIN
	for n, c := range batch {
		i += 4 // the three RESETs and the settings
		var cols [][]byte
		ok := true
		for range c.op.stmts {
			if len(results[i].Rows) != 1 {
				ok = false
			} else {
				cols = append(cols, results[i].Rows[0]...)
			}
			i++
		}
		if !ok {
			out[n] = cohortResult{body: errorBody(&Error{Code: CodeUnexpected, Path: "$", Message: "unexpected result from the database"}), failed: true}
			continue
		}
		out[n] = cohortResult{body: response(c.op.p, cols), cols: cols}
	}
	return out
}

// cohortResult is a cohort's response body and the statements' columns
// it was made from (none when it failed).
type cohortResult struct {
	body   []byte
	cols   [][]byte
	failed bool
}
