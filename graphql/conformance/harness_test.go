package conformance

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/metadataapi"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// adminSecret is the server's admin secret, as the harness's --hge-key.
const adminSecret = "rowguard-conformance-secret"

// entry is one line of MANIFEST.tsv.
type entry struct {
	path     string // relative to the conformance directory
	kind     string // case, schema_setup, setup, values_setup, …
	endpoint string // for setup files; the transport for cases
	cases    int
	active   bool
	note     string // why a case is not active upstream
}

func readManifest(dir string) ([]entry, error) {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 2 {
			continue
		}
		for len(cols) < 5 {
			cols = append(cols, "")
		}
		e := entry{path: cols[0], kind: cols[1], endpoint: cols[2], active: cols[4] == "yes", note: cols[4]}
		e.cases, _ = strconv.Atoi(cols[3])
		out = append(out, e)
	}
	return out, sc.Err()
}

// suite is one directory of cases: Hasura's test class over it.
type suite struct {
	dir            string
	schemaSetup    *entry // once per directory, before setup
	setup          *entry
	teardown       *entry
	schemaTeardown *entry
	valuesSetup    *entry // around every case
	valuesTeardown *entry
	cases          []entry
}

func suites(entries []entry) []*suite {
	byDir := map[string]*suite{}
	for i := range entries {
		e := &entries[i]
		if e.kind == "clear_db" {
			continue
		}
		d := path.Dir(e.path)
		s := byDir[d]
		if s == nil {
			s = &suite{dir: d}
			byDir[d] = s
		}
		switch e.kind {
		case "case":
			s.cases = append(s.cases, *e)
		case "schema_setup":
			s.schemaSetup = e
		case "setup":
			s.setup = e
		case "teardown":
			s.teardown = e
		case "schema_teardown":
			s.schemaTeardown = e
		case "values_setup":
			s.valuesSetup = e
		case "values_teardown":
			s.valuesTeardown = e
		}
	}
	var out []*suite
	for _, s := range byDir {
		if len(s.cases) > 0 {
			sort.Slice(s.cases, func(i, j int) bool { return s.cases[i].path < s.cases[j].path })
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out
}

// switchAuth is the server's Authenticator; a few of Hasura's test classes
// run the server with other settings (unauthorized role, JWT), so the
// runner swaps it per file.
type switchAuth struct {
	cur atomic.Pointer[auth.Authenticator]
}

func (s *switchAuth) Authenticate(ctx context.Context, r *http.Request) (*auth.Session, error) {
	return s.cur.Load().Authenticate(ctx, r)
}

func (s *switchAuth) set(t *testing.T, cfg auth.Config) {
	t.Helper()
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	s.cur.Store(a)
}

// server is a rowguard server over a fresh database, as the harness's
// graphql-engine.
type server struct {
	url    string
	auth   *switchAuth
	client *http.Client
}

func startServer(t *testing.T) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := pgtest.UniqueName("cf") + "_"
	definer := pgtest.UniqueName("cf_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	// Hasura's test database has PostGIS; several setups use geometry.
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Logf("PostGIS is not available (%v): geometry setups will fail; scripts/ensure-postgres.sh installs it", err)
	}
	opts := compiler.Options{RolePrefix: prefix}
	prog := emptyProgram(t, ctx, conn, opts)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sw := &switchAuth{}
	sw.set(t, auth.Config{AdminSecret: adminSecret})
	gql, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: prog, Auth: sw})
	if err != nil {
		t.Fatal(err)
	}
	h, err := metadataapi.New(ctx, metadataapi.Config{
		Server: gql, Pool: pool, Auth: sw, Compile: opts, RLS: rls.Options{DefinerRole: definer},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, auth: sw, client: srv.Client()}
}

func emptyProgram(t *testing.T, ctx context.Context, conn *pgx.Conn, opts compiler.Options) *compiler.Program {
	t.Helper()
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, &policies.Metadata{}, opts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return prog
}

// post sends body to url with headers and returns the status and body.
func (s *server) post(url string, body []byte, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, s.url+url, strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// applyFile sends a setup or teardown file to its endpoint as admin, as
// the harness's v1q_f / v2q_f / v1metadataq_f do: anything but 200 fails.
func (s *server) applyFile(dir string, e *entry) error {
	data, err := os.ReadFile(filepath.Join(dir, e.path))
	if err != nil {
		return err
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	body, err := json.Marshal(jsonable(doc))
	if err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	status, resp, err := s.post(e.endpoint, body, map[string]string{"X-Hasura-Admin-Secret": adminSecret})
	if err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s (%s): status %d: %s", e.path, e.endpoint, status, cut(string(resp), 4000))
	}
	return nil
}

// jsonable turns YAML's decoded maps into ones encoding/json accepts.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			x[k] = jsonable(item)
		}
		return x
	case map[any]any:
		m := map[string]any{}
		for k, item := range x {
			m[fmt.Sprint(k)] = jsonable(item)
		}
		return m
	case []any:
		for i, item := range x {
			x[i] = jsonable(item)
		}
		return x
	case time.Time:
		// Unquoted dates stay the text they were written as.
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339Nano)
	}
	return v
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// conf is one request of a case file.
type conf struct {
	description string
	url         string
	status      int
	headers     map[string]string
	query       []byte
	response    *value
}

