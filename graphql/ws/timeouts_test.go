package ws_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestServerTimeoutsSpareWebSockets: an http.Server with read and write
// timeouts (rowguard serve's --read-timeout, --write-timeout) must not
// cut a WebSocket once it is taken over: a subscription still pushes a
// change well after both timeouts passed.
func TestServerTimeoutsSpareWebSockets(t *testing.T) {
	f := newFixture(t, ws.Config{KeepAlive: 50 * time.Millisecond}, graphql.LiveConfig{})
	const timeout = 200 * time.Millisecond
	srv := httptest.NewUnstartedServer(f.srv.Config.Handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = timeout, timeout
	srv.Start()
	t.Cleanup(srv.Close)
	c := dial(t, strings.TrimPrefix(srv.URL, "http://"), "graphql-transport-ws")
	c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
	c.expect("connection_ack", wait)
	c.send(start(c.proto, "s", "subscription { note(order_by: {id: asc}) { body } }"))
	c.expect("next", wait)
	// Keepalives keep coming past the timeouts: the connection is read
	// and written all along.
	for end := time.Now().Add(5 * timeout); time.Now().Before(end); {
		if e := c.next(wait); e.msg["type"] != "ping" {
			t.Fatalf("got %s, want keepalives", e.raw)
		}
	}
	f.exec(t, "INSERT INTO note (owner, body) VALUES (1, 'after the timeouts')")
	if e := c.expect("next", wait); !strings.Contains(payload(e), "after the timeouts") {
		t.Errorf("push after the timeouts: %s", payload(e))
	}
}
