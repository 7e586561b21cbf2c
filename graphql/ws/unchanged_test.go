package ws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestSkipUnchanged: with SkipUnchanged an idle database costs no cohort
// refetch (without it, every interval refetches), and a commit is still
// pushed.
func TestSkipUnchanged(t *testing.T) {
	const interval = 50 * time.Millisecond
	const idle = 600 * time.Millisecond // 12 intervals
	for _, skip := range []bool{false, true} {
		f := newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: interval, SkipUnchanged: skip})
		c := dial(t, f.addr, "graphql-transport-ws")
		c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
		c.expect("connection_ack", wait)
		c.send(start("graphql-transport-ws", "s", "subscription { note { body } }"))
		c.expect("next", wait)
		before := f.gql.LiveRefetches()
		time.Sleep(idle) // measuring idleness, not waiting for the server
		n := f.gql.LiveRefetches() - before
		switch {
		case skip && n > 2:
			t.Errorf("SkipUnchanged: %d refetches in %s of an idle database, want at most 2", n, idle)
		case !skip && n < 5:
			t.Errorf("without SkipUnchanged: %d refetches in %s, want one per interval", n, idle)
		}
		f.exec(t, "INSERT INTO note (owner, body) VALUES (1, 'after idle')")
		if got := payload(c.expect("next", wait)); !strings.Contains(got, "after idle") {
			t.Errorf("skip %v: after a commit: %s", skip, got)
		}
		t.Logf("skip %v: %d refetches in %s idle", skip, n, idle)
	}
}
