package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gopkg.in/yaml.v3"
)

// realProject is one entry of the real projects' MANIFEST.yaml: where a
// Hasura or Nhost project keeps its metadata and migrations, and what the
// platform it runs on sets up before them. Paths are relative to the
// manifest's folder.
type realProject struct {
	// Dir is the manifest's folder.
	Dir                string   `yaml:"-"`
	Name               string   `yaml:"name"`
	Metadata           string   `yaml:"metadata"`
	Migrations         string   `yaml:"migrations"`
	Pre                []string `yaml:"pre"`
	PlatformMigrations []string `yaml:"platform_migrations"`
	Post               []string `yaml:"post"`
	// Seeds: the project's users apply its seeds (`hasura seed apply`)
	// before the metadata, which needs their rows (enum tables): the
	// install is `migrate up --project DIR --seeds`.
	Seeds bool `yaml:"seeds"`
}

// readManifest reads dir/MANIFEST.yaml and makes every path in it absolute.
func readManifest(dir string) ([]*realProject, error) {
	b, err := os.ReadFile(filepath.Join(dir, "MANIFEST.yaml"))
	if err != nil {
		return nil, err
	}
	var ps []*realProject
	if err := yaml.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "MANIFEST.yaml"), err)
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		return filepath.Join(dir, p)
	}
	for i, p := range ps {
		p.Dir = dir
		if p.Name == "" || p.Metadata == "" {
			return nil, fmt.Errorf("%s: entry %d needs a name and a metadata folder", filepath.Join(dir, "MANIFEST.yaml"), i+1)
		}
		p.Metadata, p.Migrations = abs(p.Metadata), abs(p.Migrations)
		for _, l := range [][]string{p.Pre, p.PlatformMigrations, p.Post} {
			for j := range l {
				l[j] = abs(l[j])
			}
		}
	}
	return ps, nil
}

// sqlFile is one SQL file to run, with the version it sorts by.
type sqlFile struct {
	path    string
	version uint64
}

// versioned sorts files by version, then by path.
func versioned(files []sqlFile) []sqlFile {
	sort.Slice(files, func(i, j int) bool {
		if files[i].version != files[j].version {
			return files[i].version < files[j].version
		}
		return files[i].path < files[j].path
	})
	return files
}

// leadingVersion parses the digits name starts with ("1557077750045_init"
// → 1557077750045); ok is false when it starts with none.
func leadingVersion(name string) (uint64, bool) {
	n := strings.IndexFunc(name, func(r rune) bool { return r < '0' || r > '9' })
	if n < 0 {
		n = len(name)
	}
	v, err := strconv.ParseUint(name[:n], 10, 64)
	return v, err == nil
}

// upFiles lists the up migrations of dir in version order, in either
// layout: golang-migrate's and flat Hasura CLI's `<version>_<name>.up.sql`
// files, and Hasura CLI's `<version>_<name>/up.sql` folders. A folder with
// no up.sql (a down-only migration) is left out.
func upFiles(dir string) ([]sqlFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []sqlFile
	for _, e := range entries {
		v, ok := leadingVersion(e.Name())
		if !ok {
			continue
		}
		switch {
		case e.IsDir():
			up := filepath.Join(dir, e.Name(), "up.sql")
			if _, err := os.Stat(up); err == nil {
				files = append(files, sqlFile{up, v})
			}
		case strings.HasSuffix(e.Name(), ".up.sql"):
			files = append(files, sqlFile{filepath.Join(dir, e.Name()), v})
		}
	}
	return versioned(files), nil
}

// treeFiles lists every .sql file under dir in path order.
func treeFiles(dir string) ([]sqlFile, error) {
	var files []sqlFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".sql") {
			files = append(files, sqlFile{path: path})
		}
		return nil
	})
	return versioned(files), err
}

// runSQLFile sends the file's text as one simple-protocol request (one
// implicit transaction, as golang-migrate applies a migration). A failure
// names the file (relative to base) and, from PostgreSQL's position, the
// line.
func runSQLFile(ctx context.Context, conn *pgx.Conn, base, path string) error {
	name := path
	if rel, err := filepath.Rel(base, path); err == nil {
		name = rel
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = conn.PgConn().Exec(ctx, string(b)).ReadAll()
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Position > 0 {
		// Position counts characters from 1.
		text := []rune(string(b))
		line := 1 + strings.Count(string(text[:min(int(pe.Position)-1, len(text))]), "\n")
		return fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}
