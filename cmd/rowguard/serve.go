package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/metadataapi"
	"github.com/rowguard/rowguard/graphql/ws"
	"github.com/rowguard/rowguard/internal/gcgoal"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// version is what GET /v1/version reports; set it with
// -ldflags "-X main.version=…".
var version = "dev"

// shutdownGrace is how long requests under way may take to finish after
// SIGINT or SIGTERM.
const shutdownGrace = 30 * time.Second

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dbURL := fs.String("database-url", envOr("HASURA_GRAPHQL_DATABASE_URL", os.Getenv("DATABASE_URL")), "PostgreSQL connection URL of the server's login role")
	metadata := fs.String("metadata", os.Getenv("ROWGUARD_METADATA"), "Hasura metadata directory; default: the metadata the database has installed (rowguard migrate up)")
	host := fs.String("host", envOr("HASURA_GRAPHQL_SERVER_HOST", ""), "address to listen on (all interfaces when empty)")
	port := fs.String("port", envOr("HASURA_GRAPHQL_SERVER_PORT", "8080"), "port to listen on")
	rolePrefix := fs.String("role-prefix", envOr("ROWGUARD_ROLE_PREFIX", compiler.DefaultRolePrefix), "prefix of the PostgreSQL role of each Hasura role (as installed)")
	adminSecret := fs.String("admin-secret", os.Getenv("HASURA_GRAPHQL_ADMIN_SECRET"), "admin secret; without one every request is admin")
	jwtSecret := fs.String("jwt-secret", os.Getenv("HASURA_GRAPHQL_JWT_SECRET"), "Hasura JWT configuration (JSON)")
	unauthRole := fs.String("unauthorized-role", os.Getenv("HASURA_GRAPHQL_UNAUTHORIZED_ROLE"), "role of requests without credentials")
	hook := fs.String("auth-hook", os.Getenv("HASURA_GRAPHQL_AUTH_HOOK"), "authentication webhook URL")
	hookMode := fs.String("auth-hook-mode", envOr("HASURA_GRAPHQL_AUTH_HOOK_MODE", "GET"), "authentication webhook mode: GET or POST")
	ddlURL := fs.String("metadata-api-database-url", os.Getenv("ROWGUARD_METADATA_API_DATABASE_URL"), "connection URL of a role that may change the schema (the owner or a superuser); when set, serve Hasura's metadata API (/v1/query, /v1/metadata, /v2/query) to admin requests")
	definer := fs.String("definer-role", envOr("ROWGUARD_DEFINER_ROLE", rls.DefaultDefinerRole), "BYPASSRLS role owning the cross-table helper functions (as installed)")
	loginRole := fs.String("login-role", os.Getenv("ROWGUARD_LOGIN_ROLE"), "login role the metadata API's installs grant the API roles to (default: the login role of --database-url)")
	fresh := fs.Bool("fresh-claims", os.Getenv("ROWGUARD_FRESH_CLAIMS") == "true", "compute the installed custom claims in each request's transaction from the verified user id (rowguard.rg_claims), ignoring the token's values for them")
	cpuProfile := fs.String("cpu-profile", os.Getenv("ROWGUARD_CPU_PROFILE"), "write a pprof CPU profile of the server to this file, from start to shutdown (go tool pprof -top rowguard FILE)")
	consoleOn := fs.Bool("console", os.Getenv("HASURA_GRAPHQL_ENABLE_CONSOLE") == "true", "serve the web console at /console (admin secret required)")
	mergeSets := fs.Bool("merge-sets", os.Getenv("ROWGUARD_MERGE_SETS") == "true", "read an ordered, limited list per key of the role's membership set and merge, where indexes allow (graphql.Config.MergeSets): faster when a role sees a small part of a table through few keys, slower with many keys")
	privileged := fs.Bool("allow-privileged-login", os.Getenv("ROWGUARD_ALLOW_PRIVILEGED_LOGIN") == "true", "serve even when the login role could read past the policies (superuser, BYPASSRLS, table owner): for development only")
	var lim graphql.Config
	var envErrs []error
	envInt := func(name string) int {
		v, err := strconv.Atoi(envOr(name, "0"))
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s: %w", name, err))
		}
		return v
	}
	fs.IntVar(&lim.DepthLimit, "depth-limit", envInt("ROWGUARD_DEPTH_LIMIT"), fmt.Sprintf("Hasura's depth_limit for every role but admin; 0: %d, -1: none", graphql.DefaultDepthLimit))
	fs.IntVar(&lim.NodeLimit, "node-limit", envInt("ROWGUARD_NODE_LIMIT"), fmt.Sprintf("Hasura's node_limit for every role but admin; 0: %d, -1: none", graphql.DefaultNodeLimit))
	fs.IntVar(&lim.BatchLimit, "batch-limit", envInt("ROWGUARD_BATCH_LIMIT"), fmt.Sprintf("Hasura's batch_limit (operations of a batched request); 0: %d, -1: none", graphql.DefaultBatchLimit))
	fs.IntVar(&lim.FieldLimit, "field-limit", envInt("ROWGUARD_FIELD_LIMIT"), fmt.Sprintf("fields of a request, fragments expanded, admin included; 0: %d, -1: none", graphql.DefaultFieldLimit))
	fs.IntVar(&lim.InputDepthLimit, "input-depth-limit", envInt("ROWGUARD_INPUT_DEPTH_LIMIT"), fmt.Sprintf("how deep argument values and variables nest, admin included; 0: %d, -1: none", graphql.DefaultInputDepthLimit))
	gcHeadroom := fs.Int("gc-headroom-mib", envInt("ROWGUARD_GC_HEADROOM_MIB"), "let the heap grow by at least this many MiB between garbage collections (GOGC raised while the live heap is small; nothing when GOGC or GOMEMLIMIT is set); 0: Go's default")
	maxBody := fs.Int64("max-body-bytes", int64(envInt("ROWGUARD_MAX_BODY_BYTES")), fmt.Sprintf("largest request body of every endpoint; 0: %d", graphql.DefaultMaxBodyBytes))
	timeLimit, err := time.ParseDuration(envOr("ROWGUARD_TIME_LIMIT", "0s"))
	if err != nil {
		envErrs = append(envErrs, fmt.Errorf("ROWGUARD_TIME_LIMIT: %w", err))
	}
	fs.DurationVar(&lim.TimeLimit, "time-limit", timeLimit, "Hasura's time_limit for every role but admin (statement_timeout of each statement), e.g. 30s; 0: none")
	timeouts := timeoutFlags(fs, &envErrs)
	ops := operateFlags(fs)
	replicaOpts := replicaFlags(fs, &envErrs)
	follow, err := time.ParseDuration(envOr("ROWGUARD_FOLLOW_POLICIES", "0s"))
	if err != nil {
		envErrs = append(envErrs, fmt.Errorf("ROWGUARD_FOLLOW_POLICIES: %w", err))
	}
	fs.DurationVar(&follow, "follow-policies", follow, "check the database's policy version this often and serve each newly installed one (its installed metadata), e.g. 1s; 0: serve the version of the start until restarted; not with --metadata")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(envErrs) > 0 {
		return usageError{errors.Join(envErrs...).Error()}
	}
	if err := timeouts.check(); err != nil {
		return err
	}
	// Off by default: the GOGC it sets after each collection lags a
	// burst of live heap (a PostgreSQL restart under load), and the next
	// goal is then that heap times the small heap's percent (TestSoak:
	// RSS 112 → 317 MB with 16 MiB).
	if *gcHeadroom < 0 {
		return usageError{fmt.Sprintf("--gc-headroom-mib %d: give a number of MiB, or 0 for Go's own collector pacing", *gcHeadroom)}
	}
	if *dbURL == "" {
		return usageError{"serve needs --database-url (or HASURA_GRAPHQL_DATABASE_URL)"}
	}
	switch {
	case follow < 0:
		return usageError{"--follow-policies must not be negative"}
	case follow > 0 && *metadata != "":
		return usageError{"--follow-policies serves the metadata the database installed with each version: drop --metadata (or --follow-policies)"}
	}

	obs, logCfg, tracing, flushTraces, err := newObserver(ctx, ops, *metadata, stdout)
	if err != nil {
		return err
	}
	defer flushTraces()
	acfg := auth.Config{AdminSecret: *adminSecret, UnauthorizedRole: *unauthRole, HTTPClient: webhookClient(obs, *hook)}
	if *jwtSecret != "" {
		j, err := auth.ParseJWTConfig(*jwtSecret)
		if err != nil {
			return fmt.Errorf("HASURA_GRAPHQL_JWT_SECRET: %w", err)
		}
		acfg.JWT = j
	}
	if *hook != "" {
		acfg.Webhook = &auth.WebhookConfig{URL: *hook, Mode: *hookMode}
	}
	authn, err := auth.New(acfg)
	if err != nil {
		return err
	}
	defer authn.Close()
	if *adminSecret == "" {
		fmt.Fprintln(stdout, "warning: no admin secret: every request runs as admin")
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := graphql.NewPool(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	prog, err := migrations.LoadProgram(ctx, pool, *metadata, compiler.Options{RolePrefix: *rolePrefix})
	if err != nil {
		return err
	}
	problems, err := loginProblems(ctx, pool, prog)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		if !*privileged {
			return fmt.Errorf("the database would not enforce the permissions on this server's requests:\n  %s\n(--allow-privileged-login serves anyway, for development only)", strings.Join(problems, "\n  "))
		}
		for _, p := range problems {
			fmt.Fprintf(stdout, "warning: %s\n", p)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	wsCfg, live, err := ws.FromEnv(os.Getenv)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg := lim
	cfg.Pool, cfg.Program, cfg.Auth, cfg.Version, cfg.Log, cfg.MaxBodyBytes, cfg.Live = pool, prog, authn, version, log, *maxBody, live
	readRouter, closeReplicas, err := replicaOpts.start(ctx, pool, log, stdout, obs.Metrics())
	if err != nil {
		return err
	}
	defer closeReplicas()
	cfg.Replicas = readRouter
	cfg.Observer = obs
	cfg.MergeSets = *mergeSets
	if *fresh {
		vars, err := claims.InstalledVars(ctx, pool)
		if err != nil {
			return err
		}
		cfg.FreshClaims = &graphql.FreshClaims{Vars: vars, Function: claims.Function}
		fmt.Fprintf(stdout, "fresh claims: %s computed per request by %s\n", strings.Join(vars, ", "), claims.Function)
	}
	var api *metadataapi.Handler // reports inconsistencies once it exists
	cfg.Inconsistencies = func() []string {
		if api == nil {
			return nil
		}
		return api.Inconsistencies()
	}
	srv, err := graphql.NewServer(ctx, cfg)
	if err != nil {
		return err
	}
	wsCfg.Server, wsCfg.Auth, wsCfg.Log = srv, authn, log
	if follow > 0 {
		f := &policyFollower{pool: pool, srv: srv, opts: compiler.Options{RolePrefix: *rolePrefix}, every: follow, log: log}
		followCtx, stopFollowing := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.run(followCtx)
		}()
		defer func() { stopFollowing(); <-done }() // before the pool closes
	}
	sockets := ws.NewHandler(wsCfg)

	var handler http.Handler = srv
	if *ddlURL != "" {
		ddlPool, err := pgxpool.New(ctx, *ddlURL)
		if err != nil {
			return fmt.Errorf("connect (metadata API): %w", err)
		}
		defer ddlPool.Close()
		login := *loginRole
		if login == "" {
			login = pool.Config().ConnConfig.User
		}
		api, err = metadataapi.New(ctx, metadataapi.Config{
			Server: srv, Pool: ddlPool, Auth: authn, Log: log, MaxBodyBytes: *maxBody,
			Compile: compiler.Options{RolePrefix: *rolePrefix},
			RLS:     rls.Options{DefinerRole: *definer, LoginRole: login},
		})
		if err != nil {
			return err
		}
		handler = api
	}

	if *consoleOn {
		if handler, err = withConsole(handler, srv, pool, authn, log, *ddlURL != "", compiler.Options{RolePrefix: *rolePrefix}, *maxBody); err != nil {
			return err
		}
	}
	// WebSocket handshakes on /v1/graphql: subscriptions, queries and
	// mutations over graphql-ws and graphql-transport-ws.
	handler = sockets.Mount(handler)
	if handler, err = mountMetrics(ctx, ops, obs, pool, srv.LiveCount, authn, handler, timeouts, stdout); err != nil {
		return err
	}
	handler = obs.Handler(handler)
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, *port))
	if err != nil {
		return err
	}
	obs.Logger().Startup("server_configuration", startupInfo{
		Host: *host, Port: *port, AdminSecretSet: *adminSecret != "", JWTSecretSet: *jwtSecret != "",
		AuthHook: redactedURL(*hook), UnauthRole: optional(*unauthRole),
		EnabledLogTypes: enabledLogTypes(logCfg), LogLevel: strings.ToLower(logCfg.Level.String()),
		ReadTimeout: timeouts.Read.String(), WriteTimeout: timeouts.Write.String(), IdleTimeout: timeouts.Idle.String(),
		MetadataAPI: *ddlURL != "", Version: version, Tables: len(prog.Tables), Roles: len(prog.Roles),
		LogSessionValues: logCfg.SessionValues, MetricsAddr: optional(ops.metricsAddr),
		Tracing: tracing, TraceSQL: ops.traceSQL,
	})
	if *gcHeadroom > 0 {
		stop, _ := gcgoal.Keep(uint64(*gcHeadroom) << 20)
		defer stop()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		// Written when the server shuts down (SIGTERM or interrupt).
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "serving GraphQL on http://%s/v1/graphql (%d tables, %d roles)\n", ln.Addr(), len(prog.Tables), len(prog.Roles))
	return serveHTTP(ctx, ln, timeouts.server(handler), stdout)
}

// serveHTTP serves hs on ln until ctx ends, then lets requests under way
// finish for up to shutdownGrace.
func serveHTTP(ctx context.Context, ln net.Listener, hs *http.Server, stdout io.Writer) error {
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
