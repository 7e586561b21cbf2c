package graphql

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// streamSuffix names a table's streaming subscription field.
const streamSuffix = "_stream"

// addStreamFields adds Hasura's streaming fields to subscription_root:
// for each table the role may list, <t>_stream(batch_size: Int!, cursor:
// [<t>_stream_cursor_input]!, where: <t>_bool_exp): [<t>!]!, with the
// cursor's input types and the cursor_ordering enum.
func addStreamFields(rs *roleSchema, sub *ast.Definition) {
	s := rs.schema
	var names []string
	for name, r := range rs.roots {
		if r.kind == rootList {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return
	}
	if s.Types["cursor_ordering"] == nil {
		s.Types["cursor_ordering"] = &ast.Definition{Kind: ast.Enum, Name: "cursor_ordering", Description: "ordering argument of a cursor",
			EnumValues: ast.EnumValueList{
				{Name: "ASC", Description: "ascending ordering of the cursor"},
				{Name: "DESC", Description: "descending ordering of the cursor"},
			}}
	}
	for _, name := range names {
		v := rs.roots[name].view
		obj := s.Types[v.name]
		if obj == nil {
			continue
		}
		value := &ast.Definition{Kind: ast.InputObject, Name: v.name + "_stream_cursor_value_input", Description: "Initial value of the column from where the streaming should start"}
		for _, f := range obj.Fields {
			vf := v.fields[f.Name]
			if vf == nil || vf.kind != fieldColumn || f.Type.NamedType == "" {
				continue
			}
			value.Fields = append(value.Fields, &ast.FieldDefinition{Name: f.Name, Type: ast.NamedType(f.Type.NamedType, nil)})
		}
		if len(value.Fields) == 0 {
			continue
		}
		input := &ast.Definition{Kind: ast.InputObject, Name: v.name + "_stream_cursor_input", Description: "Streaming cursor of the table \"" + v.name + "\"",
			Fields: ast.FieldList{
				{Name: "initial_value", Description: "Stream column input with initial value", Type: ast.NonNullNamedType(value.Name, nil)},
				{Name: "ordering", Description: "cursor ordering", Type: ast.NamedType("cursor_ordering", nil)},
			}}
		s.Types[value.Name], s.Types[input.Name] = value, input
		args := ast.ArgumentDefinitionList{
			{Name: "batch_size", Description: "maximum number of rows returned in a single batch", Type: ast.NonNullNamedType("Int", nil)},
			{Name: "cursor", Description: "cursor to stream the results returned by the query", Type: ast.NonNullListType(ast.NamedType(input.Name, nil), nil)},
		}
		if s.Types[v.name+"_bool_exp"] != nil {
			args = append(args, &ast.ArgumentDefinition{Name: "where", Description: "filter the rows returned", Type: ast.NamedType(v.name+"_bool_exp", nil)})
		}
		sub.Fields = append(sub.Fields, &ast.FieldDefinition{
			Name: name + streamSuffix, Description: "fetch data from the table in a streaming manner: \"" + v.name + "\"",
			Arguments: args, Type: ast.NonNullListType(ast.NonNullNamedType(v.name, nil), nil),
		})
	}
}

// streamRoot plans <t>_stream: the rows after the cursor (before it with
// DESC) that the where and the role's permission allow, ordered by the
// cursor column, at most batch_size of them; and the hidden selection of
// the same rows' cursor column, from which the next cursor is taken.
// Both nil when c is not a stream field.
func (p *planner) streamRoot(c *collected, path string) (sel, cursor *selection, err *Error) {
	base, ok := strings.CutSuffix(c.name, streamSuffix)
	root := p.rs.roots[base]
	if !ok || root == nil || root.kind != rootList {
		return nil, nil, nil
	}
	v := root.view
	n, ok := toInt(p.arg(c.field, "batch_size"))
	if !ok || n < 0 {
		return nil, nil, validationf(path+".args.batch_size", "expecting a non-negative integer for 'batch_size'")
	}
	cursors := asList(p.arg(c.field, "cursor"))
	if len(cursors) != 1 {
		return nil, nil, validationf(path+".args.cursor", "one and only one cursor should be given, %d given", len(cursors))
	}
	cur, _ := cursors[0].(object)
	iv, _ := cur.get("initial_value")
	ivo, _ := iv.(object)
	if len(ivo) != 1 {
		return nil, nil, validationf(path+".args.cursor[0].initial_value", "exactly one column is expected in the cursor's initial value, %d given", len(ivo))
	}
	col, val := ivo[0].name, ivo[0].value
	if p.cursor != nil {
		val = p.cursor
	}
	cmp, dir := "_gt", "asc"
	if o, _ := cur.get("ordering"); o == "DESC" {
		cmp, dir = "_lt", "desc"
	}
	f := v.fields[col]
	if f == nil || f.kind != fieldColumn {
		return nil, nil, validationf(path+".args.cursor[0].initial_value", "field '%s' not found in type: '%s_stream_cursor_value_input'", col, v.name)
	}
	sel, err = p.listSelection(selList, v, nil, c, path)
	if err != nil {
		return nil, nil, err
	}
	conds := []any{object{{name: col, value: object{{name: cmp, value: val}}}}}
	if w := p.arg(c.field, "where"); w != nil {
		conds = append(conds, w)
	}
	if sel.where, err = p.where(object{{name: "_and", value: conds}}, v, path+".args.where"); err != nil {
		return nil, nil, err
	}
	if sel.order, err = p.orderBy(object{{name: col, value: dir}}, v, nil, path+".args.cursor"); err != nil {
		return nil, nil, err
	}
	sel.limit, sel.withTies = &n, true
	hidden := *sel
	hidden.fields = []*output{{key: col, kind: outColumn, column: f.column}}
	return sel, &hidden, nil
}

// publishStream pushes a stream's batch when it has rows (an empty batch
// is never sent) and moves the cursor to the batch's last row, planning
// the next refetch from there; a failed refetch is pushed as its error
// once, and the cursor stays.
func (s *Server) publishStream(c *cohort, res cohortResult) {
	if res.failed {
		s.publish(c, res.body)
		return
	}
	var rows []map[string]json.RawMessage
	if len(res.cols) == 0 || json.Unmarshal(res.cols[len(res.cols)-1], &rows) != nil || len(rows) == 0 {
		s.live.mu.Lock()
		c.ran, c.more = true, false
		s.live.mu.Unlock()
		return
	}
	var next any
	for _, raw := range rows[len(rows)-1] {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		dec.Decode(&next)
	}
	op := *c.op
	p, err := newPlanAt(op.st.prog, op.rs, op.def, op.vars, next)
	if err != nil {
		s.publish(c, errorBody(err))
		return
	}
	op.p, op.stmts = p, render(p)
	s.live.mu.Lock()
	c.op, c.more = &op, true
	for sub := range c.subs {
		sub.sent = false // every batch is new
	}
	s.live.mu.Unlock()
	s.publish(c, res.body)
}
