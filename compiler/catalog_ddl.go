package compiler

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"

	"github.com/rowguard/rowguard/policies"
)

// DDLFile is one SQL file of schema definitions.
type DDLFile struct {
	Name string
	SQL  string
}

// ParseDDL builds a catalog offline by replaying the files' CREATE SCHEMA,
// CREATE TABLE, CREATE [MATERIALIZED] VIEW, ALTER TABLE (columns,
// defaults, NOT NULL, identity, keys), ALTER … RENAME and SET SCHEMA,
// CREATE [UNIQUE] INDEX, CREATE TYPE/DOMAIN, CREATE FUNCTION, CREATE/ALTER
// SEQUENCE … OWNED BY, DROP, SET search_path and DO blocks in order, the
// way PostgreSQL would, to the Catalog that LoadCatalog reads from a
// database built from the same files: types as format_type spells them
// (user types schema-qualified, types it does not know, such as an
// extension's citext, as written), PostgreSQL's names for unnamed
// constraints and serial sequences. Unqualified names resolve through SET
// search_path (public by default). A view's columns are named as
// PostgreSQL names them and typed where the query's parse tree tells the
// type (UnknownType otherwise). The files may be psql scripts such as
// pg_dump's output: meta-command lines (\restrict, \connect) are skipped.
// Statements that do not change the catalog (INSERT, COMMENT, GRANT,
// OWNER TO, triggers, policies, …) are skipped. What the catalog would
// owe to what only a database knows (a DO block's loop, EXECUTE of a
// computed string or IF on a variable that changes the schema, the periods
// extension's table-making functions) is refused. Errors are reported at
// file:line:col.
func ParseDDL(files []DDLFile) (*Catalog, error) {
	b := &ddlBuilder{
		cat: NewCatalog(), path: []string{"public"}, schemas: map[string]bool{"public": true},
		types: map[policies.QualifiedTable]bool{}, rels: map[policies.QualifiedTable]bool{},
		cons: map[policies.QualifiedTable]bool{}, meta: map[*Table]*tableMeta{},
		owners: map[policies.QualifiedTable]colRef{}, funcs: map[policies.QualifiedTable][]*Function{},
		schemaFuncs: map[policies.QualifiedTable]bool{}, funcOut: map[*Function][]*Column{},
	}
	for i := range files {
		b.f = &files[i]
		tree, err := parseScript(b.f.SQL)
		if err != nil {
			var pe *parser.Error
			if errors.As(err, &pe) && pe.Cursorpos > 0 {
				return nil, b.errorf(int32(charOffset(b.f.SQL, pe.Cursorpos-1)), "%w (the file must be SQL that PostgreSQL accepts)", err)
			}
			return nil, fmt.Errorf("%s: %w", b.f.Name, err)
		}
		for _, raw := range tree.Stmts {
			b.stmtLoc = raw.StmtLocation
			if err := b.stmt(raw.Stmt); err != nil {
				return nil, err
			}
		}
	}
	return b.finish()
}

type ddlBuilder struct {
	cat     *Catalog
	f       *DDLFile
	stmtLoc int32 // byte offset of the current statement in f
	path    []string
	schemas map[string]bool
	types   map[policies.QualifiedTable]bool        // user-defined types
	rels    map[policies.QualifiedTable]bool        // names taken in pg_class: tables, views, sequences, indexes, composite types
	cons    map[policies.QualifiedTable]bool        // names taken in pg_constraint
	funcs   map[policies.QualifiedTable][]*Function // overloads, in creation order
	// schemaFuncs are the functions and procedures whose body changes the
	// schema: a statement that calls one cannot be followed offline.
	schemaFuncs map[policies.QualifiedTable]bool
	// funcOut are the result columns of functions with OUT or TABLE
	// arguments, which views may select from.
	funcOut map[*Function][]*Column
	meta    map[*Table]*tableMeta
	owners  map[policies.QualifiedTable]colRef // sequence → the column that owns it
	pending []pendingFK
}

type colRef struct {
	table policies.QualifiedTable
	col   string
}

