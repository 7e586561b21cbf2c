package rls

import (
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// Expr renders x, an expression of one of the program's permissions, over
// the table alias, as that permission's policy renders it: the same
// helpers, by the same names, so the statement calls only functions the
// install created. The GraphQL planner uses it to repeat parts of a
// policy in a statement (PostgreSQL still applies the policy itself).
//
// pin, when not nil, may give for a column of the scope table an
// expression the statement already holds equal to it (a join to the
// enclosing row, an equality of the request's where), or "". A membership
// test `col = ANY (<set helper>)` on a pinned column then tests the pinned
// value instead: that does not depend on the row, so PostgreSQL decides it
// once, as a one-time filter, rather than for every row it reads.
func Expr(x compiler.Expr, alias string, pin func(col *compiler.Column) string) string {
	e := &emitter{helpers: map[string]*helper{}, pin: pin}
	return e.render(x, nil, alias, "")
}

// SetTest reports whether x, an expression of one of the program's
// permissions, is a membership test of one column of the row in a set
// computed once per statement (a relationship that depends on session
// variables and constants only: `col = ANY (<set helper>)`), and returns
// the column and the set, an array expression of the
// column's type calling the same helper as the policy. The GraphQL
// planner reads such a branch of a filter one key of the set at a time
// (graphql/merge.go).
func SetTest(x compiler.Expr) (*compiler.Column, string, bool) {
	n, ok := x.(*compiler.RelExists)
	if !ok || len(n.Rel.Mapping) != 1 || len(compiler.RootColumns(n)) > 0 {
		return nil, "", false
	}
	const alias = "_rgset"
	var col *compiler.Column
	e := &emitter{helpers: map[string]*helper{}, pin: func(c *compiler.Column) string { col = c; return "" }}
	s := e.render(x, nil, alias, "")
	if col == nil {
		return nil, "", false
	}
	prefix := alias + "." + compiler.QuoteIdent(col.Name) + " = ANY ("
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, ")") {
		return nil, "", false
	}
	return col, strings.TrimSuffix(strings.TrimPrefix(s, prefix), ")"), true
}
