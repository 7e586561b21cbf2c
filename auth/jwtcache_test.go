package auth

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// cacheStats returns the number of cached tokens and of requests served
// from the cache so far.
func cacheStats(a *Authenticator) (entries int, hits uint64) { return a.jwt.cache.stats() }

// wantHits fails the test unless the cache has served want requests.
func wantHits(t *testing.T, a *Authenticator, want uint64) {
	t.Helper()
	if _, hits := cacheStats(a); hits != want {
		t.Fatalf("cache hits = %d, want %d", hits, want)
	}
}

func TestJWTCacheServesRepeatedToken(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), newClock())
	tok := sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(nil), nil)

	first := wantOK(t, a, bearer(tok))
	wantHits(t, a, 0)
	first.Vars["x-hasura-user-id"] = "tampered" // sessions are the caller's to change
	second := wantOK(t, a, bearer(tok))
	wantHits(t, a, 1)
	want := &Session{Role: "user", Vars: map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "42"}, Expires: time.Unix(t0+3600, 0)}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("cached session = %+v, want %+v", second, want)
	}
	if n, _ := cacheStats(a); n != 1 {
		t.Errorf("cache holds %d tokens, want 1", n)
	}
}

func TestJWTCacheRechecksDates(t *testing.T) {
	k := keys(t)
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]any{"type": "HS256", "key": k.hmac, "allowed_skew": 30}), clk)
	tok := sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(nil), nil) // exp t0+3600

	wantOK(t, a, bearer(tok))
	clk.Advance(3600*time.Second + 30*time.Second) // exactly exp+skew: still valid
	if s := wantOK(t, a, bearer(tok)); !s.Expires.Equal(time.Unix(t0+3600, 0)) {
		t.Errorf("Expires = %v, want the token's exp", s.Expires)
	}
	wantHits(t, a, 1)
	clk.Advance(time.Second)
	wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWTExpired", http.StatusBadRequest)
	wantHits(t, a, 2) // refused by the cached entry's own date check
	if n, _ := cacheStats(a); n != 0 {
		t.Errorf("expired token still cached (%d entries)", n)
	}
	wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWTExpired", http.StatusBadRequest)
	wantHits(t, a, 2)
}

func TestJWTCacheNotBeforeIsNotCachedAsFailure(t *testing.T) {
	k := keys(t)
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), clk)
	tok := sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(map[string]any{"nbf": t0 + 60}), nil)

	wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWTNotYetValid", http.StatusBadRequest)
	clk.Advance(time.Minute)
	wantOK(t, a, bearer(tok))
	wantOK(t, a, bearer(tok))
	wantHits(t, a, 1)
}

func TestJWTCacheFailuresRepeat(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]any{"type": "HS256", "key": k.hmac, "audience": "rowguard"}), newClock())
	hs := func(c map[string]any) string { return sign(t, jwt.SigningMethodHS256, []byte(k.hmac), c, nil) }
	aud := map[string]any{"aud": "rowguard"}
	tests := []struct {
		name, token, code, msg string
	}{
		{"bad signature", sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("z", 64)), userClaims(aud), nil),
			CodeInvalidJWT, "Could not verify JWT: JWSError JWSInvalidSignature"},
		{"wrong audience", hs(userClaims(map[string]any{"aud": "other"})), CodeInvalidJWT, "Could not verify JWT: JWTNotInAudience"},
		{"namespace missing", hs(userClaims(map[string]any{"aud": "rowguard", DefaultClaimsNamespace: nil})),
			CodeJWTInvalidClaims, "claims key: 'https://hasura.io/jwt/claims' not found"},
		// Verified and cached, but its roles fail on every request.
		{"default role not allowed", hs(userClaims(map[string]any{"aud": "rowguard", DefaultClaimsNamespace: map[string]any{
			"x-hasura-allowed-roles": []string{"user"}, "x-hasura-default-role": "boss"}})),
			CodeAccessDenied, "Your requested role is not in allowed roles"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 {
				wantErr(t, a, bearer(tc.token), tc.code, tc.msg, http.StatusBadRequest)
			}
		})
	}
	if n, _ := cacheStats(a); n != 1 {
		t.Errorf("cache holds %d tokens, want only the verified one", n)
	}
}

func TestJWTCacheRolesPerRequest(t *testing.T) {
	k := keys(t)
	cfg := jsonString(t, map[string]string{"type": "HS256", "key": k.hmac})
	tok := sign(t, jwt.SigningMethodHS256, []byte(k.hmac), userClaims(nil), nil) // allowed user, editor; default user
	warm := jwtAuth(t, cfg, newClock())
	wantOK(t, warm, bearer(tok))
	roleHeaders := [][]string{nil, {"X-Hasura-Role", "editor"}, {"X-Hasura-Role", "user"}, {"X-Hasura-Role", "admin"},
		{"X-Hasura-Role", "bad/role"}, {"X-Hasura-Role", ""}, {"X-Hasura-Role", "editor", "X-Hasura-User-Id", "7"}}
	for i, h := range roleHeaders {
		t.Run(fmt.Sprint(h), func(t *testing.T) {
			wantS, wantE := authenticate(t, jwtAuth(t, cfg, newClock()), bearer(tok, h...))
			gotS, gotE := authenticate(t, warm, bearer(tok, h...))
			wantHits(t, warm, uint64(i+1))
			if !reflect.DeepEqual(gotS, wantS) || !reflect.DeepEqual(gotE, wantE) {
				t.Errorf("cached: %+v %+v; uncached: %+v %+v", gotS, gotE, wantS, wantE)
			}
		})
	}
}

