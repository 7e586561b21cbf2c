package differential

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// gen generates random rules over a schema whose rows are already filled
// (constants are often drawn from the data, so rules match some rows).
type gen struct {
	dataGen
	s *schema
	// ops counts every operator spelling and construct generated, to prove
	// coverage at the end of a run.
	ops map[string]int
}

// The session variables rules read. userVars are the spellings of one
// variable in different letter cases; Hasura matches them
// case-insensitively.
var (
	userVars    = []string{"X-Hasura-User-Id", "x-hasura-user-id", "X-HASURA-USER-ID", "x-Hasura-user-ID"}
	allowedVars = []string{"X-Hasura-Allowed-Ids", "x-hasura-allowed-ids"}
	orgVars     = []string{"X-Hasura-Org-Name", "x-hasura-org-name"}
)

func (g *gen) note(what string) { g.ops[what]++ }

// rule returns a rule over root of depth at least minDepth.
func (g *gen) rule(root *table, minDepth int) expr {
	e := g.node(root, root, minDepth, minDepth+2, 0)
	if depth(e) < minDepth {
		panic("differential: generated a rule that is too shallow")
	}
	return e
}

// node returns an expression over scope of depth in [lo, hi]; relDepth
// counts the relationships and _exists already followed.
func (g *gen) node(scope, root *table, lo, hi, relDepth int) expr {
	if hi <= 1 {
		return g.leaf(scope, root)
	}
	type choice struct {
		kind   string
		weight int
	}
	choices := []choice{{"and", 5}, {"or", 5}, {"not", 3}}
	if relDepth < 3 && len(scope.rels) > 0 {
		choices = append(choices, choice{"rel", 6})
	}
	if relDepth < 3 {
		choices = append(choices, choice{"exists", 1})
	}
	if lo <= 1 {
		choices = append(choices, choice{"leaf", 6})
	}
	total := 0
	for _, c := range choices {
		total += c.weight
	}
	k := g.pick(total)
	kind := ""
	for _, c := range choices {
		if k < c.weight {
			kind = c.kind
			break
		}
		k -= c.weight
	}
	sub := func(lo int) expr {
		return g.node(scope, root, lo, 1+g.pick(hi-1), relDepth)
	}
	switch kind {
	case "and", "or":
		n := g.pick(4)
		if lo > 1 && n == 0 {
			n = 1 + g.pick(3)
		}
		items := make([]expr, n)
		spine := g.pick(max(n, 1))
		for i := range items {
			if i == spine {
				items[i] = g.node(scope, root, lo-1, hi-1, relDepth)
			} else {
				items[i] = sub(1)
			}
		}
		form := []int{formList, formList, formDollar, formMerge, formMerge, formSingle}[g.pick(6)]
		if kind == "or" && form == formMerge {
			form = formList
		}
		if form == formSingle && n != 1 {
			form = formList
		}
		if kind == "and" {
			g.note("_and/" + formName(form, n))
			return &andExpr{items: items, form: form}
		}
		g.note("_or/" + formName(form, n))
		return &orExpr{items: items, form: form}
	case "not":
		n := &notExpr{item: g.node(scope, root, lo-1, hi-1, relDepth), dollar: g.chance(0.2)}
		g.note(map[bool]string{false: "_not", true: "$not"}[n.dollar])
		return n
	case "rel":
		return g.relationship(scope, root, lo, hi, relDepth)
	case "exists":
		t := g.s.byName["audit"]
		if g.chance(0.3) {
			t = g.s.tables[g.pick(len(g.s.tables))]
		}
		e := &existsExpr{t: t, where: g.node(t, root, lo-1, hi-1, relDepth+1), dollar: g.chance(0.2), qualified: g.chance(0.3)}
		g.note(map[bool]string{false: "_exists", true: "$exists"}[e.dollar])
		if e.t != g.s.byName["audit"] {
			g.note("_exists/tracked")
		}
		return e
	}
	return g.leaf(scope, root)
}

func formName(form, n int) string {
	name := [...]string{"list", "dollar", "merge", "single"}[form]
	if n == 0 {
		name += "-empty"
	}
	return name
}

