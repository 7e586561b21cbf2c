package security

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	adminSecret = "security-suite-admin-secret"
	jwtKey      = "security-suite-hmac-key-0123456789abcdef"
	notesEach   = 3 // notes each user owns
	noteLimit   = 5 // the user role's row limit on note
)

// schemaSQL is the suite's database: every user owns notesEach notes; user
// 1 owns more than the row limit; the secret column of a hidden row is not
// a number, so evaluating a cast on it before the policy raises.
const schemaSQL = `
CREATE TABLE account (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE note (
  id serial PRIMARY KEY,
  owner_id integer NOT NULL REFERENCES account(id),
  body text NOT NULL,
  secret text NOT NULL,
  slug text UNIQUE
);
CREATE INDEX note_owner_idx ON note(owner_id);
INSERT INTO account SELECT g, 'user ' || g FROM generate_series(1, %[1]d) g;
INSERT INTO note (owner_id, body, secret, slug)
  SELECT a, 'note of ' || a, CASE WHEN a %% 2 = 0 THEN 'forty-two' ELSE a::text END, 'slug-' || a || '-' || n
  FROM generate_series(1, %[1]d) a, generate_series(1, %[2]d) n;
INSERT INTO note (owner_id, body, secret) SELECT 1, 'extra of 1', '1' FROM generate_series(1, 10);
ANALYZE;
`

// metadataYAML gives the user role its own account and notes, the anon
// role nothing that needs a session variable.
const metadataYAML = `
- table: {name: account, schema: public}
  array_relationships:
    - name: notes
      using: {foreign_key_constraint_on: {column: owner_id, table: {name: note, schema: public}}}
  select_permissions:
    - role: user
      permission:
        columns: [id, name]
        filter: {id: {_eq: X-Hasura-User-Id}}
- table: {name: note, schema: public}
  object_relationships:
    - name: owner
      using: {foreign_key_constraint_on: owner_id}
  select_permissions:
    - role: user
      permission:
        columns: [id, owner_id, body, secret, slug]
        filter: {owner_id: {_eq: X-Hasura-User-Id}}
        limit: 5
        allow_aggregations: true
    - role: anon
      permission:
        columns: [id]
        filter: {id: {_lt: 0}}
  insert_permissions:
    - role: user
      permission:
        check: {owner_id: {_eq: X-Hasura-User-Id}}
        columns: [owner_id, body, secret, slug]
`

// suite is a database with the suite's schema and policies, and a served
// GraphQL API over a pool of 4 connections in JWT mode.
type suite struct {
	dbURL string // superuser URL of the database
	conn  *pgx.Conn
	prog  *compiler.Program
	users int
	pool  *pgxpool.Pool // the server's
	srv   *httptest.Server
	// remote, when set, is the base URL of a server in another process
	// (the soak's), which post sends to instead of srv.
	remote string
	client *http.Client
}

// newSuite installs the schema for users users and serves it through a
// pool to poolURL(dbURL) (the database itself when poolURL is nil).
func newSuite(t *testing.T, users int, poolURL func(dbURL string) string) *suite {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := pgtest.UniqueName("s") + "_"
	pgtest.DropRolesLater(t, prefix) // runs after the database is dropped
	url := pgtest.NewDatabase(t)
	s := install(t, ctx, url, pgtest.Connect(t, url), users, prefix)
	target := url
	if poolURL != nil {
		target = poolURL(url)
	}
	s.serve(t, target, nil)
	return s
}

// install creates the schema for users users in the database of conn and
// installs its policies; every role it creates starts with prefix.
func install(t *testing.T, ctx context.Context, url string, conn *pgx.Conn, users int, prefix string) *suite {
	t.Helper()
	if _, err := conn.PgConn().Exec(ctx, fmt.Sprintf(schemaSQL, users, notesEach)).ReadAll(); err != nil {
		t.Fatalf("schema: %v", err)
	}
	prog := compileInstall(t, ctx, conn, prefix)
	return &suite{dbURL: url, conn: conn, prog: prog, users: users}
}

