package graphql

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// plan is a validated operation resolved against the role's schema and
// permissions: what each response key holds, ready to render as one SQL
// statement. Building it does no I/O.
type plan struct {
	roots []*rootPlan
	// tables lists every table the statement reads (through selections,
	// where and order_by), so the executor can check that the session has
	// the variables their policies need.
	tables map[*compiler.Table]bool
	// mutation is set for a mutation operation, whose statements run in a
	// read-write transaction; vars lists the session variables its
	// permissions read.
	mutation bool
	vars     map[string]bool
	// role is the Hasura role whose per-role views the statements read
	// for tracked views (compiler.ReadAs); empty for admin.
	role string
	// stream is set for a streaming subscription (<table>_stream): its
	// last root is the hidden cursor (see streamRoot).
	stream bool
	// mergeSets: lists may be read per key of a membership set
	// (Config.MergeSets, sqlWriter.setMerge).
	mergeSets bool
	// observed is what logs and metrics derive from the plan alone
	// (observationOf), made by the first request that needs it.
	observed atomic.Pointer[planObservation]
}

// hasSQL reports whether any root field needs the database.
func (p *plan) hasSQL() bool {
	for _, r := range p.roots {
		if r.sel != nil || len(r.muts) > 0 {
			return true
		}
	}
	return false
}

// rootPlan is one key of the response's data object.
type rootPlan struct {
	key   string
	value []byte     // JSON known without the database (introspection, __typename)
	sel   *selection // or rows the statement selects
	// muts are the statements of a mutation field, in order; many makes
	// the value a JSON array of their results (update_<t>_many).
	muts []*mutation
	many bool
	// hidden roots are computed but not answered: a stream's cursor.
	hidden bool
}

// selKind tells how a selection's rows become JSON.
type selKind int

const (
	selList      selKind = iota // a JSON array of row objects
	selOne                      // one row object or null (by_pk, object relationship)
	selAggregate                // a <t>_aggregate object
)

// selection reads rows of one table.
type selection struct {
	kind selKind
	view *tableView
	// rel joins the rows to the enclosing row; nil at the root.
	rel      *compiler.Relationship
	where    compiler.Expr // the request's where, or nil
	pk       []pkValue
	order    []orderTerm
	distinct []*compiler.Column
	limit    *int // the request's limit
	// permLimit is the role's row limit. As in Hasura it caps the rows
	// listed (a list, or an aggregate's nodes) but not the rows an
	// aggregate's count, sum … are computed over.
	permLimit *int
	offset    *int
	fields    []*output
	// src, when set, is the function call the rows come from instead of
	// the view's table.
	src *source
	// withTies: a stream's batch takes every row tied with its last one
	// (FETCH FIRST n ROWS WITH TIES), so moving the cursor past the last
	// value skips no row.
	withTies bool
}

// listLimit is the number of rows a list shows: the smaller of the
// request's limit and the role's.
func (s *selection) listLimit() *int {
	if s.permLimit != nil && (s.limit == nil || *s.permLimit < *s.limit) {
		return s.permLimit
	}
	return s.limit
}

// pkValue is one primary key column's value of a by_pk field, as text.
type pkValue struct {
	column *compiler.Column
	text   string
}

// outKind tells what one output key holds.
type outKind int

const (
	outTypename        outKind = iota // a constant type name
	outColumn                         // a column of the row
	outSelection                      // a relationship: a nested selection
	outAggregateFields                // "aggregate" of <t>_aggregate
	outNodes                          // "nodes" of <t>_aggregate
	outCount                          // count(columns, distinct)
	outAggregateFn                    // sum { … }, max { … } …
	outComputed                       // a scalar computed field
)

// output is one key of an object in the response.
type output struct {
	key      string
	kind     outKind
	text     string // outTypename
	column   *compiler.Column
	sel      *selection
	fields   []*output // outAggregateFields, outNodes, outAggregateFn
	fn       string    // outAggregateFn
	columns  []*compiler.Column
	distinct bool // outCount
	// computed and args are a scalar computed field (outComputed) and its
	// request arguments.
	computed *computedView
	args     map[string]*string
}