func parseConfs(data []byte) ([]*conf, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("empty file")
	}
	n := root.Content[0]
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []*conf
	for _, item := range items {
		c := &conf{status: http.StatusOK, headers: map[string]string{}}
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: a case must be a mapping", item.Line)
		}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i].Value, item.Content[i+1]
			switch k {
			case "description":
				c.description = strings.TrimSpace(v.Value)
			case "url":
				c.url = v.Value
			case "status":
				if err := v.Decode(&c.status); err != nil {
					return nil, fmt.Errorf("line %d: status: %w", v.Line, err)
				}
			case "headers":
				if err := v.Decode(&c.headers); err != nil {
					return nil, fmt.Errorf("line %d: headers: %w", v.Line, err)
				}
			case "query":
				var q any
				if err := v.Decode(&q); err != nil {
					return nil, fmt.Errorf("line %d: query: %w", v.Line, err)
				}
				body, err := json.Marshal(jsonable(q))
				if err != nil {
					return nil, fmt.Errorf("line %d: query: %w", v.Line, err)
				}
				c.query = body
			case "response":
				r, err := fromYAML(v)
				if err != nil {
					return nil, err
				}
				c.response = r
			}
		}
		if c.url == "" || c.query == nil {
			return nil, fmt.Errorf("line %d: a case needs url and query", item.Line)
		}
		out = append(out, c)
	}
	return out, nil
}

// authMode is how the server authenticates, as far as the harness cares:
// admin secret only, or JWT mode (with the admin secret) signed with
// jwtKey.
type authMode struct {
	jwtKey []byte // nil: admin secret only
}

// check sends one request as Hasura's check_query does over HTTP and
// returns "" when the status and response match, else why not. With
// addAuth the harness authenticates the case's headers: in JWT mode it
// turns them into a signed token's claims; with the admin secret only, it
// first checks that the request without the secret, and with a wrong one,
// is refused, then sends it with the secret beside the case's headers.
func (s *server) check(c *conf, addAuth bool, mode authMode) string {
	headers := map[string]string{}
	for k, v := range c.headers {
		headers[k] = v
	}
	if len(headers) == 0 {
		// The harness picks this at random; both must work.
		headers["X-Hasura-Role"] = "admin"
	}
	if addAuth && mode.jwtKey != nil {
		if role, ok := headers["X-Hasura-Role"]; ok {
			claims := map[string]any{"X-Hasura-Allowed-Roles": []string{role}, "X-Hasura-Default-Role": role}
			for k, v := range headers {
				if k != "X-Hasura-Role" {
					claims[k] = v
				}
			}
			headers["Authorization"] = "Bearer " + signHS256(mode.jwtKey, map[string]any{
				"sub": "foo", "name": "bar", "https://hasura.io/jwt/claims": claims,
			})
		}
	}
	if addAuth && mode.jwtKey == nil {
		allowed := []int{401, 404}
		if c.url == "/v1/graphql" {
			allowed = []int{200}
			if c.status == 404 {
				allowed = []int{404}
			}
		}
		wrong := make([]byte, 30)
		rand.Read(wrong)
		for _, secret := range []string{"", base64.StdEncoding.EncodeToString(wrong)} {
			h := map[string]string{}
			for k, v := range headers {
				h[k] = v
			}
			what := "without the admin secret"
			if secret != "" {
				h["X-Hasura-Admin-Secret"] = secret
				what = "with a wrong admin secret"
			}
			status, body, err := s.post(c.url, c.query, h)
			if err != nil {
				return err.Error()
			}
			if !containsInt(allowed, status) {
				return fmt.Sprintf("%s: want status in %v, got %d: %s", what, allowed, status, cut(string(body), 400))
			}
		}
		headers["X-Hasura-Admin-Secret"] = adminSecret
	}
	status, body, err := s.post(c.url, c.query, headers)
	if err != nil {
		return err.Error()
	}
	if status != c.status {
		return fmt.Sprintf("status: want %d, got %d: %s", c.status, status, cut(string(body), 600))
	}
	if c.response == nil {
		return ""
	}
	got, err := fromJSON(body)
	if err != nil {
		return fmt.Sprintf("response is not JSON (%v): %s", err, cut(string(body), 400))
	}
	if d := compareResponse(c.url, c.query, c.response, got); d != "" {
		return fmt.Sprintf("%s\n      want: %s\n      got:  %s", d, c.response.short(), got.short())
	}
	return ""
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// signHS256 makes a JWT as the harness's PyJWT does.
func signHS256(key []byte, claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}
