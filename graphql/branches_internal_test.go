package graphql

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
)

// branchProgram compiles testdata/branches: an article is visible to its
// author or to the members of its organization (the benchmark's rule).
func branchProgram(t *testing.T) *compiler.Program {
	t.Helper()
	return mergeProgram(t, "testdata/branches/schema.sql")
}

// planSQL renders query for role as the server would.
func planSQL(t *testing.T, prog *compiler.Program, role, query string) string {
	t.Helper()
	return planSQLMerge(t, prog, role, query, false)
}

// TestPolicyBranchesWhen: a list is split by the branches of the role's
// OR filter only when the statement fixes the column of its membership
// test, and then the test is on the fixed value.
func TestPolicyBranchesWhen(t *testing.T) {
	prog := branchProgram(t)
	for _, c := range []struct {
		name, query string
		splits      int
		pinned      string // the membership test's value, when split
	}{
		{"array relationship", `{ organizations { articles(limit: 2, order_by: {id: asc}) { id } } }`, 1, `_t1."id" = ANY (ARRAY(SELECT unnest(rowguard.`},
		{"where equality", `{ articles(where: {org_id: {_eq: 3}}, limit: 5, order_by: {id: desc}) { id } }`, 1, `$1::integer = ANY (ARRAY(SELECT unnest(rowguard.`},
		{"where equality under _and", `{ articles(where: {_and: [{org_id: {_eq: 3}}, {score: {_gt: 1}}]}) { id } }`, 1, `::integer = ANY (ARRAY(SELECT unnest(rowguard.`},
		{"aggregate nodes", `{ articles_aggregate(where: {org_id: {_eq: 3}}) { nodes { id } } }`, 1, `$1::integer = ANY (ARRAY(SELECT unnest(rowguard.`},
		{"nothing fixed", `{ articles(limit: 20, order_by: {id: asc}) { id } }`, 0, ""},
		{"another column fixed", `{ articles(where: {author_id: {_eq: 3}}) { id } }`, 0, ""},
		{"equality under _or", `{ articles(where: {_or: [{org_id: {_eq: 3}}, {org_id: {_eq: 4}}]}) { id } }`, 0, ""},
		{"distinct_on", `{ articles(where: {org_id: {_eq: 3}}, distinct_on: [score], order_by: {score: asc}) { id } }`, 0, ""},
		{"object relationship", `{ articles(limit: 1, order_by: {id: asc}) { organization { id } } }`, 0, ""},
		{"table without OR", `{ organizations(where: {id: {_eq: 3}}) { id } }`, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sql := planSQL(t, prog, "user", c.query)
			if got := strings.Count(sql, "UNION ALL"); got != c.splits {
				t.Fatalf("%d UNION ALL, want %d:\n%s", got, c.splits, sql)
			}
			if c.pinned != "" && !strings.Contains(sql, c.pinned) {
				t.Errorf("no membership test on the fixed value (%s):\n%s", c.pinned, sql)
			}
			if admin := planSQL(t, prog, AdminRole, c.query); strings.Contains(admin, "UNION ALL") {
				t.Errorf("the admin's statement is split:\n%s", admin)
			}
		})
	}
}

// TestPolicyBranchesBudget: nested splits stop at maxSplits per statement.
func TestPolicyBranchesBudget(t *testing.T) {
	prog := branchProgram(t)
	var b strings.Builder
	b.WriteString("{")
	for i := range maxSplits + 3 {
		b.WriteString(" o" + string(rune('a'+i)) + ": organizations { articles(limit: 1) { id } }")
	}
	b.WriteString(" }")
	sql := planSQL(t, prog, "user", b.String())
	if got := strings.Count(sql, "UNION ALL"); got != maxSplits {
		t.Errorf("%d splits, want the budget %d", got, maxSplits)
	}
}
