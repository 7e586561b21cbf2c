package compiler

// This file holds how ParseDDL replays DROP and what a drop takes with it:
// keys, foreign keys that reference the dropped object, owned sequences,
// views that read it.

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// drop replays DROP of tables, views, indexes, sequences, types,
// schemas and functions.
func (b *ddlBuilder) drop(s *pg_query.DropStmt) error {
	if s.RemoveType == pg_query.ObjectType_OBJECT_FUNCTION {
		return b.dropFunctions(s)
	}
	for _, o := range s.Objects {
		names := strs(o.GetList().GetItems())
		if sv := o.GetString_(); sv != nil {
			names = []string{sv.Sval}
		}
		if tn := o.GetTypeName(); tn != nil {
			names = strs(tn.Names)
		}
		if len(names) == 0 {
			continue
		}
		rv := &pg_query.RangeVar{Relname: last(names)}
		if len(names) > 1 {
			rv.Schemaname = names[len(names)-2]
		}
		q := b.lookupRel(rv)
		switch s.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
			if t := b.cat.Table(q); t != nil {
				b.dropTable(t)
			}
		case pg_query.ObjectType_OBJECT_INDEX:
			for t, m := range b.meta {
				if t.Name.Schema == q.Schema {
					b.dropConstraint(t, q.Name, true)
					m.ordered = slices.DeleteFunc(m.ordered, func(k ddlKey) bool { return k.name == q.Name })
				}
			}
			delete(b.rels, q)
		case pg_query.ObjectType_OBJECT_SEQUENCE:
			delete(b.rels, q)
			delete(b.owners, q)
			// CASCADE drops the defaults that draw from it.
			for t, m := range b.meta {
				for name, seq := range m.nextval {
					if seq == q {
						delete(m.nextval, name)
						if c := t.Column(name); c != nil {
							c.HasDefault = false
						}
					}
				}
			}
		case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
			q, ok := b.lookupType(names)
			if ok && b.types[q] {
				b.dropTypeUsers(q)
			}
			delete(b.types, q)
		case pg_query.ObjectType_OBJECT_SCHEMA:
			for _, t := range b.cat.SortedTables() {
				if t.Name.Schema == names[0] && b.cat.Tables[t.Name] == t {
					b.dropTable(t)
				}
			}
			for q := range b.funcs {
				if q.Schema == names[0] {
					b.funcs[q] = nil
					b.syncFunctions(q)
				}
			}
			for _, m := range []map[policies.QualifiedTable]bool{b.rels, b.types, b.cons} {
				for q := range m {
					if q.Schema == names[0] {
						delete(m, q)
					}
				}
			}
			delete(b.schemas, names[0])
		}
	}
	return nil
}

// dropTypeUsers drops what DROP TYPE … CASCADE takes along: the columns
// of that type (or arrays of it), and the views with such a column.
func (b *ddlBuilder) dropTypeUsers(q policies.QualifiedTable) {
	spelled := quoteIdentPG(q.Schema, true) + "." + quoteIdentPG(q.Name, true)
	for _, t := range b.cat.SortedTables() {
		if b.cat.Tables[t.Name] != t {
			continue
		}
		for _, c := range append([]*Column(nil), t.Columns...) {
			if c.Type != spelled && c.Type != spelled+"[]" {
				continue
			}
			if t.IsView {
				b.dropTable(t)
				break
			}
			for _, v := range b.dependents(t, c.Name) {
				if b.cat.Tables[v.Name] == v {
					b.dropTable(v)
				}
			}
			b.dropColumn(t, c)
		}
	}
}

// dropTable removes t with its keys, the sequences its columns own, the
// foreign keys that reference it and the views that read it (PostgreSQL's
// DROP … CASCADE).
func (b *ddlBuilder) dropTable(t *Table) {
	for _, v := range b.dependents(t, "") {
		if b.cat.Tables[v.Name] == v {
			b.dropTable(v)
		}
	}
	b.removeTable(t)
}

// removeTable removes t alone: its keys, the sequences its columns own and
// the foreign keys that reference it.
func (b *ddlBuilder) removeTable(t *Table) {
	for len(t.Columns) > 0 {
		b.dropColumn(t, t.Columns[0])
	}
	for _, fk := range t.ForeignKeys {
		delete(b.cons, policies.QualifiedTable{Schema: t.Name.Schema, Name: fk.Name})
	}
	delete(b.cat.Tables, t.Name)
	delete(b.rels, t.Name)
	delete(b.meta, t)
}

// dropColumn removes col from t, with the keys that use it and the foreign
// keys that use or reference it.
func (b *ddlBuilder) dropColumn(t *Table, col *Column) {
	m := b.meta[t]
	has := func(cols []string) bool {
		for _, c := range cols {
			if c == col.Name {
				return true
			}
		}
		return false
	}
	if has(t.PrimaryKey) {
		b.dropConstraint(t, m.pkName, false)
	}
	for i := len(m.keys) - 1; i >= 0; i-- {
		if i < len(m.keys) && has(m.keys[i].all) {
			b.dropConstraint(t, m.keys[i].name, true)
		}
	}
	for _, other := range b.cat.Tables {
		for i := len(other.ForeignKeys) - 1; i >= 0; i-- {
			if fk := other.ForeignKeys[i]; other == t && has(fk.Columns) || fk.RefTable == t.Name && has(fk.RefColumns) {
				b.dropConstraint(other, fk.Name, false)
			}
		}
	}
	for seq, owner := range b.owners {
		if owner == (colRef{t.Name, col.Name}) {
			delete(b.owners, seq)
			delete(b.rels, seq)
		}
	}
	delete(m.nextval, col.Name)
	for i, c := range t.Columns {
		if c == col {
			t.Columns = append(t.Columns[:i], t.Columns[i+1:]...)
			break
		}
	}
}

// dropConstraint removes t's key or foreign key of that name (a unique
// index too when index is set), and the foreign keys that reference the key.
func (b *ddlBuilder) dropConstraint(t *Table, name string, index bool) {
	m, q := b.meta[t], policies.QualifiedTable{Schema: t.Name.Schema, Name: name}
	var cols []string
	isPK := name == m.pkName && t.PrimaryKey != nil
	if isPK {
		cols, t.PrimaryKey, m.pkName = t.PrimaryKey, nil, ""
	}
	for i, k := range m.keys {
		if (k.constraint || index) && k.name == name {
			cols, m.keys = k.cols, append(m.keys[:i], m.keys[i+1:]...)
			break
		}
	}
	if cols != nil {
		delete(b.rels, q)
		delete(b.cons, q)
		for _, other := range b.cat.Tables {
			for _, fk := range append([]*ForeignKey(nil), other.ForeignKeys...) {
				if fk.RefTable == t.Name && (isPK && len(fk.RefColumns) == 0 || strings.Join(fk.RefColumns, ",") == strings.Join(cols, ",")) {
					b.dropConstraint(other, fk.Name, false)
				}
			}
		}
		return
	}
	for i, fk := range t.ForeignKeys {
		if fk.Name == name {
			t.ForeignKeys = append(t.ForeignKeys[:i], t.ForeignKeys[i+1:]...)
			delete(b.cons, q)
			break
		}
	}
}
