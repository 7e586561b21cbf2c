package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JWK Set that tests can change.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	status  int
	headers map[string]string
	delay   time.Duration
	hits    atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys, status: http.StatusOK, headers: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		status, delay := s.status, s.delay
		body, _ := json.Marshal(map[string]any{"keys": s.keys})
		for k, v := range s.headers {
			w.Header().Set(k, v)
		}
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == http.StatusOK {
			w.Write(body)
		}
	}))
	t.Cleanup(s.Server.Close)
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func TestJWKSRotation(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "k1", "RS256"))
	srv.headers["Cache-Control"] = "public, max-age=60"
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), clk)
	tok1 := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(nil), map[string]any{"kid": "k1"})
	tok2 := sign(t, jwt.SigningMethodES256, k.p256, userClaims(nil), map[string]any{"kid": "k2"})

	t.Run("first key fetched on demand", func(t *testing.T) {
		wantOK(t, a, bearer(tok1))
		wantOK(t, a, bearer(tok1))
		if n := srv.hits.Load(); n != 1 {
			t.Fatalf("JWKS fetched %d times, want 1", n)
		}
	})
	srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf(t, &k.p256.PublicKey, "k2", "")} })
	t.Run("unknown kid right after a fetch is rate-limited", func(t *testing.T) {
		clk.Advance(5 * time.Second)
		wantErr(t, a, bearer(tok2), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", http.StatusBadRequest)
		if n := srv.hits.Load(); n != 1 {
			t.Fatalf("JWKS fetched %d times, want 1", n)
		}
	})
	t.Run("unknown kid after the minimum interval triggers a refresh", func(t *testing.T) {
		clk.Advance(6 * time.Second)
		wantOK(t, a, bearer(tok2))
		if n := srv.hits.Load(); n != 2 {
			t.Fatalf("JWKS fetched %d times, want 2", n)
		}
	})
	t.Run("old key refused after the refresh", func(t *testing.T) {
		wantErr(t, a, bearer(tok1), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", http.StatusBadRequest)
	})

	srv.set(func(s *jwksServer) {
		s.keys = []map[string]any{jwkOf(t, k.ed.Public(), "k3", "")}
		s.headers = map[string]string{"Expires": clk.Now().Add(20 * time.Minute).UTC().Format(http.TimeFormat)}
	})
	tok3 := sign(t, jwt.SigningMethodEdDSA, k.ed, userClaims(nil), map[string]any{"kid": "k3"})
	t.Run("keys expire after max-age", func(t *testing.T) {
		clk.Advance(59 * time.Second)
		wantOK(t, a, bearer(tok2)) // still within max-age of the second fetch
		if n := srv.hits.Load(); n != 2 {
			t.Fatalf("JWKS fetched %d times, want 2", n)
		}
		clk.Advance(2 * time.Second)
		wantErr(t, a, bearer(tok2), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", 0)
		wantOK(t, a, bearer(tok3))
		if n := srv.hits.Load(); n != 3 {
			t.Fatalf("JWKS fetched %d times, want 3", n)
		}
	})
	t.Run("Expires header", func(t *testing.T) {
		clk.Advance(9 * time.Minute)
		wantOK(t, a, bearer(tok3))
		if n := srv.hits.Load(); n != 3 {
			t.Fatalf("JWKS fetched %d times, want 3", n)
		}
		clk.Advance(11 * time.Minute)
		wantOK(t, a, bearer(tok3))
		if n := srv.hits.Load(); n != 4 {
			t.Fatalf("JWKS fetched %d times, want 4", n)
		}
	})
}

func TestJWKSFailureKeepsLastGoodKeys(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "k1", ""))
	srv.headers["Cache-Control"] = "max-age=30"
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), clk)
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(nil), map[string]any{"kid": "k1"})
	wantOK(t, a, bearer(tok))

	failures := []struct {
		name string
		f    func(s *jwksServer)
	}{
		{"HTTP 500", func(s *jwksServer) { s.status = http.StatusInternalServerError }},
		{"empty key set", func(s *jwksServer) { s.status, s.keys = http.StatusOK, nil }},
		{"only unusable keys", func(s *jwksServer) {
			s.keys = []map[string]any{{"kty": "RSA", "kid": "bad", "n": "AQAB", "e": "AQAB"}, {"kty": "oct", "k": "c2VjcmV0"}}
		}},
		{"small RSA key", func(s *jwksServer) { s.keys = []map[string]any{jwkOf(t, &k.rsaSmall.PublicKey, "small", "")} }},
	}
	hits := srv.hits.Load()
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(tc.f)
			clk.Advance(31 * time.Second)
			wantOK(t, a, bearer(tok))
			hits++
			if n := srv.hits.Load(); n != hits {
				t.Fatalf("JWKS fetched %d times, want %d", n, hits)
			}
			// A failed refresh is retried no sooner than the minimum interval.
			wantOK(t, a, bearer(tok))
			if n := srv.hits.Load(); n != hits {
				t.Fatalf("JWKS fetched %d times, want %d", n, hits)
			}
		})
	}
	t.Run("small RSA key never verifies", func(t *testing.T) {
		small := sign(t, jwt.SigningMethodRS256, k.rsaSmall, userClaims(nil), map[string]any{"kid": "small"})
		clk.Advance(31 * time.Second)
		wantErr(t, a, bearer(small), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", 0)
	})
}

