package migrations

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
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
		lines = append(lines, fmt.Sprintf("%d %t %s", s.line, s.txKind != 0, strings.Fields(s.text[leadingSpace(s.text):])[0]))
	}
	want := "2 false CREATE|4 false CREATE|9 false DO|10 true COMMIT|11 true SAVEPOINT"
	if g := strings.Join(lines, "|"); g != want {
		t.Errorf("statements:\n got %s\nwant %s", g, want)
	}
}

// TestMigrationTransactionBlocks: BEGIN … COMMIT in a migration (as
// otohime-site's 1621752620055_dx-intl-id-changes has) keeps its meaning
// inside the one transaction: COMMIT keeps the block, ROLLBACK undoes it,
// and a later failure undoes everything.
func TestMigrationTransactionBlocks(t *testing.T) {
	ctx := context.Background()
	dir := hasuraProject(t)
	writeFiles(t, dir, map[string]string{
		"migrations/default/1710000000000_blocks/up.sql": "BEGIN;\nCREATE TABLE kept (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE undone (id int);\nROLLBACK;\nSTART TRANSACTION;\nCREATE TABLE unterminated (id int);\n",
	})
	cfg := projectTestConfig(t, dir)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	conn := pgtest.Connect(t, cfg.DatabaseURL)
	var got string
	if err := conn.QueryRow(ctx, `SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE tablename IN ('kept', 'undone', 'unterminated')`).Scan(&got); err != nil || got != "kept unterminated" {
		t.Errorf("tables = %q, %v; want kept unterminated", got, err)
	}
	writeFiles(t, dir, map[string]string{"migrations/default/1900000000000_rollback/up.sql": "CREATE TABLE later (id int);\nROLLBACK;\n"})
	err := Up(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "1900000000000_rollback/up.sql:2: ROLLBACK outside BEGIN") {
		t.Errorf("Up with a bare ROLLBACK = %v", err)
	}
}
