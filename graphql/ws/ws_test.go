package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// headerAuth: X-Hasura-Role picks the role (admin when absent), every
// X-Hasura-* header is a session variable, X-Test-Expires-In (a
// duration) sets when the credentials expire; role "forbidden" is
// refused.
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
	if d, err := time.ParseDuration(r.Header.Get("X-Test-Expires-In")); err == nil {
		s.Expires = time.Now().Add(d)
	}
	return s, nil
}

const notesSQL = `CREATE TABLE note (id serial PRIMARY KEY, owner integer NOT NULL, body text NOT NULL);
INSERT INTO note (owner, body) VALUES (1, 'one'), (2, 'two');`

const notesTable = `table: {name: note, schema: public}
select_permissions:
  - role: user
    permission:
      columns: [id, owner, body]
      filter: {owner: {_eq: X-Hasura-User-Id}}
  - role: reader
    permission:
      columns: [id, owner, body]
      filter: {}
`

// fixture is a database with the note table, its policies installed, and
// the GraphQL server with the WebSocket handler mounted.
type fixture struct {
	conn *pgx.Conn // the owner's, for changes
	gql  *graphql.Server
	ws   *ws.Handler
	addr string
	srv  *httptest.Server
	prog *compiler.Program
	url  string // the database's, as its owner
}

func newFixture(t *testing.T, wcfg ws.Config, live graphql.LiveConfig, options ...func(*graphql.Config)) *fixture {
	t.Helper()
	return newFixtureVia(t, nil, wcfg, live, options...)
}

// newFixtureVia is newFixture whose server connects through via(url)
// (nil: straight to the database).
func newFixtureVia(t *testing.T, via func(t *testing.T, url string) string, wcfg ws.Config, live graphql.LiveConfig, options ...func(*graphql.Config)) *fixture {
	t.Helper()
	return newFixtureSchema(t, via, notesSQL, map[string]string{"public_note.yaml": notesTable}, wcfg, live, options...)
}

// newFixtureSchema is newFixtureVia with the schema schemaSQL and the
// tracked tables' metadata (file name → YAML) of tables.
func newFixtureSchema(t *testing.T, via func(t *testing.T, url string) string, schemaSQL string, tables map[string]string, wcfg ws.Config, live graphql.LiveConfig, options ...func(*graphql.Config)) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	files := map[string]string{
		"version.yaml":             "version: 3\n",
		"databases/databases.yaml": "- name: default\n  kind: postgres\n  configuration: {connection_info: {database_url: x}}\n  tables: \"!include default/tables/tables.yaml\"\n",
	}
	var list strings.Builder
	for name, text := range tables {
		files["databases/default/tables/"+name] = text
		fmt.Fprintf(&list, "- \"!include %s\"\n", name)
	}
	files["databases/default/tables/tables.yaml"] = list.String()
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	prefix := pgtest.UniqueName("t") + "_"
	definer := pgtest.UniqueName("definer")
	pgtest.DropRolesLater(t, prefix, definer)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	if _, err := conn.PgConn().Exec(ctx, schemaSQL).ReadAll(); err != nil {
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
	if _, err := conn.PgConn().Exec(ctx, "BEGIN;\n"+rls.Emit(prog, rls.Options{DefinerRole: definer})+"\nCOMMIT;").ReadAll(); err != nil {
		t.Fatalf("install policies: %v", err)
	}
	poolURL := url
	if via != nil {
		poolURL = via(t, url)
	}
	pcfg, err := pgxpool.ParseConfig(poolURL)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if live.RefetchInterval == 0 {
		live.RefetchInterval = 50 * time.Millisecond
	}
	gcfg := graphql.Config{Pool: pool, Program: prog, Auth: headerAuth{}, Live: live}
	for _, o := range options {
		o(&gcfg)
	}
	gql, err := graphql.NewServer(ctx, gcfg)
	if err != nil {
		t.Fatal(err)
	}
	wcfg.Server, wcfg.Auth = gql, headerAuth{}
	h := ws.NewHandler(wcfg)
	srv := httptest.NewServer(h.Mount(gql))
	t.Cleanup(srv.Close)
	return &fixture{conn: conn, gql: gql, ws: h, addr: strings.TrimPrefix(srv.URL, "http://"), srv: srv, prog: prog, url: url}
}

func (f *fixture) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := f.conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

const wait = 5 * time.Second

var protocols = []struct {
	name  string
	offer []string
	want  string // the protocol spoken
}{
	{"apollo", []string{"graphql-ws"}, "graphql-ws"},
	{"transport", []string{"graphql-transport-ws"}, "graphql-transport-ws"},
}

