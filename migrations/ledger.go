package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
)

// ledger is where a database records which schema migrations it has run.
// Three places exist:
//
//   - golang-migrate's schema_migrations (in the search_path's first
//     schema; version bigint PRIMARY KEY, dirty boolean): one row, the
//     newest version;
//   - the Hasura CLI's hdb_catalog.schema_migrations (same columns): one
//     row per applied version (CLI v1, and v2 before it copies its state);
//   - the Hasura CLI v2's catalog state, the jsonb column
//     hdb_catalog.hdb_version.cli_state of a database a Hasura server
//     runs on: {"migrations": {"<source>": {"<version>": dirty}}, …}.
//
// rowguard keeps what a database has, so the Hasura CLI and rowguard
// agree on what a database has run: a Hasura ledger reads both of
// Hasura's places and writes to each that exists.
type ledger struct {
	table  string // quoted, qualified when it is Hasura's
	hasura bool
	// source names the database in the catalog state; catalogState is set
	// when hdb_catalog.hdb_version has a cli_state column.
	source       string
	catalogState bool
}

var (
	golangMigrateLedger = ledger{table: "schema_migrations"}
	hasuraLedger        = ledger{table: "hdb_catalog.schema_migrations", hasura: true}
)

// chooseLedger picks the ledger of the database tx is in: Hasura's when
// preferHasura (a Hasura project folder), or when the database has one of
// Hasura's places with versions of source and not golang-migrate's table;
// golang-migrate's otherwise.
func chooseLedger(ctx context.Context, tx pgx.Tx, preferHasura bool, source string) (ledger, error) {
	var hdb, gm, state, stateVersions bool
	err := tx.QueryRow(ctx, `SELECT to_regclass('hdb_catalog.schema_migrations') IS NOT NULL, to_regclass('schema_migrations') IS NOT NULL,
			EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('hdb_catalog.hdb_version') AND attname = 'cli_state' AND NOT attisdropped)`).Scan(&hdb, &gm, &state)
	if err != nil {
		return ledger{}, fmt.Errorf("schema migration version: %w", err)
	}
	if state {
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM hdb_catalog.hdb_version, jsonb_object_keys(coalesce(cli_state::jsonb->'migrations'->$1, '{}'::jsonb)))`, source).Scan(&stateVersions)
		if err != nil {
			return ledger{}, fmt.Errorf("read hdb_catalog.hdb_version.cli_state: %w", err)
		}
	}
	if preferHasura || ((hdb || stateVersions) && !gm) {
		l := hasuraLedger
		l.source, l.catalogState = source, state
		return l, nil
	}
	return golangMigrateLedger, nil
}

// where names the ledger's places for messages.
func (l ledger) where() string {
	if l.catalogState {
		return l.table + " / hdb_catalog.hdb_version.cli_state"
	}
	return l.table
}

// create makes the ledger's table when it is missing, as the Hasura CLI
// and golang-migrate would; a database with the catalog state needs none.
func (l ledger) create(ctx context.Context, tx pgx.Tx) error {
	if l.catalogState {
		return nil
	}
	sql := "CREATE TABLE IF NOT EXISTS " + l.table + " (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
	if l.hasura {
		sql = "CREATE SCHEMA IF NOT EXISTS hdb_catalog; " + sql
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create %s: %w", l.table, err)
	}
	return nil
}

// exists tells whether the ledger's table or catalog state is there
// (status reads without creating it).
func (l ledger) exists(ctx context.Context, q pgx.Tx) (bool, error) {
	if l.catalogState {
		return true, nil
	}
	return l.tableExists(ctx, q)
}

func (l ledger) tableExists(ctx context.Context, q pgx.Tx) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, l.table).Scan(&ok); err != nil {
		return false, fmt.Errorf("schema migration version: %w", err)
	}
	return ok, nil
}

// applied returns the versions the ledger records, ascending, and those
// marked dirty.
func (l ledger) applied(ctx context.Context, tx pgx.Tx) (versions, dirty []int64, err error) {
	var queries []string
	ok, err := l.tableExists(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	if ok {
		queries = append(queries, "SELECT version, dirty FROM "+l.table)
	}
	if l.catalogState {
		queries = append(queries, `SELECT key::bigint, value::text::boolean FROM hdb_catalog.hdb_version, jsonb_each(coalesce(cli_state::jsonb->'migrations'->`+compiler.QuoteLiteral(l.source)+`, '{}'::jsonb))`)
	}
	if len(queries) == 0 {
		return nil, nil, nil
	}
	sql := "SELECT version, bool_or(dirty) FROM (" + strings.Join(queries, " UNION ALL ") + ") AS v (version, dirty) GROUP BY version ORDER BY version"
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", l.where(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		var d bool
		if err := rows.Scan(&v, &d); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", l.where(), err)
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
	ok, err := l.tableExists(ctx, tx)
	if err != nil {
		return err
	}
	if ok {
		if err := l.setTableVersion(ctx, tx, version, dirty); err != nil {
			return err
		}
	}
	if !l.catalogState {
		return nil
	}
	// Hasura's map of the source: the versions below, and this one.
	_, err = tx.Exec(ctx, `UPDATE hdb_catalog.hdb_version SET cli_state = (
		coalesce(cli_state::jsonb, '{}'::jsonb) || jsonb_build_object('migrations',
			coalesce(cli_state::jsonb->'migrations', '{}'::jsonb) || jsonb_build_object($1::text,
				(SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(coalesce(cli_state::jsonb->'migrations'->$1::text, '{}'::jsonb)) WHERE key::bigint < $2)
				|| CASE WHEN $2 >= 0 THEN jsonb_build_object($2::text, $3::boolean) ELSE '{}'::jsonb END)))`,
		l.source, int64(version), dirty)
	if err != nil {
		return fmt.Errorf("record schema version %d in hdb_catalog.hdb_version.cli_state: %w", version, err)
	}
	return nil
}

func (l ledger) setTableVersion(ctx context.Context, tx pgx.Tx, version int, dirty bool) error {
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
		if l.catalogState {
			return fmt.Errorf("%s marks version %d dirty (a run of the Hasura CLI failed half-way): make the schema match %s by hand, then mark it applied with `hasura migrate apply --skip-execution --version %d --database-name %s` (or unmark it with `--type down` to have rowguard run it again) and run `rowguard migrate up` again",
				l.where(), v, f.file(uint(v)), v, l.source)
		}
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
		return fmt.Errorf("%s records version(s) %s, which %s does not have: is it the project's migrations folder (and --source right)? Put the missing migrations back, or delete their records if they were undone",
			l.where(), strings.Join(foreign, ", "), f.dir)
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
		record := fmt.Sprintf("`INSERT INTO %s (version, dirty) VALUES (%d, false)`", l.table, first)
		if l.catalogState {
			record = fmt.Sprintf("`hasura migrate apply --skip-execution --version %d --database-name %s`", first, l.source)
		}
		return fmt.Errorf("%s records version %d, but not the earlier %s: rowguard runs migrations in version order and will not run an older one after a newer; apply it by hand and record it with %s (for each), or give it a version above %d",
			l.where(), top, strings.Join(gaps, ", "), record, top)
	}
	return nil
}
