package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/rowguard/rowguard/auth"
)

// ExplainPath is where the explain API is served, as in Hasura.
const ExplainPath = "/v1/graphql/explain"

// explainRequest is the body of POST /v1/graphql/explain, as Hasura's:
// the GraphQL request, and the session to explain it as (x-hasura-role
// and session variables; admin when absent).
type explainRequest struct {
	Query *Request       `json:"query"`
	User  map[string]any `json:"user"`
}

// ExplainPlan is one root field's entry of the explain API's answer to a
// query, or its whole answer to a subscription (without Field).
// Field, SQL and Plan are Hasura's; SQL and Plan are null for a field
// answered without the database (__typename, introspection). Params and
// Policies are rowguard's own, which Hasura clients ignore.
type ExplainPlan struct {
	Field string   `json:"field,omitempty"`
	SQL   *string  `json:"sql"`
	Plan  []string `json:"plan"`
	// Params are the texts bound to the statement's $1, $2, … in order.
	Params []string `json:"params"`
	// Policies are the row-level-security policies PostgreSQL applied to
	// the tables the plan reads, for the role and command (SELECT) the
	// statement ran as; empty for a role that bypasses them (admin).
	Policies []AppliedPolicy `json:"policies"`
}

// AppliedPolicy is one policy of pg_policies that applies to a table of
// a plan.
type AppliedPolicy struct {
	Table string `json:"table"` // schema.table
	Name  string `json:"name"`
	// Command is the policy's command: SELECT or ALL.
	Command string `json:"command"`
	// Permissive is PERMISSIVE (policies ORed) or RESTRICTIVE (ANDed).
	Permissive string `json:"permissive"`
	// Using is the policy's USING expression as PostgreSQL prints it.
	Using string `json:"using"`
}

// explainError is an error of the explain API in Hasura's shape for its
// non-GraphQL endpoints: {"path", "error", "code"}, with an HTTP status.
type explainError struct {
	status int
	Path   string `json:"path"`
	Error  string `json:"error"`
	Code   string `json:"code"`
	// Internal is the database's own error, for a statement that failed.
	Internal map[string]any `json:"internal,omitempty"`
}

func explainErr(status int, code, path, msg string) *explainError {
	return &explainError{status: status, Code: code, Path: path, Error: msg}
}

// fromGraphQL turns an error of the GraphQL pipeline into the explain
// API's shape, keeping its path and code.
func fromGraphQL(e *Error) *explainError {
	path := e.Path
	if path == "" {
		path = "$"
	}
	return &explainError{status: http.StatusBadRequest, Code: e.Code, Path: path, Error: e.Message, Internal: e.Internal}
}

// serveExplain answers POST /v1/graphql/explain. Only the admin may call
// it (as in Hasura); the body's user object names the role and session
// variables the query is explained as. The statement is explained inside
// the transaction a request of that session would open (role switched,
// every setting set, fresh claims computed), which is then rolled back,
// so the plan shows the role's policies as PostgreSQL applies them.
// ?analyze=true runs EXPLAIN (ANALYZE, BUFFERS): the statement runs, in
// a READ ONLY transaction that is rolled back. ?verbose=true adds
// VERBOSE, which prints what each InitPlan computes: the policies'
// current_setting('hasura.…') reads.
func (s *Server) serveExplain(w http.ResponseWriter, r *http.Request) {
	plans, e := s.explainHTTP(w, r)
	if e != nil {
		writeJSON(w, e.status, marshal(e))
		return
	}
	writeJSON(w, http.StatusOK, marshal(plans))
}

