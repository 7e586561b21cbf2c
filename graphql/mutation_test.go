package graphql_test

import (
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// step is one request of a test that runs its requests in order, each
// seeing what the ones before it wrote.
type step struct {
	name      string
	query     string
	variables string
	headers   []string
	want      string
}

func runSteps(t *testing.T, b *blog, steps []step) {
	t.Helper()
	for _, s := range steps {
		if got := b.query(t, s.query, s.variables, s.headers...); got != s.want {
			t.Errorf("%s:\n got  %s\n want %s", s.name, got, s.want)
		}
	}
}

func TestBlogMutationSchema(t *testing.T) {
	b := newBlog(t)
	runSteps(t, b, []step{
		{
			name:    "anonymous has no mutation_root",
			query:   `{ __schema { mutationType { name } } }`,
			headers: []string{anonymous},
			want:    `{"data":{"__schema":{"mutationType":null}}}`,
		},
		{
			name:    "anonymous cannot mutate",
			query:   `mutation { delete_article(where: {}) { affected_rows } }`,
			headers: []string{anonymous},
			want:    `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no mutations exist"}]}`,
		},
		{
			// article: insert, update, delete; article_tag: insert and
			// delete; author: update. No table the user may not select has
			// an update or delete field.
			name:    "user's mutation fields follow the permissions",
			query:   `{ __schema { mutationType { name } } __type(name: "mutation_root") { fields { name } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"__schema":{"mutationType":{"name":"mutation_root"}},"__type":{"fields":[{"name":"delete_article"},{"name":"delete_article_by_pk"},{"name":"delete_article_tag"},{"name":"delete_article_tag_by_pk"},{"name":"insert_article"},{"name":"insert_article_one"},{"name":"insert_article_tag"},{"name":"insert_article_tag_one"},{"name":"update_article"},{"name":"update_article_by_pk"},{"name":"update_article_many"},{"name":"update_author"},{"name":"update_author_by_pk"},{"name":"update_author_many"}]}}}`,
		},
		{
			name:    "the preset column user_id is not in the user's insert input",
			query:   `{ i: __type(name: "article_insert_input") { inputFields { name } } s: __type(name: "article_set_input") { inputFields { name } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"i":{"inputFields":[{"name":"title"},{"name":"content"},{"name":"published"},{"name":"organization_id"},{"name":"tags"}]},"s":{"inputFields":[{"name":"title"},{"name":"content"},{"name":"published"}]}}}`,
		},
		{
			name:  "the admin may set every column",
			query: `{ __type(name: "article_insert_input") { inputFields { name } } }`,
			want:  `{"data":{"__type":{"inputFields":[{"name":"id"},{"name":"title"},{"name":"content"},{"name":"published"},{"name":"user_id"},{"name":"creator_id"},{"name":"organization_id"},{"name":"created_at"},{"name":"author"},{"name":"organization"},{"name":"tags"}]}}}`,
		},
		{
			name:    "a column the role may not insert fails validation",
			query:   `mutation { insert_article(objects: [{title: "t", user_id: 2}]) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects[0].user_id","code":"validation-failed"},"message":"field 'user_id' not found in type: 'article_insert_input'"}]}`,
		},
		{
			name:      "a column the role may not insert fails validation in a variable",
			query:     `mutation M($o: [article_insert_input!]!) { insert_article(objects: $o) { affected_rows } }`,
			variables: `{"o": [{"title": "t", "user_id": 2}]}`,
			headers:   []string{user, alice},
			want:      `{"errors":[{"extensions":{"path":"$.variableValues.o[0].user_id","code":"validation-failed"},"message":"unknown field"}]}`,
		},
		{
			name:    "a column the role may not update fails validation",
			query:   `mutation { update_article(where: {}, _set: {user_id: 2}) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.update_article.args._set.user_id","code":"validation-failed"},"message":"field 'user_id' not found in type: 'article_set_input'"}]}`,
		},
	})
}

func TestBlogInsert(t *testing.T) {
	b := newBlog(t)
	runSteps(t, b, []step{
		{
			name:    "insert fills the preset from X-Hasura-User-Id and returns the rows",
			query:   `mutation { insert_article(objects: [{title: "n1"}, {title: "n2", published: true}]) { affected_rows returning { id title user_id published author { name } } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"insert_article":{"affected_rows":2,"returning":[{"id":5,"title":"n1","user_id":1,"published":false,"author":{"name":"Alice"}},{"id":6,"title":"n2","user_id":1,"published":true,"author":{"name":"Alice"}}]}}}`,
		},
		{
			name:      "insert_one with variables",
			query:     `mutation M($o: article_insert_input!) { insert_article_one(object: $o) { __typename id user_id title } }`,
			variables: `{"o": {"title": "n3", "content": "c"}}`,
			headers:   []string{user, carol},
			want:      `{"data":{"insert_article_one":{"__typename":"article","id":7,"user_id":3,"title":"n3"}}}`,
		},
		{
			name:    "an empty list of objects inserts nothing",
			query:   `mutation { insert_article(objects: []) { affected_rows returning { id } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"insert_article":{"affected_rows":0,"returning":[]}}}`,
		},
		{
			name:    "a missing session variable for a preset",
			query:   `mutation { insert_article_one(object: {title: "n4"}) { id } }`,
			headers: []string{user},
			want:    `{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-user-id\""}]}`,
		},
		{
			name:    "a failed insert check is a permission-error",
			query:   `mutation { insert_article_tag(objects: [{article_id: 3, tag_id: 1}]) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article_tag.args.objects","code":"permission-error"},"message":"check constraint of an insert/update permission has failed"}]}`,
		},
		{
			name:    "a uniqueness violation, without internals for a role",
			query:   `mutation { insert_article_tag(objects: [{article_id: 1, tag_id: 1}]) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article_tag.args.objects","code":"constraint-violation"},"message":"Uniqueness violation. duplicate key value violates unique constraint \"article_tag_pkey\""}]}`,
		},
		{
			name:    "a not-null violation",
			query:   `mutation { insert_article_one(object: {content: "x"}) { id } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article_one.args.object","code":"constraint-violation"},"message":"Not-NULL violation. null value in column \"title\" of relation \"article\" violates not-null constraint"}]}`,
		},
		{
			name:  "a foreign key violation shows the admin the database's detail",
			query: `mutation { insert_article(objects: [{title: "fk", user_id: 99}]) { affected_rows } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects","code":"constraint-violation","internal":{"error":{"description":"Key (user_id)=(99) is not present in table \"author\".","hint":"","message":"insert or update on table \"article\" violates foreign key constraint \"article_user_id_fkey\"","status_code":"23503"}}},"message":"Foreign key violation. insert or update on table \"article\" violates foreign key constraint \"article_user_id_fkey\""}]}`,
		},
		{
			name:    "a value of the wrong type is a data-exception",
			query:   `mutation { insert_article(objects: [{title: "d", organization_id: 1, published: true}, {title: "d", content: "x", published: false}]) { affected_rows } a: insert_article_tag(objects: [{article_id: 1, tag_id: 2}]) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.a.args.objects","code":"constraint-violation"},"message":"Uniqueness violation. duplicate key value violates unique constraint \"article_tag_pkey\""}]}`,
		},
		{
			name:    "the failed request above inserted nothing: its first field rolled back",
			query:   `{ article_aggregate(where: {title: {_eq: "d"}}) { aggregate { count } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"article_aggregate":{"aggregate":{"count":0}}}}`,
		},
		{
			name:  "an invalid timestamp is a data-exception",
			query: `mutation { insert_article(objects: [{title: "d", user_id: 1, created_at: "nope"}]) { affected_rows } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects","code":"data-exception","internal":{"error":{"description":null,"hint":"","message":"invalid input syntax for type timestamp with time zone: \"nope\"","status_code":"22007"}}},"message":"invalid input syntax for type timestamp with time zone: \"nope\""}]}`,
		},
		{
			name:  "on_conflict without update_columns does nothing",
			query: `mutation { insert_tag(objects: [{name: "go"}, {name: "sql"}], on_conflict: {constraint: tag_name_key, update_columns: []}) { affected_rows returning { name } } }`,
			want:  `{"data":{"insert_tag":{"affected_rows":1,"returning":[{"name":"sql"}]}}}`,
		},
		{
			name:  "on_conflict with update_columns updates the conflicting row",
			query: `mutation { insert_author_one(object: {id: 1, name: "Alicia", email: "x@example.com"}, on_conflict: {constraint: author_pkey, update_columns: [name]}) { id name email } }`,
			want:  `{"data":{"insert_author_one":{"id":1,"name":"Alicia","email":"alice@example.com"}}}`,
		},
		{
			name:  "on_conflict where leaves rows that do not match alone",
			query: `mutation { insert_author(objects: [{id: 2, name: "Robert"}], on_conflict: {constraint: author_pkey, update_columns: [name], where: {name: {_eq: "nobody"}}}) { affected_rows } }`,
			want:  `{"data":{"insert_author":{"affected_rows":0}}}`,
		},
		{
			name: "several mutations run in order in one transaction",
			query: `mutation {
				a: insert_tag_one(object: {name: "rust"}) { name }
				b: update_tag(where: {name: {_eq: "rust"}}, _set: {name: "zig"}) { affected_rows returning { name } }
				c: delete_tag(where: {name: {_eq: "sql"}}) { affected_rows }
			}`,
			want: `{"data":{"a":{"name":"rust"},"b":{"affected_rows":1,"returning":[{"name":"zig"}]},"c":{"affected_rows":1}}}`,
		},
		{
			name:  "a constraint violation in the second field rolls back the first",
			query: `mutation { a: insert_tag(objects: [{name: "z1"}]) { affected_rows } b: insert_tag(objects: [{name: "go"}]) { affected_rows } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.b.args.objects","code":"constraint-violation","internal":{"error":{"description":"Key (name)=(go) already exists.","hint":"","message":"duplicate key value violates unique constraint \"tag_name_key\"","status_code":"23505"}}},"message":"Uniqueness violation. duplicate key value violates unique constraint \"tag_name_key\""}]}`,
		},
		{
			name:  "the tags after the rolled back request",
			query: `{ tag(order_by: {name: asc}) { name } }`,
			want:  `{"data":{"tag":[{"name":"go"},{"name":"postgres"},{"name":"zig"}]}}`,
		},
	})
}

func TestBlogUpdateDelete(t *testing.T) {
	b := newBlog(t)
	runSteps(t, b, []step{
		{
			name:    "update changes only the rows the update filter allows",
			query:   `mutation { update_article(where: {id: {_in: [1, 2, 3]}}, _set: {title: "x"}) { affected_rows returning { id title } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"update_article":{"affected_rows":2,"returning":[{"id":1,"title":"x"},{"id":2,"title":"x"}]}}}`,
		},
		{
			name:    "an update needs the session variables of the update filter",
			query:   `mutation { update_article(where: {}, _set: {title: "x"}) { affected_rows } }`,
			headers: []string{user},
			want:    `{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-user-id\""}]}`,
		},
		{
			name:      "update_many with variables; an empty list of updates",
			query:     `mutation M($u: [article_updates!]!) { a: update_article_many(updates: $u) { affected_rows } b: update_article_many(updates: []) { affected_rows } }`,
			variables: `{"u": [{"where": {"id": {"_eq": 3}}, "_set": {"title": "nope"}}, {"where": {"id": {"_eq": 4}}, "_set": {"content": "new"}}]}`,
			headers:   []string{user, carol},
			want:      `{"data":{"a":[{"affected_rows":0},{"affected_rows":1}],"b":[]}}`,
		},
		{
			name:    "update_by_pk of a row the role may not update is null",
			query:   `mutation { update_article_by_pk(pk_columns: {id: 3}, _set: {title: "x"}) { id } }`,
			headers: []string{user, alice},
			want:    `{"data":{"update_article_by_pk":null}}`,
		},
		{
			name:    "update_by_pk",
			query:   `mutation { update_article_by_pk(pk_columns: {id: 2}, _set: {published: true}) { id title published } }`,
			headers: []string{user, alice},
			want:    `{"data":{"update_article_by_pk":{"id":2,"title":"x","published":true}}}`,
		},
		{
			name:    "update_many applies its updates in order",
			query:   `mutation { update_article_many(updates: [{where: {id: {_eq: 1}}, _set: {title: "a"}}, {where: {id: {_eq: 1}}, _set: {content: "b"}}]) { affected_rows returning { title content } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"update_article_many":[{"affected_rows":1,"returning":[{"title":"a","content":"hello"}]},{"affected_rows":1,"returning":[{"title":"a","content":"b"}]}]}}`,
		},
		{
			name:  "_inc",
			query: `mutation { update_article(where: {id: {_eq: 4}}, _inc: {organization_id: -1}) { returning { id organization_id } } }`,
			want:  `{"data":{"update_article":{"returning":[{"id":4,"organization_id":1}]}}}`,
		},
		{
			name:    "delete of another user's row deletes nothing",
			query:   `mutation { delete_article(where: {id: {_eq: 1}}) { affected_rows } }`,
			headers: []string{user, carol},
			want:    `{"data":{"delete_article":{"affected_rows":0}}}`,
		},
		{
			name:    "delete_by_pk returns the deleted row",
			query:   `mutation { delete_article_by_pk(id: 2) { id title } }`,
			headers: []string{user, alice},
			want:    `{"data":{"delete_article_by_pk":{"id":2,"title":"x"}}}`,
		},
		{
			name:    "delete with an empty where deletes every row the role may delete",
			query:   `mutation { delete_article(where: {}) { affected_rows returning { id } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"delete_article":{"affected_rows":1,"returning":[{"id":1}]}}}`,
		},
		{
			name:  "the remaining articles",
			query: `{ article(order_by: {id: asc}) { id } }`,
			want:  `{"data":{"article":[{"id":3},{"id":4}]}}`,
		},
	})
}

func TestBlogNestedInsert(t *testing.T) {
	b := newBlog(t)
	runSteps(t, b, []step{
		{
			// article_tag's insert columns are article_id and tag_id, and
			// the user may read article.id: tags is offered. The user may
			// not insert authors or organizations.
			name:    "the user's insert input offers the relationships it may insert through",
			query:   `{ __type(name: "article_insert_input") { inputFields { name } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"__type":{"inputFields":[{"name":"title"},{"name":"content"},{"name":"published"},{"name":"organization_id"},{"name":"tags"}]}}}`,
		},
		{
			// article_tag's check reads the article, inserted by an
			// earlier statement of the same transaction.
			name:    "an array relationship's rows take the new row's key",
			query:   `mutation { insert_article_one(object: {title: "nested", tags: {data: [{tag_id: 1}, {tag_id: 2}]}}) { id title tags { tag_id } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"insert_article_one":{"id":5,"title":"nested","tags":[{"tag_id":1},{"tag_id":2}]}}}`,
		},
		{
			name:    "affected_rows counts nested rows; returning keeps the objects' order",
			query:   `mutation { insert_article(objects: [{title: "a1", tags: {data: [{tag_id: 1}]}}, {title: "a2"}]) { affected_rows returning { id title tags { tag_id } } } }`,
			headers: []string{user, alice},
			want:    `{"data":{"insert_article":{"affected_rows":3,"returning":[{"id":6,"title":"a1","tags":[{"tag_id":1}]},{"id":7,"title":"a2","tags":[]}]}}}`,
		},
		{
			name:  "object relationships are inserted first, at any depth",
			query: `mutation { insert_article(objects: [{title: "by new", author: {data: {name: "Dan"}}, tags: {data: [{tag: {data: {name: "newtag"}}}]}}]) { affected_rows returning { title author { id name } tags { tag { name } } } } }`,
			want:  `{"data":{"insert_article":{"affected_rows":4,"returning":[{"title":"by new","author":{"id":4,"name":"Dan"},"tags":[{"tag":{"name":"newtag"}}]}]}}}`,
		},
		{
			name:  "a nested row with on_conflict",
			query: `mutation { insert_article_tag_one(object: {article_id: 3, tag: {data: {name: "go"}, on_conflict: {constraint: tag_name_key, update_columns: [name]}}}) { tag { id name } } }`,
			want:  `{"data":{"insert_article_tag_one":{"tag":{"id":1,"name":"go"}}}}`,
		},
		{
			name:    "a join column the nested insert sets cannot be given too",
			query:   `mutation { insert_article(objects: [{title: "x", tags: {data: [{article_id: 1, tag_id: 1}]}}]) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects[0].tags.data[0].article_id","code":"validation-failed"},"message":"cannot set column \"article_id\": a nested insert sets it"}]}`,
		},
		{
			name:    "a nested row that fails its check rolls back the whole insert",
			query:   `mutation { insert_article(objects: [{title: "rolled back", tags: {data: [{tag_id: 1}, {tag_id: 1}]}}]) { affected_rows } }`,
			headers: []string{user, alice},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects","code":"constraint-violation"},"message":"Uniqueness violation. duplicate key value violates unique constraint \"article_tag_pkey\""}]}`,
		},
		{
			name:  "the articles after the failed insert",
			query: `{ article_aggregate(where: {title: {_eq: "rolled back"}}) { aggregate { count } } }`,
			want:  `{"data":{"article_aggregate":{"aggregate":{"count":0}}}}`,
		},
	})
}

// docSchema is a table with jsonb and numeric columns, a check
// constraint and a unique key, for the mutation cases the blog lacks.
const docSchema = `
CREATE TABLE doc (
  id serial PRIMARY KEY,
  owner_id integer NOT NULL,
  title text NOT NULL UNIQUE,
  secret text,
  data jsonb NOT NULL DEFAULT '{}',
  version integer NOT NULL DEFAULT 0 CHECK (version >= 0)
);
INSERT INTO doc (owner_id, title, data) VALUES (1, 'one', '{"a": 1, "list": [1, 2, 3]}'), (2, 'two', '{}');
`

// docMetadata: editor writes and reads its own docs but never reads
// secret; writer may only insert, without any select permission;
// restricted may insert and update no column; importer may insert only
// through backend_only requests.
const docMetadata = `
version: 2
tables:
- table: {schema: public, name: doc}
  insert_permissions:
  - role: editor
    permission:
      check: {owner_id: {_eq: X-Hasura-User-Id}}
      columns: [owner_id, title, secret, data]
  - role: writer
    permission:
      check: {}
      columns: [owner_id, title]
  - role: restricted
    permission:
      check: {owner_id: {_eq: X-Hasura-User-Id}}
      columns: [owner_id, title]
  - role: importer
    permission:
      check: {}
      columns: [owner_id, title]
      backend_only: true
  - role: titler
    permission:
      check: {}
      columns: [owner_id, title, data]
  select_permissions:
  - role: editor
    permission:
      columns: [id, owner_id, title, data, version]
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
  - role: restricted
    permission:
      columns: [id, title]
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
  - role: titler
    permission:
      columns: [id, title, data]
      filter: {}
  update_permissions:
  - role: titler
    permission:
      columns: [data]
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
  - role: restricted
    permission:
      columns: []
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
  - role: editor
    permission:
      columns: [title, data, version]
      filter: {owner_id: {_eq: X-Hasura-User-Id}}
      check: {version: {_lt: 10}}
`

func newDocs(t *testing.T) *blog {
	t.Helper()
	md, err := policies.Parse("metadata.yaml", []byte(docMetadata))
	if err != nil {
		t.Fatal(err)
	}
	return newServed(t, []string{docSchema}, md)
}

func TestDocMutations(t *testing.T) {
	b := newDocs(t)
	editor := []string{"X-Hasura-Role: editor", "X-Hasura-User-Id: 1"}
	writer := []string{"X-Hasura-Role: writer"}
	runSteps(t, b, []step{
		{
			name:    "returning offers only the columns the role may select",
			query:   `mutation { insert_doc_one(object: {owner_id: 1, title: "s", secret: "x"}) { id secret } }`,
			headers: editor,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_doc_one.selectionSet.secret","code":"validation-failed"},"message":"field 'secret' not found in type: 'doc'"}]}`,
		},
		{
			name:    "an insert may set a column the role cannot read back",
			query:   `mutation { insert_doc(objects: [{owner_id: 1, title: "s", secret: "x"}]) { affected_rows returning { id title version } } }`,
			headers: editor,
			want:    `{"data":{"insert_doc":{"affected_rows":1,"returning":[{"id":3,"title":"s","version":0}]}}}`,
		},
		{
			name:    "an insert the check refuses",
			query:   `mutation { insert_doc(objects: [{owner_id: 2, title: "t"}]) { affected_rows } }`,
			headers: editor,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_doc.args.objects","code":"permission-error"},"message":"check constraint of an insert/update permission has failed"}]}`,
		},
		{
			name:    "a role without select permission gets affected_rows only",
			query:   `{ __type(name: "mutation_root") { fields { name } } r: __type(name: "doc_mutation_response") { fields { name } } }`,
			headers: writer,
			want:    `{"data":{"__type":{"fields":[{"name":"insert_doc"}]},"r":{"fields":[{"name":"affected_rows"}]}}}`,
		},
		{
			name:    "and may insert without reading the rows back",
			query:   `mutation { insert_doc(objects: [{owner_id: 2, title: "w1"}, {owner_id: 2, title: "w2"}]) { affected_rows } }`,
			headers: writer,
			want:    `{"data":{"insert_doc":{"affected_rows":2}}}`,
		},
		{
			name:    "jsonb operators and _inc",
			query:   `mutation { a: update_doc(where: {title: {_eq: "one"}}, _append: {data: {b: 2}}, _inc: {version: 2}) { returning { data version } } b: update_doc_by_pk(pk_columns: {id: 1}, _delete_key: {data: "a"}) { data } c: update_doc_by_pk(pk_columns: {id: 1}, _delete_at_path: {data: ["list", "0"]}) { data } d: update_doc_by_pk(pk_columns: {id: 1}, _prepend: {data: {p: true}}) { data } }`,
			headers: editor,
			want:    `{"data":{"a":{"returning":[{"data":{"a":1,"b":2,"list":[1,2,3]},"version":2}]},"b":{"data":{"b":2,"list":[1,2,3]}},"c":{"data":{"b":2,"list":[2,3]}},"d":{"data":{"b":2,"p":true,"list":[2,3]}}}}`,
		},
		{
			name:    "_delete_elem; the second update sees the first",
			query:   `mutation { a: update_doc_by_pk(pk_columns: {id: 1}, _set: {data: [1, 2, 3]}) { data } b: update_doc_by_pk(pk_columns: {id: 1}, _delete_elem: {data: -1}) { data } }`,
			headers: editor,
			want:    `{"data":{"a":{"data":[1,2,3]},"b":{"data":[1,2]}}}`,
		},
		{
			name:    "an operator PostgreSQL refuses is a data-exception",
			query:   `mutation { update_doc_by_pk(pk_columns: {id: 3}, _delete_elem: {data: 0}) { data } }`,
			headers: editor,
			want:    `{"errors":[{"extensions":{"path":"$","code":"data-exception"},"message":"cannot delete from object using integer index"}]}`,
		},
		{
			name:    "an update the check refuses is a permission-error",
			query:   `mutation { update_doc(where: {id: {_eq: 1}}, _set: {version: 10}) { affected_rows } }`,
			headers: editor,
			want:    `{"errors":[{"extensions":{"path":"$","code":"permission-error"},"message":"check constraint of an insert/update permission has failed"}]}`,
		},
		{
			name:    "a check constraint violation",
			query:   `mutation { update_doc(where: {id: {_eq: 1}}, _inc: {version: -5}) { affected_rows } }`,
			headers: editor,
			want:    `{"errors":[{"extensions":{"path":"$","code":"constraint-violation"},"message":"Check constraint violation. new row for relation \"doc\" violates check constraint \"doc_version_check\""}]}`,
		},
		{
			name:    "the same column in two operators",
			query:   `mutation { update_doc(where: {}, _set: {version: 1}, _inc: {version: 1}) { affected_rows } }`,
			headers: editor,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.update_doc.args","code":"validation-failed"},"message":"column found in multiple operators; \"version\" in _set and _inc"}]}`,
		},
		{
			name:    "an upsert updates the role's own conflicting row",
			query:   `mutation { insert_doc_one(object: {owner_id: 1, title: "one", data: {new: 1}}, on_conflict: {constraint: doc_title_key, update_columns: [data]}) { id data } }`,
			headers: editor,
			want:    `{"data":{"insert_doc_one":{"id":1,"data":{"new":1}}}}`,
		},
		{
			name:    "an upsert leaves a conflicting row the role may not update alone",
			query:   `mutation { insert_doc(objects: [{owner_id: 1, title: "two", data: {new: 1}}], on_conflict: {constraint: doc_title_key, update_columns: [data]}) { affected_rows } }`,
			headers: editor,
			want:    `{"data":{"insert_doc":{"affected_rows":0}}}`,
		},
		{
			name:    "a role that may update no column gets on_conflict with a placeholder column",
			query:   `{ __type(name: "doc_update_column") { enumValues { name } } }`,
			headers: []string{"X-Hasura-Role: restricted", "X-Hasura-User-Id: 1"},
			want:    `{"data":{"__type":{"enumValues":[{"name":"_PLACEHOLDER"}]}}}`,
		},
		{
			name:    "which it cannot use",
			query:   `mutation { insert_doc(objects: [{owner_id: 1, title: "one"}], on_conflict: {constraint: doc_title_key, update_columns: [_PLACEHOLDER]}) { affected_rows } }`,
			headers: []string{"X-Hasura-Role: restricted", "X-Hasura-User-Id: 1"},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.insert_doc.args.on_conflict","code":"validation-failed"},"message":"erroneous column name"}]}`,
		},
		{
			name:    "an upsert that updates nothing",
			query:   `mutation { insert_doc(objects: [{owner_id: 1, title: "one"}], on_conflict: {constraint: doc_title_key, update_columns: []}) { affected_rows } }`,
			headers: []string{"X-Hasura-Role: restricted", "X-Hasura-User-Id: 1"},
			want:    `{"data":{"insert_doc":{"affected_rows":0}}}`,
		},
		{
			name:    "a backend_only insert is hidden from ordinary requests",
			query:   `mutation { insert_doc(objects: [{owner_id: 3, title: "imported"}]) { affected_rows } }`,
			headers: []string{"X-Hasura-Role: importer"},
			want:    `{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no mutations exist"}]}`,
		},
		{
			name:    "and served to backend requests",
			query:   `mutation { insert_doc(objects: [{owner_id: 3, title: "imported"}]) { affected_rows } }`,
			headers: []string{"X-Hasura-Role: importer", "X-Hasura-Use-Backend-Only-Permissions: true"},
			want:    `{"data":{"insert_doc":{"affected_rows":1}}}`,
		},
		{
			// Without ids: refused inserts and upserts draw from the sequence.
			name:  "the rows as the admin sees them",
			query: `{ doc(order_by: {id: asc}) { owner_id title secret data version } }`,
			want:  `{"data":{"doc":[{"owner_id":1,"title":"one","secret":null,"data":{"new":1},"version":2},{"owner_id":2,"title":"two","secret":null,"data":{},"version":0},{"owner_id":1,"title":"s","secret":"x","data":{},"version":0},{"owner_id":2,"title":"w1","secret":null,"data":{},"version":0},{"owner_id":2,"title":"w2","secret":null,"data":{},"version":0},{"owner_id":3,"title":"imported","secret":null,"data":{},"version":0}]}}`,
		},
	})
}

