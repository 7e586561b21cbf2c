package graphql

import (
	"strconv"
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// statement is a plan rendered as SQL: one SELECT with one json column per
// root field the database answers, in the plan's order. Every value from
// the request is a bound parameter (text; the SQL casts it).
type statement struct {
	sql    string
	params []string
	// errPath is where an error of the statement points (a mutation's
	// argument); "$" when empty.
	errPath string
	// bitmapOff: the statement runs with bitmap scans off (see
	// sqlWriter.bitmapOff).
	bitmapOff bool
}

// maxJSONPairs is how many key/value pairs one json_build_object call may
// take (PostgreSQL functions take at most 100 arguments).
const maxJSONPairs = 50

// render renders the database part of p, or returns nil when p has none:
// one statement for a query, one per mutation statement (in order) for a
// mutation.
func render(p *plan) []*statement {
	if !p.hasSQL() {
		return nil
	}
	if p.mutation {
		var out []*statement
		for _, r := range p.roots {
			for _, m := range r.muts {
				st := renderMutation(m, p.role)
				st.errPath = m.errPath
				out = append(out, st)
			}
		}
		return out
	}
	// One statement per maxColumns root fields: a SELECT list holds at
	// most 1664 columns. They run in one transaction, in order.
	var out []*statement
	var sels []*selection
	for _, r := range p.roots {
		if r.sel != nil {
			sels = append(sels, r.sel)
			if len(sels) == maxColumns {
				out, sels = append(out, selectStatement(p.role, sels, p.mergeSets)), nil
			}
		}
	}
	if len(sels) > 0 {
		out = append(out, selectStatement(p.role, sels, p.mergeSets))
	}
	return out
}

// selectStatement renders sels as the columns of one statement, with
// setMerge's reads when merge is set (Config.MergeSets). A list
// read by setMerge needs bitmap scans off (PostgreSQL's estimate of the
// set's size would otherwise make it read each key's rows through a
// BitmapOr of the policy's arms and sort them all: 2,669 pages instead
// of 67 for the benchmark's list); where the statement must keep them on
// (see sqlWriter.bitmapOff), it is rendered again without the merge.
func selectStatement(role string, sels []*selection, merge bool) *statement {
	render := func(noMerge bool) (*statement, *sqlWriter) {
		w := &sqlWriter{role: role, noMerge: noMerge}
		cols := make([]string, len(sels))
		for i, s := range sels {
			cols[i] = w.selection(s, "")
		}
		st := &statement{sql: "SELECT " + strings.Join(cols, ", "), bitmapOff: w.bitmapOff()}
		for _, v := range w.params {
			st.params = append(st.params, v.(string))
		}
		return st, w
	}
	st, w := render(!merge)
	if w.merges > 0 && !st.bitmapOff {
		st, _ = render(true)
	}
	return st
}

// maxColumns is how many root fields one statement answers; PostgreSQL
// allows 1664 columns in a SELECT list.
const maxColumns = 1000

// sqlWriter accumulates parameters and hands out table aliases.
type sqlWriter struct {
	params []any
	n      int
	// records maps the aliases of rows a helper returns to their table
	// (see wholeRow).
	records map[string]*compiler.Table
	// splits counts the lists read as a UNION ALL of the role's filter
	// branches (policyBranches), each of which repeats the list's SQL.
	splits int
	// role is plan.role: tracked views are read through its per-role
	// views.
	role string
	// orderedSplits counts the split lists that are ordered and limited;
	// bitmapUseful records a read for which a bitmap scan may be the
	// better plan (see bitmapOff).
	orderedSplits int
	bitmapUseful  bool
	// merges counts the lists read by setMerge; noMerge turns it off, for
	// statements that run with bitmap scans on (see selectStatement).
	merges  int
	noMerge bool
}

// table renders the relation the statement reads for t: a tracked view
// through the role's per-role view (compiler.ReadAs), which applies the
// role's filter; any other table itself, under its policies.
func (w *sqlWriter) table(t *compiler.Table) string {
	return compiler.QuoteTable(compiler.ReadAs(t, w.role))
}

// renderer returns an expression renderer that reads tracked views as
// the role does; params binds constants as parameters.
func (w *sqlWriter) renderer(params bool) *compiler.Renderer {
	r := &compiler.Renderer{Table: w.table}
	if params {
		r.Params = &w.params
	}
	return r
}

// rowsAlias returns a new alias for the rows of s, recorded in records
// when a helper returns them, or a role's per-role view of a tracked view
// (whose rows are not of the view's type either).
func (w *sqlWriter) rowsAlias(s *selection) string {
	a := w.alias("_t")
	if s.src != nil && s.src.viaHelper() || s.src == nil && s.view.info.Table.IsView && w.role != "" {
		if w.records == nil {
			w.records = map[string]*compiler.Table{}
		}
		w.records[a] = s.view.info.Table
	}
	return a
}

func (w *sqlWriter) alias(prefix string) string {
	w.n++
	return prefix + strconv.Itoa(w.n)
}

// param binds text as the next parameter, cast to typ.
func (w *sqlWriter) param(text, typ string) string {
	w.params = append(w.params, text)
	return "$" + strconv.Itoa(len(w.params)) + "::" + typ
}

// jsonObject renders a JSON object with the keys in order.
func jsonObject(keys, exprs []string) string {
	if len(keys) <= maxJSONPairs {
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = compiler.QuoteLiteral(k) + ", " + exprs[i]
		}
		return "json_build_object(" + strings.Join(parts, ", ") + ")"
	}
	// One row per key, aggregated in order: no limit on arguments or on
	// columns (a SELECT list holds at most 1664), and keys are not
	// identifiers (which PostgreSQL would cut at 63 bytes).
	rows := make([]string, len(keys))
	for i, k := range keys {
		rows[i] = "(" + strconv.Itoa(i) + ", " + compiler.QuoteLiteral(k) + ", to_json(" + exprs[i] + "))"
	}
	return "(SELECT json_object_agg(_rgj.k, _rgj.v ORDER BY _rgj.n) FROM (VALUES " + strings.Join(rows, ", ") + ") _rgj(n, k, v))"
}

