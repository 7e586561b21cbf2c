package migrations

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/rls"
)

// TestTriggerProblemsNamed: a SECURITY INVOKER trigger function that writes
// a table the role may not write is named by migrate up, with the fix, and
// the failure it predicts is real; a SECURITY DEFINER one and a trigger
// that does not fire for the role's operation are not named.
func TestTriggerProblemsNamed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := pgtest.UniqueName("t") + "_"
	pgtest.DropRolesLater(t, prefix)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(ctx, `
CREATE TABLE tier_lists (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
CREATE TABLE audit (id serial PRIMARY KEY, note text);
CREATE TABLE ratings (id serial PRIMARY KEY, list_id int NOT NULL, user_id text);
INSERT INTO tier_lists VALUES (1, 0);
CREATE TABLE secret_counts (n int);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE cnt bigint;
BEGIN
  UPDATE tier_lists SET n = n + 1 WHERE id = NEW.list_id;
  INSERT INTO public.audit (note) VALUES ('rated');
  cnt := (SELECT count(*) FROM secret_counts);
  RETURN NEW;
END $$;
CREATE FUNCTION by_owner() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  UPDATE tier_lists SET n = n - 1 WHERE id = OLD.list_id;
  RETURN OLD;
END $$;
CREATE FUNCTION dynamic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I SET n = 0', 'tier_lists');
  RETURN NEW;
END $$;
CREATE TRIGGER ratings_bump AFTER INSERT ON ratings FOR EACH ROW EXECUTE FUNCTION bump();
CREATE TRIGGER ratings_unbump AFTER DELETE ON ratings FOR EACH ROW EXECUTE FUNCTION by_owner();
CREATE TRIGGER ratings_reset AFTER UPDATE ON ratings FOR EACH ROW EXECUTE FUNCTION dynamic();`); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "metadata.json")
	writeMetadata(t, md, `{"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
	  {"table": {"schema": "public", "name": "ratings"},
	   "insert_permissions": [{"role": "user", "permission": {"check": {}, "columns": ["list_id", "user_id"]}}],
	   "select_permissions": [{"role": "user", "permission": {"filter": {}, "columns": ["id", "list_id"]}}],
	   "update_permissions": [{"role": "user", "permission": {"filter": {}, "columns": ["list_id"]}}],
	   "delete_permissions": [{"role": "user", "permission": {"filter": {}}}]},
	  {"table": {"schema": "public", "name": "tier_lists"},
	   "select_permissions": [{"role": "user", "permission": {"filter": {}, "columns": ["id", "n"]}}]}
	]}]}`)
	var log bytes.Buffer
	cfg := Config{DatabaseURL: url, Metadata: md, Compile: compiler.Options{RolePrefix: prefix}, RLS: rls.Options{DefinerRole: prefix + "definer"}, Log: &log}
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(l, "warning: trigger") {
			warnings = append(warnings, l)
		}
	}
	want := []string{
		`warning: trigger ratings_bump on public.ratings runs bump() with the caller's rights (SECURITY INVOKER) and needs INSERT on public.audit, SELECT on public.secret_counts, UPDATE on public.tier_lists: for roles "user" (insert) the operation fails with "permission denied" where it touches what the role may not. Hasura runs it as the owner; to do the same, add a migration: ALTER FUNCTION bump() SECURITY DEFINER SET search_path = <its schemas>`,
		`warning: trigger ratings_reset on public.ratings runs dynamic() with the caller's rights (SECURITY INVOKER) and runs dynamic SQL (EXECUTE), which rowguard cannot check: for roles "user" (update) the operation fails with "permission denied" where it touches what the role may not. Hasura runs it as the owner; to do the same, add a migration: ALTER FUNCTION dynamic() SECURITY DEFINER SET search_path = <its schemas>`,
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"), log.String())
	}

	// The failure named is the one PostgreSQL gives the role.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true)", prefix+"user"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "INSERT INTO ratings (list_id, user_id) VALUES (1, 'u')")
	if err == nil || !strings.Contains(err.Error(), "permission denied for table") {
		t.Errorf("insert as the role: %v, want permission denied", err)
	}
}

func writeMetadata(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
