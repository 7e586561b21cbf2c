package policies

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseBoolExp reads one boolean expression from YAML or JSON text, for
// tools and tests that work on a single rule.
func ParseBoolExp(name string, data []byte) (BoolExp, error) {
	l := &loader{base: "."}
	n := l.parseBytes(name, data)
	if n == nil {
		return nil, l.errs.Err()
	}
	e := l.boolExp(n, name)
	return e, l.errs.Err()
}

// IsSessionVariable reports whether s names a session variable: Hasura treats
// any string that starts with "x-hasura-", in any case, as one.
func IsSessionVariable(s string) bool {
	return len(s) >= 9 && strings.EqualFold(s[:9], "x-hasura-")
}

func (l *loader) boolExp(n *yaml.Node, file string) BoolExp {
	pos := l.pos(file, n)
	if n.Kind != yaml.MappingNode {
		l.errorf(pos, "a boolean expression must be an object, got %s", kindName(n))
		return &And{Pos: pos}
	}
	var items []BoolExp
	for _, e := range l.mapping(n, file, "boolean expression") {
		kpos := l.pos(file, e.keyNode)
		switch e.key {
		case "_and", "$and":
			items = append(items, &And{Pos: kpos, Items: l.boolExpList(e.val, file, e.key)})
		case "_or", "$or":
			items = append(items, &Or{Pos: kpos, Items: l.boolExpList(e.val, file, e.key)})
		case "_not", "$not":
			items = append(items, &Not{Pos: kpos, Item: l.boolExp(e.val, file)})
		case "_exists", "$exists":
			items = append(items, l.exists(e.val, file, kpos))
		default:
			items = append(items, l.field(e.key, kpos, e.val, file))
		}
	}
	if len(items) == 1 {
		return items[0]
	}
	return &And{Pos: pos, Items: items}
}

func (l *loader) boolExpList(n *yaml.Node, file, op string) []BoolExp {
	if n.Kind == yaml.MappingNode {
		// Hasura accepts a single object where a list is expected.
		return []BoolExp{l.boolExp(n, file)}
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(l.pos(file, n), "%s takes a list of boolean expressions, got %s", op, kindName(n))
		return nil
	}
	out := make([]BoolExp, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, l.boolExp(c, file))
	}
	return out
}

func (l *loader) exists(n *yaml.Node, file string, pos Pos) BoolExp {
	e := &Exists{Pos: pos}
	var hasTable, hasWhere bool
	for _, f := range l.mapping(n, file, "_exists", "_table", "_where") {
		switch f.key {
		case "_table":
			e.Table, hasTable = l.qualifiedTable(f.val, file), true
		case "_where":
			e.Where, hasWhere = l.boolExp(f.val, file), true
		}
	}
	if n.Kind == yaml.MappingNode && (!hasTable || !hasWhere) {
		l.errorf(pos, "_exists needs both `_table` and `_where`")
	}
	if e.Where == nil {
		e.Where = &And{Pos: pos}
	}
	return e
}

func (l *loader) field(name string, pos Pos, n *yaml.Node, file string) BoolExp {
	f := &Field{Pos: pos, Name: name}
	if n.Kind != yaml.MappingNode {
		// `{id: X-Hasura-User-Id}` is shorthand for `{id: {_eq: …}}`.
		f.Comparisons = []*Comparison{{Pos: l.pos(file, n), Op: "_eq", Value: l.value(n, file)}}
		return f
	}
	if len(n.Content) == 0 {
		return f
	}
	var ops, others []string
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if _, ok := NormalizeOperator(k); ok {
			ops = append(ops, k)
		} else {
			others = append(others, k)
		}
	}
	if len(ops) > 0 && len(others) > 0 {
		l.errorf(pos, "%q mixes comparison operators (%s) with other keys (%s): a column takes operators, a relationship takes a boolean expression",
			name, strings.Join(ops, ", "), strings.Join(others, ", "))
		return f
	}
	if len(others) > 0 {
		f.Nested = l.boolExp(n, file)
		return f
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		op, _ := NormalizeOperator(k.Value)
		f.Comparisons = append(f.Comparisons, l.comparison(op, l.pos(file, k), v, file))
	}
	return f
}

func (l *loader) comparison(op string, pos Pos, n *yaml.Node, file string) *Comparison {
	c := &Comparison{Pos: pos, Op: op}
	switch {
	case IsColumnOperator(op):
		c.Value = l.columnRef(n, file, op)
	case op == "_in" || op == "_nin" || op == "_has_keys_any" || op == "_has_keys_all":
		switch {
		case n.Kind == yaml.SequenceNode:
			list := &List{Pos: l.pos(file, n)}
			for _, item := range n.Content {
				list.Items = append(list.Items, l.value(item, file))
			}
			c.Value = list
		case n.Kind == yaml.ScalarNode && IsSessionVariable(n.Value):
			c.Value = &SessionVar{Pos: l.pos(file, n), Name: strings.ToLower(n.Value)}
		default:
			l.errorf(l.pos(file, n), "%s takes a list or an array session variable (like X-Hasura-Allowed-Ids holding \"{1,2}\"), got %s", op, kindName(n))
			c.Value = &List{Pos: l.pos(file, n)}
		}
	case IsDWithinOperator(op):
		c.Value = l.dWithin(n, file, op)
	case op == "_is_null":
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			l.errorf(l.pos(file, n), "_is_null takes true or false, got %s", kindName(n))
		}
		c.Value = &Literal{Pos: l.pos(file, n), V: b}
	default:
		c.Value = l.value(n, file)
	}
	return c
}

// dWithin reads the operand of _st_d_within: {distance, from,
// use_spheroid}, each a literal or a session variable.
func (l *loader) dWithin(n *yaml.Node, file, op string) Value {
	d := &DWithin{Pos: l.pos(file, n)}
	for _, e := range l.mapping(n, file, op, "distance", "from", "use_spheroid") {
		switch e.key {
		case "distance":
			d.Distance = l.value(e.val, file)
		case "from":
			d.From = l.value(e.val, file)
		case "use_spheroid":
			d.UseSpheroid = l.value(e.val, file)
		}
	}
	if n.Kind == yaml.MappingNode && (d.Distance == nil || d.From == nil) {
		l.errorf(d.Pos, "%s needs `distance` and `from` (a GeoJSON geometry)", op)
	}
	return d
}

// columnRef reads the operand of _ceq and friends: "col", ["col"] or
// ["$", "col"].
func (l *loader) columnRef(n *yaml.Node, file, op string) Value {
	pos := l.pos(file, n)
	ref := &ColumnRef{Pos: pos}
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		ref.Column = n.Value
	case n.Kind == yaml.SequenceNode && len(n.Content) == 1:
		ref.Column = n.Content[0].Value
	case n.Kind == yaml.SequenceNode && len(n.Content) == 2 && n.Content[0].Value == "$":
		ref.Root, ref.Column = true, n.Content[1].Value
	default:
		l.errorf(pos, "%s takes a column name, [\"column\"] or [\"$\", \"column\"], got %s", op, kindName(n))
	}
	return ref
}

// value reads a literal or a session variable.
func (l *loader) value(n *yaml.Node, file string) Value {
	pos := l.pos(file, n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && IsSessionVariable(n.Value) {
		return &SessionVar{Pos: pos, Name: strings.ToLower(n.Value)}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		l.errorf(pos, "cannot read value: %v", err)
	}
	return &Literal{Pos: pos, V: v}
}
