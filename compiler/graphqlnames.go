package compiler

import (
	"sort"

	"github.com/rowguard/rowguard/policies"
)

// GraphQLNames are the names Hasura publishes for one tracked table: its
// type name, its root fields and its columns' fields, after the table's
// `configuration:` (custom_name, custom_root_fields, column_config,
// custom_column_names). The GraphQL schema, the planner and the error
// messages all read names from here, so a customized name is the same
// everywhere; SQL keeps the PostgreSQL names.
type GraphQLNames struct {
	// Type is the row type's name and the prefix of the table's other
	// types (<Type>_bool_exp, <Type>_aggregate …): custom_name, or the
	// table's name in schema public and <schema>_<name> elsewhere.
	Type string
	// Comment is the table's description from its configuration; empty
	// for the default.
	Comment string
	roots   map[string]*policies.CustomName
	columns map[string]*policies.CustomName // by PostgreSQL column name
	byField map[string]string               // GraphQL field name → column
}

// DefaultTypeName is Hasura's GraphQL name for a table without custom_name:
// its name in schema public, <schema>_<name> elsewhere.
func DefaultTypeName(q policies.QualifiedTable) string {
	if q.Schema == "public" || q.Schema == "" {
		return q.Name
	}
	return q.Schema + "_" + q.Name
}

// newGraphQLNames resolves a table's configuration. Column names that are
// not columns of t are left to the caller to report.
func newGraphQLNames(t *Table, cfg policies.TableConfig) *GraphQLNames {
	n := &GraphQLNames{
		Type:    DefaultTypeName(t.Name),
		Comment: cfg.Comment,
		roots:   cfg.RootFields,
		columns: map[string]*policies.CustomName{},
		byField: map[string]string{},
	}
	if cfg.CustomName != nil {
		n.Type = cfg.CustomName.Name
	}
	for col, cn := range cfg.Columns {
		if t.Column(col) != nil {
			n.columns[col] = cn
		}
	}
	for _, c := range t.Columns {
		n.byField[n.Column(c.Name)] = c.Name
	}
	return n
}

// Column returns the GraphQL field name of a column (given by its
// PostgreSQL name).
func (n *GraphQLNames) Column(pg string) string {
	if n != nil {
		if cn := n.columns[pg]; cn != nil && cn.Name != "" {
			return cn.Name
		}
	}
	return pg
}

// ColumnComment returns the description configured for a column, or "".
func (n *GraphQLNames) ColumnComment(pg string) string {
	if n != nil {
		if cn := n.columns[pg]; cn != nil {
			return cn.Comment
		}
	}
	return ""
}

// ColumnOf returns the PostgreSQL name of the column published as field,
// or "" when no column is.
func (n *GraphQLNames) ColumnOf(field string) string {
	if n == nil {
		return field
	}
	return n.byField[field]
}

// Root returns the name of a root field of the table, kind being a key of
// custom_root_fields (policies.RootFieldKinds): the custom name, or
// Hasura's default built from Type.
func (n *GraphQLNames) Root(kind string) string {
	if cn := n.roots[kind]; cn != nil {
		return cn.Name
	}
	switch kind {
	case "select":
		return n.Type
	case "select_by_pk":
		return n.Type + "_by_pk"
	case "select_aggregate":
		return n.Type + "_aggregate"
	case "select_stream":
		return n.Type + "_stream"
	case "insert":
		return "insert_" + n.Type
	case "insert_one":
		return "insert_" + n.Type + "_one"
	case "update":
		return "update_" + n.Type
	case "update_by_pk":
		return "update_" + n.Type + "_by_pk"
	case "update_many":
		return "update_" + n.Type + "_many"
	case "delete":
		return "delete_" + n.Type
	case "delete_by_pk":
		return "delete_" + n.Type + "_by_pk"
	}
	panic("compiler: unknown root field kind " + kind)
}

