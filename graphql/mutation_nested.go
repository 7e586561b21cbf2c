package graphql

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// A nested insert ({author: {data: {…}}}, {articles: {data: […]}}) runs
// as one INSERT statement per row, in dependency order: an object
// relationship's row before the row that points to it, an array
// relationship's rows after the row they point to. Each statement is its
// own so that it sees the rows inserted before it: the policies' checks
// often read the parent row (an article_tag's check through its article),
// and the sub-statements of one statement cannot see each other's rows.
// Each step stores the columns that later steps need, and the primary key
// the answer reads, as JSON in a transaction-local setting; a final
// statement builds the field's answer from those settings.

// insertStep is one row of a nested insert.
type insertStep struct {
	t        *mutTable
	columns  []*compiler.Column // columns the request sets
	cells    []cell
	from     []keyedColumn // columns filled from an earlier step's row
	conflict *onConflict
	key      string             // the setting that receives the row
	keep     []*compiler.Column // the row's columns kept in key
}

// keyedColumn fills column from source of the row stored in key.
type keyedColumn struct {
	column *compiler.Column
	key    string
	source *compiler.Column
}

// nestedInsert holds the steps of one nested insert field while it is
// planned.
type nestedInsert struct {
	p     *planner
	steps []*insertStep
	path  string
}

// hasNested reports whether any object of an insert sets a relationship.
func hasNested(t *mutTable, objs []any) bool {
	for _, o := range objs {
		obj, _ := o.(object)
		for _, f := range obj {
			if t.insertRels[f.name] != nil {
				return true
			}
		}
	}
	return false
}

// nestedInsertPlan plans m's objects as steps: m becomes the final
// statement, and the steps come before it in the returned list.
func (p *planner) nestedInsertPlan(m *mutation, objs []any, conflict *onConflict) ([]*mutation, *Error) {
	n := &nestedInsert{p: p, path: m.errPath}
	needPK := m.one
	for _, f := range m.fields {
		if f.kind == outReturning {
			needPK = true
		}
	}
	if needPK && (m.t.view == nil || m.t.view.pk == nil) {
		return nil, validationf(m.errPath, "a nested insert into %q can return rows only when the role may select its primary key", m.t.name)
	}
	for i, o := range objs {
		at := m.errPath
		if !m.one {
			at += "[" + strconv.Itoa(i) + "]"
		}
		obj, _ := o.(object)
		step, err := n.row(m.t, obj, conflict, nil, at)
		if err != nil {
			return nil, err
		}
		if needPK {
			step.keep = appendColumns(step.keep, m.t.view.pk...)
		}
		m.keys = append(m.keys, step.key)
	}
	var out []*mutation
	for _, s := range n.steps {
		out = append(out, &mutation{kind: mutInsertStep, t: s.t, step: s, errPath: m.errPath})
		m.allKeys = append(m.allKeys, s.key)
	}
	m.kind = mutInsertFinal
	return append(out, m), nil
}

