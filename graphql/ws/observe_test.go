package ws_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/observe"
	"github.com/rowguard/rowguard/graphql/ws"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWebSocketLog: behind an observe.Observer, a connection writes
// websocket-log lines (accepted, the operation started, closed) under the
// handshake's request id, with session variables by name only; a query
// over the WebSocket writes its query-log line (with the policies) under
// that id too.
func TestWebSocketLog(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{})
	out := &lockedBuffer{}
	obs := observe.New(observe.Config{Log: observe.NewLogger(out, observe.LogConfig{Types: map[string]bool{observe.TypeWebSocket: true, observe.TypeHTTP: true, observe.TypeQuery: true}})})
	srv := httptest.NewServer(obs.Handler(f.srv.Config.Handler))
	t.Cleanup(srv.Close)
	c := dial(t, strings.TrimPrefix(srv.URL, "http://"), "graphql-transport-ws")
	c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "90210"}))
	c.expect("connection_ack", wait)
	c.send(start(c.proto, "op1", "query { note { id } }"))
	c.expect("next", wait)
	c.send(`{"type":"connection_terminate"}`)
	c.nc.Close()
	deadline := time.Now().Add(wait)
	for !strings.Contains(out.String(), `"type":"closed"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := out.String()
	for _, want := range []string{`"type":"accepted"`, `"operation_id":"op1"`, `"operation_type":{"type":"started"}`, `"type":"closed"`, `"x-hasura-user-id":"<redacted>"`,
		`"type":"query-log"`, `"generated_sql":{"note":`, `"policies":[{"field":"note","tables":[{"table":"public.note","command":"select","policies":["rg_note_select_user"]}]}]`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the websocket-log lines lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "90210") || strings.Contains(logs, `"http-log"`) {
		t.Errorf("a session value or an http-log line for the WebSocket:\n%s", logs)
	}
}

// gauge reads a gauge's value from the metrics text ("" when absent).
func gauge(t *testing.T, m *observe.Metrics, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// waitForGauge waits up to wait for metric name of m to read want.
func waitForGauge(t *testing.T, m *observe.Metrics, name, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for gauge(t, m, name) != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := gauge(t, m, name); got != want {
		t.Fatalf("%s = %q, want %s", name, got, want)
	}
}

// TestWebSocketMetrics: the open connections and running subscriptions
// gauges follow a connection's life.
func TestWebSocketMetrics(t *testing.T) {
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{})
	m := observe.NewMetrics()
	srv := httptest.NewServer(observe.New(observe.Config{Metrics: m}).Handler(f.srv.Config.Handler))
	t.Cleanup(srv.Close)
	c := dial(t, strings.TrimPrefix(srv.URL, "http://"), "graphql-transport-ws")
	c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
	c.expect("connection_ack", wait)
	waitForGauge(t, m, "rowguard_websocket_connections", "1")
	c.send(start(c.proto, "a", "subscription { note { id } }"))
	c.send(start(c.proto, "b", "subscription { note { body } }"))
	c.expect("next", wait)
	c.expect("next", wait)
	waitForGauge(t, m, "rowguard_active_subscriptions", "2")
	c.send(stop(c.proto, "a"))
	waitForGauge(t, m, "rowguard_active_subscriptions", "1")
	c.nc.Close()
	waitForGauge(t, m, "rowguard_active_subscriptions", "0")
	waitForGauge(t, m, "rowguard_websocket_connections", "0")
}

// TestSubscriptionMetrics: scraped after subscriptions, /metrics shows
// them started and stopped by role, the live queries and the cohorts
// serving them, the live rounds' durations, an operation refused at
// start, and a connection_init refused.
func TestSubscriptionMetrics(t *testing.T) {
	m := observe.NewMetrics()
	obs := observe.New(observe.Config{Metrics: m})
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: 50 * time.Millisecond}, func(c *graphql.Config) { c.Observer = obs })
	if err := m.Register(observe.LiveCollector(f.gql.LiveCount)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(obs.Handler(f.srv.Config.Handler))
	t.Cleanup(srv.Close)
	c := dial(t, strings.TrimPrefix(srv.URL, "http://"), "graphql-transport-ws")
	c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
	c.expect("connection_ack", wait)
	// Two subscriptions of one user to one query: one cohort.
	c.send(start(c.proto, "a", "subscription { note { id } }"))
	c.send(start(c.proto, "b", "subscription { note { id } }"))
	c.expect("next", wait)
	c.expect("next", wait)
	waitForGauge(t, m, `rowguard_subscriptions_started_total{role="user"}`, "2")
	waitForGauge(t, m, "rowguard_live_queries", "2")
	waitForGauge(t, m, "rowguard_live_query_cohorts", "1")
	// A round ran (the first fetch, then every 50 ms).
	deadline := time.Now().Add(wait)
	for gauge(t, m, `rowguard_live_round_duration_seconds_count{kind="live"}`) == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if gauge(t, m, `rowguard_live_round_duration_seconds_count{kind="live"}`) == "" {
		t.Fatal("no live round duration recorded")
	}
	// Refused at start: counted by role, and as a validation error.
	c.send(start(c.proto, "c", "subscription { nope { id } }"))
	c.expect("error", wait)
	waitForGauge(t, m, `rowguard_subscription_errors_total{role="user",stage="start"}`, "1")
	waitForGauge(t, m, `rowguard_graphql_errors_total{code="validation-failed"}`, "1")
	// A connection refused at connection_init: an auth failure.
	refused := dial(t, strings.TrimPrefix(srv.URL, "http://"), "graphql-transport-ws")
	refused.send(init_(map[string]string{"X-Hasura-Role": "forbidden"}))
	waitForGauge(t, m, `rowguard_auth_failures_total{reason="access-denied"}`, "1")
	c.send(stop(c.proto, "a"))
	waitForGauge(t, m, `rowguard_subscriptions_stopped_total{role="user"}`, "1")
	c.nc.Close()
	waitForGauge(t, m, `rowguard_subscriptions_stopped_total{role="user"}`, "2")
	waitForGauge(t, m, "rowguard_live_queries", "0")
	waitForGauge(t, m, "rowguard_live_query_cohorts", "0")
}

// TestWebSocketTraces: connection_init is a graphql.auth span under the
// handshake's; a WebSocket query is a trace of its own, linked to the
// handshake's, whose operation span is the parent of the server's
// parse/validate, plan and database spans; a subscription's start is a
// graphql.subscribe span.
func TestWebSocketTraces(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{})
	obs := observe.New(observe.Config{Tracer: observe.NewTracerFromProvider(tp, false)})
	srv := httptest.NewServer(obs.Handler(f.srv.Config.Handler))
	t.Cleanup(srv.Close)
	c := dial(t, strings.TrimPrefix(srv.URL, "http://"), "graphql-transport-ws")
	c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
	c.expect("connection_ack", wait)
	c.send(start(c.proto, "q", "query Notes { note { id } }"))
	c.expect("next", wait)
	c.expect("complete", wait)
	c.send(start(c.proto, "s", "subscription { note { body } }"))
	c.expect("next", wait)
	byName := map[string]tracetest.SpanStub{}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		for _, s := range exp.GetSpans() {
			byName[s.Name] = s
		}
		if byName["db.transaction"].Name != "" && byName["graphql.subscribe"].Name != "" && byName["graphql.ws.operation"].Name != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	op, sub := byName["graphql.ws.operation"], byName["graphql.subscribe"]
	if op.Name == "" || sub.Name == "" {
		t.Fatalf("spans: %v", byName)
	}
	children := map[string]bool{}
	for _, s := range exp.GetSpans() {
		if s.Parent.SpanID() == op.SpanContext.SpanID() {
			children[s.Name] = true
		}
	}
	for _, child := range []string{"graphql.parse_validate", "graphql.plan", "db.transaction"} {
		if !children[child] {
			t.Errorf("no %s span is a child of the query's operation span (children: %v)", child, children)
		}
	}
	if len(op.Links) != 1 || len(sub.Links) != 1 || op.SpanContext.TraceID() == sub.SpanContext.TraceID() {
		t.Errorf("operations are not traces of their own linked to the handshake: %v, %v", op.Links, sub.Links)
	}
	if a := byName["graphql.auth"]; a.Name == "" || a.Parent.SpanID() != op.Links[0].SpanContext.SpanID() {
		t.Errorf("connection_init's graphql.auth span is not a child of the handshake's: %+v", a.Parent)
	}
}
