package differential

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// tv is a truth value of SQL's three-valued logic.
type tv int8

const (
	vFalse tv = iota
	vTrue
	vNull
)

func (v tv) String() string { return [...]string{"false", "true", "null"}[v] }

func tvOf(b bool) tv {
	if b {
		return vTrue
	}
	return vFalse
}

func (v tv) not() tv {
	switch v {
	case vTrue:
		return vFalse
	case vFalse:
		return vTrue
	}
	return vNull
}

// session is a caller's session variables by setting name
// ("hasura.x_hasura_user_id"); an absent key is an unset variable.
type session map[string]string

// settingName maps a session variable to its setting, as the design
// specifies: lower case, - → _.
func settingName(v string) string {
	return "hasura." + strings.ReplaceAll(strings.ToLower(v), "-", "_")
}

func (s session) String() string {
	keys := []string{"hasura.x_hasura_user_id", "hasura.x_hasura_allowed_ids", "hasura.x_hasura_org_name"}
	var parts []string
	for _, k := range keys {
		if v, ok := s[k]; ok {
			parts = append(parts, strings.TrimPrefix(k, "hasura.")+"="+strconv.Quote(v))
		} else {
			parts = append(parts, strings.TrimPrefix(k, "hasura.")+" unset")
		}
	}
	return strings.Join(parts, ", ")
}

// evaluator is the reference implementation of Hasura's boolean
// expressions: it walks the generator's trees over the Go copy of the data,
// as PostgreSQL evaluates the SQL Hasura would generate — a comparison with
// NULL is unknown, NOT unknown is unknown, a relationship or _exists is an
// EXISTS (true or false), _in is = ANY, _nin is <> ALL.
type evaluator struct {
	s    *schema
	sess session
	// memo caches root-independent subexpressions per row.
	memo map[memoKey]tv
	// index maps a relationship and the key of a row (its local values) to
	// the related rows.
	index map[*relation]map[string][]int
	res   map[string]*regexp.Regexp
}

type memoKey struct {
	e   expr
	row int
}

// scopeRow is a row an expression is evaluated on: a row of the table's
// data (idx ≥ 0) or a row being written (idx -1).
type scopeRow struct {
	t   *table
	idx int
	r   row
}

func baseRow(t *table, i int) scopeRow { return scopeRow{t, i, t.rows[i]} }

func newEvaluator(s *schema, sess session) *evaluator {
	ev := &evaluator{s: s, sess: sess, memo: map[memoKey]tv{}, index: map[*relation]map[string][]int{}, res: map[string]*regexp.Regexp{}}
	for _, t := range s.tables {
		for _, rel := range t.rels {
			m := map[string][]int{}
			for i, r := range rel.to.rows {
				if k, ok := key(r, rel.remote); ok {
					m[k] = append(m[k], i)
				}
			}
			ev.index[rel] = m
		}
	}
	return ev
}

// key renders a row's values of cols as a map key; false when one is NULL,
// which matches nothing.
func key(r row, cols []*column) (string, bool) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		if r[c.idx] == nil {
			return "", false
		}
		parts[i] = fmt.Sprint(r[c.idx])
	}
	return strings.Join(parts, "\x00"), true
}

// rows returns the positions of t's rows on which e is true.
func (ev *evaluator) rows(e expr, t *table) []int {
	var out []int
	for i := range t.rows {
		if ev.eval(e, baseRow(t, i), baseRow(t, i)) == vTrue {
			out = append(out, i)
		}
	}
	return out
}

func (ev *evaluator) eval(e expr, scope, root scopeRow) tv {
	if scope.idx >= 0 && !usesRoot(e) {
		k := memoKey{e, scope.idx}
		if v, ok := ev.memo[k]; ok {
			return v
		}
		v := ev.eval1(e, scope, root)
		ev.memo[k] = v
		return v
	}
	return ev.eval1(e, scope, root)
}

func (ev *evaluator) eval1(e expr, scope, root scopeRow) tv {
	switch e := e.(type) {
	case *andExpr:
		out := vTrue
		for _, it := range e.items {
			switch ev.eval(it, scope, root) {
			case vFalse:
				return vFalse
			case vNull:
				out = vNull
			}
		}
		return out
	case *orExpr:
		out := vFalse
		for _, it := range e.items {
			switch ev.eval(it, scope, root) {
			case vTrue:
				return vTrue
			case vNull:
				out = vNull
			}
		}
		return out
	case *notExpr:
		return ev.eval(e.item, scope, root).not()
	case *relExpr:
		k, ok := key(scope.r, e.rel.local)
		if !ok {
			return vFalse
		}
		for _, i := range ev.index[e.rel][k] {
			if ev.eval(e.where, baseRow(e.rel.to, i), root) == vTrue {
				return vTrue
			}
		}
		return vFalse
	case *existsExpr:
		for i := range e.t.rows {
			if ev.eval(e.where, baseRow(e.t, i), root) == vTrue {
				return vTrue
			}
		}
		return vFalse
	case *colExpr:
		out := vTrue
		for _, c := range e.cmps {
			switch ev.compare(c, e.col, scope, root) {
			case vFalse:
				return vFalse
			case vNull:
				out = vNull
			}
		}
		return out
	}
	panic("differential: unknown expression")
}

