package claims

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// Names of the installed functions.
const (
	// Function sets every claim's setting, transaction-locally, for the
	// user id it is given: SELECT rowguard.rg_claims('…'). Called without
	// an argument it reads hasura.x_hasura_user_id, so psql can run
	// SELECT set_config('hasura.x_hasura_user_id', '…', true);
	// SELECT rowguard.rg_claims();
	Function = "rowguard.rg_claims"
	// KeysFunction returns the session variables Function sets, so a
	// server learns them from the database it serves.
	KeysFunction = "rowguard.rg_claim_vars"
)

// InstallSQL renders the functions that compute c in the database:
//
//   - rowguard.rg_claim_json(jsonb), rowguard.rg_claim_text(jsonb, text)
//     and rowguard.rg_claim_nested(jsonb, text), the parts of Encode that
//     a claim's TextSQL calls for values that are not plain columns
//     (objects as compact JSON, keys in byte order; arrays as PostgreSQL
//     array literals; a nested array raises an error naming the claim);
//   - rowguard.rg_claims(user_id text), STABLE in what it reads but
//     VOLATILE since it sets settings, SECURITY DEFINER owned by definer (a
//     BYPASSRLS role, as the policy helpers) with search_path pg_catalog:
//     it reads only the tables and columns the paths name, and sets each
//     claim's setting to its value, its default, or ” (unset);
//   - rowguard.rg_claims(), the same for hasura.x_hasura_user_id;
//   - rowguard.rg_claim_vars(), the session variables it sets.
//
// Only grantees (the API roles and the server's login role) may execute
// them: like setting hasura.* settings, calling them with any user id is
// what the server does. The script runs after rowguard's policy script,
// which drops every function of schema rowguard first, so it can run
// again.
func InstallSQL(c *Compiled, definer string, grantees []string) string {
	var b strings.Builder
	b.WriteString("\n-- Custom claims (permission variables), from " + strings.ReplaceAll(c.Config.Source, "\n", " ") + ".\n")
	b.WriteString(encoderSQL)
	b.WriteString(claimsFunction(c))
	b.WriteString("CREATE FUNCTION rowguard.rg_claims() RETURNS void LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $rg$\n  SELECT rowguard.rg_claims(NULLIF(current_setting('hasura.x_hasura_user_id', true), ''))\n$rg$;\n")
	vars := make([]string, len(c.Claims))
	for i, cl := range c.Claims {
		vars[i] = compiler.QuoteLiteral(cl.Var)
	}
	fmt.Fprintf(&b, "CREATE FUNCTION rowguard.rg_claim_vars() RETURNS text[] LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $rg$ SELECT ARRAY[%s]::text[] $rg$;\n", strings.Join(vars, ", "))

	d := compiler.QuoteIdent(definer)
	fmt.Fprintf(&b, "ALTER FUNCTION rowguard.rg_claims(text) OWNER TO %s;\n", d)
	fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA rowguard TO %s;\n", d)
	for _, f := range encoderFunctions {
		fmt.Fprintf(&b, "GRANT EXECUTE ON FUNCTION rowguard.%s TO %s;\n", f, d)
	}
	for _, q := range readTables(c) {
		fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO %s;\n", compiler.QuoteIdent(q.Schema), d)
		fmt.Fprintf(&b, "GRANT SELECT ON %s TO %s; -- read by a claim path\n", compiler.QuoteTable(q), d)
	}
	for _, f := range append([]string{"rg_claims(text)", "rg_claims()", "rg_claim_vars()"}, encoderFunctions...) {
		fmt.Fprintf(&b, "REVOKE ALL ON FUNCTION rowguard.%s FROM PUBLIC;\n", f)
		for _, g := range grantees {
			fmt.Fprintf(&b, "GRANT EXECUTE ON FUNCTION rowguard.%s TO %s;\n", f, compiler.QuoteIdent(g))
		}
	}
	return b.String()
}

// Install compiles cfg against prog and renders InstallSQL for it, as
// migrate installs it with the policies: owned by definer, executable by
// the admin role, every role of prog and loginRole (when not empty).
func Install(cfg *Config, prog *compiler.Program, definer, loginRole string) (string, error) {
	comp, err := Compile(cfg, prog, prog.Catalog)
	if err != nil {
		return "", err
	}
	grantees := []string{prog.AdminPGRole()}
	for _, r := range prog.Roles {
		grantees = append(grantees, r.PGName)
	}
	if loginRole != "" {
		grantees = append(grantees, loginRole)
	}
	return InstallSQL(comp, definer, grantees), nil
}

// encoderFunctions are the functions of encoderSQL.
var encoderFunctions = []string{"rg_claim_json(jsonb)", "rg_claim_text(jsonb, text)", "rg_claim_nested(jsonb, text)"}