// orderTerm is one sort key: a column of the table, or of a table reached
// through object relationships (path), or an aggregate over an array
// relationship (aggRel, fn; column is nil for count).
type orderTerm struct {
	path   []*compiler.Relationship
	aggRel *compiler.Relationship
	fn     string
	column *compiler.Column
	// computed is a scalar computed field without arguments to sort by
	// instead of a column.
	computed *computedView
	dir      string // "ASC NULLS LAST" …
}

var orderDirections = map[string]string{
	"asc":              "ASC NULLS LAST",
	"asc_nulls_first":  "ASC NULLS FIRST",
	"asc_nulls_last":   "ASC NULLS LAST",
	"desc":             "DESC NULLS FIRST",
	"desc_nulls_first": "DESC NULLS FIRST",
	"desc_nulls_last":  "DESC NULLS LAST",
}

// planner builds a plan for one request.
type planner struct {
	prog   *compiler.Program
	rs     *roleSchema
	vars   map[string]any
	tables map[*compiler.Table]bool
	nsteps int // nested insert steps planned so far, naming their settings
	// cursor replaces a stream's initial_value once batches have moved
	// it (nil: the request's own).
	cursor any
}

// newPlan plans op for the role, with the request's (coerced) variables.
func newPlan(prog *compiler.Program, rs *roleSchema, op *ast.OperationDefinition, vars map[string]any) (*plan, *Error) {
	return newPlanAt(prog, rs, op, vars, nil)
}

// newPlanAt is newPlan with a stream's cursor moved to cursor (nil: where
// the request starts it).
func newPlanAt(prog *compiler.Program, rs *roleSchema, op *ast.OperationDefinition, vars map[string]any, cursor any) (*plan, *Error) {
	if op.Operation == ast.Mutation {
		return newMutationPlan(prog, rs, op, vars)
	}
	p := &planner{prog: prog, rs: rs, vars: vars, tables: map[*compiler.Table]bool{}, cursor: cursor}
	out := &plan{tables: p.tables, role: rs.readRole(), mergeSets: rs.mergeSets}
	for _, c := range collectFields([]ast.SelectionSet{op.SelectionSet}, queryRootName, vars) {
		path := "$.selectionSet." + c.key
		r := &rootPlan{key: c.key}
		switch c.name {
		case "__typename":
			r.value = jsonString(queryRootName)
		case "__schema", "__type":
			r.value = introspect(rs.schema, c, vars)
		case noQueriesField:
			r.value = jsonString(noQueriesMessage)
		default:
			root := rs.roots[c.name]
			if root == nil && op.Operation == ast.Subscription {
				sel, cursor, err := p.streamRoot(c, path)
				if err != nil {
					return nil, err
				}
				if sel != nil {
					if len(op.SelectionSet) != 1 {
						return nil, validationf("$", "subscriptions must select one top level field")
					}
					r.sel = sel
					out.roots = append(out.roots, r, &rootPlan{key: "__cursor", sel: cursor, hidden: true})
					out.stream = true
					continue
				}
			}
			if root == nil {
				return nil, validationf(path, "field '%s' not found in type: '%s'", c.name, queryRootName)
			}
			sel, err := p.rootSelection(root, c, path)
			if err != nil {
				return nil, err
			}
			r.sel = sel
		}
		out.roots = append(out.roots, r)
	}
	return out, nil
}

func jsonString(s string) []byte { return appendJSONString(nil, s) }

