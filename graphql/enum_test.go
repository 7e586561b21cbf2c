package graphql_test

import (
	"context"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// enumSchema has an enum table (a text key and a comment column) and a
// table whose status references it.
const enumSchema = `
CREATE TABLE task_status (value text PRIMARY KEY, comment text);
INSERT INTO task_status VALUES ('open', 'not started yet'), ('done', NULL);
CREATE TABLE task (
  id serial PRIMARY KEY,
  title text NOT NULL,
  status text NOT NULL REFERENCES task_status(value),
  owner_id integer NOT NULL
);
INSERT INTO task (title, status, owner_id) VALUES ('a', 'open', 1), ('b', 'done', 1), ('c', 'open', 2);
`

const enumMetadata = `
version: 3
sources:
- name: default
  tables:
  - table: {schema: public, name: task_status}
    is_enum: true
  - table: {schema: public, name: task}
    select_permissions:
    - role: user
      permission:
        columns: [id, title, status]
        filter: {owner_id: {_eq: X-Hasura-User-Id}}
    insert_permissions:
    - role: user
      permission:
        columns: [title, status]
        check: {owner_id: {_eq: X-Hasura-User-Id}}
        set: {owner_id: X-Hasura-User-Id}
`

// TestEnumTable: a column referencing an enum table takes the table's
// GraphQL enum, as in Hasura: clients send its values unquoted in where
// and in inserts, introspection lists the values with their comments, a
// value that is not a row is a validation error, and the values are read
// again when the program is set again (Hasura's reload_metadata).
func TestEnumTable(t *testing.T) {
	md, err := policies.Parse("metadata.yaml", []byte(enumMetadata))
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{enumSchema}, md)
	alice := []string{user, "X-Hasura-User-Id: 1"}
	runSteps(t, b, []step{
		{
			name:    "where with an unquoted enum value",
			query:   `{ task(where: {status: {_eq: open}}, order_by: {id: asc}) { id status } }`,
			headers: alice,
			want:    `{"data":{"task":[{"id":1,"status":"open"}]}}`,
		},
		{
			name:      "_in with an enum list variable",
			query:     `query($s: [task_status_enum!]) { task(where: {status: {_in: $s}}, order_by: {id: asc}) { id } }`,
			variables: `{"s": ["done", "open"]}`,
			headers:   alice,
			want:      `{"data":{"task":[{"id":1},{"id":2}]}}`,
		},
		{
			name:    "insert with an unquoted enum value",
			query:   `mutation { insert_task(objects: {title: "d", status: done}) { returning { id status } } }`,
			headers: alice,
			want:    `{"data":{"insert_task":{"returning":[{"id":4,"status":"done"}]}}}`,
		},
		{
			name:    "the enum type and its values",
			query:   `{ __type(name: "task_status_enum") { kind enumValues { name description } } }`,
			headers: alice,
			want:    `{"data":{"__type":{"kind":"ENUM","enumValues":[{"name":"done","description":null},{"name":"open","description":"not started yet"}]}}}`,
		},
		{
			name:    "the column and its comparison take the enum",
			query:   `{ task: __type(name: "task") { fields { name type { ofType { name } } } } exp: __type(name: "task_status_enum_comparison_exp") { inputFields { name } } }`,
			headers: alice,
			want:    `{"data":{"task":{"fields":[{"name":"id","type":{"ofType":{"name":"Int"}}},{"name":"title","type":{"ofType":{"name":"String"}}},{"name":"status","type":{"ofType":{"name":"task_status_enum"}}}]},"exp":{"inputFields":[{"name":"_eq"},{"name":"_in"},{"name":"_is_null"},{"name":"_neq"},{"name":"_nin"}]}}}`,
		},
		{
			name:    "a value that is not a row",
			query:   `{ task(where: {status: {_eq: closed}}) { id } }`,
			headers: alice,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.task.args.where.status._eq","code":"validation-failed"},"message":"expected one of the values ['done', 'open'] for type 'task_status_enum', but found 'closed'"}]}`,
		},
		{
			name:    "a quoted value",
			query:   `mutation { insert_task(objects: {title: "e", status: "open"}) { affected_rows } }`,
			headers: alice,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_task.args.objects.status","code":"validation-failed"},"message":"expected an enum value for type 'task_status_enum', but found a string"}]}`,
		},
	})

	// A new row is a value once the program is set again.
	if _, err := b.conn.Exec(context.Background(), "INSERT INTO task_status VALUES ('closed', 'given up')"); err != nil {
		t.Fatal(err)
	}
	if err := b.gql.SetProgram(b.prog); err != nil {
		t.Fatal(err)
	}
	runSteps(t, b, []step{{
		name:    "a value added before the reload",
		query:   `{ task(where: {status: {_eq: closed}}) { id } }`,
		headers: alice,
		want:    `{"data":{"task":[]}}`,
	}})

	// A row that cannot be a GraphQL enum value stops the reload.
	if _, err := b.conn.Exec(context.Background(), "INSERT INTO task_status VALUES ('on hold', NULL)"); err != nil {
		t.Fatal(err)
	}
	err = b.gql.SetProgram(b.prog)
	if want := `graphql: metadata.yaml:6:5: enum table public.task_status: the values "on hold" are not valid GraphQL enum value names`; err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("SetProgram with an invalid value: %v, want %s…", err, want)
	}
}
