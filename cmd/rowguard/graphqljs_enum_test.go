package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

const enumSchema = `
CREATE TABLE color (value text PRIMARY KEY, comment text);
INSERT INTO color VALUES ('red', 'like a rose'), ('blue', NULL);
CREATE TABLE shirt (id serial PRIMARY KEY, color text NOT NULL REFERENCES color(value));
`

const enumMetadata = `
tables:
- table: {schema: public, name: color}
  is_enum: true
- table: {schema: public, name: shirt}
  select_permissions:
  - role: reader
    permission: {columns: [id, color], filter: {}}
`

// TestGraphQLJSEnumTable: graphql-js builds the client schema of a table
// whose column references an enum table, and sees the enum Hasura
// publishes for it, with the rows as values.
func TestGraphQLJSEnumTable(t *testing.T) {
	js := graphqlJS(t)
	ctx := context.Background()
	prefix := pgtest.UniqueName("t") + "_"
	definer := pgtest.UniqueName("definer")
	pgtest.DropRolesLater(t, prefix, definer)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(ctx, enumSchema); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "metadata.yaml")
	if err := os.WriteFile(md, []byte(enumMetadata), 0o644); err != nil {
		t.Fatal(err)
	}
	// The server reads the enum's values as the admin role, which the
	// install creates.
	meta, err := policies.Load(md)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, meta, compiler.Options{RolePrefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := conn.PgConn().Exec(ctx, "BEGIN;\n"+rls.Emit(prog, rls.Options{DefinerRole: definer})+"\nCOMMIT;").ReadAll(); err != nil {
		t.Fatalf("install policies: %v", err)
	}
	endpoint := startServe(t, "--metadata", md, "--database-url", url, "--allow-privileged-login", "--admin-secret", "s",
		"--unauthorized-role", "reader", "--role-prefix", prefix, "--definer-role", definer)
	for _, headers := range []map[string]string{{"X-Hasura-Admin-Secret": "s"}, {}} {
		h, _ := json.Marshal(headers)
		out, err := exec.Command("node", "testdata/introspect.cjs", js, endpoint, string(h)).CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		var res struct {
			OK         bool
			SDL, Error string
		}
		if err := json.Unmarshal(out, &res); err != nil || !res.OK {
			t.Fatalf("graphql-js could not build the schema (%v): %s%s", err, res.Error, out)
		}
		for _, want := range []string{
			"enum color_enum {\n  blue\n\n  \"\"\"like a rose\"\"\"\n  red\n}",
			"  color: color_enum!\n",
			"  color: color_enum_comparison_exp\n",
			"input color_enum_comparison_exp {\n  _eq: color_enum\n  _in: [color_enum!]\n  _is_null: Boolean\n  _neq: color_enum\n  _nin: [color_enum!]\n}",
		} {
			if !strings.Contains(res.SDL, want) {
				t.Errorf("schema for %s lacks %q:\n%s", h, want, res.SDL)
			}
		}
	}
}
