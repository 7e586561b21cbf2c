package compiler

// This file holds the questions about the schema that ParseDDL can answer
// offline, as migrations ask them in DO blocks' IF conditions:
// to_regclass('…') IS [NOT] NULL, and [NOT] EXISTS (SELECT … FROM
// information_schema.columns / tables / table_constraints, pg_constraint,
// pg_class, pg_tables, pg_indexes, pg_type, pg_namespace WHERE name
// columns equal constants).

import (
	"encoding/json"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// periodsFunctions are the periods extension's functions that create,
// alter or drop tables and views (history tables, for_portion_of views).
var periodsFunctions = map[string]bool{
	"add_period": true, "drop_period": true, "add_system_time_period": true, "drop_system_time_period": true,
	"add_system_versioning": true, "drop_system_versioning": true, "add_unique_key": true, "drop_unique_key": true,
	"add_foreign_key": true, "drop_foreign_key": true, "add_for_portion_view": true, "drop_for_portion_view": true,
	"set_system_time_period_excluded_columns": true,
}

// schemaFunctionCall returns why statement n changes the schema behind
// its back through a function it calls (one of the periods extension's,
// or a function of the files whose body changes the schema), or "".
func (b *ddlBuilder) schemaFunctionCall(n *pg_query.Node) string {
	js, err := json.Marshal(n)
	var tree any
	if err == nil {
		err = json.Unmarshal(js, &tree)
	}
	if err != nil {
		return ""
	}
	found := ""
	var walk func(v any)
	walk = func(v any) {
		if found != "" {
			return
		}
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				if k == "FuncCall" || k == "funccall" {
					fc, _ := x.(map[string]any)
					if why := b.schemaFunction(jsonNames(fc["funcname"])); why != "" {
						found = why
						return
					}
				}
				walk(x)
			}
		}
	}
	walk(tree)
	return found
}

// jsonNames returns the strings of a name list in a parse tree's JSON.
func jsonNames(v any) []string {
	var out []string
	for _, item := range plList(v) {
		m, _ := item.(map[string]any)
		node, _ := m["Node"].(map[string]any)
		if s, ok := node["String_"].(map[string]any); ok {
			name, _ := s["sval"].(string)
			out = append(out, name)
		}
	}
	return out
}

// schemaFunction says why a call of the named function changes the
// schema, or "".
func (b *ddlBuilder) schemaFunction(names []string) string {
	name := last(names)
	if periodsFunctions[name] && (len(names) == 1 || names[0] == "periods") {
		return strings.Join(names, ".") + "(…) creates or changes tables and views behind the statement (the periods extension's history tables and views), which the offline catalog does not model"
	}
	var candidates []policies.QualifiedTable
	if len(names) > 1 {
		candidates = append(candidates, policies.QualifiedTable{Schema: names[len(names)-2], Name: name})
	} else {
		for _, s := range b.path {
			candidates = append(candidates, policies.QualifiedTable{Schema: s, Name: name})
		}
	}
	for _, q := range candidates {
		if b.schemaFuncs[q] {
			return "this calls " + q.String() + "(…), whose body changes the schema in ways the offline catalog cannot follow"
		}
	}
	return ""
}

// condition evaluates a PL/pgSQL IF condition against the catalog built
// so far; known is false when the offline catalog cannot tell.
func (b *ddlBuilder) condition(expr string) (holds, known bool) {
	tree, err := pg_query.Parse("SELECT " + expr)
	if err != nil || len(tree.Stmts) != 1 {
		return false, false
	}
	tl := tree.Stmts[0].Stmt.GetSelectStmt().GetTargetList()
	if len(tl) != 1 {
		return false, false
	}
	return b.boolValue(tl[0].GetResTarget().GetVal())
}

// boolValue evaluates a boolean expression of a condition; known is
// false when the offline catalog cannot tell.
func (b *ddlBuilder) boolValue(n *pg_query.Node) (bool, bool) {
	switch {
	case n.GetBoolExpr() != nil:
		e := n.GetBoolExpr()
		switch e.Boolop {
		case pg_query.BoolExprType_NOT_EXPR:
			v, ok := b.boolValue(e.Args[0])
			return !v, ok
		case pg_query.BoolExprType_AND_EXPR, pg_query.BoolExprType_OR_EXPR:
			and := e.Boolop == pg_query.BoolExprType_AND_EXPR
			allKnown := true
			for _, a := range e.Args {
				v, ok := b.boolValue(a)
				if ok && v != and {
					return v, true // a false in an AND, a true in an OR decides
				}
				allKnown = allKnown && ok
			}
			return and, allKnown
		}
	case n.GetAConst().GetBoolval() != nil:
		return n.GetAConst().GetBoolval().Boolval, true
	case n.GetNullTest() != nil:
		t := n.GetNullTest()
		exists, ok := b.regLookup(t.Arg)
		if !ok {
			return false, false
		}
		return exists == (t.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL), true
	case n.GetSubLink() != nil && n.GetSubLink().SubLinkType == pg_query.SubLinkType_EXISTS_SUBLINK:
		return b.existsQuery(n.GetSubLink().Subselect.GetSelectStmt())
	}
	return false, false
}

// regLookup answers to_regclass / to_regtype / to_regnamespace of a
// constant: whether the object exists.
func (b *ddlBuilder) regLookup(n *pg_query.Node) (bool, bool) {
	fc := n.GetFuncCall()
	if fc == nil || len(fc.Args) != 1 {
		return false, false
	}
	arg, ok := constantNode(fc.Args[0])
	if !ok {
		return false, false
	}
	names := splitQualified(arg)
	switch last(strs(fc.Funcname)) {
	case "to_regclass":
		return b.rels[b.lookupRel(rangeVar(names))], true
	case "to_regtype":
		q, ok := b.lookupType(names)
		return ok && (b.types[q] || b.cat.Table(q) != nil), true
	case "to_regnamespace":
		return b.schemas[arg], true
	}
	return false, false
}

