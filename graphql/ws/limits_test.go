package ws_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestSubscriptionRequestLimits: the depth limit refuses a subscription
// as it refuses a query, and the time limit bounds each refetch: a
// refetch that waits too long is pushed as Hasura's error, and the
// subscription stays and recovers.
func TestSubscriptionRequestLimits(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: 100 * time.Millisecond}, func(c *graphql.Config) {
		c.DepthLimit = 1
		c.TimeLimit = 200 * time.Millisecond
	})
	user := map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}
	for _, p := range protocols {
		c := dial(t, f.addr, p.offer...)
		c.send(init_(user))
		c.expect("connection_ack", wait)
		c.send(start(p.want, "deep", "subscription { note { id } }"))
		if e := c.expect("error", wait); !strings.Contains(e.raw, "depth limit") {
			t.Errorf("%s: depth: %s", p.name, e.raw)
		}
	}

	f = newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: 100 * time.Millisecond}, func(c *graphql.Config) {
		c.TimeLimit = 200 * time.Millisecond
	})
	c := dial(t, f.addr, "graphql-transport-ws")
	c.send(init_(user))
	c.expect("connection_ack", wait)
	c.send(start("graphql-transport-ws", "s", "subscription { note { body } }"))
	if got := payload(c.expect("next", wait)); !strings.Contains(got, `"one"`) {
		t.Fatalf("first push: %s", got)
	}
	// Hold a lock every refetch waits for, longer than the time limit.
	ctx := context.Background()
	tx, err := f.conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE note IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	got := payload(c.expect("next", wait))
	if !strings.Contains(got, "time limit exceeded") {
		t.Errorf("under the lock: %s, want the time limit's error", got)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := payload(c.expect("next", wait)); !strings.Contains(got, `"one"`) {
		t.Errorf("after the lock: %s, want the rows again", got)
	}
}
