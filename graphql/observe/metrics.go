package observe

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, in a registry of their own
// (with the Go runtime's and the process's). Every method of a nil
// *Metrics does nothing.
//
// Label values are bounded: roles the metadata does not name count as
// "other" (an admin may send any X-Hasura-Role), paths the server does
// not serve as "other", error codes and auth failure reasons are Hasura's
// codes.
type Metrics struct {
	reg          *prometheus.Registry
	duration     *prometheus.HistogramVec
	requests     *prometheus.CounterVec
	errors       *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	statements   prometheus.Histogram
	websockets   prometheus.Gauge
	// subscriptions counts the active subscriptions of WebSockets.
	subscriptions prometheus.Gauge
	subsStarted   *prometheus.CounterVec
	subsStopped   *prometheus.CounterVec
	subErrors     *prometheus.CounterVec
	liveRound     *prometheus.HistogramVec
}

// Metric names.
const (
	MetricRequestDuration = "rowguard_graphql_request_duration_seconds"
	MetricHTTPRequests    = "rowguard_http_requests_total"
	MetricErrors          = "rowguard_graphql_errors_total"
	MetricAuthFailures    = "rowguard_auth_failures_total"
	MetricStatements      = "rowguard_graphql_statements_per_request"
	MetricWebSockets      = "rowguard_websocket_connections"
	MetricSubscriptions   = "rowguard_active_subscriptions"
	MetricSubsStarted     = "rowguard_subscriptions_started_total"
	MetricSubsStopped     = "rowguard_subscriptions_stopped_total"
	MetricSubErrors       = "rowguard_subscription_errors_total"
	MetricLiveRound       = "rowguard_live_round_duration_seconds"
	MetricLiveQueries     = "rowguard_live_queries"
	MetricLiveCohorts     = "rowguard_live_query_cohorts"
)

// NewMetrics returns the metrics, registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricRequestDuration,
			Help:    "Time to answer a GraphQL request over HTTP (authentication, planning, the database, the response), by operation type and role.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation_type", "role"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricHTTPRequests,
			Help: "HTTP requests answered, by path and status.",
		}, []string{"path", "status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricErrors,
			Help: "Errors answered, by Hasura error code (a batch counts each).",
		}, []string{"code"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricAuthFailures,
			Help: "Requests authentication refused, by reason (Hasura's error code: invalid-jwt, access-denied, invalid-headers, …).",
		}, []string{"reason"}),
		statements: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricStatements,
			Help:    "SQL statements a GraphQL request ran (besides the transaction's own).",
			Buckets: []float64{0, 1, 2, 3, 5, 10, 20, 50},
		}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricWebSockets,
			Help: "Open GraphQL WebSocket connections.",
		}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricSubscriptions,
			Help: "Subscriptions running on WebSocket connections.",
		}),
		subsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricSubsStarted,
			Help: "Subscriptions started on WebSocket connections, by role.",
		}, []string{"role"}),
		subsStopped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricSubsStopped,
			Help: "Subscriptions ended (stopped by the client, or their connection closed), by role.",
		}, []string{"role"}),
		subErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricSubErrors,
			Help: "WebSocket operations refused at start (stage start: validation, permissions, limits), and live-query cohort refetches that failed (stage refetch: their subscribers got an error), by role.",
		}, []string{"role", "stage"}),
		liveRound: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricLiveRound,
			Help:    "Time of one live-query round trip: a batch of cohorts refetched in one transaction, by kind (live, stream).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.duration, m.requests, m.errors, m.authFailures, m.statements, m.websockets, m.subscriptions,
		m.subsStarted, m.subsStopped, m.subErrors, m.liveRound,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register adds a collector (PoolCollector).
func (m *Metrics) Register(c prometheus.Collector) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(c)
}

// knownPaths are the paths counted by name; others count as "other".
var knownPaths = map[string]bool{
	"/v1/graphql": true, "/v1/graphql/explain": true, "/v1alpha1/graphql": true, "/healthz": true,
	"/v1/version": true, "/v1/query": true, "/v1/metadata": true, "/v2/query": true, "/metrics": true,
}

// request records one answered HTTP request.
func (m *Metrics) request(path, kind, role string, status int, elapsed time.Duration, statements int, graphql bool) {
	if m == nil {
		return
	}
	if !knownPaths[path] {
		path = "other"
	}
	m.requests.WithLabelValues(path, strconv.Itoa(status)).Inc()
	if !graphql {
		return
	}
	if kind == "" {
		kind = "none" // refused before its kind was known
	}
	if role == "" {
		role = "none" // refused before authentication
	}
	m.duration.WithLabelValues(kind, role).Observe(elapsed.Seconds())
	m.statements.Observe(float64(statements))
}

func (m *Metrics) error(code string) {
	if m != nil {
		m.errors.WithLabelValues(code).Inc()
	}
}

func (m *Metrics) authFailure(reason string) {
	if m != nil {
		m.authFailures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) websocket(delta float64) {
	if m != nil {
		m.websockets.Add(delta)
	}
}

// PoolCollector reports a pgx pool's use from its Stat on each scrape:
// connections by state, acquires, the acquires that had to wait for a
// connection and how long acquiring took in all.
func PoolCollector(pool *pgxpool.Pool) prometheus.Collector {
	return &poolCollector{pool: pool}
}

type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolConns       = prometheus.NewDesc("rowguard_db_pool_connections", "Connections of the pool, by state (acquired, idle, constructing), and its maximum (max).", []string{"state"}, nil)
	poolAcquires    = prometheus.NewDesc("rowguard_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	poolWaits       = prometheus.NewDesc("rowguard_db_pool_acquire_waits_total", "Acquires that waited: no idle connection was there.", nil, nil)
	poolWaitSeconds = prometheus.NewDesc("rowguard_db_pool_acquire_seconds_total", "Time spent acquiring connections, in all.", nil, nil)
	poolCanceled    = prometheus.NewDesc("rowguard_db_pool_canceled_acquires_total", "Acquires given up (the request ended or timed out first).", nil, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolAcquires, poolWaits, poolWaitSeconds, poolCanceled} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.MaxConns()), "max")
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(poolCanceled, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
}