// compileInstall compiles metadataYAML for conn's database with roles
// named prefix… and installs the policies.
func compileInstall(t *testing.T, ctx context.Context, conn *pgx.Conn, prefix string) *compiler.Program {
	t.Helper()
	md, err := policies.Load(writeMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ddl := rls.Emit(prog, rls.Options{DefinerRole: prefix + "definer"})
	if _, err := conn.PgConn().Exec(ctx, "BEGIN;\n"+ddl+"\nCOMMIT;").ReadAll(); err != nil {
		t.Fatalf("install policies: %v", err)
	}
	return prog
}

// writeMetadata writes the suite's metadata (metadataYAML) as a metadata
// directory and returns it.
func writeMetadata(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("version.yaml", "version: 3\n")
	write("databases/databases.yaml", "- name: default\n  kind: postgres\n  configuration: {connection_info: {database_url: {from_env: DB}}}\n  tables: \"!include default/tables/tables.yaml\"\n")
	write("databases/default/tables/tables.yaml", metadataYAML)
	return dir
}

// serve starts the GraphQL server over a pool of 4 connections to url;
// tune adjusts the pool's configuration.
func (s *suite) serve(t *testing.T, url string, tune func(*pgxpool.Config)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 4
	pcfg.MinConns = 0
	// The server sends unnamed statements only; keep pgx's own health
	// checks off the statement cache too, as PgBouncer needs.
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	if tune != nil {
		tune(pcfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	jwtCfg, err := auth.ParseJWTConfig(fmt.Sprintf(`{"type":"HS256","key":%q}`, jwtKey))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{AdminSecret: adminSecret, JWT: jwtCfg, UnauthorizedRole: "anon"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	// No depth limit: the fault tests need statements deep enough to
	// outlast a timeout or a client.
	gql, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: s.prog, Auth: a, Version: "security", DepthLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gql)
	t.Cleanup(srv.Close)
	s.pool, s.srv = pool, srv
	s.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64},
	}
	t.Cleanup(s.client.CloseIdleConnections)
}

// token is a JWT for user id as role "user", valid for an hour.
func token(t testing.TB, id int) string {
	t.Helper()
	return signClaims(t, map[string]any{
		"sub": fmt.Sprint(id),
		"exp": time.Now().Add(time.Hour).Unix(),
		"https://hasura.io/jwt/claims": map[string]any{
			"x-hasura-allowed-roles": []string{"user"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       fmt.Sprint(id),
		},
	})
}

func signClaims(t testing.TB, claims map[string]any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString([]byte(jwtKey))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gqlResponse is a /v1/graphql answer.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// post sends query with headers ("Name: value") and returns the decoded
// answer, or an error for transport failures and undecodable bodies.
func (s *suite) post(ctx context.Context, query string, headers ...string) (*gqlResponse, error) {
	body, _ := json.Marshal(map[string]string{"query": query})
	base := s.remote
	if base == "" {
		base = s.srv.URL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/graphql", strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r gqlResponse
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("status %d, body %q: %w", resp.StatusCode, out, err)
	}
	return &r, nil
}

// mustPost is post that fails the test on transport errors.
func (s *suite) mustPost(t *testing.T, query string, headers ...string) *gqlResponse {
	t.Helper()
	r, err := s.post(t.Context(), query, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func bearer(tok string) string { return "Authorization: Bearer " + tok }

// watchedSettings are the settings a request may set. They are read by
// name: pg_settings and SHOW ALL leave out custom (placeholder) settings.
var watchedSettings = []string{
	"hasura.x_hasura_user_id", "hasura.x_hasura_role", "hasura.x_hasura_default_role",
	"hasura.x_hasura_allowed_roles", "hasura.x_hasura_use_backend_only_permissions",
}

// connState is what a pooled connection carries between requests.
type connState struct {
	User     string
	Settings map[string]string // the watchedSettings defined on it
}

// poolStates acquires every connection of the pool at once and reads
// their state.
func poolStates(t *testing.T, pool *pgxpool.Pool) []connState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range pool.Config().MaxConns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		conns = append(conns, c)
	}
	var out []connState
	for _, c := range conns {
		st := connState{Settings: map[string]string{}}
		if err := c.QueryRow(ctx, "SELECT current_user").Scan(&st.User); err != nil {
			t.Fatal(err)
		}
		for _, name := range watchedSettings {
			var v *string
			if err := c.QueryRow(ctx, "SELECT current_setting($1, true)", name).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != nil {
				st.Settings[name] = *v
			}
		}
		out = append(out, st)
	}
	return out
}

// checkClean fails the test unless every pooled connection runs as login
// with every hasura.* setting empty.
func checkClean(t *testing.T, pool *pgxpool.Pool, login string) {
	t.Helper()
	for i, st := range poolStates(t, pool) {
		if st.User != login {
			t.Errorf("connection %d: current_user = %q, want the login role %q", i, st.User, login)
		}
		for n, v := range st.Settings {
			if v != "" {
				t.Errorf("connection %d: %s = %q left set", i, n, v)
			}
		}
	}
}
