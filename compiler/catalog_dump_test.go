package compiler

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestCatalogDDLFromPgDump: the schema-only dump of a database (SET
// lines, set_config, \restrict, sequences OWNED BY, ALTER TABLE ONLY … ADD
// CONSTRAINT, COMMENT, OWNER TO, …) replays offline to the catalog
// LoadCatalog reads from that database.
func TestCatalogDDLFromPgDump(t *testing.T) {
	t.Parallel()
	bin, err := pgcluster.BinDir()
	if err != nil {
		t.Skip(err)
	}
	pgDump := filepath.Join(bin, "pg_dump")
	for name, ddl := range map[string]string{"catalog": catalogDDL, "moves": movesDDL, "like": likeDDL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, url)
			if _, err := conn.Exec(ctx, ddl); err != nil {
				t.Fatalf("run the DDL: %v", err)
			}
			out, err := exec.CommandContext(ctx, pgDump, "--schema-only", "--dbname", url).Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("pg_dump: %v\n%s", err, stderr)
			}
			dump := string(out)
			if !strings.Contains(dump, "ALTER TABLE ONLY") || !strings.Contains(dump, "OWNED BY") {
				t.Fatalf("the dump lacks what this test is about:\n%s", dump)
			}
			offline, err := ParseDDL([]DDLFile{{Name: "dump.sql", SQL: dump}})
			if err != nil {
				t.Fatalf("ParseDDL(dump): %v", err)
			}
			live, err := LoadCatalog(ctx, conn, nil)
			if err != nil {
				t.Fatalf("LoadCatalog: %v", err)
			}
			live.Functions, offline.Functions = nil, nil
			if !reflect.DeepEqual(offline.Tables, live.Tables) {
				t.Errorf("ParseDDL(pg_dump) and LoadCatalog disagree (- ParseDDL, + LoadCatalog):\n%s", catalogDiff(offline, live))
			}
		})
	}
}
