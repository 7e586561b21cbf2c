package ws_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// client is a minimal WebSocket client for the tests: it masks its frames
// as RFC 6455 requires of clients.
type client struct {
	t     testing.TB
	nc    net.Conn
	r     *bufio.Reader
	proto string // the subprotocol the server answered
}

// dial opens a WebSocket to addr's /v1/graphql offering protocols.
func dial(t testing.TB, addr string, protocols ...string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	req := "GET /v1/graphql HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\n"
	if len(protocols) > 0 {
		req += "Sec-WebSocket-Protocol: " + strings.Join(protocols, ", ") + "\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: status %d", resp.StatusCode)
	}
	return &client{t: t, nc: nc, r: r, proto: resp.Header.Get("Sec-WebSocket-Protocol")}
}

// send writes one masked text frame, cut in two fragments to exercise
// reassembly.
func (c *client) send(msg string) {
	c.t.Helper()
	half := len(msg) / 2
	c.frame(false, 0x1, []byte(msg[:half]))
	c.frame(true, 0x0, []byte(msg[half:]))
}

func (c *client) frame(fin bool, op byte, payload []byte) {
	c.t.Helper()
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	b = append(b, mask...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// event is what the server sent: a message, or its close.
type event struct {
	msg    map[string]any
	raw    string
	closed bool
	code   int
	reason string
}

// next reads the next message or close within d; a close is returned as
// an event, a timeout fails the test.
func (c *client) next(d time.Duration) event {
	c.t.Helper()
	e, err := c.read(d)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return e
}

// read is next for goroutines other than the test's: it returns errors.
func (c *client) read(d time.Duration) (event, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return event{}, err
		}
		n := uint64(h[1] & 0x7F)
		switch n {
		case 126:
			var b [2]byte
			io.ReadFull(c.r, b[:])
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			io.ReadFull(c.r, b[:])
			n = binary.BigEndian.Uint64(b[:])
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.r, p); err != nil {
			return event{}, err
		}
		switch h[0] & 0x0F {
		case 0x8:
			e := event{closed: true}
			if len(p) >= 2 {
				e.code, e.reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
			}
			return e, nil
		case 0x9, 0xA:
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			return event{}, fmt.Errorf("not JSON: %s", p)
		}
		return event{msg: m, raw: string(p)}, nil
	}
}

// expect reads messages, skipping keepalives, until one of type typ.
func (c *client) expect(typ string, d time.Duration) event {
	c.t.Helper()
	for {
		e := c.next(d)
		if e.closed {
			c.t.Fatalf("closed %d %q while waiting for %s", e.code, e.reason, typ)
		}
		switch e.msg["type"] {
		case "ka":
			continue
		case "ping":
			if p, _ := e.msg["payload"].(map[string]any); p["message"] == "keepalive" {
				continue
			}
		}
		if e.msg["type"] != typ {
			c.t.Fatalf("got %s, want a %s message", e.raw, typ)
		}
		return e
	}
}

// expectClose reads until the close frame.
func (c *client) expectClose(d time.Duration) event {
	c.t.Helper()
	for {
		e := c.next(d)
		if e.closed {
			return e
		}
	}
}

func init_(headers map[string]string) string {
	b, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"headers": headers}})
	return string(b)
}

func start(proto, id, query string) string {
	typ := "start"
	if proto == "graphql-transport-ws" {
		typ = "subscribe"
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "payload": map[string]any{"query": query}})
	return string(b)
}

func stop(proto, id string) string {
	typ := "stop"
	if proto == "graphql-transport-ws" {
		typ = "complete"
	}
	return fmt.Sprintf(`{"type":%q,"id":%q}`, typ, id)
}

// dataType is the type of a result message in proto.
func dataType(proto string) string {
	if proto == "graphql-transport-ws" {
		return "next"
	}
	return "data"
}

// payload returns a result message's payload re-encoded.
func payload(e event) string {
	b, _ := json.Marshal(e.msg["payload"])
	return string(b)
}
