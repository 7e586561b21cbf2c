package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenBytes is the size above which a token is refused before any
// parsing.
const MaxTokenBytes = 64 << 10

// registeredClaims are the JWT claims of RFC 7519 §4.1; the
// claims_namespace(_path) is looked up among the other claims only.
var registeredClaims = map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true}

var b64 = base64.RawURLEncoding.Strict()

// jwtVerifier is a compiled JWTConfig.
type jwtVerifier struct {
	headerType  string // one of the HeaderType* constants
	headerName  string // cookie or header name
	static      []*verifyKey
	jwks        *jwksCache
	namespace   string
	nsPath      jsonPath
	stringified bool
	claimsMap   *claimsMapping
	audience    []string
	issuer      string
	skew        time.Duration
	now         func() time.Time
	cache       tokenCache
}

// compileJWT checks cfg and prepares it for verification. client, now and
// base serve the JWKS cache; ParseJWTConfig passes a nil client only to
// check the configuration.
func compileJWT(cfg *JWTConfig, client *http.Client, now func() time.Time, base context.Context) (*jwtVerifier, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("auth: HASURA_GRAPHQL_JWT_SECRET: "+format, args...)
	}
	v := &jwtVerifier{audience: cfg.Audience, issuer: cfg.Issuer, skew: cfg.AllowedSkew, now: now}
	if v.skew < 0 {
		return nil, fail("allowed_skew cannot be negative")
	}
	switch {
	case cfg.Header.Type == "" || strings.EqualFold(cfg.Header.Type, HeaderTypeAuthorization):
		v.headerType = HeaderTypeAuthorization
	case strings.EqualFold(cfg.Header.Type, HeaderTypeCookie):
		v.headerType = HeaderTypeCookie
	case strings.EqualFold(cfg.Header.Type, HeaderTypeCustomHeader):
		v.headerType = HeaderTypeCustomHeader
	default:
		return nil, fail("header: expected 'type' is 'Authorization' or 'Cookie' or 'CustomHeader'")
	}
	if v.headerType != HeaderTypeAuthorization {
		if v.headerName = cfg.Header.Name; v.headerName == "" {
			return nil, fail("header: %s needs a name", v.headerType)
		}
	}

	switch {
	case cfg.Key == "" && cfg.JWKURL == "":
		return nil, fail("key and jwk_url both cannot be empty")
	case cfg.Key != "" && cfg.JWKURL != "":
		return nil, fail("key, jwk_url both cannot be present")
	case cfg.Key != "":
		if cfg.Type == "" {
			return nil, fail("type is required with key")
		}
		k, err := parseStaticKey(cfg.Type, cfg.Key)
		if err != nil {
			return nil, fail("%v", err)
		}
		v.static = []*verifyKey{k}
	default:
		if err := checkJWKURL(cfg.JWKURL); err != nil {
			return nil, err
		}
		var typeAlgs []string
		if cfg.Type != "" {
			algs, err := algsForType(cfg.Type)
			if err != nil {
				return nil, fail("%v", err)
			}
			typeAlgs = algs
		}
		minInterval := cfg.JWKSMinRefreshInterval
		if minInterval <= 0 {
			minInterval = DefaultJWKSMinRefreshInterval
		}
		v.jwks = newJWKSCache(cfg.JWKURL, client, now, minInterval, typeAlgs, base)
	}

	switch cfg.ClaimsFormat {
	case "", ClaimsFormatJSON:
	case ClaimsFormatStringifiedJSON:
		v.stringified = true
	default:
		return nil, fail("claims_format must be %q or %q", ClaimsFormatJSON, ClaimsFormatStringifiedJSON)
	}
	if cfg.ClaimsNamespace != "" && cfg.ClaimsNamespacePath != "" {
		return nil, fail("claims_namespace and claims_namespace_path both cannot be set")
	}
	v.namespace = cfg.ClaimsNamespace
	if v.namespace == "" {
		v.namespace = DefaultClaimsNamespace
	}
	if cfg.ClaimsNamespacePath != "" {
		p, err := parseJSONPath(cfg.ClaimsNamespacePath)
		if err != nil {
			return nil, fail("invalid JSON path claims_namespace_path error: %v", err)
		}
		v.nsPath = p
	}
	if cfg.ClaimsMap != nil {
		cm, err := compileClaimsMap(cfg.ClaimsMap)
		if err != nil {
			return nil, fail("claims_map: %v", err)
		}
		v.claimsMap = cm
	}
	return v, nil
}

func invalidJWT(detail string) *Error {
	return err400(CodeInvalidJWT, "Could not verify JWT: "+detail)
}

func invalidClaims(msg string) *Error { return err400(CodeJWTInvalidClaims, msg) }

