package policies

import "strings"

// BoolExp is a Hasura boolean expression, as written in a permission's
// filter or check. It is a sealed interface: its variants are And, Or, Not,
// Exists and Field.
type BoolExp interface {
	Position() Pos
	isBoolExp()
}

// And holds when every item holds; an empty And (`{}`) always holds.
type And struct {
	Pos   Pos
	Items []BoolExp
}

// Or holds when any item holds; an empty Or never holds.
type Or struct {
	Pos   Pos
	Items []BoolExp
}

// Not negates its item.
type Not struct {
	Pos  Pos
	Item BoolExp
}

// Exists holds when some row of an unrelated table matches Where
// (`_exists: {_table: …, _where: …}`).
type Exists struct {
	Pos   Pos
	Table QualifiedTable
	Where BoolExp
}

// Field is a `name: …` entry. Whether Name is a column or a relationship is
// decided against the catalog: for a column, Comparisons all hold; for a
// relationship, Nested holds on some related row. When the value was an
// object of operators only, Comparisons is set and Nested is nil; otherwise
// Nested is set. An empty object `{}` sets neither.
type Field struct {
	Pos         Pos
	Name        string
	Comparisons []*Comparison
	Nested      BoolExp
}

func (e *And) Position() Pos    { return e.Pos }
func (e *Or) Position() Pos     { return e.Pos }
func (e *Not) Position() Pos    { return e.Pos }
func (e *Exists) Position() Pos { return e.Pos }
func (e *Field) Position() Pos  { return e.Pos }

func (*And) isBoolExp()    {}
func (*Or) isBoolExp()     {}
func (*Not) isBoolExp()    {}
func (*Exists) isBoolExp() {}
func (*Field) isBoolExp()  {}

// Comparison is one operator applied to a column, such as `_eq: 1`.
type Comparison struct {
	Pos   Pos
	Op    string // normalized: "_eq", never "$eq" or "_ne"
	Value Value
}

// Value is the right-hand side of a comparison or a preset: Literal,
// SessionVar, ColumnRef or List.
type Value interface {
	Position() Pos
	isValue()
}

// Literal is a constant from the metadata: string, float64, int, bool, nil,
// []any or map[string]any, as YAML decodes it.
type Literal struct {
	Pos Pos
	V   any
}

// SessionVar reads a session variable; Name is lower case
// ("x-hasura-user-id"), since Hasura matches them case-insensitively.
type SessionVar struct {
	Pos  Pos
	Name string
}

// ColumnRef names a column for the column comparison operators (_ceq …).
// Root is set for ["$", "col"], which refers to the table the permission is
// defined on rather than the innermost one.
type ColumnRef struct {
	Pos    Pos
	Root   bool
	Column string
}

// DWithin is the operand of the PostGIS operators _st_d_within and
// _st_3d_d_within: the rows within Distance of the GeoJSON From.
// UseSpheroid (geography columns only) is nil when not given.
type DWithin struct {
	Pos         Pos
	Distance    Value
	From        Value
	UseSpheroid Value
}

// List is a list of values, for _in, _nin and _has_keys_*.
type List struct {
	Pos   Pos
	Items []Value
}

func (v *Literal) Position() Pos    { return v.Pos }
func (v *SessionVar) Position() Pos { return v.Pos }
func (v *ColumnRef) Position() Pos  { return v.Pos }
func (v *List) Position() Pos       { return v.Pos }
func (v *DWithin) Position() Pos    { return v.Pos }

func (*Literal) isValue()    {}
func (*SessionVar) isValue() {}
func (*ColumnRef) isValue()  {}
func (*List) isValue()       {}
func (*DWithin) isValue()    {}

// operators maps every spelling Hasura accepts to its normal form.
var operators = map[string]string{
	"_eq": "_eq", "_neq": "_neq", "_ne": "_neq",
	"_gt": "_gt", "_lt": "_lt", "_gte": "_gte", "_lte": "_lte",
	"_in": "_in", "_nin": "_nin",
	"_like": "_like", "_nlike": "_nlike", "_ilike": "_ilike", "_nilike": "_nilike",
	"_similar": "_similar", "_nsimilar": "_nsimilar",
	"_regex": "_regex", "_nregex": "_nregex", "_iregex": "_iregex", "_niregex": "_niregex",
	"_is_null":  "_is_null",
	"_contains": "_contains", "_contained_in": "_contained_in",
	"_has_key": "_has_key", "_has_keys_any": "_has_keys_any", "_has_keys_all": "_has_keys_all",
	"_ceq": "_ceq", "_cne": "_cne", "_cneq": "_cne",
	"_cgt": "_cgt", "_clt": "_clt", "_cgte": "_cgte", "_clte": "_clte",
	// PostGIS, on geometry and geography columns.
	"_st_contains": "_st_contains", "_st_crosses": "_st_crosses", "_st_equals": "_st_equals",
	"_st_intersects": "_st_intersects", "_st_overlaps": "_st_overlaps", "_st_touches": "_st_touches",
	"_st_within": "_st_within", "_st_d_within": "_st_d_within",
	"_st_3d_intersects": "_st_3d_intersects", "_st_3d_d_within": "_st_3d_d_within",
}

// IsDWithinOperator reports whether op takes a DWithin operand.
func IsDWithinOperator(op string) bool { return op == "_st_d_within" || op == "_st_3d_d_within" }

// IsPostGISOperator reports whether op is one of PostGIS's _st_ operators.
func IsPostGISOperator(op string) bool { return strings.HasPrefix(op, "_st_") }

// NormalizeOperator returns the normal form of a comparison operator ("$eq"
// and "_eq" → "_eq", "_ne" → "_neq") and whether it is one.
func NormalizeOperator(name string) (string, bool) {
	if len(name) > 1 && name[0] == '$' {
		name = "_" + name[1:]
	}
	op, ok := operators[name]
	return op, ok
}

// IsColumnOperator reports whether op compares two columns (_ceq …).
func IsColumnOperator(op string) bool {
	switch op {
	case "_ceq", "_cne", "_cgt", "_clt", "_cgte", "_clte":
		return true
	}
	return false
}
