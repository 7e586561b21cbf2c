package differential

import (
	"context"
	"slices"
	"strings"
)

// writeCase is one write statement a role runs: an insert of a new row, an
// update or delete of one row (by id), or an update or delete of the whole
// table.
type writeCase struct {
	kind   string // "insert", "update-row", "update-all", "delete-row", "delete-all"
	t      *table
	row    row // insert: the new row, before presets
	target int // *-row: the position of the row
	set    []assign
}

// assign is one `col = value` of an UPDATE.
type assign struct {
	col *column
	v   any
}

// Expected errors of a write.
const (
	codeCheck  = "42501" // new row violates row-level security policy
	codePreset = "P0002" // a preset's session variable is missing
)

// op is the permission the case exercises.
func (c *writeCase) op() string { return c.kind[:6] }

// sql returns the statement and, for the whole-table cases, the query that
// reads back which rows it touched (the role may select every row).
func (c *writeCase) sql() (stmt, readback string) {
	switch c.kind {
	case "insert":
		var names []string
		var cols []*column
		for _, col := range c.t.cols {
			if !col.internal {
				names = append(names, col.name)
				cols = append(cols, col)
			}
		}
		return "INSERT INTO " + c.t.name + " (" + strings.Join(names, ", ") + ") VALUES (" + sqlValues(cols, c.row) + ")", ""
	case "update-row", "update-all":
		sets := []string{"mark = mark + 1"}
		for _, a := range c.set {
			sets = append(sets, a.col.name+" = "+sqlLiteral(a.v))
		}
		stmt = "UPDATE " + c.t.name + " SET " + strings.Join(sets, ", ")
		if c.kind == "update-row" {
			return stmt + " WHERE id = " + sqlLiteral(c.t.rows[c.target][0]), ""
		}
		return stmt, "SELECT id FROM " + c.t.name + " WHERE mark > 0 ORDER BY id"
	case "delete-row":
		return "DELETE FROM " + c.t.name + " WHERE id = " + sqlLiteral(c.t.rows[c.target][0]), ""
	}
	return "DELETE FROM " + c.t.name, "SELECT id FROM " + c.t.name + " ORDER BY id"
}

// newCases draws the write cases of one role and session.
func (r *run) newCases(t *table) []*writeCase {
	var out []*writeCase
	for i := range 3 {
		row := make(row, len(t.cols))
		for _, c := range t.cols {
			switch {
			case c.name == "id":
				row[c.idx] = int64(1000 + i)
			case c.internal:
				row[c.idx] = int64(0)
			default:
				row[c.idx] = r.g.value(c, 0.2)
			}
		}
		out = append(out, &writeCase{kind: "insert", t: t, row: row})
	}
	assigns := func() []assign {
		var cols []*column
		for _, c := range t.ruleCols(0, true) {
			if c.name != "id" {
				cols = append(cols, c)
			}
		}
		var out []assign
		for _, k := range r.g.r.Perm(len(cols))[:1+r.g.pick(3)] {
			out = append(out, assign{cols[k], r.g.value(cols[k], 0.2)})
		}
		return out
	}
	for range 4 {
		out = append(out, &writeCase{kind: "update-row", t: t, target: r.g.pick(len(t.rows)), set: assigns()})
	}
	out = append(out, &writeCase{kind: "update-all", t: t, set: assigns()})
	for range 3 {
		out = append(out, &writeCase{kind: "delete-row", t: t, target: r.g.pick(len(t.rows))})
	}
	return append(out, &writeCase{kind: "delete-all", t: t})
}

// writeCases runs a write role's cases in one transaction as the role with
// the session, each inside a savepoint that is rolled back, and compares
// each outcome with the evaluator's.
func (r *run) writeCases(ctx context.Context, b *bundle, sess session, ev *evaluator) {
	cases := r.newCases(b.t)
	if _, failed, err := r.script(ctx, append(r.begin(b.role, sess), "SAVEPOINT c")); failed >= 0 {
		r.t.Fatalf("open a transaction as %s: %v", b.role, err)
	}
	for _, c := range cases {
		r.compare(c.op(), b, sess, c, r.expectWrite(b, c, ev, true), r.runCase(ctx, c))
	}
	r.exec(ctx, "ROLLBACK")
}

