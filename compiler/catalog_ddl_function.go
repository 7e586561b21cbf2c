package compiler

// This file holds how ParseDDL keeps the catalog's functions as
// PostgreSQL's pg_proc would hold them: overloads in creation order,
// CREATE OR REPLACE in place, DROP, RENAME and SET SCHEMA of one
// signature.

import (
	"encoding/json"
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/policies"
)

// addFunction records f; a function of the same name and input argument
// types is replaced where it stands (CREATE OR REPLACE keeps its oid, and
// so its place among the overloads).
func (b *ddlBuilder) addFunction(f *Function) {
	list := b.funcs[f.Name]
	for i, g := range list {
		if sameSignature(g, f) {
			list[i] = f
			b.syncFunctions(f.Name)
			return
		}
	}
	b.funcs[f.Name] = append(list, f)
	b.syncFunctions(f.Name)
}

// syncFunctions sets the catalog's entry for q as LoadCatalog builds it:
// the last overload created, with the count of overloads.
func (b *ddlBuilder) syncFunctions(q policies.QualifiedTable) {
	list := b.funcs[q]
	if len(list) == 0 {
		delete(b.funcs, q)
		delete(b.cat.Functions, q)
		if len(b.cat.Functions) == 0 {
			b.cat.Functions = nil
		}
		return
	}
	if b.cat.Functions == nil {
		b.cat.Functions = map[policies.QualifiedTable]*Function{}
	}
	f := list[len(list)-1]
	f.Overloads = len(list)
	b.cat.Functions[q] = f
}

// sameSignature tells whether two functions take the same input
// argument types (PostgreSQL's identity of an overload).
func sameSignature(a, b *Function) bool {
	return slices.EqualFunc(a.Args, b.Args, func(x, y *FunctionArg) bool { return x.Type == y.Type })
}

// findFunction resolves a function named in DROP, ALTER … RENAME or SET
// SCHEMA: its name through the search path, its overload by the input
// argument types (any when unspecified and there is one).
func (b *ddlBuilder) findFunction(owa *pg_query.ObjectWithArgs) (policies.QualifiedTable, int, error) {
	names := strs(owa.Objname)
	var q policies.QualifiedTable
	if len(names) > 1 {
		q = policies.QualifiedTable{Schema: names[len(names)-2], Name: last(names)}
	} else {
		for _, s := range b.path {
			if c := (policies.QualifiedTable{Schema: s, Name: last(names)}); len(b.funcs[c]) > 0 {
				q = c
				break
			}
		}
	}
	list := b.funcs[q]
	if owa.ArgsUnspecified {
		if len(list) == 1 {
			return q, 0, nil
		}
		return q, -1, nil
	}
	want := &Function{}
	for _, n := range owa.Objargs {
		typ, _, err := b.typeName(n.GetTypeName())
		if err != nil {
			return q, -1, err
		}
		want.Args = append(want.Args, &FunctionArg{Type: typ})
	}
	for i, f := range list {
		if sameSignature(f, want) {
			return q, i, nil
		}
	}
	return q, -1, nil
}

// dropFunctions replays DROP FUNCTION.
func (b *ddlBuilder) dropFunctions(s *pg_query.DropStmt) error {
	for _, o := range s.Objects {
		q, i, err := b.findFunction(o.GetObjectWithArgs())
		if err != nil {
			return err
		}
		if i < 0 {
			continue // not a function the catalog holds: an extension's, or dropped IF EXISTS
		}
		b.funcs[q] = slices.Delete(b.funcs[q], i, i+1)
		b.syncFunctions(q)
	}
	return nil
}

// moveFunction renames a function or moves it to another schema.
func (b *ddlBuilder) moveFunction(owa *pg_query.ObjectWithArgs, schema, name string) error {
	q, i, err := b.findFunction(owa)
	if err != nil || i < 0 {
		return err
	}
	f := b.funcs[q][i]
	b.funcs[q] = slices.Delete(b.funcs[q], i, i+1)
	b.syncFunctions(q)
	to := q
	if schema != "" {
		to.Schema = schema
	}
	if name != "" {
		to.Name = name
	}
	f.Name = to
	b.addFunction(f)
	return nil
}

// bodyChangesSchema tells whether a LANGUAGE sql or plpgsql body may
// change what the catalog holds (a body that does not parse counts as
// changing it; a body in another language, or BEGIN ATOMIC, as not).
func (b *ddlBuilder) bodyChangesSchema(s *pg_query.CreateFunctionStmt) bool {
	body, lang := "", ""
	for _, o := range s.Options {
		d := o.GetDefElem()
		switch d.GetDefname() {
		case "as":
			if items := strs(d.Arg.GetList().GetItems()); len(items) > 0 {
				body = items[0]
			}
		case "language":
			lang = d.Arg.GetString_().GetSval()
		}
	}
	switch lang {
	case "sql":
		tree, err := pg_query.Parse(body)
		return err != nil || b.statementsChangeSchema(tree.Stmts)
	case "plpgsql":
		src, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_CreateFunctionStmt{CreateFunctionStmt: s}}}}})
		if err != nil {
			return true
		}
		js, err := pg_query.ParsePlPgSqlToJSON(src)
		var fns []map[string]any
		if err != nil || json.Unmarshal([]byte(js), &fns) != nil || len(fns) != 1 {
			return true
		}
		fn, _ := fns[0]["PLpgSQL_function"].(map[string]any)
		return b.plEffects([]any{fn["action"]})
	}
	return false
}
