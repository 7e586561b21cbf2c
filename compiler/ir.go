package compiler

import "github.com/rowguard/rowguard/policies"

// Program is compiled metadata: every tracked table with its resolved
// relationships and permissions, and the roles they name. It is what the RLS
// emitter and the GraphQL planner both consume, so a rule means the same in
// a policy and in the schema.
type Program struct {
	Tables         []*TableInfo // sorted by schema, name
	Roles          []*Role      // sorted by Hasura name
	InheritedRoles []*InheritedRole
	// Functions are the tracked functions served as query root fields,
	// sorted by root field name.
	Functions []*TrackedFunction
	Options   Options
	Catalog   *Catalog
	// Warnings name what the metadata holds that will not be served (the
	// loader's, then the compiler's), each at its position, sorted.
	Warnings policies.ErrorList
}

// Table returns the tracked table of that name, or nil.
func (p *Program) Table(q policies.QualifiedTable) *TableInfo {
	for _, t := range p.Tables {
		if t.Name() == q {
			return t
		}
	}
	return nil
}

// AdminPGRole is the PostgreSQL role admin requests run as: NOLOGIN and
// BYPASSRLS, with every privilege on the tracked tables, so that the
// server's login role needs neither superuser nor BYPASSRLS itself. Hasura
// reserves the role name "admin", so no permission role can take the name.
func (p *Program) AdminPGRole() string { return PGRoleName(p.Options.rolePrefix(), "admin") }

