package rls

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

// Querier is what Snapshot needs of a connection.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// snapshotQueries each yield one text column: one line per object that
// bears on permissions. Roles are those rowguard installed (rowguard.roles)
// plus any role that holds a policy or privilege on a table with RLS.
var snapshotQueries = []string{
	// Row security switches of every table that has it or has policies.
	`SELECT format('rls %I.%I enabled=%s forced=%s', n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity)
	   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	  WHERE c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity)`,
	// Policies, with the expressions as PostgreSQL deparses them.
	`SELECT format('policy %I.%I %I %s %s to %s using (%s) check (%s)', schemaname, tablename, policyname,
	        permissive, cmd, array_to_string(roles, ','), coalesce(qual, ''), coalesce(with_check, ''))
	   FROM pg_catalog.pg_policies`,
	// Table privileges of installed roles.
	`SELECT format('grant %s on %I.%I to %I', a.privilege_type, n.nspname, c.relname, r.rolname)
	   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
	        LATERAL aclexplode(c.relacl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
	  WHERE r.rolname IN (SELECT pg_role FROM rowguard.roles)`,
	// Column privileges of installed roles.
	`SELECT format('grant %s (%I) on %I.%I to %I', a.privilege_type, att.attname, n.nspname, c.relname, r.rolname)
	   FROM pg_catalog.pg_attribute att JOIN pg_catalog.pg_class c ON c.oid = att.attrelid
	        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
	        LATERAL aclexplode(att.attacl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
	  WHERE att.attacl IS NOT NULL AND r.rolname IN (SELECT pg_role FROM rowguard.roles)`,
	// Helper and trigger functions, by signature and a digest of the body.
	`SELECT format('function %s owner %I security_definer=%s body %s', p.oid::regprocedure, pg_get_userbyid(p.proowner),
	        p.prosecdef, md5(p.prosrc))
	   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'rowguard'`,
	// Triggers rowguard owns, and any other trigger on a table with RLS.
	`SELECT format('trigger %I on %I.%I %s', t.tgname, n.nspname, c.relname, pg_get_triggerdef(t.oid))
	   FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
	        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	  WHERE NOT t.tgisinternal AND (t.tgname LIKE 'rg\_%' OR c.relrowsecurity)`,
	// Per-role views of tracked views, by owner, options and a digest of
	// the definition (their grants are in the privilege lines above).
	`SELECT format('view %I.%I owner %I options %s definition %s', n.nspname, c.relname, pg_get_userbyid(c.relowner),
	        coalesce(array_to_string(c.reloptions, ','), ''), md5(pg_get_viewdef(c.oid)))
	   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname = 'rowguard' AND c.relkind = 'v'`,
	// Installed roles and their attributes.
	`SELECT format('role %I login=%s bypassrls=%s config=%s', r.rolname, r.rolcanlogin, r.rolbypassrls,
	        coalesce(array_to_string(r.rolconfig, ','), ''))
	   FROM pg_catalog.pg_roles r WHERE r.rolname IN (SELECT pg_role FROM rowguard.roles)`,
}

// Snapshot lists, one sorted line per object, everything in the database
// that decides what API roles may see and do: RLS switches, policies,
// grants, rowguard's functions, triggers and per-role views, and the
// roles. Two snapshots
// compare line by line to show drift.
func Snapshot(ctx context.Context, q Querier) ([]string, error) {
	var lines []string
	for _, sql := range snapshotQueries {
		rows, err := q.Query(ctx, sql)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		lines = append(lines, got...)
	}
	sort.Strings(lines)
	return lines, nil
}

// DiffLines compares two sorted snapshots: what only have has ("- "), and
// what only want has ("+ ").
func DiffLines(have, want []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(have) || j < len(want) {
		switch {
		case j >= len(want) || (i < len(have) && have[i] < want[j]):
			out = append(out, "- "+have[i])
			i++
		case i >= len(have) || want[j] < have[i]:
			out = append(out, "+ "+want[j])
			j++
		default:
			i++
			j++
		}
	}
	return out
}
