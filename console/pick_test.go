package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// TestPick: the SQL the editor shows for a table and role is that role's
// policies (with their comments), its GRANTs, the helpers its policies
// call and the table's preset trigger when it acts for the role, and
// nothing of another role's.
func TestPick(t *testing.T) {
	schema, err := os.ReadFile(filepath.Join("..", "examples", "blog", "migrations", "1_blog.up.sql"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.ParseDDL([]compiler.DDLFile{{Name: "1_blog.up.sql", SQL: string(schema)}})
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load(filepath.Join("..", "examples", "blog", "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	script := rls.Emit(prog, rls.Options{})
	tests := []struct {
		name, table, role string
		want, not         []string
	}{
		{"anonymous reads published articles", "public.article", "hasura_anonymous",
			[]string{`CREATE POLICY "rg_article_select_anonymous"`, `COMMENT ON POLICY "rg_article_select_anonymous"`, `TO "hasura_anonymous";`, "ENABLE ROW LEVEL SECURITY"},
			[]string{"rg_article_select_user", "rg_presets_public_article", "rg_set_"}},
		{"user: cross-table helper and presets", "public.article", "hasura_user",
			[]string{`CREATE POLICY "rg_article_select_user"`, `CREATE POLICY "rg_article_insert_user"`, `CREATE FUNCTION rowguard."rg_set_`,
				`GRANT EXECUTE ON FUNCTION rowguard."rg_set_`, `"() TO "hasura_user";`, "rg_presets_public_article", `CREATE TRIGGER "rg_presets_article"`},
			[]string{"rg_article_select_anonymous", `TO "hasura_anonymous"`, `TO "hasura_org_viewer"`}},
		{"a role without permission on the table", "public.organization", "hasura_anonymous", nil, []string{"CREATE", "GRANT"}},
		{"an untracked table", "public.nothing", "hasura_user", nil, []string{"CREATE", "GRANT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Pick(script, tt.table, tt.role)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in:\n%s", n, got)
				}
			}
		})
	}
}

// TestDiff: the review shows the table whose rule changed, in the
// metadata and in the DDL, and nothing of the tables that did not.
func TestDiff(t *testing.T) {
	cat := compiler.NewCatalog()
	cat.Add(&compiler.Table{Name: policies.QualifiedTable{Schema: "public", Name: "book"}, PrimaryKey: []string{"id"},
		Columns: []*compiler.Column{{Name: "id", Type: "integer", NotNull: true}, {Name: "genre", Type: "text"}}})
	cat.Add(&compiler.Table{Name: policies.QualifiedTable{Schema: "public", Name: "shelf"}, PrimaryKey: []string{"id"},
		Columns: []*compiler.Column{{Name: "id", Type: "integer", NotNull: true}}})
	doc := func(filter string) []byte {
		return []byte(`{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[
{"table":{"schema":"public","name":"book"},"select_permissions":[{"role":"reader","permission":{"columns":["id","genre"],"filter":` + filter + `}}]},
{"table":{"schema":"public","name":"shelf"},"select_permissions":[{"role":"reader","permission":{"columns":["id"],"filter":{}}}]}]}]}`)
	}
	res := Diff(cat, doc(`{}`), doc(`{"genre":{"_eq":"fiction"}}`), compiler.Options{}, rls.Options{})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	md, ddl := strings.Join(res.Metadata, "\n"), strings.Join(res.DDL, "\n")
	for _, w := range []string{"@@ public.book", `+ `, `fiction`} {
		if !strings.Contains(md, w) {
			t.Errorf("metadata diff lacks %q:\n%s", w, md)
		}
	}
	if strings.Contains(md, "shelf") || strings.Contains(ddl, "@@ public.shelf") {
		t.Errorf("unchanged shelf in the diff:\n%s\n%s", md, ddl)
	}
	if !strings.Contains(ddl, `+   USING ("book"."genre" = 'fiction'::text);`) || !strings.Contains(ddl, "-   USING (true);") {
		t.Errorf("DDL diff:\n%s", ddl)
	}
	bad := Diff(cat, doc(`{}`), doc(`{"nope":{"_eq":1}}`), compiler.Options{}, rls.Options{})
	if len(bad.Errors) == 0 || len(bad.DDL) != 0 {
		t.Errorf("a rule that does not compile: errors %v, DDL %v", bad.Errors, bad.DDL)
	}
}

// TestSame: documents are compared by meaning, but a number by its text,
// so an integer beyond 2^53 changed in the page is written back.
func TestSame(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{`{"a": 1, "b": [2]}`, `{"b":[2],"a":1}`, true},
		{`{"id": {"_eq": 9007199254740993}}`, `{"id": {"_eq": 9007199254740993}}`, true},
		{`{"id": {"_eq": 9007199254740993}}`, `{"id": {"_eq": 9007199254740992}}`, false},
		{`{"a": 1}`, `{"a": 2}`, false},
		{``, `null`, true},
	} {
		if got := same([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("same(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
