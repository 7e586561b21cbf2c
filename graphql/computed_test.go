package graphql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rowguard/rowguard/policies"
)

// fnSchema: student_total reads marks the tutor may not read; passed
// reads gpa the staff may not read; author_articles is a SETOF computed
// field; bump is VOLATILE and tracked as a mutation (not served).
const fnSchema = `
CREATE TABLE student (id serial PRIMARY KEY, name text NOT NULL, marks int NOT NULL, gpa double precision NOT NULL, tutor_id int NOT NULL);
INSERT INTO student (name, marks, gpa, tutor_id) VALUES
  ('clarke', 230, 9.2, 1), ('george', 180, 8.3, 1), ('blake', 250, 7.3, 2), ('leonel', 270, 9.5, 2);
CREATE FUNCTION student_total(s student) RETURNS int AS $$ SELECT s.marks + 10 $$ LANGUAGE sql STABLE;
CREATE FUNCTION student_offset(hasura_session json, s student) RETURNS int
  AS $$ SELECT s.marks - (hasura_session ->> 'x-hasura-offset')::int $$ LANGUAGE sql STABLE;
CREATE FUNCTION passed(pass_gpa double precision) RETURNS SETOF student
  AS $$ SELECT * FROM student WHERE gpa >= pass_gpa $$ LANGUAGE sql STABLE;
CREATE FUNCTION bump() RETURNS SETOF student AS $$ UPDATE student SET marks = marks + 1 RETURNING * $$ LANGUAGE sql VOLATILE;
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, secret text);
CREATE TABLE article (id serial PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES author (id), published boolean NOT NULL);
INSERT INTO author (name, secret) VALUES ('Alice', 's1'), ('Bob', 's2');
INSERT INTO article (title, author_id, published) VALUES ('a one', 1, true), ('a two', 1, false), ('b one', 2, true);
CREATE FUNCTION author_articles(a author, search text) RETURNS SETOF article
  AS $$ SELECT * FROM article WHERE author_id = a.id AND title LIKE '%' || search || '%' $$ LANGUAGE sql STABLE;
CREATE FUNCTION author_latest(a author) RETURNS article
  AS $$ SELECT * FROM article WHERE author_id = a.id ORDER BY id DESC LIMIT 1 $$ LANGUAGE sql STABLE;
CREATE FUNCTION best_student() RETURNS student
  AS $$ SELECT * FROM student ORDER BY gpa DESC LIMIT 1 $$ LANGUAGE sql STABLE;
`

const fnMetadata = `
version: 3
sources:
- name: default
  kind: postgres
  tables:
  - table: {schema: public, name: student}
    computed_fields:
    - name: total
      definition: {function: student_total, table_argument: s}
    - name: offset_marks
      definition: {function: student_offset, table_argument: s, session_argument: hasura_session}
    select_permissions:
    - role: tutor
      permission:
        columns: [name]
        computed_fields: [total, offset_marks]
        filter: {tutor_id: {_eq: X-Hasura-User-Id}}
    - role: staff
      permission:
        columns: [id, name]
        filter: {tutor_id: {_eq: 2}}
        allow_aggregations: true
    - role: full
      permission:
        columns: '*'
        computed_fields: [total]
        filter: {}
    - role: achiever
      permission:
        columns: [name]
        filter: {total: {_gte: X-Hasura-Min-Total}}
  - table: {schema: public, name: author}
    computed_fields:
    - name: articles
      definition: {function: author_articles, table_argument: a}
    - name: latest
      definition: {function: author_latest, table_argument: a}
    select_permissions:
    - role: reader
      permission: {columns: [id, name], filter: {}}
  - table: {schema: public, name: article}
    select_permissions:
    - role: reader
      permission: {columns: [id, title], filter: {published: {_eq: true}}}
  functions:
  - function: {schema: public, name: passed}
  - function: {schema: public, name: bump}
  - function: {schema: public, name: best_student}
`

func newFn(t *testing.T) *blog {
	t.Helper()
	md, err := policies.Parse("metadata.yaml", []byte(fnMetadata))
	if err != nil {
		t.Fatal(err)
	}
	return newServed(t, []string{fnSchema}, md)
}

