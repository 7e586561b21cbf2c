package compiler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// Options tunes compilation.
type Options struct {
	// RolePrefix is put before Hasura role names to make PostgreSQL role
	// names; DefaultRolePrefix when empty.
	RolePrefix string
}

func (o Options) rolePrefix() string {
	if o.RolePrefix == "" {
		return DefaultRolePrefix
	}
	return o.RolePrefix
}

// Compile resolves md against cat. It reports every problem it finds, each
// at its metadata position; the Program is usable only when the list is
// empty.
func Compile(cat *Catalog, md *policies.Metadata, opts Options) (*Program, policies.ErrorList) {
	c := &compiler{
		cat:   cat,
		opts:  opts,
		prog:  &Program{Options: opts, Catalog: cat},
		infos: map[policies.QualifiedTable]*TableInfo{},
		meta:  map[policies.QualifiedTable]*policies.Table{},
		roles: map[string]*Role{},
	}
	c.tables(md)
	c.graphqlNames()
	c.enums()
	c.relationships()
	c.computedFields()
	for _, mt := range md.Tables {
		if info := c.infos[mt.Table]; info != nil && c.meta[mt.Table] == mt {
			c.permissions(info, mt)
		}
	}
	c.viewWrites()
	c.inheritedRoles(md)
	c.computedAccess()
	c.trackedFunctions(md)
	c.hiddenColumns()
	c.viewNames()
	c.viewSources()
	c.finish()
	c.errs.Sort()
	c.prog.Warnings = append(append(policies.ErrorList{}, md.Warnings...), c.warns...)
	c.prog.Warnings.Sort()
	return c.prog, c.errs
}

type compiler struct {
	cat   *Catalog
	opts  Options
	prog  *Program
	errs  policies.ErrorList
	warns policies.ErrorList
	infos map[policies.QualifiedTable]*TableInfo
	meta  map[policies.QualifiedTable]*policies.Table
	roles map[string]*Role
	// rootNames holds the query root fields of tables, so tracked
	// functions can be checked against them.
	rootNames map[string]takenName
}

func (c *compiler) errorf(pos policies.Pos, format string, args ...any) {
	c.errs = append(c.errs, policies.Errorf(pos, format, args...))
}

// warnf records what the metadata asks for that will not be served.
func (c *compiler) warnf(pos policies.Pos, format string, args ...any) {
	c.warns = append(c.warns, policies.Errorf(pos, format, args...))
}

func (c *compiler) tables(md *policies.Metadata) {
	for _, mt := range md.Tables {
		if prev := c.meta[mt.Table]; prev != nil {
			c.errorf(mt.Pos, "table %s is tracked twice (first at %s): keep one entry", mt.Table, prev.Pos)
			continue
		}
		t := c.cat.Table(mt.Table)
		if t == nil {
			c.errorf(mt.Pos, "table %s does not exist in the database: create it in a migration, or remove it from the metadata", mt.Table)
			continue
		}
		if t.ColumnsUnknown != "" {
			c.errorf(mt.Pos, "table %s: %s; compile with --database-url to read them from the database, or list the view's columns", mt.Table, t.ColumnsUnknown)
			continue
		}
		c.meta[mt.Table] = mt
		info := &TableInfo{Pos: mt.Pos, Table: t}
		c.infos[mt.Table] = info
		c.prog.Tables = append(c.prog.Tables, info)
	}
	sort.Slice(c.prog.Tables, func(i, j int) bool {
		a, b := c.prog.Tables[i].Name(), c.prog.Tables[j].Name()
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		return a.Name < b.Name
	})
}

// info returns the TableInfo of a tracked table, or a bare one (no
// relationships) for a table that exists but is not tracked.
func (c *compiler) info(t *Table) *TableInfo {
	if i := c.infos[t.Name]; i != nil {
		return i
	}
	return &TableInfo{Table: t}
}

func (c *compiler) relationships() {
	for _, info := range c.prog.Tables {
		mt := c.meta[info.Name()]
		seen := map[string]bool{}
		for _, r := range mt.Relationships() {
			if seen[r.Name] {
				c.errorf(r.Pos, "relationship %q is defined twice on %s", r.Name, info.Name())
				continue
			}
			seen[r.Name] = true
			if info.Table.Column(r.Name) != nil {
				c.errorf(r.Pos, "relationship %q has the name of a column of %s: rename the relationship", r.Name, info.Name())
				continue
			}
			if rel := c.relationship(info.Table, r); rel != nil {
				info.Relationships = append(info.Relationships, rel)
			}
		}
	}
}

