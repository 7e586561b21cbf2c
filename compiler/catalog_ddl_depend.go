package compiler

// This file holds what ParseDDL knows of views' dependencies, so that
// dropping a table or column drops the views built on it, as PostgreSQL's
// DROP … CASCADE does (without CASCADE PostgreSQL refuses, and the files
// would not run at all).

import (
	"encoding/json"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// viewDeps is what a view's query reads.
type viewDeps struct {
	tables  []*Table
	columns map[string]bool           // the last name of every column reference
	star    bool                      // a * anywhere: every column of its tables
	calls   []policies.QualifiedTable // functions of the catalog the query calls itself
}

// recordDeps records the relations (and column names) view t's query
// reads. The parse tree is walked through its JSON form, which holds every
// node whatever its kind.
func (b *ddlBuilder) recordDeps(t *Table, query *pg_query.Node) {
	d := &viewDeps{columns: map[string]bool{}}
	js, err := json.Marshal(query)
	var tree any
	if err == nil {
		err = json.Unmarshal(js, &tree)
	}
	if err != nil {
		return
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				switch k {
				case "RangeVar":
					rv, _ := x.(map[string]any)
					name, _ := rv["relname"].(string)
					schema, _ := rv["schemaname"].(string)
					if dep := b.cat.Table(b.lookupRel(&pg_query.RangeVar{Relname: name, Schemaname: schema})); dep != nil && !slices.Contains(d.tables, dep) {
						d.tables = append(d.tables, dep)
					}
				case "FuncCall":
					if q := b.calledFunction(x); q.Name != "" && !slices.Contains(d.calls, q) {
						d.calls = append(d.calls, q)
					}
				case "ColumnRef":
					cr, _ := x.(map[string]any)
					fields, _ := cr["fields"].([]any)
					if len(fields) > 0 {
						last, _ := fields[len(fields)-1].(map[string]any)
						node, _ := last["Node"].(map[string]any)
						if s, ok := node["String_"].(map[string]any); ok {
							name, _ := s["sval"].(string)
							d.columns[name] = true
						} else {
							d.star = true
						}
					}
				}
				walk(x)
			}
		}
	}
	walk(tree)
	b.meta[t].deps = d
	b.viewCalls(t, map[*Table]bool{})
}

// viewCalls sets t.Calls, for a view that is not materialized: the
// functions its query calls and those the views it reads call, as
// PostgreSQL runs them all when t is read. Then the views reading t,
// whose lists include t's, follow (a view replaced in place).
func (b *ddlBuilder) viewCalls(t *Table, seen map[*Table]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	m := b.meta[t]
	if m == nil || m.deps == nil || !t.IsView || t.Materialized {
		return
	}
	calls := slices.Clone(m.deps.calls)
	for _, dep := range m.deps.tables {
		for _, q := range dep.Calls {
			if !slices.Contains(calls, q) {
				calls = append(calls, q)
			}
		}
	}
	slices.SortFunc(calls, func(x, y policies.QualifiedTable) int {
		if c := strings.Compare(x.Schema, y.Schema); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	t.Calls = calls
	for v, vm := range b.meta {
		if vm.deps != nil && slices.Contains(vm.deps.tables, t) {
			b.viewCalls(v, seen)
		}
	}
}

// calledFunction returns the function of the catalog a FuncCall node (in
// its JSON form) names: qualified, or the first of that name along the
// search path, as PostgreSQL resolves it when the view is created; or the
// zero name.
func (b *ddlBuilder) calledFunction(node any) policies.QualifiedTable {
	fc, _ := node.(map[string]any)
	list, _ := fc["funcname"].([]any)
	var names []string
	for _, n := range list {
		m, _ := n.(map[string]any)
		inner, _ := m["Node"].(map[string]any)
		if s, ok := inner["String_"].(map[string]any); ok {
			v, _ := s["sval"].(string)
			names = append(names, v)
		}
	}
	switch len(names) {
	case 1:
		for _, s := range b.path {
			if q := (policies.QualifiedTable{Schema: s, Name: names[0]}); b.cat.Function(q) != nil {
				return q
			}
		}
	case 2:
		if q := (policies.QualifiedTable{Schema: names[0], Name: names[1]}); b.cat.Function(q) != nil {
			return q
		}
	}
	return policies.QualifiedTable{}
}

// dependents returns the views that read t (and, when col is not empty,
// may read its column col).
func (b *ddlBuilder) dependents(t *Table, col string) []*Table {
	var out []*Table
	for _, v := range b.cat.SortedTables() {
		d := b.meta[v].deps
		if d == nil || v == t || !slices.Contains(d.tables, t) {
			continue
		}
		if col == "" || d.star || d.columns[col] {
			out = append(out, v)
		}
	}
	return out
}
