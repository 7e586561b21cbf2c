package differential

import (
	"encoding/json"
	"strconv"
	"strings"
)

// expr is the generator's own boolean expression tree. The reference
// evaluator walks it directly, so it depends on neither the loader nor the
// compiler; the metadata text the pipeline reads is rendered from it. Each
// node keeps the spelling it was generated with (`_and` or `$and`, a list or
// a merged object, implicit `_eq` …), so the text is a pure function of the
// tree and a shrunk tree renders the same way.
type expr interface{ isExpr() }

// Spellings of _and and _or.
const (
	formList   = iota // "_and": [ … ]
	formDollar        // "$and": [ … ]
	formMerge         // the items' keys merged into the enclosing object (implicit AND); _and only
	formSingle        // "_and": { … }, for one item
)

type andExpr struct {
	items []expr
	form  int
}

type orExpr struct {
	items []expr
	form  int
}

type notExpr struct {
	item   expr
	dollar bool
}

// relExpr follows a relationship: some related row satisfies where.
type relExpr struct {
	rel   *relation
	where expr
}

// existsExpr is `_exists`: some row of t satisfies where.
type existsExpr struct {
	t      *table
	where  expr
	dollar bool
	// qualified writes _table as {schema, name} rather than a bare name.
	qualified bool
}

// colExpr is `column: {op: value, …}`; all comparisons must hold, and an
// empty list (`column: {}`) always holds.
type colExpr struct {
	col  *column
	cmps []*cmp
}

// cmp is one comparison operator with its right side.
type cmp struct {
	op    string // normal form: "_eq", "_cne" …
	key   string // as written: "_eq", "$eq", "_ne", "_cneq" …
	right operand
	// implicit writes `column: value` for `column: {_eq: value}`.
	implicit bool
}

func (*andExpr) isExpr()    {}
func (*orExpr) isExpr()     {}
func (*notExpr) isExpr()    {}
func (*relExpr) isExpr()    {}
func (*existsExpr) isExpr() {}
func (*colExpr) isExpr()    {}

// operand is the right side of a comparison.
type operand interface{ json() string }

// constOp is a constant. v is its value as the column's type (int64,
// string, bool, jsonValue); text is its JSON spelling in the metadata, which
// may differ in form ("5" for 5). re is the Go translation of a SIMILAR TO
// or regex pattern, built by the generator alongside the pattern.
type constOp struct {
	v    any
	text string
	re   string
}

// varOp reads a session variable, written in any letter case.
type varOp struct{ name string }

// listOp is a list of operands (_in, _nin, _has_keys_*).
type listOp struct{ items []operand }

// colRefOp names a column for _ceq and friends: of the comparison's own
// table, or of the rule's root table when root is set (["$", col]).
type colRefOp struct {
	root bool
	col  *column
	// bare writes "col" rather than ["col"] (non-root only).
	bare bool
}