func TestProtocolChoice(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{})
	for _, tc := range []struct {
		offer  []string
		answer string // Sec-WebSocket-Protocol answered
		acks   string // the protocol that answers a subscribe: "transport" or "apollo"
	}{
		{[]string{"graphql-transport-ws"}, "graphql-transport-ws", "transport"},
		{[]string{"graphql-ws"}, "graphql-ws", "apollo"},
		{[]string{"graphql-transport-ws", "graphql-ws"}, "graphql-ws", "apollo"},
		{nil, "", "apollo"},
	} {
		c := dial(t, f.addr, tc.offer...)
		if c.proto != tc.answer {
			t.Errorf("offer %v: answered %q, want %q", tc.offer, c.proto, tc.answer)
		}
		c.send(init_(nil))
		c.expect("connection_ack", wait)
		if tc.acks == "transport" {
			c.send(start("graphql-transport-ws", "1", "query { note { id } }"))
			c.expect("next", wait)
		} else {
			c.send(start("graphql-ws", "1", "query { note { id } }"))
			c.expect("data", wait)
		}
		c.expect("complete", wait)
	}
}

func TestOperations(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := dial(t, f.addr, p.offer...)
			c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
			c.expect("connection_ack", wait)

			// A query answers, then completes.
			c.send(start(p.want, "q", "query { note { owner body } }"))
			e := c.expect(dataType(p.want), wait)
			if got, want := payload(e), `{"data":{"note":[{"body":"one","owner":1}`; !strings.HasPrefix(got, want) || strings.Contains(got, "two") {
				t.Errorf("query: got %s, want %s… without user 2's rows", got, want)
			}
			c.expect("complete", wait)

			// A subscription pushes its result, then each change, and
			// never completes.
			c.send(start(p.want, "s", "subscription { note(order_by: {id: asc}) { body } }"))
			e = c.expect(dataType(p.want), wait)
			if got, want := payload(e), `{"data":{"note":[{"body":"one"}`; !strings.HasPrefix(got, want) || strings.Contains(got, "two") || strings.Contains(got, "new-"+p.name) {
				t.Errorf("first push: got %s, want %s…", got, want)
			}
			f.exec(t, "INSERT INTO note (owner, body) VALUES (1, 'new-"+p.name+"'), (2, 'not mine')")
			e = c.expect(dataType(p.want), wait)
			if got := payload(e); !strings.Contains(got, "new-"+p.name) || strings.Contains(got, "not mine") {
				t.Errorf("second push: %s", got)
			}
			if e.msg["id"] != "s" {
				t.Errorf("push id %v, want s", e.msg["id"])
			}

			// Two root fields: one statement, two columns.
			c.send(start(p.want, "two", "subscription { a: note(where: {body: {_eq: \"one\"}}) { body } b: note(where: {body: {_eq: \"one\"}}) { owner } }"))
			if got, want := payload(c.expect(dataType(p.want), wait)), `{"data":{"a":[{"body":"one"}],"b":[{"owner":1}]}}`; got != want {
				t.Errorf("two root fields: got %s, want %s", got, want)
			}
			c.send(stop(p.want, "two"))

			// An error before execution: error (then complete in Apollo's
			// protocol).
			c.send(start(p.want, "bad", "subscription { nope { id } }"))
			e = c.expect("error", wait)
			if !strings.Contains(e.raw, "nope") {
				t.Errorf("error: %s", e.raw)
			}
			if p.want == "graphql-ws" {
				c.expect("complete", wait)
			}
			// Stop: no more pushes for s.
			c.send(stop(p.want, "s"))
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if n, _ := f.gql.LiveCount(); n == 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n, _ := f.gql.LiveCount(); n != 0 {
				t.Errorf("after stop: %d live queries, want 0", n)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	f := newFixture(t, ws.Config{InitTimeout: 200 * time.Millisecond}, graphql.LiveConfig{})
	forbidden := init_(map[string]string{"X-Hasura-Role": "forbidden"})
	for _, tc := range []struct {
		name   string
		offer  []string
		send   []string
		first  string // a message before the close, if any
		code   int
		reason string
	}{
		{"apollo auth", []string{"graphql-ws"}, []string{forbidden}, `{"type":"connection_error","payload":"not allowed"}`, 4400, `{"server_error_msg":"4400: Connection initialization failed: not allowed"}`},
		{"transport auth", []string{"graphql-transport-ws"}, []string{forbidden}, "", 4403, `{"server_error_msg":"4403: Forbidden"}`},
		{"apollo init timeout", []string{"graphql-ws"}, nil, "", 1011, "Connection initialisation timeout"},
		{"transport init timeout", []string{"graphql-transport-ws"}, nil, "", 4408, "Connection initialisation timeout"},
		{"transport unknown type", []string{"graphql-transport-ws"}, []string{`{"type":"test"}`}, "", 4400, `{"server_error_msg":"4400: parsing ClientMessage failed: unknown message type \"test\""}`},
		{"transport unparsable", []string{"graphql-transport-ws"}, []string{`{`}, "", 4400, `{"server_error_msg":"4400: parsing ClientMessage failed: unexpected EOF"}`},
		{"transport stop without id", []string{"graphql-transport-ws"}, []string{init_(nil), `{"type":"complete"}`}, `{"type":"connection_ack"}`, 4400, `{"server_error_msg":"4400: parsing ClientMessage failed: the message has no id"}`},
		{"transport subscribe before init", []string{"graphql-transport-ws"}, []string{start("graphql-transport-ws", "1", "{ note { id } }")}, "", 4401, "Unauthorized"},
		{"transport init twice", []string{"graphql-transport-ws"}, []string{init_(nil), init_(nil)}, `{"type":"connection_ack"}`, 4429, "Too many initialisation requests"},
		{"expired credentials", []string{"graphql-transport-ws"}, []string{init_(map[string]string{"X-Test-Expires-In": "300ms"})}, `{"type":"connection_ack"}`, ws.CloseExpired, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, f.addr, tc.offer...)
			for _, m := range tc.send {
				c.send(m)
			}
			if tc.first != "" {
				if e := c.next(wait); e.raw != tc.first {
					t.Errorf("first message %q (closed %v %d), want %s", e.raw, e.closed, e.code, tc.first)
				}
			}
			e := c.expectClose(wait)
			if e.code != tc.code {
				t.Errorf("close code %d, want %d (reason %q)", e.code, tc.code, e.reason)
			}
			if tc.reason != "" && e.reason != tc.reason {
				t.Errorf("close reason %q, want %q", e.reason, tc.reason)
			}
			if strings.HasPrefix(tc.name, "expired") && !strings.Contains(e.reason, "expired at") {
				t.Errorf("expiry close reason %q does not name the expiry", e.reason)
			}
		})
	}
	// Apollo: an unknown message is a connection_error, and the
	// connection stays; a stop for an unknown id is silence.
	c := dial(t, f.addr, "graphql-ws")
	c.send(init_(nil))
	c.expect("connection_ack", wait)
	c.send(`{"type":"test"}`)
	c.expect("connection_error", wait)
	c.send(stop("graphql-ws", "unknown"))
	c.send(start("graphql-ws", "1", "{ note { id } }"))
	c.expect("data", wait)
}

