package graphql_test

import (
	"io"
	"net/http"
	"testing"
)

// TestHealthDatabaseDown: /healthz answers 500 ERROR once the server's
// pool cannot reach the database, and still names the served policy
// version header (empty here: the test database has no
// rowguard.policy_migrations).
func TestHealthDatabaseDown(t *testing.T) {
	b := newBlog(t)
	get := func() (int, string, []string) {
		resp, err := http.Get(b.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header.Values("X-Rowguard-Policy-Version")
	}
	if status, body, v := get(); status != 200 || body != "OK" || len(v) != 1 {
		t.Fatalf("up: %d %q %v", status, body, v)
	}
	b.pool.Close()
	if status, body, _ := get(); status != 500 || body != "ERROR" {
		t.Errorf("database unreachable: %d %q, want 500 ERROR", status, body)
	}
}
