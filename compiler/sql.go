package compiler

import (
	"fmt"
	"strconv"
	"strings"
)

// Renderer turns an Expr into SQL text. The zero value renders every
// relationship as a correlated EXISTS subquery and every constant as a
// quoted, cast literal.
type Renderer struct {
	// Params, when not nil, collects constants as bound parameters ($1,
	// $2 …) instead of literals; use it for values from requests.
	Params *[]any
	// Root renders a column of the permission's own table (["$", "col"]);
	// by default it is qualified with the outermost alias.
	Root func(col *Column) string
	// Hook, when set, may render a relationship or _exists node itself
	// (the RLS emitter uses it to call decorrelated helpers). negated tells
	// whether the node sits under an odd number of NOTs. It returns false to
	// fall back to a subquery.
	Hook func(e Expr, alias string, negated bool) (string, bool)
	// Computed, when set, renders the value of a scalar computed field for
	// the row alias (the RLS emitter calls a helper instead of the
	// function, so no policy depends on the function).
	Computed func(cf *ComputedField, alias string) string
	// Table, when set, renders the relation a relationship or _exists
	// subquery reads (the GraphQL planner reads a view through the role's
	// per-role view, see ReadAs); QuoteTable of its name by default.
	Table func(t *Table) string

	n int // alias counter
}

// Expr renders e, whose scope table is reachable as alias (already quoted).
func (r *Renderer) Expr(e Expr, alias string) string {
	if r.Root == nil {
		rootAlias := alias
		r.Root = func(col *Column) string { return rootAlias + "." + QuoteIdent(col.Name) }
	}
	return r.expr(e, alias, false)
}

// table renders the relation a subquery reads for t.
func (r *Renderer) table(t *Table) string {
	if r.Table != nil {
		return r.Table(t)
	}
	return QuoteTable(t.Name)
}

// NewAlias returns a fresh table alias for a subquery.
func (r *Renderer) NewAlias() string {
	r.n++
	return "_rg" + strconv.Itoa(r.n)
}

func (r *Renderer) expr(e Expr, alias string, neg bool) string {
	switch e := e.(type) {
	case *BoolConst:
		if e.Value {
			return "true"
		}
		return "false"
	case *And:
		return r.join(e.Items, " AND ", "true", alias, neg)
	case *Or:
		return r.join(e.Items, " OR ", "false", alias, neg)
	case *Not:
		return "NOT " + r.paren(e.Item, alias, !neg)
	case *Compare:
		return r.compare(e, alias)
	case *RelExists:
		if r.Hook != nil {
			if s, ok := r.Hook(e, alias, neg); ok {
				return s
			}
		}
		sub := r.NewAlias()
		var conds []string
		for _, m := range e.Rel.Mapping {
			conds = append(conds, sub+"."+QuoteIdent(m.Remote.Name)+" = "+alias+"."+QuoteIdent(m.Local.Name))
		}
		if w := r.expr(e.Where, sub, false); w != "true" {
			conds = append(conds, "("+w+")")
		}
		return "EXISTS (SELECT 1 FROM " + r.table(e.Rel.Remote) + " " + sub + " WHERE " + strings.Join(conds, " AND ") + ")"
	case *ComputedCompare:
		left := ""
		if r.Computed != nil {
			left = r.Computed(e.Field, alias)
		} else {
			left = r.ComputedCall(e.Field, alias, nil)
		}
		return r.compareLeft(left, e.Op, e.Right, alias)
	case *ComputedExists:
		if r.Hook != nil {
			if s, ok := r.Hook(e, alias, neg); ok {
				return s
			}
		}
		sub := r.NewAlias()
		s := "EXISTS (SELECT 1 FROM " + r.ComputedCall(e.Field, alias, nil) + " " + sub
		if w := r.expr(e.Where, sub, false); w != "true" {
			s += " WHERE " + w
		}
		return s + ")"
	case *TableExists:
		if r.Hook != nil {
			if s, ok := r.Hook(e, alias, neg); ok {
				return s
			}
		}
		sub := r.NewAlias()
		return "EXISTS (SELECT 1 FROM " + r.table(e.Table) + " " + sub + " WHERE " + r.expr(e.Where, sub, false) + ")"
	}
	panic(fmt.Sprintf("compiler: unknown expression %T", e))
}

func (r *Renderer) join(items []Expr, sep, empty, alias string, neg bool) string {
	var parts []string
	for _, it := range items {
		s := r.expr(it, alias, neg)
		// Drop identities so `{}` and nested empty groups stay readable.
		if (sep == " AND " && s == "true") || (sep == " OR " && s == "false") {
			continue
		}
		parts = append(parts, s)
	}
	switch len(parts) {
	case 0:
		return empty
	case 1:
		return parts[0]
	}
	for i, p := range parts {
		parts[i] = "(" + p + ")"
	}
	return strings.Join(parts, sep)
}

func (r *Renderer) paren(e Expr, alias string, neg bool) string {
	return "(" + r.expr(e, alias, neg) + ")"
}

var binaryOps = map[string]string{
	"_eq": "=", "_neq": "<>", "_gt": ">", "_lt": "<", "_gte": ">=", "_lte": "<=",
	"_like": "LIKE", "_nlike": "NOT LIKE", "_ilike": "ILIKE", "_nilike": "NOT ILIKE",
	"_similar": "SIMILAR TO", "_nsimilar": "NOT SIMILAR TO",
	"_regex": "~", "_nregex": "!~", "_iregex": "~*", "_niregex": "!~*",
	"_contains": "@>", "_contained_in": "<@", "_has_key": "?", "_has_keys_any": "?|", "_has_keys_all": "?&",
	"_ceq": "=", "_cne": "<>", "_cgt": ">", "_clt": "<", "_cgte": ">=", "_clte": "<=",
}

