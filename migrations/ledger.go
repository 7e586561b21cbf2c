package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ledger is where a database records which schema migrations it has run.
// Two shapes exist, both (version bigint PRIMARY KEY, dirty boolean):
//
//   - golang-migrate's schema_migrations (in the search_path's first
//     schema): one row, the newest version;
//   - the Hasura CLI's hdb_catalog.schema_migrations: one row per applied
//     version.
//
// rowguard keeps whichever a database has, so the Hasura CLI and rowguard
// agree on what a database has run.
type ledger struct {
	table  string // quoted, qualified when it is Hasura's
	hasura bool
}

var (
	golangMigrateLedger = ledger{table: "schema_migrations"}
	hasuraLedger        = ledger{table: "hdb_catalog.schema_migrations", hasura: true}
)

// chooseLedger picks the ledger of the database tx is in: Hasura's when
// preferHasura (a Hasura project folder) or when the database has Hasura's
// table and not golang-migrate's; golang-migrate's otherwise.
func chooseLedger(ctx context.Context, tx pgx.Tx, preferHasura bool) (ledger, error) {
	var hdb, gm bool
	err := tx.QueryRow(ctx, `SELECT to_regclass('hdb_catalog.schema_migrations') IS NOT NULL, to_regclass('schema_migrations') IS NOT NULL`).Scan(&hdb, &gm)
	if err != nil {
		return ledger{}, fmt.Errorf("schema migration version: %w", err)
	}
	if preferHasura || (hdb && !gm) {
		return hasuraLedger, nil
	}
	return golangMigrateLedger, nil
}

// create makes the ledger's table when it is missing, as the Hasura CLI
// and golang-migrate would.
func (l ledger) create(ctx context.Context, tx pgx.Tx) error {
	sql := "CREATE TABLE IF NOT EXISTS " + l.table + " (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
	if l.hasura {
		sql = "CREATE SCHEMA IF NOT EXISTS hdb_catalog; " + sql
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create %s: %w", l.table, err)
	}
	return nil
}

// exists tells whether the ledger's table is there (status reads without
// creating it).
func (l ledger) exists(ctx context.Context, q pgx.Tx) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, l.table).Scan(&ok); err != nil {
		return false, fmt.Errorf("schema migration version: %w", err)
	}
	return ok, nil
}

// applied returns the versions the ledger records, ascending, and those
// marked dirty.
func (l ledger) applied(ctx context.Context, tx pgx.Tx) (versions, dirty []int64, err error) {
	rows, err := tx.Query(ctx, "SELECT version, dirty FROM "+l.table+" ORDER BY version")
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", l.table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		var d bool
		if err := rows.Scan(&v, &d); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", l.table, err)
		}
		versions = append(versions, v)
		if d {
			dirty = append(dirty, v)
		}
	}
	return versions, dirty, rows.Err()
}

// version returns the newest applied version (-1 for none) and whether it
// is dirty, as golang-migrate's Driver.Version does.
func (l ledger) version(ctx context.Context, tx pgx.Tx) (int, bool, error) {
	versions, dirty, err := l.applied(ctx, tx)
	if err != nil || len(versions) == 0 {
		return -1, false, err
	}
	return int(versions[len(versions)-1]), len(dirty) > 0, nil
}

// setVersion records version (-1: none) as the newest applied one.
func (l ledger) setVersion(ctx context.Context, tx pgx.Tx, version int, dirty bool) error {
	if !l.hasura {
		if _, err := tx.Exec(ctx, "DELETE FROM "+l.table); err != nil {
			return fmt.Errorf("record schema version %d: %w", version, err)
		}
	} else if _, err := tx.Exec(ctx, "DELETE FROM "+l.table+" WHERE version >= $1", version); err != nil {
		// Hasura's ledger lists every applied version: going up adds one,
		// going down forgets those above.
		return fmt.Errorf("record schema version %d: %w", version, err)
	}
	if version < 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+l.table+" (version, dirty) VALUES ($1, $2)", int64(version), dirty); err != nil {
		return fmt.Errorf("record schema version %d: %w", version, err)
	}
	return nil
}

// check refuses a ledger rowguard cannot continue from: a dirty version
// (left by a failed Hasura CLI or golang-migrate run; rowguard's own runs
// never leave one), or, in Hasura's ledger, applied versions that are not
// exactly the first ones of the folder. Versions are then run from the
// newest applied one on, so none runs twice.
func (l ledger) check(ctx context.Context, tx pgx.Tx, f *folder) error {
	versions, dirty, err := l.applied(ctx, tx)
	if err != nil {
		return err
	}
	if len(dirty) > 0 {
		v := dirty[len(dirty)-1]
		if l.hasura {
			return fmt.Errorf("%s marks version %d dirty (a run of the Hasura CLI failed half-way): make the schema match %s by hand, then `UPDATE %s SET dirty = false WHERE version = %d` (or `DELETE FROM %s WHERE version = %d` to have rowguard run it again) and run `rowguard migrate up` again",
				l.table, v, f.file(uint(v)), l.table, v, l.table, v)
		}
		return fmt.Errorf("%s marks version %d dirty (an earlier run failed half-way): make the schema match %s by hand, then `UPDATE %s SET dirty = false` (or set version to the one before to run it again) and run `rowguard migrate up` again",
			l.table, v, f.file(uint(v)), l.table)
	}
	if !l.hasura || len(versions) == 0 {
		return nil
	}
	in := map[uint]bool{}
	for _, v := range f.versions {
		in[v] = true
	}
	var foreign []string
	for _, v := range versions {
		if v < 0 || !in[uint(v)] {
			foreign = append(foreign, fmt.Sprint(v))
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%s records version(s) %s, which %s does not have: is it the project's migrations folder (and --source right)? Put the missing migrations back, or delete their rows if they were undone",
			l.table, strings.Join(foreign, ", "), f.dir)
	}
	top := versions[len(versions)-1]
	done := map[int64]bool{}
	for _, v := range versions {
		done[v] = true
	}
	var gaps []string
	var first uint
	for _, v := range f.versions {
		if int64(v) < top && !done[int64(v)] {
			if len(gaps) == 0 {
				first = v
			}
			gaps = append(gaps, f.file(v))
		}
	}
	if len(gaps) > 0 {
		return fmt.Errorf("%s records version %d, but not the earlier %s: rowguard runs migrations in version order and will not run an older one after a newer; apply it by hand and `INSERT INTO %s (version, dirty) VALUES (%d, false)` (for each), or give it a version above %d",
			l.table, top, strings.Join(gaps, ", "), l.table, first, top)
	}
	return nil
}
