package observe

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracer makes OpenTelemetry spans of requests and exports them over
// OTLP/HTTP: one span per request, a child per stage (graphql.auth,
// graphql.parse_validate, graphql.plan, db.transaction), the request's
// trace context taken from its traceparent header (W3C Trace Context).
type Tracer struct {
	tp   *sdktrace.TracerProvider
	tr   trace.Tracer
	prop propagation.TextMapPropagator
	// sql adds each statement's text to the database span
	// (db.statement).
	sql bool
}

// TracingEnabled reports whether traces are exported. When the metadata
// has an OpenTelemetry configuration (cfg), it decides, as in Hasura
// (status enabled, traces among its data types), whatever OTEL_* say;
// else the standard variables do: an OTLP endpoint is set
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and
// not OTEL_TRACES_EXPORTER=none. OTEL_SDK_DISABLED=true turns traces off
// either way.
func TracingEnabled(getenv func(string) string, cfg *OTelConfig) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if cfg != nil {
		return cfg.Traces()
	}
	if getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTracer returns a Tracer exporting over OTLP/HTTP. The standard
// variables configure it (endpoint, headers, timeout, compression,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the sampler
// OTEL_TRACES_SAMPLER, the batch OTEL_BSP_*); the service name is
// "rowguard" unless set. The metadata's configuration (cfg, may be nil)
// wins where it speaks: its endpoint and headers replace OTEL_EXPORTER_*'s
// (headers meant for another endpoint are never sent to it), its resource
// attributes override the same names, its batch size OTEL_BSP_'s. sql
// adds statements' text to spans. Shutdown flushes it.
func NewTracer(ctx context.Context, version string, sql bool, cfg *OTelConfig) (*Tracer, error) {
	var opts []otlptracehttp.Option
	bsp := []sdktrace.BatchSpanProcessorOption{}
	resOpts := []resource.Option{
		resource.WithAttributes(semconv.ServiceName("rowguard"), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(),
	}
	if cfg != nil {
		opts = append(opts, otlptracehttp.WithEndpointURL(cfg.TracesEndpoint), otlptracehttp.WithHeaders(cfg.Headers))
		var attrs []attribute.KeyValue
		for k, v := range cfg.ResourceAttributes {
			attrs = append(attrs, attribute.String(k, v))
		}
		resOpts = append(resOpts, resource.WithAttributes(attrs...))
		if cfg.MaxExportBatchSize > 0 {
			bsp = append(bsp, sdktrace.WithMaxExportBatchSize(cfg.MaxExportBatchSize))
		}
	} else if p := os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p != "" && p != "http/protobuf" {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported: rowguard exports traces over http/protobuf", p)
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resOpts...)
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, bsp...), sdktrace.WithResource(res))
	return NewTracerFromProvider(tp, sql), nil
}

// NewTracerFromProvider returns a Tracer making its spans with tp (a
// program embedding the server with a provider of its own, or a test's
// in-memory exporter); sql adds statements' text to spans.
func NewTracerFromProvider(tp *sdktrace.TracerProvider, sql bool) *Tracer {
	return &Tracer{
		tp:   tp,
		tr:   tp.Tracer("github.com/rowguard/rowguard/graphql/observe"),
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		sql:  sql,
	}
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// Span is one span of a request; the methods of a nil *Span do nothing
// (no tracer).
type Span struct {
	s   trace.Span
	sql bool
}

// startRequest starts the request's span, a child of the client's
// traceparent when it sent one.
func (t *Tracer) startRequest(ctx context.Context, r *http.Request) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, s := t.tr.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("client.address", clientIP(r)),
			attribute.String("network.protocol.version", strings.TrimPrefix(r.Proto, "HTTP/")),
		))
	return ctx, &Span{s: s, sql: t.sql}
}

// endRequest ends the request's span with what the request did.
func (sp *Span) endRequest(rec *Request, status int) {
	if sp == nil {
		return
	}
	rec.mu.Lock()
	attrs := []attribute.KeyValue{attribute.String("rowguard.request_id", rec.ID)}
	if rec.role != "" {
		attrs = append(attrs, attribute.String("rowguard.role", rec.role))
	}
	if len(rec.ops) > 0 {
		if k := rec.ops[0].kind; k != "" {
			attrs = append(attrs, attribute.String("graphql.operation.type", k))
		}
		if n := rec.ops[0].Name; n != "" {
			attrs = append(attrs, attribute.String("graphql.operation.name", n))
		}
	}
	gerr := rec.err
	rec.mu.Unlock()
	if status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", status))
	}
	sp.s.SetAttributes(attrs...)
	if gerr != nil {
		sp.s.SetStatus(codes.Error, gerr.Code+": "+gerr.Message)
	} else if status >= 500 {
		sp.s.SetStatus(codes.Error, http.StatusText(status))
	}
	sp.s.End()
}

// StartSpan starts a child span named name of the request ctx belongs
// to; nil when the request is not traced.
func StartSpan(ctx context.Context, name string) (context.Context, *Span) {
	r := FromContext(ctx)
	if r == nil || r.obs.cfg.Tracer == nil {
		return ctx, nil
	}
	t := r.obs.cfg.Tracer
	ctx, s := t.tr.Start(ctx, name)
	return ctx, &Span{s: s, sql: t.sql}
}

// SetAttribute sets a string attribute.
func (sp *Span) SetAttribute(key, value string) {
	if sp != nil {
		sp.s.SetAttributes(attribute.String(key, value))
	}
}

// SetInt sets an integer attribute.
func (sp *Span) SetInt(key string, value int) {
	if sp != nil {
		sp.s.SetAttributes(attribute.Int(key, value))
	}
}

// SetStatements records the SQL a database span ran: db.system and their
// count always, their text (db.statement) only when the Tracer was asked
// to (it may hold values the planner inlined).
func (sp *Span) SetStatements(sqls []string) {
	if sp == nil {
		return
	}
	sp.s.SetAttributes(attribute.String("db.system", "postgresql"), attribute.Int("db.statement_count", len(sqls)))
	if sp.sql {
		sp.s.SetAttributes(attribute.String("db.statement", strings.Join(sqls, ";\n")))
	}
}

// End ends the span; a non-empty code (a Hasura error code) marks it
// failed.
func (sp *Span) End(code, message string) {
	if sp == nil {
		return
	}
	if code != "" {
		sp.s.SetStatus(codes.Error, code+": "+message)
	}
	sp.s.End()
}

// SetKind records the kind of a WebSocket operation's span once known
// (query, mutation, subscription); a subscription's is named
// graphql.subscribe.
func (sp *Span) SetKind(kind string) {
	if sp == nil {
		return
	}
	sp.s.SetAttributes(attribute.String("graphql.operation.type", kind))
	if kind == "subscription" {
		sp.s.SetName("graphql.subscribe")
	}
}