// explainHTTP checks the method, reads the body (at most MaxBodyBytes),
// checks the caller is the admin before it looks at the options or the
// body, and explains.
func (s *Server) explainHTTP(w http.ResponseWriter, r *http.Request) (any, *explainError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, explainErr(http.StatusMethodNotAllowed, "method-not-allowed", "$", "only POST is allowed on "+ExplainPath)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, explainErr(http.StatusRequestEntityTooLarge, CodeBadRequest, "$", "request body is too large")
		}
		return nil, explainErr(http.StatusBadRequest, CodeBadRequest, "$", "could not read the request body")
	}
	caller, err := s.cfg.Auth.Authenticate(r.Context(), r)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			status := ae.Status
			if status == 0 {
				status = http.StatusUnauthorized
			}
			return nil, explainErr(status, ae.Code, "$", ae.Message)
		}
		s.cfg.Log.Error("graphql: explain: authentication", "error", err)
		return nil, explainErr(http.StatusInternalServerError, CodeUnexpected, "$", "authentication failed")
	}
	if !caller.IsAdmin {
		return nil, explainErr(http.StatusBadRequest, auth.CodeAccessDenied, "$", "You have to be an admin to access this endpoint")
	}
	var opts explainOptions
	for _, o := range []struct {
		name string
		to   *bool
	}{{"analyze", &opts.analyze}, {"verbose", &opts.verbose}} {
		switch v := r.URL.Query().Get(o.name); v {
		case "", "false":
		case "true":
			*o.to = true
		default:
			return nil, explainErr(http.StatusBadRequest, CodeBadRequest, "$", o.name+" must be true or false, got "+strconv.Quote(v))
		}
	}
	var req explainRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, explainErr(http.StatusBadRequest, "invalid-json", "$", err.Error())
		}
		return nil, explainErr(http.StatusBadRequest, "parse-failed", "$", err.Error())
	}
	if req.Query == nil {
		return nil, explainErr(http.StatusBadRequest, "parse-failed", "$", `key "query" not found`)
	}
	if req.Query.Query == "" {
		return nil, explainErr(http.StatusBadRequest, "parse-failed", "$.query", `key "query" not found`)
	}
	sess, e := explainSession(req.User)
	if e != nil {
		return nil, e
	}
	return s.explain(r.Context(), sess, req.Query, opts)
}

// explainSession is the session the body's user object describes:
// x-hasura-role (admin when absent) and every session variable, names
// matched case-insensitively as Hasura does. Values must be strings.
func explainSession(user map[string]any) (*auth.Session, *explainError) {
	vars := map[string]string{}
	for k, v := range user {
		str, ok := v.(string)
		if !ok {
			return nil, explainErr(http.StatusBadRequest, "parse-failed", "$.user."+k, "expected a string for session variable "+k)
		}
		vars[strings.ToLower(k)] = str
	}
	role := vars[auth.VarRole]
	if role == "" {
		role = auth.AdminRole
	}
	if len(role) > auth.MaxRoleLength {
		return nil, explainErr(http.StatusBadRequest, "invalid-headers", "$.user."+auth.VarRole, "x-hasura-role is longer than the longest role name")
	}
	vars[auth.VarRole] = role
	sess := &auth.Session{Role: role, IsAdmin: role == auth.AdminRole, Vars: vars}
	sess.BackendOnly = strings.EqualFold(vars[auth.VarUseBackendOnlyPermissions], "true")
	return sess, nil
}

// explainOptions are the EXPLAIN options the caller asked for.
type explainOptions struct {
	analyze bool // ANALYZE, BUFFERS
	verbose bool // VERBOSE
}

