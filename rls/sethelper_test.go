package rls

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

// setHelperSchema has a membership table whose key to org PostgreSQL
// holds (member: the set helper reads it alone), one without a key
// (member_no_key: the helper must read org, and members of organizations
// that do not exist must not count), and a chain of keys (owner, grantee).
// Keys may be NULL everywhere; doc has no key, so a document may name an
// organization that does not exist.
const setHelperSchema = `
CREATE TABLE org (id integer PRIMARY KEY);
CREATE TABLE member (org_id integer REFERENCES org, user_id integer NOT NULL);
CREATE TABLE member_no_key (org_id integer, user_id integer NOT NULL);
CREATE TABLE owner (org_id integer PRIMARY KEY REFERENCES org);
CREATE TABLE grantee (org_id integer REFERENCES owner, user_id integer NOT NULL);
CREATE TABLE doc (id integer PRIMARY KEY, org_id integer);
`

const setHelperMetadata = `
- table: {schema: public, name: org}
  array_relationships:
    - name: members
      using: {foreign_key_constraint_on: {table: member, column: org_id}}
    - name: no_key
      using:
        manual_configuration:
          remote_table: {schema: public, name: member_no_key}
          column_mapping: {id: org_id}
  object_relationships:
    - name: owner
      using:
        manual_configuration:
          remote_table: {schema: public, name: owner}
          column_mapping: {id: org_id}
- table: {schema: public, name: member}
- table: {schema: public, name: member_no_key}
- table: {schema: public, name: owner}
  array_relationships:
    - name: grantees
      using: {foreign_key_constraint_on: {table: grantee, column: org_id}}
- table: {schema: public, name: grantee}
- table: {schema: public, name: doc}
  object_relationships:
    - name: org
      using:
        manual_configuration:
          remote_table: {schema: public, name: org}
          column_mapping: {org_id: id}
  select_permissions:
    - role: member
      permission:
        columns: [id]
        filter: {org: {members: {user_id: {_eq: X-Hasura-User-Id}}}}
    - role: outsider
      permission:
        columns: [id]
        filter: {_not: {org: {members: {user_id: {_eq: X-Hasura-User-Id}}}}}
    - role: no_key
      permission:
        columns: [id]
        filter: {org: {no_key: {user_id: {_eq: X-Hasura-User-Id}}}}
    - role: grantee
      permission:
        columns: [id]
        filter: {org: {owner: {grantees: {user_id: {_eq: X-Hasura-User-Id}}}}}
`

