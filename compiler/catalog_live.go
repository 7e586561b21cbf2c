package compiler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/policies"
)

// Querier is what LoadCatalog needs of a connection; *pgx.Conn,
// *pgxpool.Pool and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// relsCTE selects the relations LoadCatalog reads: tables, partitioned
// tables, views, materialized views and foreign tables of the schemas in $1,
// or of every schema but the system ones and rowguard's own when $1 is
// empty.
const relsCTE = `
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind IN ('v', 'm') AS isview, c.relkind = 'm' AS ismatview,
         CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_relation_is_updatable(c.oid, true) ELSE 0 END AS updatable
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND CASE WHEN cardinality($1::text[]) = 0
              THEN n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard')
                   AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
              ELSE n.nspname = ANY ($1::text[]) END
)`

const relationsQuery = relsCTE + `
SELECT nspname, relname, isview, ismatview, updatable FROM rels`

// columnsQuery returns, per column, format_type's spelling of its type with
// the quoted schema of the type (of the element type for arrays) and
// whether that type belongs to an extension; typeName turns them into
// Column.Type. The sequence is that of a serial column: the one the column
// owns (pg_depend 'a', which is what pg_get_serial_sequence follows), when
// its default calls nextval.
const columnsQuery = relsCTE + `
SELECT r.nspname, r.relname, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), tn.nspname, quote_ident(tn.nspname),
       EXISTS (SELECT FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.deptype = 'e'
                  AND d.objid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END),
       a.attnotnull, a.atthasdef OR a.attidentity <> '', a.attidentity::text, a.attgenerated = 's',
       CASE WHEN a.attidentity = '' AND pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) LIKE 'nextval(%' THEN
         coalesce((SELECT sn.nspname || '.' || s.relname
                     FROM pg_catalog.pg_depend d
                     JOIN pg_catalog.pg_class s ON s.oid = d.objid
                     JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
                      AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'a' AND s.relkind = 'S'
                    ORDER BY s.relname LIMIT 1), '')
       ELSE '' END
  FROM rels r
  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
 ORDER BY r.nspname, r.relname, a.attnum`

// keysQuery returns primary keys ('p'), unique constraints ('u'), foreign
// keys ('f'), the unique indexes that back no constraint ('i'; only
// those on plain columns, without predicate) and the btree indexes of
// Table.OrderedIndexes ('o'), columns in key order; for a
// foreign key, whether it is validated (and its table has no children by
// INHERITS, which the key does not cover: partitions are covered) and
// whether it is deferrable.
const keysQuery = relsCTE + `,
-- indexes on plain columns without a predicate, their key columns in order
plain_indexes AS (
  SELECT r.nspname, r.relname, i.relname::text AS name, i.relam, x.indexrelid, x.indrelid,
         x.indisunique, x.indisvalid, x.indoption,
         ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(n, o)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n
                WHERE u.o <= x.indnkeyatts ORDER BY u.o) AS cols
    FROM rels r
    JOIN pg_catalog.pg_index x ON x.indrelid = r.oid
    JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
   WHERE x.indpred IS NULL AND x.indexprs IS NULL AND NOT (0 = ANY (x.indkey::int2[]))
)
SELECT r.nspname, r.relname, k.conname::text, k.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       coalesce(fn.nspname::text, ''), coalesce(f.relname::text, ''),
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i),
       k.convalidated AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class ch ON ch.oid = h.inhrelid
                                       WHERE h.inhparent = k.conrelid AND NOT ch.relispartition),
       k.condeferrable
  FROM rels r
  JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid
  LEFT JOIN pg_catalog.pg_class f ON f.oid = k.confrelid
  LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
 WHERE k.contype IN ('p', 'u', 'f')
UNION ALL
SELECT nspname, relname, name, 'i', cols, '', '', '{}'::text[], false, false
  FROM plain_indexes x
 WHERE x.indisunique
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
UNION ALL
SELECT nspname, relname, name, 'o', cols, '', '', '{}'::text[], false, false
  FROM plain_indexes x
  JOIN pg_catalog.pg_am am ON am.oid = x.relam
 WHERE am.amname = 'btree' AND x.indisvalid AND 0 = ALL (x.indoption::int2[])`