// row plans the steps of one object of t; parent, when set, fills the
// columns an array relationship joins on.
func (n *nestedInsert) row(t *mutTable, obj object, conflict *onConflict, parent []keyedColumn, at string) (*insertStep, *Error) {
	s := &insertStep{t: t, conflict: conflict, from: parent}
	filled := map[*compiler.Column]bool{}
	for _, k := range parent {
		filled[k.column] = true
	}
	type arrayRel struct {
		r    *insertRel
		rows []any
		oc   *onConflict
		at   string
	}
	var arrays []arrayRel
	for _, f := range obj {
		r := t.insertRels[f.name]
		if r == nil {
			continue
		}
		rel, _ := f.value.(object)
		data, _ := rel.get("data")
		var oc *onConflict
		if v, ok := rel.get("on_conflict"); ok && v != nil {
			var err *Error
			if oc, err = n.p.onConflict(r.remote, v, at+"."+f.name+".on_conflict"); err != nil {
				return nil, err
			}
		}
		if r.rel.Kind == policies.ObjectRel {
			sub, _ := data.(object)
			child, err := n.row(r.remote, sub, oc, nil, at+"."+f.name+".data")
			if err != nil {
				return nil, err
			}
			for _, mp := range r.rel.Mapping {
				child.keep = appendColumns(child.keep, mp.Remote)
				s.from = append(s.from, keyedColumn{column: mp.Local, key: child.key, source: mp.Remote})
				filled[mp.Local] = true
			}
			continue
		}
		arrays = append(arrays, arrayRel{r: r, rows: asList(data), oc: oc, at: at + "." + f.name + ".data"})
	}
	for _, f := range obj {
		if t.insertRels[f.name] != nil {
			continue
		}
		col := t.insertByName[f.name]
		if col == nil {
			return nil, validationf(at+"."+f.name, "field '%s' not found in type: '%s_insert_input'", f.name, t.name)
		}
		if filled[col] {
			return nil, validationf(at+"."+f.name, "cannot set column %q: a nested insert sets it", f.name)
		}
		s.columns = append(s.columns, col)
		s.cells = append(s.cells, cellOf(f.value, col))
	}
	n.p.nsteps++
	s.key = "rowguard.insert_" + strconv.Itoa(n.p.nsteps)
	n.steps = append(n.steps, s)
	for _, a := range arrays {
		var keyed []keyedColumn
		for _, mp := range a.r.rel.Mapping {
			s.keep = appendColumns(s.keep, mp.Local)
			keyed = append(keyed, keyedColumn{column: mp.Remote, key: s.key, source: mp.Local})
		}
		for i, item := range a.rows {
			sub, _ := item.(object)
			if _, err := n.row(a.r.remote, sub, a.oc, keyed, a.at+"["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func appendColumns(list []*compiler.Column, cols ...*compiler.Column) []*compiler.Column {
	for _, c := range cols {
		if !slices.Contains(list, c) {
			list = append(list, c)
		}
	}
	return list
}

// keyRead renders the value of column source of the row stored in key,
// cast to typ (NULL when the step inserted no row).
func keyRead(key string, source *compiler.Column, typ string) string {
	return "((NULLIF(current_setting(" + compiler.QuoteLiteral(key) + ", true), '')::jsonb ->> " +
		compiler.QuoteLiteral(source.Name) + ")::" + typ + ")"
}

// insertStepSQL renders one step: the INSERT of its row, and a SELECT that
// stores the returned columns in the step's setting and answers the
// number of rows inserted (0 or 1).
func (w *sqlWriter) insertStepSQL(s *insertStep) string {
	var b strings.Builder
	b.WriteString("WITH " + mutationCTE + " AS (INSERT INTO " + compiler.QuoteTable(s.t.info.Name()) + " AS " + mutationAlias)
	var names, vals []string
	for i, c := range s.columns {
		names = append(names, compiler.QuoteIdent(c.Name))
		vals = append(vals, w.value(s.cells[i], castType(c)))
	}
	for _, k := range s.from {
		names = append(names, compiler.QuoteIdent(k.column.Name))
		vals = append(vals, keyRead(k.key, k.source, castType(k.column)))
	}
	if len(names) == 0 {
		b.WriteString(" DEFAULT VALUES")
	} else {
		b.WriteString(" (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")")
	}
	b.WriteString(w.conflictClause(s.t, s.conflict))
	ret := "1 AS _rg_row"
	if len(s.keep) > 0 {
		cols := make([]string, len(s.keep))
		for i, c := range s.keep {
			cols[i] = mutationAlias + "." + compiler.QuoteIdent(c.Name)
		}
		ret = strings.Join(cols, ", ")
	}
	b.WriteString(" RETURNING " + ret + ") SELECT count(set_config(" + compiler.QuoteLiteral(s.key) + ", row_to_json(" + mutationCTE + ")::text, true)) FROM " + mutationCTE)
	return b.String()
}

// insertFinalSQL renders the answer of a nested insert from its steps'
// settings: affected_rows counts every row inserted, nested ones too, as
// Hasura does; returning reads the top-level rows back by primary key.
func (w *sqlWriter) insertFinalSQL(m *mutation) string {
	keyArray := func(keys []string) string {
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = "current_setting(" + compiler.QuoteLiteral(k) + ", true)"
		}
		return "ARRAY[" + strings.Join(items, ", ") + "]::text[]"
	}
	rows := func(fields []*output) string {
		var conds []string
		for _, c := range m.t.view.pk {
			conds = append(conds, "_r."+compiler.QuoteIdent(c.Name)+" = (NULLIF(_k.v, '')::jsonb ->> "+compiler.QuoteLiteral(c.Name)+")::"+castType(c))
		}
		return "(SELECT coalesce(json_agg(" + w.row(m.t.view, fields, "_r") + " ORDER BY _k.ord), '[]') FROM unnest(" + keyArray(m.keys) +
			") WITH ORDINALITY _k(v, ord) JOIN " + compiler.QuoteTable(m.t.info.Name()) + " _r ON " + strings.Join(conds, " AND ") + ")"
	}
	if m.one {
		return "SELECT " + rows(m.fields) + " -> 0"
	}
	affected := "(SELECT count(*) FROM unnest(" + keyArray(m.allKeys) + ") _k(v) WHERE NULLIF(_k.v, '') IS NOT NULL)"
	return "SELECT " + mutationResponse(m.fields, affected, rows)
}
