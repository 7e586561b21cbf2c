package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTAlgorithmFamiliesAccepted(t *testing.T) {
	k := keys(t)
	tests := []struct {
		name   string
		typ    string
		key    string
		method jwt.SigningMethod
		signer any
	}{
		{"HS256", "HS256", k.hmac[:32], jwt.SigningMethodHS256, []byte(k.hmac[:32])},
		{"HS384", "HS384", k.hmac[:48], jwt.SigningMethodHS384, []byte(k.hmac[:48])},
		{"HS512", "HS512", k.hmac, jwt.SigningMethodHS512, []byte(k.hmac)},
		{"RS256", "RS256", pemPublic(t, &k.rsa.PublicKey), jwt.SigningMethodRS256, k.rsa},
		{"RS384", "RS384", pemPublic(t, &k.rsa.PublicKey), jwt.SigningMethodRS384, k.rsa},
		{"RS512", "RS512", pemPublic(t, &k.rsa.PublicKey), jwt.SigningMethodRS512, k.rsa},
		{"RS256 certificate", "RS256", pemCert(t, k.rsa), jwt.SigningMethodRS256, k.rsa},
		{"ES256 P-256", "ES256", pemPublic(t, &k.p256.PublicKey), jwt.SigningMethodES256, k.p256},
		{"ES384 P-384", "ES384", pemPublic(t, &k.p384.PublicKey), jwt.SigningMethodES384, k.p384},
		{"ES512 P-521", "ES512", pemPublic(t, &k.p521.PublicKey), jwt.SigningMethodES512, k.p521},
		{"Ed25519", "Ed25519", pemPublic(t, k.ed.Public()), jwt.SigningMethodEdDSA, k.ed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			a := jwtAuth(t, jsonString(t, map[string]string{"type": tc.typ, "key": tc.key}), clk)
			s := wantOK(t, a, bearer(sign(t, tc.method, tc.signer, userClaims(nil), nil)))
			if s.Role != "user" || s.IsAdmin || s.BackendOnly {
				t.Fatalf("session = %+v", s)
			}
			if s.Vars["x-hasura-user-id"] != "42" || s.Vars["x-hasura-role"] != "user" {
				t.Fatalf("vars = %v", s.Vars)
			}
			if _, ok := s.Vars["x-hasura-allowed-roles"]; ok {
				t.Fatal("allowed roles leaked into the session variables")
			}
			if !s.Expires.Equal(time.Unix(t0+3600, 0)) {
				t.Fatalf("Expires = %v", s.Expires)
			}
			// Another key of the same family is refused.
			var other any
			switch tc.signer.(type) {
			case []byte:
				other = []byte(strings.Repeat("x", 64))
			default:
				other = map[string]any{"RS": k.rsa2, "ES": map[string]any{"ES256": k.p256b, "ES384": k.p384, "ES512": k.p521}[tc.typ], "Ed": k.ed2}[tc.typ[:2]]
			}
			if tc.typ == "ES384" || tc.typ == "ES512" {
				return // no second key of these curves generated
			}
			wantErr(t, a, bearer(sign(t, tc.method, other, userClaims(nil), nil)),
				CodeInvalidJWT, "Could not verify JWT: JWSError JWSInvalidSignature", http.StatusBadRequest)
		})
	}
}

func TestJWTAlgNoneRejected(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac[:32]}), newClock())
	for _, alg := range []string{"none", "None", "NONE", "nOnE", "", "HS1", "PS256"} {
		for _, sigKind := range []string{"empty", "hmac"} {
			t.Run(alg+"/"+sigKind, func(t *testing.T) {
				hdr := map[string]any{"alg": alg, "typ": "JWT"}
				tok := rawToken(t, hdr, userClaims(nil), nil)
				if sigKind == "hmac" {
					input := tok[:strings.LastIndexByte(tok, '.')]
					m := hmac.New(sha256.New, []byte(k.hmac[:32]))
					m.Write([]byte(input))
					tok = input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
				}
				want := "Could not verify JWT: JWSError JWSNoSignatures"
				if alg == "PS256" {
					want = "Could not verify JWT: JWSError JWSInvalidSignature"
				}
				wantErr(t, a, bearer(tok), CodeInvalidJWT, want, http.StatusBadRequest)
			})
		}
	}
}

