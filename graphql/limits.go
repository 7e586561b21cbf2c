package graphql

import (
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Defaults of the request limits of Config. Hasura's API limits (depth,
// node, batch and time limit) are off unless configured; rowguard turns
// the first three on with values that real applications stay far below.
const (
	DefaultDepthLimit = 10
	DefaultNodeLimit  = 100
	DefaultBatchLimit = 20
	DefaultFieldLimit = 10000
	// DefaultInputDepthLimit bounds how deep argument values nest: each
	// level of a boolean expression through a relationship is a subquery,
	// and PostgreSQL's planning time grows faster than their number.
	DefaultInputDepthLimit = 32
)

// limits are the bounds one operation of one role is checked against
// before it is planned; 0 is no limit.
type limits struct {
	depth, nodes, fields, inputDepth int
	time                             time.Duration
}

// limitOr returns v, def when v is zero, and 0 (no limit) when v is
// negative.
func limitOr(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// limitsFor returns the limits of a role's requests: the admin role is
// bounded by the field limit alone, as Hasura applies no API limit to it.
func (s *Server) limitsFor(rs *roleSchema) limits {
	if rs.admin {
		return limits{fields: s.cfg.FieldLimit, inputDepth: s.cfg.InputDepthLimit}
	}
	return limits{depth: s.cfg.DepthLimit, nodes: s.cfg.NodeLimit, fields: s.cfg.FieldLimit, inputDepth: s.cfg.InputDepthLimit, time: s.cfg.TimeLimit}
}

// size is what the limits measure of a selection set, fragments
// expanded where they are spread.
type size struct {
	// depth is the longest chain of nested fields: `{ a { b } }` is 2.
	// Introspection (__schema, __type) does not count, as in Hasura.
	depth int
	// nodes counts the fields with a selection set (Hasura's definition),
	// introspection not included.
	nodes int
	// fields counts every field, leaves and introspection included, and
	// every object field and list item of the arguments' values.
	fields int
	// inputDepth is how deep argument values nest: `{a: {b: [1]}}` is 3.
	inputDepth int
}

// sizeCap keeps the sums of a fragment bomb (fragments spreading each
// other many times) from overflowing.
const sizeCap = 1 << 40

func capAdd(a, b int) int { return min(a+b, sizeCap) }

// measurer measures selection sets, each fragment once.
type measurer struct {
	doc   *ast.QueryDocument
	memo  map[string]size
	doing map[string]bool // fragments being measured: a cycle counts nothing
}

func newMeasurer(doc *ast.QueryDocument) *measurer {
	return &measurer{doc: doc, memo: map[string]size{}, doing: map[string]bool{}}
}

func (m *measurer) set(set ast.SelectionSet) size {
	var out size
	add := func(s size, depth int) {
		out.depth = max(out.depth, depth)
		out.inputDepth = max(out.inputDepth, s.inputDepth)
		out.nodes = capAdd(out.nodes, s.nodes)
		out.fields = capAdd(out.fields, s.fields)
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			sub := m.set(s.SelectionSet)
			for _, a := range s.Arguments {
				d, n := valueSize(a.Value)
				sub.inputDepth = max(sub.inputDepth, d)
				sub.fields = capAdd(sub.fields, n)
			}
			if s.Name == "__schema" || s.Name == "__type" {
				add(size{fields: capAdd(sub.fields, 1), inputDepth: sub.inputDepth}, 0)
				continue
			}
			f := size{fields: capAdd(sub.fields, 1), nodes: sub.nodes, inputDepth: sub.inputDepth}
			if len(s.SelectionSet) > 0 {
				f.nodes = capAdd(f.nodes, 1)
			}
			add(f, sub.depth+1)
		case *ast.InlineFragment:
			sub := m.set(s.SelectionSet)
			add(sub, sub.depth)
		case *ast.FragmentSpread:
			sub := m.fragment(s.Name)
			add(sub, sub.depth)
		}
	}
	return out
}

// valueSize returns how deep v nests and how many object fields and list
// items it has.
func valueSize(v *ast.Value) (depth, n int) {
	if v == nil || v.Kind != ast.ObjectValue && v.Kind != ast.ListValue {
		return 0, 0
	}
	for _, c := range v.Children {
		d, cn := valueSize(c.Value)
		depth = max(depth, d)
		n = capAdd(n, capAdd(cn, 1))
	}
	return depth + 1, n
}

// jsonSize is valueSize of a variable's decoded JSON value.
func jsonSize(v any) (depth, n int) {
	var children []any
	switch v := v.(type) {
	case map[string]any:
		for _, c := range v {
			children = append(children, c)
		}
	case []any:
		children = v
	default:
		return 0, 0
	}
	for _, c := range children {
		d, cn := jsonSize(c)
		depth = max(depth, d)
		n = capAdd(n, capAdd(cn, 1))
	}
	return depth + 1, n
}

// checkVariables measures a request's variables against the input depth
// and field limits; they are not part of the document checkLimits reads.
func checkVariables(vars map[string]any, lim limits) *Error {
	depth, n := jsonSize(map[string]any{"": vars})
	depth -= 2 // the wrapper and the variables object itself
	if lim.inputDepth > 0 && depth > lim.inputDepth {
		return validationf("$.variableValues", "input depth limit exceeded: variable values nest %d deep, the limit is %d", depth, lim.inputDepth)
	}
	if lim.fields > 0 && n > lim.fields {
		return validationf("$.variableValues", "field limit exceeded: variable values have %d fields and items, the limit is %d", n, lim.fields)
	}
	return nil
}

func (m *measurer) fragment(name string) size {
	if s, ok := m.memo[name]; ok {
		return s
	}
	f := m.doc.Fragments.ForName(name)
	if f == nil || m.doing[name] {
		return size{} // the validator reports unknown fragments and cycles
	}
	m.doing[name] = true
	s := m.set(f.SelectionSet)
	m.doing[name] = false
	m.memo[name] = s
	return s
}

// checkLimits measures op, and the whole document for the field limit
// (the validator reads every operation and fragment in it: each operation
// expanded, and the fragments no operation spreads), against lim.
// It runs before validation and planning, whose work grows with what it
// bounds.
func checkLimits(doc *ast.QueryDocument, op *ast.OperationDefinition, lim limits) *Error {
	m := newMeasurer(doc)
	if lim.fields > 0 {
		total := 0
		for _, o := range doc.Operations {
			total = capAdd(total, m.set(o.SelectionSet).fields)
		}
		for _, f := range doc.Fragments {
			if _, spread := m.memo[f.Name]; !spread {
				total = capAdd(total, m.fragment(f.Name).fields)
			}
		}
		if total > lim.fields {
			return validationf("$", "field limit exceeded: the request selects %s fields (fragments expanded), the limit is %d", count(total), lim.fields)
		}
	}
	s := m.set(op.SelectionSet)
	if lim.depth > 0 && s.depth > lim.depth {
		return validationf("$", "depth limit exceeded: the operation nests fields %d deep, the limit is %d", s.depth, lim.depth)
	}
	if lim.inputDepth > 0 && s.inputDepth > lim.inputDepth {
		return validationf("$", "input depth limit exceeded: argument values nest %d deep, the limit is %d", s.inputDepth, lim.inputDepth)
	}
	if lim.nodes > 0 && s.nodes > lim.nodes {
		return validationf("$", "node limit exceeded: the operation has %s fields with a selection set, the limit is %d", count(s.nodes), lim.nodes)
	}
	return nil
}

// count words a measured number, which a fragment bomb can saturate.
func count(n int) string {
	if n >= sizeCap {
		return "more than 2^40"
	}
	return strconv.Itoa(n)
}
