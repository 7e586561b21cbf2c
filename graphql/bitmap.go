package graphql

import "github.com/rowguard/rowguard/compiler"

// bitmapOff reports whether the statement w rendered runs with bitmap
// scans off (set_config('enable_bitmapscan', 'off', true) in the settings
// SELECT, so for its transaction only).
//
// PostgreSQL estimates the membership branch of a split list,
// `org_id = ANY (<InitPlan array>)`, as if the array held 10 elements,
// whatever the user's set is. For one organization's articles, ordered
// and limited, that estimate made it prefer a BitmapOr of the policy's
// two arms and a top-N sort of every visible row (894 pages at 100k
// articles) over reading the (org_id, id) index in order until the limit
// is reached (the admin's plan, about 20 pages). With bitmap scans off
// the cheapest plan left is the ordered index scan, whatever the
// estimate. The policy still decides every row; the setting only changes
// how PostgreSQL finds them.
//
// It is off only where no other read of the statement may want a bitmap
// scan: at least one split list is ordered and limited with branches of
// plain comparisons (see indexFriendly), and every other list is ordered
// and limited under a filter and a where of plain comparisons, with no
// aggregate, computed field, function source or per-row helper anywhere
// (a bitmap scan is the better plan for many rows, for an OR or = ANY,
// and the only scan of a GIN index). runTx also never turns it off for
// the admin or a mutation.
func (w *sqlWriter) bitmapOff() bool {
	return w.orderedSplits > 0 && !w.bitmapUseful
}

// bitmapOffFor reports whether stmts run with bitmap scans off: every one
// of them asks for it (they share the transaction's settings), and the
// transaction is neither the admin's nor a mutation's.
func bitmapOffFor(rs *roleSchema, stmts []*statement, readWrite bool) bool {
	if rs.admin || readWrite || len(stmts) == 0 {
		return false
	}
	for _, st := range stmts {
		if !st.bitmapOff {
			return false
		}
	}
	return true
}

// filterOf returns the role's filter on the rows of s, or nil.
func filterOf(s *selection) compiler.Expr {
	if s.view == nil || s.view.perm == nil {
		return nil
	}
	return s.view.perm.Filter
}

// plainOps are the comparisons a btree index scan answers as well as a
// bitmap scan: one value per row, no pattern, no containment, no list.
var plainOps = map[string]bool{
	"_eq": true, "_neq": true, "_gt": true, "_lt": true, "_gte": true, "_lte": true, "_is_null": true,
	"_ceq": true, "_cne": true, "_cgt": true, "_clt": true, "_cgte": true, "_clte": true,
}

// indexFriendly reports whether every one of es is a conjunction of plain
// comparisons (plainOps) of a column with a constant, a session variable
// or another column, possibly through relationships or _exists (which
// PostgreSQL reads per row by key, or once as a set): nothing a BitmapOr,
// a bitmap of many = ANY values or a GIN index would answer better. nil
// is friendly.
func indexFriendly(es ...compiler.Expr) bool {
	for _, e := range es {
		switch e := e.(type) {
		case nil, *compiler.BoolConst:
		case *compiler.And:
			if !indexFriendly(e.Items...) {
				return false
			}
		case *compiler.Compare:
			switch e.Right.(type) {
			case *compiler.Const, *compiler.SessionValue, *compiler.ColumnValue:
			default:
				return false
			}
			if !plainOps[e.Op] {
				return false
			}
		case *compiler.RelExists:
			if !indexFriendly(e.Where) {
				return false
			}
		case *compiler.TableExists:
			if !indexFriendly(e.Where) {
				return false
			}
		default: // Or, Not, computed fields' comparisons and exists
			return false
		}
	}
	return true
}