func (r *Renderer) compare(e *Compare, alias string) string {
	if _, ok := postgisFunctions[e.Op]; ok {
		return r.postgis(e, alias+"."+QuoteIdent(e.Column.Name))
	}
	return r.compareLeft(alias+"."+QuoteIdent(e.Column.Name), e.Op, e.Right, alias)
}

// ComputedCall renders the call of a computed field's function for the
// row alias (a whole-row reference); extra holds the rendered arguments
// other than the row and the session, in order.
func (r *Renderer) ComputedCall(cf *ComputedField, alias string, extra []string) string {
	args := make([]string, len(cf.Function.Args))
	for i, a := range cf.Function.Args {
		switch i {
		case cf.TableArg:
			args[i] = alias
		case cf.SessionArg:
			args[i] = SessionJSON(a.Type)
		default:
			// Boolean expressions refuse fields with extra arguments, so
			// only the planner passes them, one for each.
			if len(extra) > 0 {
				args[i], extra = extra[0], extra[1:]
			} else {
				args[i] = "NULL"
			}
		}
	}
	return QuoteTable(cf.Function.Name) + "(" + strings.Join(args, ", ") + ")"
}

// SessionJSON renders the session argument of a function: the session's
// variables as a JSON object of type typ (json or jsonb), read from
// SessionSetting, which the server sets for every request. As in
// SessionRead, the cast is inside the InitPlan: the object is parsed once
// per statement, not once per call.
func SessionJSON(typ string) string {
	return "coalesce((SELECT NULLIF(current_setting(" + QuoteLiteral(SessionSetting) + ", true), '')::" + typ + "), '{}'::" + typ + ")"
}

func (r *Renderer) compareLeft(left, op string, right Operand, alias string) string {
	e := &Compare{Op: op, Right: right}
	switch e.Op {
	case "_is_null":
		if c, ok := e.Right.(*Const); ok {
			if c.Text == "true" {
				return left + " IS NULL"
			}
			return left + " IS NOT NULL"
		}
		return "(" + left + " IS NULL) = " + r.Operand(e.Right, alias)
	case "_in", "_nin":
		if l, ok := e.Right.(*ListValue); ok && len(l.Items) == 0 {
			if e.Op == "_in" {
				return "false"
			}
			return "true"
		}
		list := r.Operand(e.Right, alias)
		if sv, ok := e.Right.(*SessionValue); ok {
			// SessionRead is a scalar subquery: `= ANY ((SELECT …))`
			// would parse as ANY over the subquery's rows, comparing the
			// column with the whole array. The cast to the array's own
			// type makes it an expression again; PostgreSQL drops it at
			// parse time, so it costs nothing.
			list += "::" + sv.Type
		}
		if e.Op == "_in" {
			return left + " = ANY (" + list + ")"
		}
		return left + " <> ALL (" + list + ")"
	}
	op, ok := binaryOps[e.Op]
	if !ok {
		panic("compiler: no SQL for operator " + e.Op)
	}
	return left + " " + op + " " + r.Operand(e.Right, alias)
}

// Operand renders a comparison's right side.
func (r *Renderer) Operand(o Operand, alias string) string {
	switch o := o.(type) {
	case *Const:
		if geo := GeoType(o.Type); geo != "" && IsGeoJSON(o.Text) {
			return GeoFromJSON(r.Operand(&Const{Text: o.Text, Type: "text"}, alias), geo)
		}
		if r.Params != nil {
			*r.Params = append(*r.Params, o.Text)
			return "$" + strconv.Itoa(len(*r.Params)) + "::" + o.Type
		}
		return QuoteLiteral(o.Text) + "::" + o.Type
	case *SessionValue:
		return SessionRead(o.Setting, o.Type)
	case *ColumnValue:
		if o.Root {
			return r.Root(o.Column)
		}
		return alias + "." + QuoteIdent(o.Column.Name)
	case *ListValue:
		items := make([]string, len(o.Items))
		for i, it := range o.Items {
			items[i] = r.Operand(it, alias)
		}
		if len(items) == 0 {
			return "'{}'::" + o.Type + "[]"
		}
		return "ARRAY[" + strings.Join(items, ", ") + "]::" + o.Type + "[]"
	}
	panic(fmt.Sprintf("compiler: unknown operand %T", o))
}

// SessionRead renders the read of a session variable's setting, cast to
// typ. The scalar subquery makes PostgreSQL evaluate it once per statement
// (an InitPlan) instead of once per row, and NULLIF makes a setting that
// was set to ” on an earlier transaction of the connection read as unset.
// The cast is inside the subquery, so the InitPlan returns a value of typ:
// cast outside, PostgreSQL parsed the setting's text again for every row a
// policy tested (int4in for each of the 634 rows the benchmark's list reads
// as a user; bench/results/2026-12-03-list.md).
func SessionRead(setting, typ string) string {
	return "(SELECT NULLIF(current_setting(" + QuoteLiteral(setting) + ", true), '')::" + typ + ")"
}

// RootColumns lists every column the expression reads of the root table through
// ["$", col] references, in first-use order.
func RootColumns(e Expr) []*Column {
	var out []*Column
	seen := map[*Column]bool{}
	Walk(e, func(e Expr) {
		var right Operand
		switch e := e.(type) {
		case *Compare:
			right = e.Right
		case *ComputedCompare:
			right = e.Right
		}
		if cv, ok := right.(*ColumnValue); ok && cv.Root && !seen[cv.Column] {
			seen[cv.Column] = true
			out = append(out, cv.Column)
		}
	})
	return out
}
