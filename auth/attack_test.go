package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// attack is one hostile request and the refusal it must get.
type attack struct {
	name string
	a    *Authenticator
	r    *http.Request
	code string
	msg  string // a trailing "*" makes it a prefix
}

// hitCounter is a listener that counts every request reaching it: the
// proof that no header of a token makes the server call out.
func hitCounter(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// hs256Raw signs header and payload JSON texts exactly as given, so tests
// can send JSON that encoding/json would never produce (duplicate keys).
func hs256Raw(hdr, payload string, key []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(hdr)) + "." + enc([]byte(payload))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + enc(m.Sum(nil))
}

// TestJWTAttacksRejected runs the catalogue of token attacks of the
// security suite against every verification mode; each must be refused
// with Hasura's error code, and none may reach any URL a token names.
func TestJWTAttacksRejected(t *testing.T) {
	k := keys(t)
	canary, canaryHits := hitCounter(t)
	clk := newClock()
	hmacKey := []byte(k.hmac)
	rsaPEM := pemPublic(t, &k.rsa.PublicKey)
	hsAuth := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), clk)
	rsAuth := jwtAuth(t, jsonString(t, map[string]string{"type": "RS256", "key": rsaPEM}), clk)
	strict := jwtAuth(t, jsonString(t, map[string]any{"type": "HS256", "key": k.hmac,
		"issuer": "https://issuer.example", "audience": "rowguard"}), clk)
	jwks := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "good", "RS256"))
	jwksAuth := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": jwks.URL}), clk)

	hs := func(c map[string]any, hdr map[string]any) string {
		return sign(t, jwt.SigningMethodHS256, hmacKey, c, hdr)
	}
	good := map[string]any{"iss": "https://issuer.example", "aud": "rowguard"}
	strictClaims := func(extra map[string]any) map[string]any {
		c := userClaims(good)
		for key, v := range extra {
			if v == nil {
				delete(c, key)
			} else {
				c[key] = v
			}
		}
		return c
	}
	unsigned := func(alg string) string {
		return rawToken(t, map[string]any{"alg": alg, "typ": "JWT"}, userClaims(nil), nil)
	}
	redirect := func(hdr map[string]any) map[string]any {
		hdr["kid"] = "evil"
		return hdr
	}
	attackerJWK := jwkOf(t, &k.attackerRSA.PublicKey, "evil", "RS256")
	roles := []string{"user", "editor"}
	const (
		noSig    = "Could not verify JWT: JWSError JWSNoSignatures"
		badSig   = "Could not verify JWT: JWSError JWSInvalidSignature"
		noKeys   = "Could not verify JWT: JWSError NoUsableKeys"
		decode   = "Could not verify JWT: JWTClaimsSetDecodeError*"
		notAud   = "Could not verify JWT: JWTNotInAudience"
		notIss   = "Could not verify JWT: JWTNotInIssuer"
		tooLarge = "Could not verify JWT: JWSError (CompactDecodeError token larger than 65536 bytes)"
	)
	huge := strings.Repeat("A", 1<<20/3)
	attacks := []attack{
		{"alg none", hsAuth, bearer(unsigned("none")), CodeInvalidJWT, noSig},
		{"alg None", hsAuth, bearer(unsigned("None")), CodeInvalidJWT, noSig},
		{"alg NONE", hsAuth, bearer(unsigned("NONE")), CodeInvalidJWT, noSig},
		{"alg nOnE", rsAuth, bearer(unsigned("nOnE")), CodeInvalidJWT, noSig},
		{"alg none in JWKS mode", jwksAuth, bearer(unsigned("none")), CodeInvalidJWT, noSig},
		{"alg missing", hsAuth, bearer(rawToken(t, map[string]any{"typ": "JWT"}, userClaims(nil), nil)), CodeInvalidJWT, "Could not verify JWT: JWSError (JSONDecodeError*"},
		{"HS256 signed with the RSA public key", rsAuth, bearer(sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), userClaims(nil), nil)), CodeInvalidJWT, badSig},
		{"HS256 signed with the RSA modulus", rsAuth, bearer(sign(t, jwt.SigningMethodHS256, k.rsa.PublicKey.N.Bytes(), userClaims(nil), nil)), CodeInvalidJWT, badSig},
		{"HS256 with the JWKS key's PEM", jwksAuth, bearer(sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), userClaims(nil), map[string]any{"kid": "good"})), CodeInvalidJWT, badSig},
		{"jku to the attacker", rsAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), redirect(map[string]any{"jku": canary.URL + "/jwks"}))), CodeInvalidJWT, badSig},
		{"x5u to the attacker", rsAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), redirect(map[string]any{"x5u": canary.URL + "/cert"}))), CodeInvalidJWT, badSig},
		{"embedded jwk", rsAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), redirect(map[string]any{"jwk": attackerJWK}))), CodeInvalidJWT, badSig},
		{"kid naming a file", rsAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), map[string]any{"kid": "../../../dev/null"})), CodeInvalidJWT, badSig},
		{"jku in JWKS mode", jwksAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), redirect(map[string]any{"jku": canary.URL}))), CodeInvalidJWT, noKeys},
		{"embedded jwk in JWKS mode", jwksAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), redirect(map[string]any{"jwk": attackerJWK}))), CodeInvalidJWT, noKeys},
		{"attacker key under the good kid", jwksAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), map[string]any{"kid": "good", "x5u": canary.URL})), CodeInvalidJWT, badSig},
		{"expired", hsAuth, bearer(hs(userClaims(map[string]any{"exp": t0 - 3600}), nil)), CodeInvalidJWT, "Could not verify JWT: JWTExpired"},
		{"nbf in the future", hsAuth, bearer(hs(userClaims(map[string]any{"nbf": t0 + 3600}), nil)), CodeInvalidJWT, "Could not verify JWT: JWTNotYetValid"},
		{"exp a string", hsAuth, bearer(hs(userClaims(map[string]any{"exp": "9999999999"}), nil)), CodeInvalidJWT, decode},
		{"exp an object", hsAuth, bearer(hs(userClaims(map[string]any{"exp": map[string]any{"$gt": 0}}), nil)), CodeInvalidJWT, decode},
		{"exp null", hsAuth, bearer(hs(userClaims(map[string]any{"exp": []any{}}), nil)), CodeInvalidJWT, decode},
		{"wrong aud", strict, bearer(hs(strictClaims(map[string]any{"aud": "other"}), nil)), CodeInvalidJWT, notAud},
		{"missing aud", strict, bearer(hs(strictClaims(map[string]any{"aud": nil}), nil)), CodeInvalidJWT, notAud},
		{"aud array without ours", strict, bearer(hs(strictClaims(map[string]any{"aud": []string{"other", "rowguard-x"}}), nil)), CodeInvalidJWT, notAud},
		{"aud empty array", strict, bearer(hs(strictClaims(map[string]any{"aud": []string{}}), nil)), CodeInvalidJWT, notAud},
		{"aud array of non-strings", strict, bearer(hs(strictClaims(map[string]any{"aud": []any{1, true}}), nil)), CodeInvalidJWT, decode},
		{"wrong iss", strict, bearer(hs(strictClaims(map[string]any{"iss": "https://issuer.example.evil"}), nil)), CodeInvalidJWT, notIss},
		{"missing iss", strict, bearer(hs(strictClaims(map[string]any{"iss": nil}), nil)), CodeInvalidJWT, notIss},
		{"expired and badly signed", hsAuth, bearer(sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("z", 64)), userClaims(map[string]any{"exp": t0 - 3600}), nil)), CodeInvalidJWT, badSig},
		{"expired and signed by the attacker's RSA key", rsAuth, bearer(sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(map[string]any{"exp": t0 - 3600}), nil)), CodeInvalidJWT, badSig},
		{"allowed roles a string", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": "user", "x-hasura-default-role": "user"}), nil)), CodeJWTInvalidClaims, "invalid x-hasura-allowed-roles*"},
		{"allowed roles an object", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": map[string]any{"0": "user"}, "x-hasura-default-role": "user"}), nil)), CodeJWTInvalidClaims, "invalid x-hasura-allowed-roles*"},
		{"allowed roles a PostgreSQL array literal", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": "{user,admin}", "x-hasura-default-role": "admin"}), nil)), CodeJWTInvalidClaims, "invalid x-hasura-allowed-roles*"},
		{"default role missing", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": roles}), nil)), CodeJWTMissingRoleClaims, "JWT claim does not contain x-hasura-default-role"},
		{"default role outside allowed roles", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "admin"}), nil)), CodeAccessDenied, "Your requested role is not in allowed roles"},
		{"X-Hasura-Role escalation to admin", hsAuth, bearer(hs(userClaims(nil), nil), "X-Hasura-Role", "admin"), CodeAccessDenied, "Your requested role is not in allowed roles"},
		{"default role in two cases", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user", "X-Hasura-Default-Role": "editor"}), nil)), CodeJWTInvalidClaims, "duplicate claim x-hasura-default-role*"},
		{"user id in two cases", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": roles, "x-hasura-default-role": "user", "x-hasura-user-id": "1", "X-HASURA-USER-ID": "2"}), nil)), CodeJWTInvalidClaims, "duplicate claim x-hasura-user-id*"},
		{"allowed roles in two cases", hsAuth, bearer(hs(withHasura(map[string]any{"x-hasura-allowed-roles": roles, "X-Hasura-Allowed-Roles": []string{"admin"}, "x-hasura-default-role": "user"}), nil)), CodeJWTInvalidClaims, "duplicate claim x-hasura-allowed-roles*"},
		{"duplicated user id key", hsAuth, bearer(hs256Raw(`{"alg":"HS256","typ":"JWT"}`,
			`{"exp":1700003600,"https://hasura.io/jwt/claims":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user","x-hasura-user-id":"1","x-hasura-user-id":"2"}}`, hmacKey)),
			CodeInvalidJWT, `Could not verify JWT: JWTClaimsSetDecodeError "Error in $: duplicate key 'x-hasura-user-id'"`},
		{"duplicated exp key", hsAuth, bearer(hs256Raw(`{"alg":"HS256","typ":"JWT"}`,
			`{"exp":1,"exp":1700003600,"https://hasura.io/jwt/claims":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user"}}`, hmacKey)),
			CodeInvalidJWT, `Could not verify JWT: JWTClaimsSetDecodeError "Error in $: duplicate key 'exp'"`},
		{"duplicated namespace key", hsAuth, bearer(hs256Raw(`{"alg":"HS256","typ":"JWT"}`,
			`{"https://hasura.io/jwt/claims":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user"},"https://hasura.io/jwt/claims":{"x-hasura-allowed-roles":["admin"],"x-hasura-default-role":"admin"}}`, hmacKey)),
			CodeInvalidJWT, `Could not verify JWT: JWTClaimsSetDecodeError "Error in $: duplicate key 'https://hasura.io/jwt/claims'"`},
		{"duplicated alg header", hsAuth, bearer(hs256Raw(`{"alg":"none","alg":"HS256"}`,
			`{"https://hasura.io/jwt/claims":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user"}}`, hmacKey)),
			CodeInvalidJWT, `Could not verify JWT: JWSError (JSONDecodeError "duplicate key \"alg\"")`},
		{"1 MB bearer token", rsAuth, bearer(huge + "." + huge + "." + huge), CodeInvalidJWT, tooLarge},
		{"1 MB token in JWKS mode", jwksAuth, bearer(huge + "." + huge + "." + huge), CodeInvalidJWT, tooLarge},
	}
	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.a, tc.r, tc.code, tc.msg, http.StatusBadRequest)
		})
	}
	if n := canaryHits.Load(); n != 0 {
		t.Errorf("the attacker's URL was requested %d times", n)
	}
	// Only the configured JWKS URL is ever fetched, once, for "good".
	if n := jwks.hits.Load(); n > 2 {
		t.Errorf("configured JWKS fetched %d times", n)
	}
	t.Logf("%d token attacks tried, all refused; %d requests reached the attacker's URL", len(attacks), canaryHits.Load())
}

