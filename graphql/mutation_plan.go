package graphql

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rowguard/rowguard/compiler"
)

// Output kinds of a <t>_mutation_response object.
const (
	outAffectedRows outKind = 100 + iota // affected_rows
	outReturning                         // returning { … }: fields are row fields
)

// mutation is one data-modifying statement: an insert, an update or a
// delete of one table, and the JSON it answers with.
type mutation struct {
	kind mutKind // mutInsert, mutUpdate or mutDelete (the _one, _by_pk and _many variants are folded in)
	t    *mutTable
	// errPath is where Hasura points errors of the statement.
	errPath string

	// insert
	columns  []*compiler.Column // the columns any object sets, in table order
	rows     [][]*cell          // per object, per column; nil means DEFAULT
	conflict *onConflict

	// update
	sets []setOp

	// update and delete
	where compiler.Expr // the request's where (nil: every row)
	pk    []pkValue

	// nested inserts: a step (mutInsertStep), or the final statement
	// (mutInsertFinal) with the settings of its top-level rows (keys) and
	// of every row (allKeys).
	step          *insertStep
	keys, allKeys []string

	// one answers with the row object (or null) instead of a
	// <t>_mutation_response.
	one    bool
	fields []*output // row fields when one, response fields otherwise
}

// cell is one value of an inserted row: text PostgreSQL parses as the
// column's type, or SQL NULL.
type cell struct {
	null bool
	text string
}

// onConflict is an upsert's ON CONFLICT clause.
type onConflict struct {
	constraint *constraint
	update     []*compiler.Column // empty: DO NOTHING
	where      compiler.Expr
}

// setOp assigns one column of an update.
type setOp struct {
	op     string // "_set", "_inc", "_append", "_prepend", "_delete_key", "_delete_elem", "_delete_at_path"
	column *compiler.Column
	value  cell
}

// newMutationPlan plans a mutation operation: each root field becomes one
// or more statements, run in order in one transaction.
func newMutationPlan(prog *compiler.Program, rs *roleSchema, op *ast.OperationDefinition, vars map[string]any) (*plan, *Error) {
	p := &planner{prog: prog, rs: rs, vars: vars, tables: map[*compiler.Table]bool{}}
	out := &plan{tables: p.tables, mutation: true, vars: map[string]bool{}, role: rs.readRole()}
	for _, c := range collectFields([]ast.SelectionSet{op.SelectionSet}, mutationRootName, vars) {
		path := "$.selectionSet." + c.key
		r := &rootPlan{key: c.key}
		if c.name == "__typename" {
			r.value = jsonString(mutationRootName)
			out.roots = append(out.roots, r)
			continue
		}
		f := rs.mutations[c.name]
		if f == nil {
			return nil, validationf(path, "field '%s' not found in type: '%s'", c.name, mutationRootName)
		}
		var err *Error
		switch f.kind {
		case mutInsert, mutInsertOne:
			r.muts, err = p.insert(f, c, path)
		case mutUpdate, mutUpdateByPK:
			var m *mutation
			m, err = p.update(f, c, c.field.Arguments, path)
			r.muts = []*mutation{m}
		case mutUpdateMany:
			r.many = true
			for i, item := range asList(p.arg(c.field, "updates")) {
				obj, _ := item.(object)
				m, err := p.updateFrom(f, c, obj, path+".args.updates["+strconv.Itoa(i)+"]")
				if err != nil {
					return nil, err
				}
				r.muts = append(r.muts, m)
			}
		case mutDelete, mutDeleteByPK:
			var m *mutation
			m, err = p.delete(f, c, path)
			r.muts = []*mutation{m}
		}
		if err != nil {
			return nil, err
		}
		for _, m := range r.muts {
			perms := []*compiler.Permission{m.t.upd}
			switch {
			case m.kind == mutInsertFinal:
				perms = nil // its steps read the permissions
			case m.kind == mutInsertStep && m.step.conflict != nil:
				perms = []*compiler.Permission{m.t.ins, m.t.upd}
			case m.kind == mutInsertStep:
				perms = []*compiler.Permission{m.t.ins}
			case m.kind == mutInsert && m.conflict != nil:
				perms = []*compiler.Permission{m.t.ins, m.t.upd}
			case m.kind == mutInsert:
				perms = []*compiler.Permission{m.t.ins}
			case m.kind == mutDelete:
				perms = []*compiler.Permission{m.t.del}
			}
			for _, perm := range perms {
				if perm == nil {
					continue
				}
				for _, e := range []compiler.Expr{perm.Filter, perm.Check} {
					for _, name := range sessionVars(e) {
						out.vars[name] = true
					}
				}
			}
		}
		out.roots = append(out.roots, r)
	}
	return out, nil
}

