package graphql_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// BenchmarkServe measures the server's own work per request (HTTP
// handler, plan cache, settings, pgx, JSON) on PostgreSQL, for the
// benchmark's list and membership queries as a member and as admin:
// ns/op includes PostgreSQL's time, allocs/op and B/op are the server's
// alone. go test ./graphql -run '^$' -bench Serve -benchmem
func BenchmarkServe(b *testing.B) {
	schema, err := os.ReadFile("testdata/branches/schema.sql")
	if err != nil {
		b.Fatal(err)
	}
	md, err := policies.Load("testdata/branches/metadata.yaml")
	if err != nil {
		b.Fatal(err)
	}
	srv := newServed(b, []string{string(schema), branchData()}, md)
	for _, c := range []struct {
		name, query string
		headers     []string
	}{
		{"list/user", `{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }`, []string{user, "X-Hasura-User-Id: 1"}},
		{"list/admin", `{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }`, nil},
		{"membership/user", `{ articles(where: {org_id: {_eq: 3}}, limit: 20, order_by: {id: desc}) { id title org_id } }`, []string{user, "X-Hasura-User-Id: 1"}},
		{"membership/admin", `{ articles(where: {org_id: {_eq: 3}}, limit: 20, order_by: {id: desc}) { id title org_id } }`, nil},
	} {
		q, _ := json.Marshal(c.query)
		body := `{"query":` + string(q) + `}`
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				for _, h := range c.headers {
					k, v, _ := strings.Cut(h, ":")
					req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
				rec := httptest.NewRecorder()
				srv.gql.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"data":`) {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
