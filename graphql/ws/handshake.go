package ws

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"time"
)

// Subprotocol names, as sent in Sec-WebSocket-Protocol.
const (
	// ProtocolTransportWS is the graphql-ws npm package's protocol.
	ProtocolTransportWS = "graphql-transport-ws"
	// ProtocolApollo is subscriptions-transport-ws's protocol, Hasura's
	// default.
	ProtocolApollo = "graphql-ws"
)

// websocketGUID is RFC 6455's constant for Sec-WebSocket-Accept.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// IsUpgrade reports whether r asks to open a WebSocket.
func IsUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Connection", "upgrade") &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// chooseProtocol picks the subprotocol as Hasura does: exactly one
// offered, graphql-transport-ws, picks it; anything else is Apollo's.
// answer is what the handshake's Sec-WebSocket-Protocol says: the
// protocol when the client offered it, else nothing.
func chooseProtocol(h http.Header) (proto, answer string) {
	var offered []string
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				offered = append(offered, p)
			}
		}
	}
	if len(offered) == 1 && offered[0] == ProtocolTransportWS {
		return ProtocolTransportWS, ProtocolTransportWS
	}
	for _, p := range offered {
		if p == ProtocolApollo {
			return ProtocolApollo, ProtocolApollo
		}
	}
	return ProtocolApollo, ""
}

// upgrade completes the opening handshake (RFC 6455 4.2.2) and takes the
// connection over from net/http. It answers a malformed handshake itself
// and returns ok false.
func upgrade(w http.ResponseWriter, r *http.Request) (conn net.Conn, rw *bufio.ReadWriter, proto string, ok bool) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !IsUpgrade(r) || key == "" {
		http.Error(w, "expected a WebSocket handshake (Upgrade: websocket)", http.StatusBadRequest)
		return nil, nil, "", false
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported WebSocket version: 13 only", http.StatusUpgradeRequired)
		return nil, nil, "", false
	}
	hj, isHJ := w.(http.Hijacker)
	if !isHJ {
		http.Error(w, "this server cannot take over connections for WebSocket", http.StatusInternalServerError)
		return nil, nil, "", false
	}
	proto, answer := chooseProtocol(r.Header)
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, "", false
	}
	// net/http leaves the server's read and write deadlines (its
	// ReadTimeout and WriteTimeout) on the connection it hands over: a
	// WebSocket lives past them, and the connection sets its own.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, "", false
	}
	sum := sha1.Sum([]byte(key + websocketGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	if answer != "" {
		resp += "Sec-WebSocket-Protocol: " + answer + "\r\n"
	}
	resp += "\r\n"
	if _, err := rw.WriteString(resp); err != nil {
		conn.Close()
		return nil, nil, "", false
	}
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, nil, "", false
	}
	return conn, rw, proto, true
}

// headerHasToken reports whether a comma-separated header lists token,
// case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
