package console_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGraphiQLCurrent runs graphiql/build.sh into a temporary directory
// and fails when the committed static/graphiql.{js,css} differ from what
// it generates: after changing graphiql/entry.jsx, package.json or the
// lock file, run console/graphiql/build.sh and commit its output. npm
// installs into the user's cache directory, once per lock file.
func TestGraphiQLCurrent(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: scripts/ensure-node.sh installs Debian's nodejs and npm", tool)
		}
	}
	lock, err := os.ReadFile("graphiql/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	work := filepath.Join(cache, "rowguard", "graphiql-"+hex.EncodeToString(sum[:8]))
	out := t.TempDir()
	cmd := exec.Command("graphiql/build.sh", out)
	cmd.Env = append(os.Environ(), "GRAPHIQL_WORK="+work)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("graphiql/build.sh: %v\n%s", err, b)
	}
	for _, name := range []string{"graphiql.js", "graphiql.css"} {
		want, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("static", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("static/%s (%d bytes) is not what graphiql/build.sh generates (%d bytes): run console/graphiql/build.sh and commit console/static", name, len(got), len(want))
		}
	}
}
