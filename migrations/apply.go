package migrations

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/policies"
)

// policyMigrationsSQL creates golang-migrate's version table for the policy
// history, as golang-migrate's PostgreSQL driver would.
const policyMigrationsSQL = `CREATE TABLE IF NOT EXISTS rowguard.policy_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`

// Apply installs script (rls.Emit's output for the metadata in src) inside
// tx, as the next policy version, and records it in rowguard.policy_history
// and rowguard.policy_migrations exactly as Up would. Nothing is committed:
// the caller commits tx together with whatever else it changed (the metadata
// API runs a user's SQL and the reinstall in one transaction), so either all
// of it is applied or none. When script is what is installed already, Apply
// does nothing and returns the current version.
func Apply(ctx context.Context, tx pgx.Tx, script string, src *policies.Source) (int64, error) {
	if _, err := tx.Exec(ctx, setupSQL); err != nil {
		return 0, fmt.Errorf("create rowguard schema: %w", err)
	}
	if _, err := tx.Exec(ctx, policyMigrationsSQL); err != nil {
		return 0, fmt.Errorf("create policy migrations table: %w", err)
	}
	hash := Hash(script)
	head, err := Current(ctx, tx)
	if err != nil {
		return 0, err
	}
	if head != nil && head.Hash == hash && sameSource(head.Source, src) {
		return head.Version, nil
	}
	srcJSON, err := json.Marshal(src)
	if err != nil {
		return 0, fmt.Errorf("encode metadata: %w", err)
	}
	next := int64(1)
	if head != nil {
		next = head.Version + 1
	}
	// The script is a multi-statement text: the simple protocol runs it
	// inside tx (pgx sends it as one Query message when there are no args).
	if _, err := tx.Exec(ctx, script); err != nil {
		return 0, fmt.Errorf("install policies (version %d): %w", next, installError(err, script))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rowguard.policy_history (version, hash, sql, source) VALUES ($1, $2, $3, $4)`,
		next, hash, script, string(srcJSON)); err != nil {
		return 0, fmt.Errorf("record policies (version %d): %w", next, err)
	}
	// Keep golang-migrate's version in step, so `rowguard migrate down`
	// rolls back from this version.
	if _, err := tx.Exec(ctx, `DELETE FROM rowguard.policy_migrations`); err != nil {
		return 0, fmt.Errorf("record policy version: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rowguard.policy_migrations (version, dirty) VALUES ($1, false)`, next); err != nil {
		return 0, fmt.Errorf("record policy version: %w", err)
	}
	return next, nil
}

func sameSource(a, b *policies.Source) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Root != b.Root || len(a.Files) != len(b.Files) {
		return false
	}
	for k, v := range a.Files {
		if b.Files[k] != v {
			return false
		}
	}
	return true
}