// tableMeta is what ParseDDL tracks of a table beyond Table.
type tableMeta struct {
	pkName  string
	keys    []ddlKey                           // unique constraints and unique indexes
	ordered []ddlKey                           // non-unique indexes of Table.OrderedIndexes
	nextval map[string]policies.QualifiedTable // column → sequence its default draws from
	deps    *viewDeps                          // for a view, what its query reads
}

// orderedIndexes returns Table.OrderedIndexes of t: the primary key, the
// unique keys but those whose index is not one (unordered), and the
// other indexes of ordered.
func (m *tableMeta) orderedIndexes(t *Table) [][]string {
	var keys []namedKey
	if len(t.PrimaryKey) > 0 {
		keys = append(keys, namedKey{m.pkName, t.PrimaryKey})
	}
	for _, k := range m.keys {
		if !k.unordered {
			keys = append(keys, namedKey{k.name, k.cols})
		}
	}
	for _, k := range m.ordered {
		keys = append(keys, namedKey{k.name, k.cols})
	}
	return sortedKeys(keys)
}

type ddlKey struct {
	name       string
	cols, all  []string // key columns; with INCLUDE columns
	constraint bool
	// unordered: a unique index that is not one of Table.OrderedIndexes.
	unordered bool
}

type pendingFK struct {
	t   *Table
	fk  *ForeignKey
	f   *DDLFile
	loc int32
}

// errorf reports an error at byte offset loc of the current file (at the
// current statement when loc is unknown).
func (b *ddlBuilder) errorf(loc int32, format string, args ...any) error {
	if loc < 0 {
		loc = int32(skipSpace(b.f.SQL, int(b.stmtLoc)))
	}
	line, col := lineCol(b.f.SQL, int(loc))
	return fmt.Errorf("%s:%d:%d: "+format, append([]any{b.f.Name, line, col}, args...)...)
}

// skipSpace returns the offset of the first byte at or after off that is
// not white space or part of a comment: where a statement's text starts
// (PostgreSQL's statement locations start after the previous semicolon).
func skipSpace(src string, off int) int {
	for off < len(src) {
		switch {
		case strings.HasPrefix(src[off:], "--"):
			if i := strings.IndexByte(src[off:], '\n'); i >= 0 {
				off += i + 1
			} else {
				off = len(src)
			}
		case strings.HasPrefix(src[off:], "/*"):
			if i := strings.Index(src[off+2:], "*/"); i >= 0 {
				off += i + 4
			} else {
				off = len(src)
			}
		case strings.ContainsRune(" \t\r\n\f", rune(src[off])):
			off++
		default:
			return off
		}
	}
	return off
}

