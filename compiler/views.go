package compiler

import "github.com/rowguard/rowguard/policies"

// PostgreSQL has no row-level security on views and materialized views.
// Hasura reads a tracked view with its owner's rights (the permissions of
// the view's tables do not apply) and applies only the view's own select
// permission. rowguard does the same in the database: for each role with
// a select permission on a view, the install creates a security-barrier
// view in schema rowguard (RoleViewName) that reads the view as the
// definer role and keeps the rows the role's filter shows; the role is
// granted its columns there and nothing on the view itself. The GraphQL
// planner reads that view for the role; admin reads the view itself.

// RoleViewName is the per-role view through which role (a Hasura role
// name) reads the tracked view view: rowguard.rg_<view>_<role>, with the
// view's schema before its name when it is not public, shortened with a
// hash suffix past PostgreSQL's identifier limit (ShortName).
func RoleViewName(view policies.QualifiedTable, role string) policies.QualifiedTable {
	name := "rg_" + view.Name + "_" + role
	if view.Schema != "public" {
		name = "rg_" + view.Schema + "_" + view.Name + "_" + role
	}
	return policies.QualifiedTable{Schema: "rowguard", Name: ShortName(name)}
}

// ReadAs is the relation role reads for table t: the role's per-role view
// for a view (RoleViewName) unless role is "" (admin), t itself
// otherwise.
func ReadAs(t *Table, role string) policies.QualifiedTable {
	if t.IsView && role != "" {
		return RoleViewName(t.Name, role)
	}
	return t.Name
}

// viewWrites drops the insert, update and delete permissions of tracked
// views, each with a warning: they are not served (neither installed nor
// published in the GraphQL schema), and the rest of the metadata installs.
// Hasura runs such writes with its own rights through an updatable view;
// under rowguard they would need per-role views WITH CHECK OPTION, not
// built yet.
func (c *compiler) viewWrites() {
	for _, info := range c.prog.Tables {
		if !info.Table.IsView {
			continue
		}
		kept := info.Permissions[:0]
		for _, p := range info.Permissions {
			if p.Op == policies.Select {
				kept = append(kept, p)
				continue
			}
			kind := "view"
			if info.Table.Materialized {
				kind = "materialized view"
			}
			c.warns = append(c.warns, policies.Errorf(p.Pos,
				"%s permission of role %s on %s %s is not served: rowguard serves only select permissions on views", p.Op, p.Role.Name, kind, info.Name()))
		}
		info.Permissions = kept
	}
}

// viewNames reports two select permissions whose per-role views would
// take the same name (RoleViewName joins names with "_", so view "a_b"
// with role "c" meets view "a" with role "b_c"), which would otherwise
// fail the install with "relation already exists".
func (c *compiler) viewNames() {
	seen := map[policies.QualifiedTable]*Permission{}
	for _, info := range c.prog.Tables {
		if !info.Table.IsView {
			continue
		}
		for _, p := range info.Permissions {
			if p.Op != policies.Select {
				continue
			}
			name := RoleViewName(info.Name(), p.Role.Name)
			if prev := seen[name]; prev != nil {
				c.errorf(p.Pos, "the per-role view of role %s on %s would be %s, as that of role %s on %s (%s): rename a role or a view",
					p.Role.Name, info.Name(), name, prev.Role.Name, prev.Table.Name, prev.Pos)
				continue
			}
			seen[name] = p
		}
	}
}

// ViewSourceName is the SECURITY DEFINER function through which role's
// per-role view reads view when the view calls functions that read as the
// caller (TableInfo.Source). A view's own relations are read with its
// owner's rights, but the functions it calls run as whoever reads it, and
// EXECUTE on a function a view calls is checked against the reader too; so
// the function is the role's own (only it may execute it) and returns only
// what its per-role view shows.
func ViewSourceName(view policies.QualifiedTable, role string) string {
	return helperName("vs", role, view.Schema, view.Name)
}

// viewSources sets TableInfo.Source on the tracked views (not
// materialized: those ran their functions when refreshed) that call a
// function reading data with the caller's rights.
func (c *compiler) viewSources() {
	for _, info := range c.prog.Tables {
		if !info.Table.IsView || info.Table.Materialized {
			continue
		}
		for _, q := range info.Table.Calls {
			if f := c.cat.Function(q); f == nil || c.cat.ReadsAsCaller(f) {
				info.Source = true
				break
			}
		}
	}
}
