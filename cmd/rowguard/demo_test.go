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
		"--listen", "127.0.0.1:0", "--fresh-listen", "127.0.0.1:0", "--exit", "--example", "../../examples/blog",
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
		// The preset over HTTP; the admin counts Alice's new article.
		`=> {"data":{"insert_article_one":{"title":"Alice via GraphQL","published":false,"user_id":1}}}`,
		`"article_aggregate":{"aggregate":{"count":5}}`,
		`"message":"field 'email' not found in type: 'author'"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q\n%s", want, text)
		}
	}
	if got := strings.Count(text, "ERROR"); got != 1 {
		t.Errorf("demo output has %d errors, want only anonymous's denied column:\n%s", got, text)
	}

	// Custom claims (examples/blog/rowguard_claims.json), both modes, with
	// Alice's membership of organization 1 revoked mid-session.
	if !strings.Contains(text, `x-hasura-allowed-organizations: {"1"}`) {
		t.Errorf("the demo does not show Alice's token claims\n%s", text)
	}
	org1 := `{"data":{"article":[{"id":1,"title":"Alice public","organization_id":1},{"id":2,"title":"Alice draft","organization_id":1},{"id":3,"title":"Bob public","organization_id":1}]}}`
	for _, c := range []struct{ who, want string }{
		{"user 1 (Alice) as org_viewer, token claims", org1},
		{"user 1 (Alice) as org_viewer, --fresh-claims", org1},
		{"admin: Alice leaves organization 1", `{"data":{"delete_organization_member":{"affected_rows":1}}}`},
		{"user 1 (Alice), the same token, token claims", org1},
		{"user 1 (Alice), the same token, --fresh-claims", `{"data":{"article":[]}}`},
	} {
		if got := demoAnswer(text, c.who); got != c.want {
			t.Errorf("demo request as %q answered\n  %s\nwant\n  %s", c.who, got, c.want)
		}
	}
	// Two servers: the curl of each mode goes to its own port.
	tokenURL, freshURL := demoURL(text, "user 1 (Alice) as org_viewer, token claims"), demoURL(text, "user 1 (Alice) as org_viewer, --fresh-claims")
	if tokenURL == "" || freshURL == "" || tokenURL == freshURL || demoURL(text, "user 1 (Alice), the same token, --fresh-claims") != freshURL {
		t.Errorf("token claims served on %q, fresh claims on %q: want two servers\n%s", tokenURL, freshURL, text)
	}
}

// demoURL returns the URL the curl of the first request whose description
// starts with who posts to.
func demoURL(text, who string) string {
	_, rest, ok := strings.Cut(text, "\n# as "+who)
	if !ok {
		return ""
	}
	_, rest, ok = strings.Cut(rest, "\ncurl -s ")
	if !ok {
		return ""
	}
	url, _, _ := strings.Cut(rest, " ")
	return url
}

// demoAnswer returns the answer the demo printed to the first request
// whose description starts with who.
func demoAnswer(text, who string) string {
	_, rest, ok := strings.Cut(text, "\n# as "+who)
	if !ok {
		return "(no such request)"
	}
	_, rest, ok = strings.Cut(rest, "\n=> ")
	if !ok {
		return "(no answer)"
	}
	answer, _, _ := strings.Cut(rest, "\n")
	return answer
}

func TestDatabaseURL(t *testing.T) {
	for _, c := range []struct{ server, user, password, database, want string }{
		{"postgres://u@db.example:5433/x", "u", "", "demo", "postgres://u@db.example:5433/demo?sslmode=disable"},
		{"postgres://u@db.example:5433/x", "u", "p@ss/w:rd %", "my db", "postgres://u:p%40ss%2Fw%3Ard%20%25@db.example:5433/my%20db?sslmode=disable"},
		{"postgres://u@[::1]:5432/x", "u", "", "demo", "postgres://u@[::1]:5432/demo?sslmode=disable"},
		{"host=/tmp/pg port=5444 user=u dbname=x", "u", "", "demo", "postgres://u@/demo?host=%2Ftmp%2Fpg&port=5444&sslmode=disable"},
	} {
		cfg, err := pgx.ParseConfig(c.server)
		if err != nil {
			t.Fatal(err)
		}
		got := databaseURL(cfg, c.user, c.password, c.database)
		if got != c.want {
			t.Errorf("%s as %s: got %s want %s", c.server, c.user, got, c.want)
			continue
		}
		back, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("%s does not parse: %v", got, err)
		}
		if back.User != c.user || back.Password != c.password || back.Database != c.database || back.Host != cfg.Host || back.Port != cfg.Port {
			t.Errorf("%s parses back as %s:%s@%s:%d/%s", got, back.User, back.Password, back.Host, back.Port, back.Database)
		}
	}
}
