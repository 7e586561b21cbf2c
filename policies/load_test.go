package policies

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBlogExample(t *testing.T) {
	md, err := Load("../examples/blog/metadata")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := len(md.Tables); got != 6 {
		t.Fatalf("tables = %d, want 6", got)
	}
	var article *Table
	for _, tb := range md.Tables {
		if tb.Table == (QualifiedTable{"public", "article"}) {
			article = tb
		}
	}
	if article == nil {
		t.Fatal("no public.article")
	}
	if article.Pos.File != filepath.Join("databases", "default", "tables", "public_article.yaml") || article.Pos.Line != 1 {
		t.Errorf("article pos = %v", article.Pos)
	}
	if got := strings.Join(md.Roles(), ","); got != "anonymous,org_viewer,user" {
		t.Errorf("roles = %s", got)
	}
	var sel *Permission
	for _, p := range article.Permissions {
		if p.Role == "user" && p.Op == Select {
			sel = p
		}
	}
	if sel == nil || !sel.AllColumns || sel.Limit == nil || *sel.Limit != 100 || !sel.AllowAggregations {
		t.Fatalf("user select permission = %+v", sel)
	}
	or, ok := sel.Filter.(*Or)
	if !ok || len(or.Items) != 4 {
		t.Fatalf("filter = %#v, want _or of 4", sel.Filter)
	}
	org := or.Items[3].(*Field)
	if org.Name != "organization" || org.Nested == nil {
		t.Fatalf("4th item = %#v", org)
	}
	members := org.Nested.(*Field)
	inner := members.Nested.(*Field)
	sv, ok := inner.Comparisons[0].Value.(*SessionVar)
	if !ok || sv.Name != "x-hasura-user-id" {
		t.Fatalf("inner comparison = %#v", inner.Comparisons[0])
	}
}

