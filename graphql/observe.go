package graphql

import (
	"context"
	"strings"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/graphql/observe"
)

// The hooks through which a request tells its observe.Request (when the
// server runs behind an observe.Observer) what it did; each does nothing
// otherwise.

// observeSession records the session a request runs as.
func (s *Server) observeSession(ctx context.Context, sess *auth.Session) {
	rec := observe.FromContext(ctx)
	if rec == nil {
		return
	}
	role := sess.Role
	if sess.IsAdmin {
		role = AdminRole
	}
	rec.Session(role, role == AdminRole || s.state.Load().schemas[role] != nil, sess.Vars)
}

// observeStatements records the statements an operation is about to run,
// each with the root fields it answers (query-log's generated_sql key).
func observeStatements(ctx context.Context, op *operation) {
	rec := observe.FromContext(ctx)
	if rec == nil {
		return
	}
	ob := observationOf(op, rec.LogsPolicies())
	if ob.all != nil {
		rec.Access(ob.all)
	}
	for i, st := range op.stmts {
		var acc []observe.FieldAccess
		if ob.all != nil {
			acc = ob.stmt[i]
		}
		rec.Statement(ctx, ob.fields[i], st.sql, st.params, acc)
	}
}

// planObservation is what observeStatements derives from a plan alone:
// the response keys each statement answers and, when a log shows them,
// the policies of the root fields (the walk over the plan that was about
// 27 allocations a request with http-log on). It is kept on the plan,
// which the plan cache shares between the requests of a variable-free
// query, with the state and role schema it was planned for.
type planObservation struct {
	fields []string
	all    []observe.FieldAccess   // nil unless withAccess
	stmt   [][]observe.FieldAccess // all, for each statement
}

// observationOf returns op's planObservation, made once per plan (per
// request for a plan made for the request's variables).
func observationOf(op *operation, withAccess bool) *planObservation {
	if ob := op.p.observed.Load(); ob != nil && (ob.all != nil || !withAccess) && len(ob.fields) == len(op.stmts) {
		return ob
	}
	ob := &planObservation{fields: statementFields(op.p, len(op.stmts))}
	if withAccess {
		ob.all = rootAccess(op)
		if ob.all == nil {
			ob.all = []observe.FieldAccess{}
		}
		ob.stmt = make([][]observe.FieldAccess, len(op.stmts))
		for i := range op.stmts {
			ob.stmt[i] = fieldsAccess(ob.all, ob.fields[i])
		}
	}
	op.p.observed.Store(ob)
	return ob
}

// statementFields names, for each of the n statements render(p) makes,
// the response keys of the root fields it answers, comma separated.
func statementFields(p *plan, n int) []string {
	var keys [][]string
	if p.mutation {
		for _, r := range p.roots {
			for range r.muts {
				keys = append(keys, []string{r.key})
			}
		}
	} else {
		var cur []string
		for _, r := range p.roots {
			if r.sel == nil {
				continue
			}
			cur = append(cur, r.key)
			if len(cur) == maxColumns {
				keys, cur = append(keys, cur), nil
			}
		}
		if len(cur) > 0 {
			keys = append(keys, cur)
		}
	}
	out := make([]string, n)
	for i := range out {
		if i < len(keys) {
			out[i] = strings.Join(keys[i], ",")
		}
	}
	return out
}

// startDBSpan starts the span of op's database transaction.
func startDBSpan(ctx context.Context, op *operation) (context.Context, *observe.Span) {
	ctx, span := observe.StartSpan(ctx, "db.transaction")
	if span != nil {
		sqls := make([]string, len(op.stmts))
		for i, st := range op.stmts {
			sqls[i] = st.sql
		}
		span.SetStatements(sqls)
	}
	return ctx, span
}

// endSpan ends span with err's code, if any.
func endSpan(span *observe.Span, err *Error) {
	if err != nil {
		span.End(err.Code, err.Message)
		return
	}
	span.End("", "")
}
