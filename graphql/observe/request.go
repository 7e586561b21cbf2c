package observe

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// RequestIDHeader carries a request's id, in the request and the response.
const RequestIDHeader = "X-Request-Id"

// Config configures an Observer.
type Config struct {
	// Log writes the logs; nil logs nothing.
	Log *Logger
	// Metrics records the metrics; nil records none.
	Metrics *Metrics
	// Tracer makes the spans; nil makes none.
	Tracer *Tracer
}

// Observer wraps a server's handler with request ids, logs, metrics and
// traces.
type Observer struct {
	cfg Config
}

// New returns an Observer for cfg.
func New(cfg Config) *Observer { return &Observer{cfg: cfg} }

// Logger returns the Observer's logger (nil when it logs nothing).
func (o *Observer) Logger() *Logger { return o.cfg.Log }

// Metrics returns the Observer's metrics (nil when it records none).
func (o *Observer) Metrics() *Metrics { return o.cfg.Metrics }

// Request is what one HTTP request did, filled by the handler through
// FromContext. Its methods are safe for concurrent use and do nothing on
// a nil *Request.
type Request struct {
	obs   *Observer
	ID    string
	start time.Time

	mu         sync.Mutex
	role       string
	knownRole  bool
	vars       map[string]string
	authFailed string // the auth error code
	ops        []operation
	err        *opError
	statements int
	access     []FieldAccess
	// span is the request's span (a WebSocket's operations link to it).
	span trace.SpanContext
}

// TableAccess is a table a root field reads or writes with a command,
// and the row-level security policies PostgreSQL applies to it for the
// request's role (the command's own and FOR ALL ones, of the role, the
// roles it inherits and PUBLIC).
type TableAccess struct {
	Table    string   `json:"table"`
	Command  string   `json:"command"`
	Policies []string `json:"policies"`
	// RLS says why no policy applies, when none can: "bypassed" (admin),
	// "disabled" (the table has no row-level security) or "view".
	RLS string `json:"rls,omitempty"`
}

// FieldAccess is what one root field of a request touched.
type FieldAccess struct {
	Field  string        `json:"field"`
	Tables []TableAccess `json:"tables"`
}

// operation is one GraphQL operation of a request (a batch has several).
type operation struct {
	Name      string         `json:"operationName,omitempty"`
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
	kind      string
}

// opError is Hasura's error object of an http-log.
type opError struct {
	Path    string `json:"path"`
	Message string `json:"error"`
	Code    string `json:"code"`
}

type ctxKey struct{}

// FromContext returns the request ctx belongs to; nil (whose methods do
// nothing) outside an Observer's handler.
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(ctxKey{}).(*Request)
	return r
}

// Session records who the request runs as: its role (known: the
// metadata names it, so metrics may use it as a label) and session
// variables.
func (r *Request) Session(role string, known bool, vars map[string]string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.role, r.knownRole, r.vars = role, known, vars
	r.mu.Unlock()
}

// AuthFailed records that authentication refused the request with code
// (auth.Error's Code).
func (r *Request) AuthFailed(code, path, message string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.authFailed = code
	r.mu.Unlock()
	r.Error(code, path, message)
	r.obs.cfg.Metrics.authFailure(code)
}

// Operation records a GraphQL operation of the request, as sent.
func (r *Request) Operation(name, query string, variables map[string]any) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.ops = append(r.ops, operation{Name: name, Query: query, Variables: variables})
	r.mu.Unlock()
}

// Kind records the kind (query, mutation, subscription) of the request's
// last operation once it is known.
func (r *Request) Kind(kind string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	if n := len(r.ops); n > 0 {
		r.ops[n-1].kind = kind
	}
	r.mu.Unlock()
}

// Error records an error the request is answered with (the first one
// is the one logged; every one is counted).
func (r *Request) Error(code, path, message string) {
	if r == nil {
		return
	}
	if path == "" {
		path = "$"
	}
	r.mu.Lock()
	if r.err == nil {
		r.err = &opError{Path: path, Message: message, Code: code}
	}
	r.mu.Unlock()
	r.obs.cfg.Metrics.error(code)
}

// LogsPolicies reports whether a log (http-log or query-log) shows the
// policies a request's root fields were subject to: the caller need not
// work them out otherwise.
func (r *Request) LogsPolicies() bool {
	if r == nil {
		return false
	}
	l := r.obs.cfg.Log
	return l.Enabled(TypeHTTP, slog.LevelError) || l.Enabled(TypeQuery, slog.LevelInfo)
}

// Access records the tables the request's root fields touch and the
// policies applied to them (http-log's operation.policies; a batch
// accumulates its operations').
func (r *Request) Access(fields []FieldAccess) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.access = append(r.access, fields...)
	r.mu.Unlock()
}

// Statement records one SQL statement the request ran for the root
// fields fields, with its parameters and what those fields touch
// (access, may be nil): counted, and written as a query-log line when
// that type is enabled.
func (r *Request) Statement(ctx context.Context, fields, sql string, params []string, access []FieldAccess) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.statements++
	var op operation
	if n := len(r.ops); n > 0 {
		op = r.ops[n-1]
	}
	r.mu.Unlock()
	l := r.obs.cfg.Log
	if !l.Enabled(TypeQuery, slog.LevelInfo) {
		return
	}
	if !l.cfg.SessionValues {
		op.Variables = nil
		params = redactAll(params)
	}
	l.Log(ctx, TypeQuery, slog.LevelInfo, map[string]any{
		"kind":       "database",
		"request_id": r.ID,
		"query":      op,
		"generated_sql": map[string]any{
			fields: generatedSQL{Query: sql, Arguments: params, Policies: access},
		},
	})
}