// relationship follows a relationship of scope. Now and then it is the
// membership chain doc → org → members with member_id = X-Hasura-User-Id,
// the rule permission systems are made of, so that it matches rows.
func (g *gen) relationship(scope, root *table, lo, hi, relDepth int) expr {
	if scope.name == "doc" && relDepth < 2 && lo <= 3 && g.chance(0.15) {
		org, members := relNamed(scope, "org"), relNamed(g.s.byName["org"], "members")
		memberID := g.s.byName["member"].col("member_id")
		leaf := &colExpr{col: memberID, cmps: []*cmp{g.eqVar(memberID)}}
		g.note("rel/membership-chain")
		return &relExpr{rel: org, where: &relExpr{rel: members, where: leaf}}
	}
	rel := scope.rels[g.pick(len(scope.rels))]
	kind := "object"
	if rel.array {
		kind = "array"
	}
	if rel.from == rel.to {
		kind += "-self"
	}
	if len(rel.local) > 1 {
		kind += "-composite"
	}
	g.note("rel/" + kind)
	if lo <= 2 && g.chance(0.1) {
		g.note("rel/empty")
		return &relExpr{rel: rel, where: &andExpr{}}
	}
	return &relExpr{rel: rel, where: g.node(rel.to, root, lo-1, hi-1, relDepth+1)}
}

func relNamed(t *table, name string) *relation {
	for _, r := range t.rels {
		if r.name == name {
			return r
		}
	}
	panic("differential: no relationship " + t.name + "." + name)
}

// leaf returns a comparison on a column of scope, an empty column object,
// or an empty group.
func (g *gen) leaf(scope, root *table) expr {
	switch g.pick(40) {
	case 0:
		g.note("{}")
		return &andExpr{}
	case 1:
		g.note("_or: []")
		return &orExpr{}
	case 2:
		g.note("_and: []")
		return &andExpr{form: formList}
	}
	cols := scope.ruleCols(0, true)
	col := cols[g.pick(len(cols))]
	// Prefer comparing user columns with the user's id: that is what rules
	// do, and it makes matches likely.
	if g.chance(0.3) {
		for _, c := range cols {
			if c.ref == "user" {
				col = c
				return &colExpr{col: col, cmps: []*cmp{g.eqVar(col)}}
			}
		}
	}
	n := 1
	switch g.pick(12) {
	case 0:
		n = 0
		g.note("column: {}")
	case 1, 2:
		n = 2
	}
	e := &colExpr{col: col}
	used := map[string]bool{}
	for len(e.cmps) < n {
		c := g.comparison(scope, root, col)
		if used[c.op] {
			continue
		}
		used[c.op] = true
		e.cmps = append(e.cmps, c)
	}
	if len(e.cmps) > 1 {
		for _, c := range e.cmps {
			c.implicit = false
		}
	}
	return e
}

// eqVar compares a column with X-Hasura-User-Id.
func (g *gen) eqVar(col *column) *cmp {
	v := &varOp{userVars[g.pick(len(userVars))]}
	g.note("var/user")
	if g.chance(0.3) {
		g.note("_eq/implicit")
		return &cmp{op: "_eq", key: "_eq", right: v, implicit: true}
	}
	return g.op("_eq", v)
}

// op builds a comparison, choosing the operator's spelling.
func (g *gen) op(op string, right operand) *cmp {
	key := op
	switch {
	case op == "_neq" && g.chance(0.3):
		key = "_ne"
	case op == "_cne" && g.chance(0.3):
		key = "_cneq"
	}
	if g.chance(0.15) {
		key = "$" + key[1:]
	}
	g.note(key)
	return &cmp{op: op, key: key, right: right}
}

var orderOps = []string{"_eq", "_neq", "_gt", "_lt", "_gte", "_lte"}
var columnOps = []string{"_ceq", "_cne", "_cgt", "_clt", "_cgte", "_clte"}

// comparison returns a random comparison for col, a column of scope.
func (g *gen) comparison(scope, root *table, col *column) *cmp {
	if g.chance(0.07) {
		return g.op("_is_null", &constOp{v: g.chance(0.5), text: ""}).fixIsNull()
	}
	if col.typ != tJSON && g.chance(0.1) {
		if c := g.columnComparison(scope, root, col); c != nil {
			return c
		}
	}
	switch col.typ {
	case tInt, tNum:
		return g.intComparison(col)
	case tText:
		return g.textComparison(col)
	case tBool:
		return g.boolComparison()
	}
	return g.jsonComparison(scope, col)
}

func (c *cmp) fixIsNull() *cmp {
	k := c.right.(*constOp)
	k.text = "false"
	if k.v.(bool) {
		k.text = "true"
	}
	return c
}

