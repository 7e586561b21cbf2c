package observe

import (
	"context"
	"net/http"
	"net/http/httptest"
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
		if got := TracingEnabled(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.env, got, tc.want)
		}
	}
}
