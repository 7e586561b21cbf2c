package observe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandler measures what an Observer adds to one request: the
// inner handler makes the calls the GraphQL server makes for a query
// (session, operation, kind, one statement) and writes a small answer.
// "bare" is the handler alone; the others add the Observer with logs
// (written to io.Discard, so the cost is encoding, not I/O) and metrics.
func BenchmarkHandler(b *testing.B) {
	const query = `query Articles { article(order_by: {id: asc}, limit: 20) { id title author { name } } }`
	const sql = `SELECT (SELECT coalesce(json_agg(_s2._e), '[]') FROM (SELECT json_build_object('id', _t1."id") AS _e FROM "public"."article" _t1 LIMIT 20) _s2)`
	answer := []byte(`{"data":{"article":[{"id":1,"title":"a","author":{"name":"x"}}]}}`)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := FromContext(r.Context())
		rec.Session("user", true, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"})
		rec.Operation("Articles", query, nil)
		rec.Kind("query")
		rec.Statement(r.Context(), "article", sql, nil, nil)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})
	types := func(t ...string) map[string]bool {
		m := map[string]bool{}
		for _, x := range t {
			m[x] = true
		}
		return m
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", inner},
		{"observer", New(Config{}).Handler(inner)},
		{"http-log", New(Config{Log: NewLogger(io.Discard, LogConfig{Types: types(TypeHTTP)})}).Handler(inner)},
		{"metrics", New(Config{Metrics: NewMetrics()}).Handler(inner)},
		{"http-log+metrics", New(Config{Log: NewLogger(io.Discard, LogConfig{Types: types(TypeHTTP)}), Metrics: NewMetrics()}).Handler(inner)},
		{"http-log+query-log+metrics", New(Config{Log: NewLogger(io.Discard, LogConfig{Types: types(TypeHTTP, TypeQuery)}), Metrics: NewMetrics()}).Handler(inner)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/v1/graphql", strings.NewReader("{}"))
				c.h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