// output plans the selection of a mutation field: a row of t when one,
// else a <t>_mutation_response.
func (p *planner) mutationOutput(m *mutation, c *collected, path string) *Error {
	t := m.t
	if m.one {
		p.tables[t.info.Table] = true
		if t.view == nil {
			return validationf(path, "field '%s' not found in type: '%s'", c.name, mutationRootName)
		}
		fields, err := p.rowFields(t.view, c.sets, path)
		m.fields = fields
		return err
	}
	typ := t.name + "_mutation_response"
	for _, f := range collectFields(c.sets, typ, p.vars) {
		o := &output{key: f.key}
		switch f.name {
		case "__typename":
			o.kind, o.text = outTypename, typ
		case "affected_rows":
			o.kind = outAffectedRows
		case "returning":
			if t.view == nil {
				return validationf(path+".selectionSet.returning", "field 'returning' not found in type: '%s'", typ)
			}
			p.tables[t.info.Table] = true
			fields, err := p.rowFields(t.view, f.sets, path+".selectionSet.returning")
			if err != nil {
				return err
			}
			o.kind, o.fields = outReturning, fields
		default:
			return validationf(path+".selectionSet."+f.name, "field '%s' not found in type: '%s'", f.name, typ)
		}
		m.fields = append(m.fields, o)
	}
	return nil
}

// insert plans insert_<t> and insert_<t>_one: one statement, or the
// steps of a nested insert and the statement that answers.
func (p *planner) insert(f *mutationField, c *collected, path string) ([]*mutation, *Error) {
	t := f.t
	m := &mutation{kind: mutInsert, t: t, one: f.kind == mutInsertOne, errPath: path + ".args.objects"}
	var objs []any
	if m.one {
		m.errPath = path + ".args.object"
		objs = []any{p.arg(c.field, "object")}
	} else {
		objs = asList(p.arg(c.field, "objects"))
	}
	if oc := p.arg(c.field, "on_conflict"); oc != nil {
		conflict, err := p.onConflict(t, oc, path+".args.on_conflict")
		if err != nil {
			return nil, err
		}
		m.conflict = conflict
	}
	if hasNested(t, objs) {
		if err := p.mutationOutput(m, c, path); err != nil {
			return nil, err
		}
		return p.nestedInsertPlan(m, objs, m.conflict)
	}
	used := map[*compiler.Column]bool{}
	var given []map[*compiler.Column]cell
	for i, o := range objs {
		obj, _ := o.(object)
		at := m.errPath
		if !m.one {
			at += "[" + strconv.Itoa(i) + "]"
		}
		row := map[*compiler.Column]cell{}
		for _, fv := range obj {
			col := t.insertByName[fv.name]
			if col == nil {
				return nil, validationf(at+"."+fv.name, "field '%s' not found in type: '%s_insert_input'", fv.name, t.name)
			}
			row[col] = cellOf(fv.value, col)
			used[col] = true
		}
		given = append(given, row)
	}
	for _, col := range t.info.Table.Columns {
		if used[col] {
			m.columns = append(m.columns, col)
		}
	}
	for _, row := range given {
		cells := make([]*cell, len(m.columns))
		for i, col := range m.columns {
			if v, ok := row[col]; ok {
				cells[i] = &v
			}
		}
		m.rows = append(m.rows, cells)
	}
	return []*mutation{m}, p.mutationOutput(m, c, path)
}

func (p *planner) onConflict(t *mutTable, v any, at string) (*onConflict, *Error) {
	obj, _ := v.(object)
	oc := &onConflict{}
	name, _ := obj.get("constraint")
	for _, k := range t.constraints {
		if k.name == scalarText(name) {
			oc.constraint = k
		}
	}
	if oc.constraint == nil {
		return nil, validationf(at+".constraint", "unexpected value %q for enum: '%s_constraint'", scalarText(name), t.name)
	}
	cols, _ := obj.get("update_columns")
	for _, item := range asList(cols) {
		if item == nil {
			continue
		}
		if scalarText(item) == placeholderColumn && len(t.updateCols) == 0 {
			return nil, validationf(at, "erroneous column name")
		}
		col := t.updateByName[scalarText(item)]
		if col == nil {
			return nil, validationf(at+".update_columns", "unexpected value %q for enum: '%s_update_column'", scalarText(item), t.name)
		}
		oc.update = append(oc.update, col)
	}
	if w, ok := obj.get("where"); ok && w != nil && t.view != nil {
		e, err := p.where(w, t.view, at+".where")
		if err != nil {
			return nil, err
		}
		oc.where = e
	}
	return oc, nil
}