// columnComparison compares col with another column of the same type, of
// scope or of the root table.
func (g *gen) columnComparison(scope, root *table, col *column) *cmp {
	type cand struct {
		c    *column
		root bool
	}
	// Integers and numerics compare with each other, as in PostgreSQL.
	class := func(t colType) colType {
		if t == tNum {
			return tInt
		}
		return t
	}
	var cands []cand
	for _, c := range scope.ruleCols(0, true) {
		if class(c.typ) == class(col.typ) {
			cands = append(cands, cand{c, false})
		}
	}
	for _, c := range root.ruleCols(0, true) {
		if class(c.typ) == class(col.typ) {
			cands = append(cands, cand{c, true})
		}
	}
	if len(cands) == 0 {
		return nil
	}
	k := cands[g.pick(len(cands))]
	if k.root {
		g.note("column-ref/root")
	}
	return g.op(columnOps[g.pick(len(columnOps))], &colRefOp{root: k.root, col: k.c, bare: g.chance(0.5)})
}

func (g *gen) intConst() *constOp {
	v := g.smallInt()
	if g.chance(0.4) {
		v = int64(1 + g.pick(maxUser))
	}
	return &constOp{v: v, text: quoteInt(v, g.chance(0.1))}
}

// numConst returns a constant for a numeric(5,1) column: often with a
// second decimal, which a cast to numeric(5,1) would round away.
func (g *gen) numConst() *constOp {
	v := float64(g.smallInt()) + []float64{0, 0, 0.5, 0.25, 0.45, 0.05}[g.pick(6)]
	text := strconv.FormatFloat(v, 'f', -1, 64)
	if g.chance(0.1) {
		text = jsonString(text)
	}
	return &constOp{v: v, text: text}
}

func (g *gen) intComparison(col *column) *cmp {
	scalar := func() operand {
		if g.chance(0.25) {
			g.note("var/user")
			return &varOp{userVars[g.pick(len(userVars))]}
		}
		if col.typ == tNum {
			g.note("numeric")
			return g.numConst()
		}
		return g.intConst()
	}
	switch k := g.pick(10); {
	case k < 6:
		op := orderOps[g.pick(len(orderOps))]
		c := g.op(op, scalar())
		if op == "_eq" && g.chance(0.3) {
			c.implicit = true
			g.note("_eq/implicit")
		}
		return c
	default:
		op := []string{"_in", "_nin"}[g.pick(2)]
		if g.chance(0.4) {
			g.note("var/allowed-ids")
			return g.op(op, &varOp{allowedVars[g.pick(len(allowedVars))]})
		}
		l := &listOp{}
		for range g.pick(5) {
			l.items = append(l.items, scalar())
		}
		if len(l.items) == 0 {
			g.note(op + ": []")
		}
		return g.op(op, l)
	}
}

func (g *gen) textConst() *constOp {
	s := g.text()
	if _, err := parseInt(s); err == nil && g.chance(0.5) {
		return &constOp{v: s, text: s} // a JSON number for a text column
	}
	return &constOp{v: s, text: jsonString(s)}
}

func (g *gen) textComparison(col *column) *cmp {
	scalar := func() operand {
		switch g.pick(8) {
		case 0:
			g.note("var/org-name")
			return &varOp{orgVars[g.pick(len(orgVars))]}
		case 1:
			g.note("var/user")
			return &varOp{userVars[g.pick(len(userVars))]}
		}
		return g.textConst()
	}
	switch k := g.pick(20); {
	case k < 6:
		op := orderOps[g.pick(len(orderOps))]
		c := g.op(op, scalar())
		if op == "_eq" && g.chance(0.3) {
			c.implicit = true
			g.note("_eq/implicit")
		}
		return c
	case k < 8:
		op := []string{"_in", "_nin"}[g.pick(2)]
		if g.chance(0.2) {
			g.note("var/allowed-ids")
			return g.op(op, &varOp{allowedVars[g.pick(len(allowedVars))]})
		}
		l := &listOp{}
		for range g.pick(5) {
			l.items = append(l.items, scalar())
		}
		return g.op(op, l)
	case k < 13:
		op := []string{"_like", "_nlike", "_ilike", "_nilike"}[g.pick(4)]
		if g.chance(0.15) {
			g.note("var/org-name")
			return g.op(op, &varOp{orgVars[g.pick(len(orgVars))]})
		}
		p := g.likePattern()
		return g.op(op, &constOp{v: p, text: jsonString(p)})
	case k < 16:
		p, re := g.similarPattern()
		return g.op([]string{"_similar", "_nsimilar"}[g.pick(2)], &constOp{v: p, text: jsonString(p), re: re})
	default:
		p := g.regexPattern()
		return g.op([]string{"_regex", "_nregex", "_iregex", "_niregex"}[g.pick(4)], &constOp{v: p, text: jsonString(p), re: p})
	}
}

