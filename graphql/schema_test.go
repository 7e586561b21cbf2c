package graphql

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// testProgram compiles metadata against a catalog of one table, item.
func testProgram(t *testing.T, metadata string) *compiler.Program {
	t.Helper()
	cat := compiler.NewCatalog()
	cat.Add(&compiler.Table{
		Name: policies.QualifiedTable{Schema: "public", Name: "item"},
		Columns: []*compiler.Column{
			{Name: "id", Type: "integer", NotNull: true},
			{Name: "name", Type: "character varying(20)"},
			{Name: "price", Type: "numeric(10,2)"},
			{Name: "data", Type: "jsonb"},
			{Name: "uid", Type: "uuid"},
			{Name: "at", Type: "timestamp with time zone"},
			{Name: "tags", Type: "text[]"},
		},
		PrimaryKey: []string{"id"},
	})
	md, err := policies.Parse("metadata.yaml", []byte(metadata))
	if err != nil {
		t.Fatal(err)
	}
	return mustCompile(t, cat, md)
}

// mustCompile compiles md against cat, failing the test on any error.
func mustCompile(t *testing.T, cat *compiler.Catalog, md *policies.Metadata) *compiler.Program {
	t.Helper()
	prog, errs := compiler.Compile(cat, md, compiler.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return prog
}

const itemMetadata = `
version: 2
tables:
- table: {schema: public, name: item}
  select_permissions:
  - role: reader
    permission:
      columns: [id, name]
      filter: {}
      query_root_fields: [select_by_pk]
  - role: counter
    permission:
      columns: [id, price]
      filter: {}
      allow_aggregations: true
      query_root_fields: [select_aggregate]
  - role: nokey
    permission:
      columns: [name, data]
      filter: {}
  - role: tally
    permission:
      columns: []
      filter: {}
      allow_aggregations: true
  - role: blind
    permission:
      columns: []
      filter: {}
`

func rootNames(rs *roleSchema) string {
	var names []string
	for _, f := range rs.schema.Query.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, " ")
}

func TestSchemaRootFields(t *testing.T) {
	prog := testProgram(t, itemMetadata)
	for _, c := range []struct{ role, want string }{
		{AdminRole, "item item_aggregate item_by_pk"},
		{"reader", "item_by_pk"},
		{"counter", "item_aggregate"},
		{"nokey", "item"},           // no readable key column: no item_by_pk; no aggregations
		{"tally", "item_aggregate"}, // counts rows without reading a column
		{"blind", noQueriesField},   // nothing to read, nothing to count
		{"stranger", noQueriesField},
	} {
		t.Run(c.role, func(t *testing.T) {
			rs, err := buildSchema(prog, c.role, nil, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := rootNames(rs); got != c.want {
				t.Errorf("root fields %q, want %q\n%s", got, c.want, rs.sdl)
			}
			// Only the admin may write item: the roles have no insert,
			// update or delete permission.
			if got, want := rs.schema.Mutation != nil, c.role == AdminRole; got != want {
				t.Errorf("has a mutation_root: %v, want %v", got, want)
			}
		})
	}
}

func TestSchemaScalars(t *testing.T) {
	rs, err := buildSchema(testProgram(t, itemMetadata), AdminRole, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	item := rs.schema.Types["item"]
	var got []string
	for _, f := range item.Fields {
		got = append(got, f.Name+": "+f.Type.String())
	}
	want := "id: Int!, name: String, price: numeric, data: jsonb, uid: uuid, at: timestamptz, tags: _text"
	if strings.Join(got, ", ") != want {
		t.Errorf("item fields\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
	for typ, fields := range map[string][]string{
		"jsonb_comparison_exp":  {"_contains", "_contained_in", "_has_key", "_has_keys_any", "_has_keys_all", "_is_null"},
		"String_comparison_exp": {"_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex", "_in", "_nin"},
		"Int_comparison_exp":    {"_eq", "_neq", "_gt", "_lt", "_gte", "_lte", "_in", "_nin", "_is_null"},
		"item_aggregate_fields": {"count", "sum", "avg", "max", "min", "stddev", "variance"},
		"item_max_fields":       {"id", "name", "price", "at"},
		"item_sum_fields":       {"id", "price"},
	} {
		def := rs.schema.Types[typ]
		if def == nil {
			t.Errorf("no type %s", typ)
			continue
		}
		for _, f := range fields {
			if def.Fields.ForName(f) == nil {
				t.Errorf("%s has no %s", typ, f)
			}
		}
	}
	if f := rs.schema.Types["String_comparison_exp"].Fields.ForName("_has_key"); f != nil {
		t.Errorf("String_comparison_exp has _has_key")
	}
	if got := rs.schema.Types["item_sum_fields"].Fields.ForName("price").Type.String(); got != "numeric" {
		t.Errorf("sum of numeric is %s", got)
	}
}

func TestScalarFor(t *testing.T) {
	for typ, want := range map[string]string{
		"integer": "Int", "smallint": "Int", "bigint": "bigint", "numeric": "numeric", "numeric(10,2)": "numeric",
		"real": "Float", "double precision": "Float", "text": "String", "character varying(20)": "String",
		"character(3)": "String", "boolean": "Boolean", "uuid": "uuid", "jsonb": "jsonb", "json": "json",
		"date": "date", "timestamp with time zone": "timestamptz", "timestamp(3) with time zone": "timestamptz",
		"timestamp without time zone": "timestamp", "time without time zone": "time", "integer[]": "_int4",
		"public.mood": "mood", "interval": "interval",
	} {
		if got := scalarFor(typ); got != want {
			t.Errorf("scalarFor(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestPlanCacheEvicts(t *testing.T) {
	c := newPlanCache(2)
	a, b, d := &prepared{}, &prepared{}, &prepared{}
	c.put("a", a)
	c.put("b", b)
	if c.get("a") != a { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put("d", d)
	if c.get("b") != nil || c.get("a") != a || c.get("d") != d || c.len() != 2 {
		t.Errorf("LRU kept the wrong entries")
	}
}
