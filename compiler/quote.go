package compiler

import (
	"strings"

	"github.com/rowguard/rowguard/policies"
)

// QuoteIdent quotes an identifier for SQL. Every identifier rowguard puts
// into SQL goes through here; quoting always (rather than when needed) keeps
// reserved words such as "user" and mixed-case names safe.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QuoteLiteral quotes a string constant for SQL (standard_conforming_strings
// is on in every supported PostgreSQL, so only quotes need doubling). A NUL
// byte cannot appear in PostgreSQL text and is dropped.
func QuoteLiteral(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteTable renders a schema-qualified table name.
func QuoteTable(q policies.QualifiedTable) string {
	return QuoteIdent(q.Schema) + "." + QuoteIdent(q.Name)
}