// appendJSONString appends s as a JSON string, as marshal writes it. A
// response key or a column name (GraphQL names) is printable ASCII with
// nothing to escape, and is copied between quotes without encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return append(dst, marshal(s)...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func (p *planner) rootSelection(root *rootField, c *collected, path string) (*selection, *Error) {
	v := root.view
	switch root.kind {
	case rootByPK:
		p.tables[v.info.Table] = true
		sel := &selection{kind: selOne, view: v}
		for _, col := range v.pk {
			name := v.field(col)
			val := p.arg(c.field, name)
			if val == nil {
				return nil, validationf(path+".args."+name, "missing required field '%s'", name)
			}
			sel.pk = append(sel.pk, pkValue{column: col, text: scalarText(val)})
		}
		fields, err := p.rowFields(v, c.sets, path)
		if err != nil {
			return nil, err
		}
		sel.fields = fields
		return sel, nil
	case rootAggregate:
		return p.listSelection(selAggregate, v, nil, c, path)
	case rootFunction, rootFunctionAggregate:
		kind := selList
		if root.kind == rootFunctionAggregate {
			kind = selAggregate
		}
		sel, err := p.listSelection(kind, v, nil, c, path)
		if err != nil {
			return nil, err
		}
		sel.src = &source{fn: root.fn, args: p.funcArgs(p.arg(c.field, "args"))}
		return sel, nil
	default:
		return p.listSelection(selList, v, nil, c, path)
	}
}

// arg returns the value of a field's argument as inputValue gives it.
func (p *planner) arg(f *ast.Field, name string) any {
	a := f.Arguments.ForName(name)
	if a == nil {
		return nil
	}
	return inputValue(a.Value, p.vars, p.rs.schema)
}

// listSelection plans a list or aggregate of rows of v, with the list
// arguments where, order_by, distinct_on, limit and offset.
func (p *planner) listSelection(kind selKind, v *tableView, rel *compiler.Relationship, c *collected, path string) (*selection, *Error) {
	p.tables[v.info.Table] = true
	sel := &selection{kind: kind, view: v, rel: rel}
	if w := p.arg(c.field, "where"); w != nil {
		e, err := p.where(w, v, path+".args.where")
		if err != nil {
			return nil, err
		}
		sel.where = e
	}
	if o := p.arg(c.field, "order_by"); o != nil {
		for _, item := range asList(o) {
			obj, _ := item.(object)
			terms, err := p.orderBy(obj, v, nil, path+".args.order_by")
			if err != nil {
				return nil, err
			}
			sel.order = append(sel.order, terms...)
		}
	}
	if d := p.arg(c.field, "distinct_on"); d != nil {
		for _, item := range asList(d) {
			name, _ := item.(string)
			col := v.column(name)
			if col == nil {
				return nil, validationf(path+".args.distinct_on", "unexpected value %q for enum: '%s_select_column'", name, v.name)
			}
			sel.distinct = append(sel.distinct, col)
		}
		if err := distinctOrder(sel, path); err != nil {
			return nil, err
		}
	}
	for _, a := range []struct {
		name string
		dst  **int
	}{{"limit", &sel.limit}, {"offset", &sel.offset}} {
		val := p.arg(c.field, a.name)
		if val == nil {
			continue
		}
		n, ok := toInt(val)
		if !ok || n < 0 {
			return nil, validationf(path+".args."+a.name, "expecting a non-negative integer for '%s'", a.name)
		}
		*a.dst = &n
	}
	sel.permLimit = v.limit
	var err *Error
	if kind == selAggregate {
		sel.fields, err = p.aggregateFields(v, c.sets, path)
	} else {
		sel.fields, err = p.rowFields(v, c.sets, path)
	}
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// distinctOrder makes the ORDER BY start with the DISTINCT ON columns, as
// PostgreSQL requires, or reports that the request's order_by does not.
func distinctOrder(sel *selection, path string) *Error {
	if len(sel.order) == 0 {
		for _, c := range sel.distinct {
			sel.order = append(sel.order, orderTerm{column: c, dir: orderDirections["asc"]})
		}
		return nil
	}
	want := map[*compiler.Column]bool{}
	for _, c := range sel.distinct {
		want[c] = true
	}
	if len(sel.order) < len(want) {
		return validationf(path+".args", "\"distinct_on\" columns must match initial \"order_by\" columns")
	}
	for _, t := range sel.order[:len(want)] {
		if len(t.path) > 0 || t.aggRel != nil || !want[t.column] {
			return validationf(path+".args", "\"distinct_on\" columns must match initial \"order_by\" columns")
		}
	}
	return nil
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		if x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case int:
		return x, true
	case float64:
		if x != math.Trunc(x) || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case json.Number:
		n, err := strconv.Atoi(string(x))
		return n, err == nil
	}
	return 0, false
}

