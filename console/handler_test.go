package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/console"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/metadataapi"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/rls"
)

const apiSecret = "console-api-secret"

// TestMetadataAPIMode serves the console as `rowguard serve --console
// --metadata-api-database-url` does: the page applies through
// /v1/metadata, and the console reads back what was installed, lists it
// in the history, and runs statements as the new role.
func TestMetadataAPIMode(t *testing.T) {
	prefix := pgtest.UniqueName("rgca") + "_"
	definer := pgtest.UniqueName("rgca_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	dbURL := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE book (id int PRIMARY KEY, genre text NOT NULL);
INSERT INTO book VALUES (1, 'fiction'), (2, 'science'), (3, 'fiction')`); err != nil {
		t.Fatal(err)
	}
	copts, ropts := compiler.Options{RolePrefix: prefix}, rls.Options{DefinerRole: definer}
	prog, err := metadataapi.Program(ctx, pool, copts)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{AdminSecret: apiSecret})
	if err != nil {
		t.Fatal(err)
	}
	gql, err := graphql.NewServer(ctx, graphql.Config{Pool: pool, Program: prog, Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	api, err := metadataapi.New(ctx, metadataapi.Config{Server: gql, Pool: pool, Auth: authn, Compile: copts, RLS: ropts})
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{Server: gql, Pool: pool, Auth: authn, Store: console.InstalledStore{Querier: pool},
		MetadataAPI: true, Compile: copts, RLS: ropts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Mount(api))
	t.Cleanup(srv.Close)
	call := func(method, path, body, secret string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" {
			req.Header.Set("x-hasura-admin-secret", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}

	// The page is public; the API is not.
	if code, body := call("GET", "/console/", "", ""); code != 200 || !strings.Contains(body, "rowguard console") {
		t.Fatalf("GET /console/: %d %.200s", code, body)
	}
	for _, secret := range []string{"", "wrong"} {
		if code, body := call("GET", "/console/api/metadata", "", secret); code != http.StatusUnauthorized || !strings.Contains(body, "admin secret") {
			t.Errorf("metadata with secret %q: %d %s", secret, code, body)
		}
	}
	if code, body := call("GET", "/console/api/info", "", apiSecret); code != 200 || !strings.Contains(body, `"metadata_api":true`) {
		t.Errorf("info: %d %s", code, body)
	}

	// Apply as the page does, through the metadata API.
	doc := `{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[{"table":{"schema":"public","name":"book"},
"select_permissions":[{"role":"reader","permission":{"columns":["id","genre"],"filter":{"genre":{"_eq":"fiction"}}}}]}]}]}`
	if code, body := call("POST", "/v1/metadata", `{"type":"replace_metadata","args":`+doc+`}`, apiSecret); code != 200 {
		t.Fatalf("replace_metadata: %d %s", code, body)
	}
	code, body := call("GET", "/console/api/metadata", "", apiSecret)
	if code != 200 || !strings.Contains(body, `"fiction"`) || !strings.Contains(body, `"reader"`) {
		t.Fatalf("metadata after apply: %d %s", code, body)
	}
	code, body = call("GET", "/console/api/history", "", apiSecret)
	var hist []console.HistoryEntry
	if code != 200 || json.Unmarshal([]byte(body), &hist) != nil || len(hist) < 2 {
		t.Fatalf("history: %d %s", code, body)
	}
	// The previous install is the undo: it has no reader.
	code, body = call("GET", "/console/api/history/"+jsonInt(hist[len(hist)-1].Version), "", apiSecret)
	if code != 200 || strings.Contains(body, "reader") {
		t.Errorf("first install: %d %s", code, body)
	}
	if code, body := call("GET", "/console/api/history/999999", "", apiSecret); code != 404 || !strings.Contains(body, "999999") {
		t.Errorf("unknown version: %d %s", code, body)
	}

	// Run as the role: the statement sees what the policy lets through.
	code, body = call("POST", "/console/api/run", `{"sql":"SELECT id, genre FROM book WHERE id > $1 ORDER BY id","params":[0],"role":"reader","vars":{"x-hasura-user-id":"7"}}`, apiSecret)
	var run console.RunResult
	if code != 200 || json.Unmarshal([]byte(body), &run) != nil {
		t.Fatalf("run: %d %s", code, body)
	}
	if got := len(run.Rows); got != 2 || run.Rows[0][1] != "fiction" || run.Rows[1][0] != "3" {
		t.Errorf("run as reader: %+v", run)
	}
	if !strings.Contains(run.Transcript, `SET LOCAL ROLE "`+prefix+`reader"`) || !strings.Contains(run.Transcript, "set_config('hasura.x_hasura_user_id', '7', true)") {
		t.Errorf("transcript:\n%s", run.Transcript)
	}
	// Read-only: a write is refused by PostgreSQL, and nothing stays.
	code, body = call("POST", "/console/api/run", `{"sql":"DELETE FROM book","role":"reader"}`, apiSecret)
	if code != 200 || !strings.Contains(body, "read-only transaction") {
		t.Errorf("write as reader: %d %s", code, body)
	}
	for _, role := range []string{"admin", "nobody", ""} {
		if code, body := call("POST", "/console/api/run", `{"sql":"SELECT 1","role":"`+role+`"}`, apiSecret); code != 400 {
			t.Errorf("run as %q: %d %s", role, code, body)
		}
	}
	// The editor's compile: the SQL for reader on book.
	req := map[string]any{"metadata": json.RawMessage(doc), "table": "public.book", "role": "reader"}
	b, _ := json.Marshal(req)
	code, body = call("POST", "/console/api/compile", string(b), apiSecret)
	if code != 200 || !strings.Contains(body, "rg_book_select_reader") || !strings.Contains(body, "fiction") {
		t.Errorf("compile: %d %s", code, body)
	}
	// Apply is the metadata API's job here.
	if code, body := call("POST", "/console/api/apply", `{"metadata":`+doc+`}`, apiSecret); code != http.StatusConflict {
		t.Errorf("apply on an installed store: %d %s", code, body)
	}
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
