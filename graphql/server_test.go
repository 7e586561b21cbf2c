package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

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

// headerAuth is the test's Authenticator: X-Hasura-Role picks the role
// (admin when absent), and every X-Hasura-* header is a session variable.
type headerAuth struct{}

func (headerAuth) Authenticate(_ context.Context, r *http.Request) (*auth.Session, error) {
	role := r.Header.Get("X-Hasura-Role")
	if role == "" {
		role = auth.AdminRole
	}
	if role == "forbidden" {
		return nil, &auth.Error{Code: auth.CodeAccessDenied, Message: "not allowed", Status: http.StatusUnauthorized}
	}
	s := &auth.Session{Role: role, IsAdmin: role == auth.AdminRole, Vars: map[string]string{}}
	for k, v := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-hasura-") {
			s.Vars[lk] = v[0]
		}
	}
	s.Vars[auth.VarRole] = role
	// The test trusts the header alone; auth asks for the admin secret too.
	s.BackendOnly = s.Vars[auth.VarUseBackendOnlyPermissions] == "true"
	return s, nil
}

// blog is a database with examples/blog, its policies installed, and a
// server over it.
type blog struct {
	url  string // database
	conn *pgx.Conn
	pool *pgxpool.Pool // the server's
	srv  *httptest.Server
	gql  *graphql.Server
	prog *compiler.Program
}

func newBlog(t *testing.T) *blog {
	t.Helper()
	files, err := filepath.Glob("../examples/blog/migrations/*.up.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v (%d files)", err, len(files))
	}
	sort.Strings(files)
	var sqls []string
	for _, f := range files {
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sqls = append(sqls, string(sql))
	}
	md, err := policies.Load("../examples/blog/metadata")
	if err != nil {
		t.Fatal(err)
	}
	return newServed(t, sqls, md)
}

// newServed creates a database from the SQL scripts, installs md's
// policies on it and serves it.
func newServed(t testing.TB, sqls []string, md *policies.Metadata) *blog {
	t.Helper()
	return newServedWith(t, sqls, md, nil)
}

// newServedWith is newServed with configure, when not nil, changing the
// server's configuration first.
func newServedWith(t testing.TB, sqls []string, md *policies.Metadata, configure func(*graphql.Config)) *blog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := pgtest.UniqueName("t") + "_"
	definer := pgtest.UniqueName("definer")
	// Registered before the database, so it runs after the database is
	// dropped: roles are cluster-wide and owned objects block DROP ROLE.
	pgtest.DropRolesLater(t, prefix, definer)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	for i, sql := range sqls {
		if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
			t.Fatalf("script %d: %v", i, err)
		}
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{RolePrefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ddl := rls.Emit(prog, rls.Options{DefinerRole: definer})
	if _, err := conn.PgConn().Exec(ctx, "BEGIN;\n"+ddl+"\nCOMMIT;").ReadAll(); err != nil {
		t.Fatalf("install policies: %v", err)
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 2           // so a test can reach every connection
	graphql.ConfigurePool(pcfg) // as rowguard serve
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := graphql.Config{Pool: pool, Program: prog, Auth: headerAuth{}, Version: "v-test"}
	if configure != nil {
		configure(&cfg)
	}
	gql, err := graphql.NewServer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gql)
	t.Cleanup(srv.Close)
	return &blog{url: url, conn: conn, pool: pool, srv: srv, gql: gql, prog: prog}
}

// post sends a GraphQL request with headers ("Name: value") and returns
// the status and body.
func (b *blog) post(t *testing.T, body string, headers ...string) (int, string) {
	t.Helper()
	return postJSON(t, b.srv.URL+"/v1/graphql", body, headers...)
}

// postJSON posts a JSON body to url with headers ("Name: value") and
// returns the status and body.
func postJSON(t *testing.T, url, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(out)
}

// query sends query (and variables, a JSON object or "") and returns the
// response body, failing on a status other than 200.
func (b *blog) query(t *testing.T, query, variables string, headers ...string) string {
	t.Helper()
	q, _ := json.Marshal(query)
	body := `{"query":` + string(q)
	if variables != "" {
		body += `,"variables":` + variables
	}
	body += "}"
	status, out := b.post(t, body, headers...)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, out)
	}
	return out
}

var (
	anonymous = "X-Hasura-Role: anonymous"
	user      = "X-Hasura-Role: user"
	alice     = "X-Hasura-User-Id: 1"
	carol     = "X-Hasura-User-Id: 3"
)