func (c *compiler) relationship(from *Table, r *policies.Relationship) *Relationship {
	rel := &Relationship{Pos: r.Pos, Name: r.Name, Kind: r.Kind, From: from}
	switch {
	case r.Manual != nil:
		rel.Remote = c.cat.Table(r.Manual.RemoteTable)
		if rel.Remote == nil {
			c.errorf(r.Pos, "relationship %q: remote table %s does not exist", r.Name, r.Manual.RemoteTable)
			return nil
		}
		for _, m := range r.Manual.ColumnMapping {
			l, rc := from.Column(m.Local), rel.Remote.Column(m.Remote)
			if l == nil {
				c.errorf(r.Pos, "relationship %q: column_mapping names %q, which is not a column of %s", r.Name, m.Local, from.Name)
				return nil
			}
			if rc == nil {
				c.errorf(r.Pos, "relationship %q: column_mapping names %q, which is not a column of %s", r.Name, m.Remote, rel.Remote.Name)
				return nil
			}
			rel.Mapping = append(rel.Mapping, ColumnPair{Local: l, Remote: rc})
		}
	case r.RemoteFK != nil:
		rel.Remote = c.cat.Table(r.RemoteFK.Table)
		if rel.Remote == nil {
			c.errorf(r.Pos, "relationship %q: table %s does not exist", r.Name, r.RemoteFK.Table)
			return nil
		}
		fk := findFK(rel.Remote, r.RemoteFK.Columns, from.Name)
		if fk == nil {
			c.errorf(r.Pos, "relationship %q: %s has no foreign key on (%s) referencing %s: add the constraint or use manual_configuration",
				r.Name, rel.Remote.Name, strings.Join(r.RemoteFK.Columns, ", "), from.Name)
			return nil
		}
		for i, col := range fk.Columns {
			rel.Mapping = append(rel.Mapping, ColumnPair{Local: from.Column(fk.RefColumns[i]), Remote: rel.Remote.Column(col)})
		}
	default:
		fk := findFK(from, r.FKColumns, policies.QualifiedTable{})
		if fk == nil {
			c.errorf(r.Pos, "relationship %q: %s has no foreign key on (%s): add the constraint or use manual_configuration",
				r.Name, from.Name, strings.Join(r.FKColumns, ", "))
			return nil
		}
		rel.Remote = c.cat.Table(fk.RefTable)
		if rel.Remote == nil {
			c.errorf(r.Pos, "relationship %q: referenced table %s is not in the catalog", r.Name, fk.RefTable)
			return nil
		}
		for i, col := range fk.Columns {
			rel.Mapping = append(rel.Mapping, ColumnPair{Local: from.Column(col), Remote: rel.Remote.Column(fk.RefColumns[i])})
		}
	}
	for _, m := range rel.Mapping {
		if m.Local == nil || m.Remote == nil {
			c.errorf(r.Pos, "relationship %q: a mapped column is missing from the catalog", r.Name)
			return nil
		}
	}
	return rel
}

// findFK finds a foreign key of t on exactly cols (in any order); when ref
// is set, it must reference that table.
func findFK(t *Table, cols []string, ref policies.QualifiedTable) *ForeignKey {
	want := append([]string(nil), cols...)
	sort.Strings(want)
	for _, fk := range t.ForeignKeys {
		got := append([]string(nil), fk.Columns...)
		sort.Strings(got)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			continue
		}
		if ref.Name != "" && fk.RefTable != ref {
			continue
		}
		return fk
	}
	return nil
}

func (c *compiler) role(name string) *Role {
	if r := c.roles[name]; r != nil {
		return r
	}
	r := &Role{Name: name, PGName: PGRoleName(c.opts.rolePrefix(), name)}
	c.roles[name] = r
	return r
}

