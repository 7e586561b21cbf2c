package compiler

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

func TestGraphQLNames(t *testing.T) {
	md, err := policies.Parse("tables.yaml", []byte(`
- table: author
  configuration:
    custom_name: writer
    custom_root_fields: {select_by_pk: oneWriter, delete: {name: removeWriters}}
    column_config: {name: {custom_name: fullName}}
- table: article
`))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := Compile(blogCatalog(), md, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	author := prog.Table(policies.QualifiedTable{Schema: "public", Name: "author"}).GraphQL
	article := prog.Table(policies.QualifiedTable{Schema: "public", Name: "article"}).GraphQL
	got := []string{author.Type, author.Column("name"), author.Column("id"), author.ColumnOf("fullName"), author.ColumnOf("name"), article.Type}
	for _, k := range policies.RootFieldKinds {
		got = append(got, k+"="+author.Root(k))
	}
	want := []string{"writer", "fullName", "id", "name", "", "article",
		"select=writer", "select_by_pk=oneWriter", "select_aggregate=writer_aggregate", "select_stream=writer_stream",
		"insert=insert_writer", "insert_one=insert_writer_one", "update=update_writer", "update_by_pk=update_writer_by_pk",
		"update_many=update_writer_many", "delete=removeWriters", "delete_by_pk=delete_writer_by_pk"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("names:\n got  %v\n want %v", got, want)
	}
	if n := DefaultTypeName(policies.QualifiedTable{Schema: "auth", Name: "users"}); n != "auth_users" {
		t.Errorf("DefaultTypeName(auth.users) = %q, want auth_users", n)
	}
}

func TestGraphQLNameErrors(t *testing.T) {
	tests := []struct{ name, md, want string }{
		{"unknown column", `
- table: author
  configuration: {column_config: {nope: {custom_name: x}}}`, `tables.yaml:3:55: column_config names "nope", which is not a column of public.author`},
		{"custom name of another column", `
- table: author
  configuration: {column_config: {name: {custom_name: id}}}`, `tables.yaml:3:55: columns "id" and "name" of public.author are both published as field "id"`},
		{"relationship on a custom column name", `
- table: author
  configuration: {column_config: {name: {custom_name: articles}}}
  array_relationships:
  - name: articles
    using: {foreign_key_constraint_on: {table: article, column: author_id}}`, `tables.yaml:5:5: relationship "articles" has the GraphQL name of column "name"`},
		{"computed field on a custom column name", `
- table: author
  configuration: {column_config: {meta: {custom_name: total}}}
  computed_fields:
  - name: total
    definition: {function: author_total}`, `tables.yaml:5:5: computed field "total" has the GraphQL name of column "meta"`},
		{"two tables one type", `
- table: author
  configuration: {custom_name: article}
- table: article`, `table public.author has the GraphQL name "article" of table public.article`},
		{"root field of another table", `
- table: author
  configuration: {custom_root_fields: {select: article_by_pk}}
- table: article`, `tables.yaml:3:48: root field "article_by_pk" of table public.author (select) is already the select_by_pk root field of table public.article`},
		{"mutation root fields", `
- table: author
  configuration: {custom_root_fields: {insert: x, delete: x}}`, `root field "x" of table public.author (delete) is already the insert root field of table public.author`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := policies.Parse("tables.yaml", []byte(tt.md))
			if err != nil {
				t.Fatal(err)
			}
			_, errs := Compile(blogCatalog(), md, Options{})
			if !strings.Contains(errs.Error(), tt.want) {
				t.Errorf("errors:\n%v\nwant one containing:\n%s", errs, tt.want)
			}
		})
	}
}
