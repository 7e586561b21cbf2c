package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestUpFilesOrder checks that the runner applies migrations in version
// order, not path order (10 after 9), in both Hasura CLI layouts, and
// leaves out down migrations, down-only folders and unversioned files.
func TestUpFilesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"10_ten/up.sql", "10_ten/down.sql", "9_nine/up.sql", "11_down_only/down.sql",
		"2_two.up.sql", "2_two.down.sql", "README.md", "notes/up.sql",
	} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := upFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.path)
		got = append(got, rel)
	}
	want := []string{"2_two.up.sql", "9_nine/up.sql", "10_ten/up.sql"}
	if !slices.Equal(got, want) {
		t.Errorf("upFiles = %v, want %v", got, want)
	}
}

// TestListQueries checks which query root fields the runner queries:
// lists of objects (with limit: 2 when the field takes it), selecting the
// scalar and enum fields that need no argument; a field with a required
// argument is counted as left out; a single object (_by_pk) is not a list.
func TestListQueries(t *testing.T) {
	const result = `{"__schema": {"queryType": {"name": "query_root"}, "types": [
	  {"kind": "OBJECT", "name": "query_root", "fields": [
	    {"name": "article", "args": [{"name": "limit", "type": {"kind": "SCALAR", "name": "Int"}}],
	     "type": {"kind": "NON_NULL", "ofType": {"kind": "LIST", "ofType": {"kind": "NON_NULL", "ofType": {"kind": "OBJECT", "name": "article"}}}}},
	    {"name": "article_by_pk", "args": [{"name": "id", "type": {"kind": "NON_NULL", "ofType": {"kind": "SCALAR", "name": "Int"}}}],
	     "type": {"kind": "OBJECT", "name": "article"}},
	    {"name": "search", "args": [{"name": "args", "type": {"kind": "NON_NULL", "ofType": {"kind": "INPUT_OBJECT", "name": "search_args"}}}],
	     "type": {"kind": "NON_NULL", "ofType": {"kind": "LIST", "ofType": {"kind": "OBJECT", "name": "article"}}}},
	    {"name": "tags", "args": [],
	     "type": {"kind": "LIST", "ofType": {"kind": "OBJECT", "name": "tag"}}}
	  ]},
	  {"kind": "OBJECT", "name": "article", "fields": [
	    {"name": "id", "args": [], "type": {"kind": "NON_NULL", "ofType": {"kind": "SCALAR", "name": "Int"}}},
	    {"name": "status", "args": [], "type": {"kind": "ENUM", "name": "status_enum"}},
	    {"name": "meta", "args": [{"name": "path", "type": {"kind": "SCALAR", "name": "String"}}], "type": {"kind": "SCALAR", "name": "jsonb"}},
	    {"name": "score", "args": [{"name": "args", "type": {"kind": "NON_NULL", "ofType": {"kind": "INPUT_OBJECT", "name": "score_args"}}}], "type": {"kind": "SCALAR", "name": "Int"}},
	    {"name": "author", "args": [], "type": {"kind": "OBJECT", "name": "author"}}
	  ]},
	  {"kind": "OBJECT", "name": "tag", "fields": [
	    {"name": "author", "args": [], "type": {"kind": "OBJECT", "name": "author"}}
	  ]}
	]}}`
	var s introSchema
	if err := json.Unmarshal([]byte(result), &s); err != nil {
		t.Fatal(err)
	}
	got, skipped := listQueries(&s)
	want := map[string]string{
		"article": "query { article(limit: 2) { id status meta } }",
		"tags":    "query { tags { __typename } }",
	}
	if len(got) != len(want) || skipped != 1 {
		t.Errorf("listQueries = %v, %d left out; want %v, 1 left out", got, skipped, want)
	}
	for f, q := range want {
		if got[f] != q {
			t.Errorf("query of %s = %q, want %q", f, got[f], q)
		}
	}
}
