package graphql_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/policies"
)

// explainPlan is one entry of the explain API's answer.
type explainPlan struct {
	Field    string   `json:"field"`
	SQL      *string  `json:"sql"`
	Plan     []string `json:"plan"`
	Params   []string `json:"params"`
	Policies []struct {
		Table, Name, Command, Permissive, Using string
	} `json:"policies"`
}

// explainBody renders the explain API's request body: the query, and the
// user object when user is not empty.
func explainBody(query string, user map[string]string) string {
	body := map[string]any{"query": map[string]any{"query": query}}
	if user != nil {
		body["user"] = user
	}
	out, _ := json.Marshal(body)
	return string(out)
}

// explain posts body to url's /v1/graphql/explain (with the URL query
// params, e.g. "?analyze=true") and returns the status and the body.
func explain(t *testing.T, url, params, body string, headers ...string) (int, string) {
	t.Helper()
	return postJSON(t, url+graphql.ExplainPath+params, body, headers...)
}

// explainOK is explain, failing unless it answers 200 with entries.
func explainOK(t *testing.T, url, params, body string) []explainPlan {
	t.Helper()
	status, out := explain(t, url, params, body)
	if status != http.StatusOK {
		t.Fatalf("explain %s: status %d: %s", body, status, out)
	}
	var plans []explainPlan
	if err := json.Unmarshal([]byte(out), &plans); err != nil {
		t.Fatalf("explain answer %s: %v", out, err)
	}
	return plans
}

