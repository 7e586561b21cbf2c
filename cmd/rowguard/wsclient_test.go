package main

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
	"time"
)

// wsClient is a minimal graphql-transport-ws client for the tests of
// this package (masked text frames out, the server's unmasked frames in,
// RFC 6455), enough to subscribe, read results and see the close code.
type wsClient struct {
	nc net.Conn
	r  *bufio.Reader
}

// wsMsg is a graphql-transport-ws message.
type wsMsg struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// wsClosed is wsClient.read's error for a close frame, with its code.
type wsClosed struct{ code int }

func (e wsClosed) Error() string { return fmt.Sprintf("websocket closed by the server with %d", e.code) }

// dialGraphQLWS opens graphqlURL (http://host:port/v1/graphql) as
// graphql-transport-ws and sends connection_init with headers; it returns
// once acknowledged.
func dialGraphQLWS(graphqlURL string, headers map[string]string) (*wsClient, error) {
	rest, _ := strings.CutPrefix(graphqlURL, "http://")
	addr, _, _ := strings.Cut(rest, "/")
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
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
	c := &wsClient{nc: nc, r: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("websocket handshake: %v %v", resp, err)
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"headers": headers}})
	if err := c.send(init); err != nil {
		nc.Close()
		return nil, err
	}
	m, err := c.read(10 * time.Second)
	if err != nil || m.Type != "connection_ack" {
		nc.Close()
		return nil, fmt.Errorf("waiting for connection_ack: %+v %v", m, err)
	}
	return c, nil
}

// subscribe starts operation id.
func (c *wsClient) subscribe(id, query string) error {
	b, _ := json.Marshal(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": query}})
	return c.send(b)
}

// send writes one masked text frame.
func (c *wsClient) send(msg []byte) error {
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
	out := append(hdr, mask...)
	for i, b := range msg {
		out = append(out, b^mask[i%4])
	}
	_, err := c.nc.Write(out)
	return err
}

// read returns the next message within d, answering the protocol's pings;
// a close frame is a wsClosed error.
func (c *wsClient) read(d time.Duration) (wsMsg, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return wsMsg{}, err
		}
		fin, op, n := h[0]&0x80 != 0, h[0]&0x0f, uint64(h[1]&0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return wsMsg{}, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return wsMsg{}, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return wsMsg{}, err
		}
		switch op {
		case 0x8:
			code := 1005 // no status
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
			}
			return wsMsg{}, wsClosed{code}
		case 0x9, 0xA:
			continue
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		var m wsMsg
		if err := json.Unmarshal(msg, &m); err != nil {
			return wsMsg{}, fmt.Errorf("message %.100q: %w", msg, err)
		}
		if m.Type == "ping" {
			if err := c.send([]byte(`{"type":"pong"}`)); err != nil {
				return wsMsg{}, err
			}
			msg = nil
			continue
		}
		return m, nil
	}
}

func (c *wsClient) Close() error { return c.nc.Close() }
