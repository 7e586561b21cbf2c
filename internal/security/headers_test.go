package security

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestRequestAttacksOpenNoTransaction: requests whose credentials or role
// headers are refused get Hasura's error code, and the server never takes
// a database connection for them.
func TestRequestAttacksOpenNoTransaction(t *testing.T) {
	s := newSuite(t, 4, nil)
	unsigned := func(alg string) string {
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		return enc(map[string]any{"alg": alg, "typ": "JWT"}) + "." + enc(map[string]any{
			"https://hasura.io/jwt/claims": map[string]any{"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user", "x-hasura-user-id": "2"},
		}) + "."
	}
	expired := signClaims(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "https://hasura.io/jwt/claims": map[string]any{
		"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user", "x-hasura-user-id": "2"}})
	user2 := bearer(token(t, 2))
	otherKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"https://hasura.io/jwt/claims": map[string]any{
		"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user", "x-hasura-user-id": "2"}}).SignedString([]byte(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		headers []string
		code    string
	}{
		{"alg none", []string{bearer(unsigned("none"))}, "invalid-jwt"},
		{"alg NoNe", []string{bearer(unsigned("NoNe"))}, "invalid-jwt"},
		{"expired", []string{bearer(expired)}, "invalid-jwt"},
		{"garbage bearer", []string{bearer("garbage")}, "invalid-jwt"},
		{"garbage three parts", []string{bearer("a.b.c")}, "invalid-jwt"},
		{"empty bearer", []string{"Authorization: Bearer "}, "invalid-headers"},
		{"basic auth", []string{"Authorization: Basic dXNlcjpwYXNz"}, "invalid-headers"},
		{"token signed with another key", []string{bearer(otherKey)}, "invalid-jwt"},
		{"role header with a quote", []string{user2, `X-Hasura-Role: user'`}, "invalid-headers"},
		{"role header with a semicolon", []string{user2, "X-Hasura-Role: user; DROP TABLE note"}, "invalid-headers"},
		{"role header with a double quote", []string{user2, `X-Hasura-Role: "user"`}, "invalid-headers"},
		{"role header naming admin", []string{user2, "X-Hasura-Role: admin"}, "access-denied"},
		{"role header naming another role", []string{user2, "X-Hasura-Role: anon"}, "access-denied"},
		{"admin secret with a quoted role", []string{"X-Hasura-Admin-Secret: " + adminSecret, `X-Hasura-Role: us'er`}, "invalid-headers"},
		{"admin secret with a semicolon role", []string{"X-Hasura-Admin-Secret: " + adminSecret, "X-Hasura-Role: user;reset role"}, "invalid-headers"},
		{"wrong admin secret", []string{"X-Hasura-Admin-Secret: guess", "X-Hasura-Role: user", "X-Hasura-User-Id: 2"}, "access-denied"},
		{"legacy access key guessed", []string{"X-Hasura-Access-Key: guess"}, "access-denied"},
	}
	q := `{ note { id owner_id } }`
	before := s.pool.Stat().AcquireCount()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.mustPost(t, q, tc.headers...)
			if len(r.Errors) != 1 || r.Data != nil {
				t.Fatalf("want one error and no data, got data %s errors %+v", r.Data, r.Errors)
			}
			if got := r.Errors[0].Extensions.Code; got != tc.code {
				t.Errorf("code = %q (%s), want %q", got, r.Errors[0].Message, tc.code)
			}
		})
	}
	if n := s.pool.Stat().AcquireCount() - before; n != 0 {
		t.Errorf("refused requests took %d database connections", n)
	}
	// The control: a good token does take one.
	if r := s.mustPost(t, q, user2); len(r.Errors) != 0 {
		t.Fatalf("good token refused: %+v", r.Errors)
	}
	if n := s.pool.Stat().AcquireCount() - before; n != 1 {
		t.Errorf("a good request took %d connections, want 1", n)
	}
	t.Logf("%d request attacks tried, all refused without a database connection", len(tests))
}

// TestSessionHeadersNeedTheAdminSecret: X-Hasura-* headers of a request
// without the admin secret never become its session.
func TestSessionHeadersNeedTheAdminSecret(t *testing.T) {
	s := newSuite(t, 4, nil)
	owners := func(t *testing.T, headers ...string) []int {
		t.Helper()
		r := s.mustPost(t, `{ note { owner_id } }`, headers...)
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		var d struct {
			Note []struct {
				OwnerID int `json:"owner_id"`
			}
		}
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, n := range d.Note {
			out = append(out, n.OwnerID)
		}
		return out
	}
	only := func(t *testing.T, got []int, id int) {
		t.Helper()
		if len(got) != notesEach {
			t.Fatalf("got %d notes %v, want %d of user %d", len(got), got, notesEach, id)
		}
		for _, o := range got {
			if o != id {
				t.Fatalf("saw a note of user %d: %v", o, got)
			}
		}
	}
	t.Run("JWT user sending another user id", func(t *testing.T) {
		only(t, owners(t, bearer(token(t, 2)), "X-Hasura-User-Id: 3"), 2)
	})
	t.Run("JWT user sending backend-only and role headers", func(t *testing.T) {
		only(t, owners(t, bearer(token(t, 2)), "X-Hasura-User-Id: 3", "X-Hasura-Use-Backend-Only-Permissions: true", "X-Hasura-Role: user"), 2)
	})
	t.Run("no credentials with user headers runs as the unauthorized role", func(t *testing.T) {
		r := s.mustPost(t, `{ note { id } }`, "X-Hasura-Role: user", "X-Hasura-User-Id: 3")
		if len(r.Errors) > 0 || string(r.Data) != `{"note":[]}` {
			t.Fatalf("got data %s errors %+v, want the anon role's empty answer", r.Data, r.Errors)
		}
		r = s.mustPost(t, `{ note { owner_id } }`, "X-Hasura-Role: user", "X-Hasura-User-Id: 3")
		if len(r.Errors) != 1 || r.Errors[0].Extensions.Code != "validation-failed" {
			t.Fatalf("a column only role user sees was served: data %s errors %+v", r.Data, r.Errors)
		}
	})
	t.Run("garbage token never falls back to the unauthorized role", func(t *testing.T) {
		r := s.mustPost(t, `{ note { id } }`, bearer("x.y.z"))
		if len(r.Errors) != 1 || r.Errors[0].Extensions.Code != "invalid-jwt" || r.Data != nil {
			t.Fatalf("got data %s errors %+v", r.Data, r.Errors)
		}
	})
	t.Run("with the admin secret the headers are the session", func(t *testing.T) {
		only(t, owners(t, "X-Hasura-Admin-Secret: "+adminSecret, "X-Hasura-Role: user", "X-Hasura-User-Id: 3"), 3)
	})
}
