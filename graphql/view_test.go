package graphql_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// viewSchema has a view and a materialized view over a table whose own
// policy shows a user only their articles: Hasura reads a view with its
// owner's rights, so the view's permission alone decides what a role
// sees through it.
const viewSchema = `
CREATE TABLE organization (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE member (
  organization_id integer NOT NULL REFERENCES organization(id),
  user_id integer NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);
CREATE TABLE article (
  id integer PRIMARY KEY,
  title text NOT NULL,
  published boolean NOT NULL,
  author_id integer NOT NULL,
  organization_id integer NOT NULL REFERENCES organization(id)
);
CREATE VIEW published_article AS
  SELECT id, title, author_id, organization_id FROM article WHERE published;
CREATE MATERIALIZED VIEW published_snapshot AS
  SELECT id, title, author_id, organization_id FROM article WHERE published;
INSERT INTO organization VALUES (1, 'acme'), (2, 'zeta');
INSERT INTO member VALUES (1, 2);
INSERT INTO article VALUES
  (1, 'a1', true, 1, 1),
  (2, 'a2', true, 2, 2),
  (3, 'a3', false, 2, 1),
  (4, 'a4', true, 3, 1),
  (5, 'a5', true, 3, 2);
REFRESH MATERIALIZED VIEW published_snapshot;
CREATE FUNCTION published_article_shout(a published_article) RETURNS text
  LANGUAGE sql STABLE AS $$ SELECT upper(a.title) $$;
`

// viewFilter shows a role the articles it wrote and those of the
// organizations it is a member of: a session variable and a relationship
// (manual_configuration, as views have no foreign keys).
const viewFilter = `
      filter:
        _or:
        - author_id: {_eq: X-Hasura-User-Id}
        - organization: {members: {user_id: {_eq: X-Hasura-User-Id}}}`

const viewTables = `
- table: {schema: public, name: organization}
  array_relationships:
  - name: members
    using: {foreign_key_constraint_on: {table: member, column: organization_id}}
  - name: published
    using:
      manual_configuration:
        remote_table: {schema: public, name: published_article}
        column_mapping: {id: organization_id}
  select_permissions:
  - role: user
    permission: {columns: [id, name], filter: {}}
- table: {schema: public, name: member}
- table: {schema: public, name: article}
  select_permissions:
  - role: user
    permission: {columns: [id, title], filter: {author_id: {_eq: X-Hasura-User-Id}}}
- table: {schema: public, name: published_article}
  computed_fields:
  - name: shout
    definition: {function: {schema: public, name: published_article_shout}}
  object_relationships:
  - name: organization
    using:
      manual_configuration:
        remote_table: {schema: public, name: organization}
        column_mapping: {organization_id: id}
  select_permissions:
  - role: user
    permission:
      columns: [id, title]
      allow_aggregations: true` + viewFilter + `
  - role: fan
    permission:
      columns: [id, title, author_id, organization_id]
      computed_fields: [shout]
      filter: {author_id: {_eq: X-Hasura-User-Id}}
  - role: writer
    permission:
      columns: [id, title, author_id]
      filter: {author_id: {_eq: X-Hasura-User-Id}}
  insert_permissions:
  - role: user
    permission:
      columns: [title]
      check: {author_id: {_eq: X-Hasura-User-Id}}
- table: {schema: public, name: published_snapshot}
  select_permissions:
  - role: user
    permission:
      columns: [id, title]
      filter: {author_id: {_eq: X-Hasura-User-Id}}
`

const viewInherited = `
- role_name: combo
  role_set: [user, writer]
`

func newViews(t *testing.T) *blog {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"tables.yaml": viewTables, "inherited_roles.yaml": viewInherited} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return newServed(t, []string{viewSchema}, md)
}

// asRole runs sql in a transaction as the PostgreSQL role of a Hasura
// role, with hasura.x_hasura_user_id set, as psql would, and returns the
// one text value it selects, or the error.
func (b *blog) asRole(t *testing.T, role, userID, sql string) (string, error) {
	t.Helper()
	ctx := context.Background()
	var pgRole string
	if err := b.conn.QueryRow(ctx, "SELECT pg_role FROM rowguard.roles WHERE hasura_role = $1", role).Scan(&pgRole); err != nil {
		t.Fatal(err)
	}
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('hasura.x_hasura_user_id', $1, true)", userID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+compiler.QuoteIdent(pgRole)); err != nil {
		t.Fatal(err)
	}
	var out string
	err = tx.QueryRow(ctx, sql).Scan(&out)
	return out, err
}

