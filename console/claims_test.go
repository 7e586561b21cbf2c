package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/console"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// TestPermissionVariables: the console computes a user's permission
// variables with the installed rowguard.rg_claims, as a fresh token would
// carry them, and says how to install them when there are none.
func TestPermissionVariables(t *testing.T) {
	prefix := pgtest.UniqueName("rgcv") + "_"
	definer := pgtest.UniqueName("rgcv_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	db := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := pgtest.Connect(t, db)
	if _, err := conn.Exec(ctx, `CREATE TABLE app_user (id int PRIMARY KEY);
CREATE TABLE favorite (user_id int REFERENCES app_user, genre text, PRIMARY KEY (user_id, genre));
INSERT INTO app_user VALUES (1), (2);
INSERT INTO favorite VALUES (1, 'fiction'), (1, 'science')`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	md := filepath.Join(dir, "metadata.yaml")
	if err := os.WriteFile(md, []byte(`- table: {schema: public, name: app_user}
  array_relationships:
    - name: favorites
      using: {foreign_key_constraint_on: {table: favorite, column: user_id}}
  select_permissions:
    - role: reader
      permission: {columns: [id], filter: {id: {_eq: X-Hasura-User-Id}}}
- table: {schema: public, name: favorite}
  select_permissions:
    - role: reader
      permission: {columns: [genre], filter: {genre: {_in: X-Hasura-Genres}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	copts, ropts := compiler.Options{RolePrefix: prefix}, rls.Options{DefinerRole: definer}
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := migrations.Up(ctx, migrations.Config{DatabaseURL: db, Metadata: md, Compile: copts, RLS: ropts}); err != nil {
		t.Fatal(err)
	}
	if got, err := console.PermissionVariables(ctx, pool, "1"); err == nil || !strings.Contains(err.Error(), "no custom claims installed") {
		t.Fatalf("without claims: %v, %v", got, err)
	}
	cfg, err := claims.ParseHasuraAuth(`{"genres":"favorites[].genre"}`, "", "claims", "defaults")
	if err != nil {
		t.Fatal(err)
	}
	cfg.UserTable.Schema, cfg.UserTable.Name = "public", "app_user"
	extend := func(prog *compiler.Program) (string, error) {
		comp, err := claims.Compile(cfg, prog, prog.Catalog)
		if err != nil {
			return "", err
		}
		return claims.InstallSQL(comp, definer, []string{prog.AdminPGRole()}), nil
	}
	if err := os.WriteFile(md, append(must(os.ReadFile(md)), []byte("# claims installed\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, migrations.Config{DatabaseURL: db, Metadata: md, Compile: copts, RLS: ropts, Extend: extend}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ user, want string }{{"1", `{"fiction","science"}`}, {"2", "{}"}} {
		got, err := console.PermissionVariables(ctx, pool, tt.user)
		if err != nil {
			t.Fatal(err)
		}
		if got["x-hasura-genres"] != tt.want {
			t.Errorf("user %s: %v, want x-hasura-genres = %s", tt.user, got, tt.want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
