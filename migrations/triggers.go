package migrations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// Hasura runs every statement as the database owner, so a project's trigger
// function may write tables the API roles cannot. rowguard runs a request
// as the caller's role, and a SECURITY INVOKER trigger function runs with
// that role's rights: a role allowed to insert into `ratings` fails with
// "permission denied for table tier_lists" when the trigger on `ratings`
// updates `tier_lists`. rowguard does not change a project's functions
// behind its migrations' back; migrate up names each such trigger and the
// fix (a migration that makes the function SECURITY DEFINER with a fixed
// search_path, which is how the owner's rights are given on purpose).

// TriggerProblem is a trigger on a tracked table whose SECURITY INVOKER
// function touches a table that a role which fires it may not touch.
type TriggerProblem struct {
	Table    policies.QualifiedTable
	Trigger  string
	Function string // regprocedure text: schema.name(args)
	Role     string // the Hasura role
	Op       policies.Op
	// Needs is the privilege the function needs and the role lacks, such
	// as "INSERT on public.audit"; empty when Dynamic.
	Needs string
	// Dynamic is set when the function runs dynamic SQL (EXECUTE), whose
	// tables cannot be known before it runs.
	Dynamic bool
}

// rowQuerier is what TriggerProblems needs of a connection or pool.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// TriggerWarnings renders problems as one line per trigger: what its
// function needs, which roles lack it for which operations, and the fix.
// problems must be grouped by trigger, as TriggerProblems returns them.
func TriggerWarnings(problems []TriggerProblem) []string {
	var out []string
	for i := 0; i < len(problems); {
		first := problems[i]
		var needs, roles []string
		dynamic := false
		ops := map[string][]string{}
		j := i
		for ; j < len(problems) && problems[j].Table == first.Table && problems[j].Trigger == first.Trigger; j++ {
			p := problems[j]
			if p.Dynamic {
				dynamic = true
			} else if !slices.Contains(needs, p.Needs) {
				needs = append(needs, p.Needs)
			}
			op := strings.ToLower(string(p.Op))
			if _, ok := ops[p.Role]; !ok {
				roles = append(roles, p.Role)
			}
			if !slices.Contains(ops[p.Role], op) {
				ops[p.Role] = append(ops[p.Role], op)
			}
		}
		i = j
		var who []string
		for _, r := range roles {
			who = append(who, fmt.Sprintf("%q (%s)", r, strings.Join(ops[r], ", ")))
		}
		var what []string
		if len(needs) > 0 {
			what = append(what, "needs "+strings.Join(needs, ", "))
		}
		if dynamic {
			what = append(what, "runs dynamic SQL (EXECUTE), which rowguard cannot check")
		}
		out = append(out, fmt.Sprintf("trigger %s on %s runs %s with the caller's rights (SECURITY INVOKER) and %s: for roles %s the operation fails with \"permission denied\" where it touches what the role may not. "+
			"Hasura runs it as the owner; to do the same, add a migration: ALTER FUNCTION %s SECURITY DEFINER SET search_path = <its schemas>",
			first.Trigger, first.Table, first.Function, strings.Join(what, " and "), strings.Join(who, ", "), first.Function))
	}
	return out
}

// Trigger event bits of pg_trigger.tgtype.
const (
	tgInsert = 1 << 2
	tgDelete = 1 << 3
	tgUpdate = 1 << 4
)