func typenameLiteral(name string) string { return compiler.QuoteLiteral(name) + "::text" }

// selection renders s as a scalar subquery yielding json; parent is the
// alias of the enclosing row ("" at the root).
func (w *sqlWriter) selection(s *selection, parent string) string {
	switch s.kind {
	case selOne:
		a := w.rowsAlias(s)
		return "(SELECT " + w.row(s.view, s.fields, a) + " FROM " + w.from(s, a, parent) + " LIMIT 1)"
	case selAggregate:
		return w.aggregate(s, parent)
	}
	return w.list(s, s.fields, parent)
}

// row renders the JSON object of one row of alias a.
func (w *sqlWriter) row(view *tableView, fields []*output, a string) string {
	return w.rowOf(view, fields, a, false)
}

// rowOf is row; inline tells columnExpr how to null an inherited role's
// columns.
func (w *sqlWriter) rowOf(view *tableView, fields []*output, a string, inline bool) string {
	return fieldsObject(fields, func(f *output) string {
		switch f.kind {
		case outColumn:
			if columnRowsReads(view, f.column) != nil {
				w.bitmapUseful = true // a helper function per row
			}
			return columnExpr(view, f.column, a, inline)
		case outSelection:
			return w.selection(f.sel, a)
		case outComputed:
			w.bitmapUseful = true
			return w.computedCall(f.computed, f.args, a)
		}
		panic("graphql: row field of kind " + strconv.Itoa(int(f.kind)))
	})
}

// fieldsObject renders the JSON object of fields, in order: __typename as
// its constant, every other field as value renders it.
func fieldsObject(fields []*output, value func(f *output) string) string {
	keys := make([]string, len(fields))
	exprs := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
		if f.kind == outTypename {
			exprs[i] = typenameLiteral(f.text)
		} else {
			exprs[i] = value(f)
		}
	}
	return jsonObject(keys, exprs)
}

