package ws

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/observe"
)

// Config configures a Handler.
type Config struct {
	// Server runs the operations.
	Server *graphql.Server
	// Auth authenticates connection_init: the handshake's request with
	// payload.headers over its headers.
	Auth graphql.Authenticator
	// KeepAlive is how often an acknowledged connection gets a keepalive
	// (Apollo ka, graphql-transport-ws ping):
	// HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE; DefaultKeepAlive when zero.
	KeepAlive time.Duration
	// InitTimeout is how long a connection may wait before
	// connection_init: HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT;
	// DefaultInitTimeout when zero.
	InitTimeout time.Duration
	// MaxSubscriptions bounds the operations running at once on one
	// connection; no limit when zero or negative.
	MaxSubscriptions int
	// MaxMessageBytes bounds a client message; DefaultMaxMessageBytes
	// when zero.
	MaxMessageBytes int64
	// Log receives one line per connection that ends on an error; nil
	// discards.
	Log *slog.Logger
}

// Defaults of Config, Hasura's.
const (
	DefaultKeepAlive       = 5 * time.Second
	DefaultInitTimeout     = 3 * time.Second
	DefaultMaxMessageBytes = 4 << 20
)

// Handler serves GraphQL over WebSocket. It closes every connection with
// 1012 when the server installs a new program, as Hasura does on a
// metadata change: clients reconnect to the new schema.
type Handler struct {
	cfg   Config
	mu    sync.Mutex
	conns map[*conn]struct{}
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) *Handler {
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Handler{cfg: cfg, conns: map[*conn]struct{}{}}
	cfg.Server.OnProgramChange(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for c := range h.conns {
			c.close(CloseServiceRestart, "the server installed new metadata: reconnect")
		}
	})
	return h
}

// Mount returns an http.Handler that serves WebSocket handshakes on
// /v1/graphql and passes every other request to next.
func (h *Handler) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/graphql" && IsUpgrade(r) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP upgrades r to a WebSocket and serves it until it closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nc, rw, proto, ok := upgrade(w, r)
	if !ok {
		return
	}
	c := newConn(h, nc, rw, proto, r)
	rec := observe.FromContext(r.Context())
	rec.WebSocketAccepted()
	defer func() { rec.WebSocketClosed(c.reason) }()
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
	}()
	c.serve()
}

// Count returns the number of open connections.
func (h *Handler) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}