// update plans update_<t> and update_<t>_by_pk from the field's arguments.
func (p *planner) update(f *mutationField, c *collected, args ast.ArgumentList, path string) (*mutation, *Error) {
	obj := object{}
	for _, a := range args {
		obj = append(obj, objectField{a.Name, inputValue(a.Value, p.vars, p.rs.schema)})
	}
	return p.updateFrom(f, c, obj, path)
}

// updateOrder is the order in which update operators are applied to a
// column's SQL (each column may take one).
var updateOperators = []string{"_set", "_inc", "_append", "_prepend", "_delete_key", "_delete_elem", "_delete_at_path"}

// updateFrom plans one update whose where (or pk_columns) and operators
// are the fields of args: the field's arguments, or one of update_many's
// <t>_updates objects.
func (p *planner) updateFrom(f *mutationField, c *collected, args object, path string) (*mutation, *Error) {
	t := f.t
	m := &mutation{kind: mutUpdate, t: t, one: f.kind == mutUpdateByPK, errPath: "$"}
	p.tables[t.info.Table] = true
	seen := map[*compiler.Column]string{}
	for _, opName := range updateOperators {
		v, ok := args.get(opName)
		if !ok || v == nil {
			continue
		}
		obj, _ := v.(object)
		for _, fv := range obj {
			col := t.updateByName[fv.name]
			if col == nil {
				return nil, validationf(path+".args."+opName+"."+fv.name, "field '%s' not found in type: '%s%s_input'", fv.name, t.name, opName)
			}
			if prev, dup := seen[col]; dup {
				return nil, validationf(path+".args", "column found in multiple operators; %q in %s and %s", fv.name, prev, opName)
			}
			seen[col] = opName
			val := cellOf(fv.value, col)
			switch opName {
			case "_delete_key", "_delete_elem":
				val = cellOf(fv.value, nil)
			case "_delete_at_path":
				val = cell{text: arrayLiteral(asList(fv.value))}
			}
			m.sets = append(m.sets, setOp{op: opName, column: col, value: val})
		}
	}
	if f.kind == mutUpdateByPK {
		pk, _ := args.get("pk_columns")
		obj, _ := pk.(object)
		for _, col := range t.view.pk {
			v, ok := obj.get(t.field(col))
			if !ok || v == nil {
				return nil, validationf(path+".args.pk_columns", "missing required field '%s'", t.field(col))
			}
			m.pk = append(m.pk, pkValue{column: col, text: scalarText(v)})
		}
	} else if w, ok := args.get("where"); ok && w != nil {
		e, err := p.where(w, t.view, path+".args.where")
		if err != nil {
			return nil, err
		}
		m.where = e
	}
	return m, p.mutationOutput(m, c, path)
}

func (p *planner) delete(f *mutationField, c *collected, path string) (*mutation, *Error) {
	t := f.t
	m := &mutation{kind: mutDelete, t: t, one: f.kind == mutDeleteByPK, errPath: "$"}
	p.tables[t.info.Table] = true
	if m.one {
		for _, col := range t.view.pk {
			name := t.field(col)
			v := p.arg(c.field, name)
			if v == nil {
				return nil, validationf(path+".args."+name, "missing required field '%s'", name)
			}
			m.pk = append(m.pk, pkValue{column: col, text: scalarText(v)})
		}
	} else if w := p.arg(c.field, "where"); w != nil {
		e, err := p.where(w, t.view, path+".args.where")
		if err != nil {
			return nil, err
		}
		m.where = e
	}
	return m, p.mutationOutput(m, c, path)
}

// cellOf renders a request value as the text PostgreSQL parses as col's
// type: JSON for json and jsonb columns, an array literal for a list given
// to an array column, the scalar's text otherwise. col is nil for values
// that are not a column's (jsonb operators' keys and indexes).
func cellOf(v any, col *compiler.Column) cell {
	if v == nil {
		return cell{null: true}
	}
	if col != nil && (col.Type == "jsonb" || col.Type == "json") {
		return cell{text: string(marshal(v))}
	}
	if l, ok := v.([]any); ok {
		return cell{text: arrayLiteral(l)}
	}
	if o, ok := v.(object); ok {
		b, _ := json.Marshal(o)
		return cell{text: string(b)}
	}
	return cell{text: scalarText(v)}
}

// arrayLiteral renders a list as a PostgreSQL array literal, every element
// quoted.
func arrayLiteral(items []any) string {
	parts := make([]string, len(items))
	for i, it := range items {
		if it == nil {
			parts[i] = "NULL"
			continue
		}
		var s string
		if l, ok := it.([]any); ok {
			parts[i] = arrayLiteral(l)
			continue
		}
		s = scalarText(it)
		s = strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`)
		parts[i] = `"` + s + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}
