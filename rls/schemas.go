package rls

import (
	"sort"
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// trackedSchemas returns, sorted, the schemas of the tracked tables and of
// the user types their columns have.
func (e *emitter) trackedSchemas() []string {
	seen := map[string]bool{}
	for _, t := range e.prog.Tables {
		seen[t.Name().Schema] = true
		for _, c := range t.Table.Columns {
			if s := typeSchema(c.Type); s != "" {
				seen[s] = true
			}
		}
	}
	delete(seen, "pg_catalog")
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// typeSchema returns the schema of a type as format_type() spells it
// ("public.mood", "\"my schema\".t[]"), or "" for an unqualified one
// ("integer", "character varying(20)", "numeric(10,2)").
func typeSchema(typ string) string {
	if strings.HasPrefix(typ, `"`) {
		for i := 1; i < len(typ); i++ {
			if typ[i] != '"' {
				continue
			}
			if i+1 < len(typ) && typ[i+1] == '"' {
				i++
				continue
			}
			if i+1 < len(typ) && typ[i+1] == '.' {
				return strings.ReplaceAll(typ[1:i], `""`, `"`)
			}
			return ""
		}
		return ""
	}
	i := strings.IndexByte(typ, '.')
	if i <= 0 || strings.ContainsAny(typ[:i], `( ["`) {
		return ""
	}
	return typ[:i]
}

// adminObjectGrants renders the install-time grants that let the admin
// role do with the project's objects what their owner may: on every
// schema but PostgreSQL's own, rowguard's and Hasura's hdb_catalog, USAGE,
// EXECUTE on its routines (those PUBLIC may not run already), and every
// privilege on its sequences, tables,
// views and foreign tables, except those an object refuses (the periods
// extension refuses INSERT, UPDATE and DELETE on its history views and
// EXECUTE on its generated functions): an object that refuses the bulk
// GRANT gets each privilege it takes.
//
// The objects are found when the script runs, so the grants cover what
// the schema migrations made; the admin role is never made a member of
// the owner (which may be a superuser the login role could then become).
// The teardown's DROP OWNED BY revokes all of it.
func adminObjectGrants(admin string) string {
	return strings.ReplaceAll(`DO $rg$
DECLARE
  ns record;
  obj record;
  priv text;
BEGIN
  FOR ns IN SELECT oid, nspname FROM pg_catalog.pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard', 'hdb_catalog')
        AND nspname !~ '^pg_(toast|temp_|toast_temp_)' ORDER BY nspname LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', ns.nspname, @admin);
    -- Routines are executable by PUBLIC unless revoked: grant EXECUTE only
    -- on those the admin cannot run yet, one by one.
    FOR obj IN SELECT p.oid::regprocedure::text AS name FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = ns.oid AND NOT pg_catalog.has_function_privilege(@admin, p.oid, 'EXECUTE') ORDER BY 1 LOOP
      BEGIN
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', obj.name, @admin);
      EXCEPTION WHEN OTHERS THEN
        NULL; -- refused by the routine: not granted
      END;
    END LOOP;
    -- One GRANT per kind and schema; where an object refuses it, one per
    -- object, and where that is refused, one per privilege.
    FOR obj IN SELECT 'SEQUENCES' AS kind, ARRAY['USAGE', 'SELECT', 'UPDATE'] AS privs, ARRAY['S'] AS relkinds
        UNION ALL SELECT 'TABLES', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'], ARRAY['r', 'p', 'v', 'm', 'f'] LOOP
      BEGIN
        EXECUTE format('GRANT ALL ON ALL %s IN SCHEMA %I TO %I', obj.kind, ns.nspname, @admin);
      EXCEPTION WHEN OTHERS THEN
        DECLARE
          rel regclass;
        BEGIN
          FOR rel IN SELECT c.oid FROM pg_catalog.pg_class c
              WHERE c.relnamespace = ns.oid AND c.relkind::text = ANY (obj.relkinds) ORDER BY c.relname LOOP
            BEGIN
              EXECUTE format('GRANT ALL ON %s TO %I', rel, @admin);
            EXCEPTION WHEN OTHERS THEN
              FOREACH priv IN ARRAY obj.privs LOOP
                BEGIN
                  EXECUTE format('GRANT %s ON %s TO %I', priv, rel, @admin);
                EXCEPTION WHEN OTHERS THEN
                  NULL; -- refused by the object: not granted
                END;
              END LOOP;
            END;
          END LOOP;
        END;
      END;
    END LOOP;
  END LOOP;
END
$rg$;
`, "@admin", compiler.QuoteLiteral(admin))
}

// definerObjectGrants renders the install-time grants that let the
// definer role read what the project's functions read: on every schema
// but PostgreSQL's own, rowguard's and hdb_catalog, USAGE, EXECUTE on its
// routines and SELECT on its tables, views, materialized views and foreign
// tables (an object that refuses it is skipped). The helpers and per-role
// view sources run project functions with the definer's rights, as Hasura
// runs them with the owner's, and a function may read a table no
// permission tracks.
//
// This gives the API roles nothing: the definer is NOLOGIN and already
// BYPASSRLS, no role is a member of it, and it owns only rowguard's
// helpers, each of which returns no more than its one role's permission
// shows. SELECT only: computed fields and views do not write. The
// teardown's DROP OWNED BY revokes it all.
func definerObjectGrants(definer string) string {
	return strings.ReplaceAll(`DO $rg$
DECLARE
  ns record;
  obj record;
BEGIN
  FOR ns IN SELECT oid, nspname FROM pg_catalog.pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard', 'hdb_catalog')
        AND nspname !~ '^pg_(toast|temp_|toast_temp_)' ORDER BY nspname LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', ns.nspname, @definer);
    FOR obj IN SELECT p.oid::regprocedure::text AS name FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = ns.oid AND NOT pg_catalog.has_function_privilege(@definer, p.oid, 'EXECUTE') ORDER BY 1 LOOP
      BEGIN
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', obj.name, @definer);
      EXCEPTION WHEN OTHERS THEN
        NULL; -- refused by the routine: not granted
      END;
    END LOOP;
    BEGIN
      EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', ns.nspname, @definer);
    EXCEPTION WHEN OTHERS THEN
      FOR obj IN SELECT c.oid::regclass AS rel FROM pg_catalog.pg_class c
          WHERE c.relnamespace = ns.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname LOOP
        BEGIN
          EXECUTE format('GRANT SELECT ON %s TO %I', obj.rel, @definer);
        EXCEPTION WHEN OTHERS THEN
          NULL; -- refused by the object: not granted
        END;
      END LOOP;
    END;
  END LOOP;
END
$rg$;
`, "@definer", compiler.QuoteLiteral(definer))
}
