package rls

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// view renders a tracked view or materialized view. PostgreSQL has no
// row-level security on either, and Hasura reads a view with its owner's
// rights, applying only the view's own select permission. So each role
// with a select permission reads the view through a security-barrier view
// of its own in schema rowguard (compiler.RoleViewName): owned by the
// definer (who may select the view), it keeps the rows the role's filter
// shows, rendered as the policy of a table would be, and nulls a column of
// an inherited role on the rows where no member listing it shows the row.
// The role is granted its columns of that view and nothing on the view
// itself, so psql as the role sees what the API shows. A view that calls
// functions reading data as the caller is read through a function of the
// role's instead (viewSource). Write permissions
// never get here (compiler drops them with a warning).
func (e *emitter) view(t *compiler.TableInfo) string {
	var b strings.Builder
	kind := "view"
	if t.Table.Materialized {
		kind = "materialized view"
	}
	fmt.Fprintf(&b, "-- %s (%s: no row-level security; each role reads it through its own view in schema rowguard)\n", t.Name(), kind)
	definer := compiler.QuoteIdent(e.opts.definer())
	if len(t.Permissions) > 0 {
		fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO %s;\n", compiler.QuoteIdent(t.Name().Schema), definer)
		b.WriteString(e.selectGrant(t.Name(), definer))
	}
	for _, p := range t.Permissions {
		if p.Op == policies.Select {
			b.WriteString(e.roleView(t, p))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// roleView renders the per-role view of p, a select permission on the view
// t, and its grant.
func (e *emitter) roleView(t *compiler.TableInfo, p *compiler.Permission) string {
	var b strings.Builder
	name := compiler.QuoteTable(compiler.RoleViewName(t.Name(), p.Role.Name))
	alias := compiler.QuoteIdent(t.Name().Name)
	use := fmt.Sprintf("%s (%s permission of role %s on %s)", p.Pos, p.Op, p.Role.Name, t.Name())
	cols := make([]string, len(t.Table.Columns))
	for i, c := range t.Table.Columns {
		ref := alias + "." + compiler.QuoteIdent(c.Name)
		if rows := p.ColumnRows[c.Name]; rows != nil {
			// Hasura's inherited roles: the column is null on the rows
			// that only members not listing it show.
			ref = "CASE WHEN " + e.render(rows, t, alias, use) + " THEN " + ref + " END AS " + compiler.QuoteIdent(c.Name)
		}
		cols[i] = ref
	}
	filter := "true"
	if p.Filter != nil {
		filter = e.render(p.Filter, t, alias, use)
	}
	var privs []*compiler.Column
	privs = append(privs, p.Columns...)
	for _, c := range p.HiddenColumns {
		if !slices.Contains(privs, c) {
			privs = append(privs, c)
		}
	}
	if t.Source {
		b.WriteString(e.viewSource(t, p, alias, cols, privs, filter))
		plain := make([]string, len(t.Table.Columns))
		for i, c := range t.Table.Columns {
			plain[i] = alias + "." + compiler.QuoteIdent(c.Name)
		}
		fmt.Fprintf(&b, "CREATE VIEW %s WITH (security_barrier) AS\n  SELECT %s\n  FROM rowguard.%s() AS %s;\n",
			name, strings.Join(plain, ", "), compiler.QuoteIdent(compiler.ViewSourceName(t.Name(), p.Role.Name)), alias)
	} else {
		fmt.Fprintf(&b, "CREATE VIEW %s WITH (security_barrier) AS\n  SELECT %s\n  FROM %s AS %s\n  WHERE %s;\n",
			name, strings.Join(cols, ", "), compiler.QuoteTable(t.Name()), alias, filter)
	}
	fmt.Fprintf(&b, "ALTER VIEW %s OWNER TO %s;\n", name, compiler.QuoteIdent(e.opts.definer()))
	fmt.Fprintf(&b, "COMMENT ON VIEW %s IS %s;\n", name, compiler.QuoteLiteral("rowguard: "+use))
	if len(p.HiddenColumns) > 0 {
		fmt.Fprintf(&b, "-- SELECT (%s): join columns of relationships %s may follow (or a column to count rows), not published by the API\n", quoteColumns(p.HiddenColumns), p.Role.Name)
	}
	if len(privs) > 0 {
		fmt.Fprintf(&b, "GRANT SELECT (%s) ON %s TO %s;\n", quoteColumns(privs), name, compiler.QuoteIdent(p.Role.PGName))
	}
	return b.String()
}

// viewSource renders the SECURITY DEFINER function through which the
// per-role view of p reads the view t when t calls functions that read
// with the caller's rights (compiler.ViewSourceName): they then run as the
// definer, as Hasura runs them as the owner. The function applies the
// role's filter and returns only the role's columns (the others null), so
// calling it from psql, which only the role may, shows what the per-role
// view shows. cols are the per-role view's select items over alias.
func (e *emitter) viewSource(t *compiler.TableInfo, p *compiler.Permission, alias string, cols []string, privs []*compiler.Column, filter string) string {
	items := make([]string, len(cols))
	for i, c := range t.Table.Columns {
		items[i] = cols[i]
		if !slices.Contains(privs, c) {
			// Typed as the column, without naming a type.
			items[i] = "CASE WHEN false THEN " + alias + "." + compiler.QuoteIdent(c.Name) + " END AS " + compiler.QuoteIdent(c.Name)
		}
	}
	body := "SELECT " + strings.Join(items, ", ") + " FROM " + compiler.QuoteTable(t.Name()) + " AS " + alias + " WHERE " + filter
	what := fmt.Sprintf("rows of view %s for role %s, read with the definer's rights because the view calls functions that read data (%s)", t.Name(), p.Role.Name, p.Pos)
	return e.definerFunction(compiler.ViewSourceName(t.Name(), p.Role.Name), nil, "SETOF "+compiler.QuoteTable(t.Name()), body, t.Name().Schema, p.Role, what)
}

// selectGrant renders a GRANT SELECT on the table or view q to role
// (quoted), through the base table for a view that takes its grants from
// there.
func (e *emitter) selectGrant(q policies.QualifiedTable, role string) string {
	if t := e.prog.Catalog.Table(q); t != nil && t.GrantVia != nil {
		return grantVia(t, role)
	}
	return fmt.Sprintf("GRANT SELECT ON %s TO %s;\n", compiler.QuoteTable(q), role)
}

// grantVia renders SELECT on the base table of t (Table.GrantVia) to
// role, which the periods extension carries over to t.
func grantVia(t *compiler.Table, role string) string {
	return fmt.Sprintf("-- %s takes its grants from %s (extension periods refuses them on the view itself)\nGRANT SELECT ON %s TO %s;\n",
		t.Name, *t.GrantVia, compiler.QuoteTable(*t.GrantVia), role)
}