func (b *ddlBuilder) stmt(n *pg_query.Node) error {
	switch s := n.GetNode().(type) {
	case *pg_query.Node_CreateSchemaStmt:
		name := s.CreateSchemaStmt.Schemaname
		if name == "" && s.CreateSchemaStmt.Authrole != nil {
			name = s.CreateSchemaStmt.Authrole.Rolename
		}
		b.schemas[name] = true
		saved := b.path
		b.path = []string{name}
		defer func() { b.path = saved }()
		for _, e := range s.CreateSchemaStmt.SchemaElts {
			if err := b.stmt(e); err != nil {
				return err
			}
		}
	case *pg_query.Node_CreateStmt:
		return b.createTable(s.CreateStmt)
	case *pg_query.Node_CreateForeignTableStmt:
		return b.createTable(s.CreateForeignTableStmt.BaseStmt)
	case *pg_query.Node_ViewStmt:
		v := s.ViewStmt
		return b.createView(v.View, v.Query, v.Aliases, true, false, v.Replace, false)
	case *pg_query.Node_CreateTableAsStmt:
		c := s.CreateTableAsStmt
		matview := c.Objtype == pg_query.ObjectType_OBJECT_MATVIEW
		return b.createView(c.Into.Rel, c.Query, c.Into.ColNames, matview, matview, false, c.IfNotExists)
	case *pg_query.Node_AlterTableStmt:
		return b.alterTable(s.AlterTableStmt)
	case *pg_query.Node_IndexStmt:
		return b.createIndex(s.IndexStmt)
	case *pg_query.Node_DoStmt:
		return b.doBlock(s.DoStmt)
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_CallStmt:
		if why := b.schemaFunctionCall(n); why != "" {
			return b.errorf(-1, "%s; read the catalog with --database-url", why)
		}
	case *pg_query.Node_RenameStmt:
		return b.rename(s.RenameStmt)
	case *pg_query.Node_AlterObjectSchemaStmt:
		return b.setSchema(s.AlterObjectSchemaStmt)
	case *pg_query.Node_CreateFunctionStmt:
		return b.createFunction(s.CreateFunctionStmt)
	case *pg_query.Node_DropStmt:
		return b.drop(s.DropStmt)
	case *pg_query.Node_CreateEnumStmt:
		b.types[b.typeQName(strs(s.CreateEnumStmt.TypeName))] = true
	case *pg_query.Node_CreateDomainStmt:
		b.types[b.typeQName(strs(s.CreateDomainStmt.Domainname))] = true
	case *pg_query.Node_CreateRangeStmt:
		b.types[b.typeQName(strs(s.CreateRangeStmt.TypeName))] = true
	case *pg_query.Node_CompositeTypeStmt:
		q := b.creationName(s.CompositeTypeStmt.Typevar)
		b.types[q], b.rels[q] = true, true
	case *pg_query.Node_CreateSeqStmt:
		q := b.creationName(s.CreateSeqStmt.Sequence)
		b.rels[q] = true
		b.seqOptions(q, s.CreateSeqStmt.Options)
	case *pg_query.Node_AlterSeqStmt:
		b.seqOptions(b.lookupRel(s.AlterSeqStmt.Sequence), s.AlterSeqStmt.Options)
	case *pg_query.Node_CreateTrigStmt:
		b.insteadOfTrigger(s.CreateTrigStmt)
	case *pg_query.Node_VariableSetStmt:
		v := s.VariableSetStmt
		if strings.EqualFold(v.Name, "search_path") && !v.IsLocal {
			var vals []string
			for _, a := range v.Args {
				if c := a.GetAConst(); c != nil && c.GetSval() != nil {
					vals = append(vals, c.GetSval().Sval)
				}
			}
			b.setPath(v.Kind == pg_query.VariableSetKind_VAR_SET_VALUE, vals)
		}
	case *pg_query.Node_SelectStmt: // pg_dump's SELECT pg_catalog.set_config('search_path', '', false);
		if why := b.schemaFunctionCall(n); why != "" {
			return b.errorf(-1, "%s; read the catalog with --database-url", why)
		}
		for _, t := range s.SelectStmt.TargetList {
			fc := t.GetResTarget().GetVal().GetFuncCall()
			if fc == nil || len(fc.Args) < 2 || last(strs(fc.Funcname)) != "set_config" {
				continue
			}
			if name, val := fc.Args[0].GetAConst().GetSval(), fc.Args[1].GetAConst().GetSval(); name != nil && val != nil && name.Sval == "search_path" {
				b.setPath(true, strings.Split(val.Sval, ","))
			}
		}
	}
	return nil
}

// setPath sets the search path ("$user" and empty entries dropped); the
// default is public.
func (b *ddlBuilder) setPath(set bool, vals []string) {
	b.path = nil
	if !set {
		b.path = []string{"public"}
	}
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, `"`) {
			v = strings.ReplaceAll(strings.Trim(v, `"`), `""`, `"`)
		} else {
			v = strings.ToLower(v)
		}
		if v != "" && v != "$user" {
			b.path = append(b.path, v)
		}
	}
}

// creationSchema is where an unqualified new object goes: the first
// existing schema of the search path.
func (b *ddlBuilder) creationSchema() string {
	for _, s := range b.path {
		if b.schemas[s] {
			return s
		}
	}
	if len(b.path) > 0 {
		return b.path[0]
	}
	return "public"
}

func (b *ddlBuilder) creationName(rv *pg_query.RangeVar) policies.QualifiedTable {
	if rv.Schemaname != "" {
		return policies.QualifiedTable{Schema: rv.Schemaname, Name: rv.Relname}
	}
	return policies.QualifiedTable{Schema: b.creationSchema(), Name: rv.Relname}
}

