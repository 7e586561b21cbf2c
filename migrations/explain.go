package migrations

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// installError wraps an error of running a policy script with what the
// user can do about it. PostgreSQL's hint and detail are kept (pgx leaves
// them out of Error()); running out of lock space, which a large install
// does with PostgreSQL's default settings because every COMMENT ON POLICY
// locks its policy until the transaction ends, says how many locks the
// script needs.
func installError(err error, script string) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var more []string
	if pgErr.Detail != "" {
		more = append(more, "DETAIL: "+pgErr.Detail)
	}
	if pgErr.Hint != "" {
		more = append(more, "HINT: "+pgErr.Hint)
	}
	if pgErr.Code == "53200" { // out_of_memory: here, the shared lock table
		n := strings.Count(script, "\nCOMMENT ON ") + strings.Count(script, "\nCREATE POLICY ")
		more = append(more, fmt.Sprintf("the install runs in one transaction and holds about %d locks (one per policy and per commented object) until it commits; "+
			"PostgreSQL's lock table holds max_locks_per_transaction × (max_connections + max_prepared_transactions) locks for all sessions: "+
			"raise max_locks_per_transaction (e.g. ALTER SYSTEM SET max_locks_per_transaction = %d, then restart PostgreSQL) and run it again; nothing was installed", n, lockSetting(n)))
	}
	if len(more) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(more, "; "))
}

// lockSetting is a max_locks_per_transaction that gives n locks room with
// PostgreSQL's default 100 connections, rounded up to a multiple of 64.
func lockSetting(n int) int {
	per := n/100 + 1
	return (per + 63) / 64 * 64
}
