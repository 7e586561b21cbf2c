package compiler

// This file holds how ParseDDL spells types and names objects the way
// PostgreSQL does, so offline catalogs equal live ones.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// lookupType resolves a user-defined type's name through the search path:
// that of an enum, domain, range or composite type, or the row type of a
// table or view.
func (b *ddlBuilder) lookupType(names []string) (policies.QualifiedTable, bool) {
	if len(names) == 1 {
		for _, s := range b.path {
			if q := (policies.QualifiedTable{Schema: s, Name: names[0]}); b.types[q] || b.cat.Tables[q] != nil {
				return q, true
			}
		}
	}
	q := b.typeQName(names)
	return q, b.types[q] || b.cat.Tables[q] != nil
}

// typeName spells a type as format_type does (see Column.Type), and says
// whether it is one of the serial pseudo-types.
func (b *ddlBuilder) typeName(tn *pg_query.TypeName) (string, bool, error) {
	names := strs(tn.GetNames())
	if tn.GetPctType() || tn.GetSetof() || len(names) == 0 {
		return "", false, b.errorf(tn.GetLocation(), "unsupported column type; write the type out")
	}
	arr := ""
	if len(tn.ArrayBounds) > 0 {
		arr = "[]" // format_type prints one [] whatever the dimensions
	}
	name, qualified := last(names), len(names) > 1
	if qualified && names[len(names)-2] != "pg_catalog" || !qualified && !pgCatalogTypes[name] {
		if q, ok := b.lookupType(names); ok {
			return quoteIdentPG(q.Schema, true) + "." + quoteIdentPG(q.Name, true) + arr, false, nil
		}
	}
	var mods []string
	var ints []int
	for _, m := range tn.Typmods {
		switch {
		case m.GetAConst().GetIval() != nil:
			mods = append(mods, strconv.Itoa(int(m.GetAConst().GetIval().Ival)))
			ints = append(ints, int(m.GetAConst().GetIval().Ival))
		case m.GetAConst().GetSval() != nil:
			mods = append(mods, m.GetAConst().GetSval().Sval)
		case m.GetColumnRef() != nil:
			mods = append(mods, last(strs(m.GetColumnRef().Fields)))
		}
	}
	if !qualified || names[0] == "pg_catalog" {
		if base, ok := serialTypes[name]; ok {
			if arr != "" {
				return "", false, b.errorf(tn.Location, "arrays of %s are not supported by PostgreSQL; use an array of %s", name, base)
			}
			return base, true, nil
		}
		if t, ok := builtinType(name, ints, len(mods) == len(ints)); ok {
			return t + arr, false, nil
		}
	}
	if len(mods) > 0 { // an extension's type, such as geometry(point,4326)
		return quoteIdentPG(name, false) + "(" + strings.Join(mods, ",") + ")" + arr, false, nil
	}
	return quoteIdentPG(name, false) + arr, false, nil
}

// pgCatalogTypes are built-in types' names, which pg_catalog, implicitly
// first on the search path, gives before a user's type (or table) of the
// same name.
var pgCatalogTypes = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`bool bytea char name int8 int2 int4 text oid json xml point lseg path box polygon
		line float4 float8 circle money macaddr macaddr8 inet cidr bpchar varchar date time timestamp timestamptz interval
		timetz bit varbit numeric uuid pg_lsn tsvector tsquery jsonb jsonpath int4range numrange tsrange tstzrange daterange
		int8range int4multirange nummultirange tsmultirange tstzmultirange datemultirange int8multirange regclass regtype
		regproc regprocedure regoper regoperator regrole regnamespace regconfig regdictionary record xid xid8 cid tid`) {
		pgCatalogTypes[t] = true
	}
}

var serialTypes = map[string]string{"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint", "smallserial": "smallint", "serial2": "smallint"}

// builtinType spells a pg_catalog type with its integer modifiers as
// format_type does; ok is false for types it prints under their own name.
func builtinType(name string, mods []int, allInts bool) (string, bool) {
	if !allInts {
		return "", false
	}
	prec := func(s string) string {
		if len(mods) > 0 {
			return s + "(" + strconv.Itoa(mods[0]) + ")"
		}
		return s
	}
	switch name {
	case "int2", "smallint":
		return "smallint", true
	case "int4", "int", "integer":
		return "integer", true
	case "int8", "bigint":
		return "bigint", true
	case "float4", "real":
		return "real", true
	case "float8":
		return "double precision", true
	case "bool", "boolean":
		return "boolean", true
	case "varchar":
		return prec("character varying"), true
	case "bpchar":
		if len(mods) == 0 {
			return "bpchar", true // bpchar without length is not character(1)
		}
		return prec("character"), true
	case "bit":
		return prec("bit"), true
	case "varbit":
		return prec("bit varying"), true
	case "char":
		return `"char"`, true
	case "numeric", "decimal":
		switch len(mods) {
		case 0:
			return "numeric", true
		case 1:
			return fmt.Sprintf("numeric(%d,0)", mods[0]), true
		}
		return fmt.Sprintf("numeric(%d,%d)", mods[0], mods[1]), true
	case "timestamp", "timestamptz", "time", "timetz":
		zone := " without time zone"
		if strings.HasSuffix(name, "tz") {
			zone = " with time zone"
		}
		return prec(strings.TrimSuffix(name, "tz")) + zone, true
	case "interval":
		return intervalType(mods), true
	}
	return "", false
}

