package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// AdminRole is the name of Hasura's built-in admin role.
const AdminRole = "admin"

// MaxRoleLength is the longest role name, in bytes, that a session may have.
const MaxRoleLength = 128

// Session variable names with a meaning of their own.
const (
	// VarRole is the session variable holding the role a request runs as.
	VarRole = "x-hasura-role"
	// VarUserID is the session variable holding the user's id.
	VarUserID = "x-hasura-user-id"
	// VarAllowedRoles is the JWT claim listing the roles a token may use.
	VarAllowedRoles = "x-hasura-allowed-roles"
	// VarDefaultRole is the JWT claim naming the role used when the
	// request asks for none.
	VarDefaultRole = "x-hasura-default-role"
	// VarUseBackendOnlyPermissions is the header that, sent with the admin
	// secret, enables backend-only permissions.
	VarUseBackendOnlyPermissions = "x-hasura-use-backend-only-permissions"
)

// Request headers with a meaning of their own.
const (
	// HeaderAdminSecret carries the admin secret.
	HeaderAdminSecret = "X-Hasura-Admin-Secret"
	// HeaderAccessKey is the legacy (pre-1.0) name of HeaderAdminSecret.
	HeaderAccessKey = "X-Hasura-Access-Key"
	// HeaderRole selects the role a request runs as.
	HeaderRole = "X-Hasura-Role"
)

// Session is who a request runs as.
type Session struct {
	// Role is the Hasura role the request runs as ("admin" for admin).
	Role string
	// IsAdmin reports whether Role is the admin role, which bypasses
	// permissions. It is true for any source of the role, as in Hasura
	// (admin secret, a JWT allowing "admin", a webhook answering "admin").
	IsAdmin bool
	// Vars are the session variables: keys lower-case ("x-hasura-user-id"),
	// values as strings; arrays are rendered as PostgreSQL array literals
	// such as {1,2}. Vars[VarRole] is always Role.
	Vars map[string]string
	// BackendOnly is set by "x-hasura-use-backend-only-permissions: true",
	// honoured only with the admin secret (or when no admin secret is
	// configured at all), as in Hasura.
	BackendOnly bool
	// Expires is when the credentials stop being valid: the JWT's exp, or
	// the Cache-Control/Expires answered by the webhook. Zero means unknown.
	// A server keeping long-lived connections (websockets) should end them
	// then.
	Expires time.Time
}

// Var returns the session variable name, matched case-insensitively.
func (s *Session) Var(name string) (string, bool) {
	v, ok := s.Vars[strings.ToLower(name)]
	return v, ok
}

// Hasura error codes used by this package.
const (
	// CodeInvalidJWT: the token could not be verified (signature,
	// algorithm, format, exp/nbf/iat, aud, iss).
	CodeInvalidJWT = "invalid-jwt"
	// CodeJWTInvalidClaims: the Hasura claims are malformed or missing.
	CodeJWTInvalidClaims = "jwt-invalid-claims"
	// CodeJWTMissingRoleClaims: x-hasura-allowed-roles or
	// x-hasura-default-role is missing.
	CodeJWTMissingRoleClaims = "jwt-missing-role-claims"
	// CodeAccessDenied: wrong admin secret, role not allowed, webhook 401.
	CodeAccessDenied = "access-denied"
	// CodeInvalidHeaders: malformed Authorization header, missing token,
	// invalid X-Hasura-Role.
	CodeInvalidHeaders = "invalid-headers"
	// CodeBadRequest: an invalid x-hasura-use-backend-only-permissions.
	CodeBadRequest = "bad-request"
	// CodeInvalidParams: the webhook answered without x-hasura-role.
	CodeInvalidParams = "invalid-params"
	// CodeUnexpected: the webhook failed or answered unexpectedly.
	CodeUnexpected = "unexpected"
)

// Error is an authentication failure in Hasura's shape.
//
// Hasura renders it as {"extensions":{"path":"$","code":Code},"message":
// Message} inside an "errors" list; MarshalJSON produces that object.
type Error struct {
	// Code is Hasura's error code, one of the Code* constants.
	Code string
	// Message is Hasura's message, e.g. "Could not verify JWT: JWTExpired".
	Message string
	// Status is the HTTP status Hasura uses for this error outside
	// /v1/graphql (400, 401 or 500); /v1/graphql answers with 200.
	Status int
}

// Error returns the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MarshalJSON renders e as one entry of a GraphQL "errors" list, as Hasura
// does.
func (e *Error) MarshalJSON() ([]byte, error) {
	type ext struct {
		Path string `json:"path"`
		Code string `json:"code"`
	}
	return json.Marshal(struct {
		Extensions ext    `json:"extensions"`
		Message    string `json:"message"`
	}{ext{"$", e.Code}, e.Message})
}