// TestJWTHugeTokenAllocationsBounded: a 1 MB token is refused before it is
// decoded, so refusing it allocates a few small values, not megabytes.
func TestJWTHugeTokenAllocationsBounded(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "RS256", "key": pemPublic(t, &k.rsa.PublicKey)}), newClock())
	part := strings.Repeat("A", 1<<20/3)
	r := bearer(part + "." + part + "." + part)
	ctx := t.Context()
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := a.Authenticate(ctx, r); err == nil {
			t.Fatal("1 MB token accepted")
		}
	})
	if allocs > 20 {
		t.Errorf("refusing a 1 MB token made %.0f allocations, want at most 20", allocs)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		a.Authenticate(ctx, r)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 16<<10 {
		t.Errorf("refusing a 1 MB token allocated %d bytes, want at most 16 KiB", per)
	}
}

// TestJWKSRotationAttacks: a key removed from the JWKS stops verifying as
// soon as the set is refreshed, and an outage of the JWKS endpoint neither
// drops the last good keys nor lets an unknown key in.
func TestJWKSRotationAttacks(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "old", "RS256"))
	srv.headers["Cache-Control"] = "max-age=60"
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), clk)
	oldTok := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(map[string]any{"exp": t0 + 86400}), map[string]any{"kid": "old"})
	newTok := sign(t, jwt.SigningMethodRS256, k.rsa2, userClaims(map[string]any{"exp": t0 + 86400}), map[string]any{"kid": "new"})
	oldNoKid := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(map[string]any{"exp": t0 + 86400}), nil)
	wantOK(t, a, bearer(oldTok))

	srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf(t, &k.rsa2.PublicKey, "new", "RS256")} })
	clk.Advance(61 * time.Second)
	wantOK(t, a, bearer(newTok))
	for name, tok := range map[string]string{"old kid": oldTok, "old key without kid": oldNoKid} {
		t.Run("refused after rotation: "+name, func(t *testing.T) {
			s, e := authenticate(t, a, bearer(tok))
			if e == nil {
				t.Fatalf("token of the rotated-out key accepted: %+v", s)
			}
			if e.Code != CodeInvalidJWT {
				t.Fatalf("code = %s (%s)", e.Code, e.Message)
			}
		})
	}

	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound} {
		t.Run(fmt.Sprintf("JWKS answering %d", status), func(t *testing.T) {
			srv.set(func(s *jwksServer) { s.status = status })
			clk.Advance(61 * time.Second)
			wantOK(t, a, bearer(newTok))
			wantErr(t, a, bearer(oldTok), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", http.StatusBadRequest)
			attacker := sign(t, jwt.SigningMethodRS256, k.attackerRSA, userClaims(nil), map[string]any{"kid": "new"})
			wantErr(t, a, bearer(attacker), CodeInvalidJWT, "Could not verify JWT: JWSError JWSInvalidSignature", http.StatusBadRequest)
		})
	}
	t.Run("JWKS endpoint down", func(t *testing.T) {
		srv.Close()
		clk.Advance(61 * time.Second)
		wantOK(t, a, bearer(newTok))
		wantErr(t, a, bearer(oldTok), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", http.StatusBadRequest)
	})
}
