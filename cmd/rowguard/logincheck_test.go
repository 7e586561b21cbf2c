package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// TestLoginCheckViews: serve's check accepts a tracked view read through
// its per-role view, and reports a missing per-role view and an API role
// that could read the view itself (here through PUBLIC), which would show
// it every row.
func TestLoginCheckViews(t *testing.T) {
	ctx := context.Background()
	prefix := pgtest.UniqueName("lv") + "_"
	pgtest.DropRolesLater(t, prefix)
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE item (id integer PRIMARY KEY, owner_id integer NOT NULL);
		CREATE VIEW my_item AS SELECT id, owner_id FROM item`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tables.yaml"), []byte(`
- table: {schema: public, name: item}
- table: {schema: public, name: my_item}
  select_permissions:
  - role: user
    permission: {columns: [id], filter: {owner_id: {_eq: X-Hasura-User-Id}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := conn.Exec(ctx, rls.Emit(prog, rls.Options{DefinerRole: prefix + "definer"})); err != nil {
		t.Fatalf("install: %v", err)
	}
	viewLines := func() []string {
		t.Helper()
		problems, err := loginProblems(ctx, conn, prog)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range problems {
			if strings.Contains(p, "view") {
				out = append(out, p)
			}
		}
		return out
	}
	if got := viewLines(); len(got) > 0 {
		t.Errorf("after the install: %q, want no view problem", got)
	}
	if _, err := conn.Exec(ctx, `GRANT SELECT ON my_item TO PUBLIC; DROP VIEW rowguard.rg_my_item_user`); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(viewLines(), "\n")
	for _, want := range []string{
		`per-role view "rowguard"."rg_my_item_user" is missing`,
		`role ` + prefix + `user may read view "public"."my_item" itself`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant one containing %q", got, want)
		}
	}
}