// Role returns the role with that Hasura name, or nil.
func (p *Program) Role(name string) *Role {
	for _, r := range p.Roles {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Role is a Hasura role and the PostgreSQL role that stands for it.
type Role struct {
	Name   string // as in the metadata: "user"
	PGName string // "hasura_user"
}

// InheritedRole is a role whose permissions are the union of its members'.
type InheritedRole struct {
	Pos     policies.Pos
	Role    *Role
	Members []*Role
}

// TableInfo is one tracked table.
type TableInfo struct {
	Pos           policies.Pos
	Table         *Table
	Relationships []*Relationship
	// ComputedFields are in metadata order.
	ComputedFields []*ComputedField
	Permissions    []*Permission // sorted by role, then insert, select, update, delete
	// GraphQL holds the table's GraphQL names (custom or Hasura's
	// defaults).
	GraphQL *GraphQLNames
	// Source is set on a view that calls functions reading data with the
	// caller's rights (Catalog.ReadsAsCaller): each role's view reads it
	// through a SECURITY DEFINER function of its own (ViewSourceName), so
	// those functions run with the definer's rights, as Hasura runs them
	// with the owner's.
	Source bool
	// Enum is set for an enum table (`is_enum: true`).
	Enum *EnumTable
	// EnumRefs maps the columns whose foreign key points at an enum
	// table's key to that table; their GraphQL type is its enum.
	EnumRefs map[string]*TableInfo
}

// Name returns the table's qualified name.
func (t *TableInfo) Name() policies.QualifiedTable { return t.Table.Name }

// Relationship returns the named relationship, or nil.
func (t *TableInfo) Relationship(name string) *Relationship {
	for _, r := range t.Relationships {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Permission returns the role's permission for op, or nil.
func (t *TableInfo) Permission(role string, op policies.Op) *Permission {
	for _, p := range t.Permissions {
		if p.Role.Name == role && p.Op == op {
			return p
		}
	}
	return nil
}

// Relationship is a resolved relationship: rows of Remote whose Mapping
// columns equal this table's.
type Relationship struct {
	Pos     policies.Pos
	Name    string
	Kind    policies.RelKind
	From    *Table
	Remote  *Table
	Mapping []ColumnPair
}

// ColumnPair joins a column of the relationship's table (Local) to one of
// the remote table.
type ColumnPair struct {
	Local  *Column
	Remote *Column
}

// Permission is a resolved permission.
type Permission struct {
	Pos   policies.Pos
	Role  *Role
	Op    policies.Op
	Table *Table

	// Columns the role may read or write, in table order.
	Columns []*Column
	// HiddenColumns (select only) are columns PostgreSQL must let the role
	// read although Columns does not list them, in table order: the join
	// columns of every relationship the role can follow (it has a select
	// permission on both tables), because PostgreSQL checks column
	// privileges on a join condition where Hasura publishes a relationship
	// whatever columns the permissions list; and, for a permission with
	// allow_aggregations that has no column at all, CtidColumn (a view's
	// first key column), because PostgreSQL lets a role count rows only
	// when it may read some column; and the primary key of a table whose
	// computed fields the role reads through helpers (ComputedAccess.Key).
	// The GraphQL schema publishes none of them.
	HiddenColumns []*Column
	// ComputedFields are the scalar computed fields a select permission
	// exposes.
	ComputedFields []*ComputedField
	// ComputedAccess (select only) lists the computed fields the role may
	// read, scalar and SETOF, and how it calls each.
	ComputedAccess []*ComputedAccess
	// Filter applies to select, update and delete; nil for insert.
	Filter Expr
	// Check applies to insert and update; nil for select and delete, and for
	// an update without a check (no post-condition).
	Check             Expr
	Presets           []*Preset // sorted by column order
	Limit             *int
	AllowAggregations bool
	BackendOnly       bool
	// QueryRootFields is nil when the metadata does not restrict root
	// fields; otherwise the allowed ones ("select", "select_by_pk",
	// "select_aggregate").
	QueryRootFields        []string
	SubscriptionRootFields []string
	// ColumnRows is set on a select permission derived for an inherited
	// role: for each column that only some members may read, the rows on
	// which it may be read (the OR of those members' filters). PostgreSQL
	// grants the column on every row the permission shows; the GraphQL
	// planner returns null on the others, as Hasura does. A column not in
	// the map is readable on every row. Scalar computed fields are keyed
	// by their name the same way.
	ColumnRows map[string]Expr
}

// HasColumn reports whether the permission lists the column.
func (p *Permission) HasColumn(name string) bool {
	for _, c := range p.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Preset sets a column on insert or update.
type Preset struct {
	Pos    policies.Pos
	Column *Column
	Value  Operand
}

// Expr is a resolved, typed boolean expression over one table (its scope).
// It is sealed: BoolConst, And, Or, Not, Compare, RelExists, TableExists.
type Expr interface {
	Position() policies.Pos
	isExpr()
}

// BoolConst is true or false.
type BoolConst struct {
	Pos   policies.Pos
	Value bool
}

// And holds when all items hold (true when empty).
type And struct {
	Pos   policies.Pos
	Items []Expr
}

// Or holds when any item holds (false when empty).
type Or struct {
	Pos   policies.Pos
	Items []Expr
}

// Not negates Item.
type Not struct {
	Pos  policies.Pos
	Item Expr
}

// Compare applies a Hasura comparison operator to a column of the scope
// table. Op is the normalized Hasura operator ("_eq", "_in", "_ceq" …).
type Compare struct {
	Pos    policies.Pos
	Column *Column
	Op     string
	Right  Operand
}

// RelExists holds when some row reached through Rel satisfies Where, which
// is scoped to Rel.Remote.
type RelExists struct {
	Pos   policies.Pos
	Rel   *Relationship
	Where Expr
}

// TableExists is `_exists`: some row of Table satisfies Where (scoped to
// Table), unrelated to the scope table.
type TableExists struct {
	Pos   policies.Pos
	Table *Table
	Where Expr
}

func (e *BoolConst) Position() policies.Pos   { return e.Pos }
func (e *And) Position() policies.Pos         { return e.Pos }
func (e *Or) Position() policies.Pos          { return e.Pos }
func (e *Not) Position() policies.Pos         { return e.Pos }
func (e *Compare) Position() policies.Pos     { return e.Pos }
func (e *RelExists) Position() policies.Pos   { return e.Pos }
func (e *TableExists) Position() policies.Pos { return e.Pos }

func (*BoolConst) isExpr()   {}
func (*And) isExpr()         {}
func (*Or) isExpr()          {}
func (*Not) isExpr()         {}
func (*Compare) isExpr()     {}
func (*RelExists) isExpr()   {}
func (*TableExists) isExpr() {}

// Operand is the right side of a comparison or a preset's value: Const,
// SessionValue, ColumnValue or ListValue.
type Operand interface{ isOperand() }

// Const is a constant already checked against Type, the type it is cast to.
// Text is its PostgreSQL text form (JSON for jsonb).
type Const struct {
	Text string
	Null bool
	Type string
}

// SessionValue reads a session variable, cast to Type (an array type when
// the variable holds an array literal like "{1,2}").
type SessionValue struct {
	Name    string // "x-hasura-user-id"
	Setting string // "hasura.x_hasura_user_id"
	Type    string
}

// ColumnValue is another column: of the scope table, or of the
// permission's own table when Root is set (["$", "col"]).
type ColumnValue struct {
	Root   bool
	Table  *Table
	Column *Column
}

// ListValue is a list of operands of element type Type, for _in and the
// jsonb key operators.
type ListValue struct {
	Items []Operand
	Type  string // element type
}

func (*Const) isOperand()        {}
func (*SessionValue) isOperand() {}
func (*ColumnValue) isOperand()  {}
func (*ListValue) isOperand()    {}
