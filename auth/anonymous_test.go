package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestNhostAnonymous: Nhost's tokens carry x-hasura-user-is-anonymous, older
// ones x-hasura-user-isAnonymous; either is readable under both names.
func TestNhostAnonymous(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac[:32]}), newClock())
	base := func(extra map[string]any) map[string]any {
		h := map[string]any{
			"x-hasura-allowed-roles": []string{"user", "anonymous"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       "42",
		}
		for k, v := range extra {
			h[k] = v
		}
		return withHasura(h)
	}
	for _, tc := range []struct {
		name  string
		extra map[string]any
		want  string
	}{
		{"current", map[string]any{"x-hasura-user-is-anonymous": "false"}, "false"},
		{"older", map[string]any{"x-hasura-user-isAnonymous": "true"}, "true"},
		{"boolean", map[string]any{"x-hasura-user-is-anonymous": true}, "true"},
		{"both agree", map[string]any{"x-hasura-user-is-anonymous": "false", "x-hasura-user-isAnonymous": "false"}, "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := wantOK(t, a, bearer(sign(t, jwt.SigningMethodHS256, []byte(k.hmac[:32]), base(tc.extra), nil)))
			for _, name := range []string{"X-Hasura-User-Is-Anonymous", "x-hasura-user-isAnonymous"} {
				if v, ok := s.Var(name); !ok || v != tc.want {
					t.Errorf("%s = %q, %v; want %q", name, v, ok, tc.want)
				}
			}
		})
	}
	tok := sign(t, jwt.SigningMethodHS256, []byte(k.hmac[:32]), base(map[string]any{"x-hasura-user-is-anonymous": "false", "x-hasura-user-isAnonymous": "true"}), nil)
	wantErr(t, a, bearer(tok), CodeJWTInvalidClaims, "x-hasura-user-is-anonymous (false) and x-hasura-user-isAnonymous (true) disagree; send one of them", 400)
	if s := wantOK(t, a, bearer(sign(t, jwt.SigningMethodHS256, []byte(k.hmac[:32]), base(nil), nil))); len(s.Vars) != 2 {
		t.Errorf("a token without the claim gained variables: %v", s.Vars)
	}
}
