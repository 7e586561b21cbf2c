package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// screenshots makes TestBrowser write its screenshots to
// console/screenshots, which README shows:
// go test ./console -run TestBrowser -args -screenshots
var screenshots = flag.Bool("screenshots", false, "write the browser test's screenshots to console/screenshots")

// playwright is the npm package the browser test drives chromium with.
const playwright = "playwright-core@1.57.0"

// installPlaywright installs playwright-core from npm once per machine (in
// the user's cache directory) and returns the directory holding its
// node_modules. It drives Debian's chromium; it downloads no browser.
func installPlaywright(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: scripts/ensure-node.sh installs Debian's nodejs and npm")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "rowguard", "console-"+strings.ReplaceAll(playwright, "@", ""))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, playwright)
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", playwright, err, out)
	}
	return dir
}

// wideTables and wideRoles size the matrix the browser test measures.
const (
	wideTables = 200
	wideRoles  = 10
)

// writeProject creates the schema (book, and wideTables tables in schema
// wide) and a metadata directory in the Hasura CLI's layout over it.
func writeProject(t *testing.T, db string) string {
	t.Helper()
	conn := pgtest.Connect(t, db)
	ctx := context.Background()
	var ddl strings.Builder
	ddl.WriteString(`CREATE TABLE book (id serial PRIMARY KEY, title text NOT NULL, genre text NOT NULL, status text NOT NULL);
INSERT INTO book (title, genre, status) VALUES ('Dune', 'fiction', 'published'), ('Draft novel', 'fiction', 'draft'),
  ('Cosmos', 'science', 'published'), ('Emma', 'fiction', 'published');
CREATE TABLE app_user (id int PRIMARY KEY, genre text NOT NULL);
INSERT INTO app_user VALUES (1, 'fiction'), (2, 'science');
CREATE SCHEMA wide;
`)
	for i := 1; i <= wideTables; i++ {
		fmt.Fprintf(&ddl, "CREATE TABLE wide.t%03d (id int PRIMARY KEY, owner_id int, note text);\n", i)
	}
	if _, err := conn.Exec(ctx, ddl.String()); err != nil {
		t.Fatal(err)
	}
	// The metadata directory has a directory of its own: the claims
	// configuration (rowguard_claims.json) is written beside it.
	dir := filepath.Join(t.TempDir(), "metadata")
	tables := filepath.Join(dir, "databases", "default", "tables")
	if err := os.MkdirAll(tables, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("version.yaml", "version: 3\n")
	write("databases/databases.yaml", "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: \"!include default/tables/tables.yaml\"\n")
	list := []string{`- "!include public_book.yaml"`}
	write("databases/default/tables/public_book.yaml", `table:
  name: book
  schema: public
select_permissions:
  - role: reader
    permission:
      columns: [id, title]
      filter: {}
`)
	for i := 1; i <= wideTables; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "table:\n  name: t%03d\n  schema: wide\nselect_permissions:\n", i)
		for j := 0; j < wideRoles; j++ {
			role := fmt.Sprintf("r%d", j)
			if j == 0 {
				role = "reader"
			}
			switch (i + j) % 3 {
			case 0:
				fmt.Fprintf(&b, "  - role: %s\n    permission:\n      columns: \"*\"\n      filter: {}\n", role)
			case 1:
				fmt.Fprintf(&b, "  - role: %s\n    permission:\n      columns: [id, note]\n      filter:\n        owner_id: {_eq: X-Hasura-User-Id}\n", role)
			}
		}
		name := fmt.Sprintf("wide_t%03d.yaml", i)
		write("databases/default/tables/"+name, b.String())
		list = append(list, fmt.Sprintf(`- "!include %s"`, name))
	}
	write("databases/default/tables/tables.yaml", strings.Join(list, "\n")+"\n")
	return dir
}

// startConsole builds rowguard and runs `rowguard console` on a free port;
// it returns the base URL.
func startConsole(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rowguard")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/rowguard").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"console", "--port", "0"}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`console on (http://\S+)/console/`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatal("rowguard console exited before serving")
		}
		return u
	case <-time.After(3 * time.Minute):
		t.Fatal("rowguard console did not start within 3 minutes")
	}
	return ""
}

