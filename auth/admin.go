package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// sentAdminSecret returns the admin secret the request carries, from
// X-Hasura-Admin-Secret or else the legacy X-Hasura-Access-Key, and whether
// it carries one at all (an empty header counts as sent).
func sentAdminSecret(r *http.Request) (string, bool) {
	for _, h := range []string{HeaderAdminSecret, HeaderAccessKey} {
		if v := headerValues(r.Header, h); len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// secretMatches compares the SHA-256 digests of the configured and the sent
// secrets in constant time, so neither the content nor the length of the
// secret leaks through timing.
func (a *Authenticator) secretMatches(sent string) bool {
	h := sha256.Sum256([]byte(sent))
	return subtle.ConstantTimeCompare(h[:], a.secretHash[:]) == 1
}

// headerValues returns the values of header name, also when h was built by
// hand with a key that is not in canonical form.
func headerValues(h http.Header, name string) []string {
	if v := h.Values(name); len(v) > 0 {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v
		}
	}
	return nil
}

// headerVars returns the request's X-Hasura-* headers as session variables
// with lower-case names, leaving out the admin secret headers.
func headerVars(r *http.Request) map[string]string {
	vars := make(map[string]string)
	for k, v := range r.Header {
		if len(v) == 0 || !isSessionVar(k) {
			continue
		}
		lk := strings.ToLower(k)
		if lk == "x-hasura-admin-secret" || lk == "x-hasura-access-key" {
			continue
		}
		vars[lk] = v[0]
	}
	return vars
}

// headerSession is the session of a request authenticated by the admin
// secret, or of any request when no authentication is configured: the role
// is X-Hasura-Role (default admin), every X-Hasura-* header is a session
// variable, and X-Hasura-Use-Backend-Only-Permissions is honoured.
func headerSession(r *http.Request) (*Session, *Error) {
	vars := headerVars(r)
	role := AdminRole
	if v := vars[VarRole]; v != "" {
		if !validRoleName(v) {
			return nil, err400(CodeInvalidHeaders, invalidRoleMessage("the x-hasura-role header"))
		}
		role = v
	}
	vars[VarRole] = role
	s := &Session{Role: role, IsAdmin: role == AdminRole, Vars: vars}
	if v, ok := vars[VarUseBackendOnlyPermissions]; ok {
		bo, err := parseBackendOnly(v)
		if err != nil {
			return nil, err
		}
		s.BackendOnly = bo
	}
	return s, nil
}
