package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// loginProblems checks, before serving, that the database enforces the
// permissions on the server's own requests: the login role is neither a
// superuser nor BYPASSRLS nor the owner of a tracked table (any of which
// would let a bug in the server read past the policies), it can switch to
// every API role and the admin role, every tracked table has FORCE ROW
// LEVEL SECURITY, and every tracked view is read only through the per-role
// views the install made (compiler.RoleViewName): each exists, and no API
// role may read the view itself, which would show it every row. It
// returns one line per problem.
func loginProblems(ctx context.Context, q compiler.Querier, prog *compiler.Program) ([]string, error) {
	var problems []string
	rows, err := q.Query(ctx, `SELECT rolname, rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user`)
	if err != nil {
		return nil, fmt.Errorf("check the login role: %w", err)
	}
	type login struct {
		Name             string
		Super, BypassRLS bool
	}
	me, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[login])
	if err != nil {
		return nil, fmt.Errorf("check the login role: %w", err)
	}
	if me.Super {
		problems = append(problems, fmt.Sprintf("the login role %q is a superuser: RLS does not apply to it", me.Name))
	}
	if me.BypassRLS {
		problems = append(problems, fmt.Sprintf("the login role %q has BYPASSRLS", me.Name))
	}

	roles := []string{prog.AdminPGRole()}
	for _, r := range prog.Roles {
		roles = append(roles, r.PGName)
	}
	rows, err = q.Query(ctx, `SELECT r FROM unnest($1::text[]) AS r
		WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) OR NOT pg_catalog.pg_has_role(current_user, r, 'MEMBER')
		ORDER BY r`, roles)
	if err != nil {
		return nil, fmt.Errorf("check role memberships: %w", err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check role memberships: %w", err)
	}
	if len(missing) > 0 && !me.Super {
		problems = append(problems, fmt.Sprintf("the login role %q cannot switch to %s: run `rowguard migrate up --login-role %s`",
			me.Name, strings.Join(missing, ", "), me.Name))
	}

	// Looked up by name in the catalog, not with ::regclass, which needs
	// USAGE on the table's schema.
	var schemas, names []string
	for _, t := range prog.Tables {
		schemas = append(schemas, t.Name().Schema)
		names = append(names, t.Name().Name)
	}
	rows, err = q.Query(ctx, `SELECT c.oid::regclass::text, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner) = current_user,
			c.relforcerowsecurity
		FROM unnest($1::text[], $2::text[]) AS t(schema, name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
		ORDER BY 1`, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("check the tracked tables: %w", err)
	}
	type rel struct {
		Name, Kind    string
		Owned, Forced bool
	}
	rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rel])
	if err != nil {
		return nil, fmt.Errorf("check the tracked tables: %w", err)
	}
	for _, r := range rels {
		if r.Owned {
			problems = append(problems, fmt.Sprintf("the login role %q owns %s: an owner can turn its row-level security off", me.Name, r.Name))
		}
		switch r.Kind {
		case "r", "p":
			if !r.Forced {
				problems = append(problems, fmt.Sprintf("%s lacks FORCE ROW LEVEL SECURITY: run `rowguard migrate up` (or `rowguard diff` to see the drift)", r.Name))
			}
		}
	}
	viewProblems, err := viewProblems(ctx, q, prog)
	if err != nil {
		return nil, err
	}
	return append(problems, viewProblems...), nil
}

// viewProblems checks the tracked views and materialized views, which
// have no row-level security: each role with a select permission must
// have its per-role view, and no API role may read the view itself
// (directly or through PUBLIC), since the view shows every row.
func viewProblems(ctx context.Context, q compiler.Querier, prog *compiler.Program) ([]string, error) {
	var views, readers, perRole []string
	for _, t := range prog.Tables {
		if !t.Table.IsView {
			continue
		}
		for _, p := range t.Permissions {
			if p.Op == policies.Select {
				perRole = append(perRole, compiler.QuoteTable(compiler.RoleViewName(t.Name(), p.Role.Name)))
			}
		}
		for _, r := range prog.Roles {
			views = append(views, compiler.QuoteTable(t.Name()))
			readers = append(readers, r.PGName)
		}
	}
	if len(views) == 0 {
		return nil, nil
	}
	var problems []string
	rows, err := q.Query(ctx, `SELECT v FROM unnest($1::text[]) AS v WHERE to_regclass(v) IS NULL ORDER BY 1`, perRole)
	if err != nil {
		return nil, fmt.Errorf("check the per-role views: %w", err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check the per-role views: %w", err)
	}
	for _, m := range missing {
		problems = append(problems, fmt.Sprintf("per-role view %s is missing: run `rowguard migrate up` (or `rowguard diff` to see the drift)", m))
	}
	rows, err = q.Query(ctx, `SELECT v.v, v.r FROM unnest($1::text[], $2::text[]) AS v(v, r)
		WHERE EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v.r)
		  AND pg_catalog.has_any_column_privilege(v.r, v.v::regclass, 'SELECT')
		ORDER BY 1, 2`, views, readers)
	if err != nil {
		return nil, fmt.Errorf("check the tracked views: %w", err)
	}
	type reader struct{ View, Role string }
	leaks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[reader])
	if err != nil {
		return nil, fmt.Errorf("check the tracked views: %w", err)
	}
	for _, l := range leaks {
		problems = append(problems, fmt.Sprintf("role %s may read view %s itself, every row of it (views have no row-level security): REVOKE SELECT ON %s FROM %s (and FROM PUBLIC)",
			l.Role, l.View, l.View, compiler.QuoteIdent(l.Role)))
	}
	return problems, nil
}
