package auth

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesHasuraFatalSetups(t *testing.T) {
	k := keys(t)
	jwtCfg := mustParseJWT(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}))
	hook := &WebhookConfig{URL: "http://127.0.0.1:1/hook"}
	tests := []struct {
		name string
		cfg  Config
		want string // "" = accepted
	}{
		{"nothing", Config{}, ""},
		{"JWT without admin secret", Config{JWT: jwtCfg}, "Fatal Error : --jwt-secret (HASURA_GRAPHQL_JWT_SECRET) requires --admin-secret*"},
		{"webhook without admin secret", Config{Webhook: hook}, "Fatal Error : --auth-hook (HASURA_GRAPHQL_AUTH_HOOK) requires --admin-secret*"},
		{"JWT and webhook", Config{AdminSecret: "s", JWT: jwtCfg, Webhook: hook}, "Fatal Error: Both webhook and JWT mode cannot be enabled at the same time"},
		{"unauthorized role without admin secret", Config{UnauthorizedRole: "anonymous"}, "Fatal Error: --unauthorized-role*"},
		{"unauthorized role with webhook", Config{AdminSecret: "s", Webhook: hook, UnauthorizedRole: "anonymous"}, "Fatal Error: --unauthorized-role*"},
		{"unauthorized role admin", Config{AdminSecret: "s", UnauthorizedRole: "admin"}, "auth: HASURA_GRAPHQL_UNAUTHORIZED_ROLE cannot be the admin role"},
		{"unauthorized role insane", Config{AdminSecret: "s", UnauthorizedRole: "anon'"}, "auth: invalid role name*"},
		{"webhook with a bad URL", Config{AdminSecret: "s", Webhook: &WebhookConfig{URL: "file:///etc/passwd"}}, "auth: HASURA_GRAPHQL_AUTH_HOOK*"},
		{"webhook with a bad mode", Config{AdminSecret: "s", Webhook: &WebhookConfig{URL: "http://h/", Mode: "PUT"}}, "auth: HASURA_GRAPHQL_AUTH_HOOK_MODE*"},
		{"JWT", Config{AdminSecret: "s", JWT: jwtCfg, UnauthorizedRole: "anonymous"}, ""},
		{"hand-built JWT config is checked", Config{AdminSecret: "s", JWT: &JWTConfig{Type: "HS256", Key: "short"}}, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: Key size too small*"},
		{"webhook", Config{AdminSecret: "s", Webhook: hook}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				a.Close()
				a.Close() // idempotent
				return
			}
			if err == nil {
				a.Close()
				t.Fatalf("New accepted %+v", tc.cfg)
			}
			checkMessage(t, err.Error(), tc.want)
		})
	}
}

func checkMessage(t *testing.T, got, want string) {
	t.Helper()
	if p, ok := strings.CutSuffix(want, "*"); ok {
		if !strings.HasPrefix(got, p) {
			t.Fatalf("error %q, want prefix %q", got, p)
		}
	} else if got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}

