package compiler

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// expr resolves e with scope as the table its columns belong to and root as
// the permission's own table (for ["$", "col"]).
func (c *compiler) expr(e policies.BoolExp, scope *TableInfo, root *Table) Expr {
	switch e := e.(type) {
	case *policies.And:
		out := &And{Pos: e.Pos}
		for _, it := range e.Items {
			out.Items = append(out.Items, c.expr(it, scope, root))
		}
		return out
	case *policies.Or:
		out := &Or{Pos: e.Pos}
		for _, it := range e.Items {
			out.Items = append(out.Items, c.expr(it, scope, root))
		}
		return out
	case *policies.Not:
		return &Not{Pos: e.Pos, Item: c.expr(e.Item, scope, root)}
	case *policies.Exists:
		t := c.cat.Table(e.Table)
		if t == nil {
			c.errorf(e.Pos, "_exists: table %s does not exist", e.Table)
			return &BoolConst{Pos: e.Pos}
		}
		return &TableExists{Pos: e.Pos, Table: t, Where: c.expr(e.Where, c.info(t), root)}
	case *policies.Field:
		return c.field(e, scope, root)
	}
	panic(fmt.Sprintf("compiler: unknown boolean expression %T", e))
}

func (c *compiler) field(f *policies.Field, scope *TableInfo, root *Table) Expr {
	if col := scope.Table.Column(f.Name); col != nil {
		if f.Nested != nil {
			c.errorf(f.Pos, "%q is a column of %s: it takes comparison operators such as _eq, not a nested expression", f.Name, scope.Name())
			return &BoolConst{Pos: f.Pos}
		}
		out := &And{Pos: f.Pos}
		for _, cmp := range f.Comparisons {
			if e := c.compare(col, cmp, scope, root); e != nil {
				out.Items = append(out.Items, e)
			}
		}
		if len(out.Items) == 1 {
			return out.Items[0]
		}
		return out
	}
	if rel := scope.Relationship(f.Name); rel != nil {
		if len(f.Comparisons) > 0 {
			c.errorf(f.Pos, "%q is a relationship of %s: it takes a boolean expression over %s, not comparison operators", f.Name, scope.Name(), rel.Remote.Name)
			return &BoolConst{Pos: f.Pos}
		}
		var where Expr = &And{Pos: f.Pos}
		if f.Nested != nil {
			where = c.expr(f.Nested, c.info(rel.Remote), root)
		}
		return &RelExists{Pos: f.Pos, Rel: rel, Where: where}
	}
	if cf := scope.ComputedField(f.Name); cf != nil {
		return c.computedExpr(f, cf, root)
	}
	c.notFound(f.Pos, f.Name, scope)
	return &BoolConst{Pos: f.Pos}
}

// unknownType reports a rule that compares a view column whose type the
// offline catalog could not derive.
func (c *compiler) unknownType(pos policies.Pos, col *Column, t *Table) {
	c.errorf(pos, "%s.%s: the type of this view column is not known offline (ParseDDL cannot derive it from the view's query); compile with --database-url to read it from the database, or cast the column in the view", t.Name, col.Name)
}

