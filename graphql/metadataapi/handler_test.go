package metadataapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	dropRolesLater(t, prefix, definer)
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
	cat, err := compiler.LoadCatalog(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, &policies.Metadata{}, a.opts)
	if len(errs) > 0 {
		t.Fatal(errs)
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

func dropRolesLater(t *testing.T, prefix, definer string) {
	server := pgtest.ServerURL(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Logf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT rolname FROM pg_catalog.pg_roles WHERE starts_with(rolname, $1) OR rolname = $2`, prefix, definer)
		if err != nil {
			t.Logf("drop roles: %v", err)
			return
		}
		roles, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, r := range roles {
			if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+compiler.QuoteIdent(r)); err != nil {
				t.Logf("drop role %s: %v", r, err)
			}
		}
	})
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
