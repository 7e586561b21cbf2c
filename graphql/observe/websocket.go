package observe

import (
	"context"
	"log/slog"
	"sync"
)

// WebSocket events of a connection opened by the request: websocket-log
// lines in Hasura's shape, {"event":{"type":…},"connection_info":
// {"websocket_id":…},"user_vars":…}; the connection's id is the handshake
// request's id.

// WebSocketAccepted records that the request became a WebSocket.
func (r *Request) WebSocketAccepted() {
	if r == nil {
		return
	}
	r.obs.cfg.Metrics.websocket(1)
	r.wsLog(slog.LevelInfo, map[string]any{"type": "accepted"}, "")
}

// WebSocketInit records the session connection_init authenticated
// (known: the metadata names the role, so metrics may use it as a
// label).
func (r *Request) WebSocketInit(role string, known bool, vars map[string]string) {
	r.Session(role, known, vars)
}

// WebSocketOperation records an event of operation id: "started",
// "completed", "stopped" or "error" (with message).
func (r *Request) WebSocketOperation(id, event, name, query, message string) {
	if r == nil {
		return
	}
	level := slog.LevelInfo
	if event == "error" {
		level = slog.LevelError
	}
	var opName any
	if name != "" {
		opName = name
	}
	d := map[string]any{
		"request_id":     r.ID,
		"operation_id":   id,
		"operation_type": map[string]any{"type": event},
		"operation_name": opName,
	}
	if query != "" {
		d["query"] = map[string]any{"query": query}
	}
	r.wsLog(level, map[string]any{"type": "operation", "detail": d}, message)
}

// WebSocketClosed records that the connection ended, with the close
// reason when the server closed it.
func (r *Request) WebSocketClosed(reason string) {
	if r == nil {
		return
	}
	r.obs.cfg.Metrics.websocket(-1)
	r.wsLog(slog.LevelInfo, map[string]any{"type": "closed"}, reason)
}

func (r *Request) wsLog(level slog.Level, event map[string]any, msg string) {
	l := r.obs.cfg.Log
	if !l.Enabled(TypeWebSocket, level) {
		return
	}
	r.mu.Lock()
	vars := r.vars
	r.mu.Unlock()
	var m any
	if msg != "" {
		m = msg
	}
	l.Log(context.Background(), TypeWebSocket, level, map[string]any{
		"event":           event,
		"connection_info": map[string]any{"websocket_id": r.ID, "msg": m},
		"user_vars":       l.userVars(vars),
	})
}

// TrackSubscription counts a subscription of the connection as started
// and active until the stop it returns (which calls stop) is first
// called, then as stopped, by the connection's role.
func (r *Request) TrackSubscription(stop func()) func() {
	if r == nil || r.obs.cfg.Metrics == nil {
		return stop
	}
	m := r.obs.cfg.Metrics
	role := r.roleLabel()
	m.subscriptions.Inc()
	m.subsStarted.WithLabelValues(role).Inc()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.subscriptions.Dec()
			m.subsStopped.WithLabelValues(role).Inc()
		})
		stop()
	}
}
