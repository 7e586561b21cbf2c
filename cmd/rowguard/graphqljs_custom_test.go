package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// customizedSchema and customizedMetadata publish a table under Hasura's
// table customization: custom_name, renamed root fields and columns, and a
// function tracked under a custom name.
const customizedSchema = `
CREATE SCHEMA auth;
CREATE TABLE auth.users (id serial PRIMARY KEY, display_name text NOT NULL UNIQUE, avatar_url text);
CREATE FUNCTION auth.search_users(prefix text) RETURNS SETOF auth.users
  AS $$ SELECT * FROM auth.users WHERE display_name LIKE prefix || '%' $$ LANGUAGE sql STABLE;
`

const customizedMetadata = `
tables:
- table: {schema: auth, name: users}
  configuration:
    custom_name: users
    comment: accounts
    custom_root_fields: {select: allUsers, select_by_pk: {name: user, comment: one user}, insert_one: addUser}
    column_config: {display_name: {custom_name: displayName, comment: shown to others}}
    custom_column_names: {avatar_url: avatarUrl}
  select_permissions:
  - role: reader
    permission: {columns: [id, display_name], filter: {}}
functions:
- function: {schema: auth, name: search_users}
  configuration: {custom_name: findUsers}
`

// TestGraphQLJSCustomizedSchema: graphql-js builds the client schema of a
// customized table for the admin and for a role, and sees the custom names
// where Hasura puts them (constraint names stay PostgreSQL's).
func TestGraphQLJSCustomizedSchema(t *testing.T) {
	js := graphqlJS(t)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(context.Background(), customizedSchema); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "metadata.yaml")
	if err := os.WriteFile(md, []byte(customizedMetadata), 0o644); err != nil {
		t.Fatal(err)
	}
	// Introspection needs no installed policies: the server answers it
	// from the role's schema.
	endpoint := startServe(t, "--metadata", md, "--database-url", url, "--allow-privileged-login", "--admin-secret", "s", "--unauthorized-role", "reader")
	sdl := func(headers map[string]string) string {
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
		return res.SDL
	}
	admin := sdl(map[string]string{"X-Hasura-Admin-Secret": "s"})
	reader := sdl(map[string]string{})
	for _, want := range []string{
		`"""accounts"""` + "\ntype users {",
		`"""shown to others"""` + "\n  displayName: String!",
		"  avatarUrl: String\n",
		`"""one user"""` + "\n  user(id: Int!): users\n",
		"  allUsers(\n", "  users_aggregate(\n", "  findUsers(\n", "input findUsers_args {",
		"  addUser(\n", "  insert_users(\n", "  update_users_by_pk(\n", "  delete_users(\n",
		"enum users_select_column {", "  displayName\n",
		"enum users_constraint {", "  users_display_name_key\n",
		"input users_pk_columns_input {", "input users_set_input {",
		// Descriptions name the table as Hasura does, schema-qualified.
		`fetch aggregated fields from the table: "auth.users"`,
	} {
		if !strings.Contains(admin, want) {
			t.Errorf("admin's schema lacks %q", want)
		}
	}
	// PostgreSQL names stay only in descriptions and constraint names.
	for _, absent := range []string{"auth_users", "display_name:", "  display_name\n", "avatar_url", "search_users("} {
		if strings.Contains(admin, absent) {
			t.Errorf("admin's schema has the PostgreSQL name in %q", absent)
		}
	}
	if !strings.Contains(reader, "  allUsers(\n") || !strings.Contains(reader, "  displayName: String!") || strings.Contains(reader, "avatarUrl") {
		t.Errorf("reader's schema should have allUsers and displayName, not avatarUrl:\n%s", reader)
	}
}
