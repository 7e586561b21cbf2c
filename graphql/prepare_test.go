package graphql_test

import (
	"context"
	"testing"
)

// TestPreparedStatements checks that a repeated request reuses the
// statements prepared on the server's connections (parsed and planned once
// per connection and role, not per request) and still answers each role
// with its own rows.
func TestPreparedStatements(t *testing.T) {
	b := newBlog(t)
	ctx := context.Background()
	prepared := func() int {
		t.Helper()
		total := 0
		var conns []interface{ Release() }
		defer func() {
			for _, c := range conns {
				c.Release()
			}
		}()
		for range 2 { // the pool's MaxConns
			c, err := b.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			var n int
			if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'rg\_%'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			total += n
		}
		return total
	}
	ask := func() {
		t.Helper()
		if got, want := b.query(t, `{ article(order_by: {id: asc}) { id } }`, "", user, carol), `{"data":{"article":[{"id":1},{"id":3},{"id":4}]}}`; got != want {
			t.Errorf("Carol: got %s want %s", got, want)
		}
		if got, want := b.query(t, `{ article_aggregate { aggregate { count } } }`, ""), `{"data":{"article_aggregate":{"aggregate":{"count":4}}}}`; got != want {
			t.Errorf("admin: got %s want %s", got, want)
		}
	}
	ask()
	first := prepared()
	if first == 0 {
		t.Fatal("no rg_ statement is prepared after two requests")
	}
	for range 10 {
		ask()
	}
	// Each connection holds at most BEGIN, the settings, the statement,
	// COMMIT, RESET ALL and RESET ROLE per role and query: 2 connections ×
	// 2 roles × 6.
	if n := prepared(); n > 24 {
		t.Errorf("%d statements prepared after 22 requests of 2 queries: they are not reused", n)
	}
}