// scalarText renders a scalar input value as the text PostgreSQL parses.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// rowFields plans the fields of a row object of v.
func (p *planner) rowFields(v *tableView, sets []ast.SelectionSet, path string) ([]*output, *Error) {
	var out []*output
	for _, c := range collectFields(sets, v.name, p.vars) {
		o := &output{key: c.key}
		if c.name == "__typename" {
			o.kind, o.text = outTypename, v.name
			out = append(out, o)
			continue
		}
		f := v.fields[c.name]
		if f == nil {
			continue // validation has rejected it
		}
		switch f.kind {
		case fieldColumn:
			o.kind, o.column = outColumn, f.column
		case fieldObjectRel:
			p.tables[f.rel.remote.info.Table] = true
			fields, err := p.rowFields(f.rel.remote, c.sets, path+".selectionSet."+c.key)
			if err != nil {
				return nil, err
			}
			o.kind = outSelection
			o.sel = &selection{kind: selOne, view: f.rel.remote, rel: f.rel.rel, fields: fields}
		case fieldArrayRel, fieldArrayAggregate:
			kind := selList
			if f.kind == fieldArrayAggregate {
				kind = selAggregate
			}
			sel, err := p.listSelection(kind, f.rel.remote, f.rel.rel, c, path+".selectionSet."+c.key)
			if err != nil {
				return nil, err
			}
			o.kind, o.sel = outSelection, sel
		case fieldComputed:
			o.kind, o.computed, o.args = outComputed, f.computed, p.funcArgs(p.arg(c.field, "args"))
		case fieldComputedSet:
			sel, err := p.listSelection(selList, f.computed.remote, nil, c, path+".selectionSet."+c.key)
			if err != nil {
				return nil, err
			}
			sel.src = &source{cv: f.computed, args: p.funcArgs(p.arg(c.field, "args"))}
			o.kind, o.sel = outSelection, sel
		}
		out = append(out, o)
	}
	return out, nil
}

