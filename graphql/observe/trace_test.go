package observe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTraceSQL: the database span carries the statements' text only when
// the Tracer was asked to.
func TestTraceSQL(t *testing.T) {
	for _, sql := range []bool{false, true} {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		tr := &Tracer{tp: tp, tr: tp.Tracer("test"), prop: propagation.TraceContext{}, sql: sql}
		h := New(Config{Tracer: tr}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, span := StartSpan(r.Context(), "db.transaction")
			span.SetStatements([]string{"SELECT 'secret'"})
			span.End("", "")
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/graphql", nil))
		spans := exp.GetSpans()
		tp.Shutdown(context.Background())
		var found bool
		for _, s := range spans {
			for _, a := range s.Attributes {
				if a.Key == "db.statement" {
					found = true
				}
			}
		}
		if found != sql {
			t.Errorf("sql %v: db.statement present: %v", sql, found)
		}
		if n := len(spans); n != 2 {
			t.Errorf("sql %v: %d spans, want the request's and the database's", sql, n)
		}
	}
}

func TestTracingEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		if got := TracingEnabled(func(k string) string { return tc.env[k] }, nil); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.env, got, tc.want)
		}
	}
}

// TestLoadOTelConfig: Hasura's opentelemetry.yaml, from a metadata
// directory or an export's opentelemetry key; mistakes name file:line.
func TestLoadOTelConfig(t *testing.T) {
	env := map[string]string{"TOKEN": "t0k"}
	getenv := func(k string) string { return env[k] }
	good := "status: enabled\nexporter_otlp:\n  otlp_traces_endpoint: http://c:4318/v1/traces\n  headers:\n    - name: a\n      value: b\n    - name: auth\n      value_from_env: TOKEN\n  resource_attributes:\n    - {name: stage, value: prod}\nbatch_span_processor: {max_export_batch_size: 7}\n"
	for _, tc := range []struct {
		name, file, content, wantErr string
		want                         *OTelConfig
	}{
		{name: "directory", file: "opentelemetry.yaml", content: good, want: &OTelConfig{Enabled: true, DataTypes: []string{"traces"},
			TracesEndpoint: "http://c:4318/v1/traces", Headers: map[string]string{"a": "b", "auth": "t0k"},
			ResourceAttributes: map[string]string{"stage": "prod"}, MaxExportBatchSize: 7}},
		{name: "export", file: "metadata.json", content: `{"version": 3, "sources": [], "opentelemetry": {"status": "disabled", "data_types": ["traces", "metrics"]}}`,
			want: &OTelConfig{DataTypes: []string{"traces", "metrics"}, Headers: map[string]string{}, ResourceAttributes: map[string]string{}}},
		{name: "export without", file: "metadata.json", content: `{"version": 3, "sources": []}`},
		{name: "unknown key", file: "opentelemetry.yaml", content: "status: enabled\nexporter: {}\n", wantErr: `opentelemetry.yaml:2:1: opentelemetry has no key "exporter"`},
		{name: "no endpoint", file: "opentelemetry.yaml", content: "status: enabled\ndata_types: [traces]\n", wantErr: "otlp_traces_endpoint is not set"},
		{name: "bad status", file: "opentelemetry.yaml", content: "status: on\n", wantErr: `:1:9: status "on" is not enabled or disabled`},
		{name: "grpc", file: "opentelemetry.yaml", content: "exporter_otlp:\n  protocol: grpc\n", wantErr: `:2:13: protocol "grpc" is not supported`},
		{name: "missing env", file: "opentelemetry.yaml", content: "exporter_otlp:\n  headers:\n    - name: x\n      value_from_env: NOPE\n", wantErr: ":4:23: header value_from_env NOPE: the environment variable is not set"},
		{name: "bad endpoint", file: "opentelemetry.yaml", content: "exporter_otlp:\n  otlp_traces_endpoint: collector:4318\n", wantErr: "is not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.file == "metadata.json" {
				dir = path
			}
			got, err := LoadOTelConfig(dir, getenv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != nil {
				got.File = ""
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// No file in a directory: no configuration.
	if got, err := LoadOTelConfig(t.TempDir(), getenv); got != nil || err != nil {
		t.Errorf("empty directory: %v, %v", got, err)
	}
}

// TestWebSocketSpans: a WebSocket operation's span is a new trace linked
// to the handshake's span, named graphql.subscribe for a subscription,
// parent of the spans the server starts for it; a live round is a span
// with its cohorts and failures.
func TestWebSocketSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	obs := New(Config{Tracer: &Tracer{tp: tp, tr: tp.Tracer("test"), prop: propagation.TraceContext{}}, Metrics: NewMetrics()})
	h := obs.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := FromContext(r.Context())
		rec.WebSocketInit("user", true, nil)
		sp := rec.OperationSpan("op1", "Notes")
		sp.SetKind("subscription")
		_, db := StartSpan(rec.OperationContext(context.Background(), sp), "db.transaction")
		db.End("", "")
		sp.End("", "")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/graphql", nil))
	round := obs.StartLiveRound(false, 3)
	round.CohortFailed("user", true)
	round.End()

	spans := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		spans[s.Name] = s
	}
	req, sub, live := spans["GET /v1/graphql"], spans["graphql.subscribe"], spans["graphql.live_round"]
	if sub.Name == "" || live.Name == "" {
		t.Fatalf("spans: %v", spans)
	}
	if sub.SpanContext.TraceID() == req.SpanContext.TraceID() || len(sub.Links) != 1 || sub.Links[0].SpanContext.SpanID() != req.SpanContext.SpanID() {
		t.Errorf("the operation's span is not a new trace linked to the handshake's: links %v", sub.Links)
	}
	if db := spans["db.transaction"]; db.Parent.SpanID() != sub.SpanContext.SpanID() {
		t.Errorf("the operation's database span is not its child: %v", db.Parent)
	}
	attrs := map[string]string{}
	for _, a := range append(sub.Attributes, live.Attributes...) {
		attrs[string(a.Key)] = a.Value.String()
	}
	for k, want := range map[string]string{"graphql.operation.type": "subscription", "rowguard.role": "user", "rowguard.websocket.operation_id": "op1",
		"rowguard.live.cohorts": "3", "rowguard.live.failed_cohorts": "1"} {
		if attrs[k] != want {
			t.Errorf("%s = %q, want %q", k, attrs[k], want)
		}
	}
}
