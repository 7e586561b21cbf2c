package migrations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
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
	return runFile(d.ctx, d.tx, d.folder.file(uint(d.running)), sql)
}

// runFile runs the SQL text of file in tx statement by statement, as
// Hasura's run_sql runs a migration: errors name file:line, a BEGIN …
// COMMIT inside becomes a savepoint block, and settings the file SETs do
// not carry over to what runs next.
func runFile(ctx context.Context, tx pgx.Tx, file, sql string) error {
	stmts, err := statements(sql)
	if err != nil {
		// Left for PostgreSQL to report, with its position.
		stmts = []statement{{text: sql, line: 1}}
	}
	depth := 0
	for _, st := range stmts {
		text, err := transactionStatement(st, &depth)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, st.line, err)
		}
		if _, err := tx.Exec(ctx, text); err != nil {
			return fmt.Errorf("%s:%d: %w", file, st.line+errorLine(err, text), installError(err, text))
		}
	}
	for ; depth > 0; depth-- {
		// BEGIN without COMMIT: the end of the file ends it, as Hasura's
		// run_sql commits at the end.
		if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+savepoint(depth)); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	// A SET in one file does not carry over to the next one or to the
	// policy install, as each of Hasura's run_sql starts afresh.
	if _, err := tx.Exec(ctx, "RESET ALL; RESET ROLE"); err != nil {
		return fmt.Errorf("%s: reset settings: %w", file, err)
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

// statement is one statement of a migration file.
type statement struct {
	text string
	line int // of its first word in the file
	// txKind is the kind of a BEGIN, COMMIT, SAVEPOINT…; 0 for any other
	// statement.
	txKind pg_query.TransactionStmtKind
}

// transactionStatement returns the SQL to run for st inside the
// transaction all migrations share. Hasura runs a migration with BEGIN …
// COMMIT inside its own transaction, where BEGIN only warns and COMMIT
// ends Hasura's transaction early; here BEGIN opens a savepoint, COMMIT
// releases it and ROLLBACK rolls back to it, so the block keeps its
// meaning and the run stays one transaction. depth counts the open blocks.
func transactionStatement(st statement, depth *int) (string, error) {
	switch st.txKind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		*depth++
		return "SAVEPOINT " + savepoint(*depth), nil
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		if *depth == 0 {
			return "SELECT", nil // COMMIT outside a block: Hasura's own transaction would end; here it goes on
		}
		*depth--
		return "RELEASE SAVEPOINT " + savepoint(*depth+1), nil
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if *depth == 0 {
			return "", errors.New("ROLLBACK outside BEGIN … COMMIT would undo the migration so far: remove it")
		}
		*depth--
		return "ROLLBACK TO SAVEPOINT " + savepoint(*depth+1) + "; RELEASE SAVEPOINT " + savepoint(*depth+1), nil
	case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE, pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED,
		pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return "", errors.New("two-phase commit in a migration: rowguard runs the migrations in one transaction; remove it")
	}
	return st.text, nil
}

func savepoint(depth int) string { return "rowguard_migration_" + strconv.Itoa(depth) }

// statements splits a migration into its statements, so an error names
// the line of the one that failed (PostgreSQL reports no position for
// many errors, e.g. a missing relation in ALTER TABLE).
func statements(sql string) ([]statement, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	var out []statement
	for _, s := range tree.GetStmts() {
		start, end := int(s.GetStmtLocation()), len(sql)
		if s.GetStmtLen() > 0 {
			end = start + int(s.GetStmtLen())
		}
		if start < 0 || end > len(sql) || start > end {
			return nil, fmt.Errorf("statement location %d..%d out of range", start, end)
		}
		text := sql[start:end]
		lead := leadingSpace(text)
		var kind pg_query.TransactionStmtKind
		if ts := s.GetStmt().GetTransactionStmt(); ts != nil {
			kind = ts.GetKind()
		}
		out = append(out, statement{
			text:   text,
			line:   1 + strings.Count(sql[:start+lead], "\n"),
			txKind: kind,
		})
	}
	return out, nil
}

// errorLine returns how many lines into text the position PostgreSQL
// reports for err lies (0 when it reports none, or on the first line).
func errorLine(err error, text string) int {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Position <= 0 {
		return 0
	}
	lead := leadingSpace(text)
	line, n := 0, 0
	for i, r := range text {
		n++
		if n >= int(pgErr.Position) {
			break
		}
		if r == '\n' && i >= lead {
			line++
		}
	}
	return line
}

// leadingSpace is the length of the whitespace and comments before a
// statement's first word: a statement's location includes them, and its
// line is that of its first word.
func leadingSpace(text string) int {
	i := 0
	for i < len(text) {
		switch {
		case strings.ContainsRune(" \t\r\n", rune(text[i])):
			i++
		case strings.HasPrefix(text[i:], "--"):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				return len(text)
			}
			i += end + 1
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return len(text)
			}
			i += 2 + end + 2
		default:
			return i
		}
	}
	return i
}
