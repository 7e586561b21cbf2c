package compiler

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// blogCatalog is a small hand-built catalog for resolution tests that need
// no database.
func blogCatalog() *Catalog {
	q := func(n string) policies.QualifiedTable { return policies.QualifiedTable{Schema: "public", Name: n} }
	cat := NewCatalog()
	cat.Add(&Table{Name: q("author"), PrimaryKey: []string{"id"}, Columns: []*Column{
		{Name: "id", Type: "integer", NotNull: true, HasDefault: true, Sequence: "public.author_id_seq"},
		{Name: "name", Type: "text", NotNull: true},
		{Name: "meta", Type: "jsonb"},
	}})
	cat.Add(&Table{Name: q("article"), PrimaryKey: []string{"id"}, Columns: []*Column{
		{Name: "id", Type: "integer", NotNull: true},
		{Name: "title", Type: "character varying(200)"},
		{Name: "author_id", Type: "integer"},
		{Name: "published", Type: "boolean"},
	}, ForeignKeys: []*ForeignKey{{Name: "article_author_id_fkey", Columns: []string{"author_id"}, RefTable: q("author"), RefColumns: []string{"id"}}}})
	return cat
}

const blogMetadata = `
- table: {schema: public, name: author}
  array_relationships:
    - name: articles
      using: {foreign_key_constraint_on: {table: article, column: author_id}}
- table: article
  object_relationships:
    - name: author
      using: {foreign_key_constraint_on: author_id}
  select_permissions:
    - role: user
      permission:
        columns: [id, title]
        filter: %s
`

