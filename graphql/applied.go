package graphql

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql/observe"
	"github.com/rowguard/rowguard/policies"
)

// Which row-level security policies a request's statements are subject
// to, for the logs (http-log and query-log name them per root field): the
// planner knows the tables each root field reads or writes and with which
// command; the policies PostgreSQL applies to a role are read from the
// catalog once per program (SetProgram), never per request.

// appliedPolicies holds, per PostgreSQL role, table and command, the
// names of the policies PostgreSQL applies (the command's own and FOR ALL
// ones, to the role, a role it inherits, or PUBLIC), and which tables
// have row-level security enabled.
type appliedPolicies struct {
	enabled map[policies.QualifiedTable]bool
	byRole  map[string]map[policyKey][]string
}

// policyKey is a table and a pg_policy.polcmd: r (select), a (insert),
// w (update), d (delete) or * (all).
type policyKey struct {
	table policies.QualifiedTable
	cmd   string
}

// polcmd is pg_policy.polcmd of each command.
var polcmd = map[string]string{"select": "r", "insert": "a", "update": "w", "delete": "d"}

// loadAppliedPolicies reads, for the PostgreSQL roles pgRoles, the
// policies PostgreSQL applies to them on tables with row-level security
// enabled. Roles that do not exist (metadata not installed yet) have
// none.
func loadAppliedPolicies(ctx context.Context, pool *pgxpool.Pool, pgRoles []string) (*appliedPolicies, error) {
	a := &appliedPolicies{enabled: map[policies.QualifiedTable]bool{}, byRole: map[string]map[policyKey][]string{}}
	rows, err := pool.Query(ctx, `SELECT n.nspname::text, c.relname::text FROM pg_class c
	  JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE c.relrowsecurity AND c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, fmt.Errorf("read tables with row-level security: %w", err)
	}
	for rows.Next() {
		var q policies.QualifiedTable
		if err := rows.Scan(&q.Schema, &q.Name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read tables with row-level security: %w", err)
		}
		a.enabled[q] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tables with row-level security: %w", err)
	}
	// polroles = {0} is PUBLIC; pg_has_role(…, 'USAGE') follows inherited
	// memberships, as PostgreSQL does to decide whether a policy applies.
	rows, err = pool.Query(ctx, `SELECT r.rolname::text, n.nspname::text, c.relname::text, p.polname::text, p.polcmd::text
	  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	  JOIN pg_roles r ON r.rolname = ANY ($1::text[])
	  WHERE c.relrowsecurity AND (0 = ANY (p.polroles)
	    OR EXISTS (SELECT 1 FROM unnest(p.polroles) pr WHERE pr <> 0 AND pg_has_role(r.oid, pr, 'USAGE')))
	  ORDER BY 1, 2, 3, 4`, pgRoles)
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var role, name, cmd string
		var q policies.QualifiedTable
		if err := rows.Scan(&role, &q.Schema, &q.Name, &name, &cmd); err != nil {
			return nil, fmt.Errorf("read policies: %w", err)
		}
		m := a.byRole[role]
		if m == nil {
			m = map[policyKey][]string{}
			a.byRole[role] = m
		}
		k := policyKey{q, cmd}
		m[k] = append(m[k], name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	return a, nil
}

// access is a table a root field reads or writes, and the command.
type access struct {
	table   *compiler.Table
	command string // select, insert, update or delete
}

// describe names the policies PostgreSQL applies to pgRole's accesses
// (admin: bypassed).
func (a *appliedPolicies) describe(pgRole string, admin bool, acc []access) []observe.TableAccess {
	out := make([]observe.TableAccess, 0, len(acc))
	for _, x := range acc {
		ta := observe.TableAccess{Table: x.table.Name.String(), Command: x.command, Policies: []string{}}
		switch {
		case admin:
			ta.RLS = "bypassed"
		case x.table.IsView:
			ta.RLS = "view"
		case a == nil || !a.enabled[x.table.Name]:
			ta.RLS = "disabled"
		default:
			m := a.byRole[pgRole]
			names := append(append([]string{}, m[policyKey{x.table.Name, polcmd[x.command]}]...), m[policyKey{x.table.Name, "*"}]...)
			sort.Strings(names)
			ta.Policies = append(ta.Policies, names...)
		}
		out = append(out, ta)
	}
	return out
}

// rootAccesses lists the tables root field r reads or writes, each with
// its command, in the order the plan meets them, without repeats. An
// UPDATE or DELETE that reads rows (a where, a key, an increment, a
// RETURNING) and an INSERT whose answer reads rows or that updates on
// conflict are subject to the SELECT policies too, as PostgreSQL applies
// them.
func rootAccesses(r *rootPlan) []access {
	w := &accessWalker{seen: map[access]bool{}}
	if r.sel != nil {
		w.selection(r.sel)
	}
	for _, m := range r.muts {
		w.mutation(m)
	}
	return w.out
}

type accessWalker struct {
	seen map[access]bool
	out  []access
}

func (w *accessWalker) add(t *compiler.Table, command string) {
	if t == nil {
		return
	}
	a := access{t, command}
	if !w.seen[a] {
		w.seen[a] = true
		w.out = append(w.out, a)
	}
}

func (w *accessWalker) selection(s *selection) {
	if s == nil || s.view == nil {
		return
	}
	w.add(s.view.info.Table, "select")
	w.expr(s.where)
	for _, o := range s.order {
		for _, rel := range o.path {
			w.add(rel.Remote, "select")
		}
		if o.aggRel != nil {
			w.add(o.aggRel.Remote, "select")
		}
	}
	w.fields(s.fields)
}

func (w *accessWalker) fields(fields []*output) {
	for _, f := range fields {
		if f.sel != nil {
			w.selection(f.sel)
		}
		w.fields(f.fields)
	}
}

// expr adds the tables a where reads through relationships or _exists.
func (w *accessWalker) expr(e compiler.Expr) {
	compiler.Walk(e, func(e compiler.Expr) {
		switch e := e.(type) {
		case *compiler.RelExists:
			w.add(e.Rel.Remote, "select")
		case *compiler.TableExists:
			w.add(e.Table, "select")
		}
	})
}

func (w *accessWalker) mutation(m *mutation) {
	t := m.t.info.Table
	returns := len(m.fields) > 0 && returningList(m) != ""
	switch m.kind {
	case mutInsertStep:
		w.add(m.step.t.info.Table, "insert")
		if c := m.step.conflict; c != nil && len(c.update) > 0 {
			w.add(m.step.t.info.Table, "update")
			w.add(m.step.t.info.Table, "select")
		}
		return
	case mutInsertFinal:
		w.add(t, "select") // reads back the rows its steps inserted
	case mutInsert:
		w.add(t, "insert")
		if c := m.conflict; c != nil && len(c.update) > 0 {
			w.add(t, "update")
			w.add(t, "select")
			w.expr(c.where)
		}
		if returns {
			w.add(t, "select")
		}
	case mutUpdate:
		w.add(t, "update")
		reads := m.where != nil || len(m.pk) > 0 || returns
		for _, s := range m.sets {
			reads = reads || s.op != "_set"
		}
		if reads {
			w.add(t, "select")
		}
		w.expr(m.where)
	case mutDelete:
		w.add(t, "delete")
		if m.where != nil || len(m.pk) > 0 || returns {
			w.add(t, "select")
		}
		w.expr(m.where)
	}
	w.fields(m.fields)
}

// rootAccess names, for each root field of op that runs SQL, the tables
// it touches and the policies applied to them, in the plan's order.
func rootAccess(op *operation) []observe.FieldAccess {
	var out []observe.FieldAccess
	for _, r := range op.p.roots {
		if r.hidden || (r.sel == nil && len(r.muts) == 0) {
			continue
		}
		out = append(out, observe.FieldAccess{Field: r.key, Tables: op.st.applied.describe(op.rs.pgRole, op.rs.admin, rootAccesses(r))})
	}
	return out
}

// fieldsAccess picks from all the entries of the comma-separated keys
// (statementFields'; response keys are GraphQL names, without commas).
func fieldsAccess(all []observe.FieldAccess, keys string) []observe.FieldAccess {
	var out []observe.FieldAccess
	for _, k := range strings.Split(keys, ",") {
		for _, a := range all {
			if a.Field == k {
				out = append(out, a)
			}
		}
	}
	return out
}