func (c *constOp) json() string { return c.text }
func (v *varOp) json() string   { return jsonString(v.name) }
func (l *listOp) json() string {
	parts := make([]string, len(l.items))
	for i, it := range l.items {
		parts[i] = it.json()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
func (c *colRefOp) json() string {
	switch {
	case c.root:
		return `["$", ` + jsonString(c.col.name) + `]`
	case c.bare:
		return jsonString(c.col.name)
	}
	return "[" + jsonString(c.col.name) + "]"
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// entry is one key of a rendered JSON object; val is JSON text.
type entry struct{ key, val string }

func object(es []entry) string {
	if len(es) == 0 {
		return "{}"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = jsonString(e.key) + ": " + e.val
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// ruleJSON renders e as Hasura metadata (JSON, which the YAML loader reads).
func ruleJSON(e expr) string { return object(entries(e)) }

func entries(e expr) []entry {
	switch e := e.(type) {
	case *andExpr:
		if e.form == formMerge {
			var out []entry
			seen := map[string]bool{}
			ok := true
			for _, it := range e.items {
				for _, en := range entries(it) {
					if seen[en.key] {
						ok = false
					}
					seen[en.key] = true
					out = append(out, en)
				}
			}
			if ok {
				return out
			}
		}
		return []entry{{boolKey("and", e.form), itemList(e.items, e.form)}}
	case *orExpr:
		return []entry{{boolKey("or", e.form), itemList(e.items, e.form)}}
	case *notExpr:
		key := "_not"
		if e.dollar {
			key = "$not"
		}
		return []entry{{key, ruleJSON(e.item)}}
	case *relExpr:
		return []entry{{e.rel.name, ruleJSON(e.where)}}
	case *existsExpr:
		key := "_exists"
		if e.dollar {
			key = "$exists"
		}
		tbl := jsonString(e.t.name)
		if e.qualified {
			tbl = `{"schema": "public", "name": ` + jsonString(e.t.name) + `}`
		}
		return []entry{{key, object([]entry{{"_table", tbl}, {"_where", ruleJSON(e.where)}})}}
	case *colExpr:
		if len(e.cmps) == 1 && e.cmps[0].implicit {
			return []entry{{e.col.name, e.cmps[0].right.json()}}
		}
		ops := make([]entry, len(e.cmps))
		for i, c := range e.cmps {
			ops[i] = entry{c.key, c.right.json()}
		}
		return []entry{{e.col.name, object(ops)}}
	}
	panic("differential: unknown expression")
}

func boolKey(name string, form int) string {
	if form == formDollar {
		return "$" + name
	}
	return "_" + name
}

func itemList(items []expr, form int) string {
	if form == formSingle && len(items) == 1 {
		return ruleJSON(items[0])
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = ruleJSON(it)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// depth is the nesting depth of e: 1 for a comparison or an empty group.
func depth(e expr) int {
	deepest := func(items ...expr) int {
		m := 0
		for _, it := range items {
			if d := depth(it); d > m {
				m = d
			}
		}
		return m
	}
	switch e := e.(type) {
	case *andExpr:
		return 1 + deepest(e.items...)
	case *orExpr:
		return 1 + deepest(e.items...)
	case *notExpr:
		return 1 + depth(e.item)
	case *relExpr:
		return 1 + depth(e.where)
	case *existsExpr:
		return 1 + depth(e.where)
	}
	return 1
}

// usesRoot reports whether e reads the root row (["$", col]), so its value
// on a row depends on more than that row and the session.
func usesRoot(e expr) bool {
	switch e := e.(type) {
	case *andExpr:
		for _, it := range e.items {
			if usesRoot(it) {
				return true
			}
		}
	case *orExpr:
		for _, it := range e.items {
			if usesRoot(it) {
				return true
			}
		}
	case *notExpr:
		return usesRoot(e.item)
	case *relExpr:
		return usesRoot(e.where)
	case *existsExpr:
		return usesRoot(e.where)
	case *colExpr:
		for _, c := range e.cmps {
			if r, ok := c.right.(*colRefOp); ok && r.root {
				return true
			}
		}
	}
	return false
}

// tablesOf lists the tables e reads besides its scope, for reports.
func tablesOf(e expr, into map[*table]bool) {
	switch e := e.(type) {
	case *andExpr:
		for _, it := range e.items {
			tablesOf(it, into)
		}
	case *orExpr:
		for _, it := range e.items {
			tablesOf(it, into)
		}
	case *notExpr:
		tablesOf(e.item, into)
	case *relExpr:
		into[e.rel.to] = true
		tablesOf(e.where, into)
	case *existsExpr:
		into[e.t] = true
		tablesOf(e.where, into)
	}
}

// simpler returns the expressions one step simpler than e, for shrinking a
// failing case: a group without one item or replaced by one of its items,
// a NOT or relationship dropped or emptied, a comparison removed, any node
// replaced by true or false.
func simpler(e expr) []expr {
	var out []expr
	t, f := &andExpr{}, &orExpr{}
	switch e := e.(type) {
	case *andExpr:
		if len(e.items) == 0 {
			return nil
		}
		out = append(out, t, f)
		out = append(out, groupVariants(e.items, func(items []expr) expr { return &andExpr{items: items, form: e.form} })...)
	case *orExpr:
		if len(e.items) == 0 {
			return []expr{t}
		}
		out = append(out, t, f)
		out = append(out, groupVariants(e.items, func(items []expr) expr { return &orExpr{items: items, form: e.form} })...)
	case *notExpr:
		out = append(out, t, f, e.item)
		for _, s := range simpler(e.item) {
			out = append(out, &notExpr{item: s, dollar: e.dollar})
		}
	case *relExpr:
		out = append(out, t, f)
		if e.rel.to == e.rel.from {
			out = append(out, e.where)
		}
		for _, s := range simpler(e.where) {
			out = append(out, &relExpr{rel: e.rel, where: s})
		}
	case *existsExpr:
		out = append(out, t, f)
		for _, s := range simpler(e.where) {
			out = append(out, &existsExpr{t: e.t, where: s, dollar: e.dollar, qualified: e.qualified})
		}
	case *colExpr:
		out = append(out, t, f)
		if len(e.cmps) > 1 {
			for i := range e.cmps {
				rest := append(append([]*cmp{}, e.cmps[:i]...), e.cmps[i+1:]...)
				out = append(out, &colExpr{col: e.col, cmps: rest})
			}
		}
	}
	return out
}

func groupVariants(items []expr, mk func([]expr) expr) []expr {
	var out []expr
	out = append(out, items...)
	for i := range items {
		rest := append(append([]expr{}, items[:i]...), items[i+1:]...)
		out = append(out, mk(rest))
	}
	for i, it := range items {
		for _, s := range simpler(it) {
			next := append([]expr{}, items...)
			next[i] = s
			out = append(out, mk(next))
		}
	}
	return out
}

// size counts the nodes of e, to prefer smaller shrinks.
func size(e expr) int {
	n := 1
	switch e := e.(type) {
	case *andExpr:
		for _, it := range e.items {
			n += size(it)
		}
	case *orExpr:
		for _, it := range e.items {
			n += size(it)
		}
	case *notExpr:
		n += size(e.item)
	case *relExpr:
		n += size(e.where)
	case *existsExpr:
		n += size(e.where)
	case *colExpr:
		n += len(e.cmps)
	}
	return n
}

// quoteInt renders an int constant, as a JSON number or, to exercise the
// loader's conversion, as a string.
func quoteInt(v int64, asString bool) string {
	s := strconv.FormatInt(v, 10)
	if asString {
		return jsonString(s)
	}
	return s
}
