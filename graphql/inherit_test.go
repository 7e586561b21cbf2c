package graphql_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

const staffSchema = `
CREATE TABLE employee (
  id integer PRIMARY KEY,
  name text NOT NULL,
  salary integer,
  remarks text,
  manager_id integer
);
INSERT INTO employee VALUES
  (1, 'ann', 100, 'good', 7),
  (2, 'bob', 200, 'late', 8),
  (3, 'cid', 400, 'fine', 7);
`

// staffTables and staffInherited are a metadata directory in Hasura's
// format (tables.yaml, inherited_roles.yaml). employee reads its own row
// with its salary; manager reads the rows of its reports with remarks,
// through manager_id, a column neither role may select.
const staffTables = `
- table: {schema: public, name: employee}
  select_permissions:
  - role: employee
    permission:
      columns: [id, name, salary]
      filter: {id: {_eq: X-Hasura-User-Id}}
  - role: manager
    permission:
      columns: [name, remarks]
      filter: {manager_id: {_eq: X-Hasura-Manager-Id}}
      allow_aggregations: true
`

const staffInherited = `
- role_name: manager_employee
  role_set: [manager, employee]
- role_name: nested
  role_set: [manager_employee]
`

func newStaff(t *testing.T) *blog {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"tables.yaml": staffTables, "inherited_roles.yaml": staffInherited} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return newServed(t, []string{staffSchema}, md)
}

// TestInheritedRoleColumns: an inherited role reads the union of its
// members' rows; a column only some members may read is null on the rows
// only the others show, in rows and in aggregates, for nested inherited
// roles too, and PostgreSQL enforces the union of rows and columns.
func TestInheritedRoleColumns(t *testing.T) {
	b := newStaff(t)
	for _, role := range []string{"manager_employee", "nested"} {
		headers := []string{"X-Hasura-Role: " + role, "X-Hasura-User-Id: 2", "X-Hasura-Manager-Id: 7"}
		cases := []struct{ name, query, want string }{
			{
				name:  "columns outside a row's members are null",
				query: `{ employee(order_by: {name: asc}) { id name salary remarks } }`,
				want:  `{"data":{"employee":[{"id":null,"name":"ann","salary":null,"remarks":"good"},{"id":2,"name":"bob","salary":200,"remarks":null},{"id":null,"name":"cid","salary":null,"remarks":"fine"}]}}`,
			},
			{
				name:  "aggregates read the nulled values",
				query: `{ employee_aggregate { aggregate { count sum { salary } max { id } } } }`,
				want:  `{"data":{"employee_aggregate":{"aggregate":{"count":3,"sum":{"salary":200},"max":{"id":2}}}}}`,
			},
			{
				name:  "aggregate nodes are nulled too",
				query: `{ employee_aggregate(where: {name: {_eq: "ann"}}) { nodes { name salary } } }`,
				want:  `{"data":{"employee_aggregate":{"nodes":[{"name":"ann","salary":null}]}}}`,
			},
		}
		for _, c := range cases {
			t.Run(role+"/"+c.name, func(t *testing.T) {
				if got := b.query(t, c.query, "", headers...); got != c.want {
					t.Errorf("(-want +got):\n- %s\n+ %s", c.want, got)
				}
			})
		}
	}
	t.Run("a member alone", func(t *testing.T) {
		got := b.query(t, `{ employee(order_by: {id: asc}) { id salary } }`, "", "X-Hasura-Role: employee", "X-Hasura-User-Id: 2")
		if want := `{"data":{"employee":[{"id":2,"salary":200}]}}`; got != want {
			t.Errorf("(-want +got):\n- %s\n+ %s", want, got)
		}
	})
	t.Run("PostgreSQL enforces the union", func(t *testing.T) {
		ctx := context.Background()
		var role string
		if err := b.conn.QueryRow(ctx, "SELECT pg_role FROM rowguard.roles WHERE hasura_role = 'manager_employee'").Scan(&role); err != nil {
			t.Fatal(err)
		}
		tx, err := b.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		for _, s := range []string{
			"SELECT set_config('hasura.x_hasura_user_id', '2', true), set_config('hasura.x_hasura_manager_id', '8', true)",
			"SET LOCAL ROLE " + compiler.QuoteIdent(role),
		} {
			if _, err := tx.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM employee").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 { // bob: his own row, and manager 8's report
			t.Errorf("rows visible to %s: %d, want 1", role, n)
		}
		if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT manager_id FROM employee"); err == nil {
			t.Error("the inherited role read manager_id, which no member may read")
		}
	})
}
