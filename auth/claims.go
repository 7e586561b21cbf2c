package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type claimsMapping struct {
	allowed, def mapping
	others       map[string]mapping
}

type mapping struct {
	path   jsonPath // nil: literal value
	value  any      // literal value, or default when hasDef
	hasDef bool
}

// compileClaimsMap checks a claims_map: it must map x-hasura-allowed-roles
// and x-hasura-default-role, every key must be an x-hasura-* name, and every
// literal or default value must suit its claim.
func compileClaimsMap(in map[string]ClaimMapping) (*claimsMapping, error) {
	cm := &claimsMapping{others: make(map[string]mapping)}
	seen := make(map[string]bool)
	for _, k := range sortedKeys(in) {
		m := in[k]
		name := strings.ToLower(k)
		if !isSessionVar(name) {
			return nil, fmt.Errorf("%q is not an x-hasura-* session variable", k)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q is mapped twice", name)
		}
		seen[name] = true
		var c mapping
		raw := m.Value
		if m.Path != "" {
			p, err := parseJSONPath(m.Path)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			c.path, raw, c.hasDef = p, m.Default, m.Default != nil
		}
		if c.path == nil || c.hasDef {
			if raw == nil {
				return nil, fmt.Errorf("%s: no value", name)
			}
			if err := decodeJSON(raw, &c.value); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			var err error
			switch name {
			case VarAllowedRoles:
				_, err = parseAllowedRoles(c.value)
			case VarDefaultRole:
				_, err = parseRole(c.value)
			default:
				_, err = renderVar(c.value)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
		}
		switch name {
		case VarAllowedRoles:
			cm.allowed = c
		case VarDefaultRole:
			cm.def = c
		default:
			cm.others[name] = c
		}
	}
	for _, need := range []string{VarAllowedRoles, VarDefaultRole} {
		if !seen[need] {
			return nil, fmt.Errorf("%s is expected but not found", need)
		}
	}
	return cm, nil
}

// hasuraClaims extracts the x-hasura-* claims, keys lower-cased, from the
// namespace or through the claims_map.
func (v *jwtVerifier) hasuraClaims(claims map[string]any) (map[string]any, *Error) {
	if v.claimsMap != nil {
		return v.mappedClaims(claims)
	}
	var ns any
	var found bool
	where := "claims_namespace " + v.namespace
	if v.nsPath != nil {
		unregistered := make(map[string]any, len(claims))
		for k, val := range claims {
			if !registeredClaims[k] {
				unregistered[k] = val
			}
		}
		ns, found = v.nsPath.lookup(unregistered)
		if !found {
			return nil, invalidClaims(fmt.Sprintf("claims not found at claims_namespace_path: '%s'", v.nsPathText()))
		}
		where = "claims_namespace_path " + v.nsPathText()
	} else if ns, found = claims[v.namespace]; !found {
		return nil, invalidClaims(fmt.Sprintf("claims key: '%s' not found", v.namespace))
	}
	if v.stringified {
		s, ok := ns.(string)
		if !ok {
			return nil, invalidClaims("expecting a string when claims_format is stringified_json")
		}
		if key, dup := duplicateKey([]byte(s)); dup {
			return nil, invalidClaims(fmt.Sprintf("duplicate key '%s' in the stringified json at: '%s'", key, where))
		}
		var parsed map[string]any
		if err := decodeJSON([]byte(s), &parsed); err != nil || parsed == nil {
			return nil, invalidClaims(fmt.Sprintf("expecting stringified json at: '%s', but found: %s", where, s))
		}
		ns = parsed
	}
	obj, ok := ns.(map[string]any)
	if !ok {
		return nil, invalidClaims("expecting a json object when claims_format is json")
	}
	out := make(map[string]any)
	for _, k := range sortedKeys(obj) {
		if !isSessionVar(k) {
			continue
		}
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			// Keys are case-insensitive: two spellings of one claim leave
			// its value up to whichever this code happens to read last.
			return nil, invalidClaims(fmt.Sprintf("duplicate claim %s: the claims set spells it in more than one case", lk))
		}
		out[lk] = obj[k]
	}
	return out, nil
}

