package ws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestStreaming: <table>_stream sends the rows after the cursor in
// batches of batch_size, never an empty batch, moves the cursor with each
// batch, and keeps to the role's rows.
func TestStreaming(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: 50 * time.Millisecond})
	f.exec(t, "INSERT INTO note (owner, body) VALUES (1, 'three'), (2, 'four'), (1, 'five')")
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := dial(t, f.addr, p.offer...)
			c.send(init_(nil))
			c.expect("connection_ack", wait)
			c.send(start(p.want, "s", "subscription { note_stream(batch_size: 2, cursor: {initial_value: {id: 0}}) { id body } }"))
			want := []string{
				`{"data":{"note_stream":[{"id":1,"body":"one"},{"id":2,"body":"two"}]}}`,
				`{"data":{"note_stream":[{"id":3,"body":"three"},{"id":4,"body":"four"}]}}`,
				`{"data":{"note_stream":[{"id":5,"body":"five"}]}}`,
			}
			for i, w := range want {
				if got := strings.TrimSpace(rawPayload(c.expect(dataType(p.want), wait))); got != w {
					t.Fatalf("batch %d: got %s, want %s", i, got, w)
				}
			}
			quiet(t, c, 300*time.Millisecond) // no empty batch
		})
	}
	f.exec(t, "INSERT INTO note (owner, body) VALUES (2, 'six'), (1, 'seven')")
	c := dial(t, f.addr, "graphql-transport-ws")
	c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
	c.expect("connection_ack", wait)
	c.send(start("graphql-transport-ws", "s", "subscription { note_stream(batch_size: 10, cursor: {initial_value: {id: 2}, ordering: ASC}) { id } }"))
	if got := rawPayload(c.expect("next", wait)); got != `{"data":{"note_stream":[{"id":3},{"id":5},{"id":7}]}}` {
		t.Errorf("user 1's stream: %s", got)
	}
	f.exec(t, "INSERT INTO note (owner, body) VALUES (2, 'eight'), (1, 'nine')")
	if got := rawPayload(c.expect("next", wait)); got != `{"data":{"note_stream":[{"id":9}]}}` {
		t.Errorf("user 1's next batch: %s", got)
	}
}

// rawPayload is a message's payload as the server wrote it.
func rawPayload(e event) string {
	i := strings.Index(e.raw, `"payload":`)
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(e.raw[i+len(`"payload":`):], "}")
}