func TestComputedFieldsAndFunctions(t *testing.T) {
	b := newFn(t)
	tutor := []string{"X-Hasura-Role: tutor", "X-Hasura-User-Id: 1", "X-Hasura-Offset: 100"}
	runSteps(t, b, []step{
		{
			name:    "scalar computed fields through the tutor's helpers (it reads neither marks nor the key)",
			query:   `{ student(order_by: {name: asc}) { name total offset_marks } }`,
			headers: tutor,
			want:    `{"data":{"student":[{"name":"clarke","total":240,"offset_marks":130},{"name":"george","total":190,"offset_marks":80}]}}`,
		},
		{
			name:    "a session variable compared with a computed field in the filter is set for the request",
			query:   `{ student(order_by: {name: asc}) { name } }`,
			headers: []string{"X-Hasura-Role: achiever", "X-Hasura-Min-Total: 250"},
			want:    `{"data":{"student":[{"name":"blake"},{"name":"leonel"}]}}`,
		},
		{
			name:    "and reported missing when the session lacks it",
			query:   `{ student { name } }`,
			headers: []string{"X-Hasura-Role: achiever"},
			want:    `{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-min-total\""}]}`,
		},
		{
			name:    "order_by a scalar computed field",
			query:   `{ student(order_by: {offset_marks: desc}) { name } }`,
			headers: tutor,
			want:    `{"data":{"student":[{"name":"clarke"},{"name":"george"}]}}`,
		},
		{
			name:    "rows of a tracked function have the computed fields of their table",
			query:   `{ passed(args: {pass_gpa: 9.0}, order_by: {total: asc}) { name total } }`,
			headers: []string{"X-Hasura-Role: full"},
			want:    `{"data":{"passed":[{"name":"clarke","total":240},{"name":"leonel","total":280}]}}`,
		},
		{
			name:    "rows of a tracked function read through the tutor's key",
			query:   `{ passed(args: {pass_gpa: 8.0}, order_by: {name: asc}) { name total } }`,
			headers: tutor,
			want:    `{"data":{"passed":[{"name":"clarke","total":240},{"name":"george","total":190}]}}`,
		},
		{
			name:    "a role reading every column calls the function itself",
			query:   `{ student(where: {id: {_eq: 1}}) { name total } }`,
			headers: []string{"X-Hasura-Role: full"},
			want:    `{"data":{"student":[{"name":"clarke","total":240}]}}`,
		},
		{
			name:    "a computed field the permission does not list is not published",
			query:   `{ student { name total } }`,
			headers: []string{"X-Hasura-Role: staff"},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.student.selectionSet.total","code":"validation-failed"},"message":"field 'total' not found in type: 'student'"}]}`,
		},
		{
			name:    "a tracked function: the body reads gpa, the staff's filter and columns apply to its rows",
			query:   `{ passed(args: {pass_gpa: 8.0}, order_by: {id: asc}) { id name } }`,
			headers: []string{"X-Hasura-Role: staff"},
			want:    `{"data":{"passed":[{"id":4,"name":"leonel"}]}}`,
		},
		{
			name:    "the aggregate of a tracked function",
			query:   `{ passed_aggregate(args: {pass_gpa: 7.0}) { aggregate { count } nodes { name } } }`,
			headers: []string{"X-Hasura-Role: staff"},
			want:    `{"data":{"passed_aggregate":{"aggregate":{"count":2},"nodes":[{"name":"blake"},{"name":"leonel"}]}}}`,
		},
		{
			name:    "admin calls the function itself",
			query:   `{ passed(args: {pass_gpa: 9.0}, order_by: {id: asc}) { name gpa } }`,
			headers: []string{"X-Hasura-Role: admin"},
			want:    `{"data":{"passed":[{"name":"clarke","gpa":9.2},{"name":"leonel","gpa":9.5}]}}`,
		},
		{
			name:    "a role without a select permission on the returned table does not see the function",
			query:   `{ passed(args: {pass_gpa: 0}) { id } }`,
			headers: []string{"X-Hasura-Role: reader"},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.passed","code":"validation-failed"},"message":"field 'passed' not found in type: 'query_root'"}]}`,
		},
		{
			name:    "a VOLATILE function is not a query root field",
			query:   `{ bump { id } }`,
			headers: []string{"X-Hasura-Role: admin"},
			want:    `{"errors":[{"extensions":{"path":"$.selectionSet.bump","code":"validation-failed"},"message":"field 'bump' not found in type: 'query_root'"}]}`,
		},
		{
			name:    "a function returning one row of a table is a list of rows, as Hasura serves it, under the role's filter",
			query:   `{ best_student { name } }`,
			headers: []string{"X-Hasura-Role: staff"},
			want:    `{"data":{"best_student":[{"name":"leonel"}]}}`,
		},
		{
			name:    "a computed field returning one row of a table is a list of rows, under the remote table's filter",
			query:   `{ author(order_by: {id: asc}) { name latest { title } } }`,
			headers: []string{"X-Hasura-Role: reader"},
			want:    `{"data":{"author":[{"name":"Alice","latest":[]},{"name":"Bob","latest":[{"title":"b one"}]}]}}`,
		},
		{
			name:    "a SETOF computed field: the article permission's filter applies, with where and limit",
			query:   `{ author(order_by: {id: asc}) { name articles(args: {search: "one"}, order_by: {id: asc}) { title } all: articles(args: {search: ""}, where: {title: {_like: "a%"}}, limit: 5) { title } } }`,
			headers: []string{"X-Hasura-Role: reader"},
			want:    `{"data":{"author":[{"name":"Alice","articles":[{"title":"a one"}],"all":[{"title":"a one"}]},{"name":"Bob","articles":[{"title":"b one"}],"all":[]}]}}`,
		},
	})

	// From SQL, the tutor's helpers answer only for rows its filter shows,
	// and the staff's function helper only with its columns and rows.
	ctx := context.Background()
	role := func(hasura string) string {
		var pg string
		if err := b.conn.QueryRow(ctx, "SELECT pg_role FROM rowguard.roles WHERE hasura_role = $1", hasura).Scan(&pg); err != nil {
			t.Fatal(err)
		}
		return pg
	}
	var helper, fnHelper string
	if err := b.conn.QueryRow(ctx, `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'rowguard' AND p.proname LIKE 'rg\_cf\_tutor\_student\_total\_%'`).Scan(&helper); err != nil {
		t.Fatal(err)
	}
	if err := b.conn.QueryRow(ctx, `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'rowguard' AND p.proname LIKE 'rg\_fn\_staff\_passed\_%'`).Scan(&fnHelper); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		role, sql, want string
	}{
		// Student 1 is the tutor's, student 3 is not: the helper says nothing of it.
		{"tutor", fmt.Sprintf("SELECT coalesce(rowguard.%q(1)::text, 'null') || ',' || coalesce(rowguard.%q(3)::text, 'null')", helper, helper), "240,null"},
		{"tutor", "SELECT marks FROM student", "error"},
		{"staff", fmt.Sprintf("SELECT string_agg(name, ',' ORDER BY id) FROM rowguard.%q(0)", fnHelper), "blake,leonel"},
		{"staff", fmt.Sprintf("SELECT gpa FROM rowguard.%q(0)", fnHelper), "error"},
		// Another role may not execute the tutor's helper.
		{"staff", fmt.Sprintf("SELECT rowguard.%q(1)", helper), "error"},
	} {
		tx, err := b.conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('hasura.x_hasura_user_id', '1', true)"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+role(c.role)); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := tx.QueryRow(ctx, c.sql).Scan(&got); err != nil {
			got = "error"
			if c.want != "error" {
				t.Errorf("%s as %s: %v", c.sql, c.role, err)
			}
		}
		if got != c.want {
			t.Errorf("%s as %s: got %s, want %s", c.sql, c.role, got, c.want)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHelpersDoNotPinTables: the helpers return TABLE (…) and take
// plain types, so dropping the functions and then the tables needs no
// CASCADE, as Hasura's teardowns do.
func TestHelpersDoNotPinTables(t *testing.T) {
	b := newFn(t)
	ctx := context.Background()
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, sql := range []string{
		"DROP FUNCTION student_total, student_offset, passed, bump, author_articles, author_latest, best_student",
		"DROP TABLE student",
		"DROP TABLE article",
		"DROP TABLE author",
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
}

func TestComputedFieldInMutationReturning(t *testing.T) {
	b := newFn(t)
	runSteps(t, b, []step{
		{
			name:    "admin: a computed field of a returned row sees the new row",
			query:   `mutation { update_student_by_pk(pk_columns: {id: 2}, _set: {marks: 200}) { name total } }`,
			headers: []string{"X-Hasura-Role: admin"},
			want:    `{"data":{"update_student_by_pk":{"name":"george","total":210}}}`,
		},
	})
}