func TestJWKSUnavailableAtStart(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.rsa.PublicKey, "k1", ""))
	srv.status = http.StatusServiceUnavailable
	clk := newClock()
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), clk)
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, userClaims(nil), map[string]any{"kid": "k1"})
	wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", 0)
	srv.set(func(s *jwksServer) { s.status = http.StatusOK })
	wantErr(t, a, bearer(tok), CodeInvalidJWT, "Could not verify JWT: JWSError NoUsableKeys", 0) // rate-limited
	clk.Advance(DefaultJWKSMinRefreshInterval)
	wantOK(t, a, bearer(tok))
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
}

func TestJWKSKeySelection(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t,
		jwkOf(t, &k.rsa.PublicKey, "rsa", ""),
		jwkOf(t, &k.p256.PublicKey, "ec", ""),
		jwkOf(t, &k.p384.PublicKey, "ec384", ""),
		jwkOf(t, k.ed.Public(), "ed", "EdDSA"),
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": jwkOf(t, &k.rsa2.PublicKey, "", "")["n"], "e": "AQAB"},
	)
	tests := []struct {
		name   string
		typ    string
		method jwt.SigningMethod
		signer any
		kid    string
		want   string
	}{
		{"RSA by kid", "", jwt.SigningMethodRS256, k.rsa, "rsa", ""},
		{"RSA without kid", "", jwt.SigningMethodRS512, k.rsa, "", ""},
		{"EC by kid", "", jwt.SigningMethodES256, k.p256, "ec", ""},
		{"P-384 by kid", "", jwt.SigningMethodES384, k.p384, "ec384", ""},
		{"Ed25519 by kid", "", jwt.SigningMethodEdDSA, k.ed, "ed", ""},
		{"kid of another key", "", jwt.SigningMethodES256, k.p256, "rsa", "Could not verify JWT: JWSError JWSInvalidSignature"},
		{"unknown kid", "", jwt.SigningMethodRS256, k.rsa, "nope", "Could not verify JWT: JWSError NoUsableKeys"},
		{"encryption key not used", "", jwt.SigningMethodRS256, k.rsa2, "enc", "Could not verify JWT: JWSError NoUsableKeys"},
		{"ES256 against the P-384 key", "", jwt.SigningMethodES256, k.p256, "ec384", "Could not verify JWT: JWSError JWSInvalidSignature"},
		{"HS256 with the RSA modulus", "", jwt.SigningMethodHS256, []byte(jwkOf(t, &k.rsa.PublicKey, "", "")["n"].(string)), "rsa", "Could not verify JWT: JWSError JWSInvalidSignature"},
		{"type restricts algorithms", "RS256", jwt.SigningMethodES256, k.p256, "ec", "Could not verify JWT: JWSError NoUsableKeys"},
		{"type allows its own", "RS256", jwt.SigningMethodRS256, k.rsa, "rsa", ""},
		{"type RS256 refuses RS512", "RS256", jwt.SigningMethodRS512, k.rsa, "rsa", "Could not verify JWT: JWSError JWSInvalidSignature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"jwk_url": srv.URL}
			if tc.typ != "" {
				cfg["type"] = tc.typ
			}
			a := jwtAuth(t, jsonString(t, cfg), newClock())
			hdr := map[string]any{}
			if tc.kid != "" {
				hdr["kid"] = tc.kid
			}
			r := bearer(sign(t, tc.method, tc.signer, userClaims(nil), hdr))
			if tc.want == "" {
				wantOK(t, a, r)
				return
			}
			wantErr(t, a, r, CodeInvalidJWT, tc.want, http.StatusBadRequest)
		})
	}
}

