package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	rsa, rsa2       *rsa.PrivateKey
	rsaSmall        *rsa.PrivateKey
	p256, p256b     *ecdsa.PrivateKey
	p384, p521      *ecdsa.PrivateKey
	ed, ed2         ed25519.PrivateKey
	hmac            string
	attackerRSA     *rsa.PrivateKey
	attackerEd25519 ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func keys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keysVal.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.attackerRSA, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024)
		must(err)
		keysVal.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		keysVal.p256b, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		keysVal.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		keysVal.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		must(err)
		_, keysVal.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		_, keysVal.ed2, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		_, keysVal.attackerEd25519, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		keysVal.hmac = strings.Repeat("0123456789abcdef", 4) // 64 bytes, enough for HS512
	})
	return &keysVal
}

func pemPublic(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func pemCert(t testing.TB, priv *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "rowguard test"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(4e9, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// sign makes a token with golang-jwt; hdr adds or overrides header members.
func sign(t testing.TB, method jwt.SigningMethod, key any, claims map[string]any, hdr map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawToken assembles a token from a header and claims with any signature.
func rawToken(t testing.TB, hdr, claims map[string]any, sig []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(hdr) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

const t0 = 1_700_000_000

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(t0, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// userClaims are the claims of a "user" token valid for an hour at t0.
func userClaims(extra map[string]any) map[string]any {
	c := map[string]any{
		"sub": "42",
		"iat": t0,
		"exp": t0 + 3600,
		DefaultClaimsNamespace: map[string]any{
			"x-hasura-allowed-roles": []string{"user", "editor"},
			"x-hasura-default-role":  "user",
			"x-hasura-user-id":       "42",
		},
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// withHasura returns userClaims whose namespace claims are hasura.
func withHasura(hasura map[string]any) map[string]any {
	return userClaims(map[string]any{DefaultClaimsNamespace: hasura})
}

func mustParseJWT(t testing.TB, s string) *JWTConfig {
	t.Helper()
	cfg, err := ParseJWTConfig(s)
	if err != nil {
		t.Fatalf("ParseJWTConfig(%s): %v", s, err)
	}
	return cfg
}

func jsonString(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const testSecret = "s3cret-admin"

func newAuth(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// jwtAuth is an Authenticator in JWT mode for the given JWT secret JSON.
func jwtAuth(t testing.TB, secretJSON string, clk *clock) *Authenticator {
	t.Helper()
	return newAuth(t, Config{AdminSecret: testSecret, JWT: mustParseJWT(t, secretJSON), Now: clk.Now})
}

func request(headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func bearer(token string, more ...string) *http.Request {
	return request(append([]string{"Authorization", "Bearer " + token}, more...)...)
}

func authenticate(t testing.TB, a *Authenticator, r *http.Request) (*Session, *Error) {
	t.Helper()
	s, err := a.Authenticate(context.Background(), r)
	if err == nil {
		if s == nil {
			t.Fatal("nil session without error")
		}
		return s, nil
	}
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not *Error", err, err)
	}
	if s != nil {
		t.Fatal("session returned with an error")
	}
	return nil, ae
}

// wantOK authenticates and fails the test on error.
func wantOK(t testing.TB, a *Authenticator, r *http.Request) *Session {
	t.Helper()
	s, e := authenticate(t, a, r)
	if e != nil {
		t.Fatalf("unexpected error: %+v", e)
	}
	return s
}

// wantErr authenticates and checks the error's code and message; a
// message ending in "*" is a prefix.
func wantErr(t testing.TB, a *Authenticator, r *http.Request, code, msg string, status int) {
	t.Helper()
	s, e := authenticate(t, a, r)
	if e == nil {
		t.Fatalf("want error %s %q, got session %+v", code, msg, s)
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if p, ok := strings.CutSuffix(msg, "*"); ok {
		if !strings.HasPrefix(e.Message, p) {
			t.Errorf("message = %q, want prefix %q", e.Message, p)
		}
	} else if e.Message != msg {
		t.Errorf("message = %q, want %q", e.Message, msg)
	}
	if status != 0 && e.Status != status {
		t.Errorf("status = %d, want %d", e.Status, status)
	}
}

// jwkOf renders a public key as a JWK with kid (and alg when not empty).
func jwkOf(t testing.TB, pub any, kid, alg string) map[string]any {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kid": kid, "use": "sig"}
	if alg != "" {
		m["alg"] = alg
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", enc(k.N.Bytes()), enc(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(b) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", k.Curve.Params().Name, enc(b[1:1+size]), enc(b[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc(k)
	default:
		t.Fatalf("jwkOf: %T", pub)
	}
	return m
}

// failServer is an HTTP server that fails the test when anything reaches it.
func failServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected outbound request: %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv
}
