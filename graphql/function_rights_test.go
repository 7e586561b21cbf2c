package graphql_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// rightsSchema has functions that read a table (secret) on which role
// user has no permission: a computed field of item, and a view that calls
// one. Hasura runs both as the owner, so the role sees their results.
const rightsSchema = `
CREATE TABLE secret (id integer PRIMARY KEY, label text NOT NULL);
CREATE TABLE item (id integer PRIMARY KEY, owner_id integer NOT NULL, name text NOT NULL);
INSERT INTO secret VALUES (1, 's1'), (2, 's2');
INSERT INTO item VALUES (1, 1, 'i1'), (2, 1, 'i2'), (3, 2, 'i3');
CREATE FUNCTION item_secret_count(i item) RETURNS bigint
  LANGUAGE sql STABLE AS $$ SELECT count(*) FROM secret WHERE id <= i.id $$;
CREATE FUNCTION secret_ids() RETURNS SETOF integer
  LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN QUERY SELECT id FROM secret; END $$;
CREATE VIEW item_flag AS
  SELECT i.id, i.owner_id, i.id IN (SELECT * FROM secret_ids()) AS has_secret FROM item i;
`

const rightsTables = `
- table: {schema: public, name: secret}
- table: {schema: public, name: item}
  computed_fields:
  - name: secret_count
    definition: {function: {schema: public, name: item_secret_count}}
  select_permissions:
  - role: user
    permission:
      columns: [id, owner_id, name]
      computed_fields: [secret_count]
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
- table: {schema: public, name: item_flag}
  select_permissions:
  - role: user
    permission:
      columns: [id, has_secret]
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
`

// TestFunctionsRunWithOwnersRights: a computed field and a view whose
// functions read a table the role may not read answer for the role as
// for admin (as Hasura, which runs them as the owner), psql as the role
// sees through its per-role view what the API shows, and the role still
// cannot read the table, the view or the per-role view's hidden column.
func TestFunctionsRunWithOwnersRights(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tables.yaml"), []byte(rightsTables), 0o644); err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{rightsSchema}, md)

	cases := []struct{ name, query, userID, want string }{
		{
			name:   "computed field, user 1",
			query:  `{ item(order_by: {id: asc}) { id secret_count } }`,
			userID: "1",
			want:   `{"data":{"item":[{"id":1,"secret_count":1},{"id":2,"secret_count":2}]}}`,
		},
		{
			name:   "computed field, user 2",
			query:  `{ item(order_by: {id: asc}) { id secret_count } }`,
			userID: "2",
			want:   `{"data":{"item":[{"id":3,"secret_count":2}]}}`,
		},
		{
			name:   "view calling a function, user 1",
			query:  `{ item_flag(order_by: {id: asc}) { id has_secret } }`,
			userID: "1",
			want:   `{"data":{"item_flag":[{"id":1,"has_secret":true},{"id":2,"has_secret":true}]}}`,
		},
		{
			name:   "view calling a function, user 2",
			query:  `{ item_flag(order_by: {id: asc}) { id has_secret } }`,
			userID: "2",
			want:   `{"data":{"item_flag":[{"id":3,"has_secret":false}]}}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := b.query(t, c.query, "", user, "X-Hasura-User-Id: "+c.userID); got != c.want {
				t.Errorf("(-want +got):\n- %s\n+ %s", c.want, got)
			}
		})
	}
	t.Run("admin sees the same values", func(t *testing.T) {
		got := b.query(t, `{ item(order_by: {id: asc}) { id secret_count } item_flag(order_by: {id: asc}) { id has_secret } }`, "")
		want := `{"data":{"item":[{"id":1,"secret_count":1},{"id":2,"secret_count":2},{"id":3,"secret_count":2}],` +
			`"item_flag":[{"id":1,"has_secret":true},{"id":2,"has_secret":true},{"id":3,"has_secret":false}]}}`
		if got != want {
			t.Errorf("(-want +got):\n- %s\n+ %s", want, got)
		}
	})
	t.Run("psql as the role sees what the API shows", func(t *testing.T) {
		for userID, want := range map[string]string{"1": "1:true,2:true", "2": "3:false"} {
			got, err := b.asRole(t, "user", userID, `SELECT coalesce(string_agg(id || ':' || has_secret, ',' ORDER BY id), '') FROM rowguard.rg_item_flag_user`)
			if err != nil || got != want {
				t.Errorf("user %s: psql %q, %v; want %q", userID, got, err, want)
			}
		}
	})
	t.Run("the role gains no permission", func(t *testing.T) {
		for _, sql := range []string{
			`SELECT count(*)::text FROM public.secret`,
			`SELECT count(*)::text FROM public.item_flag`,
			`SELECT string_agg(owner_id::text, ',') FROM rowguard.rg_item_flag_user`,
			`SELECT count(*)::text FROM public.secret_ids()`,
		} {
			if _, err := b.asRole(t, "user", "1", sql); err == nil || !strings.Contains(err.Error(), "permission denied") {
				t.Errorf("%s: %v, want permission denied", sql, err)
			}
		}
	})
}