func TestJWTKeyConfusionRejected(t *testing.T) {
	k := keys(t)
	rsaPEM := pemPublic(t, &k.rsa.PublicKey)
	tests := []struct {
		name   string
		cfg    map[string]string
		method jwt.SigningMethod
		signer any
	}{
		{"HS256 signed with the RSA public key PEM", map[string]string{"type": "RS256", "key": rsaPEM}, jwt.SigningMethodHS256, []byte(rsaPEM)},
		{"HS256 signed with the certificate PEM", map[string]string{"type": "RS256", "key": pemCert(t, k.rsa)}, jwt.SigningMethodHS256, []byte(pemCert(t, k.rsa))},
		{"RS384 token for an RS256 key", map[string]string{"type": "RS256", "key": rsaPEM}, jwt.SigningMethodRS384, k.rsa},
		{"ES256 token for an RSA key", map[string]string{"type": "RS256", "key": rsaPEM}, jwt.SigningMethodES256, k.p256},
		{"RS256 token for an HMAC key", map[string]string{"type": "HS256", "key": k.hmac}, jwt.SigningMethodRS256, k.rsa},
		{"HS256 with the EC PEM", map[string]string{"type": "ES256", "key": pemPublic(t, &k.p256.PublicKey)}, jwt.SigningMethodHS256, []byte(pemPublic(t, &k.p256.PublicKey))},
		{"HS256 with the Ed25519 PEM", map[string]string{"type": "Ed25519", "key": pemPublic(t, k.ed.Public())}, jwt.SigningMethodHS256, []byte(pemPublic(t, k.ed.Public()))},
		{"HS512 token for an HS256 key", map[string]string{"type": "HS256", "key": k.hmac}, jwt.SigningMethodHS512, []byte(k.hmac)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := jwtAuth(t, jsonString(t, tc.cfg), newClock())
			wantErr(t, a, bearer(sign(t, tc.method, tc.signer, userClaims(nil), nil)),
				CodeInvalidJWT, "Could not verify JWT: JWSError JWSInvalidSignature", http.StatusBadRequest)
		})
	}
}

func TestJWTHeaderKeysNeverFetched(t *testing.T) {
	k := keys(t)
	canary := failServer(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "RS256", "key": pemPublic(t, &k.rsa.PublicKey)}), newClock())
	attackerJWK := jwkOf(t, &k.attackerRSA.PublicKey, "evil", "RS256")
	evil := map[string]any{
		"jku": canary.URL + "/jwks.json",
		"x5u": canary.URL + "/cert.pem",
		"jwk": attackerJWK,
		"kid": "evil",
	}
	t.Run("attacker key in the header is not trusted", func(t *testing.T) {
		wantErr(t, a, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), evil)),
			CodeInvalidJWT, "Could not verify JWT: JWSError JWSInvalidSignature", 0)
	})
	t.Run("our key with the same headers still verifies", func(t *testing.T) {
		wantOK(t, a, bearer(sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(nil), evil)))
	})
	t.Run("JWKS mode ignores jku too", func(t *testing.T) {
		srv := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "good", ""))
		a := jwtAuth(t, jsonString(t, map[string]string{"jwk_url": srv.URL}), newClock())
		wantErr(t, a, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), evil)),
			CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", 0)
		wantOK(t, a, bearer(sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(nil), map[string]any{"kid": "good", "jku": canary.URL})))
	})
}

