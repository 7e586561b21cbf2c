package rls

import "github.com/rowguard/rowguard/compiler"

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
