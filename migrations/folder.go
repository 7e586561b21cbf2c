package migrations

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/golang-migrate/migrate/v4/source"
)

// folder is a golang-migrate source.Driver over a directory of schema
// migrations in either layout the Hasura CLI and golang-migrate write,
// side by side:
//
//	<version>_<name>/up.sql, <version>_<name>/down.sql   (Hasura CLI; either file may be missing)
//	<version>_<name>.up.sql, <version>_<name>.down.sql   (golang-migrate, flat)
//
// It reads the files where they are; a version whose up.sql is missing is
// recorded as applied without running anything, as the Hasura CLI does.
type folder struct {
	dir        string
	versions   []uint // ascending
	migrations map[uint]*folderMigration
}

// folderMigration is one version's files; a path is empty when the file
// is missing.
type folderMigration struct {
	version  uint
	name     string // <version>_<name>, as in the folder
	up, down string
}

var (
	hasuraMigrationDir = regexp.MustCompile(`^([0-9]+)_(.*)$`)
	flatMigrationFile  = regexp.MustCompile(`^([0-9]+)_(.*)\.(up|down)\.sql$`)
)

// readFolder lists the migrations in dir.
func readFolder(dir string) (*folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("schema migrations: %w (give the directory that holds <version>_<name>/up.sql or <version>_<name>.up.sql)", err)
	}
	f := &folder{dir: dir, migrations: map[uint]*folderMigration{}}
	add := func(version, name, kind, path string) error {
		v, err := strconv.ParseUint(version, 10, 0)
		if err != nil {
			return fmt.Errorf("schema migrations: %s: version %s: %w", path, version, err)
		}
		m := f.migrations[uint(v)]
		if m == nil {
			m = &folderMigration{version: uint(v), name: version + "_" + name}
			f.migrations[uint(v)] = m
			f.versions = append(f.versions, uint(v))
		}
		prev := &m.up
		if kind == "down" {
			prev = &m.down
		}
		if *prev != "" {
			return fmt.Errorf("schema migrations: %s and %s are both the %s migration of version %d: rename one to a version of its own", *prev, path, kind, v)
		}
		*prev = path
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			g := hasuraMigrationDir.FindStringSubmatch(name)
			if g == nil {
				continue
			}
			found := false
			for _, kind := range []string{"up", "down"} {
				p := filepath.Join(dir, name, kind+".sql")
				if _, err := os.Stat(p); err == nil {
					found = true
					if err := add(g[1], g[2], kind, p); err != nil {
						return nil, err
					}
				}
			}
			if !found {
				return nil, fmt.Errorf("schema migrations: %s holds neither up.sql nor down.sql (up.yaml migrations of the Hasura CLI v1 are not read: move their SQL into up.sql)", filepath.Join(dir, name))
			}
			continue
		}
		if g := flatMigrationFile.FindStringSubmatch(name); g != nil {
			if err := add(g[1], g[2], g[3], filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(f.versions, func(i, j int) bool { return f.versions[i] < f.versions[j] })
	return f, nil
}

// Open is not used: rowguard builds its sources with readFolder.
func (f *folder) Open(url string) (source.Driver, error) {
	return nil, fmt.Errorf("schema migrations: open %s: use readFolder", url)
}

// Close releases nothing: files are opened when read.
func (f *folder) Close() error { return nil }

// First returns the lowest version.
func (f *folder) First() (uint, error) {
	if len(f.versions) == 0 {
		return 0, &os.PathError{Op: "first", Path: f.dir, Err: os.ErrNotExist}
	}
	return f.versions[0], nil
}

// Prev returns the version before version.
func (f *folder) Prev(version uint) (uint, error) {
	i := sort.Search(len(f.versions), func(i int) bool { return f.versions[i] >= version })
	if i == 0 || i == len(f.versions) || f.versions[i] != version {
		return 0, &os.PathError{Op: fmt.Sprintf("prev for version %d", version), Path: f.dir, Err: os.ErrNotExist}
	}
	return f.versions[i-1], nil
}

// Next returns the version after version; version need not be in the
// folder, so a database migrated from another folder continues at the
// first version above its own.
func (f *folder) Next(version uint) (uint, error) {
	i := sort.Search(len(f.versions), func(i int) bool { return f.versions[i] > version })
	if i == len(f.versions) {
		return 0, &os.PathError{Op: fmt.Sprintf("next for version %d", version), Path: f.dir, Err: os.ErrNotExist}
	}
	return f.versions[i], nil
}

// ReadUp opens version's up migration.
func (f *folder) ReadUp(version uint) (io.ReadCloser, string, error) {
	return f.read(version, "up")
}

// ReadDown opens version's down migration.
func (f *folder) ReadDown(version uint) (io.ReadCloser, string, error) {
	return f.read(version, "down")
}

func (f *folder) read(version uint, kind string) (io.ReadCloser, string, error) {
	m := f.migrations[version]
	if m == nil {
		return nil, "", &os.PathError{Op: fmt.Sprintf("read %s migration %d", kind, version), Path: f.dir, Err: os.ErrNotExist}
	}
	p := m.up
	if kind == "down" {
		p = m.down
	}
	if p == "" {
		return nil, "", &os.PathError{Op: fmt.Sprintf("read %s migration %d", kind, version), Path: f.dir, Err: os.ErrNotExist}
	}
	r, err := os.Open(p)
	if err != nil {
		return nil, "", err
	}
	return r, m.name, nil
}

// file names version's up migration file, for error messages.
func (f *folder) file(version uint) string {
	if m := f.migrations[version]; m != nil {
		if m.up != "" {
			return m.up
		}
		return m.name
	}
	return strconv.FormatUint(uint64(version), 10)
}
