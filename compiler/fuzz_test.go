package compiler

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// FuzzCompileRule compiles arbitrary rules against a fixed catalog: it must
// never panic, and every rule it accepts must render to SQL that
// PostgreSQL's own parser accepts.
func FuzzCompileRule(f *testing.F) {
	seeds := []string{
		`{author_id: {_eq: X-Hasura-User-Id}}`,
		`{author: {articles: {title: {_like: "%x%"}}}}`,
		`{_and: [{id: {_in: [1, 2]}}, {_not: {published: {_eq: true}}}]}`,
		`{_exists: {_table: author, _where: {meta: {_has_keys_any: [a, b]}}}}`,
		`{author: {id: {_ceq: ["$", author_id]}}}`,
		`{title: {_regex: "^a'b"}}`,
		`{author: {meta: {_contains: {"k'": [1, "x"]}}}}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		if strings.ContainsAny(rule, "\n\r") {
			return // the rule is spliced into one YAML line
		}
		md, err := policies.Parse("tables.yaml", []byte(strings.Replace(blogMetadata, "%s", rule, 1)))
		if err != nil {
			return
		}
		prog, errs := Compile(blogCatalog(), md, Options{})
		if len(errs) > 0 {
			return
		}
		for _, ti := range prog.Tables {
			for _, p := range ti.Permissions {
				if p.Filter == nil {
					continue
				}
				sql := "SELECT 1 FROM " + QuoteTable(ti.Name()) + " a WHERE " + (&Renderer{}).Expr(p.Filter, "a")
				if _, err := pg_query.Parse(sql); err != nil {
					t.Fatalf("rule %s rendered SQL that does not parse: %v\n%s", rule, err, sql)
				}
			}
		}
	})
}
