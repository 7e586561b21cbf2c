package compiler

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// TestEnumTables: an enum table must have a single-column text primary
// key and at most one other, text, column (Hasura's rules); the columns
// whose single-column foreign key points at a valid enum table's key
// take it.
func TestEnumTables(t *testing.T) {
	q := func(n string) policies.QualifiedTable { return policies.QualifiedTable{Schema: "public", Name: n} }
	text := func(n string) *Column { return &Column{Name: n, Type: "text", NotNull: true} }
	cat := NewCatalog()
	cat.Add(&Table{Name: q("status"), PrimaryKey: []string{"value"}, Columns: []*Column{text("value"), text("comment")}})
	cat.Add(&Table{Name: q("keyless"), Columns: []*Column{text("value")}})
	cat.Add(&Table{Name: q("pair"), PrimaryKey: []string{"a", "b"}, Columns: []*Column{text("a"), text("b")}})
	cat.Add(&Table{Name: q("numbered"), PrimaryKey: []string{"id"}, Columns: []*Column{{Name: "id", Type: "integer"}}})
	cat.Add(&Table{Name: q("wide"), PrimaryKey: []string{"value"}, Columns: []*Column{text("value"), text("comment"), text("extra")}})
	cat.Add(&Table{Name: q("counted"), PrimaryKey: []string{"value"}, Columns: []*Column{text("value"), {Name: "n", Type: "integer"}}})
	cat.Add(&Table{Name: q("task"), PrimaryKey: []string{"id"}, Columns: []*Column{
		{Name: "id", Type: "integer", NotNull: true}, text("status"), text("wide"),
	}, ForeignKeys: []*ForeignKey{
		{Name: "task_status_fkey", Columns: []string{"status"}, RefTable: q("status"), RefColumns: []string{"value"}},
		{Name: "task_wide_fkey", Columns: []string{"wide"}, RefTable: q("wide"), RefColumns: []string{"value"}},
	}})
	md, err := policies.Parse("tables.yaml", []byte(`
- {table: status, is_enum: true}
- {table: keyless, is_enum: true}
- {table: pair, is_enum: true}
- {table: numbered, is_enum: true}
- {table: wide, is_enum: true}
- {table: counted, is_enum: true}
- table: task
`))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := Compile(cat, md, Options{})
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	const fix = ": make it a table with a text primary key and at most one other text column (the comment), or remove `is_enum: true`"
	want := []string{
		"tables.yaml:3:3: enum table public.keyless has no primary key" + fix,
		"tables.yaml:4:3: enum table public.pair has a primary key of several columns (a, b)" + fix,
		"tables.yaml:5:3: enum table public.numbered: its primary key id is of type integer, not text" + fix,
		"tables.yaml:6:3: enum table public.wide has more than one column besides its key (comment, extra)" + fix,
		"tables.yaml:7:3: enum table public.counted: its comment column n is of type integer, not text" + fix,
	}
	if w, g := strings.Join(want, "\n"), strings.Join(got, "\n"); w != g {
		t.Errorf("errors:\n%s\nwant:\n%s", g, w)
	}
	task, status := prog.Table(q("task")), prog.Table(q("status"))
	if task.EnumOf("status") != status || task.EnumOf("wide") != nil || task.EnumOf("id") != nil {
		t.Errorf("task's enum columns = %v, want status only", task.EnumRefs)
	}
	if status.Enum == nil || status.Enum.Comment.Name != "comment" || status.EnumTypeName() != "status_enum" {
		t.Errorf("status = %+v, %s; want an enum table with its comment column, named status_enum", status.Enum, status.EnumTypeName())
	}
}