// aggregateFields plans the fields of a <t>_aggregate object.
func (p *planner) aggregateFields(v *tableView, sets []ast.SelectionSet, path string) ([]*output, *Error) {
	var out []*output
	for _, c := range collectFields(sets, v.name+"_aggregate", p.vars) {
		o := &output{key: c.key}
		switch c.name {
		case "__typename":
			o.kind, o.text = outTypename, v.name+"_aggregate"
		case "nodes":
			fields, err := p.rowFields(v, c.sets, path+".selectionSet.nodes")
			if err != nil {
				return nil, err
			}
			o.kind, o.fields = outNodes, fields
		case "aggregate":
			o.kind = outAggregateFields
			for _, a := range collectFields(c.sets, v.name+"_aggregate_fields", p.vars) {
				ao := &output{key: a.key}
				switch a.name {
				case "__typename":
					ao.kind, ao.text = outTypename, v.name+"_aggregate_fields"
				case "count":
					ao.kind = outCount
					for _, item := range asList(p.arg(a.field, "columns")) {
						if name, ok := item.(string); ok {
							if col := v.column(name); col != nil {
								ao.columns = append(ao.columns, col)
							}
						}
					}
					ao.distinct, _ = p.arg(a.field, "distinct").(bool)
				default:
					ao.kind, ao.fn = outAggregateFn, a.name
					typ := v.name + "_" + a.name + "_fields"
					for _, f := range collectFields(a.sets, typ, p.vars) {
						fo := &output{key: f.key}
						if f.name == "__typename" {
							fo.kind, fo.text = outTypename, typ
						} else if col := v.column(f.name); col != nil {
							fo.kind, fo.column = outColumn, col
						} else {
							continue
						}
						ao.fields = append(ao.fields, fo)
					}
				}
				o.fields = append(o.fields, ao)
			}
		default:
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// orderBy plans one order_by object of v; path lists the object
// relationships that led to v.
func (p *planner) orderBy(obj object, v *tableView, path []*compiler.Relationship, at string) ([]orderTerm, *Error) {
	var out []orderTerm
	for _, f := range obj {
		if f.value == nil {
			continue
		}
		if col := v.column(f.name); col != nil {
			dir, ok := orderDirections[fmt.Sprint(f.value)]
			if !ok {
				return nil, validationf(at, "unexpected value %v for enum: 'order_by'", f.value)
			}
			out = append(out, orderTerm{path: path, column: col, dir: dir})
			continue
		}
		rf := v.fields[f.name]
		if rf != nil && rf.kind == fieldComputed {
			dir, ok := orderDirections[fmt.Sprint(f.value)]
			if !ok || len(rf.computed.field().ExtraArgs()) > 0 {
				return nil, validationf(at, "field '%s' not found in type: '%s_order_by'", f.name, v.name)
			}
			out = append(out, orderTerm{path: path, computed: rf.computed, dir: dir})
			continue
		}
		if rf != nil && rf.kind != fieldObjectRel && rf.kind != fieldArrayRel && rf.kind != fieldArrayAggregate {
			return nil, validationf(at, "field '%s' not found in type: '%s_order_by'", f.name, v.name)
		}
		if rf == nil && strings.HasSuffix(f.name, "_aggregate") {
			if r := v.fields[strings.TrimSuffix(f.name, "_aggregate")]; r != nil && r.kind == fieldArrayRel {
				rf = &rowField{kind: fieldArrayAggregate, rel: r.rel}
			}
		}
		if rf == nil {
			return nil, validationf(at, "field '%s' not found in type: '%s_order_by'", f.name, v.name)
		}
		sub, _ := f.value.(object)
		p.tables[rf.rel.remote.info.Table] = true
		switch rf.kind {
		case fieldObjectRel:
			terms, err := p.orderBy(sub, rf.rel.remote, append(append([]*compiler.Relationship{}, path...), rf.rel.rel), at)
			if err != nil {
				return nil, err
			}
			out = append(out, terms...)
		case fieldArrayAggregate, fieldArrayRel:
			for _, af := range sub {
				if af.value == nil {
					continue
				}
				if af.name == "count" {
					dir, ok := orderDirections[fmt.Sprint(af.value)]
					if !ok {
						return nil, validationf(at, "unexpected value %v for enum: 'order_by'", af.value)
					}
					out = append(out, orderTerm{path: path, aggRel: rf.rel.rel, fn: "count", dir: dir})
					continue
				}
				cols, _ := af.value.(object)
				for _, cf := range cols {
					col := rf.rel.remote.column(cf.name)
					dir, ok := orderDirections[fmt.Sprint(cf.value)]
					if col == nil || !ok {
						continue
					}
					out = append(out, orderTerm{path: path, aggRel: rf.rel.rel, fn: af.name, column: col, dir: dir})
				}
			}
		}
	}
	return out, nil
}

// where resolves a where argument against v.
func (p *planner) where(w any, v *tableView, at string) (compiler.Expr, *Error) {
	obj, ok := w.(object)
	if !ok {
		return nil, validationf(at, "expected an object for type '%s_bool_exp'", v.name)
	}
	be, err := p.boolExp(obj, v, at)
	if err != nil {
		return nil, err
	}
	e, errs := p.prog.ResolveBoolExp(be, v.info)
	if len(errs) > 0 {
		return nil, validationf(at, "%s", errs[0].Error())
	}
	p.touch(e)
	return e, nil
}

// touch records the tables a resolved expression reads.
func (p *planner) touch(e compiler.Expr) {
	compiler.Walk(e, func(e compiler.Expr) {
		switch e := e.(type) {
		case *compiler.RelExists:
			p.tables[e.Rel.Remote] = true
		case *compiler.TableExists:
			p.tables[e.Table] = true
		}
	})
}

// boolExp turns a <t>_bool_exp value into the metadata's boolean
// expression: the shapes are the same. Values become literals, never
// session variables: a request's "X-Hasura-User-Id" is just a string.
func (p *planner) boolExp(obj object, v *tableView, at string) (policies.BoolExp, *Error) {
	and := &policies.And{}
	for _, f := range obj {
		if f.value == nil {
			continue // Hasura v1: a null expression is no condition
		}
		switch f.name {
		case "_and", "_or":
			var items []policies.BoolExp
			for _, it := range asList(f.value) {
				sub, ok := it.(object)
				if !ok {
					continue
				}
				e, err := p.boolExp(sub, v, at)
				if err != nil {
					return nil, err
				}
				items = append(items, e)
			}
			if f.name == "_and" {
				and.Items = append(and.Items, &policies.And{Items: items})
			} else {
				and.Items = append(and.Items, &policies.Or{Items: items})
			}
			continue
		case "_not":
			sub, _ := f.value.(object)
			e, err := p.boolExp(sub, v, at)
			if err != nil {
				return nil, err
			}
			and.Items = append(and.Items, &policies.Not{Item: e})
			continue
		}
		if col := v.column(f.name); col != nil {
			ops, _ := f.value.(object)
			// The compiler resolves columns by their PostgreSQL names.
			field := &policies.Field{Name: col.Name}
			for _, op := range ops {
				if op.value == nil {
					continue
				}
				name, ok := policies.NormalizeOperator(op.name)
				if !ok || policies.IsColumnOperator(name) {
					typ := scalarFor(col.Type)
					if e := v.info.EnumOf(col.Name); e != nil {
						typ = e.EnumTypeName()
					}
					return nil, validationf(at, "field '%s' not found in type: '%s_comparison_exp'", op.name, typ)
				}
				jsonb := col.Type == "jsonb" || col.Type == "json"
				var val policies.Value
				switch {
				case policies.IsPostGISOperator(name):
					val = geoValue(name, op.value)
				case name == "_in" || name == "_nin" || name == "_has_keys_any" || name == "_has_keys_all":
					list := &policies.List{}
					for _, it := range asList(op.value) {
						list.Items = append(list.Items, literal(it, jsonb && name != "_has_keys_any" && name != "_has_keys_all"))
					}
					val = list
				default:
					val = literal(op.value, jsonb && name != "_has_key" && name != "_is_null")
				}
				field.Comparisons = append(field.Comparisons, &policies.Comparison{Op: name, Value: val})
			}
			if len(field.Comparisons) > 0 {
				and.Items = append(and.Items, field)
			}
			continue
		}
		rf := v.fields[f.name]
		if rf == nil || (rf.kind != fieldObjectRel && rf.kind != fieldArrayRel) {
			return nil, validationf(at, "field '%s' not found in type: '%s_bool_exp'", f.name, v.name)
		}
		sub, _ := f.value.(object)
		nested, err := p.boolExp(sub, rf.rel.remote, at)
		if err != nil {
			return nil, err
		}
		and.Items = append(and.Items, &policies.Field{Name: f.name, Nested: nested})
	}
	if len(and.Items) == 1 {
		return and.Items[0], nil
	}
	return and, nil
}

// literal wraps a request value for the compiler. A jsonb value keeps its
// structure; any other becomes a scalar (numbers of custom scalars as their
// text) or a list of scalars (array columns).
func literal(v any, jsonb bool) policies.Value {
	if jsonb {
		return &policies.Literal{V: v}
	}
	switch x := v.(type) {
	case []any:
		l := &policies.List{}
		for _, it := range x {
			l.Items = append(l.Items, literal(it, false))
		}
		return l
	case json.Number:
		return &policies.Literal{V: string(x)}
	case object:
		b, _ := json.Marshal(x)
		return &policies.Literal{V: string(b)}
	}
	return &policies.Literal{V: v}
}
