package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxIdentifierLength is PostgreSQL's limit on identifier length, in bytes
// (NAMEDATALEN-1); longer names are silently truncated by the server, which
// could make two roles or policies collide.
const MaxIdentifierLength = 63

// DefaultRolePrefix is put before every Hasura role name to make the
// PostgreSQL role name. A prefix is mandatory: `user` and `public` are
// reserved words there.
const DefaultRolePrefix = "hasura_"

// ShortName returns name when it fits in a PostgreSQL identifier, and
// otherwise a prefix of it followed by "_" and 8 hex digits of its SHA-256,
// so distinct long names stay distinct and the result is deterministic.
func ShortName(name string) string {
	if len(name) <= MaxIdentifierLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "_" + hex.EncodeToString(sum[:4])
	cut := MaxIdentifierLength - len(suffix)
	// Do not cut a multi-byte UTF-8 character in half.
	for cut > 0 && name[cut]&0xC0 == 0x80 {
		cut--
	}
	return name[:cut] + suffix
}

// PGRoleName maps a Hasura role to its PostgreSQL role name.
func PGRoleName(prefix, role string) string { return ShortName(prefix + role) }

// SettingName maps a session variable to the transaction-local setting that
// carries it: "X-Hasura-User-Id" → "hasura.x_hasura_user_id". PostgreSQL 15
// refuses "-" in custom setting names, hence the underscores. The second
// result is false when the variable has characters a setting name cannot
// hold.
func SettingName(sessionVar string) (string, bool) {
	s := strings.ReplaceAll(strings.ToLower(sessionVar), "-", "_")
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "", false
		}
	}
	return "hasura." + s, true
}
