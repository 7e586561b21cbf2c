package security

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHugeNestingIsAParseError: 1.5 million '[' as the body, and as a
// GraphQL argument inside a well-formed body, are refused as malformed
// input, quickly, and the server answers the next request.
func TestHugeNestingIsAParseError(t *testing.T) {
	s := newSuite(t, 2, nil)
	brackets := strings.Repeat("[", 1_500_000)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"as the JSON body", brackets, http.StatusOK, "invalid-json"}, // /v1/graphql answers errors with 200, as Hasura
		{"as a GraphQL argument", `{"query": "{ note(where: ` + brackets + `) { id } }"}`, http.StatusOK, "validation-failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.srv.URL+"/v1/graphql", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token(t, 1))
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatalf("the server did not answer: %v", err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(out), `"code":"`+tc.code+`"`) {
				t.Errorf("status %d, body %.300s; want status %d and code %s", resp.StatusCode, out, tc.status, tc.code)
			}
			if len(out) > 1000 {
				t.Errorf("the error echoes the input: %d bytes", len(out))
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if r := s.mustPost(t, `{ note { id } }`, bearer(token(t, 1))); len(r.Errors) != 0 {
		t.Fatalf("the server is not answering after the attack: %+v", r.Errors)
	}
}

// TestErrorsNameNothingHidden: a misspelled field never draws a
// suggestion of a field, type or root field the role cannot see, and a
// database error reaches a non-admin caller without SQL text.
func TestErrorsNameNothingHidden(t *testing.T) {
	s := newSuite(t, 2, nil)
	user := bearer(token(t, 1))
	tests := []struct {
		name, query string
		headers     []string
		hidden      []string // words the error must not contain
	}{
		// anon reads only note.id and nothing of account.
		{"a column one letter off", `{ note { secre } }`, nil, []string{"secret"}},
		{"a column with a typo", `{ note { bdy } }`, nil, []string{"body"}},
		{"a relationship one letter off", `{ note { id ownr { id } } }`, nil, []string{"owner"}},
		{"a root field one letter off", `{ accoun { id } }`, nil, []string{"account"}},
		{"an aggregate one letter off", `{ note_agregate { aggregate { count } } }`, nil, []string{"note_aggregate"}},
		{"a where field one letter off", `{ note(where: {secre: {_eq: "x"}}) { id } }`, nil, []string{"secret"}},
		{"an order_by field one letter off", `{ note(order_by: {slg: asc}) { id } }`, nil, []string{"slug"}},
		{"a mutation without mutations", `mutation { insert_not(objects: []) { affected_rows } }`, nil, []string{"insert_note"}},
		// user has no update or delete permission.
		{"an update root field", `mutation { update_not(where: {}) { affected_rows } }`, []string{user}, []string{"update_note"}},
		{"a delete root field", `mutation { delete_nte(where: {}) { affected_rows } }`, []string{user}, []string{"delete_note"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.mustPost(t, tc.query, tc.headers...)
			if len(r.Errors) != 1 {
				t.Fatalf("want one error, got data %s errors %+v", r.Data, r.Errors)
			}
			msg := r.Errors[0].Message
			for _, h := range tc.hidden {
				if strings.Contains(msg, h) {
					t.Errorf("the error names %q: %s", h, msg)
				}
			}
			if strings.Contains(strings.ToLower(msg), "did you mean") {
				t.Errorf("the error suggests: %s", msg)
			}
		})
	}
	// Errors PostgreSQL raises while running the statement.
	for _, q := range []string{
		`{ note(where: {secret: {_regex: "("}}) { id } }`,
		`{ note(where: {body: {_similar: "(("}}) { id } }`,
		`mutation { insert_note_one(object: {owner_id: 1, body: "b", secret: "s", slug: "slug-1-1"}) { id } }`,
	} {
		r := s.mustPost(t, q, user)
		if len(r.Errors) != 1 {
			t.Fatalf("%s: want one error, got data %s errors %+v", q, r.Data, r.Errors)
		}
		msg := r.Errors[0].Message
		for _, sql := range []string{"SELECT", "select ", "json_build", "WHERE", "FROM \"", "_t1", "rowguard.", "hasura.x_"} {
			if strings.Contains(msg, sql) {
				t.Errorf("%s: the error shows SQL (%q): %s", q, sql, msg)
			}
		}
		t.Logf("%s → %s: %s", q, r.Errors[0].Extensions.Code, msg)
	}
}
