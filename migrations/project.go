package migrations

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// Project is a Hasura CLI project folder (the one `hasura init` makes):
// config.yaml, metadata/ and migrations/<source>/.
type Project struct {
	Dir string
	// Metadata is the metadata directory.
	Metadata string
	// Migrations is the chosen source's migrations directory; empty when
	// the project has no migrations folder.
	Migrations string
	// Seeds is the chosen source's seeds directory (seed data the Hasura
	// CLI applies with `hasura seed apply`); empty when there is none.
	Seeds string
}

// projectConfig is the part of config.yaml rowguard reads; endpoint,
// admin_secret, actions and the rest are the Hasura CLI's own.
type projectConfig struct {
	Version             int    `yaml:"version"`
	MetadataDirectory   string `yaml:"metadata_directory"`
	MigrationsDirectory string `yaml:"migrations_directory"`
	SeedsDirectory      string `yaml:"seeds_directory"`
}

// DefaultSource is the database a project folder's migrations are applied
// to unless told otherwise, as in the Hasura CLI.
const DefaultSource = "default"

// ReadProject reads the project folder dir: its config.yaml when there is
// one (metadata_directory and migrations_directory, default metadata and
// migrations), else the folder's metadata/ and migrations/. The
// migrations are those of source (config version 3:
// migrations/<source>/), or migrations/ itself when it holds versions
// directly (config version 2).
func ReadProject(dir, source string) (*Project, error) {
	if source == "" {
		source = DefaultSource
	}
	cfg := projectConfig{}
	configFile := filepath.Join(dir, "config.yaml")
	b, err := os.ReadFile(configFile)
	switch {
	case err == nil:
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", configFile, err)
		}
	case errors.Is(err, os.ErrNotExist):
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return nil, fmt.Errorf("project folder %s: not a directory: give the folder that holds config.yaml (or metadata/ and migrations/)", dir)
		}
	default:
		return nil, fmt.Errorf("project folder: %w", err)
	}
	if cfg.MetadataDirectory == "" {
		cfg.MetadataDirectory = "metadata"
	}
	if cfg.MigrationsDirectory == "" {
		cfg.MigrationsDirectory = "migrations"
	}
	if cfg.SeedsDirectory == "" {
		cfg.SeedsDirectory = "seeds"
	}
	p := &Project{Dir: dir, Metadata: filepath.Join(dir, cfg.MetadataDirectory)}
	p.Seeds = seedsDir(filepath.Join(dir, cfg.SeedsDirectory), source, cfg.Version)
	if _, err := os.Stat(p.Metadata); err != nil {
		return nil, fmt.Errorf("project folder %s has no metadata directory %s: give the folder `hasura init` made (config.yaml, metadata/, migrations/)", dir, p.Metadata)
	}
	migrations := filepath.Join(dir, cfg.MigrationsDirectory)
	entries, err := os.ReadDir(migrations)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil // metadata only: the schema is managed elsewhere
	}
	if err != nil {
		return nil, fmt.Errorf("project folder: %w", err)
	}
	var sources []string
	for _, e := range entries {
		switch {
		case !e.IsDir():
			if flatMigrationFile.MatchString(e.Name()) {
				p.Migrations = migrations
			}
		case e.Name() == source:
			p.Migrations = filepath.Join(migrations, source)
			return p, nil
		case hasuraMigrationDir.MatchString(e.Name()):
			p.Migrations = migrations
		default:
			sources = append(sources, e.Name())
		}
	}
	if p.Migrations != "" && cfg.Version < 3 {
		return p, nil
	}
	if len(sources) > 0 || p.Migrations != "" {
		sort.Strings(sources)
		return nil, fmt.Errorf("project folder %s: no migrations for source %q in %s (it has %v): pass --source with the database's name as in metadata/databases/databases.yaml", dir, source, migrations, sources)
	}
	return p, nil
}

// seedsDir returns the seeds directory of source under dir: dir/<source>
// (config version 3), or dir itself when it holds .sql files directly
// (version 2); empty when there is neither.
func seedsDir(dir, source string, version int) string {
	if fi, err := os.Stat(filepath.Join(dir, source)); err == nil && fi.IsDir() {
		return filepath.Join(dir, source)
	}
	if version >= 3 {
		return ""
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.sql")); len(files) > 0 {
		return dir
	}
	return ""
}
