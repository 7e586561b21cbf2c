package graphql

import "strings"

// Built-in GraphQL scalars and the custom ones Hasura names after
// PostgreSQL types.
const (
	scalarInt     = "Int"
	scalarFloat   = "Float"
	scalarString  = "String"
	scalarBoolean = "Boolean"
)

// scalarFor returns the GraphQL scalar Hasura uses for a column of PostgreSQL
// type typ (as format_type spells it).
func scalarFor(typ string) string {
	base := typ
	if i := strings.IndexByte(base, '('); i >= 0 {
		// "character varying(20)", "numeric(10,2)", "timestamp(3) with time zone"
		j := strings.IndexByte(base[i:], ')')
		if j >= 0 {
			base = strings.TrimSpace(base[:i] + base[i+j+1:])
		}
	}
	if strings.HasSuffix(base, "[]") {
		return "_" + udtName(strings.TrimSuffix(base, "[]"))
	}
	switch base {
	case "integer", "smallint":
		return scalarInt
	case "real", "double precision":
		return scalarFloat
	case "text", "character varying", "character", "varchar", "char", "bpchar", "citext", "name":
		return scalarString
	case "boolean":
		return scalarBoolean
	case "timestamp with time zone":
		return "timestamptz"
	case "timestamp without time zone", "timestamp":
		return "timestamp"
	case "time with time zone":
		return "timetz"
	case "time without time zone", "time":
		return "time"
	}
	return udtName(base)
}

// udtName maps a type to the short name PostgreSQL's catalog uses (udt_name),
// which Hasura uses for custom scalars: "bigint" → "bigint", "public.mood" →
// "mood", anything else made a valid GraphQL name.
func udtName(typ string) string {
	switch typ {
	case "integer":
		return "int4"
	case "smallint":
		return "int2"
	case "bigint":
		return "bigint"
	case "real":
		return "float4"
	case "double precision":
		return "float8"
	case "boolean":
		return "bool"
	case "character varying", "character", "text":
		return "text"
	case "timestamp with time zone":
		return "timestamptz"
	case "timestamp without time zone":
		return "timestamp"
	}
	if i := strings.LastIndexByte(typ, '.'); i >= 0 {
		typ = typ[i+1:]
	}
	typ = strings.Trim(typ, `"`)
	var b strings.Builder
	for i, r := range typ {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// isNumericScalar reports whether a scalar takes sum, avg and the other
// numeric aggregates.
func isNumericScalar(s string) bool {
	switch s {
	case scalarInt, scalarFloat, "bigint", "numeric", "float8", "float4", "int2", "money":
		return true
	}
	return false
}

// isOrderedScalar reports whether a scalar takes max and min.
func isOrderedScalar(s string) bool {
	if isNumericScalar(s) {
		return true
	}
	switch s {
	case scalarString, "date", "timestamptz", "timestamp", "time", "timetz", "interval":
		return true
	}
	return false
}

// isBuiltinScalar reports whether the GraphQL prelude declares s.
func isBuiltinScalar(s string) bool {
	switch s {
	case scalarInt, scalarFloat, scalarString, scalarBoolean, "ID":
		return true
	}
	return false
}

// validName reports whether s can be a GraphQL name that is not reserved
// for introspection.
func validName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
