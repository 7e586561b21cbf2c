package compiler

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"gopkg.in/yaml.v3"

	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

// realProject is one entry of the real projects' MANIFEST.yaml.
type realProject struct {
	Name               string   `yaml:"name"`
	Metadata           string   `yaml:"metadata"`
	Migrations         string   `yaml:"migrations"`
	Pre                []string `yaml:"pre"`
	PlatformMigrations []string `yaml:"platform_migrations"`
	Post               []string `yaml:"post"`
}

// realProjectsDir is the folder of real Hasura/Nhost projects (data, never
// copied into the repository): $ROWGUARD_REAL_PROJECTS, else
// ../shared/real-projects from the repository root.
func realProjectsDir(t *testing.T) (string, []realProject) {
	t.Helper()
	dir := os.Getenv("ROWGUARD_REAL_PROJECTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "real-projects")
	}
	b, err := os.ReadFile(filepath.Join(dir, "MANIFEST.yaml"))
	if os.IsNotExist(err) {
		t.Skipf("no real projects at %s (set ROWGUARD_REAL_PROJECTS)", dir)
	} else if err != nil {
		t.Fatal(err)
	}
	var projects []realProject
	if err := yaml.Unmarshal(b, &projects); err != nil {
		t.Fatalf("%s: %v", filepath.Join(dir, "MANIFEST.yaml"), err)
	}
	return dir, projects
}

// realSQL is one SQL file of a real project, in the order the manifest
// applies them; post files are applied with check_function_bodies off.
type realSQL struct {
	DDLFile
	post bool
}

// realProjectSQL lists the SQL the manifest applies for p, in order: pre
// files, each platform_migrations folder's <v>_<name>.up.sql by version,
// the project's migrations (<version>_<name>/up.sql or flat
// <version>_<name>.up.sql) by version, then each post folder's .sql files
// in path order.
func realProjectSQL(t *testing.T, dir string, p realProject) []realSQL {
	t.Helper()
	var out []realSQL
	add := func(path string, post bool) {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, realSQL{DDLFile{Name: path, SQL: string(b)}, post})
	}
	for _, f := range p.Pre {
		add(f, false)
	}
	for _, d := range p.PlatformMigrations {
		for _, f := range versioned(t, dir, d) {
			add(f, false)
		}
	}
	if p.Migrations != "" {
		for _, f := range versioned(t, dir, p.Migrations) {
			add(f, false)
		}
	}
	for _, d := range p.Post {
		var files []string
		err := filepath.WalkDir(filepath.Join(dir, d), func(path string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(path, ".sql") {
				rel, _ := filepath.Rel(dir, path)
				files = append(files, rel)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(files)
		for _, f := range files {
			add(f, true)
		}
	}
	return out
}

// versioned lists a migrations folder's up files, <version>_<name>/up.sql
// or <version>_<name>.up.sql, in numeric version order.
func versioned(t *testing.T, dir, folder string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, folder))
	if err != nil {
		t.Fatal(err)
	}
	type mig struct {
		version uint64
		path    string
	}
	var migs []mig
	for _, e := range entries {
		v, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.ParseUint(v, 10, 64)
		if !ok || err != nil {
			continue
		}
		switch {
		case e.IsDir():
			if _, err := os.Stat(filepath.Join(dir, folder, e.Name(), "up.sql")); err == nil {
				migs = append(migs, mig{n, filepath.Join(folder, e.Name(), "up.sql")})
			}
		case strings.HasSuffix(e.Name(), ".up.sql"):
			migs = append(migs, mig{n, filepath.Join(folder, e.Name())})
		}
	}
	sort.SliceStable(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	var out []string
	for _, m := range migs {
		out = append(out, m.path)
	}
	return out
}

// TestCatalogDDLRealProjects builds each real project's catalog offline
// from the SQL its manifest applies and compares it with the catalog of a
// database the same SQL was applied to: every relation must agree, those
// the project's metadata tracks first. Where the SQL does what the offline
// catalog cannot model, ParseDDL must refuse at the statement's file:line
// and point to --database-url. Either way, the schema-only pg_dump of the
// database must replay offline to the same catalog.
func TestCatalogDDLRealProjects(t *testing.T) {
	t.Parallel()
	dir, projects := realProjectsDir(t)
	bin, err := pgcluster.BinDir()
	if err != nil {
		t.Skip(err)
	}
	for _, p := range projects {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			files := realProjectSQL(t, dir, p)
			md, err := policies.Load(filepath.Join(dir, p.Metadata))
			if err != nil {
				t.Fatalf("load metadata: %v", err)
			}
			var ddl []DDLFile
			for _, f := range files {
				ddl = append(ddl, f.DDLFile)
			}
			offline, offlineErr := ParseDDL(ddl)

			ctx := context.Background()
			url := pgtest.NewDatabase(t)
			conn := pgtest.Connect(t, url)
			for _, f := range files {
				if f.post {
					if _, err := conn.Exec(ctx, "SET check_function_bodies = off"); err != nil {
						t.Fatal(err)
					}
				}
				// One statement at a time, as psql runs a file outside a
				// transaction (ALTER TYPE … ADD VALUE, then its use).
				stmts, err := pg_query.SplitWithParser(f.SQL, true)
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				for _, s := range stmts {
					if _, err := conn.Exec(ctx, s); err != nil {
						t.Fatalf("%s: %v\n%s", f.Name, err, s)
					}
				}
			}
			live, err := LoadCatalog(ctx, conn, nil)
			if err != nil {
				t.Fatalf("LoadCatalog: %v", err)
			}
			// An extension's own relations (pg_stat_statements' views) come
			// from CREATE EXTENSION, which neither the migrations nor a dump
			// spell out; ParseDDL does not invent them.
			rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var q policies.QualifiedTable
				if err := rows.Scan(&q.Schema, &q.Name); err != nil {
					t.Fatal(err)
				}
				if live.Table(q) != nil {
					t.Logf("not compared: %s belongs to an extension", q)
					delete(live.Tables, q)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			tracked := map[policies.QualifiedTable]bool{}
			for _, tb := range md.Tables {
				tracked[tb.Table] = true
				if live.Table(tb.Table) == nil {
					t.Errorf("metadata tracks %s, which the database does not have", tb.Table)
				}
			}
			t.Logf("%d files, %d relations, %d tracked", len(files), len(live.Tables), len(tracked))

			if offlineErr != nil {
				// Refusing is right only where a statement does what the
				// offline catalog cannot model, and the message must say
				// where and what to do.
				if !regexp.MustCompile(`^[^:]+\.sql:\d+:\d+: .*--database-url`).MatchString(offlineErr.Error()) {
					t.Errorf("ParseDDL(migrations): %v\nwant a refusal at file:line:col that points to --database-url", offlineErr)
				} else {
					t.Logf("ParseDDL(migrations) refuses, as it must: %v", offlineErr)
				}
			} else {
				compareRealCatalogs(t, "migrations", offline, live, tracked)
			}

			out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_dump"), "--schema-only", "--dbname", url).Output()
			if err != nil {
				t.Fatalf("pg_dump: %v", err)
			}
			dumped, err := ParseDDL([]DDLFile{{Name: p.Name + ".dump.sql", SQL: string(out)}})
			if err != nil {
				t.Fatalf("ParseDDL(pg_dump): %v", err)
			}
			compareRealCatalogs(t, "pg_dump", dumped, live, tracked)
		})
	}
}

