package compiler

import "github.com/rowguard/rowguard/policies"

// hiddenColumns fills Permission.HiddenColumns of every select permission:
// the columns PostgreSQL must let the role read so that the API can follow
// the relationships it publishes and count rows, although the permission
// does not list them.
func (c *compiler) hiddenColumns() {
	want := map[*Permission]map[*Column]bool{}
	add := func(p *Permission, col *Column) {
		if p.HasColumn(col.Name) {
			return
		}
		if want[p] == nil {
			want[p] = map[*Column]bool{}
		}
		want[p][col] = true
	}
	for _, info := range c.prog.Tables {
		for _, p := range info.Permissions {
			if p.Op != policies.Select {
				continue
			}
			for _, rel := range info.Relationships {
				remote := c.infos[rel.Remote.Name]
				if remote == nil {
					continue
				}
				rp := remote.Permission(p.Role.Name, policies.Select)
				if rp == nil {
					continue
				}
				for _, m := range rel.Mapping {
					add(p, m.Local)
					add(rp, m.Remote)
				}
			}
		}
	}
	for _, info := range c.prog.Tables {
		for _, p := range info.Permissions {
			for _, a := range p.ComputedAccess {
				// The API passes the key to the field's helper.
				for _, col := range a.Key {
					add(p, col)
				}
			}
		}
	}
	for _, info := range c.prog.Tables {
		for _, p := range info.Permissions {
			if p.Op != policies.Select {
				continue
			}
			if p.AllowAggregations && len(p.Columns) == 0 && len(want[p]) == 0 {
				if col := countColumn(info.Table); col != nil {
					add(p, col)
				}
			}
			for _, col := range info.Table.Columns {
				if want[p][col] {
					p.HiddenColumns = append(p.HiddenColumns, col)
				}
			}
			if want[p][CtidColumn] {
				p.HiddenColumns = append(p.HiddenColumns, CtidColumn)
			}
		}
	}
}

// CtidColumn is the system column a role that may count a table's rows
// but read none of its columns is granted: PostgreSQL needs a column the
// role may read before it lets the role count rows, and ctid (the row's
// physical position) tells nothing about the row's data. The API counts
// such rows through it (graphql's planner selects ctid when it needs no
// column).
var CtidColumn = &Column{Name: "ctid", Type: "tid", NotNull: true}

// countColumn is the column a role that may count rows but read no column
// is granted: ctid for a table; a view has no ctid, so there the first
// primary key column, else the first column; nil for a view without
// columns.
func countColumn(t *Table) *Column {
	if !t.IsView {
		return CtidColumn
	}
	if len(t.PrimaryKey) > 0 {
		if col := t.Column(t.PrimaryKey[0]); col != nil {
			return col
		}
	}
	if len(t.Columns) == 0 {
		return nil
	}
	return t.Columns[0]
}