// ids returns the "id" of every object of the list at data.<field>.
func ids(t *testing.T, body, field string) []int {
	t.Helper()
	var resp struct {
		Data   map[string][]struct{ ID int }
		Errors []any
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.Errors != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	var out []int
	for _, r := range resp.Data[field] {
		out = append(out, r.ID)
	}
	return out
}

// TestViewPerRole: a tracked view and a materialized view are read, for a
// role, through its per-role view in schema rowguard: the API and psql as
// the role return the same rows (the view's filter, not the base table's
// policy), the role cannot read the view itself, admin reads every row,
// relationships to and from the view and inherited roles work, and the
// view's insert permission is dropped with a warning and not published.
func TestViewPerRole(t *testing.T) {
	b := newViews(t)
	if len(b.prog.Warnings) != 1 || !strings.Contains(b.prog.Warnings[0].Error(), "insert permission of role user on view public.published_article is not served") {
		t.Errorf("warnings = %v, want the insert permission on the view reported", b.prog.Warnings)
	}
	for _, userID := range []string{"1", "2", "3", "9"} {
		api := ids(t, b.query(t, `{ published_article(order_by: {id: asc}) { id title } }`, "", user, "X-Hasura-User-Id: "+userID), "published_article")
		text, err := b.asRole(t, "user", userID, `SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM rowguard.rg_published_article_user`)
		if err != nil {
			t.Fatal(err)
		}
		var psql []int
		for _, s := range strings.Split(text, ",") {
			if s != "" {
				var n int
				if err := json.Unmarshal([]byte(s), &n); err != nil {
					t.Fatal(err)
				}
				psql = append(psql, n)
			}
		}
		want := map[string][]int{"1": {1}, "2": {1, 2, 4}, "3": {4, 5}, "9": nil}[userID]
		if !slices.Equal(api, want) || !slices.Equal(psql, want) {
			t.Errorf("user %s: API %v, psql %v, want %v", userID, api, psql, want)
		}
	}
	t.Run("admin reads every row", func(t *testing.T) {
		got := b.query(t, `{ published_article(order_by: {id: asc}) { id } published_snapshot_aggregate { aggregate { count } } }`, "")
		if want := `{"data":{"published_article":[{"id":1},{"id":2},{"id":4},{"id":5}],"published_snapshot_aggregate":{"aggregate":{"count":4}}}}`; got != want {
			t.Errorf("(-want +got):\n- %s\n+ %s", want, got)
		}
	})
	t.Run("the role cannot read the view itself", func(t *testing.T) {
		if _, err := b.asRole(t, "user", "2", `SELECT count(*)::text FROM public.published_article`); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("reading the view itself: %v, want permission denied", err)
		}
		if _, err := b.asRole(t, "user", "2", `SELECT string_agg(author_id::text, ',') FROM rowguard.rg_published_article_user`); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("reading a column the permission does not list: %v, want permission denied", err)
		}
	})
	cases := []struct{ name, query, role, want string }{
		{
			name:  "relationship from the view",
			query: `{ published_article(order_by: {id: asc}) { id organization { name } } }`,
			role:  user,
			want:  `{"data":{"published_article":[{"id":1,"organization":{"name":"acme"}},{"id":2,"organization":{"name":"zeta"}},{"id":4,"organization":{"name":"acme"}}]}}`,
		},
		{
			name:  "computed field of the view",
			query: `{ published_article { id shout } }`,
			role:  "X-Hasura-Role: fan",
			want:  `{"data":{"published_article":[{"id":2,"shout":"A2"}]}}`,
		},
		{
			name:  "relationship to the view reads the role's rows",
			query: `{ organization(order_by: {id: asc}) { name published(order_by: {id: asc}) { id } published_aggregate { aggregate { count } } } }`,
			role:  user,
			want:  `{"data":{"organization":[{"name":"acme","published":[{"id":1},{"id":4}],"published_aggregate":{"aggregate":{"count":2}}},{"name":"zeta","published":[{"id":2}],"published_aggregate":{"aggregate":{"count":1}}}]}}`,
		},
		{
			name:  "where through a relationship to the view",
			query: `{ organization(where: {published: {title: {_eq: "a5"}}}) { name } }`,
			role:  user,
			want:  `{"data":{"organization":[]}}`,
		},
		{
			name:  "order by a relationship to the view",
			query: `{ organization(order_by: {published_aggregate: {count: desc}}, limit: 1) { name } }`,
			role:  user,
			want:  `{"data":{"organization":[{"name":"acme"}]}}`,
		},
		{
			name:  "the base table's own policy still applies to the table",
			query: `{ article(order_by: {id: asc}) { id } }`,
			role:  user,
			want:  `{"data":{"article":[{"id":2},{"id":3}]}}`,
		},
		{
			name:  "materialized view",
			query: `{ published_snapshot(order_by: {id: asc}) { id title } }`,
			role:  user,
			want:  `{"data":{"published_snapshot":[{"id":2,"title":"a2"}]}}`,
		},
		{
			name:  "inherited role: union of rows, a column null where only other members show the row",
			query: `{ published_article(order_by: {id: asc}) { id author_id } }`,
			role:  "X-Hasura-Role: combo",
			want:  `{"data":{"published_article":[{"id":1,"author_id":null},{"id":2,"author_id":2},{"id":4,"author_id":null}]}}`,
		},
		{
			name:  "the view's insert permission is not published",
			query: `mutation { insert_published_article(objects: [{title: "x"}]) { affected_rows } }`,
			role:  user,
			want:  `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no mutations exist"}]}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := b.query(t, c.query, "", c.role, "X-Hasura-User-Id: 2"); got != c.want {
				t.Errorf("(-want +got):\n- %s\n+ %s", c.want, got)
			}
		})
	}
	t.Run("psql as the inherited role sees the nulled column", func(t *testing.T) {
		got, err := b.asRole(t, "combo", "2", `SELECT string_agg(id || ':' || coalesce(author_id::text, 'null'), ',' ORDER BY id) FROM rowguard.rg_published_article_combo`)
		if err != nil {
			t.Fatal(err)
		}
		if want := "1:null,2:2,4:null"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}