func TestParseBoolExp(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"implicit eq", `{id: X-HASURA-USER-ID}`, `id _eq $x-hasura-user-id`},
		{"dollar ops", `{id: {$eq: 1, $gt: 0}}`, `id _eq 1 _gt 0`},
		{"ne alias", `{id: {_ne: 1}}`, `id _neq 1`},
		{"empty", `{}`, `and()`},
		{"and list", `{_and: [{a: {_eq: 1}}, {b: {_is_null: true}}]}`, `and(a _eq 1, b _is_null true)`},
		{"or object", `{_or: {a: {_eq: 1}}}`, `or(a _eq 1)`},
		{"not", `{_not: {a: {_in: [1, 2]}}}`, `not(a _in [1 2])`},
		{"array session var", `{a: {_in: X-Hasura-Allowed-Ids}}`, `a _in $x-hasura-allowed-ids`},
		{"exists", `{_exists: {_table: {schema: s, name: t}, _where: {x: {_eq: 1}}}}`, `exists s.t(x _eq 1)`},
		{"exists bare table", `{_exists: {_table: t, _where: {}}}`, `exists public.t(and())`},
		{"relationship", `{author: {id: {_eq: 1}}}`, `author{id _eq 1}`},
		{"empty relationship", `{author: {}}`, `author`},
		{"column compare root", `{a: {_ceq: ["$", b]}}`, `a _ceq $.b`},
		{"column compare", `{a: {_cgt: b}}`, `a _cgt b`},
		{"multi keys", `{a: {_eq: 1}, b: {_eq: 2}}`, `and(a _eq 1, b _eq 2)`},
		{"json contains", `{j: {_contains: {k: [1]}}}`, `j _contains map[k:[1]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseBoolExp("rule.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("ParseBoolExp: %v", err)
			}
			if got := show(e); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseBoolExpErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not an object", `[1]`, `rule.yaml:1:1: a boolean expression must be an object, got a list`},
		{"mixed", "{a: {_eq: 1, b: 2}}", `rule.yaml:1:2: "a" mixes comparison operators (_eq) with other keys (b)`},
		{"in scalar", "{a: {_in: 3}}", `rule.yaml:1:11: _in takes a list or an array session variable`},
		{"is_null", "{a: {_is_null: maybe}}", `rule.yaml:1:16: _is_null takes true or false`},
		{"exists missing where", "{_exists: {_table: t}}", `rule.yaml:1:2: _exists needs both`},
		{"ceq bad", "{a: {_ceq: [x, y, z]}}", `rule.yaml:1:12: _ceq takes a column name`},
		{"exists unknown key", "{_exists: {_table: t, _wher: {}}}", `rule.yaml:1:23: unknown key "_wher" in _exists`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBoolExp("rule.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}

func TestLoadErrorsAreAllReported(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "tables.yaml"), `
- table: {schema: public, name: a}
  select_permissions:
    - role: user
      permission:
        columns: "*"
        filtre: {}
  delete_permissions:
    - role: user
      permission: {filter: {x: {_in: 1}}}
    - role: user
      permission: {filter: {}}
- "!include missing.yaml"
- table: {schema: public, name: b}
  object_relationships:
    - name: r
      using: {}
`)
	_, err := Load(dir)
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`tables.yaml:7:9: unknown key "filtre" in select permission`,
		`tables.yaml:10:38: _in takes a list`,
		`tables.yaml:11:7: role "user" has a second delete permission`,
		`missing.yaml: cannot read: file does not exist`,
		`tables.yaml:13:3: included file missing.yaml could not be loaded`,
		`tables.yaml:17:14: relationship "r": ` + "`using`" + ` needs exactly one of`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors do not contain %q; got:\n%v", w, err)
		}
	}
}

func TestLoadExportJSON(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "metadata.json")
	write(t, f, `{"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
	  {"table": {"schema": "public", "name": "t"},
	   "array_relationships": [{"name": "items", "using": {"manual_configuration": {"remote_table": "item", "column_mapping": {"id": "t_id"}}}}],
	   "insert_permissions": [{"role": "user", "permission": {"check": {"owner": {"_eq": "x-hasura-user-id"}}, "set": {"owner": "X-Hasura-User-Id", "kind": "a"}, "columns": ["name"], "backend_only": true}}]}
	]}], "inherited_roles": [{"role_name": "both", "role_set": ["user", "editor"]}]}`)
	md, err := Load(f)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tb := md.Tables[0]
	rel := tb.ArrayRelationships[0]
	if rel.Manual == nil || rel.Manual.RemoteTable != (QualifiedTable{"public", "item"}) || rel.Manual.ColumnMapping[0] != (ColumnPair{"id", "t_id"}) {
		t.Errorf("relationship = %+v", rel)
	}
	p := tb.Permissions[0]
	if !p.BackendOnly || len(p.Set) != 2 || p.Set[0].Column != "owner" {
		t.Errorf("permission = %+v", p)
	}
	if _, ok := p.Set[0].Value.(*SessionVar); !ok {
		t.Errorf("preset value = %#v", p.Set[0].Value)
	}
	if len(md.InheritedRoles) != 1 || md.InheritedRoles[0].RoleSet[1] != "editor" {
		t.Errorf("inherited roles = %+v", md.InheritedRoles)
	}
	if p.Pos.Line != 4 {
		t.Errorf("permission line = %d, want 4", p.Pos.Line)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSourceRoundTrip(t *testing.T) {
	md, src, err := Read("../examples/blog/metadata")
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Files) != 8 {
		t.Errorf("source has %d files, want 8 (databases.yaml, tables.yaml, 6 tables)", len(src.Files))
	}
	again, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Tables) != len(md.Tables) || again.Tables[0].Table != md.Tables[0].Table {
		t.Errorf("reloaded metadata differs")
	}
}

// TestMissingColumns: Hasura reads an insert permission without `columns`
// as every column, while select and update permissions without it grant
// none.
func TestMissingColumns(t *testing.T) {
	f := filepath.Join(t.TempDir(), "metadata.json")
	write(t, f, `{"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
	  {"table": {"schema": "public", "name": "t"},
	   "insert_permissions": [{"role": "user", "permission": {"check": {}}}],
	   "select_permissions": [{"role": "user", "permission": {"filter": {}}}],
	   "update_permissions": [{"role": "user", "permission": {"filter": {}}}]}
	]}]}`)
	md, err := Load(f)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, p := range md.Tables[0].Permissions {
		wantAll := p.Op == Insert
		if p.AllColumns != wantAll || (!wantAll && len(p.Columns) != 0) {
			t.Errorf("%v permission: AllColumns %v, Columns %v; want AllColumns %v", p.Op, p.AllColumns, p.Columns, wantAll)
		}
	}
	if len(md.Tables[0].Permissions) != 3 {
		t.Errorf("%d permissions, want 3", len(md.Tables[0].Permissions))
	}
}

// TestNullRulesAndIgnoredKeys: Hasura's exports write an absent rule as
// `check: null` (or `filter: null`), meaning no rule, and accept
// `computed_fields` in insert and update permissions, where it has no effect.
func TestNullRulesAndIgnoredKeys(t *testing.T) {
	f := filepath.Join(t.TempDir(), "metadata.yaml")
	write(t, f, `version: 3