// lookupRel resolves an existing relation's name through the search path.
func (b *ddlBuilder) lookupRel(rv *pg_query.RangeVar) policies.QualifiedTable {
	if rv.Schemaname == "" {
		for _, s := range b.path {
			if q := (policies.QualifiedTable{Schema: s, Name: rv.Relname}); b.rels[q] {
				return q
			}
		}
	}
	return b.creationName(rv)
}

func (b *ddlBuilder) typeQName(names []string) policies.QualifiedTable {
	if len(names) > 1 {
		return policies.QualifiedTable{Schema: names[len(names)-2], Name: last(names)}
	}
	return policies.QualifiedTable{Schema: b.creationSchema(), Name: last(names)}
}

// seqOptions records OWNED BY table.column (or NONE) of sequence q.
func (b *ddlBuilder) seqOptions(q policies.QualifiedTable, opts []*pg_query.Node) {
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil && d.Defname == "owned_by" {
			names := strs(d.Arg.GetList().GetItems())
			delete(b.owners, q)
			if len(names) >= 2 {
				rv := &pg_query.RangeVar{Relname: names[len(names)-2]}
				if len(names) > 2 {
					rv.Schemaname = names[len(names)-3]
				}
				b.owners[q] = colRef{b.lookupRel(rv), last(names)}
			}
		}
	}
}

func (b *ddlBuilder) newTable(rv *pg_query.RangeVar, ifNotExists bool) (*Table, bool, error) {
	q := b.creationName(rv)
	if b.rels[q] {
		if ifNotExists {
			return nil, false, nil
		}
		return nil, false, b.errorf(rv.Location, "relation %s already exists: drop it first, or use IF NOT EXISTS", q)
	}
	t := &Table{Name: q}
	b.meta[t] = &tableMeta{nextval: map[string]policies.QualifiedTable{}}
	return t, true, nil
}

func (b *ddlBuilder) createTable(s *pg_query.CreateStmt) error {
	if s.Relation.Relpersistence == "t" {
		return nil // temporary tables are not part of the schema
	}
	if len(s.InhRelations) > 0 || s.Partbound != nil || s.OfTypename != nil {
		return b.errorf(s.Relation.Location, "create table %s: INHERITS, PARTITION OF and OF type are not modelled offline; read the catalog with --database-url", s.Relation.Relname)
	}
	t, ok, err := b.newTable(s.Relation, s.IfNotExists)
	if !ok {
		return err
	}
	var keys, fks []*pg_query.Constraint
	var likes []*likeKeys
	for _, e := range s.TableElts {
		switch e := e.GetNode().(type) {
		case *pg_query.Node_ColumnDef:
			k, f, err := b.addColumn(t, e.ColumnDef)
			if err != nil {
				return err
			}
			keys, fks = append(keys, k...), append(fks, f...)
		case *pg_query.Node_Constraint:
			switch e.Constraint.Contype {
			case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE:
				keys = append(keys, e.Constraint)
			case pg_query.ConstrType_CONSTR_FOREIGN:
				fks = append(fks, e.Constraint)
			}
		case *pg_query.Node_TableLikeClause:
			k, err := b.likeColumns(t, e.TableLikeClause)
			if err != nil {
				return err
			}
			likes = append(likes, k)
		}
	}
	b.rels[t.Name] = true
	b.cat.Add(t)
	// As PostgreSQL: the primary key's index first, then the unique ones,
	// less those on the same columns as an earlier one; then foreign keys.
	var final []*pg_query.Constraint
	for _, k := range keys {
		if k.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			final = append(final, k)
		}
	}
	for _, k := range keys {
		if k.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			continue
		}
		dup := false
		for _, p := range final {
			if sameIndex(p, k) {
				dup = true
				if p.Conname == "" {
					p.Conname = k.Conname
				}
				break
			}
		}
		if !dup {
			final = append(final, k)
		}
	}
	for _, k := range final {
		if err := b.addKey(t, k); err != nil {
			return err
		}
	}
	b.addLikeKeys(t, likes)
	for _, fk := range fks {
		if err := b.addForeignKey(t, fk); err != nil {
			return err
		}
		// PostgreSQL marks the keys of a new table valid even when written
		// NOT VALID: the table has no rows to check.
		t.ForeignKeys[len(t.ForeignKeys)-1].Validated = true
	}
	return nil
}

