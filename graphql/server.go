package graphql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql/observe"
	"github.com/rowguard/rowguard/policies"
)

// Authenticator turns a request into a session: auth.Authenticator
// satisfies it. An error that is an *auth.Error is answered in Hasura's
// shape; any other error as an unexpected one.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*auth.Session, error)
}

// Config configures a Server.
type Config struct {
	// Pool connects as the server's login role: a member of every role's
	// PostgreSQL role and of the admin role (Program.AdminPGRole); it needs
	// no privilege of its own (rowguard migrate up --login-role). Every
	// request ends with RESET ALL and RESET ROLE: settings the pool's
	// connections need belong in ConnConfig.RuntimeParams (sent when
	// connecting, which RESET keeps), not in a SET after connecting.
	Pool *pgxpool.Pool
	// Program is the compiled metadata whose policies the database has
	// installed.
	Program *compiler.Program
	// Auth authenticates requests.
	Auth Authenticator
	// Version is what GET /v1/version reports; "dev" when empty.
	Version string
	// MaxBodyBytes limits a request body; DefaultMaxBodyBytes when zero.
	// It applies to every role.
	MaxBodyBytes int64
	// DepthLimit and NodeLimit are Hasura's API limits of the same names,
	// checked before an operation is planned: how deep fields nest
	// (`{ a { b } }` is 2) and how many fields have a selection set.
	// They apply to every role but admin; DefaultDepthLimit and
	// DefaultNodeLimit when zero, no limit when negative.
	DepthLimit int
	NodeLimit  int
	// BatchLimit bounds the operations of a batched request (a JSON array
	// body), for every role; DefaultBatchLimit when zero, no limit when
	// negative.
	BatchLimit int
	// FieldLimit bounds the fields of a request's document, fragments
	// expanded where they are spread, for every role (admin included):
	// the work of validating and planning grows with it. DefaultFieldLimit
	// when zero, no limit when negative.
	FieldLimit int
	// InputDepthLimit bounds how deep argument values and variables nest
	// (`{author: {articles: {id: {_eq: 1}}}}` is 4), for every role:
	// each relationship level of a where is a subquery PostgreSQL plans.
	// DefaultInputDepthLimit when zero, no limit when negative.
	InputDepthLimit int
	// TimeLimit is Hasura's time_limit: how long one operation of a role
	// other than admin may take. Each of its statements runs with
	// statement_timeout set to it (transaction-locally, with the role), and
	// the request gives up a second after it. No limit when zero.
	TimeLimit time.Duration
	// PlanCacheSize bounds the cache of prepared operations;
	// DefaultPlanCacheSize when zero, no cache when negative.
	PlanCacheSize int
	// Log receives one line per failed request; nil discards.
	Log *slog.Logger
	// JIT leaves PostgreSQL's JIT compiler on for requests of API roles.
	// By default each such request turns it off (transaction-locally):
	// compiling short policy-heavy statements costs more than it saves,
	// and a role's own `ALTER ROLE … SET jit` does not apply after SET ROLE.
	JIT bool
	// MergeSets lets the planner read an ordered, limited list per key of
	// the role's membership set and merge (graphql/merge.go) where the
	// catalog has the indexes for it. It pays when a role sees a small
	// part of a table through a set of few keys (one organization of
	// 100: 2.3 times less backend CPU for the benchmark's list) and costs
	// more than the policy's filter when the set has many keys (10 of
	// 100: 2.2 times more), because each key reads up to limit rows; the
	// set's size is only known when the statement runs, so it is the
	// operator's choice (bench/results/2026-12-03-list-merge.md).
	MergeSets bool
	// FreshClaims, when set, are session variables the database computes
	// per request instead of taking them from the session.
	FreshClaims *FreshClaims
	// Live configures live queries (subscriptions).
	Live LiveConfig
	// Inconsistencies, when set, lists the metadata's inconsistent
	// objects (the metadata API's get_inconsistent_metadata), which
	// /healthz reports.
	Inconsistencies func() []string
	// Replicas, when set, routes read-only transactions (queries and
	// live-query rounds) to read replicas at the request's policy version
	// (replicas.go); mutations and explain run on Pool.
	Replicas ReadRouter
	// Observer, when set, records live-query rounds (a span and a
	// duration each, failed cohort refetches); requests are observed by
	// wrapping the handler (observe.Observer.Handler).
	Observer *observe.Observer
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes  = 4 << 20
	DefaultPlanCacheSize = 1024
)

// Server is the GraphQL API: an http.Handler for /v1/graphql,
// /v1/graphql/explain, /healthz and /v1/version.
type Server struct {
	cfg   Config
	state atomic.Pointer[state]
	mux   *http.ServeMux
	// prepared: the pool's connections may keep prepared statements
	// (usePrepared).
	prepared bool
	live     liveHub
	// listeners are called after SetProgram (OnProgramChange).
	listenMu  sync.Mutex
	listeners []func()
}

