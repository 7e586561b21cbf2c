package rls

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestGoldenInstalls installs every golden case on a real PostgreSQL, twice:
// the SQL must be accepted, and running it again on its own output must
// succeed and change nothing. Role names are private to the test.
func TestGoldenInstalls(t *testing.T) {
	ctx := context.Background()
	for _, c := range goldenCases(t) {
		if strings.HasPrefix(c.name, "err_") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			prefix := pgtest.UniqueName("g") + "_"
			opts := Options{DefinerRole: prefix + "definer"}
			var prog *compiler.Program
			// Registered before the database, so it runs after the drop.
			t.Cleanup(func() {
				if prog != nil {
					dropRoles(t, prog, opts)
				}
			})
			_, schema := c.schema(t)
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			if _, err := conn.Exec(ctx, schema); err != nil {
				t.Fatalf("schema: %v", err)
			}
			md, err := policies.Load(filepath.Join(c.dir, "metadata.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cat, err := compiler.LoadCatalog(ctx, conn, nil)
			if err != nil {
				t.Fatal(err)
			}
			compiled, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: prefix})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			prog = compiled
			sql := Emit(prog, opts)
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("install: %v", err)
			}
			first, err := Snapshot(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("second install: %v", err)
			}
			second, err := Snapshot(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			if d := DiffLines(first, second); len(d) > 0 {
				t.Errorf("installing twice changed the database:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// dropRoles removes the test's cluster-wide roles once its database is gone.
func dropRoles(t *testing.T, prog *compiler.Program, opts Options) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.ServerURL(t))
	names := []string{opts.definer()}
	for _, r := range prog.Roles {
		names = append(names, r.PGName)
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+compiler.QuoteIdent(n)); err != nil {
			t.Errorf("drop role %s: %v", n, err)
		}
	}
}
