package metadataapi_test

import (
	"strings"
	"testing"
)

// TestTrackFunction: track_function publishes the function's root fields
// at once, untrack_function removes them, and a VOLATILE function cannot
// be tracked as a query.
func TestTrackFunction(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	a.mustPost(t, "/v2/query", `{"type":"run_sql","args":{"sql":"CREATE FUNCTION search_articles(search text) RETURNS SETOF article AS $$ SELECT * FROM article WHERE title LIKE search || '%' $$ LANGUAGE sql STABLE; CREATE FUNCTION bump() RETURNS SETOF article AS $$ UPDATE article SET title = title || '!' RETURNING * $$ LANGUAGE sql VOLATILE;"}}`)
	query := `{"query":"{ search_articles(args: {search: \"a\"}, order_by: {id: asc}) { title } }"}`
	anonymous := "X-Hasura-Role: anonymous"
	if _, out := a.post(t, "/v1/graphql", query, anonymous); !strings.Contains(out, "not found in type: 'query_root'") {
		t.Fatalf("before track_function: %s", out)
	}
	a.mustPost(t, "/v1/query", `{"type":"track_function","args":{"schema":"public","name":"search_articles"}}`)
	// The anonymous role's filter (published) applies to the function's rows.
	if _, out := a.post(t, "/v1/graphql", query, anonymous); out != `{"data":{"search_articles":[{"title":"a1"}]}}` {
		t.Errorf("after track_function: %s", out)
	}
	status, out := a.post(t, "/v1/metadata", `{"type":"pg_track_function","args":{"function":{"schema":"public","name":"bump"},"configuration":{"exposed_as":"query"}}}`)
	if status != 400 || !strings.Contains(out, "VOLATILE") || !strings.Contains(out, `"invalid-configuration"`) {
		t.Errorf("tracking a VOLATILE function as a query: status %d %s", status, out)
	}
	a.mustPost(t, "/v1/query", `{"type":"untrack_function","args":{"schema":"public","name":"search_articles"}}`)
	if _, out := a.post(t, "/v1/graphql", query, anonymous); !strings.Contains(out, "not found in type: 'query_root'") {
		t.Errorf("after untrack_function: %s", out)
	}
}