// RootComment returns the description configured for a root field, or "".
func (n *GraphQLNames) RootComment(kind string) string {
	if cn := n.roots[kind]; cn != nil {
		return cn.Comment
	}
	return ""
}

// mutationKinds are the root fields of mutation_root; the others are
// query_root's (select_stream: subscription_root's, which shares names
// with query_root in Hasura's checks).
var mutationKinds = map[string]bool{
	"insert": true, "insert_one": true, "update": true, "update_by_pk": true,
	"update_many": true, "delete": true, "delete_by_pk": true,
}

// graphqlNames resolves every tracked table's GraphQL names and reports
// what Hasura refuses at metadata load: a column_config for a column the
// table does not have, two fields of one type with one name (a column's
// custom name taken by another column, a relationship or a computed
// field), and two root
// fields, or two tables' types, with one name.
func (c *compiler) graphqlNames() {
	types := map[string]takenName{}
	roots := map[bool]map[string]takenName{false: {}, true: {}}
	for _, info := range c.prog.Tables {
		mt := c.meta[info.Name()]
		n := newGraphQLNames(info.Table, mt.Config)
		info.GraphQL = n
		var cols []string
		for col := range mt.Config.Columns {
			cols = append(cols, col)
		}
		sort.Strings(cols)
		for _, col := range cols {
			if info.Table.Column(col) == nil {
				c.errorf(mt.Config.Columns[col].Pos, "column_config names %q, which is not a column of %s (columns: %s): fix the name or remove the entry", col, info.Name(), columnNames(info.Table))
			}
		}
		fields := map[string]string{}
		for _, col := range info.Table.Columns {
			f := n.Column(col.Name)
			if prev, ok := fields[f]; ok {
				c.errorf(c.columnPos(mt, col.Name, info.Pos), "columns %q and %q of %s are both published as field %q: give one a different custom_name", prev, col.Name, info.Name(), f)
				continue
			}
			fields[f] = col.Name
		}
		for _, r := range mt.Relationships() {
			if col, ok := fields[r.Name]; ok && col != r.Name {
				c.errorf(r.Pos, "relationship %q has the GraphQL name of column %q of %s (its custom_name): rename the relationship or the column", r.Name, col, info.Name())
			}
		}
		for _, cf := range mt.ComputedFields {
			if col, ok := fields[cf.Name]; ok && col != cf.Name {
				c.errorf(cf.Pos, "computed field %q has the GraphQL name of column %q of %s (its custom_name): rename the computed field or the column", cf.Name, col, info.Name())
			}
		}
		pos := info.Pos
		if cn := mt.Config.CustomName; cn != nil {
			pos = cn.Pos
		}
		if prev, ok := types[n.Type]; ok {
			c.errorf(pos, "table %s has the GraphQL name %q of %s: give one a custom_name", info.Name(), n.Type, prev.what)
		} else {
			types[n.Type] = takenName{what: "table " + info.Name().String(), pos: pos}
		}
		for _, kind := range policies.RootFieldKinds {
			name := n.Root(kind)
			at := pos
			if cn := mt.Config.RootFields[kind]; cn != nil {
				at = cn.Pos
			}
			set := roots[mutationKinds[kind]]
			if prev, ok := set[name]; ok {
				c.errorf(at, "root field %q of table %s (%s) is already the %s (at %s): set another name in custom_root_fields", name, info.Name(), kind, prev.what, prev.pos)
				continue
			}
			set[name] = takenName{what: kind + " root field of table " + info.Name().String(), pos: at}
		}
	}
	c.rootNames = roots[false]
}

// takenName is what already has a GraphQL name, for collision messages.
type takenName struct {
	what string
	pos  policies.Pos
}

// columnPos is where the metadata gives a column its name: its
// column_config entry, or the table entry.
func (c *compiler) columnPos(mt *policies.Table, col string, def policies.Pos) policies.Pos {
	if cn := mt.Config.Columns[col]; cn != nil {
		return cn.Pos
	}
	return def
}
