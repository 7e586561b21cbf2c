package compiler

import (
	"context"
	"slices"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

// rightsDDL has functions that do and do not read data with the caller's
// rights, and a view calling some of them.
const rightsDDL = `
CREATE TABLE t (id int PRIMARY KEY);
CREATE FUNCTION pure(a t) RETURNS int LANGUAGE sql STABLE AS $$ SELECT a.id * 2 + length(coalesce(null, 'x')) $$;
CREATE FUNCTION reads(a t) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM t WHERE id < a.id $$;
CREATE FUNCTION reads_definer(a t) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$ SELECT count(*) FROM t $$;
CREATE FUNCTION calls(a t) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT pure(a) $$;
CREATE FUNCTION pl_pure(a t) RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE x int := 1;
BEGIN
  IF a.id > 0 THEN x := a.id; END IF;
  RETURN x + 1;
END $$;
CREATE FUNCTION pl_reads(a t) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF EXISTS (SELECT FROM t WHERE id = a.id + 1) THEN RETURN 1; END IF;
  RETURN 0;
END $$;
CREATE FUNCTION pl_assign_reads(a t) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
  n := (SELECT count(*) FROM t WHERE id < a.id);
  RETURN n;
END $$;
CREATE FUNCTION pl_set() RETURNS SETOF int LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN QUERY SELECT id FROM t; END $$;
CREATE FUNCTION pl_dynamic(a t) RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE n int;
BEGIN
  EXECUTE 'SELECT 1' INTO n;
  RETURN n;
END $$;
CREATE FUNCTION standard(a t) RETURNS int LANGUAGE sql STABLE RETURN a.id;
CREATE VIEW v AS SELECT id, pure(t) AS p, upper('x') AS u FROM t WHERE id IN (SELECT pl_set());
CREATE VIEW inner_v AS SELECT id FROM t WHERE id > reads(t);
CREATE VIEW outer_v AS SELECT id, pl_pure(inner_v::text::t) AS p FROM inner_v;
CREATE OR REPLACE VIEW inner_v AS SELECT id FROM t WHERE id > calls(t);
CREATE MATERIALIZED VIEW mat_v AS SELECT id FROM inner_v;
`

// TestReadsAsCaller: which functions read data with the caller's rights,
// told from their bodies, the same from the DDL files and from the
// database; and which of them a view calls.
func TestReadsAsCaller(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		"pure": false, "reads": true, "reads_definer": false, "calls": true,
		"pl_pure": false, "pl_reads": true, "pl_assign_reads": true, "pl_set": true, "pl_dynamic": true,
		"standard": true, // a SQL-standard body is not kept as text: the helper, to be safe
	}
	offline, err := ParseDDL([]DDLFile{{Name: "schema.sql", SQL: rightsDDL}})
	if err != nil {
		t.Fatalf("ParseDDL: %v", err)
	}
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	if _, err := conn.Exec(ctx, rightsDDL); err != nil {
		t.Fatalf("run the DDL: %v", err)
	}
	live, err := LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	for from, cat := range map[string]*Catalog{"ParseDDL": offline, "LoadCatalog": live} {
		for name, w := range want {
			f := cat.Function(policies.QualifiedTable{Schema: "public", Name: name})
			if f == nil {
				t.Errorf("%s: no function %s", from, name)
				continue
			}
			if got := cat.ReadsAsCaller(f); got != w {
				t.Errorf("%s: ReadsAsCaller(%s) = %v, want %v (language %q, body %q)", from, name, got, w, f.Language, f.Body)
			}
		}
		v := cat.Table(policies.QualifiedTable{Schema: "public", Name: "v"})
		wantCalls := []policies.QualifiedTable{{Schema: "public", Name: "pl_set"}, {Schema: "public", Name: "pure"}}
		if v == nil || !slices.Equal(v.Calls, wantCalls) {
			t.Errorf("%s: view v calls %v, want %v", from, v, wantCalls)
		}
		// A view reading a view runs its functions too, as replaced; a
		// materialized view ran them when refreshed.
		outer := cat.Table(policies.QualifiedTable{Schema: "public", Name: "outer_v"})
		wantOuter := []policies.QualifiedTable{{Schema: "public", Name: "calls"}, {Schema: "public", Name: "pl_pure"}}
		if outer == nil || !slices.Equal(outer.Calls, wantOuter) {
			t.Errorf("%s: view outer_v calls %v, want %v", from, outer, wantOuter)
		}
		if m := cat.Table(policies.QualifiedTable{Schema: "public", Name: "mat_v"}); m == nil || m.Calls != nil {
			t.Errorf("%s: materialized view mat_v calls %v, want none", from, m)
		}
	}
	if d := functionsDiff(offline, live); d != "" {
		t.Errorf("ParseDDL and LoadCatalog disagree on functions (- ParseDDL, + LoadCatalog):\n%s", d)
	}
}