sources:
- name: default
  kind: postgres
  tables:
  - table: {schema: public, name: t}
    insert_permissions:
    - role: user
      permission: {check: null, columns: [a], computed_fields: []}
    update_permissions:
    - role: user
      permission: {filter: {a: {_eq: X-Hasura-User-Id}}, check: null, columns: [a], computed_fields: [c]}
    delete_permissions:
    - role: user
      permission: {filter: null}
`)
	md, err := Load(f)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, p := range md.Tables[0].Permissions {
		switch p.Op {
		case Insert:
			if and, ok := p.Check.(*And); !ok || len(and.Items) != 0 {
				t.Errorf("insert check = %#v, want the empty rule", p.Check)
			}
		case Update:
			if p.Check != nil {
				t.Errorf("update check = %#v, want none (no post-condition)", p.Check)
			}
			if _, ok := p.Filter.(*Field); !ok {
				t.Errorf("update filter = %#v, want the a = user id comparison", p.Filter)
			}
			if len(p.ComputedFields) != 0 {
				t.Errorf("update computed fields = %v, want none", p.ComputedFields)
			}
		case Delete:
			if and, ok := p.Filter.(*And); !ok || len(and.Items) != 0 {
				t.Errorf("delete filter = %#v, want the empty rule", p.Filter)
			}
		}
	}
}

// TestUnservedPartsWarn: what rowguard does not serve loads, and each part
// is one warning at its position; empty parts say nothing.
func TestUnservedPartsWarn(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "databases"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "databases", "databases.yaml"), `- name: default
  kind: postgres
  tables:
  - table: {schema: public, name: t}
    event_triggers:
    - name: on_insert
      definition: {enable_manual: false, insert: {columns: "*"}}
    remote_relationships: []
    array_relationships:
    - name: nothing
      using: {manual_configuration: {remote_table: u, column_mapping: {}}}
  native_queries: []
  customization: {naming_convention: hasura-default}
- name: other
  kind: postgres
  tables:
  - table: {schema: public, name: u}
`)
	write(t, filepath.Join(dir, "actions.yaml"), "actions:\n- name: signup\n  definition: {handler: http://x}\ncustom_types:\n  enums: []\n  objects: []\n")
	write(t, filepath.Join(dir, "remote_schemas.yaml"), "[]\n")
	write(t, filepath.Join(dir, "cron_triggers.yaml"), "- name: nightly\n  schedule: '0 0 * * *'\n")
	md, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(md.Tables) != 1 || md.Tables[0].Table.Name != "t" || md.Source != "default" || len(md.Tables[0].ArrayRelationships) != 0 {
		t.Errorf("served %s tables %v, want source default with table t", md.Source, md.Tables)
	}
	want := []string{
		"actions.yaml:2:1: actions (signup) will not be served: rowguard does not run actions",
		"cron_triggers.yaml:1:1: cron triggers (nightly) will not be served: rowguard does not schedule events",
		"databases/databases.yaml:6:5: event triggers (on_insert) of public.t will not be served: rowguard does not deliver events",
		`databases/databases.yaml:11:37: relationship "nothing" has an empty column_mapping and will not be served: map at least one column to public.u`,
		`databases/databases.yaml:14:3: source "other" will not be served: rowguard serves one database, source "default" (choose another with --source)`,
	}
	var got []string
	for _, w := range md.Warnings {
		got = append(got, w.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	md, _, err = ReadSource(dir, "other")
	if err != nil || len(md.Tables) != 1 || md.Tables[0].Table.Name != "u" {
		t.Errorf("ReadSource(other): tables %v, err %v; want table u", md.Tables, err)
	}
	if _, _, err := ReadSource(dir, "nope"); err == nil || !strings.Contains(err.Error(), `no source named "nope"; the metadata has default, other`) {
		t.Errorf("ReadSource(nope): err %v", err)
	}
}