// LoadCatalog reads the tables and views of the given schemas (every
// non-system schema when schemas is empty: all but pg_catalog,
// information_schema, pg_toast*, pg_temp* and rowguard) from a live
// database, in three queries. ParseDDL builds the same Catalog from the DDL
// of the same schema.
func LoadCatalog(ctx context.Context, q Querier, schemas []string) (*Catalog, error) {
	if schemas == nil {
		schemas = []string{}
	}
	cat := NewCatalog()
	err := query(ctx, q, relationsQuery, schemas, "relations", func(rows pgx.Rows) error {
		t := &Table{}
		var updatable int32
		if err := rows.Scan(&t.Name.Schema, &t.Name.Name, &t.IsView, &t.Materialized, &updatable); err != nil {
			return err
		}
		t.Writable = writableOps(updatable)
		cat.Add(t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = query(ctx, q, columnsQuery, schemas, "columns", func(rows pgx.Rows) error {
		var name policies.QualifiedTable
		var formatted, typSchema, quotedTypSchema string
		var fromExtension bool
		col := &Column{}
		if err := rows.Scan(&name.Schema, &name.Name, &col.Name, &formatted, &typSchema, &quotedTypSchema,
			&fromExtension, &col.NotNull, &col.HasDefault, &col.Identity, &col.Generated, &col.Sequence); err != nil {
			return err
		}
		col.Type = liveTypeName(formatted, typSchema, quotedTypSchema, fromExtension)
		if t := cat.Table(name); t != nil {
			t.Columns = append(t.Columns, col)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	uniques := map[*Table][]namedKey{}
	ordered := map[*Table][]namedKey{}
	err = query(ctx, q, keysQuery, schemas, "keys", func(rows pgx.Rows) error {
		var name, ref policies.QualifiedTable
		var conname, kind string
		var cols, refCols []string
		var validated, deferrable bool
		if err := rows.Scan(&name.Schema, &name.Name, &conname, &kind, &cols, &ref.Schema, &ref.Name, &refCols, &validated, &deferrable); err != nil {
			return err
		}
		t := cat.Table(name)
		if t == nil || len(cols) == 0 {
			return nil
		}
		switch kind {
		case "p":
			t.PrimaryKey = cols
		case "u", "i":
			uniques[t] = append(uniques[t], namedKey{conname, cols})
		case "o":
			ordered[t] = append(ordered[t], namedKey{conname, cols})
		case "f":
			t.ForeignKeys = append(t.ForeignKeys, &ForeignKey{Name: conname, Columns: cols, RefTable: ref, RefColumns: refCols,
				Validated: validated, Deferrable: deferrable})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for t, keys := range uniques {
		t.Uniques = sortedKeys(keys)
	}
	for t, keys := range ordered {
		t.OrderedIndexes = sortedKeys(keys)
	}
	for _, t := range cat.Tables {
		sortForeignKeys(t.ForeignKeys)
	}
	if err := loadGrantVia(ctx, q, cat); err != nil {
		return nil, err
	}
	if err := loadFunctions(ctx, q, schemas, cat); err != nil {
		return nil, err
	}
	err = query(ctx, q, viewCallsQuery, schemas, "functions views call", func(rows pgx.Rows) error {
		var view, fn policies.QualifiedTable
		if err := rows.Scan(&view.Schema, &view.Name, &fn.Schema, &fn.Name); err != nil {
			return err
		}
		if t := cat.Table(view); t != nil && cat.Function(fn) != nil && !slices.Contains(t.Calls, fn) {
			t.Calls = append(t.Calls, fn)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cat, nil
}

// viewCallsQuery lists the functions each view (not materialized) runs
// when read: those the rewrite rules of the view and of the views it reads
// (not materialized, at any depth) depend on, outside PostgreSQL's schemas
// and extensions (Table.Calls).
var viewCallsQuery = strings.Replace(relsCTE, "WITH rels", "WITH RECURSIVE rels", 1) + `, reach(view, rel) AS (
  SELECT r.oid, r.oid FROM rels r WHERE r.isview AND NOT r.ismatview
  UNION
  SELECT reach.view, c.oid
    FROM reach
    JOIN pg_catalog.pg_rewrite w ON w.ev_class = reach.rel
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                               AND d.refclassid = 'pg_catalog.pg_class'::regclass
    JOIN pg_catalog.pg_class c ON c.oid = d.refobjid AND c.relkind = 'v' AND c.oid <> reach.rel
)
SELECT DISTINCT r.nspname, r.relname, pn.nspname, p.proname
  FROM reach
  JOIN rels r ON r.oid = reach.view
  JOIN pg_catalog.pg_rewrite w ON w.ev_class = reach.rel
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                             AND d.refclassid = 'pg_catalog.pg_proc'::regclass
  JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
 WHERE pn.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e
                    WHERE e.classid = 'pg_catalog.pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
 ORDER BY 1, 2, 3, 4`

// writableOps decodes pg_relation_is_updatable's bit mask (1 << CmdType:
// update 4, insert 8, delete 16) into the statements a view accepts.
func writableOps(mask int32) []policies.Op {
	var out []policies.Op
	for _, b := range []struct {
		bit int32
		op  policies.Op
	}{{8, policies.Insert}, {4, policies.Update}, {16, policies.Delete}} {
		if mask&b.bit != 0 {
			out = append(out, b.op)
		}
	}
	return out
}

// query runs one catalog query and hands each row to scan.
func query(ctx context.Context, q Querier, sql string, schemas []string, what string, scan func(pgx.Rows) error) error {
	rows, err := q.Query(ctx, sql, schemas)
	if err != nil {
		return fmt.Errorf("read catalog %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read catalog %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read catalog %s: %w", what, err)
	}
	return nil
}

// liveTypeName turns format_type's spelling into Column.Type: unchanged for
// pg_catalog types, schema-qualified for user types (enums, domains,
// composites, ranges) wherever they live, and unqualified for extension
// types (citext, geometry), which format_type qualifies only when their
// schema is not on the search path.
func liveTypeName(formatted, typSchema, quotedTypSchema string, fromExtension bool) string {
	if typSchema == "pg_catalog" {
		return formatted
	}
	prefix := quotedTypSchema + "."
	bare := strings.TrimPrefix(formatted, prefix)
	if fromExtension {
		return bare
	}
	return prefix + bare
}

// namedKey is a unique key with the name of its constraint or index, which
// orders a table's Uniques.
type namedKey struct {
	name string
	cols []string
}

// sortedKeys returns the keys' columns ordered by key name (bytewise, as
// PostgreSQL's name type sorts), or nil when there are none.
func sortedKeys(keys []namedKey) [][]string {
	if len(keys) == 0 {
		return nil
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
	out := make([][]string, len(keys))
	for i, k := range keys {
		out[i] = k.cols
	}
	return out
}

// sortForeignKeys orders foreign keys by constraint name.
func sortForeignKeys(fks []*ForeignKey) {
	sort.SliceStable(fks, func(i, j int) bool { return fks[i].Name < fks[j].Name })
}

// grantViaQuery lists the views of the periods extension (system
// versioning's "<table>_with_history" and the for-portion views) with the
// base table whose grants the extension propagates to them: it refuses a
// grant on such a view unless the grantee has SELECT on the table.
const grantViaQuery = `
SELECT vn.nspname, v.relname, tn.nspname, t.relname
  FROM (SELECT view_name, table_name FROM periods.system_versioning
        UNION ALL SELECT view_name, table_name FROM periods.for_portion_views) AS p
  JOIN pg_catalog.pg_class v ON v.oid = p.view_name
  JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
  JOIN pg_catalog.pg_class t ON t.oid = p.table_name
  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace`

// loadGrantVia sets Table.GrantVia on the periods extension's views, when
// the extension is installed.
func loadGrantVia(ctx context.Context, q Querier, cat *Catalog) error {
	var periods bool
	rows, err := q.Query(ctx, `SELECT to_regclass('periods.system_versioning') IS NOT NULL AND to_regclass('periods.for_portion_views') IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("read catalog periods: %w", err)
	}
	if periods, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[bool]); err != nil {
		return fmt.Errorf("read catalog periods: %w", err)
	}
	if !periods {
		return nil
	}
	rows, err = q.Query(ctx, grantViaQuery)
	if err != nil {
		return fmt.Errorf("read catalog periods views: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var view, base policies.QualifiedTable
		if err := rows.Scan(&view.Schema, &view.Name, &base.Schema, &base.Name); err != nil {
			return fmt.Errorf("read catalog periods views: %w", err)
		}
		if t := cat.Table(view); t != nil {
			t.GrantVia = &base
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read catalog periods views: %w", err)
	}
	return nil
}
