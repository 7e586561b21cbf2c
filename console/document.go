package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// Document is metadata as the console edits it: Hasura's metadata export
// (version 3, one source), plus where each table came from, so a change
// can be written back to the file that holds it.
type Document struct {
	// Export is the metadata as export_metadata returns it.
	Export json.RawMessage
	// Origins maps "schema.name" of each table to the file (relative to
	// the metadata root) that holds it.
	Origins map[string]string
	// Root is the file the whole document lives in when it is one file
	// (a single export); "" for a directory.
	Root string
	// InheritedRolesFile is where the directory keeps inherited roles.
	InheritedRolesFile string
}

// fileReader reads a metadata file by slash-separated path relative to
// the metadata root.
type fileReader func(name string) ([]byte, bool)

// ReadDocument reads the metadata held in files (what policies.Source
// stores, or a directory read into memory) into a Document. root is
// policies.Source.Root: "." for a directory, the file name of a single
// export. Hasura's `!include file` (tag or quoted string) is followed
// relative to the including file.
func ReadDocument(files map[string]string, root string) (*Document, error) {
	read := func(name string) ([]byte, bool) {
		s, ok := files[path.Clean(name)]
		return []byte(s), ok
	}
	r := &docReader{read: read, origins: map[string]string{}}
	if root != "." && root != "" {
		v, err := r.value(root)
		if err != nil {
			return nil, err
		}
		export, err := r.asExport(v, root)
		if err != nil {
			return nil, err
		}
		return r.done(export, root)
	}
	if _, ok := read("databases/databases.yaml"); ok {
		srcs, err := r.value("databases/databases.yaml")
		if err != nil {
			return nil, err
		}
		list, _ := srcs.([]any)
		if len(list) == 0 {
			return nil, fmt.Errorf("databases/databases.yaml: no source: add one, as `hasura metadata export` writes it")
		}
		export := map[string]any{"version": 3, "sources": list[:1]}
		if _, ok := read("inherited_roles.yaml"); ok {
			ir, err := r.value("inherited_roles.yaml")
			if err != nil {
				return nil, err
			}
			if ir != nil {
				export["inherited_roles"] = ir
			}
		}
		return r.done(export, "")
	}
	if _, ok := read("tables.yaml"); ok {
		tables, err := r.value("tables.yaml")
		if err != nil {
			return nil, err
		}
		src := map[string]any{"name": "default", "kind": "postgres", "tables": tables}
		if _, ok := read("functions.yaml"); ok {
			fns, err := r.value("functions.yaml")
			if err != nil {
				return nil, err
			}
			src["functions"] = fns
		}
		return r.done(map[string]any{"version": 3, "sources": []any{src}}, "")
	}
	return nil, fmt.Errorf("no metadata: the directory has neither databases/databases.yaml nor tables.yaml (give the metadata/ directory of `hasura metadata export`)")
}

type docReader struct {
	read    fileReader
	origins map[string]string
	// file being decoded, for the tables it holds.
	stack []string
}

func (r *docReader) done(export any, root string) (*Document, error) {
	data, err := json.Marshal(export)
	if err != nil {
		return nil, err
	}
	d := &Document{Export: data, Origins: r.origins, Root: root}
	if root == "" {
		d.InheritedRolesFile = "inherited_roles.yaml"
	}
	return d, nil
}

// asExport turns a single-file document into version 3: an export
// (version 3 with sources, or version 2 with tables) or a bare list of
// tables, as the loader accepts each.
func (r *docReader) asExport(v any, file string) (any, error) {
	if list, ok := v.([]any); ok {
		return map[string]any{"version": 3, "sources": []any{map[string]any{"name": "default", "kind": "postgres", "tables": list}}}, nil
	}
	m, ok := v.(orderedMap)
	if !ok {
		return nil, fmt.Errorf("%s: not a metadata export (an object with sources or tables, or a list of tables)", file)
	}
	if srcs, ok := m.get("sources").([]any); ok {
		out := orderedMap{}
		for _, e := range m {
			if e.k == "sources" && len(srcs) > 1 {
				e.v = srcs[:1]
			}
			out = append(out, e)
		}
		return out, nil
	}
	src := orderedMap{{"name", "default"}, {"kind", "postgres"}, {"tables", m.get("tables")}}
	if f := m.get("functions"); f != nil {
		src = append(src, kv{"functions", f})
	}
	out := orderedMap{{"version", 3}, {"sources", []any{src}}}
	if ir := m.get("inherited_roles"); ir != nil {
		out = append(out, kv{"inherited_roles", ir})
	}
	return out, nil
}

