package graphql

import (
	"os"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// mergeProgram compiles testdata/branches' rule over the tables of
// schemaFile: testdata/merge's have the indexes setMerge reads through,
// testdata/branches' do not.
func mergeProgram(t *testing.T, schemaFile string) *compiler.Program {
	t.Helper()
	schema, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.ParseDDL([]compiler.DDLFile{{Name: "schema.sql", SQL: string(schema)}})
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load("testdata/branches/metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return mustCompile(t, cat, md)
}

// planSQLMerge is planSQL with Config.MergeSets set to merge.
func planSQLMerge(t *testing.T, prog *compiler.Program, role, query string, merge bool) string {
	t.Helper()
	rs, err := buildSchema(prog, role, constraintSet{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	rs.mergeSets = merge
	_, op, gerr := parseOperation(rs, query, "", limits{})
	if gerr != nil {
		t.Fatalf("%s: %s", query, gerr.Message)
	}
	p, gerr := newPlan(prog, rs, op, nil)
	if gerr != nil {
		t.Fatalf("%s: %s", query, gerr.Message)
	}
	var sqls []string
	for _, st := range render(p) {
		if _, err := pg_query.Parse(st.sql); err != nil {
			t.Fatalf("%s: the SQL does not parse: %v\n%s", query, err, st.sql)
		}
		sqls = append(sqls, st.sql)
	}
	return strings.Join(sqls, ";\n")
}

// TestSetMergeWhen: a list is read per key of the membership set only
// with Config.MergeSets, when the catalog has an ordered read for every branch, the list is
// ordered by the table's columns and limited, and the statement may run
// with bitmap scans off; otherwise the statement is the plain one.
func TestSetMergeWhen(t *testing.T) {
	indexed := mergeProgram(t, "testdata/merge/schema.sql")
	bare := mergeProgram(t, "testdata/branches/schema.sql")
	for _, c := range []struct {
		name  string
		prog  *compiler.Program
		query string
		merge bool
	}{
		{"the benchmark's list", indexed, `{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }`, true},
		{"descending, with offset", indexed, `{ articles(limit: 5, offset: 3, order_by: {id: desc}) { id } }`, true},
		{"by score", indexed, `{ articles(limit: 5, order_by: {score: asc}) { id } }`, true},
		{"where on another column", indexed, `{ articles(limit: 5, order_by: {id: asc}, where: {score: {_gt: 1}}) { id } }`, true},
		{"no author index in id order", bare, `{ articles(limit: 20, order_by: {id: asc}) { id } }`, false},
		{"no limit", indexed, `{ articles(order_by: {id: asc}) { id } }`, false},
		{"no order", indexed, `{ articles(limit: 5) { id } }`, false},
		{"order not in an index", indexed, `{ articles(limit: 5, order_by: {title: asc}) { id } }`, false},
		{"two columns not in an index", indexed, `{ articles(limit: 5, order_by: [{score: asc}, {id: asc}]) { id } }`, false},
		{"nulls first ascending", indexed, `{ articles(limit: 5, order_by: {id: asc_nulls_first}) { id } }`, false},
		{"order through a relationship", indexed, `{ articles(limit: 5, order_by: {author: {name: asc}}) { id } }`, false},
		{"distinct_on", indexed, `{ articles(limit: 5, distinct_on: [score], order_by: {score: asc}) { id } }`, false},
		{"a statement that keeps bitmap scans on", indexed, `{ articles(limit: 5, order_by: {id: asc}) { id } articles_aggregate { aggregate { count } } }`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sql := planSQLMerge(t, c.prog, "user", c.query, true)
			if got := strings.Contains(sql, "CROSS JOIN LATERAL"); got != c.merge {
				t.Fatalf("merged %v, want %v:\n%s", got, c.merge, sql)
			}
			if admin := planSQLMerge(t, c.prog, AdminRole, c.query, true); strings.Contains(admin, "LATERAL") {
				t.Errorf("the admin's statement is merged:\n%s", admin)
			}
			if off := planSQLMerge(t, c.prog, "user", c.query, false); strings.Contains(off, "LATERAL") {
				t.Errorf("merged without Config.MergeSets:\n%s", off)
			}
		})
	}
}
