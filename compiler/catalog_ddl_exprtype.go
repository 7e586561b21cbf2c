package compiler

// This file holds the types ParseDDL gives view columns that are
// expressions: what the parse tree alone tells, UnknownType otherwise.

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// exprType returns the type of expression n in scope, spelled as
// Column.Type, unknownLiteral for an untyped literal, or UnknownType.
func (b *ddlBuilder) exprType(n *pg_query.Node, scope *viewScope) string {
	switch {
	case n.GetColumnRef() != nil:
		if c := scope.column(strs(n.GetColumnRef().Fields)); c != nil {
			return c.Type
		}
	case n.GetTypeCast() != nil:
		if t, serial, err := b.typeName(n.GetTypeCast().TypeName); err == nil && !serial {
			return t
		}
	case n.GetAConst() != nil:
		c := n.GetAConst()
		switch {
		case c.Isnull, c.GetSval() != nil:
			return unknownLiteral
		case c.GetIval() != nil:
			return "integer"
		case c.GetFval() != nil:
			// The scanner makes integers too big for int4 floats.
			if _, err := strconv.ParseInt(c.GetFval().Fval, 10, 64); err == nil {
				return "bigint"
			}
			return "numeric"
		case c.GetBoolval() != nil:
			return "boolean"
		case c.GetBsval() != nil:
			return "bit"
		}
	case n.GetBoolExpr() != nil, n.GetNullTest() != nil, n.GetBooleanTest() != nil:
		return "boolean"
	case n.GetSqlvalueFunction() != nil:
		return sqlValueFunctions[n.GetSqlvalueFunction().Op].typ
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		switch sl.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK, pg_query.SubLinkType_ANY_SUBLINK, pg_query.SubLinkType_ALL_SUBLINK:
			return "boolean"
		case pg_query.SubLinkType_EXPR_SUBLINK, pg_query.SubLinkType_ARRAY_SUBLINK:
			cols := b.queryColumns(sl.Subselect.GetSelectStmt(), scope.ctes)
			if len(cols) != 1 || cols[0].Type == UnknownType {
				break
			}
			t := cols[0].Type
			if t == unknownLiteral {
				t = "text"
			}
			if sl.SubLinkType == pg_query.SubLinkType_ARRAY_SUBLINK {
				return arrayOf(t)
			}
			return t
		}
	case n.GetCaseExpr() != nil:
		c := n.GetCaseExpr()
		t := unknownLiteral
		for _, w := range c.Args {
			t = commonType(t, b.exprType(w.GetCaseWhen().Result, scope))
		}
		if c.Defresult != nil {
			t = commonType(t, b.exprType(c.Defresult, scope))
		}
		return resolved(t)
	case n.GetCoalesceExpr() != nil:
		t := unknownLiteral
		for _, a := range n.GetCoalesceExpr().Args {
			t = commonType(t, b.exprType(a, scope))
		}
		return resolved(t)
	case n.GetMinMaxExpr() != nil:
		t := unknownLiteral
		for _, a := range n.GetMinMaxExpr().Args {
			t = commonType(t, b.exprType(a, scope))
		}
		return resolved(t)
	case n.GetNullIfExpr() != nil:
		return resolved(b.exprType(n.GetNullIfExpr().Args[0], scope))
	case n.GetAArrayExpr() != nil:
		t := unknownLiteral
		for _, e := range n.GetAArrayExpr().Elements {
			t = commonType(t, b.exprType(e, scope))
		}
		if t = resolved(t); t != UnknownType {
			return arrayOf(t)
		}
	case n.GetAIndirection() != nil:
		// One subscript of an array: its element type.
		ind := n.GetAIndirection()
		t := b.exprType(ind.Arg, scope)
		if len(ind.Indirection) == 1 && ind.Indirection[0].GetAIndices() != nil && !ind.Indirection[0].GetAIndices().IsSlice && strings.HasSuffix(t, "[]") {
			return strings.TrimSuffix(t, "[]")
		}
	case n.GetAExpr() != nil:
		return b.operatorType(n.GetAExpr(), scope)
	case n.GetFuncCall() != nil:
		return b.funcType(n.GetFuncCall(), scope)
	}
	return UnknownType
}