// rangeVar makes a RangeVar of a possibly qualified name.
func rangeVar(names []string) *pg_query.RangeVar {
	rv := &pg_query.RangeVar{Relname: last(names)}
	if len(names) > 1 {
		rv.Schemaname = names[len(names)-2]
	}
	return rv
}

// constantNode returns a string constant, a || of them, or a cast of one.
func constantNode(n *pg_query.Node) (string, bool) {
	if c := n.GetAConst(); c != nil && c.GetSval() != nil {
		return c.GetSval().Sval, true
	}
	if tc := n.GetTypeCast(); tc != nil {
		return constantNode(tc.Arg)
	}
	if e := n.GetAExpr(); e != nil && e.Kind == pg_query.A_Expr_Kind_AEXPR_OP && last(strs(e.Name)) == "||" && e.Lexpr != nil {
		l, ok1 := constantNode(e.Lexpr)
		r, ok2 := constantNode(e.Rexpr)
		return l + r, ok1 && ok2
	}
	return "", false
}

// catalogColumns maps the name columns of the system views and tables a
// condition may ask about to what they name: schema, table, column,
// constraint, index, type.
var catalogColumns = map[string]map[string]string{
	"columns":           {"table_schema": "schema", "table_name": "table", "column_name": "column"},
	"tables":            {"table_schema": "schema", "table_name": "table"},
	"views":             {"table_schema": "schema", "table_name": "table"},
	"table_constraints": {"constraint_schema": "schema", "table_schema": "schema", "table_name": "table", "constraint_name": "constraint"},
	"pg_constraint":     {"conname": "constraint", "conrelid": "regclass"},
	"pg_class":          {"relname": "relation"},
	"pg_tables":         {"schemaname": "schema", "tablename": "table"},
	"pg_views":          {"schemaname": "schema", "viewname": "table"},
	"pg_indexes":        {"schemaname": "schema", "tablename": "table", "indexname": "index"},
	"pg_type":           {"typname": "type"},
	"pg_namespace":      {"nspname": "namespace"},
	"schemata":          {"schema_name": "namespace"},
}

// existsQuery answers EXISTS (SELECT … FROM <catalog> WHERE col = 'const'
// AND …) when every condition names something ParseDDL tracks.
func (b *ddlBuilder) existsQuery(sel *pg_query.SelectStmt) (bool, bool) {
	if sel == nil || len(sel.FromClause) != 1 || sel.FromClause[0].GetRangeVar() == nil {
		return false, false
	}
	rv := sel.FromClause[0].GetRangeVar()
	if rv.Schemaname != "" && rv.Schemaname != "pg_catalog" && rv.Schemaname != "information_schema" {
		return false, false
	}
	cols := catalogColumns[rv.Relname]
	if cols == nil || (rv.Schemaname == "" && !strings.HasPrefix(rv.Relname, "pg_")) {
		return false, false
	}
	want := map[string]string{}
	var conds []*pg_query.Node
	if w := sel.WhereClause; w != nil {
		if be := w.GetBoolExpr(); be != nil && be.Boolop == pg_query.BoolExprType_AND_EXPR {
			conds = be.Args
		} else {
			conds = []*pg_query.Node{w}
		}
	}
	for _, c := range conds {
		e := c.GetAExpr()
		if e == nil || e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || last(strs(e.Name)) != "=" || e.Lexpr.GetColumnRef() == nil {
			return false, false
		}
		what := cols[last(strs(e.Lexpr.GetColumnRef().Fields))]
		val, ok := constantNode(e.Rexpr)
		if what == "" || !ok {
			return false, false
		}
		if prev, dup := want[what]; dup && prev != val {
			return false, true
		}
		want[what] = val
	}
	return b.catalogHas(want), true
}

// catalogHas tells whether an object with the wanted names exists.
func (b *ddlBuilder) catalogHas(want map[string]string) bool {
	if s, ok := want["namespace"]; ok {
		return b.schemas[s]
	}
	if ty, ok := want["type"]; ok {
		for q := range b.types {
			if q.Name == ty {
				return true
			}
		}
		for q := range b.cat.Tables {
			if q.Name == ty {
				return true
			}
		}
		return false
	}
	if r, ok := want["relation"]; ok {
		for q := range b.rels {
			if q.Name == r {
				return true
			}
		}
		return false
	}
	if ix, ok := want["index"]; ok {
		want["constraint"] = ix // a key's index has the key's name
	}
	var tables []*Table
	if rc, ok := want["regclass"]; ok {
		if t := b.cat.Table(b.lookupRel(rangeVar(splitQualified(rc)))); t != nil {
			tables = append(tables, t)
		}
	} else {
		for _, t := range b.cat.Tables {
			if s, ok := want["schema"]; ok && t.Name.Schema != s {
				continue
			}
			if n, ok := want["table"]; ok && t.Name.Name != n {
				continue
			}
			tables = append(tables, t)
		}
	}
	for _, t := range tables {
		if c, ok := want["column"]; ok && t.Column(c) == nil {
			continue
		}
		if c, ok := want["constraint"]; ok && !b.hasConstraint(t, c) {
			continue
		}
		return true
	}
	return false
}

// hasConstraint tells whether t has a key or foreign key of that name
// (CHECK constraints are not tracked: their name answers no).
func (b *ddlBuilder) hasConstraint(t *Table, name string) bool {
	m := b.meta[t]
	if m.pkName == name && t.PrimaryKey != nil || foreignKey(t, name) != nil {
		return true
	}
	for _, k := range m.keys {
		if k.name == name {
			return true
		}
	}
	return false
}
