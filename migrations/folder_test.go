package migrations

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates files (path relative to dir → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFolderLayouts: both layouts side by side, versions in numeric (not
// lexical) order, a folder with only down.sql, and what golang-migrate
// asks of a source.
func TestFolderLayouts(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"1557077750045_init/up.sql":        "up 1557077750045",
		"1557077750045_init/down.sql":      "down 1557077750045",
		"900_flat.up.sql":                  "up 900",
		"900_flat.down.sql":                "down 900",
		"1600000000000_only_down/down.sql": "down 1600000000000",
		"1700000000000_only_up/up.sql":     "up 1700000000000",
		"README.md":                        "not a migration",
		"notes/x.sql":                      "not a migration either",
	})
	f, err := readFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint
	for v, err := f.First(); err == nil; v, err = f.Next(v) {
		got = append(got, v)
	}
	want := []uint{900, 1557077750045, 1600000000000, 1700000000000}
	if len(got) != len(want) {
		t.Fatalf("versions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("versions %v, want %v", got, want)
		}
	}
	read := func(r io.ReadCloser, id string, err error) string {
		t.Helper()
		if err != nil {
			return "error: " + err.Error()
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		return id + ": " + string(b)
	}
	cases := []struct{ name, got, want string }{
		{"flat up", read(f.ReadUp(900)), "900_flat: up 900"},
		{"hasura down", read(f.ReadDown(1557077750045)), "1557077750045_init: down 1557077750045"},
		{"hasura up", read(f.ReadUp(1557077750045)), "1557077750045_init: up 1557077750045"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if _, _, err := f.ReadUp(1600000000000); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadUp of a down-only version = %v, want os.ErrNotExist (golang-migrate records it without running anything)", err)
	}
	if _, _, err := f.ReadDown(1700000000000); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadDown of an up-only version = %v, want os.ErrNotExist", err)
	}
	if v, err := f.Prev(1600000000000); err != nil || v != 1557077750045 {
		t.Errorf("Prev = %d, %v", v, err)
	}
	if _, err := f.Prev(900); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Prev of the first = %v, want os.ErrNotExist", err)
	}
	if v, err := f.Next(1000); err != nil || v != 1557077750045 {
		t.Errorf("Next(1000) = %d, %v: a version between two continues at the next", v, err)
	}
	if _, err := f.Next(1700000000000); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Next of the last = %v, want os.ErrNotExist", err)
	}
}

func TestFolderErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"same version twice", map[string]string{"5_a/up.sql": "", "5_b.up.sql": ""}, "are both the up migration of version 5"},
		{"yaml migration", map[string]string{"5_a/up.yaml": ""}, "holds neither up.sql nor down.sql"},
		{"no folder", nil, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.files == nil {
				dir = filepath.Join(dir, "missing")
			}
			writeFiles(t, dir, c.files)
			_, err := readFolder(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("readFolder = %v, want an error with %q", err, c.want)
			}
		})
	}
}
