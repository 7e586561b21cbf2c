package migrations

import (
	"fmt"
	"strings"
	"testing"
)

// TestStatements: a migration splits into its statements with the line
// each starts on, $$ bodies and DO blocks kept whole, and BEGIN / COMMIT
// recognised.
func TestStatements(t *testing.T) {
	sql := "-- a comment\nCREATE TABLE a (id int);\n\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\n/* block */ DO $d$ BEGIN PERFORM 1; END $d$;\nCOMMIT;\nSAVEPOINT s;"
	got, err := statements(sql)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range got {
		lines = append(lines, fmt.Sprintf("%d %t %s", s.line, s.transactionControl, strings.Fields(s.text[leadingSpace(s.text):])[0]))
	}
	want := "2 false CREATE|4 false CREATE|9 false DO|10 true COMMIT|11 false SAVEPOINT"
	if g := strings.Join(lines, "|"); g != want {
		t.Errorf("statements:\n got %s\nwant %s", g, want)
	}
}
