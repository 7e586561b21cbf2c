package compiler

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"gopkg.in/yaml.v3"

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
// database the same SQL was applied to, for every relation the project's
// metadata tracks (and reports the others that differ).
func TestCatalogDDLRealProjects(t *testing.T) {
	t.Parallel()
	dir, projects := realProjectsDir(t)
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
			offline, err := ParseDDL(ddl)
			if err != nil {
				t.Fatalf("ParseDDL: %v", err)
			}
			ctx := context.Background()
			conn := pgtest.Connect(t, pgtest.NewDatabase(t))
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
			tracked := map[policies.QualifiedTable]bool{}
			for _, tb := range md.Tables {
				tracked[tb.Table] = true
				if live.Table(tb.Table) == nil {
					t.Errorf("metadata tracks %s, which the database does not have", tb.Table)
				}
			}
			unknown := 0
			for _, name := range unionNames(offline, live) {
				a, b := offline.Table(name), live.Table(name)
				unknown += acceptUnknownTypes(a, b)
				if reflect.DeepEqual(a, b) {
					continue
				}
				diff := catalogDiff(&Catalog{Tables: map[policies.QualifiedTable]*Table{name: a}}, &Catalog{Tables: map[policies.QualifiedTable]*Table{name: b}})
				if tracked[name] {
					t.Errorf("tracked %s: ParseDDL and LoadCatalog disagree (- ParseDDL, + LoadCatalog):\n%s", name, diff)
				} else {
					t.Errorf("untracked %s: ParseDDL and LoadCatalog disagree (- ParseDDL, + LoadCatalog):\n%s", name, diff)
				}
			}
			t.Logf("%d files, %d relations (%d tracked), %d view columns of unknown type offline", len(files), len(live.Tables), len(tracked), unknown)
		})
	}
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
