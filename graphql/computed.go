package graphql

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// computedView is a computed field a role may read: a scalar one is a
// field of the row type, a SETOF one a list of remote's rows.
type computedView struct {
	access *compiler.ComputedAccess // Helper empty: the role calls the function
	remote *tableView               // SETOF fields
}

func (cv *computedView) field() *compiler.ComputedField { return cv.access.Field }

// addComputed publishes the computed fields of each view: for admin every
// one, for a role those of its select permission (compiler.ComputedAccess)
// whose name is free and, for SETOF ones, whose returned table the role
// has a row type for.
func addComputed(views []*tableView, byTable map[*compiler.TableInfo]*tableView, prog *compiler.Program) {
	for _, v := range views {
		if !v.row {
			continue
		}
		var list []*compiler.ComputedAccess
		if v.perm == nil {
			for _, cf := range v.info.ComputedFields {
				list = append(list, &compiler.ComputedAccess{Field: cf})
			}
		} else {
			list = v.perm.ComputedAccess
		}
		for _, a := range list {
			cf := a.Field
			if !validName(cf.Name) || v.fields[cf.Name] != nil || !validArgs(cf.ExtraArgs()) {
				continue
			}
			cv := &computedView{access: a}
			kind := fieldComputed
			if !cf.Scalar() {
				cv.remote = byTable[prog.Table(cf.ReturnsTable.Name)]
				if cv.remote == nil || !cv.remote.row {
					continue
				}
				kind = fieldComputedSet
			}
			v.computed = append(v.computed, cv)
			v.fields[cf.Name] = &rowField{kind: kind, computed: cv}
		}
	}
}

// validArgs reports whether every argument can be a GraphQL input field.
func validArgs(args []*compiler.FunctionArg) bool {
	for _, a := range args {
		if !validName(a.Name) {
			return false
		}
	}
	return true
}

// functionRoot is a tracked function the role may call.
type functionRoot struct {
	fn     *compiler.TrackedFunction
	helper string // empty: admin calls the function itself
	view   *tableView
}

// functionRoots lists the tracked functions role may call: those returning
// rows of a table it has a row type for.
func functionRoots(prog *compiler.Program, role string, views []*tableView) []*functionRoot {
	var out []*functionRoot
	for _, f := range prog.Functions {
		var view *tableView
		for _, v := range views {
			if v.info == f.Table {
				view = v
			}
		}
		if view == nil || !view.row || !validName(f.Name) || !validArgs(f.Args()) {
			continue
		}
		fr := &functionRoot{fn: f, view: view}
		if role != AdminRole {
			a := f.RoleAccess(role)
			if a == nil {
				continue
			}
			fr.helper = a.Helper
		}
		out = append(out, fr)
	}
	return out
}

// argsTypeName is the GraphQL input type of a computed field's function's
// arguments, as Hasura names it (a tracked function's is ArgsType).
func argsTypeName(f *compiler.Function) string {
	return compiler.DefaultTypeName(f.Name) + "_args"
}

// argsType writes `input <name>` once per name.
func (b *schemaBuilder) argsType(name string, args []*compiler.FunctionArg) {
	if b.argTypes[name] {
		return
	}
	b.argTypes[name] = true
	var w strings.Builder
	fmt.Fprintf(&w, "input %s {\n", name)
	for _, a := range args {
		s := scalarFor(a.Type)
		b.scalars[s] = true
		fmt.Fprintf(&w, "  %s: %s\n", a.Name, s)
	}
	w.WriteString("}\n\n")
	b.args.WriteString(w.String())
}

// argsParam renders the `args` parameter of a field calling f, or "" when
// f takes no argument from the request. It is required when some
// argument has no default.
func (b *schemaBuilder) argsParam(f *compiler.Function, typ string, args []*compiler.FunctionArg) string {
	if len(args) == 0 {
		return ""
	}
	b.argsType(typ, args)
	bang := ""
	for _, a := range args {
		if !a.HasDefault {
			bang = "!"
		}
	}
	return fmt.Sprintf("    %s\n    args: %s%s\n", describe("input parameters for function "+describeName(f.Name)), typ, bang)
}

// describeName renders a table or function name as Hasura's descriptions
// do: bare in schema public, schema-qualified elsewhere.
func describeName(q policies.QualifiedTable) string {
	if q.Schema == "public" {
		return q.Name
	}
	return q.String()
}

// withArgs puts an args parameter in front of a field's parameter list
// ("(\n … )" as listArgs renders it).
func withArgs(args, list string) string {
	if args == "" {
		return list
	}
	if list == "" {
		return "(\n" + args + "  )"
	}
	return "(\n" + args + strings.TrimPrefix(list, "(\n")
}

// computedFields writes the computed fields of v's row type.
func (b *schemaBuilder) computedFields(v *tableView, pr func(string, ...any)) {
	for _, cv := range v.computed {
		cf := cv.field()
		args := b.argsParam(cf.Function, argsTypeName(cf.Function), cf.ExtraArgs())
		desc := describe(fmt.Sprintf("A computed field, executes function %q", describeName(cf.Function.Name)))
		if cf.Scalar() {
			s := scalarFor(cf.Returns)
			b.scalars[s] = true
			pr("  %s\n  %s%s: %s\n", desc, cf.Name, withArgs(args, ""), s)
			continue
		}
		pr("  %s\n  %s%s: [%s!]\n", desc, cf.Name, withArgs(args, listArgs(cv.remote)), cv.remote.name)
	}
}

