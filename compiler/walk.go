package compiler

// Walk calls fn for every node of e: e itself, then, depth first, the
// items of And, Or and Not and the Where of RelExists, TableExists and
// ComputedExists, whose nodes are scoped to another table. A nil e is
// skipped.
func Walk(e Expr, fn func(Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch e := e.(type) {
	case *And:
		for _, it := range e.Items {
			Walk(it, fn)
		}
	case *Or:
		for _, it := range e.Items {
			Walk(it, fn)
		}
	case *Not:
		Walk(e.Item, fn)
	case *RelExists:
		Walk(e.Where, fn)
	case *TableExists:
		Walk(e.Where, fn)
	case *ComputedExists:
		Walk(e.Where, fn)
	}
}