func (ev *evaluator) compare(c *cmp, col *column, scope, root scopeRow) tv {
	left := scope.r[col.idx]
	switch c.op {
	case "_is_null":
		return tvOf((left == nil) == c.right.(*constOp).v.(bool))
	case "_eq", "_neq", "_gt", "_lt", "_gte", "_lte":
		return order(c.op, left, ev.scalar(c.right, col.typ))
	case "_ceq", "_cne", "_cgt", "_clt", "_cgte", "_clte":
		ref := c.right.(*colRefOp)
		src := scope
		if ref.root {
			src = root
		}
		op := map[string]string{"_ceq": "_eq", "_cne": "_neq", "_cgt": "_gt", "_clt": "_lt", "_cgte": "_gte", "_clte": "_lte"}[c.op]
		return order(op, left, src.r[ref.col.idx])
	case "_in", "_nin":
		items, null := ev.list(c.right, col.typ)
		return anyAll(c.op == "_in", left, items, null)
	case "_like", "_nlike", "_ilike", "_nilike":
		pat := ev.scalar(c.right, tText)
		if left == nil || pat == nil {
			return vNull
		}
		ci := c.op == "_ilike" || c.op == "_nilike"
		m := ev.re(likeRegexp(pat.(string), ci)).MatchString(foldIf(left.(string), ci))
		return negIf(tvOf(m), c.op == "_nlike" || c.op == "_nilike")
	case "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex":
		if left == nil {
			return vNull
		}
		re := c.right.(*constOp).re
		if c.op == "_iregex" || c.op == "_niregex" {
			re = "(?i)" + re
		}
		m := ev.re(re).MatchString(left.(string))
		return negIf(tvOf(m), c.op == "_nsimilar" || c.op == "_nregex" || c.op == "_niregex")
	case "_contains", "_contained_in":
		if left == nil {
			return vNull
		}
		l, r := left.(jsonValue).V, c.right.(*constOp).v.(jsonValue).V
		if c.op == "_contained_in" {
			l, r = r, l
		}
		return tvOf(jsonContains(l, r))
	case "_has_key", "_has_keys_any", "_has_keys_all":
		if left == nil {
			return vNull
		}
		var keys []any
		if c.op == "_has_key" {
			keys = []any{c.right.(*constOp).v}
		} else {
			keys, _ = ev.list(c.right, tText)
		}
		n := 0
		for _, k := range keys {
			if jsonHasKey(left.(jsonValue).V, k.(string)) {
				n++
			}
		}
		if c.op == "_has_keys_all" {
			return tvOf(n == len(keys))
		}
		return tvOf(n > 0)
	}
	panic("differential: no evaluation for " + c.op)
}

func negIf(v tv, neg bool) tv {
	if neg {
		return v.not()
	}
	return v
}

// scalar resolves a constant or a session variable as typ; nil is NULL
// (an unset variable, or one set to ”: the compiler reads settings through
// NULLIF(…, ”)).
func (ev *evaluator) scalar(o operand, typ colType) any {
	switch o := o.(type) {
	case *constOp:
		return o.v
	case *varOp:
		s, ok := ev.sess[settingName(o.name)]
		if !ok || s == "" {
			return nil
		}
		return parseAs(s, typ)
	}
	panic(fmt.Sprintf("differential: %T is not a scalar", o))
}

