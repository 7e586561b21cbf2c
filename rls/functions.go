package rls

import (
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// Aliases inside the per-role helpers: the row of the table a computed
// field belongs to, and a row the function returns.
const (
	rowAlias    = "_rgt"
	resultAlias = "_rgr"
)

// roleHelpers renders the per-role SECURITY DEFINER functions through
// which roles read computed fields (compiler.ComputedAccess) and tracked
// functions (compiler.FunctionAccess). Each re-checks the role's select
// filter itself, so calling it from psql reveals nothing the API would
// not, and only its role may execute it. It runs before helperFunctions,
// which prints the rule helpers the filters call.
func (e *emitter) roleHelpers() string {
	var b strings.Builder
	for _, t := range e.prog.Tables {
		for _, p := range t.Permissions {
			for _, a := range p.ComputedAccess {
				if a.Helper != "" {
					b.WriteString(e.computedHelper(t, p, a))
				}
			}
		}
	}
	for _, f := range e.prog.Functions {
		for _, a := range f.Access {
			b.WriteString(e.functionHelper(f, a))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return b.String()
}

// returnsTable renders RETURNS TABLE (…) of a permission's columns.
func returnsTable(cols []*compiler.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = compiler.QuoteIdent(c.Name) + " " + c.Type
	}
	return "TABLE(" + strings.Join(parts, ", ") + ")"
}

// selectList renders alias.col, … of cols.
func selectList(alias string, cols []*compiler.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = alias + "." + compiler.QuoteIdent(c.Name)
	}
	return strings.Join(parts, ", ")
}

// filterSQL renders a select permission's filter over alias for use in a
// helper's body.
func (e *emitter) filterSQL(t *compiler.TableInfo, p *compiler.Permission, alias string) string {
	if p.Filter == nil {
		return "true"
	}
	use := fmt.Sprintf("%s (select permission of role %s on %s)", p.Pos, p.Role.Name, t.Name())
	return e.render(p.Filter, t, alias, use)
}

// computedHelper renders the helper of one role's computed field: it
// takes the row's key, then the field's other arguments, and evaluates the
// field for that row when the row passes the role's filter.
func (e *emitter) computedHelper(t *compiler.TableInfo, p *compiler.Permission, a *compiler.ComputedAccess) string {
	cf := a.Field
	var params, conds, extra []string
	for _, k := range a.Key {
		params = append(params, k.Type)
		conds = append(conds, fmt.Sprintf("%s.%s = $%d", rowAlias, compiler.QuoteIdent(k.Name), len(params)))
	}
	for _, arg := range cf.ExtraArgs() {
		params = append(params, arg.Type)
		extra = append(extra, fmt.Sprintf("$%d", len(params)))
	}
	conds = append(conds, "("+e.filterSQL(t, p, rowAlias)+")")
	if rows := p.ColumnRows[cf.Name]; rows != nil {
		// An inherited role: only the rows of the members listing the field.
		use := fmt.Sprintf("%s (computed field %s of role %s on %s)", p.Pos, cf.Name, p.Role.Name, t.Name())
		conds = append(conds, "("+e.render(rows, t, rowAlias, use)+")")
	}
	call := (&compiler.Renderer{}).ComputedCall(cf, rowAlias, extra)
	from := compiler.QuoteTable(t.Name()) + " " + rowAlias
	var returns, body string
	if cf.Scalar() {
		returns = cf.Returns
		body = "SELECT " + call + " FROM " + from + " WHERE " + strings.Join(conds, " AND ")
	} else {
		remote := e.prog.Table(cf.ReturnsTable.Name)
		conds = append(conds, "("+e.filterSQL(remote, a.Remote, resultAlias)+")")
		returns = returnsTable(a.Remote.ReadableColumns())
		body = "SELECT " + selectList(resultAlias, a.Remote.ReadableColumns()) + " FROM " + from + " CROSS JOIN LATERAL " + call + " " + resultAlias +
			" WHERE " + strings.Join(conds, " AND ")
	}
	what := fmt.Sprintf("computed field %s of %s for role %s (%s)", cf.Name, t.Name(), p.Role.Name, p.Pos)
	return e.definerFunction(a.Helper, params, returns, body, cf.Function.Name.Schema, p.Role, what)
}

// functionHelper renders the helper through which one role calls a
// tracked function: the function runs with the definer's rights, and the
// helper returns the role's columns of the rows its filter lets through.
func (e *emitter) functionHelper(f *compiler.TrackedFunction, a *compiler.FunctionAccess) string {
	var params []string
	args := make([]string, len(f.Function.Args))
	for i, arg := range f.Function.Args {
		if i == f.SessionArg {
			args[i] = compiler.SessionJSON(arg.Type)
			continue
		}
		params = append(params, arg.Type)
		args[i] = fmt.Sprintf("$%d", len(params))
	}
	call := compiler.QuoteTable(f.Function.Name) + "(" + strings.Join(args, ", ") + ")"
	cols := a.Perm.ReadableColumns()
	body := "SELECT " + selectList(resultAlias, cols) + " FROM " + call + " " + resultAlias +
		" WHERE " + e.filterSQL(f.Table, a.Perm, resultAlias)
	what := fmt.Sprintf("tracked function %s for role %s (%s; select permission at %s)", f.Function.Name, a.Perm.Role.Name, f.Pos, a.Perm.Pos)
	return e.definerFunction(a.Helper, params, returnsTable(cols), body, f.Function.Name.Schema, a.Perm.Role, what)
}

// definerFunction renders one per-role helper, executable by role alone.
// Its body refers to arguments by position ($1 …), never by a name a
// column could shadow.
func (e *emitter) definerFunction(name string, params []string, returns, body, schema string, role *compiler.Role, what string) string {
	var b strings.Builder
	sig := "rowguard." + compiler.QuoteIdent(name) + "(" + strings.Join(params, ", ") + ")"
	// The function's (or view's) schema, then public: project functions
	// name their tables unqualified and run under Hasura's connection
	// with the default search_path ("$user", public).
	path := "pg_catalog, "
	if schema != "" && schema != "pg_catalog" && schema != "public" {
		path += compiler.QuoteIdent(schema) + ", "
	}
	path += `"public", pg_temp`
	fmt.Fprintf(&b, "CREATE FUNCTION %s RETURNS %s\n  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = %s\n  AS $rg$ %s $rg$;\n", sig, returns, path, body)
	fmt.Fprintf(&b, "ALTER FUNCTION %s OWNER TO %s;\n", sig, compiler.QuoteIdent(e.opts.definer()))
	fmt.Fprintf(&b, "REVOKE ALL ON FUNCTION %s FROM PUBLIC;\n", sig)
	fmt.Fprintf(&b, "GRANT EXECUTE ON FUNCTION %s TO %s;\n", sig, compiler.QuoteIdent(role.PGName))
	fmt.Fprintf(&b, "COMMENT ON FUNCTION %s IS %s;\n\n", sig, compiler.QuoteLiteral("rowguard: "+what))
	return b.String()
}
