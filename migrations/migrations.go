package migrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers pgx5://
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// Config says what to install where.
type Config struct {
	DatabaseURL string
	// Migrations is a directory of schema migrations, in the Hasura CLI's
	// layout (<version>_<name>/up.sql) or golang-migrate's
	// (<version>_<name>.up.sql); empty when the schema is managed
	// elsewhere.
	Migrations string
	// HasuraLedger records the applied schema migrations in
	// hdb_catalog.schema_migrations, one row per version, as the Hasura
	// CLI does, even on a database that has neither ledger yet (a project
	// folder). Otherwise a database that has Hasura's ledger and not
	// golang-migrate's schema_migrations keeps Hasura's.
	HasuraLedger bool
	// Seeds, when set, is a directory of seed data (.sql files, applied
	// in name order after the schema migrations and before the policy
	// install, in the same transaction), as `hasura seed apply` applies a
	// project's seeds/<source>/. Seeds are not recorded: apply them once,
	// to a fresh database.
	Seeds string
	// Source is the database's name in the Hasura CLI's catalog state
	// (hdb_catalog.hdb_version.cli_state); default DefaultSource.
	Source string
	// Metadata is the Hasura metadata directory or exported file.
	Metadata string
	Compile  compiler.Options
	RLS      rls.Options
	// Log receives one line per step; nil discards.
	Log io.Writer
	// Extend, when set, renders SQL to install with the policies, in the
	// same version (package claims' functions): it runs after the policy
	// script, which drops every function of schema rowguard first.
	Extend func(prog *compiler.Program) (string, error)
}

// script renders what installing prog runs: the policies, then Extend's.
func (c Config) script(prog *compiler.Program) (string, error) {
	s := rls.Emit(prog, c.RLS)
	if c.Extend == nil {
		return s, nil
	}
	more, err := c.Extend(prog)
	if err != nil {
		return "", err
	}
	return s + more, nil
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Installed is the policy install a database has.
type Installed struct {
	Version int64
	Hash    string
	SQL     string
	Source  *policies.Source
}

const setupSQL = `CREATE SCHEMA IF NOT EXISTS rowguard;
CREATE TABLE IF NOT EXISTS rowguard.policy_history (
  version bigint PRIMARY KEY,
  hash text NOT NULL,
  sql text NOT NULL,
  source jsonb NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE rowguard.policy_history IS 'rowguard: every policy install, newest last; managed by rowguard migrate';`

// Up applies pending schema migrations, then compiles the metadata against
// the resulting schema and installs it when it differs from what is
// installed. All of it runs in one transaction: the policies are lifted
// while the schema migrations run (a migration that drops or retypes a
// column a policy reads would fail otherwise) and installed again before
// the commit, so other sessions never see the tables without them, and a
// failure anywhere leaves the database exactly as it was, with no dirty
// version to clear: fix the cause and run Up again.
func Up(ctx context.Context, cfg Config) error {
	conn, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowguard migrate'))`); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	head, err := Current(ctx, tx)
	if err != nil {
		return err
	}

	if err := cleanPolicyVersion(ctx, tx, head); err != nil {
		return err
	}
	lifted := false
	if cfg.Migrations != "" {
		sm, err := openSchemaMigrations(ctx, tx, cfg)
		if err != nil {
			return err
		}
		if err := sm.ledger.create(ctx, tx); err != nil {
			return err
		}
		if err := sm.ledger.check(ctx, tx, sm.folder); err != nil {
			return fmt.Errorf("schema migrations: %w", err)
		}
		pending, err := sm.pending(ctx, tx)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			if head != nil {
				if _, err := tx.Exec(ctx, rls.Teardown()); err != nil {
					return fmt.Errorf("lift policies before schema migrations: %w", err)
				}
				lifted = true
			}
			if err := sm.up(ctx, tx); err != nil {
				return fmt.Errorf("schema migrations: %w\nnothing was changed: the migrations and the policy install run in one transaction, which was rolled back; fix the cause and run `rowguard migrate up` again", err)
			}
			cfg.logf("schema migrations applied: %d (now at version %d)", len(pending), pending[len(pending)-1])
		}
	}

	if cfg.Seeds != "" {
		if err := applySeeds(ctx, tx, cfg); err != nil {
			return err
		}
	}

	md, src, err := policies.ReadSource(cfg.Metadata, cfg.Source)
	if err != nil {
		return err
	}
	cat, err := compiler.LoadCatalog(ctx, tx, nil)
	if err != nil {
		return err
	}
	prog, errs := compiler.Compile(cat, md, cfg.Compile)
	if len(errs) > 0 {
		return errs
	}
	for _, w := range prog.Warnings {
		cfg.logf("warning: %v", w)
	}
	script, err := cfg.script(prog)
	if err != nil {
		return err
	}
	hash := Hash(script)
	if head != nil && head.Hash == hash {
		if lifted {
			if _, err := tx.Exec(ctx, head.SQL); err != nil {
				return fmt.Errorf("reinstall policies: %w", installError(err, head.SQL))
			}
		}
		warnTriggers(ctx, tx, cfg, prog)
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		cfg.logf("policies up to date (version %d, %s)", head.Version, hash[:12])
		return nil
	}
	version, err := Apply(ctx, tx, script, src)
	if err != nil {
		return err
	}
	warnTriggers(ctx, tx, cfg, prog)
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	cfg.logf("policies installed (version %d, %s)", version, hash[:12])
	return nil
}

