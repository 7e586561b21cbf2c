package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"gopkg.in/yaml.v3"
)

// value is a JSON value that keeps the order of object keys, so that a
// response can be compared the way Hasura's harness does: the keys of a
// selection set in order, every other object as a set of keys, lists in
// order.
type value struct {
	kind   byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys   []string
	fields map[string]*value
	items  []*value
	str    string // string, or number text
	b      bool
}

// fromYAML converts a YAML node (an expected response) to a value.
func fromYAML(n *yaml.Node) (*value, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &value{kind: 'z'}, nil
		}
		return fromYAML(n.Content[0])
	case yaml.AliasNode:
		return fromYAML(n.Alias)
	case yaml.MappingNode:
		v := &value{kind: 'o', fields: map[string]*value{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			item, err := fromYAML(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if _, dup := v.fields[k]; !dup {
				v.keys = append(v.keys, k)
			}
			v.fields[k] = item
		}
		return v, nil
	case yaml.SequenceNode:
		v := &value{kind: 'a', items: []*value{}}
		for _, c := range n.Content {
			item, err := fromYAML(c)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, item)
		}
		return v, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return &value{kind: 'z'}, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return &value{kind: 'b', b: b}, nil
		case "!!int", "!!float":
			return &value{kind: 'n', str: n.Value}, nil
		default:
			return &value{kind: 's', str: n.Value}, nil
		}
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// fromJSON parses a response body, keeping key order.
func fromJSON(data []byte) (*value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (*value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			v := &value{kind: 'o', fields: map[string]*value{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				item, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := v.fields[k]; !dup {
					v.keys = append(v.keys, k)
				}
				v.fields[k] = item
			}
			_, err := dec.Token()
			return v, err
		}
		v := &value{kind: 'a', items: []*value{}}
		for dec.More() {
			item, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, item)
		}
		_, err := dec.Token()
		return v, err
	case string:
		return &value{kind: 's', str: t}, nil
	case json.Number:
		return &value{kind: 'n', str: t.String()}, nil
	case bool:
		return &value{kind: 'b', b: t}, nil
	case nil:
		return &value{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// selection is the shape of a GraphQL operation's selection sets, by
// response key. An object in the response whose selection is known is a
// selection set, whose key order counts; any other object (a json column's
// value, an error) is compared as a set of keys, as in Hasura's harness
// (collapse_order_not_selset).
type selection struct {
	fields map[string]*selection // nil for a leaf field
}

// selectionOf parses a request body's query; nil when there is none or it
// does not parse (then every object under data is taken as ordered).
func selectionOf(body []byte) *selection {
	var req struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(body, &req) != nil || req.Query == "" {
		return nil
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		return nil
	}
	root := &selection{fields: map[string]*selection{}}
	for _, op := range doc.Operations {
		addSelections(root, op.SelectionSet, doc, 0)
	}
	return root
}

func addSelections(into *selection, set ast.SelectionSet, doc *ast.QueryDocument, depth int) {
	if depth > 50 {
		return
	}
	for _, s := range set {
		switch x := s.(type) {
		case *ast.Field:
			key := x.Alias
			if key == "" {
				key = x.Name
			}
			if len(x.SelectionSet) == 0 {
				if _, ok := into.fields[key]; !ok {
					into.fields[key] = nil
				}
				continue
			}
			child := into.fields[key]
			if child == nil {
				child = &selection{fields: map[string]*selection{}}
				into.fields[key] = child
			}
			addSelections(child, x.SelectionSet, doc, depth+1)
		case *ast.InlineFragment:
			addSelections(into, x.SelectionSet, doc, depth+1)
		case *ast.FragmentSpread:
			if f := doc.Fragments.ForName(x.Name); f != nil {
				addSelections(into, f.SelectionSet, doc, depth+1)
			}
		}
	}
}

// anySelection stands for "order counts everywhere below".
var anySelection = &selection{}

func (s *selection) child(key string) *selection {
	if s == anySelection {
		return anySelection
	}
	if s == nil {
		return nil
	}
	return s.fields[key]
}

// diff compares want with got and describes the first difference, or
// returns "". sel is the selection set the values answer, when they answer
// one: then object key order counts.
func diff(path string, want, got *value, sel *selection) string {
	if want.kind != got.kind {
		return fmt.Sprintf("%s: want %s, got %s", path, want.short(), got.short())
	}
	switch want.kind {
	case 'o':
		for _, k := range want.keys {
			if _, ok := got.fields[k]; !ok {
				return fmt.Sprintf("%s: key %q missing (got keys %s)", path, k, strings.Join(got.keys, ", "))
			}
		}
		for _, k := range got.keys {
			if _, ok := want.fields[k]; !ok {
				return fmt.Sprintf("%s: unexpected key %q: %s", path, k, got.fields[k].short())
			}
		}
		if sel != nil && strings.Join(want.keys, "\x00") != strings.Join(got.keys, "\x00") {
			return fmt.Sprintf("%s: selection set order: want %s, got %s", path, strings.Join(want.keys, ", "), strings.Join(got.keys, ", "))
		}
		for _, k := range want.keys {
			if d := diff(path+"."+k, want.fields[k], got.fields[k], sel.child(k)); d != "" {
				return d
			}
		}
	case 'a':
		for i := 0; i < len(want.items) && i < len(got.items); i++ {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), want.items[i], got.items[i], sel); d != "" {
				return d
			}
		}
		if len(want.items) != len(got.items) {
			return fmt.Sprintf("%s: want %d items, got %d: %s", path, len(want.items), len(got.items), got.short())
		}
	case 'n':
		a, ok1 := new(big.Float).SetString(want.str)
		b, ok2 := new(big.Float).SetString(got.str)
		if !ok1 || !ok2 || a.Cmp(b) != 0 {
			return fmt.Sprintf("%s: want %s, got %s", path, want.str, got.str)
		}
	case 's':
		if want.str != got.str {
			return fmt.Sprintf("%s: want %q, got %q", path, want.str, got.str)
		}
	case 'b':
		if want.b != got.b {
			return fmt.Sprintf("%s: want %v, got %v", path, want.b, got.b)
		}
	}
	return ""
}

