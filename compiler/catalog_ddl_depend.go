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
	columns map[string]bool // the last name of every column reference
	star    bool            // a * anywhere: every column of its tables
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
					if t.IsView && !t.Materialized {
						b.recordCall(t, x)
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
}

// recordCall adds to t.Calls the function of the catalog a FuncCall node
// (in its JSON form) names: qualified, or the first of that name along
// the search path, as PostgreSQL resolves it when the view is created.
func (b *ddlBuilder) recordCall(t *Table, node any) {
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
	var found policies.QualifiedTable
	switch len(names) {
	case 1:
		for _, s := range b.path {
			if q := (policies.QualifiedTable{Schema: s, Name: names[0]}); b.cat.Function(q) != nil {
				found = q
				break
			}
		}
	case 2:
		found = policies.QualifiedTable{Schema: names[0], Name: names[1]}
	}
	if found.Name == "" || b.cat.Function(found) == nil || slices.Contains(t.Calls, found) {
		return
	}
	t.Calls = append(t.Calls, found)
	slices.SortFunc(t.Calls, func(x, y policies.QualifiedTable) int { return strings.Compare(x.String(), y.String()) })
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
