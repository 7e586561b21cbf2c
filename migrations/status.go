package migrations

import (
	"context"
	"fmt"

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
	SchemaVersion uint
	SchemaDirty   bool
	SchemaPending bool
	// SchemaLedger is the table that records the applied versions;
	// SchemaProblem says why `migrate up` would refuse to continue from
	// it (a dirty version, a gap), nil when it would not.
	SchemaLedger   string
	SchemaProblem  error
	PolicyVersion  int64 // 0: no policies installed
	PolicyHash     string
	PolicyPending  bool // the metadata compiles to something other than what is installed
	MetadataErrors error
}

// Status reads what is installed and whether the metadata and migrations
// directory would change it.
func Status(ctx context.Context, cfg Config) (*State, error) {
	st := &State{}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if cfg.Migrations != "" {
		if err := schemaStatus(ctx, conn, cfg, st); err != nil {
			return nil, err
		}
	}
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

// schemaStatus fills in st's schema fields, in a transaction it rolls
// back: it changes nothing, not even creating the ledger.
func schemaStatus(ctx context.Context, conn *pgx.Conn, cfg Config, st *State) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer tx.Rollback(context.Background())
	sm, err := openSchemaMigrations(ctx, tx, cfg)
	if err != nil {
		return err
	}
	st.SchemaLedger = sm.ledger.where()
	exists, err := sm.ledger.exists(ctx, tx)
	if err != nil || !exists {
		st.SchemaPending = len(sm.folder.versions) > 0
		return err
	}
	v, dirty, err := sm.ledger.version(ctx, tx)
	if err != nil {
		return err
	}
	if v >= 0 {
		st.SchemaVersion = uint(v)
	}
	st.SchemaDirty = dirty
	st.SchemaProblem = sm.ledger.check(ctx, tx, sm.folder)
	pending, err := sm.pending(ctx, tx)
	st.SchemaPending = len(pending) > 0
	return err
}

// compileLive compiles the metadata against the database's current schema.
func compileLive(ctx context.Context, conn *pgx.Conn, cfg Config) (string, error) {
	md, _, err := policies.ReadSource(cfg.Metadata, cfg.Source)
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