func (c *compiler) permissions(info *TableInfo, mt *policies.Table) {
	for _, p := range mt.Permissions {
		if p.Role == "admin" {
			c.errorf(p.Pos, "role \"admin\" has every permission already: remove this %s permission", p.Op)
			continue
		}
		perm := &Permission{
			Pos: p.Pos, Role: c.role(p.Role), Op: p.Op, Table: info.Table,
			Limit: p.Limit, AllowAggregations: p.AllowAggregations, BackendOnly: p.BackendOnly,
		}
		if p.HasQueryRootFields {
			perm.QueryRootFields = append([]string{}, p.QueryRootFields...)
		}
		if p.HasSubscriptionRootFields {
			perm.SubscriptionRootFields = append([]string{}, p.SubscriptionRootFields...)
		}
		if p.Op != policies.Delete {
			perm.Columns = c.columns(info.Table, p)
		}
		if p.Op == policies.Select {
			perm.ComputedFields = c.permissionComputedFields(info, p)
		}
		if p.Filter != nil {
			perm.Filter = c.expr(p.Filter, info, info.Table)
		}
		if p.Check != nil {
			perm.Check = c.expr(p.Check, info, info.Table)
		}
		for _, s := range p.Set {
			col := info.Table.Column(s.Column)
			if col == nil {
				c.errorf(s.Pos, "preset column %q is not a column of %s", s.Column, info.Name())
				continue
			}
			if col.Type == UnknownType {
				c.unknownType(s.Pos, col, info.Table)
				continue
			}
			perm.Presets = append(perm.Presets, &Preset{Pos: s.Pos, Column: col, Value: c.operand(s.Value, col.Type, "set "+s.Column)})
		}
		sort.SliceStable(perm.Presets, func(i, j int) bool {
			return columnIndex(info.Table, perm.Presets[i].Column) < columnIndex(info.Table, perm.Presets[j].Column)
		})
		info.Permissions = append(info.Permissions, perm)
	}
	sortPermissions(info)
}

func columnIndex(t *Table, col *Column) int {
	for i, c := range t.Columns {
		if c == col {
			return i
		}
	}
	return -1
}

func (c *compiler) columns(t *Table, p *policies.Permission) []*Column {
	if p.AllColumns {
		return append([]*Column(nil), t.Columns...)
	}
	want := map[string]bool{}
	for i, name := range p.Columns {
		if t.Column(name) == nil {
			pos := p.ColumnsPos
			if i < len(p.ColumnPos) {
				pos = p.ColumnPos[i]
			}
			c.errorf(pos, "%s permission for role %q lists column %q, which %s does not have (columns: %s)",
				p.Op, p.Role, name, t.Name, columnNames(t))
			continue
		}
		want[name] = true
	}
	out := []*Column{}
	for _, col := range t.Columns {
		if want[col.Name] {
			out = append(out, col)
		}
	}
	return out
}

func columnNames(t *Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// finish lists the roles and checks that no two map to one PostgreSQL role.
func (c *compiler) finish() {
	byPG := map[string]string{}
	for _, r := range c.roles {
		c.prog.Roles = append(c.prog.Roles, r)
	}
	sort.Slice(c.prog.Roles, func(i, j int) bool { return c.prog.Roles[i].Name < c.prog.Roles[j].Name })
	for _, r := range c.prog.Roles {
		if other, ok := byPG[r.PGName]; ok {
			c.errorf(policies.Pos{}, "roles %q and %q both map to PostgreSQL role %q: rename one", other, r.Name, r.PGName)
		}
		byPG[r.PGName] = r.Name
	}
}

// ResolveBoolExp resolves a boolean expression against a tracked table, for
// callers outside compilation such as the GraphQL planner's `where`
// arguments. Relationships resolve as in permissions.
func (p *Program) ResolveBoolExp(e policies.BoolExp, t *TableInfo) (Expr, policies.ErrorList) {
	c := &compiler{cat: p.Catalog, opts: p.Options, prog: p, infos: map[policies.QualifiedTable]*TableInfo{}, roles: map[string]*Role{}}
	for _, ti := range p.Tables {
		c.infos[ti.Name()] = ti
	}
	out := c.expr(e, t, t.Table)
	return out, c.errs
}

func (c *compiler) notFound(pos policies.Pos, name string, scope *TableInfo) {
	var rels []string
	for _, r := range scope.Relationships {
		rels = append(rels, r.Name)
	}
	hint := "columns: " + columnNames(scope.Table)
	if len(rels) > 0 {
		hint += "; relationships: " + strings.Join(rels, ", ")
	}
	c.errorf(pos, "%q is neither a column nor a relationship of %s (%s)", name, scope.Name(), hint)
}

var _ = fmt.Sprintf
