package graphql_test

import (
	"context"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// relSchema has a relationship whose join columns (author.id,
// article.author_id) the roles' permissions do not list.
const relSchema = `
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, secret text);
CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  author_id integer NOT NULL REFERENCES author(id),
  published boolean NOT NULL
);
INSERT INTO author (name, secret) VALUES ('Alice', 's1'), ('Bob', 's2');
INSERT INTO article (title, author_id, published) VALUES
  ('a1', 1, true), ('a2', 1, true), ('b1', 2, true), ('b2', 2, false);
`

// relMetadata: reader follows article.author and author.articles without
// reading a join column; lonely may not select author, so has no
// relationship; limiter has a row limit of 1; counter may count articles
// without reading any column.
const relMetadata = `
- table: {schema: public, name: author}
  array_relationships:
  - name: articles
    using: {foreign_key_constraint_on: {table: article, column: author_id}}
  select_permissions:
  - role: reader
    permission: {columns: [name], filter: {}}
  - role: limiter
    permission: {columns: [name], filter: {}}
- table: {schema: public, name: article}
  object_relationships:
  - name: author
    using: {foreign_key_constraint_on: author_id}
  select_permissions:
  - role: reader
    permission:
      columns: [title]
      filter: {published: {_eq: true}}
      allow_aggregations: true
  - role: lonely
    permission: {columns: [title], filter: {}}
  - role: limiter
    permission: {columns: [id, title], filter: {}, allow_aggregations: true, limit: 1}
  - role: counter
    permission: {columns: [], filter: {}, allow_aggregations: true}
`

func newRel(t *testing.T) *blog {
	t.Helper()
	md, err := policies.Parse("metadata.yaml", []byte(relMetadata))
	if err != nil {
		t.Fatal(err)
	}
	return newServed(t, []string{relSchema}, md)
}

func TestRelationshipWithoutJoinColumns(t *testing.T) {
	b := newRel(t)
	reader := []string{"X-Hasura-Role: reader"}
	runSteps(t, b, []step{
		{
			name:    "an array relationship, the remote table's policy applied",
			query:   `{ author(order_by: {name: asc}) { name articles(order_by: {title: asc}) { title } } }`,
			headers: reader,
			want:    `{"data":{"author":[{"name":"Alice","articles":[{"title":"a1"},{"title":"a2"}]},{"name":"Bob","articles":[{"title":"b1"}]}]}}`,
		},
		{
			name:    "an object relationship",
			query:   `{ article(order_by: {title: asc}) { title author { name } } }`,
			headers: reader,
			want:    `{"data":{"article":[{"title":"a1","author":{"name":"Alice"}},{"title":"a2","author":{"name":"Alice"}},{"title":"b1","author":{"name":"Bob"}}]}}`,
		},
		{
			name:    "filtering through a relationship",
			query:   `{ article(where: {author: {name: {_eq: "Bob"}}}) { title } }`,
			headers: reader,
			want:    `{"data":{"article":[{"title":"b1"}]}}`,
		},
		{
			name:    "a relationship filter sees only the rows the remote table's policy shows",
			query:   `{ author(where: {articles: {title: {_eq: "b2"}}}) { name } }`,
			headers: reader,
			want:    `{"data":{"author":[]}}`,
		},
		{
			name:    "ordering through an object relationship",
			query:   `{ article(order_by: [{author: {name: desc}}, {title: asc}]) { title } }`,
			headers: reader,
			want:    `{"data":{"article":[{"title":"b1"},{"title":"a1"},{"title":"a2"}]}}`,
		},
		{
			name:    "ordering by an array relationship's aggregate",
			query:   `{ author(order_by: {articles_aggregate: {count: desc}}) { name articles_aggregate { aggregate { count } } } }`,
			headers: reader,
			want:    `{"data":{"author":[{"name":"Alice","articles_aggregate":{"aggregate":{"count":2}}},{"name":"Bob","articles_aggregate":{"aggregate":{"count":1}}}]}}`,
		},
		{
			name:    "the join column is not a field",
			query:   `{ article { author_id } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.selectionSet.author_id","code":"validation-failed"},"message":"field 'author_id' not found in type: 'article'"}]}`,
		},
		{
			name:    "nor on the remote side",
			query:   `{ article { author { id } } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.selectionSet.author.selectionSet.id","code":"validation-failed"},"message":"field 'id' not found in type: 'author'"}]}`,
		},
		{
			name:    "the join column cannot filter",
			query:   `{ article(where: {author_id: {_eq: 1}}) { title } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.args.where.author_id","code":"validation-failed"},"message":"field 'author_id' not found in type: 'article_bool_exp'"}]}`,
		},
		{
			name:    "the join column cannot sort",
			query:   `{ article(order_by: {author_id: asc}) { title } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.args.order_by.author_id","code":"validation-failed"},"message":"field 'author_id' not found in type: 'article_order_by'"}]}`,
		},
		{
			name:    "the join column is no distinct_on value",
			query:   `{ article(distinct_on: [author_id]) { title } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.args.distinct_on[0]","code":"validation-failed"},"message":"expected one of the values ['title'] for type 'article_select_column', but found 'author_id'"}]}`,
		},
		{
			name:    "the join column cannot be aggregated",
			query:   `{ article_aggregate { aggregate { count(columns: [author_id]) } } }`,
			headers: reader,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article_aggregate.selectionSet.aggregate.selectionSet.count.args.columns[0]","code":"validation-failed"},"message":"expected one of the values ['title'] for type 'article_select_column', but found 'author_id'"}]}`,
		},
		{
			name:    "no relationship to a table the role may not select",
			query:   `{ article { author { name } } }`,
			headers: []string{"X-Hasura-Role: lonely"},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article.selectionSet.author","code":"validation-failed"},"message":"field 'author' not found in type: 'article'"}]}`,
		},
	})

	// From SQL, the reader's PostgreSQL role reads the join columns but no
	// other column the permissions leave out.
	ctx := context.Background()
	var pgRole string
	if err := b.conn.QueryRow(ctx, "SELECT pg_role FROM rowguard.roles WHERE hasura_role = 'reader'").Scan(&pgRole); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sql string
		ok  bool
	}{
		{"SELECT author_id FROM article", true},
		{"SELECT id FROM author", true},
		{"SELECT secret FROM author", false},
		{"SELECT published FROM article", false},
		{"SELECT id FROM article", false},
	} {
		tx, err := b.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgRole); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, c.sql)
		if got := err == nil; got != c.ok {
			t.Errorf("%s as %s: succeeded %v, want %v (%v)", c.sql, pgRole, got, c.ok, err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAggregatePermissions(t *testing.T) {
	b := newRel(t)
	limiter := []string{"X-Hasura-Role: limiter"}
	counter := []string{"X-Hasura-Role: counter"}
	runSteps(t, b, []step{
		{
			name:    "the row limit caps a list",
			query:   `{ article(order_by: {id: asc}) { id } }`,
			headers: limiter,
			want:    `{"data":{"article":[{"id":1}]}}`,
		},
		{
			name:    "the row limit caps nodes but not the aggregate",
			query:   `{ article_aggregate(order_by: {id: asc}) { aggregate { count max { id } } nodes { id } } }`,
			headers: limiter,
			want:    `{"data":{"article_aggregate":{"aggregate":{"count":4,"max":{"id":4}},"nodes":[{"id":1}]}}}`,
		},
		{
			name:    "the request's limit applies to both",
			query:   `{ article_aggregate(limit: 3, order_by: {id: asc}) { aggregate { count max { id } } nodes { id } } }`,
			headers: limiter,
			want:    `{"data":{"article_aggregate":{"aggregate":{"count":3,"max":{"id":3}},"nodes":[{"id":1}]}}}`,
		},
		{
			name:    "through an array relationship too",
			query:   `{ author(order_by: {name: asc}) { name articles_aggregate(order_by: {id: asc}) { aggregate { count } nodes { title } } } }`,
			headers: limiter,
			want:    `{"data":{"author":[{"name":"Alice","articles_aggregate":{"aggregate":{"count":2},"nodes":[{"title":"a1"}]}},{"name":"Bob","articles_aggregate":{"aggregate":{"count":2},"nodes":[{"title":"b1"}]}}]}}`,
		},
		{
			name:    "a role that reads no column counts rows",
			query:   `{ article_aggregate { aggregate { count } } }`,
			headers: counter,
			want:    `{"data":{"article_aggregate":{"aggregate":{"count":4}}}}`,
		},
		{
			name:    "and has only the aggregate root field",
			query:   `{ __type(name: "query_root") { fields { name } } a: __type(name: "article_aggregate") { fields { name } } f: __type(name: "article_aggregate_fields") { fields { name args { name } } } }`,
			headers: counter,
			want:    `{"data":{"__type":{"fields":[{"name":"article_aggregate"}]},"a":{"fields":[{"name":"aggregate"}]},"f":{"fields":[{"name":"count","args":[{"name":"distinct"}]}]}}}`,
		},
		{
			name:    "count takes no columns",
			query:   `{ article_aggregate { aggregate { count(columns: [id]) } } }`,
			headers: counter,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article_aggregate.selectionSet.aggregate.selectionSet.count","code":"validation-failed"},"message":"'count' has no argument named 'columns'"}]}`,
		},
		{
			name:    "no aggregate over a column",
			query:   `{ article_aggregate { aggregate { max { id } } } }`,
			headers: counter,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article_aggregate.selectionSet.aggregate.selectionSet.max","code":"validation-failed"},"message":"field 'max' not found in type: 'article_aggregate_fields'"}]}`,
		},
		{
			name:    "no nodes",
			query:   `{ article_aggregate { nodes { __typename } } }`,
			headers: counter,
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.article_aggregate.selectionSet.nodes","code":"validation-failed"},"message":"field 'nodes' not found in type: 'article_aggregate'"}]}`,
		},
	})
}
