package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/console"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// TestDirStoreApply: applying writes only the changed table's file and
// installs it; a change the install refuses leaves every file as it was
// and the installed version unchanged.
func TestDirStoreApply(t *testing.T) {
	prefix := pgtest.UniqueName("rgcs") + "_"
	definer := pgtest.UniqueName("rgcs_definer")
	pgtest.DropRolesLater(t, prefix, definer)
	db := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := pgtest.Connect(t, db)
	if _, err := conn.Exec(ctx, `CREATE TABLE book (id int PRIMARY KEY, genre text); CREATE TABLE shelf (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"databases/databases.yaml":                   "- name: default\n  kind: postgres\n  tables: \"!include default/tables/tables.yaml\"\n",
		"databases/default/tables/tables.yaml":       "- \"!include public_book.yaml\"\n- \"!include public_shelf.yaml\"\n",
		"databases/default/tables/public_book.yaml":  "table:\n  name: book\n  schema: public\nselect_permissions:\n  - role: reader\n    permission:\n      columns: [id]\n      filter: {}\n",
		"databases/default/tables/public_shelf.yaml": "# kept as written\ntable: {name: shelf, schema: public}\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copts, ropts := compiler.Options{RolePrefix: prefix}, rls.Options{DefinerRole: definer}
	if err := migrations.Up(ctx, migrations.Config{DatabaseURL: db, Metadata: dir, Compile: copts, RLS: ropts}); err != nil {
		t.Fatal(err)
	}
	installed := 0
	store := &console.DirStore{Path: dir, DatabaseURL: db, Compile: copts, RLS: ropts,
		Installed: func(context.Context) error { installed++; return nil }}
	doc, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	version := func() int64 {
		in, err := migrations.Current(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		return in.Version
	}
	before := version()

	edited := strings.Replace(string(doc.Export), `"filter":{}`, `"filter":{"genre":{"_eq":"fiction"}}`, 1)
	if edited == string(doc.Export) {
		t.Fatalf("no filter to edit in %s", doc.Export)
	}
	if err := store.Apply(ctx, []byte(edited)); err != nil {
		t.Fatal(err)
	}
	book, _ := os.ReadFile(filepath.Join(dir, "databases/default/tables/public_book.yaml"))
	shelf, _ := os.ReadFile(filepath.Join(dir, "databases/default/tables/public_shelf.yaml"))
	if !strings.Contains(string(book), "fiction") {
		t.Errorf("public_book.yaml:\n%s", book)
	}
	if string(shelf) != files["databases/default/tables/public_shelf.yaml"] {
		t.Errorf("the unchanged table's file was rewritten:\n%s", shelf)
	}
	if got := version(); got != before+1 || installed != 1 {
		t.Errorf("version %d (was %d), installed hook ran %d times", got, before, installed)
	}

	bad := strings.Replace(edited, `"genre"`, `"genre_typo"`, 1)
	err = store.Apply(ctx, []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "genre_typo") || !strings.Contains(err.Error(), "restored") {
		t.Fatalf("a change that does not compile: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "databases/default/tables/public_book.yaml"))
	if string(after) != string(book) {
		t.Errorf("public_book.yaml not restored:\n%s", after)
	}
	if got := version(); got != before+1 || installed != 1 {
		t.Errorf("after a refused change: version %d, installed hook ran %d times", got, installed)
	}
	// Untracking is not the console's job.
	noTables := strings.Replace(edited, `"tables":[`, `"tables":[],"x":[`, 1)
	if err := store.Apply(ctx, []byte(noTables)); err == nil || !strings.Contains(err.Error(), "does not untrack") {
		t.Errorf("dropping tables: %v", err)
	}
}
