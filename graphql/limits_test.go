package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
)

// with serves b's database and program again, with tune's configuration.
func (b *blog) with(t *testing.T, tune func(*graphql.Config)) *blog {
	t.Helper()
	cfg := graphql.Config{Pool: b.pool, Program: b.prog, Auth: headerAuth{}, Version: "v-test"}
	tune(&cfg)
	gql, err := graphql.NewServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gql)
	t.Cleanup(srv.Close)
	c := *b
	c.srv, c.gql = srv, gql
	return &c
}

func limitError(msg string) string {
	return `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"` + msg + `"}]}`
}

// fragmentBomb spreads fragment F0 once; each Fi spreads F(i+1) twice,
// so the operation selects 2^n fields once expanded.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("{ tag_by_pk(id: 1) { ...F0 } }")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on tag { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on tag { id }", n)
	return b.String()
}

func TestRequestLimits(t *testing.T) {
	b := newBlog(t)
	lim := b.with(t, func(c *graphql.Config) {
		c.DepthLimit, c.NodeLimit, c.FieldLimit, c.BatchLimit, c.MaxBodyBytes = 4, 3, 20, 2, 2000
		c.InputDepthLimit = 4
	})
	const (
		depth4 = `{ article(where: {id: {_eq: 1}}) { author { articles(where: {id: {_eq: 1}}) { id } } } }`
		depth5 = `{ article(where: {id: {_eq: 1}}) { author { articles(where: {id: {_eq: 1}}) { author { id } } } } }`
		nodes3 = `{ a: tag_by_pk(id: 1) { id } b: tag_by_pk(id: 2) { id } c: tag_by_pk(id: 1) { name } }`
		nodes4 = `{ a: tag_by_pk(id: 1) { id } b: tag_by_pk(id: 2) { id } c: tag_by_pk(id: 1) { name } d: tag { id } }`
	)
	fields := func(n int) string { return "{ tag_by_pk(id: 1) { " + manyAliases(n-1) + " } }" }
	cases := []struct {
		name, query string
		headers     []string
		want        string
	}{
		{"depth at the limit", depth4, []string{anonymous},
			`{"data":{"article":[{"author":{"articles":[{"id":1}]}}]}}`},
		{"depth over the limit", depth5, []string{anonymous},
			limitError("depth limit exceeded: the operation nests fields 5 deep, the limit is 4")},
		{"depth through a fragment", `{ article(where: {id: {_eq: 1}}) { ...A } } fragment A on article { author { articles { author { id } } } }`, []string{anonymous},
			limitError("depth limit exceeded: the operation nests fields 5 deep, the limit is 4")},
		{"admin has no depth limit", depth5, nil,
			`{"data":{"article":[{"author":{"articles":[{"author":{"id":1}}]}}]}}`},
		{"introspection does not count toward depth", `{ __type(name: "tag") { fields { type { ofType { name } } } } tag_by_pk(id: 1) { id } }`, []string{anonymous},
			`{"data":{"__type":{"fields":[{"type":{"ofType":{"name":"Int"}}},{"type":{"ofType":{"name":"String"}}}]},"tag_by_pk":{"id":1}}}`},
		{"nodes at the limit", nodes3, []string{anonymous},
			`{"data":{"a":{"id":1},"b":{"id":2},"c":{"name":"go"}}}`},
		{"nodes over the limit", nodes4, []string{anonymous},
			limitError("node limit exceeded: the operation has 4 fields with a selection set, the limit is 3")},
		{"admin has no node limit", nodes4, nil,
			`{"data":{"a":{"id":1},"b":{"id":2},"c":{"name":"go"},"d":[{"id":1},{"id":2}]}}`},
		{"fields at the limit", fields(20), nil,
			`{"data":{"tag_by_pk":{` + manyValues(19) + `}}}`},
		{"fields over the limit, admin too", fields(21), nil,
			limitError("field limit exceeded: the request selects 21 fields (fragments expanded), the limit is 20")},
		{"a fragment counts where it is spread", `{ tag_by_pk(id: 1) { ...F ...F } } fragment F on tag { ` + manyAliases(10) + ` }`, nil,
			limitError("field limit exceeded: the request selects 21 fields (fragments expanded), the limit is 20")},
		{"fields of an unused fragment count", `{ tag_by_pk(id: 1) { id } } fragment F on tag { ` + manyAliases(19) + ` }`, nil,
			limitError("field limit exceeded: the request selects 21 fields (fragments expanded), the limit is 20")},
		{"fields of an operation not run count", `query A { tag_by_pk(id: 1) { id } } query B { tag_by_pk(id: 1) { ` + manyAliases(19) + ` } }`, nil,
			limitError("field limit exceeded: the request selects 22 fields (fragments expanded), the limit is 20")},
		{"input depth at the limit", `{ article(where: {author: {articles: {id: {_eq: 1}}}}) { id } }`, []string{anonymous},
			`{"data":{"article":[{"id":1}]}}`},
		{"input depth over the limit, admin too", `{ article(where: {author: {articles: {author: {id: {_eq: 1}}}}}) { id } }`, nil,
			limitError("input depth limit exceeded: argument values nest 5 deep, the limit is 4")},
		{"argument values count as fields", `{ tag(where: {id: {_in: [` + strings.Repeat("1, ", 18) + `1]}}) { id } }`, nil,
			limitError("field limit exceeded: the request selects 23 fields (fragments expanded), the limit is 20")},
		{"a fragment bomb is measured, not expanded", fragmentBomb(42), []string{anonymous},
			limitError("field limit exceeded: the request selects more than 2^40 fields (fragments expanded), the limit is 20")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := c.query
			body := `{"query":` + string(marshalString(q)) + `}`
			if c.name == "fields of an operation not run count" {
				body = `{"query":` + string(marshalString(q)) + `,"operationName":"A"}`
			}
			status, got := lim.post(t, body, c.headers...)
			if status != http.StatusOK || got != c.want {
				t.Errorf("got  %d %s\nwant %s", status, got, c.want)
			}
		})
	}

	t.Run("variables", func(t *testing.T) {
		q := `query($w: article_bool_exp) { article(where: $w) { id } }`
		if got, want := lim.query(t, q, `{"w": {"author": {"articles": {"id": {"_eq": 1}}}}}`, anonymous), `{"data":{"article":[{"id":1}]}}`; got != want {
			t.Errorf("at the limit: got %s want %s", got, want)
		}
		want := `{"errors":[{"extensions":{"path":"$.variableValues","code":"validation-failed"},"message":"input depth limit exceeded: variable values nest 5 deep, the limit is 4"}]}`
		if got := lim.query(t, q, `{"w": {"author": {"articles": {"author": {"id": {"_eq": 1}}}}}}`, anonymous); got != want {
			t.Errorf("over the limit: got %s want %s", got, want)
		}
	})

	t.Run("batch", func(t *testing.T) {
		one := `{"query":"{ tag_by_pk(id: 1) { id } }"}`
		status, got := lim.post(t, "["+one+","+one+"]", anonymous)
		if want := `[{"data":{"tag_by_pk":{"id":1}}},{"data":{"tag_by_pk":{"id":1}}}]`; status != 200 || got != want {
			t.Errorf("2 operations: got %d %s want %s", status, got, want)
		}
		status, got = lim.post(t, "["+one+","+one+","+one+"]")
		if want := limitError("batch limit exceeded: the request has 3 operations, the limit is 2"); status != 200 || got != want {
			t.Errorf("3 operations: got %d %s want %s", status, got, want)
		}
	})

	t.Run("body size", func(t *testing.T) {
		body := func(n int) string {
			b := `{"query":"{ tag_by_pk(id: 1) { id } }"}`
			return b[:len(b)-1] + strings.Repeat(" ", n-len(b)) + "}"
		}
		status, got := lim.post(t, body(2000))
		if want := `{"data":{"tag_by_pk":{"id":1}}}`; status != 200 || got != want {
			t.Errorf("2000 bytes: got %d %s want %s", status, got, want)
		}
		status, got = lim.post(t, body(2001))
		if want := `{"errors":[{"extensions":{"path":"$","code":"bad-request"},"message":"request body is larger than 2000 bytes"}]}`; status != http.StatusRequestEntityTooLarge || got != want {
			t.Errorf("2001 bytes: got %d %s want %s", status, got, want)
		}
	})

	// With the default limits: what PostgreSQL cannot take in one
	// SELECT list or function call is still answered.
	t.Run("5000 aliases", func(t *testing.T) {
		got := b.query(t, "{ tag_by_pk(id: 1) { "+manyAliases(5000)+" } }", "", user, alice)
		if want := `{"data":{"tag_by_pk":{` + manyValues(5000) + `}}}`; got != want {
			t.Errorf("got %.300s…", got)
		}
	})
	t.Run("more root fields than a SELECT list holds (admin)", func(t *testing.T) {
		var q, want strings.Builder
		for i := range 1700 {
			fmt.Fprintf(&q, "r%d: tag_by_pk(id: 2) { id } ", i)
			if i > 0 {
				want.WriteByte(',')
			}
			fmt.Fprintf(&want, `"r%d":{"id":2}`, i)
		}
		if got := b.query(t, "{ "+q.String()+"}", ""); got != `{"data":{`+want.String()+`}}` {
			t.Errorf("got %.300s…", got)
		}
	})
	t.Run("aliases longer than PostgreSQL identifiers", func(t *testing.T) {
		long := strings.Repeat("x", 70)
		var q, want strings.Builder
		for i := range 60 {
			fmt.Fprintf(&q, "%s%d: id ", long, i)
			if i > 0 {
				want.WriteByte(',')
			}
			fmt.Fprintf(&want, `"%s%d":1`, long, i)
		}
		if got := b.query(t, "{ tag_by_pk(id: 1) { "+q.String()+"} }", ""); got != `{"data":{"tag_by_pk":{`+want.String()+`}}}` {
			t.Errorf("got %.300s…", got)
		}
	})
	t.Run("default input depth limit", func(t *testing.T) {
		// 150 relationship levels: PostgreSQL would plan for minutes.
		q := "{ article(where: " + strings.Repeat("{author: {articles: ", 150) + "{id: {_eq: 1}}" + strings.Repeat("}}", 150) + ") { id } }"
		want := limitError(fmt.Sprintf("input depth limit exceeded: argument values nest 302 deep, the limit is %d", graphql.DefaultInputDepthLimit))
		if got := b.query(t, q, ""); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("default depth limit", func(t *testing.T) {
		q := "{ article(where: {id: {_eq: 1}}) { " + strings.Repeat("author { articles(where: {id: {_eq: 1}}) { ", 5) + "id" + strings.Repeat(" } }", 5) + " } }"
		got := b.query(t, q, "", user, alice)
		if want := limitError(fmt.Sprintf("depth limit exceeded: the operation nests fields 12 deep, the limit is %d", graphql.DefaultDepthLimit)); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}

// TestTimeLimit: a statement that runs past the time limit is cancelled by
// the database, answered with a clear error, and leaves its connection
// usable; the admin role has no time limit.
func TestTimeLimit(t *testing.T) {
	b := newBlog(t)
	ctx := context.Background()
	// 100 articles of Bob's: author → articles fans out 100 ways per level.
	if _, err := b.conn.Exec(ctx, `INSERT INTO article (title, published, user_id) SELECT 'bulk ' || i, true, 2 FROM generate_series(1, 100) i`); err != nil {
		t.Fatal(err)
	}
	timed := b.with(t, func(c *graphql.Config) { c.TimeLimit = 200 * time.Millisecond })
	slow := `{ author(where: {id: {_eq: 2}}) { articles { author { articles { author { articles { title } } } } } } }`
	before := b.pool.Stat().NewConnsCount()
	start := time.Now()
	got := timed.query(t, slow, "", user, alice)
	took := time.Since(start)
	if want := `{"errors":[{"extensions":{"path":"$","code":"unexpected"},"message":"time limit exceeded: the operation ran longer than 200ms"}]}`; got != want {
		t.Fatalf("got  %.300s\nwant %s", got, want)
	}
	if took > 900*time.Millisecond {
		t.Errorf("the request took %v with a 200ms time limit", took)
	}
	// The database cancelled the statement: the connection was not
	// closed, and the next request on it works.
	if got := timed.query(t, `{ tag_by_pk(id: 1) { id } }`, "", user, alice); got != `{"data":{"tag_by_pk":{"id":1}}}` {
		t.Errorf("after the timeout: %s", got)
	}
	if n := b.pool.Stat().NewConnsCount() - before; n != 0 {
		t.Errorf("%d new connections: the timed-out one was closed", n)
	}
	// Just under: a fast operation with the same limit.
	if got := timed.query(t, `{ author(where: {id: {_eq: 2}}) { articles(limit: 2, order_by: {id: asc}) { id } } }`, "", user, alice); got != `{"data":{"author":[{"articles":[{"id":3},{"id":5}]}]}}` {
		t.Errorf("fast operation: %s", got)
	}
}

// TestClientGone: a client that leaves mid-request stops its statement
// with a cancel request; the connection is kept (no new backend with cold
// caches) and serves the next request.
func TestClientGone(t *testing.T) {
	b := newBlog(t)
	ctx := context.Background()
	if _, err := b.conn.Exec(ctx, `INSERT INTO article (title, published, user_id) SELECT 'bulk ' || i, true, 2 FROM generate_series(1, 100) i`); err != nil {
		t.Fatal(err)
	}
	// Seconds of work without a time limit: 100 × 100 × 100 rows.
	slow := `{ author(where: {id: {_eq: 2}}) { articles { author { articles { author { articles { title } } } } } } }`
	if got := b.query(t, `{ tag_by_pk(id: 1) { id } }`, "", user, alice); got != `{"data":{"tag_by_pk":{"id":1}}}` {
		t.Fatalf("warm-up: %s", got)
	}
	before := b.pool.Stat().NewConnsCount()
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	q, _ := json.Marshal(slow)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, b.srv.URL+"/v1/graphql", strings.NewReader(`{"query":`+string(q)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hasura-Role", "user")
	req.Header.Set("X-Hasura-User-Id", "1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the slow query was answered within 300ms (status %d): make it slower", resp.StatusCode)
	}
	// The statement stops well before it would have ended.
	deadline := time.Now().Add(3 * time.Second)
	for {
		var active int
		if err := b.conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d statements still running 3s after the client left", active)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 4 { // every connection of the pool (2)
		if got := b.query(t, `{ tag_by_pk(id: 1) { id } }`, "", user, alice); got != `{"data":{"tag_by_pk":{"id":1}}}` {
			t.Errorf("after the client left: %s", got)
		}
	}
	if n := b.pool.Stat().NewConnsCount() - before; n != 0 {
		t.Errorf("%d new connections: the cancelled request's connection was closed", n)
	}
}

func marshalString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
