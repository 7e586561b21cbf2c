package migrations

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// realProject is one entry of real-projects/MANIFEST.yaml.
type realProject struct {
	Name               string   `yaml:"name"`
	Migrations         string   `yaml:"migrations"`
	Pre                []string `yaml:"pre"`
	PlatformMigrations []string `yaml:"platform_migrations"`
}

// realProjects reads the manifest of the real Hasura and Nhost projects
// (../shared/real-projects from the repository root, or
// ROWGUARD_REAL_PROJECTS), and skips the test when there is none.
func realProjects(t *testing.T) (string, []realProject) {
	t.Helper()
	dir := os.Getenv("ROWGUARD_REAL_PROJECTS")
	if dir == "" {
		dir = "../../shared/real-projects"
	}
	b, err := os.ReadFile(filepath.Join(dir, "MANIFEST.yaml"))
	if err != nil {
		t.Skipf("no real projects at %s (set ROWGUARD_REAL_PROJECTS): %v", dir, err)
	}
	var ps []realProject
	if err := yaml.Unmarshal(b, &ps); err != nil {
		t.Fatalf("%s/MANIFEST.yaml: %v", dir, err)
	}
	return dir, ps
}

// emptyMetadata writes metadata tracking no table, so a test exercises the
// schema migrations alone.
func emptyMetadata(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"version.yaml":             "version: 3\n",
		"databases/databases.yaml": "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: []\n",
	})
	return dir
}

// TestRealProjectMigrations runs each real project's Hasura CLI migrations
// folder with `migrate up` on a database prepared as the manifest says
// (its pre SQL, the platform's own migrations), once from scratch and, for
// the smaller folders, once after the Hasura CLI applied the first half,
// and checks that every
// version is recorded once in hdb_catalog.schema_migrations.
func TestRealProjectMigrations(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real projects take a while")
	}
	root, projects := realProjects(t)
	ctx := context.Background()
	for _, p := range projects {
		t.Run(p.Name, func(t *testing.T) {
			migrationsDir := filepath.Join(root, p.Migrations)
			f, err := readFolder(migrationsDir)
			if err != nil {
				t.Fatal(err)
			}
			variants := []bool{false, true}
			if len(f.versions) > 50 {
				variants = variants[:1] // the prefix logic is the same; spare the time
			}
			for _, half := range variants {
				cfg := testConfig(t)
				cfg.Migrations, cfg.Metadata, cfg.HasuraLedger = migrationsDir, emptyMetadata(t), true
				conn := pgtest.Connect(t, cfg.DatabaseURL)
				run := func(file string) {
					t.Helper()
					b, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := conn.Exec(ctx, string(b)); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
				}
				for _, pre := range p.Pre {
					run(filepath.Join(root, pre))
				}
				for _, platform := range p.PlatformMigrations {
					files, _ := filepath.Glob(filepath.Join(root, platform, "*.up.sql"))
					sort.Slice(files, func(i, j int) bool { return versionOf(files[i]) < versionOf(files[j]) })
					for _, file := range files {
						run(file)
					}
				}
				applied := 0
				if half {
					// As the Hasura CLI leaves it: the first half applied, one
					// row per version.
					applied = len(f.versions) / 2
					if _, err := conn.Exec(ctx, `CREATE SCHEMA hdb_catalog; CREATE TABLE hdb_catalog.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`); err != nil {
						t.Fatal(err)
					}
					for _, v := range f.versions[:applied] {
						if m := f.migrations[v]; m.up != "" {
							run(m.up)
						}
						if _, err := conn.Exec(ctx, `INSERT INTO hdb_catalog.schema_migrations VALUES ($1, false)`, int64(v)); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := Up(ctx, cfg); err != nil {
					t.Fatalf("Up (after %d applied by the Hasura CLI): %v", applied, err)
				}
				var n int
				var top int64
				if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM hdb_catalog.schema_migrations WHERE NOT dirty`).Scan(&n, &top); err != nil {
					t.Fatal(err)
				}
				if n != len(f.versions) || top != int64(f.versions[len(f.versions)-1]) {
					t.Errorf("after Up (%d applied before): %d versions up to %d recorded, want %d up to %d", applied, n, top, len(f.versions), f.versions[len(f.versions)-1])
				}
			}
		})
	}
}

// versionOf returns the number a golang-migrate file name starts with.
func versionOf(file string) uint64 {
	base := filepath.Base(file)
	v, _ := strconv.ParseUint(base[:strings.IndexFunc(base, func(r rune) bool { return r < '0' || r > '9' })], 10, 64)
	return v
}
