package migrations

import (
	"context"
	"github.com/rowguard/rowguard/internal/pgtest"
	"testing"
	"time"
)

// TestInstallQuietsEventTriggers: a project's DDL event trigger does not
// run for each statement of the policy install (it would, hundreds of
// times: the periods extension's health checks made an install 100 times
// slower), while one the project enabled ALWAYS still does, and the
// project's own DDL after the install still fires both.
func TestInstallQuietsEventTriggers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	if _, err := conn.Exec(ctx, `
CREATE TABLE ddl_log (trigger text, tag text);
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO ddl_log SELECT TG_EVENT, TG_TAG; END $$;
CREATE FUNCTION log_ddl_always() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO ddl_log SELECT 'always', TG_TAG; END $$;
CREATE EVENT TRIGGER ordinary ON ddl_command_end EXECUTE FUNCTION log_ddl();
CREATE EVENT TRIGGER always ON ddl_command_end EXECUTE FUNCTION log_ddl_always();
ALTER EVENT TRIGGER always ENABLE ALWAYS;`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP EVENT TRIGGER IF EXISTS ordinary; DROP EVENT TRIGGER IF EXISTS always")
	})
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	count := func(trigger, tag string) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM ddl_log WHERE trigger = $1 AND tag = $2", trigger, tag).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The blog's schema migrations are the project's own DDL: both fire.
	if n := count("ddl_command_end", "CREATE TABLE"); n == 0 {
		t.Errorf("the ordinary event trigger did not fire for the schema migrations")
	}
	if n := count("ddl_command_end", "CREATE POLICY"); n != 0 {
		t.Errorf("the ordinary event trigger fired %d times for the install's CREATE POLICY, want 0", n)
	}
	if n := count("always", "CREATE POLICY"); n == 0 {
		t.Errorf("the ALWAYS event trigger did not fire for the install")
	}
	var role string
	if err := conn.QueryRow(ctx, "SHOW session_replication_role").Scan(&role); err != nil || role != "origin" {
		t.Errorf("session_replication_role = %q (%v), want origin", role, err)
	}
}