// explain explains req as sess, as Hasura answers its explain API: for a
// query, one entry per root field, in the order of the query; for a
// subscription, one object (no field) for the statement each refetch of
// its cohort runs (a stream's at its initial cursor). With opts.analyze
// the statements run (EXPLAIN ANALYZE, BUFFERS) in a READ ONLY
// transaction that is rolled back. Mutations are refused (400 "only
// queries can be explained").
//
// rowguard answers every root field of a query with one statement, a
// SELECT whose columns are the root fields, each an independent
// subquery. Each entry shows its root field's column as the statement
// rowguard runs for a request of that field alone, and its plan: the
// plan of the combined statement is these plans side by side, each
// under the column (SubPlan) it answers.
func (s *Server) explain(ctx context.Context, sess *auth.Session, req *Request, opts explainOptions) (any, *explainError) {
	if kind, ok := operationKind(req); ok && kind == ast.Mutation {
		return nil, explainErr(http.StatusBadRequest, CodeInvalidParams, "$", "only queries can be explained")
	}
	op, gerr := s.prepare(sess, req)
	if gerr != nil {
		return nil, fromGraphQL(gerr)
	}
	switch op.kind {
	case ast.Mutation:
		return nil, explainErr(http.StatusBadRequest, CodeInvalidParams, "$", "only queries can be explained")
	case ast.Subscription:
		ep := &ExplainPlan{Params: []string{}, Policies: []AppliedPolicy{}}
		if len(op.stmts) == 0 { // __typename alone: nothing runs
			ep.Params, ep.Policies = nil, nil
			return ep, nil
		}
		st := op.stmts[0]
		ep.SQL, ep.Params = &st.sql, append(ep.Params, st.params...)
		if e := s.explainStatements(ctx, op, sess, opts, []*ExplainPlan{ep}, []*statement{st}); e != nil {
			return nil, e
		}
		return ep, nil
	}
	var out []*ExplainPlan
	var stmts []*statement
	var explained []*ExplainPlan // the entries with a statement, in order
	for _, r := range op.p.roots {
		if r.hidden {
			continue
		}
		ep := &ExplainPlan{Field: r.key, Params: []string{}, Policies: []AppliedPolicy{}}
		out = append(out, ep)
		if r.sel == nil {
			ep.Params, ep.Policies = nil, nil
			continue
		}
		st := rootStatement(op.p, r)
		ep.SQL, ep.Params = &st.sql, append(ep.Params, st.params...)
		stmts = append(stmts, st)
		explained = append(explained, ep)
	}
	if e := s.explainStatements(ctx, op, sess, opts, explained, stmts); e != nil {
		return nil, e
	}
	return out, nil
}

// explainStatements explains stmts[i] into entries[i] (its plan, and the
// policies applied to the tables it reads), in one transaction as op's
// role with sess's settings, rolled back.
func (s *Server) explainStatements(ctx context.Context, op *operation, sess *auth.Session, opts explainOptions, entries []*ExplainPlan, stmts []*statement) *explainError {
	if len(stmts) == 0 {
		return nil
	}
	options := "FORMAT TEXT"
	if opts.verbose {
		options = "VERBOSE, " + options
	}
	if opts.analyze {
		options = "ANALYZE, BUFFERS, " + options
	}
	// The planner settings are the request's (bitmapOffFor over the
	// operation's statements), so the plans are the ones it gets.
	off := bitmapOffFor(op.rs, op.stmts, false)
	var run []*statement
	for _, st := range stmts {
		// The text plan is the answer; the JSON plan (planned again,
		// never run) names the schema of every table it reads.
		run = append(run,
			&statement{sql: "EXPLAIN (" + options + ") " + st.sql, params: st.params, bitmapOff: off},
			&statement{sql: "EXPLAIN (VERBOSE, FORMAT JSON) " + st.sql, params: st.params, bitmapOff: off})
	}
	results, _, gerr := runTx(ctx, txSpec{
		pool: s.cfg.Pool, settings: op.st.settings, jitOff: !s.cfg.JIT, rs: op.rs, sess: sess,
		stmts: run, timeLimit: s.limitsFor(op.rs).time, rollback: true, detail: true,
	})
	if gerr != nil {
		s.cfg.Log.Warn("graphql: explain failed", "role", op.role, "code", gerr.Code, "message", gerr.Message)
		return fromGraphQL(gerr)
	}
	tables := make([][]planTable, len(entries))
	for i, ep := range entries {
		for _, row := range results[2*i].Rows {
			ep.Plan = append(ep.Plan, string(row[0]))
		}
		for _, row := range results[2*i+1].Rows {
			ts, err := jsonPlanTables(row[0])
			if err != nil {
				return explainErr(http.StatusInternalServerError, CodeUnexpected, "$", "reading the JSON plan: "+err.Error())
			}
			tables[i] = append(tables[i], ts...)
		}
	}
	pols, err := s.appliedPolicies(ctx, op.rs.pgRole, tables)
	if err != nil {
		s.cfg.Log.Error("graphql: explain: policies", "error", err)
		return explainErr(http.StatusInternalServerError, CodeUnexpected, "$", "reading pg_policies: "+err.Error())
	}
	for i, ep := range entries {
		ep.Policies = append(ep.Policies, pols[i]...)
	}
	return nil
}