func TestBlog(t *testing.T) {
	b := newBlog(t)
	cases := []struct {
		name      string
		query     string
		variables string
		headers   []string
		want      string
	}{
		{
			name:    "anonymous sees published articles only",
			query:   `{ article(order_by: {id: asc}) { id title } }`,
			headers: []string{anonymous},
			want:    `{"data":{"article":[{"id":1,"title":"Alice public"},{"id":3,"title":"Bob public"}]}}`,
		},
		{
			name:    "Carol sees her draft but not Alice's",
			query:   `{ article(order_by: {id: asc}) { id title } }`,
			headers: []string{user, carol},
			want:    `{"data":{"article":[{"id":1,"title":"Alice public"},{"id":3,"title":"Bob public"},{"id":4,"title":"Carol draft"}]}}`,
		},
		{
			name:    "Alice sees her draft and her organization's",
			query:   `{ article(order_by: {id: asc}) { id title published } }`,
			headers: []string{user, alice},
			want:    `{"data":{"article":[{"id":1,"title":"Alice public","published":true},{"id":2,"title":"Alice draft","published":false},{"id":3,"title":"Bob public","published":true}]}}`,
		},
		{
			name:  "admin sees every row and column",
			query: `{ article(order_by: {id: desc}) { id published } }`,
			want:  `{"data":{"article":[{"id":4,"published":false},{"id":3,"published":true},{"id":2,"published":false},{"id":1,"published":true}]}}`,
		},
		{
			name:    "a hidden column fails validation",
			query:   `{ article { id published } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.selectionSet.published","code":"validation-failed"},"message":"field 'published' not found in type: 'article'"}]}`,
		},
		{
			name:    "a hidden column in where fails validation",
			query:   `{ article(where: {_or: [{id: {_eq: 1}}, {published: {_eq: false}}]}) { id } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.args.where._or[1].published","code":"validation-failed"},"message":"field 'published' not found in type: 'article_bool_exp'"}]}`,
		},
		{
			name:    "an unknown root field",
			query:   `{ organization { id } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.organization","code":"validation-failed"},"message":"field 'organization' not found in type: 'query_root'"}]}`,
		},
		{
			name:    "an argument the role does not have",
			query:   `{ article { tags_aggregate { aggregate { count } } } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.selectionSet.tags_aggregate","code":"validation-failed"},"message":"field 'tags_aggregate' not found in type: 'article'"}]}`,
		},
		{
			name:    "missing session variable",
			query:   `{ article { id } }`,
			headers: []string{user},
			want:    `{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-user-id\""}]}`,
		},
		{
			name:    "no mutations",
			query:   `mutation { insert_article(objects: []) { affected_rows } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no mutations exist"}]}`,
		},
		{
			name:      "where with variables, _or, _not, _in",
			query:     `query Q($t: String!, $ids: [Int!]) { article(where: {_or: [{title: {_ilike: $t}}, {id: {_in: $ids}}], _not: {id: {_eq: 3}}}, order_by: [{id: asc}]) { id } }`,
			variables: `{"t": "%draft%", "ids": [1, 3]}`,
			headers:   []string{user, alice},
			want:      `{"data":{"article":[{"id":1},{"id":2}]}}`,
		},
		{
			name:    "a request value that looks like a session variable is a string",
			query:   `{ author(where: {name: {_eq: "X-Hasura-User-Id"}}) { id } }`,
			headers: []string{user, alice},
			want:    `{"data":{"author":[]}}`,
		},
		{
			name:    "where across a relationship, limit and offset",
			query:   `{ article(where: {author: {name: {_in: ["Alice", "Bob"]}}}, order_by: {id: asc}, limit: 2, offset: 1) { id } }`,
			headers: []string{user, alice},
			want:    `{"data":{"article":[{"id":2},{"id":3}]}}`,
		},
		{
			name:    "nested relationships both ways",
			query:   `{ author(order_by: {id: asc}) { name articles(order_by: {id: desc}) { title author { name } tags(order_by: {tag_id: asc}) { tag_id } } } }`,
			headers: []string{anonymous},
			want:    `{"data":{"author":[{"name":"Alice","articles":[{"title":"Alice public","author":{"name":"Alice"},"tags":[{"tag_id":1},{"tag_id":2}]}]},{"name":"Bob","articles":[{"title":"Bob public","author":{"name":"Bob"},"tags":[{"tag_id":2}]}]},{"name":"Carol","articles":[]}]}}`,
		},
		{
			name:    "order by an object relationship",
			query:   `{ article(order_by: [{author: {name: desc}}, {id: asc}]) { id } }`,
			headers: []string{user, carol},
			want:    `{"data":{"article":[{"id":4},{"id":3},{"id":1}]}}`,
		},
		{
			name:    "order by an array relationship's aggregate",
			query:   `{ author(order_by: [{articles_aggregate: {count: desc}}, {id: asc}]) { id } }`,
			headers: []string{user, alice},
			want:    `{"data":{"author":[{"id":1},{"id":2},{"id":3}]}}`,
		},
		{
			name:    "by primary key, allowed and filtered out",
			query:   `{ mine: article_by_pk(id: 4) { title } other: article_by_pk(id: 2) { title } }`,
			headers: []string{user, carol},
			want:    `{"data":{"mine":{"title":"Carol draft"},"other":null}}`,
		},
		{
			name:    "aggregate with nodes",
			query:   `{ article_aggregate(where: {published: {_eq: true}}) { aggregate { count max { id title } sum { id } avg { id } } nodes { id } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"article_aggregate":{"aggregate":{"count":2,"max":{"id":3,"title":"Bob public"},"sum":{"id":4},"avg":{"id":2.0000000000000000}},"nodes":[{"id":1},{"id":3}]}}}`,
		},
		{
			name:    "count with columns and distinct",
			query:   `{ article_aggregate { aggregate { all: count n: count(columns: [user_id], distinct: true) } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"article_aggregate":{"aggregate":{"all":3,"n":2}}}}`,
		},
		{
			name:    "distinct_on",
			query:   `{ article(distinct_on: [user_id], order_by: [{user_id: asc}, {id: desc}]) { user_id id } }`,
			headers: []string{user, alice},
			want:    `{"data":{"article":[{"user_id":1,"id":2},{"user_id":2,"id":3}]}}`,
		},
		{
			name:    "distinct_on must lead order_by",
			query:   `{ article(distinct_on: [user_id], order_by: [{id: desc}]) { id } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.args","code":"validation-failed"},"message":"\"distinct_on\" columns must match initial \"order_by\" columns"}]}`,
		},
		{
			name: "aliases, fragments, __typename",
			query: `query { __typename a: article(limit: 1, order_by: {id: asc}) { ...F } t: tag(order_by: {id: asc}) { __typename ... on tag { name } } }
				fragment F on article { key: id title id }`,
			headers: []string{anonymous},
			want:    `{"data":{"__typename":"query_root","a":[{"key":1,"title":"Alice public","id":1}],"t":[{"__typename":"tag","name":"go"},{"__typename":"tag","name":"postgres"}]}}`,
		},
		{
			name:      "skip and include",
			query:     `query($yes: Boolean!) { tag(order_by: {id: asc}, limit: 1) { id @skip(if: $yes) name @include(if: $yes) } }`,
			variables: `{"yes": true}`,
			headers:   []string{anonymous},
			want:      `{"data":{"tag":[{"name":"go"}]}}`,
		},
		{
			name:    "array session variable",
			query:   `{ article { id title } }`,
			headers: []string{"X-Hasura-Role: org_viewer", "X-Hasura-Allowed-Organizations: {2}"},
			want:    `{"data":{"article":[{"id":4,"title":"Carol draft"}]}}`,
		},
		{
			name:    "a role without permissions has no queries",
			query:   `{ no_queries_available }`,
			headers: []string{"X-Hasura-Role: stranger"},
			want:    `{"data":{"no_queries_available":"There are no queries available to the current role. Either there are no sources or remote schemas configured, or the current role doesn't have the required permissions."}}`,
		},
		{
			name:    "introspection: anonymous's article",
			query:   `{ __type(name: "article") { name fields { name } } __schema { queryType { name } mutationType { name } } }`,
			headers: []string{anonymous},
			want:    `{"data":{"__type":{"name":"article","fields":[{"name":"id"},{"name":"title"},{"name":"content"},{"name":"user_id"},{"name":"created_at"},{"name":"author"},{"name":"tags"}]},"__schema":{"queryType":{"name":"query_root"},"mutationType":null}}}`,
		},
		{
			name:    "introspection: user's article",
			query:   `{ __type(name: "article") { fields { name } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"__type":{"fields":[{"name":"id"},{"name":"title"},{"name":"content"},{"name":"published"},{"name":"user_id"},{"name":"creator_id"},{"name":"organization_id"},{"name":"created_at"},{"name":"author"},{"name":"organization"},{"name":"tags"}]}}}`,
		},
		{
			name:    "introspection: root fields per role",
			query:   `{ __type(name: "query_root") { fields { name type { kind ofType { kind } } } } }`,
			headers: []string{anonymous},
			want:    `{"data":{"__type":{"fields":[{"name":"article","type":{"kind":"NON_NULL","ofType":{"kind":"LIST"}}},{"name":"article_by_pk","type":{"kind":"OBJECT","ofType":null}},{"name":"article_tag","type":{"kind":"NON_NULL","ofType":{"kind":"LIST"}}},{"name":"article_tag_by_pk","type":{"kind":"OBJECT","ofType":null}},{"name":"author","type":{"kind":"NON_NULL","ofType":{"kind":"LIST"}}},{"name":"author_by_pk","type":{"kind":"OBJECT","ofType":null}},{"name":"tag","type":{"kind":"NON_NULL","ofType":{"kind":"LIST"}}},{"name":"tag_by_pk","type":{"kind":"OBJECT","ofType":null}}]}}}`,
		},
		{
			name:    "composite primary key",
			query:   `{ article_tag_by_pk(article_id: 1, tag_id: 2) { article_id tag_id tag: article { title } } }`,
			headers: []string{anonymous},
			want:    `{"data":{"article_tag_by_pk":{"article_id":1,"tag_id":2,"tag":{"title":"Alice public"}}}}`,
		},
		{
			name:    "nested aggregate with typenames",
			query:   `{ author(order_by: {id: asc}) { id articles_aggregate(where: {published: {_eq: false}}) { __typename aggregate { __typename count min { __typename id } } nodes { id } } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"author":[{"id":1,"articles_aggregate":{"__typename":"article_aggregate","aggregate":{"__typename":"article_aggregate_fields","count":1,"min":{"__typename":"article_min_fields","id":2}},"nodes":[{"id":2}]}},{"id":2,"articles_aggregate":{"__typename":"article_aggregate","aggregate":{"__typename":"article_aggregate_fields","count":0,"min":{"__typename":"article_min_fields","id":null}},"nodes":[]}},{"id":3,"articles_aggregate":{"__typename":"article_aggregate","aggregate":{"__typename":"article_aggregate_fields","count":0,"min":{"__typename":"article_min_fields","id":null}},"nodes":[]}}]}}`,
		},
		{
			name:    "more keys than one json_build_object takes",
			query:   "{ tag_by_pk(id: 1) { " + manyAliases(60) + " } }",
			headers: []string{anonymous},
			want:    `{"data":{"tag_by_pk":{` + manyValues(60) + `}}}`,
		},
		{
			name:    "several operations need an operationName",
			query:   `query A { tag(limit: 1, order_by: {id: asc}) { name } } query B { tag(limit: 1, order_by: {id: desc}) { name } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"exactly one operation has to be present in the document when operationName is not specified"}]}`,
		},
		{
			name:    "a syntax error",
			query:   `{ tag { id }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$.query","code":"validation-failed"},"message":"not a valid graphql query: Expected Name, found <EOF>"}]}`,
		},
		{
			name:    "a bad value is a data exception",
			query:   `{ article(where: {created_at: {_gt: "not a date"}}) { id } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$","code":"data-exception"},"message":"invalid input syntax for type timestamp with time zone: \"not a date\""}]}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := b.query(t, c.query, c.variables, c.headers...)
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			// The second run comes from the plan cache.
			if again := b.query(t, c.query, c.variables, c.headers...); again != got {
				t.Errorf("cached run differs:\n%s\n%s", again, got)
			}
		})
	}

	t.Run("full introspection query for every role", func(t *testing.T) {
		for _, h := range [][]string{{anonymous}, {user, alice}, {"X-Hasura-Role: org_viewer"}, nil, {"X-Hasura-Role: stranger"}} {
			out := b.query(t, introspectionQuery, "", h...)
			var resp struct {
				Data struct {
					Schema struct {
						Types []struct{ Name string } `json:"types"`
					} `json:"__schema"`
				} `json:"data"`
				Errors []any `json:"errors"`
			}
			if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Errors) > 0 || len(resp.Data.Schema.Types) == 0 {
				t.Errorf("%v: %v %.500s", h, err, out)
			}
		}
	})

	t.Run("auth errors keep auth's shape", func(t *testing.T) {
		status, out := b.post(t, `{"query":"{ tag { id } }"}`, "X-Hasura-Role: forbidden")
		want := `{"errors":[{"extensions":{"path":"$","code":"access-denied"},"message":"not allowed"}]}`
		if status != http.StatusOK || out != want {
			t.Errorf("got %d %s\nwant 200 %s", status, out, want)
		}
	})

	t.Run("invalid JSON and batches", func(t *testing.T) {
		if status, out := b.post(t, `{"query":`); status != http.StatusOK || !strings.Contains(out, `"invalid-json"`) {
			t.Errorf("got %d %s", status, out)
		}
		_, out := b.post(t, `[{"query":"{ tag(limit: 1, order_by: {id: asc}) { id } }"},{"query":"{ x }"}]`, anonymous)
		want := `[{"data":{"tag":[{"id":1}]}},{"errors":[{"extensions":{"path":"$.selectionSet.x","code":"validation-failed"},"message":"field 'x' not found in type: 'query_root'"}]}]`
		if out != want {
			t.Errorf("got  %s\nwant %s", out, want)
		}
	})

	t.Run("healthz and version", func(t *testing.T) {
		for path, want := range map[string]string{"/healthz": "OK", "/v1/version": `{"version":"v-test"}`} {
			resp, err := http.Get(b.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != want {
				t.Errorf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
	})

	t.Run("session-level role and settings left on pooled connections do not leak", func(t *testing.T) {
		// Poison every connection of the server's pool as a rogue function
		// could: a session-level role switch and user id.
		ctx := context.Background()
		anonPG := b.gql.PGRole("anonymous")
		var conns []*pgxpool.Conn
		for range 2 {
			c, err := b.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			if _, err := c.Exec(ctx, "SELECT set_config('hasura.x_hasura_user_id', '1', false)"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(ctx, "SET ROLE "+compiler.QuoteIdent(anonPG)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			c.Release()
		}
		for range 3 {
			got := b.query(t, `{ article_aggregate { aggregate { count } } }`, "")
			if want := `{"data":{"article_aggregate":{"aggregate":{"count":4}}}}`; got != want {
				t.Errorf("admin: got %s want %s", got, want)
			}
			got = b.query(t, `{ article(order_by: {id: asc}) { id } }`, "", user, carol)
			if want := `{"data":{"article":[{"id":1},{"id":3},{"id":4}]}}`; got != want {
				t.Errorf("Carol: got %s want %s", got, want)
			}
		}
	})

	t.Run("variable errors", func(t *testing.T) {
		q := `query($id: Int!, $n: Int, $o: [tag_order_by!]) { tag(where: {id: {_gte: $id}}, limit: $n, order_by: $o) { id } }`
		for _, c := range []struct{ vars, want string }{
			{`{}`, `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"expecting a value for non-nullable variable: \"id\""}]}`},
			{`{"id": 1, "n": 1, "o": [{"id": "desc"}]}`, `{"data":{"tag":[{"id":2}]}}`},
			{`{"id": 1, "n": 5, "o": {"name": "asc"}}`, `{"data":{"tag":[{"id":1},{"id":2}]}}`},
		} {
			if got := b.query(t, q, c.vars, anonymous); got != c.want {
				t.Errorf("%s: got  %s\nwant %s", c.vars, got, c.want)
			}
		}
	})

	// Last: it adds rows.
	t.Run("the role's row limit caps every list", func(t *testing.T) {
		ctx := context.Background()
		if _, err := b.conn.Exec(ctx, `INSERT INTO article (title, published, user_id) SELECT 'bulk ' || i, true, 2 FROM generate_series(1, 15) i`); err != nil {
			t.Fatal(err)
		}
		count := func(query string, headers ...string) int {
			t.Helper()
			out := b.query(t, query, "", headers...)
			return strings.Count(out, `"id"`)
		}
		if n := count(`{ article { id } }`, anonymous); n != 10 {
			t.Errorf("anonymous root list: %d rows, want 10", n)
		}
		if n := count(`{ article(limit: 3) { id } }`, anonymous); n != 3 {
			t.Errorf("anonymous with limit 3: %d rows", n)
		}
		if n := count(`{ author(where: {id: {_eq: 2}}) { articles { id } } }`, anonymous); n != 10 {
			t.Errorf("anonymous nested list: %d rows, want 10", n)
		}
		if n := count(`{ article { id } }`); n != 19 {
			t.Errorf("admin: %d rows, want 19", n)
		}
	})
}

// manyAliases selects the id of a tag under n aliases.
func manyAliases(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("a%d: id", i))
	}
	return strings.Join(parts, " ")
}

func manyValues(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"a%d":1`, i))
	}
	return strings.Join(parts, ",")
}

// introspectionQuery is the query GraphiQL sends.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`