// list resolves the right side of _in, _nin and _has_keys_*: a list of
// operands, or an array session variable ("{1,3}"); null reports a NULL
// array (an unset variable).
func (ev *evaluator) list(o operand, typ colType) (items []any, null bool) {
	switch o := o.(type) {
	case *listOp:
		for _, it := range o.items {
			items = append(items, ev.scalar(it, typ))
		}
		return items, false
	case *varOp:
		s, ok := ev.sess[settingName(o.name)]
		if !ok || s == "" {
			return nil, true
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		if inner == "" {
			return nil, false
		}
		for _, e := range strings.Split(inner, ",") {
			if strings.EqualFold(e, "NULL") {
				items = append(items, nil)
			} else {
				items = append(items, parseAs(e, typ))
			}
		}
		return items, false
	}
	panic(fmt.Sprintf("differential: %T is not a list", o))
}

func parseAs(s string, typ colType) any {
	switch typ {
	case tInt:
		n, err := parseInt(s)
		if err != nil {
			panic("differential: session value " + strconv.Quote(s) + " is not an integer")
		}
		return n
	case tNum:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			panic("differential: session value " + strconv.Quote(s) + " is not a number")
		}
		return f
	case tBool:
		return s == "true"
	}
	return s
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func itoa(n int) string { return strconv.Itoa(n) }

// order applies a comparison operator to two values of one type.
func order(op string, l, r any) tv {
	if l == nil || r == nil {
		return vNull
	}
	var c int
	switch l := l.(type) {
	case int64, float64:
		lf, rf := number(l), number(r)
		c = cmp3(lf < rf, lf > rf)
	case string:
		c = strings.Compare(l, r.(string)) // COLLATE "C": bytewise
	case bool:
		rb := r.(bool)
		c = cmp3(!l && rb, l && !rb)
	case jsonValue:
		eq := jsonEqual(l.V, r.(jsonValue).V)
		switch op {
		case "_eq":
			return tvOf(eq)
		case "_neq":
			return tvOf(!eq)
		}
		panic("differential: jsonb ordering is not modelled")
	}
	switch op {
	case "_eq":
		return tvOf(c == 0)
	case "_neq":
		return tvOf(c != 0)
	case "_gt":
		return tvOf(c > 0)
	case "_lt":
		return tvOf(c < 0)
	case "_gte":
		return tvOf(c >= 0)
	case "_lte":
		return tvOf(c <= 0)
	}
	panic("differential: no order operator " + op)
}

// number converts an int64 or float64 to float64, exactly for the values
// the generator makes.
func number(v any) float64 {
	if n, ok := v.(int64); ok {
		return float64(n)
	}
	return v.(float64)
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// anyAll is `l = ANY (items)` (in) or `l <> ALL (items)` (not in), with
// PostgreSQL's rules: an empty array gives false (true for ALL) whatever l
// is; a NULL array or a NULL l gives NULL otherwise; a NULL element makes a
// result that no element decides NULL.
func anyAll(in bool, l any, items []any, nullArray bool) tv {
	if nullArray {
		return vNull
	}
	if len(items) == 0 {
		return tvOf(!in)
	}
	if l == nil {
		return vNull
	}
	sawNull := false
	for _, it := range items {
		switch order("_eq", l, it) {
		case vTrue:
			return tvOf(in)
		case vNull:
			sawNull = true
		}
	}
	if sawNull {
		return vNull
	}
	return tvOf(!in)
}

// likeRegexp translates a LIKE pattern (escape character \) to an anchored
// Go regular expression; ci lowers the pattern (ASCII only, as PostgreSQL
// does under COLLATE "C").
func likeRegexp(pat string, ci bool) string {
	pat = foldIf(pat, ci)
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '\\':
			if i+1 == len(rs) {
				panic("differential: LIKE pattern ends with the escape character: " + pat)
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return b.String()
}

// foldIf lowers ASCII letters when ci is set.
func foldIf(s string, ci bool) string {
	if !ci {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func (ev *evaluator) re(s string) *regexp.Regexp {
	if re, ok := ev.res[s]; ok {
		return re
	}
	re := regexp.MustCompile(s)
	ev.res[s] = re
	return re
}

// jsonScalar reports whether v is not an array or an object.
func isJSONScalar(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return false
	}
	return true
}

// jsonContains is jsonb's @> (PostgreSQL's JsonbDeepContains): an object
// contains an object whose every key it has with a contained value; an
// array contains an array whose every element it has (scalars equal,
// containers contained); at the top level an array also contains a scalar
// it has as an element, and a scalar contains an equal scalar.
func jsonContains(l, r any) bool {
	if isJSONScalar(r) {
		switch l := l.(type) {
		case []any:
			for _, x := range l {
				if isJSONScalar(x) && x == r {
					return true
				}
			}
			return false
		case map[string]any:
			return false
		}
		return l == r
	}
	return deepContains(l, r)
}

func deepContains(l, r any) bool {
	switch r := r.(type) {
	case map[string]any:
		lm, ok := l.(map[string]any)
		if !ok {
			return false
		}
		for k, rv := range r {
			lv, ok := lm[k]
			if !ok {
				return false
			}
			if isJSONScalar(rv) {
				if !isJSONScalar(lv) || lv != rv {
					return false
				}
			} else if !deepContains(lv, rv) {
				return false
			}
		}
		return true
	case []any:
		la, ok := l.([]any)
		if !ok {
			return false
		}
		for _, rv := range r {
			found := false
			for _, lv := range la {
				if isJSONScalar(rv) {
					found = isJSONScalar(lv) && lv == rv
				} else {
					found = !isJSONScalar(lv) && deepContains(lv, rv)
				}
				if found {
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	panic("differential: deepContains on a scalar")
}

// jsonHasKey is jsonb's ?: a top-level key of an object, a string element
// of an array, or a string scalar equal to k.
func jsonHasKey(v any, k string) bool {
	switch v := v.(type) {
	case map[string]any:
		_, ok := v[k]
		return ok
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s == k {
				return true
			}
		}
		return false
	case string:
		return v == k
	}
	return false
}

// jsonEqual is jsonb's =.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], ba[i]) {
				return false
			}
		}
		return true
	}
	return isJSONScalar(b) && a == b
}