// TestBrowser drives the console in Debian's chromium: the admin secret,
// the matrix of wideTables × wideRoles (render and filter timed), a rule
// edited in the editor with its policy SQL and a compile error at its
// line, review with the metadata and DDL diffs, apply, the role querying
// in the console (GraphQL and as SQL) and over HTTP, explain with the
// policy, a role copy's preview, and the history.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium is missing (%v): scripts/ensure-chromium.sh installs Debian's chromium", err)
	}
	mods := installPlaywright(t)
	prefix := pgtest.UniqueName("rgc") + "_"
	definer := pgtest.UniqueName("rgc_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	db := pgtest.NewDatabase(t)
	md := writeProject(t, db)
	const secret = "console-test-secret"
	base := startConsole(t, "--metadata", md, "--database-url", db, "--admin-secret", secret, "--role-prefix", prefix, "--definer-role", definer)

	// Screenshots go to a temporary directory unless asked for: a test
	// run must not change tracked files.
	shots := t.TempDir()
	if *screenshots {
		shots = "screenshots"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "testdata/browser.cjs", mods, base, secret, shots)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("browser: %v\n%s%s", err, out, stderr)
	}
	var got struct {
		Tables, Roles, ReaderRows, History int
		FirstRenderMS                      float64 `json:"first_render_ms"`
		BuildMS                            float64 `json:"build_ms"`
		RenderMS                           float64 `json:"render_ms"`
		FilterMS                           float64 `json:"filter_ms"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("browser printed %s: %v", out, err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("matrix %d tables × %d roles: first render %.1f ms (%.1f ms of it building the HTML), render %.1f ms, filter %.1f ms (best of 5; load average %s)",
		got.Tables, got.Roles, got.FirstRenderMS, got.BuildMS, got.RenderMS, got.FilterMS, strings.TrimSpace(string(load)))
	if got.Tables != wideTables+1 || got.Roles != wideRoles {
		t.Errorf("matrix showed %d tables × %d roles, want %d × %d", got.Tables, got.Roles, wideTables+1, wideRoles)
	}
	if got.RenderMS > 1000 || got.FilterMS > 1000 {
		t.Errorf("matrix render %.1f ms, filter %.1f ms: want under a second each", got.RenderMS, got.FilterMS)
	}

	// The applied rule holds over HTTP too, and in the metadata files.
	req, _ := http.NewRequest("POST", base+"/v1/graphql", strings.NewReader(`{"query":"{ book(order_by: {id: asc}) { title } }"}`))
	req.Header.Set("x-hasura-admin-secret", secret)
	req.Header.Set("x-hasura-role", "reader")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"data":{"book":[{"title":"Dune"},{"title":"Emma"}]}}`; string(body) != want {
		t.Errorf("reader over HTTP: %s, want %s", body, want)
	}
	// The inherited role the page created reads what its member reader
	// reads.
	req, _ = http.NewRequest("POST", base+"/v1/graphql", strings.NewReader(`{"query":"{ book(order_by: {id: asc}) { title } }"}`))
	req.Header.Set("x-hasura-admin-secret", secret)
	req.Header.Set("x-hasura-role", "editors")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"data":{"book":[{"title":"Dune"},{"title":"Emma"}]}}`; string(body) != want {
		t.Errorf("editors (inherits reader) over HTTP: %s, want %s", body, want)
	}
	roles, err := os.ReadFile(filepath.Join(md, "inherited_roles.yaml"))
	if err != nil || !strings.Contains(string(roles), "editors") {
		t.Errorf("inherited_roles.yaml after apply: %s (%v)", roles, err)
	}

	// The permission variables page wrote the claims file beside the
	// metadata and installed it.
	claimsFile, err := os.ReadFile(filepath.Join(filepath.Dir(md), "rowguard_claims.json"))
	if err != nil {
		t.Fatalf("the permission variables page wrote no claims file: %v", err)
	}
	if want := "{\n  \"claims\": {\n    \"favorite-genre\": \"genre\"\n  },\n  \"defaults\": {\n    \"favorite-genre\": \"none\"\n  },\n  \"user_table\": \"public.app_user\"\n}\n"; string(claimsFile) != want {
		t.Errorf("rowguard_claims.json:\n%s\nwant:\n%s", claimsFile, want)
	}
	var vars []string
	if err := pgtest.Connect(t, db).QueryRow(context.Background(), "SELECT rowguard.rg_claim_vars()").Scan(&vars); err != nil || len(vars) != 1 || vars[0] != "x-hasura-favorite-genre" {
		t.Errorf("installed claim variables: %v (%v), want [x-hasura-favorite-genre]", vars, err)
	}
	file, err := os.ReadFile(filepath.Join(md, "databases/default/tables/public_book.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), "fiction") || !strings.Contains(string(file), "published") {
		t.Errorf("public_book.yaml after apply:\n%s", file)
	}
}
