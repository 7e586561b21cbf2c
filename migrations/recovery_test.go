package migrations

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestFailedUpLeavesNothingToClear: after each way `migrate up` can fail
// on a fresh database and on one with policies installed, `migrate
// status` tells the truth (nothing dirty, nothing half-applied), and once
// the cause is fixed the next `migrate up` works with no manual step, and
// `migrate down` too.
func TestFailedUpLeavesNothingToClear(t *testing.T) {
	ctx := context.Background()
	dir := hasuraProject(t)
	cfg := projectTestConfig(t, dir)
	article := filepath.Join(cfg.Metadata, "databases/default/tables/public_article.yaml")
	broken := filepath.Join(cfg.Migrations, "1800000000000_broken", "up.sql")
	status := func(t *testing.T) *State {
		t.Helper()
		st, err := Status(ctx, cfg)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		return st
	}

	// 1. A fresh database, a migration that fails after two that work in
	// the same run: nothing of the run stays.
	writeFiles(t, cfg.Migrations, map[string]string{"1800000000000_broken/up.sql": "CREATE TABLE half (id int);\nALTER TABLE nope ADD COLUMN y integer;\n"})
	err := Up(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), broken+":2") || !strings.Contains(err.Error(), `relation "nope" does not exist`) {
		t.Fatalf("Up = %v, want the failing file:line and PostgreSQL's message", err)
	}
	if st := status(t); st.SchemaVersion != 0 || st.SchemaDirty || !st.SchemaPending || st.PolicyVersion != 0 {
		t.Errorf("status after the failed first Up = %+v, want nothing applied, nothing dirty", st)
	}
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("public tables after the failed Up = %d, %v; want none", tables, err)
	}
	// Fixed: the next Up runs everything.
	writeFiles(t, cfg.Migrations, map[string]string{"1800000000000_broken/up.sql": "CREATE TABLE half (id int);\n"})
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up after the fix: %v", err)
	}
	if st := status(t); st.SchemaVersion != 1800000000000 || st.SchemaDirty || st.SchemaPending || st.PolicyVersion != 1 || st.PolicyPending {
		t.Errorf("status after the fixed Up = %+v", st)
	}

	// 2. Policies refused by PostgreSQL, with a schema migration pending:
	// the migration is not kept either, and version 1 stays in force.
	original, err := os.ReadFile(article)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, cfg.Migrations, map[string]string{"1900000000000_more/up.sql": "ALTER TABLE half ADD COLUMN x int;\n"})
	editFile(t, article, "published: {_eq: true}\n      limit: 10", "created_at: {_gt: not-a-time}\n      limit: 10")
	before := snapshot(t, cfg.DatabaseURL)
	if err := Up(ctx, cfg); err == nil || !strings.Contains(err.Error(), "not-a-time") {
		t.Fatalf("Up = %v, want PostgreSQL's refusal of not-a-time", err)
	}
	if st := status(t); st.SchemaVersion != 1800000000000 || st.SchemaDirty || !st.SchemaPending || st.PolicyVersion != 1 {
		t.Errorf("status after the refused install = %+v, want schema 1800000000000 with one pending, policies 1", st)
	}
	if diff := snapshotDiff(before, snapshot(t, cfg.DatabaseURL)); diff != "" {
		t.Errorf("the refused install changed the policies:\n%s", diff)
	}
	if err := os.WriteFile(article, original, 0o644); err != nil {
		t.Fatal(err)
	}
	editFile(t, article, "          - published: {_eq: true}\n", "")
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up after the fix: %v", err)
	}
	if st := status(t); st.SchemaVersion != 1900000000000 || st.SchemaPending || st.PolicyVersion != 2 || st.PolicyPending {
		t.Errorf("status after the fixed Up = %+v", st)
	}

	// 3. A dirty policy version as golang-migrate left it when an install
	// failed before installs ran in one transaction: Up clears it and
	// Down works.
	if _, err := conn.Exec(ctx, `UPDATE rowguard.policy_migrations SET version = 3, dirty = true`); err != nil {
		t.Fatal(err)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up over a dirty policy version: %v", err)
	}
	if err := Down(ctx, cfg); err != nil {
		t.Fatalf("Down after Up cleared the dirty policy version: %v", err)
	}
	if st := status(t); st.PolicyVersion != 1 {
		t.Errorf("policy version after Down = %d, want 1", st.PolicyVersion)
	}
}

func snapshotDiff(a, b []string) string {
	if strings.Join(a, "\n") == strings.Join(b, "\n") {
		return ""
	}
	return "before:\n" + strings.Join(a, "\n") + "\nafter:\n" + strings.Join(b, "\n")
}
