package graphql_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// benchScale is the benchmark's dataset at 100k articles (bench/dataset.go:
// 1000 users in 3 of 100 organizations each, an author and an organization
// per article, the benchmark's indexes), generated in SQL.
const benchScale = `
INSERT INTO users SELECT u, 'user ' || u FROM generate_series(1, 1000) u;
INSERT INTO organizations SELECT o, 'org ' || o FROM generate_series(1, 100) o;
INSERT INTO memberships SELECT u, 1 + (u * 7 + k * 31) % 100 FROM generate_series(1, 1000) u, generate_series(0, 2) k;
SELECT setseed(0.16);
INSERT INTO articles SELECT a, 'article ' || a, a % 5, 1 + floor(random() * 1000)::int, 1 + floor(random() * 100)::int FROM generate_series(1, 100000) a;
CREATE INDEX ON articles (author_id, org_id, id);
ANALYZE;
`

// topBuffers matches the first Buffers line of a text plan: the top node's,
// which counts every page the statement read.
var topBuffers = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)

// planPages returns the pages the statement of query reads, explained with
// ANALYZE and BUFFERS as the caller of headers (the third run, so the
// connection's catalog caches and the helpers' plans are warm, as a pooled
// server connection's are), and the plan.
func planPages(t *testing.T, b *blog, query string, user map[string]string) (int, string) {
	t.Helper()
	var plan []string
	for range 3 {
		plans := explainOK(t, b.srv.URL, "?analyze=true", explainBody(query, user))
		if len(plans) != 1 {
			t.Fatalf("%d plans, want 1", len(plans))
		}
		plan = plans[0].Plan
	}
	text := strings.Join(plan, "\n")
	m := topBuffers.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no Buffers in the plan:\n%s", text)
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi(m[2] + "0")
	return hit + read/10, text
}

// TestPlanPagesUserNearAdmin: at the benchmark's scale (100k articles), one
// organization's latest articles as a member (the policy: author OR member
// of the article's organization) read about as many pages as the admin's
// (the ordered index until the limit), not every article of the
// organization through a bitmap and a sort (894 pages against 20 before
// bitmap scans were turned off for such statements).
func TestPlanPagesUserNearAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100k articles")
	}
	schema, err := os.ReadFile("testdata/branches/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load("testdata/branches/metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{string(schema), benchScale}, md)
	// User 1 is a member of organizations 8, 39 and 70.
	member := map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"}
	for _, c := range []struct{ name, query string }{
		{"member's organization", `{ articles(where: {org_id: {_eq: 39}}, limit: 20, order_by: {id: desc}) { id title org_id } }`},
		{"another organization", `{ articles(where: {org_id: {_eq: 40}}, limit: 20, order_by: {id: desc}) { id title org_id } }`},
		{"nested", `{ organizations(limit: 10, order_by: {id: asc}) { id articles(limit: 5, order_by: {id: asc}) { id title } } }`},
	} {
		t.Run(c.name, func(t *testing.T) {
			userPages, userPlan := planPages(t, b, c.query, member)
			adminPages, adminPlan := planPages(t, b, c.query, nil)
			t.Logf("pages: user %d, admin %d", userPages, adminPages)
			// The user's statement also reads the membership set (a few
			// pages) and, for an organization it is no member of, its own
			// articles there by the author index.
			if userPages > 2*adminPages+20 {
				t.Errorf("the user's statement reads %d pages, the admin's %d\nuser:\n%s\nadmin:\n%s", userPages, adminPages, userPlan, adminPlan)
			}
			if strings.Contains(userPlan, "Bitmap") {
				t.Errorf("the user's plan still uses a bitmap scan:\n%s", userPlan)
			}
		})
	}
}
