package graphql

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// collected is one response key of a selection set: every field selected
// under that key (through fragments too), merged as the GraphQL spec's
// CollectFields does. Validation has made sure they agree on name and
// arguments.
type collected struct {
	key   string
	name  string
	field *ast.Field         // the first occurrence
	sets  []ast.SelectionSet // the sub-selections of every occurrence
}

// collectFields collects the fields of the selection sets that apply to an
// object of type typeName, in the order they first appear, honouring
// @skip and @include. Every type of a rowguard schema is an object type,
// so a fragment applies exactly when its type condition names typeName.
func collectFields(sets []ast.SelectionSet, typeName string, vars map[string]any) []*collected {
	var out []*collected
	byKey := map[string]*collected{}
	visited := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if !included(s.Directives, vars) {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				c := byKey[key]
				if c == nil {
					c = &collected{key: key, name: s.Name, field: s}
					byKey[key] = c
					out = append(out, c)
				}
				if s.SelectionSet != nil {
					c.sets = append(c.sets, s.SelectionSet)
				}
			case *ast.InlineFragment:
				if !included(s.Directives, vars) || (s.TypeCondition != "" && s.TypeCondition != typeName) {
					continue
				}
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if !included(s.Directives, vars) || visited[s.Name] || s.Definition == nil {
					continue
				}
				visited[s.Name] = true
				if s.Definition.TypeCondition != typeName {
					continue
				}
				walk(s.Definition.SelectionSet)
			}
		}
	}
	for _, set := range sets {
		walk(set)
	}
	return out
}

// included evaluates @skip(if:) and @include(if:).
func included(dirs ast.DirectiveList, vars map[string]any) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, err := arg.Value.Value(vars)
		if err != nil {
			continue
		}
		b, _ := v.(bool)
		if d.Name == "skip" && b || d.Name == "include" && !b {
			return false
		}
	}
	return true
}
