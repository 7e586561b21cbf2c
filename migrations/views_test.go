package migrations

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestViewAcrossSchemaMigrations: a tracked view's per-role view depends on
// the view, so a schema migration that drops and recreates the view (as
// Hasura migrations do) runs only because Up lifts the per-role views with
// the policies, and Up puts them back afterwards; Down removes them.
func TestViewAcrossSchemaMigrations(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(cfg.Migrations, "3_view.up.sql"), "CREATE VIEW published AS SELECT id, title, user_id FROM article WHERE published;\n")
	write(filepath.Join(cfg.Migrations, "3_view.down.sql"), "DROP VIEW published;\n")
	tables := filepath.Join(cfg.Metadata, "databases/default/tables")
	write(filepath.Join(tables, "public_published.yaml"), `table: {schema: public, name: published}
select_permissions:
- role: user
  permission: {columns: [id, title], filter: {user_id: {_eq: X-Hasura-User-Id}}}
`)
	editFile(t, filepath.Join(tables, "tables.yaml"), `- "!include public_tag.yaml"`, `- "!include public_tag.yaml"
- "!include public_published.yaml"`)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	perRole := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_views WHERE schemaname = 'rowguard' AND viewname = 'rg_published_user'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if perRole() != 1 {
		t.Fatal("Up did not create the per-role view")
	}
	write(filepath.Join(cfg.Migrations, "4_view_again.up.sql"), "DROP VIEW published;\nCREATE VIEW published AS SELECT id, title, user_id FROM article WHERE published AND title <> '';\n")
	write(filepath.Join(cfg.Migrations, "4_view_again.down.sql"), "SELECT 1;\n")
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up with a migration recreating the view: %v", err)
	}
	if perRole() != 1 {
		t.Error("the per-role view is not back after the schema migration")
	}
	if err := Down(ctx, cfg); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if err := Down(ctx, cfg); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if perRole() != 0 {
		t.Error("the per-role view survives Down to no policies")
	}
}
