package compiler

// This file holds how ParseDDL replays DO blocks: the PL/pgSQL body is
// parsed, its SQL statements are replayed in order, IF conditions that ask
// the catalog a question the offline catalog can answer (to_regclass(…) IS
// NULL, EXISTS over information_schema or pg_constraint by name) choose
// the branch, and anything that would change the schema in a way that
// depends on what only a database knows (a loop, EXECUTE of a computed
// string, an IF on a variable, an EXCEPTION handler) is an error that
// names the statement and points to --database-url.

import (
	"encoding/json"
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// doBlock replays a DO statement.
func (b *ddlBuilder) doBlock(s *pg_query.DoStmt) error {
	body, lang := "", "plpgsql"
	for _, a := range s.Args {
		d := a.GetDefElem()
		switch d.GetDefname() {
		case "as":
			body = d.Arg.GetString_().GetSval()
		case "language":
			lang = strings.ToLower(d.Arg.GetString_().GetSval())
		}
	}
	stmtText := b.f.SQL[b.stmtLoc:]
	bodyOff := int(b.stmtLoc)
	if i := strings.Index(stmtText, body); i >= 0 && body != "" {
		bodyOff += i
	}
	d := &doReplay{b: b, body: body, bodyOff: bodyOff}
	if lang != "plpgsql" {
		return b.errorf(-1, "DO block in language %s: its effect on the schema is not modelled offline; read the catalog with --database-url", lang)
	}
	src := "CREATE FUNCTION pg_temp.rg_do() RETURNS void LANGUAGE plpgsql AS " + dollarQuote(body)
	js, err := pg_query.ParsePlPgSqlToJSON(src)
	if err != nil {
		return b.errorf(-1, "DO block: %v (the block must be PL/pgSQL that PostgreSQL accepts)", err)
	}
	var fns []map[string]any
	if err := json.Unmarshal([]byte(js), &fns); err != nil || len(fns) != 1 {
		return b.errorf(-1, "DO block: unexpected PL/pgSQL parse tree: %v", err)
	}
	fn, _ := fns[0]["PLpgSQL_function"].(map[string]any)
	action, _ := fn["action"].(map[string]any)
	return d.run([]any{action})
}

// dollarQuote quotes s with a dollar tag s does not contain.
func dollarQuote(s string) string {
	tag := "$rg$"
	for i := 0; strings.Contains(s, tag); i++ {
		tag = fmt.Sprintf("$rg%d$", i)
	}
	return tag + s + tag
}

// doReplay replays one DO block's body.
type doReplay struct {
	b       *ddlBuilder
	body    string
	bodyOff int // byte offset of body in the file
}

// plNode splits a PL/pgSQL JSON node into its kind and fields.
func plNode(n any) (string, map[string]any) {
	m, _ := n.(map[string]any)
	for k, v := range m {
		f, _ := v.(map[string]any)
		return k, f
	}
	return "", nil
}

// plList returns a PL/pgSQL JSON list field.
func plList(v any) []any {
	l, _ := v.([]any)
	return l
}

// plQuery returns the SQL text of a PLpgSQL_expr field.
func plQuery(v any) string {
	_, f := plNode(v)
	s, _ := f["query"].(string)
	return s
}

// lineOffset returns the file offset of line n (1-based) of the body.
func (d *doReplay) lineOffset(n int) int {
	off := 0
	for i := 1; i < n; i++ {
		j := strings.IndexByte(d.body[off:], '\n')
		if j < 0 {
			break
		}
		off += j + 1
	}
	return d.bodyOff + off
}

// errorf reports an error at the body's statement of that node.
func (d *doReplay) errorf(fields map[string]any, format string, args ...any) error {
	line, _ := fields["lineno"].(float64)
	loc := int32(-1)
	if line > 0 {
		loc = int32(d.lineOffset(int(line)))
		for loc < int32(len(d.b.f.SQL)) && (d.b.f.SQL[loc] == ' ' || d.b.f.SQL[loc] == '\t') {
			loc++
		}
	}
	return d.b.errorf(loc, "DO block: "+format, args...)
}

const readWithDatabase = "read the catalog with --database-url"

// run replays statements in order.
func (d *doReplay) run(stmts []any) error {
	for _, st := range stmts {
		kind, f := plNode(st)
		switch kind {
		case "PLpgSQL_stmt_block":
			if f["exceptions"] != nil {
				if !d.effects(plList(f["body"])) {
					continue
				}
				if ok, err := d.createUnlessExists(f); ok || err != nil {
					return err
				}
				return d.errorf(f, "statements that change the schema under an EXCEPTION handler: whether they fail depends on the database; %s", readWithDatabase)
			}
			if err := d.run(plList(f["body"])); err != nil {
				return err
			}
		case "PLpgSQL_stmt_if":
			branches := []struct {
				cond  any
				stmts []any
			}{{f["cond"], plList(f["then_body"])}}
			for _, e := range plList(f["elsif_list"]) {
				_, ef := plNode(e)
				branches = append(branches, struct {
					cond  any
					stmts []any
				}{ef["cond"], plList(ef["stmts"])})
			}
			branches = append(branches, struct {
				cond  any
				stmts []any
			}{nil, plList(f["else_body"])})
			for i, br := range branches {
				holds, known := true, true
				if br.cond != nil {
					holds, known = d.b.condition(plQuery(br.cond))
				}
				if !known {
					for _, rest := range branches[i:] {
						if d.effects(rest.stmts) {
							return d.errorf(f, "IF %s: the condition cannot be told offline and a branch changes the schema; %s", strings.TrimSpace(plQuery(br.cond)), readWithDatabase)
						}
					}
					break
				}
				if holds {
					if err := d.run(br.stmts); err != nil {
						return err
					}
					break
				}
			}
		case "PLpgSQL_stmt_execsql":
			if err := d.execSQL(f, plQuery(f["sqlstmt"])); err != nil {
				return err
			}
		case "PLpgSQL_stmt_dynexecute":
			sql, ok := constantString(plQuery(f["query"]))
			if !ok {
				if d.effects([]any{st}) {
					return d.errorf(f, "EXECUTE of a computed string: what it changes cannot be told offline; %s", readWithDatabase)
				}
				continue
			}
			if err := d.execSQL(f, sql); err != nil {
				return err
			}
		case "PLpgSQL_stmt_perform":
			if err := d.execSQL(f, plQuery(f["expr"])); err != nil {
				return err
			}
		case "PLpgSQL_stmt_fors", "PLpgSQL_stmt_fori", "PLpgSQL_stmt_loop", "PLpgSQL_stmt_while", "PLpgSQL_stmt_foreach_a", "PLpgSQL_stmt_dynfors", "PLpgSQL_stmt_forc":
			if d.effects(plList(f["body"])) {
				return d.errorf(f, "a loop changes the schema: how often cannot be told offline; %s", readWithDatabase)
			}
		case "PLpgSQL_stmt_case":
			if d.effects([]any{st}) {
				return d.errorf(f, "CASE chooses statements that change the schema; which one cannot be told offline; %s", readWithDatabase)
			}
		}
		// Other statements (RAISE, assignments, RETURN, EXIT, GET
		// DIAGNOSTICS, COMMIT, …) leave the schema as it is.
	}
	return nil
}

// createUnlessExists replays the idiom BEGIN CREATE …; EXCEPTION WHEN
// duplicate_object (or another duplicate_*) THEN NULL; END: each statement
// that changes the schema must be one whose "already exists" ParseDDL can
// tell before replaying it (CREATE TYPE, TABLE, VIEW, SEQUENCE, SCHEMA,
// named INDEX, ALTER TABLE ADD COLUMN or ADD CONSTRAINT name); the handlers
// may only catch duplicate_* and change nothing. ok is false when the
// block is not of that form.
func (d *doReplay) createUnlessExists(f map[string]any) (bool, error) {
	_, ex := plNode(f["exceptions"])
	for _, e := range plList(ex["exc_list"]) {
		_, ef := plNode(e)
		if d.effects(plList(ef["action"])) {
			return false, nil
		}
		for _, c := range plList(ef["conditions"]) {
			_, cf := plNode(c)
			if name, _ := cf["condname"].(string); !strings.HasPrefix(name, "duplicate_") {
				return false, nil
			}
		}
	}
	body := plList(f["body"])
	for _, st := range body {
		if !d.effects([]any{st}) {
			continue
		}
		kind, sf := plNode(st)
		if kind != "PLpgSQL_stmt_execsql" {
			return false, nil
		}
		tree, err := pg_query.Parse(plQuery(sf["sqlstmt"]))
		if err != nil || len(tree.Stmts) != 1 || d.b.exists(tree.Stmts[0].Stmt) == nil {
			return false, nil
		}
	}
	// The block's statements run in order; the first that finds its object
	// there fails, and the handler ends the block.
	for _, st := range body {
		kind, sf := plNode(st)
		if kind == "PLpgSQL_stmt_execsql" {
			tree, _ := pg_query.Parse(plQuery(sf["sqlstmt"]))
			if d.b.statementsChangeSchema(tree.Stmts) && *d.b.exists(tree.Stmts[0].Stmt) {
				return true, nil
			}
		}
		if err := d.run([]any{st}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// exists tells whether the object a CREATE (or ALTER TABLE ADD) statement
// makes is there already; nil when ParseDDL cannot tell for that kind.
func (b *ddlBuilder) exists(n *pg_query.Node) *bool {
	yes := func(v bool) *bool { return &v }
	switch s := n.GetNode().(type) {
	case *pg_query.Node_CreateEnumStmt:
		return yes(b.types[b.typeQName(strs(s.CreateEnumStmt.TypeName))])
	case *pg_query.Node_CreateDomainStmt:
		return yes(b.types[b.typeQName(strs(s.CreateDomainStmt.Domainname))])
	case *pg_query.Node_CreateRangeStmt:
		return yes(b.types[b.typeQName(strs(s.CreateRangeStmt.TypeName))])
	case *pg_query.Node_CompositeTypeStmt:
		return yes(b.rels[b.creationName(s.CompositeTypeStmt.Typevar)])
	case *pg_query.Node_CreateStmt:
		return yes(b.rels[b.creationName(s.CreateStmt.Relation)])
	case *pg_query.Node_ViewStmt:
		if !s.ViewStmt.Replace {
			return yes(b.rels[b.creationName(s.ViewStmt.View)])
		}
	case *pg_query.Node_CreateSeqStmt:
		return yes(b.rels[b.creationName(s.CreateSeqStmt.Sequence)])
	case *pg_query.Node_CreateSchemaStmt:
		return yes(b.schemas[s.CreateSchemaStmt.Schemaname])
	case *pg_query.Node_IndexStmt:
		if s.IndexStmt.Idxname != "" {
			return yes(b.rels[policies.QualifiedTable{Schema: b.lookupRel(s.IndexStmt.Relation).Schema, Name: s.IndexStmt.Idxname}])
		}
	case *pg_query.Node_AlterTableStmt:
		t := b.cat.Table(b.lookupRel(s.AlterTableStmt.Relation))
		if t == nil || len(s.AlterTableStmt.Cmds) != 1 {
			return nil
		}
		cmd := s.AlterTableStmt.Cmds[0].GetAlterTableCmd()
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddColumn:
			return yes(t.Column(cmd.Def.GetColumnDef().GetColname()) != nil)
		case pg_query.AlterTableType_AT_AddConstraint:
			if name := cmd.Def.GetConstraint().GetConname(); name != "" {
				q := policies.QualifiedTable{Schema: t.Name.Schema, Name: name}
				return yes(b.cons[q] || b.rels[q])
			}
		}
	}
	return nil
}

// execSQL replays SQL run by the block (static, or EXECUTE of a constant)
// as a statement of the file, at its position in the file when its text is
// found there.
func (d *doReplay) execSQL(f map[string]any, sql string) error {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return d.errorf(f, "%v", err)
	}
	if !d.b.statementsChangeSchema(tree.Stmts) {
		return nil
	}
	b := d.b
	line, _ := f["lineno"].(float64)
	from := d.lineOffset(max(1, int(line)))
	// Parse the statement where it sits in the file (EXECUTE of a
	// constant: at the EXECUTE), so positions in its parse tree are the
	// file's.
	off := strings.Index(b.f.SQL[from:], sql)
	if off < 0 {
		off = 0
	}
	off += from
	padded := []byte(b.f.SQL[:off])
	for i := range padded {
		if padded[i] != '\n' {
			padded[i] = ' '
		}
	}
	tree, err = pg_query.Parse(string(padded) + sql)
	if err != nil {
		return d.errorf(f, "%v", err)
	}
	savedLoc := b.stmtLoc
	defer func() { b.stmtLoc = savedLoc }()
	for _, raw := range tree.Stmts {
		b.stmtLoc = max(raw.StmtLocation, int32(off))
		if err := b.stmt(raw.Stmt); err != nil {
			return err
		}
	}
	return nil
}

// statementsChangeSchema tells whether any of the statements may change
// what the catalog holds: what ParseDDL replays, or a call of a function
// known to create tables.
func (b *ddlBuilder) statementsChangeSchema(stmts []*pg_query.RawStmt) bool {
	for _, raw := range stmts {
		switch s := raw.Stmt.GetNode().(type) {
		case *pg_query.Node_CreateStmt:
			if s.CreateStmt.Relation.GetRelpersistence() != "t" {
				return true
			}
		case *pg_query.Node_CreateSchemaStmt, *pg_query.Node_CreateForeignTableStmt,
			*pg_query.Node_ViewStmt, *pg_query.Node_CreateTableAsStmt, *pg_query.Node_IndexStmt,
			*pg_query.Node_CreateFunctionStmt, *pg_query.Node_CreateEnumStmt, *pg_query.Node_CreateDomainStmt,
			*pg_query.Node_CreateRangeStmt, *pg_query.Node_CompositeTypeStmt, *pg_query.Node_CreateSeqStmt, *pg_query.Node_AlterSeqStmt,
			*pg_query.Node_RenameStmt, *pg_query.Node_AlterObjectSchemaStmt, *pg_query.Node_DoStmt:
			return true
		case *pg_query.Node_AlterTableStmt:
			for _, c := range s.AlterTableStmt.Cmds {
				if catalogAlterCmds[c.GetAlterTableCmd().GetSubtype()] {
					return true
				}
			}
		case *pg_query.Node_DropStmt:
			switch s.DropStmt.RemoveType {
			case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
				pg_query.ObjectType_OBJECT_FOREIGN_TABLE, pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_SEQUENCE,
				pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN, pg_query.ObjectType_OBJECT_SCHEMA,
				pg_query.ObjectType_OBJECT_FUNCTION:
				return true
			}
		case *pg_query.Node_VariableSetStmt:
			if strings.EqualFold(s.VariableSetStmt.Name, "search_path") {
				return true
			}
		case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_CallStmt:
			if b.schemaFunctionCall(raw.Stmt) != "" {
				return true
			}
		}
	}
	return false
}

// catalogAlterCmds are the ALTER TABLE commands that change what the
// catalog holds (not triggers, row security, owners, storage, …).
var catalogAlterCmds = map[pg_query.AlterTableType]bool{
	pg_query.AlterTableType_AT_AddColumn: true, pg_query.AlterTableType_AT_DropColumn: true,
	pg_query.AlterTableType_AT_AddConstraint: true, pg_query.AlterTableType_AT_DropConstraint: true,
	pg_query.AlterTableType_AT_ValidateConstraint: true, pg_query.AlterTableType_AT_AlterConstraint: true,
	pg_query.AlterTableType_AT_ColumnDefault: true, pg_query.AlterTableType_AT_SetNotNull: true,
	pg_query.AlterTableType_AT_DropNotNull: true, pg_query.AlterTableType_AT_AddIdentity: true,
	pg_query.AlterTableType_AT_SetIdentity: true, pg_query.AlterTableType_AT_DropIdentity: true,
	pg_query.AlterTableType_AT_DropExpression: true, pg_query.AlterTableType_AT_AlterColumnType: true,
	pg_query.AlterTableType_AT_AddInherit: true, pg_query.AlterTableType_AT_DropInherit: true,
	pg_query.AlterTableType_AT_AttachPartition: true, pg_query.AlterTableType_AT_DetachPartition: true,
}

// effects tells whether statements may change what the catalog holds.
func (d *doReplay) effects(stmts []any) bool { return d.b.plEffects(stmts) }

// plEffects tells whether PL/pgSQL statements may change what the catalog
// holds.
func (b *ddlBuilder) plEffects(stmts []any) bool {
	for _, st := range stmts {
		kind, f := plNode(st)
		switch kind {
		case "PLpgSQL_stmt_execsql":
			if tree, err := pg_query.Parse(plQuery(f["sqlstmt"])); err != nil || b.statementsChangeSchema(tree.Stmts) {
				return true
			}
		case "PLpgSQL_stmt_perform":
			if tree, err := pg_query.Parse(plQuery(f["expr"])); err != nil || b.statementsChangeSchema(tree.Stmts) {
				return true
			}
		case "PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors":
			sql, ok := constantString(plQuery(f["query"]))
			if !ok {
				return true
			}
			if tree, err := pg_query.Parse(sql); err != nil || b.statementsChangeSchema(tree.Stmts) {
				return true
			}
		}
		for _, key := range []string{"body", "then_body", "else_body", "stmts"} {
			if b.plEffects(plList(f[key])) {
				return true
			}
		}
		for _, key := range []string{"elsif_list", "case_when_list"} {
			for _, e := range plList(f[key]) {
				if _, ef := plNode(e); b.plEffects(plList(ef["stmts"])) {
					return true
				}
			}
		}
		if b.plEffects(plList(f["else_stmts"])) {
			return true
		}
	}
	return false
}

// constantString returns the value of a string constant or a || of
// constants, as EXECUTE's argument.
func constantString(expr string) (string, bool) {
	tree, err := pg_query.Parse("SELECT " + expr)
	if err != nil || len(tree.Stmts) != 1 {
		return "", false
	}
	tl := tree.Stmts[0].Stmt.GetSelectStmt().GetTargetList()
	if len(tl) != 1 {
		return "", false
	}
	return constantNode(tl[0].GetResTarget().GetVal())
}
