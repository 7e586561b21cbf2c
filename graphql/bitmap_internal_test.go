package graphql

import (
	"strings"
	"testing"
)

// planStatements renders query for role as the server would, with the
// role's schema.
func planStatements(t *testing.T, role, query string) (*roleSchema, []*statement, bool) {
	t.Helper()
	prog := branchProgram(t)
	rs, err := buildSchema(prog, role, constraintSet{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	_, op, gerr := parseOperation(rs, query, "", limits{})
	if gerr != nil {
		t.Fatalf("%s: %s", query, gerr.Message)
	}
	p, gerr := newPlan(prog, rs, op, nil)
	if gerr != nil {
		t.Fatalf("%s: %s", query, gerr.Message)
	}
	return rs, render(p), p.mutation
}

// TestBitmapOffWhen: bitmap scans are turned off for a transaction only
// when its statement reads a split list that is ordered and limited and
// nothing else in it may want a bitmap scan; never for the admin or a
// mutation.
func TestBitmapOffWhen(t *testing.T) {
	for _, c := range []struct {
		name, role, query string
		want              bool
	}{
		{"membership query", "user", `{ articles(where: {org_id: {_eq: 3}}, limit: 20, order_by: {id: desc}) { id title org_id } }`, true},
		{"with an object relationship", "user", `{ articles(where: {org_id: {_eq: 3}}, limit: 20, order_by: {id: desc}) { id author { id name } } }`, true},
		{"nested, every list ordered and limited", "user", `{ organizations(limit: 10, order_by: {id: asc}) { id articles(limit: 5, order_by: {id: asc}) { id author { name } } } }`, true},
		{"plain where beside the pin", "user", `{ articles(where: {org_id: {_eq: 3}, score: {_gt: 1}}, limit: 5, order_by: {id: desc}) { id } }`, true},
		{"by primary key beside", "user", `{ articles(where: {org_id: {_eq: 3}}, limit: 5, order_by: {id: desc}) { id } users_by_pk(id: 1) { name } }`, true},

		{"admin", AdminRole, `{ articles(where: {org_id: {_eq: 3}}, limit: 20, order_by: {id: desc}) { id } }`, false},
		{"nothing split (list)", "user", `{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }`, false},
		{"split, not limited", "user", `{ articles(where: {org_id: {_eq: 3}}, order_by: {id: desc}) { id } }`, false},
		{"split, not ordered", "user", `{ articles(where: {org_id: {_eq: 3}}, limit: 5) { id } }`, false},
		{"outer list not limited", "user", `{ organizations { articles(limit: 2, order_by: {id: asc}) { id } } }`, false},
		{"_or in the where", "user", `{ articles(where: {org_id: {_eq: 3}, _or: [{score: {_gt: 1}}, {score: {_is_null: true}}]}, limit: 5, order_by: {id: desc}) { id } }`, false},
		{"_in in the where", "user", `{ articles(where: {org_id: {_eq: 3}, score: {_in: [1, 2]}}, limit: 5, order_by: {id: desc}) { id } }`, false},
		{"pattern in the where", "user", `{ articles(where: {org_id: {_eq: 3}, title: {_ilike: "%x%"}}, limit: 5, order_by: {id: desc}) { id } }`, false},
		{"_not in the where", "user", `{ articles(where: {org_id: {_eq: 3}, _not: {score: {_eq: 1}}}, limit: 5, order_by: {id: desc}) { id } }`, false},
		{"an OR filter elsewhere", "user", `{ a: articles(where: {org_id: {_eq: 3}}, limit: 5, order_by: {id: desc}) { id } b: articles(limit: 5, order_by: {id: asc}) { id } }`, false},
		{"an aggregate elsewhere", "user", `{ articles(where: {org_id: {_eq: 3}}, limit: 5, order_by: {id: desc}) { id } organizations_aggregate { aggregate { count } } }`, false},
		{"aggregate nodes", "user", `{ articles_aggregate(where: {org_id: {_eq: 3}}, limit: 5, order_by: {id: desc}) { aggregate { count } nodes { id } } }`, false},
		{"order by an aggregate of a relationship", "user", `{ organizations(limit: 3, order_by: {articles_aggregate: {count: desc}}) { articles(limit: 2, order_by: {id: asc}) { id } } }`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs, stmts, mutation := planStatements(t, c.role, c.query)
			if got := bitmapOffFor(rs, stmts, mutation); got != c.want {
				var sqls []string
				for _, st := range stmts {
					sqls = append(sqls, st.sql)
				}
				t.Errorf("bitmap scans off: %v, want %v\n%s", got, c.want, strings.Join(sqls, ";\n"))
			}
		})
	}

	t.Run("mutation", func(t *testing.T) {
		rs, stmts, mutation := planStatements(t, "user", `{ articles(where: {org_id: {_eq: 3}}, limit: 20, order_by: {id: desc}) { id } }`)
		if !bitmapOffFor(rs, stmts, mutation) {
			t.Fatal("the query itself does not turn bitmap scans off")
		}
		if bitmapOffFor(rs, stmts, true) {
			t.Error("a read-write transaction turns bitmap scans off")
		}
	})
}

// TestBitmapOffSettings: the settings SELECT turns bitmap scans off
// transaction-locally, after the fresh claims' function (whose queries
// are planned as always), and only when asked.
func TestBitmapOffSettings(t *testing.T) {
	s := &settingsSQL{list: []setting{{name: "hasura.x_hasura_user_id"}}, fresh: &FreshClaims{Function: "rowguard.rg_claims"}}
	off := s.sql(true, 0, true)
	const set = ", set_config('enable_bitmapscan', 'off', true)"
	if !strings.HasSuffix(off, "rowguard.rg_claims($3)"+set) {
		t.Errorf("bitmap scans are not turned off last, after the claims:\n%s", off)
	}
	if on := s.sql(true, 0, false); strings.Contains(on, "enable_bitmapscan") {
		t.Errorf("bitmap scans turned off unasked:\n%s", on)
	}
	if again := s.sql(true, 0, true); again != off {
		t.Errorf("the rendering is not kept per options:\n%s\n%s", off, again)
	}
}