// columnExpr renders a column of the row a of view. For an inherited role,
// a column only some members may read is null on the rows only other
// members show (Hasura's semantics); PostgreSQL's grant covers the row's
// every column, so the planner does this nulling. The condition may read
// columns the role may not select, so it is evaluated by a helper function
// given the row's ctid (compiler.ColumnRowsHelper); inline renders it in
// the statement instead, for the rows of a mutation's RETURNING, which the
// helper's snapshot cannot see yet (columnRowsReads lists what it reads).
func columnExpr(view *tableView, col *compiler.Column, a string, inline bool) string {
	ref := geoOutput(col, a+"."+compiler.QuoteIdent(col.Name))
	if view == nil || view.perm == nil || view.info.Table.IsView {
		// A view's per-role view nulls the column itself (rls.view).
		return ref
	}
	rows := view.perm.ColumnRows[col.Name]
	if rows == nil {
		return ref
	}
	if inline {
		r := &compiler.Renderer{}
		return "CASE WHEN " + r.Expr(rows, a) + " THEN " + ref + " END"
	}
	f := compiler.ColumnRowsHelper(view.info.Table, rows)
	return "CASE WHEN rowguard." + compiler.QuoteIdent(f.Name) + "(" + a + ".ctid) THEN " + ref + " END"
}

// columnRowsReads lists the columns of the row that the condition of
// columnExpr reads (none when the column needs no condition).
func columnRowsReads(view *tableView, col *compiler.Column) []*compiler.Column {
	if view == nil || view.perm == nil || view.info.Table.IsView || view.perm.ColumnRows[col.Name] == nil {
		return nil
	}
	var out []*compiler.Column
	eachLeaf(view.perm.ColumnRows[col.Name], func(e compiler.Expr) {
		switch e := e.(type) {
		case *compiler.Compare:
			out = append(out, e.Column)
			if cv, ok := e.Right.(*compiler.ColumnValue); ok && !cv.Root {
				out = append(out, cv.Column)
			}
		case *compiler.RelExists:
			for _, m := range e.Rel.Mapping {
				out = append(out, m.Local)
			}
		}
	})
	return append(out, compiler.RootColumns(view.perm.ColumnRows[col.Name])...)
}

// from renders the table of s with its conditions: the join to the parent
// row, the primary key, the request's where. The role's own filter is not
// here: PostgreSQL applies it.
func (w *sqlWriter) from(s *selection, a, parent string, extra ...string) string {
	if s.src != nil || !indexFriendly(s.where) {
		w.bitmapUseful = true
	}
	var conds []string
	if s.rel != nil {
		conds = append(conds, joinConds(s.rel, a, parent))
	}
	for _, pk := range s.pk {
		conds = append(conds, a+"."+compiler.QuoteIdent(pk.column.Name)+" = "+w.param(pk.text, pk.column.Type))
	}
	if s.where != nil {
		r := w.renderer(true)
		if e := r.Expr(s.where, a); e != "true" {
			conds = append(conds, "("+e+")")
		}
	}
	conds = append(conds, extra...)
	sql := w.table(s.view.info.Table) + " " + a
	if s.src != nil {
		sql = w.sourceSQL(s.src, parent) + " " + a
	}
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	return sql
}

// tail renders ORDER BY, LIMIT and OFFSET; orderExprs are the rendered
// sort keys of s.order.
func tail(s *selection, orderExprs []string, limit *int) string {
	return orderLimit(s, orderExprs, limit, s.offset)
}

// orderLimit renders ORDER BY the sort keys (in s.order's directions),
// LIMIT and OFFSET.
func orderLimit(s *selection, orderExprs []string, limit, offset *int) string {
	var b strings.Builder
	if len(orderExprs) > 0 {
		b.WriteString(" ORDER BY ")
		for i, e := range orderExprs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e + " " + s.order[i].dir)
		}
	}
	switch {
	case limit != nil && limit == s.limit && s.withTies && len(orderExprs) > 0 && offset == nil:
		b.WriteString(" FETCH FIRST " + strconv.Itoa(*limit) + " ROWS WITH TIES")
	case limit != nil:
		b.WriteString(" LIMIT " + strconv.Itoa(*limit))
	}
	if offset != nil {
		b.WriteString(" OFFSET " + strconv.Itoa(*offset))
	}
	return b.String()
}

// distinctOn renders DISTINCT ON for s, or "".
func distinctOn(s *selection, a string) string {
	if len(s.distinct) == 0 {
		return ""
	}
	cols := make([]string, len(s.distinct))
	for i, c := range s.distinct {
		cols[i] = a + "." + compiler.QuoteIdent(c.Name)
	}
	return "DISTINCT ON (" + strings.Join(cols, ", ") + ") "
}

