package graphql

import (
	"slices"
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// mutationAlias names the modified table inside a mutation's statement,
// and mutationCTE the rows the statement returns.
const (
	mutationAlias = "_rgt"
	mutationCTE   = "_rgm"
	// mutationRow is the alias of a returned row in the answer, and
	// mutationWholeRow the column holding the whole row, which computed
	// fields the role calls directly take.
	mutationRow      = "_rgrow"
	mutationWholeRow = "_rgw"
)

// renderMutation renders m as one statement: the INSERT, UPDATE or DELETE
// in a data-modifying CTE, and a SELECT that builds the field's JSON from
// the rows it returns.
//
// The RETURNING list names only the columns the answer reads: PostgreSQL
// applies the role's select policy to the returned rows as soon as
// RETURNING reads a column, and its column grants to each column read, so
// a mutation without returning never needs the select permission.
func renderMutation(m *mutation, role string) *statement {
	// A mutation's transaction keeps bitmap scans on (bitmapOffFor), which
	// setMerge's reads need off.
	w := &sqlWriter{role: role, noMerge: true}
	var sql string
	switch m.kind {
	case mutInsertStep:
		sql = w.insertStepSQL(m.step)
	case mutInsertFinal:
		sql = w.insertFinalSQL(m)
	}
	if sql != "" {
		st := &statement{sql: sql}
		for _, v := range w.params {
			st.params = append(st.params, v.(string))
		}
		return st
	}
	var dml string
	switch m.kind {
	case mutInsert:
		dml = w.insert(m)
	case mutUpdate:
		dml = w.update(m)
	default:
		dml = "DELETE FROM " + compiler.QuoteTable(m.t.info.Name()) + " AS " + mutationAlias + w.mutationWhere(m)
	}
	dml += " RETURNING " + returningList(m)
	var out string
	if m.one {
		out = "(SELECT " + w.rowOf(m.t.view, m.fields, mutationRow, true) + " FROM " + mutationCTE + " " + mutationRow + " LIMIT 1)"
	} else {
		out = mutationResponse(m.fields, "(SELECT count(*) FROM "+mutationCTE+")", func(fields []*output) string {
			return "(SELECT coalesce(json_agg(" + w.rowOf(m.t.view, fields, mutationRow, true) + "), '[]') FROM " + mutationCTE + " " + mutationRow + ")"
		})
	}
	st := &statement{sql: "WITH " + mutationCTE + " AS (" + dml + ") SELECT " + out}
	for _, v := range w.params {
		st.params = append(st.params, v.(string))
	}
	return st
}

// castType is a column's type without its modifier: an explicit cast to
// character varying(3) would silently truncate a longer value, where
// assigning the uncut value to the column reports it.
func castType(c *compiler.Column) string {
	t := c.Type
	if i := strings.IndexByte(t, '('); i >= 0 {
		if j := strings.IndexByte(t[i:], ')'); j >= 0 {
			t = strings.TrimSpace(t[:i] + t[i+j+1:])
		}
	}
	return t
}

// value renders one request value for column c.
func (w *sqlWriter) value(v cell, typ string) string {
	if v.null {
		return "NULL::" + typ
	}
	if geo := compiler.GeoType(typ); geo != "" && compiler.IsGeoJSON(v.text) {
		return compiler.GeoFromJSON(w.param(v.text, "text"), geo)
	}
	return w.param(v.text, typ)
}

func (w *sqlWriter) insert(m *mutation) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + compiler.QuoteTable(m.t.info.Name()) + " AS " + mutationAlias)
	cols := m.columns
	switch {
	case len(m.rows) == 0:
		// objects: [] inserts nothing; the statement still checks the
		// role's privilege and answers with zero rows.
		c := m.t.insertCols[0]
		b.WriteString(" (" + compiler.QuoteIdent(c.Name) + ") SELECT NULL::" + castType(c) + " WHERE false")
	case len(cols) == 0 && len(m.rows) == 1:
		b.WriteString(" DEFAULT VALUES")
	case len(cols) == 0:
		// Several rows of defaults: name one column the role may insert.
		b.WriteString(" (" + compiler.QuoteIdent(m.t.insertCols[0].Name) + ") VALUES ")
		for i := range m.rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(DEFAULT)")
		}
	default:
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = compiler.QuoteIdent(c.Name)
		}
		b.WriteString(" (" + strings.Join(names, ", ") + ") VALUES ")
		for i, row := range m.rows {
			if i > 0 {
				b.WriteString(", ")
			}
			vals := make([]string, len(cols))
			for j, c := range cols {
				if row[j] == nil {
					vals[j] = "DEFAULT"
				} else {
					vals[j] = w.value(*row[j], castType(c))
				}
			}
			b.WriteString("(" + strings.Join(vals, ", ") + ")")
		}
	}
	b.WriteString(w.conflictClause(m.t, m.conflict))
	return b.String()
}

