package policies

import "gopkg.in/yaml.v3"

// computedFields reads a table's `computed_fields`.
func (l *loader) computedFields(n *yaml.Node, file string) []*ComputedField {
	items, file := l.list(n, file, "computed_fields")
	var out []*ComputedField
	seen := map[string]bool{}
	for _, item := range items {
		cf := &ComputedField{Pos: l.pos(file, item)}
		var def *yaml.Node
		for _, e := range l.mapping(item, file, "computed field", "name", "definition", "comment") {
			switch e.key {
			case "name":
				cf.Name = l.str(e.val, file, "computed field name")
			case "definition":
				def = e.val
			case "comment":
				cf.Comment = l.str(e.val, file, "comment")
			}
		}
		if cf.Name == "" {
			l.errorf(cf.Pos, "computed field has no `name`")
			continue
		}
		if seen[cf.Name] {
			l.errorf(cf.Pos, "computed field %q is defined twice on this table", cf.Name)
			continue
		}
		seen[cf.Name] = true
		if def == nil {
			l.errorf(cf.Pos, "computed field %q has no `definition`: give definition.function", cf.Name)
			continue
		}
		hasFunction := false
		for _, e := range l.mapping(def, file, "computed field definition", "function", "table_argument", "session_argument") {
			switch e.key {
			case "function":
				cf.Function = l.qualifiedTable(e.val, file)
				hasFunction = true
			case "table_argument":
				cf.TableArgument = l.str(e.val, file, "table_argument")
			case "session_argument":
				cf.SessionArgument = l.str(e.val, file, "session_argument")
			}
		}
		if !hasFunction {
			l.errorf(l.pos(file, def), "computed field %q: definition has no `function`", cf.Name)
			continue
		}
		out = append(out, cf)
	}
	return out
}

// functions reads a source's tracked `functions`: entries
// `{function, configuration}` or, in version 2 metadata, bare names.
func (l *loader) functions(md *Metadata, n *yaml.Node, file string) {
	items, file := l.list(n, file, "functions")
	for _, item := range items {
		item, ifile := l.include(item, file)
		if item == nil {
			continue
		}
		f := &Function{Pos: l.pos(ifile, item)}
		if item.Kind == yaml.ScalarNode {
			f.Function = l.qualifiedTable(item, ifile)
			md.Functions = append(md.Functions, f)
			continue
		}
		hasFunction := false
		for _, e := range l.mapping(item, ifile, "function entry", "function", "configuration", "permissions", "comment") {
			switch e.key {
			case "function":
				f.Function = l.qualifiedTable(e.val, ifile)
				hasFunction = true
			case "configuration":
				l.functionConfiguration(f, e.val, ifile)
			}
		}
		if !hasFunction {
			l.errorf(f.Pos, "function entry has no `function:` name")
			continue
		}
		md.Functions = append(md.Functions, f)
	}
}

func (l *loader) functionConfiguration(f *Function, n *yaml.Node, file string) {
	for _, e := range l.mapping(n, file, "function configuration", "session_argument", "exposed_as", "custom_name", "custom_root_fields") {
		switch e.key {
		case "session_argument":
			f.SessionArgument = l.str(e.val, file, "session_argument")
		case "exposed_as":
			f.ExposedAs = l.str(e.val, file, "exposed_as")
			if f.ExposedAs != "query" && f.ExposedAs != "mutation" {
				l.errorf(l.pos(file, e.val), "exposed_as must be query or mutation, got %q", f.ExposedAs)
			}
		case "custom_name":
			if cn := l.graphqlName(e.val, file, "custom_name"); cn != nil {
				f.CustomName = cn.Name
			}
		case "custom_root_fields":
			f.CustomRootFields = map[string]string{}
			for _, r := range l.mapping(e.val, file, "custom_root_fields", "function", "function_aggregate") {
				if isNull(r.val) {
					continue
				}
				// An entry is a name or, as tables' entries, {name, comment}.
				if cn := l.rootFieldName(r.val, file, r.key); cn != nil {
					f.CustomRootFields[r.key] = cn.Name
				}
			}
		}
	}
}