// list renders a JSON array of the rows of s, each rendered with fields.
// The sort keys are projected next to each row's JSON so json_agg can keep
// their order.
//
// When the role's filter is an OR that policyBranches splits, the rows are
// read as a UNION ALL of one ordered, limited subquery per branch, merged
// in the same order and limited again.
func (w *sqlWriter) list(s *selection, fields []*output, parent string) string {
	a, sub := w.rowsAlias(s), w.alias("_s")
	// rows renders the subquery of the rows and their sort keys (_e, _o0
	// …) with the extra conditions, sorted when ordered, then cut.
	rows := func(extra []string, ordered bool, limit, offset *int) string {
		orderExprs := w.orderExprs(s, a)
		var b strings.Builder
		b.WriteString("SELECT " + distinctOn(s, a) + w.row(s.view, fields, a) + " AS _e")
		for i, e := range orderExprs {
			b.WriteString(", " + e + " AS _o" + strconv.Itoa(i))
		}
		if !ordered {
			orderExprs = nil
		}
		b.WriteString(" FROM " + w.from(s, a, parent, extra...) + orderLimit(s, orderExprs, limit, offset))
		return b.String()
	}
	limit := s.listLimit()
	var sql string
	if branches := w.policyBranches(s, a, parent); branches == nil {
		if sql = w.setMerge(s, fields, a, parent, limit); sql == "" {
			if limit == nil || len(s.order) == 0 || len(s.distinct) > 0 || !indexFriendly(filterOf(s)) {
				w.bitmapUseful = true
			}
			sql = rows(nil, true, limit, s.offset)
		}
	} else {
		if limit != nil && len(s.order) > 0 && indexFriendly(filterOf(s).(*compiler.Or).Items...) {
			w.orderedSplits++
		} else {
			w.bitmapUseful = true
		}
		// Each branch keeps the first limit+offset rows of its own,
		// sorted only when cut; the merge skips offset of all of them.
		branchLimit := limit
		if limit != nil && s.offset != nil {
			n := *limit + *s.offset
			branchLimit = &n
		}
		parts := make([]string, len(branches))
		for j, cond := range branches {
			parts[j] = rows([]string{cond}, branchLimit != nil, branchLimit, nil)
		}
		u := w.alias("_u")
		merged := make([]string, len(s.order))
		sql = "SELECT " + u + "._e"
		for i := range merged {
			merged[i] = u + "._o" + strconv.Itoa(i)
			sql += ", " + merged[i]
		}
		sql += " FROM ((" + strings.Join(parts, ") UNION ALL (") + ")) " + u + tail(s, merged, limit)
	}
	aggOrder := make([]string, len(s.order))
	for i, t := range s.order {
		aggOrder[i] = sub + "._o" + strconv.Itoa(i) + " " + t.dir
	}
	agg := "json_agg(" + sub + "._e"
	if len(aggOrder) > 0 {
		agg += " ORDER BY " + strings.Join(aggOrder, ", ")
	}
	agg += ")"
	return "(SELECT coalesce(" + agg + ", '[]') FROM (" + sql + ") " + sub + ")"
}

// aggregate renders a <t>_aggregate object: its aggregate fields are
// computed over the same rows (where, order, limit, offset) as its nodes,
// except that the role's row limit caps only the nodes.
func (w *sqlWriter) aggregate(s *selection, parent string) string {
	return fieldsObject(s.fields, func(f *output) string {
		switch f.kind {
		case outNodes:
			return w.list(s, f.fields, parent)
		case outAggregateFields:
			return w.aggregateFields(s, f.fields, parent)
		}
		panic("graphql: aggregate field of kind " + strconv.Itoa(int(f.kind)))
	})
}

