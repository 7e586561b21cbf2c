package console

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/compiler"
)

// RunRequest is a statement to run as a role with session variables,
// as psql connected with that role and settings would run it.
type RunRequest struct {
	SQL    string            `json:"sql"`
	Params []any             `json:"params"`
	Role   string            `json:"role"`
	Vars   map[string]string `json:"vars"`
}

// RunResult is what psql would print, and the transcript that gets it.
type RunResult struct {
	Transcript string     `json:"transcript"`
	Columns    []string   `json:"columns"`
	Rows       [][]string `json:"rows"`
	Truncated  bool       `json:"truncated"`
	Error      string     `json:"error,omitempty"`
}

// maxRunRows bounds what a run returns.
const maxRunRows = 200

// Run runs req.SQL in a READ ONLY transaction that is rolled back, after
// SET LOCAL ROLE pgRole and set_config of every session variable
// (transaction-local, as the server sets them). pgRole must come from the
// program's allow-list.
func Run(ctx context.Context, pool *pgxpool.Pool, pgRole string, req *RunRequest) (*RunResult, error) {
	res := &RunResult{Columns: []string{}, Rows: [][]string{}}
	var tr strings.Builder
	tr.WriteString("BEGIN READ ONLY;\n")
	fmt.Fprintf(&tr, "SET LOCAL ROLE %s;\n", compiler.QuoteIdent(pgRole))
	names := make([]string, 0, len(req.Vars))
	for k := range req.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	type setting struct{ name, value string }
	var sets []setting
	for _, k := range names {
		if strings.EqualFold(k, "x-hasura-role") {
			continue
		}
		s, ok := compiler.SettingName(k)
		if !ok {
			return nil, fmt.Errorf("session variable %q: only letters, digits, - and _ can name a setting", k)
		}
		sets = append(sets, setting{s, req.Vars[k]})
		fmt.Fprintf(&tr, "SELECT set_config(%s, %s, true);\n", compiler.QuoteLiteral(s), compiler.QuoteLiteral(req.Vars[k]))
	}
	stmt := strings.TrimRight(strings.TrimSpace(req.SQL), ";")
	if len(req.Params) > 0 {
		fmt.Fprintf(&tr, "PREPARE q AS %s;\nEXECUTE q(", stmt)
		for i, p := range req.Params {
			if i > 0 {
				tr.WriteString(", ")
			}
			tr.WriteString(compiler.QuoteLiteral(paramText(p)))
		}
		tr.WriteString(");\n")
	} else {
		tr.WriteString(stmt + ";\n")
	}
	tr.WriteString("ROLLBACK;\n")
	res.Transcript = tr.String()

	tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+compiler.QuoteIdent(pgRole)); err != nil {
		return nil, fmt.Errorf("set role %s: %w", pgRole, err)
	}
	for _, s := range sets {
		if _, err := tx.Exec(ctx, "SELECT set_config($1, $2, true)", s.name, s.value); err != nil {
			return nil, err
		}
	}
	// Parameters go as text literals (simple protocol), so PostgreSQL
	// casts them to whatever the statement expects, as the server's do.
	args := []any{pgx.QueryExecModeSimpleProtocol}
	for _, p := range req.Params {
		args = append(args, paramText(p))
	}
	rows, err := tx.Query(ctx, stmt, args...)
	if err != nil {
		res.Error = err.Error()
		return res, nil
	}
	defer rows.Close()
	for _, f := range rows.FieldDescriptions() {
		res.Columns = append(res.Columns, f.Name)
	}
	for rows.Next() {
		if len(res.Rows) == maxRunRows {
			res.Truncated = true
			break
		}
		vals, err := rows.Values()
		if err != nil {
			res.Error = err.Error()
			return res, nil
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = text(v)
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		res.Error = err.Error()
	}
	return res, nil
}

// paramText renders a bound value as the text PostgreSQL reads it from.
func paramText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// text renders a column value as psql prints it (close enough: JSON as
// JSON, NULL as empty).
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(x)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}
