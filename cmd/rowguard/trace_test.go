package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	// headers and resources are each export's request headers and
	// resource attributes (key=value).
	headers   []http.Header
	resources []map[string]string
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
		c.headers = append(c.headers, r.Header.Clone())
		for _, rs := range req.ResourceSpans {
			res := map[string]string{}
			for _, a := range rs.GetResource().GetAttributes() {
				res[a.Key] = a.Value.GetStringValue()
			}
			c.resources = append(c.resources, res)
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

// exports is the number of export requests received.
func (c *collector) exports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.headers)
}

// TestServeTracesFromMetadata: an opentelemetry.yaml in the metadata
// directory (Hasura's format) configures the export, and decides over
// OTEL_*: its endpoint, headers (value and value_from_env) and resource
// attributes are used, the environment's endpoint gets nothing; with
// status: disabled nothing is exported although OTEL_* ask for it.
func TestServeTracesFromMetadata(t *testing.T) {
	fileCollector, envCollector := newCollector(t), newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", envCollector.srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-env-secret=not-for-the-file-endpoint")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("ROWGUARD_TEST_OTLP_TOKEN", "token-from-env")
	_, db, prefix := blogDatabaseWithLogin(t)
	metadata := t.TempDir()
	if err := os.CopyFS(metadata, os.DirFS("../../examples/blog/metadata")); err != nil {
		t.Fatal(err)
	}
	writeOTel := func(status string) {
		yaml := `status: ` + status + `
data_types: [traces]
exporter_otlp:
  otlp_traces_endpoint: ` + fileCollector.srv.URL + `/v1/traces
  protocol: http/protobuf
  traces_propagators: [tracecontext]
  headers:
    - name: x-test-header
      value: testing
    - name: authorization
      value_from_env: ROWGUARD_TEST_OTLP_TOKEN
  resource_attributes:
    - name: stage
      value: production
batch_span_processor:
  max_export_batch_size: 100
`
		if err := os.WriteFile(filepath.Join(metadata, "opentelemetry.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	writeOTel("enabled")
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--metadata", metadata, "--unauthorized-role", "anonymous", "--admin-secret", "s3cret")
	const traceHex = "5bf92f3577b34da6a3ce929d0e0e4736"
	traceID, _ := hex.DecodeString(traceHex)
	post(t, url, articlesQuery, "traceparent", "00-"+traceHex+"-00f067aa0ba902b7-01")
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && fileCollector.trace(traceID)["POST /v1/graphql"] == nil; {
		time.Sleep(50 * time.Millisecond)
	}
	if fileCollector.trace(traceID)["POST /v1/graphql"] == nil {
		t.Fatal("the endpoint of opentelemetry.yaml received no span of the request")
	}
	fileCollector.mu.Lock()
	h, res := fileCollector.headers[0], fileCollector.resources[0]
	fileCollector.mu.Unlock()
	if h.Get("x-test-header") != "testing" || h.Get("authorization") != "token-from-env" || h.Get("x-env-secret") != "" {
		t.Errorf("export headers: %v", h)
	}
	if res["stage"] != "production" || res["service.name"] != "rowguard" {
		t.Errorf("resource attributes: %v", res)
	}
	if n := envCollector.exports(); n != 0 {
		t.Errorf("the OTEL_EXPORTER_OTLP_ENDPOINT collector received %d exports; opentelemetry.yaml decides", n)
	}

	// status: disabled turns traces off, whatever OTEL_* say.
	writeOTel("disabled")
	before := fileCollector.exports()
	url, out := startServeLogs(t, "--database-url", db, "--role-prefix", prefix, "--metadata", metadata, "--unauthorized-role", "anonymous", "--admin-secret", "s3cret")
	post(t, url, articlesQuery)
	startup := logLines(t, out.String(), "startup")
	if len(startup) == 0 {
		t.Fatalf("no startup line:\n%s", out.String())
	}
	info := startup[0]["detail"].(map[string]any)["info"].(map[string]any)
	if tr, _ := info["tracing"].(string); !strings.HasPrefix(tr, "off") || !strings.Contains(tr, "status disabled") {
		t.Errorf("startup line's tracing: %q, want off because of opentelemetry.yaml", tr)
	}
	if n, m := fileCollector.exports()-before, envCollector.exports(); n != 0 || m != 0 {
		t.Errorf("status: disabled, yet %d exports to the file's endpoint, %d to the environment's", n, m)
	}
}
