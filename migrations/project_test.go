package migrations

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// functionsMigration is a migration as Hasura's run_sql takes it: several
// statements, a function with a $$ body holding semicolons, a DO block.
const functionsMigration = `CREATE SCHEMA internal_utils;
CREATE FUNCTION internal_utils.title_upper(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN upper(t);
END;
$$;
DO $do$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc WHERE proname = 'title_upper') THEN
    RAISE EXCEPTION 'function missing';
  END IF;
END
$do$;
ALTER TABLE article ADD COLUMN shout text GENERATED ALWAYS AS (internal_utils.title_upper(title)) STORED;
`

// hasuraProject writes a Hasura CLI project folder (config.yaml version 3,
// metadata/, migrations/default/<version>_<name>/) with examples/blog's
// schema and metadata, and returns its path.
func hasuraProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	blog := func(name string) string {
		b, err := os.ReadFile(filepath.Join("../examples/blog/migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	writeFiles(t, dir, map[string]string{
		"config.yaml": "version: 3\nendpoint: http://localhost:8080\nadmin_secret: not-read\nmetadata_directory: metadata\nactions:\n  kind: synchronous\n  handler_webhook_baseurl: http://localhost:3000\n",
		"migrations/default/1557077750045_blog/up.sql":         blog("1_blog.up.sql"),
		"migrations/default/1557077750045_blog/down.sql":       blog("1_blog.down.sql"),
		"migrations/default/1557464861534_seed/up.sql":         blog("2_seed.up.sql"),
		"migrations/default/1600000000000_squashed/down.sql":   "SELECT 1;\n",
		"migrations/default/1700000000000_functions/up.sql":    functionsMigration,
		"migrations/other/1557077750045_something_else/up.sql": "SELECT 1/0;\n",
	})
	if err := os.Rename(copyDir(t, "../examples/blog/metadata"), filepath.Join(dir, "metadata")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// projectConfig is testConfig pointed at a project folder.
func projectTestConfig(t *testing.T, dir string) Config {
	t.Helper()
	p, err := ReadProject(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Migrations, cfg.Metadata, cfg.HasuraLedger = p.Migrations, p.Metadata, true
	return cfg
}

func ledgerRows(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT version::text || CASE WHEN dirty THEN ' dirty' ELSE '' END FROM hdb_catalog.schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

func TestProjectFolderUp(t *testing.T) {
	ctx := context.Background()
	cfg := projectTestConfig(t, hasuraProject(t))
	if !strings.HasSuffix(cfg.Migrations, filepath.Join("migrations", "default")) {
		t.Fatalf("migrations = %s, want migrations/default", cfg.Migrations)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	if got, want := ledgerRows(t, conn), "1557077750045 1557464861534 1600000000000 1700000000000"; got != want {
		t.Errorf("hdb_catalog.schema_migrations = %q, want %q", got, want)
	}
	var shout string
	if err := conn.QueryRow(ctx, `SELECT shout FROM article WHERE id = 1`).Scan(&shout); err != nil || shout != "ALICE PUBLIC" {
		t.Errorf("the function migration: shout = %q, %v", shout, err)
	}
	userRole := cfg.Compile.RolePrefix + "user"
	if got := strings.Join(visibleTitles(t, conn, userRole, "3"), ", "); got != "Alice public, Bob public, Carol draft" {
		t.Errorf("user 3 sees %q", got)
	}
	st, err := Status(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.SchemaVersion != 1700000000000 || st.SchemaPending || st.SchemaDirty || st.SchemaProblem != nil || st.PolicyVersion != 1 || st.PolicyPending {
		t.Errorf("status after Up = %+v", st)
	}
	// Again: nothing to run, nothing to install.
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if st, _ := Status(ctx, cfg); st.PolicyVersion != 1 {
		t.Errorf("second Up installed policy version %d", st.PolicyVersion)
	}
}

// TestHasuraMigratedDatabase: a database the Hasura CLI migrated records
// each applied version in hdb_catalog.schema_migrations; rowguard runs
// only the versions after them, and refuses a ledger it cannot continue
// from, changing nothing.
func TestHasuraMigratedDatabase(t *testing.T) {
	ctx := context.Background()
	dir := hasuraProject(t)
	migrationsDir := filepath.Join(dir, "migrations", "default")
	hasuraCLI := func(t *testing.T, url string, versions []string, ledger string) {
		t.Helper()
		conn := pgtest.Connect(t, url)
		for _, v := range versions {
			b, err := os.ReadFile(filepath.Join(migrationsDir, v, "up.sql"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, string(b)); err != nil {
				t.Fatalf("%s: %v", v, err)
			}
		}
		if _, err := conn.Exec(ctx, `CREATE SCHEMA hdb_catalog;
			CREATE TABLE hdb_catalog.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
			INSERT INTO hdb_catalog.schema_migrations (version, dirty) VALUES `+ledger); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("continues after the applied prefix", func(t *testing.T) {
		cfg := projectTestConfig(t, dir)
		// The blog migration creates tables without IF NOT EXISTS: running it
		// again would fail.
		hasuraCLI(t, cfg.DatabaseURL, []string{"1557077750045_blog", "1557464861534_seed"}, "(1557077750045, false), (1557464861534, false)")
		if st, err := Status(ctx, cfg); err != nil || st.SchemaVersion != 1557464861534 || !st.SchemaPending || st.SchemaProblem != nil {
			t.Errorf("status before Up = %+v, %v", st, err)
		}
		if err := Up(ctx, cfg); err != nil {
			t.Fatalf("Up: %v", err)
		}
		conn := pgtest.Connect(t, cfg.DatabaseURL)
		if got, want := ledgerRows(t, conn), "1557077750045 1557464861534 1600000000000 1700000000000"; got != want {
			t.Errorf("hdb_catalog.schema_migrations = %q, want %q", got, want)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM article`).Scan(&n); err != nil || n != 4 {
			t.Errorf("articles = %d, %v: the seed ran again or not at all", n, err)
		}
	})

	refusals := []struct {
		name     string
		versions []string
		ledger   string
		want     string
	}{
		{"gap", []string{"1557077750045_blog", "1700000000000_functions"}, "(1557077750045, false), (1700000000000, false)",
			"but not the earlier " + filepath.Join(migrationsDir, "1557464861534_seed", "up.sql")},
		{"version the folder lacks", []string{"1557077750045_blog"}, "(1557077750045, false), (1557077750046, false)",
			"version(s) 1557077750046, which " + migrationsDir + " does not have"},
		{"dirty", []string{"1557077750045_blog"}, "(1557077750045, false), (1557464861534, true)",
			"marks version 1557464861534 dirty"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			cfg := projectTestConfig(t, dir)
			hasuraCLI(t, cfg.DatabaseURL, r.versions, r.ledger)
			conn := pgtest.Connect(t, cfg.DatabaseURL)
			before := ledgerRows(t, conn)
			err := Up(ctx, cfg)
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("Up = %v, want an error with %q", err, r.want)
			}
			if got := ledgerRows(t, conn); got != before {
				t.Errorf("the refused Up changed the ledger: %q, was %q", got, before)
			}
			st, err := Status(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st.SchemaProblem == nil || !strings.Contains(st.SchemaProblem.Error(), r.want) || st.PolicyVersion != 0 {
				t.Errorf("status = %+v, want the same problem and no policies", st)
			}
		})
	}
}

func TestReadProject(t *testing.T) {
	cases := []struct {
		name           string
		files          map[string]string
		source         string
		wantMigrations string // relative to the folder; "" for none
		wantErr        string
	}{
		{"no config.yaml", map[string]string{"metadata/version.yaml": "version: 3\n", "migrations/default/1_a/up.sql": ""}, "", "migrations/default", ""},
		{"directories from config.yaml", map[string]string{"config.yaml": "version: 3\nmetadata_directory: md\nmigrations_directory: mig\n", "md/version.yaml": "", "mig/db2/1_a/up.sql": ""}, "db2", "mig/db2", ""},
		{"config version 2: versions directly in migrations/", map[string]string{"config.yaml": "version: 2\n", "metadata/version.yaml": "", "migrations/1_a/up.sql": ""}, "", "migrations", ""},
		{"metadata only", map[string]string{"config.yaml": "version: 3\n", "metadata/version.yaml": ""}, "", "", ""},
		{"unknown source", map[string]string{"config.yaml": "version: 3\n", "metadata/version.yaml": "", "migrations/pg1/1_a/up.sql": "", "migrations/pg2/1_a/up.sql": ""}, "default", "", `no migrations for source "default"`},
		{"no metadata", map[string]string{"config.yaml": "version: 3\n"}, "", "", "has no metadata directory"},
		{"config.yaml is not YAML", map[string]string{"config.yaml": "version: [\n"}, "", "", "config.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			p, err := ReadProject(dir, c.source)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ReadProject = %+v, %v; want an error with %q", p, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if c.wantMigrations != "" {
				want = filepath.Join(dir, c.wantMigrations)
			}
			if p.Migrations != want {
				t.Errorf("migrations = %q, want %q", p.Migrations, want)
			}
		})
	}
}

// TestHasuraCatalogState: the Hasura CLI v2 records applied versions in
// hdb_catalog.hdb_version.cli_state, per source; rowguard continues from
// there, records the versions it runs in the same place (keeping the
// rest of the state), and creates no table of its own.
func TestHasuraCatalogState(t *testing.T) {
	ctx := context.Background()
	dir := hasuraProject(t)
	cfg := projectTestConfig(t, dir)
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	for _, v := range []string{"1557077750045_blog", "1557464861534_seed"} {
		b, err := os.ReadFile(filepath.Join(cfg.Migrations, v, "up.sql"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(b)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA hdb_catalog;
		CREATE TABLE hdb_catalog.hdb_version (hasura_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), version text NOT NULL, upgraded_on timestamptz NOT NULL DEFAULT now(), cli_state jsonb NOT NULL DEFAULT '{}', console_state jsonb NOT NULL DEFAULT '{}');
		INSERT INTO hdb_catalog.hdb_version (version, cli_state) VALUES ('48', '{"settings": {"migration_mode": "true"}, "migrations": {"default": {"1557077750045": false, "1557464861534": false}, "other": {"1": false}}, "isStateCopyCompleted": true}')`); err != nil {
		t.Fatal(err)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	var state string
	if err := conn.QueryRow(ctx, `SELECT cli_state::text FROM hdb_catalog.hdb_version`).Scan(&state); err != nil {
		t.Fatal(err)
	}
	want := `{"settings": {"migration_mode": "true"}, "migrations": {"other": {"1": false}, "default": {"1557077750045": false, "1557464861534": false, "1600000000000": false, "1700000000000": false}}, "isStateCopyCompleted": true}`
	if state != want {
		t.Errorf("cli_state =\n%s\nwant\n%s", state, want)
	}
	var table bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('hdb_catalog.schema_migrations') IS NOT NULL`).Scan(&table); err != nil || table {
		t.Errorf("hdb_catalog.schema_migrations made: %v, %v", table, err)
	}
	st, err := Status(ctx, cfg)
	if err != nil || st.SchemaVersion != 1700000000000 || st.SchemaPending || st.SchemaProblem != nil || !strings.Contains(st.SchemaLedger, "cli_state") {
		t.Errorf("status = %+v, %v", st, err)
	}
	// A dirty version there is refused, with the Hasura CLI command that
	// clears it.
	if _, err := conn.Exec(ctx, `UPDATE hdb_catalog.hdb_version SET cli_state = jsonb_set(cli_state, '{migrations,default,1700000000000}', 'true')`); err != nil {
		t.Fatal(err)
	}
	if err := Up(ctx, cfg); err == nil || !strings.Contains(err.Error(), "hasura migrate apply --skip-execution --version 1700000000000 --database-name default") {
		t.Errorf("Up over a dirty catalog state = %v", err)
	}
}

// TestProjectSeeds: a project's seeds/<source>/*.sql are applied in name
// order after the migrations, in Up's transaction, only when asked; a
// seed that fails leaves nothing, not even the migrations.
func TestProjectSeeds(t *testing.T) {
	ctx := context.Background()
	dir := hasuraProject(t)
	writeFiles(t, dir, map[string]string{
		"seeds/default/1_organization.sql": "INSERT INTO organization (id, name) VALUES (100, 'Seeded');\n",
		"seeds/default/2_member.sql":       "INSERT INTO organization_member (organization_id, member_id) SELECT 100, id FROM author WHERE id = 1;\n",
		"seeds/other/1_x.sql":              "SELECT 1/0;\n",
	})
	p, err := ReadProject(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Seeds != filepath.Join(dir, "seeds", "default") {
		t.Fatalf("Seeds = %q", p.Seeds)
	}

	// A seed that fails: nothing is left, the migrations neither.
	bad := projectTestConfig(t, dir)
	failing := t.TempDir()
	writeFiles(t, failing, map[string]string{"1.sql": "INSERT INTO organization (id, name) VALUES (100, 'x');\n", "2.sql": "INSERT INTO organization (id, name) VALUES (100, 'again');\n"})
	bad.Seeds = failing
	err = Up(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "2.sql") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("Up with a failing seed: %v", err)
	}
	conn := pgtest.Connect(t, bad.DatabaseURL)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'organization'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("after the failed Up: %d organization tables, %v", tables, err)
	}

	cfg := projectTestConfig(t, dir)
	cfg.Seeds = p.Seeds
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up with seeds: %v", err)
	}
	conn = pgtest.Connect(t, cfg.DatabaseURL)
	var members int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM organization_member WHERE organization_id = 100`).Scan(&members); err != nil || members != 1 {
		t.Errorf("seeded members = %d, %v", members, err)
	}
}