// state is everything derived from one Program; SetProgram replaces it
// whole, so a request sees one consistent version.
type state struct {
	// version is the database's policy version (rowguard.policy_migrations)
	// when prog was installed; "" when it has none.
	version string
	prog    *compiler.Program
	schemas map[string]*roleSchema
	// backend holds, for roles with backend_only permissions, the schema
	// of requests that use them (admin secret and
	// x-hasura-use-backend-only-permissions: true).
	backend  map[string]*roleSchema
	empty    *roleSchema // for roles without any permission
	settings *settingsSQL
	cache    *planCache
	// applied names the policies PostgreSQL applies per role, table and
	// command, for the logs.
	applied *appliedPolicies
}

// NewServer builds every role's schema from cfg.Program and checks that the
// pool can connect.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Pool == nil || cfg.Program == nil || cfg.Auth == nil {
		return nil, errors.New("graphql: Config needs Pool, Program and Auth")
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	cfg.DepthLimit = limitOr(cfg.DepthLimit, DefaultDepthLimit)
	cfg.NodeLimit = limitOr(cfg.NodeLimit, DefaultNodeLimit)
	cfg.BatchLimit = limitOr(cfg.BatchLimit, DefaultBatchLimit)
	cfg.FieldLimit = limitOr(cfg.FieldLimit, DefaultFieldLimit)
	cfg.InputDepthLimit = limitOr(cfg.InputDepthLimit, DefaultInputDepthLimit)
	if cfg.TimeLimit < 0 {
		cfg.TimeLimit = 0
	}
	if cfg.Live.RefetchInterval <= 0 {
		cfg.Live.RefetchInterval = DefaultRefetchInterval
	}
	if cfg.Live.BatchSize <= 0 {
		cfg.Live.BatchSize = DefaultBatchSize
	}
	if cfg.Live.StreamRefetchInterval <= 0 {
		cfg.Live.StreamRefetchInterval = cfg.Live.RefetchInterval
	}
	if cfg.Live.StreamBatchSize <= 0 {
		cfg.Live.StreamBatchSize = cfg.Live.BatchSize
	}
	if cfg.PlanCacheSize == 0 {
		cfg.PlanCacheSize = DefaultPlanCacheSize
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := cfg.Pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("graphql: connect: %w", err)
	}
	s := &Server{cfg: cfg, prepared: usePrepared(cfg.Pool)}
	if err := s.SetProgram(cfg.Program); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/v1/graphql", s.serveGraphQL)
	s.mux.HandleFunc(ExplainPath, s.serveExplain)
	s.mux.HandleFunc("/healthz", s.serveHealth)
	s.mux.HandleFunc("/v1/version", s.serveVersion)
	return s, nil
}

// SetProgram switches the server to prog (after the database has installed
// its policies): it reads the enum tables' values again, rebuilds every
// role's schema and empties the plan cache. Requests under way finish with the previous program.
func (s *Server) SetProgram(prog *compiler.Program) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version, err := loadPolicyVersion(ctx, s.cfg.Pool)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	return s.SetProgramAt(prog, version)
}

// SetProgramAt is SetProgram for a program compiled from the metadata of
// policy version version, read in the same snapshot as that version (a
// server that follows `migrate up`): the version is the one read
// replicas must have replayed to serve its requests.
func (s *Server) SetProgramAt(prog *compiler.Program, version string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := loadConstraints(ctx, s.cfg.Pool)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	enums, err := loadEnumValues(ctx, s.cfg.Pool, prog)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	pgRoles := []string{}
	for _, r := range prog.Roles {
		pgRoles = append(pgRoles, r.PGName)
	}
	applied, err := loadAppliedPolicies(ctx, s.cfg.Pool, pgRoles)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	st := &state{
		applied:  applied,
		version:  version,
		prog:     prog,
		schemas:  map[string]*roleSchema{},
		backend:  map[string]*roleSchema{},
		settings: &settingsSQL{list: s.cfg.FreshClaims.withoutFresh(programSettings(prog)), fresh: s.cfg.FreshClaims},
		cache:    newPlanCache(s.cfg.PlanCacheSize),
	}
	roles := []string{AdminRole}
	for _, r := range prog.Roles {
		roles = append(roles, r.Name)
	}
	for _, role := range roles {
		rs, err := buildSchema(prog, role, cons, enums, false)
		if err != nil {
			return fmt.Errorf("graphql: %w", err)
		}
		rs.mergeSets = s.cfg.MergeSets
		st.schemas[role] = rs
		if hasBackendOnly(prog, role) {
			if rs, err = buildSchema(prog, role, cons, enums, true); err != nil {
				return fmt.Errorf("graphql: %w", err)
			}
			rs.mergeSets = s.cfg.MergeSets
			st.backend[role] = rs
		}
	}
	empty, err := buildSchema(prog, "", cons, enums, false)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	st.empty = empty
	s.state.Store(st)
	s.programChanged()
	return nil
}