func TestJWTRegisteredClaims(t *testing.T) {
	k := keys(t)
	cfg := map[string]any{"type": "HS256", "key": k.hmac, "allowed_skew": 30, "issuer": "https://issuer.example", "audience": []string{"rowguard", "other"}}
	good := map[string]any{"iss": "https://issuer.example", "aud": "rowguard"}
	merge := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range good {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return userClaims(out)
	}
	hs := func(c map[string]any) string { return sign(t, jwt.SigningMethodHS256, []byte(k.hmac), c, nil) }
	tests := []struct {
		name  string
		token string
		want  string // "" = accepted
	}{
		{"valid", hs(merge(nil)), ""},
		{"expired within skew", hs(merge(map[string]any{"exp": t0 - 29})), ""},
		{"expired outside skew", hs(merge(map[string]any{"exp": t0 - 31})), "Could not verify JWT: JWTExpired"},
		{"fractional exp", hs(merge(map[string]any{"exp": float64(t0) + 0.5})), ""},
		{"no exp", hs(merge(map[string]any{"exp": nil})), ""},
		{"nbf within skew", hs(merge(map[string]any{"nbf": t0 + 29})), ""},
		{"nbf in the future", hs(merge(map[string]any{"nbf": t0 + 60})), "Could not verify JWT: JWTNotYetValid"},
		{"iat in the future", hs(merge(map[string]any{"iat": t0 + 600})), "Could not verify JWT: JWTIssuedAtFuture"},
		{"non-numeric exp", hs(merge(map[string]any{"exp": "tomorrow"})), "Could not verify JWT: JWTClaimsSetDecodeError*"},
		{"non-numeric nbf", hs(merge(map[string]any{"nbf": true})), "Could not verify JWT: JWTClaimsSetDecodeError*"},
		{"audience mismatch", hs(merge(map[string]any{"aud": "someone-else"})), "Could not verify JWT: JWTNotInAudience"},
		{"audience array containing ours", hs(merge(map[string]any{"aud": []string{"x", "rowguard"}})), ""},
		{"audience array without ours", hs(merge(map[string]any{"aud": []string{"x", "y"}})), "Could not verify JWT: JWTNotInAudience"},
		{"audience missing", hs(merge(map[string]any{"aud": nil})), "Could not verify JWT: JWTNotInAudience"},
		{"audience of the wrong type", hs(merge(map[string]any{"aud": 7})), "Could not verify JWT: JWTClaimsSetDecodeError*"},
		{"issuer mismatch", hs(merge(map[string]any{"iss": "https://evil.example"})), "Could not verify JWT: JWTNotInIssuer"},
		{"issuer missing", hs(merge(map[string]any{"iss": nil})), "Could not verify JWT: JWTNotInIssuer"},
		{"expired and badly signed reports the signature",
			sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("z", 32)), merge(map[string]any{"exp": t0 - 3600}), nil),
			"Could not verify JWT: JWSError JWSInvalidSignature"},
		{"garbage", "not-a-jwt", "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)"},
		{"bad base64", "a.b.c!", "Could not verify JWT: JWSError (CompactDecodeError*"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".e30.", "Could not verify JWT: JWSError (JSONDecodeError*"},
		{"crit header", sign(t, jwt.SigningMethodHS256, []byte(k.hmac), merge(nil), map[string]any{"crit": []string{"exp"}}), "Could not verify JWT: JWSError (JWSCritUnprotected)"},
	}
	a := jwtAuth(t, jsonString(t, cfg), newClock())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				wantOK(t, a, bearer(tc.token))
				return
			}
			wantErr(t, a, bearer(tc.token), CodeInvalidJWT, tc.want, http.StatusBadRequest)
		})
	}
}

