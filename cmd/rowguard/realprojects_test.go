package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/policies"
)

// realProjectsDir is where the real projects live relative to this
// package (the repository root's ../shared/real-projects), unless
// ROWGUARD_REAL_PROJECTS names another folder of the same shape.
func realProjectsDir() string {
	if d := os.Getenv("ROWGUARD_REAL_PROJECTS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "real-projects")
}

// maxListedErrors is how many errors a project's report lists; the total
// is always given.
const maxListedErrors = 20

// projectReport is what the runner found for one project.
type projectReport struct {
	name     string
	ran      bool
	loads    bool // pre, platform, migrations and post SQL all ran
	installs bool // the metadata install succeeded
	started  bool // the server served (without --allow-privileged-login)
	queries  int  // requests sent: introspections and list queries
	answered int  // requests answered without error
	skipped  int  // list fields left out for a required argument
	roles    int
	policies int
	install  time.Duration
	// installLog is what migrate up printed (its steps and warnings).
	installLog string
	// Durations of the other steps, for the log.
	setUp, userSQL, serve time.Duration
	errs                  []stepError
}

// stepError is one failure: the step, and the role and root field when
// serving.
type stepError struct {
	step, role, field, msg string
}

func (e stepError) String() string {
	var b strings.Builder
	b.WriteString(e.step)
	if e.role != "" {
		b.WriteString(" role=" + e.role)
	}
	if e.field != "" {
		b.WriteString(" field=" + e.field)
	}
	b.WriteString(": " + e.msg)
	return b.String()
}

func (r *projectReport) fail(step, role, field string, err error) {
	r.errs = append(r.errs, stepError{step, role, field, strings.TrimSpace(err.Error())})
}

// serves says how the serve step went: "yes" when the server started as
// README says and answered every request, "k/n" requests answered, or
// "no".
func (r *projectReport) serves() string {
	switch {
	case !r.installs || r.queries == 0:
		return "no"
	case r.started && r.answered == r.queries:
		return "yes"
	}
	s := fmt.Sprintf("%d/%d", r.answered, r.queries)
	if !r.started {
		s += " (privileged)"
	}
	return s
}

// TestRealProjects runs every project of the real projects' MANIFEST.yaml
// as its users would: the platform's set-up, then with rowguard alone the
// project's migrations, post SQL and metadata install, then serve, and as
// admin and every role the metadata names, the introspection query and a
// two-row query of every list root field, with the session variables the
// role's rules read. It fails on any error and logs a table of what each
// project got to. -short queries only the first five list fields of each
// role.
func TestRealProjects(t *testing.T) {
	dir := realProjectsDir()
	projects, err := readManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no real projects at %s (set ROWGUARD_REAL_PROJECTS): %v", dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var reports []*projectReport
	for _, p := range projects {
		r := &projectReport{name: p.Name}
		reports = append(reports, r)
		t.Run(p.Name, func(t *testing.T) {
			r.ran = true
			runRealProject(t, p, r)
			t.Logf("set-up %.1fs, migrations and post %.1fs, install %.1fs, serve %.1fs: %d requests, %d answered, %d list fields left out (required arguments)",
				r.setUp.Seconds(), r.userSQL.Seconds(), r.install.Seconds(), r.serve.Seconds(), r.queries, r.answered, r.skipped)
			if r.installLog != "" {
				t.Logf("rowguard migrate up:\n%s", r.installLog)
			}
			if len(r.errs) > 0 {
				t.Errorf("%d errors:\n%s", len(r.errs), r.errorList())
			}
		})
	}
	t.Log("\n" + reportTable(reports))
}

// errorList lists the first maxListedErrors errors, one per line.
func (r *projectReport) errorList() string {
	var b strings.Builder
	for i, e := range r.errs {
		if i == maxListedErrors {
			fmt.Fprintf(&b, "  … and %d more\n", len(r.errs)-i)
			break
		}
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}

// reportTable renders the reports of the projects that ran as a Markdown
// table for README.
func reportTable(reports []*projectReport) string {
	yes := map[bool]string{true: "yes", false: "no"}
	var b strings.Builder
	b.WriteString("| project | loads | installs | serves | roles | policies | install s | errors |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|\n")
	for _, r := range reports {
		if !r.ran {
			continue
		}
		inst := "–"
		if r.installs {
			inst = fmt.Sprintf("%.1f", r.install.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s | %d |\n",
			r.name, yes[r.loads], yes[r.installs], r.serves(), r.roles, r.policies, inst, len(r.errs))
	}
	return b.String()
}

// realNames are the cluster-wide names one project's run uses.
type realNames struct {
	prefix, definer, login string
}

// runRealProject sets the project up on a fresh database, installs and
// serves it, and records every failure in r, going as far as it can.
func runRealProject(t *testing.T, p *realProject, r *projectReport) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	n := realNames{prefix: pgtest.UniqueName("rp") + "_"}
	n.definer, n.login = n.prefix+"definer", n.prefix+"server"
	pgtest.DropRolesLater(t, n.prefix)
	db := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, db)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+compiler.QuoteIdent(n.login)+" LOGIN NOINHERIT PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}

	if md, err := policies.Load(p.Metadata); err != nil {
		r.fail("metadata", "", "", err)
	} else {
		r.roles = metadataRoles(md)
	}
	start := time.Now()
	r.loads = platformSetUp(ctx, conn, p, r)
	r.setUp = time.Since(start)
	if !userInstall(ctx, conn, db, p, n, r) {
		return
	}
	r.installs = true
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_policies WHERE policyname LIKE 'rg\_%'`).Scan(&r.policies); err != nil {
		r.fail("install", "", "", fmt.Errorf("count policies: %w", err))
	}
	start = time.Now()
	serveAndQuery(t, ctx, conn, db, n, r)
	r.serve = time.Since(start)
}

// platformSetUp runs the project's pre SQL files, then its platform
// migrations (the platform the project runs on, such as Nhost's auth and
// storage services), and tells whether all of them ran.
func platformSetUp(ctx context.Context, conn *pgx.Conn, p *realProject, r *projectReport) bool {
	ok := true
	for _, f := range p.Pre {
		if err := runSQLFile(ctx, conn, p.Dir, f); err != nil {
			r.fail("pre", "", "", err)
			ok = false
		}
	}
	for _, dir := range p.PlatformMigrations {
		files, err := upFiles(dir)
		if err != nil {
			r.fail("platform", "", "", err)
			ok = false
		}
		for _, f := range files {
			if err := runSQLFile(ctx, conn, p.Dir, f.path); err != nil {
				r.fail("platform", "", "", err)
				ok = false
			}
		}
	}
	return ok
}

// userInstall does what a user does with rowguard alone: `rowguard migrate
// up --project DIR` on the project folder (the parent of its metadata
// directory), which applies the migrations in version order and installs
// the metadata in one transaction, timed. A project whose own loader runs
// post SQL folders between the migrations and the metadata (5stackgg__api)
// is migrated first with an empty metadata, then its post files run (in
// path order, check_function_bodies off), then the same command installs
// the metadata. It tells whether the install succeeded.
func userInstall(ctx context.Context, conn *pgx.Conn, db string, p *realProject, n realNames, r *projectReport) bool {
	project := filepath.Dir(p.Metadata)
	args := []string{"migrate", "up", "--database-url", db, "--project", project,
		"--role-prefix", n.prefix, "--definer-role", n.definer, "--login-role", n.login}
	if p.Migrations != "" && filepath.Clean(p.Migrations) != filepath.Join(project, "migrations", "default") {
		args = append(args, "--migrations", p.Migrations)
	}
	if p.Seeds {
		args = append(args, "--seeds")
	}
	var log strings.Builder
	if len(p.Post) > 0 {
		start := time.Now()
		dir, err := os.MkdirTemp("", "rowguard-empty-metadata-")
		if err != nil {
			r.fail("migrations", "", "", err)
			return false
		}
		defer os.RemoveAll(dir)
		empty := filepath.Join(dir, "metadata.json")
		if err := os.WriteFile(empty, []byte(`{"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": []}]}`), 0o644); err != nil {
			r.fail("migrations", "", "", err)
			return false
		}
		if err := run(ctx, append(append([]string{}, args...), "--metadata", empty), &log); err != nil {
			r.installLog = log.String()
			r.fail("migrations", "", "", err)
			r.loads = false
			return false
		}
		if _, err := conn.Exec(ctx, "SET check_function_bodies = off"); err != nil {
			r.fail("post", "", "", err)
		}
		for _, dir := range p.Post {
			files, err := treeFiles(dir)
			if err != nil {
				r.fail("post", "", "", err)
				r.loads = false
			}
			for _, f := range files {
				if err := runSQLFile(ctx, conn, p.Dir, f.path); err != nil {
					r.fail("post", "", "", err)
					r.loads = false
				}
			}
		}
		if _, err := conn.Exec(ctx, "RESET check_function_bodies"); err != nil {
			r.fail("post", "", "", err)
		}
		r.userSQL = time.Since(start)
	}

	start := time.Now()
	err := run(ctx, args, &log)
	r.install, r.installLog = time.Since(start), log.String()
	if err != nil {
		r.fail("install", "", "", err)
		return false
	}
	return true
}

// serveAndQuery serves the installed project as the login role, as README
// says, and sends, as admin and every role, the introspection query and a
// two-row query of each list root field. When the server refuses to serve
// with the login role (it could read past the policies), that is recorded
// and it serves with --allow-privileged-login, so the queries still run.
func serveAndQuery(t *testing.T, ctx context.Context, conn *pgx.Conn, db string, n realNames, r *projectReport) {
	opts := compiler.Options{RolePrefix: n.prefix}
	prog, err := migrations.LoadProgram(ctx, conn, "", opts)
	if err != nil {
		r.fail("serve", "", "", fmt.Errorf("load the installed program: %w", err))
		return
	}
	roles := rolesOf(prog)

	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	login := fmt.Sprintf("postgres://%s:pw@%s:%d/%s?sslmode=disable", n.login, cfg.Host, cfg.Port, cfg.Database)
	const secret = "real-projects-admin-secret"
	args := []string{"--database-url", login, "--admin-secret", secret, "--role-prefix", n.prefix, "--definer-role", n.definer}
	endpoint, stop, err := startServer(ctx, args)
	r.started = err == nil
	if err != nil {
		r.fail("serve", "", "", err)
		// Only the login check's refusal names the flag that overrides it.
		if !strings.Contains(err.Error(), "--allow-privileged-login") {
			return
		}
		endpoint, stop, err = startServer(ctx, append(args, "--allow-privileged-login"))
		if err != nil {
			r.fail("serve", "", "", fmt.Errorf("with --allow-privileged-login: %w", err))
			return
		}
	}
	defer func() {
		if err := stop(); err != nil {
			r.fail("serve", "", "", fmt.Errorf("stop: %w", err))
		}
	}()

	for _, role := range roles {
		c := &gqlClient{endpoint: endpoint, headers: map[string]string{
			"X-Hasura-Admin-Secret": secret, "X-Hasura-Role": role,
		}}
		if role != "admin" {
			for name, v := range roleVariables(ctx, conn, prog, role) {
				c.headers[name] = v
			}
		}
		r.queries++
		var schema introSchema
		if err := c.do(ctx, introspectionQuery, &schema); err != nil {
			r.fail("introspection", role, "", err)
			continue
		}
		r.answered++
		queries, skipped := listQueries(&schema)
		r.skipped += skipped
		fields := make([]string, 0, len(queries))
		for f := range queries {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		if testing.Short() && len(fields) > 5 {
			fields = fields[:5]
		}
		for _, f := range fields {
			r.queries++
			var data map[string]any
			if err := c.do(ctx, queries[f], &data); err != nil {
				r.fail("query", role, f, err)
				continue
			}
			if _, ok := data[f].([]any); !ok {
				r.fail("query", role, f, fmt.Errorf("data.%s is not a list: %v", f, data[f]))
				continue
			}
			r.answered++
		}
	}
}

// metadataRoles counts the roles md names: in permissions and as
// inherited roles.
func metadataRoles(md *policies.Metadata) int {
	seen := map[string]bool{}
	for _, t := range md.Tables {
		for _, p := range t.Permissions {
			seen[p.Role] = true
		}
	}
	for _, ir := range md.InheritedRoles {
		seen[ir.Name] = true
	}
	delete(seen, "admin")
	return len(seen)
}
