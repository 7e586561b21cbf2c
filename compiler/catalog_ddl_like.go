package compiler

// This file holds how ParseDDL replays CREATE TABLE … (LIKE source
// [INCLUDING …]): the source's columns with their types and NOT NULL,
// defaults, identity and generated expressions as the options ask, and
// with INCLUDING INDEXES its primary key and unique keys, named for the
// new table.

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// PostgreSQL's CREATE_TABLE_LIKE_* option bits.
const (
	likeDefaults  = 1 << 3
	likeGenerated = 1 << 4
	likeIdentity  = 1 << 5
	likeIndexes   = 1 << 6
)

// likeKeys are the keys LIKE … INCLUDING INDEXES copies, added once the
// table exists.
type likeKeys struct {
	pk      []string
	uniques []ddlKey
	ordered []ddlKey // the other indexes of Table.OrderedIndexes
}

// likeColumns appends the source's columns to t and returns the keys to
// copy.
func (b *ddlBuilder) likeColumns(t *Table, l *pg_query.TableLikeClause) (*likeKeys, error) {
	src := b.cat.Table(b.lookupRel(l.Relation))
	if src == nil {
		return nil, b.errorf(l.Relation.Location, "create table %s (LIKE %s): %s is not defined; create it in an earlier statement or file", t.Name, l.Relation.Relname, b.lookupRel(l.Relation))
	}
	if src.Columns == nil && src.ColumnsUnknown != "" {
		return nil, b.errorf(l.Relation.Location, "create table %s (LIKE %s): %s; read the catalog with --database-url", t.Name, src.Name, src.ColumnsUnknown)
	}
	opts, sm, m := l.Options, b.meta[src], b.meta[t]
	for _, c := range src.Columns {
		if t.Column(c.Name) != nil {
			return nil, b.errorf(l.Relation.Location, "column %q of %s is defined twice (LIKE %s has it too)", c.Name, t.Name, src.Name)
		}
		nc := &Column{Name: c.Name, Type: c.Type, NotNull: c.NotNull}
		switch {
		case c.Identity != "":
			if opts&likeIdentity != 0 {
				nc.Identity, nc.HasDefault = c.Identity, true
			}
		case c.Generated:
			if opts&likeGenerated != 0 {
				nc.Generated, nc.HasDefault = true, true
			}
		case c.HasDefault:
			if opts&likeDefaults != 0 {
				nc.HasDefault = true
				if seq, ok := sm.nextval[c.Name]; ok {
					m.nextval[c.Name] = seq // the source's sequence, which the new column does not own
				}
			}
		}
		t.Columns = append(t.Columns, nc)
	}
	keys := &likeKeys{}
	if opts&likeIndexes != 0 {
		keys.pk = append([]string(nil), src.PrimaryKey...)
		for _, k := range sm.keys {
			keys.uniques = append(keys.uniques, ddlKey{cols: append([]string(nil), k.cols...), all: append([]string(nil), k.all...), constraint: k.constraint, unordered: k.unordered})
		}
		for _, k := range sm.ordered {
			keys.ordered = append(keys.ordered, ddlKey{cols: append([]string(nil), k.cols...), all: append([]string(nil), k.all...)})
		}
	}
	return keys, nil
}

// addLikeKeys adds the copied keys with the names PostgreSQL gives them
// for the new table.
func (b *ddlBuilder) addLikeKeys(t *Table, keys []*likeKeys) {
	m, schema := b.meta[t], t.Name.Schema
	for _, lk := range keys {
		if lk.pk != nil && t.PrimaryKey == nil {
			name := b.chooseName(schema, t.Name.Name, "", "pkey", true, true)
			t.PrimaryKey, m.pkName = lk.pk, name
			b.rels[policies.QualifiedTable{Schema: schema, Name: name}] = true
			b.cons[policies.QualifiedTable{Schema: schema, Name: name}] = true
		}
		for _, k := range lk.uniques {
			label := "idx"
			if k.constraint {
				label = "key"
			}
			k.name = b.chooseName(schema, t.Name.Name, nameAddition(indexColumnNames(k.all)), label, true, k.constraint)
			m.keys = append(m.keys, k)
			b.rels[policies.QualifiedTable{Schema: schema, Name: k.name}] = true
			if k.constraint {
				b.cons[policies.QualifiedTable{Schema: schema, Name: k.name}] = true
			}
		}
		for _, k := range lk.ordered {
			k.name = b.chooseName(schema, t.Name.Name, nameAddition(indexColumnNames(k.all)), "idx", true, false)
			m.ordered = append(m.ordered, k)
			b.rels[policies.QualifiedTable{Schema: schema, Name: k.name}] = true
		}
	}
}
