package compiler

import (
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// EnumTable is the shape of a table tracked with `is_enum: true`: Hasura
// publishes its rows as the values of a GraphQL enum, Key's values being
// the names and Comment's (when the table has it) their descriptions.
// The table stays an ordinary tracked table too.
type EnumTable struct {
	Key     *Column
	Comment *Column // nil when the table has only its key
}

// EnumTypeName is the name of the GraphQL enum an enum table publishes:
// <type name>_enum, as Hasura names it.
func (t *TableInfo) EnumTypeName() string { return t.GraphQL.Type + "_enum" }

// EnumOf returns the enum table a column of t takes its values from (the
// column has a single-column foreign key to that table's key), or nil.
func (t *TableInfo) EnumOf(column string) *TableInfo { return t.EnumRefs[column] }

// enums checks the shape of every enum table against the catalog, as
// Hasura does when it loads the metadata, then marks the columns of every
// tracked table whose foreign key points at one.
func (c *compiler) enums() {
	for _, info := range c.prog.Tables {
		mt := c.meta[info.Name()]
		if mt.IsEnum {
			info.Enum = c.enumTable(mt.Pos, info.Table)
		}
	}
	for _, info := range c.prog.Tables {
		for _, fk := range info.Table.ForeignKeys {
			if len(fk.Columns) != 1 {
				continue
			}
			ref := c.infos[fk.RefTable]
			if ref == nil || ref.Enum == nil || fk.RefColumns[0] != ref.Enum.Key.Name {
				continue
			}
			if info.EnumRefs == nil {
				info.EnumRefs = map[string]*TableInfo{}
			}
			info.EnumRefs[fk.Columns[0]] = ref
		}
	}
}

// enumTable returns t's enum shape, or nil after reporting at pos why t
// cannot be an enum table.
func (c *compiler) enumTable(pos policies.Pos, t *Table) *EnumTable {
	const fix = "make it a table with a text primary key and at most one other text column (the comment), or remove `is_enum: true`"
	if t.IsView {
		c.errorf(pos, "enum table %s is a view: %s", t.Name, fix)
		return nil
	}
	if len(t.PrimaryKey) != 1 {
		if len(t.PrimaryKey) == 0 {
			c.errorf(pos, "enum table %s has no primary key: %s", t.Name, fix)
		} else {
			c.errorf(pos, "enum table %s has a primary key of several columns (%s): %s", t.Name, strings.Join(t.PrimaryKey, ", "), fix)
		}
		return nil
	}
	e := &EnumTable{Key: t.Column(t.PrimaryKey[0])}
	if e.Key.Type != "text" {
		c.errorf(pos, "enum table %s: its primary key %s is of type %s, not text: %s", t.Name, e.Key.Name, e.Key.Type, fix)
		return nil
	}
	var others []string
	for _, col := range t.Columns {
		if col != e.Key {
			others = append(others, col.Name)
			e.Comment = col
		}
	}
	switch {
	case len(others) > 1:
		c.errorf(pos, "enum table %s has more than one column besides its key (%s): %s", t.Name, strings.Join(others, ", "), fix)
		return nil
	case e.Comment != nil && e.Comment.Type != "text":
		c.errorf(pos, "enum table %s: its comment column %s is of type %s, not text: %s", t.Name, e.Comment.Name, e.Comment.Type, fix)
		return nil
	}
	return e
}
