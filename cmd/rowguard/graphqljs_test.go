package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// graphqlJSVersion is the graphql-js release the client test installs.
const graphqlJSVersion = "16.9.0"

// graphqlJS installs graphql-js from npm once per machine (in the user's
// cache directory) and returns the directory holding its node_modules.
func graphqlJS(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: scripts/test.sh installs Debian's nodejs and npm")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "rowguard", "graphql-js-"+graphqlJSVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "graphql@"+graphqlJSVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install graphql@%s: %v\n%s", graphqlJSVersion, err, out)
	}
	return dir
}

// TestGraphQLJSClientSchema runs graphql-js's getIntrospectionQuery and
// buildClientSchema against each role's schema of the served demo, as
// GraphQL clients and code generators do.
func TestGraphQLJSClientSchema(t *testing.T) {
	js := graphqlJS(t)
	n := newDemoNames(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url, cleanup, err := freshDatabase(ctx, pgtest.ServerURL(t), n.database)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	opts := compiler.Options{RolePrefix: n.prefix}
	if err := migrations.Up(ctx, migrations.Config{
		DatabaseURL: url,
		Migrations:  "../../examples/blog/migrations",
		Metadata:    "../../examples/blog/metadata",
		Compile:     opts,
		RLS:         rls.Options{DefinerRole: n.definer},
	}); err != nil {
		t.Fatal(err)
	}
	api, err := startDemoAPI(ctx, url, opts, "127.0.0.1:0", nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- api.serve(sctx) }()
	defer func() { stop(); <-served; api.close() }()

	sdls := map[string]string{}
	for _, role := range []string{"admin", "anonymous", "user", "org_viewer"} {
		t.Run(role, func(t *testing.T) {
			headers, _ := json.Marshal(map[string]string{"X-Hasura-Admin-Secret": demoAdminSecret, "X-Hasura-Role": role})
			out, err := exec.CommandContext(ctx, "node", "testdata/introspect.cjs", js, api.url, string(headers)).CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var res struct {
				OK    bool
				SDL   string
				Error string
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("node printed %s", out)
			}
			if !res.OK {
				t.Fatalf("graphql-js could not build %s's schema: %s", role, res.Error)
			}
			sdls[role] = res.SDL
		})
	}
	// graphql-js must see what each role may see, and no more.
	typeBlock := func(sdl, name string) string {
		i := strings.Index(sdl, "\ntype "+name+" {")
		if i < 0 {
			return ""
		}
		j := strings.Index(sdl[i:], "\n}")
		return sdl[i : i+j]
	}
	if b := typeBlock(sdls["admin"], "author"); !strings.Contains(b, "email") {
		t.Errorf("admin's author type lacks email:\n%s", b)
	}
	if b := typeBlock(sdls["anonymous"], "author"); b == "" || strings.Contains(b, "email") {
		t.Errorf("anonymous's author type should exist without email:\n%s", b)
	}
	if strings.Contains(sdls["anonymous"], "type mutation_root") {
		t.Errorf("anonymous (select only) has a mutation_root")
	}
	if b := typeBlock(sdls["org_viewer"], "query_root"); strings.Contains(b, "author") || !strings.Contains(b, "article") {
		t.Errorf("org_viewer's query_root should have article and no author:\n%s", b)
	}
}
