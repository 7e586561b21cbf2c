package wsclient

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// Protocol is the subprotocol the client offers and requires.
const Protocol = "graphql-transport-ws"

// Conn is one graphql-transport-ws connection. Send and Subscribe may be
// called from any goroutine; Read from one at a time. After an error of
// Read the connection is only good for Close.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
	mu sync.Mutex // writes
}

// Message is a graphql-transport-ws message as read.
type Message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// CloseError is Read's error when the server closed the connection, with
// the close frame's code (1005 when it had none) and reason.
type CloseError struct {
	Code   int
	Reason string
}

// Error says the code, and the reason when there is one.
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket closed by the server with %d", e.Code)
	}
	return fmt.Sprintf("websocket closed by the server with %d %q", e.Code, e.Reason)
}

// Dial opens endpoint (http://host:port/v1/graphql, the GraphQL URL) as a
// graphql-transport-ws WebSocket, sends connection_init with headers as
// its payload's headers and returns once the server acknowledges it. ctx
// bounds the whole of it.
func Dial(ctx context.Context, endpoint string, headers map[string]string) (*Conn, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	c, err := handshake(ctx, nc, u, headers)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// handshake upgrades nc to a WebSocket for u and waits for connection_ack.
func handshake(ctx context.Context, nc net.Conn, u *url.URL, headers map[string]string) (*Conn, error) {
	defer bound(ctx, nc.SetDeadline)()
	key := make([]byte, 16)
	rand.Read(key)
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\nSec-WebSocket-Protocol: " + Protocol + "\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return nil, withCtx(ctx, err)
	}
	c := &Conn{nc: nc, r: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, withCtx(ctx, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("websocket handshake: status %d", resp.StatusCode)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != Protocol {
		return nil, fmt.Errorf("websocket handshake: subprotocol %q, want %q", p, Protocol)
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"headers": headers}})
	if err := c.Send(ctx, init); err != nil {
		return nil, err
	}
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for connection_ack: %w", err)
		}
		switch m.Type {
		case "connection_ack":
			return c, nil
		case "pong":
			continue
		}
		return nil, fmt.Errorf("waiting for connection_ack: got %q %s", m.Type, m.Payload)
	}
}

// Subscribe starts operation id: query with variables (none when nil).
func (c *Conn) Subscribe(ctx context.Context, id, query string, variables map[string]any) error {
	type payload struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables,omitempty"`
	}
	b, _ := json.Marshal(struct {
		Type    string  `json:"type"`
		ID      string  `json:"id"`
		Payload payload `json:"payload"`
	}{"subscribe", id, payload{query, variables}})
	return c.Send(ctx, b)
}

// Send writes msg as one masked text frame.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	hdr := []byte{0x81} // FIN, text
	switch n := len(msg); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = binary.BigEndian.AppendUint64(append(hdr, 0x80|127), uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	out := append(hdr, mask[:]...)
	for i, b := range msg {
		out = append(out, b^mask[i%4])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer bound(ctx, c.nc.SetWriteDeadline)()
	_, err := c.nc.Write(out)
	return withCtx(ctx, err)
}

// Read returns the next message, answering the protocol's pings with
// pongs. A close frame is a *CloseError; ctx's deadline or cancellation
// ends the wait with an error that errors.Is ctx's error (and is a
// net.Error whose Timeout is true).
func (c *Conn) Read(ctx context.Context) (Message, error) {
	defer bound(ctx, c.nc.SetReadDeadline)()
	var msg []byte
	for {
		fin, op, payload, err := c.frame()
		if err != nil {
			return Message{}, withCtx(ctx, err)
		}
		switch op {
		case 0x8: // close
			e := &CloseError{Code: 1005} // no status
			if len(payload) >= 2 {
				e.Code, e.Reason = int(binary.BigEndian.Uint16(payload)), string(payload[2:])
			}
			return Message{}, e
		case 0x9, 0xA: // WebSocket ping and pong: the server sends none
			continue
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		var m Message
		if err := json.Unmarshal(msg, &m); err != nil {
			return Message{}, fmt.Errorf("message %.100q: %w", msg, err)
		}
		msg = nil
		if m.Type == "ping" {
			if err := c.Send(ctx, []byte(`{"type":"pong"}`)); err != nil {
				return Message{}, err
			}
			continue
		}
		return m, nil
	}
}

// frame reads one frame.
func (c *Conn) frame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return false, 0, nil, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return false, 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return false, 0, nil, err
	}
	return fin, op, payload, nil
}

// Close closes the connection without a close frame.
func (c *Conn) Close() error { return c.nc.Close() }

// bound makes ctx's deadline and cancellation the deadline of one I/O
// call through set (a net.Conn's SetDeadline, SetReadDeadline or
// SetWriteDeadline). The func it returns waits until a cancellation that
// has begun has set its deadline, so that it cannot land on a later call.
func bound(ctx context.Context, set func(time.Time) error) (done func()) {
	d, _ := ctx.Deadline() // zero, no deadline, when ctx has none
	set(d)
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		set(time.Now())
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}

// withCtx wraps an I/O error with ctx's error when ctx is done (or its
// deadline, which the connection's deadline can reach a moment before
// ctx's own timer, has passed), so that callers can ask errors.Is(err,
// context.DeadlineExceeded) as well as whether it is a timeout.
func withCtx(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); cerr == nil && ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded
	}
	if cerr == nil {
		return err
	}
	return fmt.Errorf("%w: %w", cerr, err)
}
