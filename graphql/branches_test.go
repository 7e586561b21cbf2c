package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// branchData fills testdata/branches' tables from a fixed seed: users in
// 0–3 organizations, articles with and without an organization and a
// score, so every branch of the rule, NULL keys and ties occur.
func branchData() string {
	r := rand.New(rand.NewPCG(5, 7))
	var b strings.Builder
	const users, orgs, articles = 12, 6, 300
	for u := 1; u <= users; u++ {
		fmt.Fprintf(&b, "INSERT INTO users VALUES (%d, 'user %d');\n", u, u)
	}
	for o := 1; o <= orgs; o++ {
		fmt.Fprintf(&b, "INSERT INTO organizations VALUES (%d, 'org %d');\n", o, o)
	}
	for u := 1; u <= users; u++ {
		for _, o := range r.Perm(orgs)[:r.IntN(4)] {
			fmt.Fprintf(&b, "INSERT INTO memberships VALUES (%d, %d);\n", u, o+1)
		}
	}
	for a := 1; a <= articles; a++ {
		org, score := "NULL", "NULL"
		if r.IntN(8) > 0 {
			org = fmt.Sprint(1 + r.IntN(orgs))
		}
		if r.IntN(3) > 0 {
			score = fmt.Sprint(r.IntN(5))
		}
		fmt.Fprintf(&b, "INSERT INTO articles VALUES (%d, 'a%d', %s, %d, %s);\n", a, a, score, 1+r.IntN(users), org)
	}
	return b.String() + "ANALYZE;\n"
}

// TestPolicyBranchesSameRows checks the lists the planner splits by the
// branches of the role's filter (policyBranches) against an oracle: the
// admin, for whom nothing is split, asking with the role's filter spelled
// out in the where. Orders with ties, NULL keys, offsets, limits, nested
// lists and aggregates' nodes, for users in no, one and several
// organizations and for a user who does not exist.
func TestPolicyBranchesSameRows(t *testing.T) {
	schema, err := os.ReadFile("testdata/branches/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load("testdata/branches/metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{string(schema), branchData()}, md)

	// Each case is a query with a %[1]s where the user's request has its
	// where (or nothing) and the admin's has the rule added.
	type tc struct {
		name, query, where string
		unordered          bool // compare the ids as sets
	}
	var cases []tc
	for _, order := range []string{`{id: asc}`, `[{score: desc_nulls_last}, {id: asc}]`, `[{author: {name: asc}}, {id: desc}]`, `[{score: asc_nulls_first}, {id: desc}]`} {
		for _, page := range []string{`limit: 3`, `limit: 2, offset: 2`, `offset: 1`, ``} {
			cases = append(cases, tc{
				name:  "organizations.articles " + order + " " + page,
				query: `{ organizations(order_by: {id: asc}) { id articles(where: %[1]s, order_by: ` + order + `, ` + page + `) { id score } } }`,
				where: `{}`,
			})
		}
	}
	for org := 1; org <= 6; org++ {
		w := fmt.Sprintf(`{org_id: {_eq: %d}}`, org)
		cases = append(cases,
			tc{name: "articles by org " + w, query: `{ articles(where: %[1]s, order_by: {id: desc}, limit: 5, offset: 1) { id } }`, where: w},
			tc{name: "articles by org unordered " + w, query: `{ articles(where: %[1]s) { id } }`, where: w, unordered: true},
			tc{name: "aggregate nodes " + w, query: `{ articles_aggregate(where: %[1]s, order_by: [{score: asc_nulls_first}, {id: asc}], limit: 3) { aggregate { count } nodes { id } } }`, where: w},
			tc{name: "articles by org and score " + w, query: `{ articles(where: %[1]s, order_by: {id: asc}, limit: 4) { id } }`, where: `{_and: [` + w + `, {score: {_gte: 2}}]}`},
		)
	}

	rows := 0
	for _, uid := range []int{1, 2, 3, 4, 5, 6, 7, 99} {
		rule := fmt.Sprintf(`{_or: [{author_id: {_eq: %d}}, {organization: {memberships: {user_id: {_eq: %d}}}}]}`, uid, uid)
		for _, c := range cases {
			got := b.query(t, fmt.Sprintf(c.query, c.where), "", user, fmt.Sprintf("X-Hasura-User-Id: %d", uid))
			want := b.query(t, fmt.Sprintf(c.query, `{_and: [`+c.where+`, `+rule+`]}`), "")
			if c.unordered {
				got, want = sortedIDs(t, got), sortedIDs(t, want)
			}
			if got != want {
				t.Errorf("user %d, %s:\n got %s\nwant %s", uid, c.name, got, want)
			}
			rows += strings.Count(got, `"id"`)
		}
	}
	if rows < 1000 {
		t.Errorf("only %d rows compared: the data does not exercise the rule", rows)
	}
}

