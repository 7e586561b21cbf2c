package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// inheritedRoles records the inherited roles and gives each one, on every
// table where it has no permission of its own for an operation, the
// permission derived from its members' (Hasura's semantics):
//
//   - select: the rows any member may read (OR of the filters), the columns
//     any member may read, the largest limit (none when a member has none),
//     aggregations when any member allows them, the union of root fields.
//     A column that only some members may read is readable only on the rows
//     those members may read: Permission.ColumnRows holds that condition,
//     and the GraphQL planner returns null elsewhere.
//   - insert, update, delete: the members' permission when every member
//     that has one has the same one; otherwise none (Hasura reports the
//     inherited role's permission as inconsistent and leaves it out).
//
// Members may be inherited roles themselves; their derived permissions
// flatten into the outer one.
func (c *compiler) inheritedRoles(md *policies.Metadata) {
	defs := map[string]*policies.InheritedRole{}
	for _, ir := range md.InheritedRoles {
		if prev := defs[ir.Name]; prev != nil {
			c.errorf(ir.Pos, "inherited role %q is defined twice (first at %s): keep one entry", ir.Name, prev.Pos)
			continue
		}
		if ir.Name == "admin" {
			c.errorf(ir.Pos, "an inherited role cannot be named \"admin\": admin has every permission already")
			continue
		}
		defs[ir.Name] = ir
		r := &InheritedRole{Pos: ir.Pos, Role: c.role(ir.Name)}
		for _, m := range ir.RoleSet {
			if m == ir.Name {
				c.errorf(ir.Pos, "inherited role %q lists itself", ir.Name)
				continue
			}
			r.Members = append(r.Members, c.role(m))
		}
		c.prog.InheritedRoles = append(c.prog.InheritedRoles, r)
	}
	for _, ir := range md.InheritedRoles {
		if defs[ir.Name] == ir {
			if cycle := inheritanceCycle(defs, ir.Name, nil); cycle != nil {
				c.errorf(ir.Pos, "inherited roles form a cycle (%s): remove one of the roles from the other's role_set", strings.Join(cycle, " -> "))
				return
			}
		}
	}
	for _, info := range c.infos {
		d := &deriver{c: c, info: info, defs: defs, memo: map[string]*Permission{}}
		for _, ir := range md.InheritedRoles {
			if defs[ir.Name] != ir {
				continue
			}
			for _, op := range policies.Ops {
				if info.Permission(ir.Name, op) != nil {
					continue
				}
				if p := d.permission(ir.Name, op); p != nil {
					info.Permissions = append(info.Permissions, p)
				}
			}
		}
		sortPermissions(info)
	}
}

// inheritanceCycle returns the roles of a cycle through role, or nil.
func inheritanceCycle(defs map[string]*policies.InheritedRole, role string, path []string) []string {
	for i, r := range path {
		if r == role {
			return append(append([]string{}, path[i:]...), role)
		}
	}
	ir := defs[role]
	if ir == nil {
		return nil
	}
	path = append(path, role)
	for _, m := range ir.RoleSet {
		if m == role {
			continue
		}
		if cyc := inheritanceCycle(defs, m, path); cyc != nil {
			return cyc
		}
	}
	return nil
}

// deriver derives the permissions of inherited roles on one table.
type deriver struct {
	c    *compiler
	info *TableInfo
	defs map[string]*policies.InheritedRole
	memo map[string]*Permission // role + op → derived (nil: none)
}

// permission returns role's permission for op on the table: its own, or
// the one derived from its members.
func (d *deriver) permission(role string, op policies.Op) *Permission {
	if p := d.info.Permission(role, op); p != nil {
		return p
	}
	ir := d.defs[role]
	if ir == nil {
		return nil
	}
	key := role + "\x00" + string(op)
	if p, ok := d.memo[key]; ok {
		return p
	}
	var members []*Permission
	for _, m := range ir.RoleSet {
		if m == role {
			continue
		}
		if p := d.permission(m, op); p != nil {
			members = append(members, p)
		}
	}
	var out *Permission
	switch {
	case len(members) == 0:
	case op == policies.Select:
		out = d.combineSelect(ir, members)
	default:
		out = agreed(members)
		if out != nil {
			cp := *out
			cp.Role = d.c.role(role)
			cp.ColumnRows = nil
			out = &cp
		}
	}
	d.memo[key] = out
	return out
}

func (d *deriver) combineSelect(ir *policies.InheritedRole, members []*Permission) *Permission {
	t := d.info.Table
	out := &Permission{Pos: ir.Pos, Role: d.c.role(ir.Name), Op: policies.Select, Table: t}
	filters := &Or{Pos: ir.Pos}
	everyRow := false
	noLimit := false
	queryAbsent, subAbsent := false, false
	for _, m := range members {
		if isTrue(m.Filter) {
			everyRow = true
		}
		filters.Items = append(filters.Items, m.Filter)
		if m.Limit == nil {
			noLimit = true
		} else if out.Limit == nil || *m.Limit > *out.Limit {
			v := *m.Limit
			out.Limit = &v
		}
		out.AllowAggregations = out.AllowAggregations || m.AllowAggregations
		if m.QueryRootFields == nil {
			queryAbsent = true
		}
		out.QueryRootFields = union(out.QueryRootFields, m.QueryRootFields)
		if m.SubscriptionRootFields == nil {
			subAbsent = true
		}
		out.SubscriptionRootFields = union(out.SubscriptionRootFields, m.SubscriptionRootFields)
	}
	if noLimit {
		out.Limit = nil
	}
	if queryAbsent {
		out.QueryRootFields = nil
	}
	if subAbsent {
		out.SubscriptionRootFields = nil
	}
	if everyRow {
		out.Filter = &BoolConst{Pos: ir.Pos, Value: true}
	} else if len(filters.Items) == 1 {
		out.Filter = filters.Items[0]
	} else {
		out.Filter = filters
	}
	for _, col := range t.Columns {
		if d.fieldRows(ir, out, members, col.Name, func(m *Permission) bool { return m.HasColumn(col.Name) }) {
			out.Columns = append(out.Columns, col)
		}
	}
	for _, cf := range d.info.ComputedFields {
		if d.fieldRows(ir, out, members, cf.Name, func(m *Permission) bool { return hasComputed(m, cf) }) {
			out.ComputedFields = append(out.ComputedFields, cf)
		}
	}
	return out
}

