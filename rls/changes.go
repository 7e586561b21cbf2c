package rls

import (
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// ChangesFunction is the function the live-query poller calls to read the
// change counters: one row (schema, name, changes) per table whose
// counter covers every write to it.
const ChangesFunction = "rowguard.rg_table_changes"

// changeTracking renders the change counters that let live queries refetch
// only the cohorts whose tables changed.
//
// Each tracked table (relkind r or p) gets a sequence
// rowguard.rg_changes_<oid>, kept across installs, and a statement-level
// AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE trigger rg_changes that
// calls nextval on it: a 1,000-row UPDATE costs one bump. A sequence
// rather than a counter row because nextval takes no row lock: a counter
// row updated by every writing statement would make concurrent writers of
// a table wait for each other's commit, and could deadlock two
// transactions that write two tables in opposite orders.
//
// A sequence is not transactional: a bump is visible before its writer
// commits. The poller makes up for it (graphql, live_changes.go): it reads
// the counters, then in a later statement the snapshot; a writer that had
// bumped but not committed is in that snapshot's in-progress list, and the
// tables whose counters moved are refetched again once every such writer
// has ended.
//
// The trigger function is SECURITY DEFINER, owned by the definer role
// (granted USAGE on the sequences), with a pinned search_path, so it works
// for every role that writes. The trigger is ENABLE ALWAYS, so it also
// counts what a logical replication subscription applies, or a session
// with session_replication_role = replica writes. ChangesFunction lists only ordinary tables
// without inheritance parents or children: a statement on a partition
// does not fire its parent's statement trigger (and the reverse), so such
// tables are left to polling.
func (e *emitter) changeTracking() string {
	var names []string
	for _, t := range e.prog.Tables {
		if t.Table.IsView {
			continue
		}
		names = append(names, compiler.QuoteLiteral(compiler.QuoteTable(t.Name())))
	}
	if len(names) == 0 {
		return ""
	}
	definer := compiler.QuoteIdent(e.opts.definer())
	var b strings.Builder
	b.WriteString("-- Change counters for live queries: one sequence per table, bumped once per writing statement.\n")
	fmt.Fprintf(&b, `CREATE FUNCTION rowguard.rg_count_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $rg$ BEGIN PERFORM nextval(('rowguard.rg_changes_' || TG_RELID::text)::regclass); RETURN NULL; END $rg$;
ALTER FUNCTION rowguard.rg_count_change() OWNER TO %[1]s;
REVOKE ALL ON FUNCTION rowguard.rg_count_change() FROM PUBLIC;
COMMENT ON FUNCTION rowguard.rg_count_change() IS 'rowguard: counts the writing statements of a table for live queries';
CREATE FUNCTION %[2]s() RETURNS TABLE (table_schema name, table_name name, changes bigint)
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $rg$ SELECT n.nspname, c.relname, COALESCE(pg_sequence_last_value(s.oid), 0)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class s ON s.relname = 'rg_changes_' || c.oid::text AND s.relkind = 'S'
      AND s.relnamespace = 'rowguard'::regnamespace
    WHERE t.tgname = 'rg_changes' AND NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relkind = 'r'
      AND NOT EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid) $rg$;
ALTER FUNCTION %[2]s() OWNER TO %[1]s;
REVOKE ALL ON FUNCTION %[2]s() FROM PUBLIC;
`, definer, ChangesFunction)
	for _, r := range e.readersOfChanges() {
		fmt.Fprintf(&b, "GRANT EXECUTE ON FUNCTION %s() TO %s;\n", ChangesFunction, compiler.QuoteIdent(r))
	}
	fmt.Fprintf(&b, "COMMENT ON FUNCTION %s() IS 'rowguard: the change counters of the tracked tables, read by live queries';\n", ChangesFunction)
	fmt.Fprintf(&b, `DO $rg$
DECLARE
  t regclass;
  s text;
BEGIN
  FOREACH t IN ARRAY ARRAY[%s]::regclass[] LOOP
    IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t) IN ('r', 'p') THEN
      s := 'rowguard.' || quote_ident('rg_changes_' || t::oid::text);
      EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %%s', s);
      EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %%s TO %%I', s, %s);
      EXECUTE format('CREATE TRIGGER rg_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %%s FOR EACH STATEMENT EXECUTE FUNCTION rowguard.rg_count_change()', t);
      EXECUTE format('ALTER TABLE %%s ENABLE ALWAYS TRIGGER rg_changes', t);
    END IF;
  END LOOP;
END
$rg$;

`, strings.Join(names, ", "), compiler.QuoteLiteral(e.opts.definer()))
	return b.String()
}

// readersOfChanges returns the roles that may read the change counters:
// the server's login role when known, and the admin role (a server that
// logs in as the owner).
func (e *emitter) readersOfChanges() []string {
	out := []string{e.prog.AdminPGRole()}
	if l := e.opts.LoginRole; l != "" && l != out[0] {
		out = append(out, l)
	}
	return out
}