// generatedSQL is one statement of a query-log line.
type generatedSQL struct {
	Query     string        `json:"query"`
	Arguments []string      `json:"prepared_arguments"`
	Policies  []FieldAccess `json:"policies,omitempty"`
}

// redactAll replaces every value with "<redacted>".
func redactAll(values []string) []string {
	out := make([]string, len(values))
	for i := range out {
		out[i] = redacted
	}
	return out
}

// Handler wraps next: every request gets its id (its X-Request-Id when it
// sends a usable one, else a new one), echoed in the response, a *Request
// in its context and, when next returns, its http-log line and metrics.
// A connection next takes over (a WebSocket) gets no http-log line.
func (o *Observer) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &Request{obs: o, ID: requestID(r.Header.Get(RequestIDHeader)), start: time.Now()}
		w.Header().Set(RequestIDHeader, rec.ID)
		ctx := context.WithValue(r.Context(), ctxKey{}, rec)
		ctx, span := o.cfg.Tracer.startRequest(ctx, r)
		if span != nil {
			rec.span = span.s.SpanContext()
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if sw.hijacked {
			span.endRequest(rec, 0)
			return
		}
		span.endRequest(rec, sw.status)
		o.finish(ctx, rec, r, sw)
	})
}

// finish writes the http-log line and the metrics of a request.
func (o *Observer) finish(ctx context.Context, rec *Request, r *http.Request, sw *statusWriter) {
	elapsed := time.Since(rec.start)
	rec.mu.Lock()
	role, known, vars, ops, gerr, nstmt, access := rec.role, rec.knownRole, rec.vars, rec.ops, rec.err, rec.statements, rec.access
	rec.mu.Unlock()
	if m := o.cfg.Metrics; m != nil {
		kind, label := "", role
		if len(ops) > 0 {
			kind = ops[0].kind
		}
		if role != "" && !known {
			label = "other"
		}
		m.request(r.URL.Path, kind, label, sw.status, elapsed, nstmt, len(ops) > 0 || rec.authFailed != "")
	}

	l := o.cfg.Log
	level := slog.LevelInfo
	if gerr != nil || sw.status >= 400 {
		level = slog.LevelError
	}
	if !l.Enabled(TypeHTTP, level) {
		return
	}
	op := httpOperation{
		RequestID:     rec.ID,
		ExecutionTime: elapsed.Seconds(),
		ResponseSize:  sw.size,
		UserVars:      l.userVars(vars),
		Role:          role,
		Statements:    nstmt,
		Policies:      access,
		Error:         gerr,
	}
	if !l.cfg.SessionValues {
		for i := range ops {
			ops[i].Variables = nil
		}
	}
	switch len(ops) {
	case 0:
	case 1:
		op.Query = ops[0]
	default:
		op.Query = ops
	}
	var encoding *string
	if e := sw.Header().Get("Content-Encoding"); e != "" {
		encoding = &e
	}
	l.Log(ctx, TypeHTTP, level, httpLog{
		Operation: op,
		RequestID: rec.ID,
		HTTPInfo: httpInfo{
			Status:          sw.status,
			Method:          r.Method,
			URL:             r.URL.RequestURI(),
			IP:              clientIP(r),
			HTTPVersion:     r.Proto,
			ContentEncoding: encoding,
		},
	})
}

// httpLog is the detail of an http-log line, in Hasura's shape and order.
type httpLog struct {
	Operation httpOperation `json:"operation"`
	RequestID string        `json:"request_id"`
	HTTPInfo  httpInfo      `json:"http_info"`
}

type httpOperation struct {
	RequestID     string            `json:"request_id"`
	UserVars      map[string]string `json:"user_vars"`
	Role          string            `json:"role,omitempty"`
	Query         any               `json:"query,omitempty"`
	Error         *opError          `json:"error,omitempty"`
	ExecutionTime float64           `json:"query_execution_time"`
	ResponseSize  int               `json:"response_size"`
	Statements    int               `json:"statements"`
	Policies      []FieldAccess     `json:"policies,omitempty"`
}

type httpInfo struct {
	Status          int     `json:"status"`
	Method          string  `json:"method"`
	URL             string  `json:"url"`
	IP              string  `json:"ip"`
	HTTPVersion     string  `json:"http_version"`
	ContentEncoding *string `json:"content_encoding"`
}

// requestID returns the client's id when it is usable in a log (at most
// 128 printable ASCII characters), else a new random one (UUID v4 form).
func requestID(sent string) string {
	if n := len(sent); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n; i++ {
			if c := sent[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				ok = false
				break
			}
		}
		if ok {
			return sent
		}
	}
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// clientIP is the peer's address without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter remembers the status and size of a response, and whether
// the handler took the connection over.
type statusWriter struct {
	http.ResponseWriter
	status   int
	size     int
	wrote    bool
	hijacked bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.size += n
	return n, err
}

// Hijack passes the connection over (WebSocket handshakes).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("observe: the response writer cannot hijack")
	}
	c, rw, err := hj.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Flush sends buffered data to the client.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
