package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
)

// writeProject writes a Hasura CLI project folder: examples/blog, plus a
// table in schema auth (as Nhost tracks auth.users), in the Hasura CLI's
// layout, and returns its path.
func writeProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"config.yaml": "version: 3\nendpoint: http://localhost:8080\nadmin_secret: not-read\n",
		"migrations/default/1700000000003_auth/up.sql":      "CREATE SCHEMA auth;\nCREATE TABLE auth.users (id integer PRIMARY KEY, display_name text NOT NULL);\nINSERT INTO auth.users VALUES (1, 'Alice'), (2, 'Bob');\n",
		"metadata/databases/default/tables/auth_users.yaml": "table:\n  schema: auth\n  name: users\nselect_permissions:\n  - role: user\n    permission:\n      columns: [id, display_name]\n      filter: {id: {_eq: X-Hasura-User-Id}}\n",
	}
	for _, name := range []string{"1_blog", "2_seed"} {
		b, err := os.ReadFile(filepath.Join("../../examples/blog/migrations", name+".up.sql"))
		if err != nil {
			t.Fatal(err)
		}
		files["migrations/default/170000000000"+name[:1]+name[1:]+"/up.sql"] = string(b)
	}
	err := filepath.Walk("../../examples/blog/metadata", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../../examples/blog/metadata", p)
		text := string(b)
		if filepath.Base(p) == "tables.yaml" {
			text += "- \"!include auth_users.yaml\"\n"
		}
		files[filepath.Join("metadata", rel)] = text
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestMigrateProjectFolder: `rowguard migrate up --project DIR` on a fresh
// database, `migrate status DIR`, then `serve` as the login role README
// describes, over a tracked table outside public.
func TestMigrateProjectFolder(t *testing.T) {
	ctx := context.Background()
	n := newDemoNames(t)
	url, _, err := freshDatabase(ctx, pgtest.ServerURL(t), n.database)
	if err != nil {
		t.Fatal(err)
	}
	loginRole := n.prefix + "server"
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+compiler.QuoteIdent(loginRole)+" LOGIN NOINHERIT PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t)
	common := []string{"--database-url", url, "--role-prefix", n.prefix, "--definer-role", n.definer}
	var out strings.Builder
	if err := run(ctx, append(append([]string{"migrate", "up"}, common...), "--login-role", loginRole, "--project", dir), &out); err != nil {
		t.Fatalf("migrate up --project: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, append(append([]string{"migrate", "status"}, common...), "--login-role", loginRole, dir), &out); err != nil {
		t.Fatalf("migrate status DIR: %v", err)
	}
	for _, want := range []string{"schema:   version 1700000000003, up to date", "in hdb_catalog.schema_migrations", "policies: version 1", "metadata: installed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	login := fmt.Sprintf("postgres://%s:pw@%s:%d/%s?sslmode=disable", loginRole, cfg.Host, cfg.Port, cfg.Database)
	gql := startServe(t, "--database-url", login, "--role-prefix", n.prefix, "--admin-secret", "s3cret")
	res := post(t, gql, `{ auth_users(order_by: {id: asc}) { id display_name } }`, "X-Hasura-Admin-Secret", "s3cret", "X-Hasura-Role", "user", "X-Hasura-User-Id", "2")
	if got := fmt.Sprint(res); got != "map[data:map[auth_users:[map[display_name:Bob id:2]]]]" {
		t.Errorf("user 2 reads auth.users: %s", got)
	}
	res = post(t, gql, `{ auth_users_aggregate { aggregate { count } } }`, "X-Hasura-Admin-Secret", "s3cret")
	if got := fmt.Sprint(res); got != "map[data:map[auth_users_aggregate:map[aggregate:map[count:2]]]]" {
		t.Errorf("admin counts auth.users: %s", got)
	}
}
