package policies

// Metadata is the permission-relevant part of one Hasura source.
type Metadata struct {
	Tables         []*Table
	Functions      []*Function
	InheritedRoles []*InheritedRole
	// Source is the name of the database source the tables came from
	// ("" for a v2 export, which has none).
	Source string
	// Warnings name the parts of the metadata that rowguard does not serve
	// (actions, remote schemas, event triggers, other sources…), each at
	// its position. They do not stop a load.
	Warnings ErrorList
}

// QualifiedTable names a table as schema and name. An empty schema in the
// metadata means "public".
type QualifiedTable struct {
	Schema string
	Name   string
}

// String renders the name as schema.name, unquoted, for messages.
func (q QualifiedTable) String() string { return q.Schema + "." + q.Name }

// Table is one tracked table with its relationships and permissions.
type Table struct {
	Pos                 Pos
	Table               QualifiedTable
	ObjectRelationships []*Relationship
	ArrayRelationships  []*Relationship
	ComputedFields      []*ComputedField
	Permissions         []*Permission
	// Config holds the table's GraphQL naming (`configuration:`).
	Config TableConfig
	// IsEnum marks an enum table (`is_enum: true`): its rows are the
	// values of a GraphQL enum that the columns referencing it take.
	IsEnum bool
}

// Relationships returns the object relationships followed by the array ones.
func (t *Table) Relationships() []*Relationship {
	out := make([]*Relationship, 0, len(t.ObjectRelationships)+len(t.ArrayRelationships))
	out = append(out, t.ObjectRelationships...)
	return append(out, t.ArrayRelationships...)
}

// RelKind tells an object relationship (at most one related row) from an array
// relationship (any number of related rows).
type RelKind int

// The relationship kinds.
const (
	ObjectRel RelKind = iota
	ArrayRel
)

func (k RelKind) String() string {
	if k == ObjectRel {
		return "object"
	}
	return "array"
}

// Relationship is a named link from one table to another, declared either by
// a foreign key (`foreign_key_constraint_on`) or by an explicit column mapping
// (`manual_configuration`).
type Relationship struct {
	Pos  Pos
	Name string
	Kind RelKind

	// FKColumns: an object relationship by foreign key names the FK columns
	// on this table (`foreign_key_constraint_on: author_id`).
	FKColumns []string
	// RemoteFK: an array relationship by foreign key names the table holding
	// the FK and its columns that point at this table.
	RemoteFK *RemoteFK
	// Manual: `manual_configuration` with an explicit column mapping.
	Manual *ManualConfig
}

// RemoteFK is the far side of an array relationship declared by foreign key.
type RemoteFK struct {
	Table   QualifiedTable
	Columns []string
}

// ManualConfig is a relationship's explicit remote table and column mapping.
type ManualConfig struct {
	RemoteTable   QualifiedTable
	ColumnMapping []ColumnPair
}

// ColumnPair maps a column of the relationship's table to one of the remote
// table.
type ColumnPair struct {
	Local  string
	Remote string
}

// Op is a permission's operation.
type Op string

// The four operations a permission can grant.
const (
	Select Op = "select"
	Insert Op = "insert"
	Update Op = "update"
	Delete Op = "delete"
)

// Ops lists the operations in the order Hasura metadata lists them.
var Ops = []Op{Insert, Select, Update, Delete}

// Permission is one role's permission for one operation on one table.
type Permission struct {
	Pos  Pos
	Role string
	Op   Op

	// Columns the role may read (select), write (insert, update). AllColumns
	// is set for `columns: "*"`.
	Columns    []string
	AllColumns bool
	ColumnsPos Pos
	// ColumnPos holds the position of each entry of Columns.
	ColumnPos []Pos

	// Filter is the row filter of select, update and delete; nil when the
	// metadata has none (delete and update require one in Hasura; an
	// empty object {} means every row).
	Filter BoolExp
	// Check is the row check of insert and update (after presets).
	Check BoolExp

	// Set holds column presets of insert and update.
	Set []*Preset

	Limit             *int
	AllowAggregations bool
	BackendOnly       bool
	// ComputedFields lists the scalar computed fields a select permission
	// exposes; ComputedFieldPos holds the position of each entry.
	ComputedFields            []string
	ComputedFieldPos          []Pos
	QueryRootFields           []string
	SubscriptionRootFields    []string
	HasQueryRootFields        bool
	HasSubscriptionRootFields bool
}

// Preset fixes a column's value on insert or update, from a literal or a
// session variable.
type Preset struct {
	Pos    Pos
	Column string
	Value  Value
}

// InheritedRole is a role whose permissions are the union of its members'.
type InheritedRole struct {
	Pos     Pos
	Name    string
	RoleSet []string
}
