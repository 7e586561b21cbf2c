package compiler

// This file holds how ParseDDL replays keys: PRIMARY KEY, UNIQUE and
// FOREIGN KEY constraints and unique indexes, with PostgreSQL's names for
// unnamed ones.

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// addKey adds a PRIMARY KEY or UNIQUE constraint to t.
func (b *ddlBuilder) addKey(t *Table, c *pg_query.Constraint) error {
	if c.Indexname != "" {
		return b.errorf(c.Location, "%s: constraints USING INDEX are not modelled offline; declare the key's columns, or read the catalog with --database-url", t.Name)
	}
	cols, all := strs(c.Keys), append(strs(c.Keys), strs(c.Including)...)
	for _, name := range all {
		if t.Column(name) == nil {
			return b.errorf(c.Location, "key of %s names column %q, which it does not have", t.Name, name)
		}
	}
	schema, name := t.Name.Schema, c.Conname
	m := b.meta[t]
	if c.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
		if t.PrimaryKey != nil {
			return b.errorf(c.Location, "%s has two primary keys: keep one, and make the other UNIQUE", t.Name)
		}
		if name == "" {
			name = b.chooseName(schema, t.Name.Name, "", "pkey", true, true)
		}
		t.PrimaryKey, m.pkName = cols, name
		for _, n := range cols {
			t.Column(n).NotNull = true
		}
	} else {
		if name == "" {
			name = b.chooseName(schema, t.Name.Name, nameAddition(indexColumnNames(all)), "key", true, true)
		}
		m.keys = append(m.keys, ddlKey{name: name, cols: cols, all: all, constraint: true})
	}
	b.rels[policies.QualifiedTable{Schema: schema, Name: name}] = true
	b.cons[policies.QualifiedTable{Schema: schema, Name: name}] = true
	return nil
}

// addForeignKey adds a FOREIGN KEY constraint to t; the referenced columns
// default to the referenced table's primary key.
func (b *ddlBuilder) addForeignKey(t *Table, c *pg_query.Constraint) error {
	cols := strs(c.FkAttrs)
	for _, name := range cols {
		if t.Column(name) == nil {
			return b.errorf(c.Location, "foreign key of %s names column %q, which it does not have", t.Name, name)
		}
	}
	name := c.Conname
	if name == "" {
		name = b.chooseName(t.Name.Schema, t.Name.Name, nameAddition(cols), "fkey", false, true)
	}
	b.cons[policies.QualifiedTable{Schema: t.Name.Schema, Name: name}] = true
	fk := &ForeignKey{Name: name, Columns: cols, RefTable: b.lookupRel(c.Pktable), RefColumns: strs(c.PkAttrs),
		Validated: !c.SkipValidation, Deferrable: c.Deferrable || c.Initdeferred}
	if ref := b.cat.Table(fk.RefTable); ref != nil && len(fk.RefColumns) == 0 {
		fk.RefColumns = append([]string(nil), ref.PrimaryKey...)
	}
	t.ForeignKeys = append(t.ForeignKeys, fk)
	b.pending = append(b.pending, pendingFK{t, fk, b.f, c.Location})
	return nil
}

// foreignKey returns t's foreign key of the given name, or nil.
func foreignKey(t *Table, name string) *ForeignKey {
	for _, fk := range t.ForeignKeys {
		if fk.Name == name {
			return fk
		}
	}
	return nil
}

// addKeys adds the PRIMARY KEY and UNIQUE constraints among keys, then the
// FOREIGN KEY ones among fks.
func (b *ddlBuilder) addKeys(t *Table, keys, fks []*pg_query.Constraint) error {
	for _, k := range keys {
		if k.Contype == pg_query.ConstrType_CONSTR_PRIMARY || k.Contype == pg_query.ConstrType_CONSTR_UNIQUE {
			if err := b.addKey(t, k); err != nil {
				return err
			}
		}
	}
	for _, k := range fks {
		if k.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
			if err := b.addForeignKey(t, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *ddlBuilder) createIndex(s *pg_query.IndexStmt) error {
	if s.Relation.Relpersistence == "t" {
		return nil
	}
	q := b.lookupRel(s.Relation)
	t := b.cat.Table(q)
	var names, cols, all []string
	plain := s.WhereClause == nil
	for i, n := range append(append([]*pg_query.Node{}, s.IndexParams...), s.IndexIncludingParams...) {
		e := n.GetIndexElem()
		name := e.Name
		if name == "" {
			plain, name = false, exprName(e.Expr)
		}
		if e.Indexcolname != "" {
			name = e.Indexcolname
		}
		names = append(names, name)
		if e.Name != "" && i < len(s.IndexParams) {
			cols = append(cols, e.Name)
		}
		all = append(all, e.Name)
	}
	name := policies.QualifiedTable{Schema: q.Schema, Name: s.Idxname}
	if s.Idxname == "" {
		name.Name = b.chooseName(q.Schema, q.Name, nameAddition(indexColumnNames(names)), "idx", true, false)
	} else if b.rels[name] && s.IfNotExists {
		return nil
	}
	if s.Unique && t == nil {
		return b.errorf(s.Relation.Location, "create unique index %s: table %s is not defined; create it first", name.Name, q)
	}
	if s.Unique && plain {
		for _, c := range all {
			if t.Columns != nil && t.Column(c) == nil {
				return b.errorf(s.Relation.Location, "create unique index %s: %s has no column %q", name.Name, q, c)
			}
		}
		b.meta[t].keys = append(b.meta[t].keys, ddlKey{name: name.Name, cols: cols, all: all, unordered: !orderedIndex(s)})
	}
	if !s.Unique && t != nil && b.meta[t] != nil && plain && orderedIndex(s) {
		b.meta[t].ordered = append(b.meta[t].ordered, ddlKey{name: name.Name, cols: cols, all: all})
	}
	b.rels[name] = true
	return nil
}

// orderedIndex reports whether s makes an index of Table.OrderedIndexes:
// btree, every key a column in the default order (ASC NULLS LAST) with
// its default operator class.
func orderedIndex(s *pg_query.IndexStmt) bool {
	if s.AccessMethod != "" && s.AccessMethod != "btree" {
		return false
	}
	for _, n := range s.IndexParams {
		e := n.GetIndexElem()
		if e == nil || e.Name == "" || len(e.Opclass) > 0 || len(e.Collation) > 0 ||
			e.Ordering == pg_query.SortByDir_SORTBY_DESC || e.NullsOrdering == pg_query.SortByNulls_SORTBY_NULLS_FIRST {
			return false
		}
	}
	return true
}

// exprName is the column name PostgreSQL gives an index expression when
// it names the index.
func exprName(n *pg_query.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		if s := last(strs(n.GetColumnRef().Fields)); s != "" {
			return s
		}
	case n.GetFuncCall() != nil:
		return last(strs(n.GetFuncCall().Funcname))
	case n.GetTypeCast() != nil:
		if s := exprName(n.GetTypeCast().Arg); s != "expr" {
			return s
		}
		return last(strs(n.GetTypeCast().TypeName.Names))
	}
	return "expr"
}
