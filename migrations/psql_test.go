package migrations

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestPsqlInspection runs README's psql recipe with the real psql client:
// the installed policies must show exactly the permitted rows and columns to
// anyone who sets the role and the setting, and explain themselves.
func TestPsqlInspection(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql client not installed")
	}
	ctx := context.Background()
	cfg := testConfig(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	user := cfg.Compile.RolePrefix + "user"
	anon := cfg.Compile.RolePrefix + "anonymous"
	run := func(sql string) (string, error) {
		cmd := exec.Command(psql, cfg.DatabaseURL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", "-")
		cmd.Stdin = strings.NewReader(sql)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	got, err := run("BEGIN; SET LOCAL ROLE " + user + "; SELECT set_config('hasura.x_hasura_user_id', '1', true) \\g /dev/null\nSELECT id, title FROM article ORDER BY id; ROLLBACK;")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, got)
	}
	if want := "1|Alice public\n2|Alice draft\n3|Bob public"; got != want {
		t.Errorf("user 1 sees:\n%s\nwant:\n%s", got, want)
	}
	// Without the setting, the user rules match nothing of their own.
	got, err = run("BEGIN; SET LOCAL ROLE " + user + "; SELECT id FROM article ORDER BY id; ROLLBACK;")
	if err != nil || got != "1\n3" {
		t.Errorf("user without a user id sees %q (%v), want only the published 1 and 3", got, err)
	}
	// Columns outside the role's permission are refused by PostgreSQL.
	got, err = run("BEGIN; SET LOCAL ROLE " + anon + "; SELECT published FROM article; ROLLBACK;")
	if err == nil || !strings.Contains(got, "permission denied for table article") {
		t.Errorf("anonymous reading a hidden column: %q, %v", got, err)
	}
	// Every policy names the metadata file and line it came from.
	got, err = run(`SELECT obj_description(p.oid, 'pg_policy') FROM pg_policy p WHERE p.polname = 'rg_article_select_user'`)
	if err != nil || !strings.HasPrefix(got, "rowguard: databases/default/tables/public_article.yaml:") {
		t.Errorf("policy comment = %q (%v)", got, err)
	}
}