func sameIndex(a, b *pg_query.Constraint) bool {
	return strings.Join(strs(a.Keys), ",") == strings.Join(strs(b.Keys), ",") &&
		strings.Join(strs(a.Including), ",") == strings.Join(strs(b.Including), ",") &&
		a.Deferrable == b.Deferrable && a.Initdeferred == b.Initdeferred && a.NullsNotDistinct == b.NullsNotDistinct
}

// addColumn adds a column to t and returns its key and foreign key
// constraints, for the caller to add once all columns are there.
func (b *ddlBuilder) addColumn(t *Table, d *pg_query.ColumnDef) (keys, fks []*pg_query.Constraint, err error) {
	if t.Column(d.Colname) != nil {
		return nil, nil, b.errorf(d.Location, "column %q of %s is defined twice", d.Colname, t.Name)
	}
	typ, serial, err := b.typeName(d.TypeName)
	if err != nil {
		return nil, nil, err
	}
	col := &Column{Name: d.Colname, Type: typ}
	m := b.meta[t]
	if serial {
		seq := policies.QualifiedTable{Schema: t.Name.Schema, Name: b.chooseName(t.Name.Schema, t.Name.Name, d.Colname, "seq", true, false)}
		b.rels[seq] = true
		b.owners[seq] = colRef{t.Name, col.Name}
		m.nextval[col.Name] = seq
		col.NotNull, col.HasDefault = true, true
	}
	var prev *pg_query.Constraint // the constraint the [NOT] DEFERRABLE and INITIALLY … after it apply to
	for _, n := range d.Constraints {
		c := n.GetConstraint()
		if c == nil {
			continue
		}
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_ATTR_DEFERRABLE, pg_query.ConstrType_CONSTR_ATTR_NOT_DEFERRABLE:
			if prev != nil {
				prev.Deferrable = c.Contype == pg_query.ConstrType_CONSTR_ATTR_DEFERRABLE
			}
			continue
		case pg_query.ConstrType_CONSTR_ATTR_DEFERRED, pg_query.ConstrType_CONSTR_ATTR_IMMEDIATE:
			if prev != nil {
				prev.Initdeferred = c.Contype == pg_query.ConstrType_CONSTR_ATTR_DEFERRED
			}
			continue
		}
		prev = c
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_NOTNULL:
			col.NotNull = true
		case pg_query.ConstrType_CONSTR_DEFAULT:
			b.setDefault(t, col, c.RawExpr)
		case pg_query.ConstrType_CONSTR_IDENTITY:
			col.Identity, col.HasDefault, col.NotNull = c.GeneratedWhen, true, true
		case pg_query.ConstrType_CONSTR_GENERATED:
			col.Generated, col.HasDefault = true, true
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE:
			c.Keys = []*pg_query.Node{pg_query.MakeStrNode(col.Name)}
			keys = append(keys, c)
		case pg_query.ConstrType_CONSTR_FOREIGN:
			c.FkAttrs = []*pg_query.Node{pg_query.MakeStrNode(col.Name)}
			fks = append(fks, c)
		}
	}
	t.Columns = append(t.Columns, col)
	return keys, fks, nil
}

// setDefault gives col a default (none when expr is nil), remembering the
// sequence of a nextval('seq') default.
func (b *ddlBuilder) setDefault(t *Table, col *Column, expr *pg_query.Node) {
	m := b.meta[t]
	delete(m.nextval, col.Name)
	col.HasDefault = expr != nil || col.Identity != "" || col.Generated
	fc := expr.GetFuncCall()
	if fc == nil || last(strs(fc.Funcname)) != "nextval" || len(fc.Args) != 1 {
		return
	}
	arg := fc.Args[0]
	if tc := arg.GetTypeCast(); tc != nil {
		arg = tc.Arg
	}
	if s := arg.GetAConst().GetSval(); s != nil {
		names := splitQualified(s.Sval)
		rv := &pg_query.RangeVar{Relname: last(names)}
		if len(names) > 1 {
			rv.Schemaname = names[len(names)-2]
		}
		m.nextval[col.Name] = b.lookupRel(rv)
	}
}

