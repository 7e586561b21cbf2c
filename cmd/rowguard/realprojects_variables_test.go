package main

import (
	"context"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestSampleValue checks the session variable values the runner sends: a
// value that casts to every column type the variable is compared with.
func TestSampleValue(t *testing.T) {
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TYPE mood AS ENUM ('sad', 'happy')`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		types []string
		want  string
	}{
		{[]string{"uuid"}, "00000000-0000-4000-8000-000000000001"},
		{[]string{"uuid", "text"}, "00000000-0000-4000-8000-000000000001"},
		{[]string{"integer", "text"}, "1"},
		{[]string{"bigint[]"}, "{}"},
		{[]string{"boolean"}, "1"}, // PostgreSQL reads 1 as true
		{[]string{"timestamp with time zone"}, "2026-01-01 00:00:00+00"},
		{[]string{"mood"}, "sad"},
		{[]string{"uuid", "integer"}, "rowguard"}, // nothing fits both
	} {
		if got := sampleValue(ctx, conn, c.types); got != c.want {
			t.Errorf("sampleValue(%v) = %q, want %q", c.types, got, c.want)
		}
	}
}
