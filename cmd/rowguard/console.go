package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/console"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// withConsole mounts the web console (package console) in front of h for
// `rowguard serve --console`: it reads the installed metadata, and the
// page applies changes through the metadata API when it is mounted.
func withConsole(h http.Handler, srv *graphql.Server, pool *pgxpool.Pool, authn graphql.Authenticator, log *slog.Logger, metadataAPI bool, opts compiler.Options, maxBody int64) (http.Handler, error) {
	c, err := console.New(console.Config{
		Server: srv, Pool: pool, Auth: authn, Log: log, MaxBodyBytes: maxBody,
		Store: console.InstalledStore{Querier: pool}, MetadataAPI: metadataAPI, Compile: opts,
	})
	if err != nil {
		return nil, err
	}
	return c.Mount(h), nil
}

// runConsole installs a metadata directory on a local database and serves
// the console over it: saving writes the directory and installs again.
func runConsole(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	dbURL := fs.String("database-url", envOr("HASURA_GRAPHQL_DATABASE_URL", os.Getenv("DATABASE_URL")), "PostgreSQL connection URL of a role that may install (the owner or a superuser), as for migrate up")
	metadata := fs.String("metadata", os.Getenv("ROWGUARD_METADATA"), "Hasura metadata directory (or exported file) the console edits")
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.String("port", "9695", "port to listen on (0: any free port)")
	rolePrefix := fs.String("role-prefix", envOr("ROWGUARD_ROLE_PREFIX", compiler.DefaultRolePrefix), "prefix of the PostgreSQL role of each Hasura role")
	definer := fs.String("definer-role", envOr("ROWGUARD_DEFINER_ROLE", rls.DefaultDefinerRole), "BYPASSRLS role owning the cross-table helper functions")
	adminSecret := fs.String("admin-secret", os.Getenv("HASURA_GRAPHQL_ADMIN_SECRET"), "admin secret the page asks for; a random one is printed when empty")
	var cf claimsFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dbURL == "" || *metadata == "" {
		return usageError{"console needs --metadata DIR and --database-url URL (a role that may install, as for migrate up)"}
	}
	secret := *adminSecret
	if secret == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		secret = hex.EncodeToString(b)
		fmt.Fprintf(stdout, "admin secret (enter it in the page): %s\n", secret)
	}
	copts := compiler.Options{RolePrefix: *rolePrefix}
	ropts := rls.Options{DefinerRole: *definer}
	// The custom claims install with the policies, as with migrate up:
	// each install drops rowguard's functions first. The permission
	// variables page may rewrite the configuration, so each install reads
	// it again; a broken one stops the console here.
	if _, err := cf.load(*metadata); err != nil {
		return err
	}
	extend := cf.extendLive(*metadata, ropts)
	sources := cf.sources(*metadata)
	if err := migrations.Up(ctx, migrations.Config{DatabaseURL: *dbURL, Metadata: *metadata, Compile: copts, RLS: ropts, Extend: extend}); err != nil {
		return fmt.Errorf("install %s: %w", *metadata, err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := graphql.NewPool(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	prog, err := migrations.LoadProgram(ctx, pool, *metadata, copts)
	if err != nil {
		return err
	}
	authn, err := auth.New(auth.Config{AdminSecret: secret})
	if err != nil {
		return err
	}
	defer authn.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: prog, Auth: authn, Version: version, Log: log})
	if err != nil {
		return err
	}
	store := &console.DirStore{Path: *metadata, DatabaseURL: *dbURL, Compile: copts, RLS: ropts, Extend: extend,
		Installed: func(ctx context.Context) error {
			prog, err := migrations.LoadProgram(ctx, pool, *metadata, copts)
			if err != nil {
				return err
			}
			return srv.SetProgram(prog)
		}}
	c, err := console.New(console.Config{Server: srv, Pool: pool, Auth: authn, Log: log, Store: store, Claims: &sources, Compile: copts, RLS: ropts})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, *port))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "console on http://%s/console/ (GraphQL on /v1/graphql; %d tables, %d roles)\n", ln.Addr(), len(prog.Tables), len(prog.Roles))
	return serveHTTP(ctx, ln, demoHTTPServer(c.Mount(srv)), stdout)
}
