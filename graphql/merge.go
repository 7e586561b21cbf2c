package graphql

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/rls"
)

// setMerge renders the rows of an ordered, limited list whose role's
// filter is an OR with a membership branch, `col = ANY (<set helper>)`, as
// a merge of ordered reads, one per branch and one per key of the set:
//
//	SELECT <row> FROM (
//	  SELECT * FROM (
//	    (SELECT <cols> FROM t WHERE (b1) ORDER BY o LIMIT n)
//	    UNION ALL
//	    (SELECT _x.* FROM unnest(<set>) _k(v) CROSS JOIN LATERAL
//	       (SELECT <cols> FROM t WHERE t.col = _k.v AND (b1) IS NOT TRUE ORDER BY o LIMIT n) _x)
//	  ) _u ORDER BY o LIMIT limit OFFSET offset) t
//
// It returns "" when the list does not qualify or the server does not
// merge (Config.MergeSets: the merge reads up to n rows per key, so it
// costs more than the filter when the set has many keys, and the set's
// size is only known when the statement runs). PostgreSQL applies such a
// filter to the rows of the order's index until limit of them pass: the
// benchmark's list as a user reads 634 rows for 20, because the user's
// rows are 3.1% of the table, spread over the id order. Read per key, each
// branch reads at most n = limit + offset rows in order, the merge keeps
// the first limit of them and only those get their JSON (nested selections
// included). The policy still applies to every read of the table, so a
// branch can only narrow what PostgreSQL returns: a key read that the set
// does not hold returns nothing the policy does not allow, and the
// condition (b1) IS NOT TRUE of every later branch keeps a row from coming
// twice. The set helpers return distinct keys (rls/emit.go: ARRAY(SELECT
// DISTINCT …)), so no key is read twice.
//
// It applies only where every branch is an ordered read by the catalog
// (compiler.Table.OrderedIndexes): a membership branch needs an index
// whose keys are its column and then the order's columns, any other
// branch, an equality of columns with constants or session variables,
// one whose keys are those columns (in any order) and then the order's.
// The list is ordered by columns of the table only, all in the index's
// direction (ASC NULLS LAST, or DESC NULLS FIRST read backwards), is
// limited, reads no helper per row (computed fields, per-row column
// conditions) and the role may read the order's columns. Without
// such indexes, PostgreSQL would read and sort each branch's every row,
// more than the filter reads. The catalog is the one the server loaded: an
// index dropped since makes the merge slower, never wrong.
func (w *sqlWriter) setMerge(s *selection, fields []*output, a, parent string, limit *int) string {
	if w.noMerge || limit == nil || len(s.order) == 0 || s.withTies || w.splits >= maxSplits ||
		s.view == nil || s.view.perm == nil || s.view.info.Table.IsView || s.src != nil || len(s.distinct) > 0 {
		return ""
	}
	or, ok := s.view.perm.Filter.(*compiler.Or)
	if !ok || len(or.Items) < 2 || len(or.Items) > maxBranches {
		return ""
	}
	order, ok := mergeOrder(s)
	if !ok {
		return ""
	}
	cols, ok := mergeColumns(s, fields, order)
	if !ok {
		return ""
	}
	indexes := s.view.info.Table.OrderedIndexes
	type branch struct {
		item   compiler.Expr
		setCol *compiler.Column // a membership branch's column
		set    string
	}
	var plain, sets []branch
	for _, it := range or.Items {
		if col, set, ok := rls.SetTest(it); ok {
			if !hasOrderedIndex(indexes, []string{col.Name}, order) {
				return ""
			}
			sets = append(sets, branch{it, col, set})
			continue
		}
		eq, ok := equalityColumns(it)
		if !ok || !hasOrderedIndex(indexes, eq, order) {
			return ""
		}
		plain = append(plain, branch{item: it})
	}
	if len(sets) == 0 {
		return ""
	}
	w.splits++
	w.orderedSplits++
	w.merges++

	n := *limit
	if s.offset != nil {
		n += *s.offset
	}
	projected := make([]string, len(cols))
	for i, c := range cols {
		projected[i] = a + "." + compiler.QuoteIdent(c.Name)
	}
	read := func(conds []string) string {
		return "SELECT " + strings.Join(projected, ", ") + " FROM " + w.from(s, a, parent, conds...) +
			orderLimit(s, w.orderExprs(s, a), &n, nil)
	}
	// Plain branches first: each later branch excludes the earlier ones,
	// and a membership branch's own test is its key, not the set again.
	var parts, prev []string
	for _, b := range append(plain, sets...) {
		var conds []string
		if b.setCol == nil {
			conds = append(conds, "("+rls.Expr(b.item, a, nil)+")")
		}
		for _, p := range prev {
			conds = append(conds, "("+p+") IS NOT TRUE")
		}
		prev = append(prev, rls.Expr(b.item, a, nil))
		if b.setCol == nil {
			parts = append(parts, read(conds))
			continue
		}
		k, x := w.alias("_k"), w.alias("_x")
		key := a + "." + compiler.QuoteIdent(b.setCol.Name) + " = " + k + ".v"
		parts = append(parts, "SELECT "+x+".* FROM unnest("+b.set+") "+k+"(v) CROSS JOIN LATERAL ("+
			read(append([]string{key}, conds...))+") "+x)
	}
	u := w.alias("_u")
	merged := make([]string, len(order))
	for i, c := range order {
		merged[i] = u + "." + compiler.QuoteIdent(c)
	}
	rows := "SELECT * FROM ((" + strings.Join(parts, ") UNION ALL (") + ")) " + u + tail(s, merged, limit)

	orderExprs := w.orderExprs(s, a)
	var b strings.Builder
	b.WriteString("SELECT " + w.row(s.view, fields, a) + " AS _e")
	for i, e := range orderExprs {
		b.WriteString(", " + e + " AS _o" + strconv.Itoa(i))
	}
	b.WriteString(" FROM (" + rows + ") " + a)
	return b.String()
}

