package migrations

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// refusingMigration makes objects that refuse some privileges, as the
// periods extension's history views refuse INSERT, UPDATE and DELETE and
// its generated functions EXECUTE: an event trigger raises after any
// statement that leaves such a grant.
const refusingMigration = `CREATE VIEW article_history AS SELECT id, title FROM article;
CREATE FUNCTION article_as_of(t timestamptz) RETURNS SETOF article LANGUAGE sql STABLE AS $$ SELECT * FROM article $$;
CREATE FUNCTION refuse_grants() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.relname = 'article_history' AND a.grantee <> c.relowner AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE')) THEN
    RAISE EXCEPTION 'cannot grant INSERT, UPDATE or DELETE on article_history';
  END IF;
  IF EXISTS (SELECT FROM pg_proc p, aclexplode(p.proacl) a
      WHERE p.proname = 'article_as_of' AND a.grantee NOT IN (p.proowner, 0) AND a.privilege_type = 'EXECUTE') THEN
    RAISE EXCEPTION 'cannot grant EXECUTE on article_as_of: grant SELECT on article instead';
  END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION article_as_of(timestamptz) FROM PUBLIC;
CREATE EVENT TRIGGER refuse_grants ON ddl_command_end EXECUTE FUNCTION refuse_grants();
`

// TestAdminMayDoWhatTheOwnerMay: after `migrate up` the admin role reads
// and writes the project's objects, including those the metadata does not
// track and those behind a function in another schema, gets no privilege
// an object refuses, and is no member of a superuser.
func TestAdminMayDoWhatTheOwnerMay(t *testing.T) {
	ctx := context.Background()
	dir := hasuraProject(t)
	writeFiles(t, dir, map[string]string{"migrations/default/1750000000000_refusing/up.sql": refusingMigration})
	cfg := projectTestConfig(t, dir)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	admin := cfg.Compile.RolePrefix + "admin"
	as := func(role, sql string) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true)", role); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, sql)
		return err
	}
	allowed := []string{
		`SELECT internal_utils.title_upper(title) FROM article`,
		`INSERT INTO article (title, user_id) VALUES ('by admin', 1)`,
		`INSERT INTO half (id) SELECT 1 FROM (SELECT) s WHERE false`, // not tracked by the metadata
		`SELECT * FROM article_history`,
		`UPDATE tag SET name = name; DELETE FROM article_tag; TRUNCATE article_tag`,
	}
	writeFiles(t, dir, map[string]string{"migrations/default/1760000000000_half/up.sql": "CREATE TABLE half (id int);\n"})
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	for _, sql := range allowed {
		if err := as(admin, sql); err != nil {
			t.Errorf("admin: %s: %v", sql, err)
		}
	}
	refused := []string{
		`INSERT INTO article_history (id, title) VALUES (9, 'x')`,
		`SELECT * FROM article_as_of(now())`,
	}
	for _, sql := range refused {
		if err := as(admin, sql); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("admin: %s = %v, want permission denied (the object refuses the grant)", sql, err)
		}
	}
	var supers []string
	rows, err := conn.Query(ctx, `SELECT rolname FROM pg_roles WHERE (rolsuper OR rolbypassrls OR rolcreaterole) AND rolname <> $1 AND pg_has_role($1, oid, 'MEMBER')`, admin)
	if err != nil {
		t.Fatal(err)
	}
	if supers, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(supers) > 0 {
		t.Errorf("admin is a member of %v (%v)", supers, err)
	}
	// Every API role may name every tracked schema.
	user := cfg.Compile.RolePrefix + "user"
	var usage bool
	if err := conn.QueryRow(ctx, `SELECT has_schema_privilege($1, 'public', 'USAGE')`, user).Scan(&usage); err != nil || !usage {
		t.Errorf("USAGE on public for %s = %v, %v", user, usage, err)
	}
}
