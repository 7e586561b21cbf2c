package compiler

import (
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// ComputedField is a resolved computed field: Function called with the
// row of Table as argument TableArg (and the session as SessionArg). It
// is scalar (Returns) or an array of ReturnsTable's rows.
type ComputedField struct {
	Pos      policies.Pos
	Name     string
	Table    *Table
	Function *Function
	TableArg int
	// SessionArg is the index of the json argument that receives the
	// session variables, or -1.
	SessionArg int
	// Returns is the scalar result type; ReturnsTable is set instead for a
	// function returning SETOF a table.
	Returns      string
	ReturnsTable *Table
	Comment      string
}

// Scalar reports whether the field is one value rather than rows.
func (cf *ComputedField) Scalar() bool { return cf.ReturnsTable == nil }

// ExtraArgs lists the arguments other than the row and the session, which
// a request passes in `args`.
func (cf *ComputedField) ExtraArgs() []*FunctionArg {
	var out []*FunctionArg
	for i, a := range cf.Function.Args {
		if i != cf.TableArg && i != cf.SessionArg {
			out = append(out, a)
		}
	}
	return out
}

// ComputedField returns the table's computed field of that name, or nil.
func (t *TableInfo) ComputedField(name string) *ComputedField {
	for _, cf := range t.ComputedFields {
		if cf.Name == name {
			return cf
		}
	}
	return nil
}

// ComputedCompare applies a comparison operator to a scalar computed
// field of the scope table's row.
type ComputedCompare struct {
	Pos   policies.Pos
	Field *ComputedField
	Op    string
	Right Operand
}

// ComputedExists holds when some row the SETOF computed field returns for
// the scope row satisfies Where (scoped to Field.ReturnsTable).
type ComputedExists struct {
	Pos   policies.Pos
	Field *ComputedField
	Where Expr
}

func (e *ComputedCompare) Position() policies.Pos { return e.Pos }
func (e *ComputedExists) Position() policies.Pos  { return e.Pos }
func (*ComputedCompare) isExpr()                  {}
func (*ComputedExists) isExpr()                   {}

// SessionSetting carries the whole session (role and variables) as a JSON
// object for functions that take a session argument: PostgreSQL does not
// list custom settings such as hasura.x_hasura_user_id (pg_settings hides
// placeholders), so the object cannot be rebuilt from them.
const SessionSetting = "hasura.session"

// rowTypeName spells t's row type as the catalog spells argument types.
func rowTypeName(t *Table) string {
	return quoteIdentPG(t.Name.Schema, true) + "." + quoteIdentPG(t.Name.Name, true)
}

// computedFields resolves every tracked table's computed fields.
func (c *compiler) computedFields() {
	for _, info := range c.prog.Tables {
		mt := c.meta[info.Name()]
		for _, m := range mt.ComputedFields {
			if info.Table.Column(m.Name) != nil || info.Relationship(m.Name) != nil {
				c.errorf(m.Pos, "computed field %q has the name of a column or relationship of %s: rename it", m.Name, info.Name())
				continue
			}
			if cf := c.computedField(info.Table, m); cf != nil {
				info.ComputedFields = append(info.ComputedFields, cf)
			}
		}
	}
}

func (c *compiler) computedField(t *Table, m *policies.ComputedField) *ComputedField {
	f := c.cat.Function(m.Function)
	if f == nil {
		c.errorf(m.Pos, "computed field %q: function %s does not exist: create it in a migration", m.Name, m.Function)
		return nil
	}
	if f.Overloads > 1 {
		c.errorf(m.Pos, "computed field %q: function %s is overloaded: keep one function of that name", m.Name, m.Function)
		return nil
	}
	cf := &ComputedField{Pos: m.Pos, Name: m.Name, Table: t, Function: f, TableArg: 0, SessionArg: -1, Comment: m.Comment}
	if m.TableArgument != "" {
		if _, i := f.Arg(m.TableArgument); i >= 0 {
			cf.TableArg = i
		} else {
			c.errorf(m.Pos, "computed field %q: function %s has no argument %q (arguments: %s)", m.Name, f.Name, m.TableArgument, argNames(f))
			return nil
		}
	}
	if m.SessionArgument != "" {
		a, i := f.Arg(m.SessionArgument)
		if i < 0 {
			c.errorf(m.Pos, "computed field %q: function %s has no argument %q (arguments: %s)", m.Name, f.Name, m.SessionArgument, argNames(f))
			return nil
		}
		if a.Type != "json" && a.Type != "jsonb" {
			c.errorf(m.Pos, "computed field %q: session argument %q of %s must be json or jsonb, not %s", m.Name, a.Name, f.Name, a.Type)
			return nil
		}
		if i == cf.TableArg {
			c.errorf(m.Pos, "computed field %q: the table argument and the session argument are both %q", m.Name, a.Name)
			return nil
		}
		cf.SessionArg = i
	}
	if len(f.Args) == 0 {
		c.errorf(m.Pos, "computed field %q: function %s takes no argument; it must take the row of %s", m.Name, f.Name, t.Name)
		return nil
	}
	if want := rowTypeName(t); f.Args[cf.TableArg].Type != want {
		c.errorf(m.Pos, "computed field %q: argument %d of %s is %s, but the table argument must be the row type %s",
			m.Name, cf.TableArg+1, f.Name, f.Args[cf.TableArg].Type, want)
		return nil
	}
	switch {
	case f.ReturnsTable.Name != "":
		// A table's row, one or SETOF: rows, as Hasura serves both.
		cf.ReturnsTable = c.cat.Table(f.ReturnsTable)
		if cf.ReturnsTable == nil {
			c.errorf(m.Pos, "computed field %q: %s returns rows of %s, which is not in the catalog", m.Name, f.Name, f.ReturnsTable)
			return nil
		}
	case f.ReturnsSet:
		c.errorf(m.Pos, "computed field %q: %s returns SETOF %s; a computed field returns one value or SETOF a table", m.Name, f.Name, f.Returns)
		return nil
	case f.Returns == "void" || f.Returns == "trigger" || f.Returns == "record":
		c.errorf(m.Pos, "computed field %q: %s returns %s, which is not a value", m.Name, f.Name, f.Returns)
		return nil
	default:
		cf.Returns = f.Returns
	}
	return cf
}

func argNames(f *Function) string {
	var names []string
	for _, a := range f.Args {
		names = append(names, a.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// permissionComputedFields resolves a select permission's computed_fields
// list: scalar computed fields of the table.
func (c *compiler) permissionComputedFields(info *TableInfo, p *policies.Permission) []*ComputedField {
	var out []*ComputedField
	for i, name := range p.ComputedFields {
		pos := p.Pos
		if i < len(p.ComputedFieldPos) {
			pos = p.ComputedFieldPos[i]
		}
		cf := info.ComputedField(name)
		if cf == nil {
			c.errorf(pos, "select permission for role %q lists computed field %q, which %s does not have", p.Role, name, info.Name())
			continue
		}
		if !cf.Scalar() {
			c.errorf(pos, "select permission for role %q lists computed field %q, which returns rows: its rows follow the select permission of %s", p.Role, name, cf.ReturnsTable.Name)
			continue
		}
		out = append(out, cf)
	}
	return out
}

// computedExpr resolves `name: …` in a boolean expression when name is a
// computed field of scope.
func (c *compiler) computedExpr(f *policies.Field, cf *ComputedField, root *Table) Expr {
	if len(cf.ExtraArgs()) > 0 {
		c.errorf(f.Pos, "computed field %q takes arguments (%s), which a boolean expression cannot pass", f.Name, argNames(cf.Function))
		return &BoolConst{Pos: f.Pos}
	}
	if !cf.Scalar() {
		if len(f.Comparisons) > 0 {
			c.errorf(f.Pos, "computed field %q returns rows of %s: it takes a boolean expression over them, not comparison operators", f.Name, cf.ReturnsTable.Name)
			return &BoolConst{Pos: f.Pos}
		}
		var where Expr = &And{Pos: f.Pos}
		if f.Nested != nil {
			where = c.expr(f.Nested, c.info(cf.ReturnsTable), root)
		}
		return &ComputedExists{Pos: f.Pos, Field: cf, Where: where}
	}
	if f.Nested != nil {
		c.errorf(f.Pos, "computed field %q is a scalar (%s): it takes comparison operators such as _eq, not a nested expression", f.Name, cf.Returns)
		return &BoolConst{Pos: f.Pos}
	}
	// A scalar computed field compares as a column of its result type.
	col := &Column{Name: cf.Name, Type: cf.Returns}
	out := &And{Pos: f.Pos}
	for _, cmp := range f.Comparisons {
		if policies.IsColumnOperator(cmp.Op) {
			c.errorf(cmp.Pos, "%s compares columns; computed field %q is not a column", cmp.Op, f.Name)
			continue
		}
		e := c.compare(col, cmp, nil, root)
		if e == nil {
			continue
		}
		x := e.(*Compare)
		out.Items = append(out.Items, &ComputedCompare{Pos: x.Pos, Field: cf, Op: x.Op, Right: x.Right})
	}
	if len(out.Items) == 1 {
		return out.Items[0]
	}
	return out
}

var _ = fmt.Sprintf