// authenticate runs the JWT mode for a request without the admin secret.
func (v *jwtVerifier) authenticate(ctx context.Context, r *http.Request, unauthRole string) (*Session, *Error) {
	token, found, e := v.tokenFrom(r)
	if e != nil {
		return nil, e
	}
	if !found {
		if unauthRole != "" {
			return unauthorizedSession(unauthRole), nil
		}
		return nil, err400(CodeInvalidHeaders, "Missing 'Authorization' or 'Cookie' header in JWT authentication mode")
	}
	hasura, expires, e := v.verifiedClaims(ctx, token)
	if e != nil {
		return nil, e
	}
	return sessionFromClaims(hasura, r, expires)
}

// tokenFrom finds the token where the configuration says it is; found is
// false when the request carries none there.
func (v *jwtVerifier) tokenFrom(r *http.Request) (token string, found bool, e *Error) {
	switch v.headerType {
	case HeaderTypeCookie:
		c, err := r.Cookie(v.headerName)
		if err != nil {
			return "", false, nil
		}
		return c.Value, true, nil
	case HeaderTypeCustomHeader:
		vals := headerValues(r.Header, v.headerName)
		if len(vals) == 0 {
			return "", false, nil
		}
		return vals[0], true, nil
	}
	vals := headerValues(r.Header, "Authorization")
	if len(vals) == 0 {
		return "", false, nil
	}
	h := vals[0]
	if len(h) > MaxTokenBytes+64 {
		return "", true, tokenTooLarge()
	}
	parts := strings.Fields(h)
	if len(parts) != 2 || parts[0] != "Bearer" {
		return "", true, err400(CodeInvalidHeaders, "Malformed Authorization header")
	}
	return parts[1], true, nil
}

func tokenTooLarge() *Error {
	return invalidJWT(fmt.Sprintf("JWSError (CompactDecodeError token larger than %d bytes)", MaxTokenBytes))
}

// verify checks the token's signature, then its registered claims, and
// returns its claims and expiry, and in vt the key that verified it, its kid
// and its dates (vt.hasura is left to the caller). Nothing in the token's
// header other than alg and kid is read: jku, x5u, jwk and x5c are ignored,
// never fetched.
func (v *jwtVerifier) verify(ctx context.Context, token string) (vt *verifiedToken, claims map[string]any, expires time.Time, e *Error) {
	var zero time.Time
	if len(token) > MaxTokenBytes {
		return nil, nil, zero, tokenTooLarge()
	}
	if n := strings.Count(token, ".") + 1; n != 3 {
		return nil, nil, zero, invalidJWT(fmt.Sprintf("JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got %d)", n))
	}
	i, j := strings.IndexByte(token, '.'), strings.LastIndexByte(token, '.')
	signingInput := token[:j]
	hdrJSON, err1 := b64.DecodeString(token[:i])
	payload, err2 := b64.DecodeString(token[i+1 : j])
	sig, err3 := b64.DecodeString(token[j+1:])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, zero, invalidJWT("JWSError (CompactDecodeError Invalid base64url encoding)")
	}

	if key, dup := duplicateKey(hdrJSON); dup {
		return nil, nil, zero, invalidJWT(fmt.Sprintf("JWSError (JSONDecodeError %q)", "duplicate key "+strconv.Quote(key)))
	}
	var hdr map[string]json.RawMessage
	if err := decodeJSON(hdrJSON, &hdr); err != nil || hdr == nil {
		return nil, nil, zero, invalidJWT("JWSError (JSONDecodeError \"the JOSE header is not a JSON object\")")
	}
	var alg, kid string
	if err := json.Unmarshal(hdr["alg"], &alg); err != nil {
		return nil, nil, zero, invalidJWT("JWSError (JSONDecodeError \"alg must be a string\")")
	}
	if raw, ok := hdr["kid"]; ok {
		if err := json.Unmarshal(raw, &kid); err != nil {
			return nil, nil, zero, invalidJWT("JWSError (JSONDecodeError \"kid must be a string\")")
		}
	}
	if _, ok := hdr["crit"]; ok {
		// No extension is understood, so RFC 7515 §4.1.11 requires refusal.
		return nil, nil, zero, invalidJWT("JWSError (JWSCritUnprotected)")
	}
	// The allow-list comes from our keys, never from the token: "none" in
	// any case and unknown algorithms have no signing method here.
	method := jwt.GetSigningMethod(alg)
	if alg == "Ed25519" { // RFC 9864's fully-specified name for EdDSA with Ed25519
		method = jwt.SigningMethodEdDSA
	}
	if alg == "" || strings.EqualFold(alg, "none") || method == nil {
		return nil, nil, zero, invalidJWT("JWSError JWSNoSignatures")
	}

	var keys []*verifyKey
	if v.jwks != nil {
		keys = v.jwks.keys(ctx, kid)
	} else {
		keys = v.static
	}
	usable := keys[:0:0]
	for _, k := range keys {
		if kid == "" || k.kid == "" || k.kid == kid {
			usable = append(usable, k)
		}
	}
	if len(usable) == 0 {
		return nil, nil, zero, invalidJWT("JWSError NoUsableKeys")
	}
	var verifiedBy *verifyKey
	for _, k := range usable {
		if k.algs[alg] && method.Verify(signingInput, sig, k.key) == nil {
			verifiedBy = k
			break
		}
	}
	if verifiedBy == nil {
		return nil, nil, zero, invalidJWT("JWSError JWSInvalidSignature")
	}

	if key, dup := duplicateKey(payload); dup {
		return nil, nil, zero, claimsDecodeError("$", "duplicate key '"+key+"'")
	}
	if err := decodeJSON(payload, &claims); err != nil || claims == nil {
		return nil, nil, zero, claimsDecodeError("$", "the claims set is not a JSON object")
	}
	dates, e := readDates(claims)
	if e != nil {
		return nil, nil, zero, e
	}
	if expires, e = v.checkDates(dates); e != nil {
		return nil, nil, zero, e
	}
	if e := v.checkIssuerAudience(claims); e != nil {
		return nil, nil, zero, e
	}
	return &verifiedToken{key: verifiedBy, kid: kid, dates: dates}, claims, expires, nil
}