func TestJWTCacheKeyRotatedOut(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "k1", "RS256"))
	srv.headers["Cache-Control"] = "max-age=60"
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), clk)
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(nil), map[string]any{"kid": "k1"})

	wantOK(t, a, bearer(tok))
	wantOK(t, a, bearer(tok))
	wantHits(t, a, 1)

	t.Run("same key refetched", func(t *testing.T) {
		clk.Advance(61 * time.Second)
		wantOK(t, a, bearer(tok)) // a new *verifyKey: verified in full again
		wantOK(t, a, bearer(tok))
		wantHits(t, a, 3)
		if n := srv.hits.Load(); n != 2 {
			t.Errorf("JWKS fetched %d times, want 2", n)
		}
	})
	t.Run("kid now names another key", func(t *testing.T) {
		srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf(t, &k.rsa2.PublicKey, "k1", "RS256")} })
		clk.Advance(61 * time.Second)
		wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWSError JWSInvalidSignature", http.StatusBadRequest)
		wantHits(t, a, 4)
	})
	t.Run("key removed", func(t *testing.T) {
		srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf(t, &k.rsa.PublicKey, "k1", "RS256")} })
		clk.Advance(61 * time.Second)
		wantOK(t, a, bearer(tok))
		srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf(t, &k.p256.PublicKey, "k2", "")} })
		clk.Advance(61 * time.Second)
		wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", http.StatusBadRequest)
		wantHits(t, a, 5)
		if n, _ := cacheStats(a); n != 0 {
			t.Errorf("token of a removed key still cached (%d entries)", n)
		}
	})
}

func TestJWTCacheBounds(t *testing.T) {
	k := keys(t)
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), newClock())
	hs := func(c map[string]any) string { return sign(t, jwt.SigningMethodHS256, []byte(k.hmac), c, nil) }

	t.Run("large token not cached", func(t *testing.T) {
		big := hs(userClaims(map[string]any{"pad": strings.Repeat("p", maxCachedTokenBytes)}))
		wantOK(t, a, bearer(big))
		wantOK(t, a, bearer(big))
		if n, hits := cacheStats(a); n != 0 || hits != 0 {
			t.Errorf("cache: %d entries, %d hits; want none", n, hits)
		}
	})
	t.Run("at most maxCachedTokens", func(t *testing.T) {
		toks := make([]string, maxCachedTokens+100)
		for i := range toks {
			toks[i] = hs(userClaims(map[string]any{"sub": fmt.Sprint(i)}))
			wantOK(t, a, bearer(toks[i]))
		}
		if n, _ := cacheStats(a); n != maxCachedTokens {
			t.Errorf("cache holds %d tokens, want %d", n, maxCachedTokens)
		}
		for _, tok := range toks { // evicted or not, every token still works
			wantOK(t, a, bearer(tok))
		}
		if n, _ := cacheStats(a); n != maxCachedTokens {
			t.Errorf("cache holds %d tokens, want %d", n, maxCachedTokens)
		}
	})
}

func TestJWTCacheConcurrentUse(t *testing.T) {
	k := keys(t)
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]string{"type": "HS256", "key": k.hmac}), clk)
	hs := func(c map[string]any) string { return sign(t, jwt.SigningMethodHS256, []byte(k.hmac), c, nil) }
	good := hs(userClaims(nil))
	shortLived := hs(userClaims(map[string]any{"exp": t0 + 10}))
	bad := sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("z", 64)), userClaims(nil), nil)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				role := []string{"user", "editor", "admin"}[(g+i)%3]
				s, err := a.Authenticate(t.Context(), bearer(good, "X-Hasura-Role", role))
				if (err == nil) != (role != "admin") || (err == nil && s.Role != role) {
					errs <- fmt.Errorf("good token as %s: %v %v", role, s, err)
					return
				}
				if _, err := a.Authenticate(t.Context(), bearer(bad)); err == nil {
					errs <- fmt.Errorf("badly signed token accepted")
					return
				}
				// Accepted while the clock is before exp, refused once it
				// is past; the clock moves while this runs.
				from := clk.Now().Unix()
				_, err = a.Authenticate(t.Context(), bearer(shortLived))
				to := clk.Now().Unix()
				if (to <= t0+10 && err != nil) || (from > t0+10 && err == nil) {
					errs <- fmt.Errorf("short-lived token between %d and %d: err = %v", from-t0, to-t0, err)
					return
				}
				if g == 0 && i%20 == 0 {
					clk.Advance(time.Second)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, hits := cacheStats(a); hits == 0 {
		t.Error("no request was served from the cache")
	}
}