// PolicyVersion returns the policy version (rowguard.policy_migrations)
// the served schema was built from; "" for none.
func (s *Server) PolicyVersion() string { return s.state.Load().version }

// hasBackendOnly reports whether role has a backend_only permission.
func hasBackendOnly(prog *compiler.Program, role string) bool {
	for _, t := range prog.Tables {
		for _, p := range t.Permissions {
			if p.BackendOnly && p.Role != nil && p.Role.Name == role {
				return true
			}
		}
	}
	return false
}

// loadConstraints reads the names of every primary key and unique
// constraint, which an upsert's on_conflict names and the catalog does not
// keep.
func loadConstraints(ctx context.Context, pool *pgxpool.Pool) (constraintSet, error) {
	rows, err := pool.Query(ctx, `SELECT n.nspname::text, c.relname::text, k.conname::text,
	  array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
	        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord)
	FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE k.contype IN ('p', 'u') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("read constraints: %w", err)
	}
	defer rows.Close()
	out := constraintSet{}
	for rows.Next() {
		var schema, table string
		k := &constraint{}
		if err := rows.Scan(&schema, &table, &k.name, &k.columns); err != nil {
			return nil, fmt.Errorf("read constraints: %w", err)
		}
		q := policies.QualifiedTable{Schema: schema, Name: table}
		out[q] = append(out[q], k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read constraints: %w", err)
	}
	return out, nil
}

// SDL returns the schema published to role, as GraphQL SDL.
func (s *Server) SDL(role string) string {
	return s.state.Load().schemaFor(role).sdl
}

// PGRole returns the PostgreSQL role requests of a Hasura role run as: the
// admin role's is compiler.Program.AdminPGRole; "" for roles the metadata
// does not name, which run as the server's login role.
func (s *Server) PGRole(role string) string {
	return s.state.Load().schemaFor(role).pgRole
}

// ServeHTTP routes /v1/graphql, /v1/graphql/explain, /healthz and /v1/version.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (st *state) schemaFor(role string) *roleSchema {
	if rs := st.schemas[role]; rs != nil {
		return rs
	}
	return st.empty
}

// Request is one GraphQL request as clients send it.
type Request struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// Do runs one request for a session and returns the response body:
// {"data":…} or {"errors":[…]}.
func (s *Server) Do(ctx context.Context, sess *auth.Session, req *Request) []byte {
	data, gerr := s.do(ctx, sess, req)
	if gerr != nil {
		observe.FromContext(ctx).Error(gerr.Code, gerr.Path, gerr.Message)
		return errorBody(gerr)
	}
	return data
}

func errorBody(e *Error) []byte {
	return marshal(struct {
		Errors []*Error `json:"errors"`
	}{[]*Error{e}})
}

func (s *Server) do(ctx context.Context, sess *auth.Session, req *Request) ([]byte, *Error) {
	op, err := s.prepareTraced(ctx, sess, req)
	if err != nil {
		return nil, err
	}
	observe.FromContext(ctx).Kind(string(op.kind))
	return s.run(ctx, op, sess)
}

// run executes a prepared operation for sess and returns its response.
func (s *Server) run(ctx context.Context, op *operation, sess *auth.Session) ([]byte, *Error) {
	var cols [][]byte
	if op.stmts != nil {
		observeStatements(ctx, op)
		dctx, span := startDBSpan(ctx, op)
		var err *Error
		cols, err = s.readExecute(dctx, s.readPool(op.st.version, op.p.mutation), op.st.version, s.prepared, op.st.settings, !s.cfg.JIT, op.rs, sess, op.stmts, op.p.mutation, s.limitsFor(op.rs).time)
		endSpan(span, err)
		if err != nil {
			s.cfg.Log.Warn("graphql: statement failed", "role", op.role, "code", err.Code, "message", err.Message)
			return nil, err
		}
	}
	return response(op.p, cols), nil
}

// operation is a request parsed, validated and planned for a session,
// ready to run.
type operation struct {
	st    *state
	rs    *roleSchema
	role  string
	kind  ast.Operation
	p     *plan
	stmts []*statement
	// def and vars (coerced) are what the plan was made from, to plan a
	// stream again at its next cursor.
	def  *ast.OperationDefinition
	vars map[string]any
}

// prepare parses, validates and plans req for sess (from the plan cache
// when it can), and checks the session has every variable the plan needs.
func (s *Server) prepare(sess *auth.Session, req *Request) (*operation, *Error) {
	return s.prepareTraced(context.Background(), sess, req)
}

// prepareTraced is prepare with spans of parsing and validating, and of
// planning, in the trace of ctx's request.
func (s *Server) prepareTraced(ctx context.Context, sess *auth.Session, req *Request) (*operation, *Error) {
	st := s.state.Load()
	sess = s.cfg.FreshClaims.session(sess)
	role := sess.Role
	if sess.IsAdmin {
		role = AdminRole
	}
	rs := st.schemaFor(role)
	key := cacheKey(role, req.Query, req.OperationName)
	if b := st.backend[role]; b != nil && sess.BackendOnly {
		rs, key = b, cacheKey(role+"\x00backend", req.Query, req.OperationName)
	}
	prep := st.cache.get(key)
	if prep == nil {
		_, span := observe.StartSpan(ctx, "graphql.parse_validate")
		doc, op, err := parseOperation(rs, req.Query, req.OperationName, s.limitsFor(rs))
		endSpan(span, err)
		if err != nil {
			return nil, err
		}
		prep = &prepared{doc: doc, op: op}
		if len(op.VariableDefinitions) == 0 {
			_, span := observe.StartSpan(ctx, "graphql.plan")
			p, err := newPlan(st.prog, rs, op, nil)
			endSpan(span, err)
			if err != nil {
				return nil, err
			}
			prep.plan, prep.stmts = p, render(p)
		}
		st.cache.put(key, prep)
	}
	p, stmts := prep.plan, prep.stmts
	var coerced map[string]any
	if p == nil {
		_, span := observe.StartSpan(ctx, "graphql.plan")
		defer span.End("", "")
		if err := checkVariables(req.Variables, s.limitsFor(rs)); err != nil {
			return nil, err
		}
		vars, err := validator.VariableValues(rs.schema, prep.op, req.Variables)
		if err != nil {
			var ge *gqlerror.Error
			if errors.As(err, &ge) {
				return nil, variableError(ge)
			}
			return nil, validationf("$", "%s", err.Error())
		}
		coerced = vars
		var perr *Error
		if p, perr = newPlan(st.prog, rs, prep.op, vars); perr != nil {
			return nil, perr
		}
		stmts = render(p)
	}
	if err := missingVariable(rs, p, sess); err != nil {
		return nil, err
	}
	return &operation{st: st, rs: rs, role: role, kind: prep.op.Operation, p: p, stmts: stmts, def: prep.op, vars: coerced}, nil
}

// variableError words a variable coercion error as Hasura does.
func variableError(e *gqlerror.Error) *Error {
	name := ""
	if len(e.Path) >= 2 {
		if n, ok := e.Path[1].(ast.PathName); ok {
			name = string(n)
		}
	}
	switch {
	case name != "" && len(e.Path) == 2 && e.Message == "must be defined":
		return validationf("$", "expecting a value for non-nullable variable: %q", name)
	case name != "" && len(e.Path) == 2 && e.Message == "cannot be null":
		return validationf("$", "null value found for non-nullable type: %q", name)
	}
	return validationf(jsonPath("$.variableValues", e.Path[min(1, len(e.Path)):]), "%s", e.Message)
}

// response assembles {"data":{…}} in the plan's key order from constant
// values and the statement's columns, compacting PostgreSQL's JSON text.
func response(p *plan, cols [][]byte) []byte {
	var b bytes.Buffer
	// Room for the columns and the keys: one allocation, where growing
	// from empty copied the answer two or three times.
	size := len(`{"data":{}}`)
	for _, c := range cols {
		size += len(c) + 8
	}
	for _, r := range p.roots {
		size += len(r.key) + 4 + len(r.value)
	}
	b.Grow(size)
	b.WriteString(`{"data":{`)
	i := 0
	for n, r := range p.roots {
		if r.hidden {
			i++
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(appendJSONString(b.AvailableBuffer(), r.key))
		b.WriteByte(':')
		v := r.value
		switch {
		case r.sel != nil:
			v = cols[i]
			i++
		case r.many:
			b.WriteByte('[')
			for j := range r.muts {
				if j > 0 {
					b.WriteByte(',')
				}
				writeCompact(&b, cols[i])
				i++
			}
			b.WriteByte(']')
			continue
		case len(r.muts) > 0:
			// A nested insert's steps answer row counts the final
			// statement has already summed up.
			i += len(r.muts) - 1
			v = cols[i]
			i++
		}
		if v == nil {
			b.WriteString("null")
			continue
		}
		writeCompact(&b, v)
	}
	b.WriteString("}}")
	return b.Bytes()
}