func (b *ddlBuilder) createView(rv *pg_query.RangeVar, query *pg_query.Node, aliases []*pg_query.Node, isView, materialized, replace, ifNotExists bool) error {
	if rv.Relpersistence == "t" {
		return nil
	}
	old := b.cat.Table(b.creationName(rv))
	if old != nil && replace && old.IsView {
		b.removeTable(old) // the views that read it stay, reading the new one
	}
	t, ok, err := b.newTable(rv, ifNotExists)
	if !ok {
		return err
	}
	t.IsView = isView
	t.Materialized = materialized
	t.Columns = b.viewColumns(query)
	if isView && !t.Materialized {
		t.Writable = b.viewWritable(query.GetSelectStmt())
	}
	renameColumns(t.Columns, strs(aliases))
	if t.Columns == nil {
		loc := skipSpace(b.f.SQL, int(b.stmtLoc))
		line, col := lineCol(b.f.SQL, loc)
		t.ColumnsUnknown = fmt.Sprintf("%s:%d:%d: the columns of %s cannot be told from its query offline (a * over a function or a relation the files do not define)", b.f.Name, line, col, t.Name)
	}
	b.rels[t.Name] = true
	b.cat.Add(t)
	b.recordDeps(t, query)
	if old != nil && replace {
		for _, m := range b.meta {
			if m.deps != nil {
				for i, d := range m.deps.tables {
					if d == old {
						m.deps.tables[i] = t
					}
				}
			}
		}
	}
	if old != nil && replace {
		b.viewCalls(t, map[*Table]bool{}) // the views reading it run its functions now
	}
	return nil
}

func (b *ddlBuilder) alterTable(s *pg_query.AlterTableStmt) error {
	switch s.Objtype {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW:
	default:
		return nil
	}
	t := b.cat.Table(b.lookupRel(s.Relation))
	for _, n := range s.Cmds {
		cmd := n.GetAlterTableCmd()
		if t == nil {
			switch cmd.Subtype {
			case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_AddConstraint,
				pg_query.AlterTableType_AT_ColumnDefault, pg_query.AlterTableType_AT_SetNotNull, pg_query.AlterTableType_AT_AddIdentity,
				pg_query.AlterTableType_AT_AlterColumnType:
				if s.MissingOk || s.Relation.Relpersistence == "t" {
					return nil
				}
				return b.errorf(s.Relation.Location, "alter table: %s is not defined; create it in an earlier statement or file", b.lookupRel(s.Relation))
			}
			continue
		}
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddInherit, pg_query.AlterTableType_AT_DropInherit, pg_query.AlterTableType_AT_AttachPartition,
			pg_query.AlterTableType_AT_DetachPartition, pg_query.AlterTableType_AT_DetachPartitionFinalize, pg_query.AlterTableType_AT_AddOf,
			pg_query.AlterTableType_AT_DropOf:
			// They change which rows a table's foreign keys cover and clone
			// keys onto partitions, which the offline catalog does not model.
			return b.errorf(s.Relation.Location, "alter table %s: INHERIT, ATTACH/DETACH PARTITION and OF are not modelled offline; read the catalog with --database-url", t.Name)
		}
		col := t.Column(cmd.Name)
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_ColumnDefault, pg_query.AlterTableType_AT_SetNotNull,
			pg_query.AlterTableType_AT_DropNotNull, pg_query.AlterTableType_AT_AddIdentity, pg_query.AlterTableType_AT_SetIdentity,
			pg_query.AlterTableType_AT_DropIdentity, pg_query.AlterTableType_AT_DropExpression, pg_query.AlterTableType_AT_AlterColumnType:
			if col == nil && cmd.MissingOk {
				continue
			} else if col == nil {
				return b.errorf(s.Relation.Location, "alter table %s: no column %q; add it first", t.Name, cmd.Name)
			}
		}
		var err error
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddColumn:
			d := cmd.Def.GetColumnDef()
			if cmd.MissingOk && t.Column(d.Colname) != nil {
				continue
			}
			var keys, fks []*pg_query.Constraint
			if keys, fks, err = b.addColumn(t, d); err == nil {
				err = b.addKeys(t, keys, fks)
			}
		case pg_query.AlterTableType_AT_DropColumn:
			for _, v := range b.dependents(t, col.Name) {
				if b.cat.Tables[v.Name] == v {
					b.dropTable(v) // PostgreSQL refuses without CASCADE
				}
			}
			b.dropColumn(t, col)
		case pg_query.AlterTableType_AT_AddConstraint:
			c := cmd.Def.GetConstraint()
			err = b.addKeys(t, []*pg_query.Constraint{c}, []*pg_query.Constraint{c})
		case pg_query.AlterTableType_AT_DropConstraint:
			b.dropConstraint(t, cmd.Name, false)
		case pg_query.AlterTableType_AT_ValidateConstraint:
			if fk := foreignKey(t, cmd.Name); fk != nil {
				fk.Validated = true
			}
		case pg_query.AlterTableType_AT_AlterConstraint:
			// ALTER CONSTRAINT … [NOT] DEFERRABLE [INITIALLY …]; PostgreSQL 15
			// alters only foreign keys.
			if c := cmd.Def.GetConstraint(); c != nil {
				if fk := foreignKey(t, c.Conname); fk != nil {
					fk.Deferrable = c.Deferrable || c.Initdeferred
				}
			}
		case pg_query.AlterTableType_AT_ColumnDefault:
			b.setDefault(t, col, cmd.Def)
		case pg_query.AlterTableType_AT_SetNotNull, pg_query.AlterTableType_AT_DropNotNull:
			col.NotNull = cmd.Subtype == pg_query.AlterTableType_AT_SetNotNull
		case pg_query.AlterTableType_AT_AddIdentity:
			col.Identity, col.HasDefault, col.NotNull = cmd.Def.GetConstraint().GetGeneratedWhen(), true, true
		case pg_query.AlterTableType_AT_SetIdentity:
			for _, o := range cmd.Def.GetList().GetItems() {
				if d := o.GetDefElem(); d != nil && d.Defname == "generated" {
					col.Identity = string(rune(d.Arg.GetInteger().GetIval()))
				}
			}
		case pg_query.AlterTableType_AT_DropIdentity:
			col.Identity, col.HasDefault = "", false
		case pg_query.AlterTableType_AT_DropExpression:
			col.Generated, col.HasDefault = false, false
		case pg_query.AlterTableType_AT_AlterColumnType:
			col.Type, _, err = b.typeName(cmd.Def.GetColumnDef().GetTypeName())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finish resolves foreign keys, serial sequences and key order.
