package claims

import (
	"context"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestInstallMatchesNamespace installs rowguard.rg_claims and checks, from
// a role that reads none of the tables, that one call after setting the
// user id sets exactly the values Namespace computes (a missing claim as
// ”), and that a role without EXECUTE cannot call it.
func TestInstallMatchesNamespace(t *testing.T) {
	definer := pgtest.UniqueName("rg_claims_definer")
	api := pgtest.UniqueName("rg_claims_api")
	other := pgtest.UniqueName("rg_claims_other")
	pgtest.DropRolesLater(t, definer, api, other)
	conn, prog, cat := testDB(t)
	ctx := context.Background()
	c := compileVectors(t, prog, cat)
	setup := "CREATE ROLE " + definer + " NOLOGIN BYPASSRLS; CREATE ROLE " + api + " NOLOGIN; CREATE ROLE " + other + " NOLOGIN; CREATE SCHEMA rowguard; GRANT USAGE ON SCHEMA rowguard TO " + api + ", " + other + ";"
	if _, err := conn.Exec(ctx, setup+InstallSQL(c, definer, []string{api})); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{user1, user2} {
		want, err := Namespace(ctx, conn, c, user)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+api); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('hasura.x_hasura_user_id', $1, true)", user); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('hasura.session', '{"x-hasura-role":"user","x-hasura-mk":"stale","x-hasura-none":"stale"}', true)`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT rowguard.rg_claims()"); err != nil {
			t.Fatal(err)
		}
		// The session object of computed fields gets the same values; a
		// claim without one leaves it.
		var session map[string]string
		if err := tx.QueryRow(ctx, "SELECT current_setting('hasura.session')::jsonb").Scan(&session); err != nil {
			t.Fatal(err)
		}
		if session["x-hasura-role"] != "user" || session["x-hasura-mk"] != want["x-hasura-mk"] || len(session) != len(want)+1 {
			t.Errorf("user %s: hasura.session after rg_claims() = %v, want x-hasura-role and %v", user, session, want)
		}
		got := Values{}
		for _, cl := range c.Claims {
			var v string
			if err := tx.QueryRow(ctx, "SELECT current_setting($1)", cl.Setting).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != "" {
				got[cl.Var] = v
			}
		}
		var vars []string
		if err := tx.QueryRow(ctx, "SELECT "+KeysFunction+"()").Scan(&vars); err != nil {
			t.Fatal(err)
		}
		if len(vars) != len(c.Claims) {
			t.Errorf("%s() = %v, want the %d claims", KeysFunction, vars, len(c.Claims))
		}
		tx.Rollback(ctx)
		if d := diffValues(want, got); d != "" {
			t.Errorf("user %s: settings after rg_claims() differ from Namespace (-Namespace +settings):\n%s", user, d)
		}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+other); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT rowguard.rg_claims($1)", user1); err == nil {
		t.Error("a role not granted EXECUTE called rowguard.rg_claims")
	}
}

// TestInstallNestedArray: rowguard.rg_claims refuses an array claim whose
// element is an array, as Namespace does, whether the claim's value is the
// array itself (a scalar path) or its elements (an array path).
func TestInstallNestedArray(t *testing.T) {
	definer := pgtest.UniqueName("rg_claims_definer")
	pgtest.DropRolesLater(t, definer)
	conn, prog, cat := testDB(t)
	ctx := context.Background()
	for i, path := range []string{"m.nested", "m.nested[]"} {
		cfg, err := ParseHasuraAuth(`{"n":"`+path+`"}`, "", EnvClaims, EnvDefaults)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Compile(cfg, prog, cat)
		if err != nil {
			t.Fatal(err)
		}
		setup := "CREATE SCHEMA rowguard; "
		if i == 0 {
			setup += "CREATE ROLE " + definer + " NOLOGIN BYPASSRLS; "
		} else {
			setup = "DROP SCHEMA rowguard CASCADE; " + setup
		}
		if _, err := conn.Exec(ctx, setup+InstallSQL(c, definer, nil)); err != nil {
			t.Fatal(err)
		}
		_, nsErr := Namespace(ctx, conn, c, user1)
		_, err = conn.Exec(ctx, "SELECT rowguard.rg_claims($1)", user1)
		if nsErr == nil || err == nil || !strings.Contains(err.Error(), "is an array") || !strings.Contains(err.Error(), "x-hasura-n") {
			t.Errorf("%s: Namespace error %v, rg_claims error %v; want both to refuse the nested array, naming the claim", path, nsErr, err)
		}
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA rowguard CASCADE"); err != nil {
		t.Fatal(err)
	}
}
