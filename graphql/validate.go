package graphql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// parseOperation parses query and validates it against the role's schema,
// returning the operation to run. The checks users meet most (an unknown
// field or argument, a mutation where none exist) come first, with
// Hasura's messages and paths; gqlparser's validator does the rest. The
// request limits are checked first, on the parsed document.
func parseOperation(rs *roleSchema, query, opName string, lim limits) (*ast.QueryDocument, *ast.OperationDefinition, *Error) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: query})
	if err != nil {
		msg := "not a valid graphql query"
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Message != "" {
			msg = msg + ": " + ge.Message
		}
		return nil, nil, validationf("$.query", "%s", msg)
	}
	var op *ast.OperationDefinition
	switch {
	case opName != "":
		op = doc.Operations.ForName(opName)
		if op == nil {
			return nil, nil, validationf("$", "no such operation found in the document: %q", opName)
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	case len(doc.Operations) == 0:
		return nil, nil, validationf("$", "no operations found in the document")
	default:
		return nil, nil, validationf("$", "exactly one operation has to be present in the document when operationName is not specified")
	}
	if e := checkLimits(doc, op, lim); e != nil {
		return nil, nil, e
	}
	var root *ast.Definition
	switch op.Operation {
	case ast.Mutation:
		if rs.schema.Mutation == nil {
			return nil, nil, validationf("$", "no mutations exist")
		}
		root = rs.schema.Mutation
	case ast.Subscription:
		if rs.schema.Subscription == nil {
			return nil, nil, validationf("$", "no subscriptions exist")
		}
		root = rs.schema.Subscription
	default:
		root = rs.schema.Query
	}
	c := &checker{schema: rs.schema, doc: doc, inFragment: map[string]bool{}}
	if e := c.selectionSet(op.SelectionSet, root, "$"); e != nil {
		return nil, nil, e
	}
	if errs := validator.ValidateWithRules(rs.schema, doc, nil); len(errs) > 0 {
		return nil, nil, fromGQLError(errs[0])
	}
	return doc, op, nil
}

// fromGQLError turns a gqlparser error into Hasura's shape.
func fromGQLError(e *gqlerror.Error) *Error {
	return validationf(jsonPath("$", e.Path), "%s", e.Message)
}

// jsonPath renders a gqlparser path as Hasura's JSON path below root:
// root.name[index]….
func jsonPath(root string, path ast.Path) string {
	for _, p := range path {
		switch p := p.(type) {
		case ast.PathName:
			root += "." + string(p)
		case ast.PathIndex:
			root += fmt.Sprintf("[%d]", int(p))
		}
	}
	return root
}

// checker reports unknown fields and arguments as Hasura words them.
type checker struct {
	schema     *ast.Schema
	doc        *ast.QueryDocument
	inFragment map[string]bool
}

func (c *checker) selectionSet(set ast.SelectionSet, parent *ast.Definition, path string) *Error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if e := c.field(s, parent, path); e != nil {
				return e
			}
		case *ast.InlineFragment:
			def := parent
			if s.TypeCondition != "" {
				if def = c.schema.Types[s.TypeCondition]; def == nil {
					continue // gqlparser reports the unknown type
				}
			}
			if e := c.selectionSet(s.SelectionSet, def, path); e != nil {
				return e
			}
		case *ast.FragmentSpread:
			f := c.doc.Fragments.ForName(s.Name)
			if f == nil || c.inFragment[s.Name] {
				continue
			}
			def := c.schema.Types[f.TypeCondition]
			if def == nil {
				continue
			}
			c.inFragment[s.Name] = true
			e := c.selectionSet(f.SelectionSet, def, path)
			c.inFragment[s.Name] = false
			if e != nil {
				return e
			}
		}
	}
	return nil
}

func (c *checker) field(f *ast.Field, parent *ast.Definition, path string) *Error {
	if f.Name == "__typename" {
		return nil
	}
	fpath := path + ".selectionSet." + f.Name
	def := parent.Fields.ForName(f.Name)
	if def == nil || parent.Kind != ast.Object && parent.Kind != ast.Interface {
		return validationf(fpath, "field '%s' not found in type: '%s'", f.Name, parent.Name)
	}
	for _, a := range f.Arguments {
		ad := def.Arguments.ForName(a.Name)
		if ad == nil {
			return validationf(fpath, "'%s' has no argument named '%s'", f.Name, a.Name)
		}
		if e := c.value(a.Value, ad.Type, fpath+".args."+a.Name); e != nil {
			return e
		}
	}
	if len(f.SelectionSet) == 0 {
		return nil
	}
	sub := c.schema.Types[def.Type.Name()]
	if sub == nil || !sub.IsCompositeType() {
		return nil // gqlparser reports a selection on a scalar
	}
	return c.selectionSet(f.SelectionSet, sub, fpath)
}

// value reports a field of an input object literal that its type lacks,
// such as a column the role may not read in a where argument.
func (c *checker) value(v *ast.Value, t *ast.Type, path string) *Error {
	if v == nil || t == nil {
		return nil
	}
	switch v.Kind {
	case ast.ListValue:
		elem := t
		if t.Elem != nil {
			elem = t.Elem
		}
		for i, item := range v.Children {
			if e := c.value(item.Value, elem, fmt.Sprintf("%s[%d]", path, i)); e != nil {
				return e
			}
		}
	case ast.ObjectValue:
		if t.Elem != nil {
			t = t.Elem // a single object where a list is expected
		}
		def := c.schema.Types[t.Name()]
		if def == nil || def.Kind != ast.InputObject {
			return nil
		}
		for _, f := range v.Children {
			fd := def.Fields.ForName(f.Name)
			if fd == nil {
				return validationf(path+"."+f.Name, "field '%s' not found in type: '%s'", f.Name, def.Name)
			}
			if e := c.value(f.Value, fd.Type, path+"."+f.Name); e != nil {
				return e
			}
		}
	case ast.EnumValue, ast.StringValue:
		return c.enumValue(v, t, path)
	}
	return nil
}

// enumValue reports, as Hasura's parser words it, a literal where an enum
// is expected that is not one of its values, such as a row an enum table
// does not have, or a quoted string.
func (c *checker) enumValue(v *ast.Value, t *ast.Type, path string) *Error {
	def := c.schema.Types[t.Name()]
	if def == nil || def.Kind != ast.Enum {
		return nil
	}
	if v.Kind == ast.StringValue {
		return validationf(path, "expected an enum value for type '%s', but found a string", def.Name)
	}
	if def.EnumValues.ForName(v.Raw) != nil {
		return nil
	}
	names := make([]string, len(def.EnumValues))
	for i, ev := range def.EnumValues {
		names[i] = "'" + ev.Name + "'"
	}
	return validationf(path, "expected one of the values [%s] for type '%s', but found '%s'", strings.Join(names, ", "), def.Name, v.Raw)
}
