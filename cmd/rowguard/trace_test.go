package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an in-process OTLP/HTTP trace receiver: it decodes each
// export request (protobuf) and keeps the spans.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	srv   *httptest.Server
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector: %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, _ := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			t.Errorf("collector: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// trace returns the spans of traceID received so far, by name.
func (c *collector) trace(traceID []byte) map[string]*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*tracepb.Span{}
	for _, s := range c.spans {
		if bytes.Equal(s.TraceId, traceID) {
			out[s.Name] = s
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			if v := a.Value.GetStringValue(); v != "" {
				return v
			}
			return a.Value.String()
		}
	}
	return ""
}

// TestServeTraces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a request is a
// span, child of the client's traceparent, with children for auth,
// parse/validate, plan and the database round trip (its SQL with
// --trace-sql), exported over OTLP/HTTP.
func TestServeTraces(t *testing.T) {
	c := newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", c.srv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	_, db, prefix := blogDatabaseWithLogin(t)
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret",
		"--unauthorized-role", "anonymous", "--trace-sql")
	const traceHex, parentHex = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	traceID, _ := hex.DecodeString(traceHex)
	parentID, _ := hex.DecodeString(parentHex)
	if got := articleIDs(t, post(t, url, articlesQuery, "traceparent", "00-"+traceHex+"-"+parentHex+"-01")); !equalIDs(got, 1, 3) {
		t.Fatalf("traced request: %v", got)
	}
	want := []string{"POST /v1/graphql", "graphql.auth", "graphql.parse_validate", "graphql.plan", "db.transaction"}
	var spans map[string]*tracepb.Span
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if spans = c.trace(traceID); len(spans) >= len(want) {
			break
		}
	}
	for _, name := range want {
		if spans[name] == nil {
			t.Fatalf("no span %q in the trace; got %v", name, spans)
		}
	}
	root := spans["POST /v1/graphql"]
	if !bytes.Equal(root.ParentSpanId, parentID) {
		t.Errorf("the request's span has parent %x, want the client's %s", root.ParentSpanId, parentHex)
	}
	if root.Kind != tracepb.Span_SPAN_KIND_SERVER || attr(root, "rowguard.role") != "anonymous" || attr(root, "graphql.operation.type") != "query" {
		t.Errorf("request span: kind %v, attributes %v", root.Kind, root.Attributes)
	}
	for _, name := range want[1:] {
		if !bytes.Equal(spans[name].ParentSpanId, root.SpanId) {
			t.Errorf("%s is not a child of the request's span", name)
		}
	}
	dbSpan := spans["db.transaction"]
	if sql := attr(dbSpan, "db.statement"); !strings.HasPrefix(sql, "SELECT") || attr(dbSpan, "db.system") != "postgresql" {
		t.Errorf("db span attributes: %v", dbSpan.Attributes)
	}
}
