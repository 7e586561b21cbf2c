package graphql_test

import (
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// customSchema has a table outside public, published under a custom name
// with renamed columns (as Nhost publishes auth.users), and a table in
// public whose relationship leads to it.
const customSchema = `
CREATE SCHEMA auth;
CREATE TABLE auth.users (
  id serial PRIMARY KEY,
  display_name text NOT NULL UNIQUE,
  avatar_url text,
  score integer NOT NULL DEFAULT 0
);
CREATE TABLE note (
  id serial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES auth.users(id),
  body text NOT NULL
);
INSERT INTO auth.users (display_name, avatar_url, score) VALUES ('Alice', 'a.png', 3), ('Bob', NULL, 5), ('Carol', 'c.png', 5);
INSERT INTO note (user_id, body) VALUES (1, 'n1'), (2, 'n2'), (2, 'n3');
CREATE FUNCTION auth.search_users(prefix text) RETURNS SETOF auth.users
  AS $$ SELECT * FROM auth.users WHERE display_name LIKE prefix || '%' $$ LANGUAGE sql STABLE;
`

// customMetadata: auth.users is `users`, its select root is `allUsers`,
// its by_pk root `user`, and three columns are renamed — display_name by
// column_config, avatar_url by the older custom_column_names, and score
// by both (column_config wins). auth.search_users is tracked as findUsers,
// its aggregate renamed.
const customMetadata = `
tables:
- table: {schema: auth, name: users}
  configuration:
    custom_name: users
    custom_root_fields:
      select: allUsers
      select_by_pk: {name: user, comment: one user by id}
      insert_one: addUser
      update_by_pk: updateUser
      delete_by_pk: deleteUser
    column_config:
      display_name: {custom_name: displayName, comment: what others see}
      score: {custom_name: points}
    custom_column_names:
      avatar_url: avatarUrl
      score: ignored
  array_relationships:
  - name: notes
    using: {foreign_key_constraint_on: {table: note, column: user_id}}
  select_permissions:
  - role: reader
    permission: {columns: [id, display_name, score], filter: {}, allow_aggregations: true}
- table: note
  configuration:
    column_config:
      id: {custom_name: noteId}
      user_id: {custom_name: userId}
  object_relationships:
  - name: author
    using: {foreign_key_constraint_on: user_id}
  select_permissions:
  - role: reader
    permission: {columns: [id, user_id, body], filter: {}}
functions:
- function: {schema: auth, name: search_users}
  configuration:
    custom_name: findUsers
    custom_root_fields: {function_aggregate: {name: countFound, comment: how many}}
`

func TestTableCustomization(t *testing.T) {
	md, err := policies.Parse("metadata.yaml", []byte(customMetadata))
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{customSchema}, md)
	reader := []string{"X-Hasura-Role: reader"}
	runSteps(t, b, []step{
		{
			name:  "custom root field, custom column names, where and order_by on them",
			query: `{ allUsers(where: {points: {_gte: 3}}, order_by: [{points: desc}, {displayName: asc}]) { __typename id displayName avatarUrl points } }`,
			want:  `{"data":{"allUsers":[{"__typename":"users","id":2,"displayName":"Bob","avatarUrl":null,"points":5},{"__typename":"users","id":3,"displayName":"Carol","avatarUrl":"c.png","points":5},{"__typename":"users","id":1,"displayName":"Alice","avatarUrl":"a.png","points":3}]}}`,
		},
		{
			name:    "distinct_on takes the custom column names",
			query:   `{ allUsers(distinct_on: [points], order_by: [{points: asc}, {id: desc}]) { displayName } }`,
			headers: reader,
			want:    `{"data":{"allUsers":[{"displayName":"Alice"},{"displayName":"Carol"}]}}`,
		},
		{
			name:    "the aggregate root keeps the default name built from custom_name",
			query:   `{ users_aggregate(where: {displayName: {_neq: "Alice"}}) { __typename aggregate { count(columns: [points], distinct: true) sum { points } max { displayName } } } }`,
			headers: reader,
			want:    `{"data":{"users_aggregate":{"__typename":"users_aggregate","aggregate":{"count":1,"sum":{"points":10},"max":{"displayName":"Carol"}}}}}`,
		},
		{
			name:    "by_pk under its custom name",
			query:   `{ user(id: 2) { displayName notes(order_by: {body: asc}) { body userId } } }`,
			headers: reader,
			want:    `{"data":{"user":{"displayName":"Bob","notes":[{"body":"n2","userId":2},{"body":"n3","userId":2}]}}}`,
		},
		{
			name:    "a relationship to the customized table, filtered and ordered through it",
			query:   `{ note(where: {author: {displayName: {_eq: "Bob"}}}, order_by: {author: {points: desc}, body: desc}) { body author { __typename displayName } } }`,
			headers: reader,
			want:    `{"data":{"note":[{"body":"n3","author":{"__typename":"users","displayName":"Bob"}},{"body":"n2","author":{"__typename":"users","displayName":"Bob"}}]}}`,
		},
		{
			name:    "a tracked function under its custom_name, its args type named after it, its aggregate renamed",
			query:   `{ findUsers(args: {prefix: "B"}) { __typename displayName } countFound(args: {prefix: "C"}) { aggregate { count } } __type(name: "findUsers_args") { name } }`,
			headers: reader,
			want:    `{"data":{"findUsers":[{"__typename":"users","displayName":"Bob"}],"countFound":{"aggregate":{"count":1}},"__type":{"name":"findUsers_args"}}}`,
		},
		{
			name:    "the PostgreSQL column name is not a field",
			query:   `{ allUsers { display_name } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.allUsers.selectionSet.display_name","code":"validation-failed"},"message":"field 'display_name' not found in type: 'users'"}]}`,
		},
		{
			name:    "nor the default root field",
			query:   `{ auth_users { id } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.auth_users","code":"validation-failed"},"message":"field 'auth_users' not found in type: 'query_root'"}]}`,
		},
		{
			name:  "insert_one under its custom name, on_conflict with custom update_columns",
			query: `mutation { addUser(object: {displayName: "Bob", avatarUrl: "b.png", points: 7}, on_conflict: {constraint: users_display_name_key, update_columns: [avatarUrl, points]}) { id displayName avatarUrl points } }`,
			want:  `{"data":{"addUser":{"id":2,"displayName":"Bob","avatarUrl":"b.png","points":7}}}`,
		},
		{
			name:  "insert into the default insert root, built from custom_name",
			query: `mutation { insert_users(objects: [{displayName: "Dan"}]) { affected_rows returning { displayName points } } }`,
			want:  `{"data":{"insert_users":{"affected_rows":1,"returning":[{"displayName":"Dan","points":0}]}}}`,
		},
		{
			name:  "update by pk with pk_columns and _set, _inc on custom names",
			query: `mutation { updateUser(pk_columns: {id: 1}, _set: {displayName: "Alicia"}, _inc: {points: 1}) { displayName points } }`,
			want:  `{"data":{"updateUser":{"displayName":"Alicia","points":4}}}`,
		},
		{
			name:  "update with a where on a custom name",
			query: `mutation { update_users(where: {avatarUrl: {_is_null: true}}, _set: {avatarUrl: "none.png"}) { affected_rows returning { displayName } } }`,
			want:  `{"data":{"update_users":{"affected_rows":1,"returning":[{"displayName":"Dan"}]}}}`,
		},
		{
			name:  "update_many under the default name",
			query: `mutation { update_users_many(updates: [{where: {displayName: {_eq: "Dan"}}, _set: {points: 1}}]) { affected_rows } }`,
			want:  `{"data":{"update_users_many":[{"affected_rows":1}]}}`,
		},
		{
			name:  "delete by pk under its custom name",
			query: `mutation { deleteUser(id: 5) { displayName } }`,
			want:  `{"data":{"deleteUser":{"displayName":"Dan"}}}`,
		},
		{
			name:  "delete with a where on a custom name",
			query: `mutation { delete_note(where: {userId: {_eq: 1}}) { affected_rows } }`,
			want:  `{"data":{"delete_note":{"affected_rows":1}}}`,
		},
		{
			name:  "a nested insert through an object relationship fills the renamed join column",
			query: `mutation { insert_note_one(object: {body: "e1", author: {data: {displayName: "Eve"}}}) { body author { displayName notes { body } } } }`,
			want:  `{"data":{"insert_note_one":{"body":"e1","author":{"displayName":"Eve","notes":[{"body":"e1"}]}}}}`,
		},
		{
			name:  "a nested insert through an array relationship",
			query: `mutation { addUser(object: {displayName: "Fay", notes: {data: [{body: "f1"}, {body: "f2"}]}}) { displayName notes(order_by: {body: asc}) { body } } }`,
			want:  `{"data":{"addUser":{"displayName":"Fay","notes":[{"body":"f1"},{"body":"f2"}]}}}`,
		},
		{
			name:  "a nested insert may not set the join column it fills, named as published",
			query: `mutation { addUser(object: {displayName: "Gil", notes: {data: [{body: "g1", userId: 1}]}}) { id } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.addUser.args.object.notes.data[0].userId","code":"validation-failed"},"message":"cannot set column \"userId\": a nested insert sets it"}]}`,
		},
		{
			name:  "an insert names the custom field in its error",
			query: `mutation { addUser(object: {display_name: "Eve"}) { id } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.addUser.args.object.display_name","code":"validation-failed"},"message":"field 'display_name' not found in type: 'users_insert_input'"}]}`,
		},
		{
			name:  "an update names the custom field in its error",
			query: `mutation { updateUser(pk_columns: {id: 1}, _set: {display_name: "A"}) { id } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.updateUser.args._set.display_name","code":"validation-failed"},"message":"field 'display_name' not found in type: 'users_set_input'"}]}`,
		},
		{
			name:    "a renamed primary key column is the by_pk argument",
			query:   `{ note_by_pk(noteId: 2) { noteId body author { displayName } } }`,
			headers: reader,
			want:    `{"data":{"note_by_pk":{"noteId":2,"body":"n2","author":{"displayName":"Bob"}}}}`,
		},
	})
}
