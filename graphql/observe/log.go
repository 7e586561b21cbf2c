package observe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Log types, as Hasura names them.
const (
	TypeStartup   = "startup"
	TypeHTTP      = "http-log"
	TypeQuery     = "query-log"
	TypeWebSocket = "websocket-log"
	TypeWebhook   = "webhook-log"
)

// DefaultLogTypes are the types Hasura enables by default.
var DefaultLogTypes = []string{TypeStartup, TypeHTTP, TypeWebhook, TypeWebSocket}

// knownLogTypes are the types a LogConfig may enable: rowguard's, and
// Hasura's others, which rowguard accepts (a Hasura configuration must
// start) but never writes.
var knownLogTypes = map[string]bool{
	TypeStartup: true, TypeHTTP: true, TypeQuery: true, TypeWebSocket: true, TypeWebhook: true,
	"jwk-refresh-log": true, "event-trigger": true, "livequery-poller-log": true, "action-handler-log": true,
	"data-connector-log": true, "ws-server": true, "metadata-log": true,
}

// LogConfig chooses what is logged.
type LogConfig struct {
	// Types are the enabled log types (TypeStartup, …).
	Types map[string]bool
	// Level is the least severe level written: Hasura's
	// HASURA_GRAPHQL_LOG_LEVEL (debug, info, warn, error).
	Level slog.Level
	// SessionValues logs the values of session variables and GraphQL
	// variables; by default only their names (the role's value is always
	// logged).
	SessionValues bool
}

// LogConfigFromEnv reads HASURA_GRAPHQL_ENABLED_LOG_TYPES (a comma
// separated list; DefaultLogTypes when unset), HASURA_GRAPHQL_LOG_LEVEL
// (info when unset) and ROWGUARD_LOG_SESSION_VALUES (true or false).
func LogConfigFromEnv(getenv func(string) string) (LogConfig, error) {
	cfg := LogConfig{Types: map[string]bool{}, Level: slog.LevelInfo}
	types := DefaultLogTypes
	if v := strings.TrimSpace(getenv("HASURA_GRAPHQL_ENABLED_LOG_TYPES")); v != "" {
		types = nil
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
	}
	for _, t := range types {
		if !knownLogTypes[t] {
			known := make([]string, 0, len(knownLogTypes))
			for k := range knownLogTypes {
				known = append(known, k)
			}
			sort.Strings(known)
			return cfg, fmt.Errorf("HASURA_GRAPHQL_ENABLED_LOG_TYPES: unknown log type %q; known: %s", t, strings.Join(known, ", "))
		}
		cfg.Types[t] = true
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("HASURA_GRAPHQL_LOG_LEVEL"))); v {
	case "", "info":
	case "debug":
		cfg.Level = slog.LevelDebug
	case "warn":
		cfg.Level = slog.LevelWarn
	case "error":
		cfg.Level = slog.LevelError
	default:
		return cfg, fmt.Errorf("HASURA_GRAPHQL_LOG_LEVEL: %q is not one of debug, info, warn, error", v)
	}
	switch v := strings.TrimSpace(getenv("ROWGUARD_LOG_SESSION_VALUES")); v {
	case "", "false":
	case "true":
		cfg.SessionValues = true
	default:
		return cfg, fmt.Errorf("ROWGUARD_LOG_SESSION_VALUES: %q is not true or false", v)
	}
	return cfg, nil
}

// Logger writes one JSON object a line in Hasura's shape,
// {"type":…,"timestamp":…,"level":…,"detail":{…}}, through log/slog.
type Logger struct {
	cfg LogConfig
	sl  *slog.Logger
}

// timestampLayout is Hasura's: milliseconds and a numeric zone.
const timestampLayout = "2006-01-02T15:04:05.000-0700"

// NewLogger returns a Logger writing to w.
func NewLogger(w io.Writer, cfg LogConfig) *Logger {
	if cfg.Types == nil {
		cfg.Types = map[string]bool{}
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: cfg.Level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.MessageKey:
				a.Key = "type"
			case slog.TimeKey:
				a = slog.String("timestamp", a.Value.Time().Format(timestampLayout))
			case slog.LevelKey:
				a = slog.String("level", levelName(a.Value.Any().(slog.Level)))
			}
			return a
		},
	})
	return &Logger{cfg: cfg, sl: slog.New(h)}
}

// levelName is Hasura's word for a level.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// Enabled reports whether typ is logged at level.
func (l *Logger) Enabled(typ string, level slog.Level) bool {
	return l != nil && l.cfg.Types[typ] && level >= l.cfg.Level
}

// Log writes one line of type typ with detail (encoded as JSON) when typ
// is enabled at level.
func (l *Logger) Log(ctx context.Context, typ string, level slog.Level, detail any) {
	if !l.Enabled(typ, level) {
		return
	}
	l.sl.Log(ctx, level, typ, slog.Any("detail", detail))
}

// Startup writes a startup line: {"kind":kind,"info":info}.
func (l *Logger) Startup(kind string, info any) {
	l.Log(context.Background(), TypeStartup, slog.LevelInfo, map[string]any{"kind": kind, "info": info})
}

// userVars renders session variables for a log: every name, the values
// "<redacted>" unless asked for (x-hasura-role's excepted: the role is
// what an operator needs and not a secret).
func (l *Logger) userVars(vars map[string]string) map[string]string {
	if vars == nil {
		return nil
	}
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		if !l.cfg.SessionValues && !strings.EqualFold(k, "x-hasura-role") {
			v = redacted
		}
		out[k] = v
	}
	return out
}

// redacted stands for a value a log does not show.
const redacted = "<redacted>"
