package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeConsole: `serve --console` serves the page to anyone and its
// API to admin only; over policies installed from a metadata directory
// the console reads that directory's metadata and says it cannot apply
// (no metadata API); without --console there is no /console.
func TestServeConsole(t *testing.T) {
	_, login, prefix := blogDatabaseWithLogin(t)
	gql := startServe(t, "--database-url", login, "--role-prefix", prefix, "--admin-secret", "s3cret", "--console")
	base := strings.TrimSuffix(gql, "/v1/graphql")
	get := func(path, secret string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if secret != "" {
			req.Header.Set("x-hasura-admin-secret", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/console/", ""); code != 200 || !strings.Contains(body, "rowguard console") {
		t.Errorf("GET /console/: %d %.200s", code, body)
	}
	if code, _ := get("/console/api/metadata", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("metadata with a wrong secret: %d", code)
	}
	if code, body := get("/console/api/metadata", "s3cret"); code != 200 || !strings.Contains(body, `"published"`) || !strings.Contains(body, `"org_viewer"`) {
		t.Errorf("metadata: %d %.300s", code, body)
	}
	if code, body := get("/console/api/info", "s3cret"); code != 200 || !strings.Contains(body, `"writable":false`) {
		t.Errorf("info: %d %s", code, body)
	}
	if code, body := get("/v1/version", ""); code != 200 {
		t.Errorf("the rest is still served: %d %s", code, body)
	}

	gql = startServe(t, "--database-url", login, "--role-prefix", prefix, "--admin-secret", "s3cret")
	base = strings.TrimSuffix(gql, "/v1/graphql")
	if code, _ := get("/console/", ""); code != http.StatusNotFound {
		t.Errorf("without --console: GET /console/ is %d", code)
	}
}