func claimsDecodeError(path, msg string) *Error {
	return invalidJWT(fmt.Sprintf("JWTClaimsSetDecodeError \"Error in %s: %s\"", path, msg))
}

// numericDate reads claim name as a NumericDate (seconds since the epoch).
func numericDate(claims map[string]any, name string) (float64, bool, *Error) {
	raw, ok := claims[name]
	if !ok {
		return 0, false, nil
	}
	n, isNum := raw.(json.Number)
	if !isNum {
		return 0, false, claimsDecodeError("$."+name, "expected NumericDate, a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, claimsDecodeError("$."+name, "NumericDate out of range")
	}
	return f, true, nil
}

// tokenDates are a token's exp, iat and nbf claims in seconds since the
// epoch: the part of its registered claims checked against the clock.
type tokenDates struct {
	exp, iat, nbf          float64
	hasExp, hasIat, hasNbf bool
}

// readDates reads exp, iat and nbf in that order, as Hasura's JOSE library
// does.
func readDates(claims map[string]any) (tokenDates, *Error) {
	var d tokenDates
	var e *Error
	if d.exp, d.hasExp, e = numericDate(claims, "exp"); e != nil {
		return d, e
	}
	if d.iat, d.hasIat, e = numericDate(claims, "iat"); e != nil {
		return d, e
	}
	d.nbf, d.hasNbf, e = numericDate(claims, "nbf")
	return d, e
}

// checkDates checks d against the clock, allowing the configured skew, and
// returns the expiry (zero without exp). It runs on every request, cached
// token or not, so a token is refused from the moment it expires.
func (v *jwtVerifier) checkDates(d tokenDates) (time.Time, *Error) {
	var expires time.Time
	now := float64(v.now().UnixNano()) / 1e9
	skew := v.skew.Seconds()
	if d.hasExp {
		if now > d.exp+skew {
			return expires, invalidJWT("JWTExpired")
		}
		sec, frac := math.Modf(d.exp)
		expires = time.Unix(int64(sec), int64(frac*1e9))
	}
	if d.hasIat && d.iat > now+skew {
		return expires, invalidJWT("JWTIssuedAtFuture")
	}
	if d.hasNbf && now < d.nbf-skew {
		return expires, invalidJWT("JWTNotYetValid")
	}
	return expires, nil
}

// checkIssuerAudience checks iss, then aud, after the dates, as Hasura's
// JOSE library does. The result does not depend on the time.
func (v *jwtVerifier) checkIssuerAudience(claims map[string]any) *Error {
	iss, hasIss := claims["iss"]
	issStr, isStr := iss.(string)
	if hasIss && !isStr {
		return claimsDecodeError("$.iss", "expected a string")
	}
	if v.issuer != "" && (!hasIss || issStr != v.issuer) {
		return invalidJWT("JWTNotInIssuer")
	}

	var auds []string
	switch a := claims["aud"].(type) {
	case nil:
		if _, present := claims["aud"]; present {
			return claimsDecodeError("$.aud", "expected a string or an array of strings")
		}
	case string:
		auds = []string{a}
	case []any:
		for _, el := range a {
			s, ok := el.(string)
			if !ok {
				return claimsDecodeError("$.aud", "expected a string or an array of strings")
			}
			auds = append(auds, s)
		}
	default:
		return claimsDecodeError("$.aud", "expected a string or an array of strings")
	}
	if len(v.audience) > 0 && !intersects(auds, v.audience) {
		return invalidJWT("JWTNotInAudience")
	}
	return nil
}

func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