func (b *ddlBuilder) finish() (*Catalog, error) {
	for _, p := range b.pending {
		if b.cat.Tables[p.t.Name] != p.t || !slices.Contains(p.t.ForeignKeys, p.fk) {
			continue // dropped since
		}
		b.f = p.f
		ref := b.cat.Table(p.fk.RefTable)
		if ref == nil {
			return nil, b.errorf(p.loc, "foreign key %s of %s references %s, which is not defined; create it, or load the file that does", p.fk.Name, p.t.Name, p.fk.RefTable)
		}
		if len(p.fk.RefColumns) == 0 {
			if p.fk.RefColumns = append([]string(nil), ref.PrimaryKey...); ref.PrimaryKey == nil {
				return nil, b.errorf(p.loc, "foreign key %s of %s references %s, which has no primary key: name the referenced columns", p.fk.Name, p.t.Name, ref.Name)
			}
		}
		if len(p.fk.RefColumns) != len(p.fk.Columns) {
			return nil, b.errorf(p.loc, "foreign key %s of %s has %d columns but references %d", p.fk.Name, p.t.Name, len(p.fk.Columns), len(p.fk.RefColumns))
		}
		for _, c := range p.fk.RefColumns {
			if ref.Column(c) == nil {
				return nil, b.errorf(p.loc, "foreign key %s of %s references column %q, which %s does not have", p.fk.Name, p.t.Name, c, ref.Name)
			}
		}
	}
	for _, t := range b.cat.Tables {
		if s := t.Name.Schema; s == "rowguard" || s == "information_schema" || strings.HasPrefix(s, "pg_") {
			delete(b.cat.Tables, t.Name) // as LoadCatalog, which does not read them
			continue
		}
		m := b.meta[t]
		for _, c := range t.Columns {
			if seq, ok := m.nextval[c.Name]; ok && c.Identity == "" && b.owners[seq] == (colRef{t.Name, c.Name}) {
				c.Sequence = seq.Schema + "." + seq.Name
			}
		}
		keys := make([]namedKey, len(m.keys))
		for i, k := range m.keys {
			keys[i] = namedKey{k.name, k.cols}
		}
		t.Uniques = sortedKeys(keys)
		t.OrderedIndexes = m.orderedIndexes(t)
		sortForeignKeys(t.ForeignKeys)
		if len(t.ForeignKeys) == 0 {
			t.ForeignKeys = nil
		}
		if len(t.Columns) == 0 {
			t.Columns = nil
		}
	}
	return b.cat, nil
}