func (g *gen) boolComparison() *cmp {
	b := g.chance(0.5)
	k := &constOp{v: b, text: "false"}
	if b {
		k.text = "true"
	}
	if g.chance(0.15) {
		k.text = jsonString(k.text)
	}
	switch g.pick(8) {
	case 0:
		l := &listOp{items: []operand{k}}
		if g.chance(0.5) {
			l.items = append(l.items, &constOp{v: !b, text: map[bool]string{true: "true", false: "false"}[!b]})
		}
		return g.op([]string{"_in", "_nin"}[g.pick(2)], l)
	case 1:
		return g.op([]string{"_gt", "_lt", "_gte", "_lte"}[g.pick(4)], k)
	case 2, 3:
		return g.op("_neq", k)
	}
	c := g.op("_eq", k)
	if g.chance(0.4) {
		c.implicit = true
		g.note("_eq/implicit")
	}
	return c
}

// jsonComparison builds a jsonb comparison whose constant is often cut from
// (or grown out of) a value in the data.
func (g *gen) jsonComparison(scope *table, col *column) *cmp {
	sample := func() any {
		var vals []any
		for _, r := range scope.rows {
			if v, ok := r[col.idx].(jsonValue); ok {
				vals = append(vals, v.V)
			}
		}
		if len(vals) == 0 || g.chance(0.25) {
			return g.rootJSON().V
		}
		return vals[g.pick(len(vals))]
	}
	keyList := func() *listOp {
		l := &listOp{}
		for range g.pick(4) {
			k := jsonKeys[g.pick(len(jsonKeys))]
			if g.chance(0.15) {
				k = "zz"
			}
			l.items = append(l.items, &constOp{v: k, text: jsonString(k)})
		}
		if len(l.items) == 0 {
			g.note("_has_keys: []")
		}
		return l
	}
	konst := func(v any) *constOp {
		if v == nil {
			// The compiler refuses a null constant (Hasura would read it as
			// "no condition"); rules test for null with _is_null.
			v = map[string]any{}
		}
		return &constOp{v: jsonValue{v}, text: jsonText(v)}
	}
	switch g.pick(8) {
	case 0, 1:
		return g.op("_contains", konst(g.subset(sample())))
	case 2:
		return g.op("_contained_in", konst(g.superset(sample())))
	case 3:
		k := jsonKeys[g.pick(len(jsonKeys))]
		if g.chance(0.2) {
			k = []string{"x", "y", "zz"}[g.pick(3)]
		}
		return g.op("_has_key", &constOp{v: k, text: jsonString(k)})
	case 4:
		return g.op("_has_keys_any", keyList())
	case 5:
		return g.op("_has_keys_all", keyList())
	case 6:
		return g.op("_eq", konst(sample()))
	}
	return g.op("_neq", konst(sample()))
}

// subset returns a value v contains (in the sense of jsonb @>), or, now and
// then, something else.
func (g *gen) subset(v any) any {
	if g.chance(0.15) {
		return g.json(2)
	}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if g.chance(0.5) {
				out[k] = g.subset(x)
			}
		}
		return out
	case []any:
		out := []any{}
		for _, x := range v {
			if g.chance(0.5) {
				out = append(out, g.subset(x))
			}
		}
		return out
	}
	return v
}

// superset returns a value that contains v, or, now and then, something
// else.
func (g *gen) superset(v any) any {
	if g.chance(0.15) {
		return g.json(2)
	}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = g.superset(x)
		}
		if g.chance(0.6) {
			out[jsonKeys[g.pick(len(jsonKeys))]] = g.jsonScalar()
		}
		return out
	case []any:
		out := []any{}
		for _, x := range v {
			out = append(out, g.superset(x))
		}
		if g.chance(0.6) {
			out = append(out, g.jsonScalar())
		}
		return out
	}
	return v
}

