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
	"os"
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
	// Migrations is a golang-migrate directory of schema migrations; empty
	// when the schema is managed elsewhere.
	Migrations string
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
// installed. When a schema migration fails, the policies that were
// installed before are put back.
func Up(ctx context.Context, cfg Config) error {
	conn, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	head, err := Current(ctx, conn)
	if err != nil {
		return err
	}

	if cfg.Migrations != "" {
		pending, err := schemaPending(cfg)
		if err != nil {
			return err
		}
		if pending {
			// Policies depend on columns; a schema migration that drops or
			// retypes one would fail while they exist. Lift them, migrate,
			// and install again below (or put the old ones back).
			if head != nil {
				if _, err := conn.Exec(ctx, rls.Teardown()); err != nil {
					return fmt.Errorf("lift policies before schema migrations: %w", err)
				}
			}
			if err := schemaUp(cfg); err != nil {
				if head != nil {
					if _, rerr := conn.Exec(ctx, head.SQL); rerr != nil {
						return fmt.Errorf("schema migrations: %w (and restoring the previous policies failed too: %v)", err, rerr)
					}
					cfg.logf("schema migrations failed; the previous policies (version %d) are back in place", head.Version)
				}
				return fmt.Errorf("schema migrations: %w", err)
			}
			cfg.logf("schema migrations applied")
		}
	}

	md, src, err := policies.Read(cfg.Metadata)
	if err != nil {
		return restoreAfter(ctx, conn, head, err)
	}
	for _, w := range md.Warnings {
		cfg.logf("warning: %v", w)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		return restoreAfter(ctx, conn, head, err)
	}
	prog, errs := compiler.Compile(cat, md, cfg.Compile)
	if len(errs) > 0 {
		return restoreAfter(ctx, conn, head, errs)
	}
	script, err := cfg.script(prog)
	if err != nil {
		return restoreAfter(ctx, conn, head, err)
	}
	hash := Hash(script)
	if head != nil && head.Hash == hash {
		if !policiesPresent(ctx, conn, head) {
			// Lifted for schema migrations above: put the same ones back.
			if _, err := conn.Exec(ctx, head.SQL); err != nil {
				return fmt.Errorf("reinstall policies: %w", err)
			}
		}
		cfg.logf("policies up to date (version %d, %s)", head.Version, hash[:12])
		return nil
	}
	if err := applyPolicies(ctx, conn, cfg, script, hash, src); err != nil {
		return restoreAfter(ctx, conn, head, err)
	}
	warnTriggers(ctx, conn, cfg, prog)
	return nil
}

// warnTriggers logs the project's trigger functions that will fail for a
// role because they run with its rights (see TriggerProblems).
func warnTriggers(ctx context.Context, conn *pgx.Conn, cfg Config, prog *compiler.Program) {
	problems, err := TriggerProblems(ctx, conn, prog)
	if err != nil {
		cfg.logf("warning: %v", err)
	}
	for _, p := range problems {
		cfg.logf("warning: %s", p)
	}
}

// policiesPresent tells whether the install's policies are still in the
// database (they are lifted while schema migrations run).
func policiesPresent(ctx context.Context, conn *pgx.Conn, head *Installed) bool {
	if !strings.Contains(head.SQL, "CREATE POLICY") {
		return true
	}
	var n int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_policies WHERE policyname LIKE 'rg\_%'`).Scan(&n)
	return n > 0
}

// restoreAfter puts the previous policies back when they were lifted for
// schema migrations and a later step failed, then returns err.
func restoreAfter(ctx context.Context, conn *pgx.Conn, head *Installed, err error) error {
	if head != nil && !policiesPresent(ctx, conn, head) {
		if _, rerr := conn.Exec(ctx, head.SQL); rerr != nil {
			return fmt.Errorf("%w (and restoring the previous policies failed too: %v)", err, rerr)
		}
	}
	return err
}

// Hash identifies a policy script.
func Hash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return hex.EncodeToString(sum[:])
}

// applyPolicies installs script as the next policy migration version.
func applyPolicies(ctx context.Context, conn *pgx.Conn, cfg Config, script, hash string, src *policies.Source) error {
	hist, err := history(ctx, conn)
	if err != nil {
		return err
	}
	srcJSON, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	next := int64(1)
	if len(hist) > 0 {
		next = hist[len(hist)-1].Version + 1
	}
	hist = append(hist, &Installed{Version: next, Hash: hash, SQL: script})
	m, err := policyMigrator(cfg, hist, map[int64][]byte{next: srcJSON})
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Migrate(uint(next)); err != nil {
		return fmt.Errorf("install policies (version %d): %w", next, installError(migrateError(err), script))
	}
	cfg.logf("policies installed (version %d, %s)", next, hash[:12])
	return nil
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

func schemaPending(cfg Config) (bool, error) {
	m, err := schemaMigrator(cfg)
	if err != nil {
		return false, err
	}
	defer m.Close()
	v, dirty, err := m.Version()
	if dirty {
		return false, fmt.Errorf("schema migrations are dirty at version %d: fix the database by hand, then `migrate -path %s force VERSION`", v, cfg.Migrations)
	}
	if errors.Is(err, migrate.ErrNilVersion) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("schema migration version: %w", err)
	}
	src, err := iofs.New(os.DirFS(cfg.Migrations), ".")
	if err != nil {
		return false, fmt.Errorf("schema migrations in %s: %w", cfg.Migrations, err)
	}
	defer src.Close()
	_, err = src.Next(uint(v))
	return err == nil, nil
}

func schemaMigrator(cfg Config) (*migrate.Migrate, error) {
	src, err := iofs.New(os.DirFS(cfg.Migrations), ".")
	if err != nil {
		return nil, fmt.Errorf("schema migrations in %s: %w", cfg.Migrations, err)
	}
	return newMigrate(cfg.DatabaseURL, src, "")
}

func schemaUp(cfg Config) error {
	m, err := schemaMigrator(cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return migrateError(err)
	}
	return nil
}
