package graphql

import (
	"strings"
	"testing"
)

// TestRootStatementIsRender: the statement the explain API shows for a
// root field is the one render gives a query of that field alone (SQL
// and parameters), so explaining it explains what /v1/graphql runs.
func TestRootStatementIsRender(t *testing.T) {
	prog := branchProgram(t)
	rs, err := buildSchema(prog, "user", constraintSet{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	plan := func(t *testing.T, query string) *plan {
		t.Helper()
		_, op, gerr := parseOperation(rs, query, "", limits{})
		if gerr != nil {
			t.Fatalf("%s: %s", query, gerr.Message)
		}
		p, gerr := newPlan(prog, rs, op, nil)
		if gerr != nil {
			t.Fatalf("%s: %s", query, gerr.Message)
		}
		return p
	}
	fields := []string{
		`a: articles(where: {title: {_ilike: "%go%"}}, order_by: {score: desc}, limit: 3) { id title author { name } }`,
		`b: articles(where: {org_id: {_eq: 7}}) { id organization { name articles(limit: 2) { id } } }`,
		`c: articles_by_pk(id: 5) { title }`,
		`d: articles_aggregate(where: {score: {_gt: 1}}) { aggregate { count max { score } } nodes { id } }`,
		`e: organizations { name memberships { user_id } }`,
	}
	all := plan(t, "{ "+strings.Join(fields, " ")+" __typename }")
	if len(all.roots) != len(fields)+1 {
		t.Fatalf("%d roots, want %d", len(all.roots), len(fields)+1)
	}
	for i, f := range fields {
		alone := render(plan(t, "{ "+f+" }"))
		if len(alone) != 1 {
			t.Fatalf("%s: %d statements", f, len(alone))
		}
		got := rootStatement(all, all.roots[i])
		if got.sql != alone[0].sql || !equalStrings(got.params, alone[0].params) {
			t.Errorf("%s (-want +got):\n- %s %q\n+ %s %q", f, alone[0].sql, alone[0].params, got.sql, got.params)
		}
	}
}