func compileRule(t *testing.T, rule string) (*Program, policies.ErrorList) {
	t.Helper()
	md, err := policies.Parse("tables.yaml", []byte(strings.Replace(blogMetadata, "%s", rule, 1)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return Compile(blogCatalog(), md, Options{})
}

func TestCompileRendersRules(t *testing.T) {
	tests := []struct{ name, rule, want string }{
		{"session var", `{author_id: {_eq: X-Hasura-User-Id}}`,
			`a."author_id" = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)`},
		{"relationship", `{author: {name: {_ilike: "%a%"}}}`,
			`EXISTS (SELECT 1 FROM "public"."author" _rg1 WHERE _rg1."id" = a."author_id" AND (_rg1."name" ILIKE '%a%'::text))`},
		{"in list", `{id: {_in: [1, 2]}}`, `a."id" = ANY (ARRAY['1'::integer, '2'::integer]::integer[])`},
		{"nin empty", `{id: {_nin: []}}`, `true`},
		{"in empty", `{id: {_in: []}}`, `false`},
		{"array var", `{id: {_nin: X-Hasura-Ids}}`, `a."id" <> ALL ((SELECT NULLIF(current_setting('hasura.x_hasura_ids', true), '')::integer[])::integer[])`},
		{"not or", `{_not: {_or: [{published: {_eq: true}}, {title: {_is_null: true}}]}}`,
			`NOT ((a."published" = 'true'::boolean) OR (a."title" IS NULL))`},
		{"quote in literal", `{title: {_eq: "it's"}}`, `a."title" = 'it''s'::character varying`},
		{"root column", `{author: {id: {_ceq: ["$", author_id]}}}`,
			`EXISTS (SELECT 1 FROM "public"."author" _rg1 WHERE _rg1."id" = a."author_id" AND (_rg1."id" = a."author_id"))`},
		{"jsonb", `{author: {meta: {_contains: {a: 1}}}}`,
			`EXISTS (SELECT 1 FROM "public"."author" _rg1 WHERE _rg1."id" = a."author_id" AND (_rg1."meta" @> '{"a":1}'::jsonb))`},
		{"exists", `{_exists: {_table: author, _where: {name: {_eq: x}}}}`,
			`EXISTS (SELECT 1 FROM "public"."author" _rg1 WHERE _rg1."name" = 'x'::text)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, errs := compileRule(t, tt.rule)
			if len(errs) > 0 {
				t.Fatalf("compile: %v", errs)
			}
			p := prog.Table(policies.QualifiedTable{Schema: "public", Name: "article"}).Permission("user", policies.Select)
			got := (&Renderer{}).Expr(p.Filter, "a")
			if got != tt.want {
				t.Errorf("(-want +got)\n- %s\n+ %s", tt.want, got)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ name, rule, want string }{
		{"unknown column", `{nope: {_eq: 1}}`, `tables.yaml:14:18: "nope" is neither a column nor a relationship of public.article (columns: id, title, author_id, published; relationships: author)`},
		{"bad int", `{id: {_eq: abc}}`, `tables.yaml:14:28: _eq on id: "abc" is not an integer, and the column is integer`},
		{"null", `{id: {_eq: null}}`, `use _is_null`},
		{"like on int", `{id: {_like: "1%"}}`, `_like needs a text column; id is integer`},
		{"column given nested", `{id: {author: {}}}`, `"id" is a column of public.article: it takes comparison operators`},
		{"relationship given ops", `{author: {_eq: 1}}`, `"author" is a relationship of public.article: it takes a boolean expression`},
		{"ceq unknown", `{id: {_ceq: missing}}`, `_ceq: "missing" is not a column of public.article`},
		{"ceq types", `{id: {_ceq: title}}`, `the types differ`},
		{"exists unknown table", `{_exists: {_table: ghost, _where: {}}}`, `_exists: table public.ghost does not exist`},
		{"jsonb op on text", `{title: {_has_key: a}}`, `_has_key needs a jsonb column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := compileRule(t, tt.rule)
			if !strings.Contains(errs.Error(), tt.want) {
				t.Errorf("errors:\n%v\nwant one containing:\n%s", errs, tt.want)
			}
		})
	}
}

func TestCompileTableErrors(t *testing.T) {
	md, err := policies.Parse("tables.yaml", []byte(`
- table: ghost
- table: article
  object_relationships:
    - name: writer
      using: {foreign_key_constraint_on: title}
  select_permissions:
    - role: admin
      permission: {columns: "*", filter: {}}
    - role: user
      permission: {columns: [id, bogus], filter: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, errs := Compile(blogCatalog(), md, Options{})
	want := []string{
		`tables.yaml:2:3: table public.ghost does not exist in the database`,
		`tables.yaml:5:7: relationship "writer": public.article has no foreign key on (title)`,
		`tables.yaml:8:7: role "admin" has every permission already`,
		`tables.yaml:11:34: select permission for role "user" lists column "bogus"`,
	}
	for _, w := range want {
		if !strings.Contains(errs.Error(), w) {
			t.Errorf("errors:\n%v\nwant one containing:\n%s", errs, w)
		}
	}
}

func TestCastType(t *testing.T) {
	for in, want := range map[string]string{
		"character varying(200)": "character varying", "numeric(4,2)": "numeric", "character(3)": "bpchar",
		"timestamp(3) with time zone": "timestamp with time zone", "integer[]": "integer[]", "character varying(5)[]": "character varying[]",
		"public.mood": "public.mood",
	} {
		if got := CastType(in); got != want {
			t.Errorf("CastType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	got := PGRoleName("hasura_", long)
	if len(got) > MaxIdentifierLength || !strings.HasPrefix(got, "hasura_é") {
		t.Errorf("PGRoleName(long) = %q (%d bytes)", got, len(got))
	}
	if PGRoleName("hasura_", long) == PGRoleName("hasura_", long+"x") {
		t.Error("distinct long roles collide")
	}
	if got := PGRoleName("hasura_", "user"); got != "hasura_user" {
		t.Errorf("PGRoleName(user) = %q", got)
	}
	for in, want := range map[string]string{"X-Hasura-User-Id": "hasura.x_hasura_user_id", "x-hasura-org-ids": "hasura.x_hasura_org_ids"} {
		if got, ok := SettingName(in); !ok || got != want {
			t.Errorf("SettingName(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := SettingName("x-hasura-a;b"); ok {
		t.Error("SettingName accepted ';'")
	}
}

// TestWarnings: what the metadata asks for and rowguard does not serve is
// a warning at its position (the loader's first, then the compiler's), and
// the rest compiles.
func TestWarnings(t *testing.T) {
	cat := blogCatalog()
	q := policies.QualifiedTable{Schema: "public", Name: "publish"}
	cat.AddFunction(&Function{Name: q, Returns: "public.article", ReturnsSet: true, ReturnsTable: policies.QualifiedTable{Schema: "public", Name: "article"}, Volatility: 'v'})
	md, err := policies.Parse("metadata.yaml", []byte(`version: 3
sources:
- name: default
  kind: postgres
  tables:
  - table: article
    event_triggers: [{name: notify, definition: {insert: {columns: "*"}}}]
    select_permissions: [{role: user, permission: {columns: [id], filter: {}}}]
  functions:
  - function: publish
`))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := Compile(cat, md, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := "metadata.yaml:7:21: event triggers (notify) of public.article will not be served: rowguard does not deliver events\n" +
		"metadata.yaml:10:5: tracked function public.publish is exposed as a mutation, which will not be served: rowguard serves functions as queries only (STABLE or IMMUTABLE)"
	if got := prog.Warnings.Error(); got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
	if len(prog.Functions) != 0 || prog.Table(policies.QualifiedTable{Schema: "public", Name: "article"}) == nil {
		t.Errorf("functions %v, want none; article must be tracked", prog.Functions)
	}
}

// TestCompileUnknownViewColumnType: a view column whose type ParseDDL
// cannot derive stays in the catalog (it can be selected and mapped), and
// compile refuses only the rules that compare it, pointing to
// --database-url.
func TestCompileUnknownViewColumnType(t *testing.T) {
	cat, err := ParseDDL([]DDLFile{{Name: "schema.sql", SQL: `
CREATE TABLE event (id int PRIMARY KEY, starts timestamptz, ends timestamptz);
CREATE VIEW event_span AS SELECT id, ends - starts AS span FROM event;
CREATE VIEW series AS SELECT * FROM generate_series(1, 3);
CREATE VIEW named_series AS SELECT * FROM generate_series(1, 3) AS g (n);`}})
	if err != nil {
		t.Fatal(err)
	}
	v := cat.Table(qt("public", "event_span"))
	if v == nil || v.Column("span") == nil || v.Column("span").Type != UnknownType || v.Column("id").Type != "integer" {
		t.Fatalf("event_span: %+v, want id integer and span of UnknownType", v)
	}
	if s := cat.Table(qt("public", "series")); s == nil || s.Columns != nil || !strings.HasPrefix(s.ColumnsUnknown, "schema.sql:4:1: the columns of public.series cannot be told") {
		t.Errorf("series: %+v, want no columns and why, at schema.sql:4:1", s)
	}
	if n := cat.Table(qt("public", "named_series")); n == nil || len(n.Columns) != 1 || n.Columns[0].Name != "n" || n.Columns[0].Type != UnknownType {
		t.Errorf("named_series: %+v, want column n of UnknownType", n)
	}
	md, err := policies.Parse("tables.yaml", []byte(`
- table: series
- table: event_span
  select_permissions:
    - role: user
      permission: {columns: [id, span], filter: {id: {_eq: X-Hasura-User-Id}}}
    - role: nulls
      permission: {columns: [id, span], filter: {span: {_is_null: false}}}
    - role: long
      permission: {columns: [id], filter: {span: {_gt: "1 day"}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, errs := Compile(cat, md, Options{})
	want := []string{
		"tables.yaml:2:3: table public.series: schema.sql:4:1: the columns of public.series cannot be told from its query offline (a * over a function or a relation the files do not define); compile with --database-url",
		"tables.yaml:10:51: public.event_span.span: the type of this view column is not known offline (ParseDDL cannot derive it from the view's query); compile with --database-url",
	}
	if len(errs) != len(want) {
		t.Errorf("errors:\n%v\nwant %d", errs, len(want))
	}
	for _, w := range want {
		if !strings.Contains(errs.Error(), w) {
			t.Errorf("errors:\n%v\nwant one containing:\n%s", errs, w)
		}
	}
}