func (w *sqlWriter) aggregateFields(s *selection, fields []*output, parent string) string {
	w.bitmapUseful = true // every row that passes, not the first few in order
	a, b := w.rowsAlias(s), w.alias("_b")
	// Project only the columns the aggregates read: the role may not be
	// allowed to read the others.
	var cols []string
	seen := map[*compiler.Column]bool{}
	need := func(c *compiler.Column) {
		if !seen[c] {
			seen[c] = true
			cols = append(cols, columnExpr(s.view, c, a, false)+" AS "+compiler.QuoteIdent(c.Name))
		}
	}
	obj := fieldsObject(fields, func(f *output) string {
		switch f.kind {
		case outCount:
			for _, c := range f.columns {
				need(c)
			}
			return countExpr(f, b)
		case outAggregateFn:
			return fieldsObject(f.fields, func(cf *output) string {
				need(cf.column)
				return f.fn + "(" + b + "." + compiler.QuoteIdent(cf.column.Name) + ")"
			})
		}
		panic("graphql: aggregate of kind " + strconv.Itoa(int(f.kind)))
	})
	if len(cols) == 0 {
		// A role may count rows without reading a column: PostgreSQL
		// needs a column read before it counts, and such a role may
		// read ctid alone (compiler.CtidColumn).
		cols = []string{"1"}
		if p := s.view.perm; p != nil && len(p.Columns) == 0 && len(p.HiddenColumns) == 1 && p.HiddenColumns[0] == compiler.CtidColumn {
			cols = []string{a + "." + compiler.CtidColumn.Name}
		}
	}
	var orderExprs []string
	if s.limit != nil || s.offset != nil || len(s.distinct) > 0 {
		orderExprs = w.orderExprs(s, a)
	}
	// The role's row limit does not apply here (see selection.permLimit).
	base := "SELECT " + distinctOn(s, a) + strings.Join(cols, ", ") + " FROM " + w.from(s, a, parent) + tail(s, orderExprs, s.limit)
	return "(SELECT " + obj + " FROM (" + base + ") " + b + ")"
}

func countExpr(f *output, b string) string {
	if len(f.columns) == 0 {
		return "count(*)"
	}
	cols := make([]string, len(f.columns))
	for i, c := range f.columns {
		cols[i] = b + "." + compiler.QuoteIdent(c.Name)
	}
	arg := cols[0]
	if len(cols) > 1 {
		arg = "(" + strings.Join(cols, ", ") + ")"
	}
	if f.distinct {
		return "count(DISTINCT " + arg + ")"
	}
	return "count(" + arg + ")"
}

// orderExprs renders the sort keys of s over alias a.
func (w *sqlWriter) orderExprs(s *selection, a string) []string {
	out := make([]string, len(s.order))
	for i, t := range s.order {
		out[i] = w.orderExpr(t, t.path, a)
	}
	return out
}

// orderExpr renders one sort key: object relationships on the path become
// scalar subqueries (the related table's policy applies to them, as
// Hasura applies the related table's permission).
func (w *sqlWriter) orderExpr(t orderTerm, path []*compiler.Relationship, a string) string {
	if len(path) > 0 {
		rel := path[0]
		b := w.alias("_r")
		return "(SELECT " + w.orderExpr(t, path[1:], b) + " FROM " + w.table(rel.Remote) + " " + b +
			" WHERE " + joinConds(rel, b, a) + " LIMIT 1)"
	}
	if t.aggRel != nil {
		w.bitmapUseful = true // every related row, per row
		b := w.alias("_r")
		expr := "count(*)"
		if t.column != nil {
			expr = t.fn + "(" + b + "." + compiler.QuoteIdent(t.column.Name) + ")"
		}
		return "(SELECT " + expr + " FROM " + w.table(t.aggRel.Remote) + " " + b + " WHERE " + joinConds(t.aggRel, b, a) + ")"
	}
	if t.computed != nil {
		w.bitmapUseful = true
		return w.computedCall(t.computed, nil, a)
	}
	return a + "." + compiler.QuoteIdent(t.column.Name)
}

// joinConds renders the conditions joining rows b of rel's remote table to
// the row a of its own table.
func joinConds(rel *compiler.Relationship, b, a string) string {
	conds := make([]string, len(rel.Mapping))
	for i, m := range rel.Mapping {
		conds[i] = b + "." + compiler.QuoteIdent(m.Remote.Name) + " = " + a + "." + compiler.QuoteIdent(m.Local.Name)
	}
	return strings.Join(conds, " AND ")
}
