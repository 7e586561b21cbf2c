package rls

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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
			// Registered before the database, so it runs after the drop.
			pgtest.DropRolesLater(t, prefix)
			_, schema := c.schema(t)
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
			if _, err := conn.Exec(ctx, schema); err != nil {
				t.Fatalf("schema: %v", err)
			}
			md, err := policies.Load(filepath.Join(c.dir, "metadata.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			sql := Emit(liveProgram(ctx, t, conn, md, prefix), opts)
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

// TestLoginRole installs a case with Options.LoginRole and logs in as that
// role, an ordinary NOINHERIT login: it reads nothing by itself, sees all
// rows after SET ROLE to the admin role (despite FORCE ROW LEVEL SECURITY)
// and the permitted rows after SET ROLE to an API role.
func TestLoginRole(t *testing.T) {
	ctx := context.Background()
	prefix := pgtest.UniqueName("login") + "_"
	opts := Options{DefinerRole: prefix + "definer", LoginRole: prefix + "server"}
	pgtest.DropRolesLater(t, prefix)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	_, schema := goldenCase{dir: filepath.Join(goldenDir, "op_eq")}.schema(t)
	if _, err := conn.Exec(ctx, schema+`;
		CREATE ROLE `+compiler.QuoteIdent(opts.LoginRole)+` LOGIN NOINHERIT;
		INSERT INTO organization (id, name) VALUES (1, 'o');
		INSERT INTO author (id, name, organization_id) VALUES (1, 'a', 1), (2, 'b', 1);
		INSERT INTO article (id, title, author_id) VALUES (1, 'a1', 1), (2, 'b1', 2);`); err != nil {
		t.Fatalf("schema: %v", err)
	}
	md, err := policies.Load(filepath.Join(goldenDir, "op_eq", "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := conn.Exec(ctx, Emit(prog, opts)); err != nil {
		t.Fatalf("install: %v", err)
	}

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = opts.LoginRole
	login, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("log in as %s: %v", opts.LoginRole, err)
	}
	defer login.Close(ctx)
	count := func(setup string) (int, error) {
		tx, err := login.Begin(ctx)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback(ctx)
		if setup != "" {
			if _, err := tx.Exec(ctx, setup); err != nil {
				return 0, err
			}
		}
		var n int
		err = tx.QueryRow(ctx, "SELECT count(*) FROM article").Scan(&n)
		return n, err
	}
	if n, err := count(""); err == nil {
		t.Errorf("the login role read %d articles by itself; want permission denied", n)
	}
	if n, err := count("SET LOCAL ROLE " + compiler.QuoteIdent(prog.AdminPGRole())); err != nil || n != 2 {
		t.Errorf("as admin: %d articles, %v; want 2", n, err)
	}
	user := "SET LOCAL ROLE " + compiler.QuoteIdent(prog.Role("user").PGName) + "; SELECT set_config('hasura.x_hasura_user_id', '1', true)"
	if n, err := count(user); err != nil || n != 1 {
		t.Errorf("as user 1: %d articles, %v; want 1", n, err)
	}
}

// liveProgram compiles md against the catalog of the database conn is
// connected to, with roles named by prefix.
func liveProgram(ctx context.Context, t *testing.T, conn *pgx.Conn, md *policies.Metadata, prefix string) *compiler.Program {
	t.Helper()
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return prog
}