func TestKeepAlive(t *testing.T) {
	f := newFixture(t, ws.Config{KeepAlive: 50 * time.Millisecond}, graphql.LiveConfig{})
	for _, p := range protocols {
		c := dial(t, f.addr, p.offer...)
		c.send(init_(nil))
		want := `{"type":"ka"}`
		if p.want == "graphql-transport-ws" {
			want = `{"type":"ping","payload":{"message":"keepalive"}}`
		}
		if e := c.next(wait); e.raw != `{"type":"connection_ack"}` {
			t.Fatalf("%s: got %s, want the ack", p.name, e.raw)
		}
		for i := 0; i < 2; i++ {
			if e := c.next(wait); e.raw != want {
				t.Errorf("%s: got %s, want %s", p.name, e.raw, want)
			}
		}
		if p.want == "graphql-transport-ws" {
			c.send(`{"type":"ping","payload":{"x":1}}`)
			for {
				e := c.next(wait)
				if e.msg["type"] == "pong" {
					if e.raw != `{"type":"pong","payload":{"x":1}}` {
						t.Errorf("pong: %s", e.raw)
					}
					break
				}
			}
		}
	}
}

func TestLimits(t *testing.T) {
	f := newFixture(t, ws.Config{MaxSubscriptions: 1}, graphql.LiveConfig{MaxSubscriptions: 2})
	c := dial(t, f.addr, "graphql-transport-ws")
	c.send(init_(nil))
	c.expect("connection_ack", wait)
	c.send(start("graphql-transport-ws", "1", "subscription { note { id } }"))
	c.expect("next", wait)
	c.send(start("graphql-transport-ws", "2", "subscription { note { id } }"))
	if e := c.expect("error", wait); !strings.Contains(e.raw, "too many operations on this connection") {
		t.Errorf("per connection: %s", e.raw)
	}
	c2 := dial(t, f.addr, "graphql-transport-ws")
	c2.send(init_(nil))
	c2.expect("connection_ack", wait)
	c2.send(start("graphql-transport-ws", "1", "subscription { note { id } }"))
	c2.expect("next", wait)
	c3 := dial(t, f.addr, "graphql-transport-ws")
	c3.send(init_(nil))
	c3.expect("connection_ack", wait)
	c3.send(start("graphql-transport-ws", "1", "subscription { note { id } }"))
	if e := c3.expect("error", wait); !strings.Contains(e.raw, "too many subscriptions on this server") {
		t.Errorf("server-wide: %s", e.raw)
	}
}

func TestProgramChangeCloses1012(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{})
	c := dial(t, f.addr, "graphql-ws")
	c.send(init_(nil))
	c.expect("connection_ack", wait)
	if err := f.gql.SetProgram(f.prog); err != nil {
		t.Fatal(err)
	}
	if e := c.expectClose(wait); e.code != 1012 {
		t.Errorf("close %d %q, want 1012", e.code, e.reason)
	}
}