func TestJWTRoleClaims(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), newClock())
	hs := func(c map[string]any) string { return sign(t, jwt.SigningMethodHS256, []byte(k.hmac), c, nil) }
	roles := []string{"user", "editor"}
	tests := []struct {
		name    string
		hasura  map[string]any
		headers []string
		code    string
		msg     string
		role    string
		vars    map[string]string
	}{
		{name: "default role", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user"}, role: "user"},
		{name: "requested allowed role", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user"},
			headers: []string{"X-Hasura-Role", "editor"}, role: "editor", vars: map[string]string{"x-hasura-role": "editor"}},
		{name: "empty role header falls back to the default", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user"},
			headers: []string{"X-Hasura-Role", ""}, role: "user"},
		{name: "requested role not allowed", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user"},
			headers: []string{"X-Hasura-Role", "admin"}, code: CodeAccessDenied, msg: "Your requested role is not in allowed roles"},
		{name: "default role not allowed", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "boss"},
			code: CodeAccessDenied, msg: "Your requested role is not in allowed roles"},
		{name: "insane role header", hasura: map[string]any{"x-hasura-allowed-roles": []string{"user", "x'; drop"}, "x-hasura-default-role": "user"},
			headers: []string{"X-Hasura-Role", "x'; drop"}, code: CodeInvalidHeaders, msg: "invalid role name in the x-hasura-role header*"},
		{name: "insane default role", hasura: map[string]any{"x-hasura-allowed-roles": []string{`a"b`}, "x-hasura-default-role": `a"b`},
			code: CodeJWTInvalidClaims, msg: "invalid role name in x-hasura-default-role*"},
		{name: "overlong role", hasura: map[string]any{"x-hasura-allowed-roles": []string{strings.Repeat("r", 129)}, "x-hasura-default-role": strings.Repeat("r", 129)},
			code: CodeJWTInvalidClaims, msg: "invalid role name*"},
		{name: "allowed roles not a list", hasura: map[string]any{"x-hasura-allowed-roles": "user", "x-hasura-default-role": "user"},
			code: CodeJWTInvalidClaims, msg: "invalid x-hasura-allowed-roles; should be a list of roles*"},
		{name: "allowed roles with a number", hasura: map[string]any{"x-hasura-allowed-roles": []any{"user", 3}, "x-hasura-default-role": "user"},
			code: CodeJWTInvalidClaims, msg: "invalid x-hasura-allowed-roles; should be a list of roles*"},
		{name: "default role not a string", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": []string{"user"}},
			code: CodeJWTInvalidClaims, msg: "invalid x-hasura-default-role; should be a single role name*"},
		{name: "allowed roles missing", hasura: map[string]any{"x-hasura-default-role": "user"},
			code: CodeJWTMissingRoleClaims, msg: "JWT claim does not contain x-hasura-allowed-roles"},
		{name: "default role missing", hasura: map[string]any{"x-hasura-allowed-roles": roles},
			code: CodeJWTMissingRoleClaims, msg: "JWT claim does not contain x-hasura-default-role"},
		{name: "claim keys are case-insensitive", hasura: map[string]any{"X-Hasura-Allowed-Roles": roles, "X-HASURA-DEFAULT-ROLE": "user", "X-Hasura-User-Id": "7", "not-hasura": "x"},
			role: "user", vars: map[string]string{"x-hasura-user-id": "7", "x-hasura-role": "user"}},
		{name: "value types", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user",
			"x-hasura-ids": []any{1, 2, 3}, "x-hasura-names": []any{"a b", "c", `q"uote`, "", "null", nil, []any{1}},
			"x-hasura-n": 42, "x-hasura-f": 1.5, "x-hasura-ok": true, "x-hasura-empty": []any{}},
			role: "user", vars: map[string]string{"x-hasura-ids": "{1,2,3}", "x-hasura-names": `{"a b",c,"q\"uote","","null",NULL,{1}}`,
				"x-hasura-n": "42", "x-hasura-f": "1.5", "x-hasura-ok": "true", "x-hasura-empty": "{}"}},
		{name: "object value refused", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user", "x-hasura-org": map[string]any{"id": 1}},
			code: CodeJWTInvalidClaims, msg: "invalid x-hasura-org*"},
		{name: "null value refused", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user", "x-hasura-org": nil},
			code: CodeJWTInvalidClaims, msg: "invalid x-hasura-org*"},
		{name: "NUL refused", hasura: map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user", "x-hasura-org": "a\x00b"},
			code: CodeJWTInvalidClaims, msg: "invalid x-hasura-org*"},
		{name: "admin in allowed roles makes an admin", hasura: map[string]any{"x-hasura-allowed-roles": []string{"admin"}, "x-hasura-default-role": "admin"}, role: "admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bearer(hs(withHasura(tc.hasura)), tc.headers...)
			if tc.code != "" {
				wantErr(t, a, r, tc.code, tc.msg, http.StatusBadRequest)
				return
			}
			s := wantOK(t, a, r)
			if s.Role != tc.role || s.IsAdmin != (tc.role == "admin") || s.BackendOnly {
				t.Fatalf("session = %+v, want role %q", s, tc.role)
			}
			for k, v := range tc.vars {
				if s.Vars[k] != v {
					t.Errorf("var %s = %q, want %q (all: %v)", k, s.Vars[k], v, s.Vars)
				}
			}
		})
	}
	t.Run("namespace missing", func(t *testing.T) {
		wantErr(t, a, bearer(hs(userClaims(map[string]any{DefaultClaimsNamespace: nil}))),
			CodeJWTInvalidClaims, "claims key: 'https://hasura.io/jwt/claims' not found", http.StatusBadRequest)
	})
	t.Run("namespace not an object", func(t *testing.T) {
		wantErr(t, a, bearer(hs(userClaims(map[string]any{DefaultClaimsNamespace: "{}"}))),
			CodeJWTInvalidClaims, "expecting a json object when claims_format is json", http.StatusBadRequest)
	})
}