// fieldRows reports whether some member may read the field (a column or a
// computed field) and, when only some of the rows out shows may read it,
// records on which in out.ColumnRows.
func (d *deriver) fieldRows(ir *policies.InheritedRole, out *Permission, members []*Permission, name string, has func(*Permission) bool) bool {
	rows := &Or{Pos: ir.Pos}
	always, some := false, false
	everyMember := true
	for _, m := range members {
		if !has(m) {
			everyMember = false
			continue
		}
		some = true
		cond := m.Filter
		if r := m.ColumnRows[name]; r != nil {
			cond = r
			everyMember = false
		}
		if isTrue(cond) {
			always = true
		}
		rows.Items = append(rows.Items, cond)
	}
	if !some || everyMember || always {
		return some // readable on every row the permission shows
	}
	if out.ColumnRows == nil {
		out.ColumnRows = map[string]Expr{}
	}
	if len(rows.Items) == 1 {
		out.ColumnRows[name] = rows.Items[0]
	} else {
		out.ColumnRows[name] = rows
	}
	return true
}

func hasComputed(p *Permission, cf *ComputedField) bool {
	for _, c := range p.ComputedFields {
		if c == cf {
			return true
		}
	}
	return false
}

// agreed returns the members' common permission, or nil when two differ.
func agreed(members []*Permission) *Permission {
	first := permissionKey(members[0])
	for _, m := range members[1:] {
		if permissionKey(m) != first {
			return nil
		}
	}
	return members[0]
}

// permissionKey renders what a non-select permission grants, so that two
// members' permissions can be compared by meaning (positions aside).
func permissionKey(p *Permission) string {
	var b strings.Builder
	for _, c := range p.Columns {
		b.WriteString(c.Name + ",")
	}
	r := &Renderer{}
	for _, e := range []Expr{p.Filter, p.Check} {
		b.WriteString("|")
		if e != nil {
			b.WriteString(r.Expr(e, "t"))
		}
	}
	for _, s := range p.Presets {
		b.WriteString("|" + s.Column.Name + "=" + r.Operand(s.Value, "t"))
	}
	if p.BackendOnly {
		b.WriteString("|backend_only")
	}
	return b.String()
}

func isTrue(e Expr) bool {
	switch e := e.(type) {
	case nil:
		return true
	case *BoolConst:
		return e.Value
	case *And:
		for _, it := range e.Items {
			if !isTrue(it) {
				return false
			}
		}
		return true
	}
	return false
}

func union(acc, more []string) []string {
	for _, s := range more {
		if !slices.Contains(acc, s) {
			acc = append(acc, s)
		}
	}
	return acc
}

// sortPermissions orders a table's permissions by role, then insert,
// select, update, delete.
func sortPermissions(info *TableInfo) {
	order := map[policies.Op]int{policies.Insert: 0, policies.Select: 1, policies.Update: 2, policies.Delete: 3}
	sort.SliceStable(info.Permissions, func(i, j int) bool {
		a, b := info.Permissions[i], info.Permissions[j]
		if a.Role.Name != b.Role.Name {
			return a.Role.Name < b.Role.Name
		}
		return order[a.Op] < order[b.Op]
	})
}

// ColumnRowsFunc is the helper function that evaluates a condition of
// Permission.ColumnRows for one row: it takes the row's ctid and tells
// whether the row satisfies cond. The GraphQL planner calls it as
// `rowguard.<Name>(t.ctid)`, because cond may read columns the inherited
// role may not select (a member's filter may read any column, as policies
// do); the function runs as the definer role, which reads the table, and
// its relationships, without their permissions, as Hasura evaluates a
// filter. The rls emitter installs it, grants the role SELECT on the
// table's ctid (a row's physical address, no data) and EXECUTE on it.
type ColumnRowsFunc struct {
	Name string // unqualified, in schema rowguard
	Body string // SQL of a function (p1 tid) RETURNS boolean
}

// ColumnRowsHelper returns the helper for cond over table t. Equal
// conditions share one function: the name is a hash of the body.
func ColumnRowsHelper(t *Table, cond Expr) ColumnRowsFunc {
	r := &Renderer{}
	where := r.Expr(cond, "_rg0")
	body := "SELECT COALESCE((SELECT " + where + " FROM " + QuoteTable(t.Name) + " _rg0 WHERE _rg0.ctid = p1), false)"
	sum := sha256.Sum256([]byte(body))
	return ColumnRowsFunc{Name: "rg_cols_" + hex.EncodeToString(sum[:6]), Body: body}
}
