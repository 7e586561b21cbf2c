package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// DefaultClaimsNamespace is where Hasura looks for its claims by default.
const DefaultClaimsNamespace = "https://hasura.io/jwt/claims"

// Claims formats of JWTConfig.ClaimsFormat.
const (
	// ClaimsFormatJSON: the namespace holds a JSON object (the default).
	ClaimsFormatJSON = "json"
	// ClaimsFormatStringifiedJSON: the namespace holds a string of JSON.
	ClaimsFormatStringifiedJSON = "stringified_json"
)

// Token locations of JWTHeader.Type.
const (
	// HeaderTypeAuthorization reads "Authorization: Bearer <token>".
	HeaderTypeAuthorization = "Authorization"
	// HeaderTypeCookie reads the cookie JWTHeader.Name.
	HeaderTypeCookie = "Cookie"
	// HeaderTypeCustomHeader reads the whole value of header JWTHeader.Name.
	HeaderTypeCustomHeader = "CustomHeader"
)

// DefaultJWKSMinRefreshInterval is the least time between two fetches of a
// jwk_url when JWTConfig.JWKSMinRefreshInterval is zero.
const DefaultJWKSMinRefreshInterval = 10 * time.Second

// JWTConfig is the parsed form of HASURA_GRAPHQL_JWT_SECRET.
type JWTConfig struct {
	// Type is the algorithm: HS256, HS384, HS512, RS256, RS384, RS512,
	// ES256, ES384, ES512 or Ed25519. It is required with Key; with
	// JWKURL it is optional and, when set, the only algorithm accepted.
	// Tokens are never trusted to choose their algorithm.
	Type string
	// Key is the HMAC secret (HS*) or a PEM public key or certificate.
	Key string
	// JWKURL is a JWKS endpoint; exactly one of Key and JWKURL is set.
	JWKURL string
	// ClaimsNamespace is the claim holding the x-hasura-* claims;
	// empty means DefaultClaimsNamespace.
	ClaimsNamespace string
	// ClaimsNamespacePath is a JSONPath such as "$.hasura.claims" to the
	// x-hasura-* claims; it excludes ClaimsNamespace.
	ClaimsNamespacePath string
	// ClaimsFormat is "json" (default) or "stringified_json".
	ClaimsFormat string
	// ClaimsMap, when set, replaces the namespace: each x-hasura-* claim
	// is taken from a path in the token or is a literal. It must map
	// x-hasura-allowed-roles and x-hasura-default-role.
	ClaimsMap map[string]ClaimMapping
	// Audience, when set, must contain one of the token's aud values.
	Audience []string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// AllowedSkew is the clock skew tolerated on exp, nbf and iat
	// (allowed_skew, in seconds, in the JSON form).
	AllowedSkew time.Duration
	// Header is where the token is read; the zero value means
	// "Authorization: Bearer <token>".
	Header JWTHeader
	// JWKSMinRefreshInterval is the least time between two fetches of
	// JWKURL, whatever the cache headers or unknown key ids ask for. Zero
	// means DefaultJWKSMinRefreshInterval. Not part of Hasura's JSON.
	JWKSMinRefreshInterval time.Duration
}

// String describes c without its key, so that logging a configuration does
// not leak an HMAC secret.
func (c JWTConfig) String() string {
	key := ""
	if c.Key != "" {
		key = "<redacted>"
	}
	return fmt.Sprintf("JWTConfig{Type:%q Key:%s JWKURL:%q Issuer:%q Audience:%q Header:%+v}",
		c.Type, key, c.JWKURL, c.Issuer, c.Audience, c.Header)
}

// JWTHeader says where a request carries its token.
type JWTHeader struct {
	// Type is "Authorization" (Bearer token, the default), "Cookie" or
	// "CustomHeader".
	Type string `json:"type"`
	// Name is the cookie or header name for Cookie and CustomHeader.
	Name string `json:"name,omitempty"`
}

// ClaimMapping is one entry of JWTConfig.ClaimsMap: either a JSONPath into
// the token's claims with an optional default, or a literal value. Its JSON
// form is {"path": "$.user.id", "default": "..."} or the literal itself.
type ClaimMapping struct {
	// Path is a JSONPath into the whole claims set, such as "$.user.id";
	// empty means the mapping is the literal Value.
	Path string
	// Default is used when Path finds nothing; nil means no default, and
	// then a missing claim is an error.
	Default json.RawMessage
	// Value is the literal value when Path is empty.
	Value json.RawMessage
}

