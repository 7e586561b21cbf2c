package compiler

// This file holds how ParseDDL replays renames and moves between schemas:
// ALTER … RENAME [COLUMN | CONSTRAINT] … TO and ALTER … SET SCHEMA, of
// tables, views, indexes, sequences and types, with everything that names
// them (keys, foreign keys, serial sequences, column types).

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// rename replays ALTER … RENAME [COLUMN | CONSTRAINT] … TO.
func (b *ddlBuilder) rename(s *pg_query.RenameStmt) error {
	switch s.RenameType {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_SEQUENCE:
		// ALTER TABLE renames any relation, as ALTER INDEX and ALTER SEQUENCE do.
		q := b.lookupRel(s.Relation)
		to := policies.QualifiedTable{Schema: q.Schema, Name: s.Newname}
		if ok, err := b.movable("rename", s.Relation, s.MissingOk, q, to); !ok {
			return err
		}
		if t := b.cat.Table(q); t != nil {
			b.moveTable(t, to)
			return nil
		}
		b.renameIndex(q, s.Newname)
		b.moveSequence(q, to)
		delete(b.rels, q)
		b.rels[to] = true
	case pg_query.ObjectType_OBJECT_COLUMN:
		t := b.cat.Table(b.lookupRel(s.Relation))
		if t == nil {
			if s.MissingOk || s.Relation.Relpersistence == "t" {
				return nil
			}
			return b.errorf(s.Relation.Location, "rename column: %s is not defined; create it in an earlier statement or file", b.lookupRel(s.Relation))
		}
		col := t.Column(s.Subname)
		if col == nil {
			return b.errorf(s.Relation.Location, "rename column: %s has no column %q", t.Name, s.Subname)
		}
		if t.Column(s.Newname) != nil {
			return b.errorf(s.Relation.Location, "rename column %q of %s: column %q already exists", s.Subname, t.Name, s.Newname)
		}
		b.renameColumn(t, col, s.Newname)
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT:
		t := b.cat.Table(b.lookupRel(s.Relation))
		if t == nil {
			if s.MissingOk {
				return nil
			}
			return b.errorf(s.Relation.Location, "rename constraint: %s is not defined; create it in an earlier statement or file", b.lookupRel(s.Relation))
		}
		b.renameConstraint(t, s.Subname, s.Newname)
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		names := typeNames(s.Object)
		if q, ok := b.lookupType(names); ok && b.types[q] {
			b.moveType(q, policies.QualifiedTable{Schema: q.Schema, Name: s.Newname})
		}
	case pg_query.ObjectType_OBJECT_FUNCTION:
		return b.moveFunction(s.Object.GetObjectWithArgs(), "", s.Newname)
	case pg_query.ObjectType_OBJECT_SCHEMA:
		for q := range b.rels {
			if q.Schema == s.Subname {
				return b.errorf(-1, "alter schema %s rename to %s: renaming a schema that holds relations is not modelled offline; read the catalog with --database-url", s.Subname, s.Newname)
			}
		}
		if b.schemas[s.Subname] {
			delete(b.schemas, s.Subname)
			b.schemas[s.Newname] = true
		}
	}
	return nil
}

// setSchema replays ALTER … SET SCHEMA.
func (b *ddlBuilder) setSchema(s *pg_query.AlterObjectSchemaStmt) error {
	switch s.ObjectType {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_SEQUENCE:
		q := b.lookupRel(s.Relation)
		to := policies.QualifiedTable{Schema: s.Newschema, Name: q.Name}
		if ok, err := b.movable("set schema", s.Relation, s.MissingOk, q, to); !ok {
			return err
		}
		if t := b.cat.Table(q); t != nil {
			b.moveTable(t, to)
			return nil
		}
		b.moveSequence(q, to)
		delete(b.rels, q)
		b.rels[to] = true
	case pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN:
		if q, ok := b.lookupType(typeNames(s.Object)); ok && b.types[q] {
			b.moveType(q, policies.QualifiedTable{Schema: s.Newschema, Name: q.Name})
		}
	case pg_query.ObjectType_OBJECT_FUNCTION:
		return b.moveFunction(s.Object.GetObjectWithArgs(), s.Newschema, "")
	}
	return nil
}

// typeNames returns the name of a type as a RENAME or SET SCHEMA object
// spells it.
func typeNames(n *pg_query.Node) []string {
	if tn := n.GetTypeName(); tn != nil {
		return strs(tn.Names)
	}
	return strs(n.GetList().GetItems())
}

// moveTable renames t to to (another schema, or another name): foreign
// keys that reference it follow, and on a move between schemas its
// constraints, indexes and owned sequences go with it, as PostgreSQL's
// ALTER TABLE … SET SCHEMA moves them.
func (b *ddlBuilder) moveTable(t *Table, to policies.QualifiedTable) {
	from := t.Name
	oldType := quoteIdentPG(from.Schema, true) + "." + quoteIdentPG(from.Name, true)
	delete(b.cat.Tables, from)
	delete(b.rels, from)
	t.Name = to
	b.cat.Tables[to] = t
	b.rels[to] = true
	for _, other := range b.cat.Tables {
		for _, fk := range other.ForeignKeys {
			if fk.RefTable == from {
				fk.RefTable = to
			}
		}
	}
	for seq, owner := range b.owners {
		if owner.table == from {
			b.owners[seq] = colRef{to, owner.col}
		}
	}
	if from.Schema != to.Schema {
		m := b.meta[t]
		var names []string
		if m.pkName != "" {
			names = append(names, m.pkName)
		}
		for _, k := range m.keys {
			names = append(names, k.name)
		}
		for _, fk := range t.ForeignKeys {
			names = append(names, fk.Name)
		}
		for _, n := range names {
			old, moved := policies.QualifiedTable{Schema: from.Schema, Name: n}, policies.QualifiedTable{Schema: to.Schema, Name: n}
			if b.rels[old] {
				delete(b.rels, old)
				b.rels[moved] = true
			}
			if b.cons[old] {
				delete(b.cons, old)
				b.cons[moved] = true
			}
		}
		for seq, owner := range b.owners {
			if owner.table == to {
				b.moveSequence(seq, policies.QualifiedTable{Schema: to.Schema, Name: seq.Name})
				delete(b.rels, seq)
				b.rels[policies.QualifiedTable{Schema: to.Schema, Name: seq.Name}] = true
			}
		}
	}
	b.retype(oldType, quoteIdentPG(to.Schema, true)+"."+quoteIdentPG(to.Name, true))
}

