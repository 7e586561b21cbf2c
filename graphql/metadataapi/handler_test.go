package metadataapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/metadataapi"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "metadata-api-test-secret"

// api is a served database with the metadata API in front.
type api struct {
	url    string
	dbURL  string
	opts   compiler.Options
	rlsOpt rls.Options
	srv    *httptest.Server
}

func newAPI(t *testing.T) *api {
	t.Helper()
	prefix := pgtest.UniqueName("ma") + "_"
	definer := pgtest.UniqueName("ma_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	url := pgtest.NewDatabase(t)
	a := &api{dbURL: url, opts: compiler.Options{RolePrefix: prefix}, rlsOpt: rls.Options{DefinerRole: definer}}
	a.start(t)
	return a
}

// start serves the database with a new server and API, as a restart would.
func (a *api) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, a.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	prog, err := metadataapi.Program(ctx, pool, a.opts)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{AdminSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	gql, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: prog, Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	h, err := metadataapi.New(ctx, metadataapi.Config{Server: gql, Pool: pool, Auth: authn, Compile: a.opts, RLS: a.rlsOpt})
	if err != nil {
		t.Fatal(err)
	}
	if a.srv != nil {
		a.srv.Close()
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	a.url = a.srv.URL
}

// post sends body to path with the admin secret and headers
// ("Name: value") and returns the status and body.
func (a *api) post(t *testing.T, path, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hasura-Admin-Secret", secret)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func (a *api) mustPost(t *testing.T, path, body string, headers ...string) string {
	t.Helper()
	status, out := a.post(t, path, body, headers...)
	if status != http.StatusOK {
		t.Fatalf("POST %s %s: status %d: %s", path, body, status, out)
	}
	return out
}

const blogSetup = `{"type":"bulk","args":[
 {"type":"run_sql","args":{"sql":"CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL); CREATE TABLE article (id serial PRIMARY KEY, title text NOT NULL, published boolean NOT NULL DEFAULT false, author_id int NOT NULL REFERENCES author(id)); INSERT INTO author (name) VALUES ('Ann'), ('Bob'); INSERT INTO article (title, published, author_id) VALUES ('a1', true, 1), ('a2', false, 1), ('b1', true, 2);"}},
 {"type":"track_table","args":{"schema":"public","name":"author"}},
 {"type":"track_table","args":{"table":"article"}},
 {"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
 {"type":"create_array_relationship","args":{"table":"author","name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}},
 {"type":"create_select_permission","args":{"table":"article","role":"anonymous","permission":{"columns":["id","title","author_id"],"filter":{"published":{"_eq":true}}}}},
 {"type":"create_select_permission","args":{"table":"author","role":"anonymous","permission":{"columns":["id","name"],"filter":{}}}}
]}`

func TestSetupQueryAndRelationships(t *testing.T) {
	a := newAPI(t)
	out := a.mustPost(t, "/v1/query", blogSetup)
	if strings.Count(out, `"message":"success"`) != 6 || !strings.Contains(out, `"CommandOk"`) {
		t.Fatalf("bulk result: %s", out)
	}
	got := a.mustPost(t, "/v1/graphql", `{"query":"{ article(order_by: {id: asc}) { id title author { name } } }"}`, "X-Hasura-Role: anonymous")
	want := `{"data":{"article":[{"id":1,"title":"a1","author":{"name":"Ann"}},{"id":3,"title":"b1","author":{"name":"Bob"}}]}}`
	if got != want {
		t.Errorf("anonymous articles:\n got %s\nwant %s", got, want)
	}
}

func TestErrorCodes(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	tests := []struct {
		name, path, body string
		headers          []string
		status           int
		code             string
	}{
		{"unknown table", "/v1/query", `{"type":"track_table","args":{"table":"nope"}}`, nil, 400, "not-exists"},
		{"tracked twice", "/v1/query", `{"type":"track_table","args":{"table":"author"}}`, nil, 400, "already-tracked"},
		{"permission twice", "/v1/metadata", `{"type":"pg_create_select_permission","args":{"table":"author","role":"anonymous","permission":{"columns":"*","filter":{}}}}`, nil, 400, "already-exists"},
		{"drop missing permission", "/v1/metadata", `{"type":"pg_drop_select_permission","args":{"table":"author","role":"nobody"}}`, nil, 400, "not-exists"},
		{"relationship twice", "/v1/query", `{"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}}`, nil, 400, "already-exists"},
		{"unknown column", "/v1/query", `{"type":"create_select_permission","args":{"table":"article","role":"r","permission":{"columns":["nope"],"filter":{}}}}`, nil, 400, "invalid-configuration"},
		{"not admin", "/v1/query", `{"type":"export_metadata","args":{}}`, []string{"X-Hasura-Role: anonymous"}, 400, "access-denied"},
		{"wrong secret", "/v1/metadata", `{"type":"export_metadata","args":{}}`, []string{"X-Hasura-Admin-Secret: wrong"}, 401, "access-denied"},
		{"v2 query is SQL only", "/v2/query", `{"type":"track_table","args":{"table":"author"}}`, nil, 400, "not-supported"},
		{"unknown source", "/v1/metadata", `{"type":"pg_track_table","args":{"source":"other","table":"author"}}`, nil, 400, "not-exists"},
		{"transaction control", "/v2/query", `{"type":"run_sql","args":{"sql":"COMMIT; DROP TABLE article"}}`, nil, 400, "bad-request"},
		{"bad SQL", "/v2/query", `{"type":"run_sql","args":{"sql":"SELECT FROM nope"}}`, nil, 400, "postgres-error"},
		{"body over the limit", "/v2/query", `{"type":"run_sql","args":{"sql":"SELECT 1` + strings.Repeat(" ", graphql.DefaultMaxBodyBytes) + `"}}`, nil, 413, "bad-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := a.post(t, tt.path, tt.body, tt.headers...)
			var e struct {
				Path, Error, Code string
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || status != tt.status || e.Code != tt.code || e.Error == "" || e.Path == "" {
				t.Errorf("POST %s %s: status %d %s; want status %d code %q in Hasura's shape", tt.path, tt.body, status, body, tt.status, tt.code)
			}
		})
	}
}

// TestRejectedChangeLeavesNothing: a request whose last step is invalid
// applies none of its steps, SQL included.
func TestRejectedChangeLeavesNothing(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	before := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	status, body := a.post(t, "/v1/query", `{"type":"bulk","args":[
		{"type":"run_sql","args":{"sql":"CREATE TABLE extra (id int PRIMARY KEY)"}},
		{"type":"track_table","args":{"table":"extra"}},
		{"type":"create_select_permission","args":{"table":"article","role":"editor","permission":{"columns":"*","filter":{"no_such_column":{"_eq":1}}}}}]}`)
	if status != 400 || !strings.Contains(body, "invalid-configuration") {
		t.Fatalf("invalid bulk: status %d: %s", status, body)
	}
	after := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if after != before {
		t.Errorf("metadata changed by a rejected request:\nbefore %s\nafter  %s", before, after)
	}
	got := a.mustPost(t, "/v2/query", `{"type":"run_sql","args":{"sql":"SELECT to_regclass('extra') IS NULL AS gone"}}`)
	if want := `{"result_type":"TuplesOk","result":[["gone"],["t"]]}`; got != want {
		t.Errorf("run_sql of a rejected request: got %s, want %s", got, want)
	}
}

// TestMetadataSurvivesRestart: a new server over the same database serves
// what the API installed.
func TestMetadataSurvivesRestart(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	before := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	a.start(t)
	if after := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`); after != before {
		t.Errorf("metadata after restart:\n got %s\nwant %s", after, before)
	}
	got := a.mustPost(t, "/v1/graphql", `{"query":"{ author(order_by: {id: asc}) { name } }"}`, "X-Hasura-Role: anonymous")
	if want := `{"data":{"author":[{"name":"Ann"},{"name":"Bob"}]}}`; got != want {
		t.Errorf("after restart: got %s, want %s", got, want)
	}
}

func TestRunSQLCascade(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	status, body := a.post(t, "/v1/query", `{"type":"run_sql","args":{"sql":"DROP TABLE article"}}`)
	if status != 400 || !strings.Contains(body, "dependency-error") {
		t.Fatalf("drop of a tracked table without cascade: status %d: %s", status, body)
	}
	a.mustPost(t, "/v1/query", `{"type":"run_sql","args":{"sql":"DROP TABLE article","cascade":true}}`)
	md := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if strings.Contains(md, `"article"`) {
		t.Errorf("metadata still names the dropped table or its relationship: %s", md)
	}
	got := a.mustPost(t, "/v1/graphql", `{"query":"{ author(order_by: {id: asc}) { id } }"}`, "X-Hasura-Role: anonymous")
	if want := `{"data":{"author":[{"id":1},{"id":2}]}}`; got != want {
		t.Errorf("after cascade: got %s, want %s", got, want)
	}
}

func TestLegacyInsertAndV1Alpha1(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	got := a.mustPost(t, "/v1/query", `{"type":"insert","args":{"table":"article","objects":[{"title":"c1","published":true,"author_id":2},{"title":"c2","author_id":2}],"returning":["id","published"]}}`)
	if want := `{"affected_rows":2,"returning":[{"id":4,"published":true},{"id":5,"published":false}]}`; got != want {
		t.Errorf("insert: got %s, want %s", got, want)
	}
	status, body := a.post(t, "/v1alpha1/graphql", `{"query":"{ nope }"}`, "X-Hasura-Role: anonymous")
	if status != 400 || !strings.Contains(body, "validation-failed") {
		t.Errorf("v1alpha1 error: status %d: %s", status, body)
	}
	status, body = a.post(t, "/v1alpha1/graphql", `{"query":"{ article_by_pk(id: 4) { title } }"}`, "X-Hasura-Role: anonymous")
	if status != 200 || body != `{"data":{"article_by_pk":{"title":"c1"}}}` {
		t.Errorf("v1alpha1 query: status %d: %s", status, body)
	}
}

// TestInheritedRoles: the inherited role reads the union of its members'
// rows; members that disagree on an update permission make it
// inconsistent until the inherited role gets its own.
func TestInheritedRoles(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	a.mustPost(t, "/v1/metadata", `{"type":"bulk","args":[
		{"type":"pg_create_select_permission","args":{"table":"article","role":"ann","permission":{"columns":["id","title"],"filter":{"author_id":{"_eq":1}}}}},
		{"type":"pg_create_select_permission","args":{"table":"article","role":"bob","permission":{"columns":["id"],"filter":{"author_id":{"_eq":2}}}}},
		{"type":"pg_create_update_permission","args":{"table":"article","role":"ann","permission":{"columns":["title"],"filter":{"author_id":{"_eq":1}}}}},
		{"type":"pg_create_update_permission","args":{"table":"article","role":"bob","permission":{"columns":["title"],"filter":{"author_id":{"_eq":2}}}}},
		{"type":"add_inherited_role","args":{"role_name":"both","role_set":["ann","bob"]}}]}`)
	got := a.mustPost(t, "/v1/graphql", `{"query":"{ article(order_by: {id: asc}) { id } }"}`, "X-Hasura-Role: both")
	if want := `{"data":{"article":[{"id":1},{"id":2},{"id":3}]}}`; got != want {
		t.Errorf("inherited role rows: got %s, want %s", got, want)
	}
	incons := a.mustPost(t, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`)
	if !strings.Contains(incons, `"is_consistent":false`) || !strings.Contains(incons, "update permission, table: article") {
		t.Errorf("get_inconsistent_metadata: %s", incons)
	}
	a.mustPost(t, "/v1/metadata", `{"type":"pg_create_update_permission","args":{"table":"article","role":"both","permission":{"columns":["title"],"filter":{}}}}`)
	if incons := a.mustPost(t, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`); incons != `{"is_consistent":true,"inconsistent_objects":[]}` {
		t.Errorf("after overriding: %s", incons)
	}
	status, body := a.post(t, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"ann","role_set":["both"]}}`)
	if status != 400 || !strings.Contains(body, "cycle") {
		t.Errorf("cyclic inherited role: status %d: %s", status, body)
	}
	a.mustPost(t, "/v1/metadata", `{"type":"drop_inherited_role","args":{"role_name":"both"}}`)
	got = a.mustPost(t, "/v1/graphql", `{"query":"{ article { id } }"}`, "X-Hasura-Role: both")
	if !strings.Contains(got, "not found in type") {
		t.Errorf("dropped inherited role still reads: %s", got)
	}
}

func TestAddSource(t *testing.T) {
	a := newAPI(t)
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"type":"pg_add_source","args":{"name":"default","configuration":{}}}`, 400, "already-exists"},
		{`{"type":"pg_add_source","args":{"name":"default","configuration":{},"replace_configuration":true}}`, 200, "success"},
		{`{"type":"pg_add_source","args":{"name":"other","configuration":{}}}`, 400, "not-supported"},
	} {
		status, body := a.post(t, "/v1/metadata", tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: status %d %s; want %d %s", tt.body, status, body, tt.status, tt.want)
		}
	}
}

// TestExportClearReplace: export_metadata's output, given back to
// replace_metadata after clear_metadata, restores the same metadata and
// the same access.
func TestExportClearReplace(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	exported := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	var doc struct {
		Version int `json:"version"`
		Sources []struct {
			Name   string            `json:"name"`
			Tables []json.RawMessage `json:"tables"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(exported), &doc); err != nil || doc.Version != 3 || len(doc.Sources) != 1 || doc.Sources[0].Name != "default" || len(doc.Sources[0].Tables) != 2 {
		t.Fatalf("export_metadata: %v: %s", err, exported)
	}
	query := `{"query":"{ author(order_by: {id: asc}) { id } }"}`
	a.mustPost(t, "/v1/metadata", `{"type":"clear_metadata","args":{}}`)
	if got := a.mustPost(t, "/v1/graphql", query, "X-Hasura-Role: anonymous"); !strings.Contains(got, "not found in type") {
		t.Errorf("after clear_metadata the role still reads: %s", got)
	}
	a.mustPost(t, "/v1/metadata", `{"type":"replace_metadata","args":`+exported+`}`)
	if again := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`); again != exported {
		t.Errorf("replace_metadata(export) exports\n%s\nwant\n%s", again, exported)
	}
	if got, want := a.mustPost(t, "/v1/graphql", query, "X-Hasura-Role: anonymous"), `{"data":{"author":[{"id":1},{"id":2}]}}`; got != want {
		t.Errorf("after replace_metadata: got %s, want %s", got, want)
	}
}

// TestBackendOnlyHeader: x-hasura-use-backend-only-permissions sent with
// the admin secret reaches the policies as their setting (here read by a
// select filter, so it is observable without a mutation); false admits
// no row, and a rule that reads it without the header fails as Hasura's
// missing session variables do.
func TestBackendOnlyHeader(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	a.mustPost(t, "/v1/query", `{"type":"create_select_permission","args":{"table":"article","role":"backend","permission":{"columns":["id"],"filter":{"published":{"_eq":"X-Hasura-Use-Backend-Only-Permissions"}}}}}`)
	query := `{"query":"{ article(order_by: {id: asc}) { id } }"}`
	for _, tt := range []struct {
		header, want string
	}{
		{"true", `{"data":{"article":[{"id":1},{"id":3}]}}`},
		{"false", `{"data":{"article":[]}}`},
		{"", `{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-use-backend-only-permissions\""}]}`},
	} {
		headers := []string{"X-Hasura-Role: backend"}
		if tt.header != "" {
			headers = append(headers, "X-Hasura-Use-Backend-Only-Permissions: "+tt.header)
		}
		if got := a.mustPost(t, "/v1/graphql", query, headers...); got != tt.want {
			t.Errorf("backend-only header %q: got %s, want %s", tt.header, got, tt.want)
		}
	}
}

// TestDropColumnCascade: SQL that drops a column a permission reads is
// refused, unless it cascades, which drops that permission too.
func TestDropColumnCascade(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	status, body := a.post(t, "/v1/query", `{"type":"run_sql","args":{"sql":"ALTER TABLE article DROP COLUMN published CASCADE"}}`)
	if status != 400 || !strings.Contains(body, "dependency-error") {
		t.Fatalf("dropping a column a permission reads: status %d: %s", status, body)
	}
	a.mustPost(t, "/v1/query", `{"type":"run_sql","args":{"sql":"ALTER TABLE article DROP COLUMN published CASCADE","cascade":true}}`)
	md := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if strings.Contains(md, "published") || !strings.Contains(md, `"select_permissions":[{"role":"anonymous"`) {
		t.Errorf("after the cascade the article permission should be gone and the author one kept: %s", md)
	}
}

// TestDropRelationshipCascade: a relationship a permission's rule goes
// through can be dropped only with cascade, which drops that permission.
func TestDropRelationshipCascade(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	a.mustPost(t, "/v1/query", `{"type":"create_select_permission","args":{"table":"author","role":"reader","permission":{"columns":["name"],"filter":{"articles":{"published":{"_eq":true}}}}}}`)
	status, body := a.post(t, "/v1/query", `{"type":"drop_relationship","args":{"table":"author","relationship":"articles"}}`)
	if status != 400 || !strings.Contains(body, "articles") || !strings.Contains(body, "dependency-error") {
		t.Fatalf("dropping a relationship a rule uses: status %d: %s", status, body)
	}
	a.mustPost(t, "/v1/query", `{"type":"drop_relationship","args":{"table":"author","relationship":"articles","cascade":true}}`)
	md := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if strings.Contains(md, `"reader"`) || strings.Contains(md, `"articles"`) {
		t.Errorf("after the cascade the relationship and the reader permission should be gone: %s", md)
	}
}

// TestInsertPermissionWithoutColumns: Hasura reads an insert permission
// without `columns` as every column; export keeps it as it was given.
func TestInsertPermissionWithoutColumns(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	a.mustPost(t, "/v1/query", `{"type":"create_insert_permission","args":{"table":"article","role":"writer","permission":{"check":{"author_id":{"_eq":"X-Hasura-User-Id"}}}}}`)
	md := a.mustPost(t, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if !strings.Contains(md, `"insert_permissions":[{"role":"writer","permission":{"check":{"author_id":{"_eq":"X-Hasura-User-Id"}}}}]`) {
		t.Errorf("export changed the permission: %s", md)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, a.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	prog, err := metadataapi.Program(ctx, pool, a.opts)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, p := range prog.Table(policies.QualifiedTable{Schema: "public", Name: "article"}).Permissions {
		if p.Role.Name == "writer" && p.Op == policies.Insert {
			for _, c := range p.Columns {
				cols = append(cols, c.Name)
			}
		}
	}
	if got, want := strings.Join(cols, ","), "id,title,published,author_id"; got != want {
		t.Errorf("writer may insert %q, want %q", got, want)
	}
}