func TestJWTIgnoresRequestSessionHeaders(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), newClock())
	s := wantOK(t, a, bearer(sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(nil), nil),
		"X-Hasura-User-Id", "999", "X-Hasura-Org-Id", "1", "X-Hasura-Use-Backend-Only-Permissions", "true"))
	if s.Vars["x-hasura-user-id"] != "42" {
		t.Errorf("x-hasura-user-id = %q, want the claim's 42", s.Vars["x-hasura-user-id"])
	}
	if _, ok := s.Vars["x-hasura-org-id"]; ok {
		t.Error("a request header became a session variable")
	}
	if s.BackendOnly {
		t.Error("backend-only honoured without the admin secret")
	}
	if len(s.Vars) != 2 {
		t.Errorf("vars = %v", s.Vars)
	}
}

func TestJWTClaimsLocations(t *testing.T) {
	k := keys(t)
	hasura := map[string]any{"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user", "x-hasura-user-id": "5"}
	stringified := jsonString(t, hasura)
	tests := []struct {
		name   string
		cfg    map[string]any
		claims map[string]any
		code   string
		msg    string
		vars   map[string]string
	}{
		{name: "custom namespace", cfg: map[string]any{"claims_namespace": "hasura"},
			claims: map[string]any{"hasura": hasura}, vars: map[string]string{"x-hasura-user-id": "5"}},
		{name: "claims_namespace_path", cfg: map[string]any{"claims_namespace_path": "$.hasura.claims"},
			claims: map[string]any{"hasura": map[string]any{"claims": hasura}}, vars: map[string]string{"x-hasura-user-id": "5"}},
		{name: "claims_namespace_path bracket form", cfg: map[string]any{"claims_namespace_path": "$['app.io'].list[1]"},
			claims: map[string]any{"app.io": map[string]any{"list": []any{1, hasura}}}, vars: map[string]string{"x-hasura-user-id": "5"}},
		{name: "claims_namespace_path not found", cfg: map[string]any{"claims_namespace_path": "$.hasura.claims"},
			claims: map[string]any{"hasura": hasura}, code: CodeJWTInvalidClaims, msg: "claims not found at claims_namespace_path: '$.hasura.claims'"},
		{name: "stringified_json", cfg: map[string]any{"claims_format": "stringified_json"},
			claims: map[string]any{DefaultClaimsNamespace: stringified}, vars: map[string]string{"x-hasura-user-id": "5"}},
		{name: "stringified_json with path", cfg: map[string]any{"claims_format": "stringified_json", "claims_namespace_path": "$.h"},
			claims: map[string]any{"h": stringified}, vars: map[string]string{"x-hasura-user-id": "5"}},
		{name: "stringified_json given an object", cfg: map[string]any{"claims_format": "stringified_json"},
			claims: map[string]any{DefaultClaimsNamespace: hasura}, code: CodeJWTInvalidClaims, msg: "expecting a string when claims_format is stringified_json"},
		{name: "stringified_json not JSON", cfg: map[string]any{"claims_format": "stringified_json"},
			claims: map[string]any{DefaultClaimsNamespace: "{nope"}, code: CodeJWTInvalidClaims,
			msg: "expecting stringified json at: 'claims_namespace https://hasura.io/jwt/claims', but found: {nope"},
		{name: "claims_map with paths and default", cfg: map[string]any{"claims_map": map[string]any{
			"x-hasura-allowed-roles": map[string]any{"path": "$.roles"},
			"x-hasura-default-role":  map[string]any{"path": "$.role", "default": "user"},
			"x-hasura-user-id":       map[string]any{"path": "$.user.id"},
			"x-hasura-org-id":        map[string]any{"path": "$.org", "default": "none"},
			"X-Hasura-Tenant":        "acme",
		}}, claims: map[string]any{"roles": []string{"user"}, "user": map[string]any{"id": 77}},
			vars: map[string]string{"x-hasura-user-id": "77", "x-hasura-org-id": "none", "x-hasura-tenant": "acme", "x-hasura-role": "user"}},
		{name: "claims_map reads registered claims", cfg: map[string]any{"claims_map": map[string]any{
			"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user",
			"x-hasura-user-id": map[string]any{"path": "$.sub"},
		}}, claims: map[string]any{}, vars: map[string]string{"x-hasura-user-id": "42"}},
		{name: "claims_map missing claim without default", cfg: map[string]any{"claims_map": map[string]any{
			"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "user",
			"x-hasura-user-id": map[string]any{"path": "$.user.id"},
		}}, claims: map[string]any{}, code: CodeJWTInvalidClaims, msg: "JWT claim from claims_map, x-hasura-user-id not found"},
		{name: "claims_map missing allowed roles", cfg: map[string]any{"claims_map": map[string]any{
			"x-hasura-allowed-roles": map[string]any{"path": "$.roles"}, "x-hasura-default-role": "user",
		}}, claims: map[string]any{}, code: CodeJWTMissingRoleClaims, msg: "JWT claim does not contain x-hasura-allowed-roles"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"type": "HS256", "key": k.hmac}
			for k, v := range tc.cfg {
				cfg[k] = v
			}
			claims := userClaims(map[string]any{DefaultClaimsNamespace: nil})
			for k, v := range tc.claims {
				claims[k] = v
			}
			a := jwtAuth(t, jsonString(t, cfg), newClock())
			r := bearer(sign(t, jwt.SigningMethodHS256, []byte(k.hmac), claims, nil))
			if tc.code != "" {
				wantErr(t, a, r, tc.code, tc.msg, http.StatusBadRequest)
				return
			}
			s := wantOK(t, a, r)
			for k, v := range tc.vars {
				if s.Vars[k] != v {
					t.Errorf("var %s = %q, want %q (all: %v)", k, s.Vars[k], v, s.Vars)
				}
			}
		})
	}
}

