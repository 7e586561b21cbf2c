package graphql

import (
	"bytes"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// introspector answers __schema and __type from a role's schema, in Go:
// the schema is the role's, so introspection shows exactly what the role
// may query.
type introspector struct {
	schema *ast.Schema
	vars   map[string]any
	b      bytes.Buffer
}

// introspect renders the value of a __schema or __type root field.
func introspect(s *ast.Schema, c *collected, vars map[string]any) []byte {
	in := &introspector{schema: s, vars: vars}
	switch c.name {
	case "__schema":
		in.schemaObject(c.sets)
	case "__type":
		name, _ := argValue(c.field, "name", vars).(string)
		if def := s.Types[name]; def != nil {
			in.typeObject(typeRef{def: def}, c.sets)
		} else {
			in.b.WriteString("null")
		}
	}
	return in.b.Bytes()
}

// argValue returns a field argument's value, or nil.
func argValue(f *ast.Field, name string, vars map[string]any) any {
	a := f.Arguments.ForName(name)
	if a == nil {
		return nil
	}
	v, err := a.Value.Value(vars)
	if err != nil {
		return nil
	}
	return v
}

func (in *introspector) str(s string) {
	in.b.Write(marshal(s))
}

func (in *introspector) nullableStr(s string) {
	if s == "" {
		in.b.WriteString("null")
		return
	}
	in.str(s)
}

func (in *introspector) boolean(v bool) {
	if v {
		in.b.WriteString("true")
	} else {
		in.b.WriteString("false")
	}
}

// object writes one object of GraphQL type typeName: each collected field
// as a key, its value written by value (or __typename).
func (in *introspector) object(typeName string, sets []ast.SelectionSet, value func(c *collected)) {
	in.b.WriteByte('{')
	for i, c := range collectFields(sets, typeName, in.vars) {
		if i > 0 {
			in.b.WriteByte(',')
		}
		in.str(c.key)
		in.b.WriteByte(':')
		if c.name == "__typename" {
			in.str(typeName)
			continue
		}
		value(c)
	}
	in.b.WriteByte('}')
}

func listOf[T any](in *introspector, items []T, each func(T)) {
	in.b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			in.b.WriteByte(',')
		}
		each(it)
	}
	in.b.WriteByte(']')
}

func (in *introspector) schemaObject(sets []ast.SelectionSet) {
	s := in.schema
	in.object("__Schema", sets, func(c *collected) {
		switch c.name {
		case "description":
			in.nullableStr(s.Description)
		case "types":
			names := make([]string, 0, len(s.Types))
			for n := range s.Types {
				names = append(names, n)
			}
			sort.Strings(names)
			listOf(in, names, func(n string) { in.typeObject(typeRef{def: s.Types[n]}, c.sets) })
		case "queryType":
			in.optionalType(s.Query, c.sets)
		case "mutationType":
			in.optionalType(s.Mutation, c.sets)
		case "subscriptionType":
			in.optionalType(s.Subscription, c.sets)
		case "directives":
			names := make([]string, 0, len(s.Directives))
			for n := range s.Directives {
				names = append(names, n)
			}
			sort.Strings(names)
			listOf(in, names, func(n string) { in.directive(s.Directives[n], c.sets) })
		default:
			in.b.WriteString("null")
		}
	})
}

func (in *introspector) optionalType(def *ast.Definition, sets []ast.SelectionSet) {
	if def == nil {
		in.b.WriteString("null")
		return
	}
	in.typeObject(typeRef{def: def}, sets)
}

// typeRef is a __Type: a named definition, or a list or non-null wrapper.
type typeRef struct {
	def *ast.Definition
	t   *ast.Type // set for wrappers
}

func (in *introspector) ref(t *ast.Type) typeRef {
	if t.NonNull || t.Elem != nil {
		return typeRef{t: t}
	}
	return typeRef{def: in.schema.Types[t.NamedType]}
}

