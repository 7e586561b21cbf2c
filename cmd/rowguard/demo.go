package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// demoStep is one request the demo makes as a role, straight in SQL, to show
// that PostgreSQL itself enforces the permissions.
type demoStep struct {
	role  string
	vars  map[string]string
	query string
	note  string
}

var demoSteps = []demoStep{
	{"anonymous", nil, "SELECT id, title FROM article ORDER BY id", "published articles only"},
	{"anonymous", nil, "SELECT id, title, published FROM article ORDER BY id", "`published` is not among anonymous's columns"},
	{"user", map[string]string{"x-hasura-user-id": "1"}, "SELECT id, title, user_id FROM article ORDER BY id", "Alice: her own, the published ones, and her organization's"},
	{"user", map[string]string{"x-hasura-user-id": "3"}, "SELECT id, title, user_id FROM article ORDER BY id", "Carol: her draft too, not Alice's"},
	{"user", map[string]string{"x-hasura-user-id": "3"}, "INSERT INTO article (title) VALUES ('Carol writes') RETURNING id, user_id", "user_id is preset from X-Hasura-User-Id"},
	{"user", map[string]string{"x-hasura-user-id": "3"}, "UPDATE article SET title = 'hijacked' WHERE id = 1 RETURNING id", "Alice's article is not Carol's to update"},
	{"org_viewer", map[string]string{"x-hasura-allowed-organizations": "{2}"}, "SELECT id, title FROM article ORDER BY id", "an array session variable with _in"},
}

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "use this PostgreSQL (superuser) instead of a throwaway cluster")
	example := fs.String("example", "examples/blog", "example directory with migrations/ and metadata/")
	listen := fs.String("listen", "127.0.0.1:8080", "address the demo GraphQL server listens on")
	freshListen := fs.String("fresh-listen", "127.0.0.1:8081", "address the demo's second server, with --fresh-claims, listens on (when the example configures custom claims)")
	exit := fs.Bool("exit", false, "stop after the demo requests instead of serving until Ctrl-C")
	database := fs.String("database", "rowguard_demo", "name of the database the demo (re)creates")
	rolePrefix := fs.String("role-prefix", compiler.DefaultRolePrefix, "prefix of the PostgreSQL role of each Hasura role")
	definer := fs.String("definer-role", rls.DefaultDefinerRole, "owner of the SECURITY DEFINER helpers relationship rules use")
	loginRole := fs.String("login-role", "rowguard_demo_server", "login role the demo server connects as (created, with a fresh password)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := compiler.Options{RolePrefix: *rolePrefix}
	url := *dbURL
	if url == "" {
		fmt.Fprintln(stdout, "starting a throwaway PostgreSQL cluster …")
		cluster, err := pgcluster.Start(ctx)
		if err != nil {
			return err
		}
		defer cluster.Stop()
		url = cluster.URL("postgres")
	}
	demoURL, cleanup, err := freshDatabase(ctx, url, *database)
	if err != nil {
		return err
	}
	defer cleanup()

	cfg := migrations.Config{
		DatabaseURL: demoURL,
		Migrations:  filepath.Join(*example, "migrations"),
		Metadata:    filepath.Join(*example, "metadata"),
		Compile:     opts,
		RLS:         rls.Options{DefinerRole: *definer, LoginRole: *loginRole},
		Log:         stdout,
	}
	// Custom claims beside the metadata (examples/blog/rowguard_claims.json)
	// are installed with the policies, as migrate up does.
	var cf claimsFlags
	claimsCfg, err := cf.load(cfg.Metadata)
	if err != nil {
		return err
	}
	if cfg.Extend, err = cf.extend(cfg.Metadata, cfg.RLS); err != nil {
		return err
	}
	loginURL, err := createLoginRole(ctx, demoURL, *loginRole)
	if err != nil {
		return err
	}
	if err := migrations.Up(ctx, cfg); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, demoURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var policies int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_policies WHERE policyname LIKE 'rg\_%'`).Scan(&policies); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d row-level security policies installed in %s\n", policies, demoURL)
	for _, s := range demoSteps {
		fmt.Fprintf(stdout, "\n-- as %s %s: %s\n%s\n", s.role, formatVars(s.vars), s.note, s.query)
		out, err := asRole(ctx, conn, cfg.Compile, s)
		if err != nil {
			fmt.Fprintf(stdout, "  %v\n", err)
			continue
		}
		fmt.Fprint(stdout, out)
	}
	fmt.Fprintf(stdout, "\nTry it in psql (the same policies apply to every client):\n  psql '%s'\n  BEGIN; SET LOCAL ROLE %s; SELECT set_config('hasura.x_hasura_user_id', '2', true);\n  SELECT id, title FROM article; ROLLBACK;\n", demoURL, compiler.PGRoleName(*rolePrefix, "user"))

	if claimsCfg != nil {
		fmt.Fprintf(stdout, "  -- the custom claims, computed in the database as --fresh-claims does:\n  BEGIN; SET LOCAL ROLE %s; SELECT set_config('hasura.x_hasura_user_id', '1', true);\n  SELECT %s(); SELECT id, title FROM article; ROLLBACK;\n", compiler.PGRoleName(*rolePrefix, demoClaimsRole), claims.Function)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var fresh *demoFresh
	if claimsCfg != nil {
		// Alice's claims as an auth service computes them when she signs in.
		if fresh, err = newDemoFresh(ctx, conn, claimsCfg, opts, *freshListen, "1"); err != nil {
			return err
		}
	}
	api, err := startDemoAPI(ctx, loginURL, opts, *listen, fresh, stdout)
	if err != nil {
		return err
	}
	return api.run(ctx, stdout, !*exit)
}

func formatVars(vars map[string]string) string {
	var parts []string
	for k, v := range vars {
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// asRole runs one statement as a role in a transaction that is rolled back.
func asRole(ctx context.Context, conn *pgx.Conn, opts compiler.Options, s demoStep) (string, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx)
	prefix := opts.RolePrefix
	if prefix == "" {
		prefix = compiler.DefaultRolePrefix
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true)", compiler.PGRoleName(prefix, s.role)); err != nil {
		return "", err
	}
	for k, v := range s.vars {
		setting, _ := compiler.SettingName(k)
		if _, err := tx.Exec(ctx, "SELECT set_config($1, $2, true)", setting, v); err != nil {
			return "", err
		}
	}
	rows, err := tx.Query(ctx, s.query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return "", err
		}
		var cells []string
		for i, v := range vals {
			cells = append(cells, fmt.Sprintf("%s=%v", rows.FieldDescriptions()[i].Name, v))
		}
		fmt.Fprintf(&b, "  %s\n", strings.Join(cells, "  "))
		n++
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "  (%d rows)\n", n)
	return b.String(), nil
}

// freshDatabase (re)creates database name on the server at url and returns
// its URL and a function that drops it.
func freshDatabase(ctx context.Context, url, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	q := compiler.QuoteIdent(name)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+q+" WITH (FORCE)"); err != nil {
		return "", nil, fmt.Errorf("drop demo database: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+q); err != nil {
		return "", nil, fmt.Errorf("create demo database: %w", err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", nil, err
	}
	return databaseURL(cfg, cfg.User, cfg.Password, name), func() {}, nil
}

// createLoginRole (re)creates role as an ordinary NOINHERIT login with a
// fresh random password, and returns the URL that logs in as it.
func createLoginRole(ctx context.Context, url, role string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return "", err
	}
	password := hex.EncodeToString(pw)
	q := compiler.QuoteIdent(role)
	if _, err := conn.Exec(ctx, "DO $rg$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = "+compiler.QuoteLiteral(role)+") THEN CREATE ROLE "+q+"; END IF; END $rg$"); err != nil {
		return "", fmt.Errorf("create login role: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER ROLE "+q+" LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS PASSWORD "+compiler.QuoteLiteral(password)); err != nil {
		return "", fmt.Errorf("create login role: %w", err)
	}
	cfg := conn.Config()
	return databaseURL(cfg, role, password, cfg.Database), nil
}

// databaseURL is the URL of database on cfg's server as user: net/url
// escapes what a password or name may hold (@, /, :, %, spaces); a Unix
// socket directory goes in the host parameter.
func databaseURL(cfg *pgx.ConnConfig, user, password, database string) string {
	port := strconv.Itoa(int(cfg.Port))
	u := neturl.URL{Scheme: "postgres", User: neturl.User(user),
		Host: net.JoinHostPort(cfg.Host, port), Path: "/" + database, RawQuery: "sslmode=disable"}
	if strings.HasPrefix(cfg.Host, "/") {
		u.Host = ""
		u.RawQuery = neturl.Values{"host": {cfg.Host}, "port": {port}, "sslmode": {"disable"}}.Encode()
	}
	if password != "" {
		u.User = neturl.UserPassword(user, password)
	}
	return u.String()
}
