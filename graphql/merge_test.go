package graphql_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/policies"
)

// mergeRow is an article of a list answer.
type mergeRow struct {
	ID    int  `json:"id"`
	Score *int `json:"score"`
}

// mergeRows parses {"data":{"articles":[…]}}.
func mergeRows(t *testing.T, body string) []mergeRow {
	t.Helper()
	var r struct {
		Data struct {
			Articles []mergeRow `json:"articles"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Data.Articles == nil {
		t.Fatalf("%v: %s", err, body)
	}
	return r.Data.Articles
}

// TestSetMergeSameRows checks the lists setMerge reads per key of the
// user's organizations against an oracle: the admin asking with the
// role's filter spelled out in the where (no merge, no policy). The data
// (branchData, plus articles without an author) has NULL organizations,
// authors and scores, articles both the user's own and of the user's
// organizations (in both branches), organizations with more articles than
// any limit, and users in no organization (an empty set) or unknown.
// Orders on a unique column must give the same rows in the same order;
// orders with ties (score alone) the same sort keys in the same order,
// each row visible, none twice.
func TestSetMergeSameRows(t *testing.T) {
	schema, err := os.ReadFile("testdata/merge/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load("testdata/branches/metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var noAuthor strings.Builder
	for a := 301; a <= 340; a++ {
		fmt.Fprintf(&noAuthor, "INSERT INTO articles VALUES (%d, 'n%d', %d, NULL, %d);\n", a, a, a%3, 1+a%6)
	}
	sqls := []string{string(schema), branchData(), noAuthor.String() + "ANALYZE;"}
	b := newServedWith(t, sqls, md, func(c *graphql.Config) { c.MergeSets = true })

	type tc struct {
		query string // %[1]s: the where
		ties  bool
	}
	var cases []tc
	for _, order := range []string{`{id: asc}`, `{id: desc}`, `{score: asc}`, `{score: desc}`} {
		for _, page := range []string{`limit: 1`, `limit: 5`, `limit: 3, offset: 4`, `limit: 60`, `limit: 400`, `limit: 2, offset: 300`} {
			q := `{ articles(where: %[1]s, order_by: ` + order + `, ` + page + `) { id score } }`
			cases = append(cases, tc{query: q, ties: strings.Contains(order, "score")})
		}
	}
	cases = append(cases,
		tc{query: `{ articles(where: {_and: [%[1]s, {score: {_gte: 2}}]}, order_by: {id: asc}, limit: 7, offset: 1) { id score } }`},
		// Nested selections read the merged rows' join columns only.
		tc{query: `{ articles(where: %[1]s, order_by: {id: desc}, limit: 9) { id score author { id name } organization { id name } } }`},
		tc{query: `{ organizations(order_by: {id: asc}, limit: 2) { id } articles(where: %[1]s, order_by: {id: asc}, limit: 4) { __typename score id } }`})

	// The merge must be what runs (else this test compares the plain
	// statement with itself), and only with Config.MergeSets.
	member := map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"}
	for _, c := range cases {
		plans := explainOK(t, b.srv.URL, "", explainBody(fmt.Sprintf(c.query, `{}`), member))
		if !slices.ContainsFunc(plans, func(p explainPlan) bool { return p.SQL != nil && strings.Contains(*p.SQL, "CROSS JOIN LATERAL") }) {
			t.Fatalf("%s is not read per key of the set: %+v", c.query, plans)
		}
	}
	off := newServed(t, sqls, md)
	plans := explainOK(t, off.srv.URL, "", explainBody(fmt.Sprintf(cases[0].query, `{}`), member))
	if len(plans) != 1 || plans[0].SQL == nil || strings.Contains(*plans[0].SQL, "LATERAL") {
		t.Fatalf("read per key without Config.MergeSets: %+v", plans)
	}

	rows := 0
	for _, uid := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 99} {
		rule := fmt.Sprintf(`{_or: [{author_id: {_eq: %d}}, {organization: {memberships: {user_id: {_eq: %d}}}}]}`, uid, uid)
		visible := map[int]bool{}
		for _, r := range mergeRows(t, b.query(t, fmt.Sprintf(`{ articles(where: %s) { id score } }`, rule), "")) {
			visible[r.ID] = true
		}
		for _, c := range cases {
			gotBody := b.query(t, fmt.Sprintf(c.query, `{}`), "", user, fmt.Sprintf("X-Hasura-User-Id: %d", uid))
			wantBody := b.query(t, fmt.Sprintf(c.query, rule), "")
			got, want := mergeRows(t, gotBody), mergeRows(t, wantBody)
			rows += len(got)
			if !c.ties {
				if gotBody != wantBody {
					t.Errorf("user %d, %s:\n got %s\nwant %s", uid, c.query, gotBody, wantBody)
				}
				continue
			}
			score := func(r mergeRow) string {
				if r.Score == nil {
					return "null"
				}
				return fmt.Sprint(*r.Score)
			}
			var gs, ws []string
			seen := map[int]bool{}
			for _, r := range got {
				gs = append(gs, score(r))
				if !visible[r.ID] || seen[r.ID] {
					t.Errorf("user %d, %s: row %d is not visible or comes twice: %s", uid, c.query, r.ID, gotBody)
				}
				seen[r.ID] = true
			}
			for _, r := range want {
				ws = append(ws, score(r))
			}
			if !slices.Equal(gs, ws) {
				t.Errorf("user %d, %s: scores\n got %v\nwant %v", uid, c.query, gs, ws)
			}
		}
	}
	if rows < 3000 {
		t.Errorf("only %d rows compared: the data does not exercise the rule", rows)
	}
}
