// Command bench measures rowguard against PostGraphile v5 and against the
// PostgreSQL limit (pgbench replaying the very transaction rowguard sends),
// on one machine, one database and one dataset, and writes the table to
// bench/results/<date>.md (<date>-2.md, -3… for a day's later runs). Run it with scripts/bench.sh from the repository
// root; see `go run ./bench -h` for the knobs.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
)

// config is the command line.
type config struct {
	data             dataset
	scale            bool
	duration         time.Duration
	rounds           int // interleaved rounds of every measurement; the report gives medians
	conns, threads   int
	databaseURL      string
	out, work        string
	skipPostGraphile bool
	skipCompile      bool
	compileTables    int
	compileRoles     int
	only             string // comma-separated query names; "" for all
	rowguardBin      string // a built rowguard; "" builds ./cmd/rowguard
	claimsOnly       bool   // only compare fresh claims with token claims
	cpuProfile       string // where the measured rowguard server writes its CPU profile; "" for none
	explain          string // comma-separated names of queries whose plans are reported even when they meet their targets
	claimsRounds     int    // paired rounds of that comparison
	claimsInvalidate int    // before this round (from 1), invalidate the cached plans on articles; 0: never
	subscriptions    bool   // only the live-query benchmark
	replicas         int    // only the read-replica benchmark, up to this many standbys; 0: off
	replicaRounds    int    // its interleaved rounds
	subs             subParams
}

// explains reports whether the plans of query are reported whatever its
// results (-explain).
func (c *config) explains(query string) bool {
	return c.explain != "" && slices.Contains(strings.Split(c.explain, ","), query)
}

// Names of what the benchmark creates. The roles are cluster-wide.
const (
	benchDatabase = "rowguard_bench"
	rolePrefix    = "rgbench_"
	definerRole   = "rgbench_definer"
	loginRole     = "rgbench_login"
	loginPassword = "rowguard-bench"
	adminSecret   = "rowguard-bench-secret"
)

