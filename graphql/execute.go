package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
)

// backendOnlySetting carries x-hasura-use-backend-only-permissions, which
// the RLS policies of backend_only permissions read.
const backendOnlySetting = "hasura.x_hasura_use_backend_only_permissions"

// setting is a transaction-local setting set for every request.
type setting struct {
	name string // "hasura.x_hasura_user_id"
	vr   string // the session variable it carries: "x-hasura-user-id"
}

// programSettings lists every setting the compiled permissions read, so
// each request sets all of them: to its session's value, or to ” (read as
// unset) when the session has none. A value a rogue function left at
// session level on a pooled connection can then never reach a request.
func programSettings(prog *compiler.Program) []setting {
	seen := map[string]string{backendOnlySetting: "x-hasura-use-backend-only-permissions"}
	add := func(o compiler.Operand) {
		if sv, ok := o.(*compiler.SessionValue); ok {
			seen[sv.Setting] = sv.Name
		}
	}
	for _, f := range prog.Functions {
		if f.SessionArg >= 0 {
			seen[compiler.SessionSetting] = ""
		}
	}
	for _, t := range prog.Tables {
		for _, cf := range t.ComputedFields {
			if cf.SessionArg >= 0 {
				seen[compiler.SessionSetting] = ""
			}
		}
		for _, p := range t.Permissions {
			walkOperands(p.Filter, add)
			walkOperands(p.Check, add)
			for _, pr := range p.Presets {
				add(pr.Value)
			}
		}
	}
	out := make([]setting, 0, len(seen))
	for name, vr := range seen {
		out = append(out, setting{name: name, vr: vr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// settingsSQL is the settings of a program with the SELECT that sets
// them, rendered once for each option pair it is asked for (the same for
// every request), not per request.
type settingsSQL struct {
	list     []setting
	rendered sync.Map // setConfigKey → string
	// fresh, when set, computes its variables in the same SELECT.
	fresh *FreshClaims
}

type setConfigKey struct {
	jitOff    bool
	timeout   time.Duration
	bitmapOff bool
}

// sql returns setConfigSQL(s.list, jitOff, timeout), then the fresh
// claims' call, then, with bitmapOff, enable_bitmapscan off for the
// transaction (see sqlWriter.bitmapOff). The claims function runs before
// it, so its own queries are planned as always.
func (s *settingsSQL) sql(jitOff bool, timeout time.Duration, bitmapOff bool) string {
	k := setConfigKey{jitOff, timeout, bitmapOff}
	if v, ok := s.rendered.Load(k); ok {
		return v.(string)
	}
	sql := setConfigSQL(s.list, jitOff, timeout) + s.fresh.call(len(s.list)+2)
	if bitmapOff {
		sql += ", set_config('enable_bitmapscan', 'off', true)"
	}
	v, _ := s.rendered.LoadOrStore(k, sql)
	return v.(string)
}

// setConfigSQL renders the SELECT that switches role and sets every
// setting, transaction-locally: $1 is the role, $2… the settings' values.
// A timeout (the time limit) bounds each statement after it.
func setConfigSQL(settings []setting, jitOff bool, timeout time.Duration) string {
	var b strings.Builder
	b.WriteString("SELECT set_config('role', $1, true)")
	for i, s := range settings {
		fmt.Fprintf(&b, ", set_config(%s, $%d, true)", compiler.QuoteLiteral(s.name), i+2)
	}
	if jitOff {
		b.WriteString(", set_config('jit', 'off', true)")
	}
	if timeout > 0 {
		fmt.Fprintf(&b, ", set_config('statement_timeout', '%d', true)", max(timeout.Milliseconds(), 1))
	}
	return b.String()
}

// missingVariable reports the first session variable (in name order) that
// the role's policies on the tables p reads need and sess lacks.
func missingVariable(rs *roleSchema, p *plan, sess *auth.Session) *Error {
	if rs.admin {
		return nil
	}
	var missing []string
	for name := range p.vars {
		if _, ok := sess.Vars[name]; !ok {
			missing = append(missing, name)
		}
	}
	for _, v := range rs.views {
		if !p.tables[v.info.Table] {
			continue
		}
		for _, name := range v.vars {
			if _, ok := sess.Vars[name]; !ok {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return errorf(CodeNotFound, "$", "missing session variable: %q", missing[0])
}

// execute runs stmts for the session in one transaction, sent as one
// pipelined batch (one network round trip): BEGIN (READ ONLY unless
// readWrite); the role switch and every setting; the statements in order;
// COMMIT; RESET ALL and RESET ROLE. With prepared (the pool's connections
// may keep prepared statements, usePrepared) all of them run as
// prepared statements (see prepare: one more round trip the first time a
// connection sees a statement); otherwise as unnamed ones. A statement
// that fails aborts the transaction, so the ones after it do nothing and nothing is
// committed. It returns the json columns of every statement, in order.
//
// A timeLimit bounds the request (waiting for a connection included) and,
// as statement_timeout, each statement. The connection goes back to the
// pool on every path, a panic included; pgxpool destroys it when it is
// not idle (still in a transaction, busy or closed), so a connection
// inside a transaction is never reused.
func execute(ctx context.Context, pool *pgxpool.Pool, prepared bool, settings *settingsSQL, jitOff bool, rs *roleSchema, sess *auth.Session, stmts []*statement, readWrite bool, timeLimit time.Duration) ([][]byte, *Error) {
	cols, _, gerr := executeTx(ctx, txSpec{pool: pool, prepared: prepared, settings: settings, jitOff: jitOff, rs: rs, sess: sess, stmts: stmts, readWrite: readWrite, timeLimit: timeLimit})
	return cols, gerr
}

// executeTx is execute for a txSpec: it also returns the result of
// t.after (nil without one).
func executeTx(ctx context.Context, t txSpec) ([][]byte, *pgconn.Result, *Error) {
	results, after, gerr := runTx(ctx, t)
	if gerr != nil {
		return nil, nil, gerr
	}
	cols, gerr := columns(results)
	return cols, after, gerr
}

// columns returns the json columns of results, each of one row.
func columns(results []*pgconn.Result) ([][]byte, *Error) {
	var cols [][]byte
	for _, r := range results {
		if len(r.Rows) != 1 {
			return nil, &Error{Code: CodeUnexpected, Message: "unexpected result from the database: " + strconv.Itoa(len(r.Rows)) + " rows"}
		}
		cols = append(cols, r.Rows[0]...)
	}
	return cols, nil
}

// txSpec is one transaction of statements for a session: execute's
// arguments, and how the transaction ends.
type txSpec struct {
	pool      *pgxpool.Pool
	prepared  bool
	settings  *settingsSQL
	jitOff    bool
	rs        *roleSchema
	sess      *auth.Session
	stmts     []*statement
	readWrite bool
	timeLimit time.Duration
	// rollback ends the transaction with ROLLBACK instead of COMMIT
	// (explain: nothing a statement did may last).
	rollback bool
	// detail gives errors the database's message and details as it
	// does for the admin role (explain: the caller is the admin,
	// whatever role the statements run as).
	detail bool
	// after, when set, is one more statement (no parameters, run
	// unprepared as the login role) at the end of the same batch, after
	// COMMIT and the resets: on a read replica, the read of its policy
	// version that tells whether the whole transaction ran at the
	// request's version, without a round trip of its own. Its result,
	// rows or error, is runTx's second value; its failure is not the
	// request's.
	after string
}

// runTx runs t as execute describes and returns the results of t.stmts,
// in order, and the result of t.after (nil without one, or when the batch
// did not reach it: its Err then says so).
func runTx(ctx context.Context, t txSpec) ([]*pgconn.Result, *pgconn.Result, *Error) {
	pool, prepared, settings, jitOff, rs, sess, stmts, readWrite, timeLimit := t.pool, t.prepared, t.settings, t.jitOff, t.rs, t.sess, t.stmts, t.readWrite, t.timeLimit
	reqCtx := ctx
	if timeLimit > 0 {
		var cancel context.CancelFunc
		// The database cancels a statement at the limit and the
		// connection stays usable; the request's own deadline, a little
		// later, bounds the rest (waiting for a connection, several
		// statements, a stalled network).
		ctx, cancel = context.WithTimeout(ctx, timeLimit+timeLimitGrace)
		defer cancel()
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		if reqCtx.Err() == nil && ctx.Err() != nil {
			return nil, nil, timeLimitError(timeLimit)
		}
		return nil, nil, &Error{Code: CodeUnexpected, Message: "database connection error"}
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()

	role := rs.pgRole
	if role == "" {
		// The login role itself, which may read nothing; "none" also
		// undoes any session-level SET ROLE left on the connection.
		role = "none"
	}
	setValues := settings.values(role, sess)

	begin := "BEGIN READ ONLY"
	if readWrite {
		begin = "BEGIN READ WRITE"
	}
	sqls := []string{begin, settings.sql(jitOff && !rs.admin, timeLimit, bitmapOffFor(rs, stmts, readWrite))}
	args := [][][]byte{nil, setValues}
	for _, st := range stmts {
		params := make([][]byte, len(st.params))
		for i, p := range st.params {
			params[i] = []byte(p)
		}
		sqls = append(sqls, st.sql)
		args = append(args, params)
	}
	end := "COMMIT"
	if t.rollback {
		end = "ROLLBACK"
	}
	// After COMMIT, in the same batch: back to the login role with every
	// session-level setting at its default, undoing what a function the
	// request called may have set with set_config(…, false). Requests do
	// not depend on it (each sets everything transaction-locally), but
	// whatever else uses the pool does. Behind a transaction-mode
	// PgBouncer (unprepared statements) these may run on another server
	// connection, which they leave clean too.
	sqls = append(sqls, end, "RESET ALL", "RESET ROLE")
	args = append(args, nil, nil, nil)
	batch := &pgconn.Batch{}
	if prepared {
		descs, failedPrepare, err := prepare(ctx, conn, role, sqls)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				if reqCtx.Err() == nil {
					return nil, nil, timeLimitError(timeLimit)
				}
				return nil, nil, &Error{Code: CodeUnexpected, Message: "the request was cancelled"}
			}
			if pg.IsClosed() {
				return nil, nil, &Error{Code: CodeUnexpected, Message: "database connection error"}
			}
			e := dbError(err, rs.admin || t.detail)
			if i := failedPrepare - 2; i >= 0 && i < len(stmts) && (e.Code == CodePermissionError || e.Code == CodeConstraintViolation || e.Code == CodeDataException) {
				e.Path = stmts[i].errPath
			}
			return nil, nil, e
		}
		for i, d := range descs {
			batch.ExecStatement(d, args[i], nil, nil)
		}
	} else {
		for i, sql := range sqls {
			batch.ExecParams(sql, args[i], nil, nil, nil)
		}
	}
	afterAt := len(stmts) + 5 // BEGIN, settings, stmts, COMMIT, the resets
	if t.after != "" {
		batch.ExecParams(t.after, nil, nil, nil, nil)
	}
	results, err := readBatch(pg.ExecBatch(ctx, batch), func(i int) bool {
		return i >= 2 && i < 2+len(stmts) || t.after != "" && i == afterAt
	}, afterAt+1)
	failed := -1 // index of the failing result
	if err == nil {
		for i, r := range results {
			if r.Err != nil {
				err, failed = r.Err, i
				break
			}
		}
	} else if n := len(results); n > 0 && results[n-1].Err != nil {
		failed = n - 1
	} else {
		failed = n
	}
	var after *pgconn.Result
	if err != nil && failed >= len(stmts)+3 && pg.TxStatus() == 'I' {
		// Only what runs after COMMIT failed: the answer stands.
		switch {
		case t.after != "" && failed == afterAt && failed < len(results) && !pg.IsClosed():
			// The statement after the resets failed on its own (say the
			// version table does not exist): the connection is clean.
			after = results[afterAt]
		default:
			// A reset failed, or the connection broke: it does not go
			// back to the pool.
			conn.Conn().Close(context.Background())
			if t.after != "" {
				after = &pgconn.Result{Err: fmt.Errorf("the batch ended before the statement after COMMIT: %w", err)}
			}
		}
		err = nil
		results = results[:min(failed, len(results))]
	}
	if err != nil {
		if pg.TxStatus() != 'I' && !pg.IsClosed() {
			// The failed statement left the transaction open (aborted);
			// end it before the connection goes back to the pool.
			if _, rerr := rollback(reqCtx, pg); rerr != nil {
				conn.Conn().Close(context.Background())
			}
		}
		if reqCtx.Err() == nil && (ctx.Err() != nil || isStatementTimeout(err)) {
			return nil, nil, timeLimitError(timeLimit)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, &Error{Code: CodeUnexpected, Message: "the request was cancelled"}
		}
		e := dbError(err, rs.admin || t.detail)
		if i := failed - 2; i >= 0 && i < len(stmts) && (e.Code == CodePermissionError || e.Code == CodeConstraintViolation || e.Code == CodeDataException) {
			e.Path = stmts[i].errPath
		}
		return nil, nil, e
	}
	if len(results) < len(stmts)+3 {
		return nil, nil, &Error{Code: CodeUnexpected, Message: "unexpected result from the database: " + strconv.Itoa(len(results)) + " results"}
	}
	if t.after != "" && after == nil {
		if len(results) <= afterAt {
			return nil, nil, &Error{Code: CodeUnexpected, Message: "unexpected result from the database: " + strconv.Itoa(len(results)) + " results"}
		}
		after = results[afterAt]
	}
	return results[2 : 2+len(stmts)], after, nil
}

// readBatch is MultiResultReader.ReadAll for a request's batch with fewer
// copies: only the results rows(i) asks for (the statements' and the one
// after COMMIT) keep their rows; the others (BEGIN, the settings' SELECT,
// COMMIT, the resets) keep their command tag and error, which is all
// runTx reads of them. No result keeps its field descriptions. n is how
// many results the batch should have (a hint for the allocation).
func readBatch(mrr *pgconn.MultiResultReader, rows func(int) bool, n int) ([]*pgconn.Result, error) {
	store := make([]pgconn.Result, n)
	results := make([]*pgconn.Result, 0, n)
	for i := 0; mrr.NextResult(); i++ {
		r := &pgconn.Result{}
		if i < len(store) {
			r = &store[i]
		}
		rr := mrr.ResultReader()
		if rows(i) {
			for rr.NextRow() {
				vals := rr.Values() // valid until the next row
				row := make([][]byte, len(vals))
				for j, v := range vals {
					if v != nil {
						row[j] = append(make([]byte, 0, len(v)), v...)
					}
				}
				r.Rows = append(r.Rows, row)
			}
		}
		r.CommandTag, r.Err = rr.Close()
		results = append(results, r)
	}
	return results, mrr.Close()
}

// values returns the parameters of the settings' SELECT: the PostgreSQL
// role, then each setting's value for sess (” when it has none), then,
// with fresh claims, the user id the database computes them from.
func (st *settingsSQL) values(role string, sess *auth.Session) [][]byte {
	// One backing array for every value: a request sets every setting
	// of the program.
	out := make([][]byte, 0, len(st.list)+2)
	buf := make([]byte, 0, 256)
	// Never nil, even when empty: nil would be SQL NULL, not ''. Values
	// added before buf grows keep the array they were written to.
	add := func(v string) {
		start := len(buf)
		buf = append(buf, v...)
		out = append(out, buf[start:len(buf):len(buf)])
	}
	add(role)
	for _, s := range st.list {
		v, ok := sess.Vars[s.vr]
		switch {
		case s.name == backendOnlySetting:
			v = ""
			if sess.BackendOnly {
				v = "true"
			}
		case s.name == compiler.SessionSetting:
			v = sessionJSON(sess)
		case !ok && s.vr == auth.VarRole:
			v = sess.Role
		}
		add(v)
	}
	if st.fresh != nil {
		out = append(out, st.fresh.userID(sess))
	}
	return out
}

// sessionJSON renders the session as the JSON object functions with a
// session argument receive: every variable by its lower-case name, and
// x-hasura-role.
func sessionJSON(sess *auth.Session) string {
	obj := map[string]string{auth.VarRole: sess.Role}
	for k, v := range sess.Vars {
		obj[strings.ToLower(k)] = v
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// timeLimitGrace is how long after its time limit a request gives up on
// the database answering.
const timeLimitGrace = time.Second

// isStatementTimeout reports whether err is PostgreSQL cancelling a
// statement for statement_timeout.
func isStatementTimeout(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "57014" && strings.Contains(pg.Message, "statement timeout")
}

// timeLimitError is the error of an operation that ran out of time: the
// time limit's, or, without one, the database's own statement_timeout.
func timeLimitError(limit time.Duration) *Error {
	if limit <= 0 {
		return errorf(CodeUnexpected, "$", "time limit exceeded: the database cancelled the statement (statement_timeout)")
	}
	return errorf(CodeUnexpected, "$", "time limit exceeded: the operation ran longer than %s", limit)
}