// cleanPolicyVersion clears a dirty policy version golang-migrate left in
// rowguard.policy_migrations when a policy install failed before installs
// ran in one transaction, so `migrate down` works again: the version
// becomes the installed one.
func cleanPolicyVersion(ctx context.Context, tx pgx.Tx, head *Installed) error {
	if _, err := tx.Exec(ctx, policyMigrationsSQL+"; DELETE FROM rowguard.policy_migrations WHERE dirty"); err != nil {
		return fmt.Errorf("policy version: %w", err)
	}
	if head == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rowguard.policy_migrations (version, dirty) SELECT $1, false WHERE NOT EXISTS (SELECT FROM rowguard.policy_migrations)`, head.Version); err != nil {
		return fmt.Errorf("policy version: %w", err)
	}
	return nil
}

// Hash identifies a policy script.
func Hash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return hex.EncodeToString(sum[:])
}

// migrateError unwraps golang-migrate's error so PostgreSQL's message and
// position come first.
func migrateError(err error) error {
	var me database.Error
	if errors.As(err, &me) && me.OrigErr != nil {
		return fmt.Errorf("%w", me.OrigErr)
	}
	return err
}

// connect opens a connection to cfg's database with the rowguard schema
// and its history table in place.
func connect(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := conn.Exec(ctx, setupSQL); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("create rowguard schema: %w", err)
	}
	return conn, nil
}

// Down rolls back the last policy install, restoring the one before it
// (or no policies at all after the first).
func Down(ctx context.Context, cfg Config) error {
	conn, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	hist, err := history(ctx, conn)
	if err != nil {
		return err
	}
	if len(hist) == 0 {
		cfg.logf("no policy install to roll back")
		return nil
	}
	m, err := policyMigrator(cfg, hist, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Steps(-1); err != nil {
		return fmt.Errorf("roll back policies: %w", migrateError(err))
	}
	cfg.logf("policies rolled back to version %d", hist[len(hist)-1].Version-1)
	return nil
}

// Current returns the newest policy install, or nil when there is none.
func Current(ctx context.Context, q compiler.Querier) (*Installed, error) {
	rows, err := q.Query(ctx, `SELECT to_regclass('rowguard.policy_history') IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read installed policies: %w", err)
	}
	exists, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[bool])
	if err != nil {
		return nil, fmt.Errorf("read installed policies: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err = q.Query(ctx, `SELECT version, hash, sql, source FROM rowguard.policy_history ORDER BY version DESC LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("read installed policies: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var in Installed
	var src []byte
	if err := rows.Scan(&in.Version, &in.Hash, &in.SQL, &src); err != nil {
		return nil, fmt.Errorf("read installed policies: %w", err)
	}
	in.Source = &policies.Source{}
	if err := json.Unmarshal(src, in.Source); err != nil {
		return nil, fmt.Errorf("read installed metadata: %w", err)
	}
	return &in, nil
}

func history(ctx context.Context, conn *pgx.Conn) ([]*Installed, error) {
	rows, err := conn.Query(ctx, `SELECT version, hash, sql FROM rowguard.policy_history ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read policy history: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Installed, error) {
		var in Installed
		err := r.Scan(&in.Version, &in.Hash, &in.SQL)
		return &in, err
	})
}

// policyMigrator builds a golang-migrate instance over the policy history:
// version v's up script installs v's policies and records v; its down
// script restores v-1's policies and forgets v.
func policyMigrator(cfg Config, hist []*Installed, sources map[int64][]byte) (*migrate.Migrate, error) {
	files := fstest.MapFS{}
	for i, h := range hist {
		prev := rls.Teardown()
		if i > 0 {
			prev = hist[i-1].SQL
		}
		up := h.SQL
		if src, ok := sources[h.Version]; ok {
			up += fmt.Sprintf("\nINSERT INTO rowguard.policy_history (version, hash, sql, source) VALUES (%d, %s, %s, %s);\n",
				h.Version, compiler.QuoteLiteral(h.Hash), dollarQuote(h.SQL), dollarQuote(string(src)))
		}
		down := prev + fmt.Sprintf("\nDELETE FROM rowguard.policy_history WHERE version >= %d;\n", h.Version)
		name := strconv.FormatInt(h.Version, 10) + "_rowguard_policies"
		files[name+".up.sql"] = &fstest.MapFile{Data: []byte(up)}
		files[name+".down.sql"] = &fstest.MapFile{Data: []byte(down)}
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		return nil, fmt.Errorf("policy migrations: %w", err)
	}
	return newMigrate(cfg.DatabaseURL, src, `"rowguard"."policy_migrations"`)
}

func newMigrate(databaseURL string, src source.Driver, table string) (*migrate.Migrate, error) {
	u := databaseURL
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	// golang-migrate's pgx driver registers under the pgx5 scheme.
	for _, p := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(u, p) {
			u = "pgx5://" + strings.TrimPrefix(u, p)
		}
	}
	if table != "" {
		u += sep + "x-migrations-table=" + url.QueryEscape(table) + "&x-migrations-table-quoted=1"
	}
	m, err := migrate.NewWithSourceInstance("rowguard", src, u)
	if err != nil {
		return nil, fmt.Errorf("open migrations: %w", err)
	}
	return m, nil
}

// dollarQuote quotes text with a dollar tag that does not occur in it.
func dollarQuote(text string) string {
	tag := "$rgq$"
	for i := 0; strings.Contains(text, tag); i++ {
		tag = "$rgq" + strconv.Itoa(i) + "$"
	}
	return tag + text + tag
}

// warnTriggers logs the project's trigger functions that will fail for a
// role because they run with its rights (see TriggerProblems).
func warnTriggers(ctx context.Context, q rowQuerier, cfg Config, prog *compiler.Program) {
	problems, err := TriggerProblems(ctx, q, prog)
	if err != nil {
		cfg.logf("warning: %v", err)
	}
	for _, line := range TriggerWarnings(problems) {
		cfg.logf("warning: %s", line)
	}
}
