package compiler

// This file holds what ParseDDL accepts of psql scripts beyond SQL: the
// backslash meta-command lines pg_dump writes (\connect, and since
// PostgreSQL 15.14 \restrict and \unrestrict around every dump).

import (
	"errors"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
)

// parseScript parses a psql script: where the parser stops at a line
// that starts with a backslash (a psql meta-command, which psql runs
// itself and never sends), the line is blanked and the parse retried, so
// backslashes inside strings and function bodies stay as they are and
// positions stay those of the file.
func parseScript(sql string) (*pg_query.ParseResult, error) {
	for {
		tree, err := pg_query.Parse(sql)
		var pe *parser.Error
		if err == nil || !errors.As(err, &pe) || pe.Cursorpos <= 0 {
			return tree, err
		}
		off := charOffset(sql, pe.Cursorpos-1)
		start := strings.LastIndexByte(sql[:off], '\n') + 1
		if strings.TrimLeft(sql[start:off], " \t") != "" || off >= len(sql) || sql[off] != '\\' {
			return tree, err
		}
		end := strings.IndexByte(sql[off:], '\n')
		if end < 0 {
			end = len(sql) - off
		}
		sql = sql[:start] + strings.Repeat(" ", off+end-start) + sql[off+end:]
	}
}