// TriggerProblems checks, after an install, the SECURITY INVOKER trigger
// functions (SQL and PL/pgSQL) on the program's tracked tables: for each
// role with a permission that fires the trigger, every table the function
// reads or writes must be open to the role for that use. Functions that run
// dynamic SQL are named too, since what they touch cannot be known.
func TriggerProblems(ctx context.Context, q rowQuerier, prog *compiler.Program) ([]TriggerProblem, error) {
	var tables []string
	for _, t := range prog.Tables {
		tables = append(tables, compiler.QuoteTable(t.Name()))
	}
	rows, err := q.Query(ctx, `
SELECT n.nspname, c.relname, t.tgname, p.oid::regprocedure::text, t.tgtype::int, l.lanname,
       p.prosrc
  FROM unnest($1::text[]) AS tr(name)
  JOIN pg_catalog.pg_trigger t ON t.tgrelid = tr.name::regclass AND NOT t.tgisinternal
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE NOT p.prosecdef AND l.lanname = 'plpgsql' AND pn.nspname <> 'rowguard'
 ORDER BY 1, 2, 3`, tables)
	if err != nil {
		return nil, fmt.Errorf("read the tracked tables' triggers: %w", err)
	}
	type trigger struct {
		table          policies.QualifiedTable
		name, fn       string
		events         int
		language, body string
	}
	var triggers []trigger
	for rows.Next() {
		var t trigger
		if err := rows.Scan(&t.table.Schema, &t.table.Name, &t.name, &t.fn, &t.events, &t.language, &t.body); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the tracked tables' triggers: %w", err)
		}
		triggers = append(triggers, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the tracked tables' triggers: %w", err)
	}

	var out []TriggerProblem
	for _, t := range triggers {
		info := prog.Table(t.table)
		if info == nil {
			continue
		}
		touches, dynamic := functionTouches(t.language, t.body)
		for _, p := range info.Permissions {
			if !fires(t.events, p.Op) {
				continue
			}
			problem := TriggerProblem{Table: t.table, Trigger: t.name, Function: t.fn, Role: p.Role.Name, Op: p.Op}
			if dynamic {
				d := problem
				d.Dynamic = true
				out = append(out, d)
			}
			for _, tc := range touches {
				var ok *bool
				var name string
				err := q.QueryRow(ctx, `SELECT CASE WHEN $3 = 'SELECT' THEN pg_catalog.has_any_column_privilege($1, c.oid, 'SELECT')
						ELSE pg_catalog.has_table_privilege($1, c.oid, $3) END, n.nspname || '.' || c.relname
					FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
					WHERE c.oid = to_regclass($2)`, p.Role.PGName, tc.table, tc.privilege).Scan(&ok, &name)
				if errors.Is(err, pgx.ErrNoRows) {
					continue // not a table: a CTE's name, or a table the function creates
				}
				if err != nil {
					return nil, fmt.Errorf("check trigger %s on %s: %w", t.name, t.table, err)
				}
				if ok != nil && !*ok {
					problem.Needs = tc.privilege + " on " + name
					out = append(out, problem)
				}
			}
		}
	}
	return out, nil
}

// fires tells whether a trigger with these event bits fires for op.
func fires(events int, op policies.Op) bool {
	switch op {
	case policies.Insert:
		return events&tgInsert != 0
	case policies.Update:
		return events&tgUpdate != 0
	case policies.Delete:
		return events&tgDelete != 0
	}
	return false
}

// touch is a table a function reads or writes, as written in its body.
type touch struct {
	privilege string // SELECT, INSERT, UPDATE or DELETE
	table     string // as written: schema.name or name
}

// functionTouches lists the tables a function's statements touch, and
// whether it runs dynamic SQL. Statements that do not parse (PL/pgSQL
// conditions) touch nothing.
func functionTouches(language, body string) (touches []touch, dynamic bool) {
	queries, dynamic, ok := compiler.FunctionStatements(language, body)
	if !ok {
		return nil, false
	}
	seen := map[touch]bool{}
	for _, sql := range queries {
		tree, err := pg_query.ParseToJSON(sql)
		if i := strings.Index(sql, ":="); err != nil && i >= 0 {
			// An assignment (n := (SELECT …)) keeps its target in front
			// of the expression it reads.
			tree, err = pg_query.ParseToJSON("SELECT " + sql[i+2:])
		}
		if err != nil {
			continue
		}
		var v any
		if json.Unmarshal([]byte(tree), &v) != nil {
			continue
		}
		add := func(t touch) {
			if !seen[t] {
				seen[t] = true
				touches = append(touches, t)
			}
		}
		// A statement's target is a bare RangeVar under `relation`; every
		// other table it reads is a {"RangeVar": …} node.
		compiler.WalkParseTree(v, func(key string, val any) {
			node, ok := val.(map[string]any)
			if !ok {
				return
			}
			if priv := map[string]string{"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE"}[key]; priv != "" {
				if rel, ok := node["relation"].(map[string]any); ok {
					add(touch{priv, rangeVarName(rel)})
				}
			}
			if key == "RangeVar" {
				add(touch{"SELECT", rangeVarName(node)})
			}
		})
	}
	sort.Slice(touches, func(i, j int) bool {
		if touches[i].table != touches[j].table {
			return touches[i].table < touches[j].table
		}
		return touches[i].privilege < touches[j].privilege
	})
	return touches, dynamic
}

// rangeVarName renders a parse tree's RangeVar as schema.name, quoted where
// needed so to_regclass reads it back.
func rangeVarName(rv map[string]any) string {
	name, _ := rv["relname"].(string)
	if schema, _ := rv["schemaname"].(string); schema != "" {
		return compiler.QuoteIdent(schema) + "." + compiler.QuoteIdent(name)
	}
	return compiler.QuoteIdent(name)
}
