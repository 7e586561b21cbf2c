package graphql_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

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
			start := cpuTime(b)
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
			// The process's own CPU (PostgreSQL runs in others): less
			// skewed than ns/op when other work shares the machine.
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