// mergeColumns returns the columns of s's table that the row's JSON reads
// over the merged rows (its columns, the join columns of its nested
// selections) and the order's, in table order, when the role may read
// them all and the JSON reads the row by no other means (a computed
// field or a function source takes the whole row, a per-row column
// condition its ctid). The merge carries only these through its sort.
func mergeColumns(s *selection, fields []*output, order []string) ([]*compiler.Column, bool) {
	need := map[string]bool{}
	for _, c := range order {
		need[c] = true
	}
	for _, f := range fields {
		switch f.kind {
		case outTypename:
		case outColumn:
			if columnRowsReads(s.view, f.column) != nil {
				return nil, false
			}
			need[f.column.Name] = true
		case outSelection:
			if f.sel.src != nil || f.sel.rel == nil {
				return nil, false
			}
			for _, m := range f.sel.rel.Mapping {
				need[m.Local.Name] = true
			}
		default:
			return nil, false
		}
	}
	var out []*compiler.Column
	for _, c := range s.view.perm.ReadableColumns() {
		if need[c.Name] {
			out = append(out, c)
			delete(need, c.Name)
		}
	}
	return out, len(need) == 0
}

// mergeOrder returns the column names s is ordered by, when every term is
// a column of the table and all run in one direction of a default btree
// index.
func mergeOrder(s *selection) ([]string, bool) {
	out := make([]string, len(s.order))
	for i, t := range s.order {
		if len(t.path) > 0 || t.aggRel != nil || t.computed != nil || t.column == nil {
			return nil, false
		}
		if t.dir != s.order[0].dir || t.dir != "ASC NULLS LAST" && t.dir != "DESC NULLS FIRST" {
			return nil, false
		}
		out[i] = t.column.Name
	}
	return out, true
}

// equalityColumns returns the columns x holds equal to a constant or a
// session variable, when x is nothing but such equalities.
func equalityColumns(x compiler.Expr) ([]string, bool) {
	items := []compiler.Expr{x}
	if and, ok := x.(*compiler.And); ok {
		items = and.Items
	}
	var out []string
	for _, it := range items {
		c, ok := it.(*compiler.Compare)
		if !ok || c.Op != "_eq" {
			return nil, false
		}
		switch r := c.Right.(type) {
		case *compiler.Const:
			if r.Null {
				return nil, false
			}
		case *compiler.SessionValue:
		default:
			return nil, false
		}
		if !slices.Contains(out, c.Column.Name) {
			out = append(out, c.Column.Name)
		}
	}
	return out, len(out) > 0
}

// hasOrderedIndex reports whether one of indexes has the columns eq as its
// first keys, in any order, and then the columns of order.
func hasOrderedIndex(indexes [][]string, eq, order []string) bool {
	for _, ix := range indexes {
		if len(ix) < len(eq)+len(order) {
			continue
		}
		ok := true
		for _, c := range ix[:len(eq)] {
			if !slices.Contains(eq, c) {
				ok = false
			}
		}
		if ok && slices.Equal(ix[len(eq):len(eq)+len(order)], order) {
			return true
		}
	}
	return false
}