func (c *compiler) compare(col *Column, cmp *policies.Comparison, scope *TableInfo, root *Table) Expr {
	out := &Compare{Pos: cmp.Pos, Column: col, Op: cmp.Op}
	what := fmt.Sprintf("%s on %s", cmp.Op, col.Name)
	if col.Type == UnknownType && cmp.Op != "_is_null" {
		c.unknownType(cmp.Pos, col, scope.Table)
		return nil
	}
	typ := CastType(col.Type)
	switch cmp.Op {
	case "_eq", "_neq", "_gt", "_lt", "_gte", "_lte":
		out.Right = c.operand(cmp.Value, typ, what)
	case "_in", "_nin":
		out.Right = c.listOperand(cmp.Value, typ, what)
	case "_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex":
		if !isTextType(col.Type) {
			c.errorf(cmp.Pos, "%s needs a text column; %s is %s", cmp.Op, col.Name, col.Type)
			return nil
		}
		out.Right = c.operand(cmp.Value, "text", what)
	case "_is_null":
		out.Right = c.operand(cmp.Value, "boolean", what)
	case "_contains", "_contained_in":
		if col.Type != "jsonb" {
			c.errorf(cmp.Pos, "%s needs a jsonb column; %s is %s", cmp.Op, col.Name, col.Type)
			return nil
		}
		out.Right = c.operand(cmp.Value, "jsonb", what)
	case "_has_key":
		if col.Type != "jsonb" {
			c.errorf(cmp.Pos, "%s needs a jsonb column; %s is %s", cmp.Op, col.Name, col.Type)
			return nil
		}
		out.Right = c.operand(cmp.Value, "text", what)
	case "_has_keys_any", "_has_keys_all":
		if col.Type != "jsonb" {
			c.errorf(cmp.Pos, "%s needs a jsonb column; %s is %s", cmp.Op, col.Name, col.Type)
			return nil
		}
		out.Right = c.listOperand(cmp.Value, "text", what)
	case "_ceq", "_cne", "_cgt", "_clt", "_cgte", "_clte":
		ref, ok := cmp.Value.(*policies.ColumnRef)
		if !ok {
			c.errorf(cmp.Pos, "%s takes a column name", cmp.Op)
			return nil
		}
		t := scope.Table
		if ref.Root {
			t = root
		}
		other := t.Column(ref.Column)
		if other == nil {
			c.errorf(ref.Pos, "%s: %q is not a column of %s (columns: %s)", cmp.Op, ref.Column, t.Name, columnNames(t))
			return nil
		}
		if other.Type == UnknownType {
			c.unknownType(ref.Pos, other, t)
			return nil
		}
		if !comparableTypes(col.Type, other.Type) {
			c.errorf(ref.Pos, "%s compares %s (%s) with %s (%s): the types differ", cmp.Op, col.Name, col.Type, other.Name, other.Type)
			return nil
		}
		out.Right = &ColumnValue{Root: ref.Root, Table: t, Column: other}
	default:
		if policies.IsPostGISOperator(cmp.Op) {
			out.Right = c.postgis(col, cmp, what)
			break
		}
		c.errorf(cmp.Pos, "operator %s is not supported", cmp.Op)
		return nil
	}
	if out.Right == nil {
		return nil
	}
	return out
}

// operand resolves a scalar value to typ.
func (c *compiler) operand(v policies.Value, typ, what string) Operand {
	switch v := v.(type) {
	case *policies.SessionVar:
		setting, ok := SettingName(v.Name)
		if !ok {
			c.errorf(v.Pos, "session variable %q has characters a PostgreSQL setting name cannot hold: use letters, digits and -", v.Name)
			return nil
		}
		return &SessionValue{Name: v.Name, Setting: setting, Type: typ}
	case *policies.Literal:
		text, err := constText(v.V, typ)
		if err != nil {
			c.errorf(v.Pos, "%s: %v", what, err)
			return nil
		}
		return &Const{Text: text, Type: typ}
	case *policies.List:
		if strings.HasSuffix(typ, "[]") || typ == "jsonb" || typ == "json" {
			lit := &policies.Literal{Pos: v.Pos, V: listValues(v)}
			return c.operand(lit, typ, what)
		}
		c.errorf(v.Pos, "%s takes one value, not a list", what)
		return nil
	case *policies.ColumnRef:
		c.errorf(v.Pos, "%s takes a value; column references go with _ceq, _cne, _cgt, _clt, _cgte, _clte", what)
		return nil
	}
	panic(fmt.Sprintf("compiler: unknown value %T", v))
}