// sortedIDs returns the ids of {"data":{"articles":[{"id":…}…]}} sorted.
func sortedIDs(t *testing.T, body string) string {
	t.Helper()
	var r struct {
		Data struct {
			Articles []struct{ ID int } `json:"articles"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	ids := make([]int, len(r.Data.Articles))
	for i, a := range r.Data.Articles {
		ids[i] = a.ID
	}
	slices.Sort(ids)
	return fmt.Sprint(ids)
}

// TestPolicyBranchesBlog checks a four-branch rule (examples/blog: an
// article is the user's, published, created by the user, or of one of
// the user's organizations) the same way, with the role's row limit.
func TestPolicyBranchesBlog(t *testing.T) {
	b := newBlog(t)
	r := rand.New(rand.NewPCG(11, 13))
	var sql strings.Builder
	for i := range 150 {
		creator, org := "NULL", "NULL"
		if r.IntN(3) > 0 {
			creator = fmt.Sprint(1 + r.IntN(3))
		}
		if r.IntN(4) > 0 {
			org = fmt.Sprint(1 + r.IntN(2))
		}
		fmt.Fprintf(&sql, "INSERT INTO article (title, published, user_id, creator_id, organization_id) VALUES ('x%d', %t, %d, %s, %s);\n",
			i, r.IntN(6) == 0, 1+r.IntN(3), creator, org)
	}
	if _, err := b.conn.Exec(context.Background(), sql.String()); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for uid := 1; uid <= 4; uid++ {
		rule := fmt.Sprintf(`{_or: [{user_id: {_eq: %d}}, {published: {_eq: true}}, {creator_id: {_eq: %d}}, {organization: {members: {member_id: {_eq: %d}}}}]}`, uid, uid, uid)
		for org := 1; org <= 2; org++ {
			for _, page := range []string{`limit: 7, offset: 2`, `limit: 100`, `offset: 3`} {
				w := fmt.Sprintf(`{organization_id: {_eq: %d}}`, org)
				q := `{ article(where: %s, order_by: [{published: asc}, {id: desc}], ` + page + `) { id title } }`
				got := b.query(t, fmt.Sprintf(q, w), "", user, fmt.Sprintf("X-Hasura-User-Id: %d", uid))
				want := b.query(t, fmt.Sprintf(q, `{_and: [`+w+`, `+rule+`]}`), "")
				if page == `offset: 3` {
					// The role's row limit (100) caps what the admin's
					// request does not.
					want = b.query(t, fmt.Sprintf(`{ article(where: %s, order_by: [{published: asc}, {id: desc}], offset: 3, limit: 100) { id title } }`, `{_and: [`+w+`, `+rule+`]}`), "")
				}
				if got != want {
					t.Errorf("user %d, organization %d, %s:\n got %s\nwant %s", uid, org, page, got, want)
				}
				rows += strings.Count(got, `"id"`)
			}
		}
	}
	if rows < 300 {
		t.Errorf("only %d rows compared", rows)
	}
}
