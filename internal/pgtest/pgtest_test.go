package pgtest_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	urlA, urlB := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if urlA == urlB {
		t.Fatalf("two databases share the URL %s", urlA)
	}
	a, b := pgtest.Connect(t, urlA), pgtest.Connect(t, urlB)

	var dbA, dbB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&dbA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&dbB); err != nil {
		t.Fatal(err)
	}
	if dbA == dbB || !strings.HasPrefix(dbA, "rg_testnewdatabase_") {
		t.Fatalf("databases %q and %q: want two distinct rg_testnewdatabase_* names", dbA, dbB)
	}

	// A table in one database is not seen from the other.
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	var found bool
	if err := b.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Fatal("a table created in one database is visible in the other")
	}

	var role, version string
	var super bool
	err := a.QueryRow(ctx, "SELECT current_user, version(), rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&role, &version, &super)
	if err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Fatalf("connected as %q, which is not a superuser", role)
	}
	if !strings.HasPrefix(version, "PostgreSQL ") {
		t.Fatalf("version() = %q", version)
	}
	t.Logf("%s as %s: %s", dbA, role, version)
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		conn := pgtest.Connect(t, pgtest.NewDatabase(t))
		if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	var exists bool
	conn := pgtest.Connect(t, pgtest.ServerURL(t))
	err := conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if name == "" || exists {
		t.Fatalf("database %q still exists after its test ended", name)
	}
}

func TestParallelDatabases(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(strings.Repeat("x", i+1), func(t *testing.T) {
			t.Parallel()
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			if _, err := conn.Exec(context.Background(), "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	seen := map[string]bool{}
	for _, prefix := range []string{"hasura_user", "rg_", "Mixed-Case Role!", "9lives", "", strings.Repeat("long", 30)} {
		for range 500 {
			n := pgtest.UniqueName(prefix)
			if !valid.MatchString(n) || len(n) > 63 {
				t.Fatalf("UniqueName(%q) = %q: not a plain identifier of at most 63 bytes", prefix, n)
			}
			if seen[n] {
				t.Fatalf("UniqueName(%q) repeated %q", prefix, n)
			}
			seen[n] = true
		}
	}
	if n := pgtest.UniqueName("hasura_user"); !strings.HasPrefix(n, "hasura_user_") {
		t.Fatalf("UniqueName(hasura_user) = %q: want the prefix kept", n)
	}
	if n := pgtest.UniqueName("rg_"); strings.HasPrefix(n, "rg__") {
		t.Fatalf("UniqueName(rg_) = %q: doubled separator", n)
	}

	// PostgreSQL agrees: the name needs no quoting, and a role can have it.
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	role := pgtest.UniqueName("Test Role")
	var plain bool
	if err := conn.QueryRow(context.Background(), "SELECT quote_ident($1) = $1", role).Scan(&plain); err != nil {
		t.Fatal(err)
	}
	if !plain {
		t.Fatalf("%q needs quoting in SQL", role)
	}
	if _, err := conn.Exec(context.Background(), "CREATE ROLE "+role+" NOLOGIN; DROP ROLE "+role); err != nil {
		t.Fatal(err)
	}
}
