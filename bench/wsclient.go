package main

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
	"strings"
	"sync"
)

// wsConn is a minimal graphql-transport-ws client over one WebSocket: it
// sends masked text frames and reads the server's unmasked ones (RFC
// 6455), enough to subscribe and read results.
type wsConn struct {
	nc net.Conn
	r  *bufio.Reader
	mu sync.Mutex // writes
}

// dialWS opens url's /v1/graphql as graphql-transport-ws, sends
// connection_init with headers and waits for connection_ack.
func dialWS(ctx context.Context, addr string, headers map[string]string) (*wsConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	req := "GET /v1/graphql HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	r := bufio.NewReader(nc)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("websocket handshake: status %d", resp.StatusCode)
	}
	c := &wsConn{nc: nc, r: r}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"headers": headers}})
	if err := c.send(init); err != nil {
		c.Close()
		return nil, err
	}
	for {
		m, err := c.read()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("waiting for connection_ack: %w", err)
		}
		if m.Type == "connection_ack" {
			return c, nil
		}
		if m.Type != "ping" && m.Type != "pong" {
			c.Close()
			return nil, fmt.Errorf("waiting for connection_ack: got %q", m.Type)
		}
	}
}

// wsMessage is a graphql-transport-ws message as read.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// subscribe starts operation id with query and variables.
func (c *wsConn) subscribe(id, query string, vars map[string]any) error {
	b, _ := json.Marshal(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": query, "variables": vars}})
	return c.send(b)
}

// send writes one masked text frame.
func (c *wsConn) send(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	hdr := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = binary.BigEndian.AppendUint64(append(hdr, 0x80|127), uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	body := make([]byte, len(msg))
	for i := range msg {
		body[i] = msg[i] ^ mask[i%4]
	}
	_, err := c.nc.Write(append(append(hdr, mask...), body...))
	return err
}

// errClosed is read's error when the server closed the connection.
var errClosed = errors.New("websocket closed by the server")

// read returns the next text message, answering pings (the
// graphql-transport-ws keepalive) with pongs.
func (c *wsConn) read() (wsMessage, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return wsMessage{}, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return wsMessage{}, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return wsMessage{}, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return wsMessage{}, err
		}
		switch op {
		case 0x8:
			return wsMessage{}, errClosed
		case 0x9, 0xA: // WebSocket ping and pong: the server sends none
			continue
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		var m wsMessage
		if err := json.Unmarshal(msg, &m); err != nil {
			return wsMessage{}, fmt.Errorf("message %.100q: %w", msg, err)
		}
		if m.Type == "ping" {
			if err := c.send([]byte(`{"type":"pong"}`)); err != nil {
				return wsMessage{}, err
			}
			msg = nil
			continue
		}
		return m, nil
	}
}

// Close closes the connection.
func (c *wsConn) Close() error { return c.nc.Close() }

// hostPort returns the host:port of an http:// URL.
func hostPort(url string) string {
	rest, _ := strings.CutPrefix(url, "http://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}