func TestJWKSSingleFetchForConcurrentRequests(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.p256.PublicKey, "k1", ""))
	srv.delay = 50 * time.Millisecond
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), newClock())
	tok := sign(t, jwt.SigningMethodES256, k.p256, userClaims(nil), map[string]any{"kid": "k1"})
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Authenticate(context.Background(), bearer(tok)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}

func TestJWKSWaitBoundedByContext(t *testing.T) {
	k := keys(t)
	srv := newJWKSServer(t, jwkOf(t, &k.p256.PublicKey, "k1", ""))
	srv.delay = 2 * time.Second
	a := jwtAuth(t, jsonString(t, map[string]any{"jwk_url": srv.URL}), newClock())
	tok := sign(t, jwt.SigningMethodES256, k.p256, userClaims(nil), map[string]any{"kid": "k1"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := a.Authenticate(ctx, bearer(tok)); err == nil {
		t.Fatal("want an error while the JWKS is not fetched")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %v", d)
	}
	a.Close() // cancels the fetch under way
}

func TestJWKSTTL(t *testing.T) {
	now := time.Unix(t0, 0)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, defaultJWKSTTL},
		{"max-age", map[string]string{"Cache-Control": "public, max-age=300"}, 300 * time.Second},
		{"s-maxage", map[string]string{"Cache-Control": "s-maxage=120"}, 120 * time.Second},
		{"no-cache", map[string]string{"Cache-Control": "no-cache, max-age=300"}, 0},
		{"no-store", map[string]string{"Cache-Control": "no-store"}, 0},
		{"must-revalidate with max-age", map[string]string{"Cache-Control": "must-revalidate, no-cache, max-age=30"}, 30 * time.Second},
		{"must-revalidate alone", map[string]string{"Cache-Control": "must-revalidate"}, 0},
		{"huge max-age capped", map[string]string{"Cache-Control": "max-age=99999999"}, maxJWKSTTL},
		{"expires", map[string]string{"Expires": now.Add(time.Hour).UTC().Format(http.TimeFormat)}, time.Hour},
		{"expires in the past", map[string]string{"Expires": now.Add(-time.Hour).UTC().Format(http.TimeFormat)}, 0},
		{"bad expires", map[string]string{"Expires": "soon"}, defaultJWKSTTL},
		{"cache-control without max-age falls back to expires", map[string]string{"Cache-Control": "public", "Expires": now.Add(time.Minute * 5).UTC().Format(http.TimeFormat)}, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			if got := jwksTTL(h, now); got != tc.want {
				t.Fatalf("ttl = %v, want %v", got, tc.want)
			}
		})
	}
}
