package observe

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// WebSocket operations and live-query rounds: a span per operation start
// (a new trace linked to the connection's handshake span: a connection
// lives for hours, its operations are traces of their own), a span per
// live-query round trip (a batch of cohorts in one transaction), the
// subscriptions started and stopped by role, the ones that failed, the
// round durations, and the cohorts (LiveCollector).

// OperationSpan starts the span of WebSocket operation id of the
// connection r opened (graphql.ws.operation; SetKind names a
// subscription's graphql.subscribe). End it when the operation has
// started (a subscription) or answered.
func (r *Request) OperationSpan(id, name string) *Span {
	if r == nil || r.obs.cfg.Tracer == nil {
		return nil
	}
	t := r.obs.cfg.Tracer
	r.mu.Lock()
	role := r.role
	link := r.span
	r.mu.Unlock()
	attrs := []attribute.KeyValue{
		attribute.String("rowguard.request_id", r.ID),
		attribute.String("rowguard.websocket.operation_id", id),
	}
	if role != "" {
		attrs = append(attrs, attribute.String("rowguard.role", role))
	}
	if name != "" {
		attrs = append(attrs, attribute.String("graphql.operation.name", name))
	}
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...)}
	if link.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: link}))
	}
	_, s := t.tr.Start(context.Background(), "graphql.ws.operation", opts...)
	return &Span{s: s, sql: t.sql}
}

// InitSpan starts the span of a connection's connection_init
// (graphql.auth), a child of the handshake's span: the connection's
// authentication, once for all its operations.
func (r *Request) InitSpan() *Span {
	if r == nil || r.obs.cfg.Tracer == nil {
		return nil
	}
	t := r.obs.cfg.Tracer
	r.mu.Lock()
	parent := r.span
	r.mu.Unlock()
	ctx := trace.ContextWithSpanContext(context.Background(), parent)
	_, s := t.tr.Start(ctx, "graphql.auth", trace.WithAttributes(attribute.String("rowguard.request_id", r.ID)))
	return &Span{s: s, sql: t.sql}
}

// OperationContext returns ctx carrying a Request of its own for a
// WebSocket query or mutation of the connection r opened (same id, role
// and session variables), with sp (OperationSpan's) as the parent of the
// spans the server starts: the server's hooks then record the operation
// as an HTTP request's (query-log lines, the database span, errors
// counted). What it records is dropped with it, so a connection that
// lives for hours accumulates nothing.
func (r *Request) OperationContext(ctx context.Context, sp *Span) context.Context {
	if r == nil {
		return ctx
	}
	r.mu.Lock()
	op := &Request{obs: r.obs, ID: r.ID, start: time.Now(), role: r.role, knownRole: r.knownRole, vars: r.vars}
	r.mu.Unlock()
	ctx = context.WithValue(ctx, ctxKey{}, op)
	if sp != nil {
		ctx = trace.ContextWithSpan(ctx, sp.s)
	}
	return ctx
}

// OperationFailed counts a WebSocket operation refused before it ran
// (its code Hasura's): an error, and a subscription error at start (a
// refused operation's kind is often not known, as Hasura counts it).
func (r *Request) OperationFailed(code string) {
	if r == nil || r.obs.cfg.Metrics == nil {
		return
	}
	m := r.obs.cfg.Metrics
	m.error(code)
	m.subErrors.WithLabelValues(r.roleLabel(), "start").Inc()
}

// roleLabel is the role as a metric label: "other" for a role the
// metadata does not name, "none" before authentication.
func (r *Request) roleLabel() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.role == "":
		return "none"
	case !r.knownRole:
		return "other"
	}
	return r.role
}

// LiveRound is one round trip of live queries: a batch of cohorts
// refetched in one transaction. Its methods do nothing on a nil
// *LiveRound.
type LiveRound struct {
	m       *Metrics
	span    trace.Span
	kind    string
	start   time.Time
	failed  int
	cohorts int
}

// StartLiveRound starts a round of cohorts cohorts of live queries
// (stream: of streaming subscriptions); nil on a nil Observer.
func (o *Observer) StartLiveRound(stream bool, cohorts int) *LiveRound {
	if o == nil || (o.cfg.Metrics == nil && o.cfg.Tracer == nil) {
		return nil
	}
	kind := "live"
	if stream {
		kind = "stream"
	}
	r := &LiveRound{m: o.cfg.Metrics, kind: kind, start: time.Now(), cohorts: cohorts}
	if t := o.cfg.Tracer; t != nil {
		_, r.span = t.tr.Start(context.Background(), "graphql.live_round", trace.WithNewRoot(),
			trace.WithAttributes(attribute.String("rowguard.live.kind", kind), attribute.Int("rowguard.live.cohorts", cohorts)))
	}
	return r
}

// CohortFailed records that the refetch of a cohort of role failed
// (known: the metadata names the role); its subscribers got an error.
func (r *LiveRound) CohortFailed(role string, known bool) {
	if r == nil {
		return
	}
	r.failed++
	if r.m != nil {
		if !known {
			role = "other"
		}
		r.m.subErrors.WithLabelValues(role, "refetch").Inc()
	}
}

// End ends the round: its duration and span.
func (r *LiveRound) End() {
	if r == nil {
		return
	}
	if r.m != nil {
		r.m.liveRound.WithLabelValues(r.kind).Observe(time.Since(r.start).Seconds())
	}
	if r.span != nil {
		r.span.SetAttributes(attribute.Int("rowguard.live.failed_cohorts", r.failed))
		if r.failed > 0 {
			r.span.SetStatus(codes.Error, "a cohort's refetch failed")
		}
		r.span.End()
	}
}

// LiveCollector reports, on each scrape, the live queries a server runs
// and the cohorts serving them (count: graphql.Server.LiveCount).
func LiveCollector(count func() (subscriptions, cohorts int)) prometheus.Collector {
	return &liveCollector{count: count}
}

type liveCollector struct {
	count func() (int, int)
}

var (
	liveQueries = prometheus.NewDesc(MetricLiveQueries, "Live queries and streaming subscriptions the server refetches.", nil, nil)
	liveCohorts = prometheus.NewDesc(MetricLiveCohorts, "Cohorts serving the live queries: subscriptions that share one computation per round.", nil, nil)
)

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- liveQueries
	ch <- liveCohorts
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	subs, cohorts := c.count()
	ch <- prometheus.MustNewConstMetric(liveQueries, prometheus.GaugeValue, float64(subs))
	ch <- prometheus.MustNewConstMetric(liveCohorts, prometheus.GaugeValue, float64(cohorts))
}