func readTables(c *Compiled) []policies.QualifiedTable {
	seen := map[policies.QualifiedTable]bool{}
	var out []policies.QualifiedTable
	for _, cl := range c.Claims {
		for _, q := range cl.Reads {
			if !seen[q] {
				seen[q] = true
				out = append(out, q)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// encoderSQL is Encode in PL/pgSQL. The encoders have no SET clause (which
// would cost a configuration save and restore per call): they run inside
// rg_claims, whose search_path is pg_catalog, and name everything else
// with its schema.
const encoderSQL = `CREATE FUNCTION rowguard.rg_claim_json(v jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $rg$
DECLARE
  out text;
BEGIN
  CASE jsonb_typeof(v)
  WHEN 'object' THEN
    SELECT '{' || COALESCE(string_agg(to_jsonb(k)::text || ':' || rowguard.rg_claim_json(x), ',' ORDER BY k COLLATE "C"), '') || '}'
      INTO out FROM jsonb_each(v) AS e(k, x);
    RETURN out;
  WHEN 'array' THEN
    SELECT '[' || COALESCE(string_agg(rowguard.rg_claim_json(x), ',' ORDER BY o), '') || ']'
      INTO out FROM jsonb_array_elements(v) WITH ORDINALITY AS e(x, o);
    RETURN out;
  ELSE
    RETURN v::text;
  END CASE;
END
$rg$;
CREATE FUNCTION rowguard.rg_claim_text(v jsonb, claim text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $rg$
DECLARE
  e jsonb;
  i bigint;
  s text;
  out text := '';
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
    RETURN NULL;
  END IF;
  CASE jsonb_typeof(v)
  WHEN 'string' THEN
    RETURN v #>> '{}';
  WHEN 'array' THEN
    FOR e, i IN SELECT x, o FROM jsonb_array_elements(v) WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
      IF i > 1 THEN
        out := out || ',';
      END IF;
      CASE jsonb_typeof(e)
      WHEN 'null' THEN
        out := out || 'NULL';
      WHEN 'array' THEN
        RAISE EXCEPTION 'claim % : element % is an array: a claim may be an array of values, not of arrays', claim, i - 1
          USING HINT = 'end the claim''s path on a value inside, e.g. with [] or [N]';
      ELSE
        s := CASE WHEN jsonb_typeof(e) = 'string' THEN e #>> '{}' ELSE rowguard.rg_claim_json(e) END;
        out := out || '"' || replace(replace(s, '\', '\\'), '"', '\"') || '"';
      END CASE;
    END LOOP;
    RETURN '{' || out || '}';
  ELSE
    RETURN rowguard.rg_claim_json(v);
  END CASE;
END
$rg$;
CREATE FUNCTION rowguard.rg_claim_nested(v jsonb, claim text) RETURNS text LANGUAGE plpgsql VOLATILE AS $rg$
BEGIN
  RAISE EXCEPTION 'claim % : element % is an array: a claim may be an array of values, not of arrays', claim, v
    USING HINT = 'end the claim''s path on a value inside, e.g. with [] or [N]';
END
$rg$;
`

// InstalledVars returns the session variables the installed
// rowguard.rg_claims sets, checking that the connection's role may call it
// (a server's login role must be granted it: rowguard migrate up
// --login-role).
func InstalledVars(ctx context.Context, q compiler.Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT to_regprocedure('rowguard.rg_claims(text)') IS NOT NULL,
  COALESCE(has_function_privilege(to_regprocedure('rowguard.rg_claims(text)'), 'EXECUTE'), false)`)
	if err != nil {
		return nil, fmt.Errorf("look for the claims function: %w", err)
	}
	var exists, may bool
	for rows.Next() {
		if err := rows.Scan(&exists, &may); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()
	switch {
	case !exists:
		return nil, fmt.Errorf("the database has no custom claims installed (%s): configure them (%s, %s or %s beside the metadata) and run `rowguard migrate up`", Function, EnvClaims, FileJSON, FileNhost)
	case !may:
		return nil, fmt.Errorf("this login role may not execute %s(text): run `rowguard migrate up --login-role <this role>` with the claims configured", Function)
	}
	rows, err = q.Query(ctx, "SELECT "+KeysFunction+"()")
	if err != nil {
		return nil, fmt.Errorf("read the installed claims: %w", err)
	}
	defer rows.Close()
	var vars []string
	for rows.Next() {
		if err := rows.Scan(&vars); err != nil {
			return nil, err
		}
	}
	return vars, rows.Err()
}

// claimsFunction renders rowguard.rg_claims(user_id text). One statement
// computes every claim (its TextSQL, already encoded) and sets each
// claim's setting; when the request set hasura.session (the session
// object of computed fields' session argument), a second one puts the
// same values there, so a function reading the session sees what the
// policies see.
func claimsFunction(c *Compiled) string {
	var b strings.Builder
	b.WriteString("CREATE FUNCTION rowguard.rg_claims(user_id text) RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $rg$\nBEGIN\n")
	if len(c.Claims) == 0 {
		b.WriteString("  RETURN;\nEND\n$rg$;\n")
		return b.String()
	}
	vars := make([]string, len(c.Claims))
	sets := make([]string, len(c.Claims))
	pairs := make([]string, len(c.Claims))
	for i, cl := range c.Claims {
		def := "''"
		if cl.Default != nil {
			def = compiler.QuoteLiteral(*cl.Default)
		}
		setting := compiler.QuoteLiteral(cl.Setting)
		vars[i] = compiler.QuoteLiteral(cl.Var)
		sets[i] = fmt.Sprintf("set_config(%s, COALESCE(%s, %s), true)", setting, cl.TextSQL, def)
		pairs[i] = fmt.Sprintf("%s, NULLIF(current_setting(%s), '')", vars[i], setting)
	}
	b.WriteString("  PERFORM " + strings.Join(sets, ",\n    ") + ";\n")
	session := compiler.QuoteLiteral(compiler.SessionSetting)
	fmt.Fprintf(&b, "  IF current_setting(%s, true) <> '' THEN\n    PERFORM set_config(%s, ((current_setting(%s)::jsonb - ARRAY[%s]::text[]) || jsonb_strip_nulls(jsonb_build_object(%s)))::text, true);\n  END IF;\nEND\n$rg$;\n",
		session, session, session, strings.Join(vars, ", "), strings.Join(pairs, ", "))
	return b.String()
}
