package migrations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// txDriver is a golang-migrate database.Driver that runs every migration,
// and records every version in the ledger, inside one transaction owned by
// the caller. golang-migrate still decides what runs in which order;
// the caller commits the schema migrations together with the policies
// compiled against their result, or rolls all of it back. So a failure
// never leaves a dirty version or a half-migrated schema: the database is
// as it was, and the next `migrate up` starts from the same place.
//
// Each migration file is sent as one multi-statement query, as Hasura's
// run_sql sends it (DO blocks and $$ bodies included).
type txDriver struct {
	ctx    context.Context
	tx     pgx.Tx
	ledger ledger
	folder *folder
	// running is the version whose migration runs now, for errors.
	running int
}

// Open is not used: a txDriver is made around a transaction.
func (d *txDriver) Open(url string) (database.Driver, error) {
	return nil, fmt.Errorf("schema migrations: open %s: rowguard makes this driver around a transaction", url)
}

// Close does nothing: the caller ends the transaction.
func (d *txDriver) Close() error { return nil }

// Lock takes a transaction-level advisory lock, so two `migrate up`s run
// one after the other; it is released when the transaction ends.
func (d *txDriver) Lock() error {
	if _, err := d.tx.Exec(d.ctx, `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('rowguard schema migrations'))`); err != nil {
		return fmt.Errorf("lock schema migrations: %w", err)
	}
	return nil
}

// Unlock does nothing: the lock lasts until the transaction ends.
func (d *txDriver) Unlock() error { return nil }

// Run runs one migration file.
func (d *txDriver) Run(migration io.Reader) error {
	b, err := io.ReadAll(migration)
	if err != nil {
		return err
	}
	sql := string(b)
	if strings.TrimSpace(sql) == "" {
		return nil
	}
	file := d.folder.file(uint(d.running))
	if transactionControl(sql) {
		return fmt.Errorf("%s: BEGIN, COMMIT or ROLLBACK in a migration: rowguard runs the pending migrations and the policy install in one transaction (as Hasura runs each migration in one), so remove them", file)
	}
	if _, err := d.tx.Exec(d.ctx, sql); err != nil {
		return fmt.Errorf("%s%s: %w", file, errorLine(err, sql), installError(err, sql))
	}
	return nil
}

// SetVersion records version in the ledger.
func (d *txDriver) SetVersion(version int, dirty bool) error {
	d.running = version
	return d.ledger.setVersion(d.ctx, d.tx, version, dirty)
}

// Version returns the newest applied version.
func (d *txDriver) Version() (int, bool, error) {
	return d.ledger.version(d.ctx, d.tx)
}

// Drop is refused: rowguard never drops a database's objects.
func (d *txDriver) Drop() error {
	return errors.New("schema migrations: rowguard does not drop databases")
}

// errorLine returns ":<line>" of the position PostgreSQL reports for err
// in sql, or "" when it reports none.
func errorLine(err error, sql string) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Position <= 0 {
		return ""
	}
	line, n := 1, 0
	for _, r := range sql {
		n++
		if n >= int(pgErr.Position) {
			break
		}
		if r == '\n' {
			line++
		}
	}
	return fmt.Sprintf(":%d", line)
}

// transactionControl tells whether sql holds BEGIN, COMMIT, ROLLBACK or
// the like, which would end the transaction the migrations run in. Text
// that does not parse is left for PostgreSQL to report.
func transactionControl(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return false
	}
	for _, s := range tree.GetStmts() {
		switch s.GetStmt().GetTransactionStmt().GetKind() {
		case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START,
			pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
			pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
			return true
		}
	}
	return false
}