// UnmarshalJSON reads either form of a claims_map entry.
func (m *ClaimMapping) UnmarshalJSON(data []byte) error {
	trimmed := strings.TrimSpace(string(data))
	if !strings.HasPrefix(trimmed, "{") {
		*m = ClaimMapping{Value: append(json.RawMessage(nil), data...)}
		return nil
	}
	var obj struct {
		Path    *string         `json:"path"`
		Default json.RawMessage `json:"default"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	if obj.Path == nil {
		return errors.New(`a claims_map entry that is an object needs a "path"`)
	}
	*m = ClaimMapping{Path: *obj.Path, Default: obj.Default}
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (m ClaimMapping) MarshalJSON() ([]byte, error) {
	if m.Path == "" {
		if m.Value == nil {
			return []byte("null"), nil
		}
		return m.Value, nil
	}
	return json.Marshal(struct {
		Path    string          `json:"path"`
		Default json.RawMessage `json:"default,omitempty"`
	}{m.Path, m.Default})
}

// ParseJWTConfig parses Hasura's HASURA_GRAPHQL_JWT_SECRET JSON and checks
// it, keys included.
func ParseJWTConfig(s string) (*JWTConfig, error) {
	var raw struct {
		Type                string                  `json:"type"`
		Key                 *string                 `json:"key"`
		JWKURL              *string                 `json:"jwk_url"`
		ClaimsNamespace     *string                 `json:"claims_namespace"`
		ClaimsNamespacePath *string                 `json:"claims_namespace_path"`
		ClaimsFormat        string                  `json:"claims_format"`
		ClaimsMap           map[string]ClaimMapping `json:"claims_map"`
		Audience            json.RawMessage         `json:"audience"`
		Issuer              *string                 `json:"issuer"`
		AllowedSkew         *json.Number            `json:"allowed_skew"`
		Header              *JWTHeader              `json:"header"`
	}
	if err := decodeJSON([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("auth: HASURA_GRAPHQL_JWT_SECRET is not valid JSON: %w", err)
	}
	cfg := &JWTConfig{Type: raw.Type, ClaimsFormat: raw.ClaimsFormat, ClaimsMap: raw.ClaimsMap}
	if raw.Key != nil {
		cfg.Key = *raw.Key
		if cfg.Key == "" {
			return nil, errors.New("auth: HASURA_GRAPHQL_JWT_SECRET: key is empty")
		}
	}
	if raw.JWKURL != nil {
		cfg.JWKURL = *raw.JWKURL
		if cfg.JWKURL == "" {
			return nil, errors.New("auth: HASURA_GRAPHQL_JWT_SECRET: jwk_url is empty")
		}
	}
	if raw.ClaimsNamespace != nil {
		cfg.ClaimsNamespace = *raw.ClaimsNamespace
	}
	if raw.ClaimsNamespacePath != nil {
		cfg.ClaimsNamespacePath = *raw.ClaimsNamespacePath
	}
	if raw.ClaimsNamespace != nil && raw.ClaimsNamespacePath != nil {
		return nil, errors.New("auth: HASURA_GRAPHQL_JWT_SECRET: claims_namespace and claims_namespace_path both cannot be set")
	}
	if raw.Issuer != nil {
		cfg.Issuer = *raw.Issuer
	}
	if len(raw.Audience) > 0 && string(raw.Audience) != "null" {
		var one string
		if err := json.Unmarshal(raw.Audience, &one); err == nil {
			cfg.Audience = []string{one}
		} else if err := json.Unmarshal(raw.Audience, &cfg.Audience); err != nil {
			return nil, errors.New("auth: HASURA_GRAPHQL_JWT_SECRET: audience must be a string or a list of strings")
		}
	}
	if raw.AllowedSkew != nil {
		f, err := raw.AllowedSkew.Float64()
		if err != nil || f < 0 || f > 365*24*3600 || math.IsNaN(f) {
			return nil, errors.New("auth: HASURA_GRAPHQL_JWT_SECRET: allowed_skew must be a number of seconds between 0 and a year")
		}
		cfg.AllowedSkew = time.Duration(f * float64(time.Second))
	}
	if raw.Header != nil {
		cfg.Header = *raw.Header
	}
	if _, err := compileJWT(cfg, nil, time.Now, nil); err != nil {
		return nil, err
	}
	return cfg, nil
}

// algsForType returns the JWS algorithms a configured type allows.
func algsForType(typ string) ([]string, error) {
	switch typ {
	case "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512":
		return []string{typ}, nil
	case "Ed25519", "EdDSA":
		return []string{"EdDSA", "Ed25519"}, nil
	}
	//lint:ignore ST1005 Hasura's own message, word for word
	return nil, fmt.Errorf("Invalid JWK: Key type: %s is not supported", typ)
}

// parseStaticKey turns the configured key into a verification key for typ.
func parseStaticKey(typ, key string) (*verifyKey, error) {
	algs, err := algsForType(typ)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(typ, "HS") {
		var bits int
		fmt.Sscanf(typ[2:], "%d", &bits)
		if len(key) < bits/8 {
			//lint:ignore ST1005 Hasura's own message, word for word
			return nil, fmt.Errorf("Invalid JWK: Key size too small; should be atleast %d characters", bits/8)
		}
		return newVerifyKey("", []byte(key), algs)
	}
	pub, err := parsePEMPublicKey(key)
	if err != nil {
		//lint:ignore ST1005 Hasura's own message, word for word
		return nil, fmt.Errorf("Invalid JWK: %v", err)
	}
	k, err := newVerifyKey("", pub, algs)
	if err != nil {
		//lint:ignore ST1005 Hasura's own message, word for word
		return nil, fmt.Errorf("Invalid JWK: %v", err)
	}
	return k, nil
}

// parsePEMPublicKey reads a PEM public key (PKIX, or PKCS#1 for RSA) or an
// X.509 certificate.
func parsePEMPublicKey(s string) (any, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("key is neither an HMAC secret type nor a PEM public key or certificate")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, errors.New("key must be a public key or certificate, not a private key")
	}
	return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
}

// verifyKey is one key tokens may be verified with.
type verifyKey struct {
	kid  string          // "" matches any token kid
	key  any             // []byte, *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey
	algs map[string]bool // algorithms this key verifies
}

// newVerifyKey checks that key suits every algorithm in algs and keeps
// those; an algorithm that does not suit the key is an error.
func newVerifyKey(kid string, key any, algs []string) (*verifyKey, error) {
	k := &verifyKey{kid: kid, key: key, algs: make(map[string]bool)}
	for _, alg := range algs {
		if err := keyFitsAlg(key, alg); err != nil {
			return nil, err
		}
		k.algs[alg] = true
	}
	if len(k.algs) == 0 {
		return nil, errors.New("no algorithm for key")
	}
	return k, nil
}

// keyFitsAlg reports whether key may verify alg: the key type must be the
// algorithm's, EC curves must match, RSA keys must be 2048 bits or more.
func keyFitsAlg(key any, alg string) error {
	switch k := key.(type) {
	case []byte:
		if alg == "HS256" || alg == "HS384" || alg == "HS512" {
			return nil
		}
	case *rsa.PublicKey:
		if strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS") {
			if k.N.BitLen() < 2048 {
				return fmt.Errorf("RSA key of %d bits; at least 2048 are required", k.N.BitLen())
			}
			return nil
		}
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		if want != nil {
			if k.Curve != want {
				return fmt.Errorf("%s needs curve %s, not %s", alg, want.Params().Name, k.Curve.Params().Name)
			}
			return nil
		}
	case ed25519.PublicKey:
		if alg == "EdDSA" || alg == "Ed25519" {
			return nil
		}
	default:
		return fmt.Errorf("unsupported key type %T", key)
	}
	return fmt.Errorf("an %s key cannot verify %s", keyKind(key), alg)
}

func keyKind(key any) string {
	switch key.(type) {
	case []byte:
		return "HMAC"
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", key)
}

// checkJWKURL accepts absolute http and https URLs.
func checkJWKURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("auth: HASURA_GRAPHQL_JWT_SECRET: jwk_url %q is not an absolute http(s) URL", s)
	}
	return nil
}

// jsonPath is a parsed JSONPath of the subset Hasura accepts: $ followed by
// .key, ['key'], ["key"] or [index] steps.
type jsonPath []pathStep

type pathStep struct {
	key     string
	index   int
	isIndex bool
}

func parseJSONPath(s string) (jsonPath, error) {
	in := strings.TrimSpace(s)
	var p jsonPath
	i := 0
	if strings.HasPrefix(in, "$") {
		i = 1
	} else if in != "" && in[0] != '.' && in[0] != '[' {
		in = "." + in // "a.b" is read as "$.a.b"
	}
	for i < len(in) {
		switch in[i] {
		case '.':
			j := i + 1
			for j < len(in) && in[j] != '.' && in[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("invalid JSON path %q: empty key at offset %d", s, i)
			}
			p = append(p, pathStep{key: in[i+1 : j]})
			i = j
		case '[':
			if i+1 < len(in) && (in[i+1] == '\'' || in[i+1] == '"') {
				q := in[i+1]
				var b strings.Builder
				j := i + 2
				for ; j < len(in) && in[j] != q; j++ {
					if in[j] == '\\' && j+1 < len(in) {
						j++
					}
					b.WriteByte(in[j])
				}
				if j+1 >= len(in) || in[j+1] != ']' {
					return nil, fmt.Errorf("invalid JSON path %q: unterminated [%c", s, q)
				}
				p = append(p, pathStep{key: b.String()})
				i = j + 2
				continue
			}
			j := i + 1
			n := 0
			for j < len(in) && in[j] >= '0' && in[j] <= '9' && n < 1e6 {
				n = n*10 + int(in[j]-'0')
				j++
			}
			if j == i+1 || j >= len(in) || in[j] != ']' {
				return nil, fmt.Errorf("invalid JSON path %q at offset %d", s, i)
			}
			p = append(p, pathStep{index: n, isIndex: true})
			i = j + 1
		default:
			return nil, fmt.Errorf("invalid JSON path %q at offset %d", s, i)
		}
	}
	return p, nil
}

// lookup follows p through v (decoded JSON) and reports whether it found a
// value.
func (p jsonPath) lookup(v any) (any, bool) {
	for _, st := range p {
		if st.isIndex {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[st.key]; !ok {
			return nil, false
		}
	}
	return v, true
}