// noTypmod drops a type's modifier wherever format_type puts it, as a
// function's result has none: timestamp(3) with time zone → timestamp
// with time zone.
func noTypmod(t string) string {
	if i, j := strings.IndexByte(t, '('), strings.IndexByte(t, ')'); i > 0 && j > i && !strings.HasPrefix(t, `"`) {
		return t[:i] + t[j+1:]
	}
	return t
}

// resolved turns an untyped literal's type into text, as PostgreSQL
// resolves CASE, COALESCE and ARRAY of literals only.
func resolved(t string) string {
	if t == unknownLiteral {
		return "text"
	}
	return t
}

// arrayOf spells the array type of t (arrays of arrays are one type).
func arrayOf(t string) string {
	if strings.HasSuffix(t, "[]") {
		return t
	}
	return t + "[]"
}

// operatorType types comparisons, pattern matches and a few operators
// whose result type does not depend on an operator lookup.
func (b *ddlBuilder) operatorType(e *pg_query.A_Expr, scope *viewScope) string {
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL, pg_query.A_Expr_Kind_AEXPR_DISTINCT,
		pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT, pg_query.A_Expr_Kind_AEXPR_IN, pg_query.A_Expr_Kind_AEXPR_LIKE,
		pg_query.A_Expr_Kind_AEXPR_ILIKE, pg_query.A_Expr_Kind_AEXPR_SIMILAR, pg_query.A_Expr_Kind_AEXPR_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN, pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return "boolean"
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		return resolved(b.exprType(e.Lexpr, scope))
	case pg_query.A_Expr_Kind_AEXPR_OP:
	default:
		return UnknownType
	}
	op := last(strs(e.Name))
	switch op {
	case "=", "<>", "!=", "<", ">", "<=", ">=", "~", "~*", "!~", "!~*", "~~", "~~*", "!~~", "!~~*", "@>", "<@", "&&", "?", "?|", "?&":
		return "boolean"
	}
	var l string
	if e.Lexpr != nil {
		l = b.exprType(e.Lexpr, scope)
	}
	r := b.exprType(e.Rexpr, scope)
	switch op {
	case "||":
		if isTextLike(l) || isTextLike(r) {
			return "text"
		}
		if l == "jsonb" && r == "jsonb" {
			return "jsonb"
		}
	case "->", "#>":
		if l == "json" || l == "jsonb" {
			return l
		}
	case "->>", "#>>":
		if l == "json" || l == "jsonb" {
			return "text"
		}
	case "+", "-", "*", "/", "%":
		// Numbers of one type, or one type and an integer literal, which
		// takes the other side's type (smallint + 1 is an integer: the
		// literal is int4, and int2 + int4 is int4).
		l, r = strip(l), strip(r)
		if e.Lexpr == nil && numericRank[r] > 0 {
			return r
		}
		if isIntLiteral(e.Lexpr) {
			l = "integer"
		}
		if isIntLiteral(e.Rexpr) {
			r = "integer"
		}
		if numericRank[l] > 0 && numericRank[r] > 0 && numericRank[l] >= numericRank["integer"] && numericRank[r] >= numericRank["integer"] {
			return commonType(l, r)
		}
		if l == r && l == "smallint" {
			return l
		}
	}
	return UnknownType
}

// isIntLiteral tells whether n is an integer constant.
func isIntLiteral(n *pg_query.Node) bool { return n.GetAConst().GetIval() != nil }

// isTextLike tells whether t is text or character varying, whose ||
// gives text.
func isTextLike(t string) bool {
	return t == "text" || strings.HasPrefix(t, "character varying")
}

