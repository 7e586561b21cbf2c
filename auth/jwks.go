package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// defaultJWKSTTL is how long keys are used before a refresh when the
	// JWKS answer has neither Cache-Control max-age nor Expires.
	defaultJWKSTTL = time.Minute
	// maxJWKSTTL caps the lifetime a JWKS answer may ask for.
	maxJWKSTTL = 24 * time.Hour
	// maxJWKSBytes bounds the JWKS document.
	maxJWKSBytes = 1 << 20
	// maxJWKSKeys bounds the keys kept from one document, and so the work
	// one token can cause.
	maxJWKSKeys = 64
)

// jwksCache holds the keys of a jwk_url. Keys are refreshed on demand: when
// they have expired (per Cache-Control max-age or Expires) or when a token
// names an unknown kid, never more than once per minInterval. A failed
// refresh keeps the last good keys. Requests wanting a refresh wait for the
// single fetch under way.
type jwksCache struct {
	url         string
	client      *http.Client
	now         func() time.Time
	minInterval time.Duration
	typeAlgs    []string // nil: the algorithms each key allows
	base        context.Context

	mu        sync.Mutex
	set       []*verifyKey
	expires   time.Time
	lastFetch time.Time     // start of the last attempt
	fetching  chan struct{} // closed when the fetch under way ends
}

func newJWKSCache(url string, client *http.Client, now func() time.Time, minInterval time.Duration, typeAlgs []string, base context.Context) *jwksCache {
	return &jwksCache{url: url, client: client, now: now, minInterval: minInterval, typeAlgs: typeAlgs, base: base}
}

func hasKid(set []*verifyKey, kid string) bool {
	for _, k := range set {
		if k.kid == "" || k.kid == kid {
			return true
		}
	}
	return false
}

// keys returns the keys to verify a token naming kid ("" for none),
// refreshing them first when needed and allowed.
func (c *jwksCache) keys(ctx context.Context, kid string) []*verifyKey {
	c.mu.Lock()
	now := c.now()
	stale := len(c.set) == 0 || !now.Before(c.expires) || (kid != "" && !hasKid(c.set, kid))
	if !stale || c.client == nil || c.base == nil {
		set := c.set
		c.mu.Unlock()
		return set
	}
	ch := c.fetching
	if ch == nil {
		if !c.lastFetch.IsZero() && now.Sub(c.lastFetch) < c.minInterval {
			set := c.set // rate-limited: keep what we have
			c.mu.Unlock()
			return set
		}
		c.lastFetch = now
		ch = make(chan struct{})
		c.fetching = ch
		go c.refresh(ch)
	}
	c.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set
}

func (c *jwksCache) refresh(done chan struct{}) {
	keys, ttl, err := c.fetch()
	c.mu.Lock()
	if err == nil {
		c.set = keys
		c.expires = c.now().Add(ttl)
	}
	c.fetching = nil
	c.mu.Unlock()
	close(done)
}

