package compiler

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

func TestHiddenColumns(t *testing.T) {
	const md = `
- table: {schema: public, name: author}
  array_relationships:
    - name: articles
      using: {foreign_key_constraint_on: {table: article, column: author_id}}
  select_permissions:
    - {role: both, permission: {columns: [name], filter: {}}}
    - {role: listed, permission: {columns: [id, name], filter: {}}}
- table: article
  object_relationships:
    - name: author
      using: {foreign_key_constraint_on: author_id}
  select_permissions:
    - {role: both, permission: {columns: [title], filter: {}}}
    - {role: listed, permission: {columns: [title, author_id], filter: {}}}
    - {role: one_side, permission: {columns: [title], filter: {}}}
    - {role: counter, permission: {columns: [], filter: {}, allow_aggregations: true}}
    - {role: nothing, permission: {columns: [], filter: {}}}
`
	m, err := policies.Parse("tables.yaml", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := Compile(blogCatalog(), m, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range []struct{ table, role, want string }{
		{"author", "both", "id"},         // joined by article.author
		{"article", "both", "author_id"}, // and author.articles
		{"author", "listed", ""},         // the permissions list them
		{"article", "listed", ""},
		{"article", "one_side", ""},    // no select permission on author
		{"article", "counter", "ctid"}, // to count rows, no data
		{"article", "nothing", ""},     // cannot count: nothing to grant
	} {
		info := prog.Table(policies.QualifiedTable{Schema: "public", Name: c.table})
		p := info.Permission(c.role, policies.Select)
		var names []string
		for _, col := range p.HiddenColumns {
			names = append(names, col.Name)
		}
		if got := strings.Join(names, ","); got != c.want {
			t.Errorf("%s of %s: hidden columns %q, want %q", c.role, c.table, got, c.want)
		}
	}
}
