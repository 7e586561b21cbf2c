package conformance

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// minPassingDefault is the number of active cases that passed when the
// runner was last brought up to date; fewer fails the test, so a
// regression cannot hide in the table. ROWGUARD_CONFORMANCE_MIN overrides
// it (raise it as features land).
const minPassingDefault = 126

// result is the outcome of one request of a case file.
type result struct {
	dir, file string
	index     int // within the file, from 1
	desc      string
	reason    string // "" when passed
}

// TestConformance replays Hasura's own permission tests (tests-py YAML,
// see PROVENANCE.txt in the directory) against a rowguard server: per
// directory a fresh database and server with an admin secret, the
// directory's schema_setup/setup once, values_setup/values_teardown around
// each case file, every request compared on status and response as
// Hasura's harness compares them. It prints a pass table per directory and
// every failure with its reason. Requests run over HTTP only (upstream
// also replays queries over websocket).
func TestConformance(t *testing.T) {
	dir := os.Getenv("ROWGUARD_CONFORMANCE_DIR")
	if dir == "" {
		abs, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "conformance", "hasura"))
		if err != nil {
			t.Fatal(err)
		}
		dir = abs
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Skipf("no Hasura conformance cases at %s (set ROWGUARD_CONFORMANCE_DIR): %v", dir, err)
	}
	entries, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var results []result
	var notRun []string
	active, ranActive, all, ran := 0, 0, 0, 0
	for _, s := range suites(entries) {
		var run []entry
		n := 0
		for _, c := range s.cases {
			if !c.active {
				notRun = append(notRun, fmt.Sprintf("%s (%d cases): not run, %s", c.path, c.cases, c.note))
				continue
			}
			n += c.cases
			run = append(run, c)
		}
		s.cases = run
		active += n
		all++
		// t.Run skips the closure for directories -run leaves out.
		t.Run(strings.ReplaceAll(strings.TrimPrefix(s.dir, "queries/"), "/", "_"), func(t *testing.T) {
			ran++
			ranActive += n
			results = append(results, runSuite(t, dir, s)...)
		})
	}
	passed := report(t, results, notRun, ranActive)
	if ran < all {
		t.Logf("-run selected %d of %d directories: the minimum pass count is not checked", ran, all)
		return
	}
	min := minPassingDefault
	if v := os.Getenv("ROWGUARD_CONFORMANCE_MIN"); v != "" {
		if min, err = strconv.Atoi(v); err != nil {
			t.Fatalf("ROWGUARD_CONFORMANCE_MIN: %v", err)
		}
	}
	if passed < min {
		t.Errorf("%d of %d active cases pass; at least %d must (ROWGUARD_CONFORMANCE_MIN)", passed, active, min)
	}
}

// jwtKey is the HS256 key of the test classes that run in JWT mode.
const jwtKey = "rowguard-conformance-jwt-key-of-32-bytes!"

// fileConfig says how Hasura's test class runs a file: whether the
// harness authenticates it (add_auth) and the server's auth settings.
func fileConfig(file string) (addAuth bool, mode authMode, cfg auth.Config) {
	cfg = auth.Config{AdminSecret: adminSecret}
	jwt, err := auth.ParseJWTConfig(`{"type":"HS256","key":"` + jwtKey + `"}`)
	if err != nil {
		panic(err)
	}
	switch path.Base(file) {
	case "backend_user_no_admin_secret_fail.yaml":
		// Upstream runs it only with an admin secret and JWT (or webhook)
		// mode: the backend-only header then comes as a JWT claim.
		cfg.JWT = jwt
		return true, authMode{jwtKey: []byte(jwtKey)}, cfg
	}
	if !strings.HasPrefix(file, "queries/unauthorized_role/") {
		return true, authMode{}, cfg
	}
	// TestUnauthorizedRolePermission (unauthorized_role.yaml): admin
	// secret and unauthorized role "anonymous". TestFallbackUnauthorized-
	// RoleCookieWithJwt (…_unauth_role_set.yaml) adds JWT mode.
	// TestMissingUnauthorizedRoleAndCookie (…_unauth_role_not_set.yaml):
	// JWT mode without an unauthorized role. Requests go as they are.
	switch path.Base(file) {
	case "unauthorized_role.yaml":
		cfg.UnauthorizedRole = "anonymous"
	case "cookie_header_absent_unauth_role_set.yaml":
		cfg.UnauthorizedRole = "anonymous"
		cfg.JWT = jwt
	default:
		cfg.JWT = jwt
	}
	return false, authMode{jwtKey: []byte(jwtKey)}, cfg
}