// runCase runs one case inside the open transaction and savepoint c.
func (r *run) runCase(ctx context.Context, c *writeCase) outcome {
	stmt, readback := c.sql()
	stmts := []string{"ROLLBACK TO SAVEPOINT c", stmt}
	if readback != "" {
		stmts = append(stmts, readback)
	}
	results, failed, err := r.script(ctx, stmts)
	switch failed {
	case -1:
	case 0:
		r.t.Fatalf("rollback to savepoint: %v", err)
	case 1:
		return outcome{code: errCode(err)}
	default:
		return outcome{code: "readback failed: " + errCode(err)}
	}
	o := outcome{n: results[1].CommandTag.RowsAffected()}
	if readback != "" {
		seen := selectOutcome(results[2]).ids
		o.ids = []int64{}
		if c.kind == "update-all" {
			o.ids = seen
		} else {
			for _, row := range c.t.rows {
				if id := row[0].(int64); !slices.Contains(seen, id) {
					o.ids = append(o.ids, id)
				}
			}
		}
	}
	return o
}

// expectWrite is what PostgreSQL must do with the case under Hasura's
// rules: presets apply first (a missing session variable is an error), the
// filter decides which existing rows a statement touches, the check must be
// true on every new row (false and null both fail). Relationships read the
// table as it was before the statement.
func (r *run) expectWrite(b *bundle, c *writeCase, ev *evaluator, tally bool) outcome {
	o := r.expectWrite1(b, c, ev)
	if tally {
		res := o.code
		if res == "" {
			res = itoa(int(o.n))
			if c.kind == "insert" {
				res = "ok"
			}
		}
		r.outcomes[c.op()+":"+res]++
	}
	return o
}

func (r *run) expectWrite1(b *bundle, c *writeCase, ev *evaluator) outcome {
	switch c.kind {
	case "insert":
		nr, ok := applyPresets(c.row, b.insSet, ev)
		if !ok {
			return outcome{code: codePreset}
		}
		if s := (scopeRow{c.t, -1, nr}); ev.eval(b.ins, s, s) != vTrue {
			return outcome{code: codeCheck}
		}
		return outcome{n: 1}
	case "update-row", "update-all":
		targets := []int{c.target}
		if c.kind == "update-all" {
			targets = ev.rows(b.upd, c.t)
		} else if s := baseRow(c.t, c.target); ev.eval(b.upd, s, s) != vTrue {
			return outcome{n: 0}
		}
		for _, i := range targets {
			nr := slices.Clone(c.t.rows[i])
			for _, a := range c.set {
				nr[a.col.idx] = a.v
			}
			nr, ok := applyPresets(nr, b.updSet, ev)
			if !ok {
				return outcome{code: codePreset}
			}
			if s := (scopeRow{c.t, -1, nr}); b.updCheck != nil && ev.eval(b.updCheck, s, s) != vTrue {
				return outcome{code: codeCheck}
			}
		}
		o := outcome{n: int64(len(targets))}
		if c.kind == "update-all" {
			o.ids = ids(c.t, targets)
		}
		return o
	case "delete-row":
		if s := baseRow(c.t, c.target); ev.eval(b.del, s, s) == vTrue {
			return outcome{n: 1}
		}
		return outcome{n: 0}
	}
	rows := ev.rows(b.del, c.t)
	return outcome{n: int64(len(rows)), ids: ids(c.t, rows)}
}

// applyPresets returns the row with the presets applied, and false when a
// preset's session variable is missing.
func applyPresets(in row, set []preset, ev *evaluator) (row, bool) {
	out := slices.Clone(in)
	for _, p := range set {
		v := ev.scalar(p.v, p.col.typ)
		if v == nil {
			return nil, false
		}
		out[p.col.idx] = v
	}
	return out, true
}
