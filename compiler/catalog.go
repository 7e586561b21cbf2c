package compiler

import (
	"sort"

	"github.com/rowguard/rowguard/policies"
)

// Catalog is what the compiler knows of a database's tables.
type Catalog struct {
	Tables map[policies.QualifiedTable]*Table
	// Functions holds the plain SQL functions (not those of extensions),
	// for computed fields and tracked functions; nil when there are none.
	Functions map[policies.QualifiedTable]*Function
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{Tables: map[policies.QualifiedTable]*Table{}}
}

// Table returns the named table, or nil.
func (c *Catalog) Table(q policies.QualifiedTable) *Table { return c.Tables[q] }

// Add puts t into the catalog, replacing a table of the same name.
func (c *Catalog) Add(t *Table) { c.Tables[t.Name] = t }

// SortedTables returns the tables ordered by schema and name.
func (c *Catalog) SortedTables() []*Table {
	out := make([]*Table, 0, len(c.Tables))
	for _, t := range c.Tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name.Schema != out[j].Name.Schema {
			return out[i].Name.Schema < out[j].Name.Schema
		}
		return out[i].Name.Name < out[j].Name.Name
	})
	return out
}

// Table is a table (or view) with its columns and keys.
type Table struct {
	Name   policies.QualifiedTable
	IsView bool // a view or a materialized view: no row-level security
	// Materialized is set for a materialized view (IsView is set too).
	Materialized bool
	// Writable lists, for a view, the statements PostgreSQL accepts on it
	// (an automatically updatable view, or INSTEAD OF triggers), in the
	// order insert, update, delete; nil for a view that refuses every
	// write, and unused for a table.
	Writable []policies.Op
	// GrantVia, when set, is the table whose privileges PostgreSQL
	// extensions carry over to this view and refuse on it directly: the
	// periods extension's history and for-portion views take their
	// grants from their base table.
	GrantVia *policies.QualifiedTable
	// Calls lists, for a view that is not materialized, the functions of
	// the catalog its query calls, or the query of a view it reads (not
	// materialized, at any depth), sorted (extensions' and PostgreSQL's
	// own left out): they run with the rights of whoever reads the view,
	// not of its owner.
	Calls      []policies.QualifiedTable
	Columns    []*Column // in column order
	PrimaryKey []string
	Uniques    [][]string // unique constraints and unique indexes, primary key excluded
	// OrderedIndexes lists the key columns of the table's btree indexes
	// (primary key and unique ones included) over plain columns, without
	// predicate, every key in the default order (ASC NULLS LAST), sorted by
	// index name: what PostgreSQL can read in the order of those columns,
	// forwards or backwards. The GraphQL planner reads a list per key of
	// a set through them (graphql/merge.go); nothing else depends on them.
	OrderedIndexes [][]string
	ForeignKeys    []*ForeignKey
	// ColumnsUnknown says, at the view's file:line, why ParseDDL could not
	// name a view's columns (Columns is then nil); the compiler refuses to
	// compile permissions on such a view offline. Always empty from
	// LoadCatalog.
	ColumnsUnknown string
}

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// UnknownType is the Type of a view column that ParseDDL could name but
// not type (an expression whose result type only PostgreSQL's analysis
// knows); the compiler refuses rules that compare such a column.
const UnknownType = ""

// Column is one column of a table.
type Column struct {
	Name string
	// Type is the type as PostgreSQL's format_type() spells it: "integer",
	// "text", "character varying(20)", "timestamp with time zone",
	// "integer[]", "public.mood" (user types are schema-qualified unless in
	// pg_catalog).
	Type       string
	NotNull    bool
	HasDefault bool
	// Sequence is the schema-qualified sequence a serial column draws from
	// ("public.article_id_seq"), empty otherwise; inserting roles need
	// USAGE on it.
	Sequence string
	// Identity is "a" (ALWAYS), "d" (BY DEFAULT) or "".
	Identity string
	// Generated is set for GENERATED ALWAYS AS (…) STORED columns.
	Generated bool
}

// ForeignKey is a foreign key constraint of a table.
type ForeignKey struct {
	Name       string
	Columns    []string
	RefTable   policies.QualifiedTable
	RefColumns []string
	// Validated is set when the key holds for every row a query of the
	// table reads: PostgreSQL checked it on the rows already there (it was
	// not added NOT VALID, or was validated since) and the table has no
	// children by INHERITS, whose rows a query of the table reads but
	// which the key does not cover. False when unknown.
	Validated bool
	// Deferrable is set for a DEFERRABLE key, which may be broken inside a
	// transaction until its check runs.
	Deferrable bool
}

// Enforced tells whether PostgreSQL holds fk at the end of every
// statement for every row a query of the table reads: validated and NOT
// DEFERRABLE. Only then may a query rely on it (a referencing value
// always has its referenced row).
func (fk *ForeignKey) Enforced() bool { return fk.Validated && !fk.Deferrable }