// conflictClause renders the ON CONFLICT clause of an insert into t, or
// "" when oc is nil.
func (w *sqlWriter) conflictClause(t *mutTable, oc *onConflict) string {
	var b strings.Builder
	if oc != nil {
		b.WriteString(" ON CONFLICT ON CONSTRAINT " + compiler.QuoteIdent(oc.constraint.name))
		if len(oc.update) == 0 {
			b.WriteString(" DO NOTHING")
			return b.String()
		}
		sets := make([]string, len(oc.update))
		for i, c := range oc.update {
			sets[i] = compiler.QuoteIdent(c.Name) + " = EXCLUDED." + compiler.QuoteIdent(c.Name)
		}
		b.WriteString(" DO UPDATE SET " + strings.Join(sets, ", "))
		var conds []string
		if oc.where != nil {
			r := w.renderer(true)
			if e := r.Expr(oc.where, mutationAlias); e != "true" {
				conds = append(conds, "("+e+")")
			}
		}
		// Hasura leaves a conflicting row the role may not update alone;
		// PostgreSQL would fail the statement on it. The update filter in
		// the WHERE makes the row skipped, as in Hasura, where the filter
		// reads only the row itself and only columns the role may select
		// (a rule through other tables is left to the policy; so is one
		// reading other columns, which would need a SELECT grant the role
		// does not have).
		if upd := t.upd; upd != nil && upd.Filter != nil && selectable(t, upd.Filter) {
			r := &compiler.Renderer{}
			if e := r.Expr(upd.Filter, mutationAlias); e != "true" {
				conds = append(conds, "("+e+")")
			}
		}
		if len(conds) > 0 {
			b.WriteString(" WHERE " + strings.Join(conds, " AND "))
		}
	}
	return b.String()
}

func (w *sqlWriter) update(m *mutation) string {
	a := mutationAlias
	sets := make([]string, len(m.sets))
	for i, s := range m.sets {
		col := a + "." + compiler.QuoteIdent(s.column.Name)
		var expr string
		switch s.op {
		case "_set":
			expr = w.value(s.value, castType(s.column))
		case "_inc":
			expr = col + " + " + w.value(s.value, castType(s.column))
		case "_append":
			expr = col + " || " + w.value(s.value, "jsonb")
		case "_prepend":
			expr = w.value(s.value, "jsonb") + " || " + col
		case "_delete_key":
			expr = col + " - " + w.value(s.value, "text")
		case "_delete_elem":
			expr = col + " - " + w.value(s.value, "integer")
		case "_delete_at_path":
			expr = col + " #- " + w.value(s.value, "text[]")
		}
		sets[i] = compiler.QuoteIdent(s.column.Name) + " = " + expr
	}
	if len(sets) == 0 {
		// Hasura answers an update without operators with the matching
		// rows, unchanged: assign a key column to itself.
		c := m.t.updateCols[0]
		sets = []string{compiler.QuoteIdent(c.Name) + " = " + a + "." + compiler.QuoteIdent(c.Name)}
	}
	return "UPDATE " + compiler.QuoteTable(m.t.info.Name()) + " AS " + a + " SET " + strings.Join(sets, ", ") + w.mutationWhere(m)
}

// mutationWhere renders the WHERE of an update or delete: the primary key
// or the request's where. The role's filter is not here: the policies
// apply it.
func (w *sqlWriter) mutationWhere(m *mutation) string {
	var conds []string
	for _, pk := range m.pk {
		conds = append(conds, mutationAlias+"."+compiler.QuoteIdent(pk.column.Name)+" = "+w.param(pk.text, castType(pk.column)))
	}
	if m.where != nil {
		r := w.renderer(true)
		if e := r.Expr(m.where, mutationAlias); e != "true" {
			conds = append(conds, "("+e+")")
		}
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// returningList names the columns the answer of m reads, or a constant
// when it reads none.
func returningList(m *mutation) string {
	var cols []string
	seen := map[*compiler.Column]bool{}
	whole := false
	need := func(cv *computedView) {
		w, key := computedNeeds(cv)
		if w && !whole {
			whole = true
			cols = append(cols, mutationAlias+" AS "+mutationWholeRow)
		}
		for _, k := range key {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, mutationAlias+"."+compiler.QuoteIdent(k.Name))
			}
		}
	}
	var walk func(fields []*output)
	walk = func(fields []*output) {
		for _, f := range fields {
			switch f.kind {
			case outColumn:
				// An inherited role's column may be returned only on some
				// rows: the condition's columns are returned too.
				for _, c := range append([]*compiler.Column{f.column}, columnRowsReads(m.t.view, f.column)...) {
					if !seen[c] {
						seen[c] = true
						cols = append(cols, mutationAlias+"."+compiler.QuoteIdent(c.Name))
					}
				}
			case outSelection:
				if f.sel.src != nil {
					need(f.sel.src.cv)
					continue
				}
				for _, mp := range f.sel.rel.Mapping {
					if !seen[mp.Local] {
						seen[mp.Local] = true
						cols = append(cols, mutationAlias+"."+compiler.QuoteIdent(mp.Local.Name))
					}
				}
			case outComputed:
				need(f.computed)
			case outReturning:
				walk(f.fields)
			}
		}
	}
	walk(m.fields)
	if len(cols) == 0 {
		return "1 AS _rg_row"
	}
	return strings.Join(cols, ", ")
}

// mutationResponse renders a mutation's {affected_rows, returning, …}
// object: affectedRows counts the rows, rows renders the returning list of
// the given fields.
func mutationResponse(fields []*output, affectedRows string, rows func([]*output) string) string {
	return fieldsObject(fields, func(f *output) string {
		if f.kind == outAffectedRows {
			return affectedRows
		}
		return rows(f.fields) // outReturning
	})
}

// selectable reports whether e reads only its own row (no relationship,
// _exists or computed field) and only columns the role may select.
func selectable(t *mutTable, e compiler.Expr) bool {
	if t.view == nil || t.view.perm == nil {
		return false
	}
	p := t.view.perm
	ok := true
	eachLeaf(e, func(e compiler.Expr) {
		switch e := e.(type) {
		case *compiler.Compare:
			cols := []*compiler.Column{e.Column}
			if cv, isCol := e.Right.(*compiler.ColumnValue); isCol {
				cols = append(cols, cv.Column)
			}
			for _, c := range cols {
				if !p.HasColumn(c.Name) && !slices.Contains(p.HiddenColumns, c) {
					ok = false
				}
			}
		case *compiler.BoolConst:
		default:
			ok = false
		}
	})
	return ok
}
