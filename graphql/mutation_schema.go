package graphql

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// constraint is a primary key or unique constraint of a table: what an
// on_conflict argument names.
type constraint struct {
	name    string
	columns []string
}

// constraintSet lists each table's constraints by name.
type constraintSet map[policies.QualifiedTable][]*constraint

// mutTable is what one role may write in one table.
type mutTable struct {
	info *compiler.TableInfo
	name string     // GraphQL type name, as the table's row type
	view *tableView // the role's select view; nil when it may not select

	// ins, upd and del are the role's permissions (nil for admin, who has
	// canInsert … set instead).
	ins, upd, del                *compiler.Permission
	canInsert, canUpdate, canDel bool
	insertCols, updateCols       []*compiler.Column
	insertByName, updateByName   map[string]*compiler.Column
	constraints                  []*constraint
	hasJSONB                     bool // some updatable column is jsonb
	numericUpdate                []*compiler.Column
	jsonbUpdate                  []*compiler.Column
	upsert                       bool // on_conflict is offered
	// insertRels are the relationships whose rows an insert may insert
	// with its own (nested inserts), by name.
	insertRels map[string]*insertRel
}

// insertRel is a relationship of a nested insert.
type insertRel struct {
	rel    *compiler.Relationship
	remote *mutTable
}

// mutKind tells what a mutation_root field does.
type mutKind int

const (
	mutInsert mutKind = iota
	mutInsertOne
	mutUpdate
	mutUpdateByPK
	mutUpdateMany
	mutDelete
	mutDeleteByPK
	// The statements of a nested insert: one row each, then the answer.
	mutInsertStep
	mutInsertFinal
)

type mutationField struct {
	kind mutKind
	t    *mutTable
}

