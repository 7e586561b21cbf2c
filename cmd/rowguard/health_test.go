package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// getHealth returns /healthz's status, body and policy version header.
func getHealth(t *testing.T, base, query string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("X-Rowguard-Policy-Version")
}

// TestServeHealth: /healthz answers as Hasura's, names the served policy
// version, and reports (strict: fails on) a database whose policies moved
// on or whose last install failed.
func TestServeHealth(t *testing.T) {
	super, db, prefix := blogDatabaseWithLogin(t)
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret", "--unauthorized-role", "anonymous")
	base := strings.TrimSuffix(url, "/v1/graphql")
	conn := pgtest.Connect(t, super)
	ctx := context.Background()
	var version string
	if err := conn.QueryRow(ctx, `SELECT version::text FROM rowguard.policy_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}

	if status, body, got := getHealth(t, base, ""); status != 200 || body != "OK" || got != version {
		t.Errorf("healthy: %d %q version %q, want 200 OK version %s", status, body, got, version)
	}
	if status, body, _ := getHealth(t, base, "?strict=true"); status != 200 || body != "OK" {
		t.Errorf("healthy, strict: %d %q", status, body)
	}

	if _, err := conn.Exec(ctx, `UPDATE rowguard.policy_migrations SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	status, body, got := getHealth(t, base, "")
	if status != 200 || !strings.HasPrefix(body, "WARN: inconsistent objects in schema\n") || !strings.Contains(body, "this server's schema was built from "+version) || got != version {
		t.Errorf("newer policies: %d %q version %q", status, body, got)
	}
	if status, body, _ := getHealth(t, base, "?strict=true"); status != 500 || !strings.HasPrefix(body, "ERROR: inconsistent objects in schema\n") {
		t.Errorf("newer policies, strict: %d %q", status, body)
	}

	if _, err := conn.Exec(ctx, `UPDATE rowguard.policy_migrations SET version = version - 1, dirty = true`); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := getHealth(t, base, "?strict=true"); status != 500 || !strings.Contains(body, "is dirty") {
		t.Errorf("dirty: %d %q", status, body)
	}
}
