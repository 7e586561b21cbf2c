package compiler

import (
	"encoding/json"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Hasura runs every statement as the database owner, so a project's
// functions read the tables they name with the owner's rights. rowguard
// runs a request as the caller's role: a SECURITY INVOKER function that
// reads a table would be refused (or filtered by that table's policies)
// where Hasura reads it whole. ReadsAsCaller tells which functions must
// therefore run inside a SECURITY DEFINER helper (computed fields, the
// per-role source of a view that calls them).

// ReadsAsCaller reports whether f, called by a role, would read data with
// that role's rights: it is SECURITY INVOKER and its body names a table or
// view, calls a function of the catalog (which may read one), runs dynamic
// SQL, or cannot be analysed (a language other than sql and plpgsql, a
// SQL-standard body, a body that does not parse). Each answer errs toward
// the helper, which is always correct, only slower.
func (c *Catalog) ReadsAsCaller(f *Function) bool {
	if f.SecurityDefiner {
		return false
	}
	queries, dynamic, ok := FunctionStatements(f.Language, f.Body)
	if !ok || dynamic {
		return true
	}
	for _, q := range queries {
		tree, err := pg_query.ParseToJSON(q)
		if err != nil {
			// A PL/pgSQL condition is an expression; an assignment
			// (x := …) keeps its target in front of the expression.
			expr := q
			if i := strings.Index(q, ":="); i >= 0 {
				expr = q[i+2:]
			}
			if tree, err = pg_query.ParseToJSON("SELECT " + expr); err != nil {
				return true // cannot be analysed: take the helper
			}
		}
		var v any
		if json.Unmarshal([]byte(tree), &v) != nil {
			return true
		}
		reads := false
		WalkParseTree(v, func(key string, val any) {
			switch key {
			case "RangeVar":
				reads = true
			case "FuncCall":
				if c.callsCatalogFunction(val) {
					reads = true
				}
			}
		})
		if reads {
			return true
		}
	}
	return false
}

// callsCatalogFunction reports whether a FuncCall node names a function
// of the catalog (qualified, or by its name in any schema: the body's
// search_path is not known here).
func (c *Catalog) callsCatalogFunction(node any) bool {
	m, _ := node.(map[string]any)
	var names []string
	list, _ := m["funcname"].([]any)
	for _, n := range list {
		if s, ok := n.(map[string]any)["String"].(map[string]any); ok {
			if v, ok := s["sval"].(string); ok {
				names = append(names, v)
			}
		}
	}
	if len(names) == 0 {
		return false
	}
	if len(names) == 2 && names[0] == "pg_catalog" {
		return false
	}
	for q := range c.Functions {
		if q.Name == names[len(names)-1] && (len(names) == 1 || q.Schema == names[0]) {
			return true
		}
	}
	return false
}

// FunctionStatements returns the SQL statements of a function body
// (pg_proc.prosrc): the body itself for sql, the statements a PL/pgSQL
// body embeds (conditions and assignments included, as PL/pgSQL keeps
// them). dynamic tells whether it runs dynamic SQL (EXECUTE), whose
// statements cannot be known; ok is false when the body cannot be
// analysed (another language, a SQL-standard body, a parse error).
func FunctionStatements(language, body string) (queries []string, dynamic, ok bool) {
	switch strings.ToLower(language) {
	case "sql":
		if strings.TrimSpace(body) == "" {
			return nil, false, false // a SQL-standard body: not kept as text
		}
		return []string{body}, false, true
	case "plpgsql":
		const quote = "$rg_body$"
		if strings.Contains(body, quote) {
			return nil, false, false
		}
		var tree string
		var err error
		// The parser checks RETURN against the result type; which one the
		// function has does not change the statements it runs.
		for _, returns := range []string{"integer", "SETOF integer", "void", "trigger"} {
			tree, err = pg_query.ParsePlPgSqlToJSON("CREATE FUNCTION rg_body() RETURNS " + returns + " LANGUAGE plpgsql AS " + quote + body + quote)
			if err == nil {
				break
			}
		}
		if err != nil {
			return nil, false, false
		}
		var v any
		if json.Unmarshal([]byte(tree), &v) != nil {
			return nil, false, false
		}
		WalkParseTree(v, func(key string, val any) {
			switch key {
			case "PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors":
				dynamic = true
			case "query":
				if s, ok := val.(string); ok {
					queries = append(queries, s)
				}
			}
		})
		return queries, dynamic, true
	}
	return nil, false, false
}

// WalkParseTree calls fn for every key and value of a parse tree that
// pg_query rendered as JSON and encoding/json decoded.
func WalkParseTree(v any, fn func(key string, val any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			fn(k, val)
			WalkParseTree(val, fn)
		}
	case []any:
		for _, val := range x {
			WalkParseTree(val, fn)
		}
	}
}