func TestParseJWTConfig(t *testing.T) {
	k := keys(t)
	rsaPEM := pemPublic(t, &k.rsa.PublicKey)
	t.Run("full", func(t *testing.T) {
		cfg := mustParseJWT(t, jsonString(t, map[string]any{
			"type": "RS512", "key": rsaPEM, "audience": "aud1", "issuer": "iss1", "allowed_skew": 2.5,
			"claims_namespace_path": "$.hasura", "claims_format": "stringified_json",
			"header": map[string]string{"type": "cookie", "name": "jwt"},
		}))
		if cfg.Type != "RS512" || cfg.Key != rsaPEM || len(cfg.Audience) != 1 || cfg.Audience[0] != "aud1" ||
			cfg.Issuer != "iss1" || cfg.AllowedSkew != 2500*time.Millisecond || cfg.ClaimsNamespacePath != "$.hasura" ||
			cfg.ClaimsFormat != "stringified_json" || cfg.Header.Type != "cookie" || cfg.Header.Name != "jwt" {
			t.Fatalf("cfg = %+v", cfg)
		}
		if strings.Contains(cfg.String(), "BEGIN") || strings.Contains(fmt.Sprint(cfg), "BEGIN") {
			t.Fatal("String leaks the key")
		}
	})
	t.Run("audience list and claims_map", func(t *testing.T) {
		cfg := mustParseJWT(t, `{"jwk_url":"https://idp.example/.well-known/jwks.json","audience":["a","b"],
			"claims_map":{"x-hasura-allowed-roles":{"path":"$.roles"},"x-hasura-default-role":"user","x-hasura-user-id":{"path":"$.sub","default":"0"}}}`)
		if len(cfg.Audience) != 2 || cfg.ClaimsMap["x-hasura-allowed-roles"].Path != "$.roles" ||
			string(cfg.ClaimsMap["x-hasura-default-role"].Value) != `"user"` || string(cfg.ClaimsMap["x-hasura-user-id"].Default) != `"0"` {
			t.Fatalf("cfg = %+v", cfg)
		}
		b, err := json.Marshal(cfg.ClaimsMap)
		if err != nil || !strings.Contains(string(b), `"x-hasura-user-id":{"path":"$.sub","default":"0"}`) {
			t.Fatalf("marshal = %s, %v", b, err)
		}
	})
	short := strings.Repeat("k", 31)
	tests := []struct {
		name, json, want string
	}{
		{"not JSON", `{`, "auth: HASURA_GRAPHQL_JWT_SECRET is not valid JSON*"},
		{"neither key nor jwk_url", `{"type":"HS256"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: key and jwk_url both cannot be empty"},
		{"both key and jwk_url", `{"type":"HS256","key":"` + k.hmac + `","jwk_url":"https://x/"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: key, jwk_url both cannot be present"},
		{"key without type", `{"key":"` + k.hmac + `"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: type is required with key"},
		{"unsupported type", `{"type":"PS256","key":"` + k.hmac + `"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: Key type: PS256 is not supported"},
		{"none type", `{"type":"none","key":"` + k.hmac + `"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: Key type: none is not supported"},
		{"short HMAC key", `{"type":"HS256","key":"` + short + `"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: Key size too small; should be atleast 32 characters"},
		{"short HS512 key", `{"type":"HS512","key":"` + k.hmac[:48] + `"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: Key size too small; should be atleast 64 characters"},
		{"RSA type with an HMAC secret", `{"type":"RS256","key":"` + k.hmac + `"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK*"},
		{"RSA type with an EC key", jsonString(t, map[string]string{"type": "RS256", "key": pemPublic(t, &k.p256.PublicKey)}), "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: an EC key cannot verify RS256"},
		{"ES256 with a P-384 key", jsonString(t, map[string]string{"type": "ES256", "key": pemPublic(t, &k.p384.PublicKey)}), "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: ES256 needs curve P-256, not P-384"},
		{"1024-bit RSA key", jsonString(t, map[string]string{"type": "RS256", "key": pemPublic(t, &k.rsaSmall.PublicKey)}), "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: RSA key of 1024 bits*"},
		{"private key", jsonString(t, map[string]string{"type": "RS256", "key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}), "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: key must be a public key*"},
		{"jwk_url not http", `{"jwk_url":"file:///etc/jwks"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: jwk_url*"},
		{"jwk_url with bad type", `{"jwk_url":"https://x/","type":"XX"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: Invalid JWK: Key type: XX is not supported"},
		{"namespace and path", `{"type":"HS256","key":"` + k.hmac + `","claims_namespace":"a","claims_namespace_path":"$.a"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: claims_namespace and claims_namespace_path both cannot be set"},
		{"bad path", `{"type":"HS256","key":"` + k.hmac + `","claims_namespace_path":"$..a"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: invalid JSON path*"},
		{"bad claims_format", `{"type":"HS256","key":"` + k.hmac + `","claims_format":"xml"}`, "auth: HASURA_GRAPHQL_JWT_SECRET: claims_format*"},
		{"bad header type", `{"type":"HS256","key":"` + k.hmac + `","header":{"type":"Query"}}`, "auth: HASURA_GRAPHQL_JWT_SECRET: header: expected 'type' is 'Authorization' or 'Cookie' or 'CustomHeader'"},
		{"cookie without name", `{"type":"HS256","key":"` + k.hmac + `","header":{"type":"Cookie"}}`, "auth: HASURA_GRAPHQL_JWT_SECRET: header: Cookie needs a name"},
		{"bad audience", `{"type":"HS256","key":"` + k.hmac + `","audience":5}`, "auth: HASURA_GRAPHQL_JWT_SECRET: audience*"},
		{"negative skew", `{"type":"HS256","key":"` + k.hmac + `","allowed_skew":-1}`, "auth: HASURA_GRAPHQL_JWT_SECRET: allowed_skew*"},
		{"claims_map without allowed roles", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-default-role":"user"}}`, "auth: HASURA_GRAPHQL_JWT_SECRET: claims_map: x-hasura-allowed-roles is expected but not found"},
		{"claims_map without default role", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-allowed-roles":["user"]}}`, "auth: HASURA_GRAPHQL_JWT_SECRET: claims_map: x-hasura-default-role is expected but not found"},
		{"claims_map literal roles not a list", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-allowed-roles":"user","x-hasura-default-role":"user"}}`, "auth: HASURA_GRAPHQL_JWT_SECRET: claims_map: x-hasura-allowed-roles*"},
		{"claims_map non-session key", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-allowed-roles":["u"],"x-hasura-default-role":"u","user":"x"}}`, "auth: HASURA_GRAPHQL_JWT_SECRET: claims_map: \"user\" is not an x-hasura-* session variable"},
		{"claims_map object without path", `{"type":"HS256","key":"` + k.hmac + `","claims_map":{"x-hasura-allowed-roles":{"default":["u"]},"x-hasura-default-role":"u"}}`, "auth: HASURA_GRAPHQL_JWT_SECRET is not valid JSON*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseJWTConfig(tc.json)
			if err == nil {
				t.Fatalf("accepted: %+v", cfg)
			}
			checkMessage(t, err.Error(), tc.want)
		})
	}
}

func TestParseJWTConfigAcceptsKeyForms(t *testing.T) {
	k := keys(t)
	for _, tc := range []struct{ name, typ, key string }{
		{"PKIX RSA", "RS256", pemPublic(t, &k.rsa.PublicKey)},
		{"RSA certificate", "RS384", pemCert(t, k.rsa)},
		{"PKCS#1 RSA", "RS512", pkcs1PEM(t, k)},
		{"EC P-521", "ES512", pemPublic(t, &k.p521.PublicKey)},
		{"Ed25519", "Ed25519", pemPublic(t, k.ed.Public())},
		{"EdDSA alias", "EdDSA", pemPublic(t, k.ed.Public())},
		{"PEM with surrounding whitespace", "RS256", "\n  " + pemPublic(t, &k.rsa.PublicKey) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustParseJWT(t, jsonString(t, map[string]string{"type": tc.typ, "key": tc.key}))
		})
	}
}

func pkcs1PEM(t *testing.T, k *testKeys) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}))
}