// funcType types calls of common built-in functions and aggregates.
func (b *ddlBuilder) funcType(f *pg_query.FuncCall, scope *viewScope) string {
	names := strs(f.Funcname)
	if len(names) > 1 && names[0] != "pg_catalog" {
		return b.userFuncType(names, f)
	}
	arg := func(i int) string {
		if i < len(f.Args) {
			return b.exprType(f.Args[i], scope)
		}
		return UnknownType
	}
	name := last(names)
	if b.userFuncShadows(name) {
		return b.userFuncType(names, f)
	}
	if t, ok := fixedFuncTypes[name]; ok {
		return t
	}
	switch name {
	case "min", "max", "first_value", "last_value", "lag", "lead", "nth_value", "abs":
		if t := arg(0); t != unknownLiteral {
			return noTypmod(t)
		}
	case "sum":
		switch arg(0) {
		case "smallint", "integer":
			return "bigint"
		case "bigint", "numeric":
			return "numeric"
		case "real", "double precision", "interval":
			return arg(0)
		}
		if strings.HasPrefix(arg(0), "numeric") {
			return "numeric"
		}
	case "avg":
		switch t := strip(arg(0)); t {
		case "smallint", "integer", "bigint", "numeric":
			return "numeric"
		case "real", "double precision":
			return "double precision"
		case "interval":
			return "interval"
		}
	case "array_agg":
		if t := arg(0); t != UnknownType && t != unknownLiteral && !strings.HasSuffix(t, "[]") {
			return noTypmod(t) + "[]"
		}
	case "date_trunc":
		switch t := noTypmod(arg(1)); t {
		case "timestamp with time zone", "timestamp without time zone", "interval":
			return t
		case "date":
			return "timestamp with time zone"
		}
	case "round", "trunc", "ceil", "ceiling", "floor":
		switch t := strip(arg(0)); t {
		case "numeric", "double precision":
			return t
		case "real":
			return "double precision"
		case "smallint", "integer", "bigint":
			if name == "round" && len(f.Args) == 2 || name == "trunc" && len(f.Args) == 2 {
				return "numeric"
			}
			return "double precision"
		}
	case "lower", "upper", "btrim", "ltrim", "rtrim", "initcap", "replace", "substr", "substring", "left", "right",
		"lpad", "rpad", "reverse", "repeat", "translate", "regexp_replace", "split_part", "trim":
		return "text"
	}
	return UnknownType
}

// fixedFuncTypes are functions whose result type does not depend on their
// arguments.
var fixedFuncTypes = map[string]string{
	"count": "bigint", "row_number": "bigint", "rank": "bigint", "dense_rank": "bigint", "ntile": "integer",
	"percent_rank": "double precision", "cume_dist": "double precision",
	"now": "timestamp with time zone", "statement_timestamp": "timestamp with time zone",
	"transaction_timestamp": "timestamp with time zone", "clock_timestamp": "timestamp with time zone",
	"gen_random_uuid": "uuid", "uuid_generate_v4": "uuid",
	"concat": "text", "concat_ws": "text", "string_agg": "text", "format": "text", "md5": "text", "to_char": "text",
	"length": "integer", "char_length": "integer", "character_length": "integer", "octet_length": "integer",
	"array_length": "integer", "cardinality": "integer", "position": "integer", "strpos": "integer",
	"bool_and": "boolean", "bool_or": "boolean", "every": "boolean",
	"json_agg": "json", "json_build_object": "json", "json_build_array": "json", "to_json": "json", "json_object_agg": "json", "row_to_json": "json",
	"jsonb_agg": "jsonb", "jsonb_build_object": "jsonb", "jsonb_build_array": "jsonb", "to_jsonb": "jsonb", "jsonb_object_agg": "jsonb",
	"jsonb_set": "jsonb", "jsonb_strip_nulls": "jsonb",
	"extract": "numeric", "date_part": "double precision", "age": "interval", "make_interval": "interval",
	"to_timestamp": "timestamp with time zone", "to_date": "date", "to_tsvector": "tsvector", "to_tsquery": "tsquery",
	"current_setting": "text", "pg_typeof": "regtype", "random": "double precision", "exists": "boolean",
}

// userFuncShadows tells whether the catalog has a user function of that
// name on the search path, whose result the built-in table would mistype.
func (b *ddlBuilder) userFuncShadows(name string) bool {
	for q := range b.cat.Functions {
		if q.Name == name {
			return true
		}
	}
	return false
}

// userFuncType is the result type of a user function the catalog holds,
// when exactly one of that name exists; UnknownType otherwise.
func (b *ddlBuilder) userFuncType(names []string, f *pg_query.FuncCall) string {
	name := last(names)
	found := UnknownType
	n := 0
	for q, fn := range b.cat.Functions {
		if q.Name != name || len(names) > 1 && q.Schema != names[len(names)-2] {
			continue
		}
		if fn.ReturnsSet || fn.Overloads != 1 || fn.Returns == "" {
			return UnknownType
		}
		found, n = fn.Returns, n+1
	}
	if n != 1 {
		return UnknownType
	}
	return found
}
