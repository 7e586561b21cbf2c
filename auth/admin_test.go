package auth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestAdminSecret(t *testing.T) {
	k := keys(t)
	jwtCfg := jsonString(t, map[string]string{"type": "HS256", "key": k.hmac})
	userToken := sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(nil), nil)
	modes := []struct {
		name string
		cfg  func() Config
	}{
		{"admin secret only", func() Config { return Config{AdminSecret: testSecret} }},
		{"admin secret and JWT", func() Config { return Config{AdminSecret: testSecret, JWT: mustParseJWT(t, jwtCfg)} }},
		{"admin secret and webhook", func() Config {
			return Config{AdminSecret: testSecret, Webhook: &WebhookConfig{URL: failServer(t).URL}}
		}},
	}
	const wrong = "invalid x-hasura-admin-secret/x-hasura-access-key"
	tests := []struct {
		name        string
		headers     []string
		code        string
		msg         string
		status      int
		role        string
		backendOnly bool
		vars        map[string]string
	}{
		{name: "correct secret", headers: []string{"X-Hasura-Admin-Secret", testSecret, "X-Hasura-User-Id", "9", "Authorization", "Bearer junk"},
			role: "admin", vars: map[string]string{"x-hasura-role": "admin", "x-hasura-user-id": "9"}},
		{name: "legacy access key", headers: []string{"X-Hasura-Access-Key", testSecret}, role: "admin"},
		{name: "correct secret acting as a role", headers: []string{"x-hasura-admin-secret", testSecret, "x-hasura-role", "user", "x-hasura-user-id", "3"},
			role: "user", vars: map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "3"}},
		{name: "backend-only permissions", headers: []string{"X-Hasura-Admin-Secret", testSecret, "X-Hasura-Role", "service", "X-Hasura-Use-Backend-Only-Permissions", "True"},
			role: "service", backendOnly: true},
		{name: "backend-only false", headers: []string{"X-Hasura-Admin-Secret", testSecret, "X-Hasura-Use-Backend-Only-Permissions", "n"}, role: "admin"},
		{name: "backend-only not a boolean", headers: []string{"X-Hasura-Admin-Secret", testSecret, "X-Hasura-Use-Backend-Only-Permissions", "maybe"},
			code: CodeBadRequest, msg: "x-hasura-use-backend-only-permissions:  Not a valid boolean text*", status: http.StatusBadRequest},
		{name: "wrong secret", headers: []string{"X-Hasura-Admin-Secret", "nope"}, code: CodeAccessDenied, msg: wrong, status: http.StatusUnauthorized},
		{name: "secret with a suffix", headers: []string{"X-Hasura-Admin-Secret", testSecret + "x"}, code: CodeAccessDenied, msg: wrong, status: http.StatusUnauthorized},
		{name: "empty secret", headers: []string{"X-Hasura-Admin-Secret", ""}, code: CodeAccessDenied, msg: wrong, status: http.StatusUnauthorized},
		{name: "wrong secret with a valid token", headers: []string{"X-Hasura-Admin-Secret", "nope", "Authorization", "Bearer " + userToken},
			code: CodeAccessDenied, msg: wrong, status: http.StatusUnauthorized},
		{name: "wrong secret, right access key", headers: []string{"X-Hasura-Admin-Secret", "nope", "X-Hasura-Access-Key", testSecret},
			code: CodeAccessDenied, msg: wrong, status: http.StatusUnauthorized},
		{name: "insane role", headers: []string{"X-Hasura-Admin-Secret", testSecret, "X-Hasura-Role", "a;b"},
			code: CodeInvalidHeaders, msg: "invalid role name*", status: http.StatusBadRequest},
	}
	for _, m := range modes {
		for _, tc := range tests {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				a := newAuth(t, m.cfg())
				r := request(tc.headers...)
				if tc.code != "" {
					wantErr(t, a, r, tc.code, tc.msg, tc.status)
					return
				}
				s := wantOK(t, a, r)
				if s.Role != tc.role || s.IsAdmin != (tc.role == "admin") || s.BackendOnly != tc.backendOnly {
					t.Fatalf("session = %+v, want role %q backendOnly %v", s, tc.role, tc.backendOnly)
				}
				for k, v := range tc.vars {
					if s.Vars[k] != v {
						t.Errorf("var %s = %q, want %q", k, s.Vars[k], v)
					}
				}
				for k := range s.Vars {
					if k == "x-hasura-admin-secret" || k == "x-hasura-access-key" || !strings.HasPrefix(k, "x-hasura-") {
						t.Errorf("unexpected session variable %q", k)
					}
				}
			})
		}
	}
}

func TestAdminSecretOnlyWithoutCredentials(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		a := newAuth(t, Config{AdminSecret: testSecret})
		wantErr(t, a, request("X-Hasura-Role", "user"), CodeAccessDenied,
			"x-hasura-admin-secret/x-hasura-access-key required, but not found", http.StatusUnauthorized)
	})
	t.Run("unauthorized role", func(t *testing.T) {
		a := newAuth(t, Config{AdminSecret: testSecret, UnauthorizedRole: "anonymous"})
		s := wantOK(t, a, request("X-Hasura-Role", "admin", "X-Hasura-User-Id", "1", "X-Hasura-Use-Backend-Only-Permissions", "true"))
		if s.Role != "anonymous" || s.IsAdmin || s.BackendOnly || len(s.Vars) != 1 || s.Vars["x-hasura-role"] != "anonymous" {
			t.Fatalf("session = %+v", s)
		}
	})
}

func TestNoAuthConfigured(t *testing.T) {
	a := newAuth(t, Config{})
	tests := []struct {
		name        string
		headers     []string
		role        string
		backendOnly bool
	}{
		{"anonymous request is admin", nil, "admin", false},
		{"role header honoured", []string{"X-Hasura-Role", "user", "X-Hasura-User-Id", "5"}, "user", false},
		{"admin secret header ignored", []string{"X-Hasura-Admin-Secret", "whatever"}, "admin", false},
		{"backend-only honoured", []string{"X-Hasura-Use-Backend-Only-Permissions", "yes"}, "admin", true},
		{"token ignored", []string{"Authorization", "Bearer garbage"}, "admin", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := wantOK(t, a, request(tc.headers...))
			if s.Role != tc.role || s.IsAdmin != (tc.role == "admin") || s.BackendOnly != tc.backendOnly {
				t.Fatalf("session = %+v", s)
			}
			if s.Vars["x-hasura-role"] != tc.role {
				t.Fatalf("vars = %v", s.Vars)
			}
			if _, ok := s.Vars["x-hasura-admin-secret"]; ok {
				t.Fatal("admin secret in the session variables")
			}
		})
	}
}

func TestSecretComparison(t *testing.T) {
	a := newAuth(t, Config{AdminSecret: "abc"})
	for _, tc := range []struct {
		sent string
		ok   bool
	}{{"abc", true}, {"ab", false}, {"abcd", false}, {"ABC", false}, {"", false}, {"abc ", false}} {
		if got := a.secretMatches(tc.sent); got != tc.ok {
			t.Errorf("secretMatches(%q) = %v, want %v", tc.sent, got, tc.ok)
		}
	}
}
