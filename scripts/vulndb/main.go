// Command vulndb indexes a directory of Go vulnerability reports (OSV
// JSON, one file per ID, as github.com/golang/vulndb keeps them in
// data/osv) so that govulncheck can read it with -db file://DIR when the
// machine cannot reach vuln.go.dev.
//
//	go run ./scripts/vulndb DIR    # reads DIR/ID/*.json, writes DIR/index/
//
// The index follows the database layout govulncheck documents
// (https://go.dev/security/vuln/database): index/db.json holds the newest
// modification time, index/modules.json one entry per module with the
// IDs that affect it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type osvEntry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Events []struct {
				Fixed string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/vulndb DIR (DIR/ID holds the OSV files)")
		os.Exit(2)
	}
	if err := index(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func index(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "ID", "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no OSV files (expected ID/GO-*.json)", filepath.Join(dir, "ID"))
	}
	byPath := map[string]*module{}
	var newest, newestFile time.Time
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(newestFile) {
			newestFile = st.ModTime()
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e osvEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); e.ID != want {
			return fmt.Errorf("%s: id is %q, want %q", f, e.ID, want)
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Package.Name
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			m := byPath[p]
			if m == nil {
				m = &module{Path: p}
				byPath[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: lastFixed(a.Ranges)})
		}
	}
	mods := make([]*module, 0, len(byPath))
	for _, m := range byPath {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		return err
	}
	if newest.IsZero() {
		// Reports straight from the repository carry no publication
		// time; their files' times (a checkout's commit time) stand in.
		newest = newestFile.UTC().Truncate(time.Second)
	}
	if err := writeJSON(filepath.Join(dir, "index", "db.json"), map[string]time.Time{"modified": newest}); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "index", "modules.json"), mods)
}

// lastFixed is the last "fixed" event of the ranges: the version that
// fixes every affected range.
func lastFixed(ranges []struct {
	Events []struct {
		Fixed string `json:"fixed"`
	} `json:"events"`
}) string {
	fixed := ""
	for _, r := range ranges {
		for _, ev := range r.Events {
			if ev.Fixed != "" {
				fixed = ev.Fixed
			}
		}
	}
	return fixed
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