// writableColumns are the columns of perm (every column for the admin)
// that a request may set: presets and generated columns are left out, as
// Hasura leaves them out of its input types.
func writableColumns(info *compiler.TableInfo, perm *compiler.Permission, admin bool) []*compiler.Column {
	cols := info.Table.Columns
	if !admin {
		cols = perm.Columns
	}
	preset := map[*compiler.Column]bool{}
	if perm != nil {
		for _, p := range perm.Presets {
			preset[p.Column] = true
		}
	}
	var out []*compiler.Column
	for _, c := range cols {
		if preset[c] || c.Generated || c.Identity == "a" || !validName(info.GraphQL.Column(c.Name)) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// mutationTables lists the tables rs's role may write.
func mutationTables(prog *compiler.Program, rs *roleSchema, cons constraintSet) []*mutTable {
	views := map[*compiler.TableInfo]*tableView{}
	for _, v := range rs.views {
		// A mutation's rows are <t> objects: a table without a row type
		// (no readable column or relationship) counts as not selectable.
		if v.row {
			views[v.info] = v
		}
	}
	var out []*mutTable
	for _, info := range prog.Tables {
		name := info.GraphQL.Type
		if !validName(name) || info.Table.IsView {
			continue
		}
		t := &mutTable{info: info, name: name, view: views[info]}
		for _, k := range cons[info.Name()] {
			if validName(k.name) {
				t.constraints = append(t.constraints, k)
			}
		}
		if rs.admin {
			t.canInsert, t.canUpdate, t.canDel = true, true, true
		} else {
			perm := func(op policies.Op) *compiler.Permission {
				p := info.Permission(rs.role, op)
				if p != nil && p.BackendOnly && !rs.backend {
					return nil
				}
				return p
			}
			t.ins, t.upd, t.del = perm(policies.Insert), perm(policies.Update), perm(policies.Delete)
			t.canInsert, t.canUpdate, t.canDel = t.ins != nil, t.upd != nil, t.del != nil
		}
		if t.canInsert {
			t.insertCols = writableColumns(info, t.ins, rs.admin)
			t.canInsert = len(t.insertCols) > 0
		}
		if t.canUpdate {
			t.updateCols = writableColumns(info, t.upd, rs.admin)
			// Hasura offers update and delete only to roles that may select
			// the table: their where is a <t>_bool_exp.
			t.canUpdate = len(t.updateCols) > 0 && t.view != nil
		}
		t.canDel = t.canDel && t.view != nil
		if !t.canInsert && !t.canUpdate && !t.canDel {
			continue
		}
		t.insertByName = byName(info, t.insertCols)
		t.updateByName = byName(info, t.updateCols)
		for _, c := range t.updateCols {
			s := scalarFor(c.Type)
			if isNumericScalar(s) {
				t.numericUpdate = append(t.numericUpdate, c)
			}
			if c.Type == "jsonb" {
				t.jsonbUpdate = append(t.jsonbUpdate, c)
			}
		}
		t.hasJSONB = len(t.jsonbUpdate) > 0
		// An upsert updates the conflicting row, so Hasura asks for an
		// update permission.
		t.upsert = t.canInsert && len(t.constraints) > 0 && (rs.admin || t.upd != nil)
		out = append(out, t)
	}
	nestedInserts(out)
	return out
}

// nestedInserts finds, for each table the role may insert into, the
// relationships whose rows it may insert in the same request. An object
// relationship's row is inserted first and its columns fill the row's own
// join columns; an array relationship's rows are inserted after the row
// and take its join columns. So the role must be able to write the columns
// being filled and to read back (select) the columns filling them.
func nestedInserts(tables []*mutTable) {
	byInfo := map[*compiler.TableInfo]*mutTable{}
	for _, t := range tables {
		byInfo[t.info] = t
	}
	for _, t := range tables {
		if !t.canInsert {
			continue
		}
		for _, rel := range t.info.Relationships {
			var remote *mutTable
			for info, m := range byInfo {
				if info.Table == rel.Remote {
					remote = m
				}
			}
			if remote == nil || !remote.canInsert || !validName(rel.Name) || t.insertByName[rel.Name] != nil {
				continue
			}
			ok := len(rel.Mapping) > 0
			for _, m := range rel.Mapping {
				if rel.Kind == policies.ObjectRel {
					ok = ok && t.insertByName[t.field(m.Local)] != nil && remote.view != nil && remote.view.column(remote.field(m.Remote)) != nil
				} else {
					ok = ok && remote.insertByName[remote.field(m.Remote)] != nil && t.view != nil && t.view.column(t.field(m.Local)) != nil
				}
			}
			if !ok {
				continue
			}
			if t.insertRels == nil {
				t.insertRels = map[string]*insertRel{}
			}
			t.insertRels[rel.Name] = &insertRel{rel: rel, remote: remote}
		}
	}
}

// byName maps the GraphQL names of columns of info to the columns.
func byName(info *compiler.TableInfo, cols []*compiler.Column) map[string]*compiler.Column {
	m := make(map[string]*compiler.Column, len(cols))
	for _, c := range cols {
		m[info.GraphQL.Column(c.Name)] = c
	}
	return m
}

// field returns the GraphQL name of a column of t's table.
func (t *mutTable) field(c *compiler.Column) string { return t.info.GraphQL.Column(c.Name) }

// mutationRoot writes the role's mutation_root and the types it needs, and
// returns "" when the role has no mutations (a mutation then fails
// validation with Hasura's "no mutations exist").
func (b *schemaBuilder) mutationRoot() string {
	tables := mutationTables(b.prog, b.rs, b.cons)
	if len(tables) == 0 {
		return ""
	}
	b.rs.mutations = map[string]*mutationField{}
	var w strings.Builder
	type rootDef struct{ name, sdl string }
	var roots []rootDef
	for _, t := range tables {
		w.WriteString(b.mutationTypes(t))
		q := describeName(t.info.Name())
		names := t.info.GraphQL
		add := func(kind mutKind, root, desc, args, typ string) {
			name := names.Root(root)
			b.rs.mutations[name] = &mutationField{kind: kind, t: t}
			roots = append(roots, rootDef{name, fmt.Sprintf("  %s\n  %s%s: %s\n", rootDescription(names, root, desc), name, args, typ)})
		}
		onConflict := ""
		if t.upsert {
			onConflict = fmt.Sprintf("\n    %s\n    on_conflict: %s_on_conflict", describe("upsert condition"), t.name)
		}
		if t.canInsert {
			add(mutInsert, "insert", fmt.Sprintf("insert data into the table: %q", q),
				fmt.Sprintf("(\n    %s\n    objects: [%s_insert_input!]!%s\n  )", describe("the rows to be inserted"), t.name, onConflict),
				t.name+"_mutation_response")
			if t.view != nil {
				add(mutInsertOne, "insert_one", fmt.Sprintf("insert a single row into the table: %q", q),
					fmt.Sprintf("(\n    %s\n    object: %s_insert_input!%s\n  )", describe("the row to be inserted"), t.name, onConflict),
					t.name)
			}
		}
		if t.canUpdate {
			ops := b.updateOps(t)
			add(mutUpdate, "update", fmt.Sprintf("update data of the table: %q", q),
				fmt.Sprintf("(%s\n    %s\n    where: %s_bool_exp!\n  )", ops, describe("filter the rows which have to be updated"), t.name),
				t.name+"_mutation_response")
			if t.view.pk != nil {
				add(mutUpdateByPK, "update_by_pk", fmt.Sprintf("update single row of the table: %q", q),
					fmt.Sprintf("(%s\n    pk_columns: %s_pk_columns_input!\n  )", ops, t.name), t.name)
			}
			add(mutUpdateMany, "update_many", fmt.Sprintf("update multiples rows of table: %q", q),
				fmt.Sprintf("(\n    %s\n    updates: [%s_updates!]!\n  )", describe("updates to execute, in order"), t.name),
				"["+t.name+"_mutation_response]")
		}
		if t.canDel {
			add(mutDelete, "delete", fmt.Sprintf("delete data from the table: %q", q),
				fmt.Sprintf("(\n    %s\n    where: %s_bool_exp!\n  )", describe("filter the rows which have to be deleted"), t.name),
				t.name+"_mutation_response")
			if t.view.pk != nil {
				add(mutDeleteByPK, "delete_by_pk", fmt.Sprintf("delete single row from the table: %q", q),
					"("+b.pkArgs(t.view)+")", t.name)
			}
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].name < roots[j].name })
	w.WriteString(describe("mutation root") + "\ntype " + mutationRootName + " {\n")
	for _, r := range roots {
		w.WriteString(r.sdl)
	}
	w.WriteString("}\n\n")
	return w.String()
}

// updateOps renders the _set, _inc and jsonb arguments of an update.
func (b *schemaBuilder) updateOps(t *mutTable) string {
	var w strings.Builder
	arg := func(name, typ, desc string) {
		fmt.Fprintf(&w, "\n    %s\n    %s: %s_%s", describe(desc), name, t.name, typ)
	}
	if t.hasJSONB {
		arg("_append", "append_input", "append existing jsonb value of filtered columns with new jsonb value")
		arg("_delete_at_path", "delete_at_path_input", "delete the field or element with specified path (for JSON arrays, negative integers count from the end)")
		arg("_delete_elem", "delete_elem_input", "delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array")
		arg("_delete_key", "delete_key_input", "delete key/value pair or string element. key/value pairs are matched based on their key value")
	}
	if len(t.numericUpdate) > 0 {
		arg("_inc", "inc_input", "increments the numeric columns with given value of the filtered values")
	}
	if t.hasJSONB {
		arg("_prepend", "prepend_input", "prepend existing jsonb value of filtered columns with new jsonb value")
	}
	arg("_set", "set_input", "sets the columns of the filtered rows to the given values")
	return w.String()
}

// mutationTypes writes the input and output types of t's mutations.
func (b *schemaBuilder) mutationTypes(t *mutTable) string {
	var w strings.Builder
	pr := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	q := describeName(t.info.Name())
	name := t.name
	inputObject := func(suffix, desc string, cols []*compiler.Column, typ func(*compiler.Column) string) {
		pr("%s\ninput %s_%s {\n", describe(desc), name, suffix)
		for _, c := range cols {
			if t.info.EnumOf(c.Name) == nil {
				b.scalars[scalarFor(c.Type)] = true
			}
			pr("  %s: %s\n", t.field(c), typ(c))
		}
		pr("}\n\n")
	}
	nullable := func(c *compiler.Column) string { return b.columnType(t.info, c) }

	pr("%s\ntype %s_mutation_response {\n  %s\n  affected_rows: Int!\n", describe(fmt.Sprintf("response of any mutation on the table %q", q)), name, describe("number of rows affected by the mutation"))
	if t.view != nil {
		pr("  %s\n  returning: [%s!]!\n", describe("data from the rows affected by the mutation"), name)
	}
	pr("}\n\n")

	if t.canInsert {
		pr("%s\ninput %s_insert_input {\n", describe(fmt.Sprintf("input type for inserting data into table %q", q)), name)
		for _, c := range t.insertCols {
			pr("  %s: %s\n", t.field(c), b.columnType(t.info, c))
		}
		var rels []string
		for n := range t.insertRels {
			rels = append(rels, n)
		}
		sort.Strings(rels)
		for _, n := range rels {
			r := t.insertRels[n]
			suffix := "arr_rel_insert_input"
			if r.rel.Kind == policies.ObjectRel {
				suffix = "obj_rel_insert_input"
			}
			pr("  %s: %s_%s\n", n, r.remote.name, suffix)
		}
		pr("}\n\n")
		// The input types of nested inserts into this table.
		conflict := ""
		if t.upsert {
			conflict = fmt.Sprintf("\n  %s\n  on_conflict: %s_on_conflict", describe("upsert condition"), name)
		}
		pr("%s\ninput %s_arr_rel_insert_input {\n  data: [%s_insert_input!]!%s\n}\n\n",
			describe(fmt.Sprintf("input type for inserting array relation for remote table %q", q)), name, name, conflict)
		pr("%s\ninput %s_obj_rel_insert_input {\n  data: %s_insert_input!%s\n}\n\n",
			describe(fmt.Sprintf("input type for inserting object relation for remote table %q", q)), name, name, conflict)
	}
	if t.upsert {
		pr("%s\nenum %s_constraint {\n", describe(fmt.Sprintf("unique or primary key constraints on table %q", q)), name)
		for _, c := range t.constraints {
			cols := make([]string, len(c.columns))
			for i, col := range c.columns {
				cols[i] = fmt.Sprintf("%q", col)
			}
			pr("  %s\n  %s\n", describe("unique or primary key constraint on columns "+strings.Join(cols, ", ")), c.name)
		}
		pr("}\n\n")
		pr("%s\nenum %s_update_column {\n", describe(fmt.Sprintf("update columns of table %q", q)), name)
		for _, c := range t.updateCols {
			pr("  %s\n  %s\n", describe("column name"), t.field(c))
		}
		if len(t.updateCols) == 0 {
			// An enum needs a value; Hasura's is this one.
			pr("  %s\n  %s\n", describe("placeholder (do not use)"), placeholderColumn)
		}
		pr("}\n\n")
		pr("%s\ninput %s_on_conflict {\n  constraint: %s_constraint!\n  update_columns: [%s_update_column!]! = []\n",
			describe(fmt.Sprintf("on_conflict condition type for table %q", q)), name, name, name)
		if t.view != nil {
			pr("  where: %s_bool_exp\n", name)
		}
		pr("}\n\n")
	}
	if !t.canUpdate {
		return w.String()
	}
	inputObject("set_input", fmt.Sprintf("input type for updating data in table %q", q), t.updateCols, nullable)
	if len(t.numericUpdate) > 0 {
		inputObject("inc_input", fmt.Sprintf("input type for incrementing numeric columns in table %q", q), t.numericUpdate, nullable)
	}
	if t.hasJSONB {
		jsonb := func(*compiler.Column) string { return "jsonb" }
		inputObject("append_input", "append existing jsonb value of filtered columns with new jsonb value", t.jsonbUpdate, jsonb)
		inputObject("prepend_input", "prepend existing jsonb value of filtered columns with new jsonb value", t.jsonbUpdate, jsonb)
		inputObject("delete_key_input", "delete key/value pair or string element. key/value pairs are matched based on their key value", t.jsonbUpdate, func(*compiler.Column) string { return scalarString })
		inputObject("delete_elem_input", "delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array", t.jsonbUpdate, func(*compiler.Column) string { return scalarInt })
		inputObject("delete_at_path_input", "delete the field or element with specified path (for JSON arrays, negative integers count from the end)", t.jsonbUpdate, func(*compiler.Column) string { return "[String!]" })
	}
	if t.view.pk != nil {
		inputObject("pk_columns_input", fmt.Sprintf("primary key columns input for table: %s", q), t.view.pk, func(c *compiler.Column) string { return b.columnType(t.info, c) + "!" })
	}
	pr("input %s_updates {%s\n  %s\n  where: %s_bool_exp!\n}\n\n", name, strings.ReplaceAll(b.updateOps(t), "\n    ", "\n  "), describe("filter the rows which have to be updated"), name)
	return w.String()
}

// placeholderColumn is the only value of <t>_update_column when the role
// may update no column.
const placeholderColumn = "_PLACEHOLDER"
