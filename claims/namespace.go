package claims

import (
	"context"
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/compiler"
)

// Values are the computed claims of one user, session variable → the
// string a token carries. A claim whose path found nothing and that has no
// default is absent.
type Values map[string]string

// QuerySQL renders the SELECT that computes every claim, one jsonb column
// each in the order of c.Claims, for the user id in $1.
func (c *Compiled) QuerySQL() string {
	if len(c.Claims) == 0 {
		return "SELECT"
	}
	parts := make([]string, len(c.Claims))
	for i, cl := range c.Claims {
		parts[i] = cl.SQL
	}
	return "SELECT " + strings.Join(parts, ",\n  ")
}

// Namespace computes the claims of the user with that id: what an auth
// service puts in the token's https://hasura.io/jwt/claims namespace
// besides the built-in claims. q runs as a role that may read every table
// the paths name (the helper owner, or the server's own admin connection).
func Namespace(ctx context.Context, q compiler.Querier, c *Compiled, userID string) (Values, error) {
	out := Values{}
	if len(c.Claims) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, c.QuerySQL(), userID)
	if err != nil {
		return nil, fmt.Errorf("compute claims: %w", err)
	}
	defer rows.Close()
	raw := make([]*string, len(c.Claims))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("compute claims: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute claims: %w", err)
	}
	for i, cl := range c.Claims {
		text, ok, err := encodeRaw(raw[i])
		if err != nil {
			return nil, fmt.Errorf("claim %q (%s): %w", cl.Key, cl.Source, err)
		}
		switch {
		case ok:
			out[cl.Var] = text
		case cl.Default != nil:
			out[cl.Var] = *cl.Default
		}
	}
	return out, nil
}

// encodeRaw encodes a jsonb text as Encode does; nil is no value.
func encodeRaw(raw *string) (string, bool, error) {
	if raw == nil {
		return "", false, nil
	}
	v, err := decodeJSON([]byte(*raw))
	if err != nil {
		return "", false, err
	}
	return Encode(v)
}