// likePattern returns a LIKE pattern: a string of the data with characters
// turned into _ and % added, or a random one. Literal %, _ and \ are
// escaped with a backslash.
func (g *gen) likePattern() string {
	var b strings.Builder
	if g.chance(0.6) {
		if g.chance(0.3) {
			b.WriteByte('%')
		}
		for _, r := range g.text() {
			switch {
			case g.chance(0.15):
				b.WriteByte('_')
				continue
			case g.chance(0.1):
				b.WriteByte('%')
			}
			if r == '%' || r == '_' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		if g.chance(0.3) {
			b.WriteByte('%')
		}
		return b.String()
	}
	tokens := []string{"a", "b", "A", "o", "x", " ", ".", "%", "%", "_", `\%`, `\_`, "'"}
	for range g.pick(5) {
		b.WriteString(tokens[g.pick(len(tokens))])
	}
	return b.String()
}

// similarMeta are the characters SIMILAR TO gives a meaning to; a literal
// one is escaped with a backslash.
const similarMeta = `%_|*+?{}()[]\`

// similarPattern returns a SIMILAR TO pattern and its Go translation: the
// whole string must match, % is .*, _ is ., . is a literal.
func (g *gen) similarPattern() (string, string) {
	var p, re strings.Builder
	lit := func(r rune) {
		if strings.ContainsRune(similarMeta, r) {
			p.WriteByte('\\')
		}
		p.WriteRune(r)
		re.WriteString(regexp.QuoteMeta(string(r)))
	}
	quant := func() {
		if g.chance(0.3) {
			q := []string{"*", "+", "?", "{1,2}"}[g.pick(4)]
			p.WriteString(q)
			re.WriteString(q)
		}
	}
	if g.chance(0.4) {
		for _, r := range g.text() {
			switch {
			case g.chance(0.15):
				p.WriteByte('_')
				re.WriteByte('.')
			case g.chance(0.1):
				p.WriteByte('%')
				re.WriteString(".*")
			default:
				lit(r)
			}
		}
		return p.String(), "^(?:" + re.String() + ")$"
	}
	letters := "abAo. x"
	for range 1 + g.pick(4) {
		switch g.pick(7) {
		case 0:
			p.WriteByte('%')
			re.WriteString(".*")
		case 1:
			p.WriteByte('_')
			re.WriteByte('.')
		case 2:
			alts := []string{}
			for range 1 + g.pick(3) {
				alts = append(alts, string(letters[g.pick(len(letters))])+string(letters[g.pick(len(letters))]))
			}
			p.WriteString("(" + strings.Join(alts, "|") + ")")
			q := make([]string, len(alts))
			for i, a := range alts {
				q[i] = regexp.QuoteMeta(a)
			}
			re.WriteString("(?:" + strings.Join(q, "|") + ")")
			quant()
		case 3:
			set := []string{"[ab]", "[a-c]", "[^a]", "[Ab.]"}[g.pick(4)]
			p.WriteString(set)
			re.WriteString(set)
			quant()
		default:
			lit(rune(letters[g.pick(len(letters))]))
			quant()
		}
	}
	return p.String(), "^(?:" + re.String() + ")$"
}

// regexMeta are the characters with a meaning in a POSIX regular
// expression; a literal one is escaped with a backslash.
const regexMeta = `.^$|*+?{}()[]\`

// regexPattern returns a POSIX regular expression in the subset on which
// PostgreSQL's ARE and Go's RE2 agree: literals, ., anchors, bracket
// expressions, \d, \w, groups with alternation, and the quantifiers * + ?
// {m,n}.
func (g *gen) regexPattern() string {
	var b strings.Builder
	quant := func() {
		if g.chance(0.3) {
			b.WriteString([]string{"*", "+", "?", "{1,2}"}[g.pick(4)])
		}
	}
	if g.chance(0.3) {
		b.WriteByte('^')
	}
	if g.chance(0.4) {
		s := []rune(g.text())
		start := g.pick(len(s) + 1)
		for _, r := range s[start:min(len(s), start+1+g.pick(4))] {
			if strings.ContainsRune(regexMeta, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	} else {
		letters := "abAox1 "
		for range 1 + g.pick(4) {
			switch g.pick(8) {
			case 0:
				b.WriteByte('.')
				quant()
			case 1:
				b.WriteString([]string{"[ab]", "[a-c]", "[^a ]", "[A-Z]", `\d`, `\w`}[g.pick(6)])
				quant()
			case 2:
				alts := []string{}
				for range 1 + g.pick(3) {
					alts = append(alts, string(letters[g.pick(len(letters))]))
				}
				b.WriteString("(" + strings.Join(alts, "|") + ")")
				quant()
			default:
				b.WriteByte(letters[g.pick(len(letters))])
				quant()
			}
		}
	}
	if g.chance(0.3) {
		b.WriteByte('$')
	}
	return b.String()
}

// coverage lists the generated constructs, sorted, with their counts.
func (g *gen) coverage() []string {
	var out []string
	for k, n := range g.ops {
		out = append(out, k+"="+itoa(n))
	}
	sort.Strings(out)
	return out
}