// compareResponse compares a whole response to the request body: key
// order counts only in the selection sets under "data" of GraphQL
// endpoints.
func compareResponse(url string, request []byte, want, got *value) string {
	graphql := strings.HasSuffix(url, "/graphql")
	if !graphql || want.kind != 'o' || got.kind != 'o' {
		return diff("$", want, got, nil)
	}
	sel := selectionOf(request)
	if sel == nil {
		sel = anySelection
	}
	keys := func(v *value) string {
		k := append([]string{}, v.keys...)
		sort.Strings(k)
		return strings.Join(k, ", ")
	}
	if keys(want) != keys(got) {
		return fmt.Sprintf("$: want keys %s, got %s", keys(want), got.short())
	}
	for _, k := range want.keys {
		var under *selection
		if k == "data" {
			under = sel
		}
		if d := diff("$."+k, want.fields[k], got.fields[k], under); d != "" {
			return d
		}
	}
	return ""
}

// short renders v as compact JSON, cut to a readable length.
func (v *value) short() string {
	s := v.json()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (v *value) json() string {
	switch v.kind {
	case 'o':
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			kb, _ := json.Marshal(k)
			parts[i] = string(kb) + ":" + v.fields[k].json()
		}
		return "{" + strings.Join(parts, ",") + "}"
	case 'a':
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = it.json()
		}
		return "[" + strings.Join(parts, ",") + "]"
	case 's':
		b, _ := json.Marshal(v.str)
		return string(b)
	case 'n':
		return v.str
	case 'b':
		if v.b {
			return "true"
		}
		return "false"
	}
	return "null"
}

func TestCompareResponse(t *testing.T) {
	tests := []struct {
		name, url, want, got string
		same                 bool
	}{
		{"equal", "/v1/graphql", "data: {a: [{x: 1, y: two}]}", `{"data":{"a":[{"x":1,"y":"two"}]}}`, true},
		{"selection set order counts", "/v1/graphql", "data: {a: {x: 1, y: 2}}", `{"data":{"a":{"y":2,"x":1}}}`, false},
		{"json value order does not", "/v1/graphql", "data: {a: {x: {p: 1, q: 2}, y: 2}}", `{"data":{"a":{"x":{"q":2,"p":1},"y":2}}}`, true},
		{"aliases and fragments", "/v1/graphql", "data: {a: {x: 1, z: 2}}", `{"data":{"a":{"z":2,"x":1}}}`, false},
		{"error object order does not", "/v1/graphql", "errors: [{message: m, extensions: {path: $, code: c}}]",
			`{"errors":[{"extensions":{"code":"c","path":"$"},"message":"m"}]}`, true},
		{"metadata endpoints ignore order", "/v1/query", "{message: success, x: 1}", `{"x":1,"message":"success"}`, true},
		{"list order counts", "/v1/graphql", "data: {a: [1, 2]}", `{"data":{"a":[2,1]}}`, false},
		{"number forms", "/v1/graphql", "data: {a: 1.0}", `{"data":{"a":1}}`, true},
		{"string is not number", "/v1/graphql", "data: {a: '1'}", `{"data":{"a":1}}`, false},
		{"null", "/v1/graphql", "data: {a: null}", `{"data":{"a":null}}`, true},
		{"missing key", "/v1/graphql", "data: {a: 1, b: 2}", `{"data":{"a":1}}`, false},
		{"extra item", "/v1/graphql", "data: {a: [1]}", `{"data":{"a":[1,2]}}`, false},
		{"bool", "/v1/metadata", "{is_consistent: False}", `{"is_consistent":false}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tt.want), &n); err != nil {
				t.Fatal(err)
			}
			want, err := fromYAML(&n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fromJSON([]byte(tt.got))
			if err != nil {
				t.Fatal(err)
			}
			query := `{"query":"{ a { x ...F y z: w } } fragment F on T { x }"}`
			d := compareResponse(tt.url, []byte(query), want, got)
			if (d == "") != tt.same {
				t.Errorf("compareResponse(%s, %s) = %q, want same=%v", tt.want, tt.got, d, tt.same)
			}
		})
	}
}
