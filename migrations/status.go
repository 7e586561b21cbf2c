package migrations

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// State is what `rowguard migrate status` reports.
type State struct {
	// SchemaVersion is the applied schema migration version (0 for none,
	// or when no migrations directory is configured); SchemaDirty is set
	// when a schema migration failed half-way.
	SchemaVersion  uint
	SchemaDirty    bool
	SchemaPending  bool
	PolicyVersion  int64 // 0: no policies installed
	PolicyHash     string
	PolicyPending  bool // the metadata compiles to something other than what is installed
	MetadataErrors error
}

// Status reads what is installed and whether the metadata and migrations
// directory would change it.
func Status(ctx context.Context, cfg Config) (*State, error) {
	st := &State{}
	if cfg.Migrations != "" {
		m, err := schemaMigrator(cfg)
		if err != nil {
			return nil, err
		}
		v, dirty, err := m.Version()
		m.Close()
		if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
			return nil, fmt.Errorf("schema migration version: %w", err)
		}
		st.SchemaVersion, st.SchemaDirty = v, dirty
		if !dirty {
			if st.SchemaPending, err = schemaPending(cfg); err != nil {
				return nil, err
			}
		}
	}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('rowguard.policy_history') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if exists {
		head, err := Current(ctx, conn)
		if err != nil {
			return nil, err
		}
		if head != nil {
			st.PolicyVersion, st.PolicyHash = head.Version, head.Hash
		}
	}
	script, err := compileLive(ctx, conn, cfg)
	if err != nil {
		st.MetadataErrors = err
		return st, nil
	}
	st.PolicyPending = Hash(script) != st.PolicyHash
	return st, nil
}

// compileLive compiles the metadata against the database's current schema.
func compileLive(ctx context.Context, conn *pgx.Conn, cfg Config) (string, error) {
	md, err := policies.Load(cfg.Metadata)
	if err != nil {
		return "", err
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		return "", err
	}
	prog, errs := compiler.Compile(cat, md, cfg.Compile)
	if len(errs) > 0 {
		return "", errs
	}
	return cfg.script(prog)
}

// Diff compares what the database enforces now with what installing the
// metadata would make it enforce: "- " lines are in the database but not
// in the metadata (drift, or hand-made changes), "+ " lines the other way.
// It changes nothing: the install it compares against is rolled back.
func Diff(ctx context.Context, cfg Config) ([]string, error) {
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	script, err := compileLive(ctx, conn, cfg)
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, setupSQL+"\nCREATE TABLE IF NOT EXISTS rowguard.roles (hasura_role text PRIMARY KEY, pg_role name NOT NULL UNIQUE);"); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	have, err := rls.Snapshot(ctx, tx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, script); err != nil {
		return nil, fmt.Errorf("diff: compiled policies do not install: %w", err)
	}
	want, err := rls.Snapshot(ctx, tx)
	if err != nil {
		return nil, err
	}
	return rls.DiffLines(have, want), nil
}