func main() {
	var c config
	flag.BoolVar(&c.scale, "scale", false, "1,000,000 articles instead of 100,000")
	flag.IntVar(&c.data.Users, "users", 1000, "users")
	flag.IntVar(&c.data.Orgs, "orgs", 100, "organizations")
	flag.IntVar(&c.data.Memberships, "memberships", 3, "memberships per user")
	flag.IntVar(&c.data.Articles, "articles", 0, "articles (default 100,000; 1,000,000 with --scale)")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each wrk and pgbench run")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of every measurement (rowguard as user and as admin, pgbench, PostGraphile), interleaved, the user's and the admin's order swapped every other round; the report gives each figure's median over the rounds")
	flag.IntVar(&c.conns, "connections", 16, "wrk connections = pgbench clients = each server's pool size")
	flag.IntVar(&c.threads, "threads", 2, "wrk and pgbench threads")
	flag.StringVar(&c.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "superuser URL of a PostgreSQL server to use instead of a throwaway cluster")
	flag.StringVar(&c.out, "out", "bench/results", "directory of the results files")
	flag.StringVar(&c.work, "work", "bench/.work", "directory for the built binary, node_modules and pgbench logs (gitignored)")
	flag.BoolVar(&c.skipPostGraphile, "skip-postgraphile", false, "do not measure PostGraphile")
	flag.BoolVar(&c.skipCompile, "skip-compile", false, "do not time the compile and migrate of a large generated schema")
	flag.IntVar(&c.compileTables, "compile-tables", 500, "tables of the generated compile benchmark")
	flag.IntVar(&c.compileRoles, "compile-roles", 10, "roles of the generated compile benchmark")
	flag.StringVar(&c.only, "queries", "", "comma-separated names of the queries to run (list,nested,aggregate,membership,mutation); default all")
	flag.StringVar(&c.rowguardBin, "rowguard", "", "use this rowguard binary instead of building ./cmd/rowguard")
	flag.StringVar(&c.explain, "explain", "", "comma-separated names of queries whose user and admin plans (EXPLAIN ANALYZE, BUFFERS) the results file shows even when they meet their targets")
	flag.StringVar(&c.cpuProfile, "cpu-profile", "", "write a pprof CPU profile of the measured rowguard server (every query, user and admin) to this file (go tool pprof -top FILE)")
	flag.BoolVar(&c.claimsOnly, "claims", false, "only compare serve --fresh-claims with token claims on the membership query; writes <date>-claims.md")
	flag.BoolVar(&c.subscriptions, "subscriptions", false, "only the live-query benchmark (change-driven vs polling every cohort); writes <date>-subscriptions.md")
	flag.IntVar(&c.subs.Subs, "sub-count", 10_000, "live subscriptions (one WebSocket each)")
	flag.IntVar(&c.subs.Identities, "sub-identities", 1000, "identities the subscriptions are spread over (at most -users)")
	flag.DurationVar(&c.subs.Writes, "sub-writes", 30*time.Second, "how long the one-update-a-second phase runs")
	flag.DurationVar(&c.subs.Idle, "sub-idle", 10*time.Second, "how long the idle phase runs")
	flag.IntVar(&c.claimsRounds, "claims-rounds", defaultClaimsRounds, "paired rounds of -claims (one run of each mode back to back)")
	flag.IntVar(&c.claimsInvalidate, "claims-invalidate", 0, "before this round of -claims, invalidate every cached plan that reads articles (a reloption set to its default), as autovacuum does; 0: never")
	flag.IntVar(&c.replicas, "replicas", 0, "only the read-replica benchmark: read throughput with 0, 1 … N hot standbys as read replicas, started by the harness; writes <date>-replicas.md")
	flag.IntVar(&c.replicaRounds, "replica-rounds", 3, "interleaved rounds of -replicas")
	flag.Parse()
	if c.data.Articles == 0 {
		c.data.Articles = 100_000
		if c.scale {
			c.data.Articles = 1_000_000
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, c config) error {
	if err := c.data.validate(); err != nil {
		return err
	}
	if _, err := os.Stat("bench/metadata"); err != nil {
		return fmt.Errorf("run from the repository root (bench/metadata: %w)", err)
	}
	if _, err := exec.LookPath("wrk"); err != nil && !c.subscriptions {
		return fmt.Errorf("wrk not found: install it (Debian: apt-get install wrk), or run scripts/bench.sh")
	}
	binDir, err := pgcluster.BinDir()
	if err != nil {
		return err
	}
	pgbench := filepath.Join(binDir, "pgbench")
	work, err := filepath.Abs(c.work)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}

	serverURL := c.databaseURL
	if c.replicas < 0 || c.replicas > 0 && serverURL != "" {
		return fmt.Errorf("-replicas %d: needs the harness's own cluster to copy standbys from (drop -database-url), and a count of at least 1", c.replicas)
	}
	var cluster *pgcluster.Cluster
	if serverURL == "" {
		logf("starting a throwaway PostgreSQL cluster")
		cluster, err = pgcluster.Start(ctx)
		if err != nil {
			return err
		}
		defer cluster.Stop()
		serverURL = cluster.URL("postgres")
		if c.claimsOnly {
			// The claims comparison reads per-statement times and plans
			// of each round from pg_stat_statements (claimsStatements).
			if err := preloadStatements(ctx, cluster); err != nil {
				return err
			}
		}
	}
	env := &environment{cfg: c, work: work, pgbench: pgbench}
	if err := env.setup(ctx, serverURL); err != nil {
		return err
	}
	defer env.close()
	if c.subscriptions {
		rep, err := env.measureSubscriptions(ctx, c.subs)
		if err != nil {
			return err
		}
		return writeResults(c, "-subscriptions", rep.markdown())
	}
	if c.replicas > 0 {
		rep, err := env.measureReplicas(ctx, cluster, c.replicas, c.replicaRounds)
		if err != nil {
			return err
		}
		return writeResults(c, "-replicas", rep.markdown())
	}
	if c.claimsOnly {
		rep, err := env.measureClaims(ctx)
		if err != nil {
			return err
		}
		return writeResults(c, "-claims", rep.markdown())
	}
	rep, err := env.measure(ctx)
	if err != nil {
		return err
	}
	if !c.skipCompile {
		logf("timing compile and migrate up of %d tables × %d roles", c.compileTables, c.compileRoles)
		cs, err := compileScale(ctx, serverURL, env.bin, work, c.compileTables, c.compileRoles)
		if err != nil {
			rep.compileErr = err.Error()
		} else {
			rep.compile = cs
		}
	}
	suffix := ""
	if c.scale {
		suffix = "-scale" // so a day's default run and --scale run both stay
	}
	return writeResults(c, suffix, rep.markdown())
}

