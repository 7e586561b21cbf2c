package policies

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// TableConfig is a table's `configuration:` in Hasura metadata: the GraphQL
// names Hasura publishes for the table, its root fields and its columns
// instead of the defaults derived from the PostgreSQL names.
type TableConfig struct {
	// CustomName replaces the table's GraphQL name (the row type, the
	// prefix of every other type, and the base of the default root
	// fields); nil when the metadata sets none.
	CustomName *CustomName
	// RootFields renames root fields, keyed by Hasura's kind: select,
	// select_by_pk, select_aggregate, select_stream, insert, insert_one,
	// update, update_by_pk, update_many, delete, delete_by_pk.
	RootFields map[string]*CustomName
	// Columns gives columns GraphQL field names, keyed by PostgreSQL
	// column name: column_config and the older custom_column_names merged,
	// column_config winning where both name a column.
	Columns map[string]*CustomName
	// Comment is the table's description in the GraphQL schema.
	Comment string
}

// CustomName is a GraphQL name the metadata sets, with where it is set and
// the description (comment) that goes with it.
type CustomName struct {
	Pos     Pos
	Name    string
	Comment string
}

// RootFieldKinds lists the keys of a table's custom_root_fields, in
// Hasura's order.
var RootFieldKinds = []string{
	"select", "select_by_pk", "select_aggregate", "select_stream",
	"insert", "insert_one", "update", "update_by_pk", "update_many",
	"delete", "delete_by_pk",
}

// ValidGraphQLName reports whether s is a GraphQL name
// (/[_A-Za-z][_0-9A-Za-z]*/) that does not start with "__", which GraphQL
// reserves for introspection.
func ValidGraphQLName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// tableConfiguration reads a table's `configuration:`.
func (l *loader) tableConfiguration(n *yaml.Node, file string) TableConfig {
	var cfg TableConfig
	if isNull(n) {
		return cfg
	}
	var legacy, columnConfig []kv
	for _, e := range l.mapping(n, file, "table configuration",
		"custom_name", "custom_root_fields", "column_config", "custom_column_names", "comment") {
		switch e.key {
		case "custom_name":
			if !isNull(e.val) {
				cfg.CustomName = l.graphqlName(e.val, file, "custom_name")
			}
		case "comment":
			if !isNull(e.val) {
				cfg.Comment = l.str(e.val, file, "comment")
			}
		case "custom_root_fields":
			if isNull(e.val) {
				continue
			}
			for _, r := range l.mapping(e.val, file, "custom_root_fields", RootFieldKinds...) {
				if isNull(r.val) {
					continue
				}
				if cn := l.rootFieldName(r.val, file, r.key); cn != nil {
					if cfg.RootFields == nil {
						cfg.RootFields = map[string]*CustomName{}
					}
					cfg.RootFields[r.key] = cn
				}
			}
		case "custom_column_names":
			if !isNull(e.val) {
				legacy = l.mapping(e.val, file, "custom_column_names")
			}
		case "column_config":
			if !isNull(e.val) {
				columnConfig = l.mapping(e.val, file, "column_config")
			}
		}
	}
	for _, c := range legacy {
		if isNull(c.val) {
			continue
		}
		if cn := l.graphqlName(c.val, file, "custom name of column "+c.key); cn != nil {
			cfg.setColumn(c.key, cn)
		}
	}
	for _, c := range columnConfig {
		if isNull(c.val) {
			continue
		}
		cn := &CustomName{Pos: l.pos(file, c.val)}
		for _, f := range l.mapping(c.val, file, "column_config of "+c.key, "custom_name", "comment") {
			switch f.key {
			case "custom_name":
				if !isNull(f.val) {
					if named := l.graphqlName(f.val, file, "custom_name of column "+c.key); named != nil {
						cn.Name, cn.Pos = named.Name, named.Pos
					}
				}
			case "comment":
				if !isNull(f.val) {
					cn.Comment = l.str(f.val, file, "comment")
				}
			}
		}
		if prev := cfg.Columns[c.key]; prev != nil && cn.Name == "" {
			// column_config with only a comment keeps the name that
			// custom_column_names gives.
			cn.Name, cn.Pos = prev.Name, prev.Pos
		}
		if cn.Name != "" || cn.Comment != "" {
			cfg.setColumn(c.key, cn)
		}
	}
	l.checkColumnNames(cfg.Columns)
	return cfg
}

func (cfg *TableConfig) setColumn(col string, cn *CustomName) {
	if cfg.Columns == nil {
		cfg.Columns = map[string]*CustomName{}
	}
	cfg.Columns[col] = cn
}

// checkColumnNames reports two columns given the same GraphQL name.
func (l *loader) checkColumnNames(cols map[string]*CustomName) {
	byName := map[string]string{}
	var names []string
	for col := range cols {
		names = append(names, col)
	}
	sort.Strings(names)
	for _, col := range names {
		cn := cols[col]
		if cn.Name == "" {
			continue
		}
		if prev, ok := byName[cn.Name]; ok {
			l.errorf(cn.Pos, "columns %q and %q both have the GraphQL name %q: give each column its own custom_name", prev, col, cn.Name)
			continue
		}
		byName[cn.Name] = col
	}
}

// rootFieldName reads one custom_root_fields entry: a name, or
// {name, comment}.
func (l *loader) rootFieldName(n *yaml.Node, file, kind string) *CustomName {
	if n.Kind != yaml.MappingNode {
		return l.graphqlName(n, file, "custom_root_fields."+kind)
	}
	var cn *CustomName
	comment := ""
	for _, f := range l.mapping(n, file, "custom_root_fields."+kind, "name", "comment") {
		switch f.key {
		case "name":
			if !isNull(f.val) {
				cn = l.graphqlName(f.val, file, "custom_root_fields."+kind+".name")
			}
		case "comment":
			if !isNull(f.val) {
				comment = l.str(f.val, file, "comment")
			}
		}
	}
	if cn != nil {
		cn.Comment = comment
	}
	return cn
}

// graphqlName reads a string that must be a GraphQL name.
func (l *loader) graphqlName(n *yaml.Node, file, what string) *CustomName {
	s := l.str(n, file, what)
	if s == "" {
		return nil
	}
	if !ValidGraphQLName(s) {
		l.errorf(l.pos(file, n), "%s %q is not a GraphQL name: use letters, digits and _, not starting with a digit or __", what, s)
		return nil
	}
	return &CustomName{Pos: l.pos(file, n), Name: s}
}
