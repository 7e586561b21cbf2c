package graphql

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Hasura's error codes, as this package uses them.
const (
	CodeValidationFailed    = "validation-failed"
	CodeNotFound            = "not-found"
	CodePermissionError     = "permission-error"
	CodeConstraintViolation = "constraint-violation"
	CodeDataException       = "data-exception"
	CodeBadRequest          = "bad-request"
	CodeInvalidParams       = "invalid-params"
	CodeUnexpected          = "unexpected"
)

// Error is a GraphQL error in Hasura's shape:
// {"extensions":{"path":Path,"code":Code},"message":Message}.
type Error struct {
	Code    string
	Message string
	// Path is a JSON path into the request: "$" for the whole request,
	// "$.selectionSet.author.selectionSet.x" for a field.
	Path string
	// Internal is shown to the admin role only (in extensions.internal):
	// the database's own error, which may name hidden values.
	Internal map[string]any
}

// Error returns the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MarshalJSON renders e as Hasura does: extensions (path, code) first, then
// message.
func (e *Error) MarshalJSON() ([]byte, error) {
	path := e.Path
	if path == "" {
		path = "$"
	}
	var b strings.Builder
	b.WriteString(`{"extensions":{"path":`)
	writeJSONString(&b, path)
	b.WriteString(`,"code":`)
	writeJSONString(&b, e.Code)
	if e.Internal != nil {
		b.WriteString(`,"internal":`)
		b.Write(marshal(e.Internal))
	}
	b.WriteString(`},"message":`)
	writeJSONString(&b, e.Message)
	b.WriteString("}")
	return []byte(b.String()), nil
}

func writeJSONString(b *strings.Builder, s string) {
	b.Write(marshal(s))
}

// marshal encodes v as JSON without escaping <, > and &, as Hasura does.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func errorf(code, path, format string, args ...any) *Error {
	return &Error{Code: code, Path: path, Message: fmt.Sprintf(format, args...)}
}

// validationf returns a validation-failed error at path.
func validationf(path, format string, args ...any) *Error {
	return errorf(CodeValidationFailed, path, format, args...)
}

// dbError maps an error of the statement to Hasura's codes. The message
// is PostgreSQL's own (it names no SQL and no values of other rows);
// details, hints and the failing statement are added for the admin only.
func dbError(err error, admin bool) *Error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		e := &Error{Code: CodeUnexpected, Message: "database query error"}
		if admin {
			e.Internal = map[string]any{"error": err.Error()}
		}
		return e
	}
	e := &Error{Code: CodeUnexpected, Message: "database query error"}
	switch {
	case pg.Code == "42501":
		e.Code = CodePermissionError
		e.Message = pg.Message
		if strings.Contains(pg.Message, "row-level security") {
			e.Message = "check constraint of an insert/update permission has failed"
		}
	case pg.Code == "23505":
		e.Code, e.Message = CodeConstraintViolation, "Uniqueness violation. "+pg.Message
	case pg.Code == "23503":
		e.Code, e.Message = CodeConstraintViolation, "Foreign key violation. "+pg.Message
	case pg.Code == "23502":
		e.Code, e.Message = CodeConstraintViolation, "Not-NULL violation. "+pg.Message
	case pg.Code == "23514":
		e.Code, e.Message = CodeConstraintViolation, "Check constraint violation. "+pg.Message
	case strings.HasPrefix(pg.Code, "23"):
		e.Code, e.Message = CodeConstraintViolation, pg.Message
	case strings.HasPrefix(pg.Code, "22"):
		e.Code, e.Message = CodeDataException, pg.Message
	case strings.HasPrefix(pg.Code, "54"):
		// program_limit_exceeded, statement_too_complex, too many
		// columns, stack depth: the request is too big, not the server
		// broken. The message names no data.
		e.Message = "the operation is too large for the database: " + pg.Message
	case pg.Code == "P0001":
		e.Message = pg.Message // raised by a trigger on purpose
	case pg.Code == "P0002":
		// A preset trigger found no value for its session variable; its
		// message is Hasura's: missing session variable: "x-hasura-user-id".
		e.Code, e.Message = CodeNotFound, pg.Message
	case admin:
		e.Message = pg.Message
	}
	if admin {
		in := map[string]any{"error": map[string]any{
			"status_code": pg.Code, "message": pg.Message, "description": nilIfEmpty(pg.Detail), "hint": pg.Hint,
		}}
		e.Internal = in
	}
	return e
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
