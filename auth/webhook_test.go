package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hookServer records what the webhook receives and answers as told.
type hookServer struct {
	*httptest.Server
	mu      sync.Mutex
	method  string
	headers http.Header
	body    []byte
}

func newHookServer(t *testing.T, status int, answer string, delay time.Duration) *hookServer {
	t.Helper()
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.method, h.headers, h.body = r.Method, r.Header.Clone(), body
		h.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(h.Server.Close)
	return h
}

// last returns what the hook received last.
func (h *hookServer) last() (method string, headers http.Header, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.method, h.headers, h.body
}

func TestWebhookGET(t *testing.T) {
	hook := newHookServer(t, http.StatusOK, `{"X-Hasura-Role":"user","X-Hasura-User-Id":"12","x-hasura-ids":[1,2],"X-Hasura-N":3,"Cache-Control":"max-age=600","Other":"ignored"}`, 0)
	clk := newClock()
	a := newAuth(t, Config{AdminSecret: testSecret, Webhook: &WebhookConfig{URL: hook.URL, Mode: "GET"}, Now: clk.Now})
	r := request("Authorization", "Bearer opaque", "X-Custom", "c1", "User-Agent", "browser", "Origin", "https://app.example",
		"Connection", "keep-alive, X-Hop", "X-Hop", "secret", "Keep-Alive", "timeout=5", "X-Hasura-Role", "admin")
	s := wantOK(t, a, r)
	if s.Role != "user" || s.IsAdmin || s.BackendOnly {
		t.Fatalf("session = %+v", s)
	}
	want := map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "12", "x-hasura-ids": "{1,2}", "x-hasura-n": "3"}
	if len(s.Vars) != len(want) {
		t.Errorf("vars = %v, want %v", s.Vars, want)
	}
	for k, v := range want {
		if s.Vars[k] != v {
			t.Errorf("var %s = %q, want %q", k, s.Vars[k], v)
		}
	}
	if !s.Expires.Equal(clk.Now().Add(10 * time.Minute)) {
		t.Errorf("Expires = %v", s.Expires)
	}
	method, headers, body := hook.last()
	if method != http.MethodGet || len(body) != 0 {
		t.Errorf("method %s body %q", method, body)
	}
	for _, h := range []string{"Authorization", "X-Custom", "X-Hasura-Role"} {
		if headers.Get(h) != r.Header.Get(h) {
			t.Errorf("header %s = %q, want it forwarded", h, headers.Get(h))
		}
	}
	for _, h := range []string{"Origin", "X-Hop", "Keep-Alive"} {
		if headers.Get(h) != "" {
			t.Errorf("header %s = %q was forwarded", h, headers.Get(h))
		}
	}
	if ua := headers.Get("User-Agent"); ua == "browser" {
		t.Error("client User-Agent forwarded")
	}
}

func TestWebhookPOST(t *testing.T) {
	hook := newHookServer(t, http.StatusOK, `{"x-hasura-role":"editor","x-hasura-user-id":"7"}`, 0)
	a := newAuth(t, Config{AdminSecret: testSecret, Webhook: &WebhookConfig{URL: hook.URL, Mode: "post"}})
	gql := json.RawMessage(`{"query":"query Q { users { id } }","variables":{"a":1},"operationName":"Q"}`)
	ctx := WithGraphQLRequest(context.Background(), gql)
	s, err := a.Authenticate(ctx, request("Authorization", "Bearer opaque", "X-Custom", "c1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Role != "editor" || s.Vars["x-hasura-user-id"] != "7" {
		t.Fatalf("session = %+v", s)
	}
	method, headers, raw := hook.last()
	if method != http.MethodPost || headers.Get("Content-Type") != "application/json" {
		t.Fatalf("method %s content type %q", method, headers.Get("Content-Type"))
	}
	var body struct {
		Headers map[string]string `json:"headers"`
		Request json.RawMessage   `json:"request"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	if body.Headers["Authorization"] != "Bearer opaque" || body.Headers["X-Custom"] != "c1" {
		t.Errorf("headers = %v", body.Headers)
	}
	var gotReq, wantReq any
	json.Unmarshal(body.Request, &gotReq)
	json.Unmarshal(gql, &wantReq)
	if jsonString(t, gotReq) != jsonString(t, wantReq) {
		t.Errorf("request = %s, want %s", body.Request, gql)
	}

	t.Run("request is null without one", func(t *testing.T) {
		wantOK(t, a, request())
		_, _, raw := hook.last()
		var b map[string]json.RawMessage
		json.Unmarshal(raw, &b)
		if string(b["request"]) != "null" {
			t.Errorf("request = %s", b["request"])
		}
	})
}

func TestWebhookAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		answer string
		delay  time.Duration
		code   string
		msg    string
		want   int
		role   string
	}{
		{name: "ok", status: 200, answer: `{"x-hasura-role":"user"}`, role: "user"},
		{name: "admin role from the hook", status: 200, answer: `{"x-hasura-role":"admin"}`, role: "admin"},
		{name: "401", status: 401, answer: `{"message":"no"}`, code: CodeAccessDenied, msg: "Authentication hook unauthorized this request", want: 401},
		{name: "403", status: 403, answer: `{}`, code: CodeUnexpected, msg: "Invalid response from authorization hook", want: 500},
		{name: "500", status: 500, answer: `oops`, code: CodeUnexpected, msg: "Invalid response from authorization hook", want: 500},
		{name: "not JSON", status: 200, answer: `<html>`, code: CodeUnexpected, msg: "Invalid response from authorization hook: *", want: 500},
		{name: "JSON array", status: 200, answer: `["x-hasura-role"]`, code: CodeUnexpected, msg: "Invalid response from authorization hook: *", want: 500},
		{name: "no role", status: 200, answer: `{"x-hasura-user-id":"1"}`, code: CodeInvalidParams, msg: "x-hasura-role not found in session variables", want: 400},
		{name: "empty role", status: 200, answer: `{"x-hasura-role":""}`, code: CodeInvalidParams, msg: "x-hasura-role not found in session variables", want: 400},
		{name: "insane role", status: 200, answer: `{"x-hasura-role":"a'b"}`, code: CodeUnexpected, msg: "Invalid response from authorization hook: invalid role name*", want: 500},
		{name: "object value", status: 200, answer: `{"x-hasura-role":"user","x-hasura-org":{"id":1}}`, code: CodeUnexpected, msg: "Invalid response from authorization hook: x-hasura-org*", want: 500},
		{name: "timeout", status: 200, answer: `{"x-hasura-role":"user"}`, delay: 2 * time.Second, code: CodeUnexpected, msg: "webhook authentication request failed", want: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook := newHookServer(t, tc.status, tc.answer, tc.delay)
			a := newAuth(t, Config{AdminSecret: testSecret, Webhook: &WebhookConfig{URL: hook.URL, Timeout: 100 * time.Millisecond}})
			start := time.Now()
			r := request("Authorization", "Bearer x")
			if tc.code == "" {
				if s := wantOK(t, a, r); s.Role != tc.role || s.IsAdmin != (tc.role == "admin") {
					t.Fatalf("session = %+v", s)
				}
				return
			}
			wantErr(t, a, r, tc.code, tc.msg, tc.want)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	a := newAuth(t, Config{AdminSecret: testSecret, Webhook: &WebhookConfig{URL: url}})
	wantErr(t, a, request(), CodeUnexpected, "webhook authentication request failed", http.StatusInternalServerError)
}