// value decodes a file, following includes.
func (r *docReader) value(name string) (any, error) {
	for _, f := range r.stack {
		if f == name {
			return nil, fmt.Errorf("%s is included a second time (an !include cycle?)", name)
		}
	}
	data, ok := r.read(name)
	if !ok {
		return nil, fmt.Errorf("%s: no such metadata file", name)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if n.Kind == 0 {
		return nil, nil
	}
	r.stack = append(r.stack, name)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()
	return r.node(n.Content[0], name)
}

func (r *docReader) node(n *yaml.Node, file string) (any, error) {
	target, isInclude := "", false
	switch {
	case n.Tag == "!include":
		target, isInclude = strings.TrimSpace(n.Value), true
	case n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, "!include "):
		target, isInclude = strings.TrimSpace(strings.TrimPrefix(n.Value, "!include ")), true
	}
	if isInclude {
		return r.value(path.Join(path.Dir(file), target))
	}
	switch n.Kind {
	case yaml.AliasNode:
		return r.node(n.Alias, file)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := r.node(c, file)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := orderedMap{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := r.node(n.Content[i+1], file)
			if err != nil {
				return nil, err
			}
			out = append(out, kv{n.Content[i].Value, v})
		}
		// A tracked table: the one mapping with `table` that is not a
		// relationship's foreign key (which has `column` beside it).
		if t := out.get("table"); t != nil && out.get("column") == nil && out.get("columns") == nil {
			r.origins[tableKey(t)] = file
		}
		return out, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %w", file, n.Line, n.Column, err)
		}
		return v, nil
	}
}

// kv and orderedMap keep a YAML mapping's key order through JSON, so a
// file written back reads as it did.
type kv struct {
	k string
	v any
}

type orderedMap []kv

func (m orderedMap) get(k string) any {
	for _, e := range m {
		if e.k == k {
			return e.v
		}
	}
	return nil
}

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// tableKey renders a table name (`name` or {schema, name}) as
// "schema.name".
func tableKey(t any) string {
	switch v := t.(type) {
	case string:
		return "public." + v
	case orderedMap:
		s, _ := v.get("schema").(string)
		n, _ := v.get("name").(string)
		if s == "" {
			s = "public"
		}
		return s + "." + n
	case map[string]any:
		s, _ := v["schema"].(string)
		n, _ := v["name"].(string)
		if s == "" {
			s = "public"
		}
		return s + "." + n
	}
	return ""
}

// jsonToYAML renders JSON as YAML, keys in the order the JSON has them.
func jsonToYAML(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := jsonNode(dec)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			n := &yaml.Node{Kind: yaml.SequenceNode}
			for dec.More() {
				c, err := jsonNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, c)
			}
			_, err := dec.Token()
			return n, err
		}
		n := &yaml.Node{Kind: yaml.MappingNode}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k.(string)}, v)
		}
		_, err := dec.Token()
		return n, err
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}
		return n, nil
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: numberTag(t), Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func numberTag(n json.Number) string {
	if _, err := n.Int64(); err == nil {
		return "!!int"
	}
	return "!!float"
}

// exportShape is the part of an export the console reads in Go.
type exportShape struct {
	Sources []struct {
		Tables []json.RawMessage `json:"tables"`
	} `json:"sources"`
	InheritedRoles json.RawMessage `json:"inherited_roles"`
}

// tablesOf returns the tables of an export by "schema.name", in order.
func tablesOf(export []byte) ([]string, map[string]json.RawMessage, error) {
	var e exportShape
	if err := json.Unmarshal(export, &e); err != nil {
		return nil, nil, fmt.Errorf("metadata: %w", err)
	}
	if len(e.Sources) == 0 {
		return nil, map[string]json.RawMessage{}, nil
	}
	var names []string
	out := map[string]json.RawMessage{}
	for _, t := range e.Sources[0].Tables {
		var v struct {
			Table json.RawMessage `json:"table"`
		}
		if err := json.Unmarshal(t, &v); err != nil {
			return nil, nil, fmt.Errorf("metadata: table: %w", err)
		}
		var name any
		if err := json.Unmarshal(v.Table, &name); err != nil {
			return nil, nil, fmt.Errorf("metadata: table name: %w", err)
		}
		k := tableKey(name)
		names = append(names, k)
		out[k] = t
	}
	return names, out, nil
}
