package graphql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/rowguard/rowguard/graphql/observe"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the logged lines of type typ, decoded, and empties the
// buffer.
func (s *syncBuffer) lines(t *testing.T, typ string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if m["type"] == typ {
			out = append(out, m)
		}
	}
	s.b.Reset()
	return out
}

// TestLogsNamePolicies: the http-log and query-log lines of a request
// name, per root field, the tables it reads or writes, the command, and
// the policies PostgreSQL applies to the role: the compiled ones and a
// project's own (read from the catalog when the schema is built).
func TestLogsNamePolicies(t *testing.T) {
	b := newBlog(t)
	ctx := context.Background()
	// A policy of the project's own, on every role, that the server must
	// find in the catalog.
	if _, err := b.conn.Exec(ctx, `CREATE POLICY project_audit ON public.article AS RESTRICTIVE FOR ALL TO PUBLIC USING (true)`); err != nil {
		t.Fatal(err)
	}
	if err := b.gql.SetProgram(b.prog); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	obs := observe.New(observe.Config{Log: observe.NewLogger(out, observe.LogConfig{Types: map[string]bool{observe.TypeHTTP: true, observe.TypeQuery: true}})})
	srv := httptest.NewServer(obs.Handler(b.gql))
	t.Cleanup(srv.Close)

	pol := func(table string, op policies.Op) string {
		return rls.PolicyName(policies.QualifiedTable{Schema: "public", Name: table}, op, "user")
	}
	type access = observe.TableAccess
	for _, tc := range []struct {
		name, query string
		headers     []string
		want        map[string][]access // by root field
	}{
		{
			name:    "query through a relationship",
			query:   `{ article(where: {tags: {tag_id: {_eq: 1}}}) { id author { name } } }`,
			headers: []string{user, alice},
			want: map[string][]access{"article": {
				{Table: "public.article", Command: "select", Policies: []string{"project_audit", pol("article", policies.Select)}},
				{Table: "public.article_tag", Command: "select", Policies: []string{pol("article_tag", policies.Select)}},
				{Table: "public.author", Command: "select", Policies: []string{pol("author", policies.Select)}},
			}},
		},
		{
			name:    "update: its own policies and, for its where, the select ones",
			query:   `mutation { update_article(where: {id: {_eq: 1}}, _set: {title: "t"}) { affected_rows } }`,
			headers: []string{user, alice},
			want: map[string][]access{"update_article": {
				{Table: "public.article", Command: "update", Policies: []string{"project_audit", pol("article", policies.Update)}},
				{Table: "public.article", Command: "select", Policies: []string{"project_audit", pol("article", policies.Select)}},
			}},
		},
		{
			name:  "admin bypasses",
			query: `{ author { id } }`,
			want: map[string][]access{"author": {
				{Table: "public.author", Command: "select", Policies: []string{}, RLS: "bypassed"},
			}},
		},
	} {
		// Twice: the second request's plan comes from the plan cache,
		// with the policies the first one worked out kept on it.
		for _, round := range []string{"first", "cached"} {
			t.Run(tc.name+"/"+round, func(t *testing.T) {
				q, _ := json.Marshal(tc.query)
				status, body := postJSON(t, srv.URL+"/v1/graphql", `{"query":`+string(q)+`}`, tc.headers...)
				if status != 200 || strings.Contains(body, `"errors"`) {
					t.Fatalf("status %d: %s", status, body)
				}
				var got struct {
					Detail struct {
						Operation struct {
							Policies []observe.FieldAccess `json:"policies"`
						} `json:"operation"`
					} `json:"detail"`
				}
				https := out.lines(t, observe.TypeHTTP)
				if len(https) != 1 {
					t.Fatalf("%d http-log lines", len(https))
				}
				raw, _ := json.Marshal(https[0])
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				gotBy := map[string][]access{}
				for _, f := range got.Detail.Operation.Policies {
					gotBy[f.Field] = f.Tables
				}
				if !reflect.DeepEqual(tc.want, gotBy) {
					t.Errorf("http-log policies:\n got %+v\nwant %+v\n%s", gotBy, tc.want, raw)
				}
			})
		}
	}

	// query-log: each statement names its root fields' policies.
	postJSON(t, srv.URL+"/v1/graphql", `{"query":"{ a: author { id } b: tag { id } }"}`, user, alice)
	var queries []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.b.String()), "\n") {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		if m["type"] == observe.TypeQuery {
			queries = append(queries, m)
		}
	}
	if len(queries) != 1 {
		t.Fatalf("%d query-log lines, want 1:\n%s", len(queries), out.b.String())
	}
	raw, _ := json.Marshal(queries[0]["detail"].(map[string]any)["generated_sql"])
	for _, want := range []string{`"field":"a"`, `"field":"b"`, pol("author", policies.Select), pol("tag", policies.Select)} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("query-log's generated_sql lacks %s: %s", want, raw)
		}
	}
}

// BenchmarkServeObserved measures what observing a request costs the
// server, for the list query as a member: without an Observer, with
// metrics only, and with the http-log (whose policies entry walks the
// plan and looks up the policy names) written to io.Discard.
// go test ./graphql -run '^$' -bench ServeObserved -benchmem
func BenchmarkServeObserved(b *testing.B) {
	schema, err := os.ReadFile("testdata/branches/schema.sql")
	if err != nil {
		b.Fatal(err)
	}
	md, err := policies.Load("testdata/branches/metadata.yaml")
	if err != nil {
		b.Fatal(err)
	}
	srv := newServed(b, []string{string(schema), branchData()}, md)
	body := `{"query":"{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }"}`
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", srv.gql},
		{"metrics", observe.New(observe.Config{Metrics: observe.NewMetrics()}).Handler(srv.gql)},
		{"metrics+http-log", observe.New(observe.Config{Metrics: observe.NewMetrics(),
			Log: observe.NewLogger(io.Discard, observe.LogConfig{Types: map[string]bool{observe.TypeHTTP: true}})}).Handler(srv.gql)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hasura-Role", "user")
				req.Header.Set("X-Hasura-User-Id", "1")
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"data":`) {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
