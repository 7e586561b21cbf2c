package graphql

import (
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/rls"
)

// A list's rows are split by the branches of the role's filter at most
// this often per statement, for filters of at most maxBranches branches:
// each split repeats the list's SQL once per branch (nested lists
// included), so the statement's size is bounded.
const (
	maxSplits   = 4
	maxBranches = 4
)

// policyBranches decides whether the rows of s are read one branch of the
// role's filter at a time, and returns the branches' conditions (nil when
// not).
//
// PostgreSQL applies an OR policy such as "author is me OR the article's
// organization is one of mine" as a filter: with the organization fixed
// (an organization's articles, or where: {org_id: {_eq: 34}}), it reads
// every article of the organization to find the user's own ones, even
// where the user is no member and none of them could pass the second
// branch. Split in a UNION ALL of
//
//	(b1) | (b2) AND (b1) IS NOT TRUE | …
//
// each branch is planned on its own: the author branch by its own index,
// the membership branch with the test on the fixed value rather than the
// row (see rls.Expr: PostgreSQL decides it once and skips the branch), and
// no row comes twice. The policy still applies to every branch, so a
// branch can only narrow what PostgreSQL returns, never widen it.
//
// The split is made only where it pays: some branch is a membership test
// on a column the statement fixes (a join to the enclosing row, or an
// equality of the request's where). Without such a column, a split of an
// ordered, limited list cost more than the filter (measured in bench/).
func (w *sqlWriter) policyBranches(s *selection, a, parent string) []string {
	if s.view == nil || s.view.perm == nil || s.view.info.Table.IsView || s.src != nil || len(s.distinct) > 0 || w.splits >= maxSplits {
		return nil
	}
	or, ok := s.view.perm.Filter.(*compiler.Or)
	if !ok || len(or.Items) < 2 || len(or.Items) > maxBranches {
		return nil
	}
	pins := w.pins(s, parent)
	if len(pins) == 0 {
		return nil
	}
	// A pin binds its parameter only when a membership test asks for
	// it, so when none does the rendering is dropped with nothing bound.
	used := false
	pin := func(col *compiler.Column) string {
		if f := pins[col.Name]; f != nil {
			used = true
			return f()
		}
		return ""
	}
	items := make([]string, len(or.Items))
	for i, it := range or.Items {
		items[i] = "(" + rls.Expr(it, a, pin) + ")"
	}
	if !used {
		return nil
	}
	w.splits++
	conds := make([]string, len(items))
	for i, it := range items {
		conds[i] = it
		for _, prev := range items[:i] {
			conds[i] += " AND " + prev + " IS NOT TRUE"
		}
	}
	return conds
}

// pins lists the columns of s's table that the statement holds equal to a
// value not depending on the row, by name, each with a function rendering
// that value (a parameter is bound once, on first use): the enclosing
// row's columns s is joined to, and the constants of equalities at the top
// of the request's where. Only values of the column's own type count, so
// testing the value is testing the column.
func (w *sqlWriter) pins(s *selection, parent string) map[string]func() string {
	out := map[string]func() string{}
	if s.rel != nil {
		for _, m := range s.rel.Mapping {
			if m.Remote.Type == m.Local.Type {
				v := parent + "." + compiler.QuoteIdent(m.Local.Name)
				out[m.Remote.Name] = func() string { return v }
			}
		}
	}
	var conjuncts []compiler.Expr
	switch x := s.where.(type) {
	case nil:
	case *compiler.And:
		conjuncts = x.Items
	default:
		conjuncts = []compiler.Expr{x}
	}
	for _, x := range conjuncts {
		c, ok := x.(*compiler.Compare)
		if !ok || c.Op != "_eq" || out[c.Column.Name] != nil {
			continue
		}
		k, ok := c.Right.(*compiler.Const)
		if !ok || k.Null || k.Type != c.Column.Type || compiler.GeoType(k.Type) != "" {
			continue
		}
		v := ""
		out[c.Column.Name] = func() string {
			if v == "" {
				v = w.param(k.Text, k.Type)
			}
			return v
		}
	}
	return out
}
