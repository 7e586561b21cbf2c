package auth

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

const (
	// maxCachedTokens bounds the verified-token cache: 4096 entries of a
	// few hundred bytes each.
	maxCachedTokens = 4096
	// maxCachedTokenBytes is the size above which a token is verified on
	// every request instead of being cached.
	maxCachedTokenBytes = 8 << 10
)

// verifiedToken is what verifying a token established that does not depend
// on the time: the signature, the claims' decoding, iss, aud and the
// x-hasura-* claims. Only exp, iat and nbf (dates) are checked again on
// each request.
type verifiedToken struct {
	key    *verifyKey // the key whose signature check passed
	kid    string     // the token's kid header, "" for none
	dates  tokenDates
	hasura map[string]any // from hasuraClaims; read-only once cached
}

// tokenCache maps the SHA-256 of a token to its verifiedToken, so that a
// client sending the same token with every request pays for decoding and
// the signature once. Keys are hashes so the map neither holds nor compares
// raw tokens. Only successes are cached: a token that failed is verified
// again, with the same result, on its next request.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]*verifiedToken
	hits    uint64 // requests served from the cache, for tests
}

func (c *tokenCache) get(sum [sha256.Size]byte) *verifiedToken {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.entries[sum]
	if t != nil {
		c.hits++
	}
	return t
}

// put adds t, evicting a random entry when the cache is full. Random
// eviction costs no bookkeeping on hits (LRU would write on every hit) and,
// unlike clearing the whole map, never makes every client of a busy server
// pay a full verification at the same moment.
func (c *tokenCache) put(sum [sha256.Size]byte, t *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]*verifiedToken)
	}
	if _, ok := c.entries[sum]; !ok && len(c.entries) >= maxCachedTokens {
		for k := range c.entries { // map iteration starts at a random entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[sum] = t
}

// drop removes the entry for sum if it is still t, leaving alone one that a
// concurrent request has put in its place.
func (c *tokenCache) drop(sum [sha256.Size]byte, t *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[sum] == t {
		delete(c.entries, sum)
	}
}

func (c *tokenCache) stats() (entries int, hits uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.hits
}

// verifiedClaims verifies token and returns its x-hasura-* claims and
// expiry, reusing an earlier verification of the same token when its key is
// still current. The dates are checked against the clock on every request.
func (v *jwtVerifier) verifiedClaims(ctx context.Context, token string) (map[string]any, time.Time, *Error) {
	var sum [sha256.Size]byte
	cacheable := len(token) <= maxCachedTokenBytes
	if cacheable {
		sum = sha256.Sum256([]byte(token))
		if t := v.cache.get(sum); t != nil {
			if v.keyCurrent(ctx, t) {
				expires, e := v.checkDates(t.dates)
				if e != nil {
					// Full verification would fail the same way: iss, aud
					// and the claims come after the dates.
					v.cache.drop(sum, t)
					return nil, time.Time{}, e
				}
				return t.hasura, expires, nil
			}
			v.cache.drop(sum, t)
		}
	}
	t, claims, expires, e := v.verify(ctx, token)
	if e != nil {
		return nil, time.Time{}, e
	}
	if t.hasura, e = v.hasuraClaims(claims); e != nil {
		return nil, time.Time{}, e
	}
	if cacheable {
		v.cache.put(sum, t)
	}
	return t.hasura, expires, nil
}

// keyCurrent reports whether the key that verified t would still be used to
// verify it. A static key never changes. JWKS keys are asked for as a full
// verification would ask (refreshing an expired set, and refetching for an
// unknown kid at most once per jwks_min_refresh_interval), so a cached
// token sees a rotation exactly when an uncached one does. A refetched set
// holds new *verifyKey values, so each cached token is verified in full once
// after every refresh.
func (v *jwtVerifier) keyCurrent(ctx context.Context, t *verifiedToken) bool {
	if v.jwks == nil {
		return true
	}
	return slices.Contains(v.jwks.keys(ctx, t.kid), t.key)
}