// functionFields writes the query_root fields of the role's tracked
// functions and records what they mean.
func (b *schemaBuilder) functionFields(pr func(string, ...any)) int {
	n := 0
	for _, fr := range b.rs.functions {
		f, v := fr.fn, fr.view
		args := b.argsParam(f.Function, f.ArgsType, f.Args())
		desc := describe(fmt.Sprintf("execute function %q which returns %q", describeName(f.Function.Name), describeName(v.info.Name())))
		if b.rs.roots[f.Name] == nil {
			b.rs.roots[f.Name] = &rootField{kind: rootFunction, view: v, fn: fr}
			pr("  %s\n  %s%s: [%s!]!\n", desc, f.Name, withArgs(args, listArgs(v)), v.name)
			n++
		}
		if v.aggregations && b.rs.roots[f.AggregateName] == nil {
			b.rs.roots[f.AggregateName] = &rootField{kind: rootFunctionAggregate, view: v, fn: fr}
			desc := describe(fmt.Sprintf("execute function %q and query aggregates on result of table type %q", describeName(f.Function.Name), describeName(v.info.Name())))
			pr("  %s\n  %s%s: %s_aggregate!\n", desc, f.AggregateName, withArgs(args, listArgs(v)), v.name)
			n++
		}
	}
	return n
}

// source is a function call a selection reads its rows from instead of
// its table: a tracked function (fn) or a SETOF computed field of the
// enclosing row (cv).
type source struct {
	fn   *functionRoot
	cv   *computedView
	args map[string]*string // request arguments by name; nil value: null
}

// funcArgs reads a field's `args` argument.
func (p *planner) funcArgs(v any) map[string]*string {
	out := map[string]*string{}
	obj, _ := v.(object)
	for _, f := range obj {
		if f.value == nil {
			out[f.name] = nil
			continue
		}
		var text string
		switch x := f.value.(type) {
		case object, []any:
			b, _ := json.Marshal(x)
			text = string(b)
		default:
			text = scalarText(x)
		}
		out[f.name] = &text
	}
	return out
}

// argValue renders a request argument for a function argument.
func (w *sqlWriter) argValue(args map[string]*string, a *compiler.FunctionArg) string {
	if t := args[a.Name]; t != nil {
		return w.param(*t, a.Type)
	}
	return "NULL::" + a.Type
}

// helperRef renders the qualified name of a rowguard helper.
func helperRef(name string) string { return "rowguard." + compiler.QuoteIdent(name) }

// sourceSQL renders a selection's function call; parent is the alias of
// the enclosing row (computed fields).
func (w *sqlWriter) sourceSQL(src *source, parent string) string {
	if src.cv != nil {
		return w.computedCall(src.cv, src.args, parent)
	}
	f := src.fn.fn
	if src.fn.helper != "" {
		var args []string
		for _, a := range f.Args() {
			args = append(args, w.argValue(src.args, a))
		}
		return helperRef(src.fn.helper) + "(" + strings.Join(args, ", ") + ")"
	}
	// Named notation, so arguments the request leaves out take their
	// defaults.
	var args []string
	for i, a := range f.Function.Args {
		switch {
		case i == f.SessionArg:
			args = append(args, compiler.QuoteIdent(a.Name)+" => "+compiler.SessionJSON(a.Type))
		case src.args[a.Name] != nil || !a.HasDefault:
			args = append(args, compiler.QuoteIdent(a.Name)+" => "+w.argValue(src.args, a))
		}
	}
	return compiler.QuoteTable(f.Function.Name) + "(" + strings.Join(args, ", ") + ")"
}

// computedCall renders a computed field of the row parent: the function
// over the whole row, or the role's helper over the row's key.
func (w *sqlWriter) computedCall(cv *computedView, args map[string]*string, parent string) string {
	cf := cv.field()
	var extra []string
	for _, a := range cf.ExtraArgs() {
		extra = append(extra, w.argValue(args, a))
	}
	if cv.access.Helper == "" {
		return (&compiler.Renderer{}).ComputedCall(cf, w.wholeRow(parent), extra)
	}
	var in []string
	for _, k := range cv.access.Key {
		in = append(in, parent+"."+compiler.QuoteIdent(k.Name))
	}
	return helperRef(cv.access.Helper) + "(" + strings.Join(append(in, extra...), ", ") + ")"
}

// wholeRow is the row of alias as a value of its table's type: a table
// alias itself; for the rows a mutation returns, the whole row it returns
// as mutationWholeRow; for the rows of a helper (which returns a TABLE
// (…) of columns, not the table's type, so that no helper keeps a table
// from being dropped), the row rebuilt from them: a role calling a
// function directly reads every column, so the helper returns them all.
func (w *sqlWriter) wholeRow(alias string) string {
	if alias == mutationRow {
		return alias + "." + mutationWholeRow
	}
	if t := w.records[alias]; t != nil {
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = alias + "." + compiler.QuoteIdent(c.Name)
		}
		return "ROW(" + strings.Join(cols, ", ") + ")::" + compiler.QuoteTable(t.Name)
	}
	return alias
}

// viaHelper reports whether a source's rows come from a role's helper.
func (src *source) viaHelper() bool {
	if src.cv != nil {
		return src.cv.access.Helper != ""
	}
	return src.fn.helper != ""
}

// computedNeeds lists what the RETURNING of a mutation must add for a
// computed field of its rows: the whole row (a direct call) or the key
// (the role's helper).
func computedNeeds(cv *computedView) (whole bool, key []*compiler.Column) {
	if cv.access.Helper == "" {
		return true, nil
	}
	return false, cv.access.Key
}
