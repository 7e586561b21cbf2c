package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/console"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// TestClaimsConfig drives the permission variables API as `rowguard
// console` serves it: errors at the claim and line they name, nothing
// written when the install fails, an apply that writes the file and
// installs the claims, and a configuration from a flag read-only.
func TestClaimsConfig(t *testing.T) {
	prefix := pgtest.UniqueName("rgcc") + "_"
	definer := pgtest.UniqueName("rgcc_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	db := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE app_user (id int PRIMARY KEY, genre text, big bigint);
INSERT INTO app_user VALUES (1, 'fiction', 9007199254740993)`); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "metadata.yaml")
	if err := os.WriteFile(md, []byte(`- table: {schema: public, name: app_user}
  select_permissions:
    - role: reader
      permission: {columns: [id], filter: {genre: {_eq: X-Hasura-Favorite-Genre}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(filepath.Dir(md), claims.FileJSON)
	copts, ropts := compiler.Options{RolePrefix: prefix}, rls.Options{DefinerRole: definer}
	sources := claims.Sources{Metadata: md, Getenv: func(string) string { return "" }}
	extend := func(prog *compiler.Program) (string, error) {
		cfg, err := claims.Load(sources)
		if err != nil || cfg == nil {
			return "", err
		}
		return claims.Install(cfg, prog, definer, "")
	}
	if err := migrations.Up(ctx, migrations.Config{DatabaseURL: db, Metadata: md, Compile: copts, RLS: ropts, Extend: extend}); err != nil {
		t.Fatal(err)
	}
	prog, err := migrations.LoadProgram(ctx, pool, md, copts)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{AdminSecret: apiSecret})
	if err != nil {
		t.Fatal(err)
	}
	gql, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: prog, Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	store := &console.DirStore{Path: md, DatabaseURL: db, Compile: copts, RLS: ropts, Extend: extend}
	serve := func(src claims.Sources, store console.Store) func(method, path, body string) (int, string) {
		c, err := console.New(console.Config{Server: gql, Pool: pool, Auth: authn, Store: store, Claims: &src, Compile: copts, RLS: ropts})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(c)
		t.Cleanup(srv.Close)
		return func(method, path, body string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("x-hasura-admin-secret", apiSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
	}
	call := serve(sources, store)

	code, body := call("GET", "/console/api/claims/config", "")
	if code != 200 || !strings.Contains(body, `"file":"`+file+`"`) || !strings.Contains(body, `"read_only":""`) {
		t.Fatalf("config without claims: %d %s", code, body)
	}
	// A path with a typo: the error names the file's line of the claim,
	// the claim, and the nearest column.
	bad := `{"config":{"claims":{"big":"big","favorite-genre":"genrex"},"user_table":"public.app_user"}}`
	code, body = call("POST", "/console/api/claims/check", bad)
	if code != 200 || !strings.Contains(body, `rowguard_claims.json:4: claim \"favorite-genre\"`) || !strings.Contains(body, `"line":4,"key":"favorite-genre"`) {
		t.Errorf("check of a typo: %d %s", code, body)
	}
	if code, body = call("POST", "/console/api/claims/apply", bad); code != 400 || fileExists(file) {
		t.Errorf("apply of a broken configuration: %d %s (file written: %v)", code, body, fileExists(file))
	}
	good := `{"config":{"claims":{"big":"big","favorite-genre":"genre"},"defaults":{"big":12345678901234567890},"user_table":"public.app_user"},"user_id":"1"}`
	code, body = call("POST", "/console/api/claims/check", good)
	if code != 200 || !strings.Contains(body, `"x-hasura-big":"9007199254740993"`) || !strings.Contains(body, `"x-hasura-favorite-genre":"fiction"`) {
		t.Errorf("check with a preview of user 1: %d %s", code, body)
	}
	// An install that fails leaves no file behind.
	sep := "?"
	if strings.Contains(db, "?") {
		sep = "&"
	}
	broken := serve(sources, &console.DirStore{Path: md, DatabaseURL: db + sep + "dbname=nosuchdb", Compile: copts, RLS: ropts, Extend: extend})
	if code, body = broken("POST", "/console/api/claims/apply", good); code != 400 || !strings.Contains(body, "was restored") || fileExists(file) {
		t.Errorf("apply whose install fails: %d %s (file left: %v)", code, body, fileExists(file))
	}
	if code, body = call("POST", "/console/api/claims/apply", good); code != 200 {
		t.Fatalf("apply: %d %s", code, body)
	}
	text, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(text), `"big": 12345678901234567890`) {
		t.Errorf("written file keeps the default's digits: %s (%v)", text, err)
	}
	vals, err := console.PermissionVariables(ctx, pool, "1")
	if err != nil || vals["x-hasura-favorite-genre"] != "fiction" || vals["x-hasura-big"] != "9007199254740993" {
		t.Errorf("installed claims of user 1: %v (%v)", vals, err)
	}
	if code, body = call("GET", "/console/api/claims/config", ""); code != 200 || !strings.Contains(body, `"defaults_text":{"big":"12345678901234567890"}`) || !strings.Contains(body, `"installed_vars":["x-hasura-big","x-hasura-favorite-genre"]`) {
		t.Errorf("config after apply: %d %s", code, body)
	}

	// Removing every claim installs a configuration without any.
	if code, body = call("POST", "/console/api/claims/apply", `{"config":{"claims":{},"user_table":"public.app_user"}}`); code != 200 {
		t.Fatalf("apply without claims: %d %s", code, body)
	}
	if code, body = call("GET", "/console/api/claims/config", ""); code != 200 || !strings.Contains(body, `"claims":{}`) || strings.Contains(body, `"installed_vars":["`) {
		t.Errorf("config after removing every claim: %d %s", code, body)
	}

	// From a flag, the configuration is shown but not written.
	flagged := serve(claims.Sources{ClaimsJSON: `{"favorite-genre":"genre"}`, Metadata: md, UserTable: "public.app_user"}, store)
	if code, body = flagged("GET", "/console/api/claims/config", ""); code != 200 || !strings.Contains(body, "--custom-claims") || !strings.Contains(body, `"favorite-genre":"genre"`) {
		t.Errorf("config from a flag: %d %s", code, body)
	}
	if code, body = flagged("POST", "/console/api/claims/apply", good); code != 409 {
		t.Errorf("apply over a flag's configuration: %d %s", code, body)
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
