package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/observe"
)

// operateOptions are serve's flags for logs, metrics and traces.
type operateOptions struct {
	sessionValues bool
	metricsAddr   string
	traceSQL      bool
}

// operateFlags defines serve's observability flags on fs.
func operateFlags(fs *flag.FlagSet) *operateOptions {
	o := &operateOptions{}
	fs.BoolVar(&o.sessionValues, "log-session-values", os.Getenv("ROWGUARD_LOG_SESSION_VALUES") == "true", "log the values of session variables and GraphQL variables (by default only their names; never the token or the admin secret)")
	fs.BoolVar(&o.traceSQL, "trace-sql", os.Getenv("ROWGUARD_TRACE_SQL") == "true", "put each statement's SQL in its trace span (db.statement); traces are exported when OTEL_EXPORTER_OTLP_ENDPOINT is set")
	fs.StringVar(&o.metricsAddr, "metrics-addr", os.Getenv("ROWGUARD_METRICS_ADDR"), "address (host:port) of a separate listener serving /metrics to anyone who can reach it; when empty, /metrics is served on the main listener to admin requests only")
	return o
}

// newObserver builds the Observer of serve from the environment
// (HASURA_GRAPHQL_ENABLED_LOG_TYPES, HASURA_GRAPHQL_LOG_LEVEL, OTEL_*), the
// metadata's OpenTelemetry configuration (opentelemetry.yaml under
// metadata, when there is one: it decides whether traces are exported)
// and o; its logs go to stdout. shutdown flushes the traces; tracing says
// whether and how traces are exported, for the startup line.
func newObserver(ctx context.Context, o *operateOptions, metadata string, stdout io.Writer) (obs *observe.Observer, lc observe.LogConfig, tracing string, shutdown func(), err error) {
	lc, err = observe.LogConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, lc, "", nil, usageError{err.Error()}
	}
	lc.SessionValues = lc.SessionValues || o.sessionValues
	otel, err := observe.LoadOTelConfig(metadata, os.Getenv)
	if err != nil {
		return nil, lc, "", nil, err
	}
	cfg := observe.Config{Log: observe.NewLogger(stdout, lc), Metrics: observe.NewMetrics()}
	shutdown = func() {}
	tracing = "off"
	if observe.TracingEnabled(os.Getenv, otel) {
		if cfg.Tracer, err = observe.NewTracer(ctx, version, o.traceSQL, otel); err != nil {
			return nil, lc, "", nil, err
		}
		shutdown = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cfg.Tracer.Shutdown(sctx)
		}
		tracing = "OTEL_* environment"
	}
	if otel != nil {
		tracing += " (" + otel.File + " decides"
		if !otel.Enabled {
			tracing += ": status disabled"
		}
		tracing += ")"
		if un := otel.Unexported(); len(un) > 0 {
			fmt.Fprintf(stdout, "warning: %s: data types %s are not exported over OTLP (metrics are on /metrics, logs on standard output)\n", otel.File, strings.Join(un, ", "))
		}
		if cfg.Tracer != nil {
			tracing = "OTLP to " + otel.TracesEndpoint + " (" + otel.File + ")"
		}
	}
	return observe.New(cfg), lc, tracing, shutdown, nil
}

// mountMetrics serves the metrics (the pool's and the live queries'
// (live: graphql.Server.LiveCount) included): on their own
// listener at o.metricsAddr until ctx ends, or else on /metrics of next,
// to admin requests only.
func mountMetrics(ctx context.Context, o *operateOptions, obs *observe.Observer, pool *pgxpool.Pool, live func() (int, int), authn graphql.Authenticator, next http.Handler, t *httpTimeouts, stdout io.Writer) (http.Handler, error) {
	m := obs.Metrics()
	if err := m.Register(observe.PoolCollector(pool)); err != nil {
		return nil, err
	}
	if err := m.Register(observe.LiveCollector(live)); err != nil {
		return nil, err
	}
	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		fmt.Fprintf(stdout, "serving metrics on http://%s/metrics\n", ln.Addr())
		go serveHTTP(ctx, ln, t.server(mux), io.Discard)
		return next, nil
	}
	metrics := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := authn.Authenticate(r.Context(), r)
		if err != nil || !sess.IsAdmin {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"path":"$","error":"/metrics is for the admin (x-hasura-admin-secret), or serve it on its own listener with --metrics-addr","code":"access-denied"}`)
			return
		}
		metrics.ServeHTTP(w, r)
	}), nil
}

// startupInfo is the server_configuration startup line: what the server
// was started with, secrets as whether they are set.
type startupInfo struct {
	Host             string   `json:"server_host"`
	Port             string   `json:"port"`
	AdminSecretSet   bool     `json:"admin_secret_set"`
	JWTSecretSet     bool     `json:"jwt_secret_set"`
	AuthHook         *string  `json:"auth_hook"`
	UnauthRole       *string  `json:"unauth_role"`
	EnabledLogTypes  []string `json:"enabled_log_types"`
	LogLevel         string   `json:"log_level"`
	ReadTimeout      string   `json:"read_timeout"`
	WriteTimeout     string   `json:"write_timeout"`
	IdleTimeout      string   `json:"idle_timeout"`
	MetadataAPI      bool     `json:"metadata_api"`
	Version          string   `json:"version"`
	Tables           int      `json:"tables"`
	Roles            int      `json:"roles"`
	LogSessionValues bool     `json:"log_session_values"`
	MetricsAddr      *string  `json:"metrics_addr"`
	Tracing          string   `json:"tracing"`
	TraceSQL         bool     `json:"trace_sql"`
}

// redactedURL is u without its password, or nil when empty.
func redactedURL(u string) *string {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil {
		s := "<unparsable URL>"
		return &s
	}
	s := p.Redacted()
	return &s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// enabledLogTypes lists the enabled types of lc, sorted.
func enabledLogTypes(lc observe.LogConfig) []string {
	out := []string{}
	for t := range lc.Types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// webhookClient is the HTTP client of the authentication webhook and the
// JWKS, logging webhook calls (webhook-log).
func webhookClient(obs *observe.Observer, hook string) *http.Client {
	return &http.Client{Timeout: 2 * auth.DefaultHTTPTimeout, Transport: obs.WebhookTransport(http.DefaultTransport, hook)}
}