// writeResults prints text and writes it to <out>/<date><suffix>.md; a
// day's later runs go to <date><suffix>-2.md, -3…: an earlier results
// file is never overwritten.
func writeResults(c config, suffix, text string) error {
	fmt.Println(text)
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	name := time.Now().Format("2006-01-02") + suffix
	file := filepath.Join(c.out, name+".md")
	for n := 2; ; n++ {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			break
		}
		file = filepath.Join(c.out, fmt.Sprintf("%s-%d.md", name, n))
	}
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return err
	}
	logf("wrote %s", file)
	return nil
}

// environment is the benchmark's database, binary and credentials.
type environment struct {
	cfg      config
	work     string
	pgbench  string
	bin      string // the built rowguard
	superURL string // superuser, benchmark database
	loginURL string // the servers' login role, benchmark database
	jwtKey   string
	jwtCfg   string
	token    string
	loadTime time.Duration
	conn     *pgx.Conn // superuser
	// postmaster is the PostgreSQL server's process (postgresCPU).
	postmaster int
}

func (e *environment) close() {
	if e.conn != nil {
		e.conn.Close(context.Background())
	}
}

// setup creates the benchmark database and login role, loads the data,
// builds rowguard and installs the permissions with `rowguard migrate up`.
func (e *environment) setup(ctx context.Context, serverURL string) error {
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(ctx)
	for _, sql := range []string{
		"DROP DATABASE IF EXISTS " + benchDatabase + " WITH (FORCE)",
		"CREATE DATABASE " + benchDatabase,
		// The login role is an ordinary role: it switches to the API roles
		// and, for admin requests, to the install's NOLOGIN BYPASSRLS admin
		// role (compiler.Program.AdminPGRole); `migrate up --login-role`
		// grants it all of them. NOBYPASSRLS also undoes an earlier run's
		// BYPASSRLS on a reused server.
		`DO $$ BEGIN
		  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + loginRole + `') THEN
		    CREATE ROLE ` + loginRole + `;
		  END IF;
		END $$`,
		"ALTER ROLE " + loginRole + " LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '" + loginPassword + "'",
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	pc, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return err
	}
	e.superURL = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", pc.User, pc.Password, pc.Host, pc.Port, benchDatabase)
	e.loginURL = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", loginRole, loginPassword, pc.Host, pc.Port, benchDatabase)
	e.conn, err = pgx.Connect(ctx, e.superURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	logf("loading %d users, %d organizations, %d memberships each, %d articles", e.cfg.data.Users, e.cfg.data.Orgs, e.cfg.data.Memberships, e.cfg.data.Articles)
	if e.loadTime, err = e.cfg.data.load(ctx, e.conn); err != nil {
		return err
	}
	if e.cfg.rowguardBin != "" {
		if e.bin, err = filepath.Abs(e.cfg.rowguardBin); err != nil {
			return err
		}
	} else {
		e.bin = filepath.Join(e.work, "rowguard")
		logf("building rowguard")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", e.bin, "./cmd/rowguard").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/rowguard: %w\n%s", err, out)
		}
	}
	logf("rowguard migrate up")
	if out, err := exec.CommandContext(ctx, e.bin, "migrate", "up", "--database-url", e.superURL, "--metadata", "bench/metadata",
		"--role-prefix", rolePrefix, "--definer-role", definerRole, "--login-role", loginRole).CombinedOutput(); err != nil {
		return fmt.Errorf("rowguard migrate up: %w\n%s", err, out)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	e.jwtKey = hex.EncodeToString(key)
	e.jwtCfg = fmt.Sprintf(`{"type":"HS256","key":%q}`, e.jwtKey)
	e.token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "1",
		"exp": time.Now().Add(24 * time.Hour).Unix(),
		"https://hasura.io/jwt/claims": map[string]any{
			"x-hasura-allowed-roles": []string{"user"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       "1",
		},
	}).SignedString([]byte(e.jwtKey))
	return err
}

// pooled returns the login URL with a pool of the benchmark's size.
func (e *environment) pooled() string {
	return fmt.Sprintf("%s&pool_max_conns=%d&pool_min_conns=%d", e.loginURL, e.cfg.conns, e.cfg.conns)
}

func (e *environment) pgRolesJSON() string {
	b, _ := json.Marshal(map[string]string{"user": compiler.PGRoleName(rolePrefix, "user")})
	return string(b)
}
