package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

const claimsMetadata = "testdata/claims/metadata.yaml"

// claimsDatabase installs examples/blog's schema with testdata/claims's
// metadata and claims (rowguard.rg_claims granted to a login role) and
// returns the superuser's and the login role's URLs and the role prefix.
func claimsDatabase(t *testing.T) (superuser, login, prefix string) {
	t.Helper()
	n := newDemoNames(t)
	ctx := context.Background()
	url, _, err := freshDatabase(ctx, pgtest.ServerURL(t), n.database)
	if err != nil {
		t.Fatal(err)
	}
	loginRole := n.prefix + "server"
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+compiler.QuoteIdent(loginRole)+" LOGIN NOINHERIT PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}
	opts := rls.Options{DefinerRole: n.definer, LoginRole: loginRole}
	var cf claimsFlags
	extend, err := cf.extend(claimsMetadata, opts)
	if err != nil || extend == nil {
		t.Fatalf("claims beside %s: none found (%v)", claimsMetadata, err)
	}
	if err := migrations.Up(ctx, migrations.Config{
		DatabaseURL: url,
		Migrations:  "../../examples/blog/migrations",
		Metadata:    claimsMetadata,
		Compile:     compiler.Options{RolePrefix: n.prefix},
		RLS:         opts,
		Extend:      extend,
	}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	login = fmt.Sprintf("postgres://%s:pw@%s:%d/%s?sslmode=disable", loginRole, cfg.Host, cfg.Port, cfg.Database)
	return url, login, n.prefix
}

// TestClaimsRevocation signs Alice in (her claims from `rowguard claims`,
// as an auth service would put them in her token), then removes her
// membership of organization 1 with one request. With the token's claims
// the next request still shows organization 1's articles (the stale grant
// hasura-auth users hit until the token is refreshed); with --fresh-claims
// it shows none.
func TestClaimsRevocation(t *testing.T) {
	superuser, login, prefix := claimsDatabase(t)
	ctx := context.Background()

	var out bytes.Buffer
	if err := runClaims(ctx, []string{"--database-url", superuser, "--metadata", claimsMetadata, "--role-prefix", prefix, "--user-id", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	var ns map[string]string
	if err := json.Unmarshal(out.Bytes(), &ns); err != nil {
		t.Fatalf("rowguard claims printed %q: %v", out.String(), err)
	}
	want := map[string]string{"x-hasura-allowed-organizations": `{"1"}`, "x-hasura-first-organization": "Acme"}
	if fmt.Sprint(ns) != fmt.Sprint(want) {
		t.Fatalf("rowguard claims --user-id 1 = %v, want %v", ns, want)
	}

	const key = "a-very-secret-key-of-at-least-32-bytes!!"
	jwtConfig := `{"type":"HS256","key":"` + key + `"}`
	hasura := map[string]any{
		"x-hasura-allowed-roles": []string{"org_viewer"},
		"x-hasura-default-role":  "org_viewer",
		"x-hasura-user-id":       "1",
	}
	for k, v := range ns {
		hasura[k] = v
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "1", "exp": time.Now().Add(15 * time.Minute).Unix(),
		"https://hasura.io/jwt/claims": hasura,
	}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--database-url", login, "--role-prefix", prefix, "--admin-secret", "s3cret", "--jwt-secret", jwtConfig}
	tokenURL := startServe(t, common...)
	freshURL := startServe(t, append(common, "--fresh-claims")...)

	const q = `{ article(order_by: {id: asc}) { id organization_id } }`
	auth := []string{"Authorization", "Bearer " + token}
	for _, url := range []string{tokenURL, freshURL} {
		if got := articleIDs(t, post(t, url, q, auth...)); !equalIDs(got, 1, 2, 3) {
			t.Fatalf("%s: before the revocation Alice sees %v, want organization 1's [1 2 3]", url, got)
		}
	}
	// A token whose claim says organization 2: the fresh server ignores it.
	forged := map[string]any{}
	for k, v := range hasura {
		forged[k] = v
	}
	forged["x-hasura-allowed-organizations"] = `{"2"}`
	token2, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "1", "exp": time.Now().Add(15 * time.Minute).Unix(), "https://hasura.io/jwt/claims": forged,
	}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if got := articleIDs(t, post(t, freshURL, q, "Authorization", "Bearer "+token2)); !equalIDs(got, 1, 2, 3) {
		t.Errorf("fresh claims: a token claiming organization 2 sees %v, want the database's [1 2 3]", got)
	}

	del := post(t, tokenURL, `mutation { delete_organization_member(where: {organization_id: {_eq: 1}, member_id: {_eq: 1}}) { affected_rows } }`, "X-Hasura-Admin-Secret", "s3cret")
	if fmt.Sprint(del["data"]) != "map[delete_organization_member:map[affected_rows:1]]" {
		t.Fatalf("revoke: %v", del)
	}
	if got := articleIDs(t, post(t, tokenURL, q, auth...)); !equalIDs(got, 1, 2, 3) {
		t.Errorf("token claims after the revocation: Alice sees %v, want the stale grant [1 2 3] (what this test shows)", got)
	}
	if got := articleIDs(t, post(t, freshURL, q, auth...)); len(got) != 0 {
		t.Errorf("fresh claims after the revocation: Alice sees %v, want none", got)
	}
}