func err400(code, msg string) *Error {
	return &Error{Code: code, Message: msg, Status: http.StatusBadRequest}
}

func err401(msg string) *Error {
	return &Error{Code: CodeAccessDenied, Message: msg, Status: http.StatusUnauthorized}
}

func err500(msg string) *Error {
	return &Error{Code: CodeUnexpected, Message: msg, Status: http.StatusInternalServerError}
}

// validRoleName reports whether role is a role name this package accepts:
// 1 to MaxRoleLength bytes of letters, digits and _-.:@ or space.
func validRoleName(role string) bool {
	if role == "" || len(role) > MaxRoleLength {
		return false
	}
	for i := 0; i < len(role); i++ {
		c := role[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '-', c == '.', c == ':', c == '@', c == ' ':
		default:
			return false
		}
	}
	return true
}

func invalidRoleMessage(source string) string {
	return fmt.Sprintf("invalid role name in %s: a role must be 1 to %d characters among letters, digits, space and _-.:@", source, MaxRoleLength)
}

var (
	truthValues = []string{"true", "t", "yes", "y"}
	falseValues = []string{"false", "f", "no", "n"}
)

// parseBackendOnly parses the x-hasura-use-backend-only-permissions value
// as Hasura's parseStringAsBool does.
func parseBackendOnly(v string) (bool, *Error) {
	l := strings.ToLower(v)
	for _, t := range truthValues {
		if l == t {
			return true, nil
		}
	}
	for _, f := range falseValues {
		if l == f {
			return false, nil
		}
	}
	return false, err400(CodeBadRequest, VarUseBackendOnlyPermissions+
		`:  Not a valid boolean text. True values are ["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case insensitive`)
}

// decodeJSON decodes data into v keeping numbers as json.Number and
// refusing trailing data.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// duplicateKey reports the first object key that appears twice in one
// object of the JSON text data, at any depth. encoding/json keeps the last
// of duplicated keys where other parsers keep the first, so a token whose
// issuer and verifier disagree on its claims is refused outright. Invalid
// JSON reports nothing: decoding it reports the error.
func duplicateKey(data []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // the next token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					return key, true
				}
				top.keys[key] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return "", false
		}
		// A value ended: an enclosing object expects its next key.
		if p := stack[len(stack)-1]; p.object {
			p.expect = true
		}
	}
}

// renderVar renders a JSON session variable value (decoded with UseNumber)
// as text: strings as they are, numbers as their JSON text, booleans as
// true/false and arrays as PostgreSQL array literals. Null and objects are
// refused, as is text containing NUL, which PostgreSQL cannot store.
func renderVar(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = fmt.Sprint(x)
	case []any:
		var b strings.Builder
		if err := writePGArray(&b, x, 0); err != nil {
			return "", err
		}
		s = b.String()
	case nil:
		return "", errors.New("null is not a session variable value")
	default:
		return "", errors.New("a JSON object is not a session variable value")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("session variable values cannot contain NUL")
	}
	return s, nil
}

const maxArrayDepth = 6

// writePGArray writes arr as a PostgreSQL array literal, e.g. {1,2,"a b"}.
// Nested arrays become nested braces, nulls NULL, objects quoted JSON text.
func writePGArray(b *strings.Builder, arr []any, depth int) error {
	if depth >= maxArrayDepth {
		return errors.New("array nested too deeply")
	}
	b.WriteByte('{')
	for i, el := range arr {
		if i > 0 {
			b.WriteByte(',')
		}
		switch x := el.(type) {
		case nil:
			b.WriteString("NULL")
		case string:
			b.WriteString(pgArrayElement(x))
		case json.Number:
			b.WriteString(x.String())
		case bool:
			fmt.Fprint(b, x)
		case []any:
			if err := writePGArray(b, x, depth+1); err != nil {
				return err
			}
		default:
			j, err := json.Marshal(x)
			if err != nil {
				return err
			}
			b.WriteString(pgArrayElement(string(j)))
		}
	}
	b.WriteByte('}')
	return nil
}

// pgArrayElement quotes s for use inside a PostgreSQL array literal when
// array_in would otherwise read it differently.
func pgArrayElement(s string) string {
	need := s == "" || strings.EqualFold(s, "null")
	if !need {
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
				need = true
			}
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isSessionVar reports whether name is an x-hasura-* name, in any case.
func isSessionVar(name string) bool {
	return len(name) > len("x-hasura-") && strings.EqualFold(name[:len("x-hasura-")], "x-hasura-")
}

// sortedKeys returns the keys of m in order, for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
