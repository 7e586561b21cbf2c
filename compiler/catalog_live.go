package compiler

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/policies"
)

// Querier is what LoadCatalog needs of a connection; *pgx.Conn,
// *pgxpool.Pool and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// systemSchemas are never read into the catalog; rowguard's own schema is
// among them, since its tables are not the user's.
const systemSchemaFilter = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard')
	AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`

const columnsQuery = `
SELECT n.nspname, c.relname, c.relkind IN ('v', 'm'), a.attname,
       CASE WHEN tn.nspname = 'pg_catalog' OR t.typtype = 'b' AND et.oid IS NULL THEN format_type(a.atttypid, a.atttypmod)
            WHEN et.oid IS NOT NULL AND etn.nspname <> 'pg_catalog' THEN quote_ident(etn.nspname) || '.' || quote_ident(et.typname) || '[]'
            WHEN et.oid IS NOT NULL THEN format_type(a.atttypid, a.atttypmod)
            ELSE quote_ident(tn.nspname) || '.' || quote_ident(t.typname) END,
       a.attnotnull, a.atthasdef OR a.attidentity <> '', a.attidentity::text, a.attgenerated = 's',
       coalesce(pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname), '')
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
  LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
  LEFT JOIN pg_catalog.pg_namespace etn ON etn.oid = et.typnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
   AND (cardinality($1::text[]) = 0 OR n.nspname = ANY ($1)) AND ` + systemSchemaFilter + `
 ORDER BY n.nspname, c.relname, a.attnum`

const constraintsQuery = `
SELECT n.nspname, c.relname, k.conname, k.contype::text,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[],
       coalesce(rn.nspname, ''), coalesce(r.relname, ''),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[]
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
  LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
 WHERE k.contype IN ('p', 'u', 'f')
   AND (cardinality($1::text[]) = 0 OR n.nspname = ANY ($1)) AND ` + systemSchemaFilter + `
UNION ALL
SELECT n.nspname, c.relname, i.relname, 'i',
       ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(n, o)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o)::text[],
       '', '', '{}'::text[]
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE x.indisunique AND x.indpred IS NULL AND x.indexprs IS NULL
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = x.indexrelid)
   AND (cardinality($1::text[]) = 0 OR n.nspname = ANY ($1)) AND ` + systemSchemaFilter + `
 ORDER BY 1, 2, 3`

// LoadCatalog reads the tables and views of the given schemas (every
// non-system schema when schemas is empty) from a live database, in two
// queries.
func LoadCatalog(ctx context.Context, q Querier, schemas []string) (*Catalog, error) {
	if schemas == nil {
		schemas = []string{}
	}
	cat := NewCatalog()
	rows, err := q.Query(ctx, columnsQuery, schemas)
	if err != nil {
		return nil, fmt.Errorf("read catalog columns: %w", err)
	}
	for rows.Next() {
		var name policies.QualifiedTable
		var isView bool
		col := &Column{}
		if err := rows.Scan(&name.Schema, &name.Name, &isView, &col.Name, &col.Type, &col.NotNull, &col.HasDefault, &col.Identity, &col.Generated, &col.Sequence); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read catalog columns: %w", err)
		}
		t := cat.Table(name)
		if t == nil {
			t = &Table{Name: name, IsView: isView}
			cat.Add(t)
		}
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read catalog columns: %w", err)
	}
	rows, err = q.Query(ctx, constraintsQuery, schemas)
	if err != nil {
		return nil, fmt.Errorf("read catalog constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, ref policies.QualifiedTable
		var conname, kind string
		var cols, refCols []string
		if err := rows.Scan(&name.Schema, &name.Name, &conname, &kind, &cols, &ref.Schema, &ref.Name, &refCols); err != nil {
			return nil, fmt.Errorf("read catalog constraints: %w", err)
		}
		t := cat.Table(name)
		if t == nil {
			continue
		}
		switch kind {
		case "p":
			t.PrimaryKey = cols
		case "u", "i":
			t.Uniques = append(t.Uniques, cols)
		case "f":
			t.ForeignKeys = append(t.ForeignKeys, &ForeignKey{Name: conname, Columns: cols, RefTable: ref, RefColumns: refCols})
		}
	}
	return cat, rows.Err()
}