func TestJWTTokenLocations(t *testing.T) {
	k := keys(t)
	tok := sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(nil), nil)
	base := map[string]any{"type": "HS256", "key": k.hmac}
	with := func(extra map[string]any) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return jsonString(t, m)
	}
	cookieCfg := with(map[string]any{"header": map[string]string{"type": "Cookie", "name": "session"}})
	customCfg := with(map[string]any{"header": map[string]string{"type": "CustomHeader", "name": "X-Auth-Token"}})
	const missing = "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"
	tests := []struct {
		name    string
		cfg     string
		unauth  string
		headers []string
		code    string
		msg     string
		role    string
	}{
		{name: "bearer", cfg: with(nil), headers: []string{"Authorization", "Bearer " + tok}, role: "user"},
		{name: "bearer with extra spaces", cfg: with(nil), headers: []string{"Authorization", "Bearer   " + tok}, role: "user"},
		{name: "basic scheme", cfg: with(nil), headers: []string{"Authorization", "Basic dXNlcjpwYXNz"}, code: CodeInvalidHeaders, msg: "Malformed Authorization header"},
		{name: "lower-case bearer", cfg: with(nil), headers: []string{"Authorization", "bearer " + tok}, code: CodeInvalidHeaders, msg: "Malformed Authorization header"},
		{name: "bearer without token", cfg: with(nil), headers: []string{"Authorization", "Bearer"}, code: CodeInvalidHeaders, msg: "Malformed Authorization header"},
		{name: "no token", cfg: with(nil), code: CodeInvalidHeaders, msg: missing},
		{name: "no token, unauthorized role", cfg: with(nil), unauth: "anonymous", headers: []string{"X-Hasura-User-Id", "1", "X-Hasura-Role", "user"}, role: "anonymous"},
		{name: "garbage token, unauthorized role", cfg: with(nil), unauth: "anonymous", headers: []string{"Authorization", "Bearer garbage"},
			code: CodeInvalidJWT, msg: "Could not verify JWT: JWSError (CompactDecodeError*"},
		{name: "malformed header, unauthorized role", cfg: with(nil), unauth: "anonymous", headers: []string{"Authorization", "Token x"},
			code: CodeInvalidHeaders, msg: "Malformed Authorization header"},
		{name: "cookie", cfg: cookieCfg, headers: []string{"Cookie", "theme=dark; session=" + tok}, role: "user"},
		{name: "cookie missing", cfg: cookieCfg, headers: []string{"Cookie", "theme=dark", "Authorization", "Bearer " + tok}, code: CodeInvalidHeaders, msg: missing},
		{name: "cookie garbage", cfg: cookieCfg, headers: []string{"Cookie", "session=abc"}, code: CodeInvalidJWT, msg: "Could not verify JWT: *"},
		{name: "custom header", cfg: customCfg, headers: []string{"X-Auth-Token", tok}, role: "user"},
		{name: "custom header missing", cfg: customCfg, unauth: "anonymous", headers: []string{"Authorization", "Bearer " + tok}, role: "anonymous"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuth(t, Config{AdminSecret: testSecret, JWT: mustParseJWT(t, tc.cfg), UnauthorizedRole: tc.unauth, Now: newClock().Now})
			r := request(tc.headers...)
			if tc.code != "" {
				wantErr(t, a, r, tc.code, tc.msg, http.StatusBadRequest)
				return
			}
			s := wantOK(t, a, r)
			if s.Role != tc.role {
				t.Fatalf("role = %q, want %q", s.Role, tc.role)
			}
			if tc.role == "anonymous" && (len(s.Vars) != 1 || s.Vars["x-hasura-role"] != "anonymous" || s.IsAdmin) {
				t.Fatalf("unauthorized session = %+v", s)
			}
		})
	}
}

