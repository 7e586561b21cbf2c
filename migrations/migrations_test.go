package migrations

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testConfig points at a fresh database with examples/blog, using role
// names private to this test (roles are cluster-wide).
func testConfig(t *testing.T) Config {
	t.Helper()
	prefix := pgtest.UniqueName("t") + "_"
	// Registered before the database, so it runs after the drop.
	pgtest.DropRolesLater(t, prefix)
	return Config{
		DatabaseURL: pgtest.NewDatabase(t),
		Migrations:  copyDir(t, "../examples/blog/migrations"),
		Metadata:    copyDir(t, "../examples/blog/metadata"),
		Compile:     compiler.Options{RolePrefix: prefix},
		RLS:         rls.Options{DefinerRole: prefix + "definer"},
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func snapshot(t *testing.T, url string) []string {
	t.Helper()
	conn := pgtest.Connect(t, url)
	lines, err := rls.Snapshot(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func visibleTitles(t *testing.T, conn *pgx.Conn, role, userID string) []string {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('hasura.x_hasura_user_id', $2, true)", role, userID); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "SELECT title FROM article ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	titles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return titles
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUpDownStatusDiff(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	userRole := cfg.Compile.RolePrefix + "user"

	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	v1 := snapshot(t, cfg.DatabaseURL)
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	if got := strings.Join(visibleTitles(t, conn, userRole, "3"), ", "); got != "Alice public, Bob public, Carol draft" {
		t.Errorf("user 3 sees %q", got)
	}

	// Idempotent: a second Up installs nothing new.
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	st, err := Status(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.PolicyVersion != 1 || st.PolicyPending || st.SchemaPending || st.SchemaVersion != 2 {
		t.Errorf("status after two Ups = %+v", st)
	}
	if lines, err := Diff(ctx, cfg); err != nil || len(lines) != 0 {
		t.Errorf("Diff right after Up = %v, %v; want no drift", lines, err)
	}

	// A hand-made change shows as drift.
	if _, err := conn.Exec(ctx, `DROP POLICY rg_article_delete_user ON article`); err != nil {
		t.Fatal(err)
	}
	lines, err := Diff(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "+ policy public.article rg_article_delete_user") {
		t.Errorf("Diff after DROP POLICY = %q", lines)
	}

	// Changed metadata: version 2, which narrows what user 3 sees.
	editFile(t, filepath.Join(cfg.Metadata, "databases/default/tables/public_article.yaml"),
		"          - published: {_eq: true}\n", "")
	if st, _ := Status(ctx, cfg); !st.PolicyPending {
		t.Error("status does not see the metadata change")
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up v2: %v", err)
	}
	if got := strings.Join(visibleTitles(t, conn, userRole, "3"), ", "); got != "Carol draft" {
		t.Errorf("after v2 user 3 sees %q", got)
	}

	// Down restores version 1 exactly (including the dropped policy).
	if err := Down(ctx, cfg); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if diff := rls.DiffLines(v1, snapshot(t, cfg.DatabaseURL)); len(diff) != 0 {
		t.Errorf("after Down the database differs from version 1:\n%s", strings.Join(diff, "\n"))
	}
	if st, _ := Status(ctx, cfg); st.PolicyVersion != 1 {
		t.Errorf("after Down policy version = %d, want 1", st.PolicyVersion)
	}
	cur, err := Current(ctx, conn)
	if err != nil || cur == nil || cur.Source == nil || len(cur.Source.Files) == 0 {
		t.Fatalf("Current = %+v, %v", cur, err)
	}
	if md, err := cur.Source.Load(); err != nil || len(md.Tables) != 6 {
		t.Errorf("installed metadata does not load back: %v", err)
	}
}

func TestFailedInstallKeepsPreviousPolicies(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	before := snapshot(t, cfg.DatabaseURL)

	// The compiler accepts this literal for a timestamp column, PostgreSQL
	// refuses it half-way through the install: nothing may be left half
	// applied.
	editFile(t, filepath.Join(cfg.Metadata, "databases/default/tables/public_article.yaml"),
		"published: {_eq: true}\n      limit: 10", "created_at: {_gt: not-a-time}\n      limit: 10")
	err := Up(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "not-a-time") {
		t.Fatalf("Up with a bad literal = %v, want PostgreSQL's complaint about it", err)
	}
	if diff := rls.DiffLines(before, snapshot(t, cfg.DatabaseURL)); len(diff) != 0 {
		t.Errorf("a failed install changed the database:\n%s", strings.Join(diff, "\n"))
	}
}

func TestFailedSchemaMigrationRestoresPolicies(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	before := snapshot(t, cfg.DatabaseURL)
	bad := filepath.Join(cfg.Migrations, "3_broken.up.sql")
	if err := os.WriteFile(bad, []byte("ALTER TABLE article ADD COLUMN x integer;\nALTER TABLE nope ADD COLUMN y integer;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(cfg.Migrations, "3_broken.down.sql"), []byte("SELECT 1;"), 0o644)
	if err := Up(ctx, cfg); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Up with a broken migration = %v", err)
	}
	if diff := rls.DiffLines(before, snapshot(t, cfg.DatabaseURL)); len(diff) != 0 {
		t.Errorf("policies not restored after a failed schema migration:\n%s", strings.Join(diff, "\n"))
	}
}

func TestSchemaMigrationUnderPolicies(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	// Retyping a column a policy reads would fail while the policy exists;
	// Up lifts the policies around schema migrations.
	os.WriteFile(filepath.Join(cfg.Migrations, "3_retype.up.sql"), []byte("ALTER TABLE article ALTER COLUMN creator_id TYPE bigint;\n"), 0o644)
	os.WriteFile(filepath.Join(cfg.Migrations, "3_retype.down.sql"), []byte("ALTER TABLE article ALTER COLUMN creator_id TYPE integer;\n"), 0o644)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up with a retyping migration: %v", err)
	}
	st, err := Status(ctx, cfg)
	if err != nil || st.SchemaVersion != 3 || st.PolicyVersion != 2 {
		t.Errorf("status = %+v, %v; want schema 3, policies 2 (the cast type changed)", st, err)
	}
}

func TestLoadProgram(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	if _, err := LoadProgram(ctx, conn, "", cfg.Compile); err == nil || !strings.Contains(err.Error(), "rowguard migrate up") {
		t.Errorf("without an install: %v", err)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", cfg.Metadata} {
		prog, err := LoadProgram(ctx, conn, dir, cfg.Compile)
		if err != nil {
			t.Fatalf("%q: %v", dir, err)
		}
		if len(prog.Tables) != 6 || prog.Role("user") == nil || prog.Role("user").PGName != cfg.Compile.RolePrefix+"user" {
			t.Errorf("%q: %d tables, roles %v", dir, len(prog.Tables), prog.Roles)
		}
	}
}