// TestSetHelpersMatchExists installs membership rules whose set helpers
// skip the intermediate table (and one that cannot) and compares, over
// rounds of random memberships, the documents each user sees through the
// policy with those the rule's plain EXISTS form selects for the
// superuser: users in no organization, members of organizations without
// documents, NULL keys, memberships of organizations that do not exist.
func TestSetHelpersMatchExists(t *testing.T) {
	ctx := context.Background()
	prefix := pgtest.UniqueName("set") + "_"
	pgtest.DropRolesLater(t, prefix)
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	if _, err := conn.Exec(ctx, setHelperSchema); err != nil {
		t.Fatalf("schema: %v", err)
	}
	file := filepath.Join(t.TempDir(), "metadata.yaml")
	if err := os.WriteFile(file, []byte(setHelperMetadata), 0o644); err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	prog := liveProgram(ctx, t, conn, md, prefix)
	sql := Emit(prog, Options{DefinerRole: prefix + "definer"})
	// The test is about the shortcut: it must be taken where the keys
	// allow it, and only there.
	for _, want := range []string{
		`SELECT DISTINCT _rg0."org_id" FROM "public"."member" _rg0`,
		`SELECT DISTINCT _rg0."org_id" FROM "public"."grantee" _rg0`,
		`SELECT DISTINCT _rg0."id" FROM "public"."org" _rg0 WHERE _rg0."id" IS NOT NULL AND (EXISTS (SELECT 1 FROM "public"."member_no_key"`,
	} {
		if !strings.Contains(sql, want) {
			t.Fatalf("the emitted SQL has no helper %s…", want)
		}
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("install: %v", err)
	}

	// The rules written out, for the superuser, who bypasses the policies.
	rules := map[string]string{
		"member":   `EXISTS (SELECT 1 FROM org o WHERE o.id = d.org_id AND EXISTS (SELECT 1 FROM member m WHERE m.org_id = o.id AND m.user_id = $1))`,
		"outsider": `NOT EXISTS (SELECT 1 FROM org o WHERE o.id = d.org_id AND EXISTS (SELECT 1 FROM member m WHERE m.org_id = o.id AND m.user_id = $1))`,
		"no_key":   `EXISTS (SELECT 1 FROM org o WHERE o.id = d.org_id AND EXISTS (SELECT 1 FROM member_no_key m WHERE m.org_id = o.id AND m.user_id = $1))`,
		"grantee": `EXISTS (SELECT 1 FROM org o WHERE o.id = d.org_id AND EXISTS (SELECT 1 FROM owner w WHERE w.org_id = o.id
		             AND EXISTS (SELECT 1 FROM grantee g WHERE g.org_id = w.org_id AND g.user_id = $1)))`,
	}
	rng := rand.New(rand.NewSource(5))
	const orgs, users = 12, 20
	compared := 0
	for round := 0; round < 4; round++ {
		if err := randomMemberships(ctx, conn, rng, orgs, users); err != nil {
			t.Fatalf("round %d: data: %v", round, err)
		}
		for role, rule := range rules {
			for user := 1; user <= users+1; user++ { // user users+1 is in no organization
				want, err := docIDs(ctx, conn, "", "SELECT d.id FROM doc d WHERE "+rule+" ORDER BY d.id", user)
				if err != nil {
					t.Fatalf("%s: %v", role, err)
				}
				setup := fmt.Sprintf("SET LOCAL ROLE %s; SELECT set_config('hasura.x_hasura_user_id', '%d', true)",
					compiler.QuoteIdent(prog.Role(role).PGName), user)
				got, err := docIDs(ctx, conn, setup, "SELECT id FROM doc ORDER BY id")
				if err != nil {
					t.Fatalf("%s, user %d: %v", role, user, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("round %d, role %s, user %d: the policy shows documents %v, the rule selects %v", round, role, user, got, want)
				}
				compared++
			}
		}
	}
	t.Logf("%d (round, role, user) comparisons", compared)
}

// randomMemberships replaces the data: orgs organizations, the last
// quarter without documents, a few documents without one or with one
// that does not exist; random
// memberships of users 1..users in every membership table, some with a
// NULL organization, and in member_no_key some of organizations that do
// not exist; owners for half the organizations.
func randomMemberships(ctx context.Context, conn *pgx.Conn, rng *rand.Rand, orgs, users int) error {
	var b strings.Builder
	b.WriteString("TRUNCATE doc, grantee, owner, member, member_no_key, org;\n")
	fmt.Fprintf(&b, "INSERT INTO org SELECT generate_series(1, %d);\n", orgs)
	withDocs := orgs * 3 / 4
	for id := 1; id <= 60; id++ {
		org := fmt.Sprint(1 + rng.Intn(withDocs))
		switch id % 10 {
		case 0:
			org = "NULL"
		case 5:
			org = fmt.Sprint(orgs + 1 + rng.Intn(5))
		}
		fmt.Fprintf(&b, "INSERT INTO doc VALUES (%d, %s);\n", id, org)
	}
	for org := 1; org <= orgs; org++ {
		if rng.Intn(2) == 0 {
			fmt.Fprintf(&b, "INSERT INTO owner VALUES (%d);\n", org)
		}
	}
	for i := 0; i < 3*users; i++ {
		user := 1 + rng.Intn(users)
		org := fmt.Sprint(1 + rng.Intn(orgs))
		if rng.Intn(8) == 0 {
			org = "NULL"
		}
		fmt.Fprintf(&b, "INSERT INTO member VALUES (%s, %d);\n", org, user)
		missing := org
		if rng.Intn(6) == 0 {
			missing = fmt.Sprint(orgs + 1 + rng.Intn(5))
		}
		fmt.Fprintf(&b, "INSERT INTO member_no_key VALUES (%s, %d);\n", missing, user)
		fmt.Fprintf(&b, "INSERT INTO grantee SELECT org_id, %d FROM owner WHERE org_id = %d;\n", user, 1+rng.Intn(orgs))
	}
	b.WriteString("INSERT INTO grantee VALUES (NULL, 1), (NULL, 2);\n")
	_, err := conn.Exec(ctx, b.String())
	return err
}

// docIDs runs query in a transaction after setup and returns the ids.
func docIDs(ctx context.Context, conn *pgx.Conn, setup, query string, args ...any) ([]int32, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if setup != "" {
		if _, err := tx.Exec(ctx, setup); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if ids == nil {
		ids = []int32{}
	}
	return ids, err
}
