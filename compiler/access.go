package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// ComputedAccess is how one role reads one computed field of a table
// through its select permission.
//
// A call fn(t) needs SELECT on every column of t (PostgreSQL checks a
// whole-row reference column by column), and a SETOF function's body reads
// the returned table with the caller's rights. When the role may read all
// of that, and the function reads nothing with the caller's rights that
// Hasura would read with the owner's (Catalog.ReadsAsCaller), it calls
// the function itself (Helper is empty). Otherwise it
// calls Helper, a SECURITY DEFINER function in schema rowguard that takes
// the row's primary key (Key), evaluates the field for that row only when
// the row passes the role's select filter, and, for a SETOF field, returns
// only the role's permitted columns (Remote.Columns) of the rows that pass
// the role's select filter on the returned table; so calling Helper from
// psql reveals nothing the API would not.
type ComputedAccess struct {
	Field  *ComputedField
	Helper string
	// Key is the table's primary key when Helper is set.
	Key []*Column
	// Remote is the role's select permission on Field.ReturnsTable (SETOF
	// fields only).
	Remote *Permission
}

// Computed returns the role's access to the computed field of that name,
// or nil.
func (p *Permission) Computed(name string) *ComputedAccess {
	for _, a := range p.ComputedAccess {
		if a.Field.Name == name {
			return a
		}
	}
	return nil
}

// ReadsAllColumns reports whether the permission lists every column of
// its table.
func (p *Permission) ReadsAllColumns() bool {
	for _, col := range p.Table.Columns {
		if !p.HasColumn(col.Name) {
			return false
		}
	}
	return true
}

// helperName is the deterministic name of a per-role definer function:
// readable parts, then a hash of them (the parts may contain "_").
func helperName(kind string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return ShortName("rg_" + kind + "_" + strings.Join(parts, "_") + "_" + hex.EncodeToString(sum[:3]))
}

// computedAccess fills Permission.ComputedAccess of every select
// permission: the scalar computed fields it lists, and every SETOF
// computed field whose returned table the role may select (Hasura
// publishes those as it publishes array relationships).
func (c *compiler) computedAccess() {
	for _, info := range c.prog.Tables {
		if len(info.ComputedFields) == 0 {
			continue
		}
		for _, p := range info.Permissions {
			if p.Op != policies.Select {
				continue
			}
			for _, cf := range info.ComputedFields {
				a := &ComputedAccess{Field: cf}
				direct := p.ReadsAllColumns()
				if cf.Scalar() {
					if !slices.Contains(p.ComputedFields, cf) {
						continue
					}
				} else {
					remote := c.infos[cf.ReturnsTable.Name]
					if remote == nil {
						continue
					}
					a.Remote = remote.Permission(p.Role.Name, policies.Select)
					if a.Remote == nil || len(a.Remote.Columns) == 0 {
						continue
					}
					direct = direct && a.Remote.ReadsAllColumns()
				}
				if c.cat.ReadsAsCaller(cf.Function) {
					// Hasura runs the function as the owner: the helper
					// runs it with the definer's rights, so the role needs
					// no permission on what the function reads.
					direct = false
				}
				if p.ColumnRows[cf.Name] != nil {
					// An inherited role reads the field only on the rows of
					// the members that list it: the helper checks that.
					direct = false
				}
				if !direct {
					for _, k := range info.Table.PrimaryKey {
						a.Key = append(a.Key, info.Table.Column(k))
					}
					if len(a.Key) == 0 {
						// Without a key the helper cannot find the row: the
						// role does not get the field.
						continue
					}
					a.Helper = helperName("cf", p.Role.Name, info.Name().Name, cf.Name)
				}
				p.ComputedAccess = append(p.ComputedAccess, a)
			}
		}
	}
}

// ReadableColumns lists the columns the role may read through a select
// permission, in table order: Columns and HiddenColumns but ctid (a
// helper returning rows on the role's behalf returns these).
func (p *Permission) ReadableColumns() []*Column {
	want := map[*Column]bool{}
	for _, c := range p.Columns {
		want[c] = true
	}
	for _, c := range p.HiddenColumns {
		want[c] = true
	}
	var out []*Column
	for _, c := range p.Table.Columns {
		if want[c] {
			out = append(out, c)
		}
	}
	return out
}
