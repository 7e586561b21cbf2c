package metadataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// runSQL runs a run_sql operation inside the request's transaction and
// answers as Hasura does: CommandOk, or TuplesOk with the last statement's
// rows as text (header row first).
func (t *txn) runSQL(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v struct {
		SQL                      string `json:"sql"`
		Cascade                  bool   `json:"cascade"`
		CheckMetadataConsistency *bool  `json:"check_metadata_consistency"`
		ReadOnly                 bool   `json:"read_only"`
		Source                   string `json:"source"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	if transactionControl(v.SQL) {
		return nil, apiErr(400, "bad-request", path+".sql",
			"run_sql cannot begin, commit or roll back transactions: each request already runs in one transaction, applied whole or not at all")
	}
	if !dmlOnly(v.SQL) {
		t.ddl = true
		t.cat = nil
	}
	t.cascade = t.cascade || v.Cascade
	results, err := t.tx.Conn().PgConn().Exec(t.ctx, v.SQL).ReadAll()
	if err != nil {
		return nil, postgresError(err, v.SQL)
	}
	if len(results) > 0 {
		last := results[len(results)-1]
		if len(last.FieldDescriptions) > 0 {
			rows := [][]*string{make([]*string, len(last.FieldDescriptions))}
			for i, f := range last.FieldDescriptions {
				name := f.Name
				rows[0][i] = &name
			}
			for _, r := range last.Rows {
				row := make([]*string, len(r))
				for i, cell := range r {
					if cell != nil {
						s := string(cell)
						row[i] = &s
					}
				}
				rows = append(rows, row)
			}
			data, _ := json.Marshal(struct {
				ResultType string      `json:"result_type"`
				Result     [][]*string `json:"result"`
			}{"TuplesOk", rows})
			return data, nil
		}
	}
	return json.RawMessage(`{"result_type":"CommandOk","result":null}`), nil
}

// dmlOnly reports whether sql only reads or writes rows, so the schema and
// therefore the compiled policies cannot have changed.
func dmlOnly(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return false
	}
	for _, s := range tree.Stmts {
		n := s.GetStmt()
		if n.GetSelectStmt() == nil && n.GetInsertStmt() == nil && n.GetUpdateStmt() == nil &&
			n.GetDeleteStmt() == nil && n.GetTruncateStmt() == nil {
			return false
		}
		if sel := n.GetSelectStmt(); sel != nil && sel.GetIntoClause() != nil {
			return false // SELECT … INTO creates a table
		}
	}
	return true
}

// transactionControl reports whether sql has BEGIN, COMMIT, ROLLBACK or
// the like, which would end the request's transaction early.
func transactionControl(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return false // PostgreSQL reports the syntax error
	}
	for _, s := range tree.Stmts {
		if s.GetStmt().GetTransactionStmt() != nil {
			return true
		}
	}
	return false
}

// insert is the legacy /v1/query `insert`: rows as JSON objects, each
// column from its key, defaults for the keys left out.
func (t *txn) insert(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v struct {
		Table     tableName         `json:"table"`
		Objects   []json.RawMessage `json:"objects"`
		Returning []string          `json:"returning"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	if _, aerr := t.trackedTable(v.Table, path); aerr != nil {
		return nil, aerr
	}
	cat, aerr := t.catalog()
	if aerr != nil {
		return nil, aerr
	}
	q := policies.QualifiedTable{Schema: v.Table.Schema, Name: v.Table.Name}
	tbl := cat.Table(q)
	if tbl == nil {
		return nil, apiErr(400, "not-exists", path+".table", "table %q does not exist", v.Table.hasuraString())
	}
	var returning []json.RawMessage
	affected := 0
	for i, obj := range v.Objects {
		var fields map[string]json.RawMessage
		if err := strictDecode(obj, &fields); err != nil {
			return nil, parseFailed(fmt.Sprintf("%s.objects[%d]", path, i), err)
		}
		cols := make([]string, 0, len(fields))
		for c := range fields {
			if tbl.Column(c) == nil {
				return nil, apiErr(400, "not-exists", fmt.Sprintf("%s.objects[%d]", path, i), "no such column exists: %q", c)
			}
			cols = append(cols, compiler.QuoteIdent(c))
		}
		sort.Strings(cols)
		target := compiler.QuoteTable(q)
		var sql string
		if len(cols) == 0 {
			sql = "INSERT INTO " + target + " DEFAULT VALUES"
		} else {
			list := strings.Join(cols, ", ")
			// json_populate_record converts each value with the column's
			// own input function, so any column type works.
			sql = fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM json_populate_record(NULL::%s, $1::json)", target, list, list, target)
		}
		ret := " RETURNING row_to_json(" + compiler.QuoteIdent(q.Name) + ".*)::text"
		var row string
		var err error
		if len(cols) == 0 {
			err = t.tx.QueryRow(t.ctx, sql+ret).Scan(&row)
		} else {
			err = t.tx.QueryRow(t.ctx, sql+ret, string(obj)).Scan(&row)
		}
		if err != nil {
			return nil, postgresError(err, sql)
		}
		affected++
		if len(v.Returning) > 0 {
			var all map[string]json.RawMessage
			_ = json.Unmarshal([]byte(row), &all)
			picked := map[string]json.RawMessage{}
			for _, c := range v.Returning {
				picked[c] = all[c]
			}
			data, _ := json.Marshal(picked)
			returning = append(returning, data)
		}
	}
	out := map[string]any{"affected_rows": affected}
	if len(v.Returning) > 0 {
		if returning == nil {
			returning = []json.RawMessage{}
		}
		out["returning"] = returning
	}
	data, _ := json.Marshal(out)
	return data, nil
}

// apiError is an error of the metadata endpoints, in Hasura's shape.
type apiError struct {
	Status   int
	Code     string
	Path     string
	Message  string
	Internal any
}

// MarshalJSON renders {"path", "error", "code"} (and "internal" for
// PostgreSQL errors), as Hasura's /v1/query and /v1/metadata do.
func (e *apiError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Internal any    `json:"internal,omitempty"`
		Path     string `json:"path"`
		Error    string `json:"error"`
		Code     string `json:"code"`
	}{e.Internal, e.Path, e.Message, e.Code})
}

func apiErr(status int, code, path, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Path: path, Message: fmt.Sprintf(format, args...)}
}

func parseFailed(path string, err error) *apiError {
	return apiErr(400, "parse-failed", path, "%v", err)
}

func unexpected(err error) *apiError {
	return apiErr(500, "unexpected", "$", "%v", err)
}

// postgresError reports a failed statement as Hasura does.
func postgresError(err error, statement string) *apiError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return unexpected(err)
	}
	return &apiError{
		Status: 400, Code: "postgres-error", Path: "$", Message: "query execution failed",
		Internal: map[string]any{
			"arguments": []string{},
			"error": map[string]any{
				"description": nilIfEmpty(pe.Detail),
				"exec_status": "FatalError",
				"hint":        nilIfEmpty(pe.Hint),
				"message":     pe.Message,
				"status_code": pe.Code,
			},
			"prepared":  false,
			"statement": statement,
		},
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
