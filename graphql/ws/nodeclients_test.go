package ws_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// nodeClients are the npm packages the client test installs: the two
// WebSocket GraphQL clients Hasura apps use, and a WebSocket for Node 20.
var nodeClients = []string{"graphql@16.9.0", "graphql-ws@5.16.0", "subscriptions-transport-ws@0.11.0", "ws@8.18.0"}

// installNodeClients installs nodeClients from npm once per machine (in
// the user's cache directory) and returns the directory holding their
// node_modules.
func installNodeClients(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: scripts/ensure-node.sh installs Debian's nodejs and npm")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "rowguard", "ws-clients-"+strings.ReplaceAll(strings.Join(nodeClients, "-"), "@", ""))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "subscriptions-transport-ws", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"install", "--no-audit", "--no-fund", "--prefix", dir}, nodeClients...)
	if out, err := exec.Command("npm", args...).CombinedOutput(); err != nil {
		t.Fatalf("npm install %v: %v\n%s", nodeClients, err, out)
	}
	return dir
}

// TestNodeClients runs the real npm clients against the server: each
// subscribes, receives its first result, a mutation sent over the socket
// as admin, and the pushed update; refused credentials close as
// documented (graphql-transport-ws 4403, Apollo connection_error then
// 4400).
func TestNodeClients(t *testing.T) {
	mods := installNodeClients(t)
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "testdata/clients.cjs", mods, "ws://"+f.addr+"/v1/graphql").CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	type result struct {
		First, Updated, Mutation json.RawMessage
		MutationCompleted        bool
		Refused                  struct {
			Code            int
			Reason          string
			ConnectionError json.RawMessage
		}
	}
	var got struct {
		GraphqlWs, Apollo result
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %s", out)
	}
	for name, r := range map[string]result{"graphql-ws": got.GraphqlWs, "subscriptions-transport-ws": got.Apollo} {
		if s := string(r.First); !strings.Contains(s, `"one"`) || strings.Contains(s, `"two"`) {
			t.Errorf("%s: first result %s, want user 1's rows only", name, s)
		}
		if s := string(r.Updated); !strings.Contains(s, "from "+name) || strings.Contains(s, `"two"`) {
			t.Errorf("%s: update %s", name, s)
		}
		if s := string(r.Mutation); !strings.Contains(s, `"insert_note_one"`) || !r.MutationCompleted {
			t.Errorf("%s: mutation %s, completed %v", name, s, r.MutationCompleted)
		}
	}
	if r := got.GraphqlWs.Refused; r.Code != 4403 || r.Reason != `{"server_error_msg":"4403: Forbidden"}` {
		t.Errorf("graphql-ws refused: %d %q, want 4403", r.Code, r.Reason)
	}
	if r := got.Apollo.Refused; r.Code != 4400 || string(r.ConnectionError) != `"not allowed"` {
		t.Errorf("subscriptions-transport-ws refused: %d %q, connection_error %s; want 4400 after \"not allowed\"", r.Code, r.Reason, r.ConnectionError)
	}
}