// moveSequence renames sequence from to to where serial columns and
// ownership name it (its pg_class name is the caller's).
func (b *ddlBuilder) moveSequence(from, to policies.QualifiedTable) {
	if owner, ok := b.owners[from]; ok {
		delete(b.owners, from)
		b.owners[to] = owner
	}
	for _, m := range b.meta {
		for col, seq := range m.nextval {
			if seq == from {
				m.nextval[col] = to
			}
		}
	}
}

// renameIndex renames the key backed by index q (a primary key or unique
// constraint renames with its index).
func (b *ddlBuilder) renameIndex(q policies.QualifiedTable, to string) {
	for t, m := range b.meta {
		if t.Name.Schema != q.Schema {
			continue
		}
		for i := range m.ordered {
			if m.ordered[i].name == q.Name {
				m.ordered[i].name = to
			}
		}
		if m.pkName == q.Name {
			b.renameConstraint(t, q.Name, to)
			return
		}
		for i := range m.keys {
			if m.keys[i].name == q.Name {
				b.renameConstraint(t, q.Name, to)
				return
			}
		}
	}
}

// renameConstraint renames t's key or foreign key, and the index of a key.
func (b *ddlBuilder) renameConstraint(t *Table, from, to string) {
	m := b.meta[t]
	old, moved := policies.QualifiedTable{Schema: t.Name.Schema, Name: from}, policies.QualifiedTable{Schema: t.Name.Schema, Name: to}
	found := false
	if m.pkName == from {
		m.pkName, found = to, true
	}
	for i := range m.keys {
		if m.keys[i].name == from {
			m.keys[i].name, found = to, true
		}
	}
	if fk := foreignKey(t, from); fk != nil {
		fk.Name, found = to, true
	}
	if !found {
		return // a CHECK or EXCLUDE constraint, which the catalog does not hold
	}
	if b.rels[old] {
		delete(b.rels, old)
		b.rels[moved] = true
	}
	if b.cons[old] {
		delete(b.cons, old)
		b.cons[moved] = true
	}
}

// renameColumn renames col of t where keys, foreign keys (t's and those
// referencing t) and sequence ownership name it. Views keep the column
// names they were created with, as in PostgreSQL.
func (b *ddlBuilder) renameColumn(t *Table, col *Column, to string) {
	from := col.Name
	col.Name = to
	ren := func(cols []string) {
		for i, c := range cols {
			if c == from {
				cols[i] = to
			}
		}
	}
	m := b.meta[t]
	ren(t.PrimaryKey)
	for _, k := range m.keys {
		ren(k.cols)
		ren(k.all)
	}
	for _, fk := range t.ForeignKeys {
		ren(fk.Columns)
	}
	for _, other := range b.cat.Tables {
		for _, fk := range other.ForeignKeys {
			if fk.RefTable == t.Name {
				ren(fk.RefColumns)
			}
		}
	}
	for seq, owner := range b.owners {
		if owner == (colRef{t.Name, from}) {
			b.owners[seq] = colRef{t.Name, to}
		}
	}
	if seq, ok := m.nextval[from]; ok {
		delete(m.nextval, from)
		m.nextval[to] = seq
	}
}

// moveType renames or moves a user-defined type, and respells the columns
// of that type (or arrays of it).
func (b *ddlBuilder) moveType(from, to policies.QualifiedTable) {
	delete(b.types, from)
	b.types[to] = true
	b.retype(quoteIdentPG(from.Schema, true)+"."+quoteIdentPG(from.Name, true), quoteIdentPG(to.Schema, true)+"."+quoteIdentPG(to.Name, true))
}

// retype respells columns of type from (or from[]) as to.
func (b *ddlBuilder) retype(from, to string) {
	for _, t := range b.cat.Tables {
		for _, c := range t.Columns {
			switch c.Type {
			case from:
				c.Type = to
			case from + "[]":
				c.Type = to + "[]"
			}
		}
	}
}

// movable checks a rename or SET SCHEMA (what) of relation q, named by rv,
// to the name to: q must exist (unless IF EXISTS, or a temporary relation,
// which the catalog does not keep: then there is nothing to do) and to must
// be free.
func (b *ddlBuilder) movable(what string, rv *pg_query.RangeVar, missingOK bool, q, to policies.QualifiedTable) (bool, error) {
	if !b.rels[q] {
		if missingOK || rv.Relpersistence == "t" {
			return false, nil
		}
		return false, b.errorf(rv.Location, "%s: relation %s is not defined; create it in an earlier statement or file", what, q)
	}
	if b.rels[to] {
		return false, b.errorf(rv.Location, "%s %s: relation %s already exists", what, q, to)
	}
	return true, nil
}