func (in *introspector) typeObject(r typeRef, sets []ast.SelectionSet) {
	if r.def == nil && r.t == nil {
		in.b.WriteString("null")
		return
	}
	in.object("__Type", sets, func(c *collected) {
		includeDeprecated, _ := argValue(c.field, "includeDeprecated", in.vars).(bool)
		if r.t != nil {
			switch c.name {
			case "kind":
				if r.t.NonNull {
					in.str("NON_NULL")
				} else {
					in.str("LIST")
				}
			case "ofType":
				if r.t.NonNull {
					inner := *r.t
					inner.NonNull = false
					in.typeObject(in.ref(&inner), c.sets)
				} else {
					in.typeObject(in.ref(r.t.Elem), c.sets)
				}
			default:
				in.b.WriteString("null")
			}
			return
		}
		d := r.def
		switch c.name {
		case "kind":
			in.str(string(d.Kind))
		case "name":
			in.str(d.Name)
		case "description":
			in.nullableStr(d.Description)
		case "specifiedByURL", "specifiedByUrl":
			in.b.WriteString("null")
		case "isOneOf":
			if d.Kind == ast.InputObject {
				in.boolean(d.Directives.ForName("oneOf") != nil)
			} else {
				in.b.WriteString("null")
			}
		case "fields":
			if d.Kind != ast.Object && d.Kind != ast.Interface {
				in.b.WriteString("null")
				return
			}
			var fields []*ast.FieldDefinition
			for _, f := range d.Fields {
				if strings.HasPrefix(f.Name, "__") || (!includeDeprecated && deprecated(f.Directives)) {
					continue
				}
				fields = append(fields, f)
			}
			listOf(in, fields, func(f *ast.FieldDefinition) { in.field(f, c.sets) })
		case "interfaces":
			if d.Kind != ast.Object && d.Kind != ast.Interface {
				in.b.WriteString("null")
				return
			}
			listOf(in, d.Interfaces, func(n string) { in.typeObject(typeRef{def: in.schema.Types[n]}, c.sets) })
		case "possibleTypes":
			if !d.IsAbstractType() {
				in.b.WriteString("null")
				return
			}
			listOf(in, in.schema.PossibleTypes[d.Name], func(p *ast.Definition) { in.typeObject(typeRef{def: p}, c.sets) })
		case "enumValues":
			if d.Kind != ast.Enum {
				in.b.WriteString("null")
				return
			}
			var vals []*ast.EnumValueDefinition
			for _, v := range d.EnumValues {
				if includeDeprecated || !deprecated(v.Directives) {
					vals = append(vals, v)
				}
			}
			listOf(in, vals, func(v *ast.EnumValueDefinition) { in.enumValue(v, c.sets) })
		case "inputFields":
			if d.Kind != ast.InputObject {
				in.b.WriteString("null")
				return
			}
			listOf(in, d.Fields, func(f *ast.FieldDefinition) {
				in.inputValue(f.Name, f.Description, f.Type, f.DefaultValue, f.Directives, c.sets)
			})
		case "ofType":
			in.b.WriteString("null")
		default:
			in.b.WriteString("null")
		}
	})
}

func deprecated(dirs ast.DirectiveList) bool { return dirs.ForName("deprecated") != nil }

func deprecationReason(dirs ast.DirectiveList) string {
	d := dirs.ForName("deprecated")
	if d == nil {
		return ""
	}
	if a := d.Arguments.ForName("reason"); a != nil {
		return a.Value.Raw
	}
	return "No longer supported"
}

func (in *introspector) field(f *ast.FieldDefinition, sets []ast.SelectionSet) {
	in.object("__Field", sets, func(c *collected) {
		switch c.name {
		case "name":
			in.str(f.Name)
		case "description":
			in.nullableStr(f.Description)
		case "args":
			listOf(in, f.Arguments, func(a *ast.ArgumentDefinition) {
				in.inputValue(a.Name, a.Description, a.Type, a.DefaultValue, a.Directives, c.sets)
			})
		case "type":
			in.typeObject(in.ref(f.Type), c.sets)
		case "isDeprecated":
			in.boolean(deprecated(f.Directives))
		case "deprecationReason":
			in.nullableStr(deprecationReason(f.Directives))
		default:
			in.b.WriteString("null")
		}
	})
}

func (in *introspector) inputValue(name, desc string, t *ast.Type, def *ast.Value, dirs ast.DirectiveList, sets []ast.SelectionSet) {
	in.object("__InputValue", sets, func(c *collected) {
		switch c.name {
		case "name":
			in.str(name)
		case "description":
			in.nullableStr(desc)
		case "type":
			in.typeObject(in.ref(t), c.sets)
		case "defaultValue":
			if def == nil {
				in.b.WriteString("null")
			} else {
				in.str(def.String())
			}
		case "isDeprecated":
			in.boolean(deprecated(dirs))
		case "deprecationReason":
			in.nullableStr(deprecationReason(dirs))
		default:
			in.b.WriteString("null")
		}
	})
}

func (in *introspector) enumValue(v *ast.EnumValueDefinition, sets []ast.SelectionSet) {
	in.object("__EnumValue", sets, func(c *collected) {
		switch c.name {
		case "name":
			in.str(v.Name)
		case "description":
			in.nullableStr(v.Description)
		case "isDeprecated":
			in.boolean(deprecated(v.Directives))
		case "deprecationReason":
			in.nullableStr(deprecationReason(v.Directives))
		default:
			in.b.WriteString("null")
		}
	})
}

func (in *introspector) directive(d *ast.DirectiveDefinition, sets []ast.SelectionSet) {
	in.object("__Directive", sets, func(c *collected) {
		switch c.name {
		case "name":
			in.str(d.Name)
		case "description":
			in.nullableStr(d.Description)
		case "locations":
			listOf(in, d.Locations, func(l ast.DirectiveLocation) { in.str(string(l)) })
		case "args":
			listOf(in, d.Arguments, func(a *ast.ArgumentDefinition) {
				in.inputValue(a.Name, a.Description, a.Type, a.DefaultValue, a.Directives, c.sets)
			})
		case "isRepeatable":
			in.boolean(d.IsRepeatable)
		default:
			in.b.WriteString("null")
		}
	})
}