// operationKind returns the kind of the operation req runs, when its
// document parses and names it unambiguously; prepare reports the
// documents that do not. Hasura refuses a mutation before validating it.
func operationKind(req *Request) (ast.Operation, bool) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: req.Query})
	if err != nil {
		return "", false
	}
	switch {
	case req.OperationName != "":
		if op := doc.Operations.ForName(req.OperationName); op != nil {
			return op.Operation, true
		}
	case len(doc.Operations) == 1:
		return doc.Operations[0].Operation, true
	}
	return "", false
}

// rootStatement renders root field r of query plan p as the statement
// render gives a query of that field alone.
func rootStatement(p *plan, r *rootPlan) *statement {
	return selectStatement(p.role, []*selection{r.sel}, p.mergeSets)
}

// planTable is a table a plan reads.
type planTable struct{ schema, name string }

// jsonPlanTables returns the tables of an EXPLAIN (VERBOSE, FORMAT JSON)
// output: every node's "Schema" and "Relation Name", subplans included.
func jsonPlanTables(doc []byte) ([]planTable, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	var out []planTable
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if name, ok := v["Relation Name"].(string); ok {
				schema, _ := v["Schema"].(string)
				out = append(out, planTable{schema, name})
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(v)
	return out, nil
}

// appliedPoliciesSQL lists the SELECT policies that apply to role $1 (the
// login role when empty) on the tables ($2 schemas, $3 names): none when
// the table has row-level security off or the role bypasses it
// (superuser, BYPASSRLS, or the table's owner without FORCE), else each
// policy for SELECT or ALL whose roles include the role, a role it
// inherits from, or PUBLIC — PostgreSQL's own rules.
const appliedPoliciesSQL = `SELECT p.schemaname::text, p.tablename::text, p.policyname::text, p.cmd, p.permissive, coalesce(p.qual, '')
FROM pg_policies p
JOIN pg_namespace n ON n.nspname = p.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
JOIN pg_roles r ON r.rolname = coalesce(nullif($1, ''), session_user)
WHERE (p.schemaname::text, p.tablename::text) IN (SELECT * FROM unnest($2::text[], $3::text[]))
  AND p.cmd IN ('SELECT', 'ALL')
  AND c.relrowsecurity
  AND NOT r.rolsuper AND NOT r.rolbypassrls
  AND (c.relforcerowsecurity OR NOT pg_has_role(r.oid, c.relowner, 'USAGE'))
  AND EXISTS (SELECT FROM unnest(p.roles) g(name) WHERE g.name = 'public' OR pg_has_role(r.oid, g.name, 'USAGE'))
ORDER BY 1, 2, 3`

// appliedPolicies returns, for each list of tables, the policies that
// apply to pgRole on them, sorted by table and name.
func (s *Server) appliedPolicies(ctx context.Context, pgRole string, tables [][]planTable) ([][]AppliedPolicy, error) {
	seen := map[planTable]bool{}
	var schemas, names []string
	for _, ts := range tables {
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				schemas, names = append(schemas, t.schema), append(names, t.name)
			}
		}
	}
	out := make([][]AppliedPolicy, len(tables))
	if len(schemas) == 0 {
		return out, nil
	}
	rows, err := s.cfg.Pool.Query(ctx, appliedPoliciesSQL, pgRole, schemas, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byTable := map[planTable][]AppliedPolicy{}
	for rows.Next() {
		var t planTable
		var p AppliedPolicy
		if err := rows.Scan(&t.schema, &t.name, &p.Name, &p.Command, &p.Permissive, &p.Using); err != nil {
			return nil, err
		}
		p.Table = t.schema + "." + t.name
		byTable[t] = append(byTable[t], p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, ts := range tables {
		done := map[planTable]bool{}
		for _, t := range ts {
			if !done[t] {
				done[t] = true
				out[i] = append(out[i], byTable[t]...)
			}
		}
		sort.SliceStable(out[i], func(a, b int) bool {
			if out[i][a].Table != out[i][b].Table {
				return out[i][a].Table < out[i][b].Table
			}
			return out[i][a].Name < out[i][b].Name
		})
	}
	return out, nil
}