func (c *jwksCache) fetch() ([]*verifyKey, time.Duration, error) {
	ctx, cancel := context.WithTimeout(c.base, DefaultHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, 0, fmt.Errorf("fetching JWKS from %s: %s", c.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("fetching JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, 0, fmt.Errorf("JWKS from %s is larger than %d bytes", c.url, maxJWKSBytes)
	}
	keys, err := parseJWKS(body, c.typeAlgs)
	if err != nil {
		return nil, 0, fmt.Errorf("parsing JWKS from %s: %w", c.url, err)
	}
	return keys, jwksTTL(resp.Header, c.now()), nil
}

// jwksTTL reads how long a JWKS answer may be used, as Hasura does: a
// Cache-Control with must-revalidate uses max-age (else expires at once),
// no-cache or no-store expire at once, otherwise max-age (or s-maxage),
// else Expires, else defaultJWKSTTL.
func jwksTTL(h http.Header, now time.Time) time.Duration {
	clamp := func(d time.Duration) time.Duration { return max(0, min(d, maxJWKSTTL)) }
	if cc := strings.Join(h.Values("Cache-Control"), ","); cc != "" {
		maxAge := -1
		var noCache, mustRevalidate bool
		for _, d := range strings.Split(cc, ",") {
			name, val, _ := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "=")
			switch strings.TrimSpace(name) {
			case "max-age", "s-maxage":
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`)); err == nil && n >= 0 {
					maxAge = n
				}
			case "no-cache", "no-store":
				noCache = true
			case "must-revalidate":
				mustRevalidate = true
			}
		}
		switch {
		case mustRevalidate:
			return clamp(time.Duration(max(maxAge, 0)) * time.Second)
		case noCache:
			return 0
		case maxAge >= 0:
			return clamp(time.Duration(maxAge) * time.Second)
		}
	}
	if ex := h.Get("Expires"); ex != "" {
		if t, err := http.ParseTime(ex); err == nil {
			return clamp(t.Sub(now))
		}
	}
	return defaultJWKSTTL
}

// jwk is one JSON Web Key (RFC 7517) of the members used here.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	K      string   `json:"k"`
}

// parseJWKS reads a JWK Set, keeping the public signature keys it can use
// and skipping the others; a set with no usable key is an error.
func parseJWKS(body []byte, typeAlgs []string) ([]*verifyKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	var keys []*verifyKey
	var errs []error
	for _, raw := range doc.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			errs = append(errs, err)
			continue
		}
		k, err := j.verifyKey(typeAlgs)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", j.Kid, err))
			continue
		}
		if len(keys) < maxJWKSKeys {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable key in the JWK set: %w", errors.Join(errs...))
	}
	return keys, nil
}

func decodeB64Field(name, s string) ([]byte, error) {
	b, err := b64.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("invalid %q member", name)
	}
	return b, nil
}

// verifyKey turns j into a verification key for the algorithms it may
// verify: its alg when it names one, else its type's; intersected with the
// configured type's when there is one.
func (j *jwk) verifyKey(typeAlgs []string) (*verifyKey, error) {
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("use %q is not sig", j.Use)
	}
	if len(j.KeyOps) > 0 && !intersects(j.KeyOps, []string{"verify"}) {
		return nil, errors.New("key_ops does not allow verify")
	}
	var pub any
	var algs []string
	switch j.Kty {
	case "RSA":
		n, err := decodeB64Field("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := decodeB64Field("e", j.E)
		if err != nil {
			return nil, err
		}
		eInt := new(big.Int).SetBytes(e)
		if !eInt.IsInt64() || eInt.Int64() < 3 || eInt.Int64() > 1<<31-1 || eInt.Bit(0) == 0 {
			return nil, errors.New("invalid RSA exponent")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eInt.Int64())}
		algs = []string{"RS256", "RS384", "RS512"}
	case "EC":
		curves := map[string]struct {
			c   elliptic.Curve
			alg string
		}{"P-256": {elliptic.P256(), "ES256"}, "P-384": {elliptic.P384(), "ES384"}, "P-521": {elliptic.P521(), "ES512"}}
		cv, ok := curves[j.Crv]
		if !ok {
			return nil, fmt.Errorf("unsupported curve %q", j.Crv)
		}
		size := (cv.c.Params().BitSize + 7) / 8
		x, err := decodeB64Field("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := decodeB64Field("y", j.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != size || len(y) != size {
			return nil, errors.New("EC coordinates of the wrong size")
		}
		k, err := ecdsa.ParseUncompressedPublicKey(cv.c, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, err
		}
		pub, algs = k, []string{cv.alg}
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported curve %q", j.Crv)
		}
		x, err := decodeB64Field("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 key of the wrong size")
		}
		pub, algs = ed25519.PublicKey(x), []string{"EdDSA", "Ed25519"}
	case "oct":
		k, err := decodeB64Field("k", j.K)
		if err != nil {
			return nil, err
		}
		bits := map[string]int{"HS256": 256, "HS384": 384, "HS512": 512}[j.Alg]
		if bits == 0 {
			return nil, errors.New("a symmetric key needs an HS256, HS384 or HS512 alg")
		}
		if len(k) < bits/8 {
			return nil, errors.New("symmetric key too short for its alg")
		}
		pub = k
	default:
		return nil, fmt.Errorf("unsupported kty %q", j.Kty)
	}
	switch j.Alg {
	case "":
	case "EdDSA", "Ed25519":
		algs = []string{"EdDSA", "Ed25519"}
	default:
		algs = []string{j.Alg}
	}
	if typeAlgs != nil {
		var keep []string
		for _, a := range algs {
			if intersects([]string{a}, typeAlgs) {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			return nil, errors.New("not a key for the configured type")
		}
		algs = keep
	}
	return newVerifyKey(j.Kid, pub, algs)
}
