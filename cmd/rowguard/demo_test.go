package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// demoNames are the cluster-wide names one test's demo uses.
type demoNames struct{ database, prefix, definer string }

// newDemoNames names a demo's database and roles uniquely and drops them
// when the test ends.
func newDemoNames(t *testing.T) demoNames {
	n := demoNames{
		database: pgtest.UniqueName("demo"),
		prefix:   pgtest.UniqueName("demo") + "_",
	}
	n.definer = n.prefix + "definer"
	pgtest.DropRolesLater(t, n.prefix)
	// The demo makes its own database; drop it first (cleanups run
	// last-first) so the roles hold nothing when they are dropped.
	server := pgtest.ServerURL(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+compiler.QuoteIdent(n.database)+" WITH (FORCE)"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return n
}

// TestDemo runs the README's demo on the test cluster and checks that every
// step shows what it claims, over SQL and over HTTP.
func TestDemo(t *testing.T) {
	n := newDemoNames(t)
	var out strings.Builder
	err := runDemo(context.Background(), []string{
		"--database-url", pgtest.ServerURL(t), "--database", n.database,
		"--role-prefix", n.prefix, "--definer-role", n.definer, "--login-role", n.prefix + "server",
		"--listen", "127.0.0.1:0", "--exit", "--example", "../../examples/blog",
	}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		// SQL as each role.
		"id=1  title=Alice public\n  id=3  title=Bob public\n  (2 rows)",
		"published FROM article ORDER BY id\n  ERROR: permission denied for table article (SQLSTATE 42501)", // not among anonymous's columns
		"id=5  user_id=3", // the preset
		"UPDATE article SET title = 'hijacked' WHERE id = 1 RETURNING id\n  (0 rows)",
		"id=4  title=Carol draft\n  (1 rows)", // the array session variable
		// The same over HTTP, printed as curl.
		"curl -s http://127.0.0.1:",
		"-H 'Authorization: Bearer ey",
		"-H 'X-Hasura-Admin-Secret: " + demoAdminSecret + "'",
		`=> {"data":{"article":[{"id":1,"title":"Alice public","author":{"name":"Alice"}},{"id":3,"title":"Bob public","author":{"name":"Bob"}}]}}`,
		`{"id":2,"title":"Alice draft","published":false`,
		`"article_aggregate":{"aggregate":{"count":4}}`,
		`"message":"field 'email' not found in type: 'author'"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q\n%s", want, text)
		}
	}
	if got := strings.Count(text, "ERROR"); got != 1 {
		t.Errorf("demo output has %d errors, want only anonymous's denied column:\n%s", got, text)
	}
}
