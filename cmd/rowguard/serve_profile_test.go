package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeCPUProfile: serve --cpu-profile writes a pprof profile (gzip
// compressed protocol buffers) when the server shuts down.
func TestServeCPUProfile(t *testing.T) {
	_, login, prefix := blogDatabaseWithLogin(t)
	file := filepath.Join(t.TempDir(), "cpu.pprof")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, []string{"--host", "127.0.0.1", "--port", "0", "--database-url", login, "--role-prefix", prefix, "--cpu-profile", file}, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	url := ""
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "serving GraphQL on "); ok {
			url = strings.Fields(rest)[0]
			break
		}
	}
	if url == "" {
		t.Fatalf("serve did not start: %v", lines.Err())
	}
	go io.Copy(io.Discard, pr)
	for range 20 {
		post(t, url, articlesQuery)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("the profile is not a gzip-compressed pprof profile (%d bytes)", len(b))
	}
}