// Trigger bits of CreateTrigStmt (PostgreSQL's TRIGGER_TYPE_*).
const (
	triggerInsert  = 1 << 2
	triggerDelete  = 1 << 3
	triggerUpdate  = 1 << 4
	triggerInstead = 1 << 6
)

// insteadOfTrigger makes a view writable for the events of an INSTEAD OF
// trigger on it, as pg_relation_is_updatable(view, true) counts them.
func (b *ddlBuilder) insteadOfTrigger(s *pg_query.CreateTrigStmt) {
	if s.Timing&triggerInstead == 0 || s.Relation == nil {
		return
	}
	t := b.cat.Table(b.lookupRel(s.Relation))
	if t == nil || !t.IsView {
		return
	}
	ops := map[policies.Op]bool{}
	for _, op := range t.Writable {
		ops[op] = true
	}
	ops[policies.Insert] = ops[policies.Insert] || s.Events&triggerInsert != 0
	ops[policies.Update] = ops[policies.Update] || s.Events&triggerUpdate != 0
	ops[policies.Delete] = ops[policies.Delete] || s.Events&triggerDelete != 0
	t.Writable = nil
	for _, op := range []policies.Op{policies.Insert, policies.Update, policies.Delete} {
		if ops[op] {
			t.Writable = append(t.Writable, op)
		}
	}
}

// viewWritable approximates, for the DDL of a plain view, what
// pg_relation_is_updatable tells of a live one. A view is automatically
// updatable when it reads exactly one table or updatable view, without
// WITH, DISTINCT, GROUP BY, HAVING, LIMIT, OFFSET, window or set
// operations, and its select list has no aggregate, window or
// set-returning function: any function call there counts as one, since
// DDL alone cannot tell. It accepts DELETE then, and INSERT and UPDATE
// when some output column is a plain column. Anything else (INSTEAD OF
// triggers included, which DDL files rarely carry) counts as read-only,
// which only costs the admin role a write grant the API does not use.
func (b *ddlBuilder) viewWritable(sel *pg_query.SelectStmt) []policies.Op {
	if sel == nil || sel.Op != pg_query.SetOperation_SETOP_NONE || sel.WithClause != nil || len(sel.ValuesLists) > 0 ||
		len(sel.DistinctClause) > 0 || len(sel.GroupClause) > 0 || sel.HavingClause != nil || len(sel.WindowClause) > 0 ||
		sel.LimitCount != nil || sel.LimitOffset != nil || len(sel.FromClause) != 1 {
		return nil
	}
	rv := sel.FromClause[0].GetRangeVar()
	if rv == nil {
		return nil
	}
	from := b.cat.Table(b.lookupRel(rv))
	if from == nil || from.Materialized || from.IsView && from.Writable == nil {
		return nil
	}
	plain := false
	for _, n := range sel.TargetList {
		val := n.GetResTarget().GetVal()
		if tc := val.GetTypeCast(); tc != nil {
			val = tc.Arg
		}
		switch {
		case val.GetFuncCall() != nil:
			return nil
		case val.GetColumnRef() != nil && n.GetResTarget().GetVal().GetTypeCast() == nil:
			plain = true
		}
	}
	if !plain {
		return []policies.Op{policies.Delete}
	}
	return []policies.Op{policies.Insert, policies.Update, policies.Delete}
}
