package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/migrations"
)

// policyFollower keeps a server on the newest policy version the database
// has installed (serve --follow-policies): several servers on one
// database then need nothing shared, each picks up what `rowguard
// migrate up` (or another server's metadata API) installed.
type policyFollower struct {
	pool  *pgxpool.Pool
	srv   *graphql.Server
	opts  compiler.Options
	every time.Duration
	log   *slog.Logger
	// failed is the version whose load last failed, not logged again.
	failed string
}

// run polls until ctx ends.
func (f *policyFollower) run(ctx context.Context) {
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.step(ctx)
	}
}

// step reads the installed version and, when it is clean and not the
// served one, serves the metadata installed with it.
func (f *policyFollower) step(ctx context.Context) {
	version, dirty, err := installedVersion(ctx, f.pool)
	if err != nil || dirty || version == f.srv.PolicyVersion() {
		return
	}
	prog, loaded, err := loadInstalled(ctx, f.pool, f.opts)
	if err == nil {
		if version = loaded; version == f.srv.PolicyVersion() {
			return
		}
		err = f.srv.SetProgramAt(prog, version)
	}
	if err != nil {
		if f.failed != version {
			f.log.Error("policy version installed but not served: this server keeps the previous one; fix the install and run `rowguard migrate up` again",
				"policy_version", version, "serving", f.srv.PolicyVersion(), "error", err)
			f.failed = version
		}
		return
	}
	f.failed = ""
	f.log.Info("serving the newly installed policy version", "policy_version", version)
}

// installedVersion reads the newest row of rowguard.policy_migrations
// ("" when the table does not exist or is empty).
func installedVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (string, bool, error) {
	var v int64
	var dirty bool
	err := q.QueryRow(ctx, `SELECT version, dirty FROM rowguard.policy_migrations ORDER BY version DESC LIMIT 1`).Scan(&v, &dirty)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && pgErr.Code == "42P01":
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return strconv.FormatInt(v, 10), dirty, nil
}

// loadInstalled compiles the metadata of the installed policy version and
// returns it with that version, both read in one snapshot (a `migrate up`
// commits the version row and the metadata together).
func loadInstalled(ctx context.Context, pool *pgxpool.Pool, opts compiler.Options) (*compiler.Program, string, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback(context.Background())
	version, dirty, err := installedVersion(ctx, tx)
	if err != nil {
		return nil, "", err
	}
	if dirty {
		return nil, "", fmt.Errorf("policy version %s is dirty (its install failed)", version)
	}
	prog, err := migrations.LoadProgram(ctx, tx, "", opts)
	if err != nil {
		return nil, "", err
	}
	return prog, version, nil
}
