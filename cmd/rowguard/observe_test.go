package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServeLogs is startServe keeping everything serve writes to stdout.
func startServeLogs(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...), pw)
		pw.CloseWithError(err)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	out := &syncBuffer{}
	lines := bufio.NewScanner(pr)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		line := lines.Text()
		out.Write([]byte(line + "\n"))
		if rest, ok := strings.CutPrefix(line, "serving GraphQL on "); ok {
			go io.Copy(out, pr)
			return strings.Fields(rest)[0], out
		}
	}
	t.Fatalf("serve did not start: %v", lines.Err())
	return "", nil
}

// logLines decodes every JSON line of out of type typ.
func logLines(t *testing.T, out string, typ string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if m["type"] == typ {
			got = append(got, m)
		}
	}
	return got
}

// dig follows keys into nested objects.
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// byRequestID returns the http-log line of request id.
func byRequestID(lines []map[string]any, id string) map[string]any {
	for _, l := range lines {
		if dig(l, "detail", "request_id") == id {
			return l
		}
	}
	return nil
}

// TestServeLogs: rowguard serve writes Hasura-shaped JSON logs on stdout,
// each request has an x-request-id (the client's, or a new one) echoed in
// the response and in its lines, and no log holds the admin secret, the
// token or a session variable's value.
func TestServeLogs(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	const key = "0123456789abcdef0123456789abcdef"
	const secret = "s3cret-admin-9f2c"
	const userID = "424242"
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer hook.Close()
	t.Setenv("HASURA_GRAPHQL_ENABLED_LOG_TYPES", "startup, http-log, query-log, websocket-log, webhook-log")
	t.Setenv("HASURA_GRAPHQL_LOG_LEVEL", "info")
	url, logs := startServeLogs(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", secret,
		"--unauthorized-role", "anonymous", "--jwt-secret", `{"type":"HS256","key":"`+key+`"}`)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, userClaims(userID, time.Now().Add(time.Hour))).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	send := func(query, requestID string, headers ...string) *http.Response {
		body, _ := json.Marshal(map[string]string{"query": query})
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if got := send(articlesQuery, "req-user-1", "Authorization", "Bearer "+token).Header.Get("X-Request-Id"); got != "req-user-1" {
		t.Errorf("x-request-id echoed %q, want the client's", got)
	}
	send(`{ article { nope } }`, "req-bad-1", "Authorization", "Bearer "+token)
	send(articlesQuery, "req-admin-1", "X-Hasura-Admin-Secret", secret)
	send(articlesQuery, "req-denied-1", "Authorization", "Bearer not-a-token")
	made := send(articlesQuery, "").Header.Get("X-Request-Id")
	if len(made) != 36 {
		t.Errorf("a request without x-request-id got %q, want a new UUID", made)
	}

	// The lines are written when each handler returns, before its
	// response is read whole; wait for the last one.
	deadline := time.Now().Add(10 * time.Second)
	for byRequestID(logLines(t, logs.String(), "http-log"), made) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	for _, leak := range []string{secret, token, key, userID} {
		if strings.Contains(out, leak) {
			t.Errorf("the logs hold %q:\n%s", leak, out)
		}
	}

	startup := logLines(t, out, "startup")
	if len(startup) != 1 || dig(startup[0], "detail", "kind") != "server_configuration" || dig(startup[0], "detail", "info", "admin_secret_set") != true {
		t.Errorf("startup lines: %v", startup)
	}
	http := logLines(t, out, "http-log")
	user := byRequestID(http, "req-user-1")
	if user == nil {
		t.Fatalf("no http-log line of req-user-1:\n%s", out)
	}
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"level"}, "info"},
		{[]string{"detail", "operation", "request_id"}, "req-user-1"},
		{[]string{"detail", "operation", "user_vars", "x-hasura-role"}, "user"},
		{[]string{"detail", "operation", "user_vars", "x-hasura-user-id"}, "<redacted>"},
		{[]string{"detail", "operation", "query", "query"}, articlesQuery},
		{[]string{"detail", "http_info", "status"}, float64(200)},
		{[]string{"detail", "http_info", "method"}, "POST"},
		{[]string{"detail", "http_info", "url"}, "/v1/graphql"},
		{[]string{"detail", "http_info", "ip"}, "127.0.0.1"},
		{[]string{"detail", "http_info", "http_version"}, "HTTP/1.1"},
		{[]string{"detail", "operation", "statements"}, float64(1)},
	} {
		if got := dig(user, c.keys...); got != c.want {
			t.Errorf("http-log %s: got %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", user["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	bad := byRequestID(http, "req-bad-1")
	if dig(bad, "level") != "error" || dig(bad, "detail", "operation", "error", "code") != "validation-failed" {
		t.Errorf("http-log of an invalid query: %v", bad)
	}
	if denied := byRequestID(http, "req-denied-1"); dig(denied, "detail", "operation", "error", "code") != "invalid-jwt" {
		t.Errorf("http-log of a bad token: %v", denied)
	}
	if admin := byRequestID(http, "req-admin-1"); dig(admin, "detail", "operation", "user_vars", "x-hasura-role") != "admin" {
		t.Errorf("http-log of the admin: %v", admin)
	}

	var userSQL string
	for _, q := range logLines(t, out, "query-log") {
		if dig(q, "detail", "request_id") == "req-user-1" {
			sql, _ := dig(q, "detail", "generated_sql", "article", "query").(string)
			userSQL = sql
		}
	}
	if !strings.HasPrefix(userSQL, "SELECT") {
		t.Errorf("query-log of req-user-1 has no generated SQL for article:\n%s", out)
	}
}