// filterLines returns the plan's Filter lines.
func filterLines(plan []string) []string {
	var out []string
	for _, l := range plan {
		if strings.HasPrefix(strings.TrimSpace(l), "Filter:") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// TestExplainSubscription: a subscription is explained as current Hasura
// does (one object, no field): the statement each refetch of its cohort
// runs, as the role, so the policy's filter is in the plan.
func TestExplainSubscription(t *testing.T) {
	b := newBlog(t)
	user := map[string]string{"x-hasura-role": "user", "X-Hasura-User-Id": "1"}
	status, out := explain(t, b.srv.URL, "", explainBody(`subscription s { article(order_by: {id: asc}) { id title } }`, user))
	if status != http.StatusOK {
		t.Fatalf("explain a subscription: status %d: %s", status, out)
	}
	var ep explainPlan
	if err := json.Unmarshal([]byte(out), &ep); err != nil {
		t.Fatalf("want one object as Hasura answers a subscription, got %s: %v", out, err)
	}
	if strings.Contains(out, `"field"`) || ep.SQL == nil || !strings.Contains(*ep.SQL, "article") {
		t.Fatalf("want sql of the article statement and no field, got %s", out)
	}
	if filters := strings.Join(filterLines(ep.Plan), "\n"); !strings.Contains(filters, "user_id = ") {
		t.Errorf("explained as user, the plan's Filter lacks the policy's user_id:\n%s", strings.Join(ep.Plan, "\n"))
	}
	if len(ep.Policies) == 0 {
		t.Errorf("want the article policy listed, got none: %s", out)
	}
	// A stream subscription: the statement at its initial cursor.
	status, out = explain(t, b.srv.URL, "", explainBody(`subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 0}}) { id } }`, user))
	if status != http.StatusOK || !strings.Contains(out, `"plan":[`) {
		t.Fatalf("explain a stream subscription: status %d: %s", status, out)
	}
}

func TestExplainAsRole(t *testing.T) {
	b := newBlog(t)
	aliceUser := map[string]string{"x-hasura-role": "user", "X-Hasura-User-Id": "1"}
	const q = `query { recent: article(where: {id: {_gt: 0}}, order_by: {id: asc}) { id title } __typename authors: author { name } }`

	plans := explainOK(t, b.srv.URL, "", explainBody(q, aliceUser))
	if len(plans) != 3 || plans[0].Field != "recent" || plans[1].Field != "__typename" || plans[2].Field != "authors" {
		t.Fatalf("want entries recent, __typename, authors (Hasura's root field aliases, in order), got %+v", plans)
	}
	if plans[1].SQL != nil || plans[1].Plan != nil {
		t.Errorf("__typename needs no statement: want sql and plan null, got %+v", plans[1])
	}
	article := plans[0]
	// The policy's filter: user_id, published, creator_id and the
	// organization set, each read from an InitPlan of the role's settings.
	filters := strings.Join(filterLines(article.Plan), "\n")
	for _, want := range []string{"user_id = ", "published", "creator_id = ", "organization_id = ANY"} {
		if !strings.Contains(filters, want) {
			t.Errorf("explained as user, the plan's Filter lacks the policy's %q:\n%s", want, strings.Join(article.Plan, "\n"))
		}
	}
	var names []string
	for _, p := range article.Policies {
		names = append(names, p.Table+" "+p.Name+" "+p.Command)
		if p.Name == "rg_article_select_user" && !strings.Contains(p.Using, "current_setting('hasura.x_hasura_user_id'") {
			t.Errorf("policy %s: USING should read the user id setting, got %s", p.Name, p.Using)
		}
	}
	if got, want := strings.Join(names, "; "), "public.article rg_article_select_user SELECT"; got != want {
		t.Errorf("policies of the article entry:\n got  %s\n want %s", got, want)
	}
	if len(plans[2].Policies) != 1 || plans[2].Policies[0].Name != "rg_author_select_user" || plans[2].Policies[0].Using != "true" {
		t.Errorf("policies of the authors entry: want rg_author_select_user USING true, got %+v", plans[2].Policies)
	}
	if len(article.Params) != 1 || article.Params[0] != "0" || !strings.Contains(*article.SQL, "$1::integer") {
		t.Errorf("the where's value is bound as $1: sql %s, params %q", *article.SQL, article.Params)
	}

	// The entry's SQL, run with its params as the role with the request's
	// settings (what psql would run), answers what /v1/graphql answers.
	ctx := context.Background()
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('hasura.x_hasura_user_id', '1', true)", b.gql.PGRole("user")); err != nil {
		t.Fatal(err)
	}
	args := make([]any, len(article.Params))
	for i, p := range article.Params {
		args[i] = p
	}
	var rows string
	if err := tx.QueryRow(ctx, *article.SQL, args...).Scan(&rows); err != nil {
		t.Fatalf("run the explained SQL: %v", err)
	}
	tx.Rollback(ctx)
	var fromSQL any
	if err := json.Unmarshal([]byte(rows), &fromSQL); err != nil {
		t.Fatal(err)
	}
	var fromAPI struct{ Data map[string]any }
	if err := json.Unmarshal([]byte(b.query(t, q, "", user, alice)), &fromAPI); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(fromSQL)
	want, _ := json.Marshal(fromAPI.Data["recent"])
	if string(got) != string(want) {
		t.Errorf("the explained SQL as the role answers\n %s\nthe API answers\n %s", got, want)
	}

	// As admin (no user object), the same query has no policy filter and
	// no policy applies.
	admin := explainOK(t, b.srv.URL, "", explainBody(q, nil))
	if f := strings.Join(filterLines(admin[0].Plan), "\n"); f != "Filter: (id > 0)" {
		t.Errorf("explained as admin, want the request's where as the only filter, got %q:\n%s", f, strings.Join(admin[0].Plan, "\n"))
	}
	if len(admin[0].Policies) != 0 {
		t.Errorf("explained as admin, policies %+v applied", admin[0].Policies)
	}

	// VERBOSE prints what each InitPlan computes: the settings' reads.
	verbose := explainOK(t, b.srv.URL, "?verbose=true", explainBody(q, aliceUser))
	if text := strings.Join(verbose[0].Plan, "\n"); !strings.Contains(text, "current_setting('hasura.x_hasura_user_id'::text, true)") {
		t.Errorf("?verbose=true: the plan should show the user id setting read:\n%s", text)
	}
}

func TestExplainAnalyze(t *testing.T) {
	b := newBlog(t)
	body := explainBody(`{ article { id } }`, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"})
	plans := explainOK(t, b.srv.URL, "?analyze=true", body)
	text := strings.Join(plans[0].Plan, "\n")
	for _, want := range []string{"actual time=", "Buffers: shared", "Execution Time:", "Filter: "} {
		if !strings.Contains(text, want) {
			t.Errorf("?analyze=true: the plan lacks %q:\n%s", want, text)
		}
	}
	// Without analyze, nothing runs.
	if text := strings.Join(explainOK(t, b.srv.URL, "", body)[0].Plan, "\n"); strings.Contains(text, "actual time=") {
		t.Errorf("without analyze the statement ran:\n%s", text)
	}
	if status, out := explain(t, b.srv.URL, "?analyze=yes", body); status != http.StatusBadRequest || !strings.Contains(out, `"code":"bad-request"`) {
		t.Errorf("?analyze=yes: want 400 bad-request, got %d %s", status, out)
	}

	// Every connection of the pool comes back as the login role with no
	// hasura.* setting.
	ctx := context.Background()
	var login string
	if err := b.conn.QueryRow(ctx, "SELECT current_user").Scan(&login); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		explainOK(t, b.srv.URL, "?analyze=true", body)
	}
	// Hold both connections (the pool has 2), so each is checked.
	for i := 0; i < 2; i++ {
		c, err := b.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		var role, uid string
		if err := c.QueryRow(ctx, "SELECT current_user, coalesce(current_setting('hasura.x_hasura_user_id', true), '')").Scan(&role, &uid); err != nil {
			t.Fatal(err)
		}
		if role != login || uid != "" {
			t.Errorf("pooled connection %d after explain: role %q (want %q), user id setting %q (want empty)", i, role, login, uid)
		}
	}
}

// logSchema: logged_notes is STABLE but calls log_read, a VOLATILE
// function that writes (PostgreSQL lets a STABLE PL/pgSQL function call
// one), so a query of it tries to write.
const logSchema = `
CREATE TABLE note (id serial PRIMARY KEY, owner_id int NOT NULL, body text NOT NULL);
CREATE TABLE read_log (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
INSERT INTO note (owner_id, body) VALUES (1, 'one'), (2, 'two');
CREATE FUNCTION log_read() RETURNS void LANGUAGE plpgsql VOLATILE AS $$ BEGIN INSERT INTO read_log DEFAULT VALUES; END $$;
CREATE FUNCTION logged_notes() RETURNS SETOF note LANGUAGE plpgsql STABLE AS $$ BEGIN PERFORM log_read(); RETURN QUERY SELECT * FROM note; END $$;
GRANT INSERT ON read_log TO PUBLIC;
GRANT USAGE ON SEQUENCE read_log_id_seq TO PUBLIC;
`

const logMetadata = `
version: 3
sources:
- name: default
  kind: postgres
  tables:
  - table: {schema: public, name: note}
    select_permissions:
    - role: user
      permission: {columns: [id, body], filter: {owner_id: {_eq: X-Hasura-User-Id}}}
  functions:
  - function: {schema: public, name: logged_notes}
`

func TestExplainAnalyzeCannotWrite(t *testing.T) {
	md, err := policies.Parse("metadata.yaml", []byte(logMetadata))
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{logSchema}, md)
	body := explainBody(`{ logged_notes { id } }`, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"})

	// Planning does not call the function (the role calls it through
	// its per-role wrapper, rg_fn_…).
	if plans := explainOK(t, b.srv.URL, "", body); !strings.Contains(strings.Join(plans[0].Plan, "\n"), "Function Scan on rg_fn_user_logged_notes") {
		t.Errorf("want a Function Scan of logged_notes' wrapper, got\n%s", strings.Join(plans[0].Plan, "\n"))
	}
	status, out := explain(t, b.srv.URL, "?analyze=true", body)
	if status != http.StatusBadRequest || !strings.Contains(out, "cannot execute INSERT in a read-only transaction") {
		t.Errorf("?analyze=true of a query that writes: want 400 with PostgreSQL's read-only refusal, got %d %s", status, out)
	}
	ctx := context.Background()
	count := func() int {
		var n int
		if err := b.conn.QueryRow(ctx, "SELECT count(*) FROM read_log").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Errorf("after explain, read_log has %d rows, want 0", n)
	}
	// The function does write where a transaction lets it: the 0 above
	// is the READ ONLY transaction's doing.
	if _, err := b.conn.Exec(ctx, "SELECT count(*) FROM logged_notes()"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("a read-write call of logged_notes: read_log has %d rows, want 1", n)
	}
}

func TestExplainRefusals(t *testing.T) {
	b := newBlog(t)
	userBody := func(q string) string {
		return explainBody(q, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"})
	}
	cases := []struct {
		name   string
		params string
		body   string
		status int
		want   string
	}{
		{
			name:   "a mutation",
			body:   userBody(`mutation { delete_article(where: {id: {_eq: 1}}) { affected_rows } }`),
			status: 400,
			want:   `{"path":"$","error":"only queries can be explained","code":"invalid-params"}`,
		},
		{
			name:   "a mutation the role's schema lacks is refused as a mutation first, as Hasura does",
			body:   explainBody(`mutation { delete_tag(where: {}) { affected_rows } }`, map[string]string{"x-hasura-role": "anonymous"}),
			status: 400,
			want:   `{"path":"$","error":"only queries can be explained","code":"invalid-params"}`,
		},
		{
			name:   "a named mutation among queries",
			body:   `{"query":{"query":"query q { tag { id } } mutation m { delete_tag(where: {}) { affected_rows } }","operationName":"m"}}`,
			status: 400,
			want:   `{"path":"$","error":"only queries can be explained","code":"invalid-params"}`,
		},
		{
			name:   "a field the role cannot see, at its GraphQL path",
			body:   userBody(`{ article { id author { secret } } }`),
			status: 400,
			want:   `{"path":"$.selectionSet.article.selectionSet.author.selectionSet.secret","error":"field 'secret' not found in type: 'author'","code":"validation-failed"}`,
		},
		{
			name:   "a session variable the policy reads is missing",
			body:   explainBody(`{ article { id } }`, map[string]string{"x-hasura-role": "user"}),
			status: 400,
			want:   `{"path":"$","error":"missing session variable: \"x-hasura-user-id\"","code":"not-found"}`,
		},
		{
			name:   "a session variable that is not a string",
			body:   `{"query":{"query":"{ tag { id } }"},"user":{"x-hasura-role":"user","x-hasura-user-id":1}}`,
			status: 400,
			want:   `{"path":"$.user.x-hasura-user-id","error":"expected a string for session variable x-hasura-user-id","code":"parse-failed"}`,
		},
		{
			name:   "no query",
			body:   `{"user":{"x-hasura-role":"user"}}`,
			status: 400,
			want:   `{"path":"$","error":"key \"query\" not found","code":"parse-failed"}`,
		},
		{
			name:   "not JSON",
			body:   `{"query":`,
			status: 400,
			want:   `{"path":"$","error":"unexpected EOF","code":"invalid-json"}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := explain(t, b.srv.URL, c.params, c.body)
			if status != c.status || out != c.want {
				t.Errorf("(-want +got):\n- %d %s\n+ %d %s", c.status, c.want, status, out)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+graphql.ExplainPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: want 405, got %d", resp.StatusCode)
	}
}

func TestExplainNeedsAdminSecret(t *testing.T) {
	b := newBlog(t)
	authn, err := auth.New(auth.Config{AdminSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authn.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gql, err := graphql.NewServer(ctx, graphql.Config{Pool: b.pool, Program: b.prog, Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gql)
	t.Cleanup(srv.Close)
	body := explainBody(`{ article { id } }`, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "1"})
	cases := []struct {
		name    string
		headers []string
		status  int
		want    string
	}{
		{"no admin secret", nil, 401, `{"path":"$","error":"x-hasura-admin-secret/x-hasura-access-key required, but not found","code":"access-denied"}`},
		{"a wrong admin secret", []string{"X-Hasura-Admin-Secret: nope"}, 401, `{"path":"$","error":"invalid x-hasura-admin-secret/x-hasura-access-key","code":"access-denied"}`},
		{"the admin secret with a role other than admin", []string{"X-Hasura-Admin-Secret: s3cret", "X-Hasura-Role: user"}, 400, `{"path":"$","error":"You have to be an admin to access this endpoint","code":"access-denied"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := explain(t, srv.URL, "", body, c.headers...)
			if status != c.status || out != c.want {
				t.Errorf("(-want +got):\n- %d %s\n+ %d %s", c.status, c.want, status, out)
			}
		})
	}
	status, out := explain(t, srv.URL, "", body, "X-Hasura-Admin-Secret: s3cret")
	if status != http.StatusOK || !strings.Contains(out, `"field":"article"`) {
		t.Errorf("with the admin secret: want 200 and the article entry, got %d %s", status, out)
	}
}
