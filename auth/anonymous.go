package auth

// VarUserIsAnonymous is the claim Nhost's auth service puts in every token
// ("true" for an anonymous sign-in, else "false"); permissions read it as
// X-Hasura-User-Is-Anonymous.
const VarUserIsAnonymous = "x-hasura-user-is-anonymous"

// varUserIsAnonymousOld is the spelling older Nhost tokens carry,
// x-hasura-user-isAnonymous, lower-cased as every claim is.
const varUserIsAnonymousOld = "x-hasura-user-isanonymous"

// nhostAnonymous makes whichever of Nhost's two spellings a session
// carries readable under both, so permissions written for either work with
// tokens of either age. Two spellings with different values are refused:
// which one a permission reads would decide the request.
func nhostAnonymous(vars map[string]string) *Error {
	cur, hasCur := vars[VarUserIsAnonymous]
	old, hasOld := vars[varUserIsAnonymousOld]
	switch {
	case hasCur && hasOld && cur != old:
		return invalidClaims("x-hasura-user-is-anonymous (" + cur + ") and x-hasura-user-isAnonymous (" + old + ") disagree; send one of them")
	case hasCur:
		vars[varUserIsAnonymousOld] = cur
	case hasOld:
		vars[VarUserIsAnonymous] = old
	}
	return nil
}