// intervalType spells interval with the grammar's field mask and precision
// modifiers as PostgreSQL's intervaltypmodout does.
func intervalType(mods []int) string {
	const year, month, day, hour, minute, second = 1 << 2, 1 << 1, 1 << 3, 1 << 10, 1 << 11, 1 << 12
	s := "interval"
	if len(mods) > 0 {
		s += map[int]string{
			year: " year", month: " month", day: " day", hour: " hour", minute: " minute", second: " second",
			year | month: " year to month", day | hour: " day to hour", day | hour | minute: " day to minute",
			day | hour | minute | second: " day to second", hour | minute: " hour to minute",
			hour | minute | second: " hour to second", minute | second: " minute to second",
		}[mods[0]]
	}
	if len(mods) > 1 {
		s += "(" + strconv.Itoa(mods[1]) + ")"
	}
	return s
}

// chooseName picks a name as PostgreSQL's ChooseRelationName (rel) and
// ChooseConstraintName (con) do: name1_name2_label, truncated to 63 bytes,
// with a number after the label while the name is taken.
func (b *ddlBuilder) chooseName(schema, name1, name2, label string, rel, con bool) string {
	for pass := 0; ; pass++ {
		l := label
		if pass > 0 {
			l += strconv.Itoa(pass)
		}
		name := makeObjectName(name1, name2, l)
		q := policies.QualifiedTable{Schema: schema, Name: name}
		if !(rel && b.rels[q]) && !(con && b.cons[q]) {
			return name
		}
	}
}

// makeObjectName is PostgreSQL's: the longer name is truncated first.
func makeObjectName(name1, name2, label string) string {
	n1, n2, avail := len(name1), len(name2), 63-len(label)-1
	if name2 != "" {
		avail--
	}
	for n1+n2 > avail {
		if n1 > n2 {
			n1--
		} else {
			n2--
		}
	}
	s := clip(name1, n1)
	if name2 != "" {
		s += "_" + clip(name2, n2)
	}
	return s + "_" + label
}

// nameAddition joins column names with "_" for an object name, as
// PostgreSQL's ChooseIndexNameAddition and
// ChooseForeignKeyConstraintNameAddition do.
func nameAddition(cols []string) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += "_"
		}
		if s += clip(c, 63); len(s) >= 64 {
			break
		}
	}
	return s
}

// indexColumnNames numbers repeated index column names (expr, expr1, …) as
// PostgreSQL's ChooseIndexColumnNames does.
func indexColumnNames(names []string) []string {
	var out []string
	for _, orig := range names {
		cur := orig
		for i := 1; slices.Contains(out, cur); i++ {
			n := strconv.Itoa(i)
			cur = clip(orig, 63-len(n)) + n
		}
		out = append(out, cur)
	}
	return out
}

// quoteIdentPG quotes an identifier when PostgreSQL's quote_ident would:
// unless it is lower case letters, digits and underscores, not starting
// with a digit, and (when keywords is set) not a reserved word.
func quoteIdentPG(s string, keywords bool) string {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return QuoteIdent(s)
		}
	}
	if s == "" {
		return QuoteIdent(s)
	}
	if keywords {
		if res, err := pg_query.Scan(s); err != nil || len(res.Tokens) != 1 || res.Tokens[0].KeywordKind > pg_query.KeywordKind_UNRESERVED_KEYWORD {
			return QuoteIdent(s)
		}
	}
	return s
}

// splitQualified splits a regclass literal such as public."Foo" into its
// names, folding unquoted ones to lower case.
func splitQualified(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		case !quoted && c >= 'A' && c <= 'Z':
			cur.WriteByte(c + 'a' - 'A')
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func strs(nodes []*pg_query.Node) []string {
	var out []string
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// lineCol turns a byte offset of src into a 1-based line and column (in
// characters).
func lineCol(src string, off int) (int, int) {
	off = max(0, min(off, len(src)))
	start := strings.LastIndexByte(src[:off], '\n') + 1
	return strings.Count(src[:off], "\n") + 1, utf8.RuneCountInString(src[start:off]) + 1
}

// charOffset turns an offset in characters (as PostgreSQL's error cursor
// counts) into a byte offset of src.
func charOffset(src string, chars int) int {
	for i := range src {
		if chars == 0 {
			return i
		}
		chars--
	}
	return len(src)
}