func TestJWTHugeTokenRejectedQuickly(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]any{"type": "RS256", "key": pemPublic(t, &k.rsa.PublicKey),
		"header": map[string]string{"type": "Authorization"}}), newClock())
	custom := jwtAuth(t, jsonString(t, map[string]any{"type": "RS256", "key": pemPublic(t, &k.rsa.PublicKey),
		"header": map[string]string{"type": "CustomHeader", "name": "X-Token"}}), newClock())
	part := strings.Repeat("A", 1<<20/3)
	huge := part + "." + part + "." + part
	justOver := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(map[string]any{"pad": strings.Repeat("p", MaxTokenBytes)}), nil)
	tests := []struct {
		name string
		a    *Authenticator
		r    *http.Request
	}{
		{"1 MB bearer", a, bearer(huge)},
		{"1 MB bearer with spaces", a, request("Authorization", "Bearer "+strings.Repeat("a ", 1<<19))},
		{"1 MB custom header", custom, request("X-Token", huge)},
		{"validly signed token over the limit", a, bearer(justOver)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			wantErr(t, tc.a, tc.r, CodeInvalidJWT, fmt.Sprintf("Could not verify JWT: JWSError (CompactDecodeError token larger than %d bytes)", MaxTokenBytes), http.StatusBadRequest)
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestJWTConcurrentUse(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "ES256", "key": pemPublic(t, &k.p256.PublicKey)}), newClock())
	good := sign(t, jwt.SigningMethodES256, k.p256, userClaims(nil), nil)
	bad := sign(t, jwt.SigningMethodES256, k.p256b, userClaims(nil), nil)
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		go func(i int) {
			tok := good
			if i%2 == 1 {
				tok = bad
			}
			_, err := a.Authenticate(t.Context(), bearer(tok))
			if (err == nil) != (i%2 == 0) {
				errs <- fmt.Errorf("request %d: err = %v", i, err)
				return
			}
			errs <- nil
		}(i)
	}
	for i := 0; i < 64; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