// compareRealCatalogs reports each relation on which the offline and live
// catalogs disagree (view columns of UnknownType offline take the live
// type, and are counted).
func compareRealCatalogs(t *testing.T, from string, offline, live *Catalog, tracked map[policies.QualifiedTable]bool) {
	t.Helper()
	unknown, bad := 0, 0
	for _, name := range unionNames(offline, live) {
		a, b := offline.Table(name), live.Table(name)
		unknown += acceptUnknownTypes(a, b)
		if a != nil && b != nil && a.GrantVia == nil {
			// Which table a periods history view takes its grants from is
			// in the extension's registry, which a schema-only dump or the
			// migrations' DDL do not carry: known live only.
			a.GrantVia = b.GrantVia
		}
		if reflect.DeepEqual(a, b) {
			continue
		}
		bad++
		diff := catalogDiff(&Catalog{Tables: map[policies.QualifiedTable]*Table{name: a}}, &Catalog{Tables: map[policies.QualifiedTable]*Table{name: b}})
		what := "untracked"
		if tracked[name] {
			what = "tracked"
		}
		t.Errorf("%s %s: ParseDDL(%s) and LoadCatalog disagree (- ParseDDL, + LoadCatalog):\n%s", what, name, from, diff)
	}
	t.Logf("ParseDDL(%s): %d relations, %d disagree, %d view columns of unknown type offline", from, len(offline.Tables), bad, unknown)
	fa, fb := offline.SortedFunctions(), live.SortedFunctions()
	if d := functionsDiff(offline, live); d != "" {
		t.Errorf("ParseDDL(%s) and LoadCatalog disagree on functions (- ParseDDL, + LoadCatalog):\n%s", from, d)
	}
	t.Logf("ParseDDL(%s): %d functions, LoadCatalog %d", from, len(fa), len(fb))
}

// unionNames returns the relations of a and b, sorted.
func unionNames(a, b *Catalog) []policies.QualifiedTable {
	all := NewCatalog()
	for _, c := range []*Catalog{a, b} {
		for name := range c.Tables {
			all.Add(&Table{Name: name})
		}
	}
	var out []policies.QualifiedTable
	for _, t := range all.SortedTables() {
		out = append(out, t.Name)
	}
	return out
}

// acceptUnknownTypes copies the live type into the offline view columns
// whose type ParseDDL could not know (UnknownType), and counts them.
func acceptUnknownTypes(offline, live *Table) int {
	n := 0
	if offline == nil || live == nil || !offline.IsView {
		return 0
	}
	for _, c := range offline.Columns {
		if lc := live.Column(c.Name); lc != nil && c.Type == UnknownType {
			c.Type = lc.Type
			n++
		}
	}
	return n
}