// TestUpsertFilterOnHiddenColumn: an update filter that reads a column the
// role may not select stays out of ON CONFLICT's WHERE (reading it would
// need a SELECT grant), so the upsert runs, and PostgreSQL's update
// policy refuses a conflicting row the filter does not admit.
func TestUpsertFilterOnHiddenColumn(t *testing.T) {
	b := newDocs(t)
	titler := []string{"X-Hasura-Role: titler", "X-Hasura-User-Id: 1"}
	for _, c := range []struct{ name, query, want string }{
		{
			name:  "a conflicting row the filter admits is updated",
			query: `mutation { insert_doc(objects: [{owner_id: 1, title: "one", data: {t: 1}}], on_conflict: {constraint: doc_title_key, update_columns: [data]}) { affected_rows returning { title data } } }`,
			want:  `{"data":{"insert_doc":{"affected_rows":1,"returning":[{"title":"one","data":{"t":1}}]}}}`,
		},
		{
			name:  "a conflicting row the filter refuses fails the statement",
			query: `mutation { insert_doc(objects: [{owner_id: 1, title: "two", data: {t: 2}}], on_conflict: {constraint: doc_title_key, update_columns: [data]}) { affected_rows } }`,
			want:  `{"errors":[{"extensions":{"path":"$.selectionSet.insert_doc.args.objects","code":"permission-error"},"message":"check constraint of an insert/update permission has failed"}]}`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := b.query(t, c.query, "", titler...); got != c.want {
				t.Errorf("(-want +got):\n- %s\n+ %s", c.want, got)
			}
		})
	}
}
