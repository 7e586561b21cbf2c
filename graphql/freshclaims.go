package graphql

import (
	"fmt"
	"maps"

	"github.com/rowguard/rowguard/auth"
)

// FreshClaims are session variables the database computes itself in each
// request's transaction, from the verified user id (package claims
// installs the function: rowguard serve --fresh-claims). The token's
// values for them are ignored, so a claim the database no longer grants is
// gone for the very next request.
type FreshClaims struct {
	// Vars are the session variables Function sets ("x-hasura-org-ids").
	Vars []string
	// Function is the schema-qualified function that sets their settings
	// transaction-locally for the user id it is given (text, NULL without
	// one): "rowguard.rg_claims". It runs in the SELECT that sets the
	// other settings, so it costs no round trip.
	Function string
}

// call renders the function call appended to the settings SELECT, the
// user id being parameter $n; "" without fresh claims.
func (f *FreshClaims) call(n int) string {
	if f == nil {
		return ""
	}
	return fmt.Sprintf(", %s($%d)", f.Function, n)
}

// userID is the call's argument: the session's x-hasura-user-id, or NULL.
func (f *FreshClaims) userID(sess *auth.Session) []byte {
	if v, ok := sess.Vars[auth.VarUserID]; ok {
		return []byte(v)
	}
	return nil
}

// session returns sess with the fresh variables present and empty: the
// token's values never reach a setting, and a policy reading one does not
// fail as a missing variable (Function sets it, ” when the user has no
// value).
func (f *FreshClaims) session(sess *auth.Session) *auth.Session {
	if f == nil || sess.IsAdmin {
		return sess
	}
	out := *sess
	out.Vars = maps.Clone(sess.Vars)
	if out.Vars == nil {
		out.Vars = map[string]string{}
	}
	for _, v := range f.Vars {
		out.Vars[v] = ""
	}
	return &out
}

// withoutFresh drops the settings Function sets from list.
func (f *FreshClaims) withoutFresh(list []setting) []setting {
	if f == nil {
		return list
	}
	skip := map[string]bool{}
	for _, v := range f.Vars {
		skip[v] = true
	}
	out := list[:0:0]
	for _, s := range list {
		if !skip[s.vr] {
			out = append(out, s)
		}
	}
	return out
}
