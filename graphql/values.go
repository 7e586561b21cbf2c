package graphql

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/vektah/gqlparser/v2/ast"
)

// object is an input object with its fields in the order they were
// written, which order_by needs.
type object []objectField

type objectField struct {
	name  string
	value any
}

// get returns the value of field name.
func (o object) get(name string) (any, bool) {
	for _, f := range o {
		if f.name == name {
			return f.value, true
		}
	}
	return nil, false
}

// MarshalJSON keeps the field order, for jsonb comparison values.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.name)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// inputValue turns an argument into Go values: nil, bool, int64, float64,
// string, json.Number (numbers of custom scalars given in variables),
// []any and object. A variable's value is taken from vars (already
// coerced by gqlparser); its objects are ordered by the schema's field
// order, since JSON decoding has lost the order they were sent in.
func inputValue(v *ast.Value, vars map[string]any, schema *ast.Schema) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		val, ok := vars[v.Raw]
		if !ok && v.VariableDefinition != nil && v.VariableDefinition.DefaultValue != nil {
			return inputValue(v.VariableDefinition.DefaultValue, vars, schema)
		}
		return fromGo(val, v.ExpectedType, schema)
	case ast.ListValue:
		out := make([]any, 0, len(v.Children))
		for _, c := range v.Children {
			out = append(out, inputValue(c.Value, vars, schema))
		}
		return out
	case ast.ObjectValue:
		out := make(object, 0, len(v.Children))
		for _, c := range v.Children {
			if c.Value.Kind == ast.Variable {
				if _, ok := vars[c.Value.Raw]; !ok && (c.Value.VariableDefinition == nil || c.Value.VariableDefinition.DefaultValue == nil) {
					continue // an unset variable leaves the field out
				}
			}
			out = append(out, objectField{c.Name, inputValue(c.Value, vars, schema)})
		}
		return out
	}
	val, err := v.Value(vars)
	if err != nil {
		return v.Raw
	}
	return val
}

// fromGo orders the objects of a decoded variable value by typ's fields.
func fromGo(val any, typ *ast.Type, schema *ast.Schema) any {
	switch x := val.(type) {
	case []any:
		var elem *ast.Type
		if typ != nil {
			elem = typ.Elem
		}
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = fromGo(it, elem, schema)
		}
		return out
	case map[string]any:
		var def *ast.Definition
		if typ != nil && schema != nil {
			def = schema.Types[typ.Name()]
		}
		if def == nil || def.Kind != ast.InputObject {
			// A jsonb value: keep it as JSON, keys sorted.
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make(object, 0, len(x))
			for _, k := range keys {
				out = append(out, objectField{k, fromGo(x[k], nil, nil)})
			}
			return out
		}
		out := make(object, 0, len(x))
		for _, f := range def.Fields {
			if v, ok := x[f.Name]; ok {
				out = append(out, objectField{f.Name, fromGo(v, f.Type, schema)})
			}
		}
		return out
	}
	return val
}
