package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
)

// loginProblems checks, before serving, that the database enforces the
// permissions on the server's own requests: the login role is neither a
// superuser nor BYPASSRLS nor the owner of a tracked table (any of which
// would let a bug in the server read past the policies), it can switch to
// every API role and the admin role, every tracked table has FORCE ROW
// LEVEL SECURITY, and no tracked view runs with its owner's rights. It
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
			c.relforcerowsecurity, coalesce(c.reloptions::text[] && ARRAY['security_invoker=true', 'security_invoker=on', 'security_invoker=1'], false)
		FROM unnest($1::text[], $2::text[]) AS t(schema, name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
		ORDER BY 1`, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("check the tracked tables: %w", err)
	}
	type rel struct {
		Name, Kind             string
		Owned, Forced, Invoker bool
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
		case "v":
			if !r.Invoker {
				problems = append(problems, fmt.Sprintf("view %s reads its tables with its owner's rights, past their policies: ALTER VIEW %s SET (security_invoker = true)", r.Name, r.Name))
			}
		}
	}
	return problems, nil
}