func runSuite(t *testing.T, dir string, s *suite) []result {
	srv := startServer(t)
	fail := func(reason string) []result {
		var out []result
		for _, c := range s.cases {
			for i := 1; i <= c.cases; i++ {
				out = append(out, result{dir: s.dir, file: path.Base(c.path), index: i, reason: reason})
			}
		}
		return out
	}
	for _, e := range []*entry{s.schemaSetup, s.setup} {
		if e == nil {
			continue
		}
		if err := srv.applyFile(dir, e); err != nil {
			t.Logf("setup failed: %v", err)
			return fail("directory setup failed: " + err.Error())
		}
	}
	var out []result
	for _, c := range s.cases {
		out = append(out, runCase(t, dir, s, srv, c)...)
	}
	for _, e := range []*entry{s.teardown, s.schemaTeardown} {
		if e == nil {
			continue
		}
		if err := srv.applyFile(dir, e); err != nil {
			t.Errorf("teardown: %v", err)
		}
	}
	return out
}

func runCase(t *testing.T, dir string, s *suite, srv *server, c entry) []result {
	file := path.Base(c.path)
	failAll := func(reason string) []result {
		var out []result
		for i := 1; i <= c.cases; i++ {
			out = append(out, result{dir: s.dir, file: file, index: i, reason: reason})
		}
		return out
	}
	data, err := os.ReadFile(filepath.Join(dir, c.path))
	if err != nil {
		return failAll(err.Error())
	}
	confs, err := parseConfs(data)
	if err != nil {
		return failAll("cannot read the case: " + err.Error())
	}
	if s.valuesSetup != nil {
		if err := srv.applyFile(dir, s.valuesSetup); err != nil {
			return failAll("values_setup failed: " + err.Error())
		}
	}
	addAuth, mode, cfg := fileConfig(c.path)
	srv.auth.set(t, cfg)
	var out []result
	for i, cf := range confs {
		out = append(out, result{dir: s.dir, file: file, index: i + 1, desc: cf.description, reason: srv.check(cf, addAuth, mode)})
	}
	srv.auth.set(t, auth.Config{AdminSecret: adminSecret})
	if s.valuesTeardown != nil {
		if err := srv.applyFile(dir, s.valuesTeardown); err != nil {
			t.Errorf("%s: values_teardown: %v", file, err)
		}
	}
	if len(confs) != c.cases {
		t.Errorf("%s: MANIFEST.tsv says %d cases, the file has %d", c.path, c.cases, len(confs))
	}
	return out
}

// report prints the pass table and every failure, and returns how many
// requests passed.
func report(t *testing.T, results []result, notRun []string, active int) int {
	type row struct{ total, passed int }
	rows := map[string]*row{}
	var order []string
	passed := 0
	var failures []string
	for _, r := range results {
		rw := rows[r.dir]
		if rw == nil {
			rw = &row{}
			rows[r.dir] = rw
			order = append(order, r.dir)
		}
		rw.total++
		if r.reason == "" {
			rw.passed++
			passed++
			continue
		}
		failures = append(failures, fmt.Sprintf("- %s/%s #%d (%s):\n      %s", strings.TrimPrefix(r.dir, "queries/"), r.file, r.index, r.desc, r.reason))
	}
	var b strings.Builder
	b.WriteString("\n| directory | cases | pass | fail |\n|---|---:|---:|---:|\n")
	for _, d := range order {
		rw := rows[d]
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", strings.TrimPrefix(d, "queries/"), rw.total, rw.passed, rw.total-rw.passed)
	}
	fmt.Fprintf(&b, "| **total** | %d | %d | %d |\n", len(results), passed, len(results)-passed)
	fmt.Fprintf(&b, "\n%d of %d active cases pass (over HTTP).\n", passed, active)
	if len(failures) > 0 {
		fmt.Fprintf(&b, "\nFailures (%d):\n%s\n", len(failures), strings.Join(failures, "\n"))
	}
	if len(notRun) > 0 {
		fmt.Fprintf(&b, "\nNot run:\n- %s\n", strings.Join(notRun, "\n- "))
	}
	t.Log(b.String())
	if len(results) != active {
		t.Errorf("ran %d requests, MANIFEST.tsv lists %d active cases", len(results), active)
	}
	return passed
}