func listValues(l *policies.List) []any {
	out := []any{}
	for _, it := range l.Items {
		if lit, ok := it.(*policies.Literal); ok {
			out = append(out, lit.V)
		}
	}
	return out
}

// listOperand resolves the operand of _in, _nin and _has_keys_*: a list of
// elem values, or an array session variable.
func (c *compiler) listOperand(v policies.Value, elem, what string) Operand {
	switch v := v.(type) {
	case *policies.SessionVar:
		setting, ok := SettingName(v.Name)
		if !ok {
			c.errorf(v.Pos, "session variable %q has characters a PostgreSQL setting name cannot hold", v.Name)
			return nil
		}
		return &SessionValue{Name: v.Name, Setting: setting, Type: elem + "[]"}
	case *policies.List:
		out := &ListValue{Type: elem}
		for _, it := range v.Items {
			if op := c.operand(it, elem, what); op != nil {
				out.Items = append(out.Items, op)
			}
		}
		return out
	}
	c.errorf(v.Position(), "%s takes a list or an array session variable", what)
	return nil
}

// constText renders a YAML/JSON constant as the text PostgreSQL will cast
// to typ, rejecting what cannot fit so the error points at the metadata
// rather than at a failed CREATE POLICY.
func constText(v any, typ string) (string, error) {
	if v == nil {
		return "", fmt.Errorf("null is not a value here: use _is_null to test for null")
	}
	if typ == "jsonb" || typ == "json" {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("value is not JSON: %v", err)
		}
		return string(b), nil
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case bool:
		text = strconv.FormatBool(x)
	case int:
		text = strconv.Itoa(x)
	case int64:
		text = strconv.FormatInt(x, 10)
	case uint64:
		text = strconv.FormatUint(x, 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			text = strconv.FormatFloat(x, 'g', -1, 64)
		} else {
			text = strconv.FormatFloat(x, 'f', -1, 64)
		}
	default:
		return "", fmt.Errorf("a %T is not a value for type %s", v, typ)
	}
	switch {
	case isIntType(typ):
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return "", fmt.Errorf("%q is not an integer, and the column is %s", text, typ)
		}
	case isNumericType(typ):
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return "", fmt.Errorf("%q is not a number, and the column is %s", text, typ)
		}
	case typ == "boolean":
		switch strings.ToLower(text) {
		case "true", "false", "t", "f", "yes", "no", "on", "off", "1", "0":
		default:
			return "", fmt.Errorf("%q is not true or false, and the column is boolean", text)
		}
	}
	return text, nil
}

// CastType is the type a comparison's operand is cast to for a column of
// type t: t without its modifier, since casting a constant to
// character varying(3) or numeric(4,2) would truncate or round it and change
// what the rule means. character(n) becomes bpchar, which has no length.
func CastType(t string) string {
	arr := ""
	for strings.HasSuffix(t, "[]") {
		t, arr = strings.TrimSuffix(t, "[]"), arr+"[]"
	}
	if i := strings.IndexByte(t, '('); i >= 0 {
		if j := strings.IndexByte(t[i:], ')'); j >= 0 {
			t = strings.TrimSpace(t[:i] + t[i+j+1:])
		}
	}
	if t == "character" {
		t = "bpchar"
	}
	return t + arr
}

func isIntType(t string) bool { return t == "integer" || t == "bigint" || t == "smallint" }

func isNumericType(t string) bool {
	return isIntType(t) || t == "real" || t == "double precision" || t == "numeric" || strings.HasPrefix(t, "numeric(")
}

func isTextType(t string) bool {
	return t == "text" || t == "citext" || t == "name" || strings.HasPrefix(t, "character")
}

func comparableTypes(a, b string) bool {
	switch {
	case a == b:
		return true
	case isNumericType(a) && isNumericType(b):
		return true
	case isTextType(a) && isTextType(b):
		return true
	}
	return strings.HasPrefix(a, "timestamp") && strings.HasPrefix(b, "timestamp")
}