func (v *jwtVerifier) nsPathText() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, st := range v.nsPath {
		if st.isIndex {
			fmt.Fprintf(&b, "[%d]", st.index)
		} else {
			b.WriteString("." + st.key)
		}
	}
	return b.String()
}

func (v *jwtVerifier) mappedClaims(claims map[string]any) (map[string]any, *Error) {
	out := make(map[string]any, len(v.claimsMap.others)+2)
	get := func(name string, m mapping, missing func() *Error) *Error {
		if m.path == nil {
			out[name] = m.value
			return nil
		}
		if val, ok := m.path.lookup(claims); ok {
			out[name] = val
			return nil
		}
		if m.hasDef {
			out[name] = m.value
			return nil
		}
		return missing()
	}
	missingRole := func(name string) func() *Error {
		return func() *Error { return err400(CodeJWTMissingRoleClaims, "JWT claim does not contain "+name) }
	}
	if e := get(VarAllowedRoles, v.claimsMap.allowed, missingRole(VarAllowedRoles)); e != nil {
		return nil, e
	}
	if e := get(VarDefaultRole, v.claimsMap.def, missingRole(VarDefaultRole)); e != nil {
		return nil, e
	}
	for _, name := range sortedKeys(v.claimsMap.others) {
		e := get(name, v.claimsMap.others[name], func() *Error {
			return invalidClaims("JWT claim from claims_map, " + name + " not found")
		})
		if e != nil {
			return nil, e
		}
	}
	return out, nil
}

func parseAllowedRoles(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, errors.New("expected a list of role names")
	}
	roles := make([]string, 0, len(arr))
	for _, el := range arr {
		s, ok := el.(string)
		if !ok || s == "" {
			return nil, errors.New("expected a list of non-empty role names")
		}
		roles = append(roles, s)
	}
	return roles, nil
}

func parseRole(v any) (string, error) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", errors.New("expected a non-empty string")
	}
	return s, nil
}

// sessionFromClaims resolves the role (X-Hasura-Role, else the default
// role, which must be allowed) and renders the remaining x-hasura-* claims
// as session variables. Other X-Hasura-* headers of the request are ignored.
func sessionFromClaims(hasura map[string]any, r *http.Request, expires time.Time) (*Session, *Error) {
	rawAllowed, ok := hasura[VarAllowedRoles]
	if !ok {
		return nil, err400(CodeJWTMissingRoleClaims, "JWT claim does not contain "+VarAllowedRoles)
	}
	allowed, err := parseAllowedRoles(rawAllowed)
	if err != nil {
		return nil, invalidClaims("invalid " + VarAllowedRoles + "; should be a list of roles: " + err.Error())
	}
	rawDefault, ok := hasura[VarDefaultRole]
	if !ok {
		return nil, err400(CodeJWTMissingRoleClaims, "JWT claim does not contain "+VarDefaultRole)
	}
	defaultRole, err := parseRole(rawDefault)
	if err != nil {
		return nil, invalidClaims("invalid " + VarDefaultRole + "; should be a single role name: " + err.Error())
	}

	role := defaultRole
	if h := headerValues(r.Header, HeaderRole); len(h) > 0 && h[0] != "" {
		if !validRoleName(h[0]) {
			return nil, err400(CodeInvalidHeaders, invalidRoleMessage("the x-hasura-role header"))
		}
		role = h[0]
	}
	allowedRole := false
	for _, a := range allowed {
		allowedRole = allowedRole || a == role
	}
	if !allowedRole {
		return nil, err400(CodeAccessDenied, "Your requested role is not in allowed roles")
	}
	if !validRoleName(role) {
		return nil, invalidClaims(invalidRoleMessage(VarDefaultRole))
	}

	vars := make(map[string]string, len(hasura))
	for _, k := range sortedKeys(hasura) {
		if k == VarAllowedRoles || k == VarDefaultRole {
			continue
		}
		s, err := renderVar(hasura[k])
		if err != nil {
			return nil, invalidClaims("invalid " + k + ": " + err.Error())
		}
		vars[k] = s
	}
	vars[VarRole] = role
	if e := nhostAnonymous(vars); e != nil {
		return nil, e
	}
	return &Session{Role: role, IsAdmin: role == AdminRole, Vars: vars, Expires: expires}, nil
}
